/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request a user's vmnet-helper sends vmnet-broker (vmnet-broker(8)):
 * one SOCK_SEQPACKET message, a header and the user's helper options as
 * NUL-terminated strings, with three descriptors (SCM_RIGHTS): the VM's
 * socket, the user's stdout and the user's stderr. Nothing else: who asks
 * comes from the kernel (SO_PEERCRED), never from the request.
 *
 * The broker answers a request it refuses with MSG_BROKER_EXIT (msg.h) and
 * one line; a request it takes becomes a helper run as
 *
 *   vmnet-helper --broker-fd 4 --fd 3 OPTIONS...
 *
 * where OPTIONS are the user's less --fd and --socket (which named the
 * user's descriptor or path): fd 3 is the VM's socket, fd 4 the connection.
 * Pure: bytes in, bytes or argv out, no I/O. Runs in the user's vmnet-helper
 * (building) and in vmnet-broker (root, parsing what any member of its group
 * sent).
 */
#ifndef VMNET_BROKERMSG_H
#define VMNET_BROKERMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BROKERMSG_MAGIC 0x424e4d56u   /* "VMNB" in memory on little-endian machines */
#define BROKERMSG_VERSION 1
#define BROKERMSG_MAX 4096            /* the whole message, header included */
#define BROKERMSG_MAX_ARGS 64

/* The descriptors, in this order. */
enum { BROKERMSG_FD_VM, BROKERMSG_FD_STDOUT, BROKERMSG_FD_STDERR, BROKERMSG_FDS };

/* Where the helper finds them (the broker puts them there). */
#define BROKERMSG_HELPER_VM_FD 3
#define BROKERMSG_HELPER_CONN_FD 4

struct brokermsg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t argc;     /* strings that follow */
	uint32_t len;      /* their bytes, each NUL included: the rest of the message */
};

struct brokermsg_req {
	int argc;
	const char *argv[BROKERMSG_MAX_ARGS + 1];  /* into the parsed buffer, NULL-ended */
};

/*
 * The request for options argv[0..argc) into buf: its length, or -1 when
 * it does not fit BROKERMSG_MAX or BROKERMSG_MAX_ARGS.
 */
ssize_t brokermsg_build(int argc, char *const *argv, uint8_t *buf, size_t cap);

/*
 * Checks len bytes received with nfds descriptors: the header (magic,
 * version, sizes that add up), argc strings of printable text filling the
 * rest exactly, BROKERMSG_FDS descriptors. 0 with r pointing into buf, or -1
 * with one line in err. Never reads past len.
 */
int brokermsg_parse(const uint8_t *buf, size_t len, int nfds, struct brokermsg_req *r,
		    char *err, size_t errlen);

/*
 * The helper's argv for r: helper, --broker-fd 4, --fd 3, the user's
 * options less --fd/--socket (options_strip_endpoint), NULL-ended in out
 * (cap entries); the whole line checked with the helper's own parser, so a
 * bad option is refused here, with the helper's words. The argc, or -1 with
 * one line in err.
 */
int brokermsg_helper_argv(const struct brokermsg_req *r, const char *helper, char **out, int cap,
			  char *err, size_t errlen);

#endif
