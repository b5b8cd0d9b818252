/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp filters, installed for real in forked children: the datapath's
 * (the very lists datapath_confine installs) kills the process on a call
 * outside them; the reaper's (installed by reaper_start() itself, after the
 * reaper dropped to CAP_NET_ADMIN) makes such a call fail with EPERM. Run as
 * root (a reaper needs it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/datapath.h"
#include "reaper/reaper.h"

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "t.h"

/* Runs fn in a child under the datapath's filter; its wait status. */
static int in_datapath(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (sandbox_install(datapath_lists, SANDBOX_KILL) < 0)
			_exit(100);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static bool killed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static void do_execve(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	execve("/bin/true", argv, envp);
}
static void do_open(void) { syscall(SYS_open, "/etc/hostname", O_RDONLY); }
static void do_openat(void) { openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC); }
static void do_netlink(void) { socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }
static void do_sock_diag(void) { socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG); }
static void do_packet(void) { socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)); }
static void do_raw(void) { socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); }
static void do_udp_other_proto(void) { socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP); }
static void do_unix(void) { socket(AF_UNIX, SOCK_STREAM, 0); }
static void do_ptrace(void) { ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static void do_mount(void) { mount("none", "/nonexistent", "tmpfs", 0, NULL); }
static void do_setuid(void) { syscall(SYS_setuid, 0); }
static void do_unshare(void) { unshare(CLONE_NEWNS); }
/* Another process of the same uid: the test itself. Its pid is taken before
 * the filter, which refuses getppid(). */
static pid_t other;
static void do_kill(void) { kill(other, 0); }
/* abort()'s call, at another process. */
static void do_tgkill_other(void) { syscall(SYS_tgkill, other, other, 0); }
static void do_fork(void) { syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
/* getsockopt: only SO_ERROR (DNS) and SO_PEERCRED (the status socket). */
static void do_getsockopt_other(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), v;
	socklen_t len = sizeof(v);

	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
}
static void do_exec_mmap(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static void do_exec_mprotect(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void test_datapath_refuses(void)
{
	static const struct { const char *what; void (*fn)(void); } calls[] = {
		{ "execve", do_execve }, { "open", do_open }, { "openat", do_openat },
		{ "socket(AF_NETLINK)", do_netlink }, { "socket(NETLINK_SOCK_DIAG)", do_sock_diag },
		{ "socket(AF_PACKET)", do_packet }, { "socket(SOCK_RAW)", do_raw },
		{ "socket(AF_INET, ICMP)", do_udp_other_proto }, { "socket(AF_UNIX)", do_unix },
		{ "ptrace", do_ptrace }, { "mount", do_mount }, { "setuid", do_setuid },
		{ "unshare", do_unshare }, { "kill", do_kill },
		{ "tgkill(another process)", do_tgkill_other }, { "fork", do_fork },
		{ "mmap(PROT_EXEC)", do_exec_mmap }, { "mprotect(PROT_EXEC)", do_exec_mprotect },
		{ "getsockopt(SO_RCVBUF)", do_getsockopt_other },
	};

	other = getpid();
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int status = in_datapath(calls[i].fn);
		if (!killed(status))
			fprintf(stderr, "datapath: %s not refused (status %#x)\n", calls[i].what, status);
		CHECK(killed(status));
	}
}

static void *thread_work(void *arg)
{
	char *p = malloc(256 << 10);   /* a mapping of its own */

	if (p)
		memset(p, 1, 256 << 10);
	free(p);
	return arg;
}

/* Descriptors the datapath is handed before its filter: a capture file,
 * a unix socket (as the status socket's connections). */
static int cap = -1, pair[2] = { -1, -1 };
static pid_t pair_pid;   /* who made the pair: its credentials */

/* What the datapath does once set up keeps working under its filter. */
static void do_datapath_work(void)
{
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int t = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint16_t id;
	pthread_t th;
	void *ret = NULL;

	if (u < 0 || t < 0 || e < 0 || getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		_exit(1);
	if (pthread_create(&th, NULL, thread_work, &id) != 0 || pthread_join(th, &ret) != 0 ||
	    ret != &id)
		_exit(2);
	/* A signal to a thread of our own (what abort() sends). */
	if (syscall(SYS_tgkill, getpid(), gettid(), 0) != 0)
		_exit(4);
	/* clone3 is answered ENOSYS, so glibc falls back to clone (checked). */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		_exit(3);
	/* --pcap: writing a file it was handed, and cutting it back (capture.c) */
	if (pwrite(cap, "x", 1, 0) != 1 || ftruncate(cap, 0) != 0)
		_exit(5);
	/* the status socket: who connected (statusreply.c) */
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(pair[0], SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.pid != pair_pid)
		_exit(6);
	close(u);
	close(t);
	close(e);
}

static void test_datapath_allows_its_work(void)
{
	char name[] = "/tmp/vmnet-test-sandbox-XXXXXX";
	int status;

	cap = mkstemp(name);
	unlink(name);
	CHECK(cap >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
	pair_pid = getpid();
	status = in_datapath(do_datapath_work);
	close(cap);
	close(pair[0]);
	close(pair[1]);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "datapath work: status %#x\n", status);
	/* glibc's checks still end it with SIGABRT, and it says why. */
	status = in_datapath(abort);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* ---- the reaper ---- */

/*
 * Each call is one the reaper, uid 0 with CAP_NET_ADMIN alone, could make
 * (or that would fail otherwise than with EPERM) were it not for its filter.
 */
enum { R_EXECVE, R_PTRACE, R_MOUNT, R_SETRESUID, R_UDP, R_KILL, R_UNSHARE,
       R_NETLINK, R_PROCSYS, R_FORK, R_COUNT };

static int outcome(long rc)
{
	return rc < 0 ? errno : 0;
}

#define RESULTS_TAG "reaper-probe:"

/* Runs in the reaper at teardown time; what each call gave goes to its
 * stderr, which the test made a pipe. */
static void reaper_probe(void *arg)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	char out[sizeof(RESULTS_TAG) + R_COUNT * sizeof(int)];
	int r[R_COUNT], fd, status;
	pid_t pid;

	r[R_EXECVE] = outcome(execve("/bin/true", argv, envp));
	r[R_PTRACE] = outcome(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	r[R_MOUNT] = outcome(mount("none", "/nonexistent", "tmpfs", 0, NULL));      /* else ENOENT */
	r[R_SETRESUID] = outcome(syscall(SYS_setresuid, -1, -1, -1));               /* else 0 */
	r[R_UDP] = outcome(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	/* Signal 0 (is it alive?) is allowed, for leases; any real signal is not. */
	r[R_KILL] = outcome(kill(getppid(), SIGCONT));
	r[R_UNSHARE] = outcome(unshare(0x1));                                      /* else EINVAL */
	/* What teardown needs. */
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	r[R_NETLINK] = outcome(fd);
	close(fd);
	fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	r[R_PROCSYS] = outcome(fd);
	close(fd);
	pid = fork();
	if (pid == 0)
		_exit(7);
	r[R_FORK] = pid < 0 ? errno : waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
					    WEXITSTATUS(status) == 7 ? 0 : -1;
	memcpy(out, RESULTS_TAG, sizeof(RESULTS_TAG));
	memcpy(out + sizeof(RESULTS_TAG), r, sizeof(r));
	if (write(STDERR_FILENO, out, sizeof(out)) != (ssize_t)sizeof(out))
		_exit(1);
	(void)arg;
}

/* Everything the reaper wrote to its stderr: its results, after the tag. */
static bool reaper_results(int fd, int *r)
{
	static char buf[8192];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	for (size_t i = 0; i + sizeof(RESULTS_TAG) + R_COUNT * sizeof(int) <= len; i++)
		if (memcmp(buf + i, RESULTS_TAG, sizeof(RESULTS_TAG)) == 0) {
			memcpy(r, buf + i + sizeof(RESULTS_TAG), R_COUNT * sizeof(int));
			return true;
		}
	fprintf(stderr, "reaper wrote: %.*s\n", (int)len, buf);
	return false;
}

static void test_reaper(void)
{
	struct reaper rp = { .pid = -1, .pipe_fd = -1 };
	int p[2], r[R_COUNT], saved = dup(STDERR_FILENO);

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	/* The reaper keeps only stderr: make it the pipe for its results. */
	dup2(p[1], STDERR_FILENO);
	int rc = reaper_start(&rp, reaper_probe, NULL, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	CHECK(rc == 0);
	reaper_finish(&rp);
	memset(r, 0xff, sizeof(r));
	CHECK(reaper_results(p[0], r));
	close(p[0]);
	CHECK(r[R_EXECVE] == EPERM);
	CHECK(r[R_PTRACE] == EPERM);
	CHECK(r[R_MOUNT] == EPERM);
	CHECK(r[R_SETRESUID] == EPERM);
	CHECK(r[R_UDP] == EPERM);
	CHECK(r[R_KILL] == EPERM);
	CHECK(r[R_UNSHARE] == EPERM);
	CHECK(r[R_NETLINK] == 0);
	CHECK(r[R_PROCSYS] == 0);
	CHECK(r[R_FORK] == 0);
}

static void tests(void)
{
	if (geteuid() != 0) {
		printf("test_sandbox: needs root (skipped)\n");
		return;
	}
	test_datapath_refuses();
	test_datapath_allows_its_work();
	test_reaper();
}

T_MAIN
