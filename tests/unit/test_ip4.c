/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "common/ip4.h"
#include "t.h"

static int parses(const char *s, uint32_t want)
{
	uint32_t a = 0xdeadbeef;

	return ip4_parse(s, &a) == 0 && a == want;
}

static int rejects(const char *s)
{
	uint32_t a = 0xdeadbeef;

	/* A failed parse must not touch the output. */
	return ip4_parse(s, &a) == -1 && a == 0xdeadbeef;
}

static void test_parse(void)
{
	CHECK(parses("0.0.0.0", 0));
	CHECK(parses("255.255.255.255", 0xffffffffu));
	CHECK(parses("192.168.105.1", 0xc0a86901u));
	CHECK(parses("10.0.0.1", 0x0a000001u));
	CHECK(parses("172.16.0.0", 0xac100000u));

	CHECK(rejects(NULL));
	CHECK(rejects(""));
	CHECK(rejects("1.2.3"));
	CHECK(rejects("1.2.3.4.5"));
	CHECK(rejects("1.2.3."));
	CHECK(rejects(".1.2.3"));
	CHECK(rejects("1..2.3"));
	CHECK(rejects("256.1.1.1"));
	CHECK(rejects("1.1.1.256"));
	CHECK(rejects("1000.1.1.1"));
	CHECK(rejects(" 1.2.3.4"));
	CHECK(rejects("1.2.3.4 "));
	CHECK(rejects("1.2.3.4x"));
	CHECK(rejects("x1.2.3.4"));
	CHECK(rejects("+1.2.3.4"));
	CHECK(rejects("-1.2.3.4"));
	CHECK(rejects("0x1.2.3.4"));
	CHECK(rejects("01.2.3.4"));   /* octal to inet_aton */
	CHECK(rejects("1.2.3.04"));
	CHECK(rejects("16909060"));   /* one number */
	CHECK(rejects("1.2.3.4/24"));
}

static void test_format(void)
{
	char buf[16];

	CHECK_STR(ip4_format(0, buf), "0.0.0.0");
	CHECK_STR(ip4_format(0xffffffffu, buf), "255.255.255.255");
	CHECK_STR(ip4_format(0xc0a869feu, buf), "192.168.105.254");
	for (uint32_t a = 1; a < 0xff000000u; a = a * 3 + 7) {
		uint32_t b;

		CHECK(ip4_parse(ip4_format(a, buf), &b) == 0 && a == b);
	}
}

static void test_masks(void)
{
	CHECK(!ip4_mask_valid(0));
	CHECK(ip4_mask_valid(0xffffffffu));
	CHECK(ip4_mask_valid(0x80000000u));
	CHECK(ip4_mask_valid(0xffffff00u));
	CHECK(ip4_mask_valid(0xfffffffcu));
	CHECK(!ip4_mask_valid(0xff00ff00u));
	CHECK(!ip4_mask_valid(0x00ffffffu));
	CHECK(!ip4_mask_valid(0xfffeffffu));
	CHECK(!ip4_mask_valid(1));
	for (int p = 1; p <= 32; p++) {
		uint32_t m = ip4_prefix_mask(p);

		CHECK(ip4_mask_valid(m));
		CHECK(ip4_mask_prefix(m) == p);
	}
	CHECK(ip4_prefix_mask(0) == 0);
	CHECK(ip4_prefix_mask(8) == 0xff000000u);
	CHECK(ip4_prefix_mask(12) == 0xfff00000u);
	CHECK(ip4_prefix_mask(30) == 0xfffffffcu);
	CHECK(ip4_mask_prefix(0) == 0);
	CHECK(ip4_network(0xc0a86905u, 0xffffff00u) == 0xc0a86900u);
	CHECK(ip4_broadcast(0xc0a86905u, 0xffffff00u) == 0xc0a869ffu);
}

static void test_private(void)
{
	uint32_t a;

	ip4_parse("10.0.0.0", &a); CHECK(ip4_is_private(a));
	ip4_parse("10.255.255.255", &a); CHECK(ip4_is_private(a));
	ip4_parse("172.16.0.0", &a); CHECK(ip4_is_private(a));
	ip4_parse("172.31.255.255", &a); CHECK(ip4_is_private(a));
	ip4_parse("192.168.0.0", &a); CHECK(ip4_is_private(a));
	ip4_parse("192.168.255.255", &a); CHECK(ip4_is_private(a));
	ip4_parse("9.255.255.255", &a); CHECK(!ip4_is_private(a));
	ip4_parse("11.0.0.0", &a); CHECK(!ip4_is_private(a));
	ip4_parse("172.15.255.255", &a); CHECK(!ip4_is_private(a));
	ip4_parse("172.32.0.0", &a); CHECK(!ip4_is_private(a));
	ip4_parse("192.167.255.255", &a); CHECK(!ip4_is_private(a));
	ip4_parse("192.169.0.0", &a); CHECK(!ip4_is_private(a));
	ip4_parse("8.8.8.8", &a); CHECK(!ip4_is_private(a));
	ip4_parse("100.64.0.1", &a); CHECK(!ip4_is_private(a));
}

static void tests(void)
{
	test_parse();
	test_format();
	test_masks();
	test_private();
}

T_MAIN
