/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for what a vhost-user guest's frame goes through before
 * it reaches the TAP (datapath/vhost.c): copied out of guest memory whole
 * (up to VMFRAME_WHOLE bytes) or only its head, judged on that copy
 * (vmframe_check or vmframe_check_head), and its virtio-net header checked
 * against the copy (offload_from_guest). The first input byte is the
 * configuration (shared or bridged guards, the offloads negotiated, the
 * MTU, how much of a long frame is copied), the next 10 bytes the guest's
 * virtio-net header, the rest the frame. The copy is an allocation of its
 * exact size, so a judgement that read past what was copied (the part the
 * guest may still change) is caught; what is let through must be the VM's
 * own and its header consistent with the copy: not just no crash.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/frame.h"
#include "parse/ndp.h"
#include "parse/offload.h"
#include "parse/vmframe.h"

static const unsigned mtus[4] = { 1500, 9000, 1280, 65520 };
static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static struct vmframe_macs macs;

static struct vmframe_config config(uint8_t b)
{
	struct vmframe_config c = {
		.local = b & 1, .ra = true, .mtu = mtus[(b >> 1) & 3], .max_packet = 65550,
		.gateway = 0xc0a86901u, .mask = 0xffffff00u, .pool_first = 0xc0a86902u,
		.pool_last = 0xc0a869feu, .lease = 0xc0a86902u, .has_gateway6 = true,
		.gateway6 = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3, [15] = 1 },
		.macs = &macs,
	};

	memcpy(c.vm_mac, vm_mac, 6);
	memcpy(c.gateway_mac, gw_mac, 6);
	ndp_link_local(c.gateway_mac, c.gateway_ll6);
	macs = (struct vmframe_macs){ .state = VMF_MAC_NONE };
	return c;
}

/* What is forwarded in shared/host mode is from the VM's MAC, untagged. */
static void check_own(const struct vmframe_config *c, const uint8_t *copy)
{
	uint16_t type = (uint16_t)(copy[12] << 8 | copy[13]);

	if (!c->local)
		return;
	if (memcmp(copy + 6, vm_mac, 6) != 0 || type == 0x8100 || type == 0x88a8)
		abort();
}

static void check_offload(const struct virtio_net_hdr *h, int n, size_t len, size_t held,
			  unsigned mtu)
{
	size_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	if (n < 14 || (size_t)n > len)
		abort();
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (h->flags || h->gso_type || (size_t)n > mtu + 14u)
			abort();
		return;
	}
	if (start < 14 + 20 || (off != 6 && off != 16) || start + off + 2 > held ||
	    le16toh(h->hdr_len) > held)
		abort();
	if (h->gso_type && (h->gso_size == 0 || le16toh(h->hdr_len) - 14 + le16toh(h->gso_size) > mtu))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr g, out, out2;
	struct vmframe_config c;
	struct frame_view fv;
	unsigned allowed;
	enum vmframe_verdict v;
	size_t len, held;
	uint8_t *copy;
	int n;

	if (size < 1 + sizeof(g) + 14)
		return 0;
	c = config(data[0]);
	memcpy(&g, data + 1, sizeof(g));
	len = size - 1 - sizeof(g);
	/* As vhost.c: whole up to VMFRAME_WHOLE, else a head of 64..256 bytes. */
	held = len <= VMFRAME_WHOLE ? len : VMFRAME_HEAD_MIN + (size_t)(data[0] >> 3) * 6;
	if (held > VMFRAME_HEAD)
		held = VMFRAME_HEAD;
	copy = malloc(held);
	if (!copy)
		return 0;
	memcpy(copy, data + 1 + sizeof(g), held);
	/* As vhost_frames.c: one parse of the copy for the guards and offload. */
	frame_parse_head(copy, held, len, &fv);
	if (held == len) {
		struct virtio_net_hdr unused;
		struct frame_view whole;
		size_t n2 = len;

		frame_parse(copy, len, &whole);
		if (memcmp(&whole, &fv, sizeof(fv)) != 0)
			abort();   /* a head that is the whole frame: the same view */
		v = vmframe_check_view(&c, copy, &fv, &n2, &unused);
		if (n2 != len)
			abort();   /* no offload here: the length stays */
		macs = (struct vmframe_macs){ .state = VMF_MAC_NONE };
		if (vmframe_check(&c, copy, &n2, false, &unused) != v)
			abort();
	} else {
		if (fv.len != held || (fv.l3_ok && fv.l3_off + fv.l3_len > held))
			abort();   /* the view stays inside the copy */
		v = vmframe_check_head_view(&c, copy, &fv, len);
		if (v == VMF_DHCP || v == VMF_RS)
			abort();   /* nothing is answered from a part */
		macs = (struct vmframe_macs){ .state = VMF_MAC_NONE };
		if (vmframe_check_head(&c, copy, held, len) != v)
			abort();
	}
	if (v == VMF_FORWARD)
		check_own(&c, copy);
	allowed = (data[0] & 0x80) ? 0 : OFFLOAD_G_CSUM | OFFLOAD_G_TSO4 | OFFLOAD_G_TSO6 |
		  OFFLOAD_G_ECN;
	n = offload_from_guest_view(&g, &fv, len, c.mtu, allowed, &out);
	if (offload_from_guest(&g, copy, held, len, c.mtu, allowed, &out2) != n ||
	    memcmp(&out, &out2, sizeof(out)) != 0)
		abort();
	if (n >= 0)
		check_offload(&out, n, len, held, c.mtu);
	free(copy);
	return 0;
}
