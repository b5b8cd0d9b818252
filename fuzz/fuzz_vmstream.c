/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vmstream.c, the parser of a VM's byte stream. The
 * input is what a hostile VM writes to its stream socket. It is deframed
 * twice: whole, and split into reads at points the input itself picks (the
 * way stream_rx sees it: the unfinished rest moved to the front of a buffer
 * of one read plus one frame). Both must yield the same frames, each inside
 * the bytes given, and stop at the same place: not just no crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/vmstream.h"

#define READ 4096
#define CAP (READ + VMSTREAM_HDR + PKT_MAX_FRAME)
#define MAX_FRAMES 4096

struct seen {
	size_t n, len[MAX_FRAMES];
	uint8_t first[MAX_FRAMES], last[MAX_FRAMES];
	int end;   /* how it stopped: VMS_PARTIAL or VMS_BROKEN */
};

static void record(struct seen *s, const uint8_t *frame, size_t len)
{
	if (s->n == MAX_FRAMES)
		return;
	s->len[s->n] = len;
	s->first[s->n] = len ? frame[0] : 0;
	s->last[s->n] = len ? frame[len - 1] : 0;
	s->n++;
}

/* Takes every whole frame from buf[*start..end). */
static int take(const uint8_t *buf, size_t *start, size_t end, struct seen *s)
{
	for (;;) {
		const uint8_t *frame;
		size_t len, used;
		enum vmstream_result v = vmstream_next(buf + *start, end - *start, &frame, &len,
						       &used);
		if (v != VMS_FRAME)
			return v;
		if (len > PKT_MAX_FRAME || used != VMSTREAM_HDR + len || frame < buf + *start ||
		    frame + len > buf + end)
			abort();
		record(s, frame, len);
		*start += used;
	}
}

static uint8_t rx[CAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, split;
	size_t start = 0, end = 0, off = 0;
	unsigned step = size ? (unsigned)data[0] % 97 + 1 : 1;

	whole.n = split.n = 0;
	whole.end = take(data, &start, size, &whole);

	/* Reads of step bytes at most; the unfinished rest goes to the front. */
	split.end = VMS_PARTIAL;
	start = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (start > 0) {   /* as stream_rx_read: only after frames were taken */
			memmove(rx, rx + start, end - start);
			end -= start;
			start = 0;
		}
		if (CAP - end < n)
			abort();   /* the rest of a frame plus a read always fits */
		memcpy(rx + end, data + off, n);
		end += n;
		off += n;
		split.end = take(rx, &start, end, &split);
		if (split.end == VMS_BROKEN)
			break;
	}
	if (whole.n != split.n || whole.end != split.end)
		abort();
	for (size_t i = 0; i < whole.n; i++)
		if (whole.len[i] != split.len[i] || whole.first[i] != split.first[i] ||
		    whole.last[i] != split.last[i])
			abort();
	return 0;
}
