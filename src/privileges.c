/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "privileges.h"
#include "sandbox.h"

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

/* What the reaper calls while it waits and tears down, for its seccomp
 * filter. Its refused calls fail with EPERM rather than kill it: the
 * reaper's job is to leave the host as it was, and a teardown step that
 * fails is logged while the others still run. No exec, ptrace, mount,
 * module loading or setuid: none of that is teardown. */
static const struct sandbox_rule reaper_rules[] = {
	/* the wait for the datapath to go (the pipe), and closing what it used */
	SANDBOX_ALLOW(read),
	SANDBOX_ALLOW(close),
	/* the TAP's removal, by name (if_indextoname: an AF_UNIX datagram
	 * socket and SIOCGIFNAME), polled every 10 ms */
	SANDBOX_ALLOW_ALL(socket, 2, SANDBOX_EQ(0, AF_UNIX), SANDBOX_MASKED(1, 0xf, SOCK_DGRAM)),
	SANDBOX_ALLOW_IF(ioctl, 1, SIOCGIFNAME),
	SANDBOX_ALLOW(clock_nanosleep),
	SANDBOX_ALLOW(nanosleep),
	/* rtnetlink (netlink.c via libmnl): links, the bridge, the macvtap; and
	 * netfilter netlink in the nftables child (nat.c) */
	SANDBOX_ALLOW_IF(socket, 0, AF_NETLINK),
	SANDBOX_ALLOW(bind),
	SANDBOX_ALLOW(getsockname),
	SANDBOX_ALLOW(setsockopt),
	SANDBOX_ALLOW(getsockopt),
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(sendmsg),
	SANDBOX_ALLOW(recvfrom),
	SANDBOX_ALLOW(recvmsg),
	SANDBOX_ALLOW(pselect6),   /* libnftables waits for the kernel's answers with select() */
	SANDBOX_ALLOW(select),
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	/* the network's lock and state files in /run/vmnet-helper (network.c,
	 * nat.c), the sysctls restored under /proc/sys (sysctl.c); the
	 * libraries the nftables child loads */
	SANDBOX_ALLOW(openat),
	SANDBOX_ALLOW(open),
	SANDBOX_ALLOW(flock),
	SANDBOX_ALLOW(fstat),
	SANDBOX_ALLOW(newfstatat),
	SANDBOX_ALLOW(lseek),
	SANDBOX_ALLOW(access),
	SANDBOX_ALLOW(faccessat),
	SANDBOX_ALLOW(faccessat2),
	SANDBOX_ALLOW(unlink),
	SANDBOX_ALLOW(unlinkat),
	SANDBOX_ALLOW(getdents64),
	SANDBOX_ALLOW(fcntl),
	/* the nftables child: fork, its exit, and the wait for it (nat.c) */
	SANDBOX_ALLOW_IF(clone, 0, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD),
	SANDBOX_ALLOW(wait4),
	/* dlopen() of libnftables maps code: the one place memory may become
	 * executable (the child's own libraries) */
	SANDBOX_ALLOW(mmap),
	SANDBOX_ALLOW(mprotect),
	SANDBOX_ALLOW(getrandom),
	SANDBOX_ALLOW(getuid),
	SANDBOX_ALLOW(geteuid),
	SANDBOX_ALLOW(getgid),
	SANDBOX_ALLOW(getegid),
};
static const struct sandbox_list reaper_sandbox = SANDBOX_LIST(reaper_rules);

/* Past this point the reaper may only tear down (and only as sandbox_install says). */
static void reaper_enter_sandbox(void)
{
	static const struct sandbox_list *const lists[] = { &sandbox_libc, &reaper_sandbox, NULL };

	if (sandbox_install(lists, SANDBOX_EPERM) < 0)
		ERROR("main", "the teardown process runs without its seccomp filter");
}

static void reaper_child(int rfd, int keep_fd, reaper_fn fn, void *arg)
{
	char c;
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
	/* Keep only stderr, the pipe and the lock: the TAP and VM fds must close
	 * with the datapath process. fds 3 and 4 are ours after the moves. */
	if (dup2(rfd, 3) < 0 || (keep_fd >= 0 && dup2(keep_fd, 4) < 0))
		_exit(1);
	close_range(keep_fd >= 0 ? 5 : 4, ~0U, 0);
	reaper_enter_sandbox();
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	fn(arg);
	_exit(0);
}

int reaper_start(struct reaper *r, reaper_fn fn, void *arg, int keep_fd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
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
		reaper_child(rfd, kfd, fn, arg);
	}
	close(p[0]);
	r->pipe_fd = p[1];
	return 0;
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
