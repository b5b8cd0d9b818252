/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status socket (statussock.h): made by setup as root before the
 * reaper is forked; removed by the reaper (uid 0, CAP_NET_ADMIN alone: the
 * directory is root's, so its owner needs no other right). Both only touch
 * root's own directory under /run/vmnet-helper.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/statusdir.h"
#include "setup/statussock.h"

#define BACKLOG 8

/* Each component of dir, root's and writable by root alone: the names
 * in it are then ours to make and remove. */
static int make_dirs(const char *dir)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (lstat(buf, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
			return -EPERM;
		if (last)
			return 0;
		*p = '/';
	}
}

/* A socket left by a helper that had this pid before: its reaper died too. */
static void remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

static int bind_socket(int fd, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int rc = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	remove_stale(path);
	old = umask(0111);   /* 0666: who may ask is the datapath's check */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		rc = -errno;
	umask(old);
	if (rc == 0 && listen(fd, BACKLOG) < 0)
		rc = -errno;
	if (rc < 0)
		statussock_remove(path);
	return rc;
}

int statussock_open(char *path, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) - 16];
	const char *step = "the namespace's status directory";
	int rc = statusdir_path(dir, sizeof(dir)), fd = -1;

	if (rc == 0)
		rc = make_dirs(dir);
	if (rc == 0 && statusdir_socket(dir, getpid(), path, len) < 0)
		rc = -ENAMETOOLONG;
	if (rc == 0) {
		step = "its socket";
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		rc = fd < 0 ? -errno : bind_socket(fd, path);
	}
	if (rc == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	path[0] = '\0';
	WARN("main", "no status for vmnet-status: cannot make %s: %s", step, strerror(-rc));
	return rc;
}

void statussock_remove(const char *path)
{
	struct stat st;

	if (path[0] && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0)
		WARN(LOG_SELF, "cannot remove %s: %s", path, strerror(errno));
}
