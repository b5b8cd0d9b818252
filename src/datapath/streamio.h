/* SPDX-License-Identifier: Apache-2.0 */
/*
 * I/O on the VM's stream socket (vmstream.h framing), with the datagram
 * path's guarantees: bounded memory, no stall, no head-of-line blocking.
 *
 * Receiving (one thread): large reads into one buffer, whole frames taken
 * out of it many per read. The buffer holds a read's worth plus one whole
 * frame, so a frame split across reads is moved to the front, never lost.
 *
 * Sending (every thread that sends to the VM, under one lock so frames never
 * interleave): non-blocking writes of length-prefixed frames, many per
 * writev. A frame the socket took only part of is finished first: its rest
 * waits in a pending buffer of one frame, and nothing else is sent until it
 * is gone. Frames the socket cannot take are not queued here: the caller
 * waits a little or drops them (and counts), so a VM that stops reading
 * costs one frame of memory and never stops the other direction.
 */
#ifndef VMNET_STREAMIO_H
#define VMNET_STREAMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "parse/vmstream.h"

struct stream_rx {
	uint8_t *buf;
	size_t cap;
	size_t start, end;          /* unconsumed bytes: buf[start..end) */
};

/* 0 or -ENOMEM. */
int stream_rx_init(struct stream_rx *r);
void stream_rx_free(struct stream_rx *r);
/* Reads what fd has (non-blocking) behind the unconsumed bytes: > 0 bytes
 * read, 0 at the end of the stream, -errno (-EAGAIN: nothing yet). */
ssize_t stream_rx_read(struct stream_rx *r, int fd);
/* The next whole frame (valid until the next stream_rx_read), as vmstream_next. */
enum vmstream_result stream_rx_next(struct stream_rx *r, const uint8_t **frame, size_t *len);
/* Bytes received but not yet a whole frame. */
size_t stream_rx_left(const struct stream_rx *r);

struct stream_tx {
	pthread_mutex_t lock;
	uint8_t *pending;           /* the rest of a frame the socket took part of */
	size_t off, len;            /* pending[off..len) still to send */
};

/* 0 or -ENOMEM. */
int stream_tx_init(struct stream_tx *t);
void stream_tx_free(struct stream_tx *t);
/*
 * Sends frames[0..n) to fd, each behind its length, without blocking.
 * Returns how many the stream took (written, or begun with the rest
 * pending): the caller may wait for POLLOUT and call again with the others,
 * or drop them. -errno when the socket failed (-EPIPE, -ECONNRESET: the VM
 * is gone). Frames must be at most PKT_MAX_FRAME bytes.
 */
int stream_tx_send(struct stream_tx *t, int fd, const struct iovec *frames, int n);
/* Sends what is pending. 0 when nothing is left, -EAGAIN when some is,
 * other -errno on failure. */
int stream_tx_flush(struct stream_tx *t, int fd);
bool stream_tx_pending(struct stream_tx *t);

#endif
