/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM side: a socketpair end (--fd) or a bound unix socket (--socket),
 * datagram (one frame per datagram) or stream (frames behind their length,
 * vmstream.h).
 */
#ifndef VMNET_TRANSPORT_H
#define VMNET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "common/privileges.h"
#include "files/sockfile.h"

struct transport {
	int fd;               /* the VM's connection (--socket stream: the listener until accepted) */
	int type;             /* SOCK_DGRAM or SOCK_STREAM */
	const char *path;     /* --socket path (or the name of the broker's socket), NULL for --fd */
	bool serve_first;     /* wait for the first client: --socket, or the socket the user's
			       * side bound for --socket, which the broker passed as --fd */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* the latter's path */
	int lock_fd;          /* --socket: PATH.lock, held while we live */
	struct sockfile files; /* --socket: the process that owns PATH (sockfile.h) */
	unsigned peer_ino;     /* the VM's socket inode, once seen (sock_diag) */
	unsigned ino;          /* our socket's inode (transport_watch_peer) */
	int diag_fd;           /* NETLINK_SOCK_DIAG socket, -1 before transport_watch_peer */
};

/* An unopened transport: what transport_close accepts before any open. */
#define TRANSPORT_INIT { .fd = -1, .lock_fd = -1, .files = { .pid = -1, .ctl = -1 }, .diag_fd = -1 }

/* --fd: checks fd is a unix datagram or stream socket (want: the type it
 * must be, 0 for either) and sets buffers. 0 or -1 (ERROR logged). */
int transport_from_fd(struct transport *t, int fd, int want);
/*
 * --fd from vmnet-broker (--broker-fd conn): as transport_from_fd, and a
 * socket the user's side bound for --socket (a listening stream socket, or
 * a bound datagram socket not connected yet) is served like --socket's:
 * the first client, the datagram one connected by the user's side on
 * request over conn (sockfile_connect_first, the files process's
 * protocol). 0 or -1 (ERROR logged).
 */
int transport_from_broker(struct transport *t, int fd, int want, int conn);
/*
 * --socket: a files process with the identity of owner takes PATH.lock and
 * binds PATH (type SOCK_DGRAM, or SOCK_STREAM listening; 0600), see
 * sockfile.h. 0 or -1 (one ERROR line, nothing created).
 */
int transport_bind(struct transport *t, const char *path, int type, const struct priv_user *owner);
/*
 * --socket: waits for the first client and serves it alone.
 * Datagram: the first client datagram; the socket is connected to its
 * sender. A handshake datagram ("VFKT") is dropped; any other first datagram
 * is a frame, returned in first/first_len (0 for a handshake) for the caller
 * to forward.
 * Stream: the first connection is accepted and the listener closed (the
 * files process keeps no copy), so any other client is refused
 * (ECONNREFUSED); first_len is 0.
 * Returns 1 if a client is connected, 0 if one of the nstop stop_fds (-1:
 * none) became readable first, or the user's side said stop instead of
 * connecting; -1 on error (ERROR logged).
 */
int transport_wait_client(struct transport *t, const int *stop_fds, int nstop, uint8_t *first,
			  size_t cap, size_t *first_len);
/* Closes the socket and, for --socket, waits for the files process to
 * remove PATH and PATH.lock. Safe to repeat. */
void transport_close(struct transport *t);
/*
 * Opens the sock_diag socket transport_peer_alive() asks, once: the datapath's
 * seccomp filter refuses netlink sockets. 0 or -errno (then the peer is
 * always taken for alive).
 */
int transport_watch_peer(struct transport *t);
/*
 * True while the VM's end of the socket still exists. Uses sock_diag to look
 * up the peer; answers true whenever it cannot tell.
 */
bool transport_peer_alive(struct transport *t);
/* The syscalls the datapath makes here once set up (sandbox.h). */
extern const struct sandbox_list transport_sandbox;

#endif
