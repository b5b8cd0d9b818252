/* SPDX-License-Identifier: Apache-2.0 */
/* nftables tables per network and the IPv4 forwarding switch (libnftables). */
#include "nat.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "tap.h"

#define IPV4_SYSCTL "/proc/sys/net/ipv4/"
#define GUARD_TABLE "vmnet_guard"
/* In the run dir: the forwarding sysctls as they were before we changed them. */
#define FORWARD_STATE "forwarding"

/* Rule text for one network or the guard; a few hundred bytes at most. */
#define RULES_SIZE 2048

/* Runs nft commands in one transaction. quiet: a failure is an answer
 * (probing), not an error worth logging. 0, or -EIO on failure. */
static int nft_exec(const char *cmds, const char *what, bool quiet)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (ctx == NULL) {
		ERROR("nat", "cannot %s: cannot create nftables context", what);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	rc = nft_run_cmd_from_buffer(ctx, cmds);
	if (rc != 0 && !quiet) {
		const char *err = nft_ctx_get_error_buffer(ctx);
		int len = (int)strcspn(err ? err : "", "\n");

		ERROR("nat", "cannot %s: %.*s", what, len, err ? err : "nft failed");
		DEBUG("nat", "nft input was:\n%s", cmds);
	}
	nft_ctx_free(ctx);
	return rc != 0 ? -EIO : 0;
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
 */
static int shared_rules(const struct network *n, char *buf, size_t len)
{
	char net[32];

	format_subnet(n, net, sizeof(net));
	return snprintf(buf, len,
		"add table inet vmnet_%1$s\n"
		"delete table inet vmnet_%1$s\n"
		"table inet vmnet_%1$s {\n"
		"  chain postrouting {\n"
		"    type nat hook postrouting priority srcnat; policy accept;\n"
		"    ip saddr %2$s ip daddr != %2$s masquerade\n"
		"  }\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%1$s\" accept\n"
		"    oifname \"%1$s\" ct state established,related accept\n"
		"    oifname \"%1$s\" drop\n"
		"  }\n"
		"}\n", n->bridge, net);
}

/* Host mode: VMs talk to the host (input/output, not forwarded) and to each
 * other on the bridge; nothing is routed in or out. */
static int host_rules(const struct network *n, char *buf, size_t len)
{
	return snprintf(buf, len,
		"add table inet vmnet_%1$s\n"
		"delete table inet vmnet_%1$s\n"
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

/* The forwarding snapshot file of this namespace. */
static const char *path_of(const struct network *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" FORWARD_STATE, n->run_dir);
	return buf;
}

/* Reads a small sysctl value (first line, no newline). 0 or -errno. */
static int sysctl_read(const char *key, char *buf, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), IPV4_SYSCTL "%s", key);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sysctl_write(const char *key, const char *value)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), IPV4_SYSCTL "%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Writing ip_forward also rewrites every device's forwarding flag, the
 * default, and conf/all/accept_redirects. Record all of them so turning
 * forwarding back off leaves the host exactly as it was.
 */
static int snapshot_write(FILE *f)
{
	static const char *const keys[] = {
		"ip_forward", "conf/all/accept_redirects", "conf/default/forwarding",
	};
	char key[300], val[32];
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (sysctl_read(keys[i], val, sizeof(val)) < 0)
			return -EIO;
		fprintf(f, "%s %s\n", keys[i], val);
	}
	d = opendir(IPV4_SYSCTL "conf");
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") ||
		    !strcmp(de->d_name, "default"))
			continue;
		snprintf(key, sizeof(key), "conf/%s/forwarding", de->d_name);
		if (sysctl_read(key, val, sizeof(val)) == 0)
			fprintf(f, "%s %s\n", key, val);
	}
	closedir(d);
	return 0;
}

/* Saves the snapshot atomically, so a crash never leaves half a file. */
static int snapshot_save(const struct network *n)
{
	char path[256], tmp[264];
	FILE *f;
	int ret;

	path_of(n, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f == NULL)
		return -errno;
	ret = snapshot_write(f);
	if (fclose(f) != 0 && ret == 0)
		ret = -EIO;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Writes the snapshot back, ip_forward first since it resets the others. */
static int snapshot_restore(const char *path)
{
	char line[400], key[300], val[32];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%299s %31s", key, val) != 2 || strstr(key, ".."))
			continue;
		int r = sysctl_write(key, val);
		/* A device that went away since has nothing to restore. */
		if (r < 0 && r != -ENOENT && ret == 0) {
			ERROR("nat", "cannot restore net.ipv4.%s: %s", key, strerror(-r));
			ret = r;
		}
	}
	fclose(f);
	return ret;
}

/* ---- forwarding ---- */

/*
 * Interfaces that forwarded on their own before (per-device forwarding set
 * while ip_forward was 0), as an nft set body: '"eth1", "eth2"'. The guard
 * must not stop what the host already did.
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

/* Only forwarding that enters or leaves a shared bridge is new; everything
 * else stays as unforwarded as before we switched ip_forward on. */
static int guard_add(const char *state)
{
	char devs[1024], exempt[1100] = "", cmds[RULES_SIZE];

	forwarding_devices(state, devs, sizeof(devs));
	if (devs[0] != '\0')
		snprintf(exempt, sizeof(exempt), " iifname != { %s }", devs);
	snprintf(cmds, sizeof(cmds),
		"add table inet " GUARD_TABLE "\n"
		"delete table inet " GUARD_TABLE "\n"
		"table inet " GUARD_TABLE " {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter - 1; policy accept;\n"
		"    meta nfproto ipv4 iifname != \"vmnets*\" oifname != \"vmnets*\"%s drop\n"
		"  }\n"
		"}\n", exempt);
	return nft_exec(cmds, "add the forwarding guard table", false);
}

static int guard_remove(void)
{
	return nft_exec("add table inet " GUARD_TABLE "\n"
			"delete table inet " GUARD_TABLE "\n",
			"remove the forwarding guard table", false);
}

static bool guard_exists(void)
{
	return nft_exec("list table inet " GUARD_TABLE "\n", "probe", true) == 0;
}

/*
 * Switches IPv4 forwarding on for a shared network. The state file plus the
 * guard table mean we already did (a state file without the guard is left
 * from an older namespace with the same inode, so it is replaced).
 */
static int forwarding_enable(const struct network *n)
{
	char path[256], val[32];
	bool fresh = access(path_of(n, path, sizeof(path)), F_OK) != 0 || !guard_exists();
	int ret;

	if (fresh) {
		ret = sysctl_read("ip_forward", val, sizeof(val));
		if (ret < 0) {
			ERROR("nat", "cannot read net.ipv4.ip_forward: %s", strerror(-ret));
			return ret;
		}
		if (strcmp(val, "0") != 0) {
			unlink(path);
			return 0;   /* the host forwards already: not ours to manage */
		}
		ret = snapshot_save(n);
		if (ret < 0) {
			ERROR("nat", "cannot save forwarding state in %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	/* Guard first, so there is never a moment of unguarded forwarding. */
	ret = guard_add(path);
	if (ret < 0)
		return ret;
	ret = sysctl_write("ip_forward", "1");
	if (ret < 0) {
		ERROR("nat", "cannot enable net.ipv4.ip_forward: %s", strerror(-ret));
		return ret;
	}
	if (fresh)
		INFO("nat", "enabled IPv4 forwarding (restored when the last shared network goes)");
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

/* Restores forwarding if we switched it on and no shared network is left. */
static int forwarding_restore(const struct network *n)
{
	struct shared_scan s = { n->bridge, false };
	char path[256];
	int ret;

	if (access(path_of(n, path, sizeof(path)), F_OK) != 0)
		return 0;
	ret = nl_link_list(find_shared_bridge, &s);
	if (ret < 0) {
		ERROR("nat", "cannot list links: %s", strerror(-ret));
		return ret;
	}
	if (s.found)
		return 0;
	/* Forwarding off before the guard goes, for the same reason as above. */
	ret = snapshot_restore(path);
	if (ret == 0)
		ret = guard_remove();
	if (ret == 0) {
		unlink(path);
		INFO("nat", "restored IPv4 forwarding settings");
	}
	return ret;
}

int nat_add(const struct network *n)
{
	char rules[RULES_SIZE];
	int len, ret;

	if (n->mode == MODE_SHARED)
		len = shared_rules(n, rules, sizeof(rules));
	else
		len = host_rules(n, rules, sizeof(rules));
	if (len < 0 || (size_t)len >= sizeof(rules))
		return -ENAMETOOLONG;
	ret = nft_exec(rules, "add nftables rules", false);
	if (ret < 0)
		return ret;
	if (n->mode == MODE_SHARED) {
		ret = forwarding_enable(n);
		if (ret < 0)
			nat_remove(n);
	}
	return ret;
}

int nat_isolate(const struct network *n)
{
	char cmds[RULES_SIZE];

	snprintf(cmds, sizeof(cmds),
		"add table bridge vmnet_%1$s\n"
		"delete table bridge vmnet_%1$s\n"
		"table bridge vmnet_%1$s {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"" TAP_ISOLATED_PREFIX "*\" drop\n"
		"    oifname \"" TAP_ISOLATED_PREFIX "*\" drop\n"
		"  }\n"
		"}\n", n->bridge);
	return nft_exec(cmds, "add isolation rules", false);
}

int nat_remove(const struct network *n)
{
	char cmds[256];
	int ret, ret2;

	/* "add" first makes the delete succeed when the table is already gone. */
	snprintf(cmds, sizeof(cmds), "add table inet vmnet_%1$s\ndelete table inet vmnet_%1$s\n",
		 n->bridge);
	ret = nft_exec(cmds, "remove nftables rules", false);
	/* Quiet: it fails only where the kernel has no bridge family, and
	 * then there is no isolation table either. */
	snprintf(cmds, sizeof(cmds), "add table bridge vmnet_%1$s\ndelete table bridge vmnet_%1$s\n",
		 n->bridge);
	nft_exec(cmds, "remove isolation rules", true);
	ret2 = forwarding_restore(n);
	return ret < 0 ? ret : ret2;
}
