/* SPDX-License-Identifier: Apache-2.0 */
/* What /proc says of a process: its name, parent, start time and uids.
 * Read by root at setup (the lifeline's starter, the lease's holders), by
 * the reaper (claims), by vmnet-broker (its peers) and by vmnet-status; the
 * parsers are pure, the readers open, read and close only. */
#ifndef VMNET_PROCFS_H
#define VMNET_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

struct procfs_stat {
	char comm[16];
	pid_t ppid;
	unsigned long long start;   /* clock ticks after boot */
};

enum procfs_uid_field { PROCFS_UID_REAL = 0, PROCFS_UID_EFFECTIVE = 1 };

/* /proc/PID/NAME (PID 0: this process) into buf, NUL-terminated and cut to
 * cap - 1 bytes: its length, or -errno (-ESRCH when nothing was read). */
ssize_t procfs_read(pid_t pid, const char *name, char *buf, size_t cap);

/* A /proc/PID/stat line: "pid (comm) state ppid ... starttime ...", comm
 * holding anything but its last ')'. 0, or -EINVAL. */
int procfs_parse_stat(const char *line, struct procfs_stat *st);

/* A /proc/PID/status text's "Uid:" line, its real or effective field.
 * 0, or -EINVAL. */
int procfs_parse_uid(const char *status, enum procfs_uid_field field, uid_t *uid);

/* The two above on the live files. 0, or -errno. */
int procfs_stat(pid_t pid, struct procfs_stat *st);
int procfs_uid(pid_t pid, enum procfs_uid_field field, uid_t *uid);

#endif
