/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privilege separation (docs/security.md has the whole picture). The helper
 * starts as root and ends up as four processes:
 *
 *   setup     root, does every privileged step, then becomes the datapath
 *   files     (--socket only) forked before setup; the invoking user with no
 *             capabilities creates, hands over and at the end removes the
 *             socket and its lock (sockfile.h)
 *   reaper    forked after setup; stays uid 0 (so users cannot signal or
 *             trace it) with CAP_NET_ADMIN alone, waits for the datapath to
 *             exit (any way, SIGKILL included) and tears the network down
 *   datapath  the setup process after priv_drop: SUDO_UID/SUDO_GID, or
 *             nobody when there are none; never uid 0, no capabilities
 *
 * Every identity change is read back from the kernel; a failure is an ERROR
 * line and -1, never a process that goes on with more rights than meant.
 */
#ifndef VMNET_PRIVILEGES_H
#define VMNET_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The unprivileged identity used without SUDO_UID/SUDO_GID. */
#define PRIV_FALLBACK_USER "nobody"

struct priv_user {
	uid_t uid;         /* the datapath's identity */
	gid_t gid;
	bool from_sudo;    /* uid/gid are the invoking user's (SUDO_UID/SUDO_GID):
			    * they also own the --socket files. Otherwise the caller
			    * is root, uid/gid are nobody's and root owns the files. */
};

/*
 * Closes every inherited descriptor but stdin, stdout, stderr, keep_fd and
 * keep_fd2 (-1: none), and opens /dev/null on any of 0, 1, 2 that is closed (so no
 * later open() can land there and receive the JSON line or the log).
 * 0 or -errno.
 */
int priv_close_inherited(int keep_fd, int keep_fd2);

/*
 * Who the datapath runs as: SUDO_UID and SUDO_GID (both or neither, plain
 * decimal), else PRIV_FALLBACK_USER and its primary group. SUDO_UID=0 counts
 * as none. -1 with one ERROR line on a malformed or half-set pair.
 */
int priv_user_from_env(struct priv_user *u);

/* Capability sets as bit masks (1 << CAP_x). */
#define PRIV_CAP(c) (UINT64_C(1) << (c))

/*
 * Becomes uid/gid (all three ids of each) with no supplementary groups,
 * exactly the capabilities in keep (effective and permitted; bounding set
 * reduced to keep; nothing inheritable or ambient), no_new_privs, not
 * dumpable, securebits locked so uid 0 never regains capabilities on exec.
 * Then reads everything back. 0, or -1 with one ERROR line naming the step.
 */
int priv_become(uid_t uid, gid_t gid, uint64_t keep);

/* The datapath: become u with no capabilities. -1 with one ERROR line. */
int priv_drop(const struct priv_user *u);

#endif
