/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vmframe_check(), the verdict every frame from the VM
 * gets before anything else looks at it. The first input byte is the
 * configuration (which mode, offload, TSO, MTU, whether the frame arrived
 * truncated); the rest is the frame. A frame the helper must answer (DHCP)
 * is answered into a buffer as forward.c does. Checks the verdict agrees with
 * the classifiers and the limits, that a forwarded frame is the VM's own
 * (unchanged without offload; same Ethernet header, no longer, a consistent
 * virtio-net header with it) and that replies are well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"
#include "ndp.h"
#include "offload_check.h"
#include "pkt.h"
#include "vmframe.h"

/* Shared/host mode's default, --mtu's range (1280..65520), bridged mode's
 * (the interface's, up to 65536), and smaller than allowed. */
static const unsigned mtus[8] = { 1500, 1500, 1500, 9000, 1280, 65520, 65536, 576 };

static const struct dhcp_config dhcp = {
	.server = 0xc0a86901u, .mask = 0xffffff00u, .yiaddr = 0xc0a86902u,
	.dns = 0xc0a86901u, .lease_time = 86400,
	.server_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
};

static struct vmframe_config config(uint8_t b, bool *truncated)
{
	struct vmframe_config c = {
		.local = b & 1, .ra = b & 2, .vnet_hdr = b & 4, .mtu = mtus[b >> 5],
	};

	c.tso = c.vnet_hdr && (b & 8);
	/* As main.c's max_packet(): with TSO at least OFFLOAD_MAX_PACKET. */
	c.max_packet = c.mtu + 14;
	if (c.tso && c.max_packet < OFFLOAD_MAX_PACKET)
		c.max_packet = OFFLOAD_MAX_PACKET;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr hdr;
	struct vmframe_config c;
	bool truncated;
	uint8_t *frame, *orig;
	size_t len, n;

	if (size < 1)
		return 0;
	c = config(data[0], &truncated);
	len = n = size - 1;
	/* Exact-size copies so ASan sees any read past the frame. */
	frame = malloc(len ? len : 1);
	orig = malloc(len ? len : 1);
	if (!frame || !orig)
		abort();
	memcpy(frame, data + 1, len);
	memcpy(orig, data + 1, len);
	memset(&hdr, 0, sizeof(hdr));
	enum vmframe_verdict v = vmframe_check(&c, frame, &n, truncated, &hdr);
	/* Runts, frames over the limit and truncated ones are dropped whatever they hold. */
	if (v != VMF_DROP && (truncated || len < 14 || len > c.max_packet))
		abort();
	switch (v) {
	case VMF_DROP:
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
