/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers for the line-based files root reads (the policy, the
 * leases) and for clocks. Pure but for text_now_ms. */
#ifndef VMNET_TEXT_H
#define VMNET_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A blank inside a line: space, tab, or the CR of a CRLF file. */
static inline bool text_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* s[0..n) as a NUL-terminated copy in buf; false (buf untouched) if it
 * does not fit. */
bool text_copy(const char *s, size_t n, char *buf, size_t cap);

/* The message fmt makes into err (when errlen is not 0), for the parsers
 * that answer "-1 and why": returns -1. */
int text_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in milliseconds. */
int64_t text_now_ms(void);

#endif
