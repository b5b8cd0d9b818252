/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory translation and split virtqueue walking for the vhost-user
 * backend. Pure (no system call); runs in the sandboxed datapath, on memory
 * the VM can change under it at any moment: every value is loaded once
 * (volatile) into a local, and only the local is checked and used.
 */
#include "parse/vring.h"

#include <stdatomic.h>
#include <string.h>

#define DESC_SIZE 16
#define RING_HDR 4             /* flags, idx */
#define USED_ELEM 8            /* id, len */

/* ---- loads and stores of guest memory, each exactly once ---------------- */

static uint16_t load16(const uint8_t *p)
{
	return *(const volatile uint16_t *)(const void *)p;
}

static void store16(uint8_t *p, uint16_t v)
{
	*(volatile uint16_t *)(void *)p = v;
}

static void store32(uint8_t *p, uint32_t v)
{
	*(volatile uint32_t *)(void *)p = v;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One descriptor, copied out once. An indirect table need not be aligned
 * (the spec asks nothing of it): then it is read byte by byte. */
static void load_desc(const uint8_t *p, struct desc *d)
{
	if (((uintptr_t)p & 7) == 0) {
		d->addr = *(const volatile uint64_t *)(const void *)p;
		d->len = *(const volatile uint32_t *)(const void *)(p + 8);
		d->flags = *(const volatile uint16_t *)(const void *)(p + 12);
		d->next = *(const volatile uint16_t *)(const void *)(p + 14);
		return;
	}
	uint8_t b[DESC_SIZE];
	for (int i = 0; i < DESC_SIZE; i++)
		b[i] = ((const volatile uint8_t *)p)[i];
	memcpy(&d->addr, b, 8);
	memcpy(&d->len, b + 8, 4);
	memcpy(&d->flags, b + 12, 2);
	memcpy(&d->next, b + 14, 2);
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

/* ---- the memory table ---------------------------------------------------- */

/* [a, a + alen) and [b, b + blen) overlap; neither wraps (checked first). */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vring_mem_check(const struct vring_mem *m, const char **why)
{
	if (m->n == 0 || m->n > VRING_MAX_REGIONS)
		return refuse(why, "no memory regions, or more than 8");
	for (unsigned i = 0; i < m->n; i++) {
		const struct vring_region *r = &m->r[i];

		if (r->size == 0)
			return refuse(why, "an empty memory region");
		/* Each end must be representable: start + size <= 2^64 - 1. */
		if (r->gpa > UINT64_MAX - r->size || r->uaddr > UINT64_MAX - r->size ||
		    (uintptr_t)r->host > UINTPTR_MAX - r->size)
			return refuse(why, "a memory region that wraps around the address space");
		for (unsigned j = 0; j < i; j++) {
			const struct vring_region *o = &m->r[j];
			if (overlap(r->gpa, r->size, o->gpa, o->size))
				return refuse(why, "memory regions that overlap in guest addresses");
			if (overlap(r->uaddr, r->size, o->uaddr, o->size))
				return refuse(why, "memory regions that overlap in frontend addresses");
		}
	}
	return 0;
}

/* addr..addr+len inside [start, start + size): checked without overflow. */
static bool inside(uint64_t start, uint64_t size, uint64_t addr, uint64_t len)
{
	return len > 0 && addr >= start && addr - start < size && len <= size - (addr - start);
}

uint8_t *vring_mem_gpa(const struct vring_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n && i < VRING_MAX_REGIONS; i++)
		if (inside(m->r[i].gpa, m->r[i].size, gpa, len))
			return m->r[i].host + (gpa - m->r[i].gpa);
	return NULL;
}

uint8_t *vring_mem_uva(const struct vring_mem *m, uint64_t uaddr, uint64_t len)
{
	for (unsigned i = 0; i < m->n && i < VRING_MAX_REGIONS; i++)
		if (inside(m->r[i].uaddr, m->r[i].size, uaddr, len))
			return m->r[i].host + (uaddr - m->r[i].uaddr);
	return NULL;
}

/* ---- setting up a ring --------------------------------------------------- */

static bool aligned(const uint8_t *p, uintptr_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

int vring_init(struct vring *v, const struct vring_mem *m, unsigned num, uint64_t desc,
	       uint64_t avail, uint64_t used, uint16_t base, bool event_idx, bool indirect,
	       const char **why)
{
	memset(v, 0, sizeof(*v));
	v->broken = true;
	if (num == 0 || num > VRING_MAX_SIZE || (num & (num - 1)))
		return refuse(why, "a queue size that is not a power of 2 up to 32768");
	/* The event fields after each ring are there whether used or not. */
	v->desc = vring_mem_uva(m, desc, (uint64_t)num * DESC_SIZE);
	v->avail = vring_mem_uva(m, avail, RING_HDR + (uint64_t)num * 2 + 2);
	v->used = vring_mem_uva(m, used, RING_HDR + (uint64_t)num * USED_ELEM + 2);
	if (!v->desc || !v->avail || !v->used)
		return refuse(why, "a ring outside guest memory");
	if (!aligned(v->desc, 16) || !aligned(v->avail, 2) || !aligned(v->used, 4))
		return refuse(why, "a misaligned ring");
	v->num = (uint16_t)num;
	v->last_avail = base;
	v->used_idx = load16(v->used + 2);
	v->event_idx = event_idx;
	v->indirect = indirect;
	v->broken = false;
	return 0;
}

/* ---- taking available chains --------------------------------------------- */

unsigned vring_avail(struct vring *v)
{
	uint16_t idx, n;

	if (v->broken)
		return 0;
	idx = load16(v->avail + 2);
	n = (uint16_t)(idx - v->last_avail);
	if (n > v->num) {
		v->broken = true;   /* more available than the ring holds */
		return 0;
	}
	return n;
}

struct walk {
	const uint8_t *table;    /* the descriptor table being walked */
	unsigned size;           /* its entries */
	bool in_indirect;
};

/* An indirect descriptor: continue in its table (only one, not nested). */
static int enter_indirect(const struct vring *v, const struct vring_mem *m,
			  const struct desc *d, struct walk *w, const char **why)
{
	if (!v->indirect)
		return refuse(why, "an indirect descriptor (not negotiated)");
	if (w->in_indirect)
		return refuse(why, "an indirect descriptor in an indirect table");
	if (d->flags & VRING_DESC_NEXT)
		return refuse(why, "an indirect descriptor with a next one");
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VRING_MAX_SIZE)
		return refuse(why, "an indirect table of a bad size");
	w->table = vring_mem_gpa(m, d->addr, d->len);
	if (w->table == NULL)
		return refuse(why, "an indirect table outside guest memory");
	w->size = d->len / DESC_SIZE;
	w->in_indirect = true;
	return 0;
}

/* One buffer of the chain. Empty ones add nothing. */
static int add_buffer(const struct vring_mem *m, const struct desc *d, enum vring_dir dir,
		      struct vring_chain *c, const char **why)
{
	uint8_t *p;

	if (!(d->flags & VRING_DESC_WRITE) != (dir == VRING_OUT))
		return refuse(why, dir == VRING_OUT ? "a device-writable buffer to transmit"
						    : "a read-only buffer to receive into");
	if (d->len == 0)
		return 0;
	if (c->n == VRING_CHAIN_MAX)
		return refuse(why, "a chain of more than 64 buffers");
	p = vring_mem_gpa(m, d->addr, d->len);
	if (p == NULL)
		return refuse(why, "a buffer outside guest memory");
	c->iov[c->n++] = (struct iovec){ p, d->len };
	c->len += d->len;
	return 0;
}

/* Follows the chain from c->head. Each table is walked at most its size
 * steps: a loop runs into that bound. */
static int walk_chain(const struct vring *v, const struct vring_mem *m, enum vring_dir dir,
		      struct vring_chain *c, const char **why)
{
	struct walk w = { v->desc, v->num, false };
	unsigned i = c->head, steps = 0;

	for (;;) {
		struct desc d;

		if (steps++ >= w.size)
			return refuse(why, "a chain longer than its table (a loop)");
		load_desc(w.table + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VRING_DESC_INDIRECT) {
			if (enter_indirect(v, m, &d, &w, why) < 0)
				return -1;
			i = 0;
			steps = 0;
			continue;
		}
		if (add_buffer(m, &d, dir, c, why) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_NEXT))
			return 0;
		i = d.next;
		if (i >= w.size)
			return refuse(why, "a next descriptor beyond its table");
	}
}

enum vring_result vring_pop(struct vring *v, const struct vring_mem *m, enum vring_dir dir,
			    struct vring_chain *c, const char **why)
{
	uint16_t head;

	c->n = 0;
	c->len = 0;
	if (vring_avail(v) == 0) {
		if (v->broken)
			*why = "an available index more than the queue size ahead";
		return v->broken ? VRING_BROKEN : VRING_EMPTY;
	}
	/* The entry is read after the index that made it available. */
	atomic_thread_fence(memory_order_acquire);
	head = load16(v->avail + RING_HDR + (size_t)(v->last_avail % v->num) * 2);
	if (head >= v->num) {
		*why = "an available head beyond the descriptor table";
		v->broken = true;
		return VRING_BROKEN;
	}
	v->last_avail++;
	c->head = head;
	if (walk_chain(v, m, dir, c, why) < 0) {
		c->n = 0;
		c->len = 0;
		return VRING_BAD;
	}
	return VRING_CHAIN;
}

void vring_unpop(struct vring *v, unsigned n)
{
	v->last_avail = (uint16_t)(v->last_avail - n);
}

/* ---- returning used chains ----------------------------------------------- */

void vring_push(struct vring *v, uint16_t head, uint32_t len)
{
	uint8_t *e;

	if (v->num == 0)
		return;   /* never set up */
	e = v->used + RING_HDR + (size_t)(v->used_idx % v->num) * USED_ELEM;
	store32(e, head);
	store32(e + 4, len);
	v->used_idx++;
}

void vring_publish(struct vring *v)
{
	/* The entries (and the buffers' contents) before the index. */
	atomic_thread_fence(memory_order_release);
	if (v->num)
		store16(v->used + 2, v->used_idx);
}

/* virtio's vring_need_event: the driver's event index lies in (old, new]. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vring_need_call(struct vring *v)
{
	uint16_t old = v->signalled, event;
	bool valid = v->signalled_valid;

	if (v->num == 0)
		return false;
	/* The used index is stored before the driver's wish is read. */
	atomic_thread_fence(memory_order_seq_cst);
	v->signalled = v->used_idx;
	v->signalled_valid = true;
	if (!v->event_idx)
		return !(load16(v->avail) & VRING_AVAIL_NO_INTERRUPT);
	event = load16(v->avail + RING_HDR + (size_t)v->num * 2);
	return !valid || need_event(event, v->used_idx, old);
}

void vring_kick_enable(struct vring *v, bool enable)
{
	if (v->num == 0)
		return;
	if (v->event_idx) {
		/* Disabled: the old event index stays; the guest kicks once more at most. */
		if (enable)
			store16(v->used + RING_HDR + (size_t)v->num * USED_ELEM, v->last_avail);
	} else {
		store16(v->used, enable ? 0 : VRING_USED_NO_NOTIFY);
	}
	/* The wish is published before the caller looks at the ring again. */
	atomic_thread_fence(memory_order_seq_cst);
}

/* ---- the bytes of a chain ------------------------------------------------ */

/* n bytes between the chain's bytes from off and buf, either way: the
 * number moved (fewer when the chain ends first). */
static size_t chain_copy(const struct vring_chain *c, size_t off, uint8_t *buf, size_t n,
			 bool to_chain)
{
	size_t done = 0;

	for (unsigned i = 0; i < c->n && done < n; i++) {
		size_t len = c->iov[i].iov_len, k;
		uint8_t *at;

		if (off >= len) {
			off -= len;
			continue;
		}
		at = (uint8_t *)c->iov[i].iov_base + off;
		k = len - off < n - done ? len - off : n - done;
		if (to_chain)
			memcpy(at, buf + done, k);
		else
			memcpy(buf + done, at, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vring_copy_from(const struct vring_chain *c, size_t off, void *dst, size_t n)
{
	return chain_copy(c, off, dst, n, false);
}

size_t vring_copy_to(const struct vring_chain *c, size_t off, const void *src, size_t n)
{
	return chain_copy(c, off, (uint8_t *)src, n, true);
}

int vring_iov_from(const struct vring_chain *c, size_t off, struct iovec *out, int max)
{
	int k = 0;

	for (unsigned i = 0; i < c->n && k < max; i++) {
		size_t len = c->iov[i].iov_len;

		if (off >= len) {
			off -= len;
			continue;
		}
		out[k++] = (struct iovec){ (uint8_t *)c->iov[i].iov_base + off, len - off };
		off = 0;
	}
	return k;
}
