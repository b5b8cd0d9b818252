/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user backend's connection and thread (vhost.h): messages from
 * the frontend (checked by vhost_msg.c first), the guest's memory mapped from
 * the descriptors it sends, the queues set up, started and stopped. Runs in
 * the sandboxed datapath process, as the user, with no capability; what it
 * reads comes from the VM process and its guest, both untrusted.
 */
#include "datapath/vhost.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/log.h"
#include "datapath/forward.h"
#include "datapath/vhost_dev.h"
#include "parse/offload.h"
#include "parse/pkt.h"
#include "parse/vhost_msg.h"

/* How long the rest of a message may take to arrive, or a reply to leave. */
#define MSG_TIMEOUT_MS 1000
/* Polling a ring the frontend gave no kick eventfd for (VRING_NOFD). */
#define NOFD_POLL_MS 1

static int refuse(const char *why, const struct vhost_msg *m)
{
	char name[32];

	WARN("vhost", "%s: %s", vhost_msg_name(m->request, name, sizeof(name)), why);
	return -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the guest's memory ------------------------------------------------- */

static void unmap(void **map, size_t *len)
{
	for (unsigned i = 0; i < VRING_MAX_REGIONS; i++) {
		if (map[i])
			munmap(map[i], len[i]);
		map[i] = NULL;
	}
}

/* One region from its descriptor: the file must hold all of it (a mapping
 * past its end would fault when touched). */
static int map_region(int fd, const struct vhost_region *r, void **map, size_t *len,
		      uint8_t **host)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || st.st_size < 0)
		return -1;
	if (r->mmap_offset > (uint64_t)st.st_size || r->size > (uint64_t)st.st_size - r->mmap_offset ||
	    r->mmap_offset + r->size > SIZE_MAX)
		return -1;
	*len = (size_t)(r->mmap_offset + r->size);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	*map = p;
	*host = (uint8_t *)p + r->mmap_offset;
	return 0;
}

/* Sets up (or sets up again) a queue on the current memory table. */
static int vq_setup(struct vhost *v, struct vq *q, uint16_t base, const char **why)
{
	bool event_idx = v->features & (1ull << VHOST_F_RING_EVENT_IDX);
	bool indirect = v->features & (1ull << VHOST_F_RING_INDIRECT_DESC);

	if (!q->addr_set || v->mem.n == 0) {
		*why = "a ring without addresses or guest memory";
		return -1;
	}
	return vring_init(&q->ring, &v->mem, q->num, q->desc, q->avail, q->used, base, event_idx,
			  indirect, why);
}

/*
 * A new memory table replaces the old one whole, once all of it is mapped
 * and checked: the rings are found again in it, where they were (memory
 * hot-plug moves nothing that is in use). Refused, the old one stays.
 */
static int set_mem_table(struct vhost *v, const struct vhost_msg *m, int *fds)
{
	struct vring_mem mem = { .n = m->mem.n };
	void *map[VRING_MAX_REGIONS] = { 0 };
	size_t len[VRING_MAX_REGIONS] = { 0 };
	const char *why = "a region its descriptor cannot map";

	for (unsigned i = 0; i < m->mem.n; i++) {
		struct vring_region *r = &mem.r[i];

		*r = (struct vring_region){ m->mem.r[i].gpa, m->mem.r[i].size, m->mem.r[i].uaddr, 0 };
		if (map_region(fds[i], &m->mem.r[i], &map[i], &len[i], &r->host) < 0)
			goto fail;
	}
	if (vring_mem_check(&mem, &why) < 0)
		goto fail;
	vhost_rx_release(v);
	unmap(v->map, v->map_len);
	memcpy(v->map, map, sizeof(map));
	memcpy(v->map_len, len, sizeof(len));
	v->mem = mem;
	for (int i = 0; i < 2; i++)
		if (v->q[i].started && vq_setup(v, &v->q[i], v->q[i].ring.last_avail, &why) < 0)
			v->q[i].started = false;
	DEBUG("vhost", "guest memory: %u region(s)", m->mem.n);
	return 0;
fail:
	unmap(map, len);
	return refuse(why, m);
}

/* ---- features ---------------------------------------------------------- */

static bool has(const struct vhost *v, int bit)
{
	return v->features & (1ull << bit);
}

/*
 * The TAP gives the guest what it takes (TUNSETOFFLOAD): partial checksums
 * with GUEST_CSUM, TCP super-frames with GUEST_TSO4/6 (and ECN). Without
 * them the kernel finishes checksums and segments before the TAP.
 */
static int set_tap_offload(struct vhost *v)
{
	unsigned long flags = 0;

	if (v->guest_csum)
		flags |= TUN_F_CSUM;
	if (v->guest_csum && v->guest_tso4)
		flags |= TUN_F_TSO4;
	if (v->guest_csum && v->guest_tso6)
		flags |= TUN_F_TSO6;
	if ((flags & (TUN_F_TSO4 | TUN_F_TSO6)) && v->guest_ecn)
		flags |= TUN_F_TSO_ECN;
	if (ioctl(v->f->tap_fd, TUNSETOFFLOAD, flags) < 0) {
		WARN("vhost", "cannot set the TAP's offloads: %s", strerror(errno));
		return -1;
	}
	v->rx_max = (flags & (TUN_F_TSO4 | TUN_F_TSO6)) ? PKT_MAX_FRAME
							 : v->f->mtu + 14u;
	return 0;
}

static int set_features(struct vhost *v, const struct vhost_msg *m)
{
	if (m->u64 & ~vhost_msg_features())
		return refuse("features we did not offer", m);
	v->features = m->u64;
	v->mrg = has(v, VHOST_F_NET_MRG_RXBUF);
	v->hdr_len = has(v, VHOST_F_VERSION_1) || v->mrg ? 12 : 10;
	v->offload = (has(v, VHOST_F_NET_CSUM) ? OFFLOAD_G_CSUM : 0) |
		     (has(v, VHOST_F_NET_HOST_TSO4) ? OFFLOAD_G_TSO4 : 0) |
		     (has(v, VHOST_F_NET_HOST_TSO6) ? OFFLOAD_G_TSO6 : 0) |
		     (has(v, VHOST_F_NET_HOST_ECN) ? OFFLOAD_G_ECN : 0);
	v->guest_csum = has(v, VHOST_F_NET_GUEST_CSUM);
	v->guest_tso4 = has(v, VHOST_F_NET_GUEST_TSO4);
	v->guest_tso6 = has(v, VHOST_F_NET_GUEST_TSO6);
	v->guest_ecn = has(v, VHOST_F_NET_GUEST_ECN);
	for (int i = 0; i < 2; i++) {
		v->q[i].ring.event_idx = has(v, VHOST_F_RING_EVENT_IDX);
		v->q[i].ring.indirect = has(v, VHOST_F_RING_INDIRECT_DESC);
	}
	INFO("vhost", "guest features %#llx: header %zu bytes%s; offloads: checksum %s/%s, TSO "
	     "%s/%s (to/from the guest)", (unsigned long long)m->u64, v->hdr_len,
	     v->mrg ? ", mergeable buffers" : "", v->guest_csum ? "on" : "off",
	     v->offload & OFFLOAD_G_CSUM ? "on" : "off", v->guest_tso4 || v->guest_tso6 ? "on" : "off",
	     v->offload & (OFFLOAD_G_TSO4 | OFFLOAD_G_TSO6) ? "on" : "off");
	return set_tap_offload(v);
}

/* ---- queues -------------------------------------------------------------- */

static void vq_stop(struct vhost *v, struct vq *q)
{
	if (q == &v->q[VQ_RX])
		vhost_rx_release(v);
	if (q->started)
		vhost_notify(v, q);
	q->started = false;
	close_fd(&q->kick);
}

/* A kick eventfd (or none: polling) starts the queue, as the spec has it. */
static int set_kick(struct vhost *v, struct vq *q, const struct vhost_msg *m, int *fd)
{
	const char *why;

	close_fd(&q->kick);
	q->kick = m->file.nofd ? -1 : *fd;
	*fd = -1;
	if (vq_setup(v, q, q->base, &why) < 0) {
		q->started = false;
		return refuse(why, m);
	}
	q->started = true;
	q->broken_logged = false;
	if (!(v->features & (1ull << VHOST_F_PROTOCOL_FEATURES)))
		q->enabled = true;   /* without protocol features a ring starts enabled */
	DEBUG("vhost", "queue %u started: %u entries", m->file.index, q->num);
	return 0;
}

static int set_vring(struct vhost *v, const struct vhost_msg *m)
{
	struct vq *q = &v->q[m->state.index];

	switch (m->request) {
	case VHOST_SET_VRING_NUM:
		if (m->state.num == 0 || m->state.num > VRING_MAX_SIZE ||
		    (m->state.num & (m->state.num - 1)))
			return refuse("a queue size that is not a power of 2 up to 32768", m);
		q->num = m->state.num;
		return 0;
	case VHOST_SET_VRING_BASE:
		if (m->state.num > UINT16_MAX)
			return refuse("a ring index beyond 16 bits", m);
		q->base = (uint16_t)m->state.num;
		return 0;
	case VHOST_SET_VRING_ENABLE:
		q->enabled = m->state.num;
		return 0;
	default:
		return -1;
	}
}

static int set_vring_addr(struct vhost *v, const struct vhost_msg *m)
{
	struct vq *q = &v->q[m->addr.index];

	q->desc = m->addr.desc;
	q->avail = m->addr.avail;
	q->used = m->addr.used;
	q->addr_set = true;
	return 0;
}

static int set_vring_fd(struct vhost *v, const struct vhost_msg *m, int *fds)
{
	struct vq *q = &v->q[m->file.index];

	switch (m->request) {
	case VHOST_SET_VRING_KICK:
		return set_kick(v, q, m, &fds[0]);
	case VHOST_SET_VRING_CALL:
		close_fd(&q->call);
		q->call = m->file.nofd ? -1 : fds[0];
		fds[0] = -1;
		return 0;
	default:
		return 0;   /* SET_VRING_ERR: we never report errors that way */
	}
}

/* ---- messages ------------------------------------------------------------ */

static int send_all(int sock, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd p = { sock, POLLOUT, 0 };

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0 && errno == EAGAIN && poll(&p, 1, MSG_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static int reply_u64(struct vhost *v, uint32_t request, uint64_t value)
{
	uint8_t buf[VHOST_MSG_REPLY_U64];

	return send_all(v->sock, buf, vhost_msg_reply_u64(buf, request, value));
}

/* GET_VRING_BASE stops the queue and tells where the guest may resume. */
static int get_vring_base(struct vhost *v, const struct vhost_msg *m)
{
	struct vq *q = &v->q[m->state.index];
	uint8_t buf[VHOST_MSG_REPLY_STATE];
	uint16_t base;

	vq_stop(v, q);
	base = q->ring.num ? q->ring.last_avail : q->base;
	return send_all(v->sock, buf, vhost_msg_reply_state(buf, m->request, m->state.index, base));
}

/*
 * Acts on one checked message. Returns 0 or -1 (refused: a reply says so
 * when asked), or -errno when the connection failed. fds it keeps are set to
 * -1; the caller closes the rest.
 */
static int dispatch(struct vhost *v, const struct vhost_msg *m, int *fds)
{
	switch (m->request) {
	case VHOST_GET_FEATURES:
		return reply_u64(v, m->request, vhost_msg_features());
	case VHOST_GET_PROTOCOL_FEATURES:
		return reply_u64(v, m->request, vhost_msg_protocol_features());
	case VHOST_GET_QUEUE_NUM:
		return reply_u64(v, m->request, 1);
	case VHOST_GET_VRING_BASE:
		return get_vring_base(v, m);
	case VHOST_SET_FEATURES:
		return set_features(v, m);
	case VHOST_SET_PROTOCOL_FEATURES:
		if (m->u64 & ~vhost_msg_protocol_features())
			return refuse("protocol features we did not offer", m);
		v->protocol = m->u64;
		return 0;
	case VHOST_SET_OWNER:
		return 0;
	case VHOST_RESET_OWNER:
		vq_stop(v, &v->q[VQ_RX]);
		vq_stop(v, &v->q[VQ_TX]);
		return 0;
	case VHOST_SET_MEM_TABLE:
		return set_mem_table(v, m, fds);
	case VHOST_SET_VRING_ADDR:
		return set_vring_addr(v, m);
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		return set_vring_fd(v, m, fds);
	default:
		return set_vring(v, m);
	}
}

/* The messages that have replies of their own. */
static bool replies(uint32_t request)
{
	return request == VHOST_GET_FEATURES || request == VHOST_GET_PROTOCOL_FEATURES ||
	       request == VHOST_GET_QUEUE_NUM || request == VHOST_GET_VRING_BASE;
}

/* Reads exactly len bytes (the rest of a message), waiting a little. */
static int recv_full(int sock, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(sock, buf, len, MSG_DONTWAIT);
		struct pollfd p = { sock, POLLIN, 0 };

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (errno == EAGAIN && poll(&p, 1, MSG_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* The descriptors a header came with (SCM_RIGHTS), at most VHOST_MSG_MAX_FDS. */
static int take_fds(struct msghdr *mh, int *fds, unsigned *nfds)
{
	int bad = (mh->msg_flags & MSG_CTRUNC) ? -EMSGSIZE : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VHOST_MSG_MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd), bad = -EMSGSIZE;
		}
	}
	return bad;
}

/* A header and its descriptors. 0, -EAGAIN (nothing), -EPIPE (closed), -errno. */
static int recv_header(int sock, uint8_t *hdr, int *fds, unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_MSG_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { hdr, VHOST_MSG_HDR };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int rc;

	*nfds = 0;
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	rc = take_fds(&mh, fds, nfds);
	if (rc == 0 && n < VHOST_MSG_HDR)
		rc = recv_full(sock, hdr + n, VHOST_MSG_HDR - (size_t)n);
	return rc;
}

/*
 * One message: read, checked, acted on, answered. 0, -EAGAIN when none is
 * waiting, or another -errno: the connection is over (closed, or a message
 * we cannot follow).
 */
static int handle_message(struct vhost *v)
{
	uint8_t buf[VHOST_MSG_HDR + VHOST_MSG_MAX_PAYLOAD];
	int fds[VHOST_MSG_MAX_FDS];
	unsigned nfds = 0;
	struct vhost_msg m;
	const char *why = NULL;
	int rc, size = 0;

	for (unsigned i = 0; i < VHOST_MSG_MAX_FDS; i++)
		fds[i] = -1;
	rc = recv_header(v->sock, buf, fds, &nfds);

	if (rc == 0 && (size = vhost_msg_payload_size(buf, &why)) < 0)
		rc = -EPROTO;
	if (rc == 0)
		rc = recv_full(v->sock, buf + VHOST_MSG_HDR, (size_t)size);
	if (rc == 0 && vhost_msg_parse(buf, VHOST_MSG_HDR + (size_t)size, nfds, &m, &why) < 0)
		rc = -EPROTO;
	if (rc == -EPROTO)
		WARN("vhost", "closing the connection: %s", why);
	if (rc == 0) {
		char name[32];

		DEBUG("vhost", "%s", vhost_msg_name(m.request, name, sizeof(name)));
		rc = dispatch(v, &m, fds);
		/* REPLY_ACK: 0 for done, 1 for refused. */
		if (rc >= -1 && m.need_reply && !replies(m.request) &&
		    (v->protocol & (1ull << VHOST_PF_REPLY_ACK)))
			rc = reply_u64(v, m.request, rc < 0) < 0 ? -EPIPE : 0;
		else if (rc == -1)
			rc = 0;
	}
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* ---- the thread ---------------------------------------------------------- */

enum { P_SOCK, P_STOP, P_TXKICK, P_RX, P_N };

/* What the thread waits for: the RX slot is the TAP, or the receive
 * queue's kick while the guest gave too few buffers. */
static int build_poll(struct vhost *v, struct pollfd *p, bool *nofd)
{
	struct vq *tx = &v->q[VQ_TX], *rx = &v->q[VQ_RX];

	p[P_SOCK] = (struct pollfd){ v->sock, POLLIN, 0 };
	p[P_STOP] = (struct pollfd){ v->f->stop_fd, POLLIN, 0 };
	p[P_TXKICK] = (struct pollfd){ tx->started ? tx->kick : -1, POLLIN, 0 };
	p[P_RX] = (struct pollfd){ -1, POLLIN, 0 };
	if (rx->started && rx->enabled)
		p[P_RX].fd = v->rx_starved ? rx->kick : v->f->tap_fd;
	*nofd = (tx->started && tx->kick < 0) || (rx->started && rx->enabled && v->rx_starved &&
						  rx->kick < 0);
	return P_N;
}

static void drain_eventfd(int fd)
{
	uint64_t n;

	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		WARN("vhost", "cannot read a kick: %s", strerror(errno));
}

/* One round: waits (unless work is left), then serves what is ready.
 * false when the connection is over. */
static bool run_once(struct vhost *v, bool *busy)
{
	struct pollfd p[P_N];
	bool nofd, tap_empty = false, done = true;
	int timeout = forward_ra_timer(v->f), n;

	build_poll(v, p, &nofd);
	if (*busy || (nofd && (timeout < 0 || timeout > NOFD_POLL_MS)))
		timeout = *busy ? 0 : NOFD_POLL_MS;
	n = poll(p, P_N, timeout);
	if (n < 0 && errno != EINTR)
		return false;
	if (p[P_STOP].revents || atomic_load(&v->f->stopping))
		return false;
	if (p[P_SOCK].revents) {
		int rc;

		while ((rc = handle_message(v)) == 0)
			;
		if (rc != -EAGAIN)
			return false;
	}
	if (p[P_TXKICK].revents)
		drain_eventfd(p[P_TXKICK].fd);
	if (p[P_RX].revents && v->rx_starved) {
		drain_eventfd(p[P_RX].fd);
		v->rx_starved = false;
	}
	done = vhost_tx(v);
	done = vhost_rx(v, &tap_empty) && done;
	vhost_capture_flush(v);   /* this round's frames, an RA or a reply included */
	*busy = !done;
	return true;
}

static void *vhost_main(void *arg)
{
	struct vhost *v = arg;
	bool busy = false;

	while (run_once(v, &busy))
		;
	if (!atomic_load(&v->f->stopping)) {
		if (!atomic_exchange(&v->f->vm_gone, 1))
			INFO("vhost", "the VM closed its vhost-user connection");
	}
	return NULL;
}

int vhost_start(struct forward *f)
{
	struct vhost *v = calloc(1, sizeof(*v));
	int rc;

	if (v == NULL)
		return -ENOMEM;
	v->f = f;
	v->sock = f->vm_fd;
	v->hdr_len = 10;
	v->rx_max = f->mtu + 14u;
	for (int i = 0; i < 2; i++)
		v->q[i].kick = v->q[i].call = -1;
	if (f->cap && (v->cap_buf = malloc(PKT_MAX_FRAME)) == NULL) {
		free(v);
		return -ENOMEM;
	}
	f->vhost = v;
	rc = pthread_create(&v->thread, NULL, vhost_main, v);
	if (rc) {
		f->vhost = NULL;
		free(v->cap_buf);
		free(v);
		return -rc;
	}
	v->running = true;
	return 0;
}

void vhost_stop(struct forward *f)
{
	struct vhost *v = f->vhost;

	if (v == NULL)
		return;
	if (v->running)
		pthread_join(v->thread, NULL);
	for (int i = 0; i < 2; i++) {
		close_fd(&v->q[i].kick);
		close_fd(&v->q[i].call);
	}
	unmap(v->map, v->map_len);
	f->vhost = NULL;
	free(v->cap_buf);
	free(v);
}

/* What the backend calls in the datapath, for its seccomp filter. */
static const struct sandbox_rule vhost_rules[] = {
	/* the connection: messages with descriptors (recv_header), their rest
	 * and our replies (recv_full, send_all) */
	SANDBOX_ALLOW(recvmsg),
	SANDBOX_ALLOW(recvfrom),
	SANDBOX_ALLOW(sendto),
	/* the guest's memory: the file behind each region must hold it
	 * (map_region: fstat, which glibc makes as fstatat(fd, "", AT_EMPTY_PATH)),
	 * mapped shared, readable and writable, never executable; unmapped when
	 * replaced and at the end */
	SANDBOX_ALLOW(fstat),
	SANDBOX_ALLOW_IF(newfstatat, 3, AT_EMPTY_PATH),
	SANDBOX_ALLOW_ALL(mmap, 2, SANDBOX_EQ(2, PROT_READ | PROT_WRITE), SANDBOX_EQ(3, MAP_SHARED)),
	SANDBOX_ALLOW(munmap),
	/* the TAP's offloads as the guest negotiated them (set_tap_offload) */
	SANDBOX_ALLOW_IF(ioctl, 1, TUNSETOFFLOAD),
	/* frames: readv from the TAP into guest buffers, writev to it; kick
	 * and call eventfds (read, write); waiting (poll) */
	SANDBOX_ALLOW(readv),
	SANDBOX_ALLOW(writev),
	SANDBOX_ALLOW(read),
	SANDBOX_ALLOW(write),
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(close),
};
const struct sandbox_list vhost_sandbox = SANDBOX_LIST(vhost_rules);
