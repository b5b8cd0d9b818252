/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the fuzz harnesses check of a frame from the VM that offload_from_vm()
 * (directly, or through vmframe_check) took: n bytes to write, header h.
 * The header agrees with the frame, and a partial checksum, once completed,
 * verifies. Aborts otherwise.
 */
#ifndef VMNET_FUZZ_OFFLOAD_CHECK_H
#define VMNET_FUZZ_OFFLOAD_CHECK_H

#include <endian.h>
#include <stdlib.h>

#include "parse/offload.h"
#include "parse/pkt.h"

static void offload_check(const struct virtio_net_hdr *h, uint8_t *frame, size_t n, unsigned mtu)
{
	size_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
	size_t hdr_len = le16toh(h->hdr_len), gso = le16toh(h->gso_size);
	uint32_t sum;

	if (n > mtu + 14 && (!h->gso_type || !gso || gso >= mtu))
		abort();
	if (h->gso_type && !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		abort();
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return;
	if (start < 14 + 20 || start + off + 2 > n || hdr_len > n || hdr_len < start + off + 2 ||
	    (off != 16 && off != 6))
		abort();
	/* The field holds the pseudo-header sum: completing the checksum over the
	 * segment must give one that verifies against that same sum. */
	sum = csum_add(0, frame + start + off, 2);
	if (offload_to_vm(h, frame, n) != 0 || csum_fold(csum_add(sum, frame + start, n - start)) != 0)
		abort();
}

#endif
