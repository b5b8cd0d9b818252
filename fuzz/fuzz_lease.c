/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the lease file parser, the allocator and the
 * recording of a pool address set by hand: the file lives in a root-owned
 * directory, but a damaged file must not crash the helper or hand out an
 * address outside the pool.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "setup/lease.h"

#define CAP 64
#define START 0xc0a86901u
#define END 0xc0a86910u

static int odd_alive(const struct lease *l) { return l->pid & 1; }

/* Another user's lease keeps mac: running, or stopped within the lease time. */
static bool kept_by_other(const struct lease *l, size_t n, const uint8_t mac[6],
			  const struct lease_request *r)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].uid != r->uid && !(l[i].uid == LEASE_UID_UNKNOWN && !strcasecmp(l[i].id, r->id)) &&
		    !memcmp(l[i].mac, mac, 6) && ((l[i].pid > 0 && odd_alive(&l[i])) ||
						   l[i].time > r->now - r->lease_time))
			return true;
	return false;
}

/*
 * Whatever the file says: an address in the pool with one of r's two MACs,
 * never a MAC another user's lease keeps, never more than max_held leases
 * of r's user in the pool; or a refusal that names a live lease holding our
 * id or MAC, or (-EDQUOT) a user whose max_held leases all run.
 */
static void check_pick(struct lease *leases, size_t n, long long uid, unsigned max)
{
	struct lease_request r = { .start = START, .end = END,
				   .id = "2835E074-9892-4A79-AFFB-7E41D2605678",
				   .mac = { 0x0a, 0, 0, 0, 0, 1 }, .user_mac = { 0x0a, 0, 0, 0, 0, 2 },
				   .max_held = max, .uid = uid, .pid = 2, .now = 100000,
				   .lease_time = 86400, .alive = odd_alive };
	struct lease before[CAP];
	size_t n0 = n;
	unsigned held0 = lease_held(leases, n, &r);
	uint8_t mac[6];
	int busy = -1, i;

	memcpy(before, leases, n * sizeof(*leases));
	int mrc = lease_mac_for(leases, n, &r, mac);

	if (mrc == 0 && memcmp(mac, r.mac, 6) && memcmp(mac, r.user_mac, 6))
		abort();
	i = lease_pick(leases, &n, CAP, &r, &busy);
	if ((mrc < 0) != (i == -EADDRINUSE) ||
	    (mrc < 0 && !(kept_by_other(before, n0, r.mac, &r) &&
			  kept_by_other(before, n0, r.user_mac, &r))))
		abort();
	if (i >= 0 && (i >= (int)n || leases[i].addr <= START || leases[i].addr > END ||
		       leases[i].uid != uid || memcmp(leases[i].mac, mac, 6) ||
		       kept_by_other(before, n0, mac, &r)))
		abort();
	/* Over the bound only if it was already (a file written without it). */
	if (i >= 0 && max && lease_held(leases, n, &r) > (held0 > max ? held0 : max))
		abort();
	if (i == -EBUSY && (busy < 0 || busy >= (int)n || !odd_alive(&leases[busy]) ||
			    (strcasecmp(leases[busy].id, r.id) && memcmp(leases[busy].mac, mac, 6))))
		abort();
	if (i == -EDQUOT && (!max || held0 < max))
		abort();
}

/* An address of the pool set by hand (lease_take): recorded as ours, the
 * last line, with no other lease left on it (or ours already: nothing
 * changed); or refused because a live lease of another holds it (nothing
 * changed); never outside the pool. */
static void check_take(struct lease *leases, size_t n, long long uid, uint32_t addr,
		       unsigned max_held)
{
	struct lease_request r = { .start = START, .end = END,
				   .id = "2835E074-9892-4A79-AFFB-7E41D2605678",
				   .mac = { 0x0a, 0, 0, 0, 0, 1 }, .uid = uid, .pid = 3, .now = 100000,
				   .lease_time = 86400, .alive = odd_alive, .max_held = max_held };
	struct lease before[CAP];
	size_t m = n;
	int i;

	memcpy(before, leases, n * sizeof(*leases));
	i = lease_take(leases, &m, CAP, &r, addr);
	if ((addr <= START || addr > END) != (i == -EINVAL))
		abort();
	if ((i == -EBUSY || i == -EDQUOT) &&
	    (m != n || memcmp(before, leases, n * sizeof(*leases)) != 0))
		abort();
	if (i < 0)
		return;
	/* Taken: never past the user's bound (unless the line was theirs). */
	if (max_held && lease_held(leases, m, &r) > max_held &&
	    lease_held(before, n, &r) < lease_held(leases, m, &r))
		abort();
	/* r's line: its user's, or (this helper's own line already) one from
	 * before uids with its id. */
	if (i >= (int)m || leases[i].addr != addr || leases[i].pid != r.pid ||
	    (leases[i].uid != uid && leases[i].uid != LEASE_UID_UNKNOWN))
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
	check_pick(leases, n, size ? data[0] : 0, size > 1 ? data[1] % 4 : 0);
	n = lease_parse(text, leases, CAP);
	check_take(leases, n, size ? data[0] : 0, START - 1 + (size > 1 ? data[1] % 20 : 2),
		   size > 2 ? data[2] % 4 : 0);
	free(text);
	return 0;
}
