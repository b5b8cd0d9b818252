/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vhost_msg.c, the checks every vhost-user message
 * from the VM process passes. The input is the byte stream a hostile
 * frontend writes to the socket, read as the backend reads it (a header,
 * then the payload size the header announces), each message with as many
 * file descriptors as the byte before it says. Checks that what is accepted
 * is what the type allows (size, descriptors, ring index, regions) and that
 * a refusal always says why: not just no crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/vhost_msg.h"

static void check_accepted(const struct vhost_msg *m, size_t len, unsigned nfds)
{
	if (len != VHOST_MSG_HDR + m->size || m->size > VHOST_MSG_MAX_PAYLOAD)
		abort();
	if ((m->flags & VHOST_MSG_VERSION_MASK) != VHOST_MSG_VERSION ||
	    (m->flags & VHOST_MSG_F_REPLY))
		abort();
	switch (m->request) {
	case VHOST_SET_MEM_TABLE:
		if (m->mem.n == 0 || m->mem.n > VHOST_MSG_MAX_REGIONS || m->nfds != m->mem.n ||
		    nfds != m->mem.n || m->size != 8 + 32 * m->mem.n)
			abort();
		break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		if (m->file.index >= VHOST_MSG_QUEUES || nfds != (m->file.nofd ? 0u : 1u))
			abort();
		break;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_ENABLE:
		if (m->state.index >= VHOST_MSG_QUEUES || nfds)
			abort();
		if (m->request == VHOST_SET_VRING_ENABLE && m->state.num > 1)
			abort();
		break;
	case VHOST_SET_VRING_ADDR:
		if (m->addr.index >= VHOST_MSG_QUEUES || m->addr.flags || nfds)
			abort();
		break;
	case VHOST_GET_FEATURES:
	case VHOST_SET_FEATURES:
	case VHOST_SET_OWNER:
	case VHOST_RESET_OWNER:
	case VHOST_GET_PROTOCOL_FEATURES:
	case VHOST_SET_PROTOCOL_FEATURES:
	case VHOST_GET_QUEUE_NUM:
		if (nfds)
			abort();
		break;
	default:
		abort();   /* nothing else is accepted */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[VHOST_MSG_HDR + VHOST_MSG_MAX_PAYLOAD];

	while (size > 1 + VHOST_MSG_HDR) {
		unsigned nfds = data[0] % (VHOST_MSG_MAX_FDS + 2);
		const char *why = NULL;
		struct vhost_msg m;
		int payload;
		size_t len;

		data++;
		size--;
		payload = vhost_msg_payload_size(data, &why);
		if (payload < 0) {
			if (!why || vhost_msg_parse(data, VHOST_MSG_HDR, nfds, &m, &why) == 0)
				abort();
			return 0;   /* the connection is dropped here */
		}
		if (payload > VHOST_MSG_MAX_PAYLOAD)
			abort();
		len = VHOST_MSG_HDR + (size_t)payload;
		if (len > size)
			return 0;
		/* A copy, as the backend reads it into its own buffer. */
		memcpy(buf, data, len);
		why = NULL;
		if (vhost_msg_parse(buf, len, nfds, &m, &why) == 0)
			check_accepted(&m, len, nfds);
		else if (!why)
			abort();
		/* One byte short or long is never a message. */
		if (vhost_msg_parse(buf, len - 1, nfds, &m, &why) == 0)
			abort();
		data += len;
		size -= len;
	}
	return 0;
}
