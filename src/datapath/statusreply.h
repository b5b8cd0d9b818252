/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath's answers on its status socket (common/statusdir.h): one
 * MSG_STATUS per connection (parse/msg.h), from its main loop, to root or
 * its own user only (SO_PEERCRED: the kernel's word on who connected, so a
 * user who changes the socket file's mode still gets nothing of another's
 * helper). Everything in it is what this helper knows of itself.
 */
#ifndef VMNET_STATUSREPLY_H
#define VMNET_STATUSREPLY_H

#include "common/helper.h"
#include "common/sandbox.h"
#include "parse/msg.h"

/* The helper's status as it is now. */
void statusreply_fill(const struct helper *h, struct msg_status *st);

/* Answers the connections waiting on h->status_fd (a few at most per call:
 * its caller has other work). Never blocks. */
void statusreply_serve(const struct helper *h);

/* The calls it makes in the datapath (sandbox.h). */
extern const struct sandbox_list statusreply_sandbox;

#endif
