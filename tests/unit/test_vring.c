/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vring: guest memory translation and split virtqueues, on a byte array
 * standing for the guest's memory, with the rings a driver would write.
 */
#include <stdint.h>
#include <string.h>

#include "parse/vring.h"
#include "t.h"

/* Guest memory: 64 KiB at guest address 0x10000, frontend address 0x7f0000. */
#define GPA 0x10000u
#define UVA 0x7f0000u
#define MEM 65536u
#define NUM 8u
/* Where the rings are, as offsets into memory. */
#define DESC 0x0
#define AVAIL 0x100
#define USED 0x200
#define INDIRECT 0x400
#define DATA 0x1000

static _Alignas(64) uint8_t mem[MEM];
static struct vring_mem table;

static void setup_mem(void)
{
	memset(mem, 0, sizeof(mem));
	table = (struct vring_mem){ .n = 1, .r = { { GPA, MEM, UVA, mem } } };
}

static void desc(unsigned at, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = mem + at + i * 16;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail_add(unsigned slot, uint16_t head, uint16_t idx)
{
	memcpy(mem + AVAIL + 4 + slot * 2, &head, 2);
	memcpy(mem + AVAIL + 2, &idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, mem + USED + 2, 2);
	return v;
}

static int ring(struct vring *v, bool event_idx, bool indirect)
{
	const char *why;

	return vring_init(v, &table, NUM, UVA + DESC, UVA + AVAIL, UVA + USED, 0, event_idx,
			  indirect, &why);
}

static void test_mem(void)
{
	struct vring_mem m = { .n = 2, .r = { { 0, 0xa0000, 0x1000000, mem },
					     { 0xc0000, 0x1000, 0x2000000, mem + 0x1000 } } };
	const char *why = NULL;

	CHECK(vring_mem_check(&m, &why) == 0);
	CHECK(vring_mem_gpa(&m, 0, 1) == mem);
	CHECK(vring_mem_gpa(&m, 0x9ffff, 1) == mem + 0x9ffff);
	CHECK(vring_mem_gpa(&m, 0x9ffff, 2) == NULL);       /* crosses the end */
	CHECK(vring_mem_gpa(&m, 0xa0000, 1) == NULL);       /* the hole */
	CHECK(vring_mem_gpa(&m, 0xbffff, 2) == NULL);       /* into the next region */
	CHECK(vring_mem_gpa(&m, 0xc0000, 0x1000) == mem + 0x1000);
	CHECK(vring_mem_gpa(&m, 0xc0000, 0x1001) == NULL);
	CHECK(vring_mem_gpa(&m, 0, 0) == NULL);
	CHECK(vring_mem_gpa(&m, UINT64_MAX, 2) == NULL);     /* no wrap-around */
	CHECK(vring_mem_gpa(&m, 0x10, UINT64_MAX) == NULL);
	CHECK(vring_mem_uva(&m, 0x2000000, 16) == mem + 0x1000);
	CHECK(vring_mem_uva(&m, 0xc0000, 16) == NULL);       /* a guest address */
	/* Overlapping, empty and wrapping regions. */
	m.r[1].gpa = 0x9f000;
	CHECK(vring_mem_check(&m, &why) < 0 && why);
	m.r[1].gpa = 0xc0000;
	m.r[1].uaddr = 0x1000010;
	CHECK(vring_mem_check(&m, &why) < 0);
	m.r[1].uaddr = 0x2000000;
	m.r[1].size = 0;
	CHECK(vring_mem_check(&m, &why) < 0);
	m.r[1].size = 2;
	m.r[1].gpa = UINT64_MAX - 1;
	CHECK(vring_mem_check(&m, &why) < 0);
	m.r[1].gpa = UINT64_MAX - 2;
	CHECK(vring_mem_check(&m, &why) == 0);
	CHECK(vring_mem_gpa(&m, UINT64_MAX - 2, 2) == mem + 0x1000);
	CHECK(vring_mem_gpa(&m, UINT64_MAX - 1, 2) == NULL);
	m.n = 0;
	CHECK(vring_mem_check(&m, &why) < 0);
	m.n = 9;
	CHECK(vring_mem_check(&m, &why) < 0);
}

static void test_init(void)
{
	struct vring v;
	const char *why;

	setup_mem();
	CHECK(ring(&v, false, false) == 0 && !v.broken && v.num == NUM);
	/* Sizes and alignment. */
	CHECK(vring_init(&v, &table, 6, UVA, UVA + AVAIL, UVA + USED, 0, 0, 0, &why) < 0);
	CHECK(v.broken);
	CHECK(vring_init(&v, &table, 65536, UVA, UVA + AVAIL, UVA + USED, 0, 0, 0, &why) < 0);
	CHECK(vring_init(&v, &table, NUM, UVA + 8, UVA + AVAIL, UVA + USED, 0, 0, 0, &why) < 0);
	CHECK(vring_init(&v, &table, NUM, UVA, UVA + AVAIL + 1, UVA + USED, 0, 0, 0, &why) < 0);
	CHECK(vring_init(&v, &table, NUM, UVA, UVA + AVAIL, UVA + USED + 2, 0, 0, 0, &why) < 0);
	/* Rings that run past the end of memory (the used ring's event field too). */
	CHECK(vring_init(&v, &table, NUM, UVA, UVA + AVAIL, UVA + MEM - 4 - 8 * NUM, 0, 0, 0,
			 &why) < 0);
	CHECK(vring_init(&v, &table, NUM, UVA, UVA + AVAIL, UVA + MEM - 4 - 8 * NUM - 4, 0, 0, 0,
			 &why) == 0);
	CHECK(vring_init(&v, &table, NUM, GPA, GPA + AVAIL, GPA + USED, 0, 0, 0, &why) < 0);
	/* The used index continues from the ring's. */
	memcpy(mem + USED + 2, &(uint16_t){ 5 }, 2);
	CHECK(vring_init(&v, &table, NUM, UVA, UVA + AVAIL, UVA + USED, 5, 0, 0, &why) == 0);
	CHECK(v.used_idx == 5 && v.last_avail == 5);
}

static void test_chains(void)
{
	struct vring v;
	struct vring_chain c;
	const char *why;
	uint8_t out[64];

	setup_mem();
	ring(&v, false, false);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_EMPTY);
	/* A frame in two buffers, an empty one between. */
	desc(DESC, 0, GPA + DATA, 12, VRING_DESC_NEXT, 3);
	desc(DESC, 3, GPA + DATA + 100, 0, VRING_DESC_NEXT, 5);
	desc(DESC, 5, GPA + DATA + 200, 60, 0, 0);
	memcpy(mem + DATA, "virtio-hdr..", 12);
	memcpy(mem + DATA + 200, "frame", 5);
	avail_add(0, 0, 1);
	CHECK(vring_avail(&v) == 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN);
	CHECK(c.head == 0 && c.n == 2 && c.len == 72);
	CHECK(c.iov[0].iov_base == mem + DATA && c.iov[1].iov_base == mem + DATA + 200);
	CHECK(vring_copy_from(&c, 10, out, 7) == 7 && memcmp(out, "..frame", 7) == 0);
	CHECK(vring_copy_from(&c, 70, out, 7) == 2);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_EMPTY);
	vring_push(&v, 0, 0);
	CHECK(used_idx() == 0);   /* not before publishing */
	vring_publish(&v);
	CHECK(used_idx() == 1);

	/* Receive: only writable buffers. */
	avail_add(1, 0, 2);
	CHECK(vring_pop(&v, &table, VRING_IN, &c, &why) == VRING_BAD && why && c.head == 0);
	desc(DESC, 0, GPA + DATA, 12, VRING_DESC_NEXT | VRING_DESC_WRITE, 1);
	desc(DESC, 1, GPA + DATA + 12, 1514, VRING_DESC_WRITE, 0);
	avail_add(2, 0, 3);
	CHECK(vring_pop(&v, &table, VRING_IN, &c, &why) == VRING_CHAIN && c.len == 1526);
	CHECK(vring_copy_to(&c, 10, "abcd", 4) == 4 && memcmp(mem + DATA + 10, "abcd", 4) == 0);
	/* A writable buffer in a transmit chain. */
	avail_add(3, 0, 4);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD && why);
	/* iovecs from an offset. */
	struct iovec iov[4];
	desc(DESC, 0, GPA + DATA, 12, VRING_DESC_NEXT, 1);
	desc(DESC, 1, GPA + DATA + 12, 100, 0, 0);
	avail_add(4, 0, 5);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN);
	CHECK(vring_iov_from(&c, 20, iov, 4) == 1 && iov[0].iov_len == 92);
	CHECK(iov[0].iov_base == mem + DATA + 20);
	CHECK(vring_iov_from(&c, 12, iov, 4) == 1 && iov[0].iov_len == 100);
	CHECK(vring_iov_from(&c, 2, iov, 4) == 2 && iov[0].iov_len == 10);
	CHECK(vring_iov_from(&c, 112, iov, 4) == 0);
}

/* Everything a hostile guest can put in a chain is a bad chain, not a crash. */
static void test_bad_chains(void)
{
	struct vring v;
	struct vring_chain c;
	const char *why;

	setup_mem();
	ring(&v, false, false);
	/* A loop. */
	desc(DESC, 0, GPA + DATA, 10, VRING_DESC_NEXT, 1);
	desc(DESC, 1, GPA + DATA, 10, VRING_DESC_NEXT, 0);
	avail_add(0, 0, 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD && c.n == 0 && c.len == 0);
	/* A chain as long as the table is fine, one more is a loop. */
	for (unsigned i = 0; i < NUM; i++)
		desc(DESC, i, GPA + DATA, 10, i + 1 < NUM ? VRING_DESC_NEXT : 0, (uint16_t)(i + 1));
	avail_add(1, 0, 2);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN && c.n == NUM);
	desc(DESC, NUM - 1, GPA + DATA, 10, VRING_DESC_NEXT, 0);
	avail_add(2, 0, 3);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	/* next beyond the table. */
	desc(DESC, 0, GPA + DATA, 10, VRING_DESC_NEXT, NUM);
	avail_add(3, 0, 4);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	/* Buffers outside memory, or crossing its end, or wrapping. */
	desc(DESC, 0, GPA - 1, 10, 0, 0);
	avail_add(4, 0, 5);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(DESC, 0, GPA + MEM - 4, 5, 0, 0);
	avail_add(5, 0, 6);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(DESC, 0, UINT64_MAX - 3, 0xffffffffu, 0, 0);
	avail_add(6, 0, 7);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(DESC, 0, GPA + MEM - 4, 4, 0, 0);
	avail_add(7, 0, 8);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN && c.len == 4);
	/* Indirect without negotiating it. */
	desc(DESC, 0, GPA + INDIRECT, 32, VRING_DESC_INDIRECT, 0);
	avail_add(0, 0, 9);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD && why);
	/* More than VRING_CHAIN_MAX buffers (a queue of 128 lets a chain be that long). */
	struct vring big;
	CHECK(vring_init(&big, &table, 128, UVA + 0x2000, UVA + AVAIL, UVA + USED, 9, 0, 0,
			 &why) == 0);
	for (unsigned i = 0; i < 128; i++) {
		uint8_t *d = mem + 0x2000 + i * 16;
		uint64_t a = GPA + DATA;
		uint32_t l = 1;
		uint16_t f = i < VRING_CHAIN_MAX ? VRING_DESC_NEXT : 0, n = (uint16_t)(i + 1);
		memcpy(d, &a, 8);
		memcpy(d + 8, &l, 4);
		memcpy(d + 12, &f, 2);
		memcpy(d + 14, &n, 2);
	}
	avail_add(1, 0, 10);
	CHECK(vring_pop(&big, &table, VRING_OUT, &c, &why) == VRING_BAD && why);
	memcpy(mem + 0x2000 + (VRING_CHAIN_MAX - 1) * 16 + 12, &(uint16_t){ 0 }, 2);
	avail_add(2, 0, 11);
	CHECK(vring_pop(&big, &table, VRING_OUT, &c, &why) == VRING_CHAIN);
	CHECK(c.n == VRING_CHAIN_MAX);
}

static void test_broken(void)
{
	struct vring v;
	struct vring_chain c;
	const char *why;

	setup_mem();
	ring(&v, false, false);
	/* An index more than the queue size ahead. */
	avail_add(0, 0, NUM + 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BROKEN && v.broken);
	CHECK(vring_avail(&v) == 0);
	ring(&v, false, false);
	avail_add(0, 0, NUM);
	CHECK(vring_avail(&v) == NUM && !v.broken);
	/* A head beyond the table. */
	avail_add(0, NUM, 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BROKEN && v.broken);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BROKEN);
}

static void test_indirect(void)
{
	struct vring v;
	struct vring_chain c;
	const char *why;

	setup_mem();
	ring(&v, false, true);
	desc(INDIRECT, 0, GPA + DATA, 12, VRING_DESC_NEXT, 1);
	desc(INDIRECT, 1, GPA + DATA + 64, 1000, 0, 0);
	desc(DESC, 2, GPA + INDIRECT, 32, VRING_DESC_INDIRECT, 0);
	avail_add(0, 2, 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN);
	CHECK(c.head == 2 && c.n == 2 && c.len == 1012);
	/* An unaligned table is read all the same. */
	memmove(mem + INDIRECT + 4, mem + INDIRECT, 32);
	desc(DESC, 2, GPA + INDIRECT + 4, 32, VRING_DESC_INDIRECT, 0);
	avail_add(1, 2, 2);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN && c.len == 1012);
	/* Nested, with NEXT, of a bad size, outside memory, looping. */
	desc(INDIRECT, 0, GPA + INDIRECT, 32, VRING_DESC_INDIRECT, 0);
	desc(DESC, 2, GPA + INDIRECT, 32, VRING_DESC_INDIRECT, 0);
	avail_add(2, 2, 3);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(INDIRECT, 0, GPA + DATA, 12, VRING_DESC_NEXT, 1);
	desc(DESC, 2, GPA + INDIRECT, 32, VRING_DESC_INDIRECT | VRING_DESC_NEXT, 3);
	avail_add(3, 2, 4);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(DESC, 2, GPA + INDIRECT, 24, VRING_DESC_INDIRECT, 0);
	avail_add(4, 2, 5);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(DESC, 2, GPA + MEM - 16, 32, VRING_DESC_INDIRECT, 0);
	avail_add(5, 2, 6);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	desc(INDIRECT, 1, GPA + DATA, 12, VRING_DESC_NEXT, 0);
	desc(DESC, 2, GPA + INDIRECT, 32, VRING_DESC_INDIRECT, 0);
	avail_add(6, 2, 7);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
	/* A next index beyond the indirect table (but inside the ring's). */
	desc(INDIRECT, 1, GPA + DATA, 12, VRING_DESC_NEXT, 2);
	avail_add(7, 2, 8);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_BAD);
}

static void test_notify(void)
{
	struct vring v;
	struct vring_chain c;
	const char *why;
	uint16_t ev;

	setup_mem();
	ring(&v, false, false);
	vring_push(&v, 0, 0);
	vring_publish(&v);
	CHECK(vring_need_call(&v));
	memcpy(mem + AVAIL, &(uint16_t){ VRING_AVAIL_NO_INTERRUPT }, 2);
	CHECK(!vring_need_call(&v));
	vring_kick_enable(&v, false);
	CHECK(mem[USED] == VRING_USED_NO_NOTIFY);
	vring_kick_enable(&v, true);
	CHECK(mem[USED] == 0);

	/* Event index: interrupt when used passes the driver's used_event. */
	setup_mem();
	ring(&v, true, false);
	memcpy(mem + AVAIL + 4 + NUM * 2, &(uint16_t){ 1 }, 2);   /* used_event 1 */
	vring_push(&v, 0, 0);
	vring_publish(&v);
	CHECK(vring_need_call(&v));      /* the first time always */
	vring_push(&v, 0, 0);
	vring_publish(&v);               /* used 2: passed used_event 1 (old 1 -> new 2) */
	CHECK(vring_need_call(&v));
	vring_push(&v, 0, 0);
	vring_publish(&v);               /* used 3: 1 is behind */
	CHECK(!vring_need_call(&v));
	memcpy(mem + AVAIL + 4 + NUM * 2, &(uint16_t){ 4 }, 2);
	vring_push(&v, 0, 0);
	vring_push(&v, 0, 0);
	vring_publish(&v);               /* 3 -> 5 passes 4 */
	CHECK(vring_need_call(&v));
	/* avail_event: where we want the next kick. */
	desc(DESC, 0, GPA + DATA, 10, 0, 0);
	avail_add(0, 0, 1);
	CHECK(vring_pop(&v, &table, VRING_OUT, &c, &why) == VRING_CHAIN);
	vring_kick_enable(&v, true);
	memcpy(&ev, mem + USED + 4 + NUM * 8, 2);
	CHECK(ev == 1);
	/* Mergeable buffers left over go back. */
	vring_unpop(&v, 1);
	CHECK(v.last_avail == 0 && vring_avail(&v) == 1);
}

static void tests(void)
{
	test_mem();
	test_init();
	test_chains();
	test_bad_chains();
	test_broken();
	test_indirect();
	test_notify();
}

T_MAIN
