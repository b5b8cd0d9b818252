/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCP lease allocation. The pool can be a /8 (16M addresses), so nothing
 * here is sized by the pool: work and memory are bounded by the number of
 * leases, which is capped by LEASE_MAX.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/text.h"
#include "common/ip4.h"
#include "setup/lease.h"
#include "common/privileges.h"
#include "common/procfs.h"

/* ~8 MiB of text at most; far more VMs than one host will run. */
#define LEASE_MAX 65536
#define LEASE_LINE_MAX 192
#define LEASE_FILE_MAX ((size_t)LEASE_MAX * LEASE_LINE_MAX)

/* ---- parsing ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly xx:xx:xx:xx:xx:xx. */
static bool parse_mac(const char *v, size_t n, uint8_t mac[6])
{
	if (n != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(v[i * 3]), lo = hex_digit(v[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && v[i * 3 + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A decimal number in [0, max]: digits only. */
static bool parse_decimal(const char *v, size_t n, long long max, long long *out)
{
	long long x = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = v[i] - '0';

		if (d < 0 || d > 9 || x > (max - d) / 10)
			return false;  /* not a digit, or past max (checked before overflowing) */
		x = x * 10 + d;
	}
	*out = x;
	return true;
}

/* Interface ids are stored uppercase so files and comparisons agree. */
static bool parse_interface_id(const char *v, size_t n, char id[37])
{
	if (n == 0 || n > 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isgraph((unsigned char)v[i]))
			return false;
		id[i] = (char)toupper((unsigned char)v[i]);
	}
	id[n] = '\0';
	return true;
}

enum { HAVE_IP = 1, HAVE_MAC = 2, HAVE_ID = 4 };

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

/* One key=value; unknown keys are ignored so the format can grow. */
static bool parse_field(struct lease *l, const char *k, size_t kn, const char *v, size_t vn,
			unsigned *have)
{
	char buf[16];
	long long x;

	if (key_is(k, kn, "ip_address")) {
		*have |= HAVE_IP;
		return text_copy(v, vn, buf, sizeof(buf)) && ip4_parse(buf, &l->addr) == 0;
	}
	if (key_is(k, kn, "hw_address")) {
		*have |= HAVE_MAC;
		return parse_mac(v, vn, l->mac);
	}
	if (key_is(k, kn, "interface_id")) {
		*have |= HAVE_ID;
		return parse_interface_id(v, vn, l->id);
	}
	if (key_is(k, kn, "uid"))
		return parse_decimal(v, vn, 0xffffffffLL, &l->uid);
	if (key_is(k, kn, "pid")) {
		if (!parse_decimal(v, vn, 0x7fffffff, &x))
			return false;
		l->pid = (pid_t)x;
		return true;
	}
	if (key_is(k, kn, "time"))
		return parse_decimal(v, vn, 0x7fffffffffffffffLL, &l->time);
	return true;
}

/* One line of n bytes (no newline). */
static bool parse_line(const char *s, size_t n, struct lease *l)
{
	unsigned have = 0;
	size_t i = 0;

	memset(l, 0, sizeof(*l));
	l->uid = LEASE_UID_UNKNOWN;
	while (i < n) {
		size_t start, eq;

		while (i < n && text_is_blank(s[i]))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && !text_is_blank(s[i]))
			i++;
		eq = start;
		while (eq < i && s[eq] != '=')
			eq++;
		if (eq == i)
			return false;  /* a word without '=': not our format */
		if (!parse_field(l, s + start, eq - start, s + eq + 1, i - eq - 1, &have))
			return false;
	}
	return have == (HAVE_IP | HAVE_MAC | HAVE_ID);
}

size_t lease_parse(const char *text, struct lease *leases, size_t cap)
{
	size_t n = 0;

	while (*text && n < cap) {
		size_t len = strcspn(text, "\n");

		if (parse_line(text, len, &leases[n]))
			n++;
		text += len;
		if (*text == '\n')
			text++;
	}
	return n;
}

static void format_mac(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int lease_format(const struct lease *leases, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct lease *l = &leases[i];
		char ip[16], mac[18], uid[32];
		int w;

		format_mac(l->mac, mac);
		if (l->uid >= 0)
			snprintf(uid, sizeof(uid), " uid=%lld", l->uid);
		else
			uid[0] = '\0';
		/* uid last: the fields before it keep the positions they had
		 * before it existed, for tools that read them by position. */
		w = snprintf(buf + len, cap - len,
			     "ip_address=%s hw_address=%s interface_id=%s pid=%d time=%lld%s\n",
			     ip4_format(l->addr, ip), mac, l->id, (int)l->pid, l->time, uid);
		if (w < 0 || (size_t)w >= cap - len) {
			buf[len] = '\0';  /* no half line */
			return -1;
		}
		len += (size_t)w;
	}
	return len > 0x7fffffff ? -1 : (int)len;
}

/* ---- allocation ---- */

static bool in_pool(uint32_t a, uint32_t start, uint32_t end)
{
	return a > start && a <= end;
}

static bool holder_alive(const struct lease *l, int (*alive)(const struct lease *))
{
	return l->pid > 0 && alive(l);
}

static bool same_id(const struct lease *l, const char *id)
{
	return strcasecmp(l->id, id) == 0;
}

/* r's own lease: same interface id, same user (or a line from before uids). */
static bool owned_by(const struct lease *l, const struct lease_request *r)
{
	return same_id(l, r->id) && (l->uid == r->uid || l->uid == LEASE_UID_UNKNOWN);
}

/* A dead helper's lease r may take over: r's user's, or past its lease time. */
static bool reclaimable(const struct lease *l, const struct lease_request *r)
{
	if (holder_alive(l, r->alive))
		return false;
	return l->uid == r->uid || l->time <= r->now - r->lease_time;
}

static void set_lease(struct lease *l, uint32_t addr, const struct lease_request *r,
		      const uint8_t mac[6])
{
	l->addr = addr;
	parse_interface_id(r->id, strlen(r->id), l->id);  /* validated by lease_pick */
	memcpy(l->mac, mac, 6);
	l->uid = r->uid;
	l->pid = r->pid;
	l->time = r->now;
}

/* The same user's: the same uid, or a line from before uids with r's id. */
static bool same_owner(const struct lease *l, const struct lease_request *r)
{
	return l->uid == r->uid || (l->uid == LEASE_UID_UNKNOWN && same_id(l, r->id));
}

/* Still its user's: its helper runs, or it stopped within the lease time. */
static bool held(const struct lease *l, const struct lease_request *r)
{
	return holder_alive(l, r->alive) || l->time > r->now - r->lease_time;
}

/* Another user's lease keeps mac as its own. */
static bool mac_kept_by_other(const struct lease *leases, size_t n, const uint8_t mac[6],
			      const struct lease_request *r)
{
	for (size_t i = 0; i < n; i++)
		if (!same_owner(&leases[i], r) && memcmp(leases[i].mac, mac, 6) == 0 &&
		    held(&leases[i], r))
			return true;
	return false;
}

/*
 * An interface id's MAC is the user's who holds its lease: another user
 * with the same id gets r->user_mac, derived from the id and their uid, so
 * that they neither take over nor block the holder's VM. r's own lease
 * keeps the MAC it has (one of the two) while no one else's lease keeps it,
 * so r's MAC does not change back when the other lease expires.
 */
int lease_mac_for(const struct lease *leases, size_t n, const struct lease_request *r,
		  uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++) {
		const struct lease *l = &leases[i];

		if (owned_by(l, r) && (!memcmp(l->mac, r->mac, 6) || !memcmp(l->mac, r->user_mac, 6)) &&
		    !mac_kept_by_other(leases, n, l->mac, r)) {
			memcpy(mac, l->mac, 6);
			return 0;
		}
	}
	if (!mac_kept_by_other(leases, n, r->mac, r))
		memcpy(mac, r->mac, 6);
	else if (!mac_kept_by_other(leases, n, r->user_mac, r))
		memcpy(mac, r->user_mac, 6);
	else
		return -EADDRINUSE;   /* both others': ids made to collide */
	return 0;
}

/* One of the leases r's user holds in r's pool (lease_held counts them). */
static bool counted(const struct lease *l, const struct lease_request *r)
{
	return l->uid == r->uid && in_pool(l->addr, r->start, r->end) && held(l, r);
}

unsigned lease_held(const struct lease *leases, size_t n, const struct lease_request *r)
{
	unsigned count = 0;

	for (size_t i = 0; i < n; i++)
		count += counted(&leases[i], r);
	return count;
}

/* A live helper other than r's holds r's interface id (for r's user) or
 * the MAC r would get: -1 if none. Another user's running helper with the
 * same id has a MAC of its own and does not stand in r's way. */
static int live_conflict(const struct lease *leases, size_t n, const struct lease_request *r,
			 const uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++) {
		const struct lease *l = &leases[i];

		if (l->pid != r->pid && ((same_id(l, r->id) && same_owner(l, r)) ||
					 memcmp(l->mac, mac, 6) == 0) &&
		    holder_alive(l, r->alive))
			return (int)i;
	}
	return -1;
}

/* Another live helper holds addr under another id (only in a damaged file). */
static bool addr_conflict(const struct lease *leases, size_t n, size_t self,
			  int (*alive)(const struct lease *))
{
	for (size_t j = 0; j < n; j++) {
		if (j != self && leases[j].addr == leases[self].addr &&
		    strcasecmp(leases[j].id, leases[self].id) != 0 && holder_alive(&leases[j], alive))
			return true;
	}
	return false;
}

/*
 * Keep at most one lease of r's: the first one still usable. Every other
 * lease of ours (stale pool, duplicate line) is dropped; the same id's
 * leases of other users stay theirs. Returns the kept index or -1.
 */
static int find_own(struct lease *leases, size_t *n, const struct lease_request *r)
{
	int keep = -1;
	size_t w = 0;

	for (size_t i = 0; i < *n; i++) {
		bool mine = owned_by(&leases[i], r);

		if (mine && keep < 0 && in_pool(leases[i].addr, r->start, r->end) &&
		    !addr_conflict(leases, *n, i, r->alive))
			keep = (int)w;
		else if (mine)
			continue;  /* dropped */
		leases[w++] = leases[i];
	}
	*n = w;
	return keep;
}

/* FNV-1a of the uppercased id: stable across runs and hosts. */
static uint32_t id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++) {
		h ^= (uint8_t)toupper((unsigned char)*id);
		h *= 16777619u;
	}
	return h;
}

struct taken {
	uint32_t addr;
	uint32_t idx;
};

static int cmp_taken(const void *a, const void *b)
{
	const struct taken *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Pool addresses in use, sorted by address (duplicates kept, adjacent). */
static struct taken *collect_taken(const struct lease *leases, size_t n, uint32_t start,
				   uint32_t end, size_t *count)
{
	struct taken *t = malloc((n ? n : 1) * sizeof(*t));
	size_t m = 0;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (in_pool(leases[i].addr, start, end)) {
			t[m].addr = leases[i].addr;
			t[m++].idx = (uint32_t)i;
		}
	}
	qsort(t, m, sizeof(*t), cmp_taken);
	*count = m;
	return t;
}

static bool is_taken(const struct taken *t, size_t m, uint32_t addr)
{
	size_t lo = 0, hi = m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].addr == addr)
			return true;
		if (t[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static size_t count_distinct(const struct taken *t, size_t m)
{
	size_t d = 0;

	for (size_t i = 0; i < m; i++)
		d += i == 0 || t[i].addr != t[i - 1].addr;
	return d;
}

/*
 * Linear probing from the id's slot. At most m addresses are taken, so a
 * free one turns up within m + 1 probes whatever the pool size.
 */
static bool probe_free(const struct taken *t, size_t m, uint32_t start, uint32_t end,
		       const char *id, uint32_t *addr)
{
	uint64_t size = (uint64_t)end - start;
	uint64_t slot = id_hash(id) % size;

	if (count_distinct(t, m) >= size)
		return false;
	for (uint64_t k = 0; k <= m; k++) {
		uint32_t a = (uint32_t)(start + 1 + (slot + k) % size);

		if (!is_taken(t, m, a)) {
			*addr = a;
			return true;
		}
	}
	return false;  /* unreachable: fewer than size distinct addresses */
}

/*
 * The reclaimable address: every lease on it may be taken over by r, and
 * the most recent use of it is the oldest of all such addresses. Returns
 * the start of its run in t, or -1.
 */
static long oldest_reclaimable(const struct lease *leases, const struct taken *t, size_t m,
			       const struct lease_request *r)
{
	long best = -1;
	long long best_time = 0;

	for (size_t i = 0; i < m;) {
		size_t j = i;
		bool ok = true;
		long long newest = 0;

		for (; j < m && t[j].addr == t[i].addr; j++) {
			const struct lease *l = &leases[t[j].idx];

			ok = ok && reclaimable(l, r);
			newest = l->time > newest ? l->time : newest;
		}
		if (ok && (best < 0 || newest < best_time)) {
			best = (long)i;
			best_time = newest;
		}
		i = j;
	}
	return best;
}

/* Take over the run at t[run]: the first lease becomes ours, the rest go. */
static int reclaim(struct lease *leases, size_t *n, const struct taken *t, size_t run)
{
	size_t victim = t[run].idx, w = 0;
	uint32_t addr = t[run].addr;
	int kept = -1;

	for (size_t i = 0; i < *n; i++) {
		if (i != victim && leases[i].addr == addr)
			continue;
		if (i == victim)
			kept = (int)w;
		leases[w++] = leases[i];
	}
	*n = w;
	return kept;
}

static int pick_new(struct lease *leases, size_t *n, size_t cap, const struct lease_request *r,
		    uint32_t *addr)
{
	size_t m;
	struct taken *t = collect_taken(leases, *n, r->start, r->end, &m);
	long run;
	int idx = -ENOSPC;

	if (!t)
		return -ENOMEM;
	if (*n < cap && probe_free(t, m, r->start, r->end, r->id, addr)) {
		idx = (int)(*n)++;
	} else {
		run = oldest_reclaimable(leases, t, m, r);
		if (run >= 0) {
			*addr = t[run].addr;
			idx = reclaim(leases, n, t, (size_t)run);
		}
	}
	free(t);
	return idx;
}

/*
 * r's user holds max_held leases already: their own oldest stopped lease
 * (an address no one else's lease is on) becomes r's. Its index, or -1.
 */
static int take_back(struct lease *leases, size_t *n, const struct lease_request *r)
{
	size_t w = 0;
	long best = -1;
	uint32_t addr;
	int kept = -1;

	for (size_t i = 0; i < *n; i++) {
		const struct lease *l = &leases[i];
		/* One of those it holds (an expired one is not counted: taking it
		 * would hold one more). */
		bool ok = counted(l, r) && !holder_alive(l, r->alive);

		for (size_t j = 0; ok && j < *n; j++)
			ok = j == i || leases[j].addr != l->addr || reclaimable(&leases[j], r);
		if (ok && (best < 0 || l->time < leases[best].time))
			best = (long)i;
	}
	if (best < 0)
		return -1;
	/* The other (reclaimable) leases on that address go. */
	addr = leases[best].addr;
	for (size_t i = 0; i < *n; i++) {
		if (i != (size_t)best && leases[i].addr == addr)
			continue;
		if (i == (size_t)best)
			kept = (int)w;
		leases[w++] = leases[i];
	}
	*n = w;
	return kept;
}

int lease_pick(struct lease *leases, size_t *n, size_t cap, const struct lease_request *r,
	       int *busy)
{
	uint32_t addr;
	uint8_t mac[6];
	int idx;
	char canon[37];

	if (r->end <= r->start || !r->id || !parse_interface_id(r->id, strlen(r->id), canon) ||
	    r->uid < 0 || *n > cap || cap > 0x7fffffff)
		return -EINVAL;
	if (lease_mac_for(leases, *n, r, mac) < 0)
		return -EADDRINUSE;
	idx = live_conflict(leases, *n, r, mac);
	if (idx >= 0) {
		*busy = idx;
		return -EBUSY;
	}
	idx = find_own(leases, n, r);
	/* At the bound, a lease of r's not counted yet (its lease time is over,
	 * or a line from before uids) would be one more: it goes, and a
	 * counted one is taken back. */
	if (r->max_held && (idx < 0 || !counted(&leases[idx], r)) &&
	    lease_held(leases, *n, r) >= r->max_held) {
		if (idx >= 0)
			memmove(&leases[idx], &leases[idx + 1], (--*n - (size_t)idx) * sizeof(*leases));
		idx = take_back(leases, n, r);
		if (idx < 0)
			return -EDQUOT;
	}
	if (idx >= 0) {
		addr = leases[idx].addr;
	} else {
		idx = pick_new(leases, n, cap, r, &addr);
		if (idx < 0)
			return idx;
	}
	set_lease(&leases[idx], addr, r, mac);
	return idx;
}

/* ---- the file ---- */

bool lease_holder_uid(long long lease_uid, uid_t proc_uid, uid_t nobody_uid)
{
	if (lease_uid == LEASE_UID_UNKNOWN || proc_uid == 0)
		return true;   /* an old line; a helper still setting up as root */
	return lease_uid == 0 ? proc_uid == nobody_uid : (long long)proc_uid == lease_uid;
}

/* Looked up once, at setup (lease_acquire): the reaper, forked after it,
 * answers claims without the password database. */
static uid_t nobody_uid(void)
{
	static uid_t nobody = (uid_t)-1;
	struct passwd *pw;

	if (nobody == (uid_t)-1) {
		pw = getpwnam(PRIV_FALLBACK_USER);
		nobody = pw ? pw->pw_uid : 65534;
	}
	return nobody;
}

/* The pid exists and runs the same program as like (0: as we do). */
static int pid_alive_like(pid_t pid, pid_t like)
{
	char comm[32], self[32];

	/* EPERM: it exists but belongs to someone else. */
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	/* Unreadable: "" (gone since, or hidden), taken as alive. */
	(void)procfs_read(pid, "comm", comm, sizeof(comm));
	(void)procfs_read(like > 0 ? like : 0, "comm", self, sizeof(self));
	return comm[0] == '\0' || strcmp(comm, self) == 0;
}

/*
 * A running helper: the pid exists, runs the same program as we do, and as
 * a user that may hold this lease (lease_holder_uid). A pid reused since the
 * lease was written by something else, or by another user's process named
 * like ours, does not hold the lease (and cannot lock its interface id or
 * MAC away).
 */
static int pid_alive_as(const struct lease *l, pid_t like)
{
	uid_t uid;

	if (!pid_alive_like(l->pid, like))
		return 0;
	return procfs_uid(l->pid, PROCFS_UID_REAL, &uid) < 0 || lease_holder_uid(l->uid, uid, nobody_uid());
}

static int pid_alive(const struct lease *l)
{
	return pid_alive_as(l, 0);
}

/* The whole file as a string; a missing file is empty. */
static int read_text(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fd < 0 && errno == ENOENT) {
		*out = calloc(1, 1);
		return *out ? 0 : -ENOMEM;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if ((size_t)st.st_size > LEASE_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;  /* shrank under us: use what we have */
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Make the rename durable: fsync the directory holding path. */
static void sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else if ((size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	} else {
		return;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Temp file in the same directory, then rename: readers see old or new.
 * durable: on disk before we return (fsync of the file and the directory). */
static int write_atomic(const char *path, const char *text, size_t len, bool durable)
{
	char tmp[4096];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = write_all(fd, text, len);
	/* mkstemp makes it 0600; leases are meant to be readable by tools. */
	if (!err && (fchmod(fd, 0644) < 0 || (durable && fsync(fd) < 0)))
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	if (durable)
		sync_dir(path);
	return 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int save(const char *path, const struct lease *leases, size_t n, bool durable)
{
	size_t cap = n * LEASE_LINE_MAX + 1;
	char *text = malloc(cap);
	int len, err;

	if (!text)
		return -ENOMEM;
	len = lease_format(leases, n, text, cap);
	err = len < 0 ? -EOVERFLOW : write_atomic(path, text, (size_t)len, durable);
	free(text);
	return err;
}

/* The leases of path, with room for one more. */
static int load(const char *path, struct lease **out, size_t *n, size_t *cap)
{
	char *text = NULL;
	int err = read_text(path, &text);

	if (err || !text)
		return err ? err : -EIO;
	*cap = count_lines(text) + 1;
	*cap = *cap > LEASE_MAX ? LEASE_MAX : *cap;
	*out = calloc(*cap, sizeof(**out));
	if (!*out) {
		free(text);
		return -ENOMEM;
	}
	*n = lease_parse(text, *out, *cap);
	free(text);
	return 0;
}

int lease_acquire(const char *path, struct lease_request *r, struct lease *got,
		  struct lease *busy, unsigned *held_out)
{
	struct lease *leases;
	size_t n, cap;
	int err = load(path, &leases, &n, &cap), idx, other = -1;

	if (err)
		return err;
	nobody_uid();
	r->pid = getpid();
	r->now = (long long)time(NULL);
	r->alive = pid_alive;
	idx = lease_pick(leases, &n, cap, r, &other);
	if (idx == -EBUSY && busy)
		*busy = leases[other];
	if (idx == -EDQUOT && held_out)
		*held_out = lease_held(leases, n, r);
	err = idx < 0 ? idx : save(path, leases, n, true);
	if (!err)
		*got = leases[idx];
	free(leases);
	return err;
}

int lease_release(const char *path, const char *id, pid_t pid)
{
	struct lease *leases;
	size_t n, cap;
	bool found = false;
	int err = load(path, &leases, &n, &cap);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (leases[i].pid == pid && same_id(&leases[i], id)) {
			leases[i].time = (long long)time(NULL);
			found = true;
		}
	}
	/* Not worth waiting for the disk: the reaper holds the network lock,
	 * which the next helper to start waits for. A crash loses at most this
	 * update of the time. */
	err = found ? save(path, leases, n, false) : 0;
	free(leases);
	return err;
}

int lease_mac_holder(const char *path, const uint8_t mac[6], const char *except_id,
		     pid_t helper, long long lease_time, struct lease *holder)
{
	struct lease *leases;
	size_t n, cap;
	long long now = (long long)time(NULL);
	int err = load(path, &leases, &n, &cap), found = 0;

	if (err)
		return err;
	for (size_t i = 0; i < n && !found; i++) {
		const struct lease *l = &leases[i];

		if (memcmp(l->mac, mac, 6) != 0 || (l->pid == helper && same_id(l, except_id)))
			continue;
		/* Running (by its program and its user, not a name any user
		 * can give a process), or stopped within its lease time: its
		 * VM's next start needs the MAC. */
		if ((l->pid > 0 && pid_alive_as(l, helper)) || l->time > now - lease_time) {
			*holder = *l;
			found = 1;
		}
	}
	free(leases);
	return found;
}

/* ---- addresses of the pool set by hand ---- */

/* May r record addr, held by l? An error if not, 1 if l is r's already
 * (this helper's own line), 0 if l may go. */
static int take_over(const struct lease *l, const struct lease_request *r)
{
	if (holder_alive(l, r->alive))
		return l->pid == r->pid && owned_by(l, r) ? 1 : -EBUSY;
	return owned_by(l, r) || reclaimable(l, r) ? 0 : -EBUSY;
}

/* What r's user holds but for the lines of addr (which a take replaces). */
static unsigned held_besides(const struct lease *leases, size_t n, const struct lease_request *r,
			     uint32_t addr)
{
	unsigned count = 0;

	for (size_t i = 0; i < n; i++)
		count += leases[i].addr != addr && counted(&leases[i], r);
	return count;
}

int lease_take(struct lease *leases, size_t *n, size_t cap, const struct lease_request *r,
	       uint32_t addr)
{
	char canon[37];
	size_t w = 0;

	if (!in_pool(addr, r->start, r->end) || !r->id ||
	    !parse_interface_id(r->id, strlen(r->id), canon) || r->uid < 0 || *n > cap)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++) {
		int rc = leases[i].addr == addr ? take_over(&leases[i], r) : 0;

		if (rc != 0)
			return rc < 0 ? rc : (int)i;
	}
	if (held_besides(leases, *n, r, addr) >= r->max_held && r->max_held)
		return -EDQUOT;   /* one more than the user may hold */
	for (size_t i = 0; i < *n; i++)
		if (leases[i].addr != addr)
			leases[w++] = leases[i];
	if (w >= cap)
		return -ENOSPC;
	set_lease(&leases[w], addr, r, r->mac);
	*n = w + 1;
	return (int)w;
}

/* lease_claim's holders: the helper's program, not the reaper's. */
static pid_t alive_like;

static int pid_alive_helper(const struct lease *l)
{
	return pid_alive_like(l->pid, alive_like);
}

int lease_claim(const char *path, struct lease_request *r, pid_t helper, uint32_t addr)
{
	struct lease *leases;
	size_t n, cap;
	int err = load(path, &leases, &n, &cap), idx;

	if (err)
		return err;
	alive_like = helper;
	r->now = (long long)time(NULL);
	r->alive = pid_alive_helper;
	idx = lease_take(leases, &n, cap, r, addr);
	/* As lease_release: not worth waiting for the disk under the network
	 * lock (a crash loses the line; the VM's next use claims it again). */
	err = idx < 0 ? idx : save(path, leases, n, false);
	free(leases);
	return err;
}

int lease_mac_listed(const char *path, const uint8_t mac[6], const char *except_id)
{
	struct lease *leases;
	size_t n, cap;
	int err = load(path, &leases, &n, &cap), found = 0;

	if (err)
		return err;
	for (size_t i = 0; i < n && !found; i++)
		found = memcmp(leases[i].mac, mac, 6) == 0 && !same_id(&leases[i], except_id);
	free(leases);
	return found;
}
