/* SPDX-License-Identifier: Apache-2.0 */
/* The one parse of a frame from the VM (frame.h): layers, lengths, the IPv6 chain. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse/frame.h"
#include "parse/pkt.h"
#include "t.h"

static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static uint8_t f[2048];

/* Every offset and length the view gives lies inside the frame. */
static bool inside(const struct frame_view *v)
{
	if (v->l3_off > v->len || (v->l3_ok && v->l3_off + v->l3_len > v->len))
		return false;
	return !v->l3_ok || (v->l4_off >= v->l3_off && v->l4_off + v->l4_len <= v->l3_off + v->l3_len);
}

static struct frame_view parse(size_t len)
{
	struct frame_view v;

	CHECK(frame_parse(f, len, &v));
	CHECK(inside(&v) && v.len == len);
	return v;
}

static size_t eth(uint16_t type)
{
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, vm_mac, 6);
	put_be16(f + 12, type);
	return 14;
}

/* IPv4 with hlen bytes of header and l4 bytes of payload (all zero). */
static size_t ip4(uint8_t proto, size_t hlen, size_t l4)
{
	uint8_t *ip = f + eth(ETHERTYPE_IPV4);

	ip[0] = (uint8_t)(0x40 | hlen / 4);
	put_be16(ip + 2, (uint16_t)(hlen + l4));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, "\xc0\xa8\x69\x07\xc0\xa8\x69\x01", 8);
	return 14 + hlen + l4;
}

/* IPv6 with nh and plen bytes of payload (zero), from 14 + 40 on. */
static size_t ip6(uint8_t nh, size_t plen)
{
	uint8_t *ip = f + eth(ETHERTYPE_IPV6);

	ip[0] = 0x60;
	put_be16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = 255;
	return 54 + plen;
}

/* An options header (hop-by-hop, destination, routing: 8-byte units) at off. */
static size_t ext8(size_t off, uint8_t next, size_t bytes)
{
	f[off] = next;
	f[off + 1] = (uint8_t)(bytes / 8 - 1);
	return off + bytes;
}

static size_t frag6(size_t off, uint8_t next, uint16_t offset_flags)
{
	f[off] = next;
	put_be16(f + off + 2, offset_flags);
	return off + 8;
}

static void test_ethernet(void)
{
	struct frame_view v;
	static const uint16_t tags[] = { 0x8100, 0x88a8, 0x9100, 0x9200 };

	/* Shorter than an Ethernet header: nothing. */
	eth(ETHERTYPE_IPV4);
	for (size_t n = 0; n < 14; n++) {
		CHECK(!frame_parse(f, n, &v));
		CHECK(v.l3 == FRAME_L3_OTHER && v.l3_off == 0 && !v.l3_ok && !v.has_l4);
	}
	v = parse(14);
	CHECK(memcmp(v.src, vm_mac, 6) == 0 && v.ethertype == ETHERTYPE_IPV4 && !v.tagged);
	CHECK(v.l3 == FRAME_L3_IPV4 && v.l3_off == 14 && !v.l3_ok);
	/* A tag is not looked through. */
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		eth(tags[i]);
		put_be16(f + 16, ETHERTYPE_IPV4);
		v = parse(60);
		CHECK(v.tagged && v.ethertype == tags[i] && v.l3 == FRAME_L3_OTHER && !v.l3_ok);
	}
	eth(ETHERTYPE_ARP);
	v = parse(42);
	CHECK(v.l3 == FRAME_L3_ARP && v.l3_off == 14 && !v.tagged && !v.has_l4);
	eth(0x88cc);
	v = parse(60);
	CHECK(v.l3 == FRAME_L3_OTHER && !v.tagged);
}

static void test_ipv4(void)
{
	struct frame_view v;
	size_t n = ip4(FRAME_UDP, 20, 8 + 300);
	uint8_t *u = f + 34;

	put_be16(u, 68);
	put_be16(u + 2, 67);
	put_be16(u + 4, 308);
	put_be16(u + 6, 0xabcd);
	/* Ethernet padding after the datagram is not part of it. */
	v = parse(n + 20);
	CHECK(v.l3_ok && v.l3_len == 328 && v.ip4_hlen == 20 && v.ip4_src == 0xc0a86907u);
	CHECK(v.has_l4 && v.l4_proto == FRAME_UDP && v.l4_off == 34 && v.l4_len == 308);
	CHECK(v.sport == 68 && v.dport == 67 && v.udp_len == 308 && v.l4_csum == 0xabcd);
	CHECK(!v.frag_first && !v.frag_later);
	/* Options: the payload starts after them. */
	n = ip4(FRAME_TCP, 24, 40);
	f[38 + 12] = 0x50;
	f[38 + 13] = 0x18;
	put_be16(f + 38 + 16, 0x1234);
	v = parse(n);
	CHECK(v.l3_ok && v.ip4_hlen == 24 && v.l4_off == 38 && v.l4_len == 40);
	CHECK(v.tcp_hlen == 20 && v.tcp_flags == 0x18 && v.l4_csum == 0x1234);
	/* A TCP header cut short: the ports, but nothing past what is there. */
	n = ip4(FRAME_TCP, 20, 17);
	put_be16(f + 34, 1000);
	put_be16(f + 36, 2000);
	f[34 + 12] = 0x50;
	v = parse(n);
	CHECK(v.has_l4 && v.sport == 1000 && v.dport == 2000 && v.tcp_hlen == 0 && v.l4_len == 17);
	/* UDP: a port only when the datagram holds it. */
	n = ip4(FRAME_UDP, 20, 2);
	put_be16(f + 34, 67);
	v = parse(n + 10);
	CHECK(v.l4_len == 2 && v.sport == 67 && v.dport == 0 && v.udp_len == 0);
	n = ip4(FRAME_UDP, 20, 7);
	put_be16(f + 36, 68);
	put_be16(f + 38, 7);
	v = parse(n);
	CHECK(v.l4_len == 7 && v.dport == 68 && v.udp_len == 0);
}

static void test_ipv4_malformed(void)
{
	struct frame_view v;
	size_t n = ip4(FRAME_UDP, 20, 8);

	f[14] = 0x65;                 /* version 6 */
	v = parse(n);
	CHECK(v.l3 == FRAME_L3_IPV4 && !v.l3_ok && !v.has_l4 && v.l4_len == 0);
	n = ip4(FRAME_UDP, 20, 8);
	f[14] = 0x44;                 /* IHL 4 */
	CHECK(!parse(n).l3_ok);
	n = ip4(FRAME_UDP, 20, 8);
	f[14] = 0x4f;                 /* IHL 15: 60 bytes, more than the total */
	CHECK(!parse(n).l3_ok);
	n = ip4(FRAME_UDP, 20, 8);
	CHECK(!parse(n - 1).l3_ok);   /* the total length past the frame */
	CHECK(parse(n).l3_ok);
	CHECK(!parse(14 + 19).l3_ok); /* not even a header */
	n = ip4(FRAME_UDP, 20, 8);
	put_be16(f + 16, 19);         /* a total shorter than the header */
	CHECK(!parse(n).l3_ok);
}

static void test_ipv4_fragments(void)
{
	struct frame_view v;
	size_t n = ip4(FRAME_UDP, 20, 16);

	put_be16(f + 34, 68);
	put_be16(f + 20, 0x2000);     /* MF, offset 0: the first */
	v = parse(n);
	CHECK(v.frag_first && !v.frag_later && v.has_l4 && v.sport == 68);
	put_be16(f + 20, 0x2001);     /* MF, offset 8: no header here */
	v = parse(n);
	CHECK(!v.frag_first && v.frag_later && !v.has_l4 && v.sport == 0);
	put_be16(f + 20, 0x0001);     /* the last */
	v = parse(n);
	CHECK(!v.frag_first && v.frag_later && !v.has_l4);
	put_be16(f + 20, 0x4000);     /* DF alone: no fragment */
	v = parse(n);
	CHECK(!v.frag_first && !v.frag_later && v.has_l4 && v.ip4_frag == 0x4000);
}

static void test_ipv6(void)
{
	struct frame_view v;
	size_t n = ip6(FRAME_ICMPV6, 24);

	f[54] = 135;
	f[55] = 0;
	v = parse(n + 6);
	CHECK(v.l3 == FRAME_L3_IPV6 && v.l3_ok && v.l3_len == 64 && v.chain == FRAME_CHAIN_OK);
	CHECK(v.has_l4 && v.l4_off == 54 && v.l4_len == 24 && v.icmp6_type == 135);
	CHECK(v.ext_count == 0 && v.ext_opts_only && !v.frag_first && !v.frag_later);
	/* ICMPv6's type and code only for IPv6. */
	n = ip4(FRAME_ICMPV6, 20, 8);
	f[34] = 135;
	CHECK(parse(n).icmp6_type == 0);
	/* Wrong version, the payload past the frame, a header cut short. */
	n = ip6(FRAME_UDP, 8);
	f[14] = 0x40;
	CHECK(!parse(n).l3_ok);
	n = ip6(FRAME_UDP, 8);
	CHECK(!parse(n - 1).l3_ok && parse(n).l3_ok);
	CHECK(!parse(14 + 39).l3_ok);
	/* UDP after hop-by-hop and destination options. */
	n = ip6(0, 16 + 8 + 12);
	ext8(54, 60, 16);
	ext8(70, FRAME_UDP, 8);
	put_be16(f + 78, 547);
	put_be16(f + 80, 546);
	put_be16(f + 82, 12);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_OK && v.ext_count == 2 && v.ext_opts_only && v.has_l4);
	CHECK(v.l4_proto == FRAME_UDP && v.l4_off == 78 && v.l4_len == 12);
	CHECK(v.sport == 547 && v.dport == 546 && v.udp_len == 12);
	/* A routing header and an authentication header (4-byte units). */
	n = ip6(43, 8 + 16 + 20);
	ext8(54, 51, 8);
	f[62] = FRAME_TCP;
	f[63] = 2;                    /* (2 + 2) * 4 = 16 bytes */
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_OK && v.ext_count == 2 && !v.ext_opts_only);
	CHECK(v.has_l4 && v.l4_proto == FRAME_TCP && v.l4_off == 78 && v.l4_len == 20);
}

static void test_ipv6_chain(void)
{
	struct frame_view v;
	size_t n, off;

	/* An options header past the payload: cut, at that header. */
	n = ip6(0, 16);
	ext8(54, 60, 8);
	ext8(62, FRAME_UDP, 16);
	v = parse(n + 8);             /* the frame holds it, the payload does not */
	CHECK(v.chain == FRAME_CHAIN_CUT && v.ext_opts_only && !v.has_l4);
	CHECK(v.ext_count == 1 && v.l4_proto == 60 && v.l4_off == 62 && v.l4_len == 8);
	/* A routing header cut short: not options alone. */
	n = ip6(0, 12);
	ext8(54, 43, 8);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_CUT && !v.ext_opts_only && v.l4_proto == 43);
	/* Seven options headers then TCP: fine. Eight: too long for the
	 * guards, but the TCP header is there (offload's). Nine: too long. */
	for (int k = 7; k <= 9; k++) {
		n = ip6(60, (size_t)k * 8 + 20);
		off = 54;
		for (int i = 0; i < k; i++)
			off = ext8(off, i == k - 1 ? FRAME_TCP : 60, 8);
		f[off + 12] = 0x50;
		v = parse(n);
		CHECK(v.ext_opts_only && v.ext_count == (k < 9 ? k : 8));
		CHECK(v.chain == (k == 7 ? FRAME_CHAIN_OK : FRAME_CHAIN_LONG));
		CHECK(v.has_l4 == (k < 9) && v.l4_proto == (k < 9 ? FRAME_TCP : 60));
		CHECK(k == 9 || (v.l4_off == off && v.tcp_hlen == 20));
	}
	/* A later fragment as the eighth header ends the walk in time. */
	n = ip6(60, 8 * 8 + 8);
	off = 54;
	for (int i = 0; i < 7; i++)
		off = ext8(off, i == 6 ? 44 : 60, 8);
	frag6(off, FRAME_UDP, 0x0008);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_OK && v.frag_later && !v.has_l4 && v.ext_count == 8);
	CHECK(!v.ext_opts_only && v.l4_proto == FRAME_UDP && v.l4_off == off + 8);
}

static void test_ipv6_fragments(void)
{
	struct frame_view v;
	size_t n;

	/* First fragment with the whole UDP header: fine; cut inside it: RFC 7112. */
	n = ip6(44, 8 + 8);
	frag6(54, FRAME_UDP, 0x0001);
	put_be16(f + 62, 5000);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_OK && v.frag_first && !v.frag_later && v.has_l4);
	CHECK(v.ext_count == 1 && !v.ext_opts_only && v.sport == 5000);
	n = ip6(44, 8 + 7);
	frag6(54, FRAME_UDP, 0x0001);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_PART && v.frag_first);
	/* An atomic fragment (offset 0, no M) is a first fragment too. */
	n = ip6(44, 8 + 19);
	frag6(54, FRAME_TCP, 0);
	CHECK(parse(n).chain == FRAME_CHAIN_PART);
	n = ip6(44, 8 + 20);
	frag6(54, FRAME_TCP, 0);
	CHECK(parse(n).chain == FRAME_CHAIN_OK);
	n = ip6(44, 8 + 7);
	frag6(54, FRAME_ICMPV6, 0);
	CHECK(parse(n).chain == FRAME_CHAIN_PART);
	/* Other protocols are not looked into. */
	n = ip6(44, 8);
	frag6(54, 50, 0x0001);
	CHECK(parse(n).chain == FRAME_CHAIN_OK);
	/* A later fragment: no upper-layer header, whatever follows. */
	n = ip6(44, 8 + 2);
	frag6(54, FRAME_UDP, 0x0011);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_OK && v.frag_later && !v.frag_first && !v.has_l4);
	CHECK(v.l4_proto == FRAME_UDP && v.l4_off == 62 && v.l4_len == 2 && v.sport == 0);
	/* A first fragment header, then a later one: what the later one
	 * leaves must still hold the header RFC 7112 asks for. */
	n = ip6(44, 16 + 4);
	frag6(54, 44, 0x0001);
	frag6(62, FRAME_UDP, 0x0009);
	v = parse(n);
	CHECK(v.frag_first && v.frag_later && v.chain == FRAME_CHAIN_PART && !v.has_l4);
	/* A fragment header cut short. */
	n = ip6(44, 7);
	v = parse(n);
	CHECK(v.chain == FRAME_CHAIN_CUT && !v.ext_opts_only && v.l4_off == 54);
}

/* vhost-user: a long frame's head (frame_parse_head), its IP length
 * clipped to the head, the stated one kept; a whole one as frame_parse. */
static void test_head(void)
{
	struct frame_view v, w;
	size_t len = ip4(FRAME_UDP, 20, 8980);   /* 9014 bytes: only the head is in f */

	put_be16(f + 34 + 4, 8980);   /* UDP length: the whole datagram */
	CHECK(frame_parse_head(f, 256, len, &v) && inside(&v) && v.len == 256);
	CHECK(v.l3_ok && v.l3_len == 242 && v.l3_stated == 9000 && v.l4_len == 222);
	CHECK(v.has_l4 && v.udp_len == 8980);
	/* An IP length beyond the whole frame is not clipped: not l3_ok. */
	CHECK(frame_parse_head(f, 256, len - 1, &v) && !v.l3_ok && inside(&v));
	/* Held whole: the same view as frame_parse. */
	len = ip4(FRAME_TCP, 20, 100);
	CHECK(frame_parse_head(f, len, len, &v) && frame_parse(f, len, &w));
	CHECK(memcmp(&v, &w, sizeof(v)) == 0 && v.l3_stated == v.l3_len);
	/* IPv6: the payload length clipped, the chain walked in the head. */
	len = ip6(FRAME_TCP, 60000);
	CHECK(frame_parse_head(f, 128, len, &v) && inside(&v));
	CHECK(v.l3_ok && v.l3_len == 114 && v.l3_stated == 60040 && v.l4_off == 54);
	CHECK(frame_parse_head(f, 128, len - 1, &v) && !v.l3_ok);
	CHECK(!frame_parse_head(f, 13, len, &v));
}

static void tests(void)
{
	test_head();
	test_ethernet();
	test_ipv4();
	test_ipv4_malformed();
	test_ipv4_fragments();
	test_ipv6();
	test_ipv6_chain();
	test_ipv6_fragments();
}

T_MAIN
