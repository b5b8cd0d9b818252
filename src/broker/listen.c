/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-broker's listening socket (listen.h). Runs in the broker (root),
 * at start; the path is the administrator's (--listen) or systemd's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/listen.h"
#include "common/log.h"

#define SD_LISTEN_FDS_START 3
#define BACKLOG 256

static dev_t made_dev;
static ino_t made_ino;

/* A listening unix SOCK_SEQPACKET socket. */
static bool is_listener(int fd)
{
	int domain = 0, type = 0, listening = 0;
	socklen_t len = sizeof(int);
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

int listen_from_systemd(int *fd)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char self[24];
	bool ours;

	snprintf(self, sizeof(self), "%d", (int)getpid());
	ours = pid && fds && strcmp(pid, self) == 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!ours)
		return 0;
	if (strcmp(fds, "1") != 0) {
		ERROR("broker", "systemd passed %s sockets (LISTEN_FDS): expected one", fds);
		return -1;
	}
	if (!is_listener(SD_LISTEN_FDS_START)) {
		ERROR("broker", "the socket systemd passed is not a listening unix "
		      "SOCK_SEQPACKET socket (ListenSequentialPacket= in vmnet-broker.socket)");
		return -1;
	}
	*fd = SD_LISTEN_FDS_START;
	fcntl(*fd, F_SETFD, FD_CLOEXEC);
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	return 1;
}

/* Root's, and writable by no one else (the policy file's rule). */
static bool trusted_dir(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 && !(st->st_mode & S_IWOTH) &&
	       (!(st->st_mode & S_IWGRP) || st->st_gid == 0);
}

static int check_dir(const char *path)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (lstat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ERROR("broker", "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !trusted_dir(&st)) {
		ERROR("broker", "%s must be a directory owned by root and writable by no one else", dir);
		return -1;
	}
	return 0;
}

/* Whatever is at path: nothing, or a socket no one listens on (removed). */
static int clear_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int probe, rc;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		ERROR("broker", "%s exists and is not a socket", addr->sun_path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	rc = probe >= 0 ? connect(probe, (const struct sockaddr *)addr, sizeof(*addr)) : -1;
	if (probe >= 0)
		close(probe);
	if (rc == 0) {
		ERROR("broker", "another vmnet-broker listens on %s", addr->sun_path);
		return -1;
	}
	if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		ERROR("broker", "cannot remove the stale socket %s: %s", addr->sun_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Bound 0660 (umask) and given to root:gid before anyone could connect:
 * until the chown its group is root's. */
static int bind_listen(int fd, const struct sockaddr_un *addr, gid_t gid)
{
	mode_t old = umask(0117);
	int rc = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	struct stat st;

	umask(old);
	if (rc < 0)
		return -1;
	if (fchownat(AT_FDCWD, addr->sun_path, 0, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    lstat(addr->sun_path, &st) < 0 || listen(fd, BACKLOG) < 0) {
		int err = errno;

		unlink(addr->sun_path);
		errno = err;
		return -1;
	}
	made_dev = st.st_dev;
	made_ino = st.st_ino;
	return 0;
}

int listen_at(const char *path, gid_t gid, int *fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path)) {
		ERROR("broker", "invalid --listen \"%s\": an absolute path of at most %zu bytes", path,
		      sizeof(addr.sun_path) - 1);
		return -1;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (check_dir(path) < 0 || clear_path(&addr) < 0)
		return -1;
	*fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0 || bind_listen(*fd, &addr, gid) < 0) {
		ERROR("broker", "cannot listen on %s: %s", path, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		return -1;
	}
	return 0;
}

void listen_remove(const char *path, int fd)
{
	struct stat st;

	close(fd);
	if (made_ino && lstat(path, &st) == 0 && st.st_dev == made_dev && st.st_ino == made_ino)
		unlink(path);
}
