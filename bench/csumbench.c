/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csumbench: what the software checksum of a frame costs, the work the helper
 * does for every frame it hands an offloading VM (offload_to_vm). Times
 * csum_add (src/parse/pkt.c) on a buffer that stays in cache, as a frame just read
 * from the TAP is, against the one-word-at-a-time reference and the 8-byte
 * loop the helper used before.
 *
 * Usage: csumbench [--size BYTES] [--ms MILLISECONDS]   (default 65536, 300)
 * Prints one line per implementation: ns per frame and GB/s (median of 9 runs).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/unit/csum_ref.h"
#include "parse/pkt.h"

static volatile uint32_t sink;

/* The helper's checksum loop until the AVX2 path: 8 bytes per step. */
static uint16_t csum_prev(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	uint16_t w;

	for (; len >= 8; p += 8, len -= 8) {
		uint32_t q[2];
		memcpy(q, p, 8);
		s += (uint64_t)q[0] + q[1];
	}
	for (; len >= 2; p += 2, len -= 2) {
		memcpy(&w, p, 2);
		s += w;
	}
	if (len)
		s += p[0];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t run_ref(const uint8_t *p, size_t n) { return csum_ref(0, p, n); }
static uint16_t run_prev(const uint8_t *p, size_t n) { return csum_prev(p, n); }
static uint16_t run_now(const uint8_t *p, size_t n) { return csum_fold(csum_add(0, p, n)); }

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median ns per call over 9 runs of about ms milliseconds each. */
static double measure(uint16_t (*fn)(const uint8_t *, size_t), const uint8_t *p, size_t n,
		      double ms)
{
	double runs[9];
	long iters = 1;

	for (;;) {   /* calibrate */
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			sink += fn(p, n);
		if (now_ns() - t0 > ms * 1e6 / 10)
			break;
		iters *= 2;
	}
	iters *= 10;
	for (int r = 0; r < 9; r++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			sink += fn(p, n);
		runs[r] = (now_ns() - t0) / (double)iters;
	}
	qsort(runs, 9, sizeof(runs[0]), cmp);
	return runs[4];
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "ms", required_argument, NULL, 'm' },
		{ 0 },
	};
	const struct { const char *name; uint16_t (*fn)(const uint8_t *, size_t); } impl[] = {
		{ "reference (RFC 1071, 2 bytes/step)", run_ref },
		{ "previous (8 bytes/step)", run_prev },
		{ "csum_add (AVX2 if present)", run_now },
	};
	size_t size = 65536;
	double ms = 300;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': size = (size_t)atol(optarg); break;
		case 'm': ms = atof(optarg); break;
		default:
			fprintf(stderr, "usage: csumbench [--size BYTES] [--ms MILLISECONDS]\n");
			return 2;
		}
	}
	uint8_t *buf = malloc(size + 1);
	if (!buf || size == 0)
		return 1;
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 8));
	for (size_t i = 0; i < sizeof(impl) / sizeof(impl[0]); i++) {
		if (impl[i].fn(buf, size) != run_ref(buf, size)) {
			fprintf(stderr, "csumbench: %s gives a wrong checksum\n", impl[i].name);
			return 1;
		}
		double ns = measure(impl[i].fn, buf, size, ms);
		printf("%-36s %9.0f ns per %zu bytes  %6.1f GB/s\n", impl[i].name, ns, size,
		       (double)size / ns);
	}
	free(buf);
	return 0;
}
