/* SPDX-License-Identifier: Apache-2.0 */
/* vhost_msg: the vhost-user messages QEMU's vhost-user-net frontend sends, and what is refused. */
#include <stdint.h>
#include <string.h>

#include "parse/vhost_msg.h"
#include "t.h"

static size_t msg(uint8_t *b, uint32_t request, uint32_t flags, const void *payload,
		  uint32_t size)
{
	memcpy(b, &request, 4);
	memcpy(b + 4, &flags, 4);
	memcpy(b + 8, &size, 4);
	if (size)
		memcpy(b + VHOST_MSG_HDR, payload, size);
	return VHOST_MSG_HDR + size;
}

static int parse(uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		 unsigned nfds, struct vhost_msg *m, const char **why)
{
	uint8_t b[VHOST_MSG_HDR + VHOST_MSG_MAX_PAYLOAD + 64];
	size_t len = msg(b, request, flags, payload, size);

	*why = NULL;
	return vhost_msg_parse(b, len, nfds, m, why);
}

/* QEMU 7.2's start-up, in order: what each message parses to. */
static void test_qemu_sequence(void)
{
	struct vhost_msg m;
	const char *why;
	uint64_t u = 0x140000000ull | (1ull << 15);
	uint32_t state[2] = { 1, 256 };

	CHECK(parse(VHOST_GET_FEATURES, 1, NULL, 0, 0, &m, &why) == 0);
	CHECK(m.request == VHOST_GET_FEATURES && !m.need_reply && m.size == 0);
	CHECK(parse(VHOST_GET_PROTOCOL_FEATURES, 1, NULL, 0, 0, &m, &why) == 0);
	CHECK(parse(VHOST_SET_PROTOCOL_FEATURES, 1, &u, 8, 0, &m, &why) == 0 && m.u64 == u);
	CHECK(parse(VHOST_GET_QUEUE_NUM, 1, NULL, 0, 0, &m, &why) == 0);
	CHECK(parse(VHOST_SET_OWNER, 1 | VHOST_MSG_F_NEED_REPLY, NULL, 0, 0, &m, &why) == 0);
	CHECK(m.need_reply);
	CHECK(parse(VHOST_SET_FEATURES, 1, &u, 8, 0, &m, &why) == 0 && m.u64 == u);
	CHECK(parse(VHOST_SET_VRING_NUM, 1, state, 8, 0, &m, &why) == 0);
	CHECK(m.state.index == 1 && m.state.num == 256);
	CHECK(parse(VHOST_SET_VRING_BASE, 1, state, 8, 0, &m, &why) == 0);
	CHECK(parse(VHOST_GET_VRING_BASE, 1, state, 8, 0, &m, &why) == 0 && m.state.index == 1);
	state[1] = 1;
	CHECK(parse(VHOST_SET_VRING_ENABLE, 1, state, 8, 0, &m, &why) == 0 && m.state.num == 1);
	CHECK(parse(VHOST_RESET_OWNER, 1, NULL, 0, 0, &m, &why) == 0);
}

static void test_mem_table(void)
{
	uint8_t p[8 + 8 * 32] = { 0 };
	uint64_t r[4] = { 0x100000, 0x0ff00000, 0x7f0000100000, 0x100000 };
	struct vhost_msg m;
	const char *why;

	p[0] = 2;
	memcpy(p + 8, r, 32);
	r[0] = 0;
	r[1] = 0xa0000;
	memcpy(p + 40, r, 32);
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 64, 2, &m, &why) == 0);
	CHECK(m.mem.n == 2 && m.nfds == 2);
	CHECK(m.mem.r[0].gpa == 0x100000 && m.mem.r[0].size == 0x0ff00000);
	CHECK(m.mem.r[0].uaddr == 0x7f0000100000 && m.mem.r[0].mmap_offset == 0x100000);
	CHECK(m.mem.r[1].gpa == 0 && m.mem.r[1].size == 0xa0000);
	/* One descriptor per region, exactly. */
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 64, 1, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 64, 3, &m, &why) < 0 && why);
	/* The count must be the size's. */
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 32, 2, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 32, 1, &m, &why) < 0 && why);
	p[0] = 0;
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 32, 0, &m, &why) < 0 && why);
	p[0] = 9;
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 8 * 32, 8, &m, &why) < 0 && why);
	p[0] = 8;
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 8 * 32, 8, &m, &why) == 0 && m.mem.n == 8);
	/* Sizes the table cannot have. */
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_MEM_TABLE, 1, p, 8 + 33, 1, &m, &why) < 0 && why);
}

static void test_files(void)
{
	struct vhost_msg m;
	const char *why;
	uint64_t u = 1;

	CHECK(parse(VHOST_SET_VRING_KICK, 1, &u, 8, 1, &m, &why) == 0);
	CHECK(m.file.index == 1 && !m.file.nofd && m.nfds == 1);
	CHECK(parse(VHOST_SET_VRING_CALL, 1, &u, 8, 0, &m, &why) < 0 && why);
	u = 0x100;
	CHECK(parse(VHOST_SET_VRING_CALL, 1, &u, 8, 0, &m, &why) == 0);
	CHECK(m.file.index == 0 && m.file.nofd && m.nfds == 0);
	CHECK(parse(VHOST_SET_VRING_ERR, 1, &u, 8, 1, &m, &why) < 0 && why);
	u = 2;     /* a second queue pair: not offered */
	CHECK(parse(VHOST_SET_VRING_KICK, 1, &u, 8, 1, &m, &why) < 0 && why);
	u = 0x201; /* unknown bits */
	CHECK(parse(VHOST_SET_VRING_KICK, 1, &u, 8, 1, &m, &why) < 0 && why);
	/* Descriptors with a request that takes none. */
	CHECK(parse(VHOST_GET_FEATURES, 1, NULL, 0, 1, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_FEATURES, 1, &u, 8, 1, &m, &why) < 0 && why);
}

static void test_refused(void)
{
	uint8_t b[64] = { 0 };
	struct vhost_msg m;
	const char *why;
	uint32_t state[2] = { 2, 256 };
	uint64_t addr[5] = { 0 };

	/* Version, reply and unknown flags. */
	CHECK(parse(VHOST_GET_FEATURES, 0, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_GET_FEATURES, 2, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_GET_FEATURES, 1 | VHOST_MSG_F_REPLY, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_GET_FEATURES, 1 | 0x10, NULL, 0, 0, &m, &why) < 0 && why);
	/* Unknown and unsupported requests. */
	CHECK(parse(0, 1, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(41, 1, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(0xffffffffu, 1, NULL, 0, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_LOG_BASE, 1, addr, 16, 1, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_LOG_FD, 1, NULL, 0, 1, &m, &why) < 0 && why);
	CHECK(parse(24, 1, b, 12, 0, &m, &why) < 0 && why);   /* GET_CONFIG */
	CHECK(parse(37, 1, b, 40, 1, &m, &why) < 0 && why);   /* ADD_MEM_REG */
	/* Sizes the type does not have. */
	CHECK(parse(VHOST_GET_FEATURES, 1, b, 8, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_FEATURES, 1, b, 4, 0, &m, &why) < 0 && why);
	CHECK(parse(VHOST_SET_VRING_ADDR, 1, b, 32, 0, &m, &why) < 0 && why);
	/* Ring indexes beyond one queue pair. */
	CHECK(parse(VHOST_SET_VRING_NUM, 1, state, 8, 0, &m, &why) < 0 && why);
	addr[0] = 2;
	CHECK(parse(VHOST_SET_VRING_ADDR, 1, addr, 40, 0, &m, &why) < 0 && why);
	/* Logging flags (migration) are refused, others are unknown. */
	addr[0] = 1ull << 32;
	CHECK(parse(VHOST_SET_VRING_ADDR, 1, addr, 40, 0, &m, &why) < 0 && why);
	addr[0] = 2ull << 32 | 1;
	CHECK(parse(VHOST_SET_VRING_ADDR, 1, addr, 40, 0, &m, &why) < 0 && why);
	addr[0] = 1;
	CHECK(parse(VHOST_SET_VRING_ADDR, 1, addr, 40, 0, &m, &why) == 0 && m.addr.index == 1);
	state[0] = 0;
	state[1] = 2;
	CHECK(parse(VHOST_SET_VRING_ENABLE, 1, state, 8, 0, &m, &why) < 0 && why);
	/* A buffer that is not header plus the announced payload. */
	msg(b, VHOST_SET_FEATURES, 1, "12345678", 8);
	CHECK(vhost_msg_parse(b, VHOST_MSG_HDR + 7, 0, &m, &why) < 0);
	CHECK(vhost_msg_parse(b, VHOST_MSG_HDR + 9, 0, &m, &why) < 0);
	CHECK(vhost_msg_parse(b, 11, 0, &m, &why) < 0);
	CHECK(vhost_msg_parse(b, VHOST_MSG_HDR + 8, 0, &m, &why) == 0);
}

static void test_payload_size(void)
{
	uint8_t b[VHOST_MSG_HDR];
	const char *why;

	msg(b, VHOST_SET_MEM_TABLE, 1, NULL, 0);
	CHECK(vhost_msg_payload_size(b, &why) < 0);
	msg(b, VHOST_SET_VRING_ADDR, 1, NULL, 0);
	memcpy(b + 8, &(uint32_t){ 40 }, 4);
	CHECK(vhost_msg_payload_size(b, &why) == 40);
	memcpy(b + 8, &(uint32_t){ 0xffffffffu }, 4);
	CHECK(vhost_msg_payload_size(b, &why) < 0);
	msg(b, VHOST_SET_MEM_TABLE, 1, NULL, 0);
	memcpy(b + 8, &(uint32_t){ VHOST_MSG_MAX_PAYLOAD }, 4);
	CHECK(vhost_msg_payload_size(b, &why) == VHOST_MSG_MAX_PAYLOAD);
	memcpy(b + 8, &(uint32_t){ VHOST_MSG_MAX_PAYLOAD + 32 }, 4);
	CHECK(vhost_msg_payload_size(b, &why) < 0);
}

static void test_replies(void)
{
	uint8_t b[VHOST_MSG_REPLY_U64];
	uint32_t w[3];
	uint64_t u;
	char name[32];

	CHECK(vhost_msg_reply_u64(b, VHOST_GET_FEATURES, 0x1234) == 20);
	memcpy(w, b, 12);
	memcpy(&u, b + 12, 8);
	CHECK(w[0] == VHOST_GET_FEATURES && w[1] == (1 | VHOST_MSG_F_REPLY) && w[2] == 8);
	CHECK(u == 0x1234);
	CHECK(vhost_msg_reply_state(b, VHOST_GET_VRING_BASE, 1, 77) == 20);
	memcpy(w, b + 12, 8);
	CHECK(w[0] == 1 && w[1] == 77);
	CHECK_STR(vhost_msg_name(VHOST_SET_MEM_TABLE, name, sizeof(name)), "SET_MEM_TABLE");
	CHECK_STR(vhost_msg_name(99, name, sizeof(name)), "request 99");
	/* What we offer: one queue pair with REPLY_ACK, no migration log. */
	CHECK(vhost_msg_protocol_features() == 9);
	CHECK(vhost_msg_features() & (1ull << VHOST_F_PROTOCOL_FEATURES));
	CHECK(!(vhost_msg_features() & (1ull << 26)));   /* VHOST_F_LOG_ALL */
}

static void tests(void)
{
	test_qemu_sequence();
	test_mem_table();
	test_files();
	test_refused();
	test_payload_size();
	test_replies();
}

T_MAIN
