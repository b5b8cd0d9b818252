/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr (log.h), in every process. Lines logged while root
 * holds the network lock wait in a pipe of our own (log_hold), since the
 * user can make a write to their stderr block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static bool verbose;
static const char *process = "main";
/* Between log_hold and log_release: the pipe lines wait in. */
static int held[2] = { -1, -1 };

void log_set_verbose(bool v) { verbose = v; }
bool log_verbose(void) { return verbose; }
void log_set_process(const char *name) { process = name; }
const char *log_process(void) { return process; }

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
	/* The room for it was kept: sizeof(line) - 1 above. */
	n = (int)strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	if (held[1] >= 0) {
		/* Non-blocking: a line that does not fit is dropped. */
		ssize_t w = write(held[1], line, strlen(line));

		(void)w;
		return;
	}
	fputs(line, stderr);
	fflush(stderr);
}

int log_hold(void)
{
	if (held[1] >= 0)
		return 0;
	if (pipe2(held, O_CLOEXEC | O_NONBLOCK) < 0) {
		held[0] = held[1] = -1;
		return -errno;
	}
	return 0;
}

void log_release(void)
{
	char buf[4096];
	ssize_t n;

	if (held[1] < 0)
		return;
	close(held[1]);
	held[1] = -1;
	/* Whole lines of up to 1 KiB each, in the order they were logged. */
	while ((n = read(held[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, (size_t)n, stderr) != (size_t)n)
			break;
	fflush(stderr);
	close(held[0]);
	held[0] = -1;
}
