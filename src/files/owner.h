/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files role: whoever makes the files a user names on the command line
 * (--socket's, --pcap's) does it with that user's identity, so the kernel
 * checks every component of the path with the user's rights and root is
 * never steered by a symlink or a renamed directory. Setup forks a files
 * process for each (sockfile.h, capfile.h); it becomes the owner here.
 */
#ifndef VMNET_OWNER_H
#define VMNET_OWNER_H

#include "common/privileges.h"

/*
 * Names this process vmnet-files (ps, the log) and becomes the owner of the
 * user's paths: the invoking user with no capabilities; or, when root runs
 * the helper without sudo (the paths are root's own choice), root with the
 * file capabilities only; u NULL: nothing to become (a user's own
 * vmnet-helper, the broker path's files role, is the user already). 0, or
 * -1 with one ERROR line.
 */
int files_become_owner(const struct priv_user *u);

/* The channel's number in a files process. */
#define FILES_CTL_FD 3

/*
 * A files process keeps only stderr and its channel ctl, as FILES_CTL_FD:
 * stdin and stdout become /dev/null (whoever reads the JSON line on stdout
 * waits for its end), every other descriptor is closed. Exits on failure.
 */
void files_keep_channel(int ctl);

#endif
