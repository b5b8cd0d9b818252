/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal unit test harness: CHECK() counts, main() from T_MAIN prints a summary. */
#ifndef VMNET_T_H
#define VMNET_T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

#define CHECK(cond) do { \
	if (cond) { t_passed++; } \
	else { t_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ && b_ && strcmp(a_, b_) == 0) { t_passed++; } \
	else { t_failed++; fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } \
} while (0)

/* Each test file defines: static void tests(void) { ... } */
#define T_MAIN \
	int main(void) { \
		tests(); \
		printf("%s: %d passed, %d failed\n", __FILE__, t_passed, t_failed); \
		return t_failed ? 1 : 0; \
	}

#endif
