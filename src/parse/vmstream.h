/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stream transport's framing (--socket-type stream, or a SOCK_STREAM
 * --fd): each Ethernet frame is preceded by its length as a 4-byte
 * big-endian integer, as QEMU's -netdev stream, libkrun's unixstream backend
 * and socket_vmnet send and expect them. Pure: it reads bytes a VM sent,
 * through the bounds-checked cursor of pkt.h, and does no I/O.
 */
#ifndef VMNET_VMSTREAM_H
#define VMNET_VMSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "parse/pkt.h"

#define VMSTREAM_HDR 4
/*
 * No frame anyone may send is longer than PKT_MAX_FRAME (pkt.h). A longer
 * length means the byte stream cannot be followed (garbage, or a peer that
 * lost its place): the connection is closed. Lengths up to it but over the
 * helper's own vmnet_max_packet_size are frames to drop and count.
 */

enum vmstream_result {
	VMS_FRAME,     /* a whole frame at *frame, *len bytes; *used bytes consumed */
	VMS_PARTIAL,   /* no whole frame in the bytes yet: read more, nothing consumed */
	VMS_BROKEN,    /* a length over PKT_MAX_FRAME (in *len): the stream is broken */
};

/* The first frame in buf[0..len). */
enum vmstream_result vmstream_next(const uint8_t *buf, size_t len, const uint8_t **frame,
				   size_t *frame_len, size_t *used);

/* The 4-byte header for a frame of len bytes (len <= PKT_MAX_FRAME). */
void vmstream_header(uint8_t hdr[VMSTREAM_HDR], size_t len);

#endif
