/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files process (sockfile.h): forked by setup before the network
 * exists, it makes, hands over and finally removes --socket's PATH and
 * PATH.lock with the invoking user's identity and no capabilities (root's
 * own paths: root with the file capabilities only). Its channel to the
 * helper carries typed messages (parse/msg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "files/owner.h"
#include "files/sockfile.h"
#include "parse/msg.h"

#define CTL_FD FILES_CTL_FD
#define LOCK_TRIES 3
#define CLOSE_WAIT_MS 5000

/* ---- in the files process ---- */

struct files {
	const char *path;
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	int type;
	int sock, lock;
	dev_t dev;          /* PATH as bound: removed only if still this file */
	ino_t ino;
};

static int fail(const char *fmt, const char *path, int err)
{
	char line[400];

	snprintf(line, sizeof(line), fmt, path);
	ERROR("files", "%s%s%s", line, err ? ": " : "", err ? strerror(err) : "");
	return -1;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A regular file, locked, and still the one named lock_path (a helper
 * exiting may remove it between our open and our flock). */
static int take_lock(struct files *s)
{
	struct stat st, named;
	const char *why = NULL, *what = NULL;

	for (int i = 0; i < LOCK_TRIES; i++) {
		s->lock = open(s->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			       0600);
		if (s->lock < 0)
			return fail("cannot open lock \"%s\"", s->lock_path, errno);
		if (fstat(s->lock, &st) < 0 || !S_ISREG(st.st_mode)) {
			why = "lock \"%s\" is not a regular file";
			what = s->lock_path;
		} else if (flock(s->lock, LOCK_EX | LOCK_NB) < 0) {
			why = "socket \"%s\" is in use by another helper";
			what = s->path;
		} else if (lstat(s->lock_path, &named) == 0 && same_file(&st, &named))
			return 0;
		close(s->lock);
		s->lock = -1;
		if (why)
			return fail(why, what, 0);
	}
	return fail("lock \"%s\" keeps being replaced", s->lock_path, 0);
}

/* We hold the lock, so a socket left at PATH is stale. Anything else is
 * not ours to remove. */
static int remove_stale(struct files *s)
{
	struct stat st;

	if (lstat(s->path, &st) < 0)
		return errno == ENOENT ? 0 : fail("cannot use --socket \"%s\"", s->path, errno);
	if (!S_ISSOCK(st.st_mode))
		return fail("cannot use --socket \"%s\": it exists and is not a socket", s->path, 0);
	if (unlink(s->path) < 0 && errno != ENOENT)
		return fail("cannot remove stale socket \"%s\"", s->path, errno);
	return 0;
}

static int bind_path(struct files *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	s->sock = socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0);
	if (s->sock < 0)
		return fail("cannot create socket for \"%s\"", s->path, errno);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", s->path);
	/* umask 0177: the file is 0600 from the start. */
	if (bind(s->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail("cannot bind \"%s\"", s->path, errno);
	if (s->type == SOCK_STREAM && listen(s->sock, 1) < 0)
		return fail("cannot listen on \"%s\"", s->path, errno);
	if (lstat(s->path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	return 0;
}

/* Its verdict, once (MSG_FILES_READY), with the two fds on success. */
/* Whether the channel's other end is gone: an empty message reads as its
 * end does on a SOCK_SEQPACKET, only a hang-up tells them apart. */
static bool hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR));
}

static int send_hello(int rc, int sock, int lock)
{
	struct msg_files_ready h = { .h = msg_hdr(MSG_FILES_READY, 0), .rc = rc };
	union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (rc == 0) {
		int fds[2] = { sock, lock };

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
	}
	return sendmsg(CTL_FD, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Connects to the sender of the datagram at the head of the queue. */
static void serve_connect(const struct files *s)
{
	struct msg_files_connected r = { .h = msg_hdr(MSG_FILES_CONNECTED, 0) };
	socklen_t fromlen = sizeof(r.from);
	ssize_t n;

	n = recvfrom(s->sock, NULL, 0, MSG_PEEK | MSG_DONTWAIT, (struct sockaddr *)&r.from,
		     &fromlen);
	r.fromlen = fromlen;
	if (n < 0)
		r.rc = -errno; /* NOLINT(bugprone-branch-clone): errno of another call */
	else if (r.fromlen <= offsetof(struct sockaddr_un, sun_path))
		r.rc = -EDESTADDRREQ;
	else if (connect(s->sock, (struct sockaddr *)&r.from, r.fromlen) < 0)
		r.rc = -errno;
	send(CTL_FD, &r, sizeof(r), MSG_NOSIGNAL);
}

/* Removes PATH and PATH.lock if they are still what we made (the lock is
 * still held: no other helper can be using them). */
static void remove_files(const struct files *s)
{
	struct stat st, lock;

	if (s->ino && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	if (s->lock >= 0 && fstat(s->lock, &lock) == 0 && lstat(s->lock_path, &st) == 0 &&
	    same_file(&st, &lock))
		unlink(s->lock_path);
}

/*
 * Serves requests until the channel's other end is gone from every process.
 * The datapath's requests are untrusted (a VM may have taken it over): one
 * that is not a whole MSG_FILES_CONNECT is refused, logged once, not
 * answered. An empty message reads as the end would: only a hang-up is.
 */
static void serve(const struct files *s)
{
	uint8_t buf[sizeof(union msg) + 1];
	unsigned refused = 0;
	union msg m;

	for (;;) {
		ssize_t n = recv(CTL_FD, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n == 0 && hung_up(CTL_FD)))
			return;
		if (msg_parse(buf, (size_t)n, MSG_TO_FILES, &m) < 0) {
			if (refused++ == 0)
				WARN("files", "refused a malformed request (%zd bytes)", n);
			continue;
		}
		if (s->type == SOCK_DGRAM)
			serve_connect(s);
	}
}

static void files_main(const char *path, int type, const struct priv_user *u)
{
	struct files s = { .path = path, .type = type, .sock = -1, .lock = -1 };
	int rc;

	snprintf(s.lock_path, sizeof(s.lock_path), "%s.lock", path);
	umask(0177);
	/* The owner of the path: the invoking user, or root for root's own paths. */
	rc = files_become_owner(u);
	if (rc == 0)
		rc = take_lock(&s);
	/* Past the lock, a failure takes back what we made. */
	if (rc == 0 && (remove_stale(&s) < 0 || bind_path(&s) < 0)) {
		remove_files(&s);
		rc = -1;
	}
	if (send_hello(rc, s.sock, s.lock) < 0 || rc < 0) {
		if (rc == 0)
			remove_files(&s);
		_exit(1);
	}
	/* A stream socket's connections are accepted by the datapath. */
	if (type != SOCK_DGRAM) {
		close(s.sock);
		s.sock = -1;
	}
	serve(&s);
	remove_files(&s);
	_exit(0);
}

/* ---- in the caller ---- */

/* The files process's verdict, with the socket and lock on success. */
static int recv_hello(struct sockfile *f, int *sock_fd, int *lock_fd)
{
	uint8_t h[sizeof(union msg) + 1];
	union msg m;
	union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;
	bool ok;

	while ((n = recvmsg(f->ctl, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	ok = n > 0 && msg_parse(h, (size_t)n, MSG_BIT(MSG_FILES_READY), &m) == MSG_FILES_READY;
	c = ok ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
		int fds[2];

		memcpy(fds, CMSG_DATA(c), sizeof(fds));
		if (m.files_ready.rc == 0) {
			*sock_fd = fds[0];
			*lock_fd = fds[1];
			return 0;
		}
		close(fds[0]);
		close(fds[1]);
	}
	/* It said why (one ERROR line) unless it died without a word. */
	if (!ok)
		ERROR("main", "the socket files process failed");
	return -1;
}

int sockfile_open(struct sockfile *f, const char *path, int type, const struct priv_user *u,
		  int *sock_fd, int *lock_fd)
{
	int sv[2];

	f->pid = -1;
	f->ctl = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ERROR("main", "cannot create a socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	f->pid = fork();
	if (f->pid == 0) {
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		files_keep_channel(sv[1]);
		files_main(path, type, u);
	}
	close(sv[1]);
	f->ctl = sv[0];
	if (f->pid < 0) {
		ERROR("main", "cannot fork: %s", strerror(errno));
		sockfile_close(f);
		return -1;
	}
	if (recv_hello(f, sock_fd, lock_fd) < 0) {
		sockfile_close(f);
		return -1;
	}
	return 0;
}

int sockfile_connect_first(struct sockfile *f, struct sockaddr_un *from, socklen_t *fromlen)
{
	struct msg_files_connect req = { .h = msg_hdr(MSG_FILES_CONNECT, 0) };
	uint8_t buf[sizeof(union msg) + 1];
	struct msg_files_connected *r;
	union msg m;
	ssize_t n;

	if (f->ctl < 0 || send(f->ctl, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return -EPIPE;
	while ((n = recv(f->ctl, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
		;
	/* Over a broker's connection the user's side may say stop instead. */
	if (n > 0 && msg_parse(buf, (size_t)n, MSG_BIT(MSG_BROKER_STOP), &m) == MSG_BROKER_STOP)
		return -ECANCELED;
	if (n <= 0 || msg_parse(buf, (size_t)n, MSG_BIT(MSG_FILES_CONNECTED), &m) < 0)
		return -EPIPE;
	r = &m.files_connected;
	if (r->rc == 0) {
		if (r->fromlen > sizeof(*from))
			return -EINVAL;
		memcpy(from, &r->from, r->fromlen);
		*fromlen = r->fromlen;
	}
	return r->rc == -EPIPE ? -EIO : r->rc;
}

/* Bounded: the files process runs as the user, who may stop it; our exit
 * (and so the reaper's teardown) must not wait for that. */
static void wait_exit(pid_t pid)
{
	int pfd = pidfd_open(pid, 0);

	if (pfd >= 0) {
		struct pollfd p = { pfd, POLLIN, 0 };
		while (poll(&p, 1, CLOSE_WAIT_MS) < 0 && errno == EINTR)
			;
		close(pfd);
		waitpid(pid, NULL, WNOHANG);
		return;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void sockfile_close(struct sockfile *f)
{
	if (f->ctl >= 0)
		close(f->ctl);
	f->ctl = -1;
	if (f->pid > 0)
		wait_exit(f->pid);
	f->pid = -1;
}
