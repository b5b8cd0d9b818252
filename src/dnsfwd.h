/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS for the VMs: the DHCP lease names the gateway as DNS server, and the
 * helper answers UDP and TCP port 53 on the gateway address by forwarding each
 * query to the host's own resolvers (the "nameserver" lines of
 * /etc/resolv.conf, local stubs such as 127.0.0.53 included: the helper runs
 * on the host). A query that cannot be answered gets SERVFAIL promptly, never
 * silence.
 *
 * The gateway address is a real address of the bridge in the host kernel, so
 * these are ordinary sockets bound to gateway:53. Port 53 needs root, so they
 * are bound before the privilege drop, with SO_REUSEPORT: every helper on a
 * network binds the same address, and since every socket is created by root
 * they all join one reuseport group whatever user each helper later runs as.
 * The kernel spreads queries over the group and any helper can answer any VM.
 * After the drop one thread forwards, with bounded tables and deadlines.
 */
#ifndef VMNET_DNSFWD_H
#define VMNET_DNSFWD_H

#include <stdatomic.h>
#include <stdint.h>

struct dnsfwd;

struct dnsfwd_counters {
	_Atomic uint64_t queries;    /* valid queries received (UDP and TCP) */
	_Atomic uint64_t answers;    /* upstream answers relayed */
	_Atomic uint64_t servfails;  /* SERVFAIL (or NOTIMP) we made ourselves */
	_Atomic uint64_t drops;      /* malformed or foreign queries dropped */
};

/* Counts one (the main thread reads the counters while the DNS thread counts). */
static inline void dnsfwd_count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/*
 * As root: reads the upstream servers from resolv_path and binds UDP and TCP
 * gateway:53. gateway and mask (host order) also say which clients are served:
 * only sources inside the network's subnet, so the helper is not an open
 * resolver for whatever else can reach the gateway address.
 * Returns NULL with a WARN line when DNS cannot be served (port 53 taken by
 * another program, ...): the helper then runs without DNS and its leases name
 * no DNS server, rather than failing the VM's whole network for it.
 */
struct dnsfwd *dnsfwd_open(uint32_t gateway, uint32_t mask, const char *resolv_path);
/* The same on the gateway's IPv6 address (shared mode), serving sources in its
 * /64: the address router advertisements name in their RDNSS option. */
struct dnsfwd *dnsfwd_open6(const uint8_t gateway6[16], const char *resolv_path);
/* Starts the forwarding thread (call after dropping privileges). 0 or -errno. */
int dnsfwd_start(struct dnsfwd *d);
/* Stops and joins the thread (if started), closes every socket, frees d. NULL is fine. */
void dnsfwd_close(struct dnsfwd *d);
struct dnsfwd_counters *dnsfwd_counters(struct dnsfwd *d);
/* The syscalls the forwarding thread makes (sandbox.h). */
extern const struct sandbox_list dnsfwd_sandbox;

#endif
