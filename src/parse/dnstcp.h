/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One DNS-over-TCP client of the forwarder (dnsfwd.h), as a state machine
 * with no I/O: the caller moves bytes where dnstcp_io() says, reports what
 * came of it, and does what the returned action says. The client is a VM,
 * so the lengths it sends are hostile: the framing (RFC 1035 4.2.2: a 2-byte
 * length before each message) and every transition live here, unit-tested
 * and fuzzed.
 *
 * One query at a time: read it, forward it over a fresh upstream connection
 * (each server in turn gets an equal share of the deadline), relay the
 * answer, then wait for the next query. A query nobody answers in time gets
 * SERVFAIL; a client that sends nothing (or reads nothing) for
 * DNSTCP_IDLE_MS is closed. Reads never go past the current message, so
 * pipelined queries wait in the kernel's buffer.
 */
#ifndef VMNET_DNSTCP_H
#define VMNET_DNSTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/dns.h"

/* A query is answered by this deadline, with SERVFAIL if need be (UDP too). */
#define DNS_DEADLINE_MS 2000
/* A TCP client gets this long to send a (next) query or read our answer. */
#define DNSTCP_IDLE_MS 5000

enum dnstcp_state {
	DNSTCP_FREE,
	DNSTCP_READ,       /* reading a query from the client */
	DNSTCP_CONNECT,    /* connecting to upstream server `server` */
	DNSTCP_UP_WRITE,   /* sending the query upstream */
	DNSTCP_UP_READ,    /* reading the answer */
	DNSTCP_WRITE,      /* sending the answer (or our SERVFAIL) to the client */
};

/* What the caller does next. */
enum dnstcp_action {
	DNSTCP_WAIT,       /* wait for dnstcp_io() or the time dnstcp_next() says */
	DNSTCP_CONNECT_UP, /* close any upstream socket, connect one to up[server], report
			    * with dnstcp_connected() (at once if connect() fails) */
	DNSTCP_CLOSE,      /* close the client's and the upstream socket: the slot is free */
};

/* The next transfer: on the client's socket or the upstream one, which way,
 * and at most how many bytes (never past the current message). */
struct dnstcp_io {
	bool upstream;
	bool write;        /* false: read into buf */
	uint8_t *buf;
	size_t len;
};

struct dnstcp {
	enum dnstcp_state st;
	int nup;                  /* upstream servers, at least 1 */
	int server;               /* the one being tried */
	int64_t deadline;         /* of the current state (ms, monotonic) */
	int64_t attempt_end;      /* then the next upstream server is tried */
	struct dns_counters *cnt;
	struct dns_query q;
	size_t qlen, qoff;        /* bytes in qbuf (with the length prefix), sent upstream */
	size_t rlen, roff;        /* bytes in rbuf, sent to the client */
	uint8_t qbuf[2 + DNS_MAX_QUERY];
	uint8_t rbuf[2 + DNS_MAX_MESSAGE];
};

/* A client was accepted: wait for its first query. nup >= 1 servers. */
void dnstcp_open(struct dnstcp *c, int nup, struct dns_counters *cnt, int64_t now);
/* Where the next transfer goes (not in DNSTCP_FREE). In DNSTCP_CONNECT the
 * upstream socket becomes writable when connected: report dnstcp_connected(). */
struct dnstcp_io dnstcp_io(struct dnstcp *c);
/* n bytes moved as dnstcp_io() said (a read of 0: end of stream). */
enum dnstcp_action dnstcp_done(struct dnstcp *c, size_t n, int64_t now);
/* The transfer failed (not EAGAIN/EINTR, which are no event). */
enum dnstcp_action dnstcp_failed(struct dnstcp *c, int64_t now);
/* The upstream connection's outcome: 0, or the errno that failed it. */
enum dnstcp_action dnstcp_connected(struct dnstcp *c, int err, int64_t now);
/* Time passed: deadlines and server attempts. */
enum dnstcp_action dnstcp_timer(struct dnstcp *c, int64_t now);
/* The earliest time dnstcp_timer() has something to do. */
int64_t dnstcp_next(const struct dnstcp *c);
/* Whether an upstream socket is in use (once not, the caller closes it). */
bool dnstcp_upstream(const struct dnstcp *c);

#endif
