/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reaper process (reaper.h): its fork, its confinement (uid 0 with
 * CAP_NET_ADMIN alone, every signal blocked, the seccomp list below), its
 * wait on the channel and its answers to the datapath's claims; and the
 * datapath's side of that channel (reaper_claim). Runs as root from the
 * fork to teardown; what it does for each claim and at teardown is
 * teardown.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privileges.h"
#include "common/sandbox.h"
#include "reaper/reaper.h"

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
	/* the lease's last use, and the pool addresses the VM set by hand
	 * (teardown.c), rewritten through a temporary file (lease.c) */
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
	 * a second MAC or of a pool address): kill(pid, 0) sends nothing */
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
	log_set_process("reaper");
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
		ERROR(LOG_SELF, "cannot start the teardown process: setsid: %s", strerror(errno));
		return -1;
	}
	if (priv_become(0, 0, PRIV_CAP(CAP_NET_ADMIN)) < 0)
		return -1;
	return sandbox_install(lists, SANDBOX_EPERM);
}

/* Malformed messages refused (msg_parse): logged once, and counted at the end. */
static unsigned refused;

/* One claim: its verdict, with the claim's number. Not answered when
 * malformed: a datapath that sends garbage waits for its own timeout. */
static void reaper_answer(int fd, const uint8_t *buf, size_t len, reaper_ask_fn ask, void *arg)
{
	union msg m;
	struct msg_verdict v;

	if (msg_parse(buf, len, MSG_TO_REAPER, &m) < 0) {
		if (refused++ == 0)
			WARN("reaper", "refused a malformed request from the datapath (%zu bytes)", len);
		return;
	}
	v = (struct msg_verdict){ .h = msg_hdr(MSG_VERDICT, m.h.seq),
				  .granted = ask && ask(arg, &m) };
	/* An answer the datapath does not read is its loss, not the end. */
	(void)send(fd, &v, sizeof(v), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Answers claims until the datapath's end of the channel closes. */
static void reaper_serve(int fd, reaper_ask_fn ask, void *arg)
{
	uint8_t buf[sizeof(union msg) + 1];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

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
			refused++;
			continue;
		}
		reaper_answer(fd, buf, (size_t)n, ask, arg);
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
	if (refused)
		WARN("reaper", "refused %u malformed requests from the datapath", refused);
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

/* The next verdict on the channel, within timeout_ms: 0, or -errno. */
static int next_verdict(struct reaper *r, struct msg_verdict *v, int timeout_ms)
{
	struct pollfd p = { r->pipe_fd, POLLIN, 0 };
	uint8_t buf[sizeof(union msg) + 1];
	union msg m;
	ssize_t n;
	int rc;

	while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	n = recv(r->pipe_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	if (msg_parse(buf, (size_t)n, MSG_FROM_REAPER, &m) < 0)
		return -EBADMSG;
	*v = m.verdict;
	return 0;
}

int reaper_claim(struct reaper *r, union msg *claim, int timeout_ms)
{
	static uint16_t seq;
	struct msg_verdict v = { 0 };
	int rc;

	claim->h.seq = ++seq;
	if (send(r->pipe_fd, claim, msg_size(claim->h.type), MSG_NOSIGNAL) < 0)
		return -errno;
	do
		rc = next_verdict(r, &v, timeout_ms);
	while (rc == 0 && v.h.seq != seq);
	return rc < 0 ? rc : v.granted;
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
