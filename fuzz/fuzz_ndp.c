/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the NDP guard: the input is an Ethernet frame from a
 * hostile VM. Classifying must never read past it; and whatever the input,
 * the RA we build stays well formed and is itself caught by the guard.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/ndp.h"
#include "parse/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the frame. */
	uint8_t *frame = malloc(size ? size : 1);
	struct ndp_config c = { .router_lifetime = 1800, .valid_lifetime = 86400,
				.preferred_lifetime = 14400, .dns_lifetime = 1800 };
	uint8_t out[256];
	int n;

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	(void)ndp_classify(frame, size);
	/* Fuzzer bytes as configuration: no value may break the RA. */
	if (size >= 6 + 8 + 16 + 3) {
		memcpy(c.router_mac, data, 6);
		memcpy(c.prefix, data + 6, 8);
		memcpy(c.dns, data + 14, 16);
		c.has_dns = data[30] & 1;
		c.mtu = (uint16_t)(data[31] << 8 | data[32]);
	}
	ndp_link_local(c.router_mac, c.router_ll);
	n = ndp_build_ra(&c, out, sizeof(out));
	if (n < 14 + 40 + 16 || ndp_classify(out, (size_t)n) != NDP_ROGUE)
		abort();
	/* Valid ICMPv6 checksum: folding over the pseudo header gives zero. */
	{
		size_t mlen = (size_t)n - 54;
		uint8_t tail[8] = { 0, 0, (uint8_t)(mlen >> 8), (uint8_t)mlen, 0, 0, 0, 58 };
		uint32_t s = csum_add(csum_add(0, out + 22, 32), tail, 8);

		if (csum_fold(csum_add(s, out + 54, mlen)) != 0)
			abort();
	}
	free(frame);
	return 0;
}
