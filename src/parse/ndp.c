/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Router solicitations in, router advertisements out. Every byte of a frame
 * from the VM is read through cursors and copied into locals first.
 */
#include <string.h>

#include "parse/ndp.h"
#include "parse/frame.h"
#include "parse/pkt.h"

#define IP6_HLEN 40
#define ICMP6_HLEN 8
#define RA_HLEN 16                /* ICMPv6 header + hop limit, flags, lifetimes */

#define ICMP6_RS 133
#define ICMP6_RA 134
#define ICMP6_NS 135
#define ICMP6_NA 136
#define ICMP6_REDIRECT 137
#define DHCP6_SERVER_PORT 547
#define DHCP6_CLIENT_PORT 546
#define ND_HOP_LIMIT 255

#define OPT_SLLA 1
#define OPT_TLLA 2
#define OPT_PREFIX 3
#define OPT_MTU 5
#define OPT_RDNSS 25
#define PREFIX_ON_LINK 0x80
#define PREFIX_AUTONOMOUS 0x40
#define RA_CUR_HOP_LIMIT 64

/* ICMPv6 checksum over the pseudo header and the message. */
static uint16_t icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			   size_t len)
{
	uint8_t tail[8] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			    (uint8_t)len, 0, 0, 0, FRAME_ICMPV6 };
	uint32_t sum = csum_add(0, src, 16);

	sum = csum_add(sum, dst, 16);
	sum = csum_add(sum, tail, sizeof(tail));
	return csum_fold(csum_add(sum, msg, len));
}

/* RFC 4861 6.1.1, the checks a router applies before answering: the hop
 * limit and addresses from the IPv6 header, the message from the view. */
static bool valid_rs(const uint8_t *frame, const struct frame_view *v, uint8_t code)
{
	static const uint8_t unspecified[16];
	struct cursor ip = cur_init(frame + v->l3_off, v->l3_len);
	uint8_t hop_limit, src[16], dst[16];

	if (!cur_skip(&ip, 7) || !cur_u8(&ip, &hop_limit) || !cur_bytes(&ip, src, 16) ||
	    !cur_bytes(&ip, dst, 16))
		return false;
	if (hop_limit != ND_HOP_LIMIT || code != 0 || v->l4_len < ICMP6_HLEN)
		return false;
	/* A valid checksum folds to zero over the message as received. */
	if (icmp6_csum(src, dst, frame + v->l4_off, v->l4_len) != 0)
		return false;
	/* From :: it may carry no source link-layer option; we never use the
	 * option, so a solicitation from :: with one is simply not answered. */
	if (memcmp(src, unspecified, 16) == 0 && v->l4_len > ICMP6_HLEN)
		return false;
	return true;
}

/*
 * Link-layer address options (RFC 4861 4.6.1) of an NS, NA or RS, from the
 * cursor at the first option to the message's end. Receivers take SLLA/TLLA as
 * the MAC of the source or target; one that is not the sender's own Ethernet
 * source would point another address at someone else. A malformed option
 * list makes receivers drop the message, so it is no concern.
 */
static bool lla_foreign(struct cursor opts, const uint8_t eth_src[6])
{
	uint8_t type, units, lla[6];

	while (cur_u8(&opts, &type) && cur_u8(&opts, &units) && units > 0) {
		struct cursor body;

		if (!cur_sub(&opts, (size_t)units * 8 - 2, &body))
			return false;
		if ((type == OPT_SLLA || type == OPT_TLLA) &&
		    (units != 1 || !cur_bytes(&body, lla, 6) || memcmp(lla, eth_src, 6) != 0))
			return true;
	}
	return false;
}

/* The message after the ICMPv6 header's type and code (the view's). */
static void inspect_icmp6(const uint8_t *frame, const struct frame_view *v, struct ndp_msg *m)
{
	struct cursor body = cur_init(frame + v->l4_off, v->l4_len);
	uint8_t type = v->icmp6_type;

	if (v->l4_len < FRAME_ICMP6_END)
		return;
	/* Neighbour discovery is never fragmented (RFC 6980): a fragment of
	 * it only hides its options and target from the guards. */
	if (type == ICMP6_RA || type == ICMP6_REDIRECT ||
	    (v->frag_first && type >= ICMP6_RS && type <= ICMP6_REDIRECT)) {
		m->kind = NDP_ROGUE;
		return;
	}
	/* Type, code, checksum, then 4 bytes before the target or options. */
	if (!cur_skip(&body, 4))
		return;
	switch (type) {
	case ICMP6_RS:
		m->kind = valid_rs(frame, v, v->icmp6_code) ? NDP_RS : NDP_NONE;
		if (cur_skip(&body, 4))
			m->lla_foreign = lla_foreign(body, v->src);
		return;
	case ICMP6_NS:
	case ICMP6_NA:
		if (!cur_skip(&body, 4) || !cur_bytes(&body, m->target, 16))
			return;
		m->has_target = true;
		m->advert = type == ICMP6_NA;
		m->lla_foreign = lla_foreign(body, v->src);
		return;
	default:
		return;
	}
}

bool ndp_inspect(const uint8_t *frame, const struct frame_view *v, struct ndp_msg *m)
{
	struct cursor ip = cur_init(frame + v->l3_off, v->l3_len);

	memset(m, 0, sizeof(*m));
	if (v->l3 != FRAME_L3_IPV6)
		return false;
	/* RFC 7113: a header chain the guard cannot read is not let through. */
	if (!v->l3_ok || v->chain != FRAME_CHAIN_OK || !cur_skip(&ip, 8) ||
	    !cur_bytes(&ip, m->src, 16)) {
		m->kind = NDP_ROGUE;
		return true;
	}
	if (v->frag_later)
		return true;   /* no upper header here; its first fragment was checked */
	if (v->l4_proto == FRAME_ICMPV6)
		inspect_icmp6(frame, v, m);
	/* DHCPv6 server messages: from port 547, or to the client port 546
	 * from any port (what a client would take). A port the datagram
	 * ends before is 0 in the view. */
	else if (v->l4_proto == FRAME_UDP &&
		 (v->sport == DHCP6_SERVER_PORT || v->dport == DHCP6_CLIENT_PORT))
		m->kind = NDP_ROGUE;
	return true;
}

enum ndp_kind ndp_classify(const uint8_t *frame, size_t len)
{
	struct frame_view v;
	struct ndp_msg m;

	if (!frame_parse(frame, len, &v))
		return NDP_NONE;
	ndp_inspect(frame, &v, &m);
	return m.kind;
}

void ndp_link_local(const uint8_t mac[6], uint8_t ll[16])
{
	memset(ll, 0, 16);
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = mac[0] ^ 0x02;     /* the universal/local bit, inverted */
	ll[9] = mac[1];
	ll[10] = mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = mac[3];
	ll[14] = mac[4];
	ll[15] = mac[5];
}

bool ndp_link_local_mac(const uint8_t ll[16], uint8_t mac[6])
{
	static const uint8_t prefix[8] = { 0xfe, 0x80 };

	if (memcmp(ll, prefix, 8) != 0 || ll[11] != 0xff || ll[12] != 0xfe)
		return false;
	mac[0] = ll[8] ^ 0x02;
	memcpy(mac + 1, ll + 9, 2);
	memcpy(mac + 3, ll + 13, 3);
	return true;
}

/* Ethernet and IPv6 headers from the router to all nodes, before an ICMPv6
 * message of mlen bytes; its checksum goes in at out + hdrs + 2. */
static size_t to_all_nodes(const struct ndp_config *c, uint8_t *out, size_t mlen)
{
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	const size_t hdrs = PKT_ETH_HLEN + IP6_HLEN;
	struct wbuf w;

	put_be16(out + hdrs + 2, icmp6_csum(c->router_ll, all_nodes, out + hdrs, mlen));
	wb_init(&w, out, hdrs);
	wb_bytes(&w, all_nodes_mac, 6);
	wb_bytes(&w, c->router_mac, 6);
	wb_be16(&w, ETHERTYPE_IPV6);
	wb_be32(&w, 6u << 28);
	wb_be16(&w, (uint16_t)mlen);
	wb_u8(&w, FRAME_ICMPV6);
	wb_u8(&w, ND_HOP_LIMIT);
	wb_bytes(&w, c->router_ll, 16);
	wb_bytes(&w, all_nodes, 16);
	return hdrs + mlen;
}

int ndp_build_na(const struct ndp_config *c, const uint8_t target[16], uint8_t *out, size_t cap)
{
	const size_t hdrs = PKT_ETH_HLEN + IP6_HLEN;
	struct wbuf w;

	if (cap < hdrs)
		return -1;
	wb_init(&w, out + hdrs, cap - hdrs);
	wb_u8(&w, ICMP6_NA);
	wb_u8(&w, 0);
	wb_be16(&w, 0);                    /* checksum, filled in below */
	wb_be32(&w, 0);                    /* R=0 S=0 (to a multicast group) O=0 */
	wb_bytes(&w, target, 16);
	if (w.overflow)
		return -1;
	return (int)to_all_nodes(c, out, w.len);
}

static void ra_options(const struct ndp_config *c, struct wbuf *w)
{
	wb_u8(w, OPT_SLLA);
	wb_u8(w, 1);
	wb_bytes(w, c->router_mac, 6);
	if (c->mtu) {
		wb_u8(w, OPT_MTU);
		wb_u8(w, 1);
		wb_zero(w, 2);
		wb_be32(w, c->mtu);
	}
	wb_u8(w, OPT_PREFIX);
	wb_u8(w, 4);
	wb_u8(w, 64);
	wb_u8(w, PREFIX_ON_LINK | PREFIX_AUTONOMOUS);
	wb_be32(w, c->valid_lifetime);
	wb_be32(w, c->preferred_lifetime);
	wb_zero(w, 4);
	wb_bytes(w, c->prefix, 8);
	wb_zero(w, 8);
	if (c->has_dns) {
		wb_u8(w, OPT_RDNSS);
		wb_u8(w, 3);               /* 8 bytes + one address, in units of 8 */
		wb_zero(w, 2);
		wb_be32(w, c->dns_lifetime);
		wb_bytes(w, c->dns, 16);
	}
}

int ndp_build_ra(const struct ndp_config *c, uint8_t *out, size_t cap)
{
	const size_t hdrs = PKT_ETH_HLEN + IP6_HLEN;
	struct wbuf w;

	if (cap < hdrs)
		return -1;
	/* The ICMPv6 message first, after room for the headers: its length
	 * goes into the IPv6 header. */
	wb_init(&w, out + hdrs, cap - hdrs);
	wb_u8(&w, ICMP6_RA);
	wb_u8(&w, 0);
	wb_be16(&w, 0);                    /* checksum, filled in below */
	wb_u8(&w, RA_CUR_HOP_LIMIT);
	wb_u8(&w, 0);                      /* M=0, O=0: SLAAC, no DHCPv6 */
	wb_be16(&w, c->router_lifetime);
	wb_be32(&w, 0);                    /* reachable time: unspecified */
	wb_be32(&w, 0);                    /* retrans timer: unspecified */
	ra_options(c, &w);
	if (w.overflow)
		return -1;
	return (int)to_all_nodes(c, out, w.len);
}
