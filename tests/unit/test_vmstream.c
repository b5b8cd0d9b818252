/* SPDX-License-Identifier: Apache-2.0 */
/* vmstream (the stream framing) and streamio (its buffered I/O) on socketpairs. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datapath/streamio.h"
#include "t.h"
#include "parse/vmstream.h"

static enum vmstream_result next(const void *buf, size_t len, size_t *flen, size_t *used)
{
	const uint8_t *frame = NULL;

	*used = 0;
	return vmstream_next(buf, len, &frame, flen, used);
}

static void test_next(void)
{
	uint8_t b[16 + PKT_MAX_FRAME + 8] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0 };
	const uint8_t *frame = NULL;
	size_t flen = 0, used = 0;

	for (size_t n = 0; n < 7; n++)
		CHECK(next(b, n, &flen, &used) == VMS_PARTIAL && used == 0);
	CHECK(vmstream_next(b, 7, &frame, &flen, &used) == VMS_FRAME);
	CHECK(frame == b + 4 && flen == 3 && used == 7);
	CHECK(memcmp(frame, "abc", 3) == 0);
	/* A zero-length frame is a frame (a runt for the caller to drop). */
	CHECK(next(b + 7, 4, &flen, &used) == VMS_FRAME && flen == 0 && used == 4);
	/* The largest length anyone may send, and one more. */
	b[0] = 0; b[1] = 0x01; b[2] = 0x00; b[3] = 0x0e;   /* 65550 */
	CHECK(next(b, 4, &flen, &used) == VMS_PARTIAL);
	CHECK(next(b, 4 + PKT_MAX_FRAME - 1, &flen, &used) == VMS_PARTIAL);
	CHECK(next(b, 4 + PKT_MAX_FRAME, &flen, &used) == VMS_FRAME && flen == 65550);
	b[3] = 0x0f;
	CHECK(next(b, 4, &flen, &used) == VMS_BROKEN && flen == 65551 && used == 0);
	memset(b, 0xff, 4);
	CHECK(next(b, 4, &flen, &used) == VMS_BROKEN && flen == 0xffffffffu);
	b[0] = 0x80; b[1] = b[2] = b[3] = 0;
	CHECK(next(b, 3, &flen, &used) == VMS_PARTIAL);   /* not known yet */
	CHECK(next(b, 4, &flen, &used) == VMS_BROKEN);
}

static void test_header(void)
{
	uint8_t h[4];

	vmstream_header(h, 1514);
	CHECK(h[0] == 0 && h[1] == 0 && h[2] == 0x05 && h[3] == 0xea);
	vmstream_header(h, 65550);
	CHECK(h[0] == 0 && h[1] == 0x01 && h[2] == 0x00 && h[3] == 0x0e);
}

/* Frames written in pieces of every size come out whole and in order. */
static void test_rx_pieces(void)
{
	int sv[2];
	uint8_t data[3 * (4 + 1500)];
	size_t len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	for (int i = 0; i < 3; i++) {
		vmstream_header(data + len, 1500);
		memset(data + len + 4, 'a' + i, 1500);
		len += 4 + 1500;
	}
	for (size_t piece = 1; piece < len; piece = piece * 3 + 1) {
		struct stream_rx r;
		int got = 0;

		CHECK(stream_rx_init(&r) == 0);
		for (size_t off = 0; off < len; off += piece) {
			size_t n = len - off < piece ? len - off : piece;
			const uint8_t *f;
			size_t flen;

			CHECK(write(sv[0], data + off, n) == (ssize_t)n);
			CHECK(stream_rx_read(&r, sv[1]) == (ssize_t)n);
			while (stream_rx_next(&r, &f, &flen) == VMS_FRAME) {
				CHECK(flen == 1500 && f[0] == 'a' + got && f[1499] == 'a' + got);
				got++;
			}
		}
		CHECK(got == 3 && stream_rx_left(&r) == 0);
		CHECK(stream_rx_read(&r, sv[1]) == -EAGAIN);
		stream_rx_free(&r);
	}
	close(sv[0]);
	{
		struct stream_rx r;
		CHECK(stream_rx_init(&r) == 0);
		CHECK(stream_rx_read(&r, sv[1]) == 0);   /* the end of the stream */
		stream_rx_free(&r);
	}
	close(sv[1]);
}

/* Reads everything the peer can read now, checks it is whole frames of
 * the expected sizes with increasing first bytes; returns frames seen. */
static int drain(int fd, uint8_t *next_id, size_t size, uint8_t *carry, size_t *carry_len)
{
	int frames = 0;
	uint8_t buf[1 << 16];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			carry[(*carry_len)++] = buf[i];
			if (*carry_len == 4 + size) {
				CHECK(carry[0] == 0 && carry[1] == 0 && carry[2] == (size >> 8) &&
				      carry[3] == (size & 0xff));
				CHECK(carry[4] == *next_id && carry[3 + size] == *next_id);
				(*next_id)++;
				*carry_len = 0;
				frames++;
			}
		}
	}
	return frames;
}

/* A receiver that stops reading: frames are taken while the socket has
 * room, one is begun with its rest pending, then none until it drains; the
 * stream stays whole frames in order throughout. */
static void test_tx_pending(void)
{
	enum { SIZE = 1000, N = 64 };
	static uint8_t frames[N][SIZE], carry[4 + SIZE];
	struct iovec iov[N];
	struct stream_tx t;
	int sv[2], buf = 4096, sent = 0, seen = 0, rounds = 0;
	bool was_pending = false, was_full = false;
	uint8_t id = 0;
	size_t carry_len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	CHECK(stream_tx_init(&t) == 0);
	for (int i = 0; i < N; i++) {
		memset(frames[i], i, SIZE);
		iov[i] = (struct iovec){ frames[i], SIZE };
	}
	while (sent < N && rounds++ < 10000) {
		int r = stream_tx_send(&t, sv[0], iov + sent, N - sent);
		CHECK(r >= 0);
		if (r == 0) {
			was_full = true;
			seen += drain(sv[1], &id, SIZE, carry, &carry_len);
			continue;
		}
		was_pending |= stream_tx_pending(&t);
		sent += r;
	}
	CHECK(sent == N);
	CHECK(was_full && was_pending);
	/* Whatever is pending goes once the receiver reads. */
	while (stream_tx_flush(&t, sv[0]) == -EAGAIN && rounds++ < 10000)
		seen += drain(sv[1], &id, SIZE, carry, &carry_len);
	seen += drain(sv[1], &id, SIZE, carry, &carry_len);
	CHECK(!stream_tx_pending(&t));
	CHECK(seen == N && carry_len == 0);
	/* A receiver gone: the error comes back. */
	close(sv[1]);
	CHECK(stream_tx_send(&t, sv[0], iov, 1) == -EPIPE);
	stream_tx_free(&t);
	close(sv[0]);
}

static void tests(void)
{
	test_next();
	test_header();
	test_rx_pieces();
	test_tx_pending();
}

T_MAIN
