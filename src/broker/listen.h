/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-broker's listening socket: from systemd (socket activation), or one
 * of its own (--listen PATH). A unix SOCK_SEQPACKET socket either way, mode
 * 0660, owned by root and the broker's group. Runs in the broker (root).
 */
#ifndef VMNET_BROKER_LISTEN_H
#define VMNET_BROKER_LISTEN_H

#include <sys/types.h>

/*
 * The socket systemd passed (the LISTEN_PID/LISTEN_FDS protocol of
 * sd_listen_fds(3): descriptors from 3, for this pid), which it unsets.
 * 1 with *fd set, 0 when none was passed, -1 with one ERROR line when what
 * was passed is not one listening unix SOCK_SEQPACKET socket.
 */
int listen_from_systemd(int *fd);

/*
 * A socket of our own at path: its directory made (0755) if missing and
 * checked (root's, writable by no one else: a root process follows no path
 * a user could change); a stale socket there replaced, anything else left
 * alone; mode 0660 and group gid from the moment it exists. 0, or -1 with
 * one ERROR line.
 */
int listen_at(const char *path, gid_t gid, int *fd);

/* Removes the socket listen_at made, if path is still it. */
void listen_remove(const char *path, int fd);

#endif
