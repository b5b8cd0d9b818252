/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privileges.h"
#include "common/sandbox.h"

/* ---- descriptors ---- */

int priv_close_inherited(int keep_fd)
{
	int rc;

	if (keep_fd > 2) {
		rc = keep_fd > 3 ? close_range(3, (unsigned)keep_fd - 1, 0) : 0;
		if (rc == 0)
			rc = close_range((unsigned)keep_fd + 1, ~0U, 0);
	} else {
		rc = close_range(3, ~0U, 0);
	}
	if (rc < 0)
		return -errno;
	/* Ascending, so open() returns exactly the missing descriptor. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			return -EBADF;
	return 0;
}

/* ---- who the datapath runs as ---- */

/* A user or group id as sudo writes it: plain decimal, no sign, no spaces,
 * no leading zeros, below (id_t)-1 (which means "no change" to the kernel). */
static int parse_id(const char *name, const char *s, unsigned *out)
{
	unsigned long long v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= 0xffffffffULL)
		goto bad;
	*out = (unsigned)v;
	return 0;
bad:
	ERROR("main", "invalid %s \"%s\": not a decimal id", name, s);
	return -1;
}

static int fallback_user(struct priv_user *u)
{
	const struct passwd *pw;

	errno = 0;
	pw = getpwnam(PRIV_FALLBACK_USER);
	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
		ERROR("main", "no unprivileged user \"%s\" to run as without SUDO_UID/SUDO_GID%s%s",
		      PRIV_FALLBACK_USER, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->from_sudo = false;
	return 0;
}

int priv_user_from_env(struct priv_user *u)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	unsigned uid, gid;

	if (!su && !sg)
		return fallback_user(u);
	if (!su || !sg) {
		ERROR("main", "%s is set but %s is not: both or neither", su ? "SUDO_UID" : "SUDO_GID",
		      su ? "SUDO_GID" : "SUDO_UID");
		return -1;
	}
	if (parse_id("SUDO_UID", su, &uid) < 0 || parse_id("SUDO_GID", sg, &gid) < 0)
		return -1;
	/* root running sudo: the caller is root after all. */
	if (uid == 0)
		return fallback_user(u);
	u->uid = uid;
	u->gid = gid;
	u->from_sudo = true;
	return 0;
}

/* ---- capabilities ---- */

static int cap_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int cap_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)keep, (uint32_t)keep, 0 },
		{ (uint32_t)(keep >> 32), (uint32_t)(keep >> 32), 0 },
	};

	return syscall(SYS_capset, &hdr, d) < 0 ? -errno : 0;
}

/* The highest capability this kernel knows. */
static int cap_last(void)
{
	int cap = 0;

	while (cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
		cap++;
	return cap;
}

/* Needs CAP_SETPCAP, so it comes before anything else is given up. */
static int bounding_keep(uint64_t keep)
{
	int last = cap_last();

	for (int cap = 0; cap <= last; cap++)
		if (!(keep & PRIV_CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

/* uid 0 gets no capabilities from execve, and nobody may change that. */
#define SECUREBITS (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED | \
		    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* ---- the drop and its check ---- */

static int step_failed(const char *step, int err)
{
	ERROR("main", "cannot drop privileges: %s: %s", step, strerror(err));
	return -1;
}

static int not_in_effect(const char *what)
{
	ERROR("main", "privilege drop not in effect: %s", what);
	return -1;
}

/* Everything priv_become promises, read back from the kernel. */
static int verify(uid_t uid, gid_t gid, uint64_t keep)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	uint64_t eff = 0, prm = 0, inh = 0;
	int last = cap_last();

	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
	    (uid_t)setfsuid((uid_t)-1) != uid)
		return not_in_effect("user ids");
	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid ||
	    (gid_t)setfsgid((gid_t)-1) != gid)
		return not_in_effect("group ids");
	if (getgroups(0, NULL) != 0)
		return not_in_effect("supplementary groups");
	if (cap_get(&eff, &prm, &inh) < 0 || eff != keep || prm != keep || inh != 0)
		return not_in_effect("capabilities");
	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != !!(keep & PRIV_CAP(cap)))
			return not_in_effect("capability bounding set");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) != 0)
			return not_in_effect("ambient capabilities");
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return not_in_effect("no_new_privs");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return not_in_effect("dumpable");
	if ((prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECUREBITS) != SECUREBITS)
		return not_in_effect("securebits");
	return 0;
}

int priv_become(uid_t uid, gid_t gid, uint64_t keep)
{
	int rc;

	if (prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0) < 0)
		return step_failed("securebits", errno);
	rc = bounding_keep(keep);
	if (rc < 0)
		return step_failed("capability bounding set", -rc);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return step_failed("ambient capabilities", errno);
	if (setgroups(0, NULL) < 0)
		return step_failed("setgroups", errno);
	if (setresgid(gid, gid, gid) < 0)
		return step_failed("setresgid", errno);
	if (setresuid(uid, uid, uid) < 0)
		return step_failed("setresuid", errno);
	rc = cap_set(keep);
	if (rc < 0)
		return step_failed("capset", -rc);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return step_failed("no_new_privs", errno);
	/* Changing uid already did this; a process of the user's must never
	 * be traced by them: its descriptors came from root. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return step_failed("dumpable", errno);
	return verify(uid, gid, keep);
}

int priv_drop(const struct priv_user *u)
{
	return priv_become(u->uid, u->gid, 0);
}

/* ---- the reaper ---- */

/* What the reaper calls while it waits and tears down, for its seccomp
 * filter. Its refused calls fail with EPERM rather than kill it: the
 * reaper's job is to leave the host as it was, and a teardown step that
 * fails is logged while the others still run. No exec, ptrace, mount,
 * module loading or setuid: none of that is teardown. */
static const struct sandbox_rule reaper_rules[] = {
	/* the wait for the datapath to go and its requests (the channel: recvfrom
	 * and sendto, below), and closing what it used */
	SANDBOX_ALLOW(read),
	SANDBOX_ALLOW(close),
	/* lines logged under the network lock wait in a pipe (log.h) */
	SANDBOX_ALLOW(pipe2),
	/* rtnetlink (netlink.c via libmnl): the TAP, links, the bridge, the
	 * macvtap; and netfilter netlink in the nftables child (nat.c) */
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
	/* the lease's last use, rewritten through a temporary file (lease.c) */
	SANDBOX_ALLOW(fchmod),
	SANDBOX_ALLOW(rename),
	SANDBOX_ALLOW(renameat),
	SANDBOX_ALLOW(renameat2),
	/* the nftables child: fork, its exit, and the wait for it (nat.c) */
	SANDBOX_ALLOW_IF(clone, 0, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD),
	SANDBOX_ALLOW(wait4),
	/* dlopen() of libnftables maps code: the one place memory may become
	 * executable (the child's own libraries) */
	SANDBOX_ALLOW(mmap),
	SANDBOX_ALLOW(mprotect),
	SANDBOX_ALLOW(getrandom),
	/* whether a lease's helper still runs (lease.c, answering a claim of
	 * a second MAC): kill(pid, 0) sends nothing */
	SANDBOX_ALLOW_IF(kill, 1, 0),
	SANDBOX_ALLOW(getuid),
	SANDBOX_ALLOW(geteuid),
	SANDBOX_ALLOW(getgid),
	SANDBOX_ALLOW(getegid),
};
static const struct sandbox_list reaper_sandbox = SANDBOX_LIST(reaper_rules);

/*
 * The reaper's confinement, in one place, before it waits. What teardown
 * needs: netlink and nftables (CAP_NET_ADMIN), root-owned files under
 * /run/vmnet-helper/<netns>, /var/lib/vmnet-helper/<netns> (the leases) and
 * /proc/sys/net (uid 0 as their owner, no capability needed). What it
 * answers the datapath needs: netlink (the VM's second MAC, pinned to its
 * port). It never opens a path a user chose. Then its seccomp filter
 * (reaper_rules above), after the capabilities are reduced.
 */
static int reaper_confine(void)
{
	static const struct sandbox_list *const lists[] = { &sandbox_libc, &reaper_sandbox, NULL };
	sigset_t all;

	prctl(PR_SET_NAME, "vmnet-reaper", 0, 0, 0);
	/*
	 * Out of reach of every signal the user can have sent: a session and
	 * process group of its own (the terminal signals the foreground group
	 * on Ctrl-\ or Ctrl-Z, and sudo relays to the command's group any signal
	 * the user sends it), and every signal blocked (SIGXFSZ too: the user
	 * chose RLIMIT_FSIZE, and stderr may be a file). Only uid 0 could signal
	 * it otherwise, and SIGKILL and SIGSTOP need no blocking from users.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() < 0) {
		ERROR("main", "cannot start the teardown process: setsid: %s", strerror(errno));
		return -1;
	}
	if (priv_become(0, 0, PRIV_CAP(CAP_NET_ADMIN)) < 0)
		return -1;
	return sandbox_install(lists, SANDBOX_EPERM);
}

/* Answers requests until the datapath's end of the channel closes. */
static void reaper_serve(int fd, reaper_ask_fn ask, void *arg)
{
	uint8_t msg[64], answer;

	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;   /* broken: tear down */
		if (n == 0) {
			/* The end, or an empty message a datapath can send (it
			 * reads the same on a SOCK_SEQPACKET): only a hang-up
			 * is the end. */
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)))
				return;
			continue;
		}
		answer = ask ? ask(arg, msg, (size_t)n) : 0;
		/* An answer the datapath does not read is its loss, not the end. */
		(void)send(fd, &answer, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

static void reaper_child(int rfd, int status_fd, reaper_fn fn, reaper_ask_fn ask, void *arg)
{
	char c = 0;
	int devnull;

	/* stdout must not stay open here: whoever reads the JSON line waits for EOF. */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	/* Keep only stderr, the channel and the status pipe: the TAP, the VM's
	 * socket and its lock must close with the datapath process. */
	if (dup2(rfd, 3) < 0 || dup2(status_fd, 4) < 0)
		_exit(1);
	close_range(5, ~0U, 0);
	c = reaper_confine() == 0 ? 0 : 1;
	if (write(4, &c, 1) != 1)
		c = 1;
	close(4);
	/* Even unconfined, it waits and tears down: the setup process stops
	 * at once when told it failed, and what it set up must still go.
	 * Only the end of the channel means the datapath is gone: a message
	 * from a datapath a VM took over is not (reaper_serve). */
	reaper_serve(3, ask, arg);
	fn(arg);
	_exit(0);
}

/* The reaper's verdict on its own confinement (it logged why not): 0 if confined. */
static int reaper_status(int fd)
{
	char c = 1;
	ssize_t n;

	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 && c == 0 ? 0 : -1;
}

int reaper_start(struct reaper *r, reaper_fn fn, reaper_ask_fn ask, void *arg)
{
	int p[2], s[2], rc;

	r->pid = -1;
	r->pipe_fd = -1;
	/* The channel: message boundaries kept, and EOF when the datapath's
	 * end closes (its exit, SIGKILL included). */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) {
		ERROR("main", "cannot start the teardown process: %s", strerror(errno));
		return -1;
	}
	if (pipe2(s, O_CLOEXEC) < 0) {
		ERROR("main", "cannot start the teardown process: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	fflush(NULL);
	r->pid = fork();
	if (r->pid == 0) {
		close(p[1]);
		close(s[0]);
		/* dup2 onto 3/4 must not clobber the sources first. */
		int rfd = fcntl(p[0], F_DUPFD_CLOEXEC, 10);
		int sfd = fcntl(s[1], F_DUPFD_CLOEXEC, 10);
		reaper_child(rfd, sfd, fn, ask, arg);
	}
	if (r->pid < 0)
		ERROR("main", "cannot start the teardown process: %s", strerror(errno));
	close(p[0]);
	close(s[1]);
	if (r->pid < 0) {
		close(p[1]);
		close(s[0]);
		return -1;
	}
	r->pipe_fd = p[1];
	rc = reaper_status(s[0]);
	close(s[0]);
	return rc;
}

int reaper_ask(struct reaper *r, const void *msg, size_t len, int timeout_ms)
{
	if (send(r->pipe_fd, msg, len, MSG_NOSIGNAL) < 0)
		return -errno;
	return reaper_next_answer(r, timeout_ms);
}

int reaper_next_answer(struct reaper *r, int timeout_ms)
{
	struct pollfd p = { r->pipe_fd, POLLIN, 0 };
	uint8_t answer;
	ssize_t n;

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
