/* SPDX-License-Identifier: Apache-2.0 */
#include "vmframe.h"

#include "dhcp.h"
#include "ndp.h"

/* Shorter than an Ethernet header: nothing to forward. */
#define RUNT 14

/* Frames the helper answers or refuses itself (shared and host mode). */
static enum vmframe_verdict check_local(const struct vmframe_config *c, const uint8_t *frame,
					size_t len, bool *handled)
{
	*handled = true;
	switch (ndp_classify(frame, len)) {
	case NDP_RS:
		if (c->ra)
			return VMF_RS;
		break;   /* host mode: no router here, the kernel ignores it */
	case NDP_ROGUE:
		/* A VM must not act as a router or DHCPv6 server on our network. */
		return VMF_DROP;
	default:
		break;
	}
	switch (dhcp_classify(frame, len)) {
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

enum vmframe_verdict vmframe_check(const struct vmframe_config *c, uint8_t *frame, size_t *len,
				   bool truncated, struct virtio_net_hdr *hdr)
{
	enum vmframe_verdict v;
	bool handled;

	if (truncated || *len < RUNT || *len > c->max_packet)
		return VMF_DROP;
	if (c->local) {
		v = check_local(c, frame, *len, &handled);
		if (handled)
			return v;
	}
	if (c->vnet_hdr) {
		int n = offload_from_vm(frame, *len, c->mtu, c->tso, hdr);
		if (n <= 0)
			return VMF_DROP;
		*len = (size_t)n;
	}
	return VMF_FORWARD;
}
