/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 address parsing, formatting and arithmetic (ip4.h). Pure; runs in
 * every process.
 */
#include <stdio.h>

#include "common/ip4.h"

/*
 * Hand-rolled instead of inet_pton/inet_aton: inet_aton accepts "1.2.3",
 * hex and octal forms, and both accept nothing we want to reject explicitly
 * (leading zeros, whitespace). Strict a.b.c.d keeps command lines honest.
 */
static const char *parse_octet(const char *s, uint32_t *v)
{
	unsigned n = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (unsigned)(*s - '0');
		if (++digits > 3 || n > 255)
			return NULL;
		s++;
	}
	/* "010" reads as octal to inet_aton; refuse rather than guess. */
	if (digits == 0 || (digits > 1 && s[-digits] == '0'))
		return NULL;
	*v = n;
	return s;
}

int ip4_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0;

	if (!s)
		return -1;
	for (int i = 0; i < 4; i++) {
		uint32_t octet;

		s = parse_octet(s, &octet);
		if (!s)
			return -1;
		a = a << 8 | octet;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s != '\0')
		return -1;
	*out = a;
	return 0;
}

char *ip4_format(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return buf;
}

bool ip4_mask_valid(uint32_t mask)
{
	/* Contiguous ones then zeros means ~mask + 1 is a power of two. */
	uint32_t inv = ~mask;

	return mask != 0 && (inv & (inv + 1)) == 0;
}

int ip4_mask_prefix(uint32_t mask)
{
	int n = 0;

	while (mask & 0x80000000u) {
		n++;
		mask <<= 1;
	}
	return n;
}

uint32_t ip4_prefix_mask(int prefix)
{
	/* Shifting a 32-bit value by 32 is undefined, so 0 is special. */
	if (prefix <= 0)
		return 0;
	if (prefix >= 32)
		return 0xffffffffu;
	return 0xffffffffu << (32 - prefix);
}

bool ip4_is_private(uint32_t a)
{
	return (a & 0xff000000u) == 0x0a000000u ||  /* 10.0.0.0/8 */
	       (a & 0xfff00000u) == 0xac100000u ||  /* 172.16.0.0/12 */
	       (a & 0xffff0000u) == 0xc0a80000u;    /* 192.168.0.0/16 */
}
