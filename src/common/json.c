/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON writer (json.h) of the JSON line and the [stats] lines. Pure;
 * runs in the datapath (the user, sandboxed).
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"

/*
 * Append n bytes, keeping one byte for the terminating NUL. Once something
 * does not fit nothing more is written, so the output is a clean prefix and
 * the caller sees the overflow at json_end().
 */
static void put(struct json *j, const char *s, size_t n)
{
	if (j->overflow)
		return;
	if (j->cap == 0 || j->cap - 1 - j->len < n) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void put_str(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* The JSON escape for c, or NULL if c can be written as is. */
static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default: return NULL;
	}
}

static void put_escaped_char(struct json *j, unsigned char c)
{
	const char *esc = short_escape(c);
	char u[8];

	if (esc) {
		put_str(j, esc);
	} else if (c < 0x20) {
		/* Other control characters are not allowed raw in JSON strings. */
		snprintf(u, sizeof(u), "\\u%04x", c);
		put(j, u, 6);
	} else {
		put(j, (const char *)&c, 1);
	}
}

static void put_quoted(struct json *j, const char *s)
{
	put(j, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		put_escaped_char(j, *p);
	put(j, "\"", 1);
}

static void put_key(struct json *j, const char *key)
{
	if (!j->first)
		put(j, ",", 1);
	j->first = false;
	put_quoted(j, key);
	put(j, ":", 1);
}

void json_begin(struct json *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->first = true;
	j->overflow = false;
	if (cap)
		buf[0] = '\0';
	put(j, "{", 1);
}

void json_str(struct json *j, const char *key, const char *val)
{
	put_key(j, key);
	if (val)
		put_quoted(j, val);
	else
		put_str(j, "null");
}

void json_num(struct json *j, const char *key, long long val)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", val);

	put_key(j, key);
	put(j, num, (size_t)n);
}

void json_raw(struct json *j, const char *key, const char *raw)
{
	put_key(j, key);
	put_str(j, raw ? raw : "null");
}

int json_end(struct json *j)
{
	put(j, "}", 1);
	if (j->overflow)
		return -1;
	return (int)j->len;
}
