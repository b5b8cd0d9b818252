/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for brokermsg.c: what vmnet-broker (root) parses from
 * any member of its group, and the helper's command line it makes of it.
 * The first byte is the number of descriptors that came with the message
 * (0..4), the rest the message. A request taken must give the helper the
 * broker's descriptors and nothing of the user's: --fd 3, --broker-fd 4,
 * no --socket, whatever the options said; the strings it points to are
 * inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"
#include "parse/brokermsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct brokermsg_req r;
	char err[256], *argv[BROKERMSG_MAX_ARGS + 8];
	struct options o;
	uint8_t *msg;
	int argc;

	if (size < 1)
		return 0;
	/* Exact-size copy so ASan sees any read past the message. */
	msg = malloc(size - 1 ? size - 1 : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + 1, size - 1);
	if (brokermsg_parse(msg, size - 1, data[0] % 5, &r, err, sizeof(err)) < 0) {
		if (strchr(err, '\n'))
			abort();
		free(msg);
		return 0;
	}
	if (r.argc < 0 || r.argc > BROKERMSG_MAX_ARGS || r.argv[r.argc] != NULL)
		abort();
	for (int i = 0; i < r.argc; i++)
		if ((const uint8_t *)r.argv[i] < msg || (const uint8_t *)r.argv[i] >= msg + size - 1)
			abort();
	argc = brokermsg_helper_argv(&r, "/usr/bin/vmnet-helper", argv, BROKERMSG_MAX_ARGS + 8, err,
				     sizeof(err));
	if (argc >= 0) {
		if (argc < 5 || argv[argc] != NULL || options_parse(&o, argc, argv, err, sizeof(err)) < 0)
			abort();
		if (o.fd != BROKERMSG_HELPER_VM_FD || o.broker_fd != BROKERMSG_HELPER_CONN_FD ||
		    o.socket_path || o.help || o.version || o.list_shared_interfaces)
			abort();
	} else if (strchr(err, '\n')) {
		abort();
	}
	free(msg);
	return 0;
}
