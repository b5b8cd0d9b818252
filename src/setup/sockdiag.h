/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's TCP and UDP sockets with an IPv4 peer (sock_diag, inet_diag,
 * NETLINK_SOCK_DIAG): IPv4 sockets and IPv6 ones talking to a v4-mapped
 * address. Read at setup to see whom the host is talking to (peers.h);
 * at a network's end, its VMs' connections are closed (sd_destroy). Runs
 * as root at setup, or in the reaper (CAP_NET_ADMIN, which SOCK_DESTROY
 * needs).
 */
#ifndef VMNET_SOCKDIAG_H
#define VMNET_SOCKDIAG_H

#include <linux/inet_diag.h>
#include <stdint.h>

struct sd_socket {
	uint8_t family;               /* AF_INET, AF_INET6 (v4-mapped) */
	uint8_t proto;                /* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t state;                /* TCP_* (a connected UDP socket: TCP_ESTABLISHED) */
	uint32_t local, remote;       /* host order */
	uint16_t lport, rport;        /* host order */
	struct inet_diag_sockid id;   /* as the kernel gave it: names the socket again */
};

typedef int (*sd_fn)(const struct sd_socket *s, void *arg);
/* Every TCP socket but listening ones (TIME_WAIT too: closed within the
 * last minute) and every connected UDP socket, with an IPv4 peer. 0 or
 * -errno (the first source that failed; the others are still listed). */
int sd_list4(sd_fn fn, void *arg);

/* Closes a socket sd_list4 gave (SOCK_DESTROY): its owner's next call
 * fails with ECONNABORTED. 0 or -errno (-ENOENT: gone already). */
int sd_destroy(const struct sd_socket *s);

#endif
