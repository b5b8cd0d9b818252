/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is asking (peer.h): vmnet-broker (root) reads it from the kernel for
 * each connection, before a byte of the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/peer.h"
#include "common/procfs.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77   /* Linux 6.5 */
#endif

/* Start time (clock ticks after boot) and owner of /proc/PID: 0 if gone. */
static unsigned long long proc_start(pid_t pid, uid_t *uid)
{
	struct procfs_stat ps;
	char path[64];
	struct stat st;

	if (procfs_stat(pid, &ps) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return 0;
	*uid = st.st_uid;
	return ps.start;
}

/* Now, in the clock ticks of /proc/PID/stat's start time. */
static unsigned long long boot_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * (unsigned long long)hz +
	       (unsigned long long)ts.tv_nsec / (1000000000ULL / (unsigned long long)hz);
}

/*
 * Without SO_PEERPIDFD: a pidfd on the pid SO_PEERCRED gave, if the process
 * there started before now and runs as the peer (pid reuse since connect()
 * would show a later start or, likely, another owner) and is the same
 * process before and after pidfd_open.
 */
static int pidfd_of_pid(const struct peer *p)
{
	unsigned long long now = boot_ticks(), before, after;
	uid_t uid = (uid_t)-1, uid2 = (uid_t)-1;
	int fd;

	before = proc_start(p->pid, &uid);
	if (!before || before > now || uid != p->uid)
		return -ESRCH;
	fd = pidfd_open(p->pid, 0);
	if (fd < 0)
		return -errno;
	after = proc_start(p->pid, &uid2);
	if (after != before || uid2 != uid) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int peer_identify(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd = -1;

	p->pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred) || cred.pid <= 0)
		return -ENOTCONN;
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->pid = cred.pid;
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
		p->pidfd = pidfd;
		return 0;
	}
	if (errno != ENOPROTOOPT && errno != EINVAL)
		return -errno;   /* ESRCH: the peer is gone already */
	p->pidfd = pidfd_of_pid(p);
	return p->pidfd < 0 ? p->pidfd : 0;
}

bool peer_in_group(int fd, const struct peer *p, gid_t gid)
{
	gid_t stack[64], *groups = stack;
	socklen_t len = sizeof(stack);
	bool found = false;

	if (p->gid == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || !(groups = malloc(len)))
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		found = found || groups[i] == gid;
	if (groups != stack)
		free(groups);
	return found;
}

void peer_close(struct peer *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}
