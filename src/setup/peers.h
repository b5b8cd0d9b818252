/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whom the host is talking to: the private IPv4 addresses it exchanges
 * packets with now or did a moment ago, from the kernel's own records.
 * A new network is refused (and an automatic choice passes over it) when
 * its subnet contains one the host reaches through another interface than
 * ours: the network's connected route would send the host's next packets
 * for it to the bridge, and a VM could answer in its place.
 *
 *   sockets    the host's TCP connections (but listening sockets; TIME_WAIT
 *              too: closed within the last minute) and connected UDP
 *              sockets, IPv4 and IPv6 (v4-mapped peers): sockdiag.h
 *   conntrack  the connections the kernel tracks, forwarded ones included,
 *              while something uses connection tracking: conntrack.h
 *   neighbours the ARP table of every interface
 *
 * (Routes, and the host's own addresses, are network.c's.) What none of
 * these can know: a server the host has not talked to yet, or not since the
 * kernel forgot it (a UDP exchange after 30 s to 2 min, a TCP connection
 * once closed, a neighbour entry once gone; a host without connection
 * tracking remembers no closed connection at all).
 *
 * Collecting reads the kernel (root at setup); matching is pure.
 */
#ifndef VMNET_PEERS_H
#define VMNET_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum peer_kind {
	PEER_SOCKET,      /* a socket of the host's (proto: TCP or UDP) */
	PEER_CONNTRACK,   /* a connection the kernel tracks */
	PEER_NEIGHBOUR,   /* an ARP entry (ifindex: its interface) */
};

struct peer {
	uint32_t addr;      /* the address the host talks to, host order */
	uint32_t local;     /* the other end: the host's, or 0 (a neighbour) */
	uint16_t port, local_port;
	uint8_t kind;       /* enum peer_kind */
	uint8_t proto;      /* IPPROTO_*, 0 for a neighbour */
	uint8_t state;      /* a TCP socket's TCP_*, a neighbour's NUD_* (low byte) */
	int ifindex;        /* a neighbour's interface */
};

struct peers {
	struct peer *v;
	size_t n, cap;
	bool collected;
};

/* Keeps p if its address is private (RFC 1918: the only subnets a network
 * can have). 0 or -ENOMEM. */
int peers_add(struct peers *ps, const struct peer *p);

/*
 * A tracked connection's peers: the original destination, the reply's
 * source when NAT changed it (a port forward's real server), and the
 * original source unless it was translated (snat: a VM or container behind
 * this host's masquerade, not someone the host talks to). 0 or -ENOMEM.
 */
int peers_add_conntrack(struct peers *ps, uint32_t orig_src, uint32_t orig_dst,
			uint32_t reply_src, uint32_t reply_dst, uint8_t proto, uint16_t sport,
			uint16_t dport, bool snat);

/*
 * The index of the first peer from index from on that is inside net/mask
 * while its other end is not (both inside: traffic within that network,
 * its gateway and its VMs), or -1. Pure.
 */
long peers_find(const struct peers *ps, size_t from, uint32_t net, uint32_t mask);

/* "a TCP connection 10.0.0.5:41234 -> 10.55.0.10:389", "a neighbour
 * entry", ... for an error line. Pure. */
void peers_describe(const struct peer *p, char *buf, size_t len);

/* Reads the kernel's records into ps once (later calls do nothing). A
 * source that cannot be read is logged (WARN) and skipped: 0, or -ENOMEM. */
int peers_collect(struct peers *ps);

void peers_free(struct peers *ps);

#endif
