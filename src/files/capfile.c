/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --pcap files (capfile.h): opened by a short-lived files process that
 * setup forks before anything is set up, with the invoking user's identity
 * and no capabilities (root's own paths: root with the file capabilities
 * only), or by the user's own process itself (the user's side of
 * vmnet-broker). Its channel carries one typed message (parse/msg.h) with
 * the descriptors. capfile_fd_refused and capfile_take run as root (the
 * broker, the helper's setup) on descriptors a user passed: they only look.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/options.h"
#include "files/capfile.h"
#include "files/owner.h"
#include "parse/msg.h"

#define CTL_FD FILES_CTL_FD

/* "files" wherever it runs (the files process, the user's side of the
 * broker): the same line either way. */
static void fail(const char *name, const char *why)
{
	ERROR("files", "cannot use --pcap \"%s\": %s", name, why);
}

/* Creates name, or opens it if it is a regular file already there, and
 * empties it if empty is set. *created: this call made it. 0 or -1 (ERROR
 * logged). */
static int open_one(const char *name, bool empty, int *fd, bool *created)
{
	struct stat st;

	*created = false;
	*fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd >= 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST) {
		fail(name, strerror(errno));
		return -1;
	}
	/* There already: only a regular file is ours to empty. O_NONBLOCK so a
	 * FIFO cannot hold us up before it is refused. */
	*fd = open(name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		fail(name, errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fail(name, "it exists and is not a regular file");
	} else if (empty && ftruncate(*fd, 0) < 0) {
		fail(name, strerror(errno));
	} else {
		fcntl(*fd, F_SETFL, 0);
		return 0;
	}
	close(*fd);
	*fd = -1;
	return -1;
}

/* Every file, or none: those made here go again on a failure. */
static int open_all(const char *path, unsigned nfiles, bool empty, int *fds, bool *created)
{
	char name[PATH_MAX];
	unsigned i;

	for (i = 0; i < nfiles; i++) {
		if (options_pcap_file(path, nfiles, i, name, sizeof(name)) < 0) {
			fail(path, "path too long");
			break;
		}
		if (open_one(name, empty, &fds[i], &created[i]) < 0)
			break;
	}
	if (i == nfiles)
		return 0;
	while (i-- > 0) {
		close(fds[i]);
		fds[i] = -1;
		if (created[i] && options_pcap_file(path, nfiles, i, name, sizeof(name)) == 0)
			unlink(name);
	}
	return -1;
}

/* ---- in the files process ---- */

static void send_ready(int rc, const int *fds, unsigned nfiles)
{
	struct msg_capture_ready r = { .h = msg_hdr(MSG_CAPTURE_READY, 0), .rc = rc,
				       .nfiles = rc == 0 ? nfiles : 0 };
	union { char buf[CMSG_SPACE(PCAP_FILES_MAX * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { &r, sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (rc == 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(nfiles * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfiles * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfiles * sizeof(int));
	}
	sendmsg(CTL_FD, &msg, MSG_NOSIGNAL);
}

static _Noreturn void files_main(const char *path, unsigned nfiles, const struct priv_user *u)
{
	int fds[PCAP_FILES_MAX];
	bool created[PCAP_FILES_MAX] = { false };
	int rc;

	umask(077);
	rc = files_become_owner(u);
	if (rc == 0)
		rc = open_all(path, nfiles, true, fds, created);
	send_ready(rc, fds, nfiles);
	_exit(rc == 0 ? 0 : 1);
}

/* ---- in the caller ---- */

/* The files process's verdict, with exactly nfiles descriptors on success. */
static int recv_ready(int ctl, unsigned nfiles, int *fds)
{
	uint8_t buf[sizeof(union msg) + 1];
	union { char buf[CMSG_SPACE(PCAP_FILES_MAX * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	union msg m;
	ssize_t n;
	size_t got = 0;
	bool ok;

	while ((n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	ok = n > 0 && msg_parse(buf, (size_t)n, MSG_FROM_CAPTURE_FILES, &m) == MSG_CAPTURE_READY;
	c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), got * sizeof(int));
	}
	if (ok && m.capture_ready.rc == 0 && m.capture_ready.nfiles == nfiles && got == nfiles)
		return 0;
	for (size_t i = 0; i < got; i++)
		close(fds[i]);
	/* It said why (one ERROR line) unless it died without a word. */
	if (!ok)
		ERROR("main", "the capture files process failed");
	return -1;
}

int capfile_open(const char *path, unsigned nfiles, const struct priv_user *u, int *fds)
{
	int sv[2], rc, status;
	pid_t pid;

	if (nfiles < 1 || nfiles > PCAP_FILES_MAX || u == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ERROR("main", "cannot create a socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		files_keep_channel(sv[1]);
		files_main(path, nfiles, u);
	}
	close(sv[1]);
	if (pid < 0) {
		ERROR("main", "cannot fork: %s", strerror(errno));
		close(sv[0]);
		return -1;
	}
	rc = recv_ready(sv[0], nfiles, fds);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* ---- the user's side of vmnet-broker ---- */

int capfile_open_own(const char *path, unsigned nfiles, int *fds, bool *created)
{
	mode_t old;
	int rc;

	if (nfiles < 1 || nfiles > PCAP_FILES_MAX)
		return -1;
	for (unsigned i = 0; i < nfiles; i++)
		created[i] = false;
	old = umask(077);
	rc = open_all(path, nfiles, false, fds, created);
	umask(old);
	return rc;
}

/* Whether every file is still empty: the capture, which writes a header
 * into each as it starts, never did. */
static bool untouched(const int *fds, unsigned nfiles)
{
	struct stat st;

	for (unsigned i = 0; i < nfiles; i++)
		if (fstat(fds[i], &st) < 0 || st.st_size != 0)
			return false;
	return true;
}

void capfile_close_own(const char *path, unsigned nfiles, int *fds, const bool *created,
		       bool discard)
{
	char name[PATH_MAX];
	struct stat mine, there;

	discard = discard && untouched(fds, nfiles);
	for (unsigned i = 0; i < nfiles; i++) {
		if (discard && created[i] && fstat(fds[i], &mine) == 0 &&
		    options_pcap_file(path, nfiles, i, name, sizeof(name)) == 0 &&
		    lstat(name, &there) == 0 && there.st_dev == mine.st_dev &&
		    there.st_ino == mine.st_ino)
			unlink(name);
		close(fds[i]);
		fds[i] = -1;
	}
}

/* ---- descriptors a user passed: looked at, as root ---- */

const char *capfile_fd_refused(int fd)
{
	struct statx stx;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return "is not open";
	/* The type alone, as the kernel has it: no filesystem is asked (a
	 * user's FUSE or NFS server cannot hold root here). */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0 ||
	    !(stx.stx_mask & STATX_TYPE) || !S_ISREG(stx.stx_mode))
		return "is not a regular file";
	if ((flags & O_PATH) || ((flags & O_ACCMODE) != O_WRONLY && (flags & O_ACCMODE) != O_RDWR))
		return "is not open for writing";
	return NULL;
}

int capfile_take(int first, unsigned nfiles, int *fds)
{
	if (nfiles < 1 || nfiles > PCAP_FILES_MAX)
		return -1;
	for (unsigned i = 0; i < nfiles; i++) {
		int fd = first + (int)i;
		const char *why = capfile_fd_refused(fd);

		if (why) {
			ERROR("main", "invalid --pcap-fd %d: descriptor %d (--pcap file %u of %u) %s",
			      first, fd, i + 1, nfiles, why);
			return -1;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fds[i] = fd;
	}
	return 0;
}
