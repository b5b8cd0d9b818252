/* SPDX-License-Identifier: Apache-2.0 */
/* The Internet checksum as RFC 1071 defines it, one big-endian 16-bit word at a
 * time: the reference the fast csum_add (pkt.c) is tested and fuzzed against. */
#ifndef VMNET_CSUM_REF_H
#define VMNET_CSUM_REF_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

#endif
