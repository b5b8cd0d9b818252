/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-broker's loop: one thread, non-blocking, every connection with a
 * deadline. A connection is checked when accepted (who, from the kernel:
 * peer.h; in the group; within the bounds), then its one request is read
 * (brokermsg.h) and becomes a helper (spawn.h), or is answered with one
 * line and dropped. The broker keeps nothing of a request once its helper
 * runs. Runs in the broker (root).
 */
#ifndef VMNET_BROKER_SERVER_H
#define VMNET_BROKER_SERVER_H

#include <sys/types.h>

/* Requests in progress (connected, request not yet read), in all and per
 * user; how long one may take to arrive. */
#define SERVER_MAX_CONNS 64
#define SERVER_MAX_PER_USER 4
#define SERVER_REQUEST_TIMEOUT_MS 5000

struct server_config {
	int listen_fd;          /* non-blocking */
	gid_t gid;              /* members may ask (root too) */
	const char *group;
	const char *helper;     /* the vmnet-helper to run */
};

/* Serves until SIGTERM or SIGINT (which it blocks and reads itself).
 * 0, or 1 after an ERROR line. */
int server_run(const struct server_config *c);

#endif
