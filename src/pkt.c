/* SPDX-License-Identifier: Apache-2.0 */
#include "pkt.h"

/*
 * The ones' complement sum does not depend on byte order (RFC 1071, 2(B)):
 * sum native-order words, fold, and swap the 16-bit result once. Eight bytes
 * per step, because offload checksums whole 64 KiB frames.
 */
uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = 0, t;
	uint16_t w;

	for (; len >= 8; p += 8, len -= 8) {
		uint32_t q[2];
		memcpy(q, p, 8);
		s += (uint64_t)q[0] + q[1];
	}
	for (; len >= 2; p += 2, len -= 2) {
		memcpy(&w, p, 2);
		s += w;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };   /* an odd byte is the high byte of a word */
		memcpy(&w, last, 2);
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	w = (uint16_t)s;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = (uint16_t)(w << 8 | w >> 8);
#endif
	t = (uint64_t)sum + w;
	while (t >> 32)
		t = (t & 0xffffffff) + (t >> 32);
	return (uint32_t)t;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
