/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stream sockets' framing, a 4-byte length before each frame
 * (vmstream.h). Pure: the lengths come from a VM; runs in the datapath.
 */
#include "parse/vmstream.h"

#include "parse/pkt.h"

enum vmstream_result vmstream_next(const uint8_t *buf, size_t len, const uint8_t **frame,
				   size_t *frame_len, size_t *used)
{
	struct cursor c = cur_init(buf, len), body;
	uint32_t n;

	if (!cur_be32(&c, &n))
		return VMS_PARTIAL;
	if (n > PKT_MAX_FRAME) {
		*frame_len = n;
		return VMS_BROKEN;
	}
	if (!cur_sub(&c, n, &body))
		return VMS_PARTIAL;
	*frame = body.p;
	*frame_len = n;
	*used = VMSTREAM_HDR + (size_t)n;
	return VMS_FRAME;
}

void vmstream_header(uint8_t hdr[VMSTREAM_HDR], size_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}
