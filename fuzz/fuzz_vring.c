/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vring.c: guest memory and the split virtqueues in
 * it, all chosen by a hostile guest. The first 16 input bytes set the ring
 * up (queue size, event index, indirect descriptors, where the three parts
 * are, the base, how guest memory is cut into regions and which direction
 * each chain is taken in); the rest is the content of guest memory, and each
 * step also changes one byte of it, as a guest may while we read. Every
 * chain taken must lie inside guest memory, add up to its length and stay
 * within the bounds; a bad chain must be returnable; a broken ring must stay
 * broken: not just no crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/vring.h"

#define MEM 65536u
#define GPA 0x1000u
#define UVA 0x100000u

static _Alignas(4096) uint8_t mem[MEM];

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Guest memory in one region, or two with a hole between them in guest
 * addresses (as QEMU's below and above 640 KiB). */
static void regions(struct vring_mem *m, uint8_t flags, uint16_t split)
{
	size_t cut = split % MEM;

	if (!(flags & 4) || cut == 0) {
		*m = (struct vring_mem){ .n = 1, .r = { { GPA, MEM, UVA, mem } } };
		return;
	}
	*m = (struct vring_mem){ .n = 2, .r = {
		{ GPA, cut, UVA, mem },
		{ GPA + cut + 0x2000, MEM - cut, UVA + cut, mem + cut } } };
}

static void check_chain(const struct vring *v, const struct vring_chain *c)
{
	size_t sum = 0;

	if (c->head >= v->num || c->n > VRING_CHAIN_MAX)
		abort();
	for (unsigned i = 0; i < c->n; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;

		if (len == 0 || p < mem || p > mem + MEM || len > (size_t)(mem + MEM - p))
			abort();
		sum += len;
	}
	if (sum != c->len)
		abort();
}

/* What the backend does with a chain: copy the head out, point at the rest,
 * or write into it. */
static uint32_t use_chain(const struct vring_chain *c, enum vring_dir dir, uint8_t b)
{
	uint8_t head[256];
	struct iovec iov[VRING_CHAIN_MAX];
	size_t n = vring_copy_from(c, b % 16, head, sizeof(head));
	int k = vring_iov_from(c, b % 16 + n, iov, VRING_CHAIN_MAX);
	size_t rest = 0;

	for (int i = 0; i < k; i++)
		rest += iov[i].iov_len;
	if (n > sizeof(head) || (c->len > b % 16 && n + rest + b % 16 != c->len))
		abort();
	if (dir == VRING_IN) {
		memset(head, b, sizeof(head));
		if (vring_copy_to(c, 0, head, sizeof(head)) > c->len)
			abort();
	}
	return (uint32_t)c->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vring_mem m;
	struct vring v;
	struct vring_chain c;
	const char *why = NULL;
	const uint8_t *cfg = data, *edits;
	size_t nedits;

	if (size < 16)
		return 0;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 16, size - 16 < MEM ? size - 16 : MEM);
	edits = data + 16;
	nedits = size - 16;
	regions(&m, cfg[1], get16(cfg + 10));
	if (vring_mem_check(&m, &why) < 0)
		abort();
	if (vring_init(&v, &m, 1u << (cfg[0] % 10), UVA + get16(cfg + 2), UVA + get16(cfg + 4),
		       UVA + get16(cfg + 6), get16(cfg + 8), cfg[1] & 1, cfg[1] & 2, &why) < 0) {
		if (!why || !v.broken)
			abort();
		return 0;
	}
	for (unsigned step = 0; step < 2u * v.num + 8; step++) {
		enum vring_dir dir = (cfg[12 + step / 8 % 4] >> (step % 8)) & 1 ? VRING_IN : VRING_OUT;
		uint8_t b = nedits ? edits[step % nedits] : 0;
		bool was_broken = v.broken;
		enum vring_result r;

		why = NULL;
		r = vring_pop(&v, &m, dir, &c, &why);
		if (was_broken && r != VRING_BROKEN)
			abort();
		if (r == VRING_BROKEN && (!v.broken || !why))
			break;
		if (r == VRING_BROKEN)
			break;
		if (r == VRING_EMPTY)
			continue;
		check_chain(&v, &c);
		if (r == VRING_BAD && (c.n || c.len || !why))
			abort();
		vring_push(&v, c.head, r == VRING_CHAIN ? use_chain(&c, dir, b) : 0);
		if (step % 3 == 0) {
			vring_publish(&v);
			vring_need_call(&v);
			vring_kick_enable(&v, b & 1);
		}
		if (b & 0x80)
			vring_unpop(&v, 1);
		/* The guest writes to its memory meanwhile. */
		mem[(get16(cfg + 14) + step * 97u) % MEM] ^= b;
	}
	vring_publish(&v);
	return 0;
}
