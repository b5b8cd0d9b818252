/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCPv4 responder for one VM. Pure: frames in, frames out, no I/O.
 * The address is decided at start-up (lease.h); this only speaks the protocol.
 */
#ifndef VMNET_DHCP_H
#define VMNET_DHCP_H

#include <stddef.h>
#include <stdint.h>

#include "parse/frame.h"

struct dhcp_config {
	uint32_t server;          /* gateway address, host order: server id and router */
	uint32_t mask;
	uint32_t yiaddr;          /* the VM's address */
	uint32_t dns;             /* 0: no DNS option */
	uint32_t lease_time;      /* seconds */
	uint16_t mtu;             /* 0: no MTU option */
	uint8_t server_mac[6];    /* source MAC of replies (the bridge's) */
};

/*
 * in/len: an Ethernet frame from the VM that dhcp_classify() took for
 * DHCP_CLIENT (parsed again here: only a client's messages come this way).
 * Writes a complete Ethernet/IPv4/UDP reply into out. Returns its length,
 * 0 when no reply is due (RELEASE, DECLINE, a REQUEST for another server),
 * or -1 when the message is malformed (the caller drops and counts it).
 */
int dhcp_reply(const struct dhcp_config *c, const uint8_t *in, size_t len,
	       uint8_t *out, size_t cap);

/* Classification of an Ethernet frame from the VM, by headers only:
 * DHCP_SERVER is any UDP from port 67 or to port 68 (what a client would
 * take as a server's, whatever the source port); DHCP_CLIENT a datagram
 * from 68 to 67 whose payload is all there (not a fragment). From the
 * frame's view (frame.h), or from the frame itself (parsed first). */
enum dhcp_kind { DHCP_NONE, DHCP_CLIENT, DHCP_SERVER };
enum dhcp_kind dhcp_classify_view(const struct frame_view *v);
enum dhcp_kind dhcp_classify(const uint8_t *frame, size_t len);

#endif
