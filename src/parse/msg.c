/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed messages between a helper's processes (msg.h). Pure: runs in
 * whichever process receives (the reaper, uid 0 with CAP_NET_ADMIN; the
 * files process, the user; the setup process and the datapath), on bytes
 * the sending process chose, which may be a datapath a VM took over.
 */
#include <errno.h>
#include <string.h>

#include "parse/msg.h"

static const size_t sizes[MSG_TYPES] = {
	[MSG_CLAIM_MAC] = sizeof(struct msg_claim_mac),
	[MSG_CLAIM_ADDR6] = sizeof(struct msg_claim_addr6),
	[MSG_VERDICT] = sizeof(struct msg_verdict),
	[MSG_FILES_READY] = sizeof(struct msg_files_ready),
	[MSG_FILES_CONNECT] = sizeof(struct msg_files_connect),
	[MSG_FILES_CONNECTED] = sizeof(struct msg_files_connected),
};

size_t msg_size(unsigned type)
{
	return type < MSG_TYPES ? sizes[type] : 0;
}

struct msg_hdr msg_hdr(enum msg_type t, uint16_t seq)
{
	return (struct msg_hdr){ .type = (uint16_t)t, .seq = seq };
}

/* Fields whose range is narrower than their type. */
static int check_fields(const union msg *m)
{
	switch (m->h.type) {
	case MSG_VERDICT:
		return m->verdict.granted <= 1 ? 0 : -EBADMSG;
	case MSG_FILES_CONNECTED:
		return m->files_connected.fromlen <= sizeof(m->files_connected.from) ? 0 : -EBADMSG;
	default:
		return 0;
	}
}

int msg_parse(const void *buf, size_t len, uint32_t allowed, union msg *m)
{
	struct msg_hdr h;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.type >= MSG_TYPES || !(allowed & MSG_BIT(h.type)) || len != sizes[h.type])
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	memcpy(m, buf, len);
	return check_fields(m) < 0 ? -EBADMSG : h.type;
}
