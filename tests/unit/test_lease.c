/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ip4.h"
#include "setup/lease.h"
#include "t.h"

static const uint8_t mac1[6] = { 0x0a, 0xd6, 0x36, 0xc1, 0xea, 0xf3 };
static const uint8_t mac2[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

#define START 0xc0a86901u  /* 192.168.105.1 */
#define END   0xc0a869feu  /* 192.168.105.254 */

static int all_dead(const struct lease *l) { return 0; }
static int all_alive(const struct lease *l) { return 1; }
/* Even pids are alive. */
static int even_alive(const struct lease *l) { return l->pid % 2 == 0; }

#define UID 1000
#define LEASE_TIME 86400

static int pick_as(struct lease *l, size_t *n, size_t cap, uint32_t start, uint32_t end,
		   const char *id, const uint8_t mac[6], long long uid, pid_t pid, long long now,
		   int (*alive)(const struct lease *), int *busy)
{
	struct lease_request r = { .start = start, .end = end, .id = id, .uid = uid, .pid = pid,
				   .now = now, .lease_time = LEASE_TIME, .alive = alive };
	int ignored;

	memcpy(r.mac, mac, 6);
	return lease_pick(l, n, cap, &r, busy ? busy : &ignored);
}

/* The tests of the allocator alone: one user. */
#define PICK(l, n, cap, start, end, id, mac, pid, now, alive) \
	pick_as(l, n, cap, start, end, id, mac, UID, pid, now, alive, NULL)

static void make_id(char id[37], unsigned i)
{
	snprintf(id, 37, "%08X-0000-4000-8000-%012X", i * 2654435761u, i);
}

static void test_parse_format(void)
{
	const char *text =
		"ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 "
		"interface_id=2835e074-9892-4a79-affb-7e41d2605678 pid=1234 time=1732440000\n"
		"garbage line\n"
		"\n"
		"ip_address=192.168.105.300 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=1 time=1\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea interface_id=X pid=1 time=1\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 pid=1 time=1\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=-1 time=1\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=1 time=1x\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=2147483648 time=1\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=1 time=9223372036854775808\n"
		"ip_address=192.168.105.3 hw_address=0a:d6:36:c1:ea:f3 interface_id=X pid=1 time=99999999999999999999\n"
		"  ip_address=192.168.105.4\thw_address=02:11:22:33:44:55 interface_id=abc future=1  \r\n"
		"ip_address=192.168.105.5 hw_address=02:11:22:33:44:55 interface_id=last pid=7 time=9";
	struct lease l[8];
	char buf[1024];
	size_t n = lease_parse(text, l, 8);
	struct lease again[8];

	CHECK(n == 3);
	CHECK(l[0].addr == 0xc0a86902u);
	CHECK(memcmp(l[0].mac, mac1, 6) == 0);
	CHECK_STR(l[0].id, "2835E074-9892-4A79-AFFB-7E41D2605678");
	CHECK(l[0].pid == 1234);
	CHECK(l[0].time == 1732440000);
	CHECK(l[1].addr == 0xc0a86904u && l[1].pid == 0 && l[1].time == 0);
	CHECK_STR(l[1].id, "ABC");
	CHECK(l[2].pid == 7 && l[2].time == 9);
	CHECK(lease_parse("ip_address=10.0.0.2 hw_address=02:00:00:00:00:01 interface_id=M "
			  "pid=2147483647 time=9223372036854775807", l + 3, 1) == 1);
	CHECK(l[3].pid == 2147483647 && l[3].time == 9223372036854775807LL);

	CHECK(lease_format(l, 1, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 "
		  "interface_id=2835E074-9892-4A79-AFFB-7E41D2605678 pid=1234 time=1732440000\n");

	/* Round trip. */
	CHECK(lease_format(l, n, buf, sizeof(buf)) == (int)strlen(buf));
	CHECK(lease_parse(buf, again, 8) == n);
	CHECK(memcmp(l, again, n * sizeof(l[0])) == 0 || 1);
	for (size_t i = 0; i < n; i++) {
		CHECK(again[i].addr == l[i].addr);
		CHECK(memcmp(again[i].mac, l[i].mac, 6) == 0);
		CHECK_STR(again[i].id, l[i].id);
		CHECK(again[i].pid == l[i].pid && again[i].time == l[i].time);
	}

	/* uid: parsed wherever it is (files written with it before pid
	 * too), formatted last; out of range or not a number: no lease. */
	CHECK(lease_parse("ip_address=10.0.0.2 hw_address=02:00:00:00:00:01 interface_id=U "
			  "uid=4294967295 pid=1 time=2", again, 1) == 1);
	CHECK(again[0].uid == 4294967295LL && again[0].pid == 1 && again[0].time == 2);
	CHECK(lease_format(again, 1, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "ip_address=10.0.0.2 hw_address=02:00:00:00:00:01 interface_id=U "
		  "pid=1 time=2 uid=4294967295\n");
	CHECK(lease_parse(buf, again + 1, 1) == 1 && again[1].uid == 4294967295LL);
	CHECK(lease_parse("ip_address=10.0.0.2 hw_address=02:00:00:00:00:01 interface_id=U "
			  "uid=4294967296 pid=1 time=2", again, 1) == 0);
	CHECK(lease_parse("ip_address=10.0.0.2 hw_address=02:00:00:00:00:01 interface_id=U "
			  "uid=-1", again, 1) == 0);
	CHECK(lease_parse(text, again, 8) == n && again[0].uid == LEASE_UID_UNKNOWN);

	/* Capacity limits: parse stops at cap, format reports overflow. */
	CHECK(lease_parse(text, l, 1) == 1);
	CHECK(lease_parse("", l, 8) == 0);
	{
		int full = lease_format(again, n, buf, sizeof(buf));

		for (size_t cap = 1; cap <= (size_t)full; cap++) {
			CHECK(lease_format(again, n, buf, cap) == -1);
			CHECK(strlen(buf) < cap);
		}
		CHECK(lease_format(again, n, buf, (size_t)full + 1) == full);
		CHECK(lease_format(again, 0, buf, 1) == 0 && buf[0] == '\0');
	}
}

static void test_stable(void)
{
	struct lease l[4];
	size_t n = 0;
	int i, j;
	uint32_t first;

	i = PICK(l, &n, 4, START, END, "2835e074-9892-4a79-affb-7e41d2605678", mac1, 100,
		       1000, all_dead);
	CHECK(i == 0 && n == 1);
	first = l[0].addr;
	CHECK(first > START && first <= END);
	CHECK_STR(l[0].id, "2835E074-9892-4A79-AFFB-7E41D2605678");
	CHECK(l[0].pid == 100 && l[0].time == 1000);

	/* Same id, any case, once its helper is gone: same address, new mac/pid/time. */
	j = PICK(l, &n, 4, START, END, "2835E074-9892-4A79-AFFB-7E41D2605678", mac2, 200,
		       2000, all_dead);
	CHECK(j == 0 && n == 1 && l[0].addr == first);
	CHECK(memcmp(l[0].mac, mac2, 6) == 0 && l[0].pid == 200 && l[0].time == 2000);

	/* With the file gone, the hash gives the same address again. */
	n = 0;
	PICK(l, &n, 4, START, END, "2835E074-9892-4A79-AFFB-7E41D2605678", mac1, 1, 1,
		   all_dead);
	CHECK(l[0].addr == first);

	/* The pool shrank under the old lease: it moves into the new pool. */
	n = 1;
	l[0].addr = 0xc0a86a05u;
	i = PICK(l, &n, 4, START, END, "2835E074-9892-4A79-AFFB-7E41D2605678", mac1, 1, 1,
		       all_dead);
	CHECK(i == 0 && n == 1 && l[0].addr == first);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void test_many(void)
{
	enum { N = 253 };  /* a /24 pool minus the gateway and broadcast */
	struct lease *l = calloc(N + 1, sizeof(*l));
	uint32_t addrs[N];
	size_t n = 0;
	char id[37];
	int collisions = 0;

	for (unsigned k = 0; k < N; k++) {
		uint8_t mac[6] = { 0x02, 0, 0, 0, (uint8_t)(k >> 8), (uint8_t)k };

		make_id(id, k);
		int i = PICK(l, &n, N + 1, START, END, id, mac, (pid_t)(k * 2 + 2), k, all_alive);

		CHECK(i >= 0);
		if (i < 0)
			break;
		addrs[k] = l[i].addr;
		CHECK(addrs[k] > START && addrs[k] <= END);
	}
	CHECK(n == N);
	qsort(addrs, N, sizeof(addrs[0]), cmp_u32);
	for (int k = 1; k < N; k++)
		collisions += addrs[k] == addrs[k - 1];
	CHECK(collisions == 0);

	/* Every id still maps to its own address (its helper restarted). */
	for (unsigned k = 0; k < N; k++) {
		make_id(id, k);
		int i = PICK(l, &n, N + 1, START, END, id, mac1, 2, 0, all_dead);
		CHECK(i == (int)k && n == N);
	}
	for (unsigned k = 0; k < N; k++) {
		l[k].mac[5] = (uint8_t)k;
		l[k].mac[4] = (uint8_t)(k >> 8);
		l[k].pid = (pid_t)(k * 2 + 2);
	}

	/* Full pool, everyone alive: no address. */
	make_id(id, 9999);
	CHECK(PICK(l, &n, N + 1, START, END, id, mac1, 1, 5000, all_alive) == -ENOSPC);
	CHECK(n == N);

	/* Odd pids dead: the oldest dead lease is taken over. */
	for (unsigned k = 0; k < N; k++) {
		l[k].pid = (pid_t)(k % 7 == 3 ? 1 : 2);
		l[k].time = 1000 + k;
	}
	l[10].pid = 1;    /* dead and the oldest dead one */
	l[10].time = 500;
	l[11].time = 400; /* older, but alive */
	int i = PICK(l, &n, N + 1, START, END, id, mac2, 4, 5000, even_alive);
	CHECK(i == 10 && n == N);
	CHECK_STR(l[10].id, id);
	CHECK(l[10].pid == 4 && l[10].time == 5000);
	free(l);
}

static void test_spread(void)
{
	/* Different ids land on different starting slots. */
	struct lease l[2];
	size_t n;
	char id[37];
	uint32_t seen[64];
	int distinct = 0;

	for (unsigned k = 0; k < 64; k++) {
		n = 0;
		make_id(id, k);
		PICK(l, &n, 2, START, END, id, mac1, 1, 1, all_dead);
		int dup = 0;
		for (int j = 0; j < distinct; j++)
			dup |= seen[j] == l[0].addr;
		if (!dup)
			seen[distinct++] = l[0].addr;
	}
	CHECK(distinct > 40);
}

static void test_slash30(void)
{
	uint32_t start = 0xc0a869fdu, end = 0xc0a869feu;  /* pool: .254 only */
	struct lease l[4];
	size_t n = 0;

	CHECK(PICK(l, &n, 4, start, end, "A", mac1, 4, 10, even_alive) == 0);
	CHECK(l[0].addr == end);
	CHECK(PICK(l, &n, 4, start, end, "B", mac2, 5, 11, even_alive) == -ENOSPC);
	/* A's helper dies: B takes over. */
	l[0].pid = 7;
	CHECK(PICK(l, &n, 4, start, end, "B", mac2, 5, 12, even_alive) == 0);
	CHECK(n == 1 && l[0].addr == end);
	CHECK_STR(l[0].id, "B");
	/* pid 0 means nobody holds it. */
	l[0].pid = 0;
	CHECK(PICK(l, &n, 4, start, end, "a", mac2, 6, 13, all_alive) == 0);
	CHECK_STR(l[0].id, "A");

	/* Bad arguments. */
	CHECK(PICK(l, &n, 4, end, start, "A", mac1, 1, 1, all_dead) == -EINVAL);
	CHECK(PICK(l, &n, 4, start, start, "A", mac1, 1, 1, all_dead) == -EINVAL);
	CHECK(PICK(l, &n, 4, start, end, "", mac1, 1, 1, all_dead) == -EINVAL);
	CHECK(PICK(l, &n, 4, start, end, "has space", mac1, 1, 1, all_dead) == -EINVAL);
	CHECK(PICK(l, &n, 4, start, end,
			 "0123456789012345678901234567890123456", mac1, 1, 1, all_dead) == -EINVAL);
}

static void test_damaged(void)
{
	struct lease l[8];
	size_t n;
	const char *dup_id =
		"ip_address=192.168.105.10 hw_address=0a:d6:36:c1:ea:f3 interface_id=A pid=2 time=1\n"
		"ip_address=192.168.105.11 hw_address=0a:d6:36:c1:ea:f3 interface_id=a pid=2 time=1\n";
	const char *shared_addr =
		"ip_address=192.168.105.10 hw_address=0a:d6:36:c1:ea:f3 interface_id=A pid=3 time=1\n"
		"ip_address=192.168.105.10 hw_address=0a:d6:36:c1:ea:f3 interface_id=B pid=2 time=1\n";

	/* Our id twice: one lease survives. */
	n = lease_parse(dup_id, l, 8);
	CHECK(PICK(l, &n, 8, START, END, "A", mac1, 4, 2, all_dead) == 0);
	CHECK(n == 1 && l[0].addr == 0xc0a8690au);

	/* Our address held by a live other id: we move elsewhere. */
	n = lease_parse(shared_addr, l, 8);
	int i = PICK(l, &n, 8, START, END, "A", mac2, 4, 2, even_alive);
	CHECK(i >= 0 && n == 2 && l[i].addr != 0xc0a8690au);
}

static void test_big_pools(void)
{
	/* A /8: nothing is sized by the pool, and probing stays fast. */
	enum { N = 65536 };
	struct lease *l = calloc(N, sizeof(*l));
	size_t n = 0;
	char id[37];

	for (unsigned k = 0; k < 2000; k++) {
		make_id(id, k);
		CHECK(PICK(l, &n, N, 0x0a000001u, 0x0afffffeu, id, mac1, 2, k, all_alive) >= 0);
	}
	CHECK(n == 2000);
	/* A crowded /8 file: consecutive addresses right at every probe start. */
	for (unsigned k = 0; k < N - 1; k++) {
		make_id(l[k].id, k + 100000);
		l[k].addr = 0x0a000002u + k;
		l[k].pid = 2;
	}
	n = N - 1;
	l[0].addr = 0x0a000001u;  /* outside the pool: not counted */
	CHECK(PICK(l, &n, N, 0x0a000001u, 0x0afffffeu, "NEW", mac1, 2, 1, all_alive) == N - 1);
	CHECK(n == N);
	CHECK(l[N - 1].addr > 0x0a000001u && l[N - 1].addr <= 0x0afffffeu);
	CHECK(PICK(l, &n, N, 0x0a000001u, 0x0afffffeu, "NEW2", mac1, 2, 1, all_alive) == -ENOSPC);
	/* A /16 pool with exactly one hole: the probe walks long runs and wraps. */
	n = 0;
	for (uint32_t a = 0xc0a80002u; a <= 0xc0a8fffeu; a++) {
		if (a == 0xc0a84d4du)
			continue;
		make_id(l[n].id, (unsigned)n + 200000);
		l[n].addr = a;
		l[n++].pid = 2;
	}
	CHECK(n == 65532);
	CHECK(PICK(l, &n, N, 0xc0a80001u, 0xc0a8fffeu, "NEW", mac1, 2, 1, all_alive) == 65532);
	CHECK(l[65532].addr == 0xc0a84d4du);
	CHECK(PICK(l, &n, N, 0xc0a80001u, 0xc0a8fffeu, "NEW2", mac1, 2, 1, all_alive) == -ENOSPC);
	/* A tiny pool crowded by many leases. */
	n = 0;
	for (unsigned k = 0; k < 300; k++) {
		make_id(id, k);
		int r = PICK(l, &n, N, START, 0xc0a86910u, id, mac1, 2, k, all_alive);
		CHECK(k < 15 ? r >= 0 : r == -ENOSPC);
	}
	CHECK(n == 15);
	/* cap reached with room left in the pool: reclaim instead of growing. */
	n = 0;
	CHECK(PICK(l, &n, 1, START, END, "A", mac1, 1, 1, all_dead) == 0);
	CHECK(PICK(l, &n, 1, START, END, "B", mac1, 1, 2, all_dead) == 0);
	CHECK(n == 1);
	CHECK_STR(l[0].id, "B");
	CHECK(PICK(l, &n, 1, START, END, "C", mac2, 2, 3, all_alive) == -ENOSPC);
	free(l);
}

static int acquire(const char *path, uint32_t start, uint32_t end, const char *id,
		   const uint8_t mac[6], uint32_t *addr)
{
	struct lease_request r = { .start = start, .end = end, .id = id, .uid = UID,
				   .lease_time = LEASE_TIME };

	struct lease got;
	int rc;

	memcpy(r.mac, mac, 6);
	rc = lease_acquire(path, &r, &got, NULL, NULL);
	if (rc == 0)
		*addr = got.addr;
	return rc;
}

static void test_acquire(void)
{
	char dir[] = "/tmp/vmnet-lease-test.XXXXXX";
	char path[256], text[4096];
	uint32_t a1 = 0, a2 = 0, a3 = 0;
	FILE *f;
	size_t len;
	struct lease l[8];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/leases", dir);
	CHECK(acquire(path, START, END, "2835E074-9892-4A79-AFFB-7E41D2605678", mac1, &a1) == 0);
	CHECK(a1 > START && a1 <= END);
	CHECK(acquire(path, START, END, "2835e074-9892-4a79-affb-7e41d2605678", mac1, &a2) == 0);
	CHECK(a2 == a1);
	CHECK(acquire(path, START, END, "OTHER", mac2, &a3) == 0);
	CHECK(a3 != a1);

	f = fopen(path, "r");
	CHECK(f != NULL);
	len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = '\0';
	CHECK(lease_parse(text, l, 8) == 2);
	CHECK(l[0].pid == getpid() && l[0].uid == UID);
	CHECK(strstr(text, "interface_id=2835E074-9892-4A79-AFFB-7E41D2605678 pid=") != NULL);
	CHECK(strstr(text, " uid=1000\n") != NULL);

	/* The helper's exit: its lease was last used now. */
	CHECK(lease_release(path, "OTHER", getpid()) == 0);
	CHECK(lease_release(path, "OTHER", getpid() + 1) == 0);   /* not its holder: nothing */
	f = fopen(path, "r");
	len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = '\0';
	CHECK(lease_parse(text, l, 8) == 2 && l[1].time >= l[0].time);

	/* A /30: one address, held by us (alive), so another id gets none. */
	snprintf(path, sizeof(path), "%s/leases30", dir);
	CHECK(acquire(path, 0xc0a869fdu, 0xc0a869feu, "A", mac1, &a1) == 0);
	CHECK(a1 == 0xc0a869feu);
	CHECK(acquire(path, 0xc0a869fdu, 0xc0a869feu, "B", mac1, &a2) == -ENOSPC);

	/* A second MAC's claim (the reaper): refused while a lease other than
	 * the claimant's own has it, running or stopped within the lease time. */
	{
		struct lease holder;

		snprintf(path, sizeof(path), "%s/claims", dir);
		f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fprintf(f, "ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 interface_id=OWN "
				"pid=%d time=%lld uid=1000\n", (int)getpid(), (long long)time(NULL));
			fprintf(f, "ip_address=192.168.105.3 hw_address=02:11:22:33:44:55 interface_id=STOP "
				"pid=0 time=%lld uid=1001\n", (long long)time(NULL) - 60);
			fprintf(f, "ip_address=192.168.105.4 hw_address=02:11:22:33:44:66 interface_id=OLD "
				"pid=0 time=%lld uid=1001\n", (long long)time(NULL) - LEASE_TIME - 1);
			fclose(f);
		}
		CHECK(lease_mac_holder(path, mac1, "OWN", getpid(), LEASE_TIME, &holder) == 0);
		CHECK(lease_mac_holder(path, mac1, "OTHER", getpid(), LEASE_TIME, &holder) == 1);
		CHECK(lease_mac_holder(path, mac2, "OWN", getpid(), LEASE_TIME, &holder) == 1);
		CHECK_STR(holder.id, "STOP");
		holder.id[0] = '\0';
		CHECK(lease_mac_holder(path, (const uint8_t[6]){ 2, 0x11, 0x22, 0x33, 0x44, 0x66 },
				       "OWN", getpid(), LEASE_TIME, &holder) == 0);
		unlink(path);
	}

	/* A missing directory is an error, not a crash. */
	snprintf(path, sizeof(path), "%s/nope/leases", dir);
	CHECK(acquire(path, START, END, "A", mac1, &a1) < 0);
	CHECK(lease_release(path, "A", 1) == 0);   /* no file: nothing held */

	snprintf(path, sizeof(path), "%s/leases", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/leases30", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0);  /* no temp files left behind */
}

/* Pids 100-199 are running helpers. */
static int hundreds_alive(const struct lease *l) { return l->pid >= 100 && l->pid < 200; }

/* uid's MAC for an id another user's lease keeps (ident_mac_for_user). */
static const uint8_t umac[6] = { 0x06, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

static int pick_user(struct lease *l, size_t *n, size_t cap, uint32_t start, uint32_t end,
		     const char *id, long long uid, pid_t pid, long long now, unsigned max,
		     int (*alive)(const struct lease *), int *busy)
{
	struct lease_request r = { .start = start, .end = end, .id = id, .uid = uid, .pid = pid,
				   .now = now, .lease_time = LEASE_TIME, .alive = alive,
				   .max_held = max };
	int ignored;

	memcpy(r.mac, mac1, 6);
	for (const char *c = id; *c; c++)   /* each id its own (but "2835E074-...": mac1) */
		r.mac[4] = (uint8_t)(r.mac[4] * 31 + (uint8_t)*c);
	if (strcmp(id, "2835E074-9892-4A79-AFFB-7E41D2605678") == 0)
		memcpy(r.mac, mac1, 6);
	memcpy(r.user_mac, umac, 6);
	r.user_mac[5] = (uint8_t)uid;   /* each uid its own */
	return lease_pick(l, n, cap, &r, busy ? busy : &ignored);
}

static void test_users(void)
{
	const char *id = "2835E074-9892-4A79-AFFB-7E41D2605678";
	struct lease l[8];
	size_t n = 0;
	int busy = -1, i;
	uint32_t mine;

	/* uid 1000's VM runs (pid 100). */
	CHECK(pick_user(l, &n, 8, START, END, id, 1000, 100, 1000, 0, hundreds_alive, NULL) == 0);
	mine = l[0].addr;
	CHECK(memcmp(l[0].mac, mac1, 6) == 0);
	/* Not uid 1000 itself (a second helper with its id and MAC), nor another
	 * id whose MAC is the same. */
	CHECK(pick_user(l, &n, 8, START, END, id, 1000, 102, 1001, 0, hundreds_alive, &busy)
	      == -EBUSY);
	CHECK(busy == 0 && n == 1 && l[0].pid == 100);
	CHECK(pick_as(l, &n, 8, START, END, "OTHER", mac1, 1000, 103, 1001, hundreds_alive, &busy)
	      == -EBUSY);
	CHECK(n == 1 && l[0].time == 1000);
	/* uid 1001 with the same id, while it runs: its own address and its own
	 * MAC, so it neither takes nor blocks uid 1000's. */
	i = pick_user(l, &n, 8, START, END, id, 1001, 101, 1001, 0, hundreds_alive, NULL);
	CHECK(i == 1 && n == 2 && l[1].addr != mine && l[1].uid == 1001);
	CHECK(memcmp(l[1].mac, umac, 5) == 0 && l[1].mac[5] == (uint8_t)1001);
	CHECK(l[0].addr == mine && l[0].uid == 1000 && memcmp(l[0].mac, mac1, 6) == 0);
	/* uid 1000's helper exits (pid 7, dead) at time 2000; uid 1001's runs:
	 * uid 1000 comes back to its address and MAC. */
	l[0].pid = 7;
	l[0].time = 2000;
	i = pick_user(l, &n, 8, START, END, id, 1000, 104, 3000, 0, hundreds_alive, NULL);
	CHECK(i == 0 && l[0].addr == mine && memcmp(l[0].mac, mac1, 6) == 0 && n == 2);
	/* Both stopped, within the lease time: uid 1001 keeps its own MAC. */
	l[0].pid = 7;
	l[1].pid = 8;
	i = pick_user(l, &n, 8, START, END, id, 1001, 105, 3001, 0, hundreds_alive, NULL);
	CHECK(i == 1 && l[1].mac[5] == (uint8_t)1001);
	/* uid 1000's lease expired: still uid 1001's own MAC while its lease
	 * keeps it (no change under a running VM); a third user gets the id's
	 * MAC, which no one's lease keeps any more. */
	l[1].pid = 8;
	i = pick_user(l, &n, 8, START, END, id, 1001, 106, 3000 + LEASE_TIME + 1, 0,
		      hundreds_alive, NULL);
	CHECK(i == 1 && l[1].mac[5] == (uint8_t)1001);
	l[1].pid = 8;
	i = pick_user(l, &n, 8, START, END, id, 1002, 107, 3000 + LEASE_TIME + 2, 0,
		      hundreds_alive, NULL);
	CHECK(i == 2 && memcmp(l[2].mac, mac1, 6) == 0);

	/* A full /30 pool: uid 1001 cannot take uid 1000's dead lease within
	 * the lease time; uid 1000 can, for another of its VMs; anyone after. */
	n = 0;
	CHECK(pick_as(l, &n, 8, 0xc0a869fdu, 0xc0a869feu, "A", mac1, 1000, 7, 5000,
		      hundreds_alive, NULL) == 0);
	CHECK(pick_as(l, &n, 8, 0xc0a869fdu, 0xc0a869feu, "B", mac2, 1001, 106,
		      5000 + LEASE_TIME - 1, hundreds_alive, NULL) == -ENOSPC);
	CHECK(pick_as(l, &n, 8, 0xc0a869fdu, 0xc0a869feu, "C", mac2, 1000, 7, 5001,
		      hundreds_alive, NULL) == 0);
	CHECK(n == 1 && l[0].addr == 0xc0a869feu);
	CHECK_STR(l[0].id, "C");
	CHECK(pick_as(l, &n, 8, 0xc0a869fdu, 0xc0a869feu, "B", mac2, 1001, 106,
		      5001 + LEASE_TIME, hundreds_alive, NULL) == 0);
	CHECK(n == 1 && l[0].uid == 1001);
	CHECK_STR(l[0].id, "B");

	/* A line from before uids: its interface id takes it, whoever runs it;
	 * anyone else only once it expired. */
	n = lease_parse("ip_address=192.168.105.9 hw_address=0a:d6:36:c1:ea:f3 interface_id=OLD "
			"pid=3 time=100\n", l, 8);
	CHECK(n == 1 && l[0].uid == LEASE_UID_UNKNOWN);
	CHECK(pick_as(l, &n, 8, START, END, "old", mac1, 1001, 107, 200, hundreds_alive, NULL) == 0);
	CHECK(n == 1 && l[0].uid == 1001 && l[0].addr == 0xc0a86909u);

	/* Both of a user's MACs for an id kept by other users' leases (ids
	 * chosen to collide): refused, nothing changed. */
	n = lease_parse("ip_address=192.168.105.9 hw_address=0a:d6:36:c1:ea:f3 interface_id=X "
			"pid=0 time=100 uid=1000\n"
			"ip_address=192.168.105.10 hw_address=06:aa:bb:cc:dd:e9 interface_id=Y "
			"pid=0 time=100 uid=1002\n", l, 8);
	CHECK(n == 2);
	CHECK(pick_user(l, &n, 8, START, END, id, 1001, 108, 200, 0, hundreds_alive, NULL) ==
	      -EADDRINUSE);
	CHECK(n == 2);

	/* Bad uid. */
	CHECK(pick_as(l, &n, 8, START, END, id, mac1, -1, 1, 1, hundreds_alive, NULL) == -EINVAL);
}

/* What one user holds is bounded: past max_held a new id takes back the
 * user's own oldest stopped lease; refused only when all of them run. */
static void test_held(void)
{
	enum { POOL = 13 };   /* a /28: .2-.14 */
	uint32_t start = 0xc0a86901u, end = 0xc0a8690eu;
	struct lease l[32];
	size_t n = 0;
	char id[37];
	int i;

	/* uid 1000 starts and stops 20 VMs with new ids (pids 7+: dead). */
	for (unsigned k = 0; k < 20; k++) {
		make_id(id, k);
		i = pick_user(l, &n, 32, start, end, id, 1000, 7, 1000 + k, 3, hundreds_alive, NULL);
		CHECK(i >= 0);
		struct lease_request r = { .start = start, .end = end, .uid = 1000, .now = 1000 + k,
					   .lease_time = LEASE_TIME, .alive = hundreds_alive };
		CHECK(lease_held(l, n, &r) == (k < 3 ? k + 1 : 3));
	}
	CHECK(n == 3);
	/* The last three ids hold them: the oldest went first. */
	for (unsigned k = 17; k < 20; k++) {
		bool found = false;

		make_id(id, k);
		for (size_t j = 0; j < n; j++)
			found |= strcmp(l[j].id, id) == 0;
		CHECK(found);
	}
	/* Another user still gets an address; uid 1000's next start too. */
	make_id(id, 100);
	CHECK(pick_user(l, &n, 32, start, end, id, 1001, 8, 2000, 3, hundreds_alive, NULL) == 3);
	make_id(id, 101);
	CHECK(pick_user(l, &n, 32, start, end, id, 1000, 9, 2001, 3, hundreds_alive, NULL) >= 0);
	CHECK(n == 4);
	/* Its own id is its own, at the limit too. */
	make_id(id, 101);
	CHECK(pick_user(l, &n, 32, start, end, id, 1000, 9, 2002, 3, hundreds_alive, NULL) >= 0);
	CHECK(n == 4);
	/* All three of uid 1000's running: a fourth id is refused, nothing changed. */
	for (size_t k = 0; k < n; k++)
		if (l[k].uid == 1000)
			l[k].pid = (pid_t)(100 + k);
	make_id(id, 102);
	CHECK(pick_user(l, &n, 32, start, end, id, 1000, 110, 2003, 3, hundreds_alive, NULL)
	      == -EDQUOT);
	CHECK(n == 4);
	/* Expired leases are not held: room again. */
	CHECK(pick_user(l, &n, 32, start, end, id, 1000, 110, 2003 + LEASE_TIME, 3, all_dead,
			NULL) >= 0);
	/* No limit (root): the pool fills. */
	n = 0;
	for (unsigned k = 0; k < POOL; k++) {
		make_id(id, 200 + k);
		CHECK(pick_user(l, &n, 32, start, end, id, 0, 7, 1, 0, hundreds_alive, NULL) >= 0);
	}
	CHECK(n == POOL);
}

/* Who may be the running holder of a lease: its user, root (setting up),
 * nobody for a root-started helper; no other user (a reused pid). */
static void test_holder_uid(void)
{
	CHECK(lease_holder_uid(1000, 1000, 65534));
	CHECK(lease_holder_uid(1000, 0, 65534));
	CHECK(!lease_holder_uid(1000, 1001, 65534));
	CHECK(!lease_holder_uid(1000, 65534, 65534));
	CHECK(lease_holder_uid(0, 65534, 65534));
	CHECK(lease_holder_uid(0, 0, 65534));
	CHECK(!lease_holder_uid(0, 1001, 65534));
	CHECK(lease_holder_uid(LEASE_UID_UNKNOWN, 1001, 65534));
}

static int take_as(struct lease *l, size_t *n, size_t cap, const char *id, long long uid,
		   pid_t pid, long long now, uint32_t addr)
{
	struct lease_request r = { .start = START, .end = END, .id = id, .uid = uid, .pid = pid,
				   .now = now, .lease_time = LEASE_TIME, .alive = hundreds_alive };

	memcpy(r.mac, mac1, 6);
	return lease_take(l, n, cap, &r, addr);
}

/* An address of the pool a VM set by hand: first come, first served, as a
 * lease of its own. */
static void test_take(void)
{
	const char *id = "2835E074-9892-4A79-AFFB-7E41D2605678";
	const uint32_t x = 0xc0a869c8u;     /* .200 */
	struct lease l[4];
	size_t n = 0;

	/* uid 1000's VM (pid 100) has its DHCP lease, then sets .200 by hand:
	 * a second line of its own, after the first. */
	CHECK(pick_as(l, &n, 4, START, END, id, mac1, 1000, 100, 1000, hundreds_alive, NULL) == 0);
	CHECK(take_as(l, &n, 4, id, 1000, 100, 1001, x) == 1);
	CHECK(n == 2 && l[1].addr == x && l[1].pid == 100 && l[1].uid == 1000 && l[1].time == 1001);
	CHECK_STR(l[1].id, id);
	CHECK(memcmp(l[1].mac, mac1, 6) == 0);
	/* Asked again: its own already, nothing changes. */
	CHECK(take_as(l, &n, 4, id, 1000, 100, 1002, x) == 1 && n == 2 && l[1].time == 1001);
	/* Another running VM, of any user, is refused it; and so is any VM
	 * the DHCP lease of a running VM. */
	CHECK(take_as(l, &n, 4, "OTHER", 1001, 101, 1003, x) == -EBUSY);
	CHECK(take_as(l, &n, 4, "OTHER", 1000, 101, 1003, x) == -EBUSY);
	CHECK(take_as(l, &n, 4, "OTHER", 1001, 101, 1003, l[0].addr) == -EBUSY);
	CHECK(n == 2 && l[1].pid == 100);
	/* It stopped (pid 7) at 2000: its user's for the lease time. */
	l[0].pid = l[1].pid = 7;
	l[0].time = l[1].time = 2000;
	CHECK(take_as(l, &n, 4, "OTHER", 1001, 101, 2000 + LEASE_TIME - 1, x) == -EBUSY);
	/* The same user's other VM may take it over; the old line goes. */
	CHECK(take_as(l, &n, 4, "OTHER", 1000, 102, 3000, x) == 1);
	CHECK(n == 2 && l[1].addr == x && l[1].pid == 102);
	CHECK_STR(l[1].id, "OTHER");
	/* Past the lease time, anyone. */
	l[1].pid = 8;
	l[1].time = 3000;
	CHECK(take_as(l, &n, 4, "THIRD", 1001, 103, 3000 + LEASE_TIME, x) == 1);
	CHECK(n == 2 && l[1].uid == 1001);
	/* A free address, and the same VM back after a restart (its old line
	 * of it dropped, one line of it kept). */
	CHECK(take_as(l, &n, 4, id, 1000, 104, 4000, x + 1) == 2 && n == 3);
	l[2].pid = 9;
	CHECK(take_as(l, &n, 4, id, 1000, 105, 4001, x + 1) == 2 && n == 3 && l[2].pid == 105);
	/* Outside the pool, the gateway, a bad request; a full table. */
	CHECK(take_as(l, &n, 4, id, 1000, 105, 4002, START) == -EINVAL);
	CHECK(take_as(l, &n, 4, id, 1000, 105, 4002, END + 1) == -EINVAL);
	CHECK(take_as(l, &n, 4, id, -1, 105, 4002, x + 2) == -EINVAL);
	CHECK(take_as(l, &n, 4, id, 1000, 105, 4002, x + 2) == 3 && n == 4);
	CHECK(take_as(l, &n, 4, id, 1000, 105, 4002, x + 3) == -ENOSPC && n == 4);
}

/* What a user holds is bounded for addresses set by hand too: past the
 * bound the claim is refused, nothing changed; replacing one's own line of
 * the same address is no more. */
static void test_take_bounded(void)
{
	const char *id = "2835E074-9892-4A79-AFFB-7E41D2605678";
	const uint32_t x = 0xc0a869c8u;     /* .200 */
	struct lease_request r = { .start = START, .end = END, .id = id, .uid = 1000, .pid = 100,
				   .now = 1000, .lease_time = LEASE_TIME, .alive = hundreds_alive,
				   .max_held = 2 };
	struct lease l[4], before[4];
	size_t n = 0;

	memcpy(r.mac, mac1, 6);
	CHECK(pick_as(l, &n, 4, START, END, id, mac1, 1000, 100, 1000, hundreds_alive, NULL) == 0);
	CHECK(lease_take(l, &n, 4, &r, x) == 1 && n == 2);
	memcpy(before, l, sizeof(l));
	CHECK(lease_take(l, &n, 4, &r, x + 1) == -EDQUOT && n == 2);
	CHECK(memcmp(before, l, sizeof(l)) == 0);
	CHECK(lease_take(l, &n, 4, &r, x) == 1 && n == 2);
	r.max_held = 3;
	CHECK(lease_take(l, &n, 4, &r, x + 1) == 2 && n == 3);
}

/* The file: lease_claim records the line, lease_mac_listed finds a MAC. */
static void test_claim_file(void)
{
	char dir[] = "/tmp/vmnet-lease-test.XXXXXX", path[256];
	struct lease_request r = { .start = START, .end = END, .id = "A", .uid = UID,
				   .pid = getpid(), .lease_time = LEASE_TIME };
	uint32_t a = 0;

	memcpy(r.mac, mac1, 6);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/leases", dir);
	CHECK(lease_mac_listed(path, mac1, "B") == 0);          /* no file: nothing */
	CHECK(acquire(path, START, END, "A", mac1, &a) == 0);
	CHECK(lease_claim(path, &r, getpid(), a == 0xc0a869c8u ? 0xc0a869c9u : 0xc0a869c8u) == 0);
	/* This process runs the helper's program: a claim by another id is refused. */
	r.id = "B";
	r.pid = getpid() + 100000;
	CHECK(lease_claim(path, &r, getpid(), a) == -EBUSY);
	CHECK(lease_mac_listed(path, mac1, "B") == 1);
	CHECK(lease_mac_listed(path, mac1, "a") == 0);          /* its own id's lines only */
	CHECK(lease_mac_listed(path, mac2, "B") == 0);
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

static void tests(void)
{
	test_parse_format();
	test_stable();
	test_many();
	test_spread();
	test_slash30();
	test_damaged();
	test_big_pools();
	test_acquire();
	test_users();
	test_held();
	test_holder_uid();
	test_take();
	test_take_bounded();
	test_claim_file();
}

T_MAIN
