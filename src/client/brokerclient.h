/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user's side of vmnet-broker: vmnet-helper started by a user who is
 * not root asks the broker (VMNET_BROKER_SOCKET, or $VMNET_BROKER_SOCKET)
 * for a helper with its own options and descriptors, and stands in for it
 * until it ends. Runs as the user, with nothing more.
 *
 *  - The request (parse/brokermsg.h): the options as given, the VM's socket
 *    (--fd's, or for --socket PATH the socket bound here, as the user, by a
 *    files process of the user's: files/sockfile.h), stdout and stderr. The
 *    root helper writes the JSON line and the log there itself: this
 *    process prints nothing on success.
 *  - Then it waits on the connection, which is the helper's lifeline: its
 *    end (this process gone, SIGKILL included) stops the helper. SIGTERM or
 *    SIGINT sends MSG_BROKER_STOP; MSG_FILES_CONNECT is answered for
 *    --socket's datagram socket, as the files process would; MSG_BROKER_EXIT
 *    (the helper's status, or the broker's refusal and its line) ends it
 *    with that status, the --socket files removed.
 *  - No broker, or no access to it: one line saying why and what to do, a
 *    non-zero exit, nothing created.
 */
#ifndef VMNET_BROKERCLIENT_H
#define VMNET_BROKERCLIENT_H

#include "common/options.h"

/* The process's name while it stands in for a helper (ps, /proc/PID/comm):
 * not vmnet-helper, which names the helpers a user runs (policy.h counts
 * them). */
#define BROKERCLIENT_NAME "vmnet-user"

/* argv: the command line o was parsed from. Never returns. */
_Noreturn void brokerclient_run(const struct options *o, int argc, char **argv);

#endif
