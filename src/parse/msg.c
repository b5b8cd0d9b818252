/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed messages between a helper's processes (msg.h). Pure: runs in
 * whichever process receives (the reaper, uid 0 with CAP_NET_ADMIN; the
 * files process, the user; the setup process and the datapath; the user's
 * vmnet-helper talking to a helper vmnet-broker started), on bytes the
 * sending process chose, which may be a datapath a VM took over, or the
 * user's own process.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "parse/msg.h"

static const size_t sizes[MSG_TYPES] = {
	[MSG_CLAIM_MAC] = sizeof(struct msg_claim_mac),
	[MSG_CLAIM_ADDR6] = sizeof(struct msg_claim_addr6),
	[MSG_VERDICT] = sizeof(struct msg_verdict),
	[MSG_FILES_READY] = sizeof(struct msg_files_ready),
	[MSG_FILES_CONNECT] = sizeof(struct msg_files_connect),
	[MSG_FILES_CONNECTED] = sizeof(struct msg_files_connected),
	[MSG_CLAIM_ADDR4] = sizeof(struct msg_claim_addr4),
	[MSG_CAPTURE_READY] = sizeof(struct msg_capture_ready),
	[MSG_STATUS] = sizeof(struct msg_status),
	[MSG_BROKER_STOP] = sizeof(struct msg_broker_stop),
	[MSG_BROKER_EXIT] = sizeof(struct msg_broker_exit),
};

size_t msg_size(unsigned type)
{
	return type < MSG_TYPES ? sizes[type] : 0;
}

struct msg_hdr msg_hdr(enum msg_type t, uint16_t seq)
{
	return (struct msg_hdr){ .type = (uint16_t)t, .seq = seq };
}

static bool terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* A status: its flags 0 or 1, its mode known, every string ended. */
static int check_status(const struct msg_status *s)
{
	if (s->mode > 2 || s->isolated > 1 || s->for_user > 1 || s->capture > 1)
		return -EBADMSG;
	if (!terminated(s->id, sizeof(s->id)) || !terminated(s->network, sizeof(s->network)) ||
	    !terminated(s->bridge, sizeof(s->bridge)) || !terminated(s->tap, sizeof(s->tap)) ||
	    !terminated(s->socket, sizeof(s->socket)))
		return -EBADMSG;
	return 0;
}

/* Fields whose range is narrower than their type. */
static int check_fields(const union msg *m)
{
	switch (m->h.type) {
	case MSG_CAPTURE_READY:
		return m->capture_ready.nfiles <= MSG_CAPTURE_FILES_MAX ? 0 : -EBADMSG;
	case MSG_STATUS:
		return check_status(&m->status);
	case MSG_VERDICT:
		return m->verdict.granted <= 1 ? 0 : -EBADMSG;
	case MSG_FILES_CONNECTED:
		return m->files_connected.fromlen <= sizeof(m->files_connected.from) ? 0 : -EBADMSG;
	case MSG_BROKER_EXIT:
		return m->broker_exit.status >= 0 && m->broker_exit.status <= 255 &&
		       memchr(m->broker_exit.line, '\0', sizeof(m->broker_exit.line)) ? 0 : -EBADMSG;
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
