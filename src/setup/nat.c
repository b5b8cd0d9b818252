/* SPDX-License-Identifier: Apache-2.0 */
/* nftables tables per network and the IPv4/IPv6 forwarding switches (libnftables). */
#include "setup/nat.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "setup/netlink.h"
#include "setup/sysctl.h"
#include "setup/tap.h"

#define GUARD_TABLE "vmnet_guard"
/* In the run dir: the forwarding sysctls as they were before we changed them. */
#define FORWARD_STATE "forwarding"
#define FORWARD6_STATE "forwarding6"

/* Rule text for one network or the guard; a few hundred bytes at most. */
#define RULES_SIZE 2048

/* ---- libnftables, in a short-lived child ---- */

/*
 * libnftables with what it pulls in (libnftnl, libgmp, libjansson,
 * libxtables) and its ruleset cache is a few MiB resident, and rules change
 * only at setup and teardown. So a child does it: fork, dlopen, run, exit.
 * The processes that live as long as the VM (the datapath and the root
 * reaper) never map the library.
 */
#define NFT_LIBRARY "libnftables.so.1"

struct nft {
	void *lib;
	struct nft_ctx *ctx;
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	const char *(*error_buffer)(struct nft_ctx *ctx);
	const char *(*output_buffer)(struct nft_ctx *ctx);
	int (*run)(struct nft_ctx *ctx, const char *buf);
};

static int nft_load(struct nft *t)
{
	const struct { const char *name; void **fn; } syms[] = {
		{ "nft_ctx_new", (void **)&t->ctx_new },
		{ "nft_ctx_free", (void **)&t->ctx_free },
		{ "nft_ctx_buffer_output", (void **)&t->buffer_output },
		{ "nft_ctx_buffer_error", (void **)&t->buffer_error },
		{ "nft_ctx_get_error_buffer", (void **)&t->error_buffer },
		{ "nft_ctx_get_output_buffer", (void **)&t->output_buffer },
		{ "nft_run_cmd_from_buffer", (void **)&t->run },
	};

	t->lib = dlopen(NFT_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (t->lib == NULL) {
		ERROR("nat", "cannot load %s: %s", NFT_LIBRARY, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].fn = dlsym(t->lib, syms[i].name);
		if (*syms[i].fn == NULL) {
			ERROR("nat", "%s has no %s", NFT_LIBRARY, syms[i].name);
			return -ENOENT;
		}
	}
	t->ctx = t->ctx_new(NFT_CTX_DEFAULT);
	if (t->ctx == NULL) {
		ERROR("nat", "cannot create an nftables context");
		return -ENOMEM;
	}
	t->buffer_output(t->ctx);
	t->buffer_error(t->ctx);
	return 0;
}

/* Runs nft commands in one transaction. quiet: a failure is an answer
 * (probing), not an error worth logging. 0, or -EIO on failure. */
static int nft_exec(struct nft *t, const char *cmds, const char *what, bool quiet)
{
	int rc = t->run(t->ctx, cmds);

	if (rc != 0 && !quiet) {
		const char *err = t->error_buffer(t->ctx);
		int len = (int)strcspn(err ? err : "", "\n");

		ERROR("nat", "cannot %s: %.*s", what, len, err ? err : "nft failed");
		DEBUG("nat", "nft input was:\n%s", cmds);
	}
	return rc != 0 ? -EIO : 0;
}

/*
 * Whether a table exists. Probing first keeps "delete" out of transactions
 * that have nothing to delete: a transaction that deletes makes the kernel
 * wait for an RCU grace period when the nftables socket closes (10-20 ms
 * here, three times per start before this).
 */
static bool nft_table_exists(struct nft *t, const char *family, const char *name)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "list table %s %s\n", family, name);
	return nft_exec(t, cmd, "probe", true) == 0;
}

static bool nft_chain_exists(struct nft *t, const char *family, const char *table,
			     const char *chain)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "list chain %s %s %s\n", family, table, chain);
	return nft_exec(t, cmd, "probe", true) == 0;
}

/* arg: what the job needs beyond the network (nat_dns_add's rules). */
typedef int (*nat_job)(struct nft *t, const struct network *n, bool flag, const void *arg);

/* Starts job in a child that loads libnftables: its pid, or -errno. */
static pid_t nat_fork(nat_job job, const struct network *n, bool flag, const void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = errno;
		ERROR("nat", "cannot fork for nftables: %s", strerror(err));
		return -err;
	}
	if (pid == 0) {
		struct nft t = { 0 };
		int rc = nft_load(&t);

		if (rc == 0)
			rc = job(&t, n, flag, arg);
		fflush(NULL);
		_exit(rc >= 0 ? 0 : -rc < 256 ? -rc : EIO);
	}
	return pid;
}

int nat_wait(pid_t pid)
{
	int status;

	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

/* Runs job in a child that loads libnftables; returns the job's result. */
static int nat_in_child(nat_job job, const struct network *n, bool flag, const void *arg)
{
	return nat_wait(nat_fork(job, n, flag, arg));
}

static void format_subnet(const struct network *n, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = { htonl(n->gateway & n->mask) };

	inet_ntop(AF_INET, &in, a, sizeof(a));
	snprintf(buf, len, "%s/%d", a, __builtin_popcount(n->mask));
}

/*
 * Shared mode: masquerade what leaves the subnet; VMs may open connections
 * anywhere, but nothing may open a connection into the bridge from another
 * interface. Bridge-to-bridge traffic is accepted first so VM-to-VM frames
 * still pass when br_netfilter sends bridged IPv4 through this hook.
 * The MSS of every TCP SYN a VM sends out is clamped to the MTU of the route
 * it leaves by ("rt mtu": the uplink's, less the IP and TCP headers; only
 * ever lowered): a VM on a large --mtu network would otherwise ask the far
 * end for segments its uplink cannot carry. Anything smaller further along
 * is path MTU discovery's job: ICMP "fragmentation needed" (and IPv6's
 * "packet too big") for a masqueraded flow is related traffic, translated
 * back and let in by the "established,related" rule.
 */
static int shared_rules(const struct network *n, char *buf, size_t len)
{
	char net[32], nat66[160] = "";

	format_subnet(n, net, sizeof(net));
	if (n->ipv6) {
		char p6[INET6_ADDRSTRLEN];
		uint8_t a[16] = { 0 };

		memcpy(a, n->prefix6, 8);
		inet_ntop(AF_INET6, a, p6, sizeof(p6));
		/* NAT66: the ULA prefix leaves as the host's own address. */
		snprintf(nat66, sizeof(nat66),
			 "    ip6 saddr %1$s/64 ip6 daddr != %1$s/64 masquerade\n", p6);
	}
	return snprintf(buf, len,
		"table inet vmnet_%1$s {\n"
		"  chain postrouting {\n"
		"    type nat hook postrouting priority srcnat; policy accept;\n"
		"    ip saddr %2$s ip daddr != %2$s masquerade\n"
		"%3$s"
		"  }\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%1$s\" tcp flags & (syn | rst) == syn "
		"tcp option maxseg size set rt mtu\n"
		"    iifname \"%1$s\" accept\n"
		"    oifname \"%1$s\" ct state established,related accept\n"
		"    oifname \"%1$s\" drop\n"
		"  }\n"
		"}\n", n->bridge, net, nat66);
}

/* Host mode: VMs talk to the host (input/output, not forwarded) and to each
 * other on the bridge; nothing is routed in or out. */
static int host_rules(const struct network *n, char *buf, size_t len)
{
	return snprintf(buf, len,
		"table inet vmnet_%1$s {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%1$s\" oifname \"%1$s\" accept\n"
		"    iifname \"%1$s\" drop\n"
		"    oifname \"%1$s\" drop\n"
		"  }\n"
		"}\n", n->bridge);
}

/* ---- sysctls ---- */

/*
 * One IP family's forwarding switch. Switching it on rewrites other settings
 * too, so everything it touches is recorded in a snapshot file in the run
 * dir (keys relative to dir, in the order they are restored) and written
 * back exactly when the last shared network goes.
 */
struct family {
	const char *name;       /* for messages */
	const char *dir;        /* sysctl directory under /proc/sys/net/ */
	const char *master;     /* the switch, relative to dir */
	const char *state;      /* snapshot file name in the run dir */
	int (*snapshot)(FILE *f);
	int (*prepare)(const char *state);   /* just before the switch goes on */
};

static int fam_get(const struct family *fam, const char *key, char *buf, size_t len)
{
	char full[320];

	snprintf(full, sizeof(full), "%s%s", fam->dir, key);
	return sysctl_get(full, buf, len);
}

static int fam_set(const struct family *fam, const char *key, const char *value)
{
	char full[320];

	snprintf(full, sizeof(full), "%s%s", fam->dir, key);
	return sysctl_set(full, value);
}

/* The snapshot file of fam in this namespace. */
static const char *path_of(const struct network *n, const struct family *fam, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%s/%s", n->run_dir, fam->state);
	return buf;
}

/* Records key of dir (a family directory) as "key value". */
static int record(FILE *f, const char *dir, const char *key)
{
	char full[320], val[32];

	snprintf(full, sizeof(full), "%s%s", dir, key);
	if (sysctl_get(full, val, sizeof(val)) < 0)
		return -EIO;
	fprintf(f, "%s %s\n", key, val);
	return 0;
}

/* Records conf/<dev>/<leaf> of every device (not "all"; "default" if asked). */
static int record_devices(FILE *f, const char *dir, const char *leaf, bool with_default)
{
	char confdir[64], key[300];
	struct dirent *de;
	DIR *d;

	snprintf(confdir, sizeof(confdir), SYSCTL_NET "%sconf", dir);
	d = opendir(confdir);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") ||
		    (!with_default && !strcmp(de->d_name, "default")))
			continue;
		snprintf(key, sizeof(key), "conf/%s/%s", de->d_name, leaf);
		/* A device that goes away meanwhile has nothing to record. */
		record(f, dir, key);
	}
	closedir(d);
	return 0;
}

/*
 * IPv4: writing ip_forward also rewrites every device's forwarding flag, the
 * default, and conf/all/accept_redirects.
 */
static int snapshot4(FILE *f)
{
	if (record(f, "ipv4/", "ip_forward") < 0 ||
	    record(f, "ipv4/", "conf/all/accept_redirects") < 0 ||
	    record(f, "ipv4/", "conf/default/forwarding") < 0)
		return -EIO;
	return record_devices(f, "ipv4/", "forwarding", false);
}

/*
 * IPv6: conf/all/forwarding is the switch that lets the kernel forward at
 * all; writing it also rewrites conf/default/forwarding and every device's
 * forwarding flag (router behaviour: NA router flag, no router
 * solicitations, and accept_ra=1 stops taking router advertisements).
 * prepare6 moves accept_ra from 1 to 2 so interfaces that learn their
 * address and default route by SLAAC keep doing so; it is recorded first.
 */
static int snapshot6(FILE *f)
{
	if (record(f, "ipv6/", "conf/all/forwarding") < 0 ||
	    record_devices(f, "ipv6/", "forwarding", true) < 0)
		return -EIO;
	return record_devices(f, "ipv6/", "accept_ra", true);
}

/*
 * accept_ra 1 means "only while not forwarding". Set to 2 before forwarding
 * goes on: the kernel then also keeps the default routes learned from
 * router advertisements, which switching forwarding on would purge.
 * Only interfaces in the snapshot are touched, so all are restored.
 */
static int prepare6(const char *state)
{
	char line[400], key[300], val[32];
	FILE *f = fopen(state, "re");
	int changed = 0;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t kl;

		if (sscanf(line, "%299s %31s", key, val) != 2 || strcmp(val, "1") != 0)
			continue;
		kl = strlen(key);
		if (kl < 10 || strcmp(key + kl - 10, "/accept_ra") != 0 || strstr(key, ".."))
			continue;
		char full[320];
		snprintf(full, sizeof(full), "ipv6/%s", key);
		if (sysctl_set(full, "2") == 0)
			changed++;
	}
	fclose(f);
	if (changed)
		INFO("nat", "net.ipv6.conf.*.accept_ra 1 -> 2 on %d entries, so SLAAC "
		     "interfaces keep accepting router advertisements while forwarding", changed);
	return 0;
}

static const struct family fam4 = {
	"IPv4", "ipv4/", "ip_forward", FORWARD_STATE, snapshot4, NULL,
};
static const struct family fam6 = {
	"IPv6", "ipv6/", "conf/all/forwarding", FORWARD6_STATE, snapshot6, prepare6,
};

/* Saves the snapshot atomically, so a crash never leaves half a file. */
static int snapshot_save(const struct network *n, const struct family *fam)
{
	char path[256], tmp[264];
	FILE *f;
	int ret;

	path_of(n, fam, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f == NULL)
		return -errno;
	ret = fam->snapshot(f);
	if (fclose(f) != 0 && ret == 0)
		ret = -EIO;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Writes the snapshot back in order: the switch first, since it resets the others. */
static int snapshot_restore(const struct family *fam, const char *path)
{
	char line[400], key[300], val[32];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%299s %31s", key, val) != 2 || strstr(key, ".."))
			continue;
		int r = fam_set(fam, key, val);
		/* A device that went away since has nothing to restore. */
		if (r < 0 && r != -ENOENT && ret == 0) {
			ERROR("nat", "cannot restore net.%s%s: %s", fam->dir, key, strerror(-r));
			ret = r;
		}
	}
	fclose(f);
	return ret;
}

/* ---- forwarding ---- */

/*
 * IPv4 interfaces that forwarded on their own before (per-device forwarding
 * set while ip_forward was 0), as an nft set body: '"eth1", "eth2"'. The
 * guard must not stop what the host already did. (IPv6 has no such case:
 * with conf/all/forwarding 0 nothing is forwarded, whatever the devices say.)
 */
static void forwarding_devices(const char *state, char *buf, size_t len)
{
	char line[400], dev[300], val[32];
	size_t used = 0;
	FILE *f = fopen(state, "re");

	buf[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "conf/%299[^/]/forwarding %31s", dev, val) != 2 ||
		    strcmp(val, "1") != 0 || !strcmp(dev, "default"))
			continue;
		int w = snprintf(buf + used, len - used, "%s\"%s\"", used ? ", " : "", dev);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	fclose(f);
}

/*
 * Only forwarding that enters or leaves a shared bridge is new; everything
 * else stays as unforwarded as before we switched forwarding on. One rule
 * per family whose forwarding we manage (has a snapshot file). replace: the
 * guard exists and is rewritten.
 */
static int guard_rules(const struct network *n, bool replace, char *buf, size_t len)
{
	char path4[256], path6[256], devs[1024], exempt[1100] = "", rules[1400] = "";
	size_t used = 0;

	path_of(n, &fam4, path4, sizeof(path4));
	path_of(n, &fam6, path6, sizeof(path6));
	if (access(path4, F_OK) == 0) {
		forwarding_devices(path4, devs, sizeof(devs));
		if (devs[0] != '\0')
			snprintf(exempt, sizeof(exempt), " iifname != { %s }", devs);
		used += (size_t)snprintf(rules, sizeof(rules),
			"    meta nfproto ipv4 iifname != \"vmnets*\" oifname != \"vmnets*\"%s drop\n",
			exempt);
	}
	if (access(path6, F_OK) == 0 && used < sizeof(rules))
		snprintf(rules + used, sizeof(rules) - used,
			 "    meta nfproto ipv6 iifname != \"vmnets*\" oifname != \"vmnets*\" drop\n");
	return snprintf(buf, len,
		"%s"
		"table inet " GUARD_TABLE " {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter - 1; policy accept;\n"
		"%s"
		"  }\n"
		"}\n", replace ? "delete table inet " GUARD_TABLE "\n" : "", rules);
}

/*
 * Decides whether this helper manages fam's forwarding switch, saving the
 * snapshot when it starts to. A state file plus the guard table (guarded:
 * it existed before this helper looked) mean we already did; a state file
 * without the guard is left from an older namespace with the same inode, so
 * it is replaced. 1: snapshot taken now, 0: nothing new, or -errno.
 */
static int forwarding_snapshot(const struct network *n, const struct family *fam, bool guarded)
{
	char path[256], val[32];
	int ret;

	if (access(path_of(n, fam, path, sizeof(path)), F_OK) == 0 && guarded)
		return 0;
	ret = fam_get(fam, fam->master, val, sizeof(val));
	if (ret < 0) {
		ERROR("nat", "cannot read net.%s%s: %s", fam->dir, fam->master, strerror(-ret));
		return ret;
	}
	if (strcmp(val, "0") != 0) {
		unlink(path);
		return 0;   /* the host forwards already: not ours to manage */
	}
	ret = snapshot_save(n, fam);
	if (ret < 0) {
		ERROR("nat", "cannot save forwarding state in %s: %s", path, strerror(-ret));
		return ret;
	}
	return 1;
}

/* Switches fam's forwarding on if we manage it. Only once the guard is in
 * place, so there is never a moment of unguarded forwarding. */
static int forwarding_switch(const struct network *n, const struct family *fam, bool fresh)
{
	char path[256];
	int ret;

	if (access(path_of(n, fam, path, sizeof(path)), F_OK) != 0)
		return 0;
	if (fresh && fam->prepare) {
		ret = fam->prepare(path);
		if (ret < 0)
			return ret;
	}
	ret = fam_set(fam, fam->master, "1");
	if (ret < 0) {
		ERROR("nat", "cannot enable net.%s%s: %s", fam->dir, fam->master, strerror(-ret));
		return ret;
	}
	if (fresh)
		INFO("nat", "enabled %s forwarding (restored when the last shared network goes)",
		     fam->name);
	return 0;
}

struct shared_scan {
	const char *except;
	bool found;
};

static int find_shared_bridge(const struct nl_link *l, void *arg)
{
	struct shared_scan *s = arg;

	if (l == NULL)
		s->found = false;   /* the dump starts over */
	else if (!strncmp(l->name, "vmnets", 6) && strcmp(l->name, s->except) != 0 &&
	    !strcmp(l->kind, "bridge"))
		s->found = true;
	return 0;
}

/* Restores one family's snapshot, if we have one. 0, 1 if restored, or -errno. */
static int family_restore(const struct network *n, const struct family *fam)
{
	char path[256];
	int ret;

	if (access(path_of(n, fam, path, sizeof(path)), F_OK) != 0)
		return 0;
	ret = snapshot_restore(fam, path);
	if (ret < 0)
		return ret;
	INFO("nat", "restored %s forwarding settings", fam->name);
	return 1;
}

/* Restores forwarding if we switched it on and no shared network is left. */
static int forwarding_restore(struct nft *t, const struct network *n)
{
	struct shared_scan s = { n->bridge, false };
	char path4[256], path6[256];
	int ret, r4, r6;

	path_of(n, &fam4, path4, sizeof(path4));
	path_of(n, &fam6, path6, sizeof(path6));
	if (access(path4, F_OK) != 0 && access(path6, F_OK) != 0)
		return 0;
	ret = nl_link_list(find_shared_bridge, &s);
	if (ret < 0) {
		ERROR("nat", "cannot list links: %s", strerror(-ret));
		return ret;
	}
	if (s.found)
		return 0;
	/* Forwarding off before the guard goes, for the same reason as above. */
	r4 = family_restore(n, &fam4);
	r6 = family_restore(n, &fam6);
	if (r4 < 0 || r6 < 0)
		return r4 < 0 ? r4 : r6;
	ret = 0;
	if (nft_table_exists(t, "inet", GUARD_TABLE))
		ret = nft_exec(t, "delete table inet " GUARD_TABLE "\n",
			       "remove the forwarding guard table", false);
	if (ret == 0) {
		unlink(path4);
		unlink(path6);
	}
	return ret;
}

/* ---- the calls, each run in a child ---- */

/* Appends text to a script buffer; false if it does not fit. */
static bool append(char *buf, size_t cap, size_t *used, int len)
{
	if (len < 0 || (size_t)len >= cap - *used)
		return false;
	*used += (size_t)len;
	return true;
}

/* Appends formatted text to a script buffer; false if it does not fit. */
static bool __attribute__((format(printf, 4, 5)))
appendf(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	return append(buf, cap, used, len);
}

static int remove_job(struct nft *t, const struct network *n, bool unused, const void *arg)
{
	char table[IF_NAMESIZE + 8], cmds[256] = "";
	size_t used = 0;
	int ret = 0, ret2;

	snprintf(table, sizeof(table), "vmnet_%s", n->bridge);
	if (nft_table_exists(t, "inet", table))
		appendf(cmds, sizeof(cmds), &used, "delete table inet %s\n", table);
	/* Probing fails, quietly, where the kernel has no bridge family; then
	 * there is no isolation table either. */
	if (nft_table_exists(t, "bridge", table))
		appendf(cmds, sizeof(cmds), &used, "delete table bridge %s\n", table);
	if (used)
		ret = nft_exec(t, cmds, "remove nftables rules", false);
	ret2 = forwarding_restore(t, n);
	return ret < 0 ? ret : ret2;
}

/* Shared mode's forwarding: snapshots, then the guard (in cmds, to run with
 * the network's table), and fresh4 and fresh6 for forwarding_switch. */
static int forwarding_plan(struct nft *t, const struct network *n, char *cmds, size_t cap,
			   size_t *used, int *fresh4, int *fresh6)
{
	char path4[256], path6[256];
	bool guarded = nft_table_exists(t, "inet", GUARD_TABLE);

	*fresh4 = forwarding_snapshot(n, &fam4, guarded);
	*fresh6 = n->ipv6 && *fresh4 >= 0 ? forwarding_snapshot(n, &fam6, guarded) : 0;
	if (*fresh4 < 0 || *fresh6 < 0)
		return *fresh4 < 0 ? *fresh4 : *fresh6;
	path_of(n, &fam4, path4, sizeof(path4));
	path_of(n, &fam6, path6, sizeof(path6));
	if (access(path4, F_OK) != 0 && access(path6, F_OK) != 0)
		return 0;   /* the host forwards both: no guard of ours */
	if (guarded && !*fresh4 && !*fresh6)
		return 0;   /* the guard there already says what it must */
	if (!append(cmds, cap, used, guard_rules(n, guarded, cmds + *used, cap - *used)))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The network's table and, in shared mode, the forwarding guard, in one
 * transaction; forwarding on after it. The table of a network that another
 * helper joined is left as it is: the first helper wrote it under the same
 * lock, and the last one removes it. replace: the bridge is new, so a table
 * of that name is a leftover and is rewritten.
 */
static int add_job(struct nft *t, const struct network *n, bool replace, const void *arg)
{
	char table[IF_NAMESIZE + 8], cmds[2 * RULES_SIZE] = "";
	size_t used = 0;
	int fresh4 = 0, fresh6 = 0, ret = 0;
	bool exists;

	snprintf(table, sizeof(table), "vmnet_%s", n->bridge);
	exists = nft_table_exists(t, "inet", table);
	if (exists && replace)
		appendf(cmds, sizeof(cmds), &used, "delete table inet %s\n", table);
	/* A new bridge: an isolation table of that name is a leftover too, and
	 * its forward chain went with the inet table (isolate_job makes both). */
	if (replace && nft_table_exists(t, "bridge", table))
		appendf(cmds, sizeof(cmds), &used, "delete table bridge %s\n", table);
	if (!exists || replace) {
		int len = n->mode == MODE_SHARED ? shared_rules(n, cmds + used, sizeof(cmds) - used)
						 : host_rules(n, cmds + used, sizeof(cmds) - used);
		if (!append(cmds, sizeof(cmds), &used, len))
			return -ENAMETOOLONG;
	}
	if (n->mode == MODE_SHARED)
		ret = forwarding_plan(t, n, cmds, sizeof(cmds), &used, &fresh4, &fresh6);
	if (ret == 0 && used)
		ret = nft_exec(t, cmds, "add nftables rules", false);
	if (ret == 0 && n->mode == MODE_SHARED)
		ret = forwarding_switch(n, &fam4, fresh4 > 0);
	if (ret == 0 && n->mode == MODE_SHARED && n->ipv6)
		ret = forwarding_switch(n, &fam6, fresh6 > 0);
	if (ret < 0)
		remove_job(t, n, false, NULL);
	return ret;
}

/*
 * Isolation's packet marks: bits of their own, clear of the tag of the DNS
 * marks (DNS_MARK) and of the low bits other software commonly uses; set
 * or'ed in, so other marks stay.
 */
#define ISO_FROM_ISOLATED 0x00100000u   /* came in on an isolated port */
#define ISO_ROUTED_BACK 0x00200000u     /* routed from the bridge back to it */

/*
 * An isolated VM reaches no other VM of its network, by any path:
 *  - bridged: the bridge table drops every frame forwarded from or to an
 *    isolated port (the kernel's isolated flag alone still lets an
 *    isolated port reach a non-isolated one);
 *  - routed: a VM may send IP for another VM's address to the gateway's
 *    MAC, and a host that forwards (shared mode always, host mode on a
 *    host forwarding for other reasons) routes it back out of the bridge.
 *    The IP layer cannot tell which port a packet came in on, so the
 *    bridge marks what comes from an isolated port (before the DNS rules,
 *    whose own mark replaces it on queries for the gateway, which are never
 *    routed); the forward hook drops what it marked when it is routed back
 *    to the bridge, and marks what it routes back, which the bridge then
 *    does not deliver to an isolated port. The gateway, the host (its own
 *    packets are not routed) and the way out through NAT stay open.
 * The port names are every network's (the kernel here may lack the bridge
 * name match), and need not be more: a packet marked as routed back left
 * through the bridge it came in on. One table and one chain per network,
 * made by its first isolated port, gone with the network's tables.
 */
static int isolate_job(struct nft *t, const struct network *n, bool unused, const void *arg)
{
	char table[IF_NAMESIZE + 8], cmds[RULES_SIZE];

	snprintf(table, sizeof(table), "vmnet_%s", n->bridge);
	/* The table may hold only DNS chains (dns_add_job): its forward chain
	 * says an isolated port of this network made the rest already. */
	if (nft_chain_exists(t, "bridge", table, "forward"))
		return 0;
	/* Positional arguments (%3$08x is the third, a uint32_t), which
	 * cppcheck counts as if they were in order. */
	// cppcheck-suppress invalidPrintfArgType_uint
	snprintf(cmds, sizeof(cmds),
		"table bridge %1$s {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"" TAP_ISOLATED_PREFIX "*\" drop\n"
		"    oifname \"" TAP_ISOLATED_PREFIX "*\" drop\n"
		"  }\n"
		"  chain prerouting {\n"
		"    type filter hook prerouting priority filter - 1; policy accept;\n"
		"    iifname \"" TAP_ISOLATED_PREFIX "*\" meta mark set meta mark | 0x%3$08x\n"
		"  }\n"
		"  chain output {\n"
		"    type filter hook output priority filter; policy accept;\n"
		"    oifname \"" TAP_ISOLATED_PREFIX "*\" meta mark & 0x%4$08x == 0x%4$08x drop\n"
		"  }\n"
		"}\n"
		"table inet %1$s {\n"
		"  chain isolation {\n"
		"    type filter hook forward priority filter - 1; policy accept;\n"
		"    iifname \"%2$s\" oifname \"%2$s\" meta mark & 0x%3$08x == 0x%3$08x drop\n"
		"    iifname \"%2$s\" oifname \"%2$s\" meta mark set meta mark | 0x%4$08x\n"
		"  }\n"
		"}\n", table, n->bridge, ISO_FROM_ISOLATED, ISO_ROUTED_BACK);
	return nft_exec(t, cmds, "add isolation rules", false);
}

/* ---- DNS per VM ---- */

/*
 * A helper's DNS rules are chains of its network's own tables, named by its
 * TAP's ifindex: "dns<ifindex>" in "bridge vmnet_<bridge>", "dns<ifindex>_steer"
 * and "dns<ifindex>_guard" in "inet vmnet_<bridge>". Not tables of their own:
 * libnftables reads every table of the namespace before each change and
 * sets up about half a MiB of lookup tables for each, so a table per VM
 * made every start and stop slower by about 10 ms for each VM already
 * running (bench/startscale.py: the last of 30 starts on one network took
 * 361 ms, 67 ms with chains). The network's tables go with the network.
 */
#define DNS_CHAIN "dns"
/* The packet mark of a helper's DNS queries: its TAP's ifindex, tagged so it
 * stays clear of the small marks other software uses. */
#define DNS_MARK(ifindex) (0x76000000u | ((uint32_t)(ifindex) & 0x00ffffffu))

/* Whether ifindex is surely gone: the kernel says there is no such link
 * (any other answer keeps the chains). By netlink: the reaper's filter
 * allows it, not the ioctl if_indextoname uses. */
static bool link_gone(int ifindex)
{
	struct nl_link l;

	return nl_link_get_index(ifindex, &l) == -ENODEV;
}

/*
 * "delete chain" for our DNS chains and those of every TAP of the network
 * that is gone (helpers killed with their reaper). One listing for all, at
 * teardown, where no start waits for it.
 */
static void sweep_dns_chains(struct nft *t, const char *table, int ours, char *cmds,
			     size_t cap, size_t *used)
{
	char family[16] = "", name[64], tname[IF_NAMESIZE + 8], suffix[8];
	const char *out, *line;
	bool in_table = false;
	int ifindex;

	t->output_buffer(t->ctx);   /* empties what earlier commands printed */
	if (nft_exec(t, "list chains\n", "list chains", true) < 0)
		return;
	/* Links looked up after the listing: a chain listed was made after its
	 * TAP, so a TAP made since cannot be taken for gone. */
	out = t->output_buffer(t->ctx);
	for (line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (sscanf(line, "table %15s %23s {", family, tname) == 2) {
			in_table = strcmp(tname, table) == 0;
			continue;
		}
		suffix[0] = '\0';
		if (!in_table || sscanf(line, " chain " DNS_CHAIN "%d%7[_a-z] {", &ifindex,
					suffix) < 1 || ifindex <= 0)
			continue;
		if (ifindex != ours && !link_gone(ifindex))
			continue;
		snprintf(name, sizeof(name), DNS_CHAIN "%d%s", ifindex, suffix);
		appendf(cmds, cap, used, "delete chain %s %s %s\n", family, table, name);
	}
}

/* A helper's DNS rules, by chain. */
struct dns_script {
	char mark[512], steer[512], guard[512];
	size_t mark_len, steer_len, guard_len;
	bool ok;
};

/* One family's rules for UDP and TCP: mark (bridge), steer (nat) and guard (input). */
static void dns_family_rules(const char *ipfam, const char *gw, uint16_t udp, uint16_t tcp,
			     const struct nat_dns *d, struct dns_script *s)
{
	const char *bra = strcmp(ipfam, "ip6") == 0 ? "[" : "", *ket = *bra ? "]" : "";
	const struct { const char *proto; uint16_t port; } p[2] = { { "udp", udp }, { "tcp", tcp } };
	uint32_t mark = DNS_MARK(d->ifindex);

	for (int i = 0; i < 2; i++) {
		s->ok = s->ok &&
			appendf(s->mark, sizeof(s->mark), &s->mark_len,
				"    iif %d %s daddr %s %s dport 53 meta mark set 0x%08x\n",
				d->ifindex, ipfam, gw, p[i].proto, mark) &&
			appendf(s->steer, sizeof(s->steer), &s->steer_len,
				"    meta mark 0x%08x %s daddr %s %s dport 53 dnat %s to %s%s%s:%u\n",
				mark, ipfam, gw, p[i].proto, ipfam, bra, gw, ket, p[i].port) &&
			appendf(s->guard, sizeof(s->guard), &s->guard_len,
				"    %s daddr %s %s dport %u meta mark != 0x%08x drop\n",
				ipfam, gw, p[i].proto, p[i].port, mark);
	}
}

/*
 * Only this helper's VM reaches its DNS sockets. A bridge-family rule marks
 * what arrives from its TAP for gateway:53 (the inet family cannot tell
 * which bridge port a frame came in on; the mark survives the way up), the
 * nat rule sends marked queries to the helper's own ports, and the input
 * rule drops anything else at those ports: other VMs, and the host's users.
 * "table { }" adds to the network's tables (the bridge one is made by the
 * first helper that needs it); other helpers' chains are left alone.
 */
static int dns_add_job(struct nft *t, const struct network *n, bool unused, const void *arg)
{
	const struct nat_dns *d = arg;
	char gw[INET6_ADDRSTRLEN], cmds[4 * RULES_SIZE] = "";
	struct dns_script s = { .ok = true };
	size_t used = 0;

	if (d->udp4) {
		struct in_addr in = { htonl(n->gateway) };
		inet_ntop(AF_INET, &in, gw, sizeof(gw));
		dns_family_rules("ip", gw, d->udp4, d->tcp4, d, &s);
	}
	if (d->udp6) {
		inet_ntop(AF_INET6, n->gateway6, gw, sizeof(gw));
		dns_family_rules("ip6", gw, d->udp6, d->tcp6, d, &s);
	}
	if (!s.ok || !appendf(cmds, sizeof(cmds), &used,
		"table bridge vmnet_%1$s {\n"
		"  chain " DNS_CHAIN "%2$d {\n"
		"    type filter hook prerouting priority filter; policy accept;\n"
		"%3$s"
		"  }\n"
		"}\n"
		"table inet vmnet_%1$s {\n"
		"  chain " DNS_CHAIN "%2$d_steer {\n"
		"    type nat hook prerouting priority dstnat; policy accept;\n"
		"%4$s"
		"  }\n"
		"  chain " DNS_CHAIN "%2$d_guard {\n"
		"    type filter hook input priority filter; policy accept;\n"
		"%5$s"
		"  }\n"
		"}\n", n->bridge, d->ifindex, s.mark, s.steer, s.guard))
		return -ENAMETOOLONG;
	return nft_exec(t, cmds, "add DNS rules", false);
}

static int dns_remove_job(struct nft *t, const struct network *n, bool unused, const void *arg)
{
	char table[IF_NAMESIZE + 8], cmds[4 * RULES_SIZE] = "";
	size_t used = 0;

	snprintf(table, sizeof(table), "vmnet_%s", n->bridge);
	sweep_dns_chains(t, table, *(const int *)arg, cmds, sizeof(cmds), &used);
	return used ? nft_exec(t, cmds, "remove DNS rules", false) : 0;
}

int nat_add(const struct network *n, bool replace)
{
	return nat_in_child(add_job, n, replace, NULL);
}

int nat_isolate(const struct network *n)
{
	return nat_in_child(isolate_job, n, false, NULL);
}

int nat_remove(const struct network *n)
{
	return nat_in_child(remove_job, n, false, NULL);
}

pid_t nat_dns_add_start(const struct network *n, const struct nat_dns *d)
{
	return nat_fork(dns_add_job, n, false, d);
}

int nat_dns_remove(const struct network *n, int ifindex)
{
	return nat_in_child(dns_remove_job, n, false, &ifindex);
}
