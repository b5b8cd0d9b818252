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

static bool is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_AH ||
	       nh == NH_DSTOPTS;
}

/* The fields of the upper-layer header the readers use, each only when the
 * datagram holds all of its bytes (frame.h: FRAME_*_END). */
static void parse_l4(struct cursor c, struct frame_view *v)
{
	uint16_t len, csum;
	uint8_t doff, flags, type, code;

	if (v->l4_proto == FRAME_TCP || v->l4_proto == FRAME_UDP) {
		if (!cur_be16(&c, &v->sport) || !cur_be16(&c, &v->dport))
			return;
		if (v->l4_proto == FRAME_UDP && cur_be16(&c, &len) && cur_be16(&c, &csum)) {
			v->udp_len = len;
			v->l4_csum = csum;
		} else if (v->l4_proto == FRAME_TCP && cur_skip(&c, 8) && cur_u8(&c, &doff) &&
			   cur_u8(&c, &flags) && cur_skip(&c, 2) && cur_be16(&c, &csum)) {
			v->tcp_hlen = (uint8_t)((doff >> 4) * 4);
			v->tcp_flags = flags;
			v->l4_csum = csum;
		}
	} else if (v->l4_proto == FRAME_ICMPV6 && v->l3 == FRAME_L3_IPV6 &&
		   cur_u8(&c, &type) && cur_u8(&c, &code)) {
		v->icmp6_type = type;
		v->icmp6_code = code;
	}
}

/* What Linux's ip_rcv_core checks of the header (but the checksum, which
 * offload may leave to the helper), then where the payload is. */
static void parse_ip4(struct cursor c, struct frame_view *v)
{
	size_t avail = c.rem, hlen;
	struct cursor l4;
	uint8_t vihl, proto;
	uint16_t total, frag;
	uint32_t src;

	if (!cur_u8(&c, &vihl) || !cur_skip(&c, 1) || !cur_be16(&c, &total) || !cur_skip(&c, 2) ||
	    !cur_be16(&c, &frag) || !cur_skip(&c, 1) || !cur_u8(&c, &proto) || !cur_skip(&c, 2) ||
	    !cur_be32(&c, &src) || !cur_skip(&c, 4))
		return;
	hlen = (size_t)(vihl & 0xf) * 4;
	/* Ethernet may pad short frames: the total length is the truth. */
	if (vihl >> 4 != 4 || hlen < IP4_HLEN_MIN || total < hlen || total > avail ||
	    !cur_skip(&c, hlen - IP4_HLEN_MIN) || !cur_sub(&c, total - hlen, &l4))
		return;
	v->l3_ok = true;
	v->l3_len = total;
	v->ip4_hlen = (uint8_t)hlen;
	v->ip4_frag = frag;
	v->ip4_src = src;
	v->frag_first = (frag & (IP4_MF | IP4_OFFSET)) == IP4_MF;
	v->frag_later = (frag & IP4_OFFSET) != 0;
	v->l4_proto = proto;
	v->l4_off = v->l3_off + hlen;
	v->l4_len = l4.rem;
	v->has_l4 = !v->frag_later;
	if (v->has_l4)
		parse_l4(l4, v);
}

/* One extension header of type nh at the cursor: its next header in
 * *next, a fragment header's offset and flags in *frag; false if it runs
 * past the payload. */
static bool ext_header(struct cursor *c, uint8_t nh, uint8_t *next, uint16_t *frag)
{
	uint8_t units;

	if (nh == NH_FRAGMENT)
		return cur_u8(c, next) && cur_skip(c, 1) && cur_be16(c, frag) && cur_skip(c, 4);
	if (!cur_u8(c, next) || !cur_u8(c, &units))
		return false;
	if (nh == NH_AH)   /* in 4-byte units, less 2 */
		return cur_skip(c, (size_t)units * 4 + 6);
	return cur_skip(c, (size_t)units * 8 + 6);   /* in 8-byte units, less 1 */
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
static void walk_ext(struct cursor *c, uint8_t nh, struct frame_view *v)
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
 * server's port) into a second fragment that no one can classify. */
static bool ul_header_cut(const struct frame_view *v)
{
	size_t need = v->l4_proto == FRAME_ICMPV6 ? UL_MIN_ICMPV6 : v->l4_proto == FRAME_UDP ?
		      UL_MIN_UDP : v->l4_proto == FRAME_TCP ? UL_MIN_TCP : 0;

	return v->frag_first && v->l4_len < need;
}

/* The fixed header (version, payload length within the frame), then the
 * extension headers. */
static void parse_ip6(struct cursor c, struct frame_view *v)
{
	struct cursor payload;
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t nh;

	/* Ethernet may pad short frames: the payload length is the truth. */
	if (!cur_be32(&c, &vtcfl) || !cur_be16(&c, &plen) || !cur_u8(&c, &nh) ||
	    !cur_skip(&c, IP6_HLEN - 7) || vtcfl >> 28 != 6 || !cur_sub(&c, plen, &payload))
		return;
	v->l3_ok = true;
	v->l3_len = IP6_HLEN + (size_t)plen;
	walk_ext(&payload, nh, v);
	v->l4_off = v->l3_off + v->l3_len - payload.rem;
	v->l4_len = payload.rem;
	if (v->chain == FRAME_CHAIN_OK && ul_header_cut(v))
		v->chain = FRAME_CHAIN_PART;
	v->has_l4 = v->chain != FRAME_CHAIN_CUT && !v->frag_later && !is_ext(v->l4_proto);
	if (v->has_l4)
		parse_l4(payload, v);
}

bool frame_parse(const uint8_t *frame, size_t len, struct frame_view *v)
{
	struct cursor c = cur_init(frame, len);

	memset(v, 0, sizeof(*v));   /* padding too: a view compares whole */
	v->len = len;
	if (!cur_skip(&c, 6) || !cur_bytes(&c, v->src, 6) || !cur_be16(&c, &v->ethertype))
		return false;
	v->l3_off = PKT_ETH_HLEN;
	v->tagged = is_tag(v->ethertype);
	switch (v->ethertype) {
	case ETHERTYPE_ARP:
		v->l3 = FRAME_L3_ARP;
		break;
	case ETHERTYPE_IPV4:
		v->l3 = FRAME_L3_IPV4;
		parse_ip4(c, v);
		break;
	case ETHERTYPE_IPV6:
		v->l3 = FRAME_L3_IPV6;
		parse_ip6(c, v);
		break;
	default:
		break;
	}
	return true;
}
