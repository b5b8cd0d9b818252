/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checksum and segmentation offload (--enable-checksum-offload, --enable-tso):
 * translation between frames on the VM socket, which never carry a virtio-net
 * header, and the TAP, which (opened with IFF_VNET_HDR) always does.
 *
 * VM -> TAP: an offloading VM (libkrun with offloading=on) sends TCP and UDP
 * frames whose checksum field holds only the pseudo-header sum, and TCP frames
 * of up to 64 KiB. offload_from_vm() reads each frame's view (frame.h) and
 * builds the header the kernel needs: NEEDS_CSUM with csum_start/csum_offset
 * for a partial checksum, and for a frame longer than the MTU a TCP GSO type
 * with gso_size (the MSS) derived from the MTU.
 *
 * TAP -> VM: nothing on the socket can tell the VM that a checksum is partial
 * (libkrun hands its guest a zeroed header), so offload_to_vm() completes the
 * checksum the kernel left partial (csum_add in pkt.c: about 0.8 us per 64 KiB
 * frame with AVX2). GSO frames go to the VM whole.
 *
 * Pure: frames in, frames and headers out, no I/O. Header fields are little
 * endian (the TAP is put in that mode with TUNSETVNETLE).
 */
#ifndef VMNET_OFFLOAD_H
#define VMNET_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/frame.h"
#include "parse/pkt.h"

/* The virtio-net header on the TAP (TUNSETVNETHDRSZ): the 10-byte legacy one. */
#define OFFLOAD_HDR_LEN ((int)sizeof(struct virtio_net_hdr))

/*
 * Builds the header for a frame from the VM, len bytes, at most
 * PKT_MAX_FRAME. mtu is the interface MTU; tso allows frames longer than
 * mtu + 14 (TCP only). May rewrite the TCP checksum field of a GSO frame to
 * the pseudo-header sum the kernel's segmentation expects.
 *
 * Returns the number of bytes of frame to write after the header (Ethernet
 * padding after the IP datagram is cut), or -1 when the frame must be dropped:
 * a malformed IPv4/IPv6/TCP/UDP header, lengths that disagree, or a frame
 * longer than the MTU that cannot be segmented.
 */
int offload_from_vm(uint8_t *frame, size_t len, unsigned mtu, bool tso,
		    struct virtio_net_hdr *hdr);
/* The same on the frame's view (frame.h), parsed whole from frame already
 * (frame_parse, or frame_parse_head of all of it): what vmframe_check calls
 * after the guards read the same view. */
int offload_from_vm_view(uint8_t *frame, const struct frame_view *v, unsigned mtu, bool tso,
			 struct virtio_net_hdr *hdr);

/* What a vhost-user guest negotiated it may ask for (virtio-net features):
 * partial checksums (CSUM), TCP segmentation over IPv4 and IPv6 (HOST_TSO4,
 * HOST_TSO6), with ECN (HOST_ECN). */
#define OFFLOAD_G_CSUM 1u
#define OFFLOAD_G_TSO4 2u
#define OFFLOAD_G_TSO6 4u
#define OFFLOAD_G_ECN 8u

/*
 * vhost-user: the virtio-net header g a guest gave with a frame of len bytes,
 * checked against the frame and what was negotiated (allowed), and the header
 * the TAP gets in *out, built from our own parse and never from the guest's
 * offsets. head holds the frame's first head_len bytes: a copy out of guest
 * memory, which must hold the IP and TCP/UDP headers for an offloaded frame
 * (the rest is not read). Refused (-1, drop): flags other than NEEDS_CSUM;
 * NEEDS_CSUM anywhere but on the frame's own TCP or UDP checksum (a checksum
 * written over an address would change what the guards saw); GSO other than
 * TCP of the frame's IP version, or with segments that would not fit the MTU;
 * GSO without NEEDS_CSUM; a frame without GSO longer than the MTU. Returns the
 * bytes to write: len without offload, else up to the IP datagram's end (the
 * kernel would checksum or segment Ethernet padding as payload).
 */
int offload_from_guest(const struct virtio_net_hdr *g, const uint8_t *head, size_t head_len,
		       size_t len, unsigned mtu, unsigned allowed, struct virtio_net_hdr *out);
/* The same on the head's view (frame_parse_head(head, head_len, len, v)):
 * what the vhost-user path calls after the guards read the same view. */
int offload_from_guest_view(const struct virtio_net_hdr *g, const struct frame_view *v,
			    size_t len, unsigned mtu, unsigned allowed, struct virtio_net_hdr *out);

/*
 * Completes the checksum of a frame read from the TAP when its header says
 * NEEDS_CSUM: the ones' complement sum from csum_start to the end of the
 * frame, stored at csum_start + csum_offset. Returns 0, or -1 when the header
 * points outside the frame (drop it).
 */
int offload_to_vm(const struct virtio_net_hdr *hdr, uint8_t *frame, size_t len);

#endif
