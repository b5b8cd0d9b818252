/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-status [--json]: the running helpers of this network namespace,
 * for an administrator (root sees every helper) or a user (their own).
 * Runs with its caller's rights, never through sudo: it only connects to
 * the helpers' status sockets (common/statusdir.h), and each helper answers
 * only root and its own user; another user's helper closes the connection
 * unanswered and is not listed.
 *
 * What it trusts: the pid comes from root (the socket's name, in a
 * directory only root writes) and the kernel (the credentials of the
 * listening socket), the user from the kernel (/proc/PID/status);
 * everything else is the helper's answer (parse/msg.h, checked by
 * msg_parse), which a datapath a VM took over could falsify for its own
 * helper, so every string of it is printed escaped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ident.h"
#include "common/ip4.h"
#include "common/json.h"
#include "common/options.h"
#include "common/procfs.h"
#include "common/statusdir.h"
#include "common/version.h"
#include "parse/msg.h"

#define MAX_HELPERS 4096
#define ANSWER_MS 2000

/* One socket of the directory and what became of asking it. */
struct entry {
	pid_t pid;                /* from its name (root's) */
	uid_t uid;                /* the helper's real uid, the kernel's (/proc) */
	int fd;                   /* while waiting for the answer */
	enum { ASKING, ANSWERED, SILENT, REFUSED, MISMATCH } state;
	struct msg_status st;
};

static int usage(FILE *out, int code)
{
	fputs("Usage: vmnet-status [--json]\n"
	      "\n"
	      "Lists the vmnet-helper processes running in this network namespace: user,\n"
	      "network, interface id, MAC, lease, TAP, uptime and counters. Root sees every\n"
	      "helper, a user only their own.\n"
	      "\n"
	      "  --json        one JSON array, an object per helper\n"
	      "  -h, --help    print this help and exit\n"
	      "      --version print the version and exit\n", out);
	return code;
}

/* Printable ASCII only: whatever a helper answered goes to a terminal. */
static void clean(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static void clean_status(struct msg_status *st)
{
	clean(st->id);
	clean(st->network);
	clean(st->bridge);
	clean(st->tap);
	clean(st->socket);
}

/* The directory must be root's and written by root alone: then the names
 * and owners in it are root's word. */
static int open_dir(const char *path, DIR **out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	*out = fdopendir(fd);
	return *out ? 0 : -errno;
}

/* Connects to the socket of e in dir; false when no helper listens there
 * any more. */
static bool ask(int dirfd, const char *dir, const char *name, struct entry *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	uid_t uid;

	/* The real uid, as the kernel says (/proc/PID/status is readable for
	 * every process, a not dumpable one too); gone: no entry. */
	if (procfs_uid(e->pid, PROCFS_UID_REAL, &uid) < 0 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	e->uid = uid;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name) >= (int)sizeof(a.sun_path))
		return false;
	e->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return false;
	if (connect(e->fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		e->state = ASKING;
		return true;
	}
	if (errno == EAGAIN) {   /* its backlog is full: it does not answer */
		e->state = SILENT;
		return true;
	}
	close(e->fd);
	e->fd = -1;
	return false;
}

/* The answer of e: a whole MSG_STATUS from the helper the name says. */
static void read_answer(struct entry *e)
{
	uint8_t buf[sizeof(union msg) + 1];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	union msg m;
	ssize_t n = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	/* Closed unanswered: another user's helper. */
	e->state = REFUSED;
	if (n <= 0)
		return;
	e->state = MISMATCH;
	if (msg_parse(buf, (size_t)n, MSG_FROM_HELPER, &m) != MSG_STATUS)
		return;
	e->st = m.status;
	clean_status(&e->st);
	/* The listener's credentials (the helper's setup, same pid), its name
	 * and its uid, the kernel's, against what it says of itself. */
	if (getsockopt(e->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == e->pid &&
	    e->st.pid == e->pid && e->st.uid == e->uid)
		e->state = ANSWERED;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every answer, or what came within ANSWER_MS: all asked at once, so a
 * stopped helper costs the listing that long once, not per helper. */
static void collect(struct entry *e, size_t n)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	int64_t deadline = now_ms() + ANSWER_MS;

	if (!p)
		return;
	for (;;) {
		size_t k = 0;
		int64_t left = deadline - now_ms();

		for (size_t i = 0; i < n; i++)
			if (e[i].state == ASKING)
				p[k++] = (struct pollfd){ .fd = e[i].fd, .events = POLLIN };
		if (k == 0 || left <= 0 || poll(p, k, (int)left) <= 0)
			break;
		for (size_t i = 0, j = 0; i < n; i++)
			if (e[i].state == ASKING && p[j++].revents)
				read_answer(&e[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].state == ASKING)
			e[i].state = SILENT;
		if (e[i].fd >= 0)
			close(e[i].fd);
	}
	free(p);
}

/* What this caller may see: whatever answered it, and, of a helper that
 * did not answer (still starting, or waiting for its --socket client),
 * root everything and a user a helper already running as them. */
static bool visible(const struct entry *e)
{
	if (e->state == REFUSED)
		return false;
	if (e->state == ANSWERED || e->state == MISMATCH)
		return true;
	return getuid() == 0 || e->uid == getuid();
}

static int by_pid(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The helpers this caller may see, in pid order; -1 on an unusable
 * directory (the message printed). */
static int list(struct entry **out, size_t *count)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)] = "";
	struct entry *e = calloc(MAX_HELPERS, sizeof(*e));
	struct dirent *d;
	DIR *dp = NULL;
	size_t n = 0, shown = 0;
	int rc = statusdir_path(dir, sizeof(dir));

	if (rc == 0)
		rc = open_dir(dir, &dp);
	if (rc < 0 || !e) {
		fprintf(stderr, "vmnet-status: %s: %s\n", dir, strerror(rc < 0 ? -rc : ENOMEM));
		free(e);
		return -1;
	}
	while (dp && n < MAX_HELPERS && (d = readdir(dp)) != NULL) {
		e[n] = (struct entry){ .pid = statusdir_pid(d->d_name), .fd = -1 };
		if (e[n].pid > 0 && ask(dirfd(dp), dir, d->d_name, &e[n]))
			n++;
	}
	if (dp)
		closedir(dp);
	collect(e, n);
	for (size_t i = 0; i < n; i++)
		if (visible(&e[i]))
			e[shown++] = e[i];
	n = shown;
	qsort(e, n, sizeof(*e), by_pid);
	*out = e;
	*count = n;
	return 0;
}

/* ---- output ---- */

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw) {
		snprintf(buf, len, "%s", pw->pw_name);
		clean(buf);
	} else {
		snprintf(buf, len, "%u", (unsigned)uid);
	}
	return buf;
}

/* The user a helper runs for: its datapath's, or root for one root started
 * for itself (whose datapath runs as nobody), or while it sets up. */
static uid_t user_of(const struct entry *e)
{
	if (e->state == ANSWERED)
		return e->st.for_user ? e->st.uid : 0;
	return e->uid;
}

static const char *mode_name(const struct msg_status *st)
{
	static const char *const names[][2] = {
		{ "shared", "shared,isolated" }, { "host", "host,isolated" }, { "bridged", "bridged" },
	};

	return names[st->mode][st->isolated];
}

static const char *subnet(const struct msg_status *st, char *buf, size_t len)
{
	char a[16];

	if (st->mode == MODE_BRIDGED) {
		snprintf(buf, len, "(%s)", st->bridge);
		return buf;
	}
	snprintf(buf, len, "%s/%d", ip4_format(st->gateway & st->mask, a), ip4_mask_prefix(st->mask));
	return buf;
}

static const char *uptime(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return buf;
}

static void print_row(const struct entry *e)
{
	const struct msg_status *st = &e->st;
	char user[64], net[40], mac[18], lease[16], up[32];

	user_name(user_of(e), user, sizeof(user));
	if (e->state != ANSWERED) {
		printf("%-8d %-12s %s\n", (int)e->pid, user, e->state == SILENT
		       ? "(no answer: starting, or waiting for its VM's client)"
		       : "(an answer that does not match the helper: not shown)");
		return;
	}
	printf("%-8d %-12s %-15s %-10s %-18s %-15s %-17s %-9s %-36s %8s %10llu %8llu %10llu %8llu\n",
	       (int)e->pid, user, mode_name(st), st->network[0] ? st->network : "-",
	       subnet(st, net, sizeof(net)),
	       st->mode == MODE_BRIDGED ? "-" : ip4_format(st->lease, lease),
	       ident_mac_format(st->mac, mac), st->tap, st->id, uptime(st->uptime_ms, up, sizeof(up)),
	       (unsigned long long)st->vm.packets, (unsigned long long)st->vm.drops,
	       (unsigned long long)st->host.packets, (unsigned long long)st->host.drops);
}

static void print_table(const struct entry *e, size_t n)
{
	printf("%-8s %-12s %-15s %-10s %-18s %-15s %-17s %-9s %-36s %8s %10s %8s %10s %8s\n",
	       "PID", "USER", "MODE", "NETWORK", "SUBNET", "LEASE", "MAC", "TAP", "INTERFACE ID",
	       "UPTIME", "VM PKTS", "VM DROPS", "HOST PKTS", "HOST DROP");
	for (size_t i = 0; i < n; i++)
		print_row(&e[i]);
}

static void counters_json(struct json *j, const char *key, const struct msg_status_counters *c)
{
	char buf[256];
	struct json o;

	json_begin(&o, buf, sizeof(buf));
	json_num(&o, "packets", (long long)c->packets);
	json_num(&o, "bytes", (long long)c->bytes);
	json_num(&o, "drops", (long long)c->drops);
	json_num(&o, "fast", (long long)c->fast);
	json_num(&o, "slow", (long long)c->slow);
	json_end(&o);
	json_raw(j, key, buf);
}

static void network_json(struct json *j, const struct msg_status *st)
{
	char a[16], net[40];

	json_str(j, "network", st->network[0] ? st->network : NULL);
	if (st->mode == MODE_BRIDGED) {
		json_str(j, "shared_interface", st->bridge);
		return;
	}
	snprintf(net, sizeof(net), "%s/%d", ip4_format(st->gateway & st->mask, a),
		 ip4_mask_prefix(st->mask));
	json_str(j, "subnet", net);
	json_str(j, "gateway", ip4_format(st->gateway, a));
	json_str(j, "end_address", ip4_format(st->end, a));
	json_str(j, "bridge", st->bridge);
	json_str(j, "lease_address", ip4_format(st->lease, a));
	json_raw(j, "isolated", st->isolated ? "true" : "false");
}

static void entry_json(const struct entry *e, char *buf, size_t len)
{
	const struct msg_status *st = &e->st;
	char user[64], mac[18], when[32];
	time_t t = (time_t)st->started;
	struct tm tm;
	struct json j;

	json_begin(&j, buf, len);
	json_num(&j, "pid", e->pid);
	json_str(&j, "user", user_name(user_of(e), user, sizeof(user)));
	json_num(&j, "uid", (long long)user_of(e));
	if (e->state != ANSWERED) {
		json_str(&j, "state", e->state == SILENT ? "no answer" : "mismatched answer");
		json_end(&j);
		return;
	}
	json_str(&j, "state", "running");
	json_str(&j, "started_by", st->for_user ? "user" : "root");
	json_num(&j, "datapath_uid", st->uid);
	json_str(&j, "operation_mode", options_mode_name((enum op_mode)st->mode));
	network_json(&j, st);
	json_str(&j, "interface_id", st->id);
	json_str(&j, "mac_address", ident_mac_format(st->mac, mac));
	json_str(&j, "tap", st->tap);
	json_num(&j, "mtu", st->mtu);
	json_str(&j, "socket", st->socket[0] ? st->socket : NULL);
	json_raw(&j, "capture", st->capture ? "true" : "false");
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", gmtime_r(&t, &tm));
	json_str(&j, "started", when);
	json_num(&j, "uptime_s", (long long)(st->uptime_ms / 1000));
	counters_json(&j, "host", &st->host);
	counters_json(&j, "vm", &st->vm);
	json_end(&j);
}

static void print_json(const struct entry *e, size_t n)
{
	char buf[2048];

	printf("[");
	for (size_t i = 0; i < n; i++) {
		entry_json(&e[i], buf, sizeof(buf));
		printf("%s\n%s", i ? "," : "", buf);
	}
	printf("%s]\n", n ? "\n" : "");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct entry *e;
	size_t n;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return usage(stdout, 0);
		case 'V':
			version_print(stdout, "vmnet-status");
			return 0;
		default:
			return usage(stderr, 2);
		}
	}
	if (optind < argc)
		return usage(stderr, 2);
	if (list(&e, &n) < 0)
		return 1;
	if (json)
		print_json(e, n);
	else
		print_table(e, n);
	free(e);
	return 0;
}
