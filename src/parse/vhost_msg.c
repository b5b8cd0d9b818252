/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user messages: checked against their request type before anyone acts
 * on them. Pure (no I/O); runs in the sandboxed datapath, on bytes the VM
 * process sent over its vhost-user socket.
 */
#include "parse/vhost_msg.h"

#include <stdio.h>
#include <string.h>

/* Payload shapes. */
#define SIZE_NONE 0
#define SIZE_U64 8
#define SIZE_STATE 8
#define SIZE_ADDR 40
#define SIZE_REGION 32
#define SIZE_MEM_HDR 8
/* SET_VRING_ADDR flags: VHOST_VRING_F_LOG (log used ring writes): not offered. */
#define VRING_F_LOG 1u

enum shape { NONE, U64, STATE, ADDR, MEM, FILE_, UNSUPPORTED };

struct request_type {
	const char *name;
	enum shape shape;
};

/* Every request a network backend may get; those without a shape here are
 * either for other devices or need a feature we do not offer. */
static const struct request_type types[VHOST_REQUEST_MAX] = {
	[VHOST_GET_FEATURES] = { "GET_FEATURES", NONE },
	[VHOST_SET_FEATURES] = { "SET_FEATURES", U64 },
	[VHOST_SET_OWNER] = { "SET_OWNER", NONE },
	[VHOST_RESET_OWNER] = { "RESET_OWNER", NONE },
	[VHOST_SET_MEM_TABLE] = { "SET_MEM_TABLE", MEM },
	[VHOST_SET_LOG_BASE] = { "SET_LOG_BASE", UNSUPPORTED },
	[VHOST_SET_LOG_FD] = { "SET_LOG_FD", UNSUPPORTED },
	[VHOST_SET_VRING_NUM] = { "SET_VRING_NUM", STATE },
	[VHOST_SET_VRING_ADDR] = { "SET_VRING_ADDR", ADDR },
	[VHOST_SET_VRING_BASE] = { "SET_VRING_BASE", STATE },
	[VHOST_GET_VRING_BASE] = { "GET_VRING_BASE", STATE },
	[VHOST_SET_VRING_KICK] = { "SET_VRING_KICK", FILE_ },
	[VHOST_SET_VRING_CALL] = { "SET_VRING_CALL", FILE_ },
	[VHOST_SET_VRING_ERR] = { "SET_VRING_ERR", FILE_ },
	[VHOST_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", NONE },
	[VHOST_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", U64 },
	[VHOST_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", NONE },
	[VHOST_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", STATE },
	[19] = { "SEND_RARP", UNSUPPORTED },
	[20] = { "NET_SET_MTU", UNSUPPORTED },
	[21] = { "SET_BACKEND_REQ_FD", UNSUPPORTED },
	[22] = { "IOTLB_MSG", UNSUPPORTED },
	[23] = { "SET_VRING_ENDIAN", UNSUPPORTED },
	[24] = { "GET_CONFIG", UNSUPPORTED },
	[25] = { "SET_CONFIG", UNSUPPORTED },
	[26] = { "CREATE_CRYPTO_SESSION", UNSUPPORTED },
	[27] = { "CLOSE_CRYPTO_SESSION", UNSUPPORTED },
	[28] = { "POSTCOPY_ADVISE", UNSUPPORTED },
	[29] = { "POSTCOPY_LISTEN", UNSUPPORTED },
	[30] = { "POSTCOPY_END", UNSUPPORTED },
	[31] = { "GET_INFLIGHT_FD", UNSUPPORTED },
	[32] = { "SET_INFLIGHT_FD", UNSUPPORTED },
	[33] = { "GPU_SET_SOCKET", UNSUPPORTED },
	[34] = { "RESET_DEVICE", UNSUPPORTED },
	[35] = { "VRING_KICK", UNSUPPORTED },
	[36] = { "GET_MAX_MEM_SLOTS", UNSUPPORTED },
	[37] = { "ADD_MEM_REG", UNSUPPORTED },
	[38] = { "REM_MEM_REG", UNSUPPORTED },
	[39] = { "SET_STATUS", UNSUPPORTED },
	[40] = { "GET_STATUS", UNSUPPORTED },
};

uint64_t vhost_msg_features(void)
{
	return 1ull << VHOST_F_NET_CSUM | 1ull << VHOST_F_NET_GUEST_CSUM |
	       1ull << VHOST_F_NET_GUEST_TSO4 | 1ull << VHOST_F_NET_GUEST_TSO6 |
	       1ull << VHOST_F_NET_GUEST_ECN | 1ull << VHOST_F_NET_HOST_TSO4 |
	       1ull << VHOST_F_NET_HOST_TSO6 | 1ull << VHOST_F_NET_HOST_ECN |
	       1ull << VHOST_F_NET_MRG_RXBUF | 1ull << VHOST_F_ANY_LAYOUT |
	       1ull << VHOST_F_RING_INDIRECT_DESC | 1ull << VHOST_F_RING_EVENT_IDX |
	       1ull << VHOST_F_PROTOCOL_FEATURES | 1ull << VHOST_F_VERSION_1;
}

uint64_t vhost_msg_protocol_features(void)
{
	return 1ull << VHOST_PF_MQ | 1ull << VHOST_PF_REPLY_ACK;
}

/* Fields in host byte order, at any alignment. */
static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

/* Whether size is a payload size of this shape. */
static bool size_fits(enum shape s, uint32_t size)
{
	switch (s) {
	case NONE:
		return size == SIZE_NONE;
	case U64:
	case FILE_:
	case STATE:
		return size == SIZE_U64;    /* SIZE_STATE: two 32-bit words */
	case ADDR:
		return size == SIZE_ADDR;
	case MEM:
		return size >= SIZE_MEM_HDR + SIZE_REGION && size <= VHOST_MSG_MAX_PAYLOAD &&
		       (size - SIZE_MEM_HDR) % SIZE_REGION == 0;
	default:
		return false;
	}
}

int vhost_msg_payload_size(const uint8_t *hdr, const char **why)
{
	uint32_t request = get32(hdr), flags = get32(hdr + 4), size = get32(hdr + 8);
	const struct request_type *t = request < VHOST_REQUEST_MAX ? &types[request] : NULL;

	if ((flags & VHOST_MSG_VERSION_MASK) != VHOST_MSG_VERSION)
		return refuse(why, "not protocol version 1");
	if (flags & ~(VHOST_MSG_VERSION_MASK | VHOST_MSG_F_NEED_REPLY))
		return refuse(why, "a request with flags other than NEED_REPLY");
	if (t == NULL || t->name == NULL)
		return refuse(why, "unknown request");
	if (t->shape == UNSUPPORTED)
		return refuse(why, "a request for a feature this backend does not offer");
	if (!size_fits(t->shape, size))
		return refuse(why, "a payload size this request does not have");
	return (int)size;
}

static int parse_state(const uint8_t *p, struct vhost_msg *m, const char **why)
{
	m->state.index = get32(p);
	m->state.num = get32(p + 4);
	if (m->state.index >= VHOST_MSG_QUEUES)
		return refuse(why, "a ring we do not have (one queue pair: 0 and 1)");
	if (m->request == VHOST_SET_VRING_ENABLE && m->state.num > 1)
		return refuse(why, "SET_VRING_ENABLE neither 0 nor 1");
	return 0;
}

static int parse_addr(const uint8_t *p, struct vhost_msg *m, const char **why)
{
	m->addr.index = get32(p);
	m->addr.flags = get32(p + 4);
	m->addr.desc = get64(p + 8);
	m->addr.used = get64(p + 16);
	m->addr.avail = get64(p + 24);
	m->addr.log = get64(p + 32);
	if (m->addr.index >= VHOST_MSG_QUEUES)
		return refuse(why, "a ring we do not have (one queue pair: 0 and 1)");
	if (m->addr.flags & ~VRING_F_LOG)
		return refuse(why, "unknown ring address flags");
	if (m->addr.flags & VRING_F_LOG)
		return refuse(why, "logging of the used ring (live migration is not offered)");
	return 0;
}

static int parse_file(const uint8_t *p, unsigned nfds, struct vhost_msg *m, const char **why)
{
	uint64_t v = get64(p);

	if (v & ~(uint64_t)(VHOST_MSG_VRING_IDX_MASK | VHOST_MSG_VRING_NOFD))
		return refuse(why, "unknown bits beside the ring index");
	m->file.index = (uint32_t)(v & VHOST_MSG_VRING_IDX_MASK);
	m->file.nofd = v & VHOST_MSG_VRING_NOFD;
	if (m->file.index >= VHOST_MSG_QUEUES)
		return refuse(why, "a ring we do not have (one queue pair: 0 and 1)");
	if (nfds != (m->file.nofd ? 0u : 1u))
		return refuse(why, m->file.nofd ? "a descriptor with the no-descriptor flag"
						 : "no eventfd (nor the no-descriptor flag)");
	m->nfds = nfds;
	return 0;
}

static int parse_mem(const uint8_t *p, uint32_t size, unsigned nfds, struct vhost_msg *m,
		     const char **why)
{
	uint32_t n = get32(p);

	/* The padding word after the count is ignored, as the spec has it. */
	if (n == 0 || n > VHOST_MSG_MAX_REGIONS)
		return refuse(why, "a memory table of no or more than 8 regions");
	if (size != SIZE_MEM_HDR + n * SIZE_REGION)
		return refuse(why, "a memory table whose size is not its regions'");
	if (nfds != n)
		return refuse(why, "a memory table without one descriptor per region");
	m->mem.n = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = p + SIZE_MEM_HDR + (size_t)i * SIZE_REGION;

		m->mem.r[i] = (struct vhost_region){ .gpa = get64(r), .size = get64(r + 8),
						     .uaddr = get64(r + 16),
						     .mmap_offset = get64(r + 24) };
	}
	m->nfds = nfds;
	return 0;
}

int vhost_msg_parse(const uint8_t *buf, size_t len, unsigned nfds, struct vhost_msg *m,
		    const char **why)
{
	const uint8_t *p = buf + VHOST_MSG_HDR;
	int size;

	memset(m, 0, sizeof(*m));
	if (len < VHOST_MSG_HDR)
		return refuse(why, "shorter than a header");
	size = vhost_msg_payload_size(buf, why);
	if (size < 0)
		return -1;
	if (len != VHOST_MSG_HDR + (size_t)size)
		return refuse(why, "a payload that is not the size its header says");
	m->request = get32(buf);
	m->flags = get32(buf + 4);
	m->size = (uint32_t)size;
	m->need_reply = m->flags & VHOST_MSG_F_NEED_REPLY;
	switch (types[m->request].shape) {
	case MEM:
		return parse_mem(p, m->size, nfds, m, why);
	case FILE_:
		return parse_file(p, nfds, m, why);
	default:
		break;
	}
	if (nfds)
		return refuse(why, "descriptors with a request that takes none");
	switch (types[m->request].shape) {
	case U64:
		m->u64 = get64(p);
		return 0;
	case STATE:
		return parse_state(p, m, why);
	case ADDR:
		return parse_addr(p, m, why);
	default:
		return 0;
	}
}

static void put_header(uint8_t *out, uint32_t request, uint32_t size)
{
	put32(out, request);
	put32(out + 4, VHOST_MSG_VERSION | VHOST_MSG_F_REPLY);
	put32(out + 8, size);
}

size_t vhost_msg_reply_u64(uint8_t *out, uint32_t request, uint64_t value)
{
	put_header(out, request, SIZE_U64);
	put64(out + VHOST_MSG_HDR, value);
	return VHOST_MSG_REPLY_U64;
}

size_t vhost_msg_reply_state(uint8_t *out, uint32_t request, uint32_t index, uint32_t num)
{
	put_header(out, request, SIZE_STATE);
	put32(out + VHOST_MSG_HDR, index);
	put32(out + VHOST_MSG_HDR + 4, num);
	return VHOST_MSG_REPLY_STATE;
}

const char *vhost_msg_name(uint32_t request, char *buf, size_t cap)
{
	if (request < VHOST_REQUEST_MAX && types[request].name)
		return types[request].name;
	snprintf(buf, cap, "request %u", request);
	return buf;
}
