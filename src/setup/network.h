/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A network is a mode plus a subnet: one Linux bridge holding the gateway
 * address, shared by every helper started with the same options. State that
 * outlives a helper lives under a per-network-namespace directory so tests in
 * namespaces never see each other:
 *   /run/vmnet-helper/<netns-inode>/lock           global flock for setup/teardown
 *   /var/lib/vmnet-helper/<netns-inode>/<bridge>.leases
 * Membership is derived from the kernel: a network is in use while its bridge
 * has ports, so a helper killed with SIGKILL (whose TAP the kernel removes)
 * needs no cleanup by anyone.
 */
#ifndef VMNET_NETWORK_H
#define VMNET_NETWORK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/options.h"

struct network {
	enum op_mode mode;
	uint32_t gateway, end, mask;          /* host order */
	char bridge[IF_NAMESIZE];             /* "vmnets%08x" / "vmneth%08x" (gateway) */
	int bridge_ifindex;
	uint8_t bridge_mac[6];                /* fixed, derived from the name: the gateway's MAC */
	char run_dir[128];                    /* /run/vmnet-helper/<ns> */
	char lib_dir[128];                    /* /var/lib/vmnet-helper/<ns> */
	int lock_fd;                          /* held while setting up or tearing down */
	int port_ifindex;                     /* our port, set by network_add_port */
	bool automatic;                       /* chosen by network_choose: a bridge we
						 create is marked as such (its alias) */
	/* The network's MTU, part of its identity: the bridge's MTU (set
	 * explicitly, so the kernel never adjusts it to its ports). A network
	 * in use keeps its MTU: network_join adopts it when --mtu was omitted
	 * (mtu_asked false) and refuses another one; network_choose passes over
	 * a network with another MTU as over one of another mode. */
	unsigned mtu;
	bool mtu_asked;
	/* IPv6: in both modes the bridge gets link-local ll6 (EUI-64 of
	 * bridge_mac) without DAD, the kernel's own link-local generation off
	 * so ll6 is exactly the address the RAs name, and accept_ra=0. Shared
	 * mode sets ipv6 and prefix6 before network_join: the bridge also gets
	 * gateway6 (prefix6::1/64). network_join clears ipv6 (with a WARN) if
	 * the host has IPv6 off. */
	/* The host's IPv4 nameservers, set before network_join: a network
	 * containing one is refused, as one containing a default gateway is
	 * (both would send the host's own traffic to a VM). From
	 * /etc/resolv.conf and, with systemd-resolved (whose stub 127.0.0.53
	 * /etc/resolv.conf names), its upstream servers; nameserver_file[i]
	 * names the file of nameservers[i] for the error line. */
	uint32_t nameservers[8];
	const char *nameserver_file[8];
	int nnameservers;
	/* Which subnets network_choose may pick (NULL: any): 0, or -1 with
	 * why. For a user, what the administrator's policy allows; for root,
	 * anything but a named network's subnet. */
	int (*allow)(const void *arg, uint32_t gateway, uint32_t mask, char *why, size_t len);
	const void *allow_arg;
	bool ipv6;
	bool ipv6_off;                        /* IPv6 disabled on the host (set by
						 network_join): no IPv6 at all */
	uint8_t prefix6[8];
	uint8_t gateway6[16], ll6[16];        /* set by network_join */
};

/* Fills names and directories from options; no side effects but mkdir. 0 or -errno. */
int network_init(struct network *n, const struct options *o);
/* Takes / releases the per-namespace lock (blocking flock). The lock file is
 * opened anew each time, so this also works in a process that closed every
 * inherited descriptor (the reaper). */
int network_lock(struct network *n);
void network_unlock(struct network *n);
/*
 * Under the lock, before network_join, for a helper started without the
 * three address options (n holds the mode's default /24). Helpers without
 * them share one network whenever they can, and never fail just because the
 * default cannot be used:
 *   1. the default network, if one of this mode is running there;
 *   2. else the lowest network of this mode that such a helper created after
 *      the default (a running one, marked by its bridge's alias);
 *   3. else the default, if free;
 *   4. else the next /24 after the default that is free, up to 192.168.255.0.
 * "Free": no network of the other mode (or another mask) in use, no host
 * address or route in it, no address the host is talking to through
 * another interface (peers.h) when it would be created, and allowed
 * (n->allow) when that is set: a candidate the policy refuses is passed
 * over as a taken one. Logs the choice when it is not the default. May
 * change gateway, end, bridge and bridge_mac. 0, or -errno (ERROR logged).
 */
int network_choose(struct network *n);
/* Under the lock: create the bridge (address, MTU, up, NAT for shared) if
 * missing, or validate the existing one (mtu: see above). Refuses subnets
 * that overlap another network of ours (an unused one, left by a killed
 * helper, is removed instead), an address or route of the host, or that
 * contain the host's default gateway, a route's gateway or one of its
 * nameservers; and, for a network it would create (not one that runs), an
 * address the host is talking to through another interface (peers.h). 0
 * or -errno, with an ERROR line logged.
 * Hold the lock from network_join through network_add_port: a bridge without
 * ports counts as unused and another helper may remove it. */
int network_join(struct network *n);
/* Under the lock: attach a port (the helper's TAP) to the bridge, with the
 * VM's MAC pinned to it (network_pin_mac). A MAC another port pinned
 * refuses the port, with one ERROR line naming that port: -EEXIST. */
int network_add_port(struct network *n, int ifindex, const uint8_t mac[6], bool isolated);
/*
 * Under the lock: pins mac to port ifindex in the bridge's forwarding table
 * (nl_fdb_pin), exclusively: an entry the bridge only learned is replaced,
 * one pinned to another port (another VM's MAC) or a port's own address is
 * never taken: -EEXIST, with holder (unless NULL) naming that port. 0 or
 * -errno.
 */
int network_pin_mac(struct network *n, int ifindex, const uint8_t mac[6],
		    char holder[IF_NAMESIZE]);
/*
 * Under the lock: binds a VM's IPv6 address to its MAC, first come first
 * served: a permanent neighbour entry on the bridge, so the host never
 * learns another MAC for it. -EEXIST if another VM holds it (a permanent
 * entry whose MAC a port has pinned); an entry the kernel learned, or one
 * left by a VM that is gone, is taken over, and so is every entry when
 * take (the VM's own EUI-64 link-local, which no other VM may hold). With
 * IPv6 off on the bridge there is no neighbour table to bind in: 0. 0 or
 * -errno.
 */
int network_bind6(struct network *n, const uint8_t addr[16], const uint8_t mac[6], bool take);
/* Under the lock: whether a port other than ifindex has mac pinned (a
 * running VM's MAC, network_pin_mac). */
bool network_mac_pinned(struct network *n, int ifindex, const uint8_t mac[6]);
/* Under the lock: removes that entry if it is still addr -> mac. */
void network_unbind6(struct network *n, const uint8_t addr[16], const uint8_t mac[6]);
/* Under the lock: remove the bridge and its rules if it has no ports left,
 * and with them the network's connections (the kernel's tracked ones of
 * its addresses, the host's sockets still connected to its VMs). Our own
 * port (port_ifindex) does not count: the reaper may run this while the
 * kernel is still removing the dead helper's TAP. */
int network_leave(struct network *n);

#endif
