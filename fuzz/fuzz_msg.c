/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for msg.c, what the reaper (root), the files process
 * and the datapath parse from each other's channels. The input is a message
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
	MSG_TO_REAPER, MSG_FROM_REAPER, MSG_TO_FILES, MSG_FROM_FILES, ~0u,
};

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
	}
	return 0;
}
