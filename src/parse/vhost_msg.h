/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user messages a network backend handles (--socket-type
 * vhost-user), as QEMU's vhost-user-net frontend sends them: the protocol of
 * QEMU's docs/interop/vhost-user.rst, version 1. Pure: bytes and a count of
 * file descriptors in, a checked message out, no I/O. The frontend (the VM
 * process, run by the untrusted user) is untrusted: every message is checked
 * against its type before anything acts on it, and anything this backend did
 * not offer is refused with a reason.
 *
 * A message is a 12-byte header (request, flags, payload size; host byte
 * order) and a payload whose size the request type fixes. File descriptors
 * come with the header as SCM_RIGHTS; each type takes an exact number.
 *
 * What we offer (vhost_msg_features): one queue pair (MQ, answered 1),
 * REPLY_ACK, split rings with indirect descriptors and event index, version 1
 * (and legacy) virtio-net with mergeable receive buffers and the checksum,
 * TSO and ECN offloads both ways. Not: live migration (LOG_ALL, the log
 * messages), an IOMMU, packed rings, the backend channel, config space,
 * in-band notifications, memory slots. UFO/USO: QEMU 7.2 does not pass them
 * to a vhost-user backend.
 */
#ifndef VMNET_VHOST_MSG_H
#define VMNET_VHOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHOST_MSG_HDR 12
#define VHOST_MSG_VERSION 1
#define VHOST_MSG_VERSION_MASK 3u
#define VHOST_MSG_F_REPLY (1u << 2)
#define VHOST_MSG_F_NEED_REPLY (1u << 3)
/* The most regions (and so fds) a memory table has: QEMU's limit too. */
#define VHOST_MSG_MAX_REGIONS 8
#define VHOST_MSG_MAX_FDS VHOST_MSG_MAX_REGIONS
/* The largest payload we take: a full memory table. */
#define VHOST_MSG_MAX_PAYLOAD (8 + VHOST_MSG_MAX_REGIONS * 32)
/* Queues: 0 receive (device to guest), 1 transmit (guest to device). */
#define VHOST_MSG_QUEUES 2
/* SET_VRING_KICK/CALL/ERR: the ring index, and "no fd" (polling). */
#define VHOST_MSG_VRING_IDX_MASK 0xffu
#define VHOST_MSG_VRING_NOFD (1u << 8)

enum vhost_request {
	VHOST_GET_FEATURES = 1,
	VHOST_SET_FEATURES = 2,
	VHOST_SET_OWNER = 3,
	VHOST_RESET_OWNER = 4,
	VHOST_SET_MEM_TABLE = 5,
	VHOST_SET_LOG_BASE = 6,
	VHOST_SET_LOG_FD = 7,
	VHOST_SET_VRING_NUM = 8,
	VHOST_SET_VRING_ADDR = 9,
	VHOST_SET_VRING_BASE = 10,
	VHOST_GET_VRING_BASE = 11,
	VHOST_SET_VRING_KICK = 12,
	VHOST_SET_VRING_CALL = 13,
	VHOST_SET_VRING_ERR = 14,
	VHOST_GET_PROTOCOL_FEATURES = 15,
	VHOST_SET_PROTOCOL_FEATURES = 16,
	VHOST_GET_QUEUE_NUM = 17,
	VHOST_SET_VRING_ENABLE = 18,
	VHOST_REQUEST_MAX = 41,     /* the protocol's last known request is 40 */
};

/* Virtio feature bits (the virtio spec; linux/virtio_net.h, virtio_config.h). */
#define VHOST_F_NET_CSUM 0            /* the guest sends partial checksums */
#define VHOST_F_NET_GUEST_CSUM 1      /* ... and takes them */
#define VHOST_F_NET_GUEST_TSO4 7
#define VHOST_F_NET_GUEST_TSO6 8
#define VHOST_F_NET_GUEST_ECN 9
#define VHOST_F_NET_HOST_TSO4 11
#define VHOST_F_NET_HOST_TSO6 12
#define VHOST_F_NET_HOST_ECN 13
#define VHOST_F_NET_MRG_RXBUF 15
#define VHOST_F_ANY_LAYOUT 27
#define VHOST_F_RING_INDIRECT_DESC 28
#define VHOST_F_RING_EVENT_IDX 29
#define VHOST_F_PROTOCOL_FEATURES 30  /* vhost-user's own: GET/SET_PROTOCOL_FEATURES */
#define VHOST_F_VERSION_1 32

/* Protocol feature bits. */
#define VHOST_PF_MQ 0
#define VHOST_PF_REPLY_ACK 3

/* One guest memory region of SET_MEM_TABLE, as sent (nothing checked but
 * the message's shape: vring.h checks the regions themselves). */
struct vhost_region {
	uint64_t gpa;           /* guest physical address */
	uint64_t size;
	uint64_t uaddr;         /* the frontend's address for it (ring addresses use these) */
	uint64_t mmap_offset;   /* where the region starts in its fd */
};

struct vhost_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;          /* of the payload */
	bool need_reply;        /* NEED_REPLY set (acted on only with REPLY_ACK) */
	unsigned nfds;          /* descriptors the message carries (the type's number) */
	union {
		uint64_t u64;                    /* SET_FEATURES, SET_PROTOCOL_FEATURES */
		struct {
			uint32_t index, num;     /* SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE */
		} state;
		struct {
			uint32_t index, flags;   /* SET_VRING_ADDR (flags: logging, refused) */
			uint64_t desc, used, avail, log;   /* frontend (user) addresses */
		} addr;
		struct {
			uint32_t index;          /* SET_VRING_KICK/CALL/ERR */
			bool nofd;               /* no eventfd: poll the ring */
		} file;
		struct {
			uint32_t n;
			struct vhost_region r[VHOST_MSG_MAX_REGIONS];
		} mem;
	};
};

/* The virtio features and protocol features this backend offers. */
uint64_t vhost_msg_features(void);
uint64_t vhost_msg_protocol_features(void);

/*
 * The payload size the header hdr (VHOST_MSG_HDR bytes) announces, checked
 * against what its request type takes, so a reader knows how much more to
 * read (at most VHOST_MSG_MAX_PAYLOAD). Returns the size, or -1 with *why
 * (unknown or unsupported request, wrong version, a reply flag, a size the
 * type does not have): the connection is then not followed any further.
 */
int vhost_msg_payload_size(const uint8_t *hdr, const char **why);

/*
 * One whole message: buf holds the header and its payload (len bytes), and
 * came with nfds file descriptors. Fills *m. Returns 0, or -1 with *why:
 * a header vhost_msg_payload_size refuses, a length that is not header plus
 * payload, the wrong number of descriptors for the type, a ring index
 * beyond our two queues, flags or values the type does not allow.
 */
int vhost_msg_parse(const uint8_t *buf, size_t len, unsigned nfds, struct vhost_msg *m,
		    const char **why);

/* Replies (host byte order, VHOST_MSG_F_REPLY set): their length in bytes. */
#define VHOST_MSG_REPLY_U64 (VHOST_MSG_HDR + 8)
#define VHOST_MSG_REPLY_STATE (VHOST_MSG_HDR + 8)
size_t vhost_msg_reply_u64(uint8_t *out, uint32_t request, uint64_t value);
size_t vhost_msg_reply_state(uint8_t *out, uint32_t request, uint32_t index, uint32_t num);

/* A short name of a request, for logs ("SET_MEM_TABLE"; "request 99"). */
const char *vhost_msg_name(uint32_t request, char *buf, size_t cap);

#endif
