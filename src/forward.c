/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "log.h"
#include "offload.h"

/*
 * Frames per syscall batch. 64 frames of 1514 bytes is ~97 KiB per direction:
 * enough to amortize syscalls at line rate while staying in L2 cache. With TSO
 * the buffers are 64 KiB each (4 MiB per direction), about what the socket
 * buffer holds of such frames (transport.c), so one batch can drain it.
 */
#define BATCH 64
/* How often a full VM socket is waited for (1 ms each) before frames are dropped. */
#define SEND_RETRIES 10
#define RUNT 14

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
};

static int batch_init(struct batch *b, size_t bufsz)
{
	b->bufsz = bufsz;
	b->bufs = malloc(BATCH * bufsz);
	if (!b->bufs)
		return -ENOMEM;
	memset(b->msgs, 0, sizeof(b->msgs));
	for (int i = 0; i < BATCH; i++) {
		b->iov[i].iov_base = b->bufs + (size_t)i * bufsz;
		b->iov[i].iov_len = bufsz;
		b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

static void count(struct fwd_counters *c, uint64_t packets, uint64_t bytes, uint64_t drops)
{
	if (packets)
		atomic_fetch_add_explicit(&c->packets, packets, memory_order_relaxed);
	if (bytes)
		atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
	if (drops)
		atomic_fetch_add_explicit(&c->drops, drops, memory_order_relaxed);
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

/* Sends one frame the helper made itself (a DHCP reply) to the VM. */
static bool send_local(struct forward *f, const uint8_t *frame, size_t len)
{
	for (int i = 0; i <= SEND_RETRIES; i++) {
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

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends our router advertisement to the VM. last_ra_ms is atomic: the first
 * frame of a --socket client is handled outside the VM thread. */
static bool send_ra(struct forward *f, int64_t now)
{
	uint8_t ra[256];
	int n = ndp_build_ra(&f->ndp, ra, sizeof(ra));

	f->last_ra_ms = now;
	return n > 0 && send_local(f, ra, (size_t)n);
}

/* Milliseconds until the next unsolicited RA is due (-1: none), sending it
 * first if it is due now. VM thread only. */
static int ra_timer(struct forward *f)
{
	int64_t now, due;

	if (!f->ra_enabled)
		return -1;
	now = now_ms();
	due = f->ra_count == 0 ? now
	    : f->last_ra_ms + (f->ra_count < RA_INITIAL_COUNT ? RA_INITIAL_INTERVAL_MS
							     : RA_INTERVAL_MS);
	if (now >= due) {
		send_ra(f, now);
		f->ra_count++;
		return ra_timer(f);
	}
	return (int)(due - now);
}

/* IPv6 frames the helper answers or refuses itself. Returns true if consumed. */
static bool handle_ndp(struct forward *f, const uint8_t *frame, size_t len, bool *ok)
{
	int64_t now;

	switch (ndp_classify(frame, len)) {
	case NDP_RS:
		if (!f->ra_enabled)
			return false;   /* host mode: no router here, the kernel ignores it */
		now = now_ms();
		*ok = now - f->last_ra_ms < RA_MIN_GAP_MS || send_ra(f, now);
		return true;
	case NDP_ROGUE:
		/* A VM must not act as a router or DHCPv6 server on our network. */
		*ok = false;
		return true;
	default:
		return false;
	}
}

/* Frames the helper answers or refuses itself. Returns true if consumed. */
static bool handle_local(struct forward *f, const uint8_t *frame, size_t len, bool *ok)
{
	uint8_t reply[1024];
	int n;

	if (handle_ndp(f, frame, len, ok))
		return true;
	switch (dhcp_classify(frame, len)) {
	case DHCP_CLIENT:
		n = dhcp_reply(&f->dhcp, frame, len, reply, sizeof(reply));
		*ok = n >= 0 && (n == 0 || send_local(f, reply, (size_t)n));
		return true;
	case DHCP_SERVER:
		/* A VM must not hand out addresses on our network. */
		*ok = false;
		return true;
	default:
		return false;
	}
}

static bool vm_frame(struct forward *f, uint8_t *frame, size_t len, int flags)
{
	struct virtio_net_hdr hdr;
	bool ok;

	if ((flags & MSG_TRUNC) || len < RUNT || len > f->max_packet)
		return false;
	if (f->dhcp_enabled && handle_local(f, frame, len, &ok))
		return ok;
	if (f->vnet_hdr) {
		int n = offload_from_vm(frame, len, f->mtu, f->tso, &hdr);
		if (n < 0)
			return false;
		len = (size_t)n;
	}
	return tap_write(f, &hdr, frame, len);
}

static void *vm_to_host(void *arg)
{
	struct forward *f = arg;
	struct batch b;

	/* One spare byte: a frame that fills it is larger than allowed. */
	if (batch_init(&b, f->max_packet + 1) < 0) {
		atomic_store(&f->failed, 1);
		return NULL;
	}
	while (!atomic_load(&f->stopping)) {
		uint64_t packets = 0, bytes = 0, drops = 0;
		int timeout = ra_timer(f);
		int n = recvmmsg(f->vm_fd, b.msgs, BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				wait_ready(f, f->vm_fd, POLLIN, timeout);
				continue;
			}
			WARN("forward", "receiving from the VM: %s", strerror(errno));
			wait_ready(f, f->vm_fd, POLLIN, 100);
			continue;
		}
		for (int i = 0; i < n; i++) {
			size_t len = b.msgs[i].msg_len;
			if (vm_frame(f, b.iov[i].iov_base, len, b.msgs[i].msg_hdr.msg_flags)) {
				packets++;
				bytes += len;
			} else {
				drops++;
			}
		}
		count(&f->vm, packets, bytes, drops);
	}
	free(b.bufs);
	return NULL;
}

void forward_vm_frame(struct forward *f, uint8_t *frame, size_t len)
{
	int flags = len > f->max_packet ? MSG_TRUNC : 0;

	if (vm_frame(f, frame, len, flags))
		count(&f->vm, 1, len, 0);
	else
		count(&f->vm, 0, 0, 1);
}

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

/* Reads up to BATCH frames from the TAP into b. Returns how many, -1 on a device error. */
static int tap_read_batch(struct forward *f, struct batch *b, uint64_t *drops)
{
	int n = 0;

	while (n < BATCH) {
		uint8_t *buf = b->bufs + (size_t)n * b->bufsz;
		ssize_t r = tap_read(f, &b->hdrs[n], buf, b->bufsz);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return n ? n : -1;
		}
		if ((size_t)r < RUNT || (size_t)r > f->max_packet ||
		    (f->vnet_hdr && offload_to_vm(&b->hdrs[n], buf, (size_t)r) < 0)) {
			(*drops)++;
			continue;
		}
		b->iov[n].iov_len = (size_t)r;
		n++;
	}
	return n;
}

/* Sends n frames to the VM; frames it cannot take after bounded retries are dropped. */
static void vm_send_batch(struct forward *f, struct batch *b, int n, uint64_t *packets,
			  uint64_t *bytes, uint64_t *drops)
{
	int sent = 0, tries = 0;

	while (sent < n) {
		int r = sendmmsg(f->vm_fd, b->msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
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
		if (r < 0 && queue_full(errno) && tries++ < SEND_RETRIES &&
		    wait_ready(f, f->vm_fd, POLLOUT, 1))
			continue;
		if (r < 0 && !queue_full(errno)) {
			/* This frame is refused (e.g. EMSGSIZE): drop it alone. */
			(*drops)++;
			sent++;
			continue;
		}
		break;
	}
	*drops += (uint64_t)(n - sent);
}

static void *host_to_vm(void *arg)
{
	struct forward *f = arg;
	struct batch b;

	/* Room past max_packet so an oversized frame is seen as such, not cut. */
	if (batch_init(&b, f->max_packet + 4096) < 0) {
		atomic_store(&f->failed, 1);
		return NULL;
	}
	while (!atomic_load(&f->stopping) && !atomic_load(&f->vm_gone)) {
		uint64_t packets = 0, bytes = 0, drops = 0;
		int n = tap_read_batch(f, &b, &drops);

		if (n < 0) {
			ERROR("forward", "reading from the TAP device: %s", strerror(errno));
			atomic_store(&f->failed, 1);
			break;
		}
		if (n > 0)
			vm_send_batch(f, &b, n, &packets, &bytes, &drops);
		count(&f->host, packets, bytes, drops);
		if (n == 0)
			wait_ready(f, f->tap_fd, POLLIN, -1);
	}
	free(b.bufs);
	return NULL;
}

int forward_start(struct forward *f)
{
	int rc;

	atomic_store(&f->stopping, false);
	atomic_store(&f->last_ra_ms, 0);
	f->ra_count = 0;
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->stop_fd < 0)
		return -errno;
	rc = pthread_create(&f->threads[0], NULL, vm_to_host, f);
	if (rc)
		return -rc;
	rc = pthread_create(&f->threads[1], NULL, host_to_vm, f);
	if (rc) {
		forward_stop(f);
		return -rc;
	}
	return 0;
}

void forward_stop(struct forward *f)
{
	uint64_t one = 1;

	atomic_store(&f->stopping, true);
	if (write(f->stop_fd, &one, sizeof(one)) < 0)
		WARN("forward", "cannot wake threads: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (f->threads[i])
			pthread_join(f->threads[i], NULL);
	memset(f->threads, 0, sizeof(f->threads));
	close(f->stop_fd);
	f->stop_fd = -1;
}
