/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A helper's lifeline: the process it runs for. When that process goes,
 * even by SIGKILL, the helper stops and tears down as on SIGTERM.
 *
 *  - Started by vmnet-broker (--broker-fd): the connection to the user's
 *    vmnet-helper. Its end, or MSG_BROKER_STOP on it, stops the helper;
 *    the helper's exit status goes back on it (lifeline_report_exit).
 *  - Started through sudo: the nearest ancestor that is not sudo (sudo
 *    outlives its parent, and the set-user-ID exec clears PDEATHSIG), found
 *    at setup and watched through a pidfd (lifeline_starter).
 *  - Started by root without sudo: none, as before (a launcher that starts
 *    it and exits, or a service manager, keeps it running).
 *
 * lifeline_starter runs at setup (root, reading /proc: no path a user
 * chose); lifeline_report_exit is registered at start and runs at the exit
 * of whichever of setup and the datapath exits; lifeline_read runs in the
 * datapath.
 */
#ifndef VMNET_LIFELINE_H
#define VMNET_LIFELINE_H

#include <sys/types.h>

/*
 * A pidfd on the nearest ancestor that is not sudo (a process named sudo
 * running as root), with its pid in *pid; -errno when there is none to
 * follow (the ancestor is gone, or is pid 1).
 */
int lifeline_starter(pid_t *pid);

/* At exit, the status goes to the broker connection fd (MSG_BROKER_EXIT):
 * registered once, for this process only (children forked later do not
 * report). 0 or -1. */
int lifeline_report_exit(int fd);

enum lifeline_event {
	LIFELINE_NOTHING,   /* an empty or malformed message: ignored */
	LIFELINE_STOP,      /* MSG_BROKER_STOP */
	LIFELINE_GONE,      /* the user's side closed the connection */
};

/* What a readable broker connection says (one message read). */
enum lifeline_event lifeline_read(int fd);

#endif
