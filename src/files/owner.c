/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files processes' identity and descriptors (owner.h): runs in a process setup forked,
 * as root, right before it drops to the user (or to root's file
 * capabilities alone) for good.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "files/owner.h"

int files_become_owner(const struct priv_user *u)
{
	prctl(PR_SET_NAME, "vmnet-files", 0, 0, 0);
	log_set_process("files");
	if (!u)
		return 0;   /* a user's own vmnet-helper: the user already */
	if (u->from_sudo)
		return priv_become(u->uid, u->gid, 0);
	return priv_become(0, 0, PRIV_CAP(CAP_DAC_OVERRIDE) | PRIV_CAP(CAP_DAC_READ_SEARCH) |
			   PRIV_CAP(CAP_FOWNER));
}

void files_keep_channel(int ctl)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	if (dup2(ctl, FILES_CTL_FD) < 0)
		_exit(1);
	close_range(FILES_CTL_FD + 1, ~0U, 0);
}
