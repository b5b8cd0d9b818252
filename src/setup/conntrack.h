/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel's connection tracking table (ctnetlink over NETLINK_NETFILTER,
 * libmnl), IPv4 only: the connections the host, and what it forwards, had
 * recently. Read at setup to see whom the host is talking to (peers.h), and
 * at a network's end to forget the connections of its VMs. Runs as root at
 * setup, or in the reaper (uid 0, CAP_NET_ADMIN, which ctnetlink needs).
 *
 * The table holds entries only where something uses connection tracking
 * (a stateful firewall, NAT: every shared network of ours, Docker): then
 * nf_conntrack is loaded and the kernel tracks every connection of that
 * network namespace. Without it there is nothing to read, and nothing here
 * loads it.
 */
#ifndef VMNET_CONNTRACK_H
#define VMNET_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

struct ct_entry {
	uint32_t orig_src, orig_dst;     /* the first packet's direction, host order */
	uint32_t reply_src, reply_dst;   /* the answers' (differ from orig under NAT) */
	uint16_t sport, dport;           /* orig's ports, host order; 0 without */
	uint8_t proto;                   /* IPPROTO_* */
	bool snat;                       /* the source was translated (masquerade):
					    orig_src sits behind a NAT of this host */
};

/* nf_conntrack is in the kernel (/sys/module/nf_conntrack): there may be
 * a table to read. */
bool ct_available(void);

typedef int (*ct_fn)(const struct ct_entry *e, void *arg);
/* Every IPv4 entry, to fn (a negative return ends the dump with it). 0 or
 * -errno. */
int ct_list4(ct_fn fn, void *arg);

/* Deletes every IPv4 entry one of whose addresses is inside net/mask (host
 * order): how many, or -errno. */
int ct_forget4(uint32_t net, uint32_t mask);

#endif
