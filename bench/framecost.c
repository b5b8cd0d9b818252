/* SPDX-License-Identifier: Apache-2.0 */
/*
 * framecost: what the helper's check of one frame from the VM costs, on its
 * own code alone (vmframe_check: the guards, DHCP and NDP recognised,
 * offload), so that a busy machine cannot move the figure. Frames as a VM
 * sends them: a 64-byte UDP frame as framegen writes it, a 1514-byte TCP
 * segment over IPv4 and over IPv6 (with the partial checksum an offloading
 * VM leaves), an ARP request and a neighbour solicitation for the gateway;
 * each checked again and again, as the datapath's VM thread does, under a
 * shared-mode network's configuration without offload (QEMU) and with it
 * (libkrun: checksum offload and TSO).
 *
 *   build/bench/framecost KIND CONFIG FRAMES    check one kind FRAMES times
 *   build/bench/framecost                       all of them, CPU ns a frame
 *
 * KIND: udp64, tcp1514, tcp6_1514, arp, ns; CONFIG: shared, offload. The
 * repeatable figure is instructions a frame under callgrind
 * (bench/framecost.sh), the difference of two runs so that start-up and the
 * first calls' symbol binding cancel out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/ndp.h"
#include "parse/pkt.h"
#include "parse/vmframe.h"

static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t gw_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t prefix6[8] = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3 };
#define GW 0xc0a86901u        /* 192.168.105.1 */
#define LEASE 0xc0a86902u     /* .2 */

static struct vmframe_macs macs;
static struct vmframe_addrs6 addrs6;
static struct vmframe_addrs4 addrs4;

static void put32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void vm_global6(uint8_t a[16])
{
	memset(a, 0, 16);
	memcpy(a, prefix6, 8);
	a[15] = 2;
}

/* A shared-mode network's guards, the VM's link-local and global IPv6
 * addresses bound already (as after its first frames). */
static struct vmframe_config config(bool offload)
{
	struct vmframe_config c = {
		.max_packet = offload ? PKT_MAX_FRAME : 1514, .mtu = 1500, .local = true,
		.ra = true, .vnet_hdr = offload, .tso = offload,
		.gateway = GW, .mask = 0xffffff00u, .pool_first = LEASE, .pool_last = 0xc0a869feu,
		.lease = LEASE, .has_gateway6 = true,
		.macs = &macs, .addrs6 = &addrs6, .addrs4 = &addrs4,
	};

	memcpy(c.vm_mac, vm_mac, 6);
	memcpy(c.gateway_mac, gw_mac, 6);
	memcpy(c.gateway6, prefix6, 8);
	c.gateway6[15] = 1;
	ndp_link_local(gw_mac, c.gateway_ll6);
	ndp_link_local(vm_mac, addrs6.addr[0]);
	vm_global6(addrs6.addr[1]);
	addrs6.n = 2;
	return c;
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, vm_mac, 6);
	put_be16(f + 12, type);
	return 14;
}

/* IPv4 to the gateway, total bytes of datagram, its header checksum set. */
static uint8_t *ip4(uint8_t *f, uint8_t proto, size_t total)
{
	uint8_t *ip = f + eth(f, gw_mac, ETHERTYPE_IPV4);

	memset(ip, 0, total);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)total);
	ip[6] = 0x40;                                /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, LEASE);
	put32(ip + 16, GW);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	return ip + 20;
}

/* framegen's frame: UDP to port 9, no checksum, 60 bytes on the socket. */
static size_t udp64(uint8_t *f)
{
	uint8_t *u = ip4(f, 17, 46);

	put_be16(u, 9999);
	put_be16(u + 2, 9);
	put_be16(u + 4, 26);
	return 60;
}

/* A full-sized TCP segment: the checksum field holds the pseudo-header sum
 * (what an offloading VM leaves; a complete one costs the guards the same). */
static void tcp(uint8_t *t, size_t len, uint32_t pseudo)
{
	uint8_t tail[4] = { 0, 6, (uint8_t)(len >> 8), (uint8_t)len };

	put_be16(t, 40000);
	put_be16(t + 2, 5201);
	put32(t + 4, 1);
	t[12] = 5 << 4;
	t[13] = 0x18;                                /* PSH, ACK */
	put_be16(t + 14, 0xffff);
	for (size_t i = 20; i < len; i++)
		t[i] = (uint8_t)(i * 7);
	put_be16(t + 16, (uint16_t)~csum_fold(csum_add(pseudo, tail, 4)));
}

static size_t tcp1514(uint8_t *f)
{
	uint8_t *t = ip4(f, 6, 1500);

	tcp(t, 1480, csum_add(0, f + 26, 8));
	return 1514;
}

/* IPv6: from the VM's global address to the gateway's. */
static size_t tcp6_1514(uint8_t *f)
{
	uint8_t *ip = f + eth(f, gw_mac, ETHERTYPE_IPV6);

	memset(ip, 0, 40);
	ip[0] = 0x60;
	put_be16(ip + 4, 1460);
	ip[6] = 6;
	ip[7] = 64;
	vm_global6(ip + 8);
	memcpy(ip + 24, prefix6, 8);
	ip[39] = 1;
	tcp(ip + 40, 1460, csum_add(0, ip + 8, 32));
	return 1514;
}

static size_t arp(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + eth(f, bcast, ETHERTYPE_ARP);

	memset(a, 0, 28);
	put_be16(a, 1);
	put_be16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put_be16(a + 6, 1);                          /* request */
	memcpy(a + 8, vm_mac, 6);
	put32(a + 14, LEASE);
	put32(a + 24, GW);
	return 42;
}

/* A neighbour solicitation from the VM's link-local for the gateway's,
 * with its source link-layer address option: what a VM sends most of
 * neighbour discovery. */
static size_t ns(uint8_t *f)
{
	static const uint8_t mcast[6] = { 0x33, 0x33, 0xff, 0x33, 0x44, 0x55 };
	uint8_t *ip = f + eth(f, mcast, ETHERTYPE_IPV6), *m = ip + 40;
	uint8_t tail[8] = { 0, 0, 0, 32, 0, 0, 0, 58 };

	memset(ip, 0, 40 + 32);
	ip[0] = 0x60;
	put_be16(ip + 4, 32);
	ip[6] = 58;
	ip[7] = 255;
	ndp_link_local(vm_mac, ip + 8);
	memcpy(ip + 24, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff\x33\x44\x55", 16);
	m[0] = 135;
	ndp_link_local(gw_mac, m + 8);
	m[24] = 1;                                   /* source link-layer address */
	m[25] = 1;
	memcpy(m + 26, vm_mac, 6);
	put_be16(m + 2, csum_fold(csum_add(csum_add(csum_add(0, ip + 8, 32), tail, 8), m, 32)));
	return 14 + 40 + 32;
}

static const struct {
	const char *name;
	size_t (*build)(uint8_t *f);
} kinds[] = {
	{ "udp64", udp64 }, { "tcp1514", tcp1514 }, { "tcp6_1514", tcp6_1514 },
	{ "arp", arp }, { "ns", ns },
};

/* Checks the frame n times; the verdict of the last. */
static enum vmframe_verdict run(const struct vmframe_config *c, uint8_t *f, size_t len, long n)
{
	enum vmframe_verdict v = VMF_DROP;
	struct virtio_net_hdr h;

	for (long i = 0; i < n; i++) {
		size_t l = len;

		v = vmframe_check(c, f, &l, false, &h);
	}
	return v;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static uint8_t f[2048];

	if (argc == 4) {
		bool offload = strcmp(argv[2], "offload") == 0;
		struct vmframe_config c = config(offload);

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (strcmp(argv[1], kinds[k].name) != 0)
				continue;
			size_t len = kinds[k].build(f);
			enum vmframe_verdict v = run(&c, f, len, atol(argv[3]));
			return v == VMF_FORWARD ? 0 : 1;
		}
		fprintf(stderr, "framecost: no such kind: %s\n", argv[1]);
		return 2;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: framecost [KIND shared|offload FRAMES]\n");
		return 2;
	}
	for (int o = 0; o < 2; o++) {
		struct vmframe_config c = config(o);

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			size_t len = kinds[k].build(f);
			long n = 2000000;
			double t0 = cpu_now();
			enum vmframe_verdict v = run(&c, f, len, n);

			printf("%-8s %-10s %6.1f ns a frame%s\n", o ? "offload" : "shared",
			       kinds[k].name, (cpu_now() - t0) * 1e9 / (double)n,
			       v == VMF_FORWARD ? "" : " (not forwarded!)");
		}
	}
	return 0;
}
