/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nftables rules (libnftables), one table per network: "inet vmnet_<bridge>".
 * Shared mode: masquerade the subnet and let the bridge forward to the
 * uplinks, refusing new connections into it. Host mode: forbid forwarding to
 * and from the bridge. If we had to switch on net.ipv4.ip_forward, a guard
 * table "inet vmnet_guard" keeps every other interface as unforwarded as
 * before, and the sysctls ip_forward rewrites (every device's forwarding,
 * conf/all/accept_redirects) are saved in <run_dir>/forwarding; the last
 * shared network restores them exactly and removes the guard.
 * IPv6 (networks with a prefix) likewise: net.ipv6.conf.all.forwarding, with
 * every device's forwarding and accept_ra saved in <run_dir>/forwarding6,
 * accept_ra 1 raised to 2 while forwarding (so SLAAC interfaces keep their
 * router advertisements and default routes), and a guard rule for IPv6.
 * All calls run under the network lock, each in a short-lived child process
 * that loads libnftables (nat.c says why).
 */
#ifndef VMNET_NAT_H
#define VMNET_NAT_H

#include <stdbool.h>
#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

#include "setup/network.h"

/* 0 or -errno, ERROR logged. replace: the bridge is new, so an existing
 * table of its name is a leftover to rewrite; otherwise it is the network's
 * own, written by the helper that created the bridge, and kept. */
int nat_add(const struct network *n, bool replace);
int nat_remove(const struct network *n);  /* also restores forwarding when last */
/*
 * Isolation: the table "bridge vmnet_<bridge>" drops every frame a bridge
 * forwards from or to an isolated TAP ("vmtapi*"), so an isolated VM reaches
 * no other VM, isolated or not, while the gateway and the host (the bridge's
 * own input and output, not forwarding) still do. Bridge-family rules cannot
 * name the bridge on this kernel (no meta ibrname), so the rules match TAP
 * names only; isolated TAPs live only on our bridges. Created by the first
 * isolated port, removed by nat_remove. 0 or -errno, ERROR logged.
 */
int nat_isolate(const struct network *n);

/*
 * DNS per VM (dnsfwd.h): chains of the network's tables ("bridge
 * vmnet_<bridge>", "inet vmnet_<bridge>") named by the helper's TAP's
 * ifindex send the queries that arrive from that TAP for gateway:53 (and
 * [gateway6]:53) to the helper's own sockets, and drop everything else that
 * reaches those sockets' ports. The kernel does not reuse an ifindex, so a
 * chain left by a killed helper never applies to a newer TAP
 * (nat_dns_remove sweeps such leftovers, and they go with the network).
 * Removed by nat_dns_remove (the reaper, at exit, after it removed the
 * TAP). nat_dns_add_start runs in the background (a start goes on
 * meanwhile): its child's pid, which nat_wait turns into 0 or -errno;
 * ERROR logged.
 */
struct nat_dns {
	int ifindex;                /* the helper's TAP */
	uint16_t udp4, tcp4;        /* the sockets' ports on the gateway; 0: none */
	uint16_t udp6, tcp6;        /* on gateway6; 0: none */
};
pid_t nat_dns_add_start(const struct network *n, const struct nat_dns *d);
int nat_wait(pid_t pid);
int nat_dns_remove(const struct network *n, int ifindex);

#endif
