/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user's side of vmnet-broker (brokerclient.h). Runs in vmnet-helper as
 * the user who started it (not root), with no privileges; what it reads
 * from the connection comes from the broker (root) or the helper it started
 * (whose datapath runs as this same user).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/brokerclient.h"
#include "common/log.h"
#include "files/sockfile.h"
#include "parse/brokermsg.h"
#include "parse/msg.h"

struct client {
	const char *path;          /* the broker's socket */
	int conn;
	int sig_fd;
	int vm_fd;                 /* the VM's socket, until it is sent */
	int type;                  /* --socket's: SOCK_DGRAM or SOCK_STREAM */
	struct sockfile files;     /* --socket: the user's files process */
	int lock_fd;
	bool stopping;             /* MSG_BROKER_STOP sent */
};

/* Removes --socket's files (the files process does, as for a helper) and exits. */
static _Noreturn void finish(struct client *c, int status)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	sockfile_close(&c->files);
	exit(status);
}

/* The group the broker's socket admits: what to ask the administrator for. */
static const char *socket_group(const char *path, char *buf, size_t len)
{
	struct stat st;
	const struct group *g;

	if (stat(path, &st) == 0 && (g = getgrgid(st.st_gid)) != NULL) {
		snprintf(buf, len, "%s", g->gr_name);
		return buf;
	}
	return "vmnet";
}

/* One line: why the broker cannot be reached, and what to do about it. */
static _Noreturn void unreachable(struct client *c, int err)
{
	char group[64], what[256];

	switch (err) {
	case EACCES:
	case EPERM:
		snprintf(what, sizeof(what), "permission denied: ask the administrator to add you to "
			 "group %s", socket_group(c->path, group, sizeof(group)));
		break;
	case ENOENT:
		snprintf(what, sizeof(what), "no such socket: vmnet-broker is not installed or not "
			 "running (ask the administrator)");
		break;
	case ECONNREFUSED:
		snprintf(what, sizeof(what), "connection refused: vmnet-broker is not running (ask "
			 "the administrator)");
		break;
	default:
		snprintf(what, sizeof(what), "%s", strerror(err));
	}
	ERROR("broker", "cannot reach vmnet-broker at %s: %s, or run vmnet-helper with sudo", c->path,
	      what);
	finish(c, EXIT_FAILURE);
}

static void connect_broker(struct client *c)
{
	const char *env = getenv("VMNET_BROKER_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	c->path = env && *env ? env : VMNET_BROKER_SOCKET;
	if (strlen(c->path) >= sizeof(addr.sun_path))
		unreachable(c, ENAMETOOLONG);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", c->path);
	c->conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->conn < 0)
		unreachable(c, errno);
	if (connect(c->conn, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		unreachable(c, errno);
}

/* The VM's socket: --fd's, or --socket's, bound here as the user. */
static void vm_socket(struct client *c, const struct options *o)
{
	if (!o->socket_path) {
		if (fcntl(o->fd, F_GETFD) < 0) {
			ERROR("main", "invalid --fd %d: %s", o->fd, strerror(errno));
			finish(c, EXIT_FAILURE);
		}
		c->vm_fd = o->fd;
		return;
	}
	c->type = o->socket_type;
	if (sockfile_open(&c->files, o->socket_path, o->socket_type, NULL, &c->vm_fd, &c->lock_fd) < 0)
		finish(c, EXIT_FAILURE);
}

/* The request: the options as given, and the three descriptors. A send the
 * broker cut short (it refused us first) is not an error here: its answer
 * is waiting on the connection. */
static void send_request(struct client *c, int argc, char **argv)
{
	uint8_t buf[BROKERMSG_MAX];
	ssize_t n = brokermsg_build(argc - 1, argv + 1, buf, sizeof(buf));
	int fds[BROKERMSG_FDS] = { c->vm_fd, STDOUT_FILENO, STDERR_FILENO };
	union { char buf[CMSG_SPACE(sizeof(fds))]; struct cmsghdr align; } u;
	struct iovec iov = { buf, (size_t)n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;

	if (n < 0) {
		ERROR("broker", "too many or too long options for vmnet-broker (at most %d, %d bytes)",
		      BROKERMSG_MAX_ARGS, BROKERMSG_MAX);
		finish(c, EXIT_FAILURE);
	}
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	while (sendmsg(c->conn, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	/* The helper has its own copy now: a stream listener must close with
	 * it (a second client is then refused), a socketpair end must not be
	 * held open here. */
	close(c->vm_fd);
	c->vm_fd = -1;
}

/* SIGTERM and SIGINT become a stop message (the helper's own signals are
 * root's to send); SIGHUP and the rest end this process as they would end
 * a helper, and with it the connection, which stops the helper too. */
static void take_signals(struct client *c)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0) {
		ERROR("main", "signalfd: %s", strerror(errno));
		finish(c, EXIT_FAILURE);
	}
}

static void stop(struct client *c)
{
	struct signalfd_siginfo si;
	struct msg_broker_stop m = { .h = msg_hdr(MSG_BROKER_STOP, 0) };

	while (read(c->sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	if (!c->stopping)
		send(c->conn, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
	c->stopping = true;
}

/* --socket, datagram: connect the socket to its first client, as the files
 * process does for a helper run through sudo (sockfile.h). */
static void answer_connect(struct client *c)
{
	struct msg_files_connected r = { .h = msg_hdr(MSG_FILES_CONNECTED, 0), .rc = -EINVAL };
	socklen_t len = sizeof(r.from);

	if (c->files.pid > 0 && c->type == SOCK_DGRAM) {
		r.rc = sockfile_connect_first(&c->files, &r.from, &len);
		r.fromlen = r.rc == 0 ? len : 0;
	}
	send(c->conn, &r, sizeof(r), MSG_NOSIGNAL);
}

/* One message from the broker or the helper; exits on MSG_BROKER_EXIT and at the end. */
static void receive(struct client *c)
{
	uint8_t buf[sizeof(union msg) + 1];
	struct pollfd p = { .fd = c->conn, .events = POLLIN };
	union msg m;
	ssize_t n = recv(c->conn, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && poll(&p, 1, 0) == 1 && !(p.revents & (POLLHUP | POLLERR)))
		return;   /* an empty message, not the end */
	if (n <= 0) {
		ERROR("broker", "vmnet-helper, run by vmnet-broker, ended without an exit status");
		finish(c, EXIT_FAILURE);
	}
	switch (msg_parse(buf, (size_t)n, MSG_TO_USER, &m)) {
	case MSG_BROKER_EXIT:
		if (m.broker_exit.line[0])
			ERROR("broker", "%s", m.broker_exit.line);
		finish(c, m.broker_exit.status);
	case MSG_FILES_CONNECT:
		answer_connect(c);
		return;
	default:
		return;
	}
}

_Noreturn void brokerclient_run(const struct options *o, int argc, char **argv)
{
	struct client c = { .conn = -1, .sig_fd = -1, .vm_fd = -1, .lock_fd = -1,
			    .files = { .pid = -1, .ctl = -1 } };

	prctl(PR_SET_NAME, BROKERCLIENT_NAME, 0, 0, 0);
	take_signals(&c);
	connect_broker(&c);
	vm_socket(&c, o);
	send_request(&c, argc, argv);
	for (;;) {
		struct pollfd p[2] = { { c.conn, POLLIN, 0 }, { c.sig_fd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			ERROR("main", "poll: %s", strerror(errno));
			finish(&c, EXIT_FAILURE);
		}
		if (p[1].revents)
			stop(&c);
		if (p[0].revents)
			receive(&c);
	}
}
