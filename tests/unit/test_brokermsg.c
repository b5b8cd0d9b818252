/* SPDX-License-Identifier: Apache-2.0 */
/* The request to vmnet-broker (parse/brokermsg.h): its bytes and the helper's argv. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse/brokermsg.h"
#include "t.h"

static uint8_t buf[BROKERMSG_MAX + 64];
static char err[256];
static struct brokermsg_req req;

/* A request for the NULL-ended options, parsed back with 3 descriptors. */
static int roundtrip(const char *first, ...)
{
	char *argv[BROKERMSG_MAX_ARGS + 8];
	int argc = 0;
	va_list ap;
	ssize_t n;

	va_start(ap, first);
	for (const char *a = first; a && argc < BROKERMSG_MAX_ARGS + 7; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	n = brokermsg_build(argc, argv, buf, sizeof(buf));
	if (n < 0)
		return -2;
	return brokermsg_parse(buf, (size_t)n, BROKERMSG_FDS, &req, err, sizeof(err));
}

static void test_roundtrip(void)
{
	CHECK(roundtrip("--fd", "3", "--operation-mode", "host", "", (const char *)NULL) == 0);
	CHECK(req.argc == 5);
	CHECK_STR(req.argv[0], "--fd");
	CHECK_STR(req.argv[3], "host");
	CHECK_STR(req.argv[4], "");
	CHECK(req.argv[5] == NULL);
	CHECK(roundtrip((const char *)NULL) == 0 && req.argc == 0);
}

static void test_bounds(void)
{
	char *many[BROKERMSG_MAX_ARGS + 1], big[BROKERMSG_MAX];

	for (int i = 0; i <= BROKERMSG_MAX_ARGS; i++)
		many[i] = "-v";
	CHECK(brokermsg_build(BROKERMSG_MAX_ARGS + 1, many, buf, sizeof(buf)) == -1);
	CHECK(brokermsg_build(BROKERMSG_MAX_ARGS, many, buf, sizeof(buf)) > 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	many[0] = big;
	CHECK(brokermsg_build(1, many, buf, sizeof(buf)) == -1);
	/* Longer than the limit on the wire: refused before anything is read. */
	CHECK(brokermsg_parse(buf, BROKERMSG_MAX + 1, BROKERMSG_FDS, &req, err, sizeof(err)) == -1);
	CHECK(strstr(err, "larger than") != NULL);
}

#define REFUSED(needle, len, nfds) do { \
	CHECK(brokermsg_parse(buf, (len), (nfds), &req, err, sizeof(err)) == -1); \
	CHECK(strstr(err, needle) != NULL); \
	if (!strstr(err, needle)) \
		fprintf(stderr, "  message: \"%s\" (wanted \"%s\")\n", err, needle); \
} while (0)

static void test_malformed(void)
{
	char *argv[] = { "--fd", "3" };
	ssize_t n = brokermsg_build(2, argv, buf, sizeof(buf));
	struct brokermsg_hdr h;

	CHECK(n == (ssize_t)sizeof(h) + 7);
	REFUSED("descriptors", (size_t)n, 0);
	REFUSED("descriptors", (size_t)n, 4);
	REFUSED("shorter than its header", 3, 3);
	REFUSED("bytes of options", (size_t)n - 1, 3);
	memcpy(&h, buf, sizeof(h));
	h.magic ^= 1;
	memcpy(buf, &h, sizeof(h));
	REFUSED("not a vmnet-helper request", (size_t)n, 3);
	h.magic ^= 1;
	h.version = 2;
	memcpy(buf, &h, sizeof(h));
	REFUSED("version 2", (size_t)n, 3);
	h.version = BROKERMSG_VERSION;
	h.argc = 3;
	memcpy(buf, &h, sizeof(h));
	REFUSED("2 options, not 3", (size_t)n, 3);
	h.argc = 1;
	memcpy(buf, &h, sizeof(h));
	REFUSED("more options than it says", (size_t)n, 3);
	h.argc = 1000;
	memcpy(buf, &h, sizeof(h));
	REFUSED("more than 64 options", (size_t)n, 3);
	h.argc = 2;
	memcpy(buf, &h, sizeof(h));
	buf[n - 1] = 'x';
	REFUSED("not terminated", (size_t)n, 3);
	buf[n - 1] = '\0';
	buf[sizeof(h) + 1] = '\n';
	REFUSED("control character", (size_t)n, 3);
	buf[sizeof(h) + 1] = '-';
	CHECK(brokermsg_parse(buf, (size_t)n, 3, &req, err, sizeof(err)) == 0);
}

/* The helper's argv for the options of a request (NULL-ended). */
static char *out[BROKERMSG_MAX_ARGS + 8];

static int helper_argv(const char *first, ...)
{
	va_list ap;

	req.argc = 0;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		req.argv[req.argc++] = a;
	va_end(ap);
	req.argv[req.argc] = NULL;
	memset(err, 0, sizeof(err));
	return brokermsg_helper_argv(&req, "/usr/bin/vmnet-helper", out, BROKERMSG_MAX_ARGS + 8,
				     err, sizeof(err));
}

/* out[5..] joined by spaces. */
static const char *user_part(int argc)
{
	static char line[512];

	line[0] = '\0';
	for (int i = 5; i < argc; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", i > 5 ? " " : "",
			 out[i]);
	return line;
}

#define ARGV(expect, ...) do { \
	int n_ = helper_argv(__VA_ARGS__, (const char *)NULL); \
	CHECK(n_ >= 5); \
	if (n_ < 5) \
		fprintf(stderr, "  refused: %s\n", err); \
	else \
		CHECK_STR(user_part(n_), expect); \
} while (0)

#define ARGV_REFUSED(needle, ...) do { \
	CHECK(helper_argv(__VA_ARGS__, (const char *)NULL) == -1); \
	CHECK(strstr(err, needle) != NULL); \
	if (!strstr(err, needle)) \
		fprintf(stderr, "  message: \"%s\" (wanted \"%s\")\n", err, needle); \
} while (0)

static void test_helper_argv(void)
{
	CHECK(helper_argv("--fd", "7", (const char *)NULL) == 5);
	CHECK_STR(out[0], "/usr/bin/vmnet-helper");
	CHECK_STR(out[1], "--broker-fd");
	CHECK_STR(out[2], "4");
	CHECK_STR(out[3], "--fd");
	CHECK_STR(out[4], "3");
	CHECK(out[5] == NULL);
	/* The user's descriptor and path go, however they were written. */
	ARGV("--operation-mode host -v", "--fd=9", "--operation-mode", "host", "-v");
	ARGV("--socket-type stream", "--socket", "/home/u/vm.sock", "--socket-type", "stream");
	ARGV("--mtu 9000", "--mtu", "9000", "--socket=/x");
	ARGV("-vv --interface-id 2835E074-9892-4A79-AFFB-7E41D2605678", "-vv", "--f", "5",
	     "--interface-id", "2835E074-9892-4A79-AFFB-7E41D2605678");
	ARGV("--network lab", "--network", "lab", "--fd", "3", "--");
	/* What the broker gives, or the user's vmnet-helper answers itself. */
	ARGV_REFUSED("--broker-fd is the broker's", "--fd", "3", "--broker-fd", "5");
	ARGV_REFUSED("--broker-fd is the broker's", "--fd", "3", "--broker=5");
	ARGV_REFUSED("--help is answered", "--fd", "3", "-vh");
	ARGV_REFUSED("--version is answered", "--fd", "3", "--vers");
	ARGV_REFUSED("--list-shared-interfaces is answered", "--list-shared-interfaces");
	/* Anything the helper would refuse, in its words. */
	ARGV_REFUSED("unknown or ambiguous option \"--bogus\"", "--fd", "3", "--bogus");
	ARGV_REFUSED("ambiguous option \"--so\"", "--so", "/x");
	ARGV_REFUSED("unexpected argument \"stray\"", "--fd", "3", "stray");
	ARGV_REFUSED("unexpected argument \"x\"", "--fd", "3", "--", "x");
	ARGV_REFUSED("requires an argument", "--fd");
	ARGV_REFUSED("invalid --operation-mode \"nat\"", "--fd", "3", "--operation-mode", "nat");
	ARGV_REFUSED("--enable-tso requires", "--fd", "3", "--enable-tso");
	/* --fd's own value is not checked: it is replaced. */
	ARGV("", "--fd", "abc");
}

static void tests(void)
{
	test_roundtrip();
	test_bounds();
	test_malformed();
	test_helper_argv();
}

T_MAIN
