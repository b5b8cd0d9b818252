/* SPDX-License-Identifier: Apache-2.0 */
/* The Internet checksum (csum_add, csum_fold) against the one-word-at-a-time
 * reference, at every small length and alignment and across the wide paths'
 * chunk boundaries. */
#include <stdlib.h>

#include "csum_ref.h"
#include "parse/pkt.h"
#include "t.h"

#define BIG ((4u << 20) + 3 * 64 + 37)   /* past the AVX2 path's 4 MiB chunk */

static uint8_t *buf;

static uint32_t rnd(void)
{
	static uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static int mismatches(uint32_t init, const uint8_t *p, size_t len)
{
	return csum_fold(csum_add(init, p, len)) != csum_ref(init, p, len);
}

static void test_rfc1071_example(void)
{
	/* RFC 1071 section 3: the sum of these words is ddf2. */
	const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	CHECK(csum_fold(csum_add(0, b, 8)) == (uint16_t)~0xddf2);
	CHECK(csum_fold(0) == 0xffff);
	CHECK(csum_fold(csum_add(0, b, 0)) == 0xffff);
}

/* Every length up to 1100 at every offset within 8 bytes, random bytes and
 * random initial sums: the portable loop, the vector path's entry, the tails. */
static void test_small_lengths(void)
{
	int bad = 0;

	for (size_t i = 0; i < 1200; i++)
		buf[i] = (uint8_t)rnd();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 1100; len++)
			bad += mismatches(off & 1 ? rnd() : 0, buf + off, len);
	CHECK(bad == 0);
}

/* Large frames, and inputs that make every accumulator as large as it gets:
 * all 0xff (each word 0xffff) past the 4 MiB chunk. */
static void test_large(void)
{
	const size_t lens[] = { 65534, 65535, 65536, 65550, BIG - 1, BIG };
	int bad = 0;

	for (size_t i = 0; i < BIG + 8; i++)
		buf[i] = (uint8_t)rnd();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t off = 0; off < 3; off++)
			bad += mismatches(rnd(), buf + off, lens[i]);
	CHECK(bad == 0);
	memset(buf, 0xff, BIG + 8);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		bad += mismatches(0xffffffffu, buf + 1, lens[i]);
	CHECK(bad == 0);
	memset(buf, 0, BIG + 8);
	CHECK(csum_add(0, buf, BIG) == 0 && csum_fold(csum_add(0, buf, BIG)) == 0xffff);
	/* A sum carried in from earlier parts, then more data: the same as one pass. */
	for (size_t i = 0; i < 70000; i++)
		buf[i] = (uint8_t)rnd();
	CHECK(csum_fold(csum_add(csum_add(0, buf, 4000), buf + 4000, 66000)) ==
	      csum_ref(0, buf, 70000));
}

static void tests(void)
{
	buf = malloc(BIG + 8);
	if (!buf)
		abort();
	test_rfc1071_example();
	test_small_lengths();
	test_large();
	free(buf);
}

T_MAIN
