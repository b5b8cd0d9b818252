/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCP leases, allocated at start-up (as root, under the network lock) so the
 * unprivileged datapath only answers with a known address. One file per
 * network, one lease a line, parseable by tools:
 *   ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 interface_id=2835E074-... pid=1234 time=1732440000
 */
#ifndef VMNET_LEASE_H
#define VMNET_LEASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lease {
	uint32_t addr;        /* host order */
	uint8_t mac[6];
	char id[37];          /* interface id, uppercase UUID */
	pid_t pid;            /* helper holding it, 0 if none */
	long long time;       /* last start, unix seconds */
};

/*
 * Pure allocator. Given the existing leases, pick the address for id:
 * its own lease if any, else the first free address starting at a slot
 * derived from the id, else the oldest lease whose pid is not alive
 * (alive() says). Pool is [start+1, end]. Returns index into *leases after
 * updating/inserting (n updated), or -ENOSPC.
 */
int lease_pick(struct lease *leases, size_t *n, size_t cap, uint32_t start, uint32_t end,
	       const char *id, const uint8_t mac[6], pid_t pid, long long now,
	       int (*alive)(pid_t));

/* Parse / format the file text. Unparseable lines are skipped. */
size_t lease_parse(const char *text, struct lease *leases, size_t cap);
int lease_format(const struct lease *leases, size_t n, char *buf, size_t cap);

/* Read, pick and atomically rewrite path (caller holds the network lock). */
int lease_acquire(const char *path, uint32_t start, uint32_t end, const char *id,
		  const uint8_t mac[6], uint32_t *addr);

#endif
