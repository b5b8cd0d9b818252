/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict on each frame from the VM (vmframe.h): the guards, DHCP and
 * NDP recognised, offload applied. Pure: the first code to read what a VM
 * sends; runs in the datapath.
 */
#include "parse/vmframe.h"

#include <string.h>

#include "parse/dhcp.h"
#include "parse/frame.h"
#include "parse/ndp.h"
#include "parse/pkt.h"

#define ARPHRD_ETHER_ 1
#define ARPHRD_IEEE802_ 6
#define ARP_REQUEST 1
#define ARP_REPLY 2

/* Neighbour discovery's ICMPv6 types: RS, RA, NS, NA, redirect. */
#define ICMP6_ND_FIRST 133
#define ICMP6_ND_LAST 137

/* IPv4 link-local (RFC 3927): never routed, fine for a VM to use. */
#define IP4_LL_NET 0xa9fe0000u
#define IP4_LL_MASK 0xffff0000u

static bool mac_eq(const uint8_t a[6], const uint8_t b[6])
{
	return memcmp(a, b, 6) == 0;
}

/* What a bridge accepts as a source (is_valid_ether_addr): unicast, not zero. */
static bool mac_valid_source(const uint8_t m[6])
{
	static const uint8_t zero[6];

	return !(m[0] & 1) && !mac_eq(m, zero);
}

/* What an address in a frame is to the VM (IPv4 sources, ARP senders; IPv6
 * frames only pass or fail here, their addresses are addrs6_own's). */
enum own {
	OWN_NOT,       /* not the VM's: dropped */
	OWN_YES,
	OWN_CLAIM,     /* in the pool, set by hand, not asked for yet */
};

static bool addr4_in(const uint32_t *set, unsigned n, uint32_t a)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == a)
			return true;
	return false;
}

/* An address of the pool that is not the lease: the VM's if it was granted,
 * to be claimed unless refused before or asked for too often. Rare: kept
 * out of line, so ip4_own stays small on every frame's path. */
__attribute__((noinline, cold))
static enum own pool_own(const struct vmframe_config *c, uint32_t a)
{
	const struct vmframe_addrs4 *s = c->addrs4;

	if (!s)
		return OWN_NOT;
	if (addr4_in(s->addr, s->n, a))
		return OWN_YES;
	if (s->n == VMF_ADDRS4 || s->asks >= VMF_ADDR4_ASKS ||
	    addr4_in(s->refused, s->nrefused < 4 ? s->nrefused : 4, a))
		return OWN_NOT;
	return OWN_CLAIM;
}

/* An IPv4 source or ARP sender address the VM may use. */
PKT_INLINE enum own ip4_own(const struct vmframe_config *c, uint32_t a)
{
	if (a == 0 || (a & IP4_LL_MASK) == IP4_LL_NET)
		return OWN_YES;              /* DHCP clients, ARP probes, RFC 3927 */
	if ((a & c->mask) != (c->gateway & c->mask) || a == c->gateway)
		return OWN_NOT;
	if (a >= c->pool_first && a <= c->pool_last && a != c->lease)
		return pool_own(c, a);        /* the pool: our lease, or set by hand */
	return OWN_YES;                      /* our lease, or static assignment */
}

/*
 * ARP as Linux's arp_rcv/arp_process take it (Ethernet hardware, IPv4,
 * request or reply); anything else no receiver would act on, so it goes.
 * Receivers learn sender address -> sender MAC from it. *spa: the sender's.
 */
PKT_INLINE enum own arp_own(const struct vmframe_config *c, struct cursor p,
			     const uint8_t eth_src[6], uint32_t *spa)
{
	uint16_t hrd, pro, op;
	uint8_t hln, pln, sha[6];

	if (!cur_be16(&p, &hrd) || !cur_be16(&p, &pro) || !cur_u8(&p, &hln) ||
	    !cur_u8(&p, &pln) || !cur_be16(&p, &op) || !cur_bytes(&p, sha, 6) ||
	    !cur_be32(&p, spa) || !cur_skip(&p, 10))
		return OWN_NOT;
	if ((hrd != ARPHRD_ETHER_ && hrd != ARPHRD_IEEE802_) || pro != ETHERTYPE_IPV4 ||
	    hln != 6 || pln != 4 || (op != ARP_REQUEST && op != ARP_REPLY))
		return OWN_NOT;
	return mac_eq(sha, eth_src) ? ip4_own(c, *spa) : OWN_NOT;
}

/* The claim of a pool address (pool_own said OWN_CLAIM), once the frame's
 * MAC is the VM's. */
static enum vmframe_verdict addr4_claim(const struct vmframe_config *c, uint32_t a)
{
	c->addrs4->claim = a;
	c->addrs4->asks++;
	return VMF_CLAIM4;
}

static bool is_gateway6(const struct vmframe_config *c, const uint8_t a[16])
{
	return memcmp(a, c->gateway_ll6, 16) == 0 ||
	       (c->has_gateway6 && memcmp(a, c->gateway6, 16) == 0);
}

/* IPv6: nothing the gateway's, no router or DHCPv6 server. */
PKT_INLINE bool ip6_own(const struct vmframe_config *c, const struct ndp_msg *m)
{
	if (m->kind == NDP_ROGUE || m->lla_foreign || is_gateway6(c, m->src))
		return false;
	return !(m->has_target && m->advert && is_gateway6(c, m->target));
}

/* The source MAC: ours, our second one, or the claim of a second one. */
PKT_INLINE enum vmframe_verdict
mac_own(const struct vmframe_config *c, const uint8_t src[6])
{
	struct vmframe_macs *m = c->macs;

	if (mac_eq(src, c->vm_mac))
		return VMF_FORWARD;
	if (!m)
		return VMF_DROP;
	switch (m->state) {
	case VMF_MAC_NONE:
		memcpy(m->mac, src, 6);
		m->state = VMF_MAC_CLAIMING;
		return VMF_CLAIM;
	case VMF_MAC_OWNED:
		return mac_eq(src, m->mac) ? VMF_FORWARD : VMF_DROP;
	default:
		return VMF_DROP;
	}
}

static bool addr6_in(const uint8_t (*set)[16], unsigned n, const uint8_t a[16])
{
	for (unsigned i = 0; i < n; i++)
		if (memcmp(set[i], a, 16) == 0)
			return true;
	return false;
}

/*
 * One IPv6 address the frame makes receivers learn: the VM's already, to be
 * claimed (VMF_CLAIM6), another VM's (VMF_DAD_TAKEN: the helper was told so),
 * or not the VM's for now (VMF_DROP: the VM asked too often, or holds
 * VMF_ADDRS6). The unspecified and multicast addresses are no one's.
 */
static enum vmframe_verdict addr6_own(const struct vmframe_config *c, const uint8_t a[16],
				      const uint8_t src_mac[6])
{
	static const uint8_t unspecified[16];
	struct vmframe_addrs6 *s = c->addrs6;

	if (!s || a[0] == 0xff || memcmp(a, unspecified, 16) == 0 ||
	    addr6_in((const uint8_t (*)[16])s->addr, s->n, a))
		return VMF_FORWARD;
	if (addr6_in((const uint8_t (*)[16])s->refused, s->nrefused < 4 ? s->nrefused : 4, a))
		return VMF_DAD_TAKEN;
	if (s->n == VMF_ADDRS6 || s->asks >= VMF_ADDR6_ASKS)
		return VMF_DROP;
	memcpy(s->claim, a, 16);
	memcpy(s->claim_mac, src_mac, 6);
	s->asks++;
	return VMF_CLAIM6;
}

/* Duplicate address detection (RFC 4862): a solicitation from ::. */
PKT_INLINE bool is_probe(const struct ndp_msg *m)
{
	static const uint8_t unspecified[16];

	return m->has_target && !m->advert && memcmp(m->src, unspecified, 16) == 0;
}

/*
 * The IPv6 source, and the target of an advertisement, must be the VM's.
 * A probe claims its target: a VM that answered other VMs' probes with its
 * own (or with advertisements) would make their addresses fail detection.
 * A probe for an address another VM holds gets VMF_DAD_TAKEN, so the
 * helper can answer it for that VM; the gateway's are left to the host,
 * which defends them itself.
 */
PKT_INLINE enum vmframe_verdict addrs6_own(const struct vmframe_config *c,
					   const struct ndp_msg *m, const uint8_t src_mac[6])
{
	enum vmframe_verdict v = addr6_own(c, m->src, src_mac);

	if (v == VMF_FORWARD && m->has_target && m->advert)
		v = addr6_own(c, m->target, src_mac);
	else if (v == VMF_FORWARD && is_probe(m) && !is_gateway6(c, m->target)) {
		v = addr6_own(c, m->target, src_mac);
		if (v == VMF_DAD_TAKEN && c->addrs6)   /* only with addrs6 set */
			memcpy(c->addrs6->claim, m->target, 16);
		return v;
	}
	return v == VMF_DAD_TAKEN ? VMF_DROP : v;
}

/* Every guard of shared and host mode, in the order a receiver would read
 * the frame's view. *ndp: what the IPv6 guard saw (for check_local).
 * Inlined into vmframe_check and the head's check alike: out of line it
 * cost the socket path about 60 instructions a frame (bench/framecost.sh). */
PKT_INLINE enum vmframe_verdict check_guards(const struct vmframe_config *c,
					     const uint8_t *frame, const struct frame_view *fv,
					     struct ndp_msg *ndp)
{
	enum vmframe_verdict v;
	enum own o = OWN_YES;
	uint32_t a4 = 0;
	bool ip6 = false;

	if (!mac_valid_source(fv->src) || mac_eq(fv->src, c->gateway_mac) || fv->tagged)
		return VMF_DROP;
	if (fv->l3 == FRAME_L3_ARP) {
		o = arp_own(c, cur_init(frame + fv->l3_off, fv->len - fv->l3_off), fv->src, &a4);
	} else if (fv->l3 == FRAME_L3_IPV4) {
		/* A header Linux's ip_rcv_core would refuse (the view's
		 * l3_ok: but the checksum, which offload may leave to us). */
		a4 = fv->ip4_src;
		o = fv->l3_ok ? ip4_own(c, a4) : OWN_NOT;
	} else if ((ip6 = ndp_inspect(frame, fv, ndp)) && !ip6_own(c, ndp)) {
		o = OWN_NOT;
	}
	if (o == OWN_NOT)
		return VMF_DROP;
	/* The MAC first: an address is bound to a MAC the VM owns. */
	v = mac_own(c, fv->src);
	if (v == VMF_FORWARD && ip6)
		v = addrs6_own(c, ndp, fv->src);
	else if (o == OWN_CLAIM && v == VMF_FORWARD)
		v = addr4_claim(c, a4);   /* an ARP or IPv4 frame's pool address */
	return v;
}

/* Frames the helper answers or refuses itself (shared and host mode). */
static enum vmframe_verdict check_local(const struct vmframe_config *c,
					const struct frame_view *fv, const struct ndp_msg *ndp,
					bool *handled)
{
	*handled = true;
	/* A router advertisement or DHCPv6 server message was dropped already. */
	if (ndp->kind == NDP_RS && c->ra)
		return VMF_RS;
	switch (dhcp_classify_view(fv)) {
	case DHCP_CLIENT:
		return VMF_DHCP;
	case DHCP_SERVER:
		/* A VM must not hand out addresses on our network. */
		return VMF_DROP;
	default:
		break;
	}
	*handled = false;
	return VMF_FORWARD;
}

/* The checks after the parse (vmframe_check, vmframe_check_view); inlined
 * into both, so vmframe_check keeps one stack frame (bench/framecost.sh). */
PKT_INLINE enum vmframe_verdict check_parsed(const struct vmframe_config *c, uint8_t *frame,
					     const struct frame_view *fv, size_t *len,
					     struct virtio_net_hdr *hdr)
{
	enum vmframe_verdict v;
	struct ndp_msg ndp = { .kind = NDP_NONE };
	bool handled;

	if (c->local) {
		v = check_guards(c, frame, fv, &ndp);
		if (v != VMF_FORWARD)
			return v;
		v = check_local(c, fv, &ndp, &handled);
		if (handled)
			return v;
	}
	if (c->vnet_hdr) {
		int n = offload_from_vm_view(frame, fv, c->mtu, c->tso, hdr);
		if (n <= 0)
			return VMF_DROP;
		*len = (size_t)n;
	}
	return VMF_FORWARD;
}

/*
 * The frame is parsed once, into its view (frame.h), when anything is to
 * read it: the guards, NDP and DHCP read the view, then offload, the last
 * to read it, may rewrite checksum fields in place. A frame checked again
 * after a claim is parsed again (the claims are few: vmframe.h's bounds).
 */
enum vmframe_verdict vmframe_check(const struct vmframe_config *c, uint8_t *frame, size_t *len,
				   bool truncated, struct virtio_net_hdr *hdr)
{
	struct frame_view fv;

	if (truncated || *len < PKT_ETH_HLEN || *len > c->max_packet)
		return VMF_DROP;
	if (!c->local && !c->vnet_hdr)
		return VMF_FORWARD;
	frame_parse(frame, *len, &fv);
	return check_parsed(c, frame, &fv, len, hdr);
}

enum vmframe_verdict vmframe_check_view(const struct vmframe_config *c, uint8_t *frame,
					const struct frame_view *fv, size_t *len,
					struct virtio_net_hdr *hdr)
{
	if (*len != fv->len || *len < PKT_ETH_HLEN || *len > c->max_packet)
		return VMF_DROP;
	if (!c->local && !c->vnet_hdr)
		return VMF_FORWARD;
	return check_parsed(c, frame, fv, len, hdr);
}

/*
 * A long frame's head, in its view (frame_parse_head: the IP length clipped
 * to the head, so the guards read a shorter frame with the same headers; an
 * IP length beyond the whole frame leaves the header not l3_ok, which the
 * guards drop, as a kernel would).
 */
enum vmframe_verdict vmframe_check_head_view(const struct vmframe_config *c, const uint8_t *head,
					     const struct frame_view *fv, size_t len)
{
	struct ndp_msg ndp = { .kind = NDP_NONE };
	enum vmframe_verdict v;
	bool handled;

	if (fv->len < VMFRAME_HEAD_MIN || fv->len > VMFRAME_HEAD || fv->len >= len ||
	    len > c->max_packet)
		return VMF_DROP;
	if (!c->local)
		return VMF_FORWARD;
	v = check_guards(c, head, fv, &ndp);
	if (v != VMF_FORWARD)
		return v;
	/* Neighbour discovery is judged whole (its options name addresses),
	 * and nothing is answered from part of a frame. */
	if (fv->icmp6_type >= ICMP6_ND_FIRST && fv->icmp6_type <= ICMP6_ND_LAST)
		return VMF_DROP;
	check_local(c, fv, &ndp, &handled);
	return handled ? VMF_DROP : VMF_FORWARD;
}

enum vmframe_verdict vmframe_check_head(const struct vmframe_config *c, const uint8_t *head,
					size_t head_len, size_t len)
{
	struct frame_view fv;

	if (head_len < VMFRAME_HEAD_MIN || head_len > VMFRAME_HEAD || head_len >= len ||
	    len > c->max_packet)
		return VMF_DROP;
	if (!c->local)
		return VMF_FORWARD;
	frame_parse_head(head, head_len, len, &fv);
	return vmframe_check_head_view(c, head, &fv, len);
}

void vmframe_mac_granted(struct vmframe_macs *m, bool granted)
{
	if (m->state == VMF_MAC_CLAIMING)
		m->state = granted ? VMF_MAC_OWNED : VMF_MAC_REFUSED;
}

void vmframe_addr4_granted(struct vmframe_addrs4 *a, bool granted)
{
	if (granted && a->n < VMF_ADDRS4 && !addr4_in(a->addr, a->n, a->claim))
		a->addr[a->n++] = a->claim;
	else if (!granted)
		a->refused[a->nrefused++ % 4] = a->claim;
}

void vmframe_addr6_granted(struct vmframe_addrs6 *a, bool granted)
{
	if (granted && a->n < VMF_ADDRS6 &&
	    !addr6_in((const uint8_t (*)[16])a->addr, a->n, a->claim)) {
		memcpy(a->addr[a->n++], a->claim, 16);
	} else if (!granted) {
		memcpy(a->refused[a->nrefused % 4], a->claim, 16);
		a->nrefused++;
	}
}
