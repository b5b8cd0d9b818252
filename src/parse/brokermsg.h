/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request a user's vmnet-helper sends vmnet-broker (vmnet-broker(8)):
 * one SOCK_SEQPACKET message, a header and the user's helper options as
 * NUL-terminated strings, with descriptors (SCM_RIGHTS): the VM's socket,
 * the user's stdout and the user's stderr, then with --pcap one per
 * capture file, opened by the user's side (files/capfile.h). Nothing else:
 * who asks comes from the kernel (SO_PEERCRED), never from the request,
 * and no path in it is ever opened (--pcap's FILE only names the files in
 * the helper's messages).
 *
 * The broker answers a request it refuses with MSG_BROKER_EXIT (msg.h) and
 * one line; a request it takes becomes a helper run as
 *
 *   vmnet-helper --broker-fd 4 --fd 3 [--pcap-fd 5] OPTIONS...
 *
 * where OPTIONS are the user's less --fd and --socket (which named the
 * user's descriptor or path): fd 3 is the VM's socket, fd 4 the connection,
 * fds 5.. the capture files. Pure: bytes in, bytes or argv out, no I/O.
 * Runs in the user's vmnet-helper (building) and in vmnet-broker (root,
 * parsing what any member of its group sent).
 */
#ifndef VMNET_BROKERMSG_H
#define VMNET_BROKERMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/options.h"

#define BROKERMSG_MAGIC 0x424e4d56u   /* "VMNB" in memory on little-endian machines */
#define BROKERMSG_VERSION 1
#define BROKERMSG_MAX 4096            /* the whole message, header included */
#define BROKERMSG_MAX_ARGS 64

/* The descriptors, in this order; then one per --pcap file, at most
 * PCAP_FILES_MAX (--pcap-files). */
enum { BROKERMSG_FD_VM, BROKERMSG_FD_STDOUT, BROKERMSG_FD_STDERR, BROKERMSG_FDS };
#define BROKERMSG_FD_PCAP BROKERMSG_FDS
#define BROKERMSG_FDS_MAX (BROKERMSG_FDS + PCAP_FILES_MAX)

/* Where the helper finds them (the broker puts them there). */
#define BROKERMSG_HELPER_VM_FD 3
#define BROKERMSG_HELPER_CONN_FD 4
#define BROKERMSG_HELPER_PCAP_FD 5     /* and on, one per file */

struct brokermsg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t argc;     /* strings that follow */
	uint32_t len;      /* their bytes, each NUL included: the rest of the message */
};

struct brokermsg_req {
	int argc;
	const char *argv[BROKERMSG_MAX_ARGS + 1];  /* into the parsed buffer, NULL-ended */
	int npcap;                                 /* capture files' descriptors */
};

/*
 * The request for options argv[0..argc) into buf: its length, or -1 when
 * it does not fit BROKERMSG_MAX or BROKERMSG_MAX_ARGS.
 */
ssize_t brokermsg_build(int argc, char *const *argv, uint8_t *buf, size_t cap);

/*
 * Checks len bytes received with nfds descriptors: the header (magic,
 * version, sizes that add up), argc strings of printable text filling the
 * rest exactly, BROKERMSG_FDS to BROKERMSG_FDS_MAX descriptors (r->npcap:
 * those past BROKERMSG_FDS, whose number brokermsg_helper_argv checks
 * against the options). 0 with r pointing into buf, or -1 with one line in
 * err. Never reads past len.
 */
int brokermsg_parse(const uint8_t *buf, size_t len, int nfds, struct brokermsg_req *r,
		    char *err, size_t errlen);

/*
 * The helper's argv for r: helper, --broker-fd 4, --fd 3, --pcap-fd 5 when
 * r has capture descriptors, the user's options less --fd/--socket
 * (options_strip_endpoint), NULL-ended in out (cap entries); the whole line
 * checked with the helper's own parser, so a bad option is refused here,
 * with the helper's words, and r->npcap must be the number of --pcap files
 * the options ask for (none without --pcap). The argc, or -1 with one line
 * in err.
 */
int brokermsg_helper_argv(const struct brokermsg_req *r, const char *helper, char **out, int cap,
			  char *err, size_t errlen);

#endif
