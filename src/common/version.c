/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version and commit, set by the Makefile on this file alone (every
 * process may call it; it touches nothing but its argument).
 */
#include "common/version.h"

/* Builds that do not set them (the fuzz harnesses) say so. */
#ifndef VMNET_VERSION
#define VMNET_VERSION "unknown"
#endif
#ifndef VMNET_COMMIT
#define VMNET_COMMIT "unknown"
#endif

const char *version_string(void)
{
	return VMNET_VERSION " (commit " VMNET_COMMIT ")";
}

void version_print(FILE *out, const char *program)
{
	fprintf(out, "%s %s\n", program, version_string());
}
