/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny JSON object writer into a caller buffer. */
#ifndef VMNET_JSON_H
#define VMNET_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct json {
	char *buf;
	size_t cap, len;
	bool first;
	bool overflow;  /* set once anything did not fit */
};

void json_begin(struct json *j, char *buf, size_t cap);          /* writes "{" */
void json_str(struct json *j, const char *key, const char *val);  /* escaped */
void json_num(struct json *j, const char *key, long long val);
void json_raw(struct json *j, const char *key, const char *raw);  /* pre-formatted JSON value */
/* Writes "}" and NUL-terminates; returns the length or -1 on overflow. */
int json_end(struct json *j);

#endif
