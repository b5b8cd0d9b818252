/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static bool verbose;

void log_set_verbose(bool v) { verbose = v; }
bool log_verbose(void) { return verbose; }

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	static const char *const names[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
	char line[1024];
	va_list ap;
	int n;

	/* One write() per line so lines from the threads and the reaper never interleave. */
	n = snprintf(line, sizeof(line), "%s [%s] ", names[level], module);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
	fflush(stderr);
}
