/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's policy: /etc/vmnet-helper/vmnet-helper.conf (the path
 * is fixed at build time, VMNET_CONF; no environment variable chooses it:
 * sudo users control the environment). Root-owned, not writable by others.
 * A missing file means the defaults; a malformed one is one clear error.
 *
 * Format: one setting a line, "key = value"; "#" starts a comment line; a
 * "[network NAME]" line starts the definition of a named network, whose
 * settings follow it. Lists are separated by commas or spaces.
 *
 *   # what users (through sudo) may do
 *   subnets = default, 10.20.0.0/16          # default: "default", the range
 *                                            # kept for VMs (POLICY_VM_RANGE)
 *   bridged = yes                            # default yes
 *   bridged-interfaces = physical, br-lan    # default physical
 *   max-helpers-per-user = 64                # default 64
 *   max-leases-per-user = 25%                # of a network's pool, or a count
 *   named-networks-only = no                 # default no
 *
 *   [network lab]
 *   mode = host
 *   start-address = 10.20.0.1
 *   end-address = 10.20.0.254
 *   subnet-mask = 255.255.255.0
 *   isolation = yes
 *   users = alice, bob                       # who may use it: these users
 *   groups = vmnet-lab                       # and the members of these groups
 *
 * "shared" and "host" exist without being defined: the modes' default
 * networks, chosen automatically (network_choose). A "[network shared]" or
 * "[network host]" section redefines one. The global settings apply to users
 * who run the helper through sudo (SUDO_UID not 0); root is not limited by
 * them. Named networks are defined by the administrator and any user may
 * join them: one with its own addresses (or bridged) is the administrator's
 * choice; one without addresses (the built-ins too) gets a subnet chosen
 * automatically, and every candidate is checked against "subnets" like a
 * user's own (policy_allows_subnet). So "named-networks-only = yes" with
 * "subnets" outside 192.168.105.0-192.168.255.0 keeps users on the
 * networks with the administrator's addresses. The subnets of named
 * networks with addresses are theirs: no user creates a network over one
 * any other way (another mode, MTU or mask would make --network NAME fail
 * for everyone), and no automatic choice lands on one (policy_reserved).
 *
 * Who may use a network (policy_allows_user): a section's "users" and
 * "groups" (lxc-usernet's and qemu-bridge-helper's idea): with neither, every
 * user; with either, the users listed and the members of the groups listed
 * (primary or supplementary, in the user database), no one else. A request
 * with --network NAME falls under [network NAME]; one without, in shared or
 * host mode, under the section of the mode's built-in network ([network
 * shared] or [network host], whose mode may then be omitted); bridged mode
 * without --network under none (bridged and bridged-interfaces decide).
 * Root is not limited; sudo and vmnet-broker take the same path.
 *
 * Parsing and checking are pure (unit-tested and fuzzed); policy_load reads
 * the file.
 */
#ifndef VMNET_POLICY_H
#define VMNET_POLICY_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/options.h"

#define POLICY_MAX_SUBNETS 32
#define POLICY_MAX_INTERFACES 32
#define POLICY_MAX_NETWORKS 64
#define POLICY_NAME_MAX 32           /* a network name, with its NUL */
#define POLICY_FILE_MAX 65536
#define POLICY_DEFAULT_MAX_HELPERS 64
/* max-leases-per-user: a quarter of a network's pool (so at least three
 * other users always find an address), at least 1. */
#define POLICY_DEFAULT_MAX_LEASES_PERCENT 25

/*
 * The range kept for VMs, what users may create networks in without a
 * policy file ("subnets = default"): 192.168.105.0-192.168.255.255, the
 * modes' default networks (shared 192.168.105.0/24, host 192.168.106.0/24,
 * upstream's) and every /24 automatic selection moves through after them
 * (network_choose), as five prefixes. Not the rest of RFC 1918, where sites
 * put their own servers.
 */
#define POLICY_VM_RANGE { { 0xc0a86900u, 0xffffff00u }, { 0xc0a86a00u, 0xfffffe00u }, \
			  { 0xc0a86c00u, 0xfffffc00u }, { 0xc0a87000u, 0xfffff000u }, \
			  { 0xc0a88000u, 0xffff8000u } }
#define POLICY_MAX_MEMBERS 32        /* users, and groups, of one network */
#define POLICY_MEMBER_MAX 33         /* a user or group name, with its NUL */

struct policy_subnet {
	uint32_t addr, mask;         /* host order, addr & mask == addr */
};

struct policy_network {
	char name[POLICY_NAME_MAX];
	enum op_mode mode;
	uint32_t start, end, mask;   /* shared/host: 0 = the mode's default addresses */
	char shared_interface[IF_NAMESIZE];   /* bridged */
	bool isolation;              /* every VM of it is isolated */
	unsigned mtu;                /* 0: not set */
	/* Who may use it; neither listed: every user. */
	char users[POLICY_MAX_MEMBERS][POLICY_MEMBER_MAX];
	int nusers;
	char groups[POLICY_MAX_MEMBERS][POLICY_MEMBER_MAX];
	int ngroups;
};

struct policy {
	struct policy_subnet subnets[POLICY_MAX_SUBNETS];
	int nsubnets;
	bool bridged;
	bool bridged_physical;       /* "physical" is listed (or nothing is) */
	char bridged_interfaces[POLICY_MAX_INTERFACES][IF_NAMESIZE];
	int ninterfaces;
	unsigned max_helpers;
	unsigned max_leases;         /* max-leases-per-user: a count, or */
	bool max_leases_percent;     /* a percentage of the network's pool */
	bool named_only;
	struct policy_network networks[POLICY_MAX_NETWORKS];
	int nnetworks;
};

/* The defaults, what a missing file means. */
void policy_defaults(struct policy *p);

/*
 * Parses len bytes of text into p (which it first sets to the defaults).
 * 0, or -1 with "line N: what is wrong" in err. Pure.
 */
int policy_parse(const char *text, size_t len, struct policy *p, char *err, size_t errlen);

/* The named network NAME: one the file defines, else the built-in "shared"
 * or "host"; NULL if none. */
const struct policy_network *policy_network(const struct policy *p, const char *name);

/* What a user asks for, against the policy. */
struct policy_request {
	bool named;                  /* --network NAME */
	bool automatic;              /* no addresses: network_choose picks the
					subnet, checking each with policy_allows_subnet */
	enum op_mode mode;
	uint32_t start, mask;        /* shared/host */
	const char *shared_interface;   /* bridged */
	bool physical;               /* it is a physical Ethernet interface */
};

/* 0 if a user may do r, or -1 with one line in err saying why not. Pure.
 * An automatic request's subnet is not checked here: see policy_allows_subnet. */
int policy_allows(const struct policy *p, const struct policy_request *r, char *err,
		  size_t errlen);

/* 0 if a user may create the subnet of start/mask, or -1 with one line in
 * err naming it and the allowed ones, or the named network it belongs to
 * (policy_reserved). Pure. */
int policy_allows_subnet(const struct policy *p, uint32_t start, uint32_t mask, char *err,
			 size_t errlen);

/* 0, or -1 with one line in err if the subnet of start/mask overlaps the
 * subnet of a named network with addresses (the same one included): that
 * network's alone, joined with --network NAME. Pure. */
int policy_reserved(const struct policy *p, uint32_t start, uint32_t mask, char *err,
		    size_t errlen);

/* The leases a user may hold on a network whose pool has pool addresses
 * (max-leases-per-user), at least 1. Pure. */
unsigned policy_max_leases(const struct policy *p, uint64_t pool);

/* The network whose allow-list covers a request: --network's (named), or
 * for shared and host mode without it the mode's built-in name; NULL for
 * bridged mode without --network. Pure. */
const char *policy_network_of(const char *named, enum op_mode mode);

/*
 * 0 if user (a name; NULL: one the user database does not know), member of
 * groups[0..ngroups) (names), may use network (policy_network_of: NULL,
 * or a network the policy does not define, have no list: allowed), or -1
 * with one line in err. Pure.
 */
int policy_allows_user(const struct policy *p, const char *network, const char *user,
		       const char *const *groups, int ngroups, char *err, size_t errlen);

/*
 * Reads path into p: the defaults when it does not exist; -1 with one line
 * in err when it is not a regular file owned by root, is writable by group
 * (other than root's) or others, sits in such a directory, or is malformed.
 */
int policy_load(const char *path, struct policy *p, char *err, size_t errlen);

/* How many helpers uid runs now: datapath processes (they run as the user)
 * of this same program. Read from /proc. */
int policy_count_helpers(uid_t uid);

/*
 * Counts uid's running helpers and reserves a place for this one, under
 * uid's lock (POLICY_USERS_DIR/<uid>.lock, a POSIX record lock: forked
 * children never hold it). Returns the lock's descriptor, which the caller
 * keeps until this process runs as uid (from then on it is counted) and
 * then closes: so concurrent starts of one user count each other, and at
 * most max run. -EUSERS with *running set when uid already runs max;
 * -errno.
 */
int policy_reserve_helper(uid_t uid, unsigned max, int *running);
#define POLICY_USERS_DIR "/run/vmnet-helper/users"

#endif
