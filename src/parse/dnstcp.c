/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS over TCP as a state machine without I/O (dnstcp.h). Pure: the
 * lengths it reads come from a VM; runs in the datapath's DNS thread.
 */
#include "parse/dnstcp.h"

#include <string.h>

/* Bytes the message in buf (have of them read) takes with its length prefix;
 * 2 while the prefix itself is incomplete. */
static size_t frame_want(const uint8_t *buf, size_t have)
{
	return have < 2 ? 2 : 2 + (size_t)(buf[0] << 8 | buf[1]);
}

/* The connection is over: the caller closes its sockets. */
static enum dnstcp_action finish(struct dnstcp *c)
{
	c->st = DNSTCP_FREE;
	return DNSTCP_CLOSE;
}

static void wait_query(struct dnstcp *c, int64_t now)
{
	c->st = DNSTCP_READ;
	c->qlen = 0;
	c->deadline = now + DNSTCP_IDLE_MS;
}

void dnstcp_open(struct dnstcp *c, int nup, struct dns_counters *cnt, int64_t now)
{
	c->nup = nup;
	c->cnt = cnt;
	c->server = 0;
	c->attempt_end = 0;
	wait_query(c, now);
}

/* rbuf holds a message of len bytes after its prefix: send it to the client. */
static enum dnstcp_action reply(struct dnstcp *c, size_t len, int64_t now)
{
	c->rbuf[0] = (uint8_t)(len >> 8);
	c->rbuf[1] = (uint8_t)len;
	c->rlen = 2 + len;
	c->roff = 0;
	c->st = DNSTCP_WRITE;
	c->deadline = now + DNSTCP_IDLE_MS;
	return DNSTCP_WAIT;
}

static enum dnstcp_action error_reply(struct dnstcp *c, uint8_t rcode, int64_t now)
{
	int n = dns_error_reply(c->qbuf + 2, &c->q, rcode, c->rbuf + 2, sizeof(c->rbuf) - 2);

	if (n < 0)
		return finish(c);
	dns_count(&c->cnt->servfails);
	return reply(c, (size_t)n, now);
}

/* The query goes to server `from` (each gets an equal share of the deadline,
 * the last one what is left); past the last one, SERVFAIL. */
static enum dnstcp_action attempt(struct dnstcp *c, int from, int64_t now)
{
	if (from >= c->nup)
		return error_reply(c, DNS_RCODE_SERVFAIL, now);
	c->server = from;
	c->qoff = 0;
	c->st = DNSTCP_CONNECT;
	c->attempt_end = now + DNS_DEADLINE_MS / c->nup;
	if (from == c->nup - 1 || c->attempt_end > c->deadline)
		c->attempt_end = c->deadline;
	return DNSTCP_CONNECT_UP;
}

static enum dnstcp_action query_read(struct dnstcp *c, int64_t now)
{
	if (c->qlen < 2 + DNS_HEADER)
		return finish(c);
	if (dns_parse_query(c->qbuf + 2, c->qlen - 2, &c->q) < 0) {
		dns_count(&c->cnt->drops);
		return finish(c);
	}
	dns_count(&c->cnt->queries);
	if (c->q.opcode != DNS_OPCODE_QUERY)
		return error_reply(c, DNS_RCODE_NOTIMP, now);
	c->deadline = now + DNS_DEADLINE_MS;
	return attempt(c, 0, now);
}

/* Over TCP the id is the client's own: an answer with another one comes
 * from a broken server. */
static enum dnstcp_action answer_read(struct dnstcp *c, int64_t now)
{
	if (c->rlen < 2 + DNS_HEADER || dns_get_id(c->rbuf + 2) != c->q.id)
		return error_reply(c, DNS_RCODE_SERVFAIL, now);
	dns_count(&c->cnt->answers);
	return reply(c, c->rlen - 2, now);
}

struct dnstcp_io dnstcp_io(struct dnstcp *c)
{
	switch (c->st) {
	case DNSTCP_READ:
		return (struct dnstcp_io){ false, false, c->qbuf + c->qlen,
					   frame_want(c->qbuf, c->qlen) - c->qlen };
	case DNSTCP_CONNECT:
		return (struct dnstcp_io){ true, true, NULL, 0 };
	case DNSTCP_UP_WRITE:
		return (struct dnstcp_io){ true, true, c->qbuf + c->qoff, c->qlen - c->qoff };
	case DNSTCP_UP_READ:
		return (struct dnstcp_io){ true, false, c->rbuf + c->rlen,
					   frame_want(c->rbuf, c->rlen) - c->rlen };
	case DNSTCP_WRITE:
		return (struct dnstcp_io){ false, true, c->rbuf + c->roff, c->rlen - c->roff };
	default:
		return (struct dnstcp_io){ false, false, NULL, 0 };
	}
}

/* A piece of a length-prefixed message arrived in buf (now *have bytes).
 * 1: complete, 0: more to come, -1: longer than cap. */
static int framed(const uint8_t *buf, size_t *have, size_t n, size_t cap)
{
	size_t want;

	*have += n;
	want = frame_want(buf, *have);
	if (want > cap)
		return -1;
	return *have == want && *have >= 2;
}

enum dnstcp_action dnstcp_done(struct dnstcp *c, size_t n, int64_t now)
{
	int rc;

	switch (c->st) {
	case DNSTCP_READ:
		if (n == 0)
			return finish(c);
		rc = framed(c->qbuf, &c->qlen, n, sizeof(c->qbuf));
		return rc < 0 ? finish(c) : rc ? query_read(c, now) : DNSTCP_WAIT;
	case DNSTCP_UP_WRITE:
		c->qoff += n;
		if (c->qoff == c->qlen) {
			c->st = DNSTCP_UP_READ;
			c->rlen = 0;
		}
		return DNSTCP_WAIT;
	case DNSTCP_UP_READ:
		if (n == 0)
			return attempt(c, c->server + 1, now);
		rc = framed(c->rbuf, &c->rlen, n, sizeof(c->rbuf));
		return rc < 0 ? attempt(c, c->server + 1, now) : rc ? answer_read(c, now) : DNSTCP_WAIT;
	case DNSTCP_WRITE:
		c->roff += n;
		if (c->roff == c->rlen)
			wait_query(c, now);
		return DNSTCP_WAIT;
	default:
		return DNSTCP_WAIT;
	}
}

enum dnstcp_action dnstcp_failed(struct dnstcp *c, int64_t now)
{
	if (c->st == DNSTCP_FREE)
		return DNSTCP_WAIT;
	if (!dnstcp_upstream(c))
		return finish(c);
	return attempt(c, c->server + 1, now);
}

enum dnstcp_action dnstcp_connected(struct dnstcp *c, int err, int64_t now)
{
	if (c->st != DNSTCP_CONNECT)
		return DNSTCP_WAIT;
	if (err)
		return attempt(c, c->server + 1, now);
	c->st = DNSTCP_UP_WRITE;
	return DNSTCP_WAIT;
}

enum dnstcp_action dnstcp_timer(struct dnstcp *c, int64_t now)
{
	if (c->st == DNSTCP_FREE)
		return DNSTCP_WAIT;
	if (now < c->deadline) {
		if (dnstcp_upstream(c) && now >= c->attempt_end)
			return attempt(c, c->server + 1, now);
		return DNSTCP_WAIT;
	}
	if (!dnstcp_upstream(c))
		return finish(c);   /* an idle or stuck client */
	return error_reply(c, DNS_RCODE_SERVFAIL, now);
}

int64_t dnstcp_next(const struct dnstcp *c)
{
	if (dnstcp_upstream(c) && c->attempt_end < c->deadline)
		return c->attempt_end;
	return c->deadline;
}

bool dnstcp_upstream(const struct dnstcp *c)
{
	return c->st == DNSTCP_CONNECT || c->st == DNSTCP_UP_WRITE || c->st == DNSTCP_UP_READ;
}
