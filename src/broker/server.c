/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-broker's loop (server.h). Runs in the broker (root) and reads what
 * members of its group send: every read is non-blocking and bounded, every
 * refusal one line sent without waiting, and no client can hold the loop.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/server.h"
#include "broker/spawn.h"
#include "common/log.h"
#include "parse/brokermsg.h"
#include "parse/msg.h"

/* Accepted per turn of the loop, so signals and deadlines keep their turn. */
#define ACCEPT_BURST 64

struct conn {
	int fd;
	struct peer peer;
	long long deadline;   /* ms, CLOCK_MONOTONIC */
};

struct server {
	const struct server_config *c;
	int sig_fd;
	struct conn conns[SERVER_MAX_CONNS];
	int n;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "uid 1000 (alice) pid 4242", for log lines. */
static const char *who(const struct peer *p)
{
	static char buf[128];
	const struct passwd *pw = getpwuid(p->uid);

	snprintf(buf, sizeof(buf), "uid %u (%s) pid %d", (unsigned)p->uid, pw ? pw->pw_name : "?",
		 (int)p->pid);
	return buf;
}

/* One line to the client, never waiting for it; and to the log. */
static void refuse(int fd, const struct peer *p, const char *line)
{
	struct msg_broker_exit m = { .h = msg_hdr(MSG_BROKER_EXIT, 0), .status = 1 };

	snprintf(m.line, sizeof(m.line), "%s", line);
	send(fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
	WARN("broker", "%s: refused: %s", p ? who(p) : "a client", line);
}

static void drop(struct server *s, int i)
{
	close(s->conns[i].fd);
	peer_close(&s->conns[i].peer);
	s->conns[i] = s->conns[--s->n];
}

static int in_progress(const struct server *s, uid_t uid)
{
	int count = 0;

	for (int i = 0; i < s->n; i++)
		count += s->conns[i].peer.uid == uid;
	return count;
}

/* Who may ask, and how many at once: checked before a byte is read. */
static bool admissible(struct server *s, int fd, const struct peer *p)
{
	char line[MSG_LINE_MAX];
	const struct passwd *pw;

	if (p->uid != 0 && !peer_in_group(fd, p, s->c->gid)) {
		pw = getpwuid(p->uid);
		snprintf(line, sizeof(line), "user %s (uid %u) is not in group %s: ask the "
			 "administrator to add you to it, or run vmnet-helper with sudo",
			 pw ? pw->pw_name : "?", (unsigned)p->uid, s->c->group);
	} else if (in_progress(s, p->uid) >= SERVER_MAX_PER_USER) {
		snprintf(line, sizeof(line), "uid %u has %d requests in progress already: try again",
			 (unsigned)p->uid, SERVER_MAX_PER_USER);
	} else if (s->n == SERVER_MAX_CONNS) {
		snprintf(line, sizeof(line), "vmnet-broker is busy (%d requests in progress): try "
			 "again", SERVER_MAX_CONNS);
	} else {
		return true;
	}
	refuse(fd, p, line);
	return false;
}

static void admit(struct server *s, int fd)
{
	struct conn *c;
	struct peer p;

	if (peer_identify(fd, &p) < 0) {
		close(fd);   /* gone already, or not a peer the kernel can name */
		return;
	}
	if (!admissible(s, fd, &p)) {
		peer_close(&p);
		close(fd);
		return;
	}
	c = &s->conns[s->n++];
	*c = (struct conn){ .fd = fd, .peer = p, .deadline = now_ms() + SERVER_REQUEST_TIMEOUT_MS };
	DEBUG("broker", "%s: connected", who(&p));
}

static void accept_burst(struct server *s)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = accept4(s->c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				WARN("broker", "accept: %s", strerror(errno));
			return;
		}
		admit(s, fd);
	}
}

/* ---- a request ---- */

struct received {
	uint8_t data[BROKERMSG_MAX + 1];
	size_t len;
	int fds[BROKERMSG_FDS + 1];
	int nfds;
	bool truncated;
};

/* Every descriptor of every SCM_RIGHTS the kernel delivered, up to room. */
static void take_fds(struct msghdr *msg, struct received *r)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (r->nfds < BROKERMSG_FDS + 1)
				r->fds[r->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/* One message: 1, 0 if none yet, -1 if the client is gone. */
static int receive(int fd, struct received *r)
{
	union { char buf[CMSG_SPACE(sizeof(int) * (BROKERMSG_FDS + 1))]; struct cmsghdr align; } u;
	struct iovec iov = { r->data, sizeof(r->data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	r->nfds = 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	take_fds(&msg, r);
	r->len = (size_t)n;
	r->truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || r->len > BROKERMSG_MAX;
	if (n == 0 && r->nfds == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		/* The end reads as an empty message: only a hang-up is the end. */
		if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)))
			return -1;
	}
	return 1;
}

/* The VM's descriptor: a unix socket of a type the helper serves. */
static const char *vm_fd_refused(int fd)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return "the VM's descriptor is not a unix socket";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    (type != SOCK_DGRAM && type != SOCK_STREAM))
		return "the VM's socket is neither a datagram nor a stream socket";
	return NULL;
}

/* The helper's options, for the log: joined, cut short if long. */
static const char *joined(char *const argv[])
{
	static char line[320];
	size_t used = 0;

	line[0] = '\0';
	for (int i = 1; argv[i] && used < sizeof(line) - 1; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i > 1 ? " " : "",
					 argv[i]);
	return line;
}

/* A request read whole: a helper, or one line. */
static void start(struct server *s, const struct conn *c, struct received *r)
{
	char err[MSG_LINE_MAX], *argv[BROKERMSG_MAX_ARGS + 8];
	struct brokermsg_req req;
	const char *why = NULL;
	pid_t pid;

	if (r->truncated) {
		snprintf(err, sizeof(err), "malformed request: larger than %d bytes or with more "
			 "than %d descriptors", BROKERMSG_MAX, BROKERMSG_FDS);
		why = err;
	} else if (brokermsg_parse(r->data, r->len, r->nfds, &req, err, sizeof(err)) < 0 ||
		   brokermsg_helper_argv(&req, s->c->helper, argv, BROKERMSG_MAX_ARGS + 8, err,
					 sizeof(err)) < 0) {
		why = err;
	} else {
		why = vm_fd_refused(r->fds[BROKERMSG_FD_VM]);
	}
	if (why) {
		refuse(c->fd, &c->peer, why);
		return;
	}
	pid = spawn_helper(s->c->helper, argv, &c->peer, c->fd, r->fds);
	if (pid < 0) {
		snprintf(err, sizeof(err), "vmnet-broker cannot start vmnet-helper: %s",
			 strerror((int)-pid));
		refuse(c->fd, &c->peer, err);
		return;
	}
	INFO("broker", "%s: started vmnet-helper pid %d: %s", who(&c->peer), (int)pid, joined(argv));
}

/* Connection i is readable: its request, or its end. Dropped either way. */
static void serve(struct server *s, int i)
{
	struct received r;
	int rc = receive(s->conns[i].fd, &r);

	if (rc == 0)
		return;
	if (rc > 0)
		start(s, &s->conns[i], &r);
	for (int k = 0; k < r.nfds; k++)
		close(r.fds[k]);
	drop(s, i);
}

/* ---- the loop ---- */

static void expire(struct server *s, long long now)
{
	char line[MSG_LINE_MAX];

	for (int i = s->n - 1; i >= 0; i--) {
		if (s->conns[i].deadline > now)
			continue;
		snprintf(line, sizeof(line), "no request within %d s", SERVER_REQUEST_TIMEOUT_MS / 1000);
		refuse(s->conns[i].fd, &s->conns[i].peer, line);
		drop(s, i);
	}
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFEXITED(status))
			INFO("broker", "vmnet-helper pid %d exited with status %d", (int)pid,
			     WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			INFO("broker", "vmnet-helper pid %d killed by %s", (int)pid,
			     strsignal(WTERMSIG(status)));
	}
}

/* SIGCHLD: reap; SIGTERM, SIGINT: true (stop). */
static bool signalled(struct server *s)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else
			stop = true;
	}
	return stop;
}

/* The poll set: listener, signals, then each connection and its peer's
 * pidfd (readable when that process is gone). The timeout: the nearest
 * deadline. */
static int wait_events(struct server *s, struct pollfd *p)
{
	long long now = now_ms(), next = now + 60000;

	p[0] = (struct pollfd){ .fd = s->c->listen_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
	for (int i = 0; i < s->n; i++) {
		p[2 + 2 * i] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
		p[3 + 2 * i] = (struct pollfd){ .fd = s->conns[i].peer.pidfd, .events = POLLIN };
		if (s->conns[i].deadline < next)
			next = s->conns[i].deadline;
	}
	return poll(p, 2 + 2 * (nfds_t)s->n, next > now ? (int)(next - now) : 0);
}

static int setup_signals(struct server *s)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		ERROR("broker", "signalfd: %s", strerror(errno));
	return s->sig_fd;
}

int server_run(const struct server_config *c)
{
	static struct server s;
	struct pollfd p[2 + 2 * SERVER_MAX_CONNS];

	s.c = c;
	if (setup_signals(&s) < 0)
		return 1;
	for (;;) {
		if (wait_events(&s, p) < 0 && errno != EINTR) {
			ERROR("broker", "poll: %s", strerror(errno));
			return 1;
		}
		if ((p[1].revents & POLLIN) && signalled(&s))
			break;
		/* Backwards: drop() moves the last connection into slot i. */
		for (int i = s.n - 1; i >= 0; i--) {
			if (p[2 + 2 * i].revents)
				serve(&s, i);
			else if (p[3 + 2 * i].revents)
				drop(&s, i);   /* the client is gone before asking */
		}
		expire(&s, now_ms());
		if (p[0].revents & POLLIN)
			accept_burst(&s);
	}
	while (s.n > 0)
		drop(&s, s.n - 1);
	INFO("broker", "stopping; the helpers it started go on");
	return 0;
}
