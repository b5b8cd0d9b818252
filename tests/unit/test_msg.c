/* SPDX-License-Identifier: Apache-2.0 */
/* The typed messages between a helper's processes (parse/msg.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse/msg.h"
#include "t.h"

static void test_whole_messages(void)
{
	struct msg_claim_mac c = { .h = msg_hdr(MSG_CLAIM_MAC, 7), .mac = { 2, 1, 2, 3, 4, 5 } };
	struct msg_claim_addr6 a = { .h = msg_hdr(MSG_CLAIM_ADDR6, 8) };
	union msg m;

	CHECK(msg_parse(&c, sizeof(c), MSG_TO_REAPER, &m) == MSG_CLAIM_MAC);
	CHECK(m.h.seq == 7 && memcmp(m.claim_mac.mac, c.mac, 6) == 0);
	CHECK(msg_parse(&a, sizeof(a), MSG_TO_REAPER, &m) == MSG_CLAIM_ADDR6);
	CHECK(m.h.seq == 8);
}

/* Told apart by type, never by length: every other size is refused. */
static void test_size_is_the_types(void)
{
	uint8_t buf[sizeof(union msg) + 8] = { 0 };
	struct msg_hdr h = msg_hdr(MSG_CLAIM_MAC, 1);
	union msg m;

	memcpy(buf, &h, sizeof(h));
	for (size_t len = 0; len < sizeof(buf); len++)
		CHECK((msg_parse(buf, len, MSG_TO_REAPER, &m) == MSG_CLAIM_MAC) ==
		      (len == sizeof(struct msg_claim_mac)));
}

/* A type the channel does not carry, or no type at all, is refused. */
static void test_type_must_be_the_channels(void)
{
	struct msg_verdict v = { .h = msg_hdr(MSG_VERDICT, 1), .granted = 1 };
	struct msg_files_connect fc = { .h = msg_hdr(MSG_FILES_CONNECT, 0) };
	uint8_t buf[sizeof(union msg)] = { 0 };
	union msg m;

	CHECK(msg_parse(&v, sizeof(v), MSG_TO_REAPER, &m) == -EBADMSG);
	CHECK(msg_parse(&v, sizeof(v), MSG_FROM_REAPER, &m) == MSG_VERDICT);
	CHECK(msg_parse(&fc, sizeof(fc), MSG_TO_REAPER, &m) == -EBADMSG);
	CHECK(msg_parse(&fc, sizeof(fc), MSG_TO_FILES, &m) == MSG_FILES_CONNECT);
	for (unsigned t = 0; t < 64; t++) {
		struct msg_hdr h = { .type = (uint16_t)t };

		memcpy(buf, &h, sizeof(h));
		CHECK(msg_parse(buf, msg_size(t) ? msg_size(t) : sizeof(h), ~0u, &m) ==
		      (t && t < MSG_TYPES ? (int)t : -EBADMSG));
	}
}

/* Fields narrower than their type are checked too. */
static void test_field_ranges(void)
{
	struct msg_verdict v = { .h = msg_hdr(MSG_VERDICT, 1), .granted = 2 };
	struct msg_files_connected c = { .h = msg_hdr(MSG_FILES_CONNECTED, 0) };
	union msg m;

	CHECK(msg_parse(&v, sizeof(v), MSG_FROM_REAPER, &m) == -EBADMSG);
	c.fromlen = sizeof(c.from) + 1;
	CHECK(msg_parse(&c, sizeof(c), MSG_FROM_FILES, &m) == -EBADMSG);
	c.fromlen = sizeof(c.from);
	CHECK(msg_parse(&c, sizeof(c), MSG_FROM_FILES, &m) == MSG_FILES_CONNECTED);
}

static void tests(void)
{
	test_whole_messages();
	test_size_is_the_types();
	test_type_must_be_the_channels();
	test_field_ranges();
}

T_MAIN
