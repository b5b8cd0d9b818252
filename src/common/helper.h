/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One helper's state, from the command line to its exit: filled as root at
 * setup (setup/setup.c), read by the reaper's teardown and its answers to
 * the datapath (reaper/teardown.c), and by the datapath (datapath/datapath.c).
 * Each process has its own copy after fork(): nothing here is shared memory.
 */
#ifndef VMNET_HELPER_H
#define VMNET_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/options.h"
#include "common/privileges.h"
#include "datapath/forward.h"
#include "datapath/transport.h"
#include "parse/pkt.h"
#include "reaper/reaper.h"
#include "setup/bridged.h"
#include "setup/network.h"
#include "setup/policy.h"
#include "setup/tap.h"

/* The DHCP lease time, seconds. */
#define HELPER_LEASE_TIME 86400

struct helper {
	struct options opt;
	struct priv_user user;
	struct policy policy;      /* the administrator's (policy.h) */
	int user_lock_fd;          /* a user's place among their helpers, reserved
				      (policy_reserve_helper) until the datapath
				      runs as the user; -1 if none */
	char id[37];
	uint8_t mac[6];
	uint32_t lease;
	pid_t lease_pid;           /* the helper holding it (this process) */
	unsigned max_leases;       /* leases the user may hold on the network (0:
				      no bound): the reaper's claims keep to it */
	char nat66[40];
	struct transport vm;
	struct network net;
	struct tap tap;
	struct bridged br;         /* bridged mode */
	bool physical;             /* --shared-interface is a physical Ethernet interface */
	unsigned mtu;              /* vmnet_mtu */
	struct reaper reaper;
	struct forward fwd;
	struct dnsfwd *dns;        /* NULL: no DNS service (leases name no server) */
	struct dnsfwd *dns6;       /* on the gateway's IPv6 address; NULL: no RDNSS */
	bool dns_steered;          /* DNS rules made (or being made): the reaper undoes them */
	pid_t dns_job;             /* the child making them (setup_dns_done waits); -1: none */
	int sig_fd;                /* SIGTERM and SIGINT, once they are blocked */
	int pcap_fds[PCAP_FILES_MAX];  /* --pcap's files (setup_capture), until the */
	unsigned pcap_n;               /* datapath's capture takes them (capture.h) */
	int status_fd;             /* listening for vmnet-status (setup/statussock.h), -1: none */
	char status_path[108];     /* its path, removed by the reaper ("": none) */
	int64_t started;           /* seconds since the epoch, and ... */
	int64_t started_ms;        /* ... the monotonic clock (text_now_ms), at setup_status */
	int starter_fd;            /* through sudo: a pidfd on the process that ran sudo
				    * (common/lifeline.h); -1: none */
	pid_t starter_pid;
	uint8_t first[PKT_MAX_FRAME + 1];  /* a --socket client's first datagram */
	size_t first_len;
};

#define HELPER_INIT { .user_lock_fd = -1, .vm = TRANSPORT_INIT, .tap = { .fd = -1 }, \
		      .reaper = { .pid = -1, .pipe_fd = -1 }, .sig_fd = -1, .status_fd = -1, \
		      .starter_fd = -1, .dns_job = -1 }

/* The lease file of the helper's network. */
void helper_lease_path(const struct helper *h, char *buf, size_t len);

/* With TSO the VM sends and receives TCP frames of up to 64 KiB (an IPv4
 * datagram of 65535 bytes), whatever the MTU; without it, MTU-sized frames. */
size_t helper_max_packet(const struct helper *h);

#endif
