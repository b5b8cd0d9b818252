/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper's status socket (common/statusdir.h), made by setup as root in
 * the namespace's root-owned status directory, never on a path a user
 * chose: a SOCK_SEQPACKET socket listening at <pid>.sock. It is root's and
 * anyone may connect (mode 0666): the datapath, which keeps the listening
 * descriptor, answers only root and its own user, by the kernel's
 * credentials of each connection (datapath/statusreply.h). Giving the file
 * to the user instead (0600) would need CAP_CHOWN, which helpers started by
 * vmnet-broker do not have (its unit refuses @chown). The reaper removes it
 * at teardown.
 */
#ifndef VMNET_STATUSSOCK_H
#define VMNET_STATUSSOCK_H

#include <stddef.h>

/* The listening socket (non-blocking, close-on-exec) with its path in
 * path, or -errno with a WARN line naming the step. */
int statussock_open(char *path, size_t len);

/* Removes the socket at path (made by statussock_open), if it is one. */
void statussock_remove(const char *path);

#endif
