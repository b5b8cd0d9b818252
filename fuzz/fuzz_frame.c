/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for frame_parse(), the one parse of every frame from the
 * VM that the guards, NDP, DHCP and offload read: the input is the frame.
 * Checks the view's invariants, not just that nothing reads past the frame:
 * every offset and length lies inside the frame; each field is what the
 * frame's bytes say where the view says it is (and 0 where the datagram
 * ends before it); the IPv6 chain the view walked adds up to the upper
 * layer's offset; and Ethernet padding changes nothing of a whole datagram.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/frame.h"
#include "parse/pkt.h"

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void check(bool ok) { if (!ok) abort(); }

/* Offsets and lengths inside the frame; the datagram's end is the L4 end. */
static void check_bounds(const struct frame_view *v, size_t len)
{
	check(v->len == len && v->l3_off <= len);
	if (!v->l3_ok) {
		check(v->l3_len == 0 && v->l4_len == 0 && v->l4_off == 0 && !v->has_l4);
		return;
	}
	check(v->l3 == FRAME_L3_IPV4 || v->l3 == FRAME_L3_IPV6);
	check(v->l3_off == PKT_ETH_HLEN && v->l3_off + v->l3_len <= len);
	check(v->l4_off >= v->l3_off + (v->l3 == FRAME_L3_IPV4 ? 20 : 40));
	check(v->l4_off + v->l4_len == v->l3_off + v->l3_len);
	check(!v->has_l4 || !v->frag_later);
}

/* The L4 fields: the frame's bytes where the datagram holds them, else 0. */
static uint16_t field16(const uint8_t *f, const struct frame_view *v, size_t at, size_t end)
{
	return v->l4_len >= end ? be16(f + v->l4_off + at) : 0;
}

static void check_l4(const uint8_t *f, const struct frame_view *v)
{
	bool tcp = v->has_l4 && v->l4_proto == FRAME_TCP, udp = v->has_l4 && v->l4_proto == FRAME_UDP;
	bool icmp6 = v->has_l4 && v->l4_proto == FRAME_ICMPV6 && v->l3 == FRAME_L3_IPV6;
	size_t at = v->l4_off;

	check(v->sport == (tcp || udp ? field16(f, v, 0, FRAME_SPORT_END) : 0));
	check(v->dport == (tcp || udp ? field16(f, v, 2, FRAME_DPORT_END) : 0));
	check(v->udp_len == (udp ? field16(f, v, 4, FRAME_UDP_HLEN) : 0));
	check(v->l4_csum == (udp ? field16(f, v, 6, FRAME_UDP_HLEN) :
			     tcp ? field16(f, v, 16, FRAME_TCP_FIELDS_END) : 0));
	check(v->tcp_hlen == (tcp && v->l4_len >= FRAME_TCP_FIELDS_END ? (f[at + 12] >> 4) * 4 : 0));
	check(v->tcp_flags == (tcp && v->l4_len >= FRAME_TCP_FIELDS_END ? f[at + 13] : 0));
	check(v->icmp6_type == (icmp6 && v->l4_len >= FRAME_ICMP6_END ? f[at] : 0));
	check(v->icmp6_code == (icmp6 && v->l4_len >= FRAME_ICMP6_END ? f[at + 1] : 0));
}

static void check_ip4(const uint8_t *f, const struct frame_view *v)
{
	const uint8_t *ip = f + PKT_ETH_HLEN;

	check(ip[0] >> 4 == 4 && v->ip4_hlen == (ip[0] & 0xf) * 4 && v->ip4_hlen >= 20);
	check(v->l3_len == be16(ip + 2) && v->ip4_hlen <= v->l3_len);
	check(v->ip4_frag == be16(ip + 6) && v->l4_proto == ip[9]);
	check(v->ip4_src == ((uint32_t)be16(ip + 12) << 16 | be16(ip + 14)));
	check(v->l4_off == PKT_ETH_HLEN + v->ip4_hlen && v->ext_count == 0);
	check(v->frag_later == ((v->ip4_frag & 0x1fff) != 0));
	check(v->frag_first == ((v->ip4_frag & 0x3fff) == 0x2000));
}

/* The chain: ext_count headers, each as long as its own bytes say. */
static void check_ip6(const uint8_t *f, const struct frame_view *v)
{
	const uint8_t *ip = f + PKT_ETH_HLEN;
	size_t at = PKT_ETH_HLEN + 40;
	uint8_t nh = ip[6];

	check(ip[0] >> 4 == 6 && v->l3_len == 40 + (size_t)be16(ip + 4));
	check(v->ext_count <= FRAME_EXT_MAX);
	check(v->chain != FRAME_CHAIN_LONG || v->ext_count == FRAME_EXT_MAX);
	check(v->chain != FRAME_CHAIN_PART || v->frag_first);
	for (unsigned i = 0; i < v->ext_count; i++) {
		check(nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60);
		check(at + 8 <= v->l4_off);
		size_t size = nh == 44 ? 8 : nh == 51 ? ((size_t)f[at + 1] + 2) * 4
			    : ((size_t)f[at + 1] + 1) * 8;
		nh = f[at];
		at += size;
	}
	check(at == v->l4_off && nh == v->l4_proto);
}

/* A whole datagram parses the same with more padding after it. */
static void check_padding(const uint8_t *f, const struct frame_view *v)
{
	size_t n = v->len + 7;
	uint8_t *padded = malloc(n);
	struct frame_view w;

	if (!padded)
		abort();
	memcpy(padded, f, v->len);
	memset(padded + v->len, 0xa5, 7);
	check(frame_parse(padded, n, &w));
	w.len = v->len;
	check(memcmp(&w, v, sizeof(w)) == 0);
	free(padded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the frame. */
	uint8_t *frame = malloc(size ? size : 1);
	struct frame_view v;
	bool ok;

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	ok = frame_parse(frame, size, &v);
	check(ok == (size >= PKT_ETH_HLEN));
	check_bounds(&v, size);
	if (ok) {
		check(memcmp(v.src, frame + 6, 6) == 0 && v.ethertype == be16(frame + 12));
		check_l4(frame, &v);
		if (v.l3_ok && v.l3 == FRAME_L3_IPV4)
			check_ip4(frame, &v);
		if (v.l3_ok && v.l3 == FRAME_L3_IPV6)
			check_ip6(frame, &v);
		if (v.l3_ok)
			check_padding(frame, &v);
	}
	free(frame);
	return 0;
}
