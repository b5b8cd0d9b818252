/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sock_diag (sockdiag.h): dumps of the host's TCP and UDP sockets of both
 * families, and SOCK_DESTROY. Runs as root at setup and in the reaper
 * (CAP_NET_ADMIN); the kernel is the only peer.
 */
#include "setup/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "setup/netlink.h"

/* TCP: every state but LISTEN and CLOSE; UDP: connected ones. */
#define TCP_STATES (0xfffu & ~((1u << TCP_LISTEN) | (1u << TCP_CLOSE)))
#define UDP_STATES (1u << TCP_ESTABLISHED)

/* The IPv4 address of a socket address field: itself (AF_INET) or the
 * v4-mapped ::ffff:a.b.c.d (AF_INET6); false for any other IPv6 address. */
static bool ipv4_of(uint8_t family, const uint32_t a[4], uint32_t *out)
{
	if (family == AF_INET) {
		*out = ntohl(a[0]);
		return true;
	}
	if (a[0] || a[1] || a[2] != htonl(0xffff))
		return false;
	*out = ntohl(a[3]);
	return true;
}

struct list {
	sd_fn fn;
	void *arg;
	uint8_t proto;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct list *l = data;
	struct sd_socket s = { 0 };
	int ret;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	s.family = m->idiag_family;
	s.proto = l->proto;
	s.state = m->idiag_state;
	if (!ipv4_of(s.family, m->id.idiag_src, &s.local) ||
	    !ipv4_of(s.family, m->id.idiag_dst, &s.remote) || s.remote == 0)
		return MNL_CB_OK;
	s.lport = ntohs(m->id.idiag_sport);
	s.rport = ntohs(m->id.idiag_dport);
	s.id = m->id;
	ret = l->fn(&s, l->arg);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* A request about family/proto sockets in states; id names one (destroy). */
static struct nlmsghdr *request(char *buf, uint16_t type, uint16_t flags, uint8_t family,
				uint8_t proto, uint32_t states)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	req->idiag_states = states;
	return nlh;
}

int sd_list4(sd_fn fn, void *arg)
{
	static const struct { uint8_t family, proto; uint32_t states; } dumps[] = {
		{ AF_INET, IPPROTO_TCP, TCP_STATES }, { AF_INET6, IPPROTO_TCP, TCP_STATES },
		{ AF_INET, IPPROTO_UDP, UDP_STATES }, { AF_INET6, IPPROTO_UDP, UDP_STATES },
	};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int first = 0;

	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		struct list l = { fn, arg, dumps[i].proto };
		int ret = nl_request(NETLINK_SOCK_DIAG,
				     request(buf, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, dumps[i].family,
					     dumps[i].proto, dumps[i].states), list_cb, &l);

		/* No IPv6 on the host: nothing of it to list. */
		if (ret < 0 && !(dumps[i].family == AF_INET6 && ret == -EAFNOSUPPORT) && !first)
			first = ret;
	}
	return first;
}

int sd_destroy(const struct sd_socket *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(buf, SOCK_DESTROY, NLM_F_ACK, s->family, s->proto,
				       1u << s->state);
	struct inet_diag_req_v2 *req = mnl_nlmsg_get_payload(nlh);

	req->id = s->id;
	return nl_request(NETLINK_SOCK_DIAG, nlh, NULL, NULL);
}
