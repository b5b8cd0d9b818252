/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink operations (libmnl). Every function returns 0 or -errno.
 *
 * Each call uses its own short-lived socket: the helper forks a reaper that
 * closes every inherited descriptor before tearing down, so a process-wide
 * socket could silently become a stale (or reused) descriptor.
 */
#ifndef VMNET_NETLINK_H
#define VMNET_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

/* An early check that rtnetlink can be opened: each call below opens and
 * closes its own socket, so nothing is shared across fork(). 0 or -errno. */
int nl_open(void);

struct nl_link {
	int ifindex;
	int master;                 /* ifindex of the master, 0 if none */
	unsigned flags;             /* IFF_* */
	char name[IF_NAMESIZE];
	uint8_t mac[6];             /* zero if the link has no 6-byte address */
	char kind[16];              /* IFLA_INFO_KIND ("bridge", "tun", ...), "" if none */
	unsigned short type;        /* ARPHRD_* */
	unsigned mtu;
	char alias[64];             /* IFLA_IFALIAS, "" if none */
};

struct nl_addr4 {
	int ifindex;
	uint32_t addr;              /* host order */
	int prefix;
};

struct nl_route4 {
	uint32_t dst;               /* host order */
	int prefix;
	int oif;                    /* 0 for routes without one (multipath, blackhole) */
	uint32_t gateway;           /* host order, 0 if none (multipath: not read) */
	uint32_t table;
	uint8_t type;               /* RTN_* */
};

/* Dump callbacks: return 0 to continue, -errno to abort the dump with it.
 * Called with NULL when the kernel reported the dump inconsistent (a
 * concurrent change) and it starts over: forget everything seen so far. */
typedef int (*nl_link_fn)(const struct nl_link *l, void *arg);
typedef int (*nl_addr4_fn)(const struct nl_addr4 *a, void *arg);
typedef int (*nl_route4_fn)(const struct nl_route4 *r, void *arg);

int nl_link_list(nl_link_fn fn, void *arg);
int nl_addr4_list(nl_addr4_fn fn, void *arg);
int nl_route4_list(nl_route4_fn fn, void *arg);   /* every table */

int nl_link_get(const char *name, struct nl_link *l);   /* -ENODEV if missing */
int nl_link_get_index(int ifindex, struct nl_link *l);   /* -ENODEV if missing */
int nl_ifindex(const char *name);        /* ifindex (> 0), or -ENODEV */
/* Creates a bridge with a fixed MAC (addr_assign_type "set", so the kernel
 * never replaces it with a port's address). -EEXIST if it exists. */
int nl_bridge_create(const char *name, const uint8_t mac[6]);
int nl_link_delete(const char *name);
/* By ifindex: the kernel hands out ifindexes in increasing order, so one is
 * not reused before the counter wraps around 2^31 (-ENODEV if gone). */
int nl_link_delete_index(int ifindex);
/* Creates a macvtap in bridge mode on top of lower_ifindex with the given MAC
 * (macvtap only delivers frames addressed to it). -EEXIST if name exists. */
int nl_macvtap_create(const char *name, int lower_ifindex, const uint8_t mac[6]);
int nl_link_up(int ifindex);
int nl_link_set_mtu(int ifindex, unsigned mtu);
int nl_link_set_master(int ifindex, int master_ifindex);   /* 0 detaches */
/* Sets the link's alias (ip link ... alias TEXT): a note kept by the kernel
 * for the link's life. */
int nl_link_set_alias(int ifindex, const char *alias);
/* Bridge port flag IFLA_BRPORT_ISOLATED. */
int nl_brport_set_isolated(int ifindex, bool on);
/* Adds addr/prefix (host order) to ifindex. -EEXIST if present. */
int nl_addr4_add(int ifindex, uint32_t addr, int prefix);
/* Adds an IPv6 addr/prefix to ifindex without duplicate address detection.
 * -EEXIST if present. */
int nl_addr6_add(int ifindex, const uint8_t addr[16], int prefix);
/*
 * Pins mac to bridge port ifindex: a static, sticky FDB entry (NUD_NOARP,
 * NTF_STICKY), so the bridge neither ages it out nor moves it to another
 * port that sends from the same MAC. Never takes an entry over: -EEXIST if
 * the bridge has any entry for mac (nl_fdb_get says whose). The kernel
 * drops the entry with the port.
 */
int nl_fdb_pin(int ifindex, const uint8_t mac[6]);
/* Deletes the bridge's entry for mac if it is on port ifindex. */
int nl_fdb_del(int ifindex, const uint8_t mac[6]);

struct nl_fdb {
	int ifindex;     /* the port (the bridge itself for its own address) */
	uint16_t state;  /* NUD_PERMANENT (a port's own address), NUD_NOARP
			  * (static), else learned (NUD_REACHABLE, NUD_STALE) */
	uint8_t flags;   /* NTF_STICKY, NTF_EXT_LEARNED, ... */
};
/* The entry of bridge bridge_ifindex for mac (untagged). -ENOENT if none. */
int nl_fdb_get(int bridge_ifindex, const uint8_t mac[6], struct nl_fdb *e);
/* A permanent IPv6 neighbour entry addr -> mac on ifindex (the kernel
 * never replaces it with what it hears). replace: over any entry for addr;
 * otherwise -EEXIST if there is one. */
int nl_neigh6_set(int ifindex, const uint8_t addr[16], const uint8_t mac[6], bool replace);
int nl_neigh6_del(int ifindex, const uint8_t addr[16]);
struct nl_neigh6 {
	bool found;
	uint16_t state;   /* NUD_* */
	bool has_mac;
	uint8_t mac[6];
};
/* The entry for addr on ifindex: 0, or -ENOENT if none. */
int nl_neigh6_get(int ifindex, const uint8_t addr[16], struct nl_neigh6 *n);
/* The output interface of the route the kernel takes to dst (host order):
 * *oif (0: none, a blackhole). 0 or -errno (-ENETUNREACH: no route). */
int nl_route4_lookup(uint32_t dst, int *oif);

struct nl_neigh4 {
	int ifindex;
	uint32_t addr;    /* host order */
	uint16_t state;   /* NUD_* */
};
typedef int (*nl_neigh4_fn)(const struct nl_neigh4 *n, void *arg);
/* Every IPv4 neighbour entry (the ARP table), of every interface. */
int nl_neigh4_list(nl_neigh4_fn fn, void *arg);

/*
 * A request in another netlink family (NETLINK_NETFILTER for conntrack,
 * NETLINK_SOCK_DIAG for sockets), on a socket of its own: sends nlh and
 * runs cb (libmnl's mnl_cb_t) on every reply until the ACK or the end of
 * the dump. cb must not make netlink requests itself (the receive buffer
 * is shared): copy out. 0 or -errno.
 */
struct nlmsghdr;
int nl_request(int protocol, struct nlmsghdr *nlh,
	       int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* Number of links whose master is master_ifindex (>= 0), or -errno. */
int nl_count_ports(int master_ifindex);
/* First IPv4 address on ifindex: addr/prefix (host order). -ENOENT if none. */
int nl_addr4_get(int ifindex, uint32_t *addr, int *prefix);

#endif
