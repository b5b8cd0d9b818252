/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCPv4 (RFC 2131/2132) for a single client whose address is already
 * decided. Every byte of the request comes from the guest, so it is read
 * only through cursors, copied into locals, and checked before use.
 */
#include <stdbool.h>
#include <string.h>

#include "parse/dhcp.h"
#include "parse/frame.h"
#include "parse/pkt.h"

#define IPPROTO_UDP_ 17
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define HTYPE_ETHER 1
#define BOOTP_FLAG_BROADCAST 0x8000
#define DHCP_MAGIC 0x63825363u
#define BOOTP_MIN_LEN 300  /* old relays and clients drop shorter messages */

#define IP4_HLEN 20
#define UDP_HLEN 8
#define HDRS_LEN (PKT_ETH_HLEN + IP4_HLEN + UDP_HLEN)

enum {
	OPT_PAD = 0,
	OPT_SUBNET_MASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_MTU = 26,
	OPT_BROADCAST = 28,
	OPT_REQUESTED_IP = 50,
	OPT_LEASE_TIME = 51,
	OPT_MSG_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_T1 = 58,
	OPT_T2 = 59,
	OPT_CLIENT_ID = 61,
	OPT_END = 255,
};

enum {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

/* The fields of a request that matter, copied out of the frame. */
struct request {
	uint32_t xid;
	uint16_t flags;
	uint32_t ciaddr, giaddr;
	uint8_t chaddr[16];
	int type;                /* 0: no option 53 */
	bool has_requested_ip, has_server_id;
	uint32_t requested_ip, server_id;
	uint8_t client_id_len;   /* 0: none */
	uint8_t client_id[255];
};

/* A UDP datagram whose payload is all here: unfragmented, its length
 * covering its header and within the IP payload. */
static bool udp_payload_ok(const struct frame_view *v)
{
	return !v->frag_first && v->udp_len >= UDP_HLEN && v->udp_len <= v->l4_len;
}

enum dhcp_kind dhcp_classify_view(const struct frame_view *v)
{
	/* No UDP header in a later fragment (has_l4), nor in a cut one. */
	if (v->l3 != FRAME_L3_IPV4 || !v->l3_ok || !v->has_l4 || v->l4_proto != FRAME_UDP ||
	    v->l4_len < FRAME_UDP_HLEN)
		return DHCP_NONE;
	/*
	 * Anything from the server port, or to the client port, is a rogue
	 * server, even a first fragment: dropping it keeps the reassembled
	 * message from anyone. Clients take offers from any source port
	 * (busybox udhcpc's raw socket checks only the destination, 68).
	 */
	if (v->sport == DHCP_SERVER_PORT || v->dport == DHCP_CLIENT_PORT)
		return DHCP_SERVER;
	if (v->sport == DHCP_CLIENT_PORT && v->dport == DHCP_SERVER_PORT && udp_payload_ok(v))
		return DHCP_CLIENT;
	return DHCP_NONE;
}

enum dhcp_kind dhcp_classify(const uint8_t *frame, size_t len)
{
	struct frame_view v;

	return frame_parse(frame, len, &v) ? dhcp_classify_view(&v) : DHCP_NONE;
}

/* The fixed BOOTP header and the magic cookie. */
static bool parse_bootp(struct cursor *c, struct request *r)
{
	uint8_t op, htype, hlen;
	uint32_t magic;

	if (!cur_u8(c, &op) || !cur_u8(c, &htype) || !cur_u8(c, &hlen) || !cur_skip(c, 1))
		return false;
	if (op != BOOTREQUEST || htype != HTYPE_ETHER || hlen != 6)
		return false;
	if (!cur_be32(c, &r->xid) || !cur_skip(c, 2) || !cur_be16(c, &r->flags) ||
	    !cur_be32(c, &r->ciaddr) || !cur_skip(c, 8) || !cur_be32(c, &r->giaddr) ||
	    !cur_bytes(c, r->chaddr, sizeof(r->chaddr)))
		return false;
	/* secs skipped above; yiaddr and siaddr are meaningless in a request. */
	if (!cur_skip(c, 64 + 128) || !cur_be32(c, &magic))
		return false;
	return magic == DHCP_MAGIC;
}

/* One option's value, with the length checks RFC 2132 requires. */
static bool parse_option(struct request *r, uint8_t code, struct cursor *val)
{
	uint8_t type;
	size_t n = val->rem;

	switch (code) {
	case OPT_MSG_TYPE:
		if (n != 1 || !cur_u8(val, &type))
			return false;
		r->type = type;
		return true;
	case OPT_REQUESTED_IP:
		r->has_requested_ip = true;
		return n == 4 && cur_be32(val, &r->requested_ip);
	case OPT_SERVER_ID:
		r->has_server_id = true;
		return n == 4 && cur_be32(val, &r->server_id);
	case OPT_CLIENT_ID:
		/* Echoed back per RFC 6842; an empty one is simply not echoed. */
		r->client_id_len = (uint8_t)n;
		return cur_bytes(val, r->client_id, n);
	default:
		return true;  /* not needed: ignored */
	}
}

/*
 * The options area. A truncated option is malformed; running out of bytes
 * without an END option is tolerated (several clients pad to the end).
 * Option overload (52) is ignored: we need nothing from sname/file.
 */
static bool parse_options(struct cursor *c, struct request *r)
{
	uint8_t code, olen;
	struct cursor val;

	while (cur_u8(c, &code)) {
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return true;
		if (!cur_u8(c, &olen) || !cur_sub(c, olen, &val))
			return false;
		if (!parse_option(r, code, &val))
			return false;
	}
	return true;
}

/* A client's message (dhcp_classify_view says DHCP_CLIENT): its payload. */
static bool parse_request(const uint8_t *in, size_t len, struct request *r)
{
	struct frame_view v;
	struct cursor udp, c;

	memset(r, 0, sizeof(*r));
	if (!frame_parse(in, len, &v) || dhcp_classify_view(&v) != DHCP_CLIENT)
		return false;
	udp = cur_init(in + v.l4_off, v.l4_len);
	if (!cur_skip(&udp, UDP_HLEN) || !cur_sub(&udp, v.udp_len - UDP_HLEN, &c))
		return false;
	return parse_bootp(&c, r) && parse_options(&c, r) && r->type != 0;
}

/* Decides the reply type (0: none) and the address we hand out in it. */
static int reply_type(const struct dhcp_config *cfg, const struct request *r, uint32_t *yiaddr)
{
	uint32_t want;

	*yiaddr = 0;
	switch (r->type) {
	case DHCPDISCOVER:
		*yiaddr = cfg->yiaddr;
		return DHCPOFFER;
	case DHCPREQUEST:
		if (r->has_server_id && r->server_id != cfg->server)
			return 0;  /* the client chose another server */
		want = r->has_requested_ip ? r->requested_ip : r->ciaddr;
		if (want != cfg->yiaddr)
			return DHCPNAK;
		*yiaddr = cfg->yiaddr;
		return DHCPACK;
	case DHCPINFORM:
		return DHCPACK;  /* configuration only, yiaddr stays 0 */
	default:
		return 0;  /* RELEASE, DECLINE and server-only types: nothing to say */
	}
}

static void opt_u32(struct wbuf *w, uint8_t code, uint32_t v)
{
	wb_u8(w, code);
	wb_u8(w, 4);
	wb_be32(w, v);
}

/* Options for a reply. Table 3 of RFC 2131: a NAK carries only type and id. */
static void write_options(struct wbuf *w, const struct dhcp_config *cfg,
			  const struct request *r, int type)
{
	uint32_t lease = cfg->lease_time;

	wb_u8(w, OPT_MSG_TYPE);
	wb_u8(w, 1);
	wb_u8(w, (uint8_t)type);
	opt_u32(w, OPT_SERVER_ID, cfg->server);
	if (type != DHCPNAK && r->type != DHCPINFORM) {
		opt_u32(w, OPT_LEASE_TIME, lease);
		opt_u32(w, OPT_T1, (uint32_t)((uint64_t)lease / 2));
		opt_u32(w, OPT_T2, (uint32_t)((uint64_t)lease * 7 / 8));
	}
	if (type != DHCPNAK) {
		opt_u32(w, OPT_SUBNET_MASK, cfg->mask);
		opt_u32(w, OPT_ROUTER, cfg->server);
		opt_u32(w, OPT_BROADCAST, cfg->server | ~cfg->mask);
		if (cfg->dns)
			opt_u32(w, OPT_DNS, cfg->dns);
		if (cfg->mtu) {
			wb_u8(w, OPT_MTU);
			wb_u8(w, 2);
			wb_be16(w, cfg->mtu);
		}
	}
	if (r->client_id_len) {
		wb_u8(w, OPT_CLIENT_ID);
		wb_u8(w, r->client_id_len);
		wb_bytes(w, r->client_id, r->client_id_len);
	}
	wb_u8(w, OPT_END);
}

static void write_bootp(struct wbuf *w, const struct dhcp_config *cfg,
			const struct request *r, int type, uint32_t yiaddr)
{
	/* RFC 2131 table 3: ciaddr is echoed only in an ACK. */
	uint32_t ciaddr = type == DHCPACK ? r->ciaddr : 0;

	wb_u8(w, BOOTREPLY);
	wb_u8(w, HTYPE_ETHER);
	wb_u8(w, 6);
	wb_u8(w, 0);              /* hops */
	wb_be32(w, r->xid);
	wb_be16(w, 0);            /* secs */
	wb_be16(w, r->flags);
	wb_be32(w, ciaddr);
	wb_be32(w, yiaddr);
	wb_be32(w, 0);            /* siaddr: no next boot server */
	wb_be32(w, r->giaddr);
	wb_bytes(w, r->chaddr, sizeof(r->chaddr));
	wb_zero(w, 64 + 128);     /* sname, file */
	wb_be32(w, DHCP_MAGIC);
	write_options(w, cfg, r, type);
	if (!w->overflow && w->len < BOOTP_MIN_LEN)
		wb_zero(w, BOOTP_MIN_LEN - w->len);
}

/*
 * RFC 2131 4.1: the IP destination of a reply, 0 for a broadcast. A NAK is
 * always broadcast since the client may not hold the address it asked
 * about. giaddr is copied but ignored: no relay sits between us and the VM.
 */
static uint32_t reply_dst(const struct request *r, int type, uint32_t yiaddr)
{
	if (type == DHCPNAK || (r->flags & BOOTP_FLAG_BROADCAST))
		return 0;
	if (r->ciaddr)
		return r->ciaddr;
	/* yiaddr is 0 for an INFORM without ciaddr: then broadcast too. */
	return yiaddr;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void write_ip4(uint8_t *ip, uint32_t src, uint32_t dst, size_t payload)
{
	memset(ip, 0, IP4_HLEN);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(IP4_HLEN + payload));
	ip[8] = 64;                    /* TTL */
	ip[9] = IPPROTO_UDP_;
	put_be32(ip + 12, src);
	put_be32(ip + 16, dst);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, IP4_HLEN)));
}

static void write_udp(uint8_t *ip, size_t dhcp_len)
{
	uint8_t *udp = ip + IP4_HLEN;
	uint16_t ulen = (uint16_t)(UDP_HLEN + dhcp_len);
	uint8_t pseudo[4] = { 0, IPPROTO_UDP_, (uint8_t)(ulen >> 8), (uint8_t)ulen };
	uint32_t sum;
	uint16_t csum;

	put_be16(udp, DHCP_SERVER_PORT);
	put_be16(udp + 2, DHCP_CLIENT_PORT);
	put_be16(udp + 4, ulen);
	put_be16(udp + 6, 0);
	sum = csum_add(0, ip + 12, 8);       /* source and destination addresses */
	sum = csum_add(sum, pseudo, sizeof(pseudo));
	sum = csum_add(sum, udp, ulen);
	csum = csum_fold(sum);
	put_be16(udp + 6, csum ? csum : 0xffff);  /* 0 would mean "no checksum" */
}

static void write_headers(uint8_t *out, const struct dhcp_config *cfg,
			  const struct request *r, int type, uint32_t yiaddr, size_t dhcp_len)
{
	static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t dst = reply_dst(r, type, yiaddr);

	/* Unicast goes to chaddr: the client may not answer ARP yet. */
	memcpy(out, dst ? r->chaddr : bcast_mac, 6);
	memcpy(out + 6, cfg->server_mac, 6);
	put_be16(out + 12, ETHERTYPE_IPV4);
	write_ip4(out + PKT_ETH_HLEN, cfg->server, dst ? dst : 0xffffffffu, UDP_HLEN + dhcp_len);
	write_udp(out + PKT_ETH_HLEN, dhcp_len);
}

int dhcp_reply(const struct dhcp_config *cfg, const uint8_t *in, size_t len,
	       uint8_t *out, size_t cap)
{
	struct request r;
	struct wbuf w;
	uint32_t yiaddr;
	int type;

	if (!parse_request(in, len, &r))
		return -1;
	type = reply_type(cfg, &r, &yiaddr);
	if (type == 0)
		return 0;
	if (cap < HDRS_LEN)
		return -1;
	wb_init(&w, out + HDRS_LEN, cap - HDRS_LEN);
	write_bootp(&w, cfg, &r, type, yiaddr);
	if (w.overflow)
		return -1;
	write_headers(out, cfg, &r, type, yiaddr, w.len);
	return (int)(HDRS_LEN + w.len);
}
