/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few DNS message bits the forwarder (dnsfwd.h) needs. Pure: bytes in,
 * bytes out, no I/O. Queries come from VMs and are hostile: everything is
 * read through the cursor in pkt.h, and a malformed query is rejected (the
 * caller drops it) rather than answered.
 */
#ifndef VMNET_DNS_H
#define VMNET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#define DNS_HEADER 12
/* Largest query we forward. Real queries are a few hundred bytes; 1232 is
 * the EDNS buffer size DNS Flag Day 2020 settled on, so nothing sane is
 * larger. Bounds the per-query memory of the forwarder. */
#define DNS_MAX_QUERY 1232
#define DNS_MAX_MESSAGE 65535

#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NOTIMP 4
#define DNS_OPCODE_QUERY 0

/* What the forwarder keeps of a valid query. */
struct dns_query {
	uint16_t id;
	uint8_t opcode;
	size_t question_end;   /* offset just past the (single) question */
};

/*
 * A query from a client: at least a header, QR clear, exactly one question
 * whose name is well formed (plain labels, no compression, at most 255
 * bytes) followed by type and class. Anything after the question (EDNS OPT
 * and the like) is left to the upstream server. 0 and q filled, or -1.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/*
 * An error reply to a query dns_parse_query() accepted: the same id, opcode,
 * RD and CD bits and question, QR and RA set, the given RCODE, no records.
 * Returns its length, or -1 when cap is too small.
 */
int dns_error_reply(const uint8_t *query, const struct dns_query *q, uint8_t rcode,
		    uint8_t *out, size_t cap);

/*
 * Whether reply (from an upstream server) answers query, which was sent with
 * id: QR set, the same id and the same question bytes; a reply without a
 * question is accepted only as an error (non-zero RCODE), as some servers
 * send FORMERR/NOTIMP that way.
 */
bool dns_reply_matches(const uint8_t *query, const struct dns_query *q, uint16_t id,
		       const uint8_t *reply, size_t len);

static inline uint16_t dns_get_id(const uint8_t *msg) { return (uint16_t)(msg[0] << 8 | msg[1]); }
static inline void dns_set_id(uint8_t *msg, uint16_t id)
{
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
}
/* RCODE of a message at least DNS_HEADER long. */
static inline uint8_t dns_rcode(const uint8_t *msg) { return msg[3] & 0x0f; }

/*
 * The "nameserver" addresses of resolv.conf text, in order, as the resolver
 * library reads them: the first word after "nameserver" at the start of a
 * line, up to a "#" or ";"; at most max. glibc uses the first 3 that parse,
 * so the caller should ask for more and keep the first 3 valid ones.
 * Each is copied as text into out[i] (DNS_ADDR_TEXT bytes, too long ones are
 * skipped); the caller parses them. Returns how many.
 */
#define DNS_ADDR_TEXT 64
int dns_resolv_nameservers(const char *text, char (*out)[DNS_ADDR_TEXT], int max);

/* What the DNS service counts (dnsfwd.h, dnstcp.h). */
struct dns_counters {
	_Atomic uint64_t queries;    /* valid queries received (UDP and TCP) */
	_Atomic uint64_t answers;    /* upstream answers relayed */
	_Atomic uint64_t servfails;  /* SERVFAIL (or NOTIMP) we made ourselves */
	_Atomic uint64_t drops;      /* malformed or foreign queries dropped */
};

/* Counts one (the main thread reads the counters while the DNS thread counts). */
static inline void dns_count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

#endif
