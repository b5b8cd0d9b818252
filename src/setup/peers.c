/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whom the host is talking to (peers.h). Collecting runs as root at setup,
 * under the network lock, and reads the kernel only; matching and
 * describing are pure (tests/unit/test_peers.c).
 */
#include "setup/peers.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ip4.h"
#include "common/log.h"
#include "setup/conntrack.h"
#include "setup/netlink.h"
#include "setup/sockdiag.h"

/* ---- pure ---- */

int peers_add(struct peers *ps, const struct peer *p)
{
	if (!ip4_is_private(p->addr))
		return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;
		struct peer *v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = *p;
	return 0;
}

int peers_add_conntrack(struct peers *ps, uint32_t orig_src, uint32_t orig_dst,
			uint32_t reply_src, uint32_t reply_dst, uint8_t proto, uint16_t sport,
			uint16_t dport, bool snat)
{
	struct peer p = { .kind = PEER_CONNTRACK, .proto = proto };
	int ret;

	p.addr = orig_dst;
	p.local = orig_src;
	p.port = dport;
	p.local_port = sport;
	ret = peers_add(ps, &p);
	if (ret == 0 && reply_src != orig_dst) {
		p.addr = reply_src;
		p.local = reply_dst;
		p.port = 0;
		ret = peers_add(ps, &p);
	}
	if (ret == 0 && !snat) {
		p.addr = orig_src;
		p.local = orig_dst;
		p.port = sport;
		p.local_port = dport;
		ret = peers_add(ps, &p);
	}
	return ret;
}

long peers_find(const struct peers *ps, size_t from, uint32_t net, uint32_t mask)
{
	net &= mask;
	for (size_t i = from; i < ps->n; i++) {
		const struct peer *p = &ps->v[i];

		if ((p->addr & mask) == net && !(p->local && (p->local & mask) == net))
			return (long)i;
	}
	return -1;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "TCP" : proto == IPPROTO_UDP ? "UDP" :
	       proto == IPPROTO_ICMP ? "ICMP" : "IP";
}

void peers_describe(const struct peer *p, char *buf, size_t len)
{
	char a[16], l[16];

	ip4_format(p->addr, a);
	ip4_format(p->local, l);
	switch (p->kind) {
	case PEER_SOCKET:
		snprintf(buf, len, "%s %s:%u -> %s:%u",
			 p->proto == IPPROTO_UDP ? "a connected UDP socket" :
			 p->state == TCP_TIME_WAIT ? "a TCP connection closed a moment ago" :
			 "a TCP connection", l, p->local_port, a, p->port);
		break;
	case PEER_CONNTRACK:
		if (p->port || p->local_port)
			snprintf(buf, len, "%s traffic the kernel tracks, %s:%u -> %s:%u",
				 proto_name(p->proto), l, p->local_port, a, p->port);
		else
			snprintf(buf, len, "%s traffic the kernel tracks, %s -> %s",
				 proto_name(p->proto), l, a);
		break;
	default:
		snprintf(buf, len, "an entry in its neighbour table");
		break;
	}
}

void peers_free(struct peers *ps)
{
	free(ps->v);
	*ps = (struct peers){ 0 };
}

/* ---- the kernel's records ---- */

static int add_socket(const struct sd_socket *s, void *arg)
{
	struct peer p = { .kind = PEER_SOCKET, .addr = s->remote, .local = s->local,
			  .port = s->rport, .local_port = s->lport, .proto = s->proto,
			  .state = s->state };

	return peers_add(arg, &p);
}

static int add_conntrack(const struct ct_entry *e, void *arg)
{
	return peers_add_conntrack(arg, e->orig_src, e->orig_dst, e->reply_src, e->reply_dst,
				   e->proto, e->sport, e->dport, e->snat);
}

/* Entries the kernel keeps for other reasons than having talked: none yet
 * (NUD_NONE), and multicast, broadcast or point-to-point ones (NUD_NOARP). */
static int add_neighbour(const struct nl_neigh4 *n, void *arg)
{
	struct peers *ps = arg;
	struct peer p = { .kind = PEER_NEIGHBOUR };

	if (n == NULL) {   /* the dump restarts: drop what it gave */
		size_t w = 0;

		for (size_t i = 0; i < ps->n; i++)
			if (ps->v[i].kind != PEER_NEIGHBOUR)
				ps->v[w++] = ps->v[i];
		ps->n = w;
		return 0;
	}
	if (n->state == NUD_NONE || (n->state & NUD_NOARP))
		return 0;
	p.addr = n->addr;
	p.ifindex = n->ifindex;
	p.state = (uint8_t)n->state;
	return peers_add(ps, &p);
}

int peers_collect(struct peers *ps)
{
	int ret;

	if (ps->collected)
		return 0;
	ps->collected = true;
	ret = sd_list4(add_socket, ps);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0)
		WARN("network", "cannot list the host's sockets (sock_diag): %s", strerror(-ret));
	if (ct_available()) {
		ret = ct_list4(add_conntrack, ps);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0)
			WARN("network", "cannot read the connections the kernel tracks (conntrack): %s",
			     strerror(-ret));
	}
	ret = nl_neigh4_list(add_neighbour, ps);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0)
		WARN("network", "cannot list the host's neighbours: %s", strerror(-ret));
	return 0;
}
