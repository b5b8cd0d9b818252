/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checksum and segmentation offload between the VM's frames and the
 * TAP's virtio-net headers (offload.h). Pure: judges and rewrites frames a
 * VM sent; runs in the datapath.
 */
#include "parse/offload.h"

#include <endian.h>
#include <string.h>

#include "parse/frame.h"
#include "parse/pkt.h"

#define TCP_CSUM_OFF 16
#define IPV4_CSUM_OFF 10
#define UDP_CSUM_OFF 6
#define TCP_HLEN_MIN 20
#define UDP_HLEN 8
#define TCP_CWR 0x80
/* No TCP or UDP header offload may use (IPv6's "no next header"). */
#define NO_L4 59

/* What the IP layer of a frame says, as offload takes it from the view. */
struct l3 {
	bool v6;
	bool fragment;       /* an IPv4 fragment */
	uint8_t proto;       /* the upper-layer protocol, or NO_L4 */
	size_t ip_len;       /* the IP datagram, header included, as stated (for a
			      * head, frame_parse_head: more than the view holds) */
	size_t l4_off;       /* from the start of the frame */
	size_t l4_len;       /* to the stated datagram's end */
};

/* What the TCP/UDP header says. */
struct l4 {
	size_t hlen;         /* header length */
	size_t csum_off;     /* checksum field, from the start of the header */
	uint16_t csum;
	bool cwr;
};

/*
 * The IP layer of an IPv4 or IPv6 frame, 0, or -1 when it is malformed.
 * IPv6: hop-by-hop and destination options headers are skipped (one that
 * runs past the payload: malformed). Any other extension header is not: a
 * routing header would make the pseudo-header name the final destination,
 * not the one in the IPv6 header, and a fragment's checksum covers the
 * whole datagram, so such frames are left without offload (NO_L4), as are
 * frames whose TCP/UDP header comes after more than FRAME_EXT_MAX options
 * headers. head: v is a head's view (frame_parse_head), whose datagram may
 * be longer than the view holds (l3_stated); a whole frame's has l3_stated
 * == l3_len when l3_ok, and the socket path spares the sum.
 */
PKT_INLINE int l3_of(const struct frame_view *v, bool head, struct l3 *p)
{
	if (!v->l3_ok)
		return -1;
	p->v6 = v->l3 == FRAME_L3_IPV6;
	if (p->v6 && v->ext_opts_only && v->chain == FRAME_CHAIN_CUT)
		return -1;
	p->fragment = !p->v6 && (v->frag_first || v->frag_later);
	p->proto = v->has_l4 && (!p->v6 || v->ext_opts_only) ? v->l4_proto : NO_L4;
	p->l4_off = v->l4_off;
	if (head) {
		p->ip_len = v->l3_stated;
		p->l4_len = v->l4_len + (size_t)(v->l3_stated - v->l3_len);
	} else {
		p->ip_len = v->l3_len;
		p->l4_len = v->l4_len;
	}
	return 0;
}

PKT_INLINE int tcp_of(const struct frame_view *v, struct l4 *t)
{
	if (v->l4_len < FRAME_TCP_FIELDS_END || v->tcp_hlen < TCP_HLEN_MIN ||
	    v->tcp_hlen > v->l4_len)
		return -1;
	t->hlen = v->tcp_hlen;
	t->csum_off = TCP_CSUM_OFF;
	t->csum = v->l4_csum;
	t->cwr = v->tcp_flags & TCP_CWR;
	return 0;
}

PKT_INLINE int udp_of(const struct frame_view *v, const struct l3 *p, struct l4 *u)
{
	if (v->l4_len < FRAME_UDP_HLEN || v->udp_len != p->l4_len)
		return -1;
	u->hlen = UDP_HLEN;
	u->csum_off = UDP_CSUM_OFF;
	u->csum = v->l4_csum;
	u->cwr = false;
	return 0;
}

/* The checksum field as a sender leaves it for offload: the pseudo-header sum,
 * folded but not complemented. The addresses are read here, from the IP
 * header the view found whole. */
static uint16_t partial_csum(const uint8_t *frame, const struct frame_view *v, const struct l3 *p)
{
	uint8_t tail[4] = { 0, p->proto, (uint8_t)(p->l4_len >> 8), (uint8_t)p->l4_len };
	struct cursor ip = cur_init(frame + v->l3_off, v->l3_len);
	uint8_t addrs[32];
	size_t n = p->v6 ? 32 : 8;
	uint32_t sum = 0;

	if (cur_skip(&ip, p->v6 ? 8 : 12) && cur_bytes(&ip, addrs, n))
		sum = csum_add(0, addrs, n);

	/* The length is 32 bits in IPv6's pseudo-header, 16 in IPv4's; both are
	 * below 65536 here, so the same two bytes carry it. */
	sum = csum_add(sum, tail, sizeof(tail));
	return (uint16_t)~csum_fold(sum);
}

PKT_INLINE void set_csum(struct virtio_net_hdr *hdr, const struct l3 *p,
			  const struct l4 *t)
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
static int build_gso(uint8_t *frame, const struct frame_view *v, const struct l3 *p,
		     unsigned mtu, struct virtio_net_hdr *hdr)
{
	struct l4 t;
	size_t l3_hlen = p->l4_off - v->l3_off, mss;

	if (p->proto != FRAME_TCP || p->fragment || tcp_of(v, &t) < 0)
		return -1;
	if (l3_hlen + t.hlen >= mtu)
		return -1;
	mss = mtu - l3_hlen - t.hlen;
	/* Segmentation adjusts the pseudo-header sum per segment, so the field
	 * must hold exactly that, whatever the VM left in it (the view's
	 * l4_csum is stale from here on). */
	put_be16(frame + p->l4_off + TCP_CSUM_OFF, partial_csum(frame, v, p));
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
static int build_single(const uint8_t *frame, const struct frame_view *v, const struct l3 *p,
			struct virtio_net_hdr *hdr)
{
	struct l4 t;

	if (p->fragment)
		return 0;   /* the checksum covers the whole datagram: the VM's job */
	if (p->proto == FRAME_TCP) {
		if (tcp_of(v, &t) < 0)
			return -1;
	} else if (p->proto == FRAME_UDP) {
		if (udp_of(v, p, &t) < 0)
			return -1;
		if (!p->v6 && t.csum == 0)
			return 0;   /* IPv4 UDP without a checksum */
	} else {
		return 0;
	}
	if (t.csum == partial_csum(frame, v, p))
		set_csum(hdr, p, &t);
	return 0;
}

/*
 * The IPv4 header checksum is offloaded too (vmnet computes it "as
 * necessary"). Linux guests always fill it in, but a VM may leave it zero;
 * the kernel would drop such a datagram, so it is set here for every IPv4
 * frame. A correct checksum comes out the same.
 */
static void set_ipv4_header_csum(uint8_t *frame, const struct frame_view *v)
{
	uint8_t *ip = frame + v->l3_off;

	put_be16(ip + IPV4_CSUM_OFF, 0);
	put_be16(ip + IPV4_CSUM_OFF, csum_fold(csum_add(0, ip, v->ip4_hlen)));
}

int offload_from_vm_view(uint8_t *frame, const struct frame_view *v, unsigned mtu, bool tso,
			 struct virtio_net_hdr *hdr)
{
	struct l3 p;
	size_t len = v->len;
	bool large = len > (size_t)mtu + PKT_ETH_HLEN;

	memset(hdr, 0, sizeof(*hdr));
	if (len < PKT_ETH_HLEN || len > PKT_MAX_FRAME || (large && !tso))
		return -1;
	if (v->l3 != FRAME_L3_IPV4 && v->l3 != FRAME_L3_IPV6)
		return large ? -1 : (int)len;
	if (l3_of(v, false, &p) < 0)
		return -1;
	/* Anything after the datagram is Ethernet padding; the kernel's
	 * checksum would cover it, so it does not go to the TAP. */
	len = v->l3_off + p.ip_len;
	large = len > (size_t)mtu + PKT_ETH_HLEN;
	if (large ? build_gso(frame, v, &p, mtu, hdr) : build_single(frame, v, &p, hdr))
		return -1;
	if (!p.v6)
		set_ipv4_header_csum(frame, v);
	return (int)len;
}

int offload_from_vm(uint8_t *frame, size_t len, unsigned mtu, bool tso,
		    struct virtio_net_hdr *hdr)
{
	struct frame_view v;

	if (!frame_parse(frame, len, &v)) {
		memset(hdr, 0, sizeof(*hdr));
		return -1;
	}
	return offload_from_vm_view(frame, &v, mtu, tso, hdr);
}

/*
 * A guest's GSO request for the frame p describes (TCP in t): the type must
 * be TCP of the frame's own IP version (ECN only if negotiated), and its
 * segments must fit the MTU with these headers.
 */
static int guest_gso(const struct virtio_net_hdr *g, const struct frame_view *v,
		     const struct l3 *p, const struct l4 *t, unsigned mtu, unsigned allowed)
{
	unsigned type = g->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, size = le16toh(g->gso_size);
	size_t headers = p->l4_off - v->l3_off + t->hlen;

	if ((g->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(allowed & OFFLOAD_G_ECN))
		return -1;
	if (p->proto != FRAME_TCP || p->fragment)
		return -1;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 ? p->v6 || !(allowed & OFFLOAD_G_TSO4)
	    : type != VIRTIO_NET_HDR_GSO_TCPV6 || !p->v6 || !(allowed & OFFLOAD_G_TSO6))
		return -1;
	if (size == 0 || headers + size > mtu)
		return -1;
	return 0;
}

/*
 * The view is of the copy's head_len bytes (v->len), its IP length clipped
 * to them (frame_parse_head): offsets and header fields come from it, the
 * datagram's stated length from l3_stated. Nothing of the frame is read
 * here but through the view.
 */
int offload_from_guest_view(const struct virtio_net_hdr *g, const struct frame_view *v,
			    size_t len, unsigned mtu, unsigned allowed, struct virtio_net_hdr *out)
{
	struct l3 p;
	struct l4 t;
	bool gso = g->gso_type != VIRTIO_NET_HDR_GSO_NONE;

	memset(out, 0, sizeof(*out));
	if (len < PKT_ETH_HLEN || v->len < PKT_ETH_HLEN || v->len > len || len > PKT_MAX_FRAME)
		return -1;
	if (g->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -1;   /* DATA_VALID and RSC_INFO are the device's to set */
	if (!(g->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return gso || len > (size_t)mtu + PKT_ETH_HLEN ? -1 : (int)len;
	if (!(allowed & OFFLOAD_G_CSUM) || (v->l3 != FRAME_L3_IPV4 && v->l3 != FRAME_L3_IPV6) ||
	    l3_of(v, true, &p) < 0 || p.fragment)
		return -1;
	if (p.proto == FRAME_TCP ? tcp_of(v, &t) < 0
	    : p.proto != FRAME_UDP || udp_of(v, &p, &t) < 0)
		return -1;
	/* The header we judge is in the copy (tcp_of, udp_of: within the
	 * view); the checksum goes where the frame's own protocol has it,
	 * nowhere else. */
	if (p.l4_off + t.hlen > v->len || le16toh(g->csum_start) != p.l4_off ||
	    le16toh(g->csum_offset) != t.csum_off)
		return -1;
	if (gso ? guest_gso(g, v, &p, &t, mtu, allowed) < 0 : p.ip_len > mtu)
		return -1;
	set_csum(out, &p, &t);
	out->gso_type = g->gso_type;
	out->gso_size = gso ? g->gso_size : 0;
	return (int)(v->l3_off + p.ip_len);
}

int offload_from_guest(const struct virtio_net_hdr *g, const uint8_t *head, size_t head_len,
		       size_t len, unsigned mtu, unsigned allowed, struct virtio_net_hdr *out)
{
	struct frame_view v;

	if (head_len > len || !frame_parse_head(head, head_len, len, &v)) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return offload_from_guest_view(g, &v, len, mtu, allowed, out);
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
