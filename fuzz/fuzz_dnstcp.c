/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the DNS-over-TCP state machine (dnstcp.h). The input
 * is a script: its first byte picks the number of upstream servers, then each
 * byte is an event (low 3 bits) with an argument (high 5 bits):
 *   0  the client sends arg+1 bytes (taken from the input)
 *   1  the upstream server sends arg+1 bytes (taken from the input)
 *   2  a socket takes arg+1 bytes of what the machine writes (all if arg 31)
 *   3  end of stream on the socket being read
 *   4  the transfer fails
 *   5  the upstream connect completes (fails if arg is odd)
 *   6  arg * 100 ms pass
 *   7  a whole valid query (client) or a whole answer to it (upstream) arrives
 * Checks what the machine asks for stays inside its buffers, that what goes
 * upstream is the client's query as it came, and that every answer the client
 * gets is the upstream's answer to its query or our error reply to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dnstcp.h"

static const uint8_t QUERY[] = {
	0, 32,
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	6, 'v', 'm', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01,
};

struct run {
	struct dnstcp c;
	struct dns_counters cnt;
	int64_t now;
	const uint8_t *in;
	size_t left;
	uint8_t up_out[2 + DNS_MAX_QUERY];     /* what went upstream this attempt */
	size_t up_out_len;
	uint8_t up_in[2 + DNS_MAX_MESSAGE];    /* what upstream sent this attempt */
	size_t up_in_len;
	uint8_t reply[2 + DNS_MAX_MESSAGE];    /* the answer the client must get */
	size_t reply_len, client_got;
};

static bool inside(const uint8_t *p, size_t len, const uint8_t *buf, size_t cap)
{
	return p >= buf && p <= buf + cap && len <= (size_t)(buf + cap - p);
}

static void check_io(struct run *r)
{
	struct dnstcp *c = &r->c;
	struct dnstcp_io io = dnstcp_io(c);

	if (c->st == DNSTCP_FREE || c->st == DNSTCP_CONNECT)
		return;
	if (io.len == 0 || io.upstream != dnstcp_upstream(c))
		abort();
	if (!inside(io.buf, io.len, c->qbuf, sizeof(c->qbuf)) &&
	    !inside(io.buf, io.len, c->rbuf, sizeof(c->rbuf)))
		abort();
}

/* Entering DNSTCP_WRITE: the answer is upstream's (same id) or ours. */
static void check_reply(struct run *r)
{
	struct dnstcp *c = &r->c;
	const uint8_t *msg = c->rbuf + 2;
	size_t len = c->rlen - 2;

	if (c->rlen < 2 + DNS_HEADER || (size_t)(c->rbuf[0] << 8 | c->rbuf[1]) != len)
		abort();
	if (dns_get_id(msg) != c->q.id)
		abort();
	bool ours = dns_reply_matches(c->qbuf + 2, &c->q, c->q.id, msg, len) &&
		    (dns_rcode(msg) == DNS_RCODE_SERVFAIL || dns_rcode(msg) == DNS_RCODE_NOTIMP);
	bool relayed = r->up_in_len == c->rlen && memcmp(r->up_in, c->rbuf, c->rlen) == 0;
	if (!ours && !relayed)
		abort();
	memcpy(r->reply, c->rbuf, c->rlen);
	r->reply_len = c->rlen;
	r->client_got = 0;
}

static void check_state(struct run *r, enum dnstcp_state before, enum dnstcp_action a)
{
	struct dnstcp *c = &r->c;

	if ((a == DNSTCP_CLOSE) != (c->st == DNSTCP_FREE) ||
	    (a == DNSTCP_CONNECT_UP && c->st != DNSTCP_CONNECT))
		abort();
	if (c->qlen > sizeof(c->qbuf) || c->rlen > sizeof(c->rbuf) ||
	    (dnstcp_upstream(c) && c->qoff > c->qlen) || (c->st == DNSTCP_WRITE && c->roff > c->rlen))
		abort();
	if (dnstcp_upstream(c) && (c->server < 0 || c->server >= c->nup || c->attempt_end > c->deadline))
		abort();
	if (atomic_load(&r->cnt.answers) + atomic_load(&r->cnt.servfails) > atomic_load(&r->cnt.queries))
		abort();
	if (c->st == DNSTCP_CONNECT) {
		r->up_out_len = 0;
		r->up_in_len = 0;
	}
	/* The whole query went upstream: exactly the client's message. */
	if (before == DNSTCP_UP_WRITE && c->st == DNSTCP_UP_READ &&
	    (r->up_out_len != c->qlen || memcmp(r->up_out, c->qbuf, c->qlen) != 0))
		abort();
	if (before != DNSTCP_WRITE && c->st == DNSTCP_WRITE)
		check_reply(r);
	/* The whole answer reached the client as it was made. */
	if (before == DNSTCP_WRITE && c->st == DNSTCP_READ &&
	    (r->client_got != r->reply_len))
		abort();
	check_io(r);
}

static bool take(struct run *r, size_t n, const uint8_t **p)
{
	if (r->left < n)
		return false;
	*p = r->in;
	r->in += n;
	r->left -= n;
	return true;
}

/* Bytes arrive on the side being read. */
static enum dnstcp_action arrive(struct run *r, bool upstream, const uint8_t *p, size_t n)
{
	struct dnstcp_io io = dnstcp_io(&r->c);

	if (io.write || io.upstream != upstream || r->c.st == DNSTCP_FREE || r->c.st == DNSTCP_CONNECT)
		return DNSTCP_WAIT;
	n = n < io.len ? n : io.len;
	memcpy(io.buf, p, n);
	if (upstream) {
		if (r->up_in_len + n > sizeof(r->up_in))
			abort();
		memcpy(r->up_in + r->up_in_len, p, n);
		r->up_in_len += n;
	}
	return dnstcp_done(&r->c, n, r->now);
}

static enum dnstcp_action depart(struct run *r, size_t n)
{
	struct dnstcp_io io = dnstcp_io(&r->c);

	if (!io.write || r->c.st == DNSTCP_CONNECT || r->c.st == DNSTCP_FREE)
		return DNSTCP_WAIT;
	n = n < io.len ? n : io.len;
	if (io.upstream) {
		memcpy(r->up_out + r->up_out_len, io.buf, n);
		r->up_out_len += n;
	} else {
		if (r->client_got + n > r->reply_len || memcmp(r->reply + r->client_got, io.buf, n))
			abort();
		r->client_got += n;
	}
	return dnstcp_done(&r->c, n, r->now);
}

/* A whole answer to the query being forwarded, with its id. */
static enum dnstcp_action whole(struct run *r)
{
	uint8_t ans[sizeof(QUERY)];

	if (r->c.st == DNSTCP_READ)
		return arrive(r, false, QUERY, sizeof(QUERY));
	if (r->c.st != DNSTCP_UP_READ || r->c.q.question_end + 2 > sizeof(ans))
		return DNSTCP_WAIT;
	memcpy(ans, r->c.qbuf, r->c.q.question_end + 2);
	ans[0] = (uint8_t)(r->c.q.question_end >> 8);
	ans[1] = (uint8_t)r->c.q.question_end;
	ans[4] |= 0x80;
	return arrive(r, true, ans, r->c.q.question_end + 2);
}

static enum dnstcp_action step(struct run *r, uint8_t op)
{
	unsigned arg = op >> 3;
	const uint8_t *p;

	switch (op & 7) {
	case 0:
	case 1:
		if (!take(r, arg + 1, &p))
			return DNSTCP_WAIT;
		return arrive(r, op & 1, p, arg + 1);
	case 2:
		return depart(r, arg == 31 ? SIZE_MAX : arg + 1);
	case 3: {
		struct dnstcp_io io = dnstcp_io(&r->c);
		if (io.write || r->c.st == DNSTCP_FREE || r->c.st == DNSTCP_CONNECT)
			return DNSTCP_WAIT;
		return dnstcp_done(&r->c, 0, r->now);
	}
	case 4:
		return dnstcp_failed(&r->c, r->now);
	case 5:
		return dnstcp_connected(&r->c, arg & 1 ? 111 : 0, r->now);
	case 6:
		r->now += arg * 100;
		return dnstcp_timer(&r->c, r->now);
	default:
		return whole(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.now = 1000;
	r.in = data + 1;
	r.left = size - 1;
	dnstcp_open(&r.c, 1 + data[0] % 3, &r.cnt, r.now);
	while (r.left > 0) {
		const uint8_t *op;
		enum dnstcp_state before = r.c.st;

		take(&r, 1, &op);
		enum dnstcp_action a = step(&r, *op);
		check_state(&r, before, a);
		if (a == DNSTCP_CLOSE)
			dnstcp_open(&r.c, 1 + data[0] % 3, &r.cnt, r.now);
	}
	return 0;
}
