/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What happens to one frame from the VM, decided by its bytes alone. Every
 * frame a VM sends goes through vmframe_check() before anything else looks at
 * it, so this is the helper's first line against a hostile VM. Pure: no I/O;
 * it parses the frame once into its view (frame.h), which the guards, NDP,
 * DHCP and offload read; it may rewrite the frame in place (offload.h) and
 * builds the TAP's virtio-net header. forward.c does what the verdict says.
 *
 * In shared and host mode (local) the guards keep a VM to what is its own,
 * so that no VM can take another's or the gateway's place on the network
 * (docs/integration.md, "What a VM may and may not send"):
 *  - Ethernet source: vmnet_mac_address, or one other unicast MAC the VM
 *    claims with its first frame from it (VMF_CLAIM) and holds once the
 *    helper has pinned it in the bridge (vmframe_mac_granted; the claiming
 *    frame itself is checked again then, and forwarded if granted). Never
 *    the gateway's MAC, a multicast or the zero address.
 *  - No VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8, the older 0x9100/0x9200):
 *    receiving kernels strip a VID-0 tag and take the frame as untagged, so a
 *    tag would hide anything from the guards below.
 *  - ARP: well formed (what Linux's arp_rcv accepts, nothing else), sender
 *    hardware address = Ethernet source, sender address as for IPv4 sources.
 *  - IPv4 source: 0.0.0.0 or an address of the subnet that is not the
 *    gateway's; inside the DHCP pool the VM's own lease, or an address it
 *    set by hand there, claimed with its first frame (VMF_CLAIM4) and used
 *    once the helper recorded it as the VM's lease (vmframe_addr4_granted);
 *    one another VM holds is refused. A header a kernel would refuse
 *    (version, IHL, lengths) is dropped here already.
 *  - IPv6: no gateway address (global or link-local) as source or as the
 *    target of a neighbour advertisement; link-layer address options equal
 *    to the Ethernet source; no router advertisements, redirects or DHCPv6
 *    server messages (any UDP from 547 or to 546).
 *  - IPv6 addresses, first come first served (RFC 6620): the first time a
 *    VM uses an address as source or as the target of a neighbour
 *    advertisement, or probes for it (duplicate address detection: a
 *    neighbour solicitation from the unspecified address), it claims it
 *    (VMF_CLAIM6) and uses it once the helper has bound it to the VM's MAC
 *    (vmframe_addr6_granted); an address another VM holds or is probing is
 *    refused and its frames dropped, and a probe for it is answered, so the
 *    VM's own duplicate address detection sees the duplicate
 *    (VMF_DAD_TAKEN). At most VMF_ADDRS6 addresses a VM.
 * Bridged mode checks only lengths: the VM is on another network's LAN.
 */
#ifndef VMNET_VMFRAME_H
#define VMNET_VMFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/offload.h"

/* The VM's second MAC: the only state the guards keep (forward.c's VM thread). */
enum vmframe_mac_state {
	VMF_MAC_NONE,       /* not used yet: the next new unicast source claims it */
	VMF_MAC_CLAIMING,   /* claimed, frames from it dropped until granted */
	VMF_MAC_OWNED,      /* granted: the VM may send from it */
	VMF_MAC_REFUSED,    /* another VM of the network holds it */
};

struct vmframe_macs {
	enum vmframe_mac_state state;
	uint8_t mac[6];
};

/* The VM's IPv6 addresses (first come, first served), and the bound on asking. */
#define VMF_ADDRS6 16
#define VMF_ADDR6_ASKS 64

struct vmframe_addrs6 {
	uint8_t addr[VMF_ADDRS6][16];   /* bound to the VM: n of them */
	unsigned n;
	unsigned asks;                  /* claims made so far (at most VMF_ADDR6_ASKS) */
	uint8_t refused[4][16];         /* the last refused ones, not asked again */
	unsigned nrefused;              /* refusals so far (the last 4 kept) */
	uint8_t claim[16];              /* VMF_CLAIM6: the address to ask for ...;
					 * VMF_DAD_TAKEN: the one probed for */
	uint8_t claim_mac[6];           /* ... for this MAC (the frame's source) */
};

/* Addresses of the DHCP pool the VM set by hand (its lease is its own
 * anyway), and the bound on asking: each becomes a lease of the VM's user. */
#define VMF_ADDRS4 4
#define VMF_ADDR4_ASKS 16

struct vmframe_addrs4 {
	uint32_t addr[VMF_ADDRS4];      /* recorded as the VM's: n of them (host order) */
	unsigned n;
	unsigned asks;                  /* claims made so far (at most VMF_ADDR4_ASKS) */
	uint32_t refused[4];            /* the last refused ones, not asked again */
	unsigned nrefused;
	uint32_t claim;                 /* VMF_CLAIM4: the address to ask for */
};

struct vmframe_config {
	size_t max_packet;     /* vmnet_max_packet_size: longer frames are dropped */
	unsigned mtu;          /* interface MTU (offload's segment size) */
	bool local;            /* shared/host mode: DHCP answered here, server messages refused */
	bool ra;               /* shared mode: router solicitations answered here */
	bool vnet_hdr;         /* the TAP takes a virtio-net header (offload) */
	bool tso;              /* frames up to 64 KiB (TCP) */
	/* Address ownership (local): */
	uint8_t vm_mac[6];     /* vmnet_mac_address */
	uint8_t gateway_mac[6];
	uint32_t gateway, mask;          /* host order */
	uint32_t pool_first, pool_last;  /* the DHCP pool, host order */
	uint32_t lease;                  /* the VM's address in it */
	bool has_gateway6;               /* shared mode: gateway6 is the gateway's */
	uint8_t gateway6[16];
	uint8_t gateway_ll6[16];         /* the gateway's link-local (both modes) */
	/* The VM's second MAC, updated by vmframe_check. NULL: none allowed. */
	struct vmframe_macs *macs;
	/* The VM's IPv6 addresses, updated by vmframe_check. NULL: not bound. */
	struct vmframe_addrs6 *addrs6;
	/* The pool addresses the VM set by hand, updated by vmframe_check.
	 * NULL: in the pool, only the lease. */
	struct vmframe_addrs4 *addrs4;
};

enum vmframe_verdict {
	VMF_DROP,      /* malformed, too long, or not the VM's to send: count in vm.drops */
	VMF_FORWARD,   /* write *len bytes (after *hdr when vnet_hdr) to the TAP */
	VMF_DHCP,      /* a DHCP client message: the helper answers it (dhcp.h) */
	VMF_RS,        /* a router solicitation: the helper answers it (ndp.h) */
	VMF_CLAIM,     /* the first frame from a second MAC (macs->mac): the caller
			* asks for it, calls vmframe_mac_granted, then checks the
			* frame again */
	VMF_CLAIM6,    /* the first frame from an IPv6 address (addrs6->claim): the
			* caller asks for it, calls vmframe_addr6_granted, then
			* checks the frame again */
	VMF_CLAIM4,    /* the first frame from a pool address the VM set by hand
			* (addrs4->claim): as VMF_CLAIM6, with vmframe_addr4_granted */
	VMF_DAD_TAKEN, /* a duplicate address detection probe for an address
			* another VM holds (addrs6->claim): dropped (count it);
			* the caller tells the VM it is taken (ndp_build_na) */
};

/*
 * frame/len: one frame as received; truncated: it was longer than the buffer
 * (MSG_TRUNC). On VMF_FORWARD, *len is the length to write (offload may cut
 * Ethernet padding) and *hdr is set when vnet_hdr.
 */
enum vmframe_verdict vmframe_check(const struct vmframe_config *c, uint8_t *frame, size_t *len,
				   bool truncated, struct virtio_net_hdr *hdr);
/* The same on the frame's view (frame.h), parsed from frame already (fv->len
 * == *len): the vhost-user path, which parses each frame once for the guards
 * and offload_from_guest_view alike. */
enum vmframe_verdict vmframe_check_view(const struct vmframe_config *c, uint8_t *frame,
					const struct frame_view *fv, size_t *len,
					struct virtio_net_hdr *hdr);

/*
 * vhost-user: a frame in guest memory, which the guest may change at any
 * moment, is judged on a copy, and the copy is what the TAP gets of what was
 * judged. A frame of up to VMFRAME_WHOLE bytes is copied whole and judged by
 * vmframe_check. Of a longer one (TSO, a large MTU) only its first head_len
 * bytes are copied (VMFRAME_HEAD_MIN..VMFRAME_HEAD: its headers; a longer
 * header chain is not seen through, and the frame dropped) and its payload
 * is written from guest memory unread. vmframe_check_head judges such a
 * frame of len bytes on its head: the same guards, on the headers with the
 * IP length clipped to the head (an IP length beyond len: dropped); then
 * neighbour discovery (whose options the guards read whole) and whatever
 * the helper answers or refuses itself are dropped: no such message is that
 * long. Never VMF_DHCP or VMF_RS; offload (vnet_hdr) is the caller's
 * (offload_from_guest).
 */
#define VMFRAME_WHOLE 2048
#define VMFRAME_HEAD 256
#define VMFRAME_HEAD_MIN 64
enum vmframe_verdict vmframe_check_head(const struct vmframe_config *c, const uint8_t *head,
					size_t head_len, size_t len);
/* The same on the head's view (frame_parse_head(head, head_len, len)). */
enum vmframe_verdict vmframe_check_head_view(const struct vmframe_config *c, const uint8_t *head,
					     const struct frame_view *fv, size_t len);

/* The answer to a VMF_CLAIM: the VM may use macs->mac from now on, or never. */
void vmframe_mac_granted(struct vmframe_macs *m, bool granted);
/* The answer to a VMF_CLAIM6: the VM may use addrs6->claim from now on, or not. */
void vmframe_addr6_granted(struct vmframe_addrs6 *a, bool granted);
/* The answer to a VMF_CLAIM4: the VM may use addrs4->claim from now on, or not. */
void vmframe_addr4_granted(struct vmframe_addrs4 *a, bool granted);

#endif
