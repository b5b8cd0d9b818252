/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dns.h"
#include "t.h"

/* vmtest.example A IN, id 0x1234, RD set */
static const uint8_t QUERY[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	6, 'v', 'm', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01,
};
#define QEND sizeof(QUERY)

static size_t with_edns(uint8_t *buf)
{
	/* The same query plus an OPT record: left alone, forwarded as is. */
	static const uint8_t opt[] = { 0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	memcpy(buf, QUERY, QEND);
	buf[11] = 1;   /* ARCOUNT */
	memcpy(buf + QEND, opt, sizeof(opt));
	return QEND + sizeof(opt);
}

static void test_parse_valid(void)
{
	struct dns_query q;
	uint8_t buf[64];
	size_t n;

	CHECK(dns_parse_query(QUERY, QEND, &q) == 0);
	CHECK(q.id == 0x1234);
	CHECK(q.opcode == DNS_OPCODE_QUERY);
	CHECK(q.question_end == QEND);
	n = with_edns(buf);
	CHECK(dns_parse_query(buf, n, &q) == 0 && q.question_end == QEND);
	/* The root name. */
	uint8_t root[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1 };
	CHECK(dns_parse_query(root, sizeof(root), &q) == 0 && q.question_end == sizeof(root));
	/* Another opcode (UPDATE) parses; the forwarder refuses it. */
	memcpy(buf, QUERY, QEND);
	buf[2] = 0x28;
	CHECK(dns_parse_query(buf, QEND, &q) == 0 && q.opcode == 5);
}

static void test_parse_malformed(void)
{
	struct dns_query q = { .id = 7, .opcode = 9, .question_end = 99 };
	uint8_t buf[600];

	for (size_t n = 0; n < QEND; n++)
		CHECK(dns_parse_query(QUERY, n, &q) < 0);   /* every truncation */
	memcpy(buf, QUERY, QEND);
	buf[2] |= 0x80;                                     /* QR: a reply */
	CHECK(dns_parse_query(buf, QEND, &q) < 0);
	memcpy(buf, QUERY, QEND);
	buf[5] = 0;                                         /* no question */
	CHECK(dns_parse_query(buf, QEND, &q) < 0);
	buf[5] = 2;                                         /* two questions */
	CHECK(dns_parse_query(buf, QEND, &q) < 0);
	memcpy(buf, QUERY, QEND);
	buf[12] = 0xc0;                                     /* compression pointer */
	CHECK(dns_parse_query(buf, QEND, &q) < 0);
	buf[12] = 0x46;                                     /* reserved label type */
	CHECK(dns_parse_query(buf, QEND, &q) < 0);
	/* A name of 256 bytes: 4 labels of 63 + 4 length bytes + root = 257. */
	memcpy(buf, QUERY, 12);
	size_t off = 12;
	for (int i = 0; i < 4; i++) {
		buf[off++] = 63;
		memset(buf + off, 'a', 63);
		off += 63;
	}
	buf[off++] = 0;
	memcpy(buf + off, "\0\1\0\1", 4);
	CHECK(dns_parse_query(buf, off + 4, &q) < 0);
	/* 255 exactly is fine: 3 x 63 + 61 + 5 length bytes... */
	off = 12;
	for (int i = 0; i < 3; i++) {
		buf[off++] = 63;
		memset(buf + off, 'a', 63);
		off += 63;
	}
	buf[off++] = 61;
	memset(buf + off, 'b', 61);
	off += 61;
	buf[off++] = 0;
	memcpy(buf + off, "\0\1\0\1", 4);
	CHECK(dns_parse_query(buf, off + 4, &q) == 0);
	/* A rejected query leaves q alone. */
	struct dns_query untouched = { .id = 7 };
	CHECK(dns_parse_query(QUERY, 5, &untouched) < 0 && untouched.id == 7);
}

static void test_error_reply(void)
{
	struct dns_query q;
	uint8_t buf[64], out[64];
	size_t n = with_edns(buf);
	int len;

	buf[3] = 0x10;   /* CD */
	CHECK(dns_parse_query(buf, n, &q) == 0);
	len = dns_error_reply(buf, &q, DNS_RCODE_SERVFAIL, out, sizeof(out));
	CHECK(len == (int)QEND);
	CHECK(out[0] == 0x12 && out[1] == 0x34);
	CHECK(out[2] == 0x81);           /* QR, opcode QUERY, RD copied */
	CHECK(out[3] == (0x80 | 0x10 | 2));   /* RA, CD copied, SERVFAIL */
	CHECK(out[4] == 0 && out[5] == 1);
	for (int i = 6; i < 12; i++)
		CHECK(out[i] == 0);      /* no records, no OPT */
	CHECK(memcmp(out + 12, QUERY + 12, QEND - 12) == 0);
	CHECK(dns_rcode(out) == DNS_RCODE_SERVFAIL);
	/* RD clear stays clear; the opcode is echoed. */
	buf[2] = 0x28;
	CHECK(dns_parse_query(buf, n, &q) == 0);
	len = dns_error_reply(buf, &q, DNS_RCODE_NOTIMP, out, sizeof(out));
	CHECK(len > 0 && out[2] == (0x80 | 0x28) && dns_rcode(out) == DNS_RCODE_NOTIMP);
	/* Too small a buffer. */
	CHECK(dns_error_reply(buf, &q, 2, out, QEND - 1) < 0);
	CHECK(dns_error_reply(buf, &q, 2, out, 5) < 0);
}

static void test_reply_matches(void)
{
	struct dns_query q;
	uint8_t reply[64];

	CHECK(dns_parse_query(QUERY, QEND, &q) == 0);
	memcpy(reply, QUERY, QEND);
	dns_set_id(reply, 0xbeef);
	reply[2] |= 0x80;
	CHECK(dns_get_id(reply) == 0xbeef);
	CHECK(dns_reply_matches(QUERY, &q, 0xbeef, reply, QEND));
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeee, reply, QEND));     /* wrong id */
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, QEND - 1)); /* cut question */
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, 11));       /* no header */
	reply[20] = 'X';                                               /* other name */
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, QEND));
	reply[20] = QUERY[20];
	reply[2] &= 0x7f;                                              /* not a reply */
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, QEND));
	reply[2] |= 0x80;
	/* No question: only as an error. */
	reply[5] = 0;
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, 12));
	reply[3] = 1;   /* FORMERR */
	CHECK(dns_reply_matches(QUERY, &q, 0xbeef, reply, 12));
	reply[5] = 2;   /* two questions */
	CHECK(!dns_reply_matches(QUERY, &q, 0xbeef, reply, QEND));
}

static void test_resolv(void)
{
	char out[4][DNS_ADDR_TEXT];
	const char *text =
		"# a comment\n"
		"search example.org\n"
		"  nameserver 10.0.0.9\n"           /* not at the line start: ignored */
		"nameserver 127.0.0.53\n"
		"nameserver\t192.0.2.1 # trailing\n"
		"nameserverx 10.0.0.8\n"
		"nameserver fe80::1%eth0;x\n"
		"nameserver\n"
		"options edns0 trust-ad\n"
		"nameserver 198.51.100.7";           /* no final newline */
	int n = dns_resolv_nameservers(text, out, 4);

	CHECK(n == 4);
	CHECK_STR(out[0], "127.0.0.53");
	CHECK_STR(out[1], "192.0.2.1");
	CHECK_STR(out[2], "fe80::1%eth0");
	CHECK_STR(out[3], "198.51.100.7");
	CHECK(dns_resolv_nameservers(text, out, 2) == 2);
	CHECK(dns_resolv_nameservers("", out, 4) == 0);
	CHECK(dns_resolv_nameservers("nameserver #only-a-comment\n", out, 4) == 0);
	/* An address too long for the buffer is skipped, not cut. */
	char longline[200] = "nameserver ";
	memset(longline + 11, '1', 100);
	CHECK(dns_resolv_nameservers(longline, out, 4) == 0);
}

static void tests(void)
{
	test_parse_valid();
	test_parse_malformed();
	test_error_reply();
	test_reply_matches();
	test_resolv();
}

T_MAIN
