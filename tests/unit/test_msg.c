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
	struct msg_claim_addr4 a4 = { .h = msg_hdr(MSG_CLAIM_ADDR4, 9), .addr = 0xc0a869c8u };
	union msg m;

	CHECK(msg_parse(&c, sizeof(c), MSG_TO_REAPER, &m) == MSG_CLAIM_MAC);
	CHECK(m.h.seq == 7 && memcmp(m.claim_mac.mac, c.mac, 6) == 0);
	CHECK(msg_parse(&a, sizeof(a), MSG_TO_REAPER, &m) == MSG_CLAIM_ADDR6);
	CHECK(m.h.seq == 8);
	CHECK(msg_parse(&a4, sizeof(a4), MSG_TO_REAPER, &m) == MSG_CLAIM_ADDR4);
	CHECK(m.h.seq == 9 && m.claim_addr4.addr == 0xc0a869c8u);
	/* Only toward the reaper. */
	CHECK(msg_parse(&a4, sizeof(a4), MSG_FROM_REAPER | MSG_TO_FILES | MSG_FROM_FILES, &m) ==
	      -EBADMSG);
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

/* A status (vmnet-status reads it as root, from a datapath a VM may have
 * taken over): strings ended within their arrays, flags and mode in range. */
static void test_status(void)
{
	struct msg_status st = { .h = msg_hdr(MSG_STATUS, 0), .mode = 2, .for_user = 1 };
	struct msg_capture_ready r = { .h = msg_hdr(MSG_CAPTURE_READY, 0), .nfiles = 100 };
	union msg m;

	strcpy(st.tap, "vmtap0");
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == MSG_STATUS);
	CHECK(strcmp(m.status.tap, "vmtap0") == 0);
	CHECK(msg_parse(&st, sizeof(st), MSG_TO_REAPER, &m) == -EBADMSG);
	memset(st.socket, 'x', sizeof(st.socket));
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == -EBADMSG);
	st.socket[sizeof(st.socket) - 1] = '\0';
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == MSG_STATUS);
	memset(st.id, 'x', sizeof(st.id));
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == -EBADMSG);
	st.id[0] = '\0';
	st.mode = 3;
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == -EBADMSG);
	st.mode = 0;
	st.capture = 2;
	CHECK(msg_parse(&st, sizeof(st), MSG_FROM_HELPER, &m) == -EBADMSG);

	CHECK(msg_parse(&r, sizeof(r), MSG_FROM_CAPTURE_FILES, &m) == MSG_CAPTURE_READY);
	r.nfiles = 101;
	CHECK(msg_parse(&r, sizeof(r), MSG_FROM_CAPTURE_FILES, &m) == -EBADMSG);
}

/* The connection between a user's vmnet-helper and its root helper. */
static void test_broker_connection(void)
{
	struct msg_broker_exit e = { .h = msg_hdr(MSG_BROKER_EXIT, 0), .status = 3 };
	struct msg_broker_stop st = { .h = msg_hdr(MSG_BROKER_STOP, 0) };
	union msg m;

	CHECK(msg_parse(&st, sizeof(st), MSG_TO_HELPER, &m) == MSG_BROKER_STOP);
	CHECK(msg_parse(&st, sizeof(st), MSG_TO_USER, &m) == -EBADMSG);
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_HELPER, &m) == -EBADMSG);
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_USER, &m) == MSG_BROKER_EXIT);
	CHECK(m.broker_exit.status == 3 && m.broker_exit.line[0] == '\0');
	/* The line is a C string within its field; the status an exit status. */
	memset(e.line, 'x', sizeof(e.line));
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_USER, &m) == -EBADMSG);
	e.line[sizeof(e.line) - 1] = '\0';
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_USER, &m) == MSG_BROKER_EXIT);
	e.status = 256;
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_USER, &m) == -EBADMSG);
	e.status = -1;
	CHECK(msg_parse(&e, sizeof(e), MSG_TO_USER, &m) == -EBADMSG);
	/* The user's side answers a connect request like the files process. */
	CHECK((MSG_TO_HELPER & MSG_BIT(MSG_FILES_CONNECTED)) && (MSG_TO_USER & MSG_BIT(MSG_FILES_CONNECT)));
}

static void tests(void)
{
	test_broker_connection();
	test_whole_messages();
	test_size_is_the_types();
	test_type_must_be_the_channels();
	test_field_ranges();
	test_status();
}

T_MAIN
