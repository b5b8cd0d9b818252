/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the Internet checksum (pkt.c): csum_add, with its
 * wide paths, must equal the one-word-at-a-time reference for any bytes, any
 * length and any alignment. The first byte picks the offset (0..7) into the
 * input and, with the next four, an initial sum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/csum_ref.h"
#include "parse/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t init = 0;
	size_t off;

	if (size < 5)
		return 0;
	off = data[0] & 7;
	if (data[0] & 8)
		memcpy(&init, data + 1, 4);
	if (size < 5 + off)
		return 0;
	data += 5 + off;
	size -= 5 + off;
	if (csum_fold(csum_add(init, data, size)) != csum_ref(init, data, size))
		abort();
	return 0;
}
