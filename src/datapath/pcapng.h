/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcapng blocks for --pcap (capture.h), in the host's byte order (readers
 * take either, by the section header's byte-order magic): one section
 * header and one Ethernet interface at the start of each file, then one
 * Enhanced Packet Block per frame, with the frame's direction in its flags
 * (inbound: from the VM; outbound: to the VM) and, for a frame the helper
 * dropped, answered or made itself, a comment saying so. Pure: no I/O.
 * Readers: Wireshark, tshark, tcpdump -r (libpcap 1.1 and later), scapy.
 */
#ifndef VMNET_PCAPNG_H
#define VMNET_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* The snap length the interface declares: libpcap's largest (frames here
 * are at most 65550 bytes, past pcap's classic 65535). */
#define PCAPNG_SNAPLEN 262144

/* Enhanced Packet Block flags: the direction (bits 0-1). */
#define PCAPNG_INBOUND  1u
#define PCAPNG_OUTBOUND 2u

/*
 * The section header (naming app) and the interface description (an
 * Ethernet link named ifname, described by descr, timestamps in
 * nanoseconds). The bytes written, or 0 if they do not fit in cap.
 */
size_t pcapng_header(uint8_t *buf, size_t cap, const char *app, const char *ifname,
		     const char *descr);

/* The size of the Enhanced Packet Block pcapng_packet writes. */
size_t pcapng_packet_size(size_t caplen, const char *comment);

/*
 * One frame: caplen bytes of it captured (at most len, its real length),
 * at ts_ns (nanoseconds since the epoch), flags (PCAPNG_INBOUND or
 * PCAPNG_OUTBOUND), comment NULL for none. The bytes written, or 0 if the
 * block does not fit in cap.
 */
size_t pcapng_packet(uint8_t *buf, size_t cap, uint64_t ts_ns, const uint8_t *frame,
		     size_t caplen, size_t len, uint32_t flags, const char *comment);

#endif
