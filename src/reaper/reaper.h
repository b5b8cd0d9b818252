/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reaper: the one process that stays root after the JSON line is
 * printed. Forked by setup once the network exists ("vmnet-reaper" in ps),
 * it keeps only stderr and its channel to the datapath, blocks every
 * signal in a session of its own, and confines itself to uid 0 with
 * CAP_NET_ADMIN alone under a seccomp allow-list (reaper.c). Until the
 * datapath's end of the channel closes (its exit, SIGKILL included) it
 * answers the datapath's claims (parse/msg.h, answered by teardown.c);
 * then it tears the network down and exits.
 */
#ifndef VMNET_REAPER_H
#define VMNET_REAPER_H

#include <stdbool.h>
#include <sys/types.h>

#include "parse/msg.h"

struct reaper {
	pid_t pid;
	int pipe_fd;   /* our end of the reaper's channel (a SOCK_SEQPACKET pair) */
};

typedef void (*reaper_fn)(void *arg);
/* A claim from the datapath (checked by msg_parse, its content still
 * untrusted): whether it is granted. */
typedef bool (*reaper_ask_fn)(void *arg, const union msg *m);

/*
 * Forks the reaper. It answers each claim with ask(arg, ...) (NULL: every
 * claim refused) until the channel closes, then runs fn(arg). 0, or -1
 * with one ERROR line: no reaper (r->pid -1), or one that could not
 * confine itself (it still tears down once the caller exits, so the caller
 * must not).
 */
int reaper_start(struct reaper *r, reaper_fn fn, reaper_ask_fn ask, void *arg);

/*
 * In the datapath: sends a claim (MSG_CLAIM_*; its sequence number is set
 * here) and waits up to timeout_ms for its verdict. A verdict that came
 * after an earlier claim's timeout is told apart by its number and
 * skipped. 1 granted, 0 refused, or -errno (-ETIMEDOUT).
 */
int reaper_claim(struct reaper *r, union msg *claim, int timeout_ms);

/* Closes the channel and waits for the reaper to finish teardown. */
void reaper_finish(struct reaper *r);

#endif
