/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One frame from the VM, parsed once: where its layers are and what their
 * headers say, for every reader of the frame's path (vmframe.c's guards,
 * the NDP inspector, the DHCP classifier, offload) to read instead of
 * walking the frame again from its first byte. Pure: frame_parse() reads
 * the frame through the cursor of pkt.h alone and decides nothing; each
 * reader applies its own rules to the view (a malformed header is the
 * guards' drop, offload's drop, or DHCP's "not DHCP").
 *
 * Every offset and length in a view lies inside the frame it was parsed
 * from: l3_off + l3_len <= len when l3_ok, and l4_off + l4_len <= l3_off +
 * l3_len when the IP header is whole. No VLAN tag is looked through
 * (tagged frames are the guards' drop): L3 starts at PKT_ETH_HLEN.
 *
 * A view describes the bytes it was parsed from. Offload rewrites checksum
 * fields in place after the guards (the TCP checksum of a GSO frame, the
 * IPv4 header checksum): offsets and lengths stay true, l4_csum does not,
 * and offload is the view's last reader. A frame checked again (after a
 * claim) is parsed again.
 */
#ifndef VMNET_FRAME_H
#define VMNET_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The layer after Ethernet, by ethertype. */
enum frame_l3 {
	FRAME_L3_OTHER,   /* anything else, a VLAN tag included: not looked into */
	FRAME_L3_ARP,
	FRAME_L3_IPV4,
	FRAME_L3_IPV6,
};

/* How the walk of an IPv6 extension header chain ended. */
enum frame_chain {
	FRAME_CHAIN_OK,     /* at the upper-layer header, or at a later fragment's
			     * fragment header (frag_later: no upper layer here) */
	FRAME_CHAIN_CUT,    /* an extension header runs past the payload */
	FRAME_CHAIN_LONG,   /* FRAME_EXT_MAX extension headers without an end: a
			     * longer chain only serves to hide the upper layer */
	FRAME_CHAIN_PART,   /* a first fragment that ends inside its upper-layer
			     * header (RFC 7112: the whole chain, that header
			     * included, is in the first fragment) */
};

/* Extension headers walked at most (a fragment header counts). */
#define FRAME_EXT_MAX 8

/* Upper-layer protocol numbers the readers look for. */
#define FRAME_TCP 6
#define FRAME_UDP 17
#define FRAME_ICMPV6 58

/* The L4 bytes a field needs: it is set (non-zero) only when l4_len holds
 * them; a reader checks l4_len before it takes a field's 0 for a value. */
#define FRAME_SPORT_END 2         /* TCP, UDP */
#define FRAME_DPORT_END 4
#define FRAME_UDP_HLEN 8          /* udp_len, l4_csum */
#define FRAME_TCP_FIELDS_END 18   /* tcp_hlen, tcp_flags, l4_csum */
#define FRAME_ICMP6_END 2         /* icmp6_type, icmp6_code */

struct frame_view {
	size_t len;                /* the frame, as received (Ethernet padding included) */
	enum frame_l3 l3;          /* the layer after Ethernet */
	enum frame_chain chain;    /* IPv6: how the extension header walk ended */
	/* Ethernet */
	uint8_t src[6];
	uint16_t ethertype;        /* a tag's TPID for a tagged frame */
	bool tagged;               /* 802.1Q, 802.1ad, or the older 0x9100/0x9200 */
	/* L3 */
	bool l3_ok;                /* IPv4/IPv6: the header is whole and its lengths
				    * fit the frame (what a kernel checks first) */
	uint8_t l3_off;            /* PKT_ETH_HLEN */
	uint8_t ip4_hlen;          /* IPv4: header length in bytes (20..60) */
	uint32_t l3_len;           /* IPv4 total length, IPv6 40 + payload length:
				    * the datagram, without Ethernet padding (for
				    * a head, frame_parse_head: clipped to it) */
	uint32_t l3_stated;        /* the datagram's length as its header states
				    * it: l3_len, but for a head's clipped one */
	uint32_t ip4_src;          /* IPv4: source, host order */
	uint16_t ip4_frag;         /* IPv4: flags and fragment offset as sent */
	/* IPv6 extension headers, walked once */
	uint8_t ext_count;         /* extension headers walked */
	bool ext_opts_only;        /* every one met (one cut short too) was
				    * hop-by-hop or destination options */
	/* Fragments (IPv4 and IPv6) */
	bool frag_first;           /* offset 0, more to come (IPv6: any fragment
				    * header with offset 0) */
	bool frag_later;           /* a non-zero offset: no upper-layer header */
	/* L4: where the IPv4 header or the IPv6 chain's walk ended (for
	 * FRAME_CHAIN_CUT: at the header cut short). Set when l3_ok. */
	bool has_l4;               /* an upper-layer header starts at l4_off (not a
				    * later fragment, not an extension header, not
				    * a chain cut short) */
	uint8_t l4_proto;          /* the protocol (next header) at l4_off */
	uint32_t l4_off;           /* from the start of the frame */
	uint16_t l4_len;           /* to the end of the datagram */
	uint16_t sport, dport;     /* TCP, UDP (FRAME_SPORT_END, FRAME_DPORT_END) */
	uint16_t udp_len;          /* UDP (FRAME_UDP_HLEN) */
	uint16_t l4_csum;          /* UDP (FRAME_UDP_HLEN), TCP (FRAME_TCP_FIELDS_END) */
	uint8_t tcp_hlen;          /* TCP: data offset in bytes (FRAME_TCP_FIELDS_END) */
	uint8_t tcp_flags;
	uint8_t icmp6_type, icmp6_code;   /* ICMPv6 (FRAME_ICMP6_END) */
};

/*
 * Parses frame/len into *v. Returns false for a frame shorter than an
 * Ethernet header (*v then says FRAME_L3_OTHER and holds nothing else).
 */
bool frame_parse(const uint8_t *frame, size_t len, struct frame_view *v);

/*
 * vhost-user: the view of a frame of len bytes of which head holds only the
 * first head_len (a copy out of guest memory; the payload is not read). As
 * frame_parse(head, head_len) would see it with the IP length clipped to
 * the head: a shorter frame with the same headers, every offset and length
 * inside the head. l3_stated keeps the IP length as stated; one past the
 * whole frame (len) is not clipped, so the header is not l3_ok. For
 * head_len == len, the same view as frame_parse.
 */
bool frame_parse_head(const uint8_t *head, size_t head_len, size_t len, struct frame_view *v);

#endif
