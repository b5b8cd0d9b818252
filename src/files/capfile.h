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
 *    SCM_RIGHTS), then exits (capfile_open);
 *  - a user's own vmnet-helper asking vmnet-broker for a root helper is the
 *    user already, in the user's own mount namespace (the broker's service
 *    sees neither the user's home nor their /tmp): it opens them itself
 *    (capfile_open_own) and passes the descriptors with its request; the
 *    broker checks them (capfile_fd_refused) and the root helper takes
 *    them (--pcap-fd, capfile_take), never a path.
 * Each file is created (mode 0600: a capture holds the VM's traffic) or, if
 * it exists and is a regular file, emptied (by the files process; for the
 * broker's user, by the capture as it starts, so a refused request leaves
 * it as it was); anything else at the path is refused. The last component
 * is never followed (O_NOFOLLOW). Files a call created are removed again if
 * a later one fails.
 */
#ifndef VMNET_CAPFILE_H
#define VMNET_CAPFILE_H

#include <stdbool.h>

#include "common/privileges.h"

/*
 * Opens the nfiles files of path (options_pcap_file names them) in a files
 * process with the identity of u. 0 with fds[0..nfiles) set (close-on-exec,
 * write only), or -1 after one ERROR line.
 */
int capfile_open(const char *path, unsigned nfiles, const struct priv_user *u, int *fds);

/*
 * The same as the caller (the user's side of vmnet-broker), in this
 * process, without emptying files that exist; created[i]: this call made
 * file i. 0, or -1 after one ERROR line (nothing left made).
 */
int capfile_open_own(const char *path, unsigned nfiles, int *fds, bool *created);

/*
 * Closes what capfile_open_own opened; discard (the helper failed): if no
 * file was written (every one still empty: the capture never started),
 * also removes those it created, each only if the name still is that file.
 */
void capfile_close_own(const char *path, unsigned nfiles, int *fds, const bool *created,
		       bool discard);

/*
 * Why fd cannot be a capture file handed over open, or NULL: it must be a
 * regular file open for writing. Only looks (statx asking the filesystem
 * nothing, fcntl): never reads, writes or waits on it. vmnet-broker (root)
 * and the helper's setup (root) run it on descriptors a user passed.
 */
const char *capfile_fd_refused(int fd);

/*
 * --pcap-fd: descriptors first..first+nfiles-1, checked, close-on-exec,
 * into fds. 0, or -1 after one ERROR line. Root's setup: it never reads or
 * writes them; the datapath writes them once it runs as the user.
 */
int capfile_take(int first, unsigned nfiles, int *fds);

#endif
