/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper's setup (setup.h): runs as root, in the process that becomes
 * the datapath, before the reaper is forked. It reads only root's files
 * (the policy, resolv.conf, the leases) and never a path the user chose:
 * --socket's files are the files process's (files/sockfile.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/ident.h"
#include "common/ip4.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "common/text.h"
#include "common/version.h"
#include "datapath/dnsfwd.h"
#include "files/capfile.h"
#include "parse/dns.h"
#include "setup/bridged.h"
#include "setup/lease.h"
#include "setup/nat.h"
#include "setup/netlink.h"
#include "setup/setup.h"
#include "setup/statussock.h"

#define RESOLV_CONF "/etc/resolv.conf"
/* systemd-resolved's list of the servers it forwards to: the host's real
 * nameservers when /etc/resolv.conf names its stub, 127.0.0.53. */
#define RESOLVED_CONF "/run/systemd/resolve/resolv.conf"

/* For the exit handler: every exit waits for the --socket files to go. */
static struct helper *exiting;

static _Noreturn void die(const char *what)
{
	ERROR("main", "%s", what);
	exit(EXIT_FAILURE);
}

/*
 * Until the privilege drop every signal waits (datapath_confine unblocks
 * SIGTERM and SIGINT): the user can signal setup (root) through the
 * terminal (Ctrl-\, Ctrl-Z) or through sudo, which relays what they send
 * it, and can raise SIGXFSZ at a write of their choice (RLIMIT_FSIZE
 * passes through sudo, stderr may be a file). None may cut setup short
 * between changing the host and starting the reaper, nor stop it while it
 * holds the network lock.
 */
void setup_block_signals(struct helper *h)
{
	sigset_t all, stop;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	h->sig_fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (h->sig_fd < 0)
		die("signalfd failed");
}

/*
 * Root by the caller's choice (sudo, a root shell), not a set-user-ID
 * install: there the user would also set every variable we read, SUDO_UID
 * and SUDO_GID included. sudo passes the user's umask (or'ed with 022):
 * with 0777, root's state files would be created mode 0000, which the
 * reaper (uid 0 without CAP_DAC_OVERRIDE) could not open at teardown.
 */
void setup_require_root(void)
{
	umask(022);
	if (geteuid() != 0)
		die("vmnet-helper must start as root (run it with sudo)");
	if (getuid() != 0)
		die("vmnet-helper must not be set-user-ID: run it with sudo");
}

/* A malformed SUDO_UID/SUDO_GID changes nothing. */
void setup_identify_user(struct helper *h)
{
	if (priv_user_from_env(&h->user) < 0)
		exit(EXIT_FAILURE);
}

/* --network NAME: the mode, addresses and interface the network defines. */
static void resolve_network(struct helper *h)
{
	const struct policy_network *n;
	char err[256];

	if (!h->opt.network)
		return;
	n = policy_network(&h->policy, h->opt.network);
	if (!n) {
		snprintf(err, sizeof(err), "no network \"%s\" (shared and host exist, others are "
			 "defined in %s)", h->opt.network, VMNET_CONF);
		die(err);
	}
	if (options_set_network(&h->opt, n->mode, n->start, n->end, n->mask, n->shared_interface,
				n->isolation, n->mtu, err, sizeof(err)) < 0)
		die(err);
}

/* The administrator's file, read as root. A malformed or untrusted one
 * refuses everyone with one line: nothing may run on a policy half read. */
void setup_load_policy(struct helper *h)
{
	char err[512];

	if (policy_load(VMNET_CONF, &h->policy, err, sizeof(err)) < 0)
		die(err);
	resolve_network(h);
}

void setup_identify(struct helper *h)
{
	if (!h->opt.interface_id_set)
		uuid_generate_random(h->opt.interface_id);
	uuid_unparse_upper(h->opt.interface_id, h->id);
	ident_mac_from_uuid(h->opt.interface_id, h->mac);
}

/* The user's name and groups (user database: the same through sudo and the
 * broker), for the network's allow-list. NULL, 0: none known. */
static int user_groups(const struct helper *h, char *name, size_t cap, char (*names)[64],
		       int max)
{
	const struct passwd *pw = getpwuid(h->user.uid);
	gid_t gids[64];
	int n = 64, count = 0;

	if (!pw)
		return -1;
	snprintf(name, cap, "%s", pw->pw_name);
	if (getgrouplist(name, h->user.gid, gids, &n) < 0)
		n = 64;   /* more than that: the first 64 */
	for (int i = 0; i < n && count < max; i++) {
		const struct group *g = getgrgid(gids[i]);

		if (g)
			snprintf(names[count++], 64, "%s", g->gr_name);
	}
	return count;
}

/* Who may use the network asked for (policy.h: users, groups). */
static void check_access(const struct helper *h)
{
	char name[64], names[64][64], err[512];
	const char *groups[64];
	int n = user_groups(h, name, sizeof(name), names, 64);

	for (int i = 0; i < n; i++)
		groups[i] = names[i];
	if (policy_allows_user(&h->policy, policy_network_of(h->opt.network, h->opt.mode),
			       n < 0 ? NULL : name, groups, n < 0 ? 0 : n, err, sizeof(err)) < 0)
		die(err);
}

/*
 * A user who ran the helper through sudo gets what the policy allows
 * (policy.h); root is not limited. Before anything is set up, so a refusal
 * is one line and changes nothing. Without addresses the subnet is checked
 * as network_choose picks it (policy_subnet), under the network lock.
 */
static void check_policy(struct helper *h)
{
	struct policy_request r = {
		.named = h->opt.network != NULL, .automatic = h->opt.auto_network,
		.mode = h->opt.mode, .start = h->opt.start,
		.mask = h->opt.mask, .shared_interface = h->opt.shared_interface,
		.physical = h->physical,
	};
	char err[512];
	int running = 0;

	if (!h->user.from_sudo)
		return;
	if (policy_allows(&h->policy, &r, err, sizeof(err)) < 0)
		die(err);
	check_access(h);
	/* Counted and reserved under the user's lock, held until the datapath
	 * runs as the user (datapath_confine): starts at the same moment count
	 * each other. */
	h->user_lock_fd = policy_reserve_helper(h->user.uid, h->policy.max_helpers, &running);
	if (h->user_lock_fd == -EUSERS) {
		snprintf(err, sizeof(err), "uid %u already runs %d helpers, the most the administrator "
			 "allows (max-helpers-per-user in %s)", (unsigned)h->user.uid, running,
			 VMNET_CONF);
		die(err);
	}
	if (h->user_lock_fd < 0) {
		snprintf(err, sizeof(err), "cannot count the helpers of uid %u (%s): %s",
			 (unsigned)h->user.uid, POLICY_USERS_DIR, strerror(-h->user_lock_fd));
		die(err);
	}
}

void setup_check(struct helper *h)
{
	if (h->opt.mode == MODE_BRIDGED &&
	    bridged_check(h->opt.shared_interface, &h->physical) < 0)
		exit(EXIT_FAILURE);
	check_policy(h);
}

/*
 * What the helper lives for (common/lifeline.h). The broker's connection
 * was set up at start (its exit status is reported there); through sudo,
 * the process that ran sudo, watched by the datapath. Root without sudo:
 * nothing, as before. A starter that cannot be found leaves the helper as
 * it was before this existed: running until SIGTERM or its VM goes.
 */
void setup_lifeline(struct helper *h)
{
	int fd;

	if (h->opt.broker_fd >= 0 || !h->user.from_sudo)
		return;
	fd = lifeline_starter(&h->starter_pid);
	if (fd < 0) {
		DEBUG("main", "no process to follow (%s): running until stopped", strerror(-fd));
		return;
	}
	h->starter_fd = fd;
	DEBUG("main", "stops when pid %d, which ran sudo, ends", (int)h->starter_pid);
}

static void close_transport(void)
{
	transport_close(&exiting->vm);
}

/*
 * Before any network setup, so a path the user may not use fails with one
 * line and nothing changed. --socket files are made by a process with the
 * user's identity (sockfile.h); every exit from here on waits for it to
 * remove them.
 */
void setup_transport(struct helper *h)
{
	int rc = h->opt.socket_path
		 ? transport_bind(&h->vm, h->opt.socket_path, h->opt.socket_type, &h->user)
		 : h->opt.broker_fd >= 0
		 ? transport_from_broker(&h->vm, h->opt.fd, h->opt.socket_type, h->opt.broker_fd)
		 : transport_from_fd(&h->vm, h->opt.fd, h->opt.socket_type);
	if (rc < 0)
		exit(EXIT_FAILURE);
	exiting = h;
	atexit(close_transport);
}

/*
 * The capture files, opened with the user's identity by a files process of
 * their own (capfile.h) and kept here for the datapath, which writes them
 * by descriptor (datapath/capture.h). Before the network: a path the user
 * cannot use is one line, nothing changed.
 *
 * From vmnet-broker (--pcap-fd) they come open, from the user's own
 * vmnet-helper: the broker's service sees neither the user's home nor
 * their /tmp, and root follows no path of theirs. Passed by anyone else
 * (a sudo user, root) the option gives nothing: the descriptors are only
 * looked at here (capfile_take: regular files open for writing) and
 * written by the datapath once it is the user with no capabilities, so
 * every write is one the user could make through their own descriptor.
 */
void setup_capture(struct helper *h)
{
	int rc;

	if (!h->opt.pcap)
		return;
	rc = h->opt.pcap_fd >= 0 ? capfile_take(h->opt.pcap_fd, h->opt.pcap_files, h->pcap_fds)
				 : capfile_open(h->opt.pcap, h->opt.pcap_files, &h->user, h->pcap_fds);
	if (rc < 0)
		exit(EXIT_FAILURE);
	h->pcap_n = h->opt.pcap_files;
}

/* Logged only once the invocation is known to be valid: a bad one gets one line. */
static void log_start(void)
{
	struct utsname u;

	uname(&u);
	INFO("main", "running vmnet-helper %s on %s %s", version_string(), u.sysname, u.release);
}

static void machine_secret(char *buf, size_t cap)
{
	FILE *f = fopen("/etc/machine-id", "r");

	snprintf(buf, cap, "vmnet-helper");
	if (f) {
		if (!fgets(buf, (int)cap, f))
			snprintf(buf, cap, "vmnet-helper");
		fclose(f);
	}
}

/* The user leases belong to: whoever ran sudo, or root running it itself. */
static long long invoking_uid(const struct helper *h)
{
	return h->user.from_sudo ? (long long)h->user.uid : (long long)getuid();
}

/* A running helper holds our interface id or our MAC (lease.h): refused. */
static void lease_busy(const struct helper *h, const struct lease *l)
{
	char text[18];

	if (strcasecmp(l->id, h->id) == 0)
		ERROR("main", "interface id %s is in use on %s by the running vmnet-helper pid %d "
		      "(interface id %s)", h->id, h->net.bridge, (int)l->pid, l->id);
	else
		ERROR("main", "MAC %s of interface id %s is in use on %s by the running "
		      "vmnet-helper pid %d (interface id %s)", ident_mac_format(l->mac, text), h->id,
		      h->net.bridge, (int)l->pid, l->id);
}

/* The leases one user may hold here (policy.h); root is not limited. */
static unsigned max_leases(const struct helper *h)
{
	return h->user.from_sudo ? policy_max_leases(&h->policy, (uint64_t)h->net.end -
						     h->net.gateway) : 0;
}

static void acquire_lease(struct helper *h)
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8], ip[16], mac[18], mac2[18];
	struct lease_request r = {
		.start = h->net.gateway, .end = h->net.end, .id = h->id,
		.uid = invoking_uid(h), .lease_time = HELPER_LEASE_TIME, .max_held = max_leases(h),
	};
	struct lease got, busy;
	unsigned held = 0;
	int rc;

	h->max_leases = r.max_held;
	memcpy(r.mac, h->mac, 6);
	ident_mac_for_user(h->opt.interface_id, (uint32_t)r.uid, r.user_mac);
	helper_lease_path(h, path, sizeof(path));
	rc = lease_acquire(path, &r, &got, &busy, &held);
	if (rc == -EBUSY) {
		lease_busy(h, &busy);
		return;
	}
	if (rc == -EADDRINUSE) {
		ERROR("main", "interface id %s: both its MACs on %s belong to other users' leases "
		      "(%s and %s)", h->id, h->net.bridge, ident_mac_format(r.mac, mac),
		      ident_mac_format(r.user_mac, mac2));
		return;
	}
	if (rc == -EDQUOT) {
		ERROR("main", "uid %lld holds %u leases on %s, every one of a running helper: the "
		      "most the administrator allows (max-leases-per-user in %s)", r.uid, held,
		      h->net.bridge, VMNET_CONF);
		return;
	}
	if (rc < 0) {
		ERROR("main", "no free address in %s (%s)", h->net.bridge, strerror(-rc));
		return;
	}
	h->lease = got.addr;
	h->lease_pid = r.pid;
	if (memcmp(got.mac, h->mac, 6) != 0)
		INFO("main", "interface id %s is another user's on %s: this VM's MAC is %s", h->id,
		     h->net.bridge, ident_mac_format(got.mac, mac));
	memcpy(h->mac, got.mac, 6);
	DEBUG("main", "leasing %s to %s", ip4_format(h->lease, ip), h->id);
}

void setup_release_lease(const struct helper *h)
{
	char path[sizeof(h->net.lib_dir) + IF_NAMESIZE + 8];
	int rc;

	if (!h->lease)
		return;
	helper_lease_path(h, path, sizeof(path));
	rc = lease_release(path, h->id, h->lease_pid);
	if (rc < 0)
		WARN(LOG_SELF, "cannot update %s: %s", path, strerror(-rc));
}

/* The TAP's virtio-net headers: ours for --enable-checksum-offload, the
 * guest's own for vhost-user. 0 or -errno. */
static int setup_vnet_hdr(struct helper *h)
{
	if (h->opt.vhost_user)
		return tap_set_vhost(&h->tap);
	if (h->tap.vnet_hdr)
		return tap_set_offload(&h->tap, h->opt.enable_tso);
	return 0;
}

/* Bridged mode: the VM on the network of --shared-interface, no lease. */
static void setup_bridged(struct helper *h)
{
	bool vnet_hdr = h->opt.enable_checksum_offload || h->opt.vhost_user;

	if (bridged_open(&h->br, h->opt.shared_interface, h->mac, vnet_hdr, &h->tap) < 0 ||
	    setup_vnet_hdr(h) < 0) {
		tap_close(&h->tap);
		bridged_teardown(&h->br);
		exit(EXIT_FAILURE);
	}
	h->mtu = h->br.mtu;
	INFO("main", "started vmnet interface %s on %s", h->tap.name, h->br.lower);
}

/* The IPv4 nameservers of one resolv.conf-format file, if it exists. */
static void read_nameservers(struct network *n, const char *path)
{
	char names[8][DNS_ADDR_TEXT], *text = calloc(1, 65537);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), count = 0;
	ssize_t len = fd >= 0 && text ? read(fd, text, 65536) : -1;
	struct in_addr a;

	if (fd >= 0)
		close(fd);
	if (len > 0)
		count = dns_resolv_nameservers(text, names, 8);
	free(text);
	for (int i = 0; i < count && n->nnameservers < 8; i++) {
		if (inet_pton(AF_INET, names[i], &a) != 1)
			continue;
		n->nameserver_file[n->nnameservers] = path;
		n->nameservers[n->nnameservers++] = ntohl(a.s_addr);
	}
}

/* The host's IPv4 nameservers, which no network may contain (network.h):
 * /etc/resolv.conf's, and systemd-resolved's upstream ones when present. */
static void host_nameservers(struct network *n)
{
	read_nameservers(n, RESOLV_CONF);
	read_nameservers(n, RESOLVED_CONF);
}

/* network_choose's filter for a user: the subnets the policy allows. */
static int policy_subnet(const void *policy, uint32_t gateway, uint32_t mask, char *why,
			 size_t len)
{
	return policy_allows_subnet(policy, gateway, mask, why, len);
}

/* For root: any subnet but a named network's (policy_reserved), which an
 * automatic choice would squat. */
static int unreserved_subnet(const void *policy, uint32_t gateway, uint32_t mask, char *why,
			     size_t len)
{
	return policy_reserved(policy, gateway, mask, why, len);
}

/* Under the lock: the network to join, chosen or given, and its IPv6. */
static void choose_network(struct helper *h)
{
	char secret[128];

	host_nameservers(&h->net);
	h->net.allow = h->user.from_sudo ? policy_subnet : unreserved_subnet;
	h->net.allow_arg = &h->policy;
	/* Without address options: the default, or the next free network. */
	if (h->opt.auto_network && network_choose(&h->net) < 0) {
		network_unlock(&h->net);
		exit(EXIT_FAILURE);
	}
	/* Shared mode: IPv6 too, on a stable ULA /64 of this host and network. */
	if (h->opt.mode == MODE_SHARED) {
		machine_secret(secret, sizeof(secret));
		ident_ula_prefix(secret, h->net.bridge, h->net.prefix6);
		ident_ula_format(h->net.prefix6, h->nat66);
		h->net.ipv6 = true;
	}
}

/* The VM's port: lease, TAP and port, in that order. 0 or -errno. */
static int join_port(struct helper *h)
{
	int rc;

	acquire_lease(h);
	if (!h->lease)
		return -ENOSPC;
	/* The network's MTU: ours, or the one of the network we joined. */
	h->mtu = h->net.mtu;
	rc = tap_open(&h->tap, h->opt.enable_checksum_offload || h->opt.vhost_user,
		      h->opt.enable_isolation, h->mtu);
	if (rc < 0) {
		ERROR("main", "cannot create TAP device: %s", strerror(-rc));
		return rc;
	}
	if ((rc = setup_vnet_hdr(h)) < 0)
		return rc;
	return network_add_port(&h->net, h->tap.ifindex, h->mac, h->opt.enable_isolation);
}

/*
 * Under the network lock: bridge, lease, TAP, port. Undone on failure. The
 * lease comes before the port: a helper refused because a running one holds
 * our interface id or MAC must not touch that VM's forwarding entry (the
 * port pins the MAC, and a MAC another port pinned refuses the port).
 */
void setup_network(struct helper *h)
{
	int rc;

	log_start();
	if (nl_open() < 0)
		die("cannot open rtnetlink");
	if (h->opt.mode == MODE_BRIDGED) {
		setup_bridged(h);
		return;
	}
	if (network_init(&h->net, &h->opt) < 0 || network_lock(&h->net) < 0)
		die("cannot initialize network state");
	choose_network(h);
	rc = network_join(&h->net);
	if (rc == 0)
		rc = join_port(h);
	if (rc < 0) {
		setup_release_lease(h);
		tap_close(&h->tap);
		network_leave(&h->net);
		network_unlock(&h->net);
		exit(EXIT_FAILURE);
	}
	network_unlock(&h->net);
	INFO("main", "started vmnet interface %s on %s", h->tap.name, h->net.bridge);
}

/*
 * DNS at the gateway, for this VM alone (dnsfwd.h): sockets of our own, and
 * nftables rules (as root) that steer only our TAP's queries to them.
 * resolv.conf is read as the host's resolver would. The rules are written in
 * the background while the reaper starts (setup_dns_done waits): a start
 * waits for the longer of the two, not for both. Failing is a WARN, not an
 * error: a VM without the helper's DNS still has a working network (and may
 * be configured with other servers); the leases then name no DNS server.
 */
void setup_dns(struct helper *h)
{
	struct nat_dns d = { .ifindex = h->tap.ifindex };

	if (h->opt.mode != MODE_SHARED && h->opt.mode != MODE_HOST)
		return;
	h->dns = dnsfwd_open(h->net.gateway, h->net.mask, RESOLV_CONF);
	/* And on the gateway's IPv6 address, which the RAs' RDNSS names. */
	if (h->net.ipv6)
		h->dns6 = dnsfwd_open6(h->net.gateway6, RESOLV_CONF);
	if (h->dns)
		dnsfwd_ports(h->dns, &d.udp4, &d.tcp4);
	if (h->dns6)
		dnsfwd_ports(h->dns6, &d.udp6, &d.tcp6);
	if (!h->dns && !h->dns6)
		return;
	h->dns_job = nat_dns_add_start(&h->net, &d);
	/* Before the reaper's fork, which copies it: the reaper removes the
	 * rules at exit, and finds none to remove if they were never made. */
	h->dns_steered = h->dns_job > 0;
	if (!h->dns_steered)
		setup_dns_done(h);
}

void setup_dns_done(struct helper *h)
{
	if (h->dns_job > 0 && nat_wait(h->dns_job) == 0) {
		h->dns_job = -1;
		if (h->dns)
			dnsfwd_log(h->dns, h->tap.name);
		if (h->dns6)
			dnsfwd_log(h->dns6, h->tap.name);
		return;
	}
	h->dns_job = -1;
	h->dns_steered = false;
	if (h->dns || h->dns6)
		WARN("dns", "cannot steer %s's DNS queries: running without DNS, "
		     "leases name no DNS server", h->tap.name);
	dnsfwd_close(h->dns);
	dnsfwd_close(h->dns6);
	h->dns = h->dns6 = NULL;
}

void setup_status(struct helper *h)
{
	h->started = (int64_t)time(NULL);
	h->started_ms = text_now_ms();
	h->status_fd = statussock_open(h->status_path, sizeof(h->status_path));
}
