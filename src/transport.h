/* SPDX-License-Identifier: Apache-2.0 */
/* The VM side: a socketpair end (--fd) or a bound unix datagram socket (--socket). */
#ifndef VMNET_TRANSPORT_H
#define VMNET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct transport {
	int fd;
	const char *path;     /* --socket path, NULL for --fd */
	char lock_path[128 + 8];
	int lock_fd;
	unsigned peer_ino;     /* the VM's socket inode, once seen (sock_diag) */
	unsigned ino;          /* our socket's inode (transport_watch_peer) */
	int diag_fd;           /* NETLINK_SOCK_DIAG socket, -1 before transport_watch_peer */
};

/* --fd: checks fd is a unix datagram socket and sets buffers. 0 or -1 (ERROR logged). */
int transport_from_fd(struct transport *t, int fd);
/* --socket: takes PATH.lock, binds PATH (0600, owned by uid/gid). 0 or -1 (ERROR logged). */
int transport_bind(struct transport *t, const char *path, uid_t uid, gid_t gid);
/*
 * --socket: waits for the first client datagram and connects to its sender.
 * A handshake datagram ("VFKT") is dropped; any other first datagram is a
 * frame, returned in first/first_len (0 for a handshake) for the caller to
 * forward. Returns 1 if a client is connected, 0 if stop_fd became readable
 * first, -1 on error.
 */
int transport_wait_client(struct transport *t, int stop_fd, uint8_t *first, size_t cap,
			  size_t *first_len);
/* Removes the socket and lock files (root reaper at exit). */
void transport_cleanup_files(const char *path);
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
