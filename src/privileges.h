/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privilege separation. The helper does all privileged setup as root, then
 * forks a tiny reaper that stays root and only waits: when the datapath
 * process exits (any way, SIGKILL included) the reaper sees its pipe close
 * and tears the network down. The datapath process drops to SUDO_UID/SUDO_GID
 * (when set) with no capabilities and no way to regain them.
 */
#ifndef VMNET_PRIVILEGES_H
#define VMNET_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct priv_user {
	uid_t uid;
	gid_t gid;
	bool from_sudo;
};

/* Reads SUDO_UID/SUDO_GID, else the current ids. -1 with ERROR logged if malformed. */
int priv_user_from_env(struct priv_user *u);
/* Become u with no capabilities (also when staying uid 0). -1 with ERROR logged. */
int priv_drop(const struct priv_user *u);

struct reaper {
	pid_t pid;
	int pipe_fd;   /* our end of the reaper's channel (a SOCK_SEQPACKET pair) */
};

typedef void (*reaper_fn)(void *arg);
/* A request from the datapath, len bytes of it (untrusted): the reaper's
 * answer, one byte. */
typedef uint8_t (*reaper_ask_fn)(void *arg, const uint8_t *msg, size_t len);

/* Forks the reaper. It closes every fd but stderr and keep_fd, ignores
 * SIGINT/SIGTERM/SIGHUP and waits for the channel to close, then runs
 * fn(arg). Meanwhile it answers each request with ask(arg, ...) (NULL: none
 * answered). */
int reaper_start(struct reaper *r, reaper_fn fn, reaper_ask_fn ask, void *arg, int keep_fd);
/* Sends a request and waits up to timeout_ms for the one-byte answer.
 * The answer, or -errno (-ETIMEDOUT). */
int reaper_ask(struct reaper *r, const void *msg, size_t len, int timeout_ms);
/* Closes the channel and waits for the reaper to finish teardown. */
void reaper_finish(struct reaper *r);

#endif
