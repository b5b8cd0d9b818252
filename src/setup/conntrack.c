/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctnetlink, IPv4 (conntrack.h): a dump of the connection tracking table,
 * and the deletion of a subnet's entries. Runs as root at setup and in the
 * reaper (CAP_NET_ADMIN); the kernel is the only peer.
 */
#include "setup/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "setup/netlink.h"

#define CT_ATTR_MAX 64

typedef const struct nlattr *ct_attrs[CT_ATTR_MAX];

bool ct_available(void)
{
	return access("/sys/module/nf_conntrack", F_OK) == 0;
}

static int store(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type < CT_ATTR_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* The nested attributes of a, in tb (all NULL if a is not a nest). */
static void nested(const struct nlattr *a, ct_attrs tb)
{
	memset(tb, 0, sizeof(ct_attrs));
	if (a)
		mnl_attr_parse_nested(a, store, tb);
}

/* ctnetlink's numbers are in network order. */
static bool get_be32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return false;
	*v = ntohl(mnl_attr_get_u32(a));
	return true;
}

static uint16_t get_be16(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) == 2 ? ntohs(mnl_attr_get_u16(a)) : 0;
}

/* One tuple (CTA_TUPLE_ORIG or _REPLY): addresses, protocol, ports. */
static bool tuple(const struct nlattr *t, uint32_t *src, uint32_t *dst, uint8_t *proto,
		  uint16_t *sport, uint16_t *dport)
{
	ct_attrs tb, ip, pr;

	nested(t, tb);
	nested(tb[CTA_TUPLE_IP], ip);
	nested(tb[CTA_TUPLE_PROTO], pr);
	if (!get_be32(ip[CTA_IP_V4_SRC], src) || !get_be32(ip[CTA_IP_V4_DST], dst))
		return false;
	if (proto)
		*proto = pr[CTA_PROTO_NUM] && mnl_attr_get_payload_len(pr[CTA_PROTO_NUM]) == 1 ?
			 mnl_attr_get_u8(pr[CTA_PROTO_NUM]) : 0;
	if (sport)
		*sport = get_be16(pr[CTA_PROTO_SRC_PORT]);
	if (dport)
		*dport = get_be16(pr[CTA_PROTO_DST_PORT]);
	return true;
}

/* An entry of the dump: false if it is not one we can read. */
static bool entry(const struct nlmsghdr *nlh, struct ct_entry *e, ct_attrs tb)
{
	uint32_t status = 0;

	memset(tb, 0, sizeof(ct_attrs));
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), store, tb) < 0)
		return false;
	memset(e, 0, sizeof(*e));
	if (!tuple(tb[CTA_TUPLE_ORIG], &e->orig_src, &e->orig_dst, &e->proto, &e->sport,
		   &e->dport) ||
	    !tuple(tb[CTA_TUPLE_REPLY], &e->reply_src, &e->reply_dst, NULL, NULL, NULL))
		return false;
	get_be32(tb[CTA_STATUS], &status);
	e->snat = status & IPS_SRC_NAT;
	return true;
}

/* An IPCTNL_MSG_CT_* request for IPv4 in buf. */
static struct nlmsghdr *request(char *buf, uint8_t msg, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

struct list {
	ct_fn fn;
	void *arg;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list *l = data;
	struct ct_entry e;
	ct_attrs tb;
	int ret;

	if (!entry(nlh, &e, tb))
		return MNL_CB_OK;
	ret = l->fn(&e, l->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int ct_list4(ct_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct list l = { fn, arg };

	return nl_request(NETLINK_NETFILTER, request(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP),
			  list_cb, &l);
}

/* The entries to delete: each its CTA_TUPLE_ORIG and CTA_ZONE, as the
 * kernel gave them (any protocol's tuple, copied whole). */
struct doomed {
	uint32_t net, mask;
	char *buf;            /* attributes, one entry after another */
	size_t len, cap;
};

static bool inside(const struct doomed *d, uint32_t a)
{
	return (a & d->mask) == d->net;
}

static int append(struct doomed *d, const struct nlattr *a)
{
	size_t n = a ? MNL_ALIGN(a->nla_len) : 0;

	if (d->len + n + MNL_ALIGN(sizeof(struct nlattr)) > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;
		char *b = realloc(d->buf, cap);

		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = cap;
	}
	if (a)
		memcpy(d->buf + d->len, a, a->nla_len);
	else   /* the end of an entry: an empty attribute of type 0 */
		*(struct nlattr *)(d->buf + d->len) = (struct nlattr){ .nla_len = sizeof(struct nlattr) };
	d->len += a ? n : MNL_ALIGN(sizeof(struct nlattr));
	return 0;
}

static int doomed_cb(const struct nlmsghdr *nlh, void *data)
{
	struct doomed *d = data;
	struct ct_entry e;
	ct_attrs tb;

	if (!entry(nlh, &e, tb))
		return MNL_CB_OK;
	if (!inside(d, e.orig_src) && !inside(d, e.orig_dst) && !inside(d, e.reply_src) &&
	    !inside(d, e.reply_dst))
		return MNL_CB_OK;
	if (append(d, tb[CTA_TUPLE_ORIG]) < 0 || (tb[CTA_ZONE] && append(d, tb[CTA_ZONE]) < 0) ||
	    append(d, NULL) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* Deletes the entry whose attributes start at a: the next entry's start. */
static size_t delete_one(const struct doomed *d, size_t at, int *deleted)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK);

	for (;;) {
		const struct nlattr *a = (const struct nlattr *)(d->buf + at);

		at += MNL_ALIGN(a->nla_len);
		if (a->nla_type == 0)
			break;
		mnl_attr_put(nlh, mnl_attr_get_type(a) | (a->nla_type & NLA_F_NESTED),
			     mnl_attr_get_payload_len(a), mnl_attr_get_payload(a));
	}
	/* Gone meanwhile (it timed out, or another deletion): fine. */
	if (nl_request(NETLINK_NETFILTER, nlh, NULL, NULL) == 0)
		(*deleted)++;
	return at;
}

int ct_forget4(uint32_t net, uint32_t mask)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct doomed d = { .net = net & mask, .mask = mask };
	int deleted = 0, ret;

	/* Collected first: a callback may not make requests of its own. */
	ret = nl_request(NETLINK_NETFILTER, request(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP),
			 doomed_cb, &d);
	for (size_t at = 0; ret == 0 && at < d.len;)
		at = delete_one(&d, at, &deleted);
	free(d.buf);
	return ret < 0 ? ret : deleted;
}
