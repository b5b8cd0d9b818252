/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's DNS service (dnsfwd.h): sockets opened as root in setup (the
 * nftables steering is nat.c's), then two threads in the datapath (the
 * user, sandboxed: dnsfwd_sandbox below) that forward the VM's queries to
 * the host's resolvers. The bytes are parsed by parse/dns.c and dnstcp.c.
 */
#include "datapath/dnsfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/text.h"
#include "parse/dns.h"
#include "parse/dnstcp.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/sandbox.h"

/* glibc's MAXNS: the resolver library only ever uses the first three. */
#define MAX_UPSTREAMS 3
/* resolv.conf lines considered, so that three valid ones are found among junk. */
#define MAX_NAMESERVER_LINES 16
#define RESOLV_MAX_BYTES 65536
/* Queries in flight over UDP: one socket each (a random source port per
 * query, and ICMP errors arrive on it). Beyond this, SERVFAIL at once. */
#define MAX_PENDING 128
/* Concurrent TCP connections of the VM. A new one beyond them replaces the
 * oldest idle one; only when all are busy is the listener left alone. */
#define MAX_TCP 8
/* Queries are answered within DNS_DEADLINE_MS (dnstcp.h), with SERVFAIL if
 * need be. Clients retry after about 5 s; answering earlier lets them give
 * up or try again instead of hanging. */
/* UDP queries read per wake-up, so a flood cannot starve the other sockets. */
#define UDP_BATCH 32
#define LISTEN_BACKLOG 64

struct upstream {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[DNS_ADDR_TEXT];
};

/* A UDP query forwarded upstream, waiting for its answer. */
struct pending {
	int fd;                   /* connected to upstream[server]; -1: slot free */
	int server;
	uint16_t up_id;           /* the id sent upstream (random) */
	struct sockaddr_storage client;   /* IPv4 or IPv6, as the listener's family */
	int64_t attempt_end, deadline;
	struct dns_query q;
	size_t len;
	uint8_t query[DNS_MAX_QUERY];
};

/* A TCP client: its sockets; what to do with them is dnstcp's (dnstcp.h). */
struct tcpconn {
	int fd, up;
	struct dnstcp s;
};

enum slot_kind { K_STOP, K_UDP, K_TCP_LISTEN, K_PEND, K_TCP };

struct pollset {
	struct pollfd fds[3 + MAX_PENDING + MAX_TCP];
	uint8_t kind[3 + MAX_PENDING + MAX_TCP];
	int index[3 + MAX_PENDING + MAX_TCP];
	int n;
};

struct dnsfwd {
	int family;                        /* of the listeners: AF_INET or AF_INET6 */
	uint32_t gateway, mask;            /* AF_INET, host order */
	uint8_t gateway6[16];              /* AF_INET6: the subnet is its /64 */
	int udp_fd, tcp_fd, stop_fd;
	uint16_t udp_port, tcp_port;       /* where they are bound (host order) */
	char resolv_path[64];              /* for the log line */
	struct upstream up[MAX_UPSTREAMS];
	int nup;
	bool started;
	pthread_t thread;
	struct dns_counters cnt;
	struct pending pend[MAX_PENDING];
	struct tcpconn tcp[MAX_TCP];
	uint8_t buf[DNS_MAX_MESSAGE + 1];   /* one datagram in flight at a time */
	struct pollset ps;
};


static uint16_t random_id(void)
{
	static _Atomic uint16_t fallback;
	uint16_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint16_t)(atomic_fetch_add(&fallback, 40503) ^ (uint16_t)text_now_ms());
	return id;
}

/* ---- setup (root) -------------------------------------------------------- */

static socklen_t sa_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool is_gateway(const struct dnsfwd *d, const struct upstream *u)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&u->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&u->addr;

	if (d->family == AF_INET6)
		return u->addr.ss_family == AF_INET6 &&
		       memcmp(&in6->sin6_addr, d->gateway6, 16) == 0;
	return u->addr.ss_family == AF_INET && ntohl(in->sin_addr.s_addr) == d->gateway;
}

static bool add_upstream(struct dnsfwd *d, const char *text)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_DGRAM }, *ai;
	struct upstream *u = &d->up[d->nup];

	/* getaddrinfo also takes "fe80::1%eth0", as glibc's resolver does. */
	if (getaddrinfo(text, "53", &hints, &ai) != 0)
		return false;
	memcpy(&u->addr, ai->ai_addr, ai->ai_addrlen);
	u->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(u->text, sizeof(u->text), "%s", text);
	/* Our own address would forward to ourselves forever. */
	if (is_gateway(d, u)) {
		WARN("dns", "ignoring nameserver %s: it is this network's gateway", text);
		return false;
	}
	d->nup++;
	return true;
}

static void read_upstreams(struct dnsfwd *d, const char *path)
{
	char names[MAX_NAMESERVER_LINES][DNS_ADDR_TEXT], *text = calloc(1, RESOLV_MAX_BYTES + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;

	if (text && fd >= 0) {
		size_t len = 0;
		ssize_t r;
		while (len < RESOLV_MAX_BYTES &&
		       (r = read(fd, text + len, RESOLV_MAX_BYTES - len)) > 0)
			len += (size_t)r;
		n = dns_resolv_nameservers(text, names, MAX_NAMESERVER_LINES);
	}
	if (fd >= 0)
		close(fd);
	free(text);
	for (int i = 0; i < n && d->nup < MAX_UPSTREAMS; i++)
		if (!add_upstream(d, names[i]))
			DEBUG("dns", "skipping nameserver \"%s\" in %s", names[i], path);
	/* What the resolver library does without a usable nameserver line. */
	if (d->nup == 0) {
		INFO("dns", "no nameserver in %s: using 127.0.0.1 like the host's resolver", path);
		add_upstream(d, "127.0.0.1");
	}
}

/* The gateway address, any port, in the listeners' family. */
static void listen_addr(const struct dnsfwd *d, struct sockaddr_storage *a)
{
	memset(a, 0, sizeof(*a));
	a->ss_family = (sa_family_t)d->family;
	if (d->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)a;
		memcpy(&in6->sin6_addr, d->gateway6, 16);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)a;
		in->sin_addr.s_addr = htonl(d->gateway);
	}
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return 0;
	return ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
					     : ((struct sockaddr_in *)&a)->sin_port);
}

/* "192.168.105.1" or "[fd9b:...::1]". */
static const char *gateway_text(const struct dnsfwd *d, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (d->family == AF_INET6) {
		inet_ntop(AF_INET6, d->gateway6, a, sizeof(a));
		snprintf(buf, len, "[%s]", a);
	} else {
		snprintf(buf, len, "%s", ip4_format(d->gateway, a));
	}
	return buf;
}

/* A socket of our own at gateway:<a port the kernel picks>: no other
 * helper shares it (nat_dns_add steers only our VM's queries to it). */
static int bind_listener(const struct dnsfwd *d, int type)
{
	struct sockaddr_storage a;
	int fd = socket(d->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	listen_addr(d, &a);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sa_len(&a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void dnsfwd_log(const struct dnsfwd *d, const char *tap)
{
	char list[MAX_UPSTREAMS * (DNS_ADDR_TEXT + 2)] = "", gw[INET6_ADDRSTRLEN + 2];
	size_t n = 0;

	for (int i = 0; i < d->nup; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", d->up[i].text);
	INFO("dns", "answering DNS on %s:53 for %s (at udp %u, tcp %u), forwarding to %s (from %s)",
	     gateway_text(d, gw, sizeof(gw)), tap, d->udp_port, d->tcp_port, list, d->resolv_path);
}

void dnsfwd_ports(const struct dnsfwd *d, uint16_t *udp, uint16_t *tcp)
{
	*udp = d->udp_port;
	*tcp = d->tcp_port;
}

static struct dnsfwd *dns_new(void)
{
	struct dnsfwd *d = calloc(1, sizeof(*d));

	if (!d) {
		WARN("dns", "out of memory: running without DNS");
		return NULL;
	}
	d->stop_fd = -1;
	for (int i = 0; i < MAX_PENDING; i++)
		d->pend[i].fd = -1;
	for (int i = 0; i < MAX_TCP; i++)
		d->tcp[i].fd = d->tcp[i].up = -1;   /* calloc: DNSTCP_FREE */
	return d;
}

/* Binds both listeners and reads the upstreams; frees d on failure. */
static struct dnsfwd *dns_listen(struct dnsfwd *d, const char *resolv_path, const char *without)
{
	char gw[INET6_ADDRSTRLEN + 2];
	int u = bind_listener(d, SOCK_DGRAM);
	int t = u < 0 ? u : bind_listener(d, SOCK_STREAM);

	if (u < 0 || t < 0) {
		WARN("dns", "cannot bind on %s (%s): running without DNS%s",
		     gateway_text(d, gw, sizeof(gw)), strerror(-(u < 0 ? u : t)), without);
		if (u >= 0)
			close(u);
		free(d);
		return NULL;
	}
	d->udp_fd = u;
	d->tcp_fd = t;
	d->udp_port = bound_port(u);
	d->tcp_port = bound_port(t);
	snprintf(d->resolv_path, sizeof(d->resolv_path), "%s", resolv_path);
	read_upstreams(d, resolv_path);
	return d;
}

struct dnsfwd *dnsfwd_open(uint32_t gateway, uint32_t mask, const char *resolv_path)
{
	struct dnsfwd *d = dns_new();

	if (!d)
		return NULL;
	d->family = AF_INET;
	d->gateway = gateway;
	d->mask = mask;
	return dns_listen(d, resolv_path, ", leases name no DNS server");
}

struct dnsfwd *dnsfwd_open6(const uint8_t gateway6[16], const char *resolv_path)
{
	struct dnsfwd *d = dns_new();

	if (!d)
		return NULL;
	d->family = AF_INET6;
	memcpy(d->gateway6, gateway6, 16);
	return dns_listen(d, resolv_path, " over IPv6, router advertisements name no DNS server");
}

struct dns_counters *dnsfwd_counters(struct dnsfwd *d)
{
	return &d->cnt;
}

/* ---- UDP ------------------------------------------------------------------ */

/* Only the network's own subnet (IPv6: the gateway's /64) is served. */
static bool from_subnet(const struct dnsfwd *d, const struct sockaddr_storage *sa)
{
	const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

	if (d->family == AF_INET6)
		return sa->ss_family == AF_INET6 && memcmp(&a6->sin6_addr, d->gateway6, 8) == 0;
	return sa->ss_family == AF_INET &&
	       (ntohl(a->sin_addr.s_addr) & d->mask) == (d->gateway & d->mask);
}

static void udp_send_client(struct dnsfwd *d, const struct sockaddr_storage *to,
			    const uint8_t *msg, size_t len)
{
	if (sendto(d->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, sa_len(to)) < 0)
		DEBUG("dns", "reply to a client lost: %s", strerror(errno));
}

static void udp_error(struct dnsfwd *d, const struct sockaddr_storage *to, const uint8_t *query,
		      const struct dns_query *q, uint8_t rcode)
{
	uint8_t out[DNS_MAX_QUERY];
	int n = dns_error_reply(query, q, rcode, out, sizeof(out));

	if (n > 0) {
		dns_count(&d->cnt.servfails);
		udp_send_client(d, to, out, (size_t)n);
	}
}

static void pend_free(struct pending *p)
{
	close(p->fd);
	p->fd = -1;
}

static void pend_fail(struct dnsfwd *d, struct pending *p)
{
	/* dns_error_reply() puts the client's own id back. */
	udp_error(d, &p->client, p->query, &p->q, DNS_RCODE_SERVFAIL);
	pend_free(p);
}

/* Sends p's query to the first upstream from `from` on that takes it. Each
 * server gets an equal share of the deadline before the next is tried. */
static void pend_attempt(struct dnsfwd *d, struct pending *p, int from, int64_t now)
{
	if (p->fd >= 0)
		pend_free(p);
	for (int s = from; s < d->nup; s++) {
		const struct upstream *u = &d->up[s];
		int fd = socket(u->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		/* Connected: only this server's datagrams arrive, ICMP errors too. */
		if (connect(fd, (const struct sockaddr *)&u->addr, u->len) == 0 &&
		    send(fd, p->query, p->len, 0) == (ssize_t)p->len) {
			p->fd = fd;
			p->server = s;
			p->attempt_end = s == d->nup - 1 ? p->deadline
				       : now + DNS_DEADLINE_MS / d->nup;
			return;
		}
		DEBUG("dns", "cannot send to %s: %s", u->text, strerror(errno));
		close(fd);
	}
	pend_fail(d, p);
}

static struct pending *pend_slot(struct dnsfwd *d)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (d->pend[i].fd < 0)
			return &d->pend[i];
	return NULL;
}

static void udp_query(struct dnsfwd *d, const struct sockaddr_storage *from, size_t len, int64_t now)
{
	struct dns_query q;
	struct pending *p;

	if (len > DNS_MAX_QUERY || !from_subnet(d, from) || dns_parse_query(d->buf, len, &q) < 0) {
		dns_count(&d->cnt.drops);
		return;
	}
	dns_count(&d->cnt.queries);
	if (q.opcode != DNS_OPCODE_QUERY) {
		udp_error(d, from, d->buf, &q, DNS_RCODE_NOTIMP);
		return;
	}
	p = pend_slot(d);
	if (!p) {
		udp_error(d, from, d->buf, &q, DNS_RCODE_SERVFAIL);
		return;
	}
	memcpy(p->query, d->buf, len);
	p->len = len;
	p->q = q;
	p->client = *from;
	p->up_id = random_id();
	dns_set_id(p->query, p->up_id);
	p->deadline = now + DNS_DEADLINE_MS;
	pend_attempt(d, p, 0, now);
}

static void udp_receive(struct dnsfwd *d, int64_t now)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage from = { 0 };
		socklen_t fl = sizeof(from);
		/* One byte more than we accept, to see a query that is too large. */
		ssize_t n = recvfrom(d->udp_fd, d->buf, DNS_MAX_QUERY + 1, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		udp_query(d, &from, (size_t)n, now);
	}
}

static void pend_readable(struct dnsfwd *d, struct pending *p, int64_t now)
{
	ssize_t n = recv(p->fd, d->buf, DNS_MAX_MESSAGE, MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			/* ECONNREFUSED (ICMP port unreachable) and the like: no answer
			 * will come from this server. */
			DEBUG("dns", "%s: %s", d->up[p->server].text, strerror(errno));
			pend_attempt(d, p, p->server + 1, now);
		}
		return;
	}
	/* Anything else (a late or forged answer) is ignored; the deadline stands. */
	if (!dns_reply_matches(p->query, &p->q, p->up_id, d->buf, (size_t)n))
		return;
	dns_set_id(d->buf, p->q.id);
	dns_count(&d->cnt.answers);
	udp_send_client(d, &p->client, d->buf, (size_t)n);
	pend_free(p);
}

static void pend_timers(struct dnsfwd *d, int64_t now)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &d->pend[i];

		if (p->fd < 0)
			continue;
		if (now >= p->deadline)
			pend_fail(d, p);
		else if (now >= p->attempt_end)
			pend_attempt(d, p, p->server + 1, now);
	}
}

/* ---- TCP ------------------------------------------------------------------ */

static void close_upstream(struct tcpconn *c)
{
	if (c->up >= 0)
		close(c->up);
	c->up = -1;
}

static void tcp_close(struct tcpconn *c)
{
	close_upstream(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->s.st = DNSTCP_FREE;
}

/* A new upstream connection to server s.server; what came of it at once. */
static enum dnstcp_action tcp_connect(struct dnsfwd *d, struct tcpconn *c, int64_t now)
{
	const struct upstream *u = &d->up[c->s.server];

	close_upstream(c);
	c->up = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->up >= 0 && (connect(c->up, (const struct sockaddr *)&u->addr, u->len) == 0 ||
			   errno == EINPROGRESS))
		return DNSTCP_WAIT;
	DEBUG("dns", "cannot connect to %s: %s", u->text, strerror(errno));
	return dnstcp_connected(&c->s, errno, now);
}

/* Does what the state machine asked. */
static void tcp_act(struct dnsfwd *d, struct tcpconn *c, enum dnstcp_action a, int64_t now)
{
	while (a == DNSTCP_CONNECT_UP)
		a = tcp_connect(d, c, now);
	if (a == DNSTCP_CLOSE)
		tcp_close(c);
	else if (!dnstcp_upstream(&c->s))
		close_upstream(c);
}

/* The socket dnstcp_io() named is ready: one transfer. */
static void tcp_io(struct dnsfwd *d, struct tcpconn *c, int64_t now)
{
	struct dnstcp_io io = dnstcp_io(&c->s);
	int fd = io.upstream ? c->up : c->fd, err = 0;
	socklen_t el = sizeof(err);
	ssize_t n;

	if (c->s.st == DNSTCP_CONNECT) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		tcp_act(d, c, dnstcp_connected(&c->s, err, now), now);
		return;
	}
	n = io.write ? send(fd, io.buf, io.len, MSG_DONTWAIT | MSG_NOSIGNAL)
		     : recv(fd, io.buf, io.len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	tcp_act(d, c, n < 0 ? dnstcp_failed(&c->s, now) : dnstcp_done(&c->s, (size_t)n, now), now);
}

/* A slot for a new connection: a free one, else the one that has waited
 * longest for a query (RFC 7766 lets a server close idle connections), so
 * hoarding connections only ever costs the hoarder its oldest idle one.
 * NULL while every connection is busy with a query. */
static struct tcpconn *tcp_slot(struct dnsfwd *d)
{
	struct tcpconn *oldest = NULL;

	for (int i = 0; i < MAX_TCP; i++) {
		struct tcpconn *c = &d->tcp[i];

		if (c->s.st == DNSTCP_FREE)
			return c;
		if (c->s.st == DNSTCP_READ && (!oldest || c->s.deadline < oldest->s.deadline))
			oldest = c;
	}
	return oldest;
}

static void tcp_accept(struct dnsfwd *d, int64_t now)
{
	for (int i = 0; i < MAX_TCP; i++) {
		struct tcpconn *c = tcp_slot(d);
		struct sockaddr_storage from = { 0 };
		socklen_t fl = sizeof(from);
		int fd;

		if (!c)
			return;
		fd = accept4(d->tcp_fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!from_subnet(d, &from)) {
			dns_count(&d->cnt.drops);
			close(fd);
			continue;
		}
		if (c->s.st != DNSTCP_FREE)
			tcp_close(c);
		c->fd = fd;
		c->up = -1;
		dnstcp_open(&c->s, d->nup, &d->cnt, now);
	}
}

static void tcp_timers(struct dnsfwd *d, int64_t now)
{
	for (int i = 0; i < MAX_TCP; i++)
		if (d->tcp[i].s.st != DNSTCP_FREE)
			tcp_act(d, &d->tcp[i], dnstcp_timer(&d->tcp[i].s, now), now);
}

/* ---- the thread ----------------------------------------------------------- */

static void ps_add(struct pollset *ps, int fd, short events, enum slot_kind kind, int index)
{
	ps->fds[ps->n] = (struct pollfd){ fd, events, 0 };
	ps->kind[ps->n] = (uint8_t)kind;
	ps->index[ps->n] = index;
	ps->n++;
}

static bool tcp_can_accept(struct dnsfwd *d)
{
	return tcp_slot(d) != NULL;
}

/* Everything to wait for, and the earliest deadline (as a poll timeout). */
static int build_pollset(struct dnsfwd *d, struct pollset *ps, int64_t now)
{
	int64_t next = now + 60000;

	ps->n = 0;
	ps_add(ps, d->stop_fd, POLLIN, K_STOP, 0);
	ps_add(ps, d->udp_fd, POLLIN, K_UDP, 0);
	if (tcp_can_accept(d))
		ps_add(ps, d->tcp_fd, POLLIN, K_TCP_LISTEN, 0);
	for (int i = 0; i < MAX_PENDING; i++) {
		const struct pending *p = &d->pend[i];
		if (p->fd < 0)
			continue;
		ps_add(ps, p->fd, POLLIN, K_PEND, i);
		if (p->attempt_end < next)
			next = p->attempt_end;
	}
	for (int i = 0; i < MAX_TCP; i++) {
		struct tcpconn *c = &d->tcp[i];
		struct dnstcp_io io;

		if (c->s.st == DNSTCP_FREE)
			continue;
		io = dnstcp_io(&c->s);
		ps_add(ps, io.upstream ? c->up : c->fd, io.write ? POLLOUT : POLLIN, K_TCP, i);
		if (dnstcp_next(&c->s) < next)
			next = dnstcp_next(&c->s);
	}
	return next <= now ? 0 : (int)(next - now);
}

static void dispatch(struct dnsfwd *d, const struct pollset *ps, int64_t now)
{
	for (int i = 1; i < ps->n; i++) {
		if (!ps->fds[i].revents)
			continue;
		int k = ps->index[i];
		switch (ps->kind[i]) {
		case K_UDP: udp_receive(d, now); break;
		case K_TCP_LISTEN: tcp_accept(d, now); break;
		case K_PEND:
			if (d->pend[k].fd == ps->fds[i].fd)
				pend_readable(d, &d->pend[k], now);
			break;
		case K_TCP:
			/* Each connection has one slot, and only its own events
			 * change it: still the transfer polled for. */
			if (d->tcp[k].s.st != DNSTCP_FREE)
				tcp_io(d, &d->tcp[k], now);
			break;
		}
	}
}

static void *dns_thread(void *arg)
{
	struct dnsfwd *d = arg;
	struct pollset *ps = &d->ps;

	for (;;) {
		int timeout = build_pollset(d, ps, text_now_ms());
		int n = poll(ps->fds, (nfds_t)ps->n, timeout);

		if (n < 0 && errno != EINTR) {
			ERROR("dns", "poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && ps->fds[0].revents)
			break;
		int64_t now = text_now_ms();
		if (n > 0)
			dispatch(d, ps, now);
		pend_timers(d, now);
		tcp_timers(d, now);
	}
	return NULL;
}

/* The socket type without SOCK_NONBLOCK and SOCK_CLOEXEC (the kernel's SOCK_TYPE_MASK). */
#define SOCK_TYPE_BITS 0xf

/* What dns_thread calls, and dnsfwd_start/close, for the datapath's seccomp filter. */
static const struct sandbox_rule dnsfwd_rules[] = {
	/* upstream sockets (pend_attempt, tcp_connect): UDP or TCP over IPv4 or
	 * IPv6, nothing else (no raw, netlink or packet socket) */
	SANDBOX_ALLOW_ALL(socket, 3, SANDBOX_EQ(0, AF_INET),
			  SANDBOX_MASKED(1, SOCK_TYPE_BITS, SOCK_DGRAM), SANDBOX_EQ(2, 0)),
	SANDBOX_ALLOW_ALL(socket, 3, SANDBOX_EQ(0, AF_INET),
			  SANDBOX_MASKED(1, SOCK_TYPE_BITS, SOCK_STREAM), SANDBOX_EQ(2, 0)),
	SANDBOX_ALLOW_ALL(socket, 3, SANDBOX_EQ(0, AF_INET6),
			  SANDBOX_MASKED(1, SOCK_TYPE_BITS, SOCK_DGRAM), SANDBOX_EQ(2, 0)),
	SANDBOX_ALLOW_ALL(socket, 3, SANDBOX_EQ(0, AF_INET6),
			  SANDBOX_MASKED(1, SOCK_TYPE_BITS, SOCK_STREAM), SANDBOX_EQ(2, 0)),
	SANDBOX_ALLOW(connect),
	/* a TCP connect's outcome */
	SANDBOX_ALLOW_ALL(getsockopt, 2, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_ERROR)),
	/* queries in, answers out, both sides; TCP clients */
	SANDBOX_ALLOW(recvfrom),
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(accept4),
	/* ids of queries sent upstream (random_id) */
	SANDBOX_ALLOW(getrandom),
	/* the thread's loop, its stop eventfd */
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(eventfd2),
	SANDBOX_ALLOW(close),
};
const struct sandbox_list dnsfwd_sandbox = SANDBOX_LIST(dnsfwd_rules);

int dnsfwd_start(struct dnsfwd *d)
{
	int rc;

	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0)
		return -errno;
	rc = pthread_create(&d->thread, NULL, dns_thread, d);
	if (rc)
		return -rc;
	d->started = true;
	return 0;
}

void dnsfwd_close(struct dnsfwd *d)
{
	uint64_t one = 1;

	if (!d)
		return;
	if (d->started) {
		if (write(d->stop_fd, &one, sizeof(one)) < 0)
			ERROR("dns", "cannot stop the DNS thread: %s", strerror(errno));
		else
			pthread_join(d->thread, NULL);
	}
	for (int i = 0; i < MAX_PENDING; i++)
		if (d->pend[i].fd >= 0)
			close(d->pend[i].fd);
	for (int i = 0; i < MAX_TCP; i++)
		tcp_close(&d->tcp[i]);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	close(d->udp_fd);
	close(d->tcp_fd);
	free(d);
}
