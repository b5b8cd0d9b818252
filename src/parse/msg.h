/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The messages between a helper's processes (docs/hacking.md): one header
 * naming the type, then the type's fixed layout. Each channel is a
 * SOCK_SEQPACKET pair, so a message arrives whole or not at all; the
 * receiver parses it with msg_parse, which refuses a type the channel does
 * not carry and a size that is not the type's. Both ends are the same
 * binary, so layouts are plain structs. Pure: no I/O.
 *
 *   datapath -> reaper   MSG_CLAIM_MAC, MSG_CLAIM_ADDR6   (reaper answers MSG_VERDICT)
 *   files    -> setup    MSG_FILES_READY (+ the socket and lock fds when rc is 0)
 *   datapath -> files    MSG_FILES_CONNECT                (files answers MSG_FILES_CONNECTED)
 */
#ifndef VMNET_MSG_H
#define VMNET_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

enum msg_type {
	MSG_CLAIM_MAC = 1,       /* pin a second MAC of the VM to its port */
	MSG_CLAIM_ADDR6,         /* bind an IPv6 address the VM uses to its MAC */
	MSG_VERDICT,             /* the reaper's answer to a claim */
	MSG_FILES_READY,         /* the files process made (or not) the socket files */
	MSG_FILES_CONNECT,       /* connect the datagram socket to its first client */
	MSG_FILES_CONNECTED,     /* the files process's answer */
	MSG_TYPES
};

/* The channels, as sets of the types each carries toward one receiver. */
#define MSG_BIT(t) (1u << (t))
#define MSG_TO_REAPER   (MSG_BIT(MSG_CLAIM_MAC) | MSG_BIT(MSG_CLAIM_ADDR6))
#define MSG_FROM_REAPER MSG_BIT(MSG_VERDICT)
#define MSG_TO_FILES    MSG_BIT(MSG_FILES_CONNECT)
#define MSG_FROM_FILES  (MSG_BIT(MSG_FILES_READY) | MSG_BIT(MSG_FILES_CONNECTED))

struct msg_hdr {
	uint16_t type;           /* enum msg_type */
	uint16_t seq;            /* a claim's number, repeated in its verdict */
};

struct msg_claim_mac {
	struct msg_hdr h;
	uint8_t mac[6];
};

struct msg_claim_addr6 {
	struct msg_hdr h;
	uint8_t addr[16];
	uint8_t mac[6];
};

struct msg_verdict {
	struct msg_hdr h;
	uint8_t granted;         /* 0 or 1 */
};

struct msg_files_ready {
	struct msg_hdr h;
	int32_t rc;              /* 0: the socket and the lock come with it */
};

struct msg_files_connect {
	struct msg_hdr h;
};

struct msg_files_connected {
	struct msg_hdr h;
	int32_t rc;              /* 0 or -errno */
	uint32_t fromlen;        /* of from, at most sizeof(from) */
	struct sockaddr_un from; /* the client the socket is now connected to */
};

union msg {
	struct msg_hdr h;
	struct msg_claim_mac claim_mac;
	struct msg_claim_addr6 claim_addr6;
	struct msg_verdict verdict;
	struct msg_files_ready files_ready;
	struct msg_files_connect files_connect;
	struct msg_files_connected files_connected;
};

/* The size of a message of type t, 0 for no such type. */
size_t msg_size(unsigned type);

/* A header for a message of type t. */
struct msg_hdr msg_hdr(enum msg_type t, uint16_t seq);

/*
 * Checks len bytes received on a channel carrying the types in allowed (a
 * set of MSG_BIT) and copies them into *m: the type, or -EBADMSG (shorter
 * than a header, a type unknown or not carried here, a size not the
 * type's, a field out of its range). Never reads past len.
 */
int msg_parse(const void *buf, size_t len, uint32_t allowed, union msg *m);

#endif
