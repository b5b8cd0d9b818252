/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status sockets' names (statusdir.h): used by setup (root), the reaper
 * (root, CAP_NET_ADMIN) and vmnet-status (whoever runs it). Reads only the
 * process's own network namespace link.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/statusdir.h"

int statusdir_path(char *buf, size_t len)
{
	struct stat st;
	int n;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	n = snprintf(buf, len, STATUSDIR_ROOT "/%lu/status", (unsigned long)st.st_ino);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int statusdir_socket(const char *dir, pid_t pid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%d.sock", dir, (int)pid);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

pid_t statusdir_pid(const char *name)
{
	char *end;
	long v;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || v <= 0 || v > INT_MAX || strcmp(end, ".sock") != 0)
		return -1;
	return (pid_t)v;
}
