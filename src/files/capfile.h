/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --pcap files, made with the identity of whoever chose their path,
 * before anything is set up: a path that cannot be used is one ERROR line
 * and nothing changed on the host. The datapath only ever writes them
 * through the descriptors it is handed (datapath/capture.h).
 *
 * Whoever plays the files role opens them:
 *  - a helper run as root (sudo, a root shell) forks a short-lived files
 *    process (vmnet-files) that becomes the owner (files/owner.h), opens
 *    every file and hands the descriptors back (MSG_CAPTURE_READY with
 *    SCM_RIGHTS), then exits;
 *  - a user's own process that already has the user's identity (the user's
 *    vmnet-helper asking vmnet-broker for a root helper) opens them itself,
 *    u NULL, and passes the descriptors on with its request.
 * Each file is created (mode 0600: a capture holds the VM's traffic) or, if
 * it exists and is a regular file, emptied; anything else at the path is
 * refused. The last component is never followed (O_NOFOLLOW). Files this
 * call created are removed again if a later one fails.
 */
#ifndef VMNET_CAPFILE_H
#define VMNET_CAPFILE_H

#include "common/privileges.h"

/*
 * Opens the nfiles files of path (options_pcap_file names them) with the
 * identity of u, or as the caller when u is NULL. 0 with fds[0..nfiles)
 * set (close-on-exec, write only), or -1 after one ERROR line.
 */
int capfile_open(const char *path, unsigned nfiles, const struct priv_user *u, int *fds);

#endif
