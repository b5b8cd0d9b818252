/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --socket files, PATH and PATH.lock, made and removed with the
 * identity of whoever chose PATH, never by a root process that could be
 * steered by a symlink or a renamed directory.
 *
 * sockfile_open forks a small "files" process (vmnet-files in ps) before any
 * network setup (or, in a user's vmnet-helper that asks vmnet-broker,
 * before the request: there it is the user already and changes nothing). It becomes the owner (the invoking user with no
 * capabilities; root's own paths when root runs the helper without sudo,
 * with the file capabilities only), so the kernel checks every component of
 * PATH with the owner's rights:
 *   - takes PATH.lock (created 0600, O_NOFOLLOW, flock),
 *   - removes a stale socket at PATH (only a socket),
 *   - binds PATH (0600 from the start; SOCK_STREAM also listens),
 *   - hands the socket and the lock to the caller (SCM_RIGHTS).
 * Then it stays, idle, holding the lock, until every holder of the caller's
 * end of its channel is gone (the datapath exiting, SIGKILL included), and
 * removes PATH and PATH.lock by name, still as the owner, if they are still
 * the files it made. Whatever it removes, the owner could have removed.
 * For SOCK_DGRAM it also connects the socket to the VM's client on request:
 * connect() to the client's bound path needs the owner's rights too.
 */
#ifndef VMNET_SOCKFILE_H
#define VMNET_SOCKFILE_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "common/privileges.h"

struct sockfile {
	pid_t pid;   /* the files process, -1 if none */
	int ctl;     /* our end of its channel, -1 if none */
};

/*
 * Forks the files process for path (type SOCK_DGRAM or SOCK_STREAM) owned
 * as described by u; u NULL: as the caller, a user's own vmnet-helper
 * asking vmnet-broker (client/brokerclient.h), which plays the datapath's
 * part of the protocol and keeps the files process's for it. 0 with *sock_fd and *lock_fd set (close-on-exec), or
 * -1 after one ERROR line (nothing created on the host).
 */
int sockfile_open(struct sockfile *f, const char *path, int type, const struct priv_user *u,
		  int *sock_fd, int *lock_fd);

/*
 * SOCK_DGRAM: has the files process connect the socket to the sender of the
 * datagram at the head of its queue (peeked, not read: the caller reads it
 * next). 0 with from and fromlen set; -EAGAIN: no datagram; -EDESTADDRREQ:
 * the sender is not bound to a path; -EPIPE: the files process is gone;
 * -ECANCELED: the other end (a broker's user, who plays the files process)
 * said stop instead; another -errno: connect() failed.
 */
int sockfile_connect_first(struct sockfile *f, struct sockaddr_un *from, socklen_t *fromlen);

/* Closes the channel and waits (a few seconds at most) for the files
 * process to remove the files and exit. Safe to repeat. */
void sockfile_close(struct sockfile *f);

#endif
