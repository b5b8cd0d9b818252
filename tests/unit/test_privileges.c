/* SPDX-License-Identifier: Apache-2.0 */
/* privileges.c: SUDO_UID/SUDO_GID parsing, descriptor closing, and (as root)
 * priv_become in forked children. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/privileges.h"
#include "reaper/reaper.h"
#include "t.h"

static int from_env(const char *uid, const char *gid, struct priv_user *u)
{
	if (uid)
		setenv("SUDO_UID", uid, 1);
	else
		unsetenv("SUDO_UID");
	if (gid)
		setenv("SUDO_GID", gid, 1);
	else
		unsetenv("SUDO_GID");
	return priv_user_from_env(u);
}

static void test_sudo_env(void)
{
	const struct passwd *nobody = getpwnam(PRIV_FALLBACK_USER);
	struct priv_user u;
	/* The refusals' ERROR lines are expected: keep them off the output. */
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);

	dup2(devnull, 2);
	close(devnull);

	CHECK(from_env("1000", "1001", &u) == 0);
	CHECK(u.uid == 1000 && u.gid == 1001 && u.from_sudo);
	CHECK(from_env("0", "0", &u) == 0);   /* root through sudo: no sudo user */
	CHECK(!u.from_sudo);
	CHECK(from_env(NULL, NULL, &u) == 0);
	CHECK(!u.from_sudo && nobody && u.uid == nobody->pw_uid && u.gid == nobody->pw_gid);
	CHECK(u.uid != 0 && u.gid != 0);
	CHECK(from_env("4294967294", "7", &u) == 0 && u.uid == 4294967294u);
	/* Both or neither, plain decimal, below (id_t)-1. */
	const char *bad[] = { "", " 1000", "1000 ", "+1000", "-1", "01000", "1000x", "0x10",
			      "1e3", "4294967295", "99999999999", "１０００" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(from_env(bad[i], "1000", &u) < 0);
		CHECK(from_env("1000", bad[i], &u) < 0);
	}
	CHECK(from_env("1000", NULL, &u) < 0);
	CHECK(from_env(NULL, "1000", &u) < 0);
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
	dup2(saved, 2);
	close(saved);
}

/* Runs fn in a child; its exit status (0 = all good). */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int close_keeping_7(void)
{
	for (int fd = 3; fd < 10; fd++)
		if (!is_open(fd) && dup2(2, fd) < 0)
			return 1;
	close(1);
	if (priv_close_inherited(7, -1) < 0)
		return 2;
	for (int fd = 3; fd < 10; fd++)
		if (is_open(fd) != (fd == 7))
			return 10 + fd;
	/* stdout was closed: /dev/null now, so nothing else lands on it. */
	char path[64] = "";
	if (readlink("/proc/self/fd/1", path, sizeof(path) - 1) < 0 || strcmp(path, "/dev/null"))
		return 3;
	return 0;
}

static int close_keeping_0(void)
{
	dup2(2, 3);
	dup2(2, 50);
	if (priv_close_inherited(0, -1) < 0 || is_open(3) || is_open(50) || !is_open(0))
		return 1;
	return 0;
}

/* The VM's socket and the broker's connection, in either order, 3 included. */
static int close_keeping_two(int a, int b)
{
	for (int fd = 3; fd < 12; fd++)
		if (!is_open(fd) && dup2(2, fd) < 0)
			return 1;
	if (priv_close_inherited(a, b) < 0)
		return 2;
	for (int fd = 3; fd < 12; fd++)
		if (is_open(fd) != (fd == a || fd == b))
			return 10 + fd;
	return 0;
}

static int close_keeping_3_and_4(void) { return close_keeping_two(3, 4); }
static int close_keeping_9_and_5(void) { return close_keeping_two(9, 5); }
static int close_keeping_11_and_none(void) { return close_keeping_two(-1, 11); }

static void test_close_inherited(void)
{
	CHECK(in_child(close_keeping_7) == 0);
	CHECK(in_child(close_keeping_0) == 0);
	CHECK(in_child(close_keeping_3_and_4) == 0);
	CHECK(in_child(close_keeping_9_and_5) == 0);
	CHECK(in_child(close_keeping_11_and_none) == 0);
}

/* The datapath's drop: nobody, nothing left, no way back. */
static int become_nobody(void)
{
	const struct passwd *pw = getpwnam(PRIV_FALLBACK_USER);

	if (!pw || priv_become(pw->pw_uid, pw->pw_gid, 0) < 0)
		return 1;
	if (setresuid(0, 0, 0) == 0 || setgroups(0, NULL) == 0)
		return 2;
	if (open("/etc/shadow", O_RDONLY) >= 0 || errno != EACCES)
		return 3;
	if (prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 0)
		return 4;
	return 0;
}

/* The reaper's: uid 0 with CAP_NET_ADMIN alone. */
static int become_reaper(void)
{
	char path[] = "/tmp/vmnet-unit-XXXXXX";
	int fd, rc = 0;

	if (priv_become(0, 0, PRIV_CAP(CAP_NET_ADMIN)) < 0)
		return 1;
	if (setresuid(1, 1, 1) == 0)   /* no CAP_SETUID */
		return 2;
	if (prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 1 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 3;
	/* Its own files still work; others' need capabilities it lacks. */
	fd = mkstemp(path);
	if (fd < 0)
		return 4;
	if (fchown(fd, 1, 1) == 0)     /* no CAP_CHOWN */
		rc = 5;
	close(fd);
	unlink(path);
	return rc;
}

static void mark_ran(void *arg)
{
	(void)arg;
	if (write(STDERR_FILENO, "ran", 3) != 3)
		_exit(1);
}

/* Reads what is in the pipe now (non-blocking), NUL-terminated. */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	struct pollfd pfd = { fd, POLLIN, 0 };

	while (len + 1 < cap && poll(&pfd, 1, 200) == 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return len;
}

/* The reaper tears down once the datapath's end of its channel is gone, not
 * on a message (which a datapath taken over by a VM could send), a
 * malformed or an empty one included (recv() returns 0 for an empty one as
 * for the end): those are refused, logged once and counted. */
static void test_reaper_waits_for_the_end(void)
{
	struct reaper rp;
	int p[2], saved = dup(STDERR_FILENO), rc;
	char buf[1024];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	/* The reaper keeps only stderr: make it the pipe fn writes to. */
	dup2(p[1], STDERR_FILENO);
	rc = reaper_start(&rp, mark_ran, NULL, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	CHECK(rc == 0);
	CHECK(write(rp.pipe_fd, "x", 1) == 1);
	CHECK(send(rp.pipe_fd, "", 0, 0) == 0);
	drain(p[0], buf, sizeof(buf));
	CHECK(strstr(buf, "refused a malformed request") != NULL);
	CHECK(strstr(buf, "ran") == NULL);
	reaper_finish(&rp);
	drain(p[0], buf, sizeof(buf));
	CHECK(strstr(buf, "refused 2 malformed requests") != NULL);
	CHECK(strlen(buf) >= 3 && strcmp(buf + strlen(buf) - 3, "ran") == 0);
	close(p[0]);
}

/* A claim gets a verdict with its own number; the reaper answers what its
 * ask function says, and a claim of a type it does not take is refused. */
static bool grant_mac(void *arg, const union msg *m)
{
	(void)arg;
	return m->h.type == MSG_CLAIM_MAC && m->claim_mac.mac[0] == 2;
}

static void nothing(void *arg)
{
	(void)arg;
}

static void test_reaper_claims(void)
{
	union msg m = { .claim_mac = { .h = msg_hdr(MSG_CLAIM_MAC, 0), .mac = { 2, 0, 0, 0, 0, 1 } } };
	struct msg_verdict wrong = { .h = msg_hdr(MSG_VERDICT, 0), .granted = 1 };
	struct reaper rp;

	CHECK(reaper_start(&rp, nothing, grant_mac, NULL) == 0);
	CHECK(reaper_claim(&rp, &m, 1000) == 1);
	m.claim_mac.mac[0] = 4;
	CHECK(reaper_claim(&rp, &m, 1000) == 0);
	/* A verdict is not a claim: not answered. */
	CHECK(send(rp.pipe_fd, &wrong, sizeof(wrong), 0) == (ssize_t)sizeof(wrong));
	m = (union msg){ .claim_addr6 = { .h = msg_hdr(MSG_CLAIM_ADDR6, 0) } };
	CHECK(reaper_claim(&rp, &m, 1000) == 0);
	reaper_finish(&rp);
}

static void test_become(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: not root, priv_become not tested\n", __FILE__);
		return;
	}
	CHECK(in_child(become_nobody) == 0);
	CHECK(in_child(become_reaper) == 0);
	test_reaper_waits_for_the_end();
	test_reaper_claims();
}

static void tests(void)
{
	test_sudo_env();
	test_close_inherited();
	test_become();
}

T_MAIN
