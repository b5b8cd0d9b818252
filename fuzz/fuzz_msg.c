/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for msg.c, what the reaper (root), the files process
 * and the datapath parse from each other's channels, and vmnet-status (run
 * by root) from a helper's status socket. The input is a message
 * a datapath taken over by a VM could send (or, for the other channels, a
 * peer gone wrong). For each channel: a message is taken only if its type
 * is the channel's and its size exactly the type's, and the copy is the
 * input: not just no crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/msg.h"

static const uint32_t channels[] = {
	MSG_TO_REAPER, MSG_FROM_REAPER, MSG_TO_FILES, MSG_FROM_FILES, MSG_FROM_CAPTURE_FILES,
	MSG_FROM_HELPER, MSG_TO_HELPER, MSG_TO_USER, ~0u,
};

/* What vmnet-status prints of a status: every string ends in its array. */
static void check_status(const struct msg_status *s)
{
	if (s->mode > 2 || s->isolated > 1 || s->for_user > 1 || s->capture > 1 ||
	    !memchr(s->id, 0, sizeof(s->id)) || !memchr(s->network, 0, sizeof(s->network)) ||
	    !memchr(s->bridge, 0, sizeof(s->bridge)) || !memchr(s->tap, 0, sizeof(s->tap)) ||
	    !memchr(s->socket, 0, sizeof(s->socket)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		union msg m;
		int t = msg_parse(data, size, channels[i], &m);

		if (t < 0)
			continue;
		if (!(channels[i] & MSG_BIT(t)) || msg_size((unsigned)t) != size ||
		    memcmp(&m, data, size) != 0)
			abort();
		if (t == MSG_VERDICT && m.verdict.granted > 1)
			abort();
		if (t == MSG_FILES_CONNECTED && m.files_connected.fromlen > sizeof(m.files_connected.from))
			abort();
		if (t == MSG_CAPTURE_READY && m.capture_ready.nfiles > MSG_CAPTURE_FILES_MAX)
			abort();
		if (t == MSG_STATUS)
			check_status(&m.status);
		if (t == MSG_BROKER_EXIT && (m.broker_exit.status < 0 || m.broker_exit.status > 255 ||
					     strlen(m.broker_exit.line) >= sizeof(m.broker_exit.line)))
			abort();
	}
	return 0;
}
