/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user backend's state, shared by its two halves: vhost.c (the
 * connection, the memory table, the queues' set-up, the thread) and
 * vhost_frames.c (frames between the queues and the TAP). One thread owns
 * all of it (vhost.h): nothing here is locked.
 */
#ifndef VMNET_VHOST_DEV_H
#define VMNET_VHOST_DEV_H

#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/vmframe.h"
#include "parse/vring.h"

#define VQ_RX 0                 /* device to guest */
#define VQ_TX 1                 /* guest to device */
/* Receive chains taken ahead for one frame (mergeable buffers): enough for
 * a 64 KiB frame in buffers of 1 KiB and more. */
#define VHOST_RX_CHAINS 64
/* The TAP's virtio-net header: virtio 1.0's, with num_buffers (tap_set_vhost). */
#define VHOST_TAP_HDR 12
_Static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == VHOST_TAP_HDR, "virtio 1.0's header");
/* iovecs of one readv from the TAP. */
#define VHOST_RX_IOV 1024

struct forward;

struct vq {
	struct vring ring;
	unsigned num;               /* SET_VRING_NUM */
	uint64_t desc, avail, used; /* SET_VRING_ADDR: frontend addresses */
	bool addr_set;
	uint16_t base;              /* SET_VRING_BASE */
	bool started;               /* kick set and not stopped (GET_VRING_BASE) */
	bool enabled;               /* SET_VRING_ENABLE, or no protocol features */
	int kick, call;             /* eventfds from the frontend, -1: none */
	bool broken_logged;
};

struct vhost {
	struct forward *f;
	int sock;                   /* the vhost-user connection */
	uint64_t features;          /* acked (SET_FEATURES) */
	uint64_t protocol;          /* acked (SET_PROTOCOL_FEATURES) */
	struct vring_mem mem;
	void *map[VRING_MAX_REGIONS];
	size_t map_len[VRING_MAX_REGIONS];
	struct vq q[2];
	/* From the features: */
	size_t hdr_len;             /* the guest's virtio-net header: 10 or 12 bytes */
	bool mrg;                   /* mergeable receive buffers */
	unsigned offload;           /* OFFLOAD_G_*: what the guest may send */
	bool guest_csum, guest_tso4, guest_tso6, guest_ecn;   /* what it takes */
	size_t rx_max;              /* the longest frame the TAP can give it */
	/* Receive side: */
	bool rx_starved;            /* too few buffers: wait for the guest's kick */
	struct vring_chain rx[VHOST_RX_CHAINS];   /* taken ahead, in ring order */
	unsigned rx_first, rx_held;
	struct iovec rx_iov[VHOST_RX_IOV];       /* one readv: the TAP's header, the chains */
	struct virtio_net_hdr_mrg_rxbuf rx_hdr;  /* the TAP's header of a frame read */
	/* Transmit side: the TAP's header and right behind it the copy a frame
	 * is judged on (vmframe.h): one buffer, one iovec for both. */
	struct {
		struct virtio_net_hdr_mrg_rxbuf hdr;
		uint8_t copy[VMFRAME_WHOLE];
	} __attribute__((packed)) tx;
	/* --pcap (f->cap set): a frame as the TAP or the guest gets it, in one
	 * piece (capture_frame takes one); NULL without a capture. */
	uint8_t *cap_buf;
	pthread_t thread;
	bool running;
};

/* vhost_frames.c: */
/* Moves frames from the transmit queue to the TAP; false when it stopped
 * only for its budget (more are waiting). */
bool vhost_tx(struct vhost *v);
/* Moves frames from the TAP to the receive queue; false as vhost_tx.
 * *tap_empty when the TAP had nothing more. */
bool vhost_rx(struct vhost *v, bool *tap_empty);
/* Gives back the receive chains taken ahead (the ring stops, or its memory goes). */
void vhost_rx_release(struct vhost *v);
/* Publishes a queue's used entries and signals the guest if it wants it. */
void vhost_notify(struct vhost *v, struct vq *q);
/* --pcap: writes the frames both directions staged (one write each). */
void vhost_capture_flush(struct vhost *v);

#endif
