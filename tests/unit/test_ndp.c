/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse/ndp.h"
#include "parse/pkt.h"
#include "t.h"

static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t vm_ll[16] = { 0xfe, 0x80, [8] = 0x08, 0xd6, 0x36, 0xff, 0xfe, 0xc1, 0xea, 0xf3 };
static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 2 };

static struct ndp_config config(void)
{
	struct ndp_config c = {
		.router_mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
		.prefix = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3 },
		.has_dns = true,
		.dns = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3, [15] = 1 },
		.router_lifetime = 1800, .valid_lifetime = 86400, .preferred_lifetime = 14400,
		.dns_lifetime = 1800, .mtu = 1500,
	};
	ndp_link_local(c.router_mac, c.router_ll);
	return c;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint16_t l4_csum(const uint8_t *ip6, const uint8_t *msg, size_t len, uint8_t nh)
{
	uint8_t tail[8] = { 0, 0, (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 0, nh };
	uint32_t s = csum_add(0, ip6 + 8, 32);

	s = csum_add(s, tail, 8);
	return csum_fold(csum_add(s, msg, len));
}

/* Ethernet + IPv6 header (no extension headers) + payload; returns the frame length. */
static size_t ip6_frame(uint8_t *f, const uint8_t src[16], const uint8_t dst[16], uint8_t nh,
			uint8_t hop, const uint8_t *payload, size_t plen)
{
	memset(f, 0, 14 + 40);
	memset(f, 0x33, 2);
	f[5] = 2;
	memcpy(f + 6, vm_mac, 6);
	put16(f + 12, 0x86dd);
	f[14] = 0x60;
	put16(f + 18, (uint16_t)plen);
	f[20] = nh;
	f[21] = hop;
	memcpy(f + 22, src, 16);
	memcpy(f + 38, dst, 16);
	memcpy(f + 54, payload, plen);
	return 54 + plen;
}

/* A router solicitation with a source link-layer option, checksummed. */
static size_t rs_frame(uint8_t *f, const uint8_t src[16], bool with_slla)
{
	uint8_t m[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
	size_t mlen = with_slla ? 16 : 8;
	size_t n;

	memcpy(m + 10, vm_mac, 6);
	n = ip6_frame(f, src, all_routers, 58, 255, m, mlen);
	put16(f + 54 + 2, l4_csum(f + 14, f + 54, mlen, 58));
	return n;
}

static void test_link_local(void)
{
	uint8_t ll[16], mac[6];

	ndp_link_local(vm_mac, ll);
	CHECK(memcmp(ll, vm_ll, 16) == 0);
	/* And back: only an EUI-64 link-local names a MAC. */
	CHECK(ndp_link_local_mac(ll, mac) && memcmp(mac, vm_mac, 6) == 0);
	ll[12] = 0xfd;
	CHECK(!ndp_link_local_mac(ll, mac));
	ll[12] = 0xfe;
	ll[0] = 0xfd;
	CHECK(!ndp_link_local_mac(ll, mac));
	ll[0] = 0xfe;
	ll[7] = 1;             /* fe80:0:0:1::/64 is not the link-local prefix */
	CHECK(!ndp_link_local_mac(ll, mac));
}

/* What a node doing duplicate address detection takes as "in use". */
static void test_build_na(void)
{
	struct ndp_config c = config();
	const uint8_t target[16] = { 0xfd, 0x9b, [15] = 7 };
	uint8_t f[128];
	const uint8_t *ip = f + 14, *m = f + 54;
	int n = ndp_build_na(&c, target, f, sizeof(f));

	CHECK(n == 14 + 40 + 24);
	CHECK(memcmp(f, "\x33\x33\x00\x00\x00\x01", 6) == 0);
	CHECK(memcmp(f + 6, c.router_mac, 6) == 0 && get16(f + 12) == 0x86dd);
	CHECK(ip[0] >> 4 == 6 && get16(ip + 4) == 24 && ip[6] == 58 && ip[7] == 255);
	CHECK(memcmp(ip + 8, c.router_ll, 16) == 0);
	CHECK(ip[24] == 0xff && ip[25] == 0x02 && ip[39] == 1);
	CHECK(m[0] == 136 && m[1] == 0 && get32(m + 4) == 0);   /* no flags: S=0 to a group */
	CHECK(memcmp(m + 8, target, 16) == 0);
	CHECK(l4_csum(ip, m, 24, 58) == 0);
	/* Too small a buffer, at every size. */
	for (size_t cap = 0; cap < 14 + 40 + 24; cap++)
		CHECK(ndp_build_na(&c, target, f, cap) == -1);
}

static void test_rs(void)
{
	static const uint8_t unspecified[16];
	uint8_t f[256];
	size_t n = rs_frame(f, vm_ll, true);

	CHECK(ndp_classify(f, n) == NDP_RS);
	/* Ethernet padding after the payload is ignored. */
	memset(f + n, 0, 20);
	CHECK(ndp_classify(f, n + 20) == NDP_RS);
	/* Truncated payload: not IPv6 we can read, refused. */
	CHECK(ndp_classify(f, n - 1) == NDP_ROGUE);
	/* From :: without options: fine; with a link-layer option: not answered. */
	n = rs_frame(f, unspecified, false);
	CHECK(ndp_classify(f, n) == NDP_RS);
	n = rs_frame(f, unspecified, true);
	CHECK(ndp_classify(f, n) == NDP_NONE);
	/* Bad checksum, hop limit, code: not answered (but not rogue either). */
	n = rs_frame(f, vm_ll, true);
	f[56] ^= 1;
	CHECK(ndp_classify(f, n) == NDP_NONE);
	n = rs_frame(f, vm_ll, true);
	f[21] = 64;
	CHECK(ndp_classify(f, n) == NDP_NONE);
	n = rs_frame(f, vm_ll, true);
	f[55] = 1;
	put16(f + 56, 0);
	put16(f + 56, l4_csum(f + 14, f + 54, 16, 58));
	CHECK(ndp_classify(f, n) == NDP_NONE);
}

static void test_rogue(void)
{
	uint8_t f[256], m[64] = { 134 }, udp[16] = { 0x02, 0x23, 0x02, 0x22, 0, 16 };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	size_t n;

	/* An RA from the VM, whatever its hop limit or checksum. */
	n = ip6_frame(f, vm_ll, all_nodes, 58, 255, m, 16);
	CHECK(ndp_classify(f, n) == NDP_ROGUE);
	n = ip6_frame(f, vm_ll, all_nodes, 58, 3, m, 16);
	CHECK(ndp_classify(f, n) == NDP_ROGUE);
	/* Hidden behind a hop-by-hop and a destination options header. */
	{
		uint8_t ext[64] = { 60, 0, 1, 4, 0, 0, 0, 0, 58, 1 };
		ext[24] = 134;
		n = ip6_frame(f, vm_ll, all_nodes, 0, 255, ext, 32);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		/* Destination options header claiming more than the packet holds. */
		ext[9] = 9;
		n = ip6_frame(f, vm_ll, all_nodes, 0, 255, ext, 32);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
	}
	/* First fragment holding an RA: rogue. Later fragment: nothing to see. */
	{
		uint8_t frag[32] = { 58, 0, 0, 1, 0, 0, 0, 1, 134 };
		n = ip6_frame(f, vm_ll, all_nodes, 44, 255, frag, 24);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		put16(frag + 2, 0x0008);
		n = ip6_frame(f, vm_ll, all_nodes, 44, 255, frag, 24);
		CHECK(ndp_classify(f, n) == NDP_NONE);
	}
	/* RFC 7112: a first fragment ends before its upper-layer header, which
	 * its second fragment would carry past the guard (a DHCPv6 advertise
	 * behind a destination options header): refused. */
	{
		uint8_t frag[64] = { 60, 0, 0, 1, 0, 0, 0, 1,      /* fragment: offset 0, M */
				     17, 0, 1, 4, 0, 0, 0, 0,      /* dstopts, then UDP */
				     0x15, 0x5e, 0x02, 0x22, 0, 16 };  /* 5470 -> 546 */
		for (size_t plen = 16; plen < 24; plen++) {
			n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, plen);
			CHECK(ndp_classify(f, n) == NDP_ROGUE);
		}
		/* With the UDP header whole, it is classified: a server message... */
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 24);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		/* ... or any other datagram, forwarded. */
		put16(frag + 16, 1000);
		put16(frag + 18, 2000);
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 24);
		CHECK(ndp_classify(f, n) == NDP_NONE);
		/* An atomic fragment (offset 0, no M) is held to the same rule. */
		frag[3] = 0;
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 20);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		/* Not a fragment: a truncated UDP header is the receiver's to drop. */
		n = ip6_frame(f, vm_ll, all_nodes, 60, 64, frag + 8, 12);
		CHECK(ndp_classify(f, n) == NDP_NONE);
		/* Its second fragment holds no header chain: nothing to see. */
		put16(frag + 2, 0x0011);
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 24);
		CHECK(ndp_classify(f, n) == NDP_NONE);
	}
	/* ICMPv6 and TCP too: their headers whole in the first fragment. */
	{
		uint8_t frag[64] = { 58, 0, 0, 1, 0, 0, 0, 2, 128 };   /* an echo request */
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 16);
		CHECK(ndp_classify(f, n) == NDP_NONE);
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 15);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		frag[0] = 6;
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 28);
		CHECK(ndp_classify(f, n) == NDP_NONE);
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 27);
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
		/* Other protocols are not looked into. */
		frag[0] = 50;
		n = ip6_frame(f, vm_ll, all_nodes, 44, 64, frag, 8);
		CHECK(ndp_classify(f, n) == NDP_NONE);
		/* Neighbour discovery is never fragmented (RFC 6980). */
		frag[0] = 58;
		for (uint8_t type = 133; type <= 137; type++) {
			frag[8] = type;
			n = ip6_frame(f, vm_ll, all_nodes, 44, 255, frag, 8 + 24);
			CHECK(ndp_classify(f, n) == NDP_ROGUE);
		}
	}
	/* A chain of nine extension headers. */
	{
		uint8_t ext[9 * 8 + 8] = { 0 };
		for (int i = 0; i < 9; i++)
			ext[i * 8] = i == 8 ? 58 : 60;
		n = ip6_frame(f, vm_ll, all_nodes, 60, 255, ext, sizeof(ext));
		CHECK(ndp_classify(f, n) == NDP_ROGUE);
	}
	/* DHCPv6 from the server port (547 -> 546): rogue; a client (546 -> 547): fine. */
	n = ip6_frame(f, vm_ll, all_nodes, 17, 64, udp, 16);
	CHECK(ndp_classify(f, n) == NDP_ROGUE);
	put16(udp, 546);
	put16(udp + 2, 547);
	n = ip6_frame(f, vm_ll, all_nodes, 17, 64, udp, 16);
	CHECK(ndp_classify(f, n) == NDP_NONE);
	/* To a client's port 546 from any other: what a client would take. */
	put16(udp, 5470);
	put16(udp + 2, 546);
	n = ip6_frame(f, vm_ll, all_nodes, 17, 64, udp, 16);
	CHECK(ndp_classify(f, n) == NDP_ROGUE);
	/* Not IPv6 at all, a runt, IPv6 with a wrong version. */
	memset(f, 0, 64);
	put16(f + 12, 0x0800);
	CHECK(ndp_classify(f, 64) == NDP_NONE);
	CHECK(ndp_classify(f, 5) == NDP_NONE);
	n = ip6_frame(f, vm_ll, all_nodes, 58, 255, m, 16);
	f[14] = 0x40;
	CHECK(ndp_classify(f, n) == NDP_ROGUE);
	/* A neighbor solicitation or an echo request: none of our business. */
	m[0] = 135;
	n = ip6_frame(f, vm_ll, all_nodes, 58, 255, m, 24);
	CHECK(ndp_classify(f, n) == NDP_NONE);
	m[0] = 128;
	n = ip6_frame(f, vm_ll, all_nodes, 58, 64, m, 16);
	CHECK(ndp_classify(f, n) == NDP_NONE);
}

/* Finds option type in the RA's options; NULL if absent or malformed. */
static const uint8_t *find_option(const uint8_t *opts, size_t len, uint8_t type)
{
	while (len >= 8 && opts[1] != 0 && (size_t)opts[1] * 8 <= len) {
		if (opts[0] == type)
			return opts;
		len -= (size_t)opts[1] * 8;
		opts += (size_t)opts[1] * 8;
	}
	return NULL;
}

static void test_build_ra(void)
{
	struct ndp_config c = config();
	uint8_t f[512];
	const uint8_t *ip, *m, *o;
	int n = ndp_build_ra(&c, f, sizeof(f));
	size_t mlen;

	CHECK(n == 14 + 40 + 16 + 8 + 8 + 32 + 24);
	if (n <= 0)
		return;
	ip = f + 14;
	m = ip + 40;
	mlen = (size_t)n - 54;
	CHECK(memcmp(f, "\x33\x33\x00\x00\x00\x01", 6) == 0);
	CHECK(memcmp(f + 6, c.router_mac, 6) == 0);
	CHECK(get16(f + 12) == 0x86dd);
	CHECK(ip[0] >> 4 == 6 && get16(ip + 4) == mlen && ip[6] == 58 && ip[7] == 255);
	CHECK(memcmp(ip + 8, c.router_ll, 16) == 0 && ip[8] == 0xfe && ip[9] == 0x80);
	CHECK(ip[24] == 0xff && ip[25] == 0x02 && ip[39] == 1);
	CHECK(l4_csum(ip, m, mlen, 58) == 0);
	CHECK(m[0] == 134 && m[1] == 0 && m[4] == 64 && m[5] == 0);
	CHECK(get16(m + 6) == 1800);
	o = find_option(m + 16, mlen - 16, 1);
	CHECK(o && o[1] == 1 && memcmp(o + 2, c.router_mac, 6) == 0);
	o = find_option(m + 16, mlen - 16, 5);
	CHECK(o && get32(o + 4) == 1500);
	o = find_option(m + 16, mlen - 16, 3);
	CHECK(o && o[1] == 4 && o[2] == 64 && o[3] == 0xc0);
	CHECK(o && get32(o + 4) == 86400 && get32(o + 8) == 14400);
	CHECK(o && memcmp(o + 16, c.prefix, 8) == 0 && get32(o + 24) == 0 && get32(o + 28) == 0);
	o = find_option(m + 16, mlen - 16, 25);
	CHECK(o && o[1] == 3 && get32(o + 4) == 1800 && memcmp(o + 8, c.dns, 16) == 0);
	/* The RA is not something a VM may send: the guard catches our own frame. */
	CHECK(ndp_classify(f, (size_t)n) == NDP_ROGUE);

	/* The largest --mtu. */
	c.mtu = 65520;
	n = ndp_build_ra(&c, f, sizeof(f));
	o = n > 0 ? find_option(f + 70, (size_t)n - 70, 5) : NULL;
	CHECK(o && get32(o + 4) == 65520);

	/* Without DNS and MTU: no such options. */
	c.has_dns = false;
	c.mtu = 0;
	n = ndp_build_ra(&c, f, sizeof(f));
	CHECK(n == 14 + 40 + 16 + 8 + 32);
	CHECK(n > 0 && !find_option(f + 70, (size_t)n - 70, 25) && !find_option(f + 70, (size_t)n - 70, 5));
	CHECK(n > 0 && l4_csum(f + 14, f + 54, (size_t)n - 54, 58) == 0);

	/* Too small a buffer, at every size. */
	for (size_t cap = 0; cap < 14 + 40 + 16 + 8 + 32; cap++)
		CHECK(ndp_build_ra(&c, f, cap) == -1);
}

static void tests(void)
{
	test_link_local();
	test_rs();
	test_rogue();
	test_build_ra();
	test_build_na();
}

T_MAIN
