/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request to vmnet-broker (brokermsg.h): built by the user's
 * vmnet-helper (the user, no privileges), parsed by vmnet-broker (root) from
 * bytes any member of its group chose. Pure.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/options.h"
#include "common/text.h"
#include "parse/brokermsg.h"

ssize_t brokermsg_build(int argc, char *const *argv, uint8_t *buf, size_t cap)
{
	struct brokermsg_hdr h = { .magic = BROKERMSG_MAGIC, .version = BROKERMSG_VERSION };
	size_t used = sizeof(h);

	if (argc < 0 || argc > BROKERMSG_MAX_ARGS || cap < used)
		return -1;
	if (cap > BROKERMSG_MAX)
		cap = BROKERMSG_MAX;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (n > cap - used)
			return -1;
		memcpy(buf + used, argv[i], n);
		used += n;
	}
	h.argc = (uint16_t)argc;
	h.len = (uint32_t)(used - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	return (ssize_t)used;
}

/* Printable text: no control characters (they would reach log lines). */
static bool printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The strings of [p, end): exactly argc of them, filling it. */
static int split(const uint8_t *p, const uint8_t *end, unsigned argc, struct brokermsg_req *r,
		 char *err, size_t errlen)
{
	r->argc = 0;
	while (p < end) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul)
			return text_error(err, errlen, "malformed request: an option is not terminated");
		if ((unsigned)r->argc == argc)
			return text_error(err, errlen, "malformed request: more options than it says (%u)",
				    argc);
		if (!printable(p, (size_t)(nul - p)))
			return text_error(err, errlen, "malformed request: option %d holds a control "
				    "character", r->argc + 1);
		r->argv[r->argc++] = (const char *)p;
		p = nul + 1;
	}
	if ((unsigned)r->argc != argc)
		return text_error(err, errlen, "malformed request: %d options, not %u as it says", r->argc,
			    argc);
	r->argv[r->argc] = NULL;
	return 0;
}

int brokermsg_parse(const uint8_t *buf, size_t len, int nfds, struct brokermsg_req *r,
		    char *err, size_t errlen)
{
	struct brokermsg_hdr h;

	r->argc = 0;
	r->argv[0] = NULL;
	r->npcap = 0;
	if (len > BROKERMSG_MAX)
		return text_error(err, errlen, "malformed request: larger than %d bytes", BROKERMSG_MAX);
	if (len < sizeof(h))
		return text_error(err, errlen, "malformed request: %zu bytes, shorter than its header", len);
	memcpy(&h, buf, sizeof(h));
	if (h.magic != BROKERMSG_MAGIC)
		return text_error(err, errlen, "malformed request: not a vmnet-helper request");
	if (h.version != BROKERMSG_VERSION)
		return text_error(err, errlen, "request version %u, this broker speaks %d: use the "
			    "vmnet-helper installed with it", h.version, BROKERMSG_VERSION);
	if (h.argc > BROKERMSG_MAX_ARGS)
		return text_error(err, errlen, "malformed request: more than %d options", BROKERMSG_MAX_ARGS);
	if (h.len != len - sizeof(h))
		return text_error(err, errlen, "malformed request: %zu bytes of options, not %u as it says",
			    len - sizeof(h), h.len);
	if (nfds < BROKERMSG_FDS || nfds > BROKERMSG_FDS_MAX)
		return text_error(err, errlen, "malformed request: %d descriptors, not %d (the VM's socket, "
			    "stdout, stderr) and one per --pcap file (%d at most)", nfds,
			    BROKERMSG_FDS, PCAP_FILES_MAX);
	r->npcap = nfds - BROKERMSG_FDS;
	return split(buf + sizeof(h), buf + len, h.argc, r, err, errlen);
}

/* The capture descriptors match the options: one per --pcap file. */
static int check_pcap(const struct brokermsg_req *r, const struct options *o, char *err,
		      size_t errlen)
{
	int want = o->pcap ? (int)o->pcap_files : 0;

	if (r->npcap != want)
		return text_error(err, errlen, "malformed request: %d --pcap file descriptor%s, not %d",
			    r->npcap, r->npcap == 1 ? "" : "s", want);
	return 0;
}

int brokermsg_helper_argv(const struct brokermsg_req *r, const char *helper, char **out, int cap,
			  char *err, size_t errlen)
{
	static char broker_fd[] = "--broker-fd", broker_fd_num[] = "4", fd[] = "--fd", fd_num[] = "3",
		    pcap_fd[] = "--pcap-fd", pcap_fd_num[] = "5";
	char *user[BROKERMSG_MAX_ARGS + 2];
	struct options o;
	int kept, argc = 0;

	_Static_assert(BROKERMSG_HELPER_CONN_FD == 4 && BROKERMSG_HELPER_VM_FD == 3 &&
		       BROKERMSG_HELPER_PCAP_FD == 5, "argv below");
	if (cap < 8)
		return text_error(err, errlen, "no room for the helper's options");
	/* getopt's argv: the program's name first. */
	user[0] = (char *)helper;
	for (int i = 0; i < r->argc; i++)
		user[i + 1] = (char *)r->argv[i];
	user[r->argc + 1] = NULL;
	out[argc++] = (char *)helper;
	out[argc++] = broker_fd;
	out[argc++] = broker_fd_num;
	out[argc++] = fd;
	out[argc++] = fd_num;
	/* Room kept for --pcap-fd 5, placed after --fd 3 once the user's
	 * options are known to ask for exactly these files. */
	kept = options_strip_endpoint(r->argc + 1, user, out + argc, cap - argc - 3, err, errlen);
	if (kept < 0)
		return -1;
	argc += kept;
	out[argc] = NULL;
	if (options_parse(&o, argc, out, err, errlen) < 0 || check_pcap(r, &o, err, errlen) < 0)
		return -1;
	if (r->npcap > 0) {
		memmove(out + 7, out + 5, (size_t)(argc - 5 + 1) * sizeof(*out));
		out[5] = pcap_fd;
		out[6] = pcap_fd_num;
		argc += 2;
		if (options_parse(&o, argc, out, err, errlen) < 0)
			return -1;
	}
	return argc;
}
