/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the DNS bits: the input is a query from a hostile VM
 * (and, the same bytes, an upstream reply and a resolv.conf). Checks that an
 * error reply is well formed and answers its query, not just that nothing
 * crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dns.h"

/* vmtest.example A IN, id 0x1234 */
static const uint8_t fixed_query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	6, 'v', 'm', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01,
};

static void check_query(const uint8_t *msg, size_t size)
{
	uint8_t out[DNS_MAX_QUERY];
	struct dns_query q, again;
	int len;

	if (dns_parse_query(msg, size, &q) < 0)
		return;
	if (q.question_end < DNS_HEADER + 5 || q.question_end > size || q.opcode > 15)
		abort();
	len = dns_error_reply(msg, &q, DNS_RCODE_SERVFAIL, out, sizeof(out));
	if (size <= DNS_MAX_QUERY && len != (int)q.question_end)
		abort();
	if (len < 0)
		return;
	/* A reply is never taken for a query, and it answers this one. */
	if (dns_parse_query(out, (size_t)len, &again) == 0)
		abort();
	if (!dns_reply_matches(msg, &q, q.id, out, (size_t)len) || dns_rcode(out) != DNS_RCODE_SERVFAIL)
		abort();
}

static void check_resolv(const uint8_t *data, size_t size)
{
	char out[8][DNS_ADDR_TEXT];
	char *text = malloc(size + 1);
	int n;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	n = dns_resolv_nameservers(text, out, 8);
	if (n < 0 || n > 8)
		abort();
	for (int i = 0; i < n; i++)
		if (strnlen(out[i], DNS_ADDR_TEXT) == DNS_ADDR_TEXT || out[i][0] == '\0')
			abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the message. */
	uint8_t *msg = malloc(size ? size : 1);
	struct dns_query fq;

	if (!msg)
		return 0;
	memcpy(msg, data, size);
	check_query(msg, size);
	if (dns_parse_query(fixed_query, sizeof(fixed_query), &fq) < 0)
		abort();
	(void)dns_reply_matches(fixed_query, &fq, 0x1234, msg, size);
	free(msg);
	check_resolv(data, size);
	return 0;
}
