/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The messages between a helper's processes (docs/hacking.md): one header
 * naming the type, then the type's fixed layout. Each channel is a
 * SOCK_SEQPACKET pair, so a message arrives whole or not at all; the
 * receiver parses it with msg_parse, which refuses a type the channel does
 * not carry and a size that is not the type's. Both ends are the same
 * binary, so layouts are plain structs. Pure: no I/O.
 *
 *   datapath -> reaper   MSG_CLAIM_MAC, MSG_CLAIM_ADDR6, MSG_CLAIM_ADDR4
 *                        (reaper answers MSG_VERDICT)
 *   files    -> setup    MSG_FILES_READY (+ the socket and lock fds when rc is 0)
 *   datapath -> files    MSG_FILES_CONNECT                (files answers MSG_FILES_CONNECTED)
 *   files    -> setup    MSG_CAPTURE_READY (+ the --pcap files' fds when rc is 0)
 *
 * And one that leaves the helper: its status, which the datapath answers on
 * its status socket to whoever connects (vmnet-status, as root or as the
 * helper's user):
 *   datapath -> vmnet-status   MSG_STATUS
 *
 * And on the connection between a user's vmnet-helper and the root helper
 * vmnet-broker started for it (--broker-fd; the request itself is
 * brokermsg.h's):
 *   user -> helper       MSG_BROKER_STOP, MSG_FILES_CONNECTED (the user's
 *                        side plays the files process for --socket)
 *   helper -> user       MSG_FILES_CONNECT, MSG_BROKER_EXIT (also the
 *                        broker's answer to a request it refuses)
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
	MSG_CLAIM_ADDR4,         /* record a pool address the VM set by hand as its lease */
	MSG_CAPTURE_READY,       /* the files process opened (or not) the capture files */
	MSG_STATUS,              /* a helper's status (vmnet-status) */
	MSG_BROKER_STOP,         /* the user's side: stop, as SIGTERM would */
	MSG_BROKER_EXIT,         /* the helper's exit status, or the broker's refusal */
	MSG_TYPES
};

/* The channels, as sets of the types each carries toward one receiver. */
#define MSG_BIT(t) (1u << (t))
#define MSG_TO_REAPER   (MSG_BIT(MSG_CLAIM_MAC) | MSG_BIT(MSG_CLAIM_ADDR6) | \
			 MSG_BIT(MSG_CLAIM_ADDR4))
#define MSG_FROM_REAPER MSG_BIT(MSG_VERDICT)
#define MSG_TO_FILES    MSG_BIT(MSG_FILES_CONNECT)
#define MSG_FROM_FILES  (MSG_BIT(MSG_FILES_READY) | MSG_BIT(MSG_FILES_CONNECTED))
#define MSG_FROM_CAPTURE_FILES MSG_BIT(MSG_CAPTURE_READY)
#define MSG_FROM_HELPER MSG_BIT(MSG_STATUS)
#define MSG_TO_HELPER   (MSG_BIT(MSG_BROKER_STOP) | MSG_BIT(MSG_FILES_CONNECTED))
#define MSG_TO_USER     (MSG_BIT(MSG_BROKER_EXIT) | MSG_BIT(MSG_FILES_CONNECT))

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

struct msg_claim_addr4 {
	struct msg_hdr h;
	uint32_t addr;           /* host order */
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

/* At most this many capture files come with MSG_CAPTURE_READY
 * (PCAP_FILES_MAX, options.h). */
#define MSG_CAPTURE_FILES_MAX 100

struct msg_capture_ready {
	struct msg_hdr h;
	int32_t rc;              /* 0: nfiles descriptors come with it */
	uint32_t nfiles;
};

/* One direction's counters (datapath/forward.h). */
struct msg_status_counters {
	uint64_t packets, bytes, drops, fast, slow;
};

/* The strings are NUL-terminated within their arrays (checked on receipt);
 * the helper chose them, so whoever prints them still escapes them. */
struct msg_status {
	struct msg_hdr h;
	int32_t pid;             /* the helper's (setup's, then the datapath's) */
	uint32_t uid, gid;       /* the datapath's */
	uint8_t mode;            /* 0 shared, 1 host, 2 bridged (options.h) */
	uint8_t isolated;        /* 0 or 1 */
	uint8_t for_user;        /* 1: started for uid (through sudo or vmnet-broker);
				    0: by root for itself (uid is nobody's) */
	uint8_t capture;         /* 1: --pcap on */
	uint32_t gateway, mask, end, lease;   /* IPv4, host order; 0 in bridged mode */
	uint32_t mtu;
	uint8_t mac[6];          /* vmnet_mac_address */
	uint8_t unused[2];
	int64_t started;         /* when it started, seconds since the epoch */
	uint64_t uptime_ms;      /* how long it has been running */
	char id[40];             /* the interface id */
	char network[32];        /* --network NAME, or "" */
	char bridge[16];         /* the bridge; bridged mode: the shared interface */
	char tap[16];            /* the TAP (or macvtap) */
	char socket[108];        /* --socket PATH, or "" (--fd) */
	struct msg_status_counters host, vm;
};

struct msg_broker_stop {
	struct msg_hdr h;
};

/* The line the broker or the user's side prints: at most this long. */
#define MSG_LINE_MAX 256

struct msg_broker_exit {
	struct msg_hdr h;
	int32_t status;          /* 0..255, what the user's vmnet-helper exits with */
	char line[MSG_LINE_MAX]; /* NUL-terminated; empty from a helper (it logged on
				    the user's stderr itself), the reason from the broker */
};

union msg {
	struct msg_hdr h;
	struct msg_claim_mac claim_mac;
	struct msg_claim_addr6 claim_addr6;
	struct msg_claim_addr4 claim_addr4;
	struct msg_verdict verdict;
	struct msg_files_ready files_ready;
	struct msg_files_connect files_connect;
	struct msg_files_connected files_connected;
	struct msg_capture_ready capture_ready;
	struct msg_status status;
	struct msg_broker_stop broker_stop;
	struct msg_broker_exit broker_exit;
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
