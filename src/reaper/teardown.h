/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the reaper does for one helper (reaper.h runs it): answers the
 * datapath's claims while the VM runs, and tears the network down when the
 * datapath is gone. Runs only in the reaper: uid 0 with CAP_NET_ADMIN
 * alone, under its seccomp list, after the JSON line.
 */
#ifndef VMNET_TEARDOWN_H
#define VMNET_TEARDOWN_H

#include <stdbool.h>

#include "parse/msg.h"

/* reaper_fn: removes the TAP, the DNS steering, the IPv6 bindings, the
 * lease's use and, if it is the last one out, the network. arg: the helper. */
void teardown(void *arg);

/* reaper_ask_fn: whether a claim of the datapath is granted. arg: the helper. */
bool teardown_answer(void *arg, const union msg *m);

#endif
