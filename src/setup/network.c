/* SPDX-License-Identifier: Apache-2.0 */
/* Networks: one bridge per mode and subnet, shared by helpers, per netns. */
#include "setup/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "setup/conntrack.h"
#include "setup/nat.h"
#include "parse/ndp.h"
#include "setup/netlink.h"
#include "setup/peers.h"
#include "setup/sockdiag.h"
#include "setup/sysctl.h"

#define RUN_ROOT "/run/vmnet-helper"
#define LIB_ROOT "/var/lib/vmnet-helper"

/* ---- small helpers ---- */

static int mask_prefix(uint32_t mask)
{
	return __builtin_popcount(mask);
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Two prefixes overlap when they agree on the shorter one. */
static bool overlaps(uint32_t a, int pa, uint32_t b, int pb)
{
	uint32_t m = prefix_mask(pa < pb ? pa : pb);

	return (a & m) == (b & m);
}

/* Dotted quad of a host-order address; buf holds INET_ADDRSTRLEN. */
static const char *ip_str(uint32_t addr, char *buf)
{
	struct in_addr in = { htonl(addr) };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* "a.b.c.d/p" of the subnet containing addr. */
static const char *cidr(uint32_t addr, int prefix, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s/%d", ip_str(addr & prefix_mask(prefix), a), prefix);
	return buf;
}

static const char *net_cidr(const struct network *n, char *buf, size_t len)
{
	return cidr(n->gateway, mask_prefix(n->mask), buf, len);
}

/*
 * A fixed, locally administered unicast MAC derived from the bridge name
 * (FNV-1a), so the gateway keeps one MAC for the life of the network and
 * the same one when it is recreated.
 */
static void derive_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

/* mkdir -p with mode 0755 whatever the umask, for the state directories. */
static int mkdir_p(const char *path)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == 0)
			chmod(buf, 0755);
		else if (errno != EEXIST)
			return -errno;
		if (last)
			return 0;
		*p = '/';
	}
}

/* Our bridges are "vmnets"/"vmneth" followed by 8 hex digits. */
static bool is_our_bridge(const struct nl_link *l)
{
	if (strlen(l->name) != 14 || strcmp(l->kind, "bridge") != 0)
		return false;
	if (strncmp(l->name, "vmnets", 6) != 0 && strncmp(l->name, "vmneth", 6) != 0)
		return false;
	return strspn(l->name + 6, "0123456789abcdef") == 8;
}

/* ---- snapshots of links, addresses and routes ---- */

/* A growable array: dump callbacks must not call netlink themselves (the
 * receive buffer is shared), so dumps are copied out first. */
struct vec {
	void *v;
	size_t n, cap, size;
};

static int vec_push(struct vec *vec, const void *item)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 32;
		void *v = realloc(vec->v, cap * vec->size);

		if (v == NULL)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	memcpy((char *)vec->v + vec->n * vec->size, item, vec->size);
	vec->n++;
	return 0;
}

/* Dump callbacks; NULL means the dump starts over. */
static int vec_add(struct vec *vec, const void *item)
{
	if (item == NULL) {
		vec->n = 0;
		return 0;
	}
	return vec_push(vec, item);
}

static int push_link(const struct nl_link *l, void *arg) { return vec_add(arg, l); }
static int push_addr(const struct nl_addr4 *a, void *arg) { return vec_add(arg, a); }
static int push_route(const struct nl_route4 *r, void *arg) { return vec_add(arg, r); }

static const struct nl_link *link_by_index(const struct vec *links, int ifindex)
{
	const struct nl_link *l = links->v;

	for (size_t i = 0; i < links->n; i++)
		if (l[i].ifindex == ifindex)
			return &l[i];
	return NULL;
}

/* Ports of master, not counting except (0: count all). */
static int count_ports(const struct vec *links, int master, int except)
{
	const struct nl_link *l = links->v;
	int count = 0;

	for (size_t i = 0; i < links->n; i++)
		if (l[i].master == master && l[i].ifindex != except)
			count++;
	return count;
}

static int list_links(struct vec *links)
{
	int ret;

	*links = (struct vec){ .size = sizeof(struct nl_link) };
	ret = nl_link_list(push_link, links);
	if (ret < 0)
		ERROR("network", "cannot list links: %s", strerror(-ret));
	return ret;
}

/* ---- conflicts ---- */

/* Removes a bridge of ours and its rules. */
static int remove_network(const struct network *n, const char *bridge)
{
	struct network gone = *n;
	int ret;

	snprintf(gone.bridge, sizeof(gone.bridge), "%s", bridge);
	gone.mode = bridge[5] == 's' ? MODE_SHARED : MODE_HOST;
	ret = nl_link_delete(bridge);
	if (ret < 0 && ret != -ENODEV) {
		ERROR("network", "cannot delete bridge %s: %s", bridge, strerror(-ret));
		return ret;
	}
	return nat_remove(&gone);
}

/*
 * An address overlapping ours: fine on our own bridge (checked later),
 * a leftover of ours with no ports is removed, anything else is a conflict.
 */
static int check_addr(const struct network *n, const struct vec *links,
		      const struct nl_addr4 *a)
{
	const struct nl_link *l = link_by_index(links, a->ifindex);
	char want[32], have[32];

	if (!overlaps(a->addr, a->prefix, n->gateway, mask_prefix(n->mask)))
		return 0;
	net_cidr(n, want, sizeof(want));
	cidr(a->addr, a->prefix, have, sizeof(have));
	if (l != NULL && is_our_bridge(l)) {
		if (strcmp(l->name, n->bridge) == 0)
			return 0;
		if (count_ports(links, l->ifindex, 0) == 0) {
			INFO("network", "removing unused network %s (%s)", have, l->name);
			return remove_network(n, l->name);
		}
		ERROR("network", "conflicting network %s: network %s (%s mode) is in use",
		      want, have, l->name[5] == 's' ? "shared" : "host");
		return -EADDRINUSE;
	}
	ERROR("network", "network %s overlaps address %s/%d on %s", want,
	      ip_str(a->addr, have), a->prefix, l != NULL ? l->name : "an unknown interface");
	return -EADDRINUSE;
}

/* A route overlapping ours that does not go through one of our bridges. */
static int check_route(const struct network *n, const struct vec *links,
		       const struct nl_route4 *r)
{
	const struct nl_link *l = link_by_index(links, r->oif);
	char want[32], have[32];

	if (l != NULL && is_our_bridge(l))
		return 0;
	/* A default route covers everything; it is where NAT sends traffic.
	 * But its gateway inside the network would be reached on our bridge. */
	if (r->prefix == 0) {
		if (!r->gateway || !overlaps(r->gateway, 32, n->gateway, mask_prefix(n->mask)))
			return 0;
		ERROR("network", "network %s contains the host's default gateway %s (default via %s%s%s)",
		      net_cidr(n, want, sizeof(want)), ip_str(r->gateway, have), have,
		      l ? " dev " : "", l ? l->name : "");
		return -EADDRINUSE;
	}
	/* So would any other route's gateway (an "onlink" one has no route
	 * of its own to it). */
	if (r->gateway && overlaps(r->gateway, 32, n->gateway, mask_prefix(n->mask))) {
		char dst[32];

		ERROR("network", "network %s contains %s, the gateway of the host's route %s%s%s",
		      net_cidr(n, want, sizeof(want)), ip_str(r->gateway, have),
		      cidr(r->dst, r->prefix, dst, sizeof(dst)), l ? " dev " : "", l ? l->name : "");
		return -EADDRINUSE;
	}
	if (!overlaps(r->dst, r->prefix, n->gateway, mask_prefix(n->mask)))
		return 0;
	ERROR("network", "network %s overlaps route %s%s%s", net_cidr(n, want, sizeof(want)),
	      cidr(r->dst, r->prefix, have, sizeof(have)), l ? " dev " : "", l ? l->name : "");
	return -EADDRINUSE;
}

static int check_addrs(const struct network *n, const struct vec *links)
{
	struct vec addrs = { .size = sizeof(struct nl_addr4) };
	int ret = nl_addr4_list(push_addr, &addrs);

	if (ret < 0)
		ERROR("network", "cannot list addresses: %s", strerror(-ret));
	for (size_t i = 0; ret == 0 && i < addrs.n; i++)
		ret = check_addr(n, links, (const struct nl_addr4 *)addrs.v + i);
	free(addrs.v);
	return ret;
}

static int check_routes(const struct network *n, const struct vec *links)
{
	struct vec routes = { .size = sizeof(struct nl_route4) };
	int ret = nl_route4_list(push_route, &routes);

	if (ret < 0)
		ERROR("network", "cannot list routes: %s", strerror(-ret));
	for (size_t i = 0; ret == 0 && i < routes.n; i++)
		ret = check_route(n, links, (const struct nl_route4 *)routes.v + i);
	free(routes.v);
	return ret;
}

/* The host's own resolvers, reached through its routes, would be answered
 * by whatever VM took their address on our bridge. */
static int check_nameservers(const struct network *n)
{
	char want[32], have[INET_ADDRSTRLEN];

	for (int i = 0; i < n->nnameservers; i++) {
		if (!overlaps(n->nameservers[i], 32, n->gateway, mask_prefix(n->mask)))
			continue;
		ERROR("network", "network %s contains the host's nameserver %s (%s)",
		      net_cidr(n, want, sizeof(want)), ip_str(n->nameservers[i], have),
		      n->nameserver_file[i]);
		return -EADDRINUSE;
	}
	return 0;
}

/*
 * The first address inside c's subnet that the host is talking to (peers.h)
 * through an interface not ours: true, with why naming it, the interface
 * and how. An address the host reaches through one of our bridges is that
 * network's (its VMs', its gateway's); the network's own bridge among them.
 */
static bool host_talks_into(const struct network *c, const struct vec *links,
			    const struct peers *ps, char *why, size_t len)
{
	char addr[INET_ADDRSTRLEN], how[128];

	for (long i = peers_find(ps, 0, c->gateway, c->mask); i >= 0;
	     i = peers_find(ps, (size_t)i + 1, c->gateway, c->mask)) {
		const struct peer *p = &ps->v[i];
		int oif = p->ifindex;
		const struct nl_link *l;

		if (p->kind != PEER_NEIGHBOUR && nl_route4_lookup(p->addr, &oif) < 0)
			oif = 0;
		l = oif ? link_by_index(links, oif) : NULL;
		if (l && is_our_bridge(l))
			continue;
		peers_describe(p, how, sizeof(how));
		snprintf(why, len, "%s, which the host is talking to through %s (%s)",
			 ip_str(p->addr, addr), l ? l->name : "no interface (it has no route)", how);
		return true;
	}
	return false;
}

/* A network we would create (not join: our bridge for it has no ports)
 * over an address the host is talking to: refused. */
static int check_peers(const struct network *n, const struct vec *links)
{
	const struct nl_link *l = links->v;
	struct peers ps = { 0 };
	char why[320], want[32];
	int ret;

	for (size_t i = 0; i < links->n; i++)
		if (strcmp(l[i].name, n->bridge) == 0 && count_ports(links, l[i].ifindex, 0) > 0)
			return 0;
	ret = peers_collect(&ps);
	if (ret == 0 && host_talks_into(n, links, &ps, why, sizeof(why))) {
		ERROR("network", "network %s contains %s", net_cidr(n, want, sizeof(want)), why);
		ret = -EADDRINUSE;
	}
	peers_free(&ps);
	return ret;
}

/* Addresses first: they may remove leftovers, whose routes go with them. */
static int check_conflicts(const struct network *n)
{
	struct vec links;
	int ret = check_nameservers(n);

	if (ret == 0)
		ret = list_links(&links);
	else
		return ret;
	if (ret == 0)
		ret = check_addrs(n, &links);
	if (ret == 0)
		ret = check_routes(n, &links);
	if (ret == 0)
		ret = check_peers(n, &links);
	free(links.v);
	return ret;
}

/* ---- automatic selection ---- */

/* The alias of a bridge created by a helper without address options. */
#define AUTO_ALIAS "vmnet-helper: automatic network"
/* The last gateway tried: 192.168.255.1, the top of the 192.168.0.0/16 range
 * where both defaults live. */
#define AUTO_LAST_GATEWAY 0xc0a8ff01u
#define AUTO_STEP 0x100u              /* one /24 */

/* The bridge of mode's network at gateway: "vmnets%08x" / "vmneth%08x". */
static void bridge_name(enum op_mode mode, uint32_t gateway, char name[IF_NAMESIZE])
{
	snprintf(name, IF_NAMESIZE, "vmnet%c%08x", mode == MODE_SHARED ? 's' : 'h', gateway);
}

/* Moves n to the /24 whose gateway is gateway (DHCP pool .2-.254). */
static void set_gateway(struct network *n, uint32_t gateway)
{
	n->gateway = gateway;
	n->end = (gateway & 0xffffff00u) | 0xfe;
	bridge_name(n->mode, gateway, n->bridge);
	derive_mac(n->bridge, n->bridge_mac);
}

struct snapshot {
	struct vec links, addrs, routes;
	struct peers peers;           /* read when a candidate would be created */
};

static void snapshot_free(struct snapshot *sn)
{
	free(sn->links.v);
	free(sn->addrs.v);
	free(sn->routes.v);
	peers_free(&sn->peers);
}

static int snapshot_take(struct snapshot *sn)
{
	int ret;

	sn->addrs = (struct vec){ .size = sizeof(struct nl_addr4) };
	sn->routes = (struct vec){ .size = sizeof(struct nl_route4) };
	sn->peers = (struct peers){ 0 };
	ret = list_links(&sn->links);
	if (ret == 0 && (ret = nl_addr4_list(push_addr, &sn->addrs)) < 0)
		ERROR("network", "cannot list addresses: %s", strerror(-ret));
	if (ret == 0 && (ret = nl_route4_list(push_route, &sn->routes)) < 0)
		ERROR("network", "cannot list routes: %s", strerror(-ret));
	return ret;
}

enum candidate {
	CAND_TAKEN,     /* in use by something else: why says what */
	CAND_FREE,      /* nothing there (or only a leftover of ours) */
	CAND_OURS,      /* a running network of this mode and mask: join it */
};

/* An address in the candidate subnet: what it means for the candidate. */
static enum candidate classify_addr(const struct network *c, const struct snapshot *sn,
				    const struct nl_addr4 *a, char *why, size_t len)
{
	const struct nl_link *l = link_by_index(&sn->links, a->ifindex);
	int prefix = mask_prefix(c->mask);
	char have[32];

	if (l != NULL && is_our_bridge(l)) {
		bool ports = count_ports(&sn->links, l->ifindex, 0) > 0;

		if (!ports)
			return CAND_FREE;          /* a leftover: network_join removes it */
		if (strcmp(l->name, c->bridge) == 0 && a->addr == c->gateway && a->prefix == prefix) {
			/* Another MTU asked for: not ours to join, like another mode. */
			if (!c->mtu_asked || l->mtu == c->mtu)
				return CAND_OURS;
			snprintf(why, len, "network %s is in use with MTU %u", cidr(a->addr,
				 a->prefix, have, sizeof(have)), l->mtu);
			return CAND_TAKEN;
		}
		snprintf(why, len, "network %s (%s mode) is in use", cidr(a->addr, a->prefix, have,
			 sizeof(have)), l->name[5] == 's' ? "shared" : "host");
		return CAND_TAKEN;
	}
	snprintf(why, len, "the host has address %s/%d on %s", ip_str(a->addr, have), a->prefix,
		 l != NULL ? l->name : "an unknown interface");
	return CAND_TAKEN;
}

/* What the /24 at candidate c holds, from the snapshot; no side effects. */
static enum candidate classify(const struct network *c, const struct snapshot *sn,
			       char *why, size_t len)
{
	const struct nl_addr4 *addrs = sn->addrs.v;
	const struct nl_route4 *routes = sn->routes.v;
	int prefix = mask_prefix(c->mask);
	enum candidate verdict = CAND_FREE;

	for (size_t i = 0; i < sn->addrs.n; i++) {
		if (!overlaps(addrs[i].addr, addrs[i].prefix, c->gateway, prefix))
			continue;
		enum candidate v = classify_addr(c, sn, &addrs[i], why, len);
		if (v == CAND_TAKEN)
			return v;
		if (v == CAND_OURS)
			verdict = v;
	}
	for (int i = 0; i < c->nnameservers; i++) {
		char have[INET_ADDRSTRLEN];

		if (!overlaps(c->nameservers[i], 32, c->gateway, prefix))
			continue;
		snprintf(why, len, "it contains the host's nameserver %s",
			 ip_str(c->nameservers[i], have));
		return CAND_TAKEN;
	}
	for (size_t i = 0; i < sn->routes.n; i++) {
		const struct nl_link *l = link_by_index(&sn->links, routes[i].oif);
		char have[32];

		if (l != NULL && is_our_bridge(l))
			continue;
		/* As check_route: the default route's gateway, and any other route. */
		if (routes[i].prefix == 0 && routes[i].gateway &&
		    overlaps(routes[i].gateway, 32, c->gateway, prefix)) {
			snprintf(why, len, "it contains the host's default gateway %s",
				 ip_str(routes[i].gateway, have));
			return CAND_TAKEN;
		}
		if (routes[i].prefix != 0 && routes[i].gateway &&
		    overlaps(routes[i].gateway, 32, c->gateway, prefix)) {
			char dst[32];

			snprintf(why, len, "it contains %s, the gateway of the host's route to %s",
				 ip_str(routes[i].gateway, have), cidr(routes[i].dst, routes[i].prefix,
				 dst, sizeof(dst)));
			return CAND_TAKEN;
		}
		if (routes[i].prefix == 0 ||
		    !overlaps(routes[i].dst, routes[i].prefix, c->gateway, prefix))
			continue;
		snprintf(why, len, "the host has a route to %s%s%s",
			 cidr(routes[i].dst, routes[i].prefix, have, sizeof(have)),
			 l ? " dev " : "", l ? l->name : "");
		return CAND_TAKEN;
	}
	return verdict;
}

/* Step 2: the lowest running network of this mode above the default that a
 * helper without address options created. 0 if none. */
static uint32_t find_automatic(const struct network *n, const struct snapshot *sn)
{
	const struct nl_link *l = sn->links.v;
	char mode = n->mode == MODE_SHARED ? 's' : 'h';
	uint32_t best = 0;

	for (size_t i = 0; i < sn->links.n; i++) {
		unsigned long gw;

		if (!is_our_bridge(&l[i]) || l[i].name[5] != mode ||
		    strcmp(l[i].alias, AUTO_ALIAS) != 0 || count_ports(&sn->links, l[i].ifindex, 0) == 0)
			continue;
		gw = strtoul(l[i].name + 6, NULL, 16);
		if (gw > n->gateway && gw <= AUTO_LAST_GATEWAY && (gw & 0xff) == 1 &&
		    (best == 0 || gw < best))
			best = (uint32_t)gw;
	}
	return best;
}

/* Does the policy (n->allow) let this user create the /24 at gateway? */
static bool allowed(const struct network *n, uint32_t gateway, char *why, size_t len)
{
	return !n->allow || n->allow(n->allow_arg, gateway, n->mask, why, len) == 0;
}

/* Is candidate gateway usable (free or ours to join)? Fills why if not.
 * One we would create is not where the host is talking (peers.h). */
static bool usable(const struct network *n, struct snapshot *sn, uint32_t gateway,
		   enum candidate *verdict, char *why, size_t len)
{
	struct network c = *n;
	char talk[320];

	set_gateway(&c, gateway);
	if (!allowed(n, gateway, why, len)) {
		*verdict = CAND_TAKEN;
		return false;
	}
	*verdict = classify(&c, sn, why, len);
	if (*verdict == CAND_FREE && peers_collect(&sn->peers) == 0 &&
	    host_talks_into(&c, &sn->links, &sn->peers, talk, sizeof(talk))) {
		snprintf(why, len, "it contains %s", talk);
		*verdict = CAND_TAKEN;
	}
	return *verdict != CAND_TAKEN;
}

static int choose(struct network *n, struct snapshot *sn)
{
	char why[384] = "", ignored[384], refused[384] = "", from[32], to[32];
	bool dflt_allowed = allowed(n, n->gateway, ignored, sizeof(ignored));
	enum candidate dflt, v;
	uint32_t g;

	net_cidr(n, from, sizeof(from));
	if (usable(n, sn, n->gateway, &dflt, why, sizeof(why)) && dflt == CAND_OURS)
		return 0;
	g = find_automatic(n, sn);
	if (g != 0 && usable(n, sn, g, &v, ignored, sizeof(ignored)) && v == CAND_OURS) {
		set_gateway(n, g);
		INFO("network", "joining network %s, chosen automatically by a running helper "
		     "(the default is %s)", net_cidr(n, to, sizeof(to)), from);
		return 0;
	}
	if (dflt == CAND_FREE)
		return 0;
	for (g = n->gateway + AUTO_STEP; g <= AUTO_LAST_GATEWAY; g += AUTO_STEP) {
		/* The policy's refusal, if any, says more than "taken" would. */
		if (!refused[0] && dflt_allowed && !allowed(n, g, refused, sizeof(refused)))
			continue;
		if (!usable(n, sn, g, &v, ignored, sizeof(ignored)))
			continue;
		set_gateway(n, g);
		INFO("network", "default network %s cannot be used (%s): using %s", from, why,
		     net_cidr(n, to, sizeof(to)));
		return 0;
	}
	ERROR("network", "no free network for %s mode: default %s cannot be used (%s), nor any "
	      "/24 after it up to 192.168.255.0/24%s%s", options_mode_name(n->mode), from, why,
	      refused[0] ? "; " : "", refused);
	return -EADDRNOTAVAIL;
}

int network_choose(struct network *n)
{
	struct snapshot sn;
	int ret;

	n->automatic = true;
	ret = snapshot_take(&sn);
	if (ret == 0)
		ret = choose(n, &sn);
	snapshot_free(&sn);
	return ret;
}

/* ---- the bridge ---- */

/* Sets net.ipv6.conf.<bridge>.<leaf>. */
static int bridge_sysctl6(const struct network *n, const char *leaf, const char *value)
{
	char key[96];

	snprintf(key, sizeof(key), "ipv6/conf/%s/%s", n->bridge, leaf);
	return sysctl_set(key, value);
}

/* IPv6 off on the bridge (or on the host): no address of ours there, and
 * the kernel keeps no IPv6 neighbours to bind VMs' addresses in. */
static bool bridge_without_ipv6(const struct network *n)
{
	char key[96], val[8];

	snprintf(key, sizeof(key), "ipv6/conf/%s/disable_ipv6", n->bridge);
	return sysctl_get(key, val, sizeof(val)) < 0 || strcmp(val, "0") != 0;
}

/*
 * The gateway's IPv6 side, in both modes. addr_gen_mode 1 (none) before the
 * link goes up stops the kernel making its own link-local (which hosts
 * configured for stable-privacy addresses would make different from EUI-64);
 * we add the EUI-64 one ourselves, so the RA source, and the address the
 * guards keep VMs from claiming, is known without asking. accept_ra 0: the
 * gateway never learns routes from what VMs send. Shared mode adds gateway6.
 * Idempotent, for a reused bridge. With IPv6 off on the host the network is
 * IPv4 only. 0 or -errno; the caller logs.
 */
static int bridge_setup_ipv6(struct network *n)
{
	int ret;

	memset(n->gateway6, 0, sizeof(n->gateway6));
	memcpy(n->gateway6, n->prefix6, 8);
	n->gateway6[15] = 1;
	ndp_link_local(n->bridge_mac, n->ll6);
	if (bridge_without_ipv6(n)) {
		if (n->ipv6)
			WARN("network", "IPv6 is disabled on this host: network %s is IPv4 only",
			     n->bridge);
		n->ipv6 = false;
		n->ipv6_off = true;
		return 0;
	}
	ret = bridge_sysctl6(n, "addr_gen_mode", "1");
	if (ret == 0)
		ret = bridge_sysctl6(n, "accept_ra", "0");
	if (ret == 0) {
		ret = nl_addr6_add(n->bridge_ifindex, n->ll6, 64);
		ret = ret == -EEXIST ? 0 : ret;
	}
	if (ret == 0 && n->ipv6) {
		ret = nl_addr6_add(n->bridge_ifindex, n->gateway6, 64);
		ret = ret == -EEXIST ? 0 : ret;
	}
	return ret;
}

/* New bridge: fixed MAC, gateway address, up. Removed again on failure. */
static int bridge_create(struct network *n)
{
	const char *step = "create";
	char net[32];
	int ret;

	derive_mac(n->bridge, n->bridge_mac);
	ret = nl_bridge_create(n->bridge, n->bridge_mac);
	if (ret == 0) {
		step = "find";
		ret = nl_ifindex(n->bridge);
	}
	if (ret > 0) {
		n->bridge_ifindex = ret;
		/* Set explicitly, the bridge keeps it whatever its ports do. */
		step = "set the MTU of";
		ret = nl_link_set_mtu(n->bridge_ifindex, n->mtu);
	}
	if (ret == 0) {
		step = "set the address of";
		ret = nl_addr4_add(n->bridge_ifindex, n->gateway, mask_prefix(n->mask));
	}
	if (ret == 0) {
		step = "set up IPv6 on";
		ret = bridge_setup_ipv6(n);
	}
	if (ret == 0 && n->automatic) {
		step = "mark";
		ret = nl_link_set_alias(n->bridge_ifindex, AUTO_ALIAS);
	}
	if (ret == 0) {
		step = "bring up";
		ret = nl_link_up(n->bridge_ifindex);
	}
	if (ret < 0) {
		ERROR("network", "cannot %s bridge %s: %s", step, n->bridge, strerror(-ret));
		nl_link_delete(n->bridge);
		return ret;
	}
	INFO("network", "created bridge %s for %s network %s, MTU %u", n->bridge,
	     options_mode_name(n->mode), net_cidr(n, net, sizeof(net)), n->mtu);
	return 0;
}

/*
 * The MTU of an existing bridge. In use, it is the network's: adopted when
 * --mtu was omitted, and another --mtu is refused like another mode. Unused
 * (a leftover), it takes ours.
 */
static int bridge_mtu(struct network *n, const struct nl_link *l)
{
	char net[32];
	int ports;

	if (l->mtu == n->mtu)
		return 0;
	ports = nl_count_ports(l->ifindex);
	if (ports < 0)
		return ports;
	if (ports == 0)
		return nl_link_set_mtu(l->ifindex, n->mtu);
	if (!n->mtu_asked) {
		DEBUG("network", "joining %s with its MTU %u", n->bridge, l->mtu);
		n->mtu = l->mtu;
		return 0;
	}
	ERROR("network", "network %s is in use with MTU %u: cannot use --mtu %u "
	      "(omit --mtu to join it with its MTU)", net_cidr(n, net, sizeof(net)), l->mtu, n->mtu);
	return -EEXIST;
}

/*
 * Existing bridge: it must carry our gateway and prefix. One without ports
 * is a leftover of a killed helper: reuse it, or recreate it if it was set
 * up differently.
 */
static int bridge_reuse(struct network *n, const struct nl_link *l)
{
	char have[32];
	uint32_t addr;
	int prefix, ret;

	n->bridge_ifindex = l->ifindex;
	memcpy(n->bridge_mac, l->mac, sizeof(n->bridge_mac));
	/* Joined by a helper without address options: later ones join it too. */
	if (n->automatic && strcmp(l->alias, AUTO_ALIAS) != 0 &&
	    nl_link_set_alias(l->ifindex, AUTO_ALIAS) < 0)
		WARN("network", "cannot mark bridge %s as an automatic network", n->bridge);
	ret = nl_addr4_get(l->ifindex, &addr, &prefix);
	if (ret == -ENOENT)
		ret = nl_addr4_add(l->ifindex, n->gateway, mask_prefix(n->mask));
	else if (ret == 0 && (addr != n->gateway || prefix != mask_prefix(n->mask))) {
		if (nl_count_ports(l->ifindex) == 0) {
			INFO("network", "recreating unused bridge %s", n->bridge);
			nl_link_delete(n->bridge);
			return bridge_create(n);
		}
		ERROR("network", "network %s already exists with a different subnet mask",
		      cidr(addr, prefix, have, sizeof(have)));
		return -EEXIST;
	}
	if (ret == 0) {
		ret = bridge_mtu(n, l);
		if (ret == -EEXIST)
			return ret;   /* logged */
	}
	if (ret == 0)
		ret = nl_link_up(l->ifindex);
	if (ret < 0) {
		ERROR("network", "cannot set up bridge %s: %s", n->bridge, strerror(-ret));
		return ret;
	}
	ret = bridge_setup_ipv6(n);
	if (ret < 0)
		ERROR("network", "cannot set up IPv6 on bridge %s: %s", n->bridge, strerror(-ret));
	return ret;
}

/* ---- public ---- */

/* The inode of our network namespace names its state directories. */
static int netns_id(unsigned long *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ino = (unsigned long)st.st_ino;
	return 0;
}

int network_init(struct network *n, const struct options *o)
{
	unsigned long ns = 0;
	int ret;

	memset(n, 0, sizeof(*n));
	n->mode = o->mode;
	n->gateway = o->start;
	n->end = o->end;
	n->mask = o->mask;
	n->mtu = o->mtu ? o->mtu : DEFAULT_MTU;
	n->mtu_asked = o->mtu != 0;
	n->lock_fd = -1;
	if (n->mode != MODE_BRIDGED) {
		bridge_name(n->mode, n->gateway, n->bridge);
		derive_mac(n->bridge, n->bridge_mac);
	}
	ret = netns_id(&ns);
	if (ret < 0) {
		ERROR("network", "cannot identify the network namespace: %s", strerror(-ret));
		return ret;
	}
	snprintf(n->run_dir, sizeof(n->run_dir), RUN_ROOT "/%lu", ns);
	snprintf(n->lib_dir, sizeof(n->lib_dir), LIB_ROOT "/%lu", ns);
	ret = mkdir_p(n->run_dir);
	if (ret == 0)
		ret = mkdir_p(n->lib_dir);
	if (ret < 0)
		ERROR("network", "cannot create state directories: %s", strerror(-ret));
	return ret;
}

int network_lock(struct network *n)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", n->run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = errno;

		ERROR("network", "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	while (flock(fd, LOCK_EX) < 0) {
		int err = errno;

		if (err == EINTR)
			continue;
		ERROR("network", "cannot lock %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	n->lock_fd = fd;
	/* Nothing blocks on the user's stderr while every helper waits for us. */
	log_hold();
	return 0;
}

void network_unlock(struct network *n)
{
	if (n->lock_fd >= 0) {
		close(n->lock_fd);
		log_release();
	}
	n->lock_fd = -1;
}

int network_join(struct network *n)
{
	struct nl_link l;
	bool created = false;
	int ret;

	if (n->mode == MODE_BRIDGED) {
		ERROR("network", "bridged mode has no host network to join");
		return -EINVAL;
	}
	ret = check_conflicts(n);
	if (ret < 0)
		return ret;
	ret = nl_link_get(n->bridge, &l);
	if (ret == -ENODEV) {
		created = true;
		ret = bridge_create(n);
	} else if (ret == 0) {
		ret = bridge_reuse(n, &l);
	} else {
		ERROR("network", "cannot look up bridge %s: %s", n->bridge, strerror(-ret));
	}
	if (ret < 0)
		return ret;
	ret = nat_add(n, created);
	if (ret < 0 && created)
		remove_network(n, n->bridge);
	return ret;
}

/* A bridge port needs no IPv6 of its own: without this the kernel would
 * send the VM duplicate address detection and router solicitations from the
 * host end of its TAP. Best effort (no IPv6 on the host: nothing to do). */
static void port_no_ipv6(const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "ipv6/conf/%s/disable_ipv6", name);
	sysctl_set(key, "1");
}

/* A learned (dynamic) entry: what the bridge saw a port send from, which
 * nobody pinned and a pin may replace. */
static bool fdb_learned(const struct nl_fdb *e)
{
	return !(e->state & (NUD_PERMANENT | NUD_NOARP)) &&
	       !(e->flags & (NTF_STICKY | NTF_EXT_LEARNED));
}

int network_pin_mac(struct network *n, int ifindex, const uint8_t mac[6],
		    char holder[IF_NAMESIZE])
{
	struct nl_fdb e = { 0 };
	int ret = nl_fdb_pin(ifindex, mac);

	if (holder)
		snprintf(holder, IF_NAMESIZE, "?");
	for (int tries = 0; ret == -EEXIST && tries < 3; tries++) {
		ret = nl_fdb_get(n->bridge_ifindex, mac, &e);
		if (ret == 0 && !fdb_learned(&e)) {
			if (holder && !if_indextoname((unsigned)e.ifindex, holder))
				snprintf(holder, IF_NAMESIZE, "%d", e.ifindex);
			return e.ifindex == ifindex ? 0 : -EEXIST;
		}
		/* Learned, or gone meanwhile: remove it, then pin, still exclusively. */
		if (ret == 0)
			nl_fdb_del(e.ifindex, mac);
		ret = nl_fdb_pin(ifindex, mac);
	}
	return ret;
}

bool network_mac_pinned(struct network *n, int ifindex, const uint8_t mac[6])
{
	struct nl_fdb f = { 0 };

	return nl_fdb_get(n->bridge_ifindex, mac, &f) == 0 && !fdb_learned(&f) &&
	       f.ifindex != ifindex;
}

/* Whom an existing entry for addr binds it to: 1 this MAC, -EEXIST another
 * VM (a permanent entry whose MAC a port holds), 0 no one (what the kernel
 * learned or tried, or left by a VM now gone). */
static int bound6_to(struct network *n, const uint8_t addr[16], const uint8_t mac[6])
{
	struct nl_neigh6 e;
	struct nl_fdb f = { 0 };

	if (nl_neigh6_get(n->bridge_ifindex, addr, &e) < 0 || !(e.state & NUD_PERMANENT) ||
	    !e.has_mac)
		return 0;
	if (memcmp(e.mac, mac, 6) == 0)
		return 1;
	return nl_fdb_get(n->bridge_ifindex, e.mac, &f) == 0 && !fdb_learned(&f) ? -EEXIST : 0;
}

int network_bind6(struct network *n, const uint8_t addr[16], const uint8_t mac[6], bool take)
{
	int ret = nl_neigh6_set(n->bridge_ifindex, addr, mac, take);

	if (ret == -EEXIST) {
		int to = bound6_to(n, addr, mac);

		if (to != 0)
			return to < 0 ? to : 0;
		ret = nl_neigh6_set(n->bridge_ifindex, addr, mac, true);
	}
	/* Nothing to bind in, and VMs' IPv6 among themselves stays theirs. */
	if (ret < 0 && bridge_without_ipv6(n))
		return 0;
	return ret;
}

void network_unbind6(struct network *n, const uint8_t addr[16], const uint8_t mac[6])
{
	struct nl_neigh6 e;

	if (nl_neigh6_get(n->bridge_ifindex, addr, &e) == 0 && (e.state & NUD_PERMANENT) &&
	    e.has_mac && memcmp(e.mac, mac, 6) == 0)
		nl_neigh6_del(n->bridge_ifindex, addr);
}

int network_add_port(struct network *n, int ifindex, const uint8_t mac[6], bool isolated)
{
	char name[IF_NAMESIZE] = "?", holder[IF_NAMESIZE];
	int ret;

	if_indextoname((unsigned)ifindex, name);
	ret = nl_link_set_master(ifindex, n->bridge_ifindex);
	if (ret < 0) {
		ERROR("network", "cannot attach %s to bridge %s: %s", name, n->bridge,
		      strerror(-ret));
		return ret;
	}
	n->port_ifindex = ifindex;
	port_no_ipv6(name);
	/* vmnet_mac_address is this VM's: no other port may take it over in
	 * the bridge's forwarding table (and with it the VM's traffic); nor
	 * may we take it from a port that pinned it (another VM's). */
	ret = network_pin_mac(n, ifindex, mac, holder);
	if (ret < 0) {
		char text[18];

		snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5]);
		if (ret == -EEXIST)
			ERROR("network", "MAC %s is in use on %s: pinned to port %s, another VM's",
			      text, n->bridge, holder);
		else
			ERROR("network", "cannot pin the VM's MAC to %s: %s", name, strerror(-ret));
		nl_link_set_master(ifindex, 0);
		return ret;
	}
	if (isolated) {
		/* The kernel flag alone only keeps isolated ports from each
		 * other; the rules also keep them from non-isolated ones. */
		ret = nl_brport_set_isolated(ifindex, true);
		if (ret < 0)
			ERROR("network", "cannot isolate port %s: %s", name, strerror(-ret));
		if (ret == 0)
			ret = nat_isolate(n);
		if (ret < 0) {
			nl_link_set_master(ifindex, 0);
			return ret;
		}
	}
	DEBUG("network", "attached %s to %s%s", name, n->bridge, isolated ? " (isolated)" : "");
	return 0;
}

/* The host's sockets to the VMs of a network about to go: a peer inside
 * it, reached through its bridge, and an end of the host's outside it (a
 * socket through the gateway has both ends inside: peers_find passes over
 * it, and it stays). */
struct doomed_sockets {
	uint32_t net, mask;
	int bridge;
	struct vec v;
};

static int doom_socket(const struct sd_socket *s, void *arg)
{
	struct doomed_sockets *d = arg;

	if ((s->remote & d->mask) != d->net || (s->local & d->mask) == d->net)
		return 0;
	return vec_push(&d->v, s);
}

/* Under the lock, before the bridge goes: only those its route takes
 * through the bridge (not an address of the subnet the host reaches
 * elsewhere through a route of its own). */
static void doomed_collect(const struct network *n, int bridge, struct doomed_sockets *d)
{
	struct sd_socket *s;
	size_t w = 0;
	int oif;

	*d = (struct doomed_sockets){ n->gateway & n->mask, n->mask, bridge,
				      { .size = sizeof(struct sd_socket) } };
	if (sd_list4(doom_socket, d) < 0)
		DEBUG("network", "cannot list the host's sockets");
	s = d->v.v;
	for (size_t i = 0; i < d->v.n; i++)
		if (nl_route4_lookup(s[i].remote, &oif) == 0 && oif == bridge)
			s[w++] = s[i];
	d->v.n = w;
}

/*
 * The network is gone, and with it every VM it had: the connections the
 * kernel tracks to and from its addresses, and the host's sockets talking
 * to them through another address of the host, would otherwise make the
 * next start over the same subnet look like the host talking to someone
 * there through another interface (peers.h), and keep NAT state for a VM
 * that is not there. Best effort: logged.
 */
static void forget_connections(const struct network *n, struct doomed_sockets *d)
{
	const struct sd_socket *s = d->v.v;
	int ct = 0, closed = 0;

	if (ct_available() && (ct = ct_forget4(n->gateway, n->mask)) < 0)
		DEBUG("network", "cannot forget the connections of %s: %s", n->bridge, strerror(-ct));
	for (size_t i = 0; i < d->v.n; i++)
		closed += sd_destroy(&s[i]) == 0;
	free(d->v.v);
	d->v = (struct vec){ 0 };
	if (ct > 0 || closed > 0)
		DEBUG("network", "forgot %d tracked connections of %s, closed %d sockets of the host "
		      "to its VMs", ct > 0 ? ct : 0, n->bridge, closed);
}

int network_leave(struct network *n)
{
	const struct nl_link *all;
	struct doomed_sockets doomed = { 0 };
	struct vec links;
	int br = 0, ports = 0, ret;

	if (n->mode == MODE_BRIDGED)
		return 0;
	ret = list_links(&links);
	if (ret < 0)
		return ret;
	all = links.v;
	for (size_t i = 0; i < links.n; i++)
		if (!strcmp(all[i].name, n->bridge))
			br = all[i].ifindex;
	if (br > 0)
		ports = count_ports(&links, br, n->port_ifindex);
	free(links.v);
	if (ports > 0) {
		DEBUG("network", "bridge %s still has %d ports", n->bridge, ports);
		return 0;
	}
	if (br > 0)
		doomed_collect(n, br, &doomed);
	/* Without a bridge, still drop rules a killed helper may have left. */
	ret = remove_network(n, n->bridge);
	if (ret == 0 && br > 0) {
		INFO("network", "removed bridge %s", n->bridge);
		forget_connections(n, &doomed);
	}
	free(doomed.v.v);
	return ret;
}
