/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bounds-checked cursor every parser of VM bytes reads through, and
 * the Internet checksum (pkt.h). Pure; runs in the datapath.
 */
#include "parse/pkt.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/*
 * The ones' complement sum does not depend on byte order (RFC 1071, 2(B)):
 * sum native-order 16-bit words, fold, and swap the 16-bit result once.
 * Offload checksums every 64 KiB frame it hands a VM (offload.h), so the
 * bulk of the work is done 32 bytes at a time with AVX2 where the CPU has it
 * (about 4 times the portable loop's speed here: bench/csumbench), the rest
 * 16 bytes at a time; both only add words into wider accumulators, whose
 * carries the final fold puts back.
 */

/* Portable: 32-bit halves of 8-byte words into two 64-bit accumulators (two
 * independent chains), then 2-byte words, then an odd last byte. */
static uint64_t sum_portable(const uint8_t *p, size_t len)
{
	uint64_t s0 = 0, s1 = 0;
	uint32_t q[4];
	uint16_t w;

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(q, p, 16);
		s0 += (uint64_t)q[0] + q[1];
		s1 += (uint64_t)q[2] + q[3];
	}
	for (; len >= 2; p += 2, len -= 2) {
		memcpy(&w, p, 2);
		s0 += w;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };   /* an odd byte is the high byte of a word */
		memcpy(&w, last, 2);
		s0 += w;
	}
	return s0 + s1;
}

#if defined(__x86_64__)
/*
 * AVX2, 64 bytes per step: each 32-bit lane holds two native 16-bit words,
 * split by a mask and a shift and added into four vectors of 32-bit
 * accumulators. A lane grows by at most 0xffff per step, so 65536 steps
 * (4 MiB) fit; longer inputs are summed in such chunks.
 */
#define AVX2_CHUNK_STEPS 65536

__attribute__((target("avx2")))
static uint64_t hsum_avx2(__m256i v)
{
	uint32_t lanes[8];
	uint64_t s = 0;

	_mm256_storeu_si256((__m256i *)lanes, v);
	for (int i = 0; i < 8; i++)
		s += lanes[i];
	return s;
}

/* Sums steps x 64 bytes. */
__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint8_t *p, size_t steps)
{
	const __m256i low = _mm256_set1_epi32(0xffff);
	uint64_t total = 0;

	while (steps) {
		size_t n = steps < AVX2_CHUNK_STEPS ? steps : AVX2_CHUNK_STEPS;
		__m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;

		steps -= n;
		for (; n; n--, p += 64) {
			__m256i v = _mm256_loadu_si256((const __m256i *)p);
			__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32));

			a = _mm256_add_epi32(a, _mm256_and_si256(v, low));
			b = _mm256_add_epi32(b, _mm256_srli_epi32(v, 16));
			c = _mm256_add_epi32(c, _mm256_and_si256(x, low));
			d = _mm256_add_epi32(d, _mm256_srli_epi32(x, 16));
		}
		total += hsum_avx2(a) + hsum_avx2(b) + hsum_avx2(c) + hsum_avx2(d);
	}
	return total;
}

/* Below this the vector setup does not pay. */
#define AVX2_MIN_LEN 256

static uint64_t sum_words(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	if (len >= AVX2_MIN_LEN && __builtin_cpu_supports("avx2")) {
		size_t steps = len / 64;

		s = sum_avx2(p, steps);
		p += steps * 64;
		len -= steps * 64;
	}
	return s + sum_portable(p, len);
}
#else
static uint64_t sum_words(const uint8_t *p, size_t len)
{
	return sum_portable(p, len);
}
#endif

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	uint64_t s = sum_words(data, len), t;
	uint16_t w;

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
