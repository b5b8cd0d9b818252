/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request becomes one root vmnet-helper, run exactly as sudo would run
 * it for the peer: SUDO_UID/SUDO_GID/SUDO_USER the peer's (from the kernel),
 * an environment built here (nothing of the client's), the VM's socket on
 * fd 3, the connection on fd 4, the user's stdout and stderr on 1 and 2, in
 * a session of its own so that it outlives the broker. Runs in the broker
 * (root); the child only places descriptors and executes the helper.
 */
#ifndef VMNET_BROKER_SPAWN_H
#define VMNET_BROKER_SPAWN_H

#include <sys/types.h>

#include "broker/peer.h"
#include "parse/brokermsg.h"

/*
 * Forks and executes helper with argv (brokermsg_helper_argv) for peer p;
 * conn is the connection, fds the request's (BROKERMSG_FD_*). If the
 * program cannot be executed, the child says so on conn (MSG_BROKER_EXIT).
 * The child's pid, or -errno.
 */
pid_t spawn_helper(const char *helper, char *const argv[], const struct peer *p, int conn,
		   const int fds[BROKERMSG_FDS]);

#endif
