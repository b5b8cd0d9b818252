/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for offload.c. The first byte picks the direction:
 *  even: the rest is a frame from a hostile VM (offload_from_vm, TSO on);
 *  odd:  the next 10 bytes are a virtio-net header, the rest a frame from
 *        the TAP (offload_to_vm).
 * Checks the header built for the kernel is consistent with the frame and
 * that a partial checksum, once completed, verifies: not just no crash.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/offload.h"
#include "offload_check.h"
#include "parse/pkt.h"

#define MTU 1500

static void check_from_vm(uint8_t *frame, size_t size)
{
	struct virtio_net_hdr h;
	int n = offload_from_vm(frame, size, MTU, true, &h);

	if (n < 0)
		return;
	if (n < 14 || (size_t)n > size)
		abort();
	offload_check(&h, frame, (size_t)n, MTU);
}

static void check_to_vm(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr h;
	uint8_t *frame;
	size_t len;

	if (size < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	len = size - sizeof(h);
	frame = malloc(len ? len : 1);
	if (!frame)
		return;
	memcpy(frame, data + sizeof(h), len);
	if (offload_to_vm(&h, frame, len) == 0 && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (size_t)le16toh(h.csum_start) + le16toh(h.csum_offset) + 2 > len)
		abort();
	free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *frame;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		check_to_vm(data + 1, size - 1);
		return 0;
	}
	/* Exact-size copy so ASan sees any read past the frame. */
	frame = malloc(size - 1 ? size - 1 : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, size - 1);
	check_from_vm(frame, size - 1);
	free(frame);
	return 0;
}
