/* SPDX-License-Identifier: Apache-2.0 */
/* Text and clock helpers (text.h): run in setup, the reaper and the datapath. */
#include <string.h>
#include <time.h>

#include "common/text.h"

bool text_copy(const char *s, size_t n, char *buf, size_t cap)
{
	if (n >= cap)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

int64_t text_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
