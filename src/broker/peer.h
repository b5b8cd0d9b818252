/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is at the other end of a connection to vmnet-broker, as the kernel
 * saw it when they connected: never what the request says. Runs in the
 * broker (root).
 */
#ifndef VMNET_BROKER_PEER_H
#define VMNET_BROKER_PEER_H

#include <stdbool.h>
#include <sys/types.h>

struct peer {
	uid_t uid;      /* SO_PEERCRED: the credentials at connect() */
	gid_t gid;
	pid_t pid;
	int pidfd;      /* the connecting process: SO_PEERPIDFD, or pidfd_open of pid
			 * when it still is that process; -1 if neither */
};

/* The peer of the connected unix socket fd. 0, or -errno (its process is
 * gone, or the kernel says nothing). */
int peer_identify(int fd, struct peer *p);

/* Whether the peer is in group gid: its primary group or one of its
 * supplementary groups at connect() (SO_PEERGROUPS). */
bool peer_in_group(int fd, const struct peer *p, gid_t gid);

void peer_close(struct peer *p);

#endif
