/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dhcp.h"
#include "parse/pkt.h"
#include "t.h"

#define SERVER   0xc0a86901u  /* 192.168.105.1 */
#define CLIENT   0xc0a86937u  /* 192.168.105.55 */
#define OTHER    0xc0a86938u
#define MASK     0xffffff00u
#define DNS      0xc0a86901u

static const struct dhcp_config cfg = {
	.server = SERVER, .mask = MASK, .yiaddr = CLIENT, .dns = DNS,
	.lease_time = 3600, .mtu = 1500,
	.server_mac = { 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc },
};
static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A request as a test describes it. */
struct req {
	uint8_t op, htype, hlen;
	uint32_t xid;
	uint16_t flags;
	uint32_t ciaddr, giaddr;
	const uint8_t *opts;   /* raw options (no automatic END) or NULL */
	size_t opts_len;
	int type;              /* used when opts == NULL */
	uint32_t requested, server_id;  /* options 50/54 when non-zero */
	bool no_magic;
	size_t pad_to;         /* pad the BOOTP message to this size */
	uint16_t sport, dport;
	uint8_t ihl;           /* 5 unless set */
	uint16_t frag;
};

static struct req base(int type)
{
	struct req r = { .op = 1, .htype = 1, .hlen = 6, .xid = 0x12345678, .type = type,
			 .pad_to = 300, .sport = 68, .dport = 67, .ihl = 5 };
	return r;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static size_t build_options(const struct req *r, uint8_t *o)
{
	size_t n = 0;

	if (r->opts) {
		memcpy(o, r->opts, r->opts_len);
		return r->opts_len;
	}
	o[n++] = 53; o[n++] = 1; o[n++] = (uint8_t)r->type;
	if (r->requested) {
		o[n++] = 50; o[n++] = 4; put32(o + n, r->requested); n += 4;
	}
	if (r->server_id) {
		o[n++] = 54; o[n++] = 4; put32(o + n, r->server_id); n += 4;
	}
	o[n++] = 55; o[n++] = 3; o[n++] = 1; o[n++] = 3; o[n++] = 6;
	o[n++] = 255;
	return n;
}

static size_t build_bootp(const struct req *r, uint8_t *d)
{
	size_t n;

	memset(d, 0, 1024);
	d[0] = r->op; d[1] = r->htype; d[2] = r->hlen;
	put32(d + 4, r->xid);
	put16(d + 10, r->flags);
	put32(d + 12, r->ciaddr);
	put32(d + 24, r->giaddr);
	memcpy(d + 28, vm_mac, 6);
	if (!r->no_magic)
		put32(d + 236, 0x63825363u);
	n = 240 + build_options(r, d + 240);
	return n < r->pad_to ? r->pad_to : n;
}

/* Ethernet/IPv4/UDP around the BOOTP message, like a booting VM sends. */
static size_t build(const struct req *r, uint8_t *f)
{
	size_t ihl = (size_t)r->ihl * 4, hdr = 14 + ihl + 8;
	size_t dlen = build_bootp(r, f + hdr);
	uint8_t *ip = f + 14, *udp = f + 14 + ihl;

	memcpy(f, bcast_mac, 6);
	memcpy(f + 6, vm_mac, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | r->ihl);
	put16(ip + 2, (uint16_t)(ihl + 8 + dlen));
	put16(ip + 6, r->frag);
	ip[8] = 64; ip[9] = 17;
	put32(ip + 16, 0xffffffffu);
	put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
	put16(udp, r->sport);
	put16(udp + 2, r->dport);
	put16(udp + 4, (uint16_t)(8 + dlen));
	put16(udp + 6, 0);
	return hdr + dlen;
}

static uint8_t frame[2048], out[2048];

static int reply(const struct req *r)
{
	size_t n = build(r, frame);

	memset(out, 0, sizeof(out));
	return dhcp_reply(&cfg, frame, n, out, sizeof(out));
}

/* Pointer to option code's value in a reply, or NULL. */
static const uint8_t *option(const uint8_t *p, int len, uint8_t code, int *olen)
{
	int i = 14 + 20 + 8 + 240;

	while (i < len) {
		uint8_t c = p[i];

		if (c == 255)
			return NULL;
		if (c == 0) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return NULL;
		if (c == code) {
			*olen = p[i + 1];
			return p + i + 2;
		}
		i += 2 + p[i + 1];
	}
	return NULL;
}

static bool has_opt(int len, uint8_t code)
{
	int olen;

	return option(out, len, code, &olen) != NULL;
}

static uint32_t opt32(int len, uint8_t code)
{
	int olen = 0;
	const uint8_t *v = option(out, len, code, &olen);

	return v && olen == 4 ? get32(v) : 0xdeadbeefu;
}

static int msg_type(int len)
{
	int olen = 0;
	const uint8_t *v = option(out, len, 53, &olen);

	return v && olen == 1 ? v[0] : -1;
}

/* Headers, lengths and both checksums of a reply. */
static void check_frame(int len)
{
	const uint8_t *ip = out + 14, *udp = out + 34;
	uint32_t sum;

	CHECK(len >= 14 + 20 + 8 + 300);
	CHECK(memcmp(out + 6, cfg.server_mac, 6) == 0);
	CHECK(get16(out + 12) == 0x0800);
	CHECK(ip[0] == 0x45);
	CHECK(get16(ip + 2) == len - 14);
	CHECK((get16(ip + 6) & 0x3fff) == 0);
	CHECK(ip[8] > 0);
	CHECK(ip[9] == 17);
	CHECK(get32(ip + 12) == SERVER);
	CHECK(csum_fold(csum_add(0, ip, 20)) == 0);
	CHECK(get16(udp) == 67);
	CHECK(get16(udp + 2) == 68);
	CHECK(get16(udp + 4) == len - 34);
	CHECK(get16(udp + 6) != 0);
	sum = csum_add(0, ip + 12, 8);
	sum += 17 + (uint32_t)(len - 34);
	sum = csum_add(sum, udp, (size_t)len - 34);
	CHECK(csum_fold(sum) == 0);
	/* BOOTP reply basics copied from the request. */
	CHECK(out[42] == 2 && out[43] == 1 && out[44] == 6);
	CHECK(get32(out + 46) == 0x12345678);
	CHECK(memcmp(out + 42 + 28, vm_mac, 6) == 0);
	CHECK(get32(out + 42 + 236) == 0x63825363u);
	CHECK(out[len - 1] == 0 || out[len - 1] == 255);
	CHECK(dhcp_classify(out, (size_t)len) == DHCP_SERVER);
}

static uint32_t ip_dst(void) { return get32(out + 30); }
static uint32_t yiaddr(void) { return get32(out + 42 + 16); }
static uint32_t ciaddr(void) { return get32(out + 42 + 12); }

static void check_config_options(int len)
{
	CHECK(opt32(len, 54) == SERVER);
	CHECK(opt32(len, 1) == MASK);
	CHECK(opt32(len, 3) == SERVER);
	CHECK(opt32(len, 28) == 0xc0a869ffu);
	CHECK(opt32(len, 6) == DNS);
	{
		int olen = 0;
		const uint8_t *v = option(out, len, 26, &olen);

		CHECK(v && olen == 2 && get16(v) == 1500);
	}
}

static void check_lease_options(int len)
{
	CHECK(opt32(len, 51) == 3600);
	CHECK(opt32(len, 58) == 1800);
	CHECK(opt32(len, 59) == 3150);
}

static void test_discover(void)
{
	struct req r = base(1);
	int len = reply(&r);

	CHECK(dhcp_classify(frame, build(&r, frame)) == DHCP_CLIENT);
	CHECK(len > 0);
	check_frame(len);
	CHECK(msg_type(len) == 2);
	CHECK(yiaddr() == CLIENT);
	CHECK(ciaddr() == 0);
	check_config_options(len);
	check_lease_options(len);
	/* No broadcast flag, no ciaddr: to chaddr and yiaddr. */
	CHECK(memcmp(out, vm_mac, 6) == 0);
	CHECK(ip_dst() == CLIENT);

	r.flags = 0x8000;
	len = reply(&r);
	check_frame(len);
	CHECK(get16(out + 42 + 10) == 0x8000);
	CHECK(memcmp(out, bcast_mac, 6) == 0);
	CHECK(ip_dst() == 0xffffffffu);

	/* giaddr is copied back. */
	r.giaddr = 0x0a000001u;
	len = reply(&r);
	CHECK(len > 0 && get32(out + 42 + 24) == 0x0a000001u);
}

static void test_request(void)
{
	struct req r = base(3);
	int len;

	/* SELECTING: server id and requested address. */
	r.server_id = SERVER;
	r.requested = CLIENT;
	len = reply(&r);
	check_frame(len);
	CHECK(msg_type(len) == 5);
	CHECK(yiaddr() == CLIENT);
	check_config_options(len);
	check_lease_options(len);
	CHECK(ip_dst() == CLIENT);

	/* The client chose another server: silence. */
	r.server_id = OTHER;
	CHECK(reply(&r) == 0);

	/* INIT-REBOOT with the wrong address: NAK, broadcast. */
	r = base(3);
	r.requested = OTHER;
	len = reply(&r);
	check_frame(len);
	CHECK(msg_type(len) == 6);
	CHECK(yiaddr() == 0);
	CHECK(opt32(len, 54) == SERVER);
	CHECK(!has_opt(len, 51) && !has_opt(len, 58) && !has_opt(len, 59));
	CHECK(!has_opt(len, 1) && !has_opt(len, 3) && !has_opt(len, 6));
	CHECK(memcmp(out, bcast_mac, 6) == 0);
	CHECK(ip_dst() == 0xffffffffu);

	/* RENEWING: ciaddr only, unicast back to it. */
	r = base(3);
	r.ciaddr = CLIENT;
	len = reply(&r);
	check_frame(len);
	CHECK(msg_type(len) == 5);
	CHECK(yiaddr() == CLIENT);
	CHECK(ciaddr() == CLIENT);
	CHECK(memcmp(out, vm_mac, 6) == 0);
	CHECK(ip_dst() == CLIENT);

	/* Renewing an address we never gave: NAK, still broadcast. */
	r.ciaddr = OTHER;
	len = reply(&r);
	check_frame(len);
	CHECK(msg_type(len) == 6);
	CHECK(ip_dst() == 0xffffffffu);

	/* Neither option 50 nor ciaddr: nothing valid was asked for. */
	r = base(3);
	len = reply(&r);
	CHECK(msg_type(len) == 6);
}

static void test_inform_release(void)
{
	struct req r = base(8);
	int len;

	r.ciaddr = OTHER;  /* a statically configured VM */
	len = reply(&r);
	check_frame(len);
	CHECK(msg_type(len) == 5);
	CHECK(yiaddr() == 0);
	CHECK(ciaddr() == OTHER);
	CHECK(!has_opt(len, 51) && !has_opt(len, 58) && !has_opt(len, 59));
	check_config_options(len);
	CHECK(ip_dst() == OTHER);
	CHECK(memcmp(out, vm_mac, 6) == 0);

	/* No ciaddr to answer to: broadcast. */
	r.ciaddr = 0;
	len = reply(&r);
	CHECK(msg_type(len) == 5);
	CHECK(memcmp(out, bcast_mac, 6) == 0 && ip_dst() == 0xffffffffu);

	r = base(7);
	r.ciaddr = CLIENT;
	CHECK(reply(&r) == 0);
	r = base(4);
	r.requested = CLIENT;
	CHECK(reply(&r) == 0);
	/* Server-only message types from a client get no answer. */
	r = base(2);
	CHECK(reply(&r) == 0);
	r = base(5);
	CHECK(reply(&r) == 0);
}

static void test_config_variants(void)
{
	struct dhcp_config c = cfg;
	struct req r = base(1);
	size_t n = build(&r, frame);
	int len;

	/* The largest --mtu: option 26 is two bytes, big endian. */
	c.mtu = 65520;
	len = dhcp_reply(&c, frame, n, out, sizeof(out));
	int olen = 0;
	const uint8_t *v = option(out, len, 26, &olen);
	CHECK(v && olen == 2 && v[0] == 0xff && v[1] == 0xf0);

	c.dns = 0;
	c.mtu = 0;
	c.lease_time = 0xffffffffu;
	len = dhcp_reply(&c, frame, n, out, sizeof(out));
	CHECK(len > 0);
	CHECK(!has_opt(len, 6) && !has_opt(len, 26));
	CHECK(opt32(len, 51) == 0xffffffffu);
	CHECK(opt32(len, 58) == 0x7fffffffu);
	CHECK(opt32(len, 59) == (uint32_t)(0xffffffffull * 7 / 8));

	c.mask = 0xfffffffcu;
	c.server = 0xc0a869fdu;
	c.yiaddr = 0xc0a869feu;
	len = dhcp_reply(&c, frame, n, out, sizeof(out));
	CHECK(opt32(len, 28) == 0xc0a869ffu);
	CHECK(opt32(len, 1) == 0xfffffffcu);
}

static void test_client_id_and_padding(void)
{
	static const uint8_t opts[] = {
		0, 0, 53, 1, 1, 0, 61, 7, 1, 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3, 0, 255,
	};
	static const uint8_t no_end[] = { 53, 1, 1, 12, 3, 'v', 'm', '1' };
	struct req r = base(1);
	int len, olen = 0;
	const uint8_t *v;

	r.opts = opts;
	r.opts_len = sizeof(opts);
	len = reply(&r);
	CHECK(msg_type(len) == 2);
	v = option(out, len, 61, &olen);
	CHECK(v && olen == 7 && memcmp(v, opts + 8, 7) == 0);

	/* Options that run to the end without END are tolerated. */
	r.opts = no_end;
	r.opts_len = sizeof(no_end);
	r.pad_to = 0;
	CHECK(msg_type(reply(&r)) == 2);
}

/* Malformed requests: -1, whatever part is wrong. */
static void test_malformed(void)
{
	static const uint8_t type_len2[] = { 53, 2, 1, 1, 255 };
	static const uint8_t type_len0[] = { 53, 0, 255 };
	static const uint8_t req_len3[] = { 53, 1, 3, 50, 3, 1, 2, 3, 255 };
	static const uint8_t req_len5[] = { 53, 1, 3, 50, 5, 1, 2, 3, 4, 5, 255 };
	static const uint8_t sid_len5[] = { 53, 1, 3, 54, 5, 1, 2, 3, 4, 5, 255 };
	static const uint8_t no_type[] = { 50, 4, 1, 2, 3, 4, 255 };
	static const uint8_t trunc_val[] = { 53, 1, 1, 12, 9, 'a', 'b' };
	static const uint8_t trunc_len[] = { 53, 1, 1, 12 };
	const struct { const uint8_t *o; size_t n; } cases[] = {
		{ type_len2, sizeof(type_len2) }, { type_len0, sizeof(type_len0) },
		{ req_len3, sizeof(req_len3) }, { req_len5, sizeof(req_len5) },
		{ sid_len5, sizeof(sid_len5) }, { no_type, sizeof(no_type) },
		{ trunc_val, sizeof(trunc_val) }, { trunc_len, sizeof(trunc_len) },
	};
	struct req r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = base(1);
		r.opts = cases[i].o;
		r.opts_len = cases[i].n;
		r.pad_to = 0;  /* the message ends where the options do */
		CHECK(reply(&r) == -1);
	}
	r = base(1); r.op = 2; CHECK(reply(&r) == -1);
	r = base(1); r.htype = 6; CHECK(reply(&r) == -1);
	r = base(1); r.hlen = 16; CHECK(reply(&r) == -1);
	r = base(1); r.no_magic = true; CHECK(reply(&r) == -1);
	r = base(1); r.sport = 67; CHECK(reply(&r) == -1);
	/* Short BOOTP: no room for the cookie. */
	r = base(1); r.opts = type_len0; r.opts_len = 0; r.pad_to = 0;
	{
		size_t n = build(&r, frame);

		/* Shrink the UDP and IP lengths to cut into the fixed header. */
		put16(frame + 14 + 2, (uint16_t)(20 + 8 + 200));
		put16(frame + 34 + 4, 8 + 200);
		CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) == -1);
		/* A UDP length longer than the IP payload. */
		build(&r, frame);
		put16(frame + 34 + 4, 8 + 2000);
		CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) == -1);
		CHECK(dhcp_classify(frame, n) == DHCP_NONE);
		/* A UDP length shorter than its own header. */
		put16(frame + 34 + 4, 7);
		CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) == -1);
	}
}

static void test_truncation(void)
{
	const int types[] = { 1, 3, 8 };

	for (size_t t = 0; t < 3; t++) {
		struct req r = base(types[t]);
		size_t n;
		uint8_t *copy;

		r.requested = CLIENT;
		r.ciaddr = types[t] == 8 ? OTHER : 0;
		n = build(&r, frame);
		CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) > 0);
		for (size_t len = 0; len < n; len++) {
			/* Exact-size heap copies so ASan catches any over-read. */
			copy = malloc(len ? len : 1);
			memcpy(copy, frame, len);
			CHECK(dhcp_reply(&cfg, copy, len, out, sizeof(out)) == -1);
			CHECK(dhcp_classify(copy, len) != DHCP_CLIENT);
			free(copy);
		}
	}
}

static void test_output_cap(void)
{
	struct req r = base(1);
	size_t n = build(&r, frame);
	int full = dhcp_reply(&cfg, frame, n, out, sizeof(out));

	CHECK(full > 0);
	for (size_t cap = 0; cap <= (size_t)full + 1; cap++) {
		uint8_t *o = malloc(cap ? cap : 1);
		int len = dhcp_reply(&cfg, frame, n, o, cap);

		CHECK(cap >= (size_t)full ? len == full : len == -1);
		free(o);
	}
}

static void test_classify(void)
{
	struct req r = base(1);
	size_t n;

	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_CLIENT);
	/* Ethernet padding after the IP packet is fine. */
	memset(frame + n, 0, 20);
	CHECK(dhcp_classify(frame, n + 20) == DHCP_CLIENT);
	CHECK(dhcp_reply(&cfg, frame, n + 20, out, sizeof(out)) > 0);

	/* A VM playing DHCP server. */
	r.sport = 67; r.dport = 68; r.op = 2;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_SERVER);
	r.frag = 0x2000;  /* first fragment of a rogue server message */
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_SERVER);

	/* To a client's port from any port: what a client would take as a
	 * server's (busybox udhcpc checks only the destination). */
	r = base(1); r.sport = 68; r.dport = 68;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_SERVER);
	r.sport = 6767; r.op = 2;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_SERVER);
	r = base(1); r.sport = 1234;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);

	/* IP header sanity. */
	r = base(1); r.frag = 0x2000;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) == -1);
	r = base(1); r.frag = 0x0010;
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	r = base(1); r.ihl = 6;  /* with IP options */
	n = build(&r, frame);
	CHECK(dhcp_classify(frame, n) == DHCP_CLIENT);
	CHECK(dhcp_reply(&cfg, frame, n, out, sizeof(out)) > 0);

	r = base(1);
	n = build(&r, frame);
	frame[14] = 0x65;  /* version 6 */
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	frame[14] = 0x44;  /* IHL 4 */
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	frame[14] = 0x45;
	frame[23] = 6;     /* TCP */
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	frame[23] = 17;
	put16(frame + 16, (uint16_t)(n - 14 + 1));  /* total length past the frame */
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	put16(frame + 16, 19);  /* shorter than the header */
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	put16(frame + 16, (uint16_t)(n - 14));
	put16(frame + 12, 0x0806);
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
	put16(frame + 12, 0x8100);
	CHECK(dhcp_classify(frame, n) == DHCP_NONE);
}

/* Random corruption: never crash, and any reply is well formed. */
static void test_mutations(void)
{
	const int types[] = { 1, 3, 7, 8 };
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		struct req r = base(types[i % 4]);
		size_t n, cut;
		int flips, len;

		r.requested = CLIENT;
		n = build(&r, frame);
		seed = seed * 1103515245u + 12345u;
		flips = 1 + (int)(seed >> 16) % 4;
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			frame[(seed >> 8) % n] ^= (uint8_t)(1u << ((seed >> 4) % 8));
		}
		seed = seed * 1103515245u + 12345u;
		cut = (seed >> 16) % 8 == 0 ? (seed >> 4) % n : n;
		len = dhcp_reply(&cfg, frame, cut, out, sizeof(out));
		if (len > 0) {
			const uint8_t *ip = out + 14;

			CHECK(csum_fold(csum_add(0, ip, 20)) == 0);
			CHECK(get16(ip + 2) == len - 14);
		}
		(void)dhcp_classify(frame, cut);
	}
}

static void tests(void)
{
	test_discover();
	test_request();
	test_inform_release();
	test_config_variants();
	test_client_id_and_padding();
	test_malformed();
	test_truncation();
	test_output_cap();
	test_classify();
	test_mutations();
}

T_MAIN
