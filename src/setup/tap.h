/* SPDX-License-Identifier: Apache-2.0 */
/* TAP devices: non-persistent, so the kernel removes them when the fd closes. */
#ifndef VMNET_TAP_H
#define VMNET_TAP_H

#include <net/if.h>
#include <stdbool.h>

struct tap {
	int fd;
	int ifindex;
	char name[IF_NAMESIZE];
	bool vnet_hdr;   /* opened with IFF_VNET_HDR */
};

/* Creates "vmtap%d" (kernel picks the number), non-blocking, with the
 * network's MTU, up. 0 or -errno.
 * An isolated VM's TAP is "vmtapi%d": the name is what the nftables rules
 * that keep isolated VMs apart match on (see nat.h). */
int tap_open(struct tap *t, bool vnet_hdr, bool isolated, unsigned mtu);
/* Name prefix of isolated TAPs. */
#define TAP_ISOLATED_PREFIX "vmtapi"
/* On a TAP opened with vnet_hdr: 10-byte little-endian virtio-net headers,
 * checksum offload, and TCP segmentation offload if tso. 0 or -errno. */
int tap_set_offload(struct tap *t, bool tso);
/* vhost-user, on a TAP opened with vnet_hdr: 12-byte little-endian virtio-net
 * headers, no offload until the guest negotiates it. 0 or -errno. */
int tap_set_vhost(struct tap *t);
void tap_close(struct tap *t);

#endif
