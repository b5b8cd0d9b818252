/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a running helper answers for its status (vmnet-status): a socket
 * per helper, /run/vmnet-helper/<netns>/status/<pid>.sock, in a root-owned
 * directory of the network namespace it runs in (<netns>: the namespace's
 * inode, as for the network's other state, setup/network.h).
 *
 *   setup (root)        makes the socket (setup/statussock.h)
 *   the datapath        answers each connection with one MSG_STATUS, to
 *                       root or its own user only (datapath/statusreply.h)
 *   the reaper          removes the socket at teardown
 *   vmnet-status        lists the directory and asks each socket: as root
 *                       every helper answers, as a user their own only
 */
#ifndef VMNET_STATUSDIR_H
#define VMNET_STATUSDIR_H

#include <stddef.h>
#include <sys/types.h>

#define STATUSDIR_ROOT "/run/vmnet-helper"

/* This network namespace's status directory. 0, or -errno (buf too small,
 * or the namespace cannot be identified). No side effects. */
int statusdir_path(char *buf, size_t len);

/* A helper's socket in dir. 0, or -1 if it does not fit. */
int statusdir_socket(const char *dir, pid_t pid, char *buf, size_t len);

/* The pid a socket's name ("<pid>.sock") names, or -1 for any other name. */
pid_t statusdir_pid(const char *name);

#endif
