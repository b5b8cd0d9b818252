/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink with libmnl: links, bridge ports, IPv4 addresses and routes. */
#include "setup/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Large enough for any dump chunk the kernel sends (it caps them at 32 KiB). */
#define NL_RECV_SIZE 32768
/* Attribute tables are indexed by type; anything above is ignored. */
#define NL_ATTR_MAX 128

typedef const struct nlattr *attr_table[NL_ATTR_MAX];

/* The helper does netlink only in its single-threaded setup and teardown,
 * so one static receive buffer is enough and keeps stacks small. */
static char recv_buf[NL_RECV_SIZE];
static unsigned nl_seq;

/* Opens a bound netlink socket of protocol; NULL with errno set on failure. */
static struct mnl_socket *nl_socket(int protocol)
{
	struct mnl_socket *nl = mnl_socket_open2(protocol, SOCK_CLOEXEC);

	if (nl == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

/* Sends one request and runs cb on every reply until the ACK or the end of
 * the dump. */
static int nl_talk_proto(int protocol, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = nl_socket(protocol);
	unsigned portid;
	int ret;

	if (nl == NULL)
		return -errno;
	if (nl_seq == 0)
		nl_seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = ++nl_seq;
	portid = mnl_socket_get_portid(nl);
	ret = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, recv_buf, sizeof(recv_buf));

		if (n < 0) {
			ret = -errno;
			break;
		}
		errno = 0;
		int r = mnl_cb_run(recv_buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (r == MNL_CB_ERROR) {
			ret = errno ? -errno : -EIO;
			break;
		}
		if (r == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return nl_talk_proto(NETLINK_ROUTE, nlh, cb, data);
}

int nl_request(int protocol, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return nl_talk_proto(protocol, nlh, cb, data);
}

/* How often a dump is rerun when a concurrent change interrupted it. */
#define NL_DUMP_TRIES 5

/*
 * Runs a dump. When links, addresses or routes change while the kernel is
 * dumping (a dying helper's TAP going away, say) it flags the dump as
 * inconsistent, which libmnl reports as EINTR: start over, after telling
 * the caller through restart() to drop what it collected.
 */
static int nl_dump(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, int (*restart)(void *data))
{
	int ret;

	for (int i = 0;; i++) {
		ret = nl_talk(nlh, cb, data);
		if (ret != -EINTR || i + 1 == NL_DUMP_TRIES)
			return ret;
		ret = restart(data);
		if (ret < 0)
			return ret;
	}
}

int nl_open(void)
{
	struct mnl_socket *nl = nl_socket(NETLINK_ROUTE);

	if (nl == NULL)
		return -errno;
	mnl_socket_close(nl);
	return 0;
}

/* mnl_attr_parse callback: remember each attribute by type. */
static int attr_store(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type < NL_ATTR_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* Reads a u32 attribute if present and well formed. */
static bool attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (a == NULL || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(a);
	return true;
}

/* Copies a string attribute into buf (always terminated). */
static void attr_str(const struct nlattr *a, char *buf, size_t len)
{
	buf[0] = '\0';
	if (a == NULL || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return;
	snprintf(buf, len, "%s", mnl_attr_get_str(a));
}

/* Starts a request with a zeroed family header. It asks for an ACK so
 * that success and kernel errors both come back. */
static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags,
				  void **hdr, size_t hdr_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	return nlh;
}

/* Starts a dump request, which ends with NLMSG_DONE instead of an ACK.
 * (Flags cannot tell the two apart: NLM_F_EXCL shares a bit with
 * NLM_F_DUMP.) */
static struct nlmsghdr *dump_start(char *buf, uint16_t type, void **hdr, size_t hdr_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	return nlh;
}

/* ---- links ---- */

/* Fills l from an RTM_NEWLINK message. */
static int link_parse(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	attr_table tb = { 0 };
	attr_table info = { 0 };
	uint32_t master = 0;

	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_store, tb) < 0)
		return -EIO;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->type = ifi->ifi_type;
	attr_str(tb[IFLA_IFNAME], l->name, sizeof(l->name));
	attr_u32(tb[IFLA_MTU], &l->mtu);
	attr_str(tb[IFLA_IFALIAS], l->alias, sizeof(l->alias));
	if (attr_u32(tb[IFLA_MASTER], &master))
		l->master = (int)master;
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	if (tb[IFLA_LINKINFO] &&
	    mnl_attr_parse_nested(tb[IFLA_LINKINFO], attr_store, info) >= 0)
		attr_str(info[IFLA_INFO_KIND], l->kind, sizeof(l->kind));
	return 0;
}

struct link_dump {
	nl_link_fn fn;
	void *arg;
};

static int link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump *d = data;
	struct nl_link l;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (link_parse(nlh, &l) < 0)
		return MNL_CB_OK;   /* skip what we cannot read rather than fail */
	ret = d->fn(&l, d->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int link_restart(void *data)
{
	struct link_dump *d = data;

	return d->fn(NULL, d->arg);
}

int nl_link_list(nl_link_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = dump_start(buf, RTM_GETLINK, (void **)&ifi, sizeof(*ifi));
	struct link_dump d = { fn, arg };

	ifi->ifi_family = AF_UNSPEC;
	return nl_dump(nlh, link_dump_cb, &d, link_restart);
}

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_parse(nlh, data);
	return MNL_CB_OK;
}

/* One link, by name (name set) or by ifindex. */
static int link_get(const char *name, int ifindex, struct nl_link *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, 0, (void **)&ifi, sizeof(*ifi));
	int ret;

	ifi->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	else
		ifi->ifi_index = ifindex;
	memset(l, 0, sizeof(*l));
	ret = nl_talk(nlh, link_get_cb, l);
	if (ret == 0 && l->ifindex <= 0)
		ret = -ENODEV;
	return ret;
}

int nl_link_get(const char *name, struct nl_link *l)
{
	if (strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	return link_get(name, 0, l);
}

int nl_link_get_index(int ifindex, struct nl_link *l)
{
	if (ifindex <= 0)
		return -ENODEV;
	return link_get(NULL, ifindex, l);
}

int nl_ifindex(const char *name)
{
	struct nl_link l;
	int ret = nl_link_get(name, &l);

	return ret < 0 ? ret : l.ifindex;
}

int nl_bridge_create(const char *name, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ifi, sizeof(*ifi));
	struct nlattr *linkinfo;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* An address given at creation marks it NET_ADDR_SET: the bridge then
	 * keeps it instead of tracking the lowest port MAC. */
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_talk(nlh, NULL, NULL);
}

int nl_macvtap_create(const char *name, int lower_ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ifi, sizeof(*ifi));
	struct nlattr *linkinfo, *data;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)lower_ifindex);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvtap");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* Bridge mode: VMs on one lower device also reach each other. */
	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_talk(nlh, NULL, NULL);
}

int nl_link_delete(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, 0, (void **)&ifi, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nlh, NULL, NULL);
}

int nl_link_delete_index(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, 0, (void **)&ifi, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nl_talk(nlh, NULL, NULL);
}

/* RTM_NEWLINK on an existing ifindex, ready for attributes. */
static struct nlmsghdr *link_change(char *buf, int ifindex, struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, 0, (void **)ifi, sizeof(**ifi));

	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

int nl_link_up(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(buf, ifindex, &ifi);

	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return nl_talk(nlh, NULL, NULL);
}

int nl_link_set_mtu(int ifindex, unsigned mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(buf, ifindex, &ifi);

	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nlh, NULL, NULL);
}

int nl_link_set_master(int ifindex, int master_ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(buf, ifindex, &ifi);

	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master_ifindex);
	return nl_talk(nlh, NULL, NULL);
}

int nl_link_set_alias(int ifindex, const char *alias)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(buf, ifindex, &ifi);

	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_talk(nlh, NULL, NULL);
}

int nl_brport_set_isolated(int ifindex, bool on)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(buf, RTM_SETLINK, 0, (void **)&ifi, sizeof(*ifi));
	struct nlattr *prot;

	/* AF_BRIDGE routes the request to the port's master (the bridge),
	 * which reads its port flags from a nested IFLA_PROTINFO. */
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = ifindex;
	prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, on ? 1 : 0);
	mnl_attr_nest_end(nlh, prot);
	return nl_talk(nlh, NULL, NULL);
}

int nl_fdb_pin(int ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ndm, sizeof(*ndm));

	/* NTF_MASTER: the bridge's FDB, not the port device's own list. */
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NOARP;
	ndm->ndm_flags = NTF_MASTER | NTF_STICKY;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nlh, NULL, NULL);
}

int nl_fdb_del(int ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELNEIGH, 0, (void **)&ndm, sizeof(*ndm));

	/* The bridge deletes it only if it is on this port. */
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_flags = NTF_MASTER;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nlh, NULL, NULL);
}

struct fdb_find {
	uint32_t bridge;
	const uint8_t *mac;
	struct nl_fdb *e;
	bool found;
};

static int fdb_find_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct fdb_find *f = data;
	attr_table tb = { 0 };
	uint32_t master = 0;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_family != AF_BRIDGE ||
	    mnl_attr_parse(nlh, sizeof(*ndm), attr_store, tb) < 0)
		return MNL_CB_OK;
	/* The bridge's own table (NDA_MASTER), untagged entries (the helper's
	 * bridges do no VLAN filtering), this MAC. */
	if (!attr_u32(tb[NDA_MASTER], &master) || master != f->bridge ||
	    (tb[NDA_VLAN] && mnl_attr_get_payload_len(tb[NDA_VLAN]) == 2 &&
	     mnl_attr_get_u16(tb[NDA_VLAN]) != 0) ||
	    !tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6 ||
	    memcmp(mnl_attr_get_payload(tb[NDA_LLADDR]), f->mac, 6) != 0)
		return MNL_CB_OK;
	f->e->ifindex = ndm->ndm_ifindex;
	f->e->state = ndm->ndm_state;
	f->e->flags = ndm->ndm_flags;
	f->found = true;
	return MNL_CB_OK;
}

static int fdb_find_restart(void *data)
{
	((struct fdb_find *)data)->found = false;
	return 0;
}

int nl_fdb_get(int bridge_ifindex, const uint8_t mac[6], struct nl_fdb *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = dump_start(buf, RTM_GETNEIGH, (void **)&ndm, sizeof(*ndm));
	struct fdb_find f = { (uint32_t)bridge_ifindex, mac, e, false };
	int ret;

	ndm->ndm_family = AF_BRIDGE;
	ret = nl_dump(nlh, fdb_find_cb, &f, fdb_find_restart);
	if (ret < 0)
		return ret;
	return f.found ? 0 : -ENOENT;
}

/* ---- IPv6 neighbours ---- */

int nl_neigh6_set(int ifindex, const uint8_t addr[16], const uint8_t mac[6], bool replace)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWNEIGH,
					 NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
					 (void **)&ndm, sizeof(*ndm));

	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, 16, addr);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nlh, NULL, NULL);
}

int nl_neigh6_del(int ifindex, const uint8_t addr[16])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELNEIGH, 0, (void **)&ndm, sizeof(*ndm));

	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, 16, addr);
	return nl_talk(nlh, NULL, NULL);
}

static int neigh6_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct nl_neigh6 *n = data;
	attr_table tb = { 0 };

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    mnl_attr_parse(nlh, sizeof(*ndm), attr_store, tb) < 0)
		return MNL_CB_OK;
	n->state = ndm->ndm_state;
	n->has_mac = tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6;
	if (n->has_mac)
		memcpy(n->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
	n->found = true;
	return MNL_CB_OK;
}

int nl_neigh6_get(int ifindex, const uint8_t addr[16], struct nl_neigh6 *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETNEIGH, 0, (void **)&ndm, sizeof(*ndm));
	int ret;

	memset(n, 0, sizeof(*n));
	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, 16, addr);
	ret = nl_talk(nlh, neigh6_get_cb, n);
	if (ret < 0)
		return ret;
	return n->found ? 0 : -ENOENT;
}

struct port_count {
	int master;
	int count;
};

static int count_port(const struct nl_link *l, void *arg)
{
	struct port_count *pc = arg;

	if (l == NULL)
		pc->count = 0;   /* the dump restarts */
	else if (l->master == pc->master)
		pc->count++;
	return 0;
}

int nl_count_ports(int master_ifindex)
{
	struct port_count pc = { master_ifindex, 0 };
	int ret = nl_link_list(count_port, &pc);

	return ret < 0 ? ret : pc.count;
}

/* ---- addresses ---- */

int nl_addr4_add(int ifindex, uint32_t addr, int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ifa, sizeof(*ifa));
	uint32_t be = htonl(addr);
	/* The broadcast address is not implied by the prefix: without it the
	 * kernel would not answer subnet broadcasts from the VMs. */
	uint32_t bcast = htonl(prefix >= 31 ? 0xffffffffu
				: addr | (0xffffffffu >> prefix));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, be);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
	if (prefix < 31)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, bcast);
	return nl_talk(nlh, NULL, NULL);
}

int nl_addr6_add(int ifindex, const uint8_t addr[16], int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ifa, sizeof(*ifa));

	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	/* Usable at once, even before the bridge has carrier: the addresses
	 * are ours by construction (fixed MAC, our own ULA prefix). */
	ifa->ifa_flags = IFA_F_NODAD | IFA_F_PERMANENT;
	ifa->ifa_scope = (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) ? RT_SCOPE_LINK
									 : RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 16, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, 16, addr);
	return nl_talk(nlh, NULL, NULL);
}

struct addr_dump {
	nl_addr4_fn fn;
	void *arg;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_dump *d = data;
	attr_table tb = { 0 };
	struct nl_addr4 a = { 0 };
	uint32_t be;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_store, tb) < 0)
		return MNL_CB_OK;
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
	 * on point-to-point links, so prefer IFA_LOCAL. */
	if (!attr_u32(tb[IFA_LOCAL], &be) && !attr_u32(tb[IFA_ADDRESS], &be))
		return MNL_CB_OK;
	a.ifindex = (int)ifa->ifa_index;
	a.addr = ntohl(be);
	a.prefix = ifa->ifa_prefixlen;
	ret = d->fn(&a, d->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int addr_restart(void *data)
{
	struct addr_dump *d = data;

	return d->fn(NULL, d->arg);
}

int nl_addr4_list(nl_addr4_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = dump_start(buf, RTM_GETADDR, (void **)&ifa, sizeof(*ifa));
	struct addr_dump d = { fn, arg };

	ifa->ifa_family = AF_INET;
	return nl_dump(nlh, addr_dump_cb, &d, addr_restart);
}

struct addr_find {
	int ifindex;
	bool found;
	uint32_t addr;
	int prefix;
};

static int addr_find_cb(const struct nl_addr4 *a, void *arg)
{
	struct addr_find *f = arg;

	if (a == NULL)
		f->found = false;   /* the dump restarts */
	else if (!f->found && a->ifindex == f->ifindex) {
		f->found = true;
		f->addr = a->addr;
		f->prefix = a->prefix;
	}
	return 0;
}

int nl_addr4_get(int ifindex, uint32_t *addr, int *prefix)
{
	struct addr_find f = { .ifindex = ifindex };
	int ret = nl_addr4_list(addr_find_cb, &f);

	if (ret < 0)
		return ret;
	if (!f.found)
		return -ENOENT;
	*addr = f.addr;
	*prefix = f.prefix;
	return 0;
}

/* ---- routes ---- */

struct route_dump {
	nl_route4_fn fn;
	void *arg;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_dump *d = data;
	attr_table tb = { 0 };
	struct nl_route4 r = { 0 };
	uint32_t v;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_store, tb) < 0)
		return MNL_CB_OK;
	r.prefix = rtm->rtm_dst_len;
	r.type = rtm->rtm_type;
	r.table = rtm->rtm_table;
	if (attr_u32(tb[RTA_DST], &v))
		r.dst = ntohl(v);
	if (attr_u32(tb[RTA_OIF], &v))
		r.oif = (int)v;
	if (attr_u32(tb[RTA_GATEWAY], &v))
		r.gateway = ntohl(v);
	if (attr_u32(tb[RTA_TABLE], &v))   /* tables above 255 only come here */
		r.table = v;
	ret = d->fn(&r, d->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int route_restart(void *data)
{
	struct route_dump *d = data;

	return d->fn(NULL, d->arg);
}

int nl_route4_list(nl_route4_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = dump_start(buf, RTM_GETROUTE, (void **)&rtm, sizeof(*rtm));
	struct route_dump d = { fn, arg };

	rtm->rtm_family = AF_INET;
	return nl_dump(nlh, route_dump_cb, &d, route_restart);
}

/* The route the kernel would take to dst: its output interface. */
static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	attr_table tb = { 0 };
	uint32_t v;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
	    mnl_attr_parse(nlh, sizeof(*rtm), attr_store, tb) < 0)
		return MNL_CB_OK;
	if (attr_u32(tb[RTA_OIF], &v))
		*(int *)data = (int)v;
	return MNL_CB_OK;
}

int nl_route4_lookup(uint32_t dst, int *oif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETROUTE, 0, (void **)&rtm, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
	*oif = 0;
	return nl_talk(nlh, route_get_cb, oif);
}

/* ---- IPv4 neighbours ---- */

struct neigh4_dump {
	nl_neigh4_fn fn;
	void *arg;
};

static int neigh4_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh4_dump *d = data;
	attr_table tb = { 0 };
	struct nl_neigh4 n = { 0 };
	uint32_t be;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_family != AF_INET ||
	    mnl_attr_parse(nlh, sizeof(*ndm), attr_store, tb) < 0 || !attr_u32(tb[NDA_DST], &be))
		return MNL_CB_OK;
	n.ifindex = ndm->ndm_ifindex;
	n.addr = ntohl(be);
	n.state = ndm->ndm_state;
	ret = d->fn(&n, d->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int neigh4_restart(void *data)
{
	struct neigh4_dump *d = data;

	return d->fn(NULL, d->arg);
}

int nl_neigh4_list(nl_neigh4_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = dump_start(buf, RTM_GETNEIGH, (void **)&ndm, sizeof(*ndm));
	struct neigh4_dump d = { fn, arg };

	ndm->ndm_family = AF_INET;
	return nl_dump(nlh, neigh4_dump_cb, &d, neigh4_restart);
}
