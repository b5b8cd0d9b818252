/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "privileges.h"

static int parse_id(const char *name, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v >= UINT_MAX) {
		ERROR("main", "invalid %s \"%s\"", name, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int priv_user_from_env(struct priv_user *u)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	unsigned v;

	u->uid = getuid();
	u->gid = getgid();
	u->from_sudo = false;
	if (su) {
		if (parse_id("SUDO_UID", su, &v) < 0)
			return -1;
		u->uid = v;
		u->from_sudo = true;
	}
	if (sg) {
		if (parse_id("SUDO_GID", sg, &v) < 0)
			return -1;
		u->gid = v;
	}
	return 0;
}

/* Empty every capability set; with uid 0 this is what makes root powerless. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* The bounding set can only be shrunk while we still hold CAP_SETPCAP. */
static void drop_bounding_set(void)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
}

int priv_drop(const struct priv_user *u)
{
	int rc;

	drop_bounding_set();
	if (getuid() != u->uid || getgid() != u->gid) {
		if (setgroups(0, NULL) < 0 && errno != EPERM) {
			ERROR("main", "setgroups: %s", strerror(errno));
			return -1;
		}
		if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
			ERROR("main", "cannot switch to uid %u gid %u: %s", u->uid, u->gid, strerror(errno));
			return -1;
		}
	}
	rc = drop_capabilities();
	if (rc < 0) {
		ERROR("main", "cannot drop capabilities: %s", strerror(-rc));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ERROR("main", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Answers requests until the datapath's end of the channel closes. */
static void reaper_serve(int fd, reaper_ask_fn ask, void *arg)
{
	uint8_t msg[64], answer;

	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;   /* closed (the datapath exited) or broken: tear down */
		answer = ask ? ask(arg, msg, (size_t)n) : 0;
		if (send(fd, &answer, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			return;
	}
}

static void reaper_child(int rfd, int keep_fd, reaper_fn fn, reaper_ask_fn ask, void *arg)
{
	int devnull;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* stdout must not stay open here: whoever reads the JSON line waits for EOF. */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	/* Keep only stderr, the channel and the lock: the TAP and VM fds must
	 * close with the datapath process. fds 3 and 4 are ours after the moves. */
	if (dup2(rfd, 3) < 0 || (keep_fd >= 0 && dup2(keep_fd, 4) < 0))
		_exit(1);
	close_range(keep_fd >= 0 ? 5 : 4, ~0U, 0);
	reaper_serve(3, ask, arg);
	fn(arg);
	_exit(0);
}

int reaper_start(struct reaper *r, reaper_fn fn, reaper_ask_fn ask, void *arg, int keep_fd)
{
	int p[2];

	/* Message boundaries kept, and EOF when the datapath's end closes. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
		return -errno;
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (r->pid == 0) {
		close(p[1]);
		/* dup2 onto 3/4 must not clobber the sources first. */
		int rfd = fcntl(p[0], F_DUPFD_CLOEXEC, 10);
		int kfd = keep_fd >= 0 ? fcntl(keep_fd, F_DUPFD_CLOEXEC, 10) : -1;
		reaper_child(rfd, kfd, fn, ask, arg);
	}
	close(p[0]);
	r->pipe_fd = p[1];
	return 0;
}

int reaper_ask(struct reaper *r, const void *msg, size_t len, int timeout_ms)
{
	struct pollfd p = { r->pipe_fd, POLLIN, 0 };
	uint8_t answer;
	ssize_t n;

	if (send(r->pipe_fd, msg, len, MSG_NOSIGNAL) < 0)
		return -errno;
	for (;;) {
		int rc = poll(&p, 1, timeout_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = recv(r->pipe_fd, &answer, 1, MSG_DONTWAIT);
		if (n == 1)
			return answer;
		return n == 0 ? -EPIPE : -errno;
	}
}

void reaper_finish(struct reaper *r)
{
	if (r->pipe_fd >= 0)
		close(r->pipe_fd);
	r->pipe_fd = -1;
	while (r->pid > 0 && waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
		;
	r->pid = -1;
}
