/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCP leases, allocated at start-up (as root, under the network lock) so the
 * unprivileged datapath only answers with a known address. One file per
 * network, one lease a line of key=value fields, parseable by tools (unknown
 * keys are ignored, so the format can grow):
 *   ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 interface_id=2835E074-... pid=1234 time=1732440000 uid=1000
 * (uid last, so the other fields keep their positions; any order is read).
 * uid: the user who took it (SUDO_UID, 0 when root ran the helper itself);
 * pid: the helper that holds or last held it; time: when that helper started,
 * or stopped (Unix seconds). Lines written before uid= existed have no uid.
 *
 * Leases belong to their user. A helper never takes or shares the lease of a
 * live helper: the same interface id of the same user, or the same MAC,
 * held by a running helper refuses the start (two helpers with one MAC on
 * one network would steal each other's frames). A lease of another uid
 * stays that uid's for lease_time after its last use: that uid's interface
 * id keeps its address and its MAC, and no one else gets either meanwhile.
 * The same interface id used by another uid gets an address of its own and
 * a MAC of its own (lease_request.user_mac), so it neither learns, takes nor
 * blocks the holder's: the holder's next start works while it runs.
 *
 * A user holds at most max_held leases on a network (running, and stopped
 * within the lease time): past that, a new interface id of theirs takes
 * back their own oldest stopped lease, and is refused only when every one
 * of them is running. So one user cannot drain a pool for everyone else.
 */
#ifndef VMNET_LEASE_H
#define VMNET_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LEASE_UID_UNKNOWN (-1LL)

struct lease {
	uint32_t addr;        /* host order */
	uint8_t mac[6];
	char id[37];          /* interface id, uppercase UUID */
	long long uid;        /* who took it; LEASE_UID_UNKNOWN in older lines */
	pid_t pid;            /* helper holding it, 0 if none */
	long long time;       /* its helper's last start or stop, unix seconds */
};

/* Who asks for an address. */
struct lease_request {
	uint32_t start, end;       /* the pool is [start+1, end] */
	const char *id;
	uint8_t mac[6];            /* the MAC of the interface id (ident_mac_from_uuid) */
	uint8_t user_mac[6];       /* the MAC of the id for this uid alone
				      (ident_mac_for_user): used while another
				      user's lease keeps mac */
	unsigned max_held;         /* leases uid may hold here, 0: no limit */
	long long uid;
	pid_t pid;
	long long now;
	long long lease_time;      /* seconds a dead helper's lease stays its user's */
	int (*alive)(const struct lease *);   /* is its helper running? */
};

/*
 * May a process running as proc_uid be the helper holding a lease of
 * lease_uid? The helper runs as root while it sets up, then as the lease's
 * user, or as nobody (nobody_uid) when root started it; a line from before
 * uids names no user. So a process another user runs (a pid the holder had,
 * reused, under the holder's program name) holds no one's lease. Pure.
 */
bool lease_holder_uid(long long lease_uid, uid_t proc_uid, uid_t nobody_uid);

/*
 * Pure allocator. Given the existing leases, pick the address for r: its own
 * lease (same id and uid) if any; else, when uid already holds max_held
 * leases, its own oldest stopped one; else the first free address starting
 * at a slot derived from the id, else the oldest lease whose helper is dead
 * and that is r's uid's or has expired. The lease's MAC is r->mac unless
 * another user's lease keeps it (running, or stopped within the lease
 * time): then r->user_mac (lease_mac_for). Returns the index into leases
 * after updating/inserting (*n updated); -ENOSPC; -EINVAL; -EDQUOT when
 * every one of uid's max_held leases is running; -EADDRINUSE when other
 * users' leases keep both MACs; or -EBUSY, with *busy the
 * index of the live lease that holds r's id (for r's uid) or its MAC
 * (nothing changed).
 */
int lease_pick(struct lease *leases, size_t *n, size_t cap, const struct lease_request *r,
	       int *busy);
/* The MAC lease_pick gives r: r->mac, or r->user_mac while another user's
 * lease keeps r->mac (their own lease's MAC stays theirs too). 0, or
 * -EADDRINUSE when other users' leases keep both (ids chosen to collide).
 * Pure. */
int lease_mac_for(const struct lease *leases, size_t n, const struct lease_request *r,
		  uint8_t mac[6]);
/* The leases uid holds in r's pool: running, or stopped within the lease
 * time. Pure. */
unsigned lease_held(const struct lease *leases, size_t n, const struct lease_request *r);

/* Parse / format the file text. Unparseable lines are skipped. */
size_t lease_parse(const char *text, struct lease *leases, size_t cap);
int lease_format(const struct lease *leases, size_t n, char *buf, size_t cap);

/*
 * Read, pick and atomically rewrite path (caller holds the network lock).
 * r->pid, r->now and r->alive are filled in here: a lease's helper is
 * running while its pid runs this program as a user lease_holder_uid
 * accepts. *got is the lease as written (its address and MAC). On -EBUSY,
 * *busy is the live lease in the way; on -EDQUOT, *held is what uid holds.
 */
int lease_acquire(const char *path, struct lease_request *r, struct lease *got,
		  struct lease *busy, unsigned *held);
/* At the helper's exit (the reaper, under the network lock): the lease of id
 * held by pid was last used now. 0 or -errno. */
int lease_release(const char *path, const char *id, pid_t pid);
/*
 * Under the network lock (the reaper, answering a claim of a VM's second
 * MAC): 1 and *holder if a lease other than the helper's own (interface id
 * except_id held by pid helper) has mac and still belongs to its user: its
 * helper runs (a process running the program of pid helper, as a user
 * lease_holder_uid accepts), or it stopped within lease_time, so that VM's
 * next start needs the MAC free. 0 if none; -errno. The reaper passes its
 * helper's pid: its own name is not the helper's.
 */
int lease_mac_holder(const char *path, const uint8_t mac[6], const char *except_id,
		     pid_t helper, long long lease_time, struct lease *holder);

/*
 * An address of the pool a VM set by hand, recorded as its lease too (a
 * line of r's, besides its DHCP lease): pure. Every lease on addr must be
 * r's own (same interface id and uid) or one r may take over (its helper
 * gone, and r's user's or past its lease time); those are dropped, and r's
 * line for addr is the last. Returns its index (*n updated), -EBUSY if
 * another holds addr (nothing changed), -EDQUOT if r's user would hold more
 * than r->max_held leases (0: no bound; nothing changed), -ENOSPC, or
 * -EINVAL (addr outside the pool, a bad request).
 */
int lease_take(struct lease *leases, size_t *n, size_t cap, const struct lease_request *r,
	       uint32_t addr);
/*
 * lease_take on path, rewritten (the caller holds the network lock; the
 * reaper does this on its datapath's claim). r->now and r->alive are
 * filled in: a lease's helper is running while its pid runs the program
 * of pid helper (the reaper's own name is not the helper's). 0, -EBUSY
 * or -errno.
 */
int lease_claim(const char *path, struct lease_request *r, pid_t helper, uint32_t addr);
/* Under the network lock: 1 if a lease of another interface id than
 * except_id names mac, its helper running or not; 0 if none; -errno. */
int lease_mac_listed(const char *path, const uint8_t mac[6], const char *except_id);

#endif
