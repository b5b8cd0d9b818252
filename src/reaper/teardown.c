/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reaper's work for one helper (teardown.h): the claims of the datapath
 * (a second MAC of its VM, the IPv6 addresses it uses), checked and bound
 * under the network lock, and the teardown once the datapath is gone. Runs
 * in the reaper only: uid 0 with CAP_NET_ADMIN alone, never on a path a
 * user chose; every claim is untrusted (a VM may have taken the datapath
 * over).
 */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/helper.h"
#include "common/log.h"
#include "parse/vmframe.h"
#include "reaper/teardown.h"
#include "setup/bridged.h"
#include "setup/lease.h"
#include "setup/nat.h"
#include "setup/netlink.h"
#include "setup/network.h"
#include "setup/setup.h"

/* What the reaper bound for this VM on the datapath's claims: teardown
 * removes the IPv6 entries (the TAP's removal takes the MAC pins). */
static struct {
	bool asked_mac2;
	bool has_mac2;
	uint8_t mac2[6];
	unsigned n6;
	uint8_t addr6[VMF_ADDRS6][16], mac6[VMF_ADDRS6][6];
} bound;

/* Under the network lock, before the bridge may go. */
static void unbind_addrs6(struct helper *h)
{
	for (unsigned i = 0; i < bound.n6; i++)
		network_unbind6(&h->net, bound.addr6[i], bound.mac6[i]);
}

/*
 * The kernel removes a TAP when its last descriptor closes, the datapath's,
 * unless a copy outlived it: a datapath a VM took over can pass it to the
 * user over the VM's socket (SCM_RIGHTS, which no seccomp filter can see),
 * and its holder needs no capability to make the TAP persistent and their
 * own (TUNSETPERSIST, TUNSETOWNER): a port on the network past every check
 * of the datapath. So it is deleted, by ifindex (never reused soon, unlike
 * names), which also makes it gone before the bridge's ports are counted.
 */
static void remove_tap(struct helper *h)
{
	int rc;

	if (h->tap.ifindex <= 0)
		return;
	rc = nl_link_delete_index(h->tap.ifindex);
	if (rc == 0)
		DEBUG("reaper", "deleted %s", h->tap.name);
	else if (rc != -ENODEV)
		ERROR("reaper", "cannot delete %s: %s", h->tap.name, strerror(-rc));
}

/* After the datapath process is gone. Network state only: the --socket
 * files are the files process's. */
void teardown(void *arg)
{
	struct helper *h = arg;

	remove_tap(h);
	if (h->opt.mode == MODE_BRIDGED) {
		/* A macvtap outlives its fd. */
		bridged_teardown(&h->br);
		return;
	}
	if (nl_open() < 0)
		return;
	h->net.lock_fd = -1;
	if (h->dns_steered)
		nat_dns_remove(&h->net, h->tap.ifindex);
	if (network_lock(&h->net) == 0) {
		setup_release_lease(h);
		unbind_addrs6(h);
		network_leave(&h->net);
		network_unlock(&h->net);
	}
}

/* Whether a MAC may become this VM's second one: not the lease's MAC of
 * another running helper (its VM may not be sending yet), and not pinned
 * to another port (network_pin_mac). Under the network lock. */
static bool claim_allowed(struct helper *h, const uint8_t mac[6])
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8];
	struct lease other;

	helper_lease_path(h, path, sizeof(path));
	if (lease_mac_holder(path, mac, h->id, h->lease_pid, &other) != 0)
		return false;   /* another VM's, or unknown: refused */
	return network_pin_mac(&h->net, h->tap.ifindex, mac, NULL) == 0;
}

/*
 * A second MAC of the VM (vmframe.h), pinned to its own port, once. Never
 * a multicast or zero MAC, the gateway's, the MAC of another running
 * helper's lease, one the bridge has pinned to another port (another VM's
 * second MAC) or a port's own.
 */
static bool claim_mac(struct helper *h, const uint8_t *mac)
{
	static const uint8_t zero[6];
	bool ok;

	if (bound.asked_mac2)
		return false;
	bound.asked_mac2 = true;
	if ((mac[0] & 1) || !memcmp(mac, zero, 6) || !memcmp(mac, h->net.bridge_mac, 6))
		return false;
	h->net.lock_fd = -1;
	if (network_lock(&h->net) < 0)
		return false;
	ok = claim_allowed(h, mac);
	network_unlock(&h->net);
	if (ok) {
		bound.has_mac2 = true;
		memcpy(bound.mac2, mac, 6);
	}
	return ok;
}

/*
 * An IPv6 address the VM uses, bound to the MAC it sends from
 * (network_bind6). Only for the VM's own MACs, at most VMF_ADDRS6
 * addresses, never the unspecified, a multicast or a gateway address,
 * never one another VM holds.
 */
static bool claim_addr6(struct helper *h, const uint8_t *addr, const uint8_t *mac)
{
	static const uint8_t unspecified[16];
	int rc;

	if (bound.n6 == VMF_ADDRS6 || addr[0] == 0xff || !memcmp(addr, unspecified, 16) ||
	    !memcmp(addr, h->net.ll6, 16) || (h->net.ipv6 && !memcmp(addr, h->net.gateway6, 16)))
		return false;
	if (memcmp(mac, h->mac, 6) != 0 && !(bound.has_mac2 && !memcmp(mac, bound.mac2, 6)))
		return false;
	h->net.lock_fd = -1;
	if (network_lock(&h->net) < 0)
		return false;
	rc = network_bind6(&h->net, addr, mac);
	network_unlock(&h->net);
	if (rc < 0)
		return false;
	memcpy(bound.addr6[bound.n6], addr, 16);
	memcpy(bound.mac6[bound.n6++], mac, 6);
	return true;
}

bool teardown_answer(void *arg, const union msg *m)
{
	struct helper *h = arg;

	if (h->opt.mode == MODE_BRIDGED)
		return false;   /* nothing of the LAN's is ours to bind */
	switch (m->h.type) {
	case MSG_CLAIM_MAC:
		return claim_mac(h, m->claim_mac.mac);
	case MSG_CLAIM_ADDR6:
		return claim_addr6(h, m->claim_addr6.addr, m->claim_addr6.mac);
	default:
		return false;
	}
}
