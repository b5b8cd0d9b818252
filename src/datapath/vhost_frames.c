/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames between the guest's queues and the TAP, for the vhost-user backend
 * (vhost.h). Runs in the sandboxed datapath, on the backend's one thread, on
 * guest memory the guest may change at any moment: what the guards judge is
 * a copy (vhost_dev.h's copy), and the copy is what the TAP gets of it; the
 * payload beyond a long frame's head goes from guest memory to the TAP
 * unread, and the TAP writes received frames straight into guest buffers.
 */
#include <errno.h>
#include <limits.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "datapath/forward.h"
#include "datapath/vhost_dev.h"
#include "parse/frame.h"
#include "parse/offload.h"
#include "parse/pkt.h"

/* Frames per pass before the other direction (and the connection) get a turn. */
#define TX_BUDGET 128
#define RX_BUDGET 64
/* How often a full TAP is waited for (1 ms each) before a frame is dropped. */
#define SEND_RETRIES 10
#define RUNT 14

void vhost_notify(struct vhost *v, struct vq *q)
{
	uint64_t one = 1;

	vring_publish(&q->ring);
	if (q->call >= 0 && vring_need_call(&q->ring) && write(q->call, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		WARN("vhost", "cannot signal the guest: %s", strerror(errno));
}

static void ring_broken(struct vq *q, const char *name, const char *why)
{
	if (!q->broken_logged)
		WARN("vhost", "the guest's %s queue is broken (%s): not served until the VM sets it "
		     "up again", name, why);
	q->broken_logged = true;
}

/* ---- --pcap ---------------------------------------------------------------- */

/* The bytes of iov[0..n) after the first skip, at most max, into dst: a
 * frame in one piece for capture_frame. Returns how many. */
static size_t gather(uint8_t *dst, const struct iovec *iov, int n, size_t skip, size_t max)
{
	size_t got = 0;

	for (int i = 0; i < n && got < max; i++) {
		size_t len = iov[i].iov_len, k;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		k = len - skip < max - got ? len - skip : max - got;
		memcpy(dst + got, (const uint8_t *)iov[i].iov_base + skip, k);
		got += k;
		skip = 0;
	}
	return got;
}

/* A frame of len bytes whose pieces are iov[0..n) after skip bytes. */
static void capture_iov(struct vhost *v, enum capture_side side, enum capture_dir dir,
			const struct iovec *iov, int n, size_t skip, size_t len, const char *note)
{
	size_t got = gather(v->cap_buf, iov, n, skip, len < PKT_MAX_FRAME ? len : PKT_MAX_FRAME);

	capture_frame(v->f->cap, side, dir, v->cap_buf, got, len, note);
}

void vhost_capture_flush(struct vhost *v)
{
	if (v->f->cap) {
		capture_flush(v->f->cap, CAPTURE_VM);
		capture_flush(v->f->cap, CAPTURE_HOST);
	}
}

/* ---- guest to TAP -------------------------------------------------------- */

static bool tap_writev(struct vhost *v, const struct iovec *iov, int n)
{
	for (int i = 0; i <= SEND_RETRIES; i++) {
		struct pollfd p = { v->f->tap_fd, POLLOUT, 0 };

		if (writev(v->f->tap_fd, iov, n) >= 0)
			return true;
		if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			return false;
		if (errno != EINTR && poll(&p, 1, 1) < 0)
			return false;
	}
	return false;
}

/* Cuts iov[0..n) to want bytes; returns how many iovecs remain. */
static int iov_trim(struct iovec *iov, int n, size_t want)
{
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len >= want) {
			iov[i].iov_len = want;
			return want ? i + 1 : i;
		}
		want -= iov[i].iov_len;
	}
	return n;
}

/*
 * One frame from the guest: its header and its first bytes (all of it up to
 * VMFRAME_WHOLE) copied out, judged on the copy (forward_vm_judge, then
 * offload_from_guest), written as our header, the copy, and the rest from
 * guest memory. Returns the frame's length, 0 if the helper answered it,
 * -1 if dropped.
 */
static ssize_t tx_frame(struct vhost *v, const struct vring_chain *c)
{
	struct virtio_net_hdr g, tap;
	struct frame_view fv;
	struct iovec iov[1 + VRING_CHAIN_MAX];
	size_t len, held;
	ssize_t n;
	int k = 1;

	if (c->len < v->hdr_len + RUNT) {
		if (v->f->cap && c->len > v->hdr_len) {
			len = vring_copy_from(c, v->hdr_len, v->tx.copy, c->len - v->hdr_len);
			capture_frame(v->f->cap, CAPTURE_VM, CAPTURE_FROM_VM, v->tx.copy, len, len,
				      "dropped: shorter than an Ethernet header (vm.drops)");
		}
		return -1;
	}
	len = c->len - v->hdr_len;
	held = len <= VMFRAME_WHOLE ? len : VMFRAME_HEAD;
	vring_copy_from(c, 0, &g, sizeof(g));
	vring_copy_from(c, v->hdr_len, v->tx.copy, held);
	/* Parsed once: the guards and the header's check read the same view. */
	frame_parse_head(v->tx.copy, held, len, &fv);
	n = forward_vm_judge(v->f, v->tx.copy, &fv, len);
	if (n <= 0)
		return n;
	n = offload_from_guest_view(&g, &fv, len, v->f->mtu, v->offload, &tap);
	if (n < 0) {
		if (v->f->cap)
			capture_frame(v->f->cap, CAPTURE_VM, CAPTURE_FROM_VM, v->tx.copy, held, len,
				      "dropped: a virtio-net header the helper refuses (vm.drops)");
		return -1;
	}
	memset(&v->tx.hdr, 0, sizeof(v->tx.hdr));
	v->tx.hdr.hdr = tap;
	iov[0] = (struct iovec){ &v->tx, VHOST_TAP_HDR + ((size_t)n < held ? (size_t)n : held) };
	if ((size_t)n > held) {
		int rest = vring_iov_from(c, v->hdr_len + held, iov + 1, VRING_CHAIN_MAX);
		k += iov_trim(iov + 1, rest, (size_t)n - held);
	}
	/* As the TAP gets it: the judged copy, then the rest from guest memory. */
	if (v->f->cap)
		capture_iov(v, CAPTURE_VM, CAPTURE_FROM_VM, iov, k, VHOST_TAP_HDR, (size_t)n, NULL);
	return tap_writev(v, iov, k) ? n : -1;
}

bool vhost_tx(struct vhost *v)
{
	struct vq *q = &v->q[VQ_TX];
	uint64_t packets = 0, bytes = 0, drops = 0;
	unsigned done = 0;

	if (!q->started || q->ring.broken)
		return true;
	vring_kick_enable(&q->ring, false);
	while (done < TX_BUDGET) {
		struct vring_chain c;
		const char *why = NULL;
		enum vring_result r = vring_pop(&q->ring, &v->mem, VRING_OUT, &c, &why);
		ssize_t n = -1;

		if (r == VRING_EMPTY) {
			/* Kicks on, then one more look: what came in between sent none. */
			vring_kick_enable(&q->ring, true);
			if (vring_avail(&q->ring))
				continue;
			break;
		}
		if (r == VRING_BROKEN) {
			ring_broken(q, "transmit", why);
			break;
		}
		done++;
		/* A disabled ring is emptied without effect (the spec's "started
		 * but disabled"); a bad chain is the guest's drop. */
		if (r == VRING_CHAIN && q->enabled)
			n = tx_frame(v, &c);
		if (n >= 0) {
			packets++;
			bytes += n ? (uint64_t)n : c.len - v->hdr_len;
		} else {
			drops++;
		}
		vring_push(&q->ring, c.head, 0);
	}
	if (done) {
		vhost_notify(v, q);
		/* a pass over the queue: its batch (forward.h's fast) */
		atomic_fetch_add_explicit(&v->f->vm.fast, 1, memory_order_relaxed);
	}
	forward_count(&v->f->vm, packets, bytes, drops);
	return done < TX_BUDGET;
}

/* ---- TAP to guest -------------------------------------------------------- */

static struct vring_chain *rx_chain(struct vhost *v, unsigned i)
{
	return &v->rx[(v->rx_first + i) % VHOST_RX_CHAINS];
}

/* Bytes the held chains hold, the guest's header included. */
static size_t rx_room(struct vhost *v)
{
	size_t room = 0;

	for (unsigned i = 0; i < v->rx_held; i++)
		room += rx_chain(v, i)->len;
	return room;
}

void vhost_rx_release(struct vhost *v)
{
	vring_unpop(&v->q[VQ_RX].ring, v->rx_held);
	v->rx_first = v->rx_held = 0;
}

/*
 * Takes receive chains until they hold need bytes (one chain without
 * mergeable buffers, which must hold a whole frame). Bad ones, and ones too
 * short for the guest's header, go straight back empty. false if the guest
 * gave too few.
 */
static bool rx_take(struct vhost *v, struct vq *q, size_t need, uint64_t *drops)
{
	unsigned most = v->mrg ? VHOST_RX_CHAINS : 1;
	size_t room = rx_room(v);

	while (room < need && v->rx_held < most) {
		struct vring_chain *c = rx_chain(v, v->rx_held);
		const char *why = NULL;
		enum vring_result r = vring_pop(&q->ring, &v->mem, VRING_IN, c, &why);

		if (r == VRING_EMPTY)
			return false;
		if (r == VRING_BROKEN) {
			ring_broken(q, "receive", why);
			return false;
		}
		if (r == VRING_BAD || c->len < v->hdr_len) {
			vring_push(&q->ring, c->head, 0);
			(*drops)++;
			continue;
		}
		room += c->len;
		v->rx_held++;
	}
	return room >= need || v->rx_held == most;
}

/* Hands the first held chains to the guest: total bytes (its header first,
 * whose num_buffers says how many chains) fill them in order. */
static void rx_give(struct vhost *v, struct vq *q, struct virtio_net_hdr_mrg_rxbuf *h,
		    size_t total)
{
	unsigned k = 0;
	size_t left = total;

	while (left > 0 && k < v->rx_held) {
		size_t len = rx_chain(v, k++)->len;
		left -= len < left ? len : left;
	}
	h->num_buffers = htole16((uint16_t)k);
	vring_copy_to(rx_chain(v, 0), 0, h, v->hdr_len);
	left = total;
	for (unsigned i = 0; i < k; i++) {
		struct vring_chain *c = rx_chain(v, i);
		size_t used = c->len < left ? c->len : left;

		vring_push(&q->ring, c->head, (uint32_t)used);
		left -= used;
	}
	v->rx_first = (v->rx_first + k) % VHOST_RX_CHAINS;
	v->rx_held -= k;
}

/* What the TAP's header asks of the guest, if it negotiated it: partial
 * checksums with GUEST_CSUM, TCP super-frames with GUEST_TSO4/6 (and ECN).
 * The TAP's offloads follow the features; a frame queued before they
 * changed may not, and is dropped. */
static bool rx_header(const struct vhost *v, struct virtio_net_hdr *h)
{
	unsigned gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !v->guest_csum)
		return false;
	h->flags &= v->guest_csum ? VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID : 0;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !v->guest_ecn)
		return false;
	return gso == VIRTIO_NET_HDR_GSO_NONE ||
	       (gso == VIRTIO_NET_HDR_GSO_TCPV4 && v->guest_tso4) ||
	       (gso == VIRTIO_NET_HDR_GSO_TCPV6 && v->guest_tso6);
}

/* The iovecs of one readv: the TAP's header into h, then the held chains,
 * the first after the guest's header. *room: the bytes they take of a frame. */
static int rx_iov(struct vhost *v, struct virtio_net_hdr_mrg_rxbuf *h, struct iovec *iov,
		  size_t *room)
{
	int n = 1;

	iov[0] = (struct iovec){ h, VHOST_TAP_HDR };
	for (unsigned i = 0; i < v->rx_held && n < VHOST_RX_IOV; i++)
		n += vring_iov_from(rx_chain(v, i), i ? 0 : v->hdr_len, iov + n, VHOST_RX_IOV - n);
	*room = 0;
	for (int i = 1; i < n; i++)
		*room += iov[i].iov_len;
	return n;
}

enum rx_result { RX_FRAME, RX_DROP, RX_STARVED, RX_EMPTY, RX_ERROR };

/* A frame from the TAP the guest does not get: what its buffers took of it. */
static void capture_rx_drop(struct vhost *v, const struct iovec *iov, int n, size_t len,
			    size_t room)
{
	const char *note = len < RUNT ? "dropped: shorter than an Ethernet header (host.drops)"
		: len > room ? "dropped: longer than the guest's receive buffers (host.drops)"
		: "dropped: an offload the guest did not negotiate (host.drops)";
	size_t got = gather(v->cap_buf, iov + 1, n - 1, 0, len < room ? len : room);

	capture_frame(v->f->cap, CAPTURE_HOST, CAPTURE_TO_VM, v->cap_buf, got, len, note);
}

/* One frame from the TAP straight into the guest's buffers. */
static enum rx_result rx_frame(struct vhost *v, struct vq *q, size_t *len, uint64_t *drops)
{
	struct iovec *iov = v->rx_iov;
	struct virtio_net_hdr_mrg_rxbuf *h = &v->rx_hdr;
	size_t room;
	ssize_t r;
	int n;

	if (!rx_take(v, q, v->hdr_len + v->rx_max, drops))
		return RX_STARVED;
	n = rx_iov(v, h, iov, &room);
	r = readv(v->f->tap_fd, iov, n);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return RX_EMPTY;
	if (r < 0 && errno != EFAULT)
		return RX_ERROR;
	/* A frame longer than the buffers: tun says how long it was, macvtap
	 * fails with EFAULT. Either way it is lost; the buffers stay ours. */
	if (r < VHOST_TAP_HDR + RUNT || (size_t)r - VHOST_TAP_HDR > room || !rx_header(v, &h->hdr)) {
		if (v->f->cap && r > VHOST_TAP_HDR)
			capture_rx_drop(v, iov, n, (size_t)r - VHOST_TAP_HDR, room);
		return RX_DROP;
	}
	*len = (size_t)r - VHOST_TAP_HDR;
	/* From the guest's buffers before the guest may have them back. */
	if (v->f->cap)
		capture_iov(v, CAPTURE_HOST, CAPTURE_TO_VM, iov + 1, n - 1, 0, *len, NULL);
	rx_give(v, q, h, v->hdr_len + *len);
	return RX_FRAME;
}

/*
 * Out of buffers: kicks on (at the next entry we would take), then one more
 * look, as often as buffers came meanwhile but not enough: the kick must be
 * wished for where we stand, or the guest's next buffers send none.
 */
static bool rx_starve(struct vhost *v, struct vq *q, uint64_t *drops)
{
	for (;;) {
		vring_kick_enable(&q->ring, true);
		if (vring_avail(&q->ring) == 0) {
			v->rx_starved = true;
			return true;
		}
		if (rx_take(v, q, v->hdr_len + v->rx_max, drops))
			return false;
	}
}

bool vhost_rx(struct vhost *v, bool *tap_empty)
{
	struct vq *q = &v->q[VQ_RX];
	uint64_t packets = 0, bytes = 0, drops = 0;
	unsigned done = 0;
	bool pushed = false;

	if (!q->started || !q->enabled || q->ring.broken || v->rx_starved)
		return true;
	vring_kick_enable(&q->ring, false);
	while (done < RX_BUDGET) {
		size_t len = 0;
		enum rx_result r = rx_frame(v, q, &len, &drops);

		if (r == RX_STARVED && !rx_starve(v, q, &drops))
			continue;
		if (r == RX_STARVED || r == RX_EMPTY) {
			*tap_empty = r == RX_EMPTY;
			break;
		}
		if (r == RX_ERROR) {
			ERROR("vhost", "reading from the TAP device: %s", strerror(errno));
			atomic_store(&v->f->failed, 1);
			break;
		}
		done++;
		pushed |= r == RX_FRAME;
		packets += r == RX_FRAME;
		bytes += len;
		drops += r == RX_DROP;
	}
	if (pushed || drops)
		vhost_notify(v, q);
	if (done)   /* a pass that read frames: its batch (forward.h's fast) */
		atomic_fetch_add_explicit(&v->f->host.fast, 1, memory_order_relaxed);
	forward_count(&v->f->host, packets, bytes, drops);
	return done < RX_BUDGET;
}

/* A frame of ours (DHCP, RA) into the receive queue, as one from the TAP. */
bool vhost_send_local(struct vhost *v, const uint8_t *frame, size_t len)
{
	struct vq *q = &v->q[VQ_RX];
	struct virtio_net_hdr_mrg_rxbuf h = { 0 };
	uint64_t drops = 0;
	size_t off = v->hdr_len;
	unsigned i = 0;

	if (!q->started || !q->enabled || q->ring.broken ||
	    (!rx_take(v, q, v->hdr_len + len, &drops) && rx_room(v) < v->hdr_len + len) ||
	    rx_room(v) < v->hdr_len + len)
		return false;
	for (size_t done = 0; done < len && i < v->rx_held; i++, off = 0) {
		size_t n = vring_copy_to(rx_chain(v, i), off, frame + done, len - done);
		done += n;
	}
	rx_give(v, q, &h, v->hdr_len + len);
	vhost_notify(v, q);
	return true;
}
