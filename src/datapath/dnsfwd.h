/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS for the VM: the DHCP lease (and in shared mode the RAs' RDNSS) names
 * the gateway as DNS server, and the helper answers UDP and TCP queries to
 * gateway:53 from its own VM, and only its own, by forwarding each query to
 * the host's own resolvers (the "nameserver" lines of /etc/resolv.conf, local
 * stubs such as 127.0.0.53 included: the helper runs on the host). A query
 * that cannot be answered gets SERVFAIL promptly, never silence.
 *
 * Per VM, like DHCP: each helper binds its own UDP and TCP sockets on the
 * gateway address at ports the kernel picks (no SO_REUSEPORT group shared
 * with other helpers, whatever their user), and per-helper nftables rules
 * (nat.h, nat_dns_add) steer only its own VM's queries for gateway:53 there
 * and refuse everything else that reaches those ports. So no other helper,
 * VM or user can slow, stop or read a VM's DNS: a helper stopped with
 * SIGSTOP stalls its own VM's DNS alone. After the privilege drop one thread
 * forwards, with bounded tables and deadlines: a VM that hoards TCP
 * connections exhausts its own few, and the oldest idle one goes first.
 */
#ifndef VMNET_DNSFWD_H
#define VMNET_DNSFWD_H

#include <stdint.h>

#include "parse/dns.h"

struct dnsfwd;

/*
 * Reads the upstream servers from resolv_path and binds UDP and TCP sockets
 * at gateway:<a port the kernel picks>. gateway and mask (host order) also
 * say which clients are served: only sources inside the network's subnet.
 * Returns NULL with a WARN line when DNS cannot be served: the helper then
 * runs without DNS and its leases name no DNS server, rather than failing
 * the VM's whole network for it.
 */
struct dnsfwd *dnsfwd_open(uint32_t gateway, uint32_t mask, const char *resolv_path);
/* The same on the gateway's IPv6 address (shared mode), serving sources in its
 * /64: the address router advertisements name in their RDNSS option. */
struct dnsfwd *dnsfwd_open6(const uint8_t gateway6[16], const char *resolv_path);
/* The ports the sockets are bound to (host order), for nat_dns_add. */
void dnsfwd_ports(const struct dnsfwd *d, uint16_t *udp, uint16_t *tcp);
/* One INFO line: where the VM's queries go and which upstreams answer. */
void dnsfwd_log(const struct dnsfwd *d, const char *tap);
/* Starts the forwarding thread (call after dropping privileges). 0 or -errno. */
int dnsfwd_start(struct dnsfwd *d);
/* Stops and joins the thread (if started), closes every socket, frees d. NULL is fine. */
void dnsfwd_close(struct dnsfwd *d);
struct dns_counters *dnsfwd_counters(struct dnsfwd *d);
/* The syscalls the forwarding thread makes (sandbox.h). */
extern const struct sandbox_list dnsfwd_sandbox;

#endif
