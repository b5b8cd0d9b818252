/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv6 router side of Neighbor Discovery for one VM (RFC 4861), with SLAAC
 * (RFC 4862) and RDNSS (RFC 8106). Pure: frames in, frames out, no I/O.
 * The helper answers its VM's router solicitations and sends unsolicited
 * advertisements itself; the kernel owns the gateway's addresses and answers
 * neighbor solicitations for them. It also spots what a VM must not send:
 * router advertisements and DHCPv6 server messages.
 */
#ifndef VMNET_NDP_H
#define VMNET_NDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/frame.h"

struct ndp_config {
	uint8_t router_mac[6];        /* Ethernet source and source link-layer option */
	uint8_t router_ll[16];        /* IPv6 source: the gateway's link-local address */
	uint8_t prefix[8];            /* the /64 advertised on-link and autonomous */
	bool has_dns;
	uint8_t dns[16];              /* RDNSS option when has_dns */
	uint16_t router_lifetime;     /* seconds; non-zero: the VM's default router */
	uint32_t valid_lifetime, preferred_lifetime;   /* of the prefix, seconds */
	uint32_t dns_lifetime;        /* seconds */
	uint16_t mtu;                 /* 0: no MTU option */
};

enum ndp_kind {
	NDP_NONE,     /* anything else: forwarded as usual */
	NDP_RS,       /* a valid router solicitation: answer it */
	NDP_ROGUE,    /* an RA, a DHCPv6 server message (UDP from port 547, or
		       * to the client port 546 from any port), a fragment of
		       * neighbour discovery (RFC 6980), or a header chain we
		       * cannot see through: one too long or cut short, or a
		       * first fragment without its whole upper-layer header
		       * (RFC 7112): dropped */
};

/* Classifies an Ethernet frame from the VM by its headers (parses its
 * view and inspects it: what the guards see of it). */
enum ndp_kind ndp_classify(const uint8_t *frame, size_t len);

/*
 * What the address guard (vmframe.c) needs to know of an IPv6 frame: the
 * addresses a receiving kernel would learn from it. Redirects are NDP_ROGUE
 * too: a VM is not a router on our network.
 */
struct ndp_msg {
	enum ndp_kind kind;
	uint8_t src[16];          /* IPv6 source */
	bool has_target;          /* a neighbour solicitation or advertisement */
	bool advert;              /* ... an advertisement: receivers learn target */
	uint8_t target[16];
	bool lla_foreign;         /* a link-layer address option that is not the
				   * frame's Ethernet source */
};

/* Fills m for an IPv6 frame, from its view (frame.h: the header chain
 * walked there) and the bytes it does not hold (addresses, the message).
 * Returns false for a frame that is not IPv6 (ethertype), in which case
 * m->kind is NDP_NONE and nothing else is set. */
bool ndp_inspect(const uint8_t *frame, const struct frame_view *v, struct ndp_msg *m);

/*
 * Writes a complete Ethernet/IPv6/ICMPv6 router advertisement to all nodes
 * (ff02::1), with source link-layer address, MTU, prefix information and
 * RDNSS options. Returns its length, or -1 if cap is too small.
 */
int ndp_build_ra(const struct ndp_config *c, uint8_t *out, size_t cap);

/*
 * Writes a neighbour advertisement for target to all nodes (ff02::1), from
 * the router (its MAC and link-local address), with no flags and no
 * options: what a node probing for target (duplicate address detection)
 * takes as "in use". Returns its length, or -1 if cap is too small.
 */
int ndp_build_na(const struct ndp_config *c, const uint8_t target[16], uint8_t *out, size_t cap);

/* The modified EUI-64 link-local address (fe80::/64) of a MAC (RFC 4291). */
void ndp_link_local(const uint8_t mac[6], uint8_t ll[16]);
/* The MAC whose EUI-64 link-local ll is, if ll is one (fe80::/64, ff:fe in
 * the middle of the interface identifier): true and *mac. */
bool ndp_link_local_mac(const uint8_t ll[16], uint8_t mac[6]);

#endif
