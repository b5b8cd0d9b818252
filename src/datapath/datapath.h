/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath: the helper's process after setup, as the invoking user
 * (nobody without sudo) with no capabilities, no filesystem and a seccomp
 * filter that kills it on any call outside its lists. It prints the JSON
 * line, serves the VM (forward.h, dnsfwd.h) and asks the reaper for what
 * only root may bind (reaper.h). main() calls these in this order.
 */
#ifndef VMNET_DATAPATH_H
#define VMNET_DATAPATH_H

#include "common/helper.h"
#include "common/sandbox.h"

/* Every list of the datapath's seccomp filter (tests install it too). */
extern const struct sandbox_list *const datapath_lists[];

/* Its own empty filesystem, the drop to the user, its seccomp filter. */
void datapath_confine(struct helper *h);
/* The JSON line on stdout: once confined, so whoever reads it may start the VM. */
void datapath_print_json(struct helper *h);
/* The DNS threads, then (--socket) the wait for the VM's client. */
void datapath_start_dns(struct helper *h);
void datapath_wait_for_client(struct helper *h);
/* The forwarding threads; then, until a signal, the VM going or a device
 * error, the [stats] lines; then forwarding stopped and the last line. */
void datapath_start_forwarding(struct helper *h);
void datapath_wait_for_termination(struct helper *h);
/* Stops forwarding, logs the last counters, waits for the reaper's
 * teardown and exits with code. */
_Noreturn void datapath_finish(struct helper *h, int code);

#endif
