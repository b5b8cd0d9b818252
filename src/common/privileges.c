/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identity changes (privileges.h): closing inherited descriptors, who the
 * datapath runs as (SUDO_UID/SUDO_GID, checked), and priv_become/priv_drop,
 * read back from the kernel. Runs as root in setup, and in the files
 * process and the reaper as they confine themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privileges.h"
#include "common/sandbox.h"

/* ---- descriptors ---- */

int priv_close_inherited(int keep_fd, int keep_fd2)
{
	int keep[2] = { keep_fd, keep_fd2 }, from = 3;

	if (keep[0] > keep[1]) {
		keep[0] = keep_fd2;
		keep[1] = keep_fd;
	}
	/* Every range between the kept descriptors above stderr, ascending. */
	for (int i = 0; i < 2; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from && close_range((unsigned)from, (unsigned)keep[i] - 1, 0) < 0)
			return -errno;
		from = keep[i] + 1;
	}
	if (close_range((unsigned)from, ~0U, 0) < 0)
		return -errno;
	/* Ascending, so open() returns exactly the missing descriptor. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			return -EBADF;
	return 0;
}

/* ---- who the datapath runs as ---- */

/* A user or group id as sudo writes it: plain decimal, no sign, no spaces,
 * no leading zeros, below (id_t)-1 (which means "no change" to the kernel). */
static int parse_decimal_id(const char *name, const char *s, unsigned *out)
{
	unsigned long long v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= 0xffffffffULL)
		goto bad;
	*out = (unsigned)v;
	return 0;
bad:
	ERROR(LOG_SELF, "invalid %s \"%s\": not a decimal id", name, s);
	return -1;
}

static int fallback_user(struct priv_user *u)
{
	const struct passwd *pw;

	errno = 0;
	pw = getpwnam(PRIV_FALLBACK_USER);
	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
		ERROR(LOG_SELF, "no unprivileged user \"%s\" to run as without SUDO_UID/SUDO_GID%s%s",
		      PRIV_FALLBACK_USER, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->from_sudo = false;
	return 0;
}

int priv_user_from_env(struct priv_user *u)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	unsigned uid, gid;

	if (!su && !sg)
		return fallback_user(u);
	if (!su || !sg) {
		ERROR(LOG_SELF, "%s is set but %s is not: both or neither", su ? "SUDO_UID" : "SUDO_GID",
		      su ? "SUDO_GID" : "SUDO_UID");
		return -1;
	}
	if (parse_decimal_id("SUDO_UID", su, &uid) < 0 || parse_decimal_id("SUDO_GID", sg, &gid) < 0)
		return -1;
	/* root running sudo: the caller is root after all. */
	if (uid == 0)
		return fallback_user(u);
	u->uid = uid;
	u->gid = gid;
	u->from_sudo = true;
	return 0;
}

/* ---- capabilities ---- */

static int cap_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int cap_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)keep, (uint32_t)keep, 0 },
		{ (uint32_t)(keep >> 32), (uint32_t)(keep >> 32), 0 },
	};

	return syscall(SYS_capset, &hdr, d) < 0 ? -errno : 0;
}

/* The highest capability this kernel knows. */
static int cap_last(void)
{
	int cap = 0;

	while (cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
		cap++;
	return cap;
}

/* Needs CAP_SETPCAP, so it comes before anything else is given up. */
static int bounding_keep(uint64_t keep)
{
	int last = cap_last();

	for (int cap = 0; cap <= last; cap++)
		if (!(keep & PRIV_CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

/* uid 0 gets no capabilities from execve, and nobody may change that. */
#define SECUREBITS (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED | \
		    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* ---- the drop and its check ---- */

static int step_failed(const char *step, int err)
{
	ERROR(LOG_SELF, "cannot drop privileges: %s: %s", step, strerror(err));
	return -1;
}

static int not_in_effect(const char *what)
{
	ERROR(LOG_SELF, "privilege drop not in effect: %s", what);
	return -1;
}

/* Everything priv_become promises, read back from the kernel. */
static int verify(uid_t uid, gid_t gid, uint64_t keep)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	uint64_t eff = 0, prm = 0, inh = 0;
	int last = cap_last();

	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
	    (uid_t)setfsuid((uid_t)-1) != uid)
		return not_in_effect("user ids");
	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid ||
	    (gid_t)setfsgid((gid_t)-1) != gid)
		return not_in_effect("group ids");
	if (getgroups(0, NULL) != 0)
		return not_in_effect("supplementary groups");
	if (cap_get(&eff, &prm, &inh) < 0 || eff != keep || prm != keep || inh != 0)
		return not_in_effect("capabilities");
	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != !!(keep & PRIV_CAP(cap)))
			return not_in_effect("capability bounding set");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) != 0)
			return not_in_effect("ambient capabilities");
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return not_in_effect("no_new_privs");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return not_in_effect("dumpable");
	if ((prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECUREBITS) != SECUREBITS)
		return not_in_effect("securebits");
	return 0;
}

int priv_become(uid_t uid, gid_t gid, uint64_t keep)
{
	int rc;

	if (prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0) < 0)
		return step_failed("securebits", errno);
	rc = bounding_keep(keep);
	if (rc < 0)
		return step_failed("capability bounding set", -rc);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return step_failed("ambient capabilities", errno);
	if (setgroups(0, NULL) < 0)
		return step_failed("setgroups", errno);
	if (setresgid(gid, gid, gid) < 0)
		return step_failed("setresgid", errno);
	if (setresuid(uid, uid, uid) < 0)
		return step_failed("setresuid", errno);
	rc = cap_set(keep);
	if (rc < 0)
		return step_failed("capset", -rc);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return step_failed("no_new_privs", errno);
	/* Changing uid already did this; a process of the user's must never
	 * be traced by them: its descriptors came from root. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return step_failed("dumpable", errno);
	return verify(uid, gid, keep);
}

int priv_drop(const struct priv_user *u)
{
	return priv_become(u->uid, u->gid, 0);
}
