/* SPDX-License-Identifier: Apache-2.0 */
/* Whom the host is talking to: which records count for a subnet. */
#include <linux/neighbour.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "setup/peers.h"
#include "t.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NET55 A(10, 55, 0, 0)
#define M24 0xffffff00u

static void test_sockets_and_neighbours(void)
{
	struct peers ps = { 0 };
	struct peer tcp = { .kind = PEER_SOCKET, .addr = A(10, 55, 0, 10), .local = A(203, 0, 113, 1),
			    .port = 389, .local_port = 41234, .proto = IPPROTO_TCP,
			    .state = TCP_ESTABLISHED };
	struct peer pub = tcp, gw = tcp, nb = { .kind = PEER_NEIGHBOUR, .addr = A(10, 55, 0, 20),
						.ifindex = 3, .state = NUD_STALE };
	char buf[160];

	pub.addr = A(8, 8, 8, 8);            /* not private: no network can hold it */
	gw.addr = A(192, 168, 105, 2);        /* a VM, through our gateway */
	gw.local = A(192, 168, 105, 1);
	CHECK(peers_add(&ps, &pub) == 0 && ps.n == 0);
	CHECK(peers_add(&ps, &gw) == 0 && peers_add(&ps, &tcp) == 0 && peers_add(&ps, &nb) == 0);
	CHECK(ps.n == 3);
	/* 10.55.0.0/24: the TCP connection first, then the neighbour. */
	CHECK(peers_find(&ps, 0, NET55 | 1, M24) == 1);
	CHECK(peers_find(&ps, 2, NET55, M24) == 2);
	CHECK(peers_find(&ps, 3, NET55, M24) == -1);
	/* Another subnet: nothing; a wider one holding both ends: nothing either
	 * (traffic within that network). */
	CHECK(peers_find(&ps, 0, A(10, 56, 0, 0), M24) == -1);
	CHECK(peers_find(&ps, 0, A(192, 168, 105, 0), M24) == -1);
	CHECK(peers_find(&ps, 0, A(192, 168, 0, 0), 0xffff0000u) == -1);
	/* A mask wider than the address: 10.55.0.10 is inside 10.0.0.0/8. */
	CHECK(peers_find(&ps, 0, A(10, 0, 0, 0), 0xff000000u) == 1);
	peers_describe(&ps.v[1], buf, sizeof(buf));
	CHECK_STR(buf, "a TCP connection 203.0.113.1:41234 -> 10.55.0.10:389");
	ps.v[1].state = TCP_TIME_WAIT;
	peers_describe(&ps.v[1], buf, sizeof(buf));
	CHECK_STR(buf, "a TCP connection closed a moment ago 203.0.113.1:41234 -> 10.55.0.10:389");
	ps.v[1].proto = IPPROTO_UDP;
	peers_describe(&ps.v[1], buf, sizeof(buf));
	CHECK_STR(buf, "a connected UDP socket 203.0.113.1:41234 -> 10.55.0.10:389");
	peers_describe(&ps.v[2], buf, sizeof(buf));
	CHECK_STR(buf, "an entry in its neighbour table");
	peers_free(&ps);
	CHECK(ps.n == 0 && ps.v == NULL);
}

static void test_conntrack(void)
{
	struct peers ps = { 0 };
	char buf[160];

	/* The host to the LDAP server: its destination. */
	CHECK(peers_add_conntrack(&ps, A(203, 0, 113, 1), A(10, 55, 0, 10), A(10, 55, 0, 10),
				  A(203, 0, 113, 1), IPPROTO_UDP, 40000, 389, false) == 0);
	CHECK(ps.n == 1 && ps.v[0].addr == A(10, 55, 0, 10) && ps.v[0].port == 389);
	peers_describe(&ps.v[0], buf, sizeof(buf));
	CHECK_STR(buf, "UDP traffic the kernel tracks, 203.0.113.1:40000 -> 10.55.0.10:389");
	CHECK(peers_find(&ps, 0, NET55, M24) == 0);
	/* A client of the host's, from 10.55.0.20: its source. */
	CHECK(peers_add_conntrack(&ps, A(10, 55, 0, 20), A(203, 0, 113, 1), A(203, 0, 113, 1),
				  A(10, 55, 0, 20), IPPROTO_TCP, 50000, 22, false) == 0);
	CHECK(ps.n == 2 && ps.v[1].addr == A(10, 55, 0, 20) && ps.v[1].port == 50000);
	/* A VM behind our masquerade (source NAT) to the internet: the VM is
	 * no one the host talks to. */
	ps.n = 0;
	CHECK(peers_add_conntrack(&ps, A(192, 168, 105, 2), A(10, 99, 0, 1), A(10, 99, 0, 1),
				  A(203, 0, 113, 1), IPPROTO_TCP, 50000, 443, true) == 0);
	CHECK(ps.n == 1 && ps.v[0].addr == A(10, 99, 0, 1));
	CHECK(peers_find(&ps, 0, A(192, 168, 105, 0), M24) == -1);
	/* A port forward (destination NAT) to 10.55.0.30: the real server. */
	ps.n = 0;
	CHECK(peers_add_conntrack(&ps, A(8, 8, 4, 4), A(203, 0, 113, 1), A(10, 55, 0, 30),
				  A(8, 8, 4, 4), IPPROTO_TCP, 1000, 80, false) == 0);
	CHECK(ps.n == 1 && ps.v[0].addr == A(10, 55, 0, 30));
	/* Within one network (a VM and its gateway): neither counts for it. */
	ps.n = 0;
	CHECK(peers_add_conntrack(&ps, A(192, 168, 105, 2), A(192, 168, 105, 1), A(192, 168, 105, 1),
				  A(192, 168, 105, 2), IPPROTO_UDP, 1000, 53, false) == 0);
	CHECK(ps.n == 2 && peers_find(&ps, 0, A(192, 168, 105, 0), M24) == -1);
	/* ICMP: no ports. */
	ps.n = 0;
	CHECK(peers_add_conntrack(&ps, A(203, 0, 113, 1), A(10, 55, 0, 10), A(10, 55, 0, 10),
				  A(203, 0, 113, 1), IPPROTO_ICMP, 0, 0, false) == 0);
	peers_describe(&ps.v[0], buf, sizeof(buf));
	CHECK_STR(buf, "ICMP traffic the kernel tracks, 203.0.113.1 -> 10.55.0.10");
	peers_free(&ps);
}

static void tests(void)
{
	test_sockets_and_neighbours();
	test_conntrack();
}

T_MAIN
