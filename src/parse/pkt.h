/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounds-checked reading of guest bytes. Every read of a frame that came from
 * a VM goes through a cursor; a read past the end fails and leaves the
 * destination untouched, so parsers copy fields into locals and check once.
 */
#ifndef VMNET_PKT_H
#define VMNET_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The small readers on every frame's path (the cursor's, the parse's, the
 * guards'): inlined however many callers they have. gcc stops inlining a
 * static function once a second caller appears (as the vhost-user entry
 * points did), and on the socket path that cost up to 60 instructions a
 * frame (bench/framecost.sh, docs/performance.md). */
#define PKT_INLINE static inline __attribute__((always_inline))

struct cursor {
	const uint8_t *p;
	size_t rem;
};

static inline struct cursor cur_init(const void *p, size_t len)
{
	struct cursor c = { p, len };
	return c;
}

PKT_INLINE bool cur_skip(struct cursor *c, size_t n)
{
	if (c->rem < n)
		return false;
	c->p += n;
	c->rem -= n;
	return true;
}

PKT_INLINE bool cur_bytes(struct cursor *c, void *dst, size_t n)
{
	if (c->rem < n)
		return false;
	memcpy(dst, c->p, n);
	c->p += n;
	c->rem -= n;
	return true;
}

/* Big-endian fields of a header copied whole out of a frame (cur_bytes into
 * a local array): one bounds check for the header, not one per field. */
static inline uint16_t hdr_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t hdr_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

PKT_INLINE bool cur_u8(struct cursor *c, uint8_t *v) { return cur_bytes(c, v, 1); }

PKT_INLINE bool cur_be16(struct cursor *c, uint16_t *v)
{
	uint8_t b[2];
	if (!cur_bytes(c, b, 2))
		return false;
	*v = hdr_be16(b);
	return true;
}

PKT_INLINE bool cur_be32(struct cursor *c, uint32_t *v)
{
	uint8_t b[4];
	if (!cur_bytes(c, b, 4))
		return false;
	*v = hdr_be32(b);
	return true;
}

/* A sub-cursor over the next n bytes, advancing c past them. */
PKT_INLINE bool cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (c->rem < n)
		return false;
	*sub = cur_init(c->p, n);
	c->p += n;
	c->rem -= n;
	return true;
}

/* Writers for building frames into our own buffers (bounds checked too). */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static inline void wb_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->len = 0;
	w->cap = cap;
	w->overflow = false;
}

static inline void wb_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

/* A big-endian 16-bit field written in place (checksums, lengths). */
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wb_u8(struct wbuf *w, uint8_t v) { wb_bytes(w, &v, 1); }
static inline void wb_be16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	wb_bytes(w, b, 2);
}
static inline void wb_be32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wb_bytes(w, b, 4);
}
static inline void wb_zero(struct wbuf *w, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memset(w->p + w->len, 0, n);
	w->len += n;
}

/* Internet checksum: accumulate with csum_add, finish with csum_fold. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);

/* An Ethernet header without a VLAN tag. */
#define PKT_ETH_HLEN 14
/* The largest frame on any socket: an MTU of 65536 (bridged mode, the
 * kernel's largest) or a 64 KiB TSO frame (offload.h), plus the header. */
#define PKT_MAX_FRAME 65550
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100

#endif
