/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What /proc says of a process (procfs.h). Any process may call it: root at
 * setup, the reaper under its filter (open, read, close), vmnet-broker and
 * vmnet-status; never the datapath, whose root holds no /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/procfs.h"

ssize_t procfs_read(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd, err;

	if (cap == 0)
		return -EINVAL;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	if (n == 0)
		return -ESRCH;
	buf[n] = '\0';
	return n;
}

int procfs_parse_stat(const char *line, struct procfs_stat *st)
{
	const char *open_paren = strchr(line, '('), *close_paren = strrchr(line, ')');
	const char *f;
	int ppid;
	size_t n;

	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	n = (size_t)(close_paren - open_paren - 1);
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, n);
	st->comm[n] = '\0';
	/* After ") ": state ppid ... starttime (field 22, the 20th after comm). */
	if (sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return -EINVAL;
	f = close_paren;
	for (int field = 0; f && field < 20; field++)
		f = strchr(f + 1, ' ');
	if (!f || sscanf(f + 1, "%llu", &st->start) != 1)
		return -EINVAL;
	st->ppid = ppid;
	return 0;
}

int procfs_parse_uid(const char *status, enum procfs_uid_field field, uid_t *uid)
{
	const char *line = status;
	unsigned u[2];

	if (strncmp(line, "Uid:", 4) != 0) {
		line = strstr(status, "\nUid:");
		if (line)
			line++;
	}
	if (!line || sscanf(line, "Uid: %u %u", &u[0], &u[1]) != 2)
		return -EINVAL;
	*uid = (uid_t)u[field];
	return 0;
}

int procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char buf[1024];
	ssize_t n = procfs_read(pid, "stat", buf, sizeof(buf));

	return n < 0 ? (int)n : procfs_parse_stat(buf, st);
}

int procfs_uid(pid_t pid, enum procfs_uid_field field, uid_t *uid)
{
	char buf[2048];
	ssize_t n = procfs_read(pid, "status", buf, sizeof(buf));

	return n < 0 ? (int)n : procfs_parse_uid(buf, field, uid);
}
