/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What happens to one frame from the VM, decided by its bytes alone. Every
 * frame a VM sends goes through vmframe_check() before anything else looks at
 * it, so this is the helper's first line against a hostile VM. Pure: no I/O;
 * it may rewrite the frame in place (offload.h) and builds the TAP's
 * virtio-net header. forward.c does what the verdict says.
 */
#ifndef VMNET_VMFRAME_H
#define VMNET_VMFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offload.h"

struct vmframe_config {
	size_t max_packet;     /* vmnet_max_packet_size: longer frames are dropped */
	unsigned mtu;          /* interface MTU (offload's segment size) */
	bool local;            /* shared/host mode: DHCP answered here, server messages refused */
	bool ra;               /* shared mode: router solicitations answered here */
	bool vnet_hdr;         /* the TAP takes a virtio-net header (offload) */
	bool tso;              /* frames up to 64 KiB (TCP) */
};

enum vmframe_verdict {
	VMF_DROP,      /* malformed, too long, or not the VM's to send: count in vm.drops */
	VMF_FORWARD,   /* write *len bytes (after *hdr when vnet_hdr) to the TAP */
	VMF_DHCP,      /* a DHCP client message: the helper answers it (dhcp.h) */
	VMF_RS,        /* a router solicitation: the helper answers it (ndp.h) */
};

/*
 * frame/len: one frame as received; truncated: it was longer than the buffer
 * (MSG_TRUNC). On VMF_FORWARD, *len is the length to write (offload may cut
 * Ethernet padding) and *hdr is set when vnet_hdr.
 */
enum vmframe_verdict vmframe_check(const struct vmframe_config *c, uint8_t *frame, size_t *len,
				   bool truncated, struct virtio_net_hdr *hdr);

#endif
