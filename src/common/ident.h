/* SPDX-License-Identifier: Apache-2.0 */
/* Stable identities derived by hashing: the VM's MAC and the network's ULA prefix. Pure. */
#ifndef VMNET_IDENT_H
#define VMNET_IDENT_H

#include <stddef.h>
#include <stdint.h>
#include <uuid.h>

/* A locally administered unicast MAC, the same for the same interface id. */
void ident_mac_from_uuid(const uuid_t id, uint8_t mac[6]);
/* Another one, the same for the same interface id and uid: what a user gets
 * for an id whose own MAC another user's lease keeps (setup/lease.h). */
void ident_mac_for_user(const uuid_t id, uint32_t uid, uint8_t mac[6]);
/* "0a:d6:36:c1:ea:f3"; buf must hold 18 bytes. */
char *ident_mac_format(const uint8_t mac[6], char *buf);
/* An RFC 4193 ULA /64 (fdXX:...::) from a host secret and a network name. */
void ident_ula_prefix(const char *host_secret, const char *network, uint8_t prefix[8]);
/* "fd9b:5a14:ba57:e3d3::"; buf must hold 40 bytes. */
char *ident_ula_format(const uint8_t prefix[8], char *buf);
/* 64-bit FNV-1a: stable across builds and machines. */
uint64_t ident_hash(uint64_t seed, const void *data, size_t len);

#endif
