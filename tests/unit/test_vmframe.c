/* SPDX-License-Identifier: Apache-2.0 */
/* The per-frame verdict: address ownership, MAC and VLAN guards. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse/ndp.h"
#include "parse/pkt.h"
#include "t.h"
#include "parse/vmframe.h"

static const uint8_t vm_mac[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t own_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t third_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const uint8_t gw_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define GW 0xc0a86901u        /* 192.168.105.1 */
#define LEASE 0xc0a86907u     /* .7 */
#define OTHER 0xc0a86908u     /* .8: another VM's lease */
#define STATIC 0xc0a869fbu    /* .251: outside the pool .2-.250 */

static struct vmframe_macs macs;

static struct vmframe_config config(void)
{
	struct vmframe_config c = {
		.max_packet = 1514, .mtu = 1500, .local = true, .ra = true,
		.gateway = GW, .mask = 0xffffff00u, .pool_first = GW + 1, .pool_last = 0xc0a869fau,
		.lease = LEASE, .has_gateway6 = true,
		.gateway6 = { 0xfd, 0x9b, 0x5a, 0x14, 0xba, 0x57, 0xe3, 0xd3, [15] = 1 },
		.macs = &macs,
	};

	memcpy(c.vm_mac, vm_mac, 6);
	memcpy(c.gateway_mac, gw_mac, 6);
	ndp_link_local(gw_mac, c.gateway_ll6);
	macs = (struct vmframe_macs){ .state = VMF_MAC_NONE };
	return c;
}

static void put32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static size_t eth(uint8_t *f, const uint8_t src[6], uint16_t type)
{
	memcpy(f, bcast, 6);
	memcpy(f + 6, src, 6);
	put_be16(f + 12, type);
	return 14;
}

static size_t arp(uint8_t *f, const uint8_t src[6], const uint8_t sha[6], uint32_t spa,
		  uint16_t op)
{
	size_t n = eth(f, src, 0x0806);

	memset(f + n, 0, 28);
	put_be16(f + n, 1);
	put_be16(f + n + 2, 0x0800);
	f[n + 4] = 6;
	f[n + 5] = 4;
	put_be16(f + n + 6, op);
	memcpy(f + n + 8, sha, 6);
	put32(f + n + 14, spa);
	put32(f + n + 24, GW);
	return n + 28;
}

/* IPv4/UDP with the given ports (a DHCP client: 68 -> 67). */
static size_t udp4(uint8_t *f, const uint8_t src[6], uint32_t saddr, uint16_t sport,
		   uint16_t dport)
{
	size_t n = eth(f, src, 0x0800);
	uint8_t *ip = f + n;

	memset(ip, 0, 28 + 300);
	ip[0] = 0x45;
	put_be16(ip + 2, 28 + 300);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, saddr);
	put32(ip + 16, 0xffffffffu);
	put_be16(ip + 20, sport);
	put_be16(ip + 22, dport);
	put_be16(ip + 24, 8 + 300);
	ip[28] = 1;   /* BOOTREQUEST */
	return n + 28 + 300;
}

static enum vmframe_verdict check(const struct vmframe_config *c, uint8_t *f, size_t n)
{
	struct virtio_net_hdr h;

	return vmframe_check(c, f, &n, false, &h);
}

static void test_macs(void)
{
	struct vmframe_config c = config();
	uint8_t f[1600];
	size_t n;

	n = arp(f, vm_mac, vm_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Multicast, zero and the gateway's MAC are never a VM's source. */
	n = arp(f, bcast, bcast, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, (const uint8_t[6]){ 0 }, (const uint8_t[6]){ 0 }, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, gw_mac, gw_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_DROP);
	CHECK(macs.state == VMF_MAC_NONE);
	/* A second MAC is claimed by its first (otherwise good) frame ... */
	n = arp(f, own_mac, own_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_CLAIM);
	CHECK(macs.state == VMF_MAC_CLAIMING && memcmp(macs.mac, own_mac, 6) == 0);
	CHECK(check(&c, f, n) == VMF_DROP);   /* until granted */
	vmframe_mac_granted(&macs, true);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* ... and a third is never the VM's. */
	n = arp(f, third_mac, third_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, vm_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Refused: only vmnet_mac_address. */
	c = config();
	n = arp(f, own_mac, own_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_CLAIM);
	vmframe_mac_granted(&macs, false);
	CHECK(macs.state == VMF_MAC_REFUSED);
	CHECK(check(&c, f, n) == VMF_DROP);
	vmframe_mac_granted(&macs, true);   /* no answer changes a refusal */
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A frame that fails another guard claims nothing. */
	c = config();
	n = arp(f, own_mac, own_mac, OTHER, 1);
	CHECK(check(&c, f, n) == VMF_DROP && macs.state == VMF_MAC_NONE);
	/* No state: vmnet_mac_address only. */
	c.macs = NULL;
	n = arp(f, own_mac, own_mac, LEASE, 1);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* Bridged mode: none of this. */
	c = config();
	c.local = false;
	n = arp(f, third_mac, gw_mac, GW, 1);
	CHECK(check(&c, f, n) == VMF_FORWARD);
}

static void test_arp(void)
{
	struct vmframe_config c = config();
	uint8_t f[1600];
	size_t n;

	struct { uint32_t spa; enum vmframe_verdict v; } cases[] = {
		{ LEASE, VMF_FORWARD }, { STATIC, VMF_FORWARD }, { 0, VMF_FORWARD },
		{ 0xa9fe0102u, VMF_FORWARD },                      /* 169.254.1.2 */
		{ GW, VMF_DROP }, { OTHER, VMF_DROP }, { GW + 1, VMF_DROP },
		{ 0xc0a86a05u, VMF_DROP },                         /* another network */
		{ 0x0a000001u, VMF_DROP },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (uint16_t op = 1; op <= 2; op++) {
			n = arp(f, vm_mac, vm_mac, cases[i].spa, op);
			CHECK(check(&c, f, n) == cases[i].v);
		}
	}
	/* The sender hardware address is the Ethernet source. */
	n = arp(f, vm_mac, own_mac, LEASE, 2);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* Only what a Linux receiver takes as ARP. */
	n = arp(f, vm_mac, vm_mac, LEASE, 3);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, vm_mac, LEASE, 1);
	f[18] = 4;
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, vm_mac, LEASE, 1);
	put_be16(f + 14, 6);   /* IEEE 802 hardware: Linux takes it */
	CHECK(check(&c, f, n) == VMF_FORWARD);
	put_be16(f + 14, 2);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, vm_mac, LEASE, 1);
	for (size_t len = 14; len < n; len++)
		CHECK(check(&c, f, len) == VMF_DROP);
}

static void test_ip4(void)
{
	struct vmframe_config c = config();
	uint8_t f[1600];
	size_t n;

	n = udp4(f, vm_mac, LEASE, 1000, 53);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = udp4(f, vm_mac, STATIC, 1000, 53);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = udp4(f, vm_mac, GW, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, OTHER, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, 0xc0a86a05u, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A DHCP client from 0.0.0.0 or its lease is answered here. */
	n = udp4(f, vm_mac, 0, 68, 67);
	CHECK(check(&c, f, n) == VMF_DHCP);
	n = udp4(f, vm_mac, LEASE, 68, 67);
	CHECK(check(&c, f, n) == VMF_DHCP);
	n = udp4(f, vm_mac, OTHER, 68, 67);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A DHCP server: never, from port 67 or to a client's port 68 from
	 * any other (clients take an offer whatever its source port). */
	n = udp4(f, vm_mac, STATIC, 67, 68);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, LEASE, 6767, 68);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, LEASE, 68, 68);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, LEASE, 67, 1000);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp4(f, vm_mac, LEASE, 6767, 69);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Bridged mode: the LAN's business. */
	c.local = false;
	n = udp4(f, vm_mac, LEASE, 6767, 68);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	c.local = true;
	/* Headers a kernel refuses. */
	n = udp4(f, vm_mac, LEASE, 1000, 53);
	f[14] = 0x65;
	CHECK(check(&c, f, n) == VMF_DROP);
	f[14] = 0x44;
	CHECK(check(&c, f, n) == VMF_DROP);
	f[14] = 0x4f;          /* 60-byte header: fits, total length 328 covers it */
	CHECK(check(&c, f, n) == VMF_FORWARD);
	f[14] = 0x45;
	put_be16(f + 16, (uint16_t)(n - 14 + 1));
	CHECK(check(&c, f, n) == VMF_DROP);
	put_be16(f + 16, 19);
	CHECK(check(&c, f, n) == VMF_DROP);
	put_be16(f + 16, 20);
	CHECK(check(&c, f, n) == VMF_FORWARD);   /* padding after it is fine */
	CHECK(check(&c, f, 14 + 19) == VMF_DROP);
}

static void test_vlan(void)
{
	struct vmframe_config c = config();
	const uint16_t tags[] = { 0x8100, 0x88a8, 0x9100, 0x9200 };
	uint8_t f[1600], plain[1600];
	size_t n, m;

	/* A DHCP offer and a router advertisement behind a VID-0 tag. */
	m = udp4(plain, vm_mac, STATIC, 67, 68);
	for (size_t i = 0; i < 4; i++) {
		memcpy(f, plain, 12);
		put_be16(f + 12, tags[i]);
		put_be16(f + 14, 0);          /* priority 0, VID 0 */
		memcpy(f + 16, plain + 12, m - 12);
		n = m + 4;
		CHECK(check(&c, f, n) == VMF_DROP);
		c.local = false;               /* bridged: the LAN's business */
		CHECK(check(&c, f, n) == VMF_FORWARD);
		c.local = true;
	}
	{
		uint8_t ra[64] = { 134 };
		n = eth(f, vm_mac, 0x8100);
		put_be16(f + n, 0);
		put_be16(f + n + 2, 0x86dd);
		memset(f + n + 4, 0, 40);
		f[n + 4] = 0x60;
		put_be16(f + n + 8, 16);
		f[n + 10] = 58;
		f[n + 11] = 255;
		memcpy(f + n + 44, ra, 16);
		CHECK(check(&c, f, n + 60) == VMF_DROP);
	}
}

/* Ethernet + IPv6 + ICMPv6 neighbour message with an optional LLA option. */
static size_t nd(uint8_t *f, const uint8_t src_mac[6], const uint8_t src[16], uint8_t type,
		 const uint8_t target[16], uint8_t opt, const uint8_t lla[6])
{
	size_t n = eth(f, src_mac, 0x86dd), mlen = 24 + (opt ? 8 : 0);
	uint8_t *ip = f + n, *m = ip + 40;

	memset(ip, 0, 40 + mlen);
	ip[0] = 0x60;
	put_be16(ip + 4, (uint16_t)mlen);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	ip[24] = 0xff;
	ip[25] = 0x02;
	ip[39] = 1;
	m[0] = type;
	memcpy(m + 8, target, 16);
	if (opt) {
		m[24] = opt;
		m[25] = 1;
		memcpy(m + 26, lla, 6);
	}
	return n + 40 + mlen;
}

static void test_ip6(void)
{
	struct vmframe_config c = config();
	uint8_t f[1600], vm_ll[16], gw_ll[16], other[16] = { 0xfd, 0x9b, [15] = 7 };
	size_t n;

	ndp_link_local(vm_mac, vm_ll);
	ndp_link_local(gw_mac, gw_ll);
	/* Our own NA, with our MAC as target link-layer address: fine. */
	n = nd(f, vm_mac, vm_ll, 136, vm_ll, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Claiming the gateway, link-local or global, as source or NA target. */
	n = nd(f, vm_mac, vm_ll, 136, gw_ll, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = nd(f, vm_mac, vm_ll, 136, c.gateway6, 0, NULL);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = nd(f, vm_mac, gw_ll, 135, other, 1, vm_mac);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = nd(f, vm_mac, c.gateway6, 135, other, 0, NULL);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* Asking for the gateway is fine. */
	n = nd(f, vm_mac, vm_ll, 135, gw_ll, 1, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Host mode: no global gateway address. */
	c.has_gateway6 = false;
	n = nd(f, vm_mac, vm_ll, 136, c.gateway6, 0, NULL);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	c.has_gateway6 = true;
	/* A link-layer option naming another MAC than the sender's. */
	n = nd(f, vm_mac, vm_ll, 136, other, 2, own_mac);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = nd(f, vm_mac, vm_ll, 135, other, 1, own_mac);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A redirect: a VM is not our router. */
	n = nd(f, vm_mac, vm_ll, 137, other, 0, NULL);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* Every truncation of an NA claiming the gateway is dropped too. */
	n = nd(f, vm_mac, vm_ll, 136, gw_ll, 2, vm_mac);
	for (size_t len = 14; len < n; len++)
		CHECK(check(&c, f, len) == VMF_DROP);
}

/* Ethernet + IPv6 + UDP from src (8 bytes of payload). */
static size_t udp6(uint8_t *f, const uint8_t src[16], uint16_t sport, uint16_t dport)
{
	size_t n = eth(f, vm_mac, 0x86dd);
	uint8_t *ip = f + n;

	memset(ip, 0, 40 + 16);
	ip[0] = 0x60;
	put_be16(ip + 4, 16);
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	ip[24] = 0xff;
	ip[25] = 0x02;
	ip[37] = 1;
	ip[39] = 2;            /* ff02::1:2, All_DHCP_Relay_Agents_and_Servers */
	put_be16(ip + 40, sport);
	put_be16(ip + 42, dport);
	put_be16(ip + 44, 16);
	return n + 40 + 16;
}

static void test_dhcp6(void)
{
	struct vmframe_config c = config();
	uint8_t f[1600], vm_ll[16];
	size_t n;

	ndp_link_local(vm_mac, vm_ll);
	/* A client's solicit: forwarded (no DHCPv6 server here answers it). */
	n = udp6(f, vm_ll, 546, 547);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Server messages: from 547, or to a client's 546 from any port. */
	n = udp6(f, vm_ll, 547, 546);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp6(f, vm_ll, 5470, 546);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp6(f, vm_ll, 547, 1000);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = udp6(f, vm_ll, 5470, 5460);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Every truncation of the rogue advertise is dropped or too short to be one. */
	n = udp6(f, vm_ll, 5470, 546);
	for (size_t len = 14; len < n; len++)
		CHECK(check(&c, f, len) == VMF_DROP);
	c.local = false;
	n = udp6(f, vm_ll, 5470, 546);
	CHECK(check(&c, f, n) == VMF_FORWARD);
}

/* IPv6 addresses, first come first served. */
static void test_addrs6(void)
{
	static struct vmframe_addrs6 a;
	struct vmframe_config c = config();
	uint8_t f[1600], vm_ll[16], other[16] = { 0xfd, 0x9b, [15] = 7 }, zero[16] = { 0 };
	size_t n;

	memset(&a, 0, sizeof(a));
	c.addrs6 = &a;
	ndp_link_local(vm_mac, vm_ll);
	/* The first use of our link-local: claimed, then forwarded once granted. */
	n = nd(f, vm_mac, vm_ll, 136, vm_ll, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_CLAIM6);
	CHECK(memcmp(a.claim, vm_ll, 16) == 0 && memcmp(a.claim_mac, vm_mac, 6) == 0);
	vmframe_addr6_granted(&a, true);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	CHECK(a.n == 1);
	/* An advertisement for another address: its target is claimed too;
	 * refused, it is dropped, and not asked for again. */
	n = nd(f, vm_mac, vm_ll, 136, other, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_CLAIM6);
	CHECK(memcmp(a.claim, other, 16) == 0);
	vmframe_addr6_granted(&a, false);
	CHECK(check(&c, f, n) == VMF_DROP);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A solicitation's target is not learned: no claim. */
	n = nd(f, vm_mac, vm_ll, 135, other, 1, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Duplicate address detection, from the unspecified address, for an
	 * address another VM holds: dropped, to be answered (the address). */
	n = nd(f, vm_mac, zero, 135, other, 0, NULL);
	memset(a.claim, 0, 16);
	CHECK(check(&c, f, n) == VMF_DAD_TAKEN);
	CHECK(memcmp(a.claim, other, 16) == 0);
	/* At most VMF_ADDRS6 addresses. */
	for (unsigned i = 0; a.n < VMF_ADDRS6; i++) {
		uint8_t src[16] = { 0xfe, 0x80, [14] = 1, [15] = (uint8_t)i };
		n = nd(f, vm_mac, src, 135, other, 1, vm_mac);
		CHECK(check(&c, f, n) == VMF_CLAIM6);
		vmframe_addr6_granted(&a, true);
	}
	{
		uint8_t src[16] = { 0xfe, 0x80, [14] = 2 };
		n = nd(f, vm_mac, src, 135, other, 1, vm_mac);
		CHECK(check(&c, f, n) == VMF_DROP);
	}
	/* Bridged mode binds nothing. */
	c.local = false;
	n = nd(f, vm_mac, other, 136, other, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
}

/* Makes the frame in f (n bytes) len bytes long: IP lengths cover the
 * padding as payload, as a guest's large frame. */
static void lengthen(uint8_t *f, size_t n, size_t len)
{
	memset(f + n, 0xab, len - n);
	if (f[12] == 0x08 && f[13] == 0x00)
		put_be16(f + 16, (uint16_t)(len - 14));
	else if (f[12] == 0x86 && f[13] == 0xdd)
		put_be16(f + 18, (uint16_t)(len - 54));
}

/* vhost-user: long frames judged on their head, the rest never read. */
static void test_head(void)
{
	static uint8_t f[65600];
	struct vmframe_config c = config();
	uint8_t vm_ll[16], gw_ll[16], other[16] = { 0xfd, 0x9b, [15] = 7 };
	size_t n;

	c.max_packet = 65550;
	ndp_link_local(vm_mac, vm_ll);
	ndp_link_local(gw_mac, gw_ll);
	n = udp4(f, vm_mac, LEASE, 1000, 53);
	lengthen(f, n, 60000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 60000) == VMF_FORWARD);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD_MIN, 60000) == VMF_FORWARD);
	/* The payload is not read: changing it changes nothing. */
	memset(f + VMFRAME_HEAD, 0, 60000 - VMFRAME_HEAD);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 60000) == VMF_FORWARD);
	/* Heads outside the bounds, frames beyond max_packet. */
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD_MIN - 1, 60000) == VMF_DROP);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD + 1, 60000) == VMF_DROP);
	CHECK(vmframe_check_head(&c, f, 200, 200) == VMF_DROP);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 65551) == VMF_DROP);
	/* An IP length beyond the frame. */
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 59999) == VMF_DROP);
	/* Shorter IP datagram, long padding: fine. */
	put_be16(f + 16, 100);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 60000) == VMF_FORWARD);
	/* The same guards as a whole frame: a spoofed source, a VLAN tag, the
	 * gateway's MAC, a DHCP server. */
	n = udp4(f, vm_mac, OTHER, 1000, 53);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = udp4(f, vm_mac, LEASE, 1000, 53);
	lengthen(f, n, 9000);
	put_be16(f + 12, 0x8100);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = udp4(f, gw_mac, STATIC, 1000, 53);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = udp4(f, vm_mac, STATIC, 67, 68);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	/* A new MAC is claimed as from a whole frame. */
	n = udp4(f, own_mac, LEASE, 1000, 53);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_CLAIM);
	vmframe_mac_granted(&macs, true);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_FORWARD);
	/* IPv6: our own source is fine, the gateway's is not; neighbour
	 * discovery is never judged on a part (its options could follow). */
	n = udp6(f, vm_ll, 1000, 53);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_FORWARD);
	n = udp6(f, gw_ll, 1000, 53);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = nd(f, vm_mac, vm_ll, 136, vm_ll, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = nd(f, vm_mac, vm_ll, 135, other, 1, vm_mac);
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	n = udp6(f, vm_ll, 547, 1000);      /* a DHCPv6 server */
	lengthen(f, n, 9000);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_DROP);
	/* Bridged mode checks lengths only. */
	c.local = false;
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 9000) == VMF_FORWARD);
	CHECK(vmframe_check_head(&c, f, VMFRAME_HEAD, 65551) == VMF_DROP);
}

/* Duplicate address detection: a probe claims its target. */
static void test_probes(void)
{
	static struct vmframe_addrs6 a;
	struct vmframe_config c = config();
	uint8_t f[1600], vm_ll[16], gw_ll[16], zero[16] = { 0 };
	uint8_t mine[16] = { 0xfd, 0x9b, [15] = 9 }, theirs[16] = { 0xfd, 0x9b, [15] = 7 };
	size_t n;

	memset(&a, 0, sizeof(a));
	c.addrs6 = &a;
	ndp_link_local(vm_mac, vm_ll);
	ndp_link_local(gw_mac, gw_ll);
	/* Our probe for a free address: claimed, forwarded once granted; the
	 * address is then ours, for probes and as source alike. */
	n = nd(f, vm_mac, zero, 135, mine, 0, NULL);
	CHECK(check(&c, f, n) == VMF_CLAIM6);
	CHECK(memcmp(a.claim, mine, 16) == 0 && memcmp(a.claim_mac, vm_mac, 6) == 0);
	vmframe_addr6_granted(&a, true);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = nd(f, vm_mac, mine, 136, mine, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	CHECK(a.n == 1 && a.asks == 1);
	/* A probe for an address another VM holds or probes: refused, then
	 * answered every time without asking again. */
	n = nd(f, vm_mac, zero, 135, theirs, 0, NULL);
	CHECK(check(&c, f, n) == VMF_CLAIM6);
	vmframe_addr6_granted(&a, false);
	CHECK(check(&c, f, n) == VMF_DAD_TAKEN);
	CHECK(check(&c, f, n) == VMF_DAD_TAKEN && a.asks == 2);
	/* Advertising it, or sending from it, is dropped (not answered). */
	n = nd(f, vm_mac, vm_ll, 136, theirs, 2, vm_mac);
	CHECK(check(&c, f, n) == VMF_CLAIM6);   /* our link-local first */
	vmframe_addr6_granted(&a, true);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = nd(f, vm_mac, theirs, 135, vm_ll, 1, vm_mac);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A probe for the gateway's addresses: the host answers it itself. */
	n = nd(f, vm_mac, zero, 135, gw_ll, 0, NULL);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = nd(f, vm_mac, zero, 135, c.gateway6, 0, NULL);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* A solicitation from an address (resolution, not a probe) claims
	 * only its source; multicast targets are no one's. */
	n = nd(f, vm_mac, vm_ll, 135, mine, 1, vm_mac);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = nd(f, vm_mac, zero, 135, (const uint8_t[16]){ 0xff, 0x02, [15] = 1 }, 0, NULL);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	/* Probes count against the VM's addresses: past VMF_ADDRS6 they are
	 * dropped, unanswered (not another VM's). */
	while (a.n < VMF_ADDRS6) {
		uint8_t t[16] = { 0xfd, 0x9b, [14] = 1, [15] = (uint8_t)a.n };
		n = nd(f, vm_mac, zero, 135, t, 0, NULL);
		CHECK(check(&c, f, n) == VMF_CLAIM6);
		vmframe_addr6_granted(&a, true);
	}
	n = nd(f, vm_mac, zero, 135, mine, 0, NULL);
	CHECK(check(&c, f, n) == VMF_FORWARD);      /* ours already */
	mine[15]++;
	n = nd(f, vm_mac, zero, 135, mine, 0, NULL);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* Without bindings (bridged mode, or none asked for): forwarded. */
	c.addrs6 = NULL;
	CHECK(check(&c, f, n) == VMF_FORWARD);
}

/* Pool addresses the VM set by hand. */
static void test_addrs4(void)
{
	static struct vmframe_addrs4 a;
	struct vmframe_config c = config();
	uint8_t f[1600];
	size_t n;

	/* Without the state, only the lease (as before). */
	n = arp(f, vm_mac, vm_mac, OTHER, 2);
	CHECK(check(&c, f, n) == VMF_DROP);
	memset(&a, 0, sizeof(a));
	c.addrs4 = &a;
	/* The first ARP from it claims it; granted, it is the VM's, for IPv4 too. */
	CHECK(check(&c, f, n) == VMF_CLAIM4 && a.claim == OTHER && a.asks == 1);
	vmframe_addr4_granted(&a, true);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = udp4(f, vm_mac, OTHER, 1000, 53);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	CHECK(a.n == 1 && a.asks == 1);
	/* Refused (another VM's): dropped, not asked for again. */
	n = udp4(f, vm_mac, OTHER + 1, 1000, 53);
	CHECK(check(&c, f, n) == VMF_CLAIM4 && a.claim == OTHER + 1);
	vmframe_addr4_granted(&a, false);
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, vm_mac, OTHER + 1, 1);
	CHECK(check(&c, f, n) == VMF_DROP && a.asks == 2);
	/* The lease, statics outside the pool, the gateway: as before. */
	n = udp4(f, vm_mac, LEASE, 1000, 53);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = udp4(f, vm_mac, STATIC, 1000, 53);
	CHECK(check(&c, f, n) == VMF_FORWARD);
	n = udp4(f, vm_mac, GW, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
	/* A frame failing another guard claims nothing: a third MAC, a bad
	 * sender hardware address. */
	n = arp(f, third_mac, third_mac, OTHER + 2, 1);
	macs.state = VMF_MAC_REFUSED;
	CHECK(check(&c, f, n) == VMF_DROP);
	n = arp(f, vm_mac, own_mac, OTHER + 2, 1);
	CHECK(check(&c, f, n) == VMF_DROP && a.asks == 2);
	/* At most VMF_ADDRS4 addresses, and VMF_ADDR4_ASKS claims. */
	for (uint32_t i = 0; a.n < VMF_ADDRS4; i++) {
		n = udp4(f, vm_mac, OTHER + 10 + i, 1000, 53);
		CHECK(check(&c, f, n) == VMF_CLAIM4);
		vmframe_addr4_granted(&a, true);
	}
	n = udp4(f, vm_mac, OTHER + 20, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
	memset(&a, 0, sizeof(a));
	for (unsigned i = 0; i < VMF_ADDR4_ASKS; i++) {
		n = udp4(f, vm_mac, OTHER + 30 + i, 1000, 53);
		CHECK(check(&c, f, n) == VMF_CLAIM4);
		vmframe_addr4_granted(&a, false);
	}
	n = udp4(f, vm_mac, OTHER + 60, 1000, 53);
	CHECK(check(&c, f, n) == VMF_DROP);
}

static void tests(void)
{
	test_macs();
	test_arp();
	test_ip4();
	test_vlan();
	test_ip6();
	test_dhcp6();
	test_addrs6();
	test_head();
	test_probes();
	test_addrs4();
}

T_MAIN
