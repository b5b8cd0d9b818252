/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interface ids to MACs and a network's name to its ULA prefix, by hashing
 * (ident.h). Pure; runs in setup (root).
 */
#include <stdio.h>
#include <string.h>

#include "common/ident.h"

uint64_t ident_hash(uint64_t seed, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = seed ^ 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* FNV mixes the low bits poorly into the high ones; finish with a murmur-style mix. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

void ident_mac_from_uuid(const uuid_t id, uint8_t mac[6])
{
	uint64_t h = ident_hash(0x766d6e6574ull, id, sizeof(uuid_t));

	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

void ident_mac_for_user(const uuid_t id, uint32_t uid, uint8_t mac[6])
{
	/* The uid's bytes in a fixed order: the same MAC on every host. */
	const uint8_t u[4] = { (uint8_t)(uid >> 24), (uint8_t)(uid >> 16), (uint8_t)(uid >> 8),
			       (uint8_t)uid };
	uint64_t h = ident_hash(0x766d6e6575ull, id, sizeof(uuid_t));

	h = ident_hash(h, u, sizeof(u));
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

char *ident_mac_format(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

void ident_ula_prefix(const char *host_secret, const char *network, uint8_t prefix[8])
{
	uint64_t h = ident_hash(0, host_secret, strlen(host_secret));

	h = ident_hash(h, network, strlen(network));
	prefix[0] = 0xfd;
	for (int i = 1; i < 8; i++)
		prefix[i] = (uint8_t)(h >> (8 * i));
}

char *ident_ula_format(const uint8_t p[8], char *buf)
{
	/* inet_ntop-style: no leading zeros in groups; the /64 ends with "::". */
	snprintf(buf, 40, "%x:%x:%x:%x::", p[0] << 8 | p[1], p[2] << 8 | p[3],
		 p[4] << 8 | p[5], p[6] << 8 | p[7]);
	return buf;
}
