/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the lease file parser and the allocator: the file
 * lives in a root-owned directory, but a damaged file must not crash the
 * helper or hand out an address outside the pool.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

#define CAP 64
#define START 0xc0a86901u
#define END 0xc0a86910u

static int odd_alive(pid_t pid) { return pid & 1; }

static void check_pick(struct lease *leases, size_t n)
{
	static const uint8_t mac[6] = { 0x0a, 0, 0, 0, 0, 1 };
	int i = lease_pick(leases, &n, CAP, START, END, "2835E074-9892-4A79-AFFB-7E41D2605678",
			   mac, 2, 1, odd_alive);

	if (i >= 0 && (i >= (int)n || leases[i].addr <= START || leases[i].addr > END))
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
	check_pick(leases, n);
	free(text);
	return 0;
}
