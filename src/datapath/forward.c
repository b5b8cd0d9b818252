/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath's threads (forward.h): frames between the VM's socket and
 * the TAP, each judged by parse/vmframe.c first, DHCP/RA answered here.
 * Runs as the invoking user with no capabilities under the seccomp lists
 * below (forward_sandbox): every byte it handles may be hostile.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "datapath/forward.h"
#include "datapath/vhost.h"
#include "common/log.h"
#include "common/text.h"
#include "parse/pkt.h"
#include "parse/offload.h"
#include "common/sandbox.h"
#include "parse/vmframe.h"

/*
 * Frames per syscall batch. 64 frames of 1514 bytes is ~97 KiB per direction:
 * enough to amortize syscalls at line rate while staying in L2 cache. Larger
 * frames (TSO, or a large --mtu) take fewer per batch, at least 16 and about
 * BATCH_BYTES: with 64 KiB frames that is 16 per batch, 4 MiB in the ring's 4
 * slots, about what the socket buffer holds of such frames (transport.c).
 * Buffers are allocated once and only touched as frames fill them, so an idle
 * helper's memory does not grow with the MTU.
 */
#define BATCH 64
#define BATCH_MIN 16
#define BATCH_BYTES (1 << 20)
/* How often a full VM socket is waited for (1 ms each) before frames are dropped. */
#define SEND_RETRIES 10

/*
 * Unsolicited router advertisements (RFC 4861 6.2.4): one when forwarding
 * starts, a few more early on for a VM that is still booting, then every
 * RA_INTERVAL_MS, well inside the router and RDNSS lifetimes (ndp_config),
 * so the VM keeps its default route even if it never solicits.
 */
#define RA_INITIAL_COUNT 3
#define RA_INITIAL_INTERVAL_MS 4000
#define RA_INTERVAL_MS 200000
/* Solicited RAs to one VM at most this often; more solicitations are
 * consumed silently (the VM just asked, and got, the same answer). */
#define RA_MIN_GAP_MS 1000

struct batch {
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct virtio_net_hdr hdrs[BATCH];   /* TAP side, when f->vnet_hdr */
	uint8_t *bufs;
	size_t bufsz;
	int frames;                          /* how many of the BATCH are in use */
	uint64_t lost;                       /* sent to the VM: bit i, frame i was not */
};

_Static_assert(BATCH <= 64, "batch.lost has a bit per frame");

/* Frames per batch for buffers of bufsz bytes each. */
static int batch_frames(size_t bufsz)
{
	size_t n = BATCH_BYTES / bufsz;

	return n > BATCH ? BATCH : n < BATCH_MIN ? BATCH_MIN : (int)n;
}

static int batch_init(struct batch *b, int frames, size_t bufsz)
{
	b->bufsz = bufsz;
	b->frames = frames;
	b->bufs = malloc((size_t)frames * bufsz);
	if (!b->bufs)
		return -ENOMEM;
	memset(b->msgs, 0, sizeof(b->msgs));
	for (int i = 0; i < frames; i++) {
		b->iov[i].iov_base = b->bufs + (size_t)i * bufsz;
		b->iov[i].iov_len = bufsz;
		b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

void forward_count(struct fwd_counters *c, uint64_t packets, uint64_t bytes, uint64_t drops)
{
	if (packets)
		atomic_fetch_add_explicit(&c->packets, packets, memory_order_relaxed);
	if (bytes)
		atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
	if (drops)
		atomic_fetch_add_explicit(&c->drops, drops, memory_order_relaxed);
}

/* One call on the VM's socket (fwd_counters: fast or slow). */
static void count_call(_Atomic uint64_t *calls)
{
	atomic_fetch_add_explicit(calls, 1, memory_order_relaxed);
}

/* Waits until fd is ready for events or we are stopping. Returns false when stopping. */
static bool wait_ready(struct forward *f, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = { { fd, events, 0 }, { f->stop_fd, POLLIN, 0 } };

	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		return !atomic_load(&f->stopping);
	return !p[1].revents && !atomic_load(&f->stopping);
}

/* A write failed only because the receiver's queue was full (or a signal). */
static bool queue_full(int err)
{
	return err == EAGAIN || err == ENOBUFS || err == EINTR;
}

/* After a failed write to fd: true if another try is worth it, i.e. the queue
 * was full and room appeared within 1 ms. Callers bound the tries. */
static bool wait_to_retry(struct forward *f, int fd)
{
	return queue_full(errno) && wait_ready(f, fd, POLLOUT, 1);
}

static void vm_gone(struct forward *f)
{
	if (!atomic_exchange(&f->vm_gone, 1))
		INFO("forward", "the VM closed its socket");
}

/* The VM's stream failed (EPIPE, ECONNRESET): it is gone. */
static bool stream_failed(struct forward *f, int err)
{
	if (err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN) {
		vm_gone(f);
		return true;
	}
	return false;
}

/*
 * Stream: sends frames[0..n) behind their lengths (streamio.h); returns how
 * many the stream took. Like the datagram path, a full socket is waited for
 * 1 ms at a time, retries times in a row at most: the caller drops the rest.
 * *room is false if the socket was found full. Each try counts in calls.
 */
static int stream_send(struct forward *f, const struct iovec *frames, int n, int retries,
		       bool *room, _Atomic uint64_t *calls)
{
	int sent = 0, tries = 0;

	*room = true;
	while (sent < n) {
		int r = stream_tx_send(&f->tx, f->vm_fd, frames + sent, n - sent);

		count_call(calls);
		if (r > 0) {
			sent += r;
			tries = 0;
			continue;
		}
		if (r < 0) {
			if (!stream_failed(f, r))
				WARN("forward", "sending to the VM: %s", strerror(-r));
			break;
		}
		*room = false;
		if (tries++ >= retries || !wait_ready(f, f->vm_fd, POLLOUT, 1))
			break;
	}
	return sent;
}

/* ---- --pcap (capture.h): what each frame is marked with ---- */

/* The frames the helper makes itself, sent and not. */
enum reply { REPLY_DHCP, REPLY_RA, REPLY_DAD };
static const char *const reply_note[][2] = {
	[REPLY_DHCP] = { "made by the helper: DHCP reply",
			 "made by the helper: DHCP reply, not delivered (the VM's socket was full)" },
	[REPLY_RA] = { "made by the helper: router advertisement",
		       "made by the helper: router advertisement, not delivered (the VM's socket "
		       "was full)" },
	[REPLY_DAD] = { "made by the helper: neighbour advertisement (the probed address is "
			"another VM's)", "made by the helper: neighbour advertisement (the probed "
			"address is another VM's), not delivered (the VM's socket was full)" },
};

/* A frame from the VM the helper did not forward: why, as far as the
 * datapath can tell (the guards' verdict carries no reason). */
static const char *vm_drop_note(const struct forward *f, size_t len, bool truncated)
{
	if (truncated || len > f->max_packet)
		return "dropped: longer than vmnet_max_packet_size (vm.drops)";
	if (len < PKT_ETH_HLEN)
		return "dropped: shorter than an Ethernet header (vm.drops)";
	if (f->check.local)
		return "dropped: not the VM's to send, or malformed (vm.drops)";
	return "dropped: malformed for offloading (vm.drops)";
}

/* A frame from the VM and what became of it (vmframe.h's verdict). Only
 * a forwarded frame may have been changed by then (offload.h: the IPv4
 * header checksum set, Ethernet padding cut): it is captured as it goes
 * to the network. */
static void capture_from_vm(struct forward *f, const uint8_t *frame, size_t held, size_t len,
			    bool truncated, enum vmframe_verdict v)
{
	const char *note = NULL;

	if (v == VMF_DHCP)
		note = "answered by the helper (DHCP)";
	else if (v == VMF_RS)
		note = "answered by the helper (router solicitation)";
	else if (v != VMF_FORWARD)
		note = vm_drop_note(f, len, truncated);
	/* What the receive buffer holds of a frame longer than it (vhost-user:
	 * the copy of a long frame's head, all that was judged). */
	capture_frame(f->cap, CAPTURE_VM, CAPTURE_FROM_VM, frame,
		      held < f->max_packet + 1 ? held : f->max_packet + 1, len, note);
}

static void capture_flush_vm(struct forward *f)
{
	if (f->cap)
		capture_flush(f->cap, CAPTURE_VM);
}

/* Sends one frame the helper made itself (a DHCP reply, a router
 * advertisement) to the VM: from the VM's thread. */
static bool send_local_frame(struct forward *f, const uint8_t *frame, size_t len)
{
	if (f->vhost) {
		count_call(&f->host.slow);
		return vhost_send_local(f->vhost, frame, len);
	}
	if (f->stream) {
		struct iovec iov = { (void *)frame, len };
		bool room;
		return stream_send(f, &iov, 1, SEND_RETRIES, &room, &f->host.slow) == 1;
	}
	for (int i = 0; i <= SEND_RETRIES; i++) {
		count_call(&f->host.slow);
		if (send(f->vm_fd, frame, len, MSG_DONTWAIT) >= 0)
			return true;
		if (errno == ECONNREFUSED) {
			vm_gone(f);
			return false;
		}
		if (!wait_to_retry(f, f->vm_fd))
			return false;
	}
	return false;
}

static bool send_local(struct forward *f, const uint8_t *frame, size_t len, enum reply what)
{
	bool sent = send_local_frame(f, frame, len);

	if (f->cap)
		capture_frame(f->cap, CAPTURE_VM, CAPTURE_TO_VM, frame, len, len,
			      reply_note[what][!sent]);
	return sent;
}

/* With a virtio-net header, the header and the frame go in one writev: no copy. */
static bool tap_write(struct forward *f, const struct virtio_net_hdr *hdr, const uint8_t *frame,
		      size_t len)
{
	struct iovec iov[2] = {
		{ (void *)hdr, sizeof(*hdr) },
		{ (void *)frame, len },
	};
	int first = f->vnet_hdr ? 0 : 1;

	for (int i = 0; i <= SEND_RETRIES; i++) {
		if (writev(f->tap_fd, iov + first, 2 - first) >= 0)
			return true;
		if (!wait_to_retry(f, f->tap_fd))
			return false;
	}
	return false;
}


/* Sends our router advertisement to the VM. last_ra_ms is atomic: the first
 * frame of a --socket client is handled outside the VM thread. */
static bool send_ra(struct forward *f, int64_t now)
{
	uint8_t ra[256];
	int n = ndp_build_ra(&f->ndp, ra, sizeof(ra));

	f->last_ra_ms = now;
	return n > 0 && send_local(f, ra, (size_t)n, REPLY_RA);
}

/* Milliseconds until the next unsolicited RA is due (-1: none), sending it
 * first if it is due now. VM thread only. */
static int64_t ra_due(const struct forward *f, int64_t now)
{
	if (f->ra_count == 0)
		return now;
	return f->last_ra_ms + (f->ra_count < RA_INITIAL_COUNT ? RA_INITIAL_INTERVAL_MS
							      : RA_INTERVAL_MS);
}

int forward_ra_timer(struct forward *f)
{
	int64_t now, due;

	if (!f->ra_enabled)
		return -1;
	now = text_now_ms();
	due = ra_due(f, now);
	if (now >= due) {
		send_ra(f, now);   /* now the last RA: the next is an interval away */
		f->ra_count++;
		due = ra_due(f, now);
	}
	return (int)(due - now);
}

/* Answers a router solicitation, at most once per RA_MIN_GAP_MS (more are
 * consumed silently: the VM just asked, and got, the same answer). */
static bool answer_rs(struct forward *f)
{
	int64_t now = text_now_ms();

	return now - f->last_ra_ms < RA_MIN_GAP_MS || send_ra(f, now);
}

static bool answer_dhcp(struct forward *f, const uint8_t *frame, size_t len)
{
	uint8_t reply[1024];
	int n = dhcp_reply(&f->dhcp, frame, len, reply, sizeof(reply));

	return n >= 0 && (n == 0 || send_local(f, reply, (size_t)n, REPLY_DHCP));
}

/*
 * A probe (duplicate address detection) for an address another VM holds:
 * the VM is told it is taken, as that VM would have told it had the probe
 * reached it, so the VM's own detection sees the duplicate.
 */
static void answer_dad(struct forward *f)
{
	struct ndp_config gw = { 0 };
	uint8_t na[128];
	int n;

	memcpy(gw.router_mac, f->check.gateway_mac, 6);
	memcpy(gw.router_ll, f->check.gateway_ll6, 16);
	n = ndp_build_na(&gw, f->addrs6.claim, na, sizeof(na));
	if (n > 0)
		send_local(f, na, (size_t)n, REPLY_DAD);
}

/* The guards' verdict on a whole frame (head_of 0), or (vhost-user) on the
 * copy of the first *len bytes of a longer frame of head_of bytes. fv:
 * vhost-user's view of the copy, parsed once by the caller (the copy does
 * not change, so it holds after a claim too); NULL on the socket paths,
 * where vmframe_check parses. */
static enum vmframe_verdict judge(struct forward *f, uint8_t *frame, size_t *len, size_t head_of,
				  const struct frame_view *fv, int flags,
				  struct virtio_net_hdr *hdr)
{
	if (fv && head_of)
		return vmframe_check_head_view(&f->check, frame, fv, head_of);
	if (fv)
		return vmframe_check_view(&f->check, frame, fv, len, hdr);
	if (head_of)
		return vmframe_check_head(&f->check, frame, *len, head_of);
	return vmframe_check(&f->check, frame, len, flags & MSG_TRUNC, hdr);
}

/*
 * The claims a frame makes (vmframe.h), each asked for once, the frame
 * checked again after each answer: a second MAC first (once per VM), then
 * a pool address set by hand, then IPv6 addresses (its source, then an
 * advertisement's or a probe's target): all bounded in number by the guards.
 * An address claim the reaper did not answer in time is no refusal (which
 * the guards would remember, and a probe would be told): the frame is
 * dropped and the next one asks again. head_of: as judge.
 */
static enum vmframe_verdict vm_frame_claims(struct forward *f, uint8_t *frame, size_t *len,
					    size_t head_of, const struct frame_view *fv, int flags,
					    struct virtio_net_hdr *hdr, enum vmframe_verdict v)
{
	int rc;

	if (v == VMF_CLAIM) {
		vmframe_mac_granted(&f->macs, f->claim_mac ? f->claim_mac(f->claim_arg, f->macs.mac)
							   : true);
		v = judge(f, frame, len, head_of, fv, flags, hdr);
	}
	if (v == VMF_CLAIM4) {
		if ((rc = f->claim_addr4(f->claim_arg, f->addrs4.claim)) < 0)
			return VMF_DROP;
		vmframe_addr4_granted(&f->addrs4, rc == 1);
		v = judge(f, frame, len, head_of, fv, flags, hdr);
	}
	for (int i = 0; i < 2 && v == VMF_CLAIM6; i++) {
		if ((rc = f->claim_addr6(f->claim_arg, f->addrs6.claim, f->addrs6.claim_mac)) < 0)
			return VMF_DROP;
		vmframe_addr6_granted(&f->addrs6, rc == 1);
		v = judge(f, frame, len, head_of, fv, flags, hdr);
	}
	return v;
}

/*
 * Checks one frame from the VM (vmframe.h) and prepares it for the TAP (the
 * virtio-net header in *hdr when offloading). frame holds len bytes of a
 * frame of wire bytes (len < wire: only its head, vhost-user). Returns its
 * length to write, 0 if the helper answered it itself, -1 to drop it.
 * The socket paths' frames are captured here; vhost-user's forwarded ones
 * as vhost_frames.c writes them (its header checked, its padding cut).
 */
static ssize_t vm_frame_prepare(struct forward *f, uint8_t *frame, size_t len, size_t wire,
				const struct frame_view *fv, int flags, struct virtio_net_hdr *hdr)
{
	/* Decided once: vmframe_check may cut a whole frame's padding. */
	size_t head_of = len < wire ? wire : 0;
	enum vmframe_verdict v = judge(f, frame, &len, head_of, fv, flags, hdr);

	if (v != VMF_FORWARD)
		v = vm_frame_claims(f, frame, &len, head_of, fv, flags, hdr, v);
	/* Before an answer, which is captured as it is sent. */
	if (f->cap && !(v == VMF_FORWARD && f->vhost_user))
		capture_from_vm(f, frame, len, head_of ? head_of : len, flags & MSG_TRUNC, v);
	if (v == VMF_FORWARD && head_of)
		return (ssize_t)head_of;
	switch (v) {
	case VMF_FORWARD:
		return (ssize_t)len;
	case VMF_DHCP:
		return answer_dhcp(f, frame, len) ? 0 : -1;
	case VMF_RS:
		return answer_rs(f) ? 0 : -1;
	case VMF_DAD_TAKEN:
		answer_dad(f);
		return -1;     /* answered, but the VM's frame is dropped all the same */
	default:
		return -1;
	}
}

ssize_t forward_vm_judge(struct forward *f, uint8_t *copy, const struct frame_view *fv,
			 size_t len)
{
	struct virtio_net_hdr unused;

	return vm_frame_prepare(f, copy, fv->len, len, fv, 0, &unused);
}

static bool vm_frame(struct forward *f, uint8_t *frame, size_t len, int flags)
{
	struct virtio_net_hdr hdr;
	ssize_t n = vm_frame_prepare(f, frame, len, len, NULL, flags, &hdr);

	return n == 0 || (n > 0 && tap_write(f, &hdr, frame, (size_t)n));
}

static void forward_vm_frame(struct forward *f, uint8_t *frame, size_t len)
{
	int flags = len > f->max_packet ? MSG_TRUNC : 0;

	if (vm_frame(f, frame, len, flags))
		forward_count(&f->vm, 1, len, 0);
	else
		forward_count(&f->vm, 0, 0, 1);
}

/* ---- TAP -> VM ---- */

/* One frame from the TAP; with a virtio-net header, readv splits it off (no
 * copy) and the frame's length is returned. -1 with errno on failure. */
static ssize_t tap_read(struct forward *f, struct virtio_net_hdr *hdr, uint8_t *buf, size_t cap)
{
	struct iovec iov[2] = { { hdr, sizeof(*hdr) }, { buf, cap } };
	ssize_t r;

	if (!f->vnet_hdr)
		return read(f->tap_fd, buf, cap);
	r = readv(f->tap_fd, iov, 2);
	if (r < 0)
		return r;
	/* Shorter than its header: a runt for the caller to drop. */
	return r < (ssize_t)sizeof(*hdr) ? 0 : r - (ssize_t)sizeof(*hdr);
}

/* A frame from the TAP that is not the VM's to get. */
static const char *host_drop_note(const struct forward *f, size_t len)
{
	if (len < PKT_ETH_HLEN)
		return "dropped: shorter than an Ethernet header (host.drops)";
	if (len > f->max_packet)
		return "dropped: longer than vmnet_max_packet_size (host.drops)";
	return "dropped: an offload header the helper cannot complete (host.drops)";
}

/* Reads up to b->frames frames from the TAP into b. Returns how many, -1 on a
 * device error; *drained when the TAP had no more (EAGAIN). */
static int tap_read_batch(struct forward *f, struct batch *b, uint64_t *drops, bool *drained)
{
	int n = 0;

	*drained = false;
	while (n < b->frames) {
		uint8_t *buf = b->bufs + (size_t)n * b->bufsz;
		ssize_t r = tap_read(f, &b->hdrs[n], buf, b->bufsz);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				*drained = true;
				break;
			}
			return n ? n : -1;
		}
		if ((size_t)r < PKT_ETH_HLEN || (size_t)r > f->max_packet ||
		    (f->vnet_hdr && offload_to_vm(&b->hdrs[n], buf, (size_t)r) < 0)) {
			(*drops)++;
			if (f->cap)
				capture_frame(f->cap, CAPTURE_HOST, CAPTURE_TO_VM, buf, (size_t)r,
					      (size_t)r, host_drop_note(f, (size_t)r));
			continue;
		}
		b->iov[n].iov_len = (size_t)r;
		n++;
	}
	return n;
}

/* batch.lost: frames [from, n) not sent. */
static uint64_t lost_from(int from, int n)
{
	if (from >= n)
		return 0;
	return (n - from >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (n - from)) - 1) << from;
}

/* Sends n frames to the VM; frames it cannot take after retries (at most
 * that many waits of 1 ms on a full socket) are dropped. Returns false if the
 * socket was found full. */
static bool vm_send_batch(struct forward *f, struct batch *b, int n, uint64_t *packets,
			  uint64_t *bytes, uint64_t *drops, int retries)
{
	int sent = 0, tries = 0;
	bool room = true;

	b->lost = 0;
	while (sent < n) {
		int r = sendmmsg(f->vm_fd, b->msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);

		count_call(&f->host.fast);
		if (r > 0) {
			for (int i = sent; i < sent + r; i++)
				*bytes += b->iov[i].iov_len;
			*packets += (uint64_t)r;
			sent += r;
			tries = 0;
			continue;
		}
		if (r < 0 && errno == ECONNREFUSED) {
			vm_gone(f);
			break;
		}
		if (r < 0 && queue_full(errno))
			room = false;
		if (r < 0 && queue_full(errno) && tries++ < retries &&
		    wait_ready(f, f->vm_fd, POLLOUT, 1))
			continue;
		if (r < 0 && !queue_full(errno)) {
			/* This frame is refused (e.g. EMSGSIZE): drop it alone. */
			(*drops)++;
			b->lost |= UINT64_C(1) << sent;
			sent++;
			continue;
		}
		break;
	}
	*drops += (uint64_t)(n - sent);
	b->lost |= lost_from(sent, n);
	return room;
}

/* Stream: as vm_send_batch. */
static bool vm_stream_batch(struct forward *f, struct batch *b, int n, uint64_t *packets,
			    uint64_t *bytes, uint64_t *drops, int retries)
{
	bool room;
	int sent = stream_send(f, b->iov, n, retries, &room, &f->host.fast);

	b->lost = lost_from(sent, n);
	for (int i = 0; i < sent; i++)
		*bytes += b->iov[i].iov_len;
	*packets += (uint64_t)sent;
	*drops += (uint64_t)(n - sent);
	return room;
}

/*
 * TAP -> VM is one thread, host_to_vm, and one batch of buffers, to_vm. The
 * receiving thread of the other direction borrows them when it just wrote
 * frames inline (vm_rx): a reply the host made while it wrote (the kernel
 * answers a ping or an ARP request, or ACKs, inside that write) is then sent
 * to the VM at once, instead of after host_to_vm's wake-up (measured: one
 * thread hand-off less per round trip). The lock keeps frames in TAP order;
 * the borrower only ever tries it, and never waits for the VM: while the
 * VM's socket was last found full it leaves the TAP alone, so a VM that
 * does not read never holds up the frames it sends.
 */
struct to_vm {
	pthread_mutex_t lock;
	struct batch b;
	bool full;                 /* the VM's socket was full at the last send */
};

static struct to_vm *to_vm_new(const struct forward *f)
{
	struct to_vm *t = calloc(1, sizeof(*t));
	/* Room past max_packet so an oversized frame is seen as such, not cut. */
	size_t bufsz = f->max_packet + 4096;

	if (t == NULL)
		return NULL;
	if (batch_init(&t->b, (int)forward_read_max_packets(f->max_packet), bufsz) < 0) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void to_vm_free(struct to_vm *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->b.bufs);
	free(t);
}

/* The batch from the TAP and whether each frame reached the VM; with
 * what tap_read_batch dropped before it, written now (to_vm's lock). */
static void capture_to_vm(struct forward *f, const struct batch *b, int n)
{
	for (int i = 0; i < n; i++)
		capture_frame(f->cap, CAPTURE_HOST, CAPTURE_TO_VM, b->iov[i].iov_base,
			      b->iov[i].iov_len, b->iov[i].iov_len, (b->lost >> i) & 1 ?
			      "not delivered: the VM's socket was full or refused it (host.drops)"
			      : NULL);
	capture_flush(f->cap, CAPTURE_HOST);
}

/* One batch from the TAP to the VM; the caller holds the lock. retries: as
 * vm_send_batch. Returns the frames read or -1 on a device error; *drained
 * as tap_read_batch. */
static int to_vm_pass(struct forward *f, bool *drained, int retries)
{
	struct to_vm *t = f->to_vm;
	uint64_t packets = 0, bytes = 0, drops = 0;
	int n = tap_read_batch(f, &t->b, &drops, drained);

	if (n > 0 && f->stream)
		t->full = !vm_stream_batch(f, &t->b, n, &packets, &bytes, &drops, retries);
	else if (n > 0)
		t->full = !vm_send_batch(f, &t->b, n, &packets, &bytes, &drops, retries);
	forward_count(&f->host, packets, bytes, drops);
	if (f->cap)
		capture_to_vm(f, &t->b, n);
	return n;
}

/* vm_rx after an inline write: whatever the TAP has now, if nobody else is at
 * it and the VM has room for it. */
static void to_vm_now(struct forward *f)
{
	bool drained;

	if (atomic_load(&f->vm_gone) || pthread_mutex_trylock(&f->to_vm->lock) != 0)
		return;
	if (!f->to_vm->full)
		to_vm_pass(f, &drained, 0);
	pthread_mutex_unlock(&f->to_vm->lock);
}

/* The TAP is empty: sleeps until it has frames. On a stream with the rest
 * of a frame pending, also until the VM can take it. */
static void host_idle(struct forward *f)
{
	struct pollfd p[3] = { { f->tap_fd, POLLIN, 0 }, { f->stop_fd, POLLIN, 0 },
			       { f->vm_fd, POLLOUT, 0 } };
	bool pending = f->stream && stream_tx_pending(&f->tx);

	if (poll(p, pending ? 3 : 2, -1) > 0 && pending && p[2].revents) {
		int rc = stream_tx_flush(&f->tx, f->vm_fd);

		count_call(&f->host.fast);   /* the rest of a batch's frame */
		if (rc < 0 && rc != -EAGAIN)
			stream_failed(f, rc);
	}
}

static void *host_to_vm(void *arg)
{
	struct forward *f = arg;

	while (!atomic_load(&f->stopping) && !atomic_load(&f->vm_gone)) {
		bool drained;
		int n;

		pthread_mutex_lock(&f->to_vm->lock);
		n = to_vm_pass(f, &drained, SEND_RETRIES);
		pthread_mutex_unlock(&f->to_vm->lock);
		if (n < 0) {
			ERROR("forward", "reading from the TAP device: %s", strerror(errno));
			atomic_store(&f->failed, 1);
			break;
		}
		/* The TAP is empty: no need to find that out once more. */
		if (drained)
			host_idle(f);
	}
	return NULL;
}

/* ---- VM -> TAP ---- */

/*
 * VM -> TAP is a two-thread pipeline. Per 64-byte frame, receiving from the
 * unix socket costs about as much CPU as the TAP write itself (0.75 against
 * 1.05 us here: the kernel frees the sender's skb and copies), so one thread
 * doing both tops out near half of what a TAP takes. vm_rx receives and
 * checks batches; tap_tx only writes them to the TAP, so the two costs run
 * on both cores. Whole batches move through a ring of SLOTS (single
 * producer, single consumer), in order. A side announces that it sleeps
 * before its last look at the ring, and the other side wakes it (eventfd)
 * only then: under load, handing over costs no syscall. At light load
 * (ring empty, a few frames) vm_rx writes them itself: no thread hop, so
 * no added latency for a ping.
 */
#define SLOTS 4
#define INLINE_MAX 4

struct slot {
	struct batch b;
	int n;                      /* frames received into b */
	uint32_t len[BATCH];        /* to write; 0: answered or dropped already */
};

struct ring {
	struct slot slot[SLOTS];
	_Atomic uint32_t head;      /* slots handed over (vm_rx) */
	_Atomic uint32_t tail;      /* slots written and given back (tap_tx) */
	_Atomic bool rx_sleeps, tx_sleeps;
	int rx_wake, tx_wake;       /* eventfds */
};

static void ring_free(struct ring *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < SLOTS; i++)
		free(r->slot[i].b.bufs);
	if (r->rx_wake >= 0)
		close(r->rx_wake);
	if (r->tx_wake >= 0)
		close(r->tx_wake);
	free(r);
}

/* Large frames (TSO, a large MTU) fewer per slot: batch_frames. */
static struct ring *ring_new(const struct forward *f)
{
	struct ring *r = calloc(1, sizeof(*r));
	int frames = (int)forward_write_max_packets(f->max_packet);

	if (r == NULL)
		return NULL;
	r->rx_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->tx_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int i = 0; i < SLOTS; i++)
		/* One spare byte: a frame that fills it is larger than allowed. */
		if (batch_init(&r->slot[i].b, frames, f->max_packet + 1) < 0)
			goto fail;
	if (r->rx_wake >= 0 && r->tx_wake >= 0)
		return r;
fail:
	ring_free(r);
	return NULL;
}

static void wake(_Atomic bool *sleeps, int fd)
{
	uint64_t one = 1;

	if (atomic_load(sleeps) && write(fd, &one, sizeof(one)) < 0)
		WARN("forward", "cannot wake a thread: %s", strerror(errno));
}

/* Sleeps on fd until woken, stopping, or timeout_ms, unless the ring changed
 * (ready) after announcing the sleep. Both are seq_cst: either the other side
 * sees the announcement and wakes us, or we see its change. */
static void ring_sleep(struct forward *f, struct ring *r, _Atomic bool *sleeps, int fd,
		       bool (*ready)(struct ring *), int timeout_ms)
{
	uint64_t v;

	atomic_store(sleeps, true);
	if (!ready(r))
		wait_ready(f, fd, POLLIN, timeout_ms);
	atomic_store(sleeps, false);
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		WARN("forward", "cannot read a wake-up: %s", strerror(errno));
}

static bool ring_has_room(struct ring *r)
{
	return atomic_load(&r->head) - atomic_load(&r->tail) < SLOTS;
}

static bool ring_has_work(struct ring *r)
{
	return atomic_load(&r->head) != atomic_load(&r->tail);
}

/* Writes a slot's frames to the TAP and counts them. */
static void slot_write(struct forward *f, struct slot *s)
{
	uint64_t packets = 0, bytes = 0, drops = 0;

	for (int i = 0; i < s->n; i++) {
		if (s->len[i] == 0)
			continue;
		if (tap_write(f, &s->b.hdrs[i], s->b.iov[i].iov_base, s->len[i])) {
			packets++;
			bytes += s->len[i];
		} else {
			drops++;
		}
	}
	forward_count(&f->vm, packets, bytes, drops);
}

/* Checks a received slot; returns how many frames are left to write. */
static int slot_prepare(struct forward *f, struct slot *s)
{
	uint64_t local = 0, local_bytes = 0, drops = 0;
	int towrite = 0;

	for (int i = 0; i < s->n; i++) {
		struct mmsghdr *m = &s->b.msgs[i];
		ssize_t n = vm_frame_prepare(f, s->b.iov[i].iov_base, m->msg_len, m->msg_len, NULL,
					     m->msg_hdr.msg_flags, &s->b.hdrs[i]);
		s->len[i] = n > 0 ? (uint32_t)n : 0;
		if (n > 0) {
			towrite++;
		} else if (n == 0) {
			local++;
			local_bytes += m->msg_len;
		} else {
			drops++;
		}
	}
	forward_count(&f->vm, local, local_bytes, drops);
	return towrite;
}

/* The end of the VM's stream: a frame it left unfinished is dropped. */
static void stream_end(struct forward *f)
{
	size_t left = stream_rx_left(&f->rx);

	if (left) {
		forward_count(&f->vm, 0, 0, 1);
		INFO("forward", "the VM closed its stream in the middle of a frame (%zu bytes "
		     "dropped)", left);
	}
	vm_gone(f);
}

/*
 * Stream: fills s with whole frames from the receive buffer, reading the
 * socket only when the buffer holds none (one read brings many). Frames
 * longer than vmnet_max_packet_size are dropped and counted; a length no
 * frame can have closes the connection. Returns the frames in s, or -1 with
 * errno (EAGAIN: nothing yet; EPIPE: the stream ended, vm_gone is set).
 */
static int stream_recv(struct forward *f, struct slot *s)
{
	int n = 0;

	for (;;) {
		const uint8_t *p;
		size_t len = 0;
		enum vmstream_result v = VMS_PARTIAL;

		while (n < s->b.frames && (v = stream_rx_next(&f->rx, &p, &len)) == VMS_FRAME) {
			if (len > f->max_packet) {
				forward_count(&f->vm, 0, 0, 1);
				if (f->cap)
					capture_frame(f->cap, CAPTURE_VM, CAPTURE_FROM_VM, p, len, len,
						      vm_drop_note(f, len, false));
				continue;
			}
			memcpy(s->b.iov[n].iov_base, p, len);
			s->b.msgs[n].msg_len = (unsigned)len;
			s->b.msgs[n].msg_hdr.msg_flags = 0;
			n++;
		}
		if (n > 0)
			return n;
		if (v == VMS_BROKEN) {
			WARN("forward", "the VM sent a frame length of %zu bytes (at most %d): "
			     "closing its stream", len, PKT_MAX_FRAME);
			shutdown(f->vm_fd, SHUT_RDWR);
			forward_count(&f->vm, 0, 0, 1);
			vm_gone(f);
			errno = EPIPE;
			return -1;
		}
		ssize_t got = stream_rx_read(&f->rx, f->vm_fd);

		count_call(&f->vm.fast);
		if (got > 0)
			continue;
		if (got == 0 || got == -ECONNRESET) {
			stream_end(f);
			errno = EPIPE;
			return -1;
		}
		errno = (int)-got;
		return -1;
	}
}

static int vm_recv(struct forward *f, struct slot *s)
{
	if (f->stream)
		return stream_recv(f, s);
	count_call(&f->vm.fast);
	return recvmmsg(f->vm_fd, s->b.msgs, (unsigned)s->b.frames, MSG_DONTWAIT, NULL);
}

static void *vm_rx(void *arg)
{
	struct forward *f = arg;
	struct ring *r = f->ring;
	bool empty = false;   /* the last receive took all there was */

	while (!atomic_load(&f->stopping)) {
		int timeout = forward_ra_timer(f);
		uint32_t head = atomic_load(&r->head);

		capture_flush_vm(f);   /* an RA, or frames a stream read dropped */
		struct slot *s = &r->slot[head % SLOTS];

		if (!ring_has_room(r)) {
			ring_sleep(f, r, &r->rx_sleeps, r->rx_wake, ring_has_room, timeout);
			continue;
		}
		/* Wait first rather than find the socket empty once more. */
		if (empty && !wait_ready(f, f->vm_fd, POLLIN, timeout))
			continue;
		s->n = vm_recv(f, s);
		if (s->n < 0 && errno == EPIPE) {
			/* The stream ended: nothing more will come. */
			wait_ready(f, f->stop_fd, POLLIN, -1);
			continue;
		}
		if (s->n < 0) {
			empty = errno == EAGAIN || errno == EINTR;
			if (!empty) {
				WARN("forward", "receiving from the VM: %s", strerror(errno));
				wait_ready(f, f->vm_fd, POLLIN, 100);
			}
			continue;
		}
		empty = s->n < s->b.frames;
		int towrite = slot_prepare(f, s);
		capture_flush_vm(f);
		if (towrite == 0)
			continue;
		if (towrite <= INLINE_MAX && !ring_has_work(r)) {
			slot_write(f, s);   /* all before it are written: order kept */
			to_vm_now(f);
			continue;
		}
		atomic_store(&r->head, head + 1);
		wake(&r->tx_sleeps, r->tx_wake);
	}
	return NULL;
}

static void *tap_tx(void *arg)
{
	struct forward *f = arg;
	struct ring *r = f->ring;

	while (!atomic_load(&f->stopping)) {
		uint32_t tail = atomic_load(&r->tail);

		if (tail == atomic_load(&r->head)) {
			ring_sleep(f, r, &r->tx_sleeps, r->tx_wake, ring_has_work, -1);
			continue;
		}
		slot_write(f, &r->slot[tail % SLOTS]);
		atomic_store(&r->tail, tail + 1);
		wake(&r->rx_sleeps, r->rx_wake);
	}
	return NULL;
}

/* host_to_vm's buffers have room past max_packet to see an oversized
 * frame as such; the receive ring's one spare byte. */
unsigned forward_read_max_packets(size_t max_packet)
{
	return (unsigned)batch_frames(max_packet + 4096);
}

unsigned forward_write_max_packets(size_t max_packet)
{
	return (unsigned)batch_frames(max_packet + 1);
}

/* What the threads above call, for the datapath's seccomp filter. */
static const struct sandbox_rule forward_rules[] = {
	/* the VM socket: batches both ways (vm_rx, host_to_vm), our own replies (send_local) */
	SANDBOX_ALLOW(recvmmsg),
	SANDBOX_ALLOW(sendmmsg),
	SANDBOX_ALLOW(sendto),
	/* a stream socket (streamio.c): large reads, length-prefixed frames in
	 * one sendmsg, and closing a stream whose framing is broken (stream_recv) */
	SANDBOX_ALLOW(recvfrom),
	SANDBOX_ALLOW(sendmsg),
	SANDBOX_ALLOW(shutdown),
	/* the TAP, with or without a virtio-net header (tap_read, tap_write) */
	SANDBOX_ALLOW(read),
	SANDBOX_ALLOW(readv),
	SANDBOX_ALLOW(writev),
	/* waiting (wait_ready), and the eventfds that stop and wake threads */
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(eventfd2),
	SANDBOX_ALLOW(close),
};
const struct sandbox_list forward_sandbox = SANDBOX_LIST(forward_rules);

int forward_start(struct forward *f)
{
	void *(*fn[FWD_THREADS])(void *) = { vm_rx, tap_tx, host_to_vm };

	/* The address fields of f->check are the caller's (forward.h). */
	f->check.max_packet = f->max_packet;
	f->check.mtu = f->mtu;
	f->check.local = f->dhcp_enabled;
	f->check.ra = f->ra_enabled;
	f->check.vnet_hdr = f->vnet_hdr;
	f->check.tso = f->tso;
	f->check.macs = &f->macs;
	f->macs = (struct vmframe_macs){ .state = VMF_MAC_NONE };
	f->check.addrs6 = f->claim_addr6 ? &f->addrs6 : NULL;
	memset(&f->addrs6, 0, sizeof(f->addrs6));
	f->check.addrs4 = f->claim_addr4 ? &f->addrs4 : NULL;
	memset(&f->addrs4, 0, sizeof(f->addrs4));
	atomic_store(&f->stopping, false);
	atomic_store(&f->last_ra_ms, 0);
	f->ra_count = 0;
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->stop_fd < 0)
		return -errno;
	/* vhost-user: one thread of its own (vhost.c); the guest's own
	 * virtio-net header goes to the TAP, not one we build. */
	if (f->vhost_user) {
		int rc;

		f->check.vnet_hdr = false;
		rc = vhost_start(f);
		if (rc < 0)
			forward_stop(f);
		return rc;
	}
	f->ring = ring_new(f);
	f->to_vm = to_vm_new(f);
	if (f->ring == NULL || f->to_vm == NULL ||
	    (f->stream && (stream_rx_init(&f->rx) < 0 || stream_tx_init(&f->tx) < 0))) {
		forward_stop(f);
		return -ENOMEM;
	}
	if (f->first_len) {
		/* received alone, by transport_wait_client: a single-frame call */
		count_call(&f->vm.slow);
		forward_vm_frame(f, f->first, f->first_len);
		capture_flush_vm(f);
	}
	for (int i = 0; i < FWD_THREADS; i++) {
		int rc = pthread_create(&f->threads[i], NULL, fn[i], f);
		if (rc) {
			forward_stop(f);
			return -rc;
		}
	}
	return 0;
}

void forward_stop(struct forward *f)
{
	uint64_t one = 1;

	atomic_store(&f->stopping, true);
	if (write(f->stop_fd, &one, sizeof(one)) < 0)
		WARN("forward", "cannot wake threads: %s", strerror(errno));
	for (int i = 0; i < FWD_THREADS; i++)
		if (f->threads[i])
			pthread_join(f->threads[i], NULL);
	memset(f->threads, 0, sizeof(f->threads));
	vhost_stop(f);
	ring_free(f->ring);
	f->ring = NULL;
	to_vm_free(f->to_vm);
	f->to_vm = NULL;
	stream_rx_free(&f->rx);
	stream_tx_free(&f->tx);
	close(f->stop_fd);
	f->stop_fd = -1;
}
