/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user network backend (--socket-type vhost-user): the VM process
 * (QEMU's -netdev vhost-user) hands the helper its guest's memory and the
 * virtio-net queues in it, and the helper moves frames between those queues
 * and the TAP itself, with the guest's virtio-net header as the TAP's: one
 * readv or writev per frame and no copy of the payload.
 *
 * One thread, in the sandboxed datapath with the user's identity: it serves
 * the vhost-user connection (vhost_msg.h), maps the memory table the
 * frontend sends (MAP_SHARED, read and write), walks the rings (vring.h),
 * sleeps on the transmit queue's kick, the TAP (or the receive queue's kick
 * when the guest gave no buffers) and the connection, and signals the
 * guest through the call eventfds. Every frame from the guest goes through
 * the same guards as on the sockets, judged on a copy (forward_vm_judge,
 * vmframe_check_head), with its virtio-net header checked against that copy
 * (offload_from_guest); DHCP and router solicitations are answered into the
 * receive queue. Offloads are those the guest negotiated (checksum, TSO, ECN,
 * mergeable receive buffers), set on the TAP as the guest's features say.
 * When the connection closes, the helper stops, as with the sockets.
 * --pcap captures the frames as the TAP and the guest get them (gathered
 * into one buffer first: vhost_frames.c), counted in the same counters
 * (fast: a pass over a queue that moved frames; slow: a frame of ours).
 * The thread stops when forward_stop signals f->stop_fd: the datapath's
 * main loop does on a signal, a lifeline's end or the VM gone.
 */
#ifndef VMNET_VHOST_H
#define VMNET_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sandbox.h"

struct forward;
struct vhost;

/* Starts the backend on f->vm_fd (a connected stream socket) and f->tap_fd
 * (IFF_VNET_HDR, 12-byte headers: tap_set_vhost). 0 or -errno. */
int vhost_start(struct forward *f);
/* Stops it (f->stop_fd must be signalled first) and frees it. Safe without a start. */
void vhost_stop(struct forward *f);
/* A frame the helper made (DHCP reply, router advertisement) into the
 * guest's receive queue. VM thread only. false: no room (dropped). */
bool vhost_send_local(struct vhost *v, const uint8_t *frame, size_t len);

/* The calls the backend makes (sandbox.h). */
extern const struct sandbox_list vhost_sandbox;

#endif
