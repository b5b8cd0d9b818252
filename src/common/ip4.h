/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 address arithmetic on host byte order values. Pure. */
#ifndef VMNET_IP4_H
#define VMNET_IP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Dotted quad to host order; -1 if not exactly a.b.c.d with each 0..255. */
int ip4_parse(const char *s, uint32_t *out);
/* Host order to dotted quad; buf must hold 16 bytes. Returns buf. */
char *ip4_format(uint32_t a, char *buf);
/* True if mask is a contiguous run of ones followed by zeros (and not 0). */
bool ip4_mask_valid(uint32_t mask);
int ip4_mask_prefix(uint32_t mask);
uint32_t ip4_prefix_mask(int prefix);
/* RFC 1918: 10/8, 172.16/12, 192.168/16. */
bool ip4_is_private(uint32_t a);
static inline uint32_t ip4_network(uint32_t a, uint32_t mask) { return a & mask; }
static inline uint32_t ip4_broadcast(uint32_t a, uint32_t mask) { return a | ~mask; }

#endif
