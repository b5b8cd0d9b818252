/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads and writes on a stream VM socket (streamio.h): the framing is
 * parse/vmstream.c's, the buffering and non-blocking writes are here. Runs
 * in the datapath (the user, sandboxed).
 */
#include "datapath/streamio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * One read takes up to 256 KiB: 170 frames of 1514 bytes or 4 of 64 KiB,
 * enough to fill a datapath batch with one syscall. Behind it, room for one
 * whole frame, the most a read can leave unfinished.
 */
#define RX_READ (256u << 10)
#define RX_CAP (RX_READ + VMSTREAM_HDR + PKT_MAX_FRAME)
#define TX_PENDING (VMSTREAM_HDR + PKT_MAX_FRAME)
/* Frames per writev: each takes two iovecs (length, frame). */
#define TX_FRAMES 64

int stream_rx_init(struct stream_rx *r)
{
	r->buf = malloc(RX_CAP);
	r->cap = RX_CAP;
	r->start = r->end = 0;
	return r->buf ? 0 : -ENOMEM;
}

void stream_rx_free(struct stream_rx *r)
{
	free(r->buf);
	r->buf = NULL;
}

ssize_t stream_rx_read(struct stream_rx *r, int fd)
{
	ssize_t n;

	/* What is left is less than one whole frame (the caller took every
	 * whole one): move it to the front, so a full read fits behind it. */
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	n = recv(fd, r->buf + r->end, r->cap - r->end < RX_READ ? r->cap - r->end : RX_READ,
		 MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

enum vmstream_result stream_rx_next(struct stream_rx *r, const uint8_t **frame, size_t *len)
{
	size_t used = 0;
	enum vmstream_result v = vmstream_next(r->buf + r->start, r->end - r->start, frame, len,
					       &used);

	if (v == VMS_FRAME)
		r->start += used;
	return v;
}

size_t stream_rx_left(const struct stream_rx *r)
{
	return r->end - r->start;
}

int stream_tx_init(struct stream_tx *t)
{
	t->pending = malloc(TX_PENDING);
	t->off = t->len = 0;
	if (!t->pending)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void stream_tx_free(struct stream_tx *t)
{
	if (!t->pending)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->pending);
	t->pending = NULL;
}

static ssize_t send_iov(int fd, struct iovec *iov, size_t n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

	return w < 0 ? -errno : w;
}

/* Under the lock. */
static int flush_locked(struct stream_tx *t, int fd)
{
	while (t->off < t->len) {
		struct iovec iov = { t->pending + t->off, t->len - t->off };
		ssize_t w = send_iov(fd, &iov, 1);

		if (w < 0)
			return w == -EINTR ? 0 : (int)w;
		t->off += (size_t)w;
	}
	t->off = t->len = 0;
	return 0;
}

int stream_tx_flush(struct stream_tx *t, int fd)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = flush_locked(t, fd);
	if (rc == 0 && t->off < t->len)
		rc = -EAGAIN;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool stream_tx_pending(struct stream_tx *t)
{
	bool pending;

	pthread_mutex_lock(&t->lock);
	pending = t->off < t->len;
	pthread_mutex_unlock(&t->lock);
	return pending;
}

/* Keeps the unsent rest of the frame in iov[0..1] (its length, then the frame)
 * after the first `sent` bytes of it went out. */
static void keep_rest(struct stream_tx *t, const struct iovec *iov, size_t sent)
{
	t->off = t->len = 0;
	for (int i = 0; i < 2; i++) {
		size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;

		memcpy(t->pending + t->len, (const uint8_t *)iov[i].iov_base + skip,
		       iov[i].iov_len - skip);
		t->len += iov[i].iov_len - skip;
		sent -= skip;
	}
}

/* Under the lock, nothing pending: one writev of up to TX_FRAMES frames. */
static int send_frames(struct stream_tx *t, int fd, const struct iovec *frames, int n)
{
	uint8_t hdr[TX_FRAMES][VMSTREAM_HDR];
	struct iovec iov[2 * TX_FRAMES];
	int k = n < TX_FRAMES ? n : TX_FRAMES, taken = 0;
	ssize_t w;

	for (int i = 0; i < k; i++) {
		vmstream_header(hdr[i], frames[i].iov_len);
		iov[2 * i] = (struct iovec){ hdr[i], VMSTREAM_HDR };
		iov[2 * i + 1] = frames[i];
	}
	w = send_iov(fd, iov, 2 * (size_t)k);
	if (w < 0)
		return w == -EAGAIN || w == -EINTR ? 0 : (int)w;
	/* Whole frames first; a frame begun is taken too, its rest pending. */
	for (size_t left = (size_t)w; left > 0 && taken < k; taken++) {
		size_t whole = VMSTREAM_HDR + frames[taken].iov_len;

		if (left < whole) {
			keep_rest(t, &iov[2 * taken], left);
			return taken + 1;
		}
		left -= whole;
	}
	return taken;
}

int stream_tx_send(struct stream_tx *t, int fd, const struct iovec *frames, int n)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = flush_locked(t, fd);
	if (rc == -EAGAIN || rc == -EINTR)
		rc = 0;
	else if (rc == 0 && t->off == t->len)
		rc = send_frames(t, fd, frames, n);
	pthread_mutex_unlock(&t->lock);
	return rc;
}
