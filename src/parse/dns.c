/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS message checks and answers for the forwarder, and resolv.conf's
 * nameservers (dns.h). Pure: parses bytes a VM sent (in the datapath) and
 * root's resolv.conf (in setup).
 */
#include "parse/dns.h"

#include <ctype.h>
#include <string.h>

#include "parse/pkt.h"

#define NAME_MAX_WIRE 255

/* Header flag bits (RFC 1035 4.1.1, RFC 4035 for CD). */
#define F1_QR 0x80
#define F1_RD 0x01
#define F2_RA 0x80
#define F2_CD 0x10

/* Skips one uncompressed name. In a query's question a compression pointer
 * has nothing to point back to, so one is malformed, like the reserved
 * 0x40/0x80 label types. */
static bool skip_name(struct cursor *c)
{
	size_t total = 0;

	for (;;) {
		uint8_t n;
		if (!cur_u8(c, &n))
			return false;
		total += 1u + n;
		if (total > NAME_MAX_WIRE)
			return false;
		if (n == 0)
			return true;
		if (n & 0xc0)
			return false;
		if (!cur_skip(c, n))
			return false;
	}
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	struct cursor c = cur_init(msg, len);
	uint16_t id, qdcount;
	uint8_t f1, f2;

	if (len > DNS_MAX_MESSAGE)
		return -1;
	if (!cur_be16(&c, &id) || !cur_u8(&c, &f1) || !cur_u8(&c, &f2) ||
	    !cur_be16(&c, &qdcount) || !cur_skip(&c, 6))
		return -1;
	if ((f1 & F1_QR) || qdcount != 1)
		return -1;
	if (!skip_name(&c) || !cur_skip(&c, 4))   /* QTYPE, QCLASS */
		return -1;
	q->id = id;
	q->opcode = (uint8_t)((f1 >> 3) & 0x0f);
	q->question_end = len - c.rem;
	return 0;
}

int dns_error_reply(const uint8_t *query, const struct dns_query *q, uint8_t rcode,
		    uint8_t *out, size_t cap)
{
	struct wbuf w;
	uint8_t f1 = query[2], f2 = query[3];

	wb_init(&w, out, cap);
	wb_be16(&w, q->id);
	wb_u8(&w, (uint8_t)(F1_QR | (q->opcode << 3) | (f1 & F1_RD)));
	wb_u8(&w, (uint8_t)(F2_RA | (f2 & F2_CD) | (rcode & 0x0f)));
	wb_be16(&w, 1);    /* QDCOUNT */
	wb_zero(&w, 6);    /* AN, NS, AR counts */
	wb_bytes(&w, query + DNS_HEADER, q->question_end - DNS_HEADER);
	return w.overflow ? -1 : (int)w.len;
}

bool dns_reply_matches(const uint8_t *query, const struct dns_query *q, uint16_t id,
		       const uint8_t *reply, size_t len)
{
	size_t qlen = q->question_end - DNS_HEADER;
	uint16_t qdcount;

	if (len < DNS_HEADER || !(reply[2] & F1_QR) || dns_get_id(reply) != id)
		return false;
	qdcount = (uint16_t)(reply[4] << 8 | reply[5]);
	if (qdcount == 0)
		return dns_rcode(reply) != 0;
	/* Byte for byte: servers echo the question as sent (0x20 mixed case too). */
	return qdcount == 1 && len - DNS_HEADER >= qlen &&
	       memcmp(reply + DNS_HEADER, query + DNS_HEADER, qlen) == 0;
}

/* The next whitespace-delimited word of a line: start and length. */
static const char *word(const char *p, const char *end, size_t *n)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *s = p;
	while (p < end && !isspace((unsigned char)*p))
		p++;
	*n = (size_t)(p - s);
	return s;
}

static size_t strcspn_n(const char *s, size_t n, const char *reject)
{
	size_t i = 0;

	while (i < n && !strchr(reject, s[i]))
		i++;
	return i;
}

int dns_resolv_nameservers(const char *text, char (*out)[DNS_ADDR_TEXT], int max)
{
	static const char key[] = "nameserver";
	int count = 0;

	for (const char *line = text; *line && count < max;) {
		const char *end = strchr(line, '\n');
		size_t n;

		if (!end)
			end = line + strlen(line);
		const char *w = word(line, end, &n);
		if (w == line && n == sizeof(key) - 1 && memcmp(w, key, n) == 0) {
			const char *a = word(w + n, end, &n);
			n = strcspn_n(a, n, "#;");   /* glibc ends the address there too */
			if (n > 0 && n < DNS_ADDR_TEXT) {
				memcpy(out[count], a, n);
				out[count][n] = '\0';
				count++;
			}
		}
		line = *end ? end + 1 : end;
	}
	return count;
}
