/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vmframe_check(), the verdict every frame from the VM
 * gets before anything else looks at it. The first input byte is the
 * configuration (which mode, offload, TSO, MTU, whether the frame arrived
 * truncated), the second the guards' state (the VM's second MAC: none yet,
 * granted or refused; whether the gateway has a global IPv6 address; whether
 * IPv6 addresses are bound, one already, and whether a claim is granted;
 * whether pool addresses set by hand may be claimed, one already: 32); the
 * rest is the frame. A frame the helper must answer (DHCP, a probe for an
 * address another VM holds) is answered into a buffer as forward.c does.
 * Checks the verdict agrees with the classifiers and the limits, that a
 * forwarded frame is the VM's own (unchanged without offload; same Ethernet
 * header, no longer, a consistent virtio-net header with it), that claims
 * are for addresses not the VM's yet, and that replies are well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dhcp.h"
#include "parse/ndp.h"
#include "offload_check.h"
#include "parse/pkt.h"
#include "parse/vmframe.h"

/* Shared/host mode's default, --mtu's range (1280..65520), bridged mode's
 * (the interface's, up to 65536), and smaller than allowed. */
static const unsigned mtus[8] = { 1500, 1500, 1500, 9000, 1280, 65520, 65536, 576 };

static const struct dhcp_config dhcp = {
	.server = 0xc0a86901u, .mask = 0xffffff00u, .yiaddr = 0xc0a86902u,
	.dns = 0xc0a86901u, .lease_time = 86400,
	.server_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
};

/* The guards' view of the network: shared mode's default one, our lease .2. */
static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t own_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static struct vmframe_macs macs;
static struct vmframe_addrs6 addrs6;
static struct vmframe_addrs4 addrs4;
/* Recorded already when claims are on: .100, set by hand in the pool. */
#define HAND4 0xc0a86964u
/* Bound already when binding is on: the VM's link-local. */
static const uint8_t vm_ll[16] = { 0xfe, 0x80, [8] = 0x08, 0xd6, 0x36, 0xff, 0xfe, 0xc1, 0xea, 0xf3 };

static struct vmframe_config config(uint8_t b, uint8_t g, bool *truncated)
{
	struct vmframe_config c = {
		.local = b & 1, .ra = b & 2, .vnet_hdr = b & 4, .mtu = mtus[b >> 5],
		.gateway = 0xc0a86901u, .mask = 0xffffff00u, .pool_first = 0xc0a86902u,
		.pool_last = 0xc0a869feu, .lease = 0xc0a86902u, .has_gateway6 = g & 4,
		.gateway6 = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3, [15] = 1 },
		.macs = &macs,
	};

	memcpy(c.vm_mac, vm_mac, 6);
	memcpy(c.gateway_mac, dhcp.server_mac, 6);
	ndp_link_local(c.gateway_mac, c.gateway_ll6);
	macs = (struct vmframe_macs){ .state = (enum vmframe_mac_state)(g & 3) };
	memcpy(macs.mac, own_mac, 6);
	memset(&addrs6, 0, sizeof(addrs6));
	if (g & 8) {
		memcpy(addrs6.addr[0], vm_ll, 16);
		addrs6.n = 1;
		c.addrs6 = &addrs6;
	}
	memset(&addrs4, 0, sizeof(addrs4));
	if (g & 32) {
		addrs4.addr[0] = HAND4;
		addrs4.n = 1;
		c.addrs4 = &addrs4;
	}

	c.tso = c.vnet_hdr && (b & 8);
	/* As helper_max_packet() (common/helper.c): with TSO at least PKT_MAX_FRAME. */
	c.max_packet = c.mtu + 14;
	if (c.tso && c.max_packet < PKT_MAX_FRAME)
		c.max_packet = PKT_MAX_FRAME;
	*truncated = b & 16;
	return c;
}

/* As forward.c answers it: into a 1024-byte buffer. */
static void check_dhcp(const uint8_t *frame, size_t len)
{
	uint8_t out[1024];
	int n = dhcp_reply(&dhcp, frame, len, out, sizeof(out));

	if (n <= 0)
		return;
	if (n < 14 + 20 + 8 + 300 || csum_fold(csum_add(0, out + 14, 20)) != 0 ||
	    memcmp(out + 6, dhcp.server_mac, 6) != 0 || dhcp_classify(out, (size_t)n) != DHCP_SERVER)
		abort();
}

static void check_forward(const struct vmframe_config *c, const uint8_t *orig, size_t len,
			  uint8_t *frame, size_t n, const struct virtio_net_hdr *h)
{
	enum ndp_kind nk = ndp_classify(orig, len);

	/* What the helper answers or refuses never reaches the TAP. */
	if (c->local && (dhcp_classify(orig, len) != DHCP_NONE || nk == NDP_ROGUE ||
			 (nk == NDP_RS && c->ra)))
		abort();
	if (n < 14 || n > len || memcmp(frame, orig, 14) != 0)
		abort();
	if (!c->vnet_hdr) {
		if (n != len || memcmp(frame, orig, len) != 0)
			abort();
		return;
	}
	if (!c->tso && n > c->mtu + 14)
		abort();
	offload_check(h, frame, n, c->mtu);
}

/* Shared/host mode: nothing untagged-looking hides behind a VLAN tag, and
 * only the VM's own MACs get anywhere; a claim is for a new MAC, once. */
static void check_own(const uint8_t *orig, enum vmframe_verdict v, enum vmframe_mac_state before)
{
	uint16_t type = (uint16_t)(orig[12] << 8 | orig[13]);

	if (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200)
		abort();
	if (memcmp(orig + 6, dhcp.server_mac, 6) == 0 || (orig[6] & 1))
		abort();
	if (v == VMF_CLAIM) {
		if (before != VMF_MAC_NONE || macs.state != VMF_MAC_CLAIMING ||
		    memcmp(macs.mac, orig + 6, 6) != 0 || memcmp(orig + 6, vm_mac, 6) == 0)
			abort();
		return;
	}
	if (memcmp(orig + 6, vm_mac, 6) != 0 &&
	    (before != VMF_MAC_OWNED || memcmp(orig + 6, own_mac, 6) != 0))
		abort();
}

/* A claim is for an IPv6 frame's address not bound yet, and no one's
 * (unspecified, multicast) is ever claimed. */
static void check_claim6(const struct vmframe_config *c, const uint8_t *orig, size_t len,
			 const uint8_t *frame)
{
	static const uint8_t unspecified[16];

	if (!c->addrs6 || len < 14 || orig[12] != 0x86 || orig[13] != 0xdd ||
	    memcmp(frame, orig, len) != 0 || addrs6.claim[0] == 0xff ||
	    memcmp(addrs6.claim, unspecified, 16) == 0 || memcmp(addrs6.claim_mac, orig + 6, 6) != 0)
		abort();
	for (unsigned i = 0; i < addrs6.n; i++)
		if (memcmp(addrs6.addr[i], addrs6.claim, 16) == 0)
			abort();
}

/* A claim of a pool address: an IPv4 or ARP frame's, in the pool, not the
 * lease nor one the VM has already. */
static void check_claim4(const struct vmframe_config *c, const uint8_t *orig, size_t len,
			 const uint8_t *frame)
{
	if (!c->addrs4 || len < 14 || orig[12] != 0x08 || (orig[13] != 0x00 && orig[13] != 0x06) ||
	    memcmp(frame, orig, len) != 0 || addrs4.claim < c->pool_first ||
	    addrs4.claim > c->pool_last || addrs4.claim == c->lease)
		abort();
	for (unsigned i = 0; i < addrs4.n; i++)
		if (addrs4.addr[i] == addrs4.claim)
			abort();
}

/* A probe for an address another VM holds: an IPv6 frame, dropped; the
 * answer, as forward.c builds it, is well formed and names that address. */
static void check_dad_taken(const struct vmframe_config *c, const uint8_t *orig, size_t len)
{
	struct ndp_config gw = { 0 };
	uint8_t na[128];
	int n;

	if (!c->addrs6 || len < 14 || orig[12] != 0x86 || orig[13] != 0xdd)
		abort();
	memcpy(gw.router_mac, c->gateway_mac, 6);
	memcpy(gw.router_ll, c->gateway_ll6, 16);
	n = ndp_build_na(&gw, addrs6.claim, na, sizeof(na));
	if (n != 14 + 40 + 24 || na[54] != 136 || memcmp(na + 62, addrs6.claim, 16) != 0 ||
	    ndp_classify(na, (size_t)n) != NDP_NONE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr hdr;
	struct vmframe_config c;
	bool truncated;
	uint8_t *frame, *orig;
	size_t len, n;

	if (size < 2)
		return 0;
	c = config(data[0], data[1], &truncated);
	enum vmframe_mac_state before = macs.state;
	len = n = size - 2;
	/* Exact-size copies so ASan sees any read past the frame. */
	frame = malloc(len ? len : 1);
	orig = malloc(len ? len : 1);
	if (!frame || !orig)
		abort();
	memcpy(frame, data + 2, len);
	memcpy(orig, data + 2, len);
	memset(&hdr, 0, sizeof(hdr));
	enum vmframe_verdict v = vmframe_check(&c, frame, &n, truncated, &hdr);
	/* As forward.c: an address claimed is answered, the frame checked again. */
	if (v == VMF_CLAIM4) {
		check_claim4(&c, orig, len, frame);
		vmframe_addr4_granted(&addrs4, data[1] & 16);
		n = len;
		v = vmframe_check(&c, frame, &n, truncated, &hdr);
	}
	for (int i = 0; i < 2 && v == VMF_CLAIM6; i++) {
		check_claim6(&c, orig, len, frame);
		vmframe_addr6_granted(&addrs6, data[1] & 16);
		n = len;
		v = vmframe_check(&c, frame, &n, truncated, &hdr);
	}
	/* Runts, frames over the limit and truncated ones are dropped whatever they hold. */
	if (v != VMF_DROP && (truncated || len < 14 || len > c.max_packet))
		abort();
	if (v != VMF_DROP && c.local)
		check_own(orig, v, before);
	switch (v) {
	case VMF_DROP:
	case VMF_CLAIM:
	case VMF_CLAIM6:
	case VMF_CLAIM4:
		break;
	case VMF_DAD_TAKEN:
		check_dad_taken(&c, orig, len);
		break;
	case VMF_FORWARD:
		check_forward(&c, orig, len, frame, n, &hdr);
		break;
	case VMF_DHCP:
		if (!c.local || dhcp_classify(orig, len) != DHCP_CLIENT || memcmp(frame, orig, len) != 0)
			abort();
		check_dhcp(frame, len);
		break;
	case VMF_RS:
		if (!c.local || !c.ra || ndp_classify(orig, len) != NDP_RS)
			abort();
		break;
	default:
		abort();
	}
	free(frame);
	free(orig);
	return 0;
}
