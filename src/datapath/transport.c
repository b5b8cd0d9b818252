/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's socket (transport.h): --fd checked and --socket made (by the
 * files process, files/sockfile.c) as root in setup; waiting for the first
 * client and watching the peer in the datapath (the user, sandboxed: its
 * calls are in transport_sandbox below).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "datapath/transport.h"

/*
 * Socket buffers: a datagram socket's send buffer bounds how many frames can
 * wait for the peer. 4 MiB holds about 2700 full-size frames: enough to ride
 * out a VM that pauses for a few milliseconds at 10 Gbit/s, small enough that
 * a stalled VM costs bounded memory. The limit counts bytes (each datagram's
 * kernel footprint), so with TSO or --mtu 65520 the same 4 MiB holds about 60
 * frames of 64 KiB: the same few milliseconds at the same bit rate, and the
 * receive pipeline's slots (forward.c, 4 x 16 such frames) hold it. Measured with vmsim --offload and iperf3, 16 MiB
 * was no faster than 4 MiB. SO_*BUFFORCE works past rmem_max/wmem_max while we
 * are still root.
 */
#define VM_SOCK_BUF (4 << 20)

static void set_buffers(int fd)
{
	int size = VM_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static const char *type_name(int type)
{
	return type == SOCK_STREAM ? "stream" : "datagram";
}

int transport_from_fd(struct transport *t, int fd, int want)
{
	struct stat st;
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	memset(t, 0, sizeof(*t));
	t->lock_fd = -1;
	t->diag_fd = -1;
	t->files = (struct sockfile){ .pid = -1, .ctl = -1 };
	if (fstat(fd, &st) < 0) {
		ERROR("main", "invalid --fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (type != SOCK_DGRAM && type != SOCK_STREAM) || domain != AF_UNIX) {
		ERROR("main", "invalid --fd %d: not a unix datagram or stream socket", fd);
		return -1;
	}
	if (want && type != want) {
		ERROR("main", "invalid --fd %d: a %s socket, not --socket-type %s", fd,
		      type_name(type), want == SOCK_STREAM ? "stream" : "dgram");
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	set_nonblock(fd);
	set_buffers(fd);
	t->fd = fd;
	t->type = type;
	return 0;
}

/* The broker's socket: served first-client-first when the user's side
 * bound it (--socket) rather than passing one end of a pair. */
static int unconnected(int fd, int type, bool *waiting)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	int listening = 0;
	socklen_t ilen = sizeof(listening);

	*waiting = false;
	if (type == SOCK_STREAM && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) == 0 &&
	    listening) {
		*waiting = true;
		return 0;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
		return 0;
	if (errno != ENOTCONN)
		return -errno;
	if (type == SOCK_STREAM)
		return -ENOTCONN;   /* neither connected nor listening: nothing to serve */
	*waiting = true;
	return 0;
}

int transport_from_broker(struct transport *t, int fd, int want, int conn)
{
	struct sockaddr_un addr = { 0 };
	socklen_t len = sizeof(addr);
	bool waiting;
	int rc;

	if (transport_from_fd(t, fd, want) < 0)
		return -1;
	rc = unconnected(fd, t->type, &waiting);
	if (rc < 0) {
		ERROR("main", "invalid --fd %d: %s", fd, rc == -ENOTCONN ? "a stream socket neither "
		      "connected nor listening" : strerror(-rc));
		return -1;
	}
	if (!waiting)
		return 0;
	/* Named for the log lines: the path the user's side bound. */
	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path) || !addr.sun_path[0]) {
		ERROR("main", "invalid --fd %d: an unconnected socket not bound to a path", fd);
		return -1;
	}
	snprintf(t->name, sizeof(t->name), "%.*s", (int)(len - offsetof(struct sockaddr_un, sun_path)),
		 addr.sun_path);
	t->path = t->name;
	t->serve_first = true;
	/* Connecting a datagram socket to its client: the user's side (the
	 * path is theirs), asked on a copy of the connection. */
	if (t->type == SOCK_DGRAM && (t->files.ctl = fcntl(conn, F_DUPFD_CLOEXEC, 3)) < 0) {
		ERROR("main", "cannot duplicate the broker's connection: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int transport_bind(struct transport *t, const char *path, int type, const struct priv_user *owner)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->lock_fd = -1;
	t->diag_fd = -1;
	t->files = (struct sockfile){ .pid = -1, .ctl = -1 };
	t->path = path;
	t->type = type;
	t->serve_first = true;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ERROR("main", "invalid --socket \"%s\": path too long", path);
		return -1;
	}
	if (sockfile_open(&t->files, path, type, owner, &t->fd, &t->lock_fd) < 0)
		return -1;
	set_nonblock(t->fd);
	set_buffers(t->fd);
	return 0;
}

void transport_close(struct transport *t)
{
	if (t->diag_fd >= 0)
		close(t->diag_fd);
	t->diag_fd = -1;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	t->lock_fd = -1;
	sockfile_close(&t->files);
}

static bool is_handshake(const uint8_t *buf, ssize_t n)
{
	return n == 4 && memcmp(buf, "VFKT", 4) == 0;
}

/* Reads and drops the datagram at the head of the queue. */
static void drop_head(int fd)
{
	char c;

	recv(fd, &c, 1, MSG_DONTWAIT);
}

/* Stream: the first connection is the VM's; closing the listener (the
 * files process keeps no copy) refuses every later one. Returns 1, or 0 to
 * keep waiting. */
static int accept_first(struct transport *t)
{
	int fd = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			WARN("main", "cannot accept a client: %s", strerror(errno));
		return 0;
	}
	close(t->fd);
	t->fd = fd;
	/* The watch was on the listener; the stream's end is its EOF. The
	 * connection keeps the kernel's buffer sizes: sized here, it would
	 * need setsockopt in the datapath's filter for no gain (without
	 * CAP_NET_ADMIN they are capped at the defaults' maximum anyway). */
	if (t->diag_fd >= 0)
		close(t->diag_fd);
	t->diag_fd = -1;
	INFO("main", "serving client on \"%s\" (stream)", t->path);
	return 1;
}

int transport_wait_client(struct transport *t, const int *stop_fds, int nstop, uint8_t *buf,
			  size_t cap, size_t *first_len)
{
	struct pollfd pfd[4] = { { t->fd, POLLIN, 0 } };
	struct sockaddr_un from;
	int n_fds = 1;

	for (int i = 0; i < nstop && n_fds < 4; i++)
		pfd[n_fds++] = (struct pollfd){ stop_fds[i], POLLIN, 0 };
	INFO("main", "waiting for client on \"%s\"", t->path);
	for (;;) {
		socklen_t fromlen = sizeof(from);
		ssize_t n;
		int rc;

		if (poll(pfd, (nfds_t)n_fds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 1; i < n_fds; i++)
			if (pfd[i].revents)
				return 0;
		if (t->type == SOCK_STREAM) {
			*first_len = 0;
			if (accept_first(t))
				return 1;
			continue;
		}
		/* connect() to the client's path needs the owner's rights: the
		 * files process does it (sockfile.h). */
		rc = sockfile_connect_first(&t->files, &from, &fromlen);
		if (rc == -EAGAIN)
			continue;
		if (rc == -ECANCELED)
			return 0;   /* the broker's user said stop instead */
		if (rc == -EPIPE) {
			ERROR("main", "the process owning \"%s\" is gone", t->path);
			return -1;
		}
		if (rc < 0) {
			if (rc == -EDESTADDRREQ)
				WARN("main", "ignoring datagram from an unbound client");
			else
				WARN("main", "cannot connect to client: %s", strerror(-rc));
			drop_head(t->fd);
			continue;
		}
		n = recv(t->fd, buf, cap, MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0)
			n = 0;
		from.sun_path[sizeof(from.sun_path) - 1] = '\0';
		INFO("main", "serving client \"%s%s\"", from.sun_path[0] ? "" : "@",
		     from.sun_path[0] ? from.sun_path : from.sun_path + 1);
		/* MSG_TRUNC makes n the real size: an oversized first frame is
		 * reported as such and dropped by the caller's checks. */
		*first_len = is_handshake(buf, n) ? 0 : (size_t)n;
		if (!*first_len)
			DEBUG("main", "dropped the client's handshake");
		return 1;
	}
}

/* One sock_diag request for the unix socket with inode ino. Returns 0 and
 * the peer inode (0 if none), -ENOENT if no such socket, other -errno. */
static int diag_query(int nl, unsigned ino, unsigned *peer)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino,
			 .udiag_show = UDIAG_SHOW_PEER, .udiag_cookie = { ~0u, ~0u } },
	};
	union { char buf[4096]; struct nlmsghdr align; } u;
	ssize_t n;

	if (send(nl, &msg, sizeof(msg), 0) < 0)
		return -errno;
	n = recv(nl, u.buf, sizeof(u.buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = &u.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			return e->error ? e->error : -ENOENT;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		struct unix_diag_msg *m = NLMSG_DATA(h);
		int alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
		/* The socket is kept open: an answer to an earlier query is not this one's. */
		if (m->udiag_ino != ino)
			continue;
		*peer = 0;
		for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
			if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
				memcpy(peer, RTA_DATA(a), 4);
		return 0;
	}
	return -EIO;
}

/*
 * A datagram peer that closes sends no EOF. sock_diag tells: once the VM's
 * socket is released, our socket reports no peer inode (or the inode no
 * longer exists). We only conclude "gone" after having seen the peer alive,
 * so a namespace where our socket is not visible never stops the helper.
 */
int transport_watch_peer(struct transport *t)
{
	struct stat st;

	if (fstat(t->fd, &st) < 0)
		return -errno;
	t->ino = (unsigned)st.st_ino;
	t->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	return t->diag_fd < 0 ? -errno : 0;
}

bool transport_peer_alive(struct transport *t)
{
	unsigned peer = 0, unused;
	bool alive = true;
	int rc;

	if (t->diag_fd < 0)
		return true;
	rc = diag_query(t->diag_fd, t->ino, &peer);
	if (rc == 0 && peer != 0 && diag_query(t->diag_fd, peer, &unused) == -ENOENT)
		peer = 0;
	if (rc == 0 && peer != 0)
		t->peer_ino = peer;
	else if (rc == 0 && t->peer_ino != 0)
		alive = false;
	return alive;
}

/* What the datapath calls here once set up, for its seccomp filter. */
static const struct sandbox_rule transport_rules[] = {
	/* --socket: the first client datagram (transport_wait_client) and the
	 * files process's channel (asking it to connect, sockfile.c); sock_diag
	 * requests on the netlink socket opened before (transport_peer_alive) */
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(recvfrom),
	SANDBOX_ALLOW(sendto),
	/* --socket stream: the first client's connection (accept_first) */
	SANDBOX_ALLOW(accept4),
	/* transport_close at exit: waiting, bounded, for the files process to
	 * remove the files (sockfile_close) */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(pidfd_open),
	SANDBOX_ALLOW(wait4),
};
const struct sandbox_list transport_sandbox = SANDBOX_LIST(transport_rules);
