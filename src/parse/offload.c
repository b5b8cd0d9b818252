/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checksum and segmentation offload between the VM's frames and the
 * TAP's virtio-net headers (offload.h). Pure: judges and rewrites frames a
 * VM sent; runs in the datapath.
 */
#include "parse/offload.h"

#include <endian.h>
#include <string.h>

#include "parse/pkt.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IP6_HOPOPTS 0
#define IP6_DSTOPTS 60
#define TCP_CSUM_OFF 16
#define IPV4_CSUM_OFF 10
#define UDP_CSUM_OFF 6
#define TCP_CWR 0x80
/* Extension headers walked before giving up on finding TCP/UDP. */
#define IP6_MAX_EXT 8

/* What the IP layer of a frame says, copied out of the guest's bytes. */
struct l3 {
	bool v6;
	bool fragment;       /* an IPv4 fragment or an IPv6 fragment header */
	uint8_t proto;       /* the upper-layer protocol (or the header we stopped at) */
	size_t ip_len;       /* the IP datagram, header included */
	size_t l4_off;       /* from the start of the frame */
	size_t l4_len;
	uint32_t pseudo;     /* pseudo-header sum without the length and protocol */
	size_t avail;        /* bytes of the frame held here (a guest frame's head copy
			      * holds fewer than its len): nothing beyond is read */
};

/* What the TCP/UDP header says. */
struct l4 {
	size_t hlen;         /* header length */
	size_t csum_off;     /* checksum field, from the start of the header */
	uint16_t csum;
	bool cwr;
};

/* The bytes off..off+len of the frame, as far as they are held. */
static struct cursor held(const uint8_t *frame, const struct l3 *p, size_t off, size_t len)
{
	size_t have = off < p->avail ? p->avail - off : 0;

	return cur_init(frame + (off < p->avail ? off : p->avail), len < have ? len : have);
}

static int parse_ipv4(const uint8_t *frame, size_t len, struct l3 *p)
{
	struct cursor c = cur_init(frame + PKT_ETH_HLEN, p->avail - PKT_ETH_HLEN);
	uint8_t vihl, proto, addrs[8];
	uint16_t tot, frag;
	size_t ihl;

	if (!cur_u8(&c, &vihl) || !cur_skip(&c, 1) || !cur_be16(&c, &tot) || !cur_skip(&c, 2) ||
	    !cur_be16(&c, &frag) || !cur_skip(&c, 1) || !cur_u8(&c, &proto) || !cur_skip(&c, 2) ||
	    !cur_bytes(&c, addrs, sizeof(addrs)))
		return -1;
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (vihl >> 4 != 4 || ihl < 20 || tot < ihl || tot > len - PKT_ETH_HLEN)
		return -1;
	p->v6 = false;
	p->fragment = (frag & 0x3fff) != 0;   /* more fragments, or an offset */
	p->proto = proto;
	p->ip_len = tot;
	p->l4_off = PKT_ETH_HLEN + ihl;
	p->l4_len = tot - ihl;
	p->pseudo = csum_add(0, addrs, sizeof(addrs));
	return 0;
}

/*
 * Hop-by-hop and destination options are skipped. A routing header is not:
 * the pseudo-header would name the final destination, not the one in the IPv6
 * header, so such frames are left without offload.
 */
static int skip_ipv6_ext(const uint8_t *frame, struct l3 *p)
{
	for (int i = 0; i < IP6_MAX_EXT; i++) {
		struct cursor c = held(frame, p, p->l4_off, p->l4_len);
		uint8_t next, units;
		size_t size;

		if (p->proto != IP6_HOPOPTS && p->proto != IP6_DSTOPTS)
			return 0;
		if (!cur_u8(&c, &next) || !cur_u8(&c, &units))
			return -1;
		size = ((size_t)units + 1) * 8;
		if (size > p->l4_len)
			return -1;
		p->proto = next;
		p->l4_off += size;
		p->l4_len -= size;
	}
	return 0;
}

static int parse_ipv6(const uint8_t *frame, size_t len, struct l3 *p)
{
	struct cursor c = cur_init(frame + PKT_ETH_HLEN, p->avail - PKT_ETH_HLEN);
	uint8_t ver, next, addrs[32];
	uint16_t plen;

	if (!cur_u8(&c, &ver) || !cur_skip(&c, 3) || !cur_be16(&c, &plen) || !cur_u8(&c, &next) ||
	    !cur_skip(&c, 1) || !cur_bytes(&c, addrs, sizeof(addrs)))
		return -1;
	if (ver >> 4 != 6 || (size_t)plen + 40 > len - PKT_ETH_HLEN)
		return -1;
	p->v6 = true;
	p->proto = next;
	p->ip_len = (size_t)plen + 40;
	p->l4_off = PKT_ETH_HLEN + 40;
	p->l4_len = plen;
	p->pseudo = csum_add(0, addrs, sizeof(addrs));
	if (skip_ipv6_ext(frame, p) < 0)
		return -1;
	p->fragment = p->proto == 44;
	return 0;
}

/* 1: an IP frame parsed into p, 0: not IP, -1: malformed IP. Of a frame of
 * len bytes, avail (at least the Ethernet header) are held at frame. */
static int parse_l3(const uint8_t *frame, size_t avail, size_t len, struct l3 *p)
{
	struct cursor c = cur_init(frame, avail);
	uint16_t type;

	p->avail = avail;
	if (!cur_skip(&c, 12) || !cur_be16(&c, &type))
		return -1;
	if (type == ETHERTYPE_IPV4)
		return parse_ipv4(frame, len, p) < 0 ? -1 : 1;
	if (type == ETHERTYPE_IPV6)
		return parse_ipv6(frame, len, p) < 0 ? -1 : 1;
	return 0;
}

static int parse_tcp(const uint8_t *frame, const struct l3 *p, struct l4 *t)
{
	struct cursor c = held(frame, p, p->l4_off, p->l4_len);
	uint8_t doff, flags;
	uint16_t csum;

	if (!cur_skip(&c, 12) || !cur_u8(&c, &doff) || !cur_u8(&c, &flags) || !cur_skip(&c, 2) ||
	    !cur_be16(&c, &csum))
		return -1;
	t->hlen = (size_t)(doff >> 4) * 4;
	if (t->hlen < 20 || t->hlen > p->l4_len)
		return -1;
	t->csum_off = TCP_CSUM_OFF;
	t->csum = csum;
	t->cwr = flags & TCP_CWR;
	return 0;
}

static int parse_udp(const uint8_t *frame, const struct l3 *p, struct l4 *u)
{
	struct cursor c = held(frame, p, p->l4_off, p->l4_len);
	uint16_t ulen, csum;

	if (!cur_skip(&c, 4) || !cur_be16(&c, &ulen) || !cur_be16(&c, &csum))
		return -1;
	if (ulen != p->l4_len)
		return -1;
	u->hlen = 8;
	u->csum_off = UDP_CSUM_OFF;
	u->csum = csum;
	u->cwr = false;
	return 0;
}

/* The checksum field as a sender leaves it for offload: the pseudo-header sum,
 * folded but not complemented. */
static uint16_t partial_csum(const struct l3 *p)
{
	uint8_t tail[4] = { 0, p->proto, (uint8_t)(p->l4_len >> 8), (uint8_t)p->l4_len };
	uint32_t sum = p->pseudo;

	/* The length is 32 bits in IPv6's pseudo-header, 16 in IPv4's; both are
	 * below 65536 here, so the same two bytes carry it. */
	sum = csum_add(sum, tail, sizeof(tail));
	return (uint16_t)~csum_fold(sum);
}

static void set_csum(struct virtio_net_hdr *hdr, const struct l3 *p, const struct l4 *t)
{
	hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr->csum_start = htole16((uint16_t)p->l4_off);
	hdr->csum_offset = htole16((uint16_t)t->csum_off);
	hdr->hdr_len = htole16((uint16_t)(p->l4_off + t->hlen));
}

/*
 * A frame longer than the MTU: one TCP segment the kernel cuts into MSS-sized
 * ones. The guest's own MSS is lost on the socket, so it is derived from the
 * MTU and this frame's IP and TCP headers (options included).
 */
static int build_gso(uint8_t *frame, const struct l3 *p, unsigned mtu,
		     struct virtio_net_hdr *hdr)
{
	struct l4 t;
	size_t l3_hlen = p->l4_off - PKT_ETH_HLEN, mss;

	if (p->proto != IPPROTO_TCP_ || p->fragment || parse_tcp(frame, p, &t) < 0)
		return -1;
	if (l3_hlen + t.hlen >= mtu)
		return -1;
	mss = mtu - l3_hlen - t.hlen;
	/* Segmentation adjusts the pseudo-header sum per segment, so the field
	 * must hold exactly that, whatever the VM left in it. */
	put_be16(frame + p->l4_off + TCP_CSUM_OFF, partial_csum(p));
	set_csum(hdr, p, &t);
	hdr->gso_type = (uint8_t)((p->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) |
				  (t.cwr ? VIRTIO_NET_HDR_GSO_ECN : 0));
	hdr->gso_size = htole16((uint16_t)mss);
	return 0;
}

/*
 * A frame that fits the MTU. A checksum field equal to the pseudo-header sum
 * is taken as partial and left to the kernel to finish. A complete checksum
 * could be equal by chance (1 in 65536); finishing it then yields the same
 * value, so the guess is always safe.
 */
static int build_single(const uint8_t *frame, const struct l3 *p, struct virtio_net_hdr *hdr)
{
	struct l4 t;

	if (p->fragment)
		return 0;   /* the checksum covers the whole datagram: the VM's job */
	if (p->proto == IPPROTO_TCP_) {
		if (parse_tcp(frame, p, &t) < 0)
			return -1;
	} else if (p->proto == IPPROTO_UDP_) {
		if (parse_udp(frame, p, &t) < 0)
			return -1;
		if (!p->v6 && t.csum == 0)
			return 0;   /* IPv4 UDP without a checksum */
	} else {
		return 0;
	}
	if (t.csum == partial_csum(p))
		set_csum(hdr, p, &t);
	return 0;
}

/*
 * The IPv4 header checksum is offloaded too (vmnet computes it "as
 * necessary"). Linux guests always fill it in, but a VM may leave it zero;
 * the kernel would drop such a datagram, so it is set here for every IPv4
 * frame. A correct checksum comes out the same.
 */
static void set_ipv4_header_csum(uint8_t *frame, const struct l3 *p)
{
	uint8_t *ip = frame + PKT_ETH_HLEN;

	put_be16(ip + IPV4_CSUM_OFF, 0);
	put_be16(ip + IPV4_CSUM_OFF, csum_fold(csum_add(0, ip, p->l4_off - PKT_ETH_HLEN)));
}

int offload_from_vm(uint8_t *frame, size_t len, unsigned mtu, bool tso,
		    struct virtio_net_hdr *hdr)
{
	struct l3 p;
	bool large = len > (size_t)mtu + PKT_ETH_HLEN;
	int ip;

	memset(hdr, 0, sizeof(*hdr));
	if (len < PKT_ETH_HLEN || len > PKT_MAX_FRAME || (large && !tso))
		return -1;
	ip = parse_l3(frame, len, len, &p);
	if (ip < 0 || (ip == 0 && large))
		return -1;
	if (ip == 0)
		return (int)len;
	/* Anything after the datagram is Ethernet padding; the kernel's
	 * checksum would cover it, so it does not go to the TAP. */
	len = PKT_ETH_HLEN + p.ip_len;
	large = len > (size_t)mtu + PKT_ETH_HLEN;
	if (large ? build_gso(frame, &p, mtu, hdr) : build_single(frame, &p, hdr))
		return -1;
	if (!p.v6)
		set_ipv4_header_csum(frame, &p);
	return (int)len;
}

/*
 * A guest's GSO request for the frame p describes (TCP in t): the type must
 * be TCP of the frame's own IP version (ECN only if negotiated), and its
 * segments must fit the MTU with these headers.
 */
static int guest_gso(const struct virtio_net_hdr *g, const struct l3 *p, const struct l4 *t,
		     unsigned mtu, unsigned allowed)
{
	unsigned type = g->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, size = le16toh(g->gso_size);
	size_t headers = p->l4_off - PKT_ETH_HLEN + t->hlen;

	if ((g->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(allowed & OFFLOAD_G_ECN))
		return -1;
	if (p->proto != IPPROTO_TCP_ || p->fragment)
		return -1;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 ? p->v6 || !(allowed & OFFLOAD_G_TSO4)
	    : type != VIRTIO_NET_HDR_GSO_TCPV6 || !p->v6 || !(allowed & OFFLOAD_G_TSO6))
		return -1;
	if (size == 0 || headers + size > mtu)
		return -1;
	return 0;
}

int offload_from_guest(const struct virtio_net_hdr *g, const uint8_t *head, size_t head_len,
		       size_t len, unsigned mtu, unsigned allowed, struct virtio_net_hdr *out)
{
	struct l3 p;
	struct l4 t;
	bool gso = g->gso_type != VIRTIO_NET_HDR_GSO_NONE;

	memset(out, 0, sizeof(*out));
	if (len < PKT_ETH_HLEN || head_len < PKT_ETH_HLEN || head_len > len || len > PKT_MAX_FRAME)
		return -1;
	if (g->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -1;   /* DATA_VALID and RSC_INFO are the device's to set */
	if (!(g->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return gso || len > (size_t)mtu + PKT_ETH_HLEN ? -1 : (int)len;
	if (!(allowed & OFFLOAD_G_CSUM) || parse_l3(head, head_len, len, &p) != 1 || p.fragment)
		return -1;
	if (p.proto == IPPROTO_TCP_ ? parse_tcp(head, &p, &t) < 0
	    : p.proto != IPPROTO_UDP_ || parse_udp(head, &p, &t) < 0)
		return -1;
	/* The header we judge is in the copy; the checksum goes where the
	 * frame's own protocol has it, nowhere else. */
	if (p.l4_off + t.hlen > head_len || le16toh(g->csum_start) != p.l4_off ||
	    le16toh(g->csum_offset) != t.csum_off)
		return -1;
	if (gso ? guest_gso(g, &p, &t, mtu, allowed) < 0 : p.ip_len > mtu)
		return -1;
	set_csum(out, &p, &t);
	out->gso_type = g->gso_type;
	out->gso_size = gso ? g->gso_size : 0;
	return (int)(PKT_ETH_HLEN + p.ip_len);
}

int offload_to_vm(const struct virtio_net_hdr *hdr, uint8_t *frame, size_t len)
{
	size_t start = le16toh(hdr->csum_start), off = le16toh(hdr->csum_offset);
	uint16_t csum;

	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (start > len || off > len - start || len - start - off < 2)
		return -1;
	csum = csum_fold(csum_add(0, frame + start, len - start));
	/* Zero and 0xffff are the same sum; zero means "none" in UDP. */
	if (csum == 0)
		csum = 0xffff;
	put_be16(frame + start + off, csum);
	return 0;
}
