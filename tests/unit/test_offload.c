/* SPDX-License-Identifier: Apache-2.0 */
/* offload.c on constructed frames: IPv4/IPv6, TCP/UDP, partial and full checksums, GSO. */
#include <endian.h>
#include <stdlib.h>

#include "parse/offload.h"
#include "parse/pkt.h"
#include "t.h"

#define MTU 1500
static uint8_t f[PKT_MAX_FRAME + 64];

/* The byte-pair sum RFC 1071 describes, to check the fast one against. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		s += (uint32_t)(p[0] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

struct spec {
	bool v6;
	uint8_t proto;        /* 6 or 17 */
	size_t payload;
	size_t tcp_opts;      /* bytes of TCP options, a multiple of 4 */
	size_t hbh;           /* IPv6 hop-by-hop header bytes (0 or a multiple of 8) */
	bool full;            /* a complete checksum instead of a partial one */
	uint8_t tcp_flags;
};

static size_t l4_off(const struct spec *s) { return 14 + (s->v6 ? 40 + s->hbh : 20); }

/* The pseudo-header sum of the frame in f. */
static uint32_t pseudo(const struct spec *s, size_t l4len)
{
	uint8_t tail[4] = { 0, s->proto, (uint8_t)(l4len >> 8), (uint8_t)l4len };
	uint32_t sum = s->v6 ? csum_add(0, f + 22, 32) : csum_add(0, f + 26, 8);

	return csum_add(sum, tail, 4);
}

/* Builds the frame into f; returns its length. */
static size_t build(const struct spec *s)
{
	size_t off = l4_off(s), l4hdr = s->proto == 6 ? 20 + s->tcp_opts : 8;
	size_t l4len = l4hdr + s->payload, csum_at = off + (s->proto == 6 ? 16 : 6);
	uint8_t *ip = f + 14, *l4 = f + off;

	memset(f, 0, off + l4len);
	memcpy(f, "\x02\0\0\0\0\x02\x0a\xd6\x36\xc1\xea\xf3", 12);
	if (s->v6) {
		put16(f + 12, ETHERTYPE_IPV6);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(s->hbh + l4len));
		ip[6] = s->hbh ? 0 : s->proto;
		ip[7] = 64;
		memcpy(ip + 8, "\xfd\x9b\x5a\x14\xba\x57\xe3\xd3\0\0\0\0\0\0\0\x02", 16);
		memcpy(ip + 24, "\xfd\x9b\x5a\x14\xba\x57\xe3\xd3\0\0\0\0\0\0\0\x01", 16);
		if (s->hbh) {
			ip[40] = s->proto;
			ip[41] = (uint8_t)(s->hbh / 8 - 1);
			ip[42] = 1;   /* PadN filling the rest */
			ip[43] = (uint8_t)(s->hbh - 4);
		}
	} else {
		put16(f + 12, ETHERTYPE_IPV4);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, 0x1234);
		ip[6] = 0x40;   /* DF */
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, "\xc0\xa8\x69\x02\xc0\xa8\x69\x01", 8);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	}
	put16(l4, 40000);
	put16(l4 + 2, 8080);
	if (s->proto == 6) {
		put16(l4 + 4, 0x0102);
		l4[12] = (uint8_t)((l4hdr / 4) << 4);
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x18;
		put16(l4 + 14, 0xffff);
		for (size_t i = 20; i < l4hdr; i++)
			l4[i] = 1;   /* NOP options */
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[l4hdr + i] = (uint8_t)(i * 7 + 3);
	if (s->full)
		put16(f + csum_at, csum_fold(csum_add(pseudo(s, l4len), l4, l4len)));
	else
		put16(f + csum_at, (uint16_t)~csum_fold(pseudo(s, l4len)));
	return off + l4len;
}

/* The L4 checksum of the frame in f verifies. */
static bool l4_valid(const struct spec *s, size_t len)
{
	size_t off = l4_off(s);
	return csum_fold(csum_add(pseudo(s, len - off), f + off, len - off)) == 0;
}

static void test_csum(void)
{
	uint8_t buf[300];

	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (int i = 0; i < 2000; i++) {
		size_t off = (size_t)rand() % 16, len = (size_t)rand() % (sizeof(buf) - 16);
		uint32_t init = (uint32_t)rand() & 0x3ffff;
		CHECK(csum_fold(csum_add(init, buf + off, len)) ==
		      csum_fold(ref_sum(init, buf + off, len)));
	}
	/* Pieces of even length add up like the whole. */
	CHECK(csum_fold(csum_add(csum_add(0, buf, 100), buf + 100, 51)) ==
	      csum_fold(ref_sum(0, buf, 151)));
	/* A 64 KiB run of 0xff, the worst case for carries. */
	memset(f, 0xff, 65536);
	CHECK(csum_fold(csum_add(0xffffffffu, f, 65536)) == csum_fold(ref_sum(0xffff, f, 65536)));
}

/* A frame within the MTU with a partial checksum: NEEDS_CSUM; completing it gives a valid one. */
static void check_partial(struct spec s)
{
	struct virtio_net_hdr h;
	size_t len = build(&s), off = l4_off(&s);

	CHECK(!l4_valid(&s, len) || s.payload == 0);
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len);
	CHECK(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && h.gso_size == 0);
	CHECK(le16toh(h.csum_start) == off);
	CHECK(le16toh(h.csum_offset) == (s.proto == 6 ? 16 : 6));
	CHECK(le16toh(h.hdr_len) == off + (s.proto == 6 ? 20 + s.tcp_opts : 8));
	CHECK(offload_to_vm(&h, f, len) == 0);
	CHECK(l4_valid(&s, len));
}

static void test_partial(void)
{
	check_partial((struct spec){ .proto = 6, .payload = 1000 });
	check_partial((struct spec){ .proto = 6, .payload = 0, .tcp_opts = 12 });
	check_partial((struct spec){ .proto = 6, .payload = 1448, .tcp_opts = 12 });
	check_partial((struct spec){ .proto = 17, .payload = 333 });
	check_partial((struct spec){ .v6 = true, .proto = 6, .payload = 1428, .tcp_opts = 12 });
	check_partial((struct spec){ .v6 = true, .proto = 17, .payload = 1 });
	check_partial((struct spec){ .v6 = true, .proto = 17, .payload = 100, .hbh = 8 });
	check_partial((struct spec){ .v6 = true, .proto = 6, .payload = 100, .hbh = 16 });
}

/* Complete checksums stay as they are. */
static void test_full(void)
{
	struct spec specs[] = {
		{ .proto = 6, .payload = 1000, .full = true },
		{ .proto = 17, .payload = 77, .full = true },
		{ .v6 = true, .proto = 6, .payload = 5, .full = true },
		{ .v6 = true, .proto = 17, .payload = 1452, .full = true },
	};
	static uint8_t copy[2000];

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct virtio_net_hdr h;
		size_t len = build(&specs[i]);

		memcpy(copy, f, len);
		CHECK(l4_valid(&specs[i], len));
		CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len);
		CHECK(h.flags == 0 && h.gso_type == 0);
		CHECK(memcmp(copy, f, len) == 0);
	}
	/* IPv4 UDP without a checksum. */
	struct spec s = { .proto = 17, .payload = 10 };
	struct virtio_net_hdr h;
	size_t len = build(&s);
	put16(f + 34 + 6, 0);
	CHECK(offload_from_vm(f, len, MTU, false, &h) == (int)len && h.flags == 0);
}

static void check_gso(struct spec s, uint8_t type, size_t mss)
{
	struct virtio_net_hdr h;
	size_t len = build(&s), off = l4_off(&s);

	CHECK(offload_from_vm(f, len, MTU, false, &h) == -1);
	/* Whatever the VM put in the field, it becomes the pseudo-header sum. */
	put16(f + off + 16, 0xbeef);
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len);
	CHECK(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(h.gso_type == type);
	CHECK(le16toh(h.gso_size) == mss);
	CHECK(le16toh(h.hdr_len) == off + 20 + s.tcp_opts);
	CHECK(le16toh(h.csum_start) == off && le16toh(h.csum_offset) == 16);
	uint16_t want = csum_fold(pseudo(&s, len - off));
	CHECK((get16(f + off + 16) ^ want) == 0xffff);
	CHECK(offload_to_vm(&h, f, len) == 0);
	CHECK(l4_valid(&s, len));
}

static void test_gso(void)
{
	check_gso((struct spec){ .proto = 6, .payload = 30000, .tcp_opts = 12 },
		  VIRTIO_NET_HDR_GSO_TCPV4, 1500 - 20 - 32);
	check_gso((struct spec){ .proto = 6, .payload = 65535 - 40 },
		  VIRTIO_NET_HDR_GSO_TCPV4, 1460);
	check_gso((struct spec){ .v6 = true, .proto = 6, .payload = 60000 },
		  VIRTIO_NET_HDR_GSO_TCPV6, 1440);
	check_gso((struct spec){ .v6 = true, .proto = 6, .payload = 1441 },
		  VIRTIO_NET_HDR_GSO_TCPV6, 1440);
	check_gso((struct spec){ .proto = 6, .payload = 20000, .tcp_flags = 0x80 | 0x10 },
		  VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1460);
}

static int from_vm(size_t len)
{
	struct virtio_net_hdr h;
	return offload_from_vm(f, len, MTU, true, &h);
}

static void test_bad(void)
{
	struct spec big_udp = { .proto = 17, .payload = 3000 };
	struct spec big_tcp = { .proto = 6, .payload = 3000 };
	struct spec tcp = { .proto = 6, .payload = 100 };
	struct spec v6 = { .v6 = true, .proto = 17, .payload = 100, .hbh = 8 };
	size_t len;

	CHECK(from_vm(build(&big_udp)) == -1);           /* large, not TCP */
	len = build(&big_tcp);
	f[14 + 6] |= 0x20;                                /* large IPv4 fragment */
	CHECK(from_vm(len) == -1);
	len = build(&big_tcp);
	CHECK(from_vm(len - 1) == -1);                    /* IP length beyond the frame */
	put16(f + 12, ETHERTYPE_ARP);
	CHECK(from_vm(len) == -1);                        /* large, not IP */
	len = build(&big_tcp);
	f[14 + 20 + 12] = 0x40;                           /* TCP header of 16 bytes */
	CHECK(from_vm(len) == -1);
	CHECK(from_vm(PKT_MAX_FRAME + 1) == -1);
	CHECK(from_vm(13) == -1);

	len = build(&tcp);
	f[14] = 0x55;                                     /* IPv5 */
	CHECK(from_vm(len) == -1);
	f[14] = 0x44;                                     /* IHL 16 bytes */
	CHECK(from_vm(len) == -1);
	len = build(&tcp);
	put16(f + 16, 19);                                /* total length below IHL */
	CHECK(from_vm(len) == -1);
	CHECK(from_vm(14 + 19) == -1);                    /* truncated IPv4 header */
	len = build(&tcp);
	f[14 + 20 + 12] = 0xf0;                           /* TCP header past the datagram */
	CHECK(from_vm(14 + 20 + 40) == -1);
	CHECK(from_vm(len) == (int)len);
	len = build(&(struct spec){ .proto = 17, .payload = 50 });
	put16(f + 34 + 4, 57);                            /* UDP length disagrees */
	CHECK(from_vm(len) == -1);
	len = build(&v6);
	CHECK(from_vm(len - 1) == -1);                    /* IPv6 payload beyond the frame */
	f[14 + 41] = 200;                                 /* extension header too long */
	CHECK(from_vm(len) == -1);
	f[14] = 0x40;
	CHECK(from_vm(len) == -1);                        /* version 4 in an IPv6 frame */
	CHECK(from_vm(14 + 39) == -1);
}

static void test_passthrough(void)
{
	struct virtio_net_hdr h;
	struct spec tcp = { .proto = 6, .payload = 6 };
	size_t len;

	/* ARP: no header. */
	memset(f, 0, 60);
	put16(f + 12, ETHERTYPE_ARP);
	CHECK(offload_from_vm(f, 42, MTU, true, &h) == 42 && h.flags == 0);
	/* Ethernet padding after a small datagram is cut. */
	len = build(&tcp);
	CHECK(offload_from_vm(f, 60, MTU, true, &h) == (int)len && h.flags != 0);
	/* A fragment: the VM's own checksum, no header. */
	len = build(&(struct spec){ .proto = 17, .payload = 1000 });
	f[14 + 6] = 0x20;
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len && h.flags == 0);
	/* An IPv6 fragment header and a routing header: no offload, passed. */
	len = build(&(struct spec){ .v6 = true, .proto = 17, .payload = 100, .hbh = 8 });
	f[14 + 40] = 44;
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len && h.flags == 0);
	f[14 + 40] = 43;
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len && h.flags == 0);
	/* ICMP. */
	len = build(&tcp);
	f[14 + 9] = 1;
	CHECK(offload_from_vm(f, len, MTU, true, &h) == (int)len && h.flags == 0);
}

/* The IPv4 header checksum is offloaded too: zero or wrong, it is set; right, kept. */
static void test_ipv4_header_csum(void)
{
	struct spec cases[] = {
		{ .proto = 17, .payload = 40 },
		{ .proto = 6, .payload = 3000 },                 /* GSO */
		{ .proto = 6, .payload = 10, .full = true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = build(&cases[i]);
		uint16_t right = get16(f + 24);

		CHECK(csum_fold(csum_add(0, f + 14, 20)) == 0);
		CHECK(from_vm(len) == (int)len && get16(f + 24) == right);
		put16(f + 24, 0);
		CHECK(from_vm(len) == (int)len && get16(f + 24) == right);
		put16(f + 24, (uint16_t)(right ^ 0x5a5a));
		CHECK(from_vm(len) == (int)len && get16(f + 24) == right);
	}
	/* ICMP and fragments too: the header is the same whatever it carries. */
	size_t len = build(&(struct spec){ .proto = 6, .payload = 10 });
	f[14 + 9] = 1;
	f[14 + 6] = 0x20;
	put16(f + 24, 0);
	CHECK(from_vm(len) == (int)len && csum_fold(csum_add(0, f + 14, 20)) == 0);
	/* IPv6 has no header checksum: the bytes at that offset are left alone. */
	len = build(&(struct spec){ .v6 = true, .proto = 17, .payload = 40 });
	uint16_t before = get16(f + 24);
	CHECK(from_vm(len) == (int)len && get16(f + 24) == before);
}

static void test_to_vm(void)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	uint8_t b[8] = { 0xff, 0xff, 0, 0, 9, 9, 9, 9 };

	/* Without NEEDS_CSUM nothing is touched (GSO frames go whole). */
	struct virtio_net_hdr none = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .csum_start = 0xffff };
	CHECK(offload_to_vm(&none, b, sizeof(b)) == 0 && b[4] == 9);
	/* A sum of 0xffff is stored as 0xffff, never 0. */
	h.csum_start = htole16(0);
	h.csum_offset = htole16(2);
	CHECK(offload_to_vm(&h, b, 4) == 0);
	CHECK(b[2] == 0xff && b[3] == 0xff);
	/* The field must lie inside the frame. */
	h.csum_start = htole16(6);
	h.csum_offset = htole16(0);
	CHECK(offload_to_vm(&h, b, 8) == 0);
	h.csum_offset = htole16(1);
	CHECK(offload_to_vm(&h, b, 8) == -1);
	h.csum_start = htole16(9);
	h.csum_offset = htole16(0);
	CHECK(offload_to_vm(&h, b, 8) == -1);
	h.csum_start = htole16(2);
	h.csum_offset = htole16(0xfffe);
	CHECK(offload_to_vm(&h, b, 8) == -1);
}

/* A vhost-user guest's header for the frame in f, as Linux's virtio-net makes it. */
static struct virtio_net_hdr guest_hdr(const struct spec *s, uint8_t gso, uint16_t mss)
{
	struct virtio_net_hdr g = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = gso };

	g.csum_start = htole16((uint16_t)l4_off(s));
	g.csum_offset = htole16(s->proto == 6 ? 16 : 6);
	g.gso_size = htole16(mss);
	g.hdr_len = htole16(0xffff);   /* a hint only: never passed on */
	return g;
}

static int from_guest(const struct virtio_net_hdr *g, size_t head, size_t len, unsigned allowed,
		      struct virtio_net_hdr *out)
{
	return offload_from_guest(g, f, head, len, 1500, allowed, out);
}

static void test_from_guest(void)
{
	const unsigned all = OFFLOAD_G_CSUM | OFFLOAD_G_TSO4 | OFFLOAD_G_TSO6 | OFFLOAD_G_ECN;
	struct spec tcp4 = { .proto = 6, .payload = 60000 }, tcp6 = { .v6 = true, .proto = 6,
		.payload = 60000, .tcp_opts = 12 }, udp6 = { .v6 = true, .proto = 17, .payload = 1000 };
	struct virtio_net_hdr g, h;
	size_t n;

	/* No offload: the frame as it is, within the MTU. */
	n = build(&udp6);
	g = (struct virtio_net_hdr){ 0 };
	CHECK(from_guest(&g, n, n, 0, &h) == (int)n && h.flags == 0 && h.gso_type == 0);
	CHECK(from_guest(&g, 64, 1515, all, &h) == -1);
	/* A partial checksum on UDP, judged on a head of the headers only. */
	g = guest_hdr(&udp6, 0, 0);
	CHECK(from_guest(&g, 14 + 48, n, all, &h) == (int)n);
	CHECK(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && le16toh(h.csum_start) == 54 &&
	      le16toh(h.csum_offset) == 6 && le16toh(h.hdr_len) == 62 && h.gso_type == 0);
	CHECK(from_guest(&g, 14 + 47, n, all, &h) == -1);     /* the UDP header not held */
	CHECK(from_guest(&g, n, n, all & ~OFFLOAD_G_CSUM, &h) == -1);
	/* Padding after the datagram is not written. */
	CHECK(from_guest(&g, n, n + 20, all, &h) == (int)n);
	/* The checksum anywhere else: the source address, the next header. */
	g.csum_start = htole16(22);
	CHECK(from_guest(&g, n, n, all, &h) == -1);
	g = guest_hdr(&udp6, 0, 0);
	g.csum_offset = htole16(16);
	CHECK(from_guest(&g, n, n, all, &h) == -1);
	/* Device-only flags. */
	g = guest_hdr(&udp6, 0, 0);
	g.flags |= VIRTIO_NET_HDR_F_DATA_VALID;
	CHECK(from_guest(&g, n, n, all, &h) == -1);
	g.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	CHECK(from_guest(&g, n, n, all, &h) == -1);

	/* TSO over IPv4 and IPv6: the guest's MSS, segments within the MTU. */
	n = build(&tcp4);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 1460);
	CHECK(from_guest(&g, 128, n, all, &h) == (int)n);
	CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && le16toh(h.gso_size) == 1460 &&
	      le16toh(h.hdr_len) == 54 && le16toh(h.csum_start) == 34);
	g.gso_size = htole16(1461);
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	g.gso_size = 0;
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_TCPV6, 1460);     /* the other IP version */
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 1460);
	CHECK(from_guest(&g, 128, n, all & ~OFFLOAD_G_TSO4, &h) == -1);
	g.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	CHECK(from_guest(&g, 128, n, all, &h) == (int)n && h.gso_type == (0x80 | 1));
	CHECK(from_guest(&g, 128, n, all & ~OFFLOAD_G_ECN, &h) == -1);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_UDP, 1460);       /* UFO: not offered */
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 1460);
	g.flags = 0;                                              /* GSO needs NEEDS_CSUM */
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	/* Without GSO a large frame is refused. */
	g = guest_hdr(&tcp4, 0, 0);
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	n = build(&tcp6);
	g = guest_hdr(&tcp6, VIRTIO_NET_HDR_GSO_TCPV6, 1428);
	CHECK(from_guest(&g, 128, n, all, &h) == (int)n && le16toh(h.hdr_len) == 14 + 40 + 32);
	g.gso_size = htole16(1429);
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	/* An IPv6 header chain longer than the head is not seen through. */
	tcp6.hbh = 136;
	n = build(&tcp6);
	g = guest_hdr(&tcp6, VIRTIO_NET_HDR_GSO_TCPV6, 1200);
	CHECK(from_guest(&g, 128, n, all, &h) == -1);
	CHECK(from_guest(&g, 256, n, all, &h) == (int)n);
	/* An IP length beyond the frame. */
	n = build(&tcp4);
	g = guest_hdr(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 1460);
	CHECK(from_guest(&g, 128, n - 1, all, &h) == -1);
	CHECK(from_guest(&g, 128, PKT_MAX_FRAME + 1, all, &h) == -1);
}

static void tests(void)
{
	test_csum();
	test_partial();
	test_full();
	test_gso();
	test_bad();
	test_passthrough();
	test_ipv4_header_csum();
	test_to_vm();
	test_from_guest();
}

T_MAIN
