/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A helper's lifeline (lifeline.h): finding the process that started it
 * through sudo (setup, root: /proc only), reporting its exit status to the
 * user's vmnet-helper (setup or the datapath, at exit), reading what that
 * process says (the datapath, under seccomp: recv and poll).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/lifeline.h"
#include "common/log.h"
#include "common/procfs.h"
#include "parse/msg.h"

/* sudo's chain is short: the front end, and with use_pty a monitor. */
#define MAX_SUDO_DEPTH 8

struct proc {
	struct procfs_stat st;
	uid_t euid;
};

/* /proc/PID/stat's name, parent and start time, and status's effective uid. */
static int proc_read(pid_t pid, struct proc *p)
{
	int rc = procfs_stat(pid, &p->st);

	return rc < 0 ? rc : procfs_uid(pid, PROCFS_UID_EFFECTIVE, &p->euid);
}

/* sudo itself, not a user's process that calls itself so: root's. */
static bool is_sudo(const struct proc *p)
{
	return strcmp(p->st.comm, "sudo") == 0 && p->euid == 0;
}

int lifeline_starter(pid_t *pid)
{
	struct proc p, again;
	pid_t at = getppid();
	int fd, depth = 0;

	if (proc_read(at, &p) < 0)
		return -ESRCH;
	while (is_sudo(&p) && depth++ < MAX_SUDO_DEPTH) {
		at = p.st.ppid;
		if (at <= 1 || proc_read(at, &p) < 0)
			return -ESRCH;
	}
	if (at <= 1 || is_sudo(&p))
		return -ENOENT;
	fd = pidfd_open(at, 0);
	if (fd < 0)
		return -errno;
	/* The same process before and after: its pid was not reused between. */
	if (proc_read(at, &again) < 0 || again.st.start != p.st.start) {
		close(fd);
		return -ESRCH;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	*pid = at;
	return fd;
}

static int report_fd = -1;
static pid_t report_pid;

/* After every atexit handler registered later (teardown waits included). */
static void report(int status, void *arg)
{
	struct msg_broker_exit m = { .h = msg_hdr(MSG_BROKER_EXIT, 0), .status = status & 0xff };

	(void)arg;
	if (report_fd < 0 || getpid() != report_pid)
		return;
	(void)send(report_fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
}

int lifeline_report_exit(int fd)
{
	if (report_fd >= 0)
		return 0;
	report_fd = fd;
	report_pid = getpid();
	return on_exit(report, NULL);
}

enum lifeline_event lifeline_read(int fd)
{
	uint8_t buf[sizeof(union msg) + 1];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	union msg m;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? LIFELINE_NOTHING : LIFELINE_GONE;
	/* An empty message reads as the end: only a hang-up is. */
	if (n == 0)
		return poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)) ? LIFELINE_GONE
										: LIFELINE_NOTHING;
	if (msg_parse(buf, (size_t)n, MSG_TO_HELPER, &m) == MSG_BROKER_STOP)
		return LIFELINE_STOP;
	return LIFELINE_NOTHING;
}
