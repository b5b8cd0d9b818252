/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bridged mode: the VM joins the network of --shared-interface directly and
 * gets its address from that network's own DHCP server (the helper answers
 * none).
 *
 *   physical Ethernet (or veth): a macvtap in bridge mode on top of it, named
 *     "vmmvt<pid>", with the VM's MAC (macvtap delivers only frames for its
 *     own MAC). Opened through a private device node made from the major:minor
 *     in sysfs, so devtmpfs names (/dev/tap<ifindex>, which may collide across
 *     network namespaces) and udev do not matter. A macvtap outlives its fd:
 *     the reaper deletes it.
 *   existing Linux bridge (not one of ours): a TAP port ("vmtap%d") on it,
 *     removed by the kernel when the helper exits.
 *
 * Limitation of macvtap: the host cannot reach its own VMs through the
 * physical interface (its frames never loop back from the lower device to a
 * macvtap); VMs on the same physical interface do reach each other. Wireless
 * interfaces generally drop frames from other MACs, so macvtap on them fails.
 */
#ifndef VMNET_BRIDGED_H
#define VMNET_BRIDGED_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "setup/tap.h"

struct bridged {
	char lower[IF_NAMESIZE];     /* --shared-interface */
	bool on_bridge;              /* lower is a Linux bridge: a TAP port on it */
	unsigned mtu;                /* the lower interface's MTU: vmnet_mtu */
	char macvtap[IF_NAMESIZE];   /* created by us, "" if none */
};

/* Prints the interfaces bridged mode accepts, one per line. No root needed.
 * 0, or -errno with an ERROR logged. */
int bridged_list(FILE *out);

/* Checks that name is usable, with one ERROR line saying why not. Run before
 * anything else is set up, so a bad name changes nothing. *physical: it is a
 * physical Ethernet interface (a link with no kind: not a veth, not a bridge),
 * which the policy lets users bridge by default. 0 or -errno. */
int bridged_check(const char *name, bool *physical);

/*
 * Checks name again and attaches the VM to it: fills t (fd, ifindex, name) with the
 * macvtap or TAP the helper forwards to. Refuses unusable names with one
 * ERROR line. Nothing is left behind on failure. 0 or -errno.
 */
int bridged_open(struct bridged *b, const char *name, const uint8_t mac[6], bool vnet_hdr,
		 struct tap *t);

/* Removes what outlives the helper's fds (the macvtap). Safe to repeat. */
void bridged_teardown(struct bridged *b);

#endif
