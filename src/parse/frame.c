/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one parse of a frame from the VM into its layers (frame.h). Pure:
 * reads the frame through cursors only and copies what it finds into the
 * view; runs in the datapath, first on every frame the guards or offload
 * look at.
 */
#include "parse/frame.h"

#include <string.h>

#include "parse/pkt.h"

#define ETHERTYPE_QINQ 0x88a8        /* 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD1 0x9100   /* pre-standard double tagging */
#define ETHERTYPE_QINQ_OLD2 0x9200

#define IP4_HLEN_MIN 20
#define IP6_HLEN 40
#define IP4_MF 0x2000
#define IP4_OFFSET 0x1fff

/* IPv6 extension headers (RFC 8200 4, RFC 4302). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

/* The upper-layer headers a first fragment must hold whole (RFC 7112): the
 * ones the guards read (ICMPv6 with its first 4 bytes of message, UDP), and
 * TCP's. 0: not looked into. */
#define UL_MIN_ICMPV6 8
#define UL_MIN_UDP 8
#define UL_MIN_TCP 20

static bool is_tag(uint16_t ethertype)
{
	return ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ ||
	       ethertype == ETHERTYPE_QINQ_OLD1 || ethertype == ETHERTYPE_QINQ_OLD2;
}

PKT_INLINE bool is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_AH ||
	       nh == NH_DSTOPTS;
}

/*
 * The fields of the upper-layer header the readers use, each only when the
 * datagram holds all of its bytes (frame.h: FRAME_*_END). Like every header
 * here, read whole into a local with one bounds check; a header cut short
 * gives what it holds of the ports. Inlined into both IP parsers: no call
 * and no second stack canary on every frame's path (bench/framecost.sh).
 */
PKT_INLINE void parse_l4(struct cursor c, struct frame_view *v)
{
	uint8_t h[FRAME_TCP_FIELDS_END];

	switch (v->l4_proto) {
	case FRAME_UDP:
		if (!cur_bytes(&c, h, FRAME_UDP_HLEN))
			break;
		v->udp_len = hdr_be16(h + 4);
		v->l4_csum = hdr_be16(h + 6);
		v->sport = hdr_be16(h);
		v->dport = hdr_be16(h + 2);
		return;
	case FRAME_TCP:
		if (!cur_bytes(&c, h, FRAME_TCP_FIELDS_END))
			break;
		v->tcp_hlen = (uint8_t)((h[12] >> 4) * 4);
		v->tcp_flags = h[13];
		v->l4_csum = hdr_be16(h + 16);
		v->sport = hdr_be16(h);
		v->dport = hdr_be16(h + 2);
		return;
	case FRAME_ICMPV6:
		if (v->l3 == FRAME_L3_IPV6 && cur_bytes(&c, h, FRAME_ICMP6_END)) {
			v->icmp6_type = h[0];
			v->icmp6_code = h[1];
		}
		return;
	default:
		return;
	}
	/* A TCP or UDP header cut short: what it holds of the ports. */
	if (cur_be16(&c, &v->sport))
		(void)cur_be16(&c, &v->dport);
}

/* An IP length as the view takes it: stated, or for a head (frame_parse_head)
 * clipped to the held bytes when the whole frame (ip_whole bytes after
 * Ethernet) has them. For a whole frame held == ip_whole: as stated. */
PKT_INLINE size_t ip_held(size_t stated, size_t held, size_t ip_whole)
{
	return stated > held && stated <= ip_whole ? held : stated;
}

/* What Linux's ip_rcv_core checks of the header (but the checksum, which
 * offload may leave to the helper), then where the payload is. */
PKT_INLINE void parse_ip4(struct cursor c, size_t ip_whole, struct frame_view *v)
{
	struct cursor ip = c, dgram;
	uint8_t h[IP4_HLEN_MIN];
	size_t hlen, tot;

	if (!cur_bytes(&c, h, sizeof(h)))
		return;
	hlen = (size_t)(h[0] & 0xf) * 4;
	tot = ip_held(hdr_be16(h + 2), ip.rem, ip_whole);
	/* Ethernet may pad short frames: the total length is the truth. The
	 * header must fit in it, the payload follows. */
	if (h[0] >> 4 != 4 || hlen < IP4_HLEN_MIN || !cur_sub(&ip, tot, &dgram) ||
	    !cur_skip(&dgram, hlen))
		return;
	v->l3_ok = true;
	v->l3_len = (uint32_t)tot;
	v->l3_stated = hdr_be16(h + 2);
	v->ip4_hlen = (uint8_t)hlen;
	v->ip4_frag = hdr_be16(h + 6);
	v->ip4_src = hdr_be32(h + 12);
	v->frag_first = (v->ip4_frag & (IP4_MF | IP4_OFFSET)) == IP4_MF;
	v->frag_later = (v->ip4_frag & IP4_OFFSET) != 0;
	v->l4_proto = h[9];
	v->l4_off = (uint32_t)(v->l3_off + hlen);
	v->l4_len = (uint16_t)dgram.rem;
	v->has_l4 = !v->frag_later;
	if (v->has_l4)
		parse_l4(dgram, v);
}

/* One extension header of type nh at the cursor: its next header in
 * *next, a fragment header's offset and flags in *frag; false if it runs
 * past the payload. */
PKT_INLINE bool ext_header(struct cursor *c, uint8_t nh, uint8_t *next, uint16_t *frag)
{
	uint8_t h[4];

	if (nh == NH_FRAGMENT) {
		if (!cur_bytes(c, h, 4) || !cur_skip(c, 4))
			return false;
		*next = h[0];
		*frag = hdr_be16(h + 2);
		return true;
	}
	if (!cur_bytes(c, h, 2))
		return false;
	*next = h[0];
	if (nh == NH_AH)   /* in 4-byte units, less 2 */
		return cur_skip(c, (size_t)h[1] * 4 + 6);
	return cur_skip(c, (size_t)h[1] * 8 + 6);   /* in 8-byte units, less 1 */
}

/*
 * The extension headers, once, on the cursor over the payload: up to the
 * upper-layer header or a later fragment's fragment header, at most
 * FRAME_EXT_MAX of them. The guards take a chain of FRAME_EXT_MAX as too
 * long (FRAME_CHAIN_LONG) where offload, which skips options headers only,
 * still takes the header after 8 of them: the view keeps both (has_l4).
 * The cursor ends at l4_proto's header (for a cut chain, at the header cut
 * short).
 */
PKT_INLINE void walk_ext(struct cursor *c, uint8_t nh, struct frame_view *v)
{
	v->ext_opts_only = true;
	while (is_ext(nh)) {
		struct cursor at = *c;
		uint16_t frag = 0;
		uint8_t next;

		if (v->ext_count == FRAME_EXT_MAX) {
			v->chain = FRAME_CHAIN_LONG;
			break;
		}
		if (nh != NH_HOPOPTS && nh != NH_DSTOPTS)
			v->ext_opts_only = false;
		if (!ext_header(c, nh, &next, &frag)) {
			*c = at;
			v->chain = FRAME_CHAIN_CUT;
			break;
		}
		v->ext_count++;
		if (nh == NH_FRAGMENT && (frag & 0xfff8)) {
			v->frag_later = true;
			nh = next;
			break;
		}
		v->frag_first |= nh == NH_FRAGMENT;
		nh = next;
	}
	if (v->chain == FRAME_CHAIN_OK && v->ext_count == FRAME_EXT_MAX && !v->frag_later)
		v->chain = FRAME_CHAIN_LONG;
	v->l4_proto = nh;
}

/* RFC 7112: a first fragment that ends before the end of the upper-layer
 * header it starts (after an extension header, or inside the UDP header)
 * would carry what the guards look for (a router advertisement, a DHCPv6
 * server's port) into a second fragment that no one can classify. Of a
 * first fragment: does it? */
PKT_INLINE bool ul_header_cut(const struct frame_view *v)
{
	size_t need = v->l4_proto == FRAME_ICMPV6 ? UL_MIN_ICMPV6 : v->l4_proto == FRAME_UDP ?
		      UL_MIN_UDP : v->l4_proto == FRAME_TCP ? UL_MIN_TCP : 0;

	return v->l4_len < need;
}

/* The fixed header (version, payload length within the frame), then the
 * extension headers. */
PKT_INLINE void parse_ip6(struct cursor c, size_t ip_whole, struct frame_view *v)
{
	struct cursor payload;
	uint8_t h[8];   /* up to the addresses, which the readers take themselves */
	size_t plen;

	/* Ethernet may pad short frames: the payload length is the truth. */
	if (!cur_bytes(&c, h, sizeof(h)) || h[0] >> 4 != 6 || !cur_skip(&c, IP6_HLEN - sizeof(h)))
		return;
	plen = ip_held(hdr_be16(h + 4), c.rem, ip_whole < IP6_HLEN ? 0 : ip_whole - IP6_HLEN);
	if (!cur_sub(&c, plen, &payload))
		return;
	v->l3_ok = true;
	v->l3_len = IP6_HLEN + (uint32_t)payload.rem;
	v->l3_stated = IP6_HLEN + (uint32_t)hdr_be16(h + 4);
	walk_ext(&payload, h[6], v);
	v->l4_off = (uint32_t)(v->l3_off + v->l3_len - payload.rem);
	v->l4_len = (uint16_t)payload.rem;
	if (v->frag_first && v->chain == FRAME_CHAIN_OK && ul_header_cut(v))
		v->chain = FRAME_CHAIN_PART;
	v->has_l4 = v->chain != FRAME_CHAIN_CUT && !v->frag_later && !is_ext(v->l4_proto);
	if (v->has_l4)
		parse_l4(payload, v);
}

/* A frame of whole bytes, of which frame holds len (frame.h). Inlined,
 * with the IP parsers, into both entry points: frame_parse, on every
 * frame's path, stays one function with one stack canary. */
PKT_INLINE bool parse(const uint8_t *frame, size_t len, size_t whole, struct frame_view *v)
{
	struct cursor c = cur_init(frame, len);
	uint8_t eth[PKT_ETH_HLEN];

	memset(v, 0, sizeof(*v));   /* padding too: a view compares whole */
	v->len = len;
	if (!cur_bytes(&c, eth, sizeof(eth)))
		return false;
	memcpy(v->src, eth + 6, 6);
	v->ethertype = hdr_be16(eth + 12);
	v->l3_off = PKT_ETH_HLEN;
	if (v->ethertype == ETHERTYPE_IPV4) {
		v->l3 = FRAME_L3_IPV4;
		parse_ip4(c, whole - PKT_ETH_HLEN, v);
	} else if (v->ethertype == ETHERTYPE_IPV6) {
		v->l3 = FRAME_L3_IPV6;
		parse_ip6(c, whole - PKT_ETH_HLEN, v);
	} else if (v->ethertype == ETHERTYPE_ARP) {
		v->l3 = FRAME_L3_ARP;
	} else {
		v->tagged = is_tag(v->ethertype);
	}
	return true;
}

bool frame_parse(const uint8_t *frame, size_t len, struct frame_view *v)
{
	return parse(frame, len, len, v);
}

bool frame_parse_head(const uint8_t *head, size_t head_len, size_t len, struct frame_view *v)
{
	return parse(head, head_len, len < head_len ? head_len : len, v);
}
