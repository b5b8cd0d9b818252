/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reaper's work for one helper (teardown.h): the claims of the datapath
 * (a second MAC of its VM, the IPv6 addresses it uses, the addresses of the
 * DHCP pool it set by hand), checked and bound under the network lock, and
 * the teardown once the datapath is gone. Runs
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
#include "parse/ndp.h"
#include "parse/vmframe.h"
#include "reaper/teardown.h"
#include "setup/bridged.h"
#include "setup/lease.h"
#include "setup/nat.h"
#include "setup/netlink.h"
#include "setup/network.h"
#include "setup/setup.h"
#include "setup/statussock.h"

/* What the reaper bound for this VM on the datapath's claims: teardown
 * removes the IPv6 entries (the TAP's removal takes the MAC pins). */
static struct {
	bool asked_mac2;
	bool has_mac2;
	uint8_t mac2[6];
	unsigned n6;
	uint8_t addr6[VMF_ADDRS6][16], mac6[VMF_ADDRS6][6];
	unsigned n4;     /* pool addresses recorded as the VM's leases */
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

/* After the datapath process is gone: its status socket (root's), then the
 * network state. The --socket and --pcap files are the user's. */
void teardown(void *arg)
{
	struct helper *h = arg;

	statussock_remove(h->status_path);
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

/* Whether a MAC may become this VM's second one: not the MAC of another
 * lease still its user's (a running helper's, whose VM may not be sending
 * yet, or a stopped one's within its lease time, whose VM's next start
 * needs it), and not pinned to another port (network_pin_mac). Under the
 * network lock. */
static bool claim_allowed(struct helper *h, const uint8_t mac[6])
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8];
	struct lease other;

	helper_lease_path(h, path, sizeof(path));
	if (lease_mac_holder(path, mac, h->id, h->lease_pid, HELPER_LEASE_TIME, &other) != 0)
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

/* One of the VM's own MACs: vmnet_mac_address, or its second one. */
static bool own_mac(const struct helper *h, const uint8_t mac[6])
{
	return !memcmp(mac, h->mac, 6) || (bound.has_mac2 && !memcmp(mac, bound.mac2, 6));
}

/*
 * Whose an EUI-64 link-local is: 1 the VM's (one of its MACs is in it), -1
 * another VM's (the MAC of a lease of another interface id, running or
 * not, or a MAC another port has pinned), 0 no one's (or not such an
 * address). Under the network lock. So no VM takes another's link-local
 * before that VM uses it, not even before it starts: the lease file, which
 * anyone may read, names the MAC of every VM it knows.
 */
static int eui64_owner(struct helper *h, const uint8_t addr[16])
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8];
	uint8_t mac[6];

	if (!ndp_link_local_mac(addr, mac))
		return 0;
	if (own_mac(h, mac))
		return 1;
	helper_lease_path(h, path, sizeof(path));
	if (lease_mac_listed(path, mac, h->id) != 0 ||
	    network_mac_pinned(&h->net, h->tap.ifindex, mac))
		return -1;   /* another VM's, or unknown: refused */
	return 0;
}

/*
 * An IPv6 address the VM uses or probes for, bound to the MAC it sends from
 * (network_bind6). Only for the VM's own MACs, at most VMF_ADDRS6
 * addresses, never the unspecified, a multicast or a gateway address,
 * never one another VM holds or probed for first, nor another VM's EUI-64
 * link-local; the VM's own EUI-64 link-local is its own whoever held it.
 */
static bool claim_addr6(struct helper *h, const uint8_t *addr, const uint8_t *mac)
{
	static const uint8_t unspecified[16];
	int rc, owner;

	if (bound.n6 == VMF_ADDRS6 || addr[0] == 0xff || !memcmp(addr, unspecified, 16) ||
	    !memcmp(addr, h->net.ll6, 16) || (h->net.ipv6 && !memcmp(addr, h->net.gateway6, 16)))
		return false;
	if (!own_mac(h, mac))
		return false;
	h->net.lock_fd = -1;
	if (network_lock(&h->net) < 0)
		return false;
	owner = eui64_owner(h, addr);
	rc = owner < 0 ? -EEXIST : network_bind6(&h->net, addr, mac, owner > 0);
	network_unlock(&h->net);
	if (rc < 0)
		return false;
	memcpy(bound.addr6[bound.n6], addr, 16);
	memcpy(bound.mac6[bound.n6++], mac, 6);
	return true;
}

/*
 * An address of the DHCP pool the VM set by hand, recorded as its lease
 * (lease_claim): free, the VM's own, or its user's or expired and no
 * running VM's. At most VMF_ADDRS4; never outside the pool.
 */
static bool claim_addr4(struct helper *h, uint32_t addr)
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8];
	struct lease_request r = {
		.start = h->net.gateway, .end = h->net.end, .id = h->id,
		.uid = h->user.from_sudo ? (long long)h->user.uid : 0, .pid = h->lease_pid,
		.lease_time = HELPER_LEASE_TIME, .max_held = h->max_leases,
	};
	int rc;

	if (addr <= h->net.gateway || addr > h->net.end || bound.n4 == VMF_ADDRS4)
		return false;
	if (addr == h->lease)
		return true;
	memcpy(r.mac, h->mac, 6);
	helper_lease_path(h, path, sizeof(path));
	h->net.lock_fd = -1;
	if (network_lock(&h->net) < 0)
		return false;
	rc = lease_claim(path, &r, h->lease_pid, addr);
	network_unlock(&h->net);
	if (rc < 0 && rc != -EBUSY && rc != -EDQUOT)
		WARN("reaper", "cannot update %s: %s", path, strerror(-rc));
	if (rc < 0)
		return false;
	bound.n4++;
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
	case MSG_CLAIM_ADDR4:
		return claim_addr4(h, m->claim_addr4.addr);
	default:
		return false;
	}
}
