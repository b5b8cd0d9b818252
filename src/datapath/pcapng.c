/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcapng blocks (pcapng.h), as the pcapng specification lays them out:
 * block type, total length, body, options, total length again; every
 * field 32-bit aligned. Pure: runs in the datapath (the user, sandboxed)
 * on frames it already holds, writes only into the caller's buffer.
 */
#include <string.h>

#include "datapath/pcapng.h"

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 0x00000001u
#define BLOCK_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define LINKTYPE_ETHERNET 1u

/* Option codes. */
#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define EPB_FLAGS 2

/* A 32-bit block, and an option whose value is padded to 32 bits. */
struct out {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put(struct out *o, const void *v, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void put32(struct out *o, uint32_t v)
{
	put(o, &v, 4);
}

static void put16(struct out *o, uint16_t v)
{
	put(o, &v, 2);
}

static void put_zeros(struct out *o, size_t n)
{
	static const uint8_t zero[4];

	put(o, zero, n);
}

static void option(struct out *o, uint16_t code, const void *v, size_t n)
{
	put16(o, code);
	put16(o, (uint16_t)n);
	put(o, v, n);
	put_zeros(o, pad4(n) - n);
}

/*
 * A comment option: the text and a newline. The newline is for scapy
 * (2.5), which takes a comment without one for a malformed option and
 * stops reading the block's options there; Wireshark shows it as it is.
 */
static void comment_option(struct out *o, const char *text)
{
	size_t n = strlen(text);

	put16(o, OPT_COMMENT);
	put16(o, (uint16_t)(n + 1));
	put(o, text, n);
	put(o, "\n", 1);
	put_zeros(o, pad4(n + 1) - (n + 1));
}

static void end_options(struct out *o)
{
	put32(o, OPT_END);
}

/* Opens a block: its type and a length filled in by block_end. */
static size_t block_begin(struct out *o, uint32_t type)
{
	size_t start = o->len;

	put32(o, type);
	put32(o, 0);
	return start;
}

static void block_end(struct out *o, size_t start)
{
	uint32_t total = (uint32_t)(o->len + 4 - start);

	put32(o, total);
	if (!o->overflow)
		memcpy(o->p + start + 4, &total, 4);
}

size_t pcapng_header(uint8_t *buf, size_t cap, const char *app, const char *ifname,
		     const char *descr)
{
	struct out o = { .p = buf, .cap = cap };
	uint8_t tsresol = 9;   /* 10^-9 s */
	size_t b;

	b = block_begin(&o, BLOCK_SHB);
	put32(&o, BYTE_ORDER_MAGIC);
	put16(&o, 1);          /* major version */
	put16(&o, 0);          /* minor version */
	put32(&o, 0xffffffffu);  /* section length: not given (-1) */
	put32(&o, 0xffffffffu);
	option(&o, SHB_USERAPPL, app, strlen(app));
	end_options(&o);
	block_end(&o, b);

	b = block_begin(&o, BLOCK_IDB);
	put16(&o, LINKTYPE_ETHERNET);
	put16(&o, 0);
	put32(&o, PCAPNG_SNAPLEN);
	option(&o, IF_NAME, ifname, strlen(ifname));
	option(&o, IF_DESCRIPTION, descr, strlen(descr));
	option(&o, IF_TSRESOL, &tsresol, 1);
	end_options(&o);
	block_end(&o, b);
	return o.overflow ? 0 : o.len;
}

size_t pcapng_packet_size(size_t caplen, const char *comment)
{
	/* type, length, interface, time (2), lengths (2); the data; the flags
	 * option; the end of options and the length again */
	size_t n = 4 * 7 + pad4(caplen) + 8 + 4 * 2;

	if (comment)
		n += 4 + pad4(strlen(comment) + 1);
	return n;
}

size_t pcapng_packet(uint8_t *buf, size_t cap, uint64_t ts_ns, const uint8_t *frame,
		     size_t caplen, size_t len, uint32_t flags, const char *comment)
{
	struct out o = { .p = buf, .cap = cap };
	size_t b;

	if (caplen > len || caplen > PCAPNG_SNAPLEN || pcapng_packet_size(caplen, comment) > cap)
		return 0;
	b = block_begin(&o, BLOCK_EPB);
	put32(&o, 0);                          /* interface 0 */
	put32(&o, (uint32_t)(ts_ns >> 32));
	put32(&o, (uint32_t)ts_ns);
	put32(&o, (uint32_t)caplen);
	put32(&o, (uint32_t)len);
	put(&o, frame, caplen);
	put_zeros(&o, pad4(caplen) - caplen);
	option(&o, EPB_FLAGS, &flags, 4);
	if (comment)
		comment_option(&o, comment);
	end_options(&o);
	block_end(&o, b);
	return o.overflow ? 0 : o.len;
}
