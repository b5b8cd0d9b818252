/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper's setup, in the order main() calls it: everything that needs
 * root, done before a byte from the VM is read and before the JSON line.
 * Runs as root (sudo, a root shell, or the broker) in the process that
 * becomes the datapath. Every refusal is one ERROR line and an exit before
 * the host is changed, or after undoing what was changed.
 */
#ifndef VMNET_SETUP_H
#define VMNET_SETUP_H

#include "common/helper.h"

/* Every signal waits until the datapath unblocks SIGTERM/SIGINT; those two
 * are read from h->sig_fd. */
void setup_block_signals(struct helper *h);
/* Root by the caller's choice, not a set-user-ID install; umask 022. */
void setup_require_root(void);
/* Who the datapath runs as (SUDO_UID/SUDO_GID, or nobody). */
void setup_identify_user(struct helper *h);
/* Through sudo, the process that ran it: its end stops the helper
 * (common/lifeline.h). */
void setup_lifeline(struct helper *h);
/* The administrator's policy, and --network NAME resolved with it. */
void setup_load_policy(struct helper *h);
/* The interface id (given or random) and the MAC derived from it. */
void setup_identify(struct helper *h);
/* A user (from sudo) gets what the policy allows; a bad
 * --shared-interface is a bad invocation. */
void setup_check(struct helper *h);
/* --fd (from vmnet-broker: the socket the user's side passed), or
 * --socket's files made by the files process (files/sockfile.h). */
void setup_transport(struct helper *h);
/* --pcap's files, made by a files process as the user (files/capfile.h):
 * before anything is set up, so a path that cannot be used is one line. */
void setup_capture(struct helper *h);
/* Under the network lock: bridge, lease, TAP, port (or the macvtap). */
void setup_network(struct helper *h);
/* Undoes the lease's use (its time becomes its last use), under the
 * network lock: on a failed setup, and in the reaper at teardown. */
void setup_release_lease(const struct helper *h);
/* The VM's own DNS sockets and the nftables rules that steer its queries. */
void setup_dns(struct helper *h);
/* After the reaper's start: the DNS rules made, or DNS off (a WARN). */
void setup_dns_done(struct helper *h);
/* The status socket vmnet-status asks (setup/statussock.h); without it
 * (a WARN line) the helper serves its VM all the same. */
void setup_status(struct helper *h);

#endif
