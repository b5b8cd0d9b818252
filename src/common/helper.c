/* SPDX-License-Identifier: Apache-2.0 */
/* What setup, the reaper and the datapath derive alike from a helper's
 * state (helper.h). No I/O: runs in each of them. */
#include <net/if.h>
#include <stdio.h>

#include "common/helper.h"
#include "parse/offload.h"

void helper_lease_path(const struct helper *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.leases", h->net.lib_dir, h->net.bridge);
}

size_t helper_max_packet(const struct helper *h)
{
	size_t mtu_frame = h->mtu + PKT_ETH_HLEN;

	/* vhost-user: up to 64 KiB as the guest negotiates TSO. */
	if ((h->opt.enable_tso || h->opt.vhost_user) && mtu_frame < PKT_MAX_FRAME)
		return PKT_MAX_FRAME;
	return mtu_frame;
}
