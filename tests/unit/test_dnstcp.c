/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS-over-TCP state machine, driven by hand: no sockets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dnstcp.h"
#include "t.h"

/* vmtest.example A IN, id 0x1234, RD set, with its 2-byte length prefix */
static const uint8_t QUERY[] = {
	0, 32,
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	6, 'v', 'm', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01,
};

/* Its answer: 10.99.0.77 */
static const uint8_t ANSWER[] = {
	0, 48,
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	6, 'v', 'm', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01,
	0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 99, 0, 77,
};

static struct dns_counters cnt;
static struct dnstcp conn;

static struct dnstcp *fresh(int nup)
{
	memset(&cnt, 0, sizeof(cnt));
	memset(&conn, 0xa5, sizeof(conn));
	dnstcp_open(&conn, nup, &cnt, 1000);
	return &conn;
}

/* Reads data into the machine at most chunk bytes at a time, as dnstcp_io()
 * asks; returns the last action. upstream: which side the bytes come from. */
static enum dnstcp_action feed(struct dnstcp *c, bool upstream, const uint8_t *data, size_t len,
			       size_t chunk, int64_t now)
{
	enum dnstcp_action a = DNSTCP_WAIT;
	size_t off = 0;

	while (off < len && a == DNSTCP_WAIT) {
		struct dnstcp_io io = dnstcp_io(c);
		size_t n = len - off < chunk ? len - off : chunk;

		if (io.upstream != upstream || io.write || io.len == 0)
			break;
		n = n < io.len ? n : io.len;
		memcpy(io.buf, data + off, n);
		off += n;
		a = dnstcp_done(c, n, now);
	}
	return a;
}

/* Takes what the machine writes on one side, at most chunk at a time. */
static size_t drain(struct dnstcp *c, bool upstream, uint8_t *out, size_t cap, size_t chunk,
		    int64_t now)
{
	size_t got = 0;

	for (;;) {
		struct dnstcp_io io = dnstcp_io(c);
		if (!io.write || io.upstream != upstream || io.len == 0 || c->st == DNSTCP_CONNECT)
			return got;
		size_t n = io.len < chunk ? io.len : chunk;
		if (got + n > cap)
			return got;
		memcpy(out + got, io.buf, n);
		got += n;
		dnstcp_done(c, n, now);
	}
}

static void test_query_answered(void)
{
	struct dnstcp *c = fresh(2);
	uint8_t out[128];
	struct dnstcp_io io;

	CHECK(c->st == DNSTCP_READ && c->deadline == 1000 + DNSTCP_IDLE_MS);
	io = dnstcp_io(c);
	CHECK(!io.upstream && !io.write && io.len == 2);   /* the length first */
	CHECK(feed(c, false, QUERY, sizeof(QUERY), 1, 1100) == DNSTCP_CONNECT_UP);
	CHECK(c->st == DNSTCP_CONNECT && c->server == 0 && dnstcp_upstream(c));
	CHECK(c->deadline == 1100 + DNS_DEADLINE_MS);
	CHECK(c->attempt_end == 1100 + DNS_DEADLINE_MS / 2);
	CHECK(cnt.queries == 1);
	CHECK(dnstcp_connected(c, 0, 1110) == DNSTCP_WAIT && c->st == DNSTCP_UP_WRITE);
	/* The query goes upstream as it came, prefix included, in pieces. */
	CHECK(drain(c, true, out, sizeof(out), 5, 1120) == sizeof(QUERY));
	CHECK(memcmp(out, QUERY, sizeof(QUERY)) == 0);
	CHECK(c->st == DNSTCP_UP_READ);
	CHECK(feed(c, true, ANSWER, sizeof(ANSWER), 7, 1130) == DNSTCP_WAIT);
	CHECK(c->st == DNSTCP_WRITE && !dnstcp_upstream(c) && cnt.answers == 1);
	CHECK(drain(c, false, out, sizeof(out), 3, 1140) == sizeof(ANSWER));
	CHECK(memcmp(out, ANSWER, sizeof(ANSWER)) == 0);
	/* Then the next query, with a fresh idle deadline. */
	CHECK(c->st == DNSTCP_READ && c->qlen == 0 && c->deadline == 1140 + DNSTCP_IDLE_MS);
	CHECK(cnt.servfails == 0 && cnt.drops == 0);
}

static void test_reads_stop_at_the_message(void)
{
	struct dnstcp *c = fresh(1);
	struct dnstcp_io io;

	memcpy(dnstcp_io(c).buf, QUERY, 2);
	CHECK(dnstcp_done(c, 2, 1000) == DNSTCP_WAIT);
	io = dnstcp_io(c);
	/* Exactly the announced length: a pipelined query stays in the kernel. */
	CHECK(io.len == sizeof(QUERY) - 2 && io.buf == c->qbuf + 2);
}

static void test_bad_queries_close(void)
{
	uint8_t big[2] = { (DNS_MAX_QUERY + 1) >> 8, (DNS_MAX_QUERY + 1) & 0xff };
	uint8_t empty[2] = { 0, 0 }, shortq[2 + DNS_HEADER - 1] = { 0, DNS_HEADER - 1 };
	uint8_t reply[sizeof(QUERY)];
	struct dnstcp *c;

	c = fresh(1);
	CHECK(feed(c, false, big, 2, 2, 1000) == DNSTCP_CLOSE && c->st == DNSTCP_FREE);
	c = fresh(1);
	CHECK(feed(c, false, empty, 2, 2, 1000) == DNSTCP_CLOSE && c->st == DNSTCP_FREE);
	c = fresh(1);
	CHECK(feed(c, false, shortq, sizeof(shortq), 64, 1000) == DNSTCP_CLOSE);
	/* A reply where a query belongs: malformed, dropped and counted. */
	memcpy(reply, QUERY, sizeof(reply));
	reply[4] |= 0x80;
	c = fresh(1);
	CHECK(feed(c, false, reply, sizeof(reply), 64, 1000) == DNSTCP_CLOSE);
	CHECK(cnt.drops == 1 && cnt.queries == 0);
	/* End of stream, half way or between queries. */
	c = fresh(1);
	CHECK(feed(c, false, QUERY, 5, 64, 1000) == DNSTCP_WAIT);
	CHECK(dnstcp_done(c, 0, 1000) == DNSTCP_CLOSE && c->st == DNSTCP_FREE);
	c = fresh(1);
	CHECK(dnstcp_failed(c, 1000) == DNSTCP_CLOSE);
}

static void test_other_opcode_notimp(void)
{
	uint8_t update[sizeof(QUERY)], out[64];
	struct dnstcp *c = fresh(1);

	memcpy(update, QUERY, sizeof(update));
	update[4] = 0x28;   /* UPDATE */
	CHECK(feed(c, false, update, sizeof(update), 64, 1000) == DNSTCP_WAIT);
	CHECK(c->st == DNSTCP_WRITE && cnt.queries == 1 && cnt.servfails == 1);
	CHECK(drain(c, false, out, sizeof(out), 64, 1000) == sizeof(QUERY));
	CHECK(out[0] == 0 && out[1] == 32 && out[2] == 0x12 && out[3] == 0x34);
	CHECK((out[5] & 0x0f) == DNS_RCODE_NOTIMP && (out[4] & 0x80));
}

/* Brings a fresh connection to DNSTCP_CONNECT on server 0. */
static struct dnstcp *asking(int nup, int64_t now)
{
	struct dnstcp *c = fresh(nup);

	CHECK(feed(c, false, QUERY, sizeof(QUERY), 64, now) == DNSTCP_CONNECT_UP);
	return c;
}

static bool is_servfail(struct dnstcp *c)
{
	return c->st == DNSTCP_WRITE && c->rlen == sizeof(QUERY) && c->rbuf[2] == 0x12 &&
	       c->rbuf[3] == 0x34 && (c->rbuf[5] & 0x0f) == DNS_RCODE_SERVFAIL;
}

static void test_servers_in_turn(void)
{
	struct dnstcp *c = asking(3, 1000);

	/* Refused at once: the next server, then SERVFAIL after the last. */
	CHECK(dnstcp_connected(c, 111, 1001) == DNSTCP_CONNECT_UP && c->server == 1);
	CHECK(dnstcp_connected(c, 0, 1002) == DNSTCP_WAIT && c->st == DNSTCP_UP_WRITE);
	CHECK(dnstcp_failed(c, 1003) == DNSTCP_CONNECT_UP && c->server == 2);
	CHECK(c->attempt_end == c->deadline);   /* the last one gets what is left */
	CHECK(dnstcp_connected(c, 111, 1004) == DNSTCP_WAIT && is_servfail(c));
	CHECK(!dnstcp_upstream(c) && cnt.servfails == 1);
	/* Closed by the server half way through its answer. */
	c = asking(2, 1000);
	dnstcp_connected(c, 0, 1000);
	dnstcp_done(c, sizeof(QUERY), 1000);
	CHECK(feed(c, true, ANSWER, 9, 64, 1000) == DNSTCP_WAIT);
	CHECK(dnstcp_done(c, 0, 1000) == DNSTCP_CONNECT_UP && c->server == 1);
	/* An answer to something else. */
	c = asking(1, 1000);
	dnstcp_connected(c, 0, 1000);
	dnstcp_done(c, sizeof(QUERY), 1000);
	uint8_t other[sizeof(ANSWER)];
	memcpy(other, ANSWER, sizeof(other));
	other[3] ^= 1;
	CHECK(feed(c, true, other, sizeof(other), 64, 1000) == DNSTCP_WAIT && is_servfail(c));
	CHECK(cnt.answers == 0);
}

static void test_timers(void)
{
	struct dnstcp *c = asking(2, 1000);

	CHECK(dnstcp_next(c) == 1000 + DNS_DEADLINE_MS / 2);
	CHECK(dnstcp_timer(c, 1000 + DNS_DEADLINE_MS / 2 - 1) == DNSTCP_WAIT && c->server == 0);
	CHECK(dnstcp_timer(c, 1000 + DNS_DEADLINE_MS / 2) == DNSTCP_CONNECT_UP && c->server == 1);
	CHECK(dnstcp_next(c) == 1000 + DNS_DEADLINE_MS);
	CHECK(dnstcp_timer(c, 1000 + DNS_DEADLINE_MS) == DNSTCP_WAIT && is_servfail(c));
	/* A client that reads nothing, or sends nothing, is let go. */
	CHECK(dnstcp_next(c) == 1000 + DNS_DEADLINE_MS + DNSTCP_IDLE_MS);
	CHECK(dnstcp_timer(c, 1000 + DNS_DEADLINE_MS + DNSTCP_IDLE_MS) == DNSTCP_CLOSE);
	c = fresh(1);
	CHECK(dnstcp_timer(c, 1000 + DNSTCP_IDLE_MS - 1) == DNSTCP_WAIT);
	CHECK(dnstcp_timer(c, 1000 + DNSTCP_IDLE_MS) == DNSTCP_CLOSE && c->st == DNSTCP_FREE);
	CHECK(dnstcp_timer(c, 99999) == DNSTCP_WAIT);
}

static void tests(void)
{
	test_query_answered();
	test_reads_stop_at_the_message();
	test_bad_queries_close();
	test_other_opcode_notimp();
	test_servers_in_turn();
	test_timers();
}

T_MAIN
