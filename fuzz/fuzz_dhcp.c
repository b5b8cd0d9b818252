/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the DHCP responder: the input is an Ethernet frame
 * from a hostile VM. Checks that any reply is well formed, not just that
 * nothing crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dhcp.h"
#include "parse/pkt.h"

static const struct dhcp_config cfg = {
	.server = 0xc0a86901u,
	.mask = 0xffffff00u,
	.yiaddr = 0xc0a86902u,
	.dns = 0xc0a86901u,
	.lease_time = 3600,
	.mtu = 1500,
	.server_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
};

static void check_reply(const uint8_t *out, int len)
{
	const uint8_t *ip = out + 14;

	/* Reply invariants: valid IPv4 header checksum, our own source. */
	if (len < 14 + 20 + 8 + 300 || csum_fold(csum_add(0, ip, 20)) != 0)
		abort();
	if (memcmp(out + 6, cfg.server_mac, 6) != 0)
		abort();
	if (dhcp_classify(out, (size_t)len) != DHCP_SERVER)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the frame. */
	uint8_t *frame = malloc(size ? size : 1);
	uint8_t out[1514];
	enum dhcp_kind kind;
	int len;

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	kind = dhcp_classify(frame, size);
	len = dhcp_reply(&cfg, frame, size, out, sizeof(out));
	/* Only what classifies as a client request may ever be answered. */
	if (len > 0 && kind != DHCP_CLIENT)
		abort();
	if (len > 0)
		check_reply(out, len);
	free(frame);
	return 0;
}
