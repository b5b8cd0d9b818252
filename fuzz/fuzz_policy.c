/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the policy file parser and its questions. The file
 * is root's, but a damaged one must give one line of error, never a crash,
 * and what parses must be consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "setup/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the text. */
	char *text = malloc(size ? size : 1), err[256];
	struct policy p;
	struct policy_request r = { .mode = MODE_SHARED, .start = 0xc0a86901u, .mask = 0xffffff00u };

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (policy_parse(text, size, &p, err, sizeof(err)) < 0) {
		if (strchr(err, '\n') || strncmp(err, "line ", 5) != 0)
			abort();
		free(text);
		return 0;
	}
	if (p.nnetworks < 0 || p.nnetworks > POLICY_MAX_NETWORKS || p.nsubnets > POLICY_MAX_SUBNETS)
		abort();
	for (int i = 0; i < p.nnetworks; i++) {
		const struct policy_network *n = &p.networks[i];

		if (policy_network(&p, n->name) != n || !n->name[0])
			abort();
		if (n->mode == MODE_BRIDGED ? !n->shared_interface[0] : n->shared_interface[0] != '\0')
			abort();
	}
	for (int i = 0; i < p.nsubnets; i++)
		if ((p.subnets[i].addr & p.subnets[i].mask) != p.subnets[i].addr)
			abort();
	/* max-leases-per-user: at least one lease, never more than asked. */
	if (policy_max_leases(&p, 0) < 1 || policy_max_leases(&p, 13) < 1 ||
	    (p.max_leases_percent && (p.max_leases < 1 || p.max_leases > 100 ||
				      policy_max_leases(&p, 253) > 253)))
		abort();
	/* A named network's subnet is never a user's any other way: where
	 * policy_reserved refuses, policy_allows_subnet does too, and every
	 * named network with addresses is reserved. */
	for (int i = 0; i < p.nnetworks; i++) {
		const struct policy_network *n = &p.networks[i];

		if (n->mode == MODE_BRIDGED || !n->start)
			continue;
		if (policy_reserved(&p, n->start, n->mask, err, sizeof(err)) == 0 ||
		    policy_allows_subnet(&p, n->start, n->mask, err, sizeof(err)) == 0 ||
		    strchr(err, '\n'))
			abort();
	}
	if (size >= 8) {
		uint32_t a, m;

		memcpy(&a, data + size - 8, 4);
		memcpy(&m, data + size - 4, 4);
		m = m ? ~0u << (m % 25) : 0xffffff00u;
		if (policy_reserved(&p, a, m, err, sizeof(err)) < 0 &&
		    policy_allows_subnet(&p, a, m, err, sizeof(err)) == 0)
			abort();
	}
	policy_allows(&p, &r, err, sizeof(err));
	r.mode = MODE_BRIDGED;
	r.shared_interface = "eth0";
	policy_allows(&p, &r, err, sizeof(err));
	/* Who may use each network: any answer, never a crash. */
	const char *groups[] = { "vmnet", "staff" };
	for (int i = 0; i < p.nnetworks; i++) {
		const struct policy_network *n = &p.networks[i];

		if (n->nusers < 0 || n->nusers > POLICY_MAX_MEMBERS || n->ngroups < 0 ||
		    n->ngroups > POLICY_MAX_MEMBERS)
			abort();
		if (policy_allows_user(&p, n->name, "alice", groups, 2, err, sizeof(err)) < 0 &&
		    (n->nusers + n->ngroups == 0 || strchr(err, '\n')))
			abort();
	}
	policy_allows_user(&p, "shared", NULL, NULL, 0, err, sizeof(err));
	free(text);
	return 0;
}
