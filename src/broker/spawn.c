/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper for one request (spawn.h). Runs in vmnet-broker (root): the
 * environment is built before the fork; the child (root) only moves
 * descriptors, leaves the broker's session and signal state behind, and
 * executes the helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/spawn.h"
#include "common/log.h"
#include "parse/msg.h"

/* What sudo's secure_path would give on Debian. */
#define HELPER_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The administrator's own settings for sanitizer builds (tests), passed on
 * from the broker's environment, never the client's. */
static const char *const passed_on[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };

struct env {
	char uid[32], gid[32], user[64 + 16], pass[2][512];
	char *vars[8];
};

/* sudo's variables for the peer, and nothing else of any user's. */
static void build_env(struct env *e, const struct peer *p)
{
	const struct passwd *pw = getpwuid(p->uid);
	int n = 0;

	e->vars[n++] = HELPER_PATH;
	snprintf(e->uid, sizeof(e->uid), "SUDO_UID=%u", (unsigned)p->uid);
	snprintf(e->gid, sizeof(e->gid), "SUDO_GID=%u", (unsigned)p->gid);
	e->vars[n++] = e->uid;
	e->vars[n++] = e->gid;
	if (pw && strlen(pw->pw_name) < 64) {
		snprintf(e->user, sizeof(e->user), "SUDO_USER=%s", pw->pw_name);
		e->vars[n++] = e->user;
	}
	for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++) {
		const char *v = getenv(passed_on[i]);

		if (v && strlen(v) + strlen(passed_on[i]) + 2 <= sizeof(e->pass[i])) {
			snprintf(e->pass[i], sizeof(e->pass[i]), "%s=%s", passed_on[i], v);
			e->vars[n++] = e->pass[i];
		}
	}
	e->vars[n] = NULL;
}

/* In the child: the user hears why nothing runs. */
static _Noreturn void child_failed(const char *what, const char *helper, int err)
{
	struct msg_broker_exit m = { .h = msg_hdr(MSG_BROKER_EXIT, 0), .status = 127 };

	snprintf(m.line, sizeof(m.line), "vmnet-broker cannot %s %s: %s", what, helper,
		 strerror(err));
	send(BROKERMSG_HELPER_CONN_FD, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
	_exit(127);
}

/* 0..4 as the helper expects them; nothing else open. */
static int place_fds(int conn, const int fds[BROKERMSG_FDS])
{
	int src[5] = { open("/dev/null", O_RDWR | O_CLOEXEC), fds[BROKERMSG_FD_STDOUT],
		       fds[BROKERMSG_FD_STDERR], fds[BROKERMSG_FD_VM], conn };
	int tmp[5];

	_Static_assert(BROKERMSG_HELPER_VM_FD == 3 && BROKERMSG_HELPER_CONN_FD == 4, "src[]");
	/* Out of the way first, so no dup2 clobbers a source. */
	for (int i = 0; i < 5; i++)
		if (src[i] < 0 || (tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 16)) < 0)
			return -1;
	for (int i = 0; i < 5; i++)
		if (dup2(tmp[i], i) < 0)   /* dup2 clears close-on-exec */
			return -1;
	/* The broker reads without blocking; the helper waits on its answers. */
	if (fcntl(BROKERMSG_HELPER_CONN_FD, F_SETFL,
		  fcntl(BROKERMSG_HELPER_CONN_FD, F_GETFL) & ~O_NONBLOCK) < 0)
		return -1;
	return close_range(5, ~0U, 0);
}

static _Noreturn void child(const char *helper, char *const argv[], char *const envp[], int conn,
			    const int fds[BROKERMSG_FDS])
{
	sigset_t none;

	if (place_fds(conn, fds) < 0)
		_exit(127);
	/* The broker's signal state is not the helper's (SIGPIPE ignored, its
	 * signals blocked for signalfd); a session of its own: the broker's
	 * group and its service stopping do not reach it. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_failed("start a session for", helper, errno);
	execve(helper, argv, envp);
	child_failed("run", helper, errno);
}

pid_t spawn_helper(const char *helper, char *const argv[], const struct peer *p, int conn,
		   const int fds[BROKERMSG_FDS])
{
	struct env e;
	pid_t pid;

	build_env(&e, p);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child(helper, argv, e.vars, conn, fds);
	return pid < 0 ? -errno : pid;
}
