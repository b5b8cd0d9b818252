/* SPDX-License-Identifier: Apache-2.0 */
/* pcapng blocks (datapath/pcapng.h), read back field by field. */
#include <stdint.h>
#include <string.h>

#include "datapath/pcapng.h"
#include "t.h"

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* A block's length is at its start and its end, a multiple of 4. */
static int block_ok(const uint8_t *b, size_t avail, uint32_t type)
{
	uint32_t len = u32(b + 4);

	return u32(b) == type && len % 4 == 0 && len <= avail && u32(b + len - 4) == len;
}

/* The option with code in the options at p (up to end), or NULL. */
static const uint8_t *find_option(const uint8_t *p, const uint8_t *end, uint16_t code,
				  uint16_t *len)
{
	while (p + 4 <= end && u16(p) != 0) {
		uint16_t l = u16(p + 2);

		if (u16(p) == code) {
			*len = l;
			return p + 4;
		}
		p += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

static void test_header(void)
{
	uint8_t buf[512];
	size_t n = pcapng_header(buf, sizeof(buf), "vmnet-helper test", "vmtap7", "descr");
	const uint8_t *idb, *o;
	uint16_t l = 0;

	CHECK(n > 0 && n % 4 == 0);
	CHECK(block_ok(buf, n, 0x0A0D0D0A));
	CHECK(u32(buf + 8) == 0x1A2B3C4D && u16(buf + 12) == 1 && u16(buf + 14) == 0);
	o = find_option(buf + 24, buf + u32(buf + 4) - 4, 4, &l);
	CHECK(o && l == 17 && memcmp(o, "vmnet-helper test", 17) == 0);
	idb = buf + u32(buf + 4);
	CHECK(block_ok(idb, n - (size_t)(idb - buf), 1));
	CHECK(u16(idb + 8) == 1 && u32(idb + 12) == PCAPNG_SNAPLEN);
	o = find_option(idb + 16, idb + u32(idb + 4) - 4, 2, &l);
	CHECK(o && l == 6 && memcmp(o, "vmtap7", 6) == 0);
	o = find_option(idb + 16, idb + u32(idb + 4) - 4, 9, &l);
	CHECK(o && l == 1 && o[0] == 9);
	CHECK(idb + u32(idb + 4) == buf + n);
	/* Too small: nothing, never a part. */
	CHECK(pcapng_header(buf, n - 1, "vmnet-helper test", "vmtap7", "descr") == 0);
}

static void test_packet(void)
{
	uint8_t frame[61], buf[256];
	const uint8_t *o;
	uint16_t l = 0;
	size_t n;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	n = pcapng_packet(buf, sizeof(buf), 0x123456789abcdef0ull, frame, 61, 1514,
			  PCAPNG_OUTBOUND, "dropped: test");
	CHECK(n == pcapng_packet_size(61, "dropped: test"));
	CHECK(block_ok(buf, n, 6) && u32(buf + 4) == n);
	CHECK(u32(buf + 8) == 0);
	CHECK(u32(buf + 12) == 0x12345678 && u32(buf + 16) == 0x9abcdef0);
	CHECK(u32(buf + 20) == 61 && u32(buf + 24) == 1514);
	CHECK(memcmp(buf + 28, frame, 61) == 0 && buf[89] == 0 && buf[90] == 0 && buf[91] == 0);
	o = find_option(buf + 92, buf + n - 4, 2, &l);
	CHECK(o && l == 4 && u32(o) == PCAPNG_OUTBOUND);
	o = find_option(buf + 92, buf + n - 4, 1, &l);
	/* The comment ends in a newline (scapy reads no comment without one). */
	CHECK(o && l == 14 && memcmp(o, "dropped: test\n", 14) == 0);

	/* Without a comment: the flags alone. */
	n = pcapng_packet(buf, sizeof(buf), 1, frame, 60, 60, PCAPNG_INBOUND, NULL);
	CHECK(n == pcapng_packet_size(60, NULL) && n == 28 + 60 + 8 + 4 + 4);
	o = find_option(buf + 88, buf + n - 4, 1, &l);
	CHECK(o == NULL);
	/* Never a part of a block, never more than the frame. */
	CHECK(pcapng_packet(buf, n - 1, 1, frame, 60, 60, PCAPNG_INBOUND, NULL) == 0);
	CHECK(pcapng_packet(buf, sizeof(buf), 1, frame, 61, 60, PCAPNG_INBOUND, NULL) == 0);
	CHECK(pcapng_packet(buf, sizeof(buf), 1, frame, 0, 0, PCAPNG_INBOUND, NULL) ==
	      pcapng_packet_size(0, NULL));
}

static void tests(void)
{
	test_header();
	test_packet();
}

T_MAIN
