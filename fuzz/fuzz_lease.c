/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the lease file parser, the allocator and the
 * recording of a pool address set by hand: the file lives in a root-owned
 * directory, but a damaged file must not crash the helper or hand out an
 * address outside the pool.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "setup/lease.h"

#define CAP 64
#define START 0xc0a86901u
#define END 0xc0a86910u

static int odd_alive(const struct lease *l) { return l->pid & 1; }

/* Whatever the file says: an address in the pool, or a refusal that names a
 * live lease holding our id or MAC. */
static void check_pick(struct lease *leases, size_t n, long long uid)
{
	struct lease_request r = { .start = START, .end = END,
				   .id = "2835E074-9892-4A79-AFFB-7E41D2605678",
				   .mac = { 0x0a, 0, 0, 0, 0, 1 }, .uid = uid, .pid = 2, .now = 100000,
				   .lease_time = 86400, .alive = odd_alive };
	int busy = -1, i = lease_pick(leases, &n, CAP, &r, &busy);

	if (i >= 0 && (i >= (int)n || leases[i].addr <= START || leases[i].addr > END ||
		       leases[i].uid != uid))
		abort();
	if (i == -EBUSY && (busy < 0 || busy >= (int)n || !odd_alive(&leases[busy]) ||
			    (strcasecmp(leases[busy].id, r.id) && memcmp(leases[busy].mac, r.mac, 6))))
		abort();
}

/* An address of the pool set by hand (lease_take): recorded as ours, the
 * last line, with no other lease left on it (or ours already: nothing
 * changed); or refused because a live lease of another holds it (nothing
 * changed); never outside the pool. */
static void check_take(struct lease *leases, size_t n, long long uid, uint32_t addr)
{
	struct lease_request r = { .start = START, .end = END,
				   .id = "2835E074-9892-4A79-AFFB-7E41D2605678",
				   .mac = { 0x0a, 0, 0, 0, 0, 1 }, .uid = uid, .pid = 3, .now = 100000,
				   .lease_time = 86400, .alive = odd_alive };
	struct lease before[CAP];
	size_t m = n;
	int i;

	memcpy(before, leases, n * sizeof(*leases));
	i = lease_take(leases, &m, CAP, &r, addr);
	if ((addr <= START || addr > END) != (i == -EINVAL))
		abort();
	if (i == -EBUSY && (m != n || memcmp(before, leases, n * sizeof(*leases)) != 0))
		abort();
	if (i < 0)
		return;
	if (i >= (int)m || leases[i].addr != addr || leases[i].uid != uid || leases[i].pid != r.pid)
		abort();
	if (m == n && memcmp(before, leases, n * sizeof(*leases)) == 0)
		return;   /* ours already: nothing changed */
	for (size_t j = 0; j < m; j++)
		if ((int)j != i && leases[j].addr == addr)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct lease leases[CAP];
	char *again;
	size_t n, cap = CAP * 160 + 1;
	int len;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = lease_parse(text, leases, CAP);
	/* What parses must format and parse back to the same number of leases. */
	again = malloc(cap);
	if (again) {
		len = lease_format(leases, n, again, cap);
		if (len < 0 || lease_parse(again, leases, CAP) != n)
			abort();
		free(again);
	}
	check_pick(leases, n, size ? data[0] : 0);
	n = lease_parse(text, leases, CAP);
	check_take(leases, n, size ? data[0] : 0, START - 1 + (size > 1 ? data[1] % 20 : 2));
	free(text);
	return 0;
}
