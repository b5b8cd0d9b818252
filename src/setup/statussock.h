/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper's status socket (common/statusdir.h), made by setup as root in
 * the namespace's root-owned status directory, never on a path a user
 * chose: a SOCK_SEQPACKET socket listening at <pid>.sock, owned by the
 * helper's user (root's when root runs it for itself), mode 0600, so that
 * only that user and root can connect; the datapath keeps the listening
 * descriptor and checks who asks (datapath/statusreply.h). The reaper
 * removes it at teardown.
 */
#ifndef VMNET_STATUSSOCK_H
#define VMNET_STATUSSOCK_H

#include <stddef.h>

#include "common/privileges.h"

/* The listening socket (non-blocking, close-on-exec) with its path in
 * path, or -errno with a WARN line naming the step. */
int statussock_open(const struct priv_user *owner, char *path, size_t len);

/* Removes the socket at path (made by statussock_open), if it is one. */
void statussock_remove(const char *path);

#endif
