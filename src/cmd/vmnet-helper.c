/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-helper: gives an unprivileged VM process a network interface.
 * Setup runs as root; then a root reaper with CAP_NET_ADMIN alone waits to
 * tear down, and this process drops to the invoking user (nobody without
 * sudo) with no capabilities and forwards frames until told to stop. With
 * --socket, a files process with the user's identity owns the socket's files
 * (privileges.h, sockfile.h, docs/security.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "setup/bridged.h"
#include "datapath/dnsfwd.h"
#include "datapath/forward.h"
#include "common/ident.h"
#include "common/ip4.h"
#include "common/json.h"
#include "setup/lease.h"
#include "common/log.h"
#include "parse/dns.h"
#include "setup/nat.h"
#include "setup/netlink.h"
#include "setup/network.h"
#include "parse/offload.h"
#include "setup/policy.h"
#include "common/options.h"
#include "common/privileges.h"
#include "common/sandbox.h"
#include "setup/tap.h"
#include "datapath/transport.h"
#include "datapath/vhost.h"

#define ETH_HEADER 14
/* The largest frame: bridged mode, an MTU of up to 65536; TSO, OFFLOAD_MAX_PACKET;
 * --mtu, MAX_MTU + 14. */
#define MAX_FRAME 65550
#define LEASE_TIME 86400
/* Router advertisement lifetimes (RFC 4861 defaults for a 600 s maximum
 * interval; forward.c re-advertises every 200 s). The prefix outlives a
 * helper restart: it is stable, so a VM keeps its address across one. */
#define RA_ROUTER_LIFETIME 1800
#define RA_VALID_LIFETIME 86400
#define RA_PREFERRED_LIFETIME 14400
#define RA_DNS_LIFETIME 1800
#define RESOLV_CONF "/etc/resolv.conf"
/* systemd-resolved's list of the servers it forwards to: the host's real
 * nameservers when /etc/resolv.conf names its stub, 127.0.0.53. */
#define RESOLVED_CONF "/run/systemd/resolve/resolv.conf"
/* How long the VM thread waits for the reaper to pin a second MAC (once). */
#define CLAIM_TIMEOUT_MS 1000

struct ctx {
	struct options opt;
	struct priv_user user;
	struct policy policy;      /* the administrator's (policy.h) */
	char id[37];
	uint8_t mac[6];
	uint32_t lease;
	pid_t lease_pid;           /* the helper holding it (this process) */
	char nat66[40];
	struct transport vm;
	struct network net;
	struct tap tap;
	struct bridged br;         /* bridged mode */
	bool physical;             /* --shared-interface is a physical Ethernet interface */
	unsigned mtu;              /* vmnet_mtu */
	struct reaper reaper;
	struct forward fwd;
	struct dnsfwd *dns;        /* NULL: no DNS service (leases name no server) */
	struct dnsfwd *dns6;       /* on the gateway's IPv6 address; NULL: no RDNSS */
	bool dns_steered;          /* nat_dns_add done: the reaper undoes it */
	int sig_fd;
	uint8_t first[MAX_FRAME + 1];  /* a --socket client's first datagram */
	size_t first_len;
};

/* For the exit handler: every exit waits for the --socket files to go. */
static struct ctx *exiting;

static void die(const char *what)
{
	if (what)
		ERROR("main", "%s", what);
	exit(EXIT_FAILURE);
}

static void parse_options(struct ctx *c, int argc, char **argv)
{
	char err[256];

	if (options_parse(&c->opt, argc, argv, err, sizeof(err)) < 0)
		die(err);
	if (c->opt.help) {
		options_usage(stdout);
		exit(0);
	}
	if (c->opt.version) {
		printf("vmnet-helper %s\n", VMNET_VERSION);
		exit(0);
	}
	log_set_verbose(c->opt.verbose);
}

/* Nothing inherited survives but stdio and the VM's --fd: a descriptor
 * left open by whoever started us is no business of the VM's helper. */
static void close_inherited(const struct ctx *c)
{
	int rc = priv_close_inherited(c->opt.fd);

	if (rc < 0) {
		ERROR("main", "cannot close inherited descriptors: %s", strerror(-rc));
		exit(EXIT_FAILURE);
	}
}

/* Needs no root: a link dump. */
static void list_shared_interfaces(const struct options *o)
{
	if (!o->list_shared_interfaces)
		return;
	exit(bridged_list(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* SIGTERM and SIGINT stop the helper, read from a signalfd once it serves. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * Until the privilege drop every signal waits (unblock_signals): the user
 * can signal setup (root) through the terminal (Ctrl-\, Ctrl-Z) or through
 * sudo, which relays what they send it, and can raise SIGXFSZ at a write
 * of their choice (RLIMIT_FSIZE passes through sudo, stderr may be a file).
 * None may cut setup short between changing the host and starting the
 * reaper, nor stop it while it holds the network lock.
 */
static void block_signals(struct ctx *c)
{
	sigset_t all, stop;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	stop_signals(&stop);
	c->sig_fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0)
		die("signalfd failed");
}

/* The datapath is the user's: their signals act on it as on any of their
 * processes (the reaper tears down however it ends). */
static void unblock_signals(void)
{
	sigset_t stop;

	stop_signals(&stop);
	sigprocmask(SIG_SETMASK, &stop, NULL);
}

/* sudo passes the user's umask (or'ed with 022): with 0777, root's state
 * files would be created mode 0000, which the reaper (uid 0 without
 * CAP_DAC_OVERRIDE) could not open at teardown. Modes are the code's. */
static void reset_umask(void)
{
	umask(022);
}

/* Root by the caller's choice (sudo, a root shell), not a set-user-ID
 * install: there the user would also set every variable we read, SUDO_UID
 * and SUDO_GID included. */
static void require_root(void)
{
	if (geteuid() != 0)
		die("vmnet-helper must start as root (run it with sudo)");
	if (getuid() != 0)
		die("vmnet-helper must not be set-user-ID: run it with sudo");
}

/* Logged only once the invocation is known to be valid: a bad one gets one line. */
static void log_start(void)
{
	struct utsname u;

	uname(&u);
	INFO("main", "running vmnet-helper %s on %s %s", VMNET_VERSION, u.sysname, u.release);
}

static void identify(struct ctx *c)
{
	if (!c->opt.interface_id_set)
		uuid_generate_random(c->opt.interface_id);
	uuid_unparse_upper(c->opt.interface_id, c->id);
	ident_mac_from_uuid(c->opt.interface_id, c->mac);
}

/* A bad --shared-interface is a bad invocation: one line, nothing changed. */
static void check_shared_interface(struct ctx *c)
{
	if (c->opt.mode == MODE_BRIDGED &&
	    bridged_check(c->opt.shared_interface, &c->physical) < 0)
		exit(EXIT_FAILURE);
}

/* The administrator's file, read as root. A malformed or untrusted one
 * refuses everyone with one line: nothing may run on a policy half read. */
static void load_policy(struct ctx *c)
{
	char err[512];

	if (policy_load(VMNET_CONF, &c->policy, err, sizeof(err)) < 0)
		die(err);
}

/* --network NAME: the mode, addresses and interface the network defines. */
static void resolve_network(struct ctx *c)
{
	const struct policy_network *n;
	char err[256];

	if (!c->opt.network)
		return;
	n = policy_network(&c->policy, c->opt.network);
	if (!n) {
		snprintf(err, sizeof(err), "no network \"%s\" (shared and host exist, others are "
			 "defined in %s)", c->opt.network, VMNET_CONF);
		die(err);
	}
	if (options_set_network(&c->opt, n->mode, n->start, n->end, n->mask, n->shared_interface,
				n->isolation, n->mtu, err, sizeof(err)) < 0)
		die(err);
}

/*
 * A user who ran the helper through sudo gets what the policy allows
 * (policy.h); root is not limited. Before anything is set up, so a refusal
 * is one line and changes nothing. Without addresses the subnet is checked
 * as network_choose picks it (policy_subnet), under the network lock.
 */
static void check_policy(struct ctx *c)
{
	struct policy_request r = {
		.named = c->opt.network != NULL, .automatic = c->opt.auto_network,
		.mode = c->opt.mode, .start = c->opt.start,
		.mask = c->opt.mask, .shared_interface = c->opt.shared_interface,
		.physical = c->physical,
	};
	char err[512];
	int running;

	if (!c->user.from_sudo)
		return;
	if (policy_allows(&c->policy, &r, err, sizeof(err)) < 0)
		die(err);
	running = policy_count_helpers(c->user.uid);
	if (running >= (int)c->policy.max_helpers) {
		snprintf(err, sizeof(err), "uid %u already runs %d helpers, the most the administrator "
			 "allows (max-helpers-per-user in %s)", (unsigned)c->user.uid, running,
			 VMNET_CONF);
		die(err);
	}
}

/* network_choose's filter for a user: the subnets the policy allows. */
static int policy_subnet(const void *policy, uint32_t gateway, uint32_t mask, char *why,
			 size_t len)
{
	return policy_allows_subnet(policy, gateway, mask, why, len);
}

/* Who the datapath runs as; a malformed SUDO_UID/SUDO_GID changes nothing. */
static void identify_user(struct ctx *c)
{
	if (priv_user_from_env(&c->user) < 0)
		exit(EXIT_FAILURE);
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
static void open_transport(struct ctx *c)
{
	int rc = c->opt.socket_path
		 ? transport_bind(&c->vm, c->opt.socket_path, c->opt.socket_type, &c->user)
		 : transport_from_fd(&c->vm, c->opt.fd, c->opt.socket_type);
	if (rc < 0)
		exit(EXIT_FAILURE);
	exiting = c;
	atexit(close_transport);
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

static void lease_path(const struct ctx *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.leases", c->net.lib_dir, c->net.bridge);
}

/* The user leases belong to: whoever ran sudo, or root running it itself. */
static long long invoking_uid(const struct ctx *c)
{
	return c->user.from_sudo ? (long long)c->user.uid : (long long)getuid();
}

/* A running helper holds our interface id or our MAC (lease.h): refused. */
static void lease_busy(const struct ctx *c, const struct lease *l)
{
	char mac[18];

	if (strcasecmp(l->id, c->id) == 0)
		ERROR("main", "interface id %s is in use on %s by the running vmnet-helper pid %d "
		      "(interface id %s)", c->id, c->net.bridge, (int)l->pid, l->id);
	else
		ERROR("main", "MAC %s of interface id %s is in use on %s by the running "
		      "vmnet-helper pid %d (interface id %s)", ident_mac_format(c->mac, mac), c->id,
		      c->net.bridge, (int)l->pid, l->id);
}

static void acquire_lease(struct ctx *c)
{
	char path[sizeof(c->net.lib_dir) + IF_NAMESIZE + 8], ip[16];
	struct lease_request r = {
		.start = c->net.gateway, .end = c->net.end, .id = c->id,
		.uid = invoking_uid(c), .lease_time = LEASE_TIME,
	};
	struct lease busy;
	int rc;

	memcpy(r.mac, c->mac, 6);
	lease_path(c, path, sizeof(path));
	rc = lease_acquire(path, &r, &c->lease, &busy);
	if (rc == -EBUSY) {
		lease_busy(c, &busy);
		return;
	}
	if (rc < 0) {
		ERROR("main", "no free address in %s (%s)", c->net.bridge, strerror(-rc));
		return;
	}
	c->lease_pid = r.pid;
	DEBUG("main", "leasing %s to %s", ip4_format(c->lease, ip), c->id);
}

/* The TAP's virtio-net headers: ours for --enable-checksum-offload, the
 * guest's own for vhost-user. 0 or -errno. */
static int setup_vnet_hdr(struct ctx *c)
{
	if (c->opt.vhost_user)
		return tap_set_vhost(&c->tap);
	if (c->tap.vnet_hdr)
		return tap_set_offload(&c->tap, c->opt.enable_tso);
	return 0;
}

/* Bridged mode: the VM on the network of --shared-interface, no lease. */
static void setup_bridged(struct ctx *c)
{
	bool vnet_hdr = c->opt.enable_checksum_offload || c->opt.vhost_user;

	if (bridged_open(&c->br, c->opt.shared_interface, c->mac, vnet_hdr, &c->tap) < 0 ||
	    setup_vnet_hdr(c) < 0) {
		tap_close(&c->tap);
		bridged_teardown(&c->br);
		exit(EXIT_FAILURE);
	}
	c->mtu = c->br.mtu;
	INFO("main", "started vmnet interface %s on %s", c->tap.name, c->br.lower);
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

/* In the reaper, under the network lock: the lease's time is now its last use. */
static void release_lease(const struct ctx *c)
{
	char path[sizeof(c->net.lib_dir) + IF_NAMESIZE + 8];
	int rc;

	if (!c->lease)
		return;
	lease_path(c, path, sizeof(path));
	rc = lease_release(path, c->id, c->lease_pid);
	if (rc < 0)
		WARN("main", "cannot update %s: %s", path, strerror(-rc));
}

/*
 * Under the network lock: bridge, lease, TAP, port. Undone on failure. The
 * lease comes before the port: a helper refused because a running one holds
 * our interface id or MAC must not touch that VM's forwarding entry (the
 * port pins the MAC, and a MAC another port pinned refuses the port).
 */
static void setup_network(struct ctx *c)
{
	char secret[128];
	int rc;

	if (nl_open() < 0)
		die("cannot open rtnetlink");
	if (c->opt.mode == MODE_BRIDGED) {
		setup_bridged(c);
		return;
	}
	if (network_init(&c->net, &c->opt) < 0 || network_lock(&c->net) < 0)
		die("cannot initialize network state");
	host_nameservers(&c->net);
	if (c->user.from_sudo) {
		c->net.allow = policy_subnet;
		c->net.allow_arg = &c->policy;
	}
	/* Without address options: the default, or the next free network. */
	if (c->opt.auto_network && network_choose(&c->net) < 0) {
		network_unlock(&c->net);
		exit(EXIT_FAILURE);
	}
	/* Shared mode: IPv6 too, on a stable ULA /64 of this host and network. */
	if (c->opt.mode == MODE_SHARED) {
		machine_secret(secret, sizeof(secret));
		ident_ula_prefix(secret, c->net.bridge, c->net.prefix6);
		ident_ula_format(c->net.prefix6, c->nat66);
		c->net.ipv6 = true;
	}
	rc = network_join(&c->net);
	if (rc == 0) {
		acquire_lease(c);
		if (!c->lease)
			rc = -ENOSPC;
	}
	if (rc == 0) {
		/* The network's MTU: ours, or the one of the network we joined. */
		c->mtu = c->net.mtu;
		rc = tap_open(&c->tap, c->opt.enable_checksum_offload || c->opt.vhost_user,
			      c->opt.enable_isolation, c->mtu);
		if (rc < 0)
			ERROR("main", "cannot create TAP device: %s", strerror(-rc));
	}
	if (rc == 0)
		rc = setup_vnet_hdr(c);
	if (rc == 0)
		rc = network_add_port(&c->net, c->tap.ifindex, c->mac, c->opt.enable_isolation);
	if (rc < 0) {
		release_lease(c);
		tap_close(&c->tap);
		network_leave(&c->net);
		network_unlock(&c->net);
		exit(EXIT_FAILURE);
	}
	network_unlock(&c->net);
	INFO("main", "started vmnet interface %s on %s", c->tap.name, c->net.bridge);
}

/*
 * DNS at the gateway, for this VM alone (dnsfwd.h): sockets of our own, and
 * nftables rules (as root) that steer only our TAP's queries to them.
 * resolv.conf is read as the host's resolver would. Failing is a WARN, not an
 * error: a VM without the helper's DNS still has a working network (and may
 * be configured with other servers); the leases then name no DNS server.
 */
static void open_dns(struct ctx *c)
{
	struct nat_dns d = { .ifindex = c->tap.ifindex };

	if (c->opt.mode != MODE_SHARED && c->opt.mode != MODE_HOST)
		return;
	c->dns = dnsfwd_open(c->net.gateway, c->net.mask, RESOLV_CONF);
	/* And on the gateway's IPv6 address, which the RAs' RDNSS names. */
	if (c->net.ipv6)
		c->dns6 = dnsfwd_open6(c->net.gateway6, RESOLV_CONF);
	if (c->dns)
		dnsfwd_ports(c->dns, &d.udp4, &d.tcp4);
	if (c->dns6)
		dnsfwd_ports(c->dns6, &d.udp6, &d.tcp6);
	if ((!c->dns && !c->dns6) || nat_dns_add(&c->net, &d) < 0) {
		if (c->dns || c->dns6)
			WARN("dns", "cannot steer %s's DNS queries: running without DNS, "
			     "leases name no DNS server", c->tap.name);
		dnsfwd_close(c->dns);
		dnsfwd_close(c->dns6);
		c->dns = c->dns6 = NULL;
		return;
	}
	c->dns_steered = true;
	if (c->dns)
		dnsfwd_log(c->dns, c->tap.name);
	if (c->dns6)
		dnsfwd_log(c->dns6, c->tap.name);
}

/* The network our DHCP serves: shared and host mode. */
static void json_network(struct ctx *c, struct json *j)
{
	char start[16], end[16], mask[16], lease[16];

	json_str(j, "vmnet_start_address", ip4_format(c->net.gateway, start));
	json_str(j, "vmnet_end_address", ip4_format(c->net.end, end));
	json_str(j, "vmnet_subnet_mask", ip4_format(c->net.mask, mask));
	if (c->opt.mode == MODE_SHARED)
		json_str(j, "vmnet_nat66_prefix", c->nat66);
	json_str(j, "lease_address", ip4_format(c->lease, lease));
	json_str(j, "operation_mode", options_mode_name(c->opt.mode));
	json_str(j, "bridge", c->net.bridge);
}

/*
 * --network: the network's addresses as upstream reports a named network's:
 * its IPv4 subnet and mask, its IPv6 prefix and length (shared mode: the
 * ULA /64; host mode offers link-local IPv6 only, fe80::/64; neither when
 * IPv6 is disabled on the host).
 */
static void json_named(struct ctx *c, struct json *j)
{
	char subnet[16], mask[16];

	json_str(j, "network", c->opt.network);
	if (c->opt.mode == MODE_BRIDGED)
		return;   /* the LAN's addresses are not ours to report */
	json_str(j, "net_ipv4_subnet", ip4_format(c->net.gateway & c->net.mask, subnet));
	json_str(j, "net_ipv4_mask", ip4_format(c->net.mask, mask));
	if (c->net.ipv6_off)
		return;   /* IPv6 disabled on the host: the network has no IPv6 prefix */
	json_str(j, "net_ipv6_prefix", c->opt.mode == MODE_SHARED ? c->nat66 : "fe80::");
	json_num(j, "net_ipv6_prefix_len", 64);
}

/* Bridged mode has no addresses of ours: the physical network decides. */
static void json_bridged(struct ctx *c, struct json *j)
{
	json_str(j, "operation_mode", options_mode_name(c->opt.mode));
	json_str(j, "shared_interface", c->br.lower);
}

/* With TSO the VM sends and receives TCP frames of up to 64 KiB (an IPv4
 * datagram of 65535 bytes), whatever the MTU; without it, MTU-sized frames.
 * vhost-user: as the guest negotiates, up to 64 KiB. */
static size_t max_packet(const struct ctx *c)
{
	size_t mtu_frame = c->mtu + ETH_HEADER;

	if ((c->opt.enable_tso || c->opt.vhost_user) && mtu_frame < OFFLOAD_MAX_PACKET)
		return OFFLOAD_MAX_PACKET;
	return mtu_frame;
}

/* The transport to the VM, as --socket-type names it. */
static const char *socket_type_name(const struct ctx *c)
{
	if (c->opt.vhost_user)
		return "vhost-user";
	return c->vm.type == SOCK_STREAM ? "stream" : "dgram";
}

/* Once the reaper and the datapath are confined: whoever reads the line
 * may start the VM, and a helper that cannot confine itself prints none. */
static void print_json(struct ctx *c)
{
	char buf[1024], mac[18];
	struct json j;

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "vmnet_interface_id", c->id);
	json_str(&j, "vmnet_mac_address", ident_mac_format(c->mac, mac));
	json_num(&j, "vmnet_mtu", c->mtu);
	json_num(&j, "vmnet_max_packet_size", (long long)max_packet(c));
	json_num(&j, "vmnet_read_max_packets", forward_read_max_packets(max_packet(c)));
	json_num(&j, "vmnet_write_max_packets", forward_write_max_packets(max_packet(c)));
	if (c->opt.mode == MODE_BRIDGED)
		json_bridged(c, &j);
	else
		json_network(c, &j);
	json_str(&j, "tap", c->tap.name);
	json_str(&j, "socket_type", socket_type_name(c));
	if (c->opt.network)
		json_named(c, &j);
	if (json_end(&j) < 0 || strlen(buf) + 1 >= sizeof(buf))
		die("JSON line too long");
	strcat(buf, "\n");
	/* write(), not stdio: the datapath's seccomp filter refuses the fstat()
	 * stdio makes on a stream's first use. */
	for (size_t off = 0, len = strlen(buf); off < len;) {
		ssize_t n = write(STDOUT_FILENO, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot write the JSON line");
		off += (size_t)n;
	}
}

/* What the reaper bound for this VM on the datapath's requests: teardown
 * removes the IPv6 entries (the TAP's removal takes the MAC pins). */
static struct {
	bool has_mac2;
	uint8_t mac2[6];
	unsigned n6;
	uint8_t addr6[VMF_ADDRS6][16], mac6[VMF_ADDRS6][6];
} bound;

/* In the reaper, under the network lock, before the bridge may go. */
static void unbind_addrs6(struct ctx *c)
{
	for (unsigned i = 0; i < bound.n6; i++)
		network_unbind6(&c->net, bound.addr6[i], bound.mac6[i]);
}

/*
 * The kernel removes a TAP when its last descriptor closes, the datapath's,
 * unless a copy outlived it: a datapath a VM took over can pass it to the
 * user over the VM's socket (SCM_RIGHTS, which no seccomp filter can see),
 * and its holder needs no capability to make the TAP persistent and their
 * own (TUNSETPERSIST, TUNSETOWNER): a port on the network past every check
 * of the datapath. So it is deleted, by ifindex (never reused soon, unlike
 * names), which also makes it gone before the bridge's ports are counted.
 */
static void remove_tap(struct ctx *c)
{
	int rc;

	if (c->tap.ifindex <= 0)
		return;
	rc = nl_link_delete_index(c->tap.ifindex);
	if (rc == 0)
		DEBUG("main", "deleted %s", c->tap.name);
	else if (rc != -ENODEV)
		ERROR("main", "cannot delete %s: %s", c->tap.name, strerror(-rc));
}

/*
 * Runs in the reaper (uid 0, CAP_NET_ADMIN alone) after the datapath process
 * is gone. Network state only: the --socket files are the files process's.
 */
static void teardown(void *arg)
{
	struct ctx *c = arg;

	remove_tap(c);
	if (c->opt.mode == MODE_BRIDGED) {
		/* A macvtap outlives its fd. */
		bridged_teardown(&c->br);
		return;
	}
	if (nl_open() == 0) {
		c->net.lock_fd = -1;
		if (c->dns_steered)
			nat_dns_remove(&c->net, c->tap.ifindex);
		if (network_lock(&c->net) == 0) {
			release_lease(c);
			unbind_addrs6(c);
			network_leave(&c->net);
			network_unlock(&c->net);
		}
		nl_close();
	}
}

/* Whether a MAC may become this VM's second one: not the lease's MAC of
 * another running helper (its VM may not be sending yet), and not pinned
 * to another port (network_pin_mac). Under the network lock. */
static bool claim_allowed(struct ctx *c, const uint8_t mac[6])
{
	char path[sizeof(c->net.lib_dir) + IF_NAMESIZE + 8];
	struct lease other;

	lease_path(c, path, sizeof(path));
	if (lease_mac_holder(path, mac, c->id, c->lease_pid, &other) != 0)
		return false;   /* another VM's, or unknown: refused */
	return network_pin_mac(&c->net, c->tap.ifindex, mac, NULL) == 0;
}

/*
 * In the root reaper: the datapath asks, once, for a second MAC of its VM
 * (vmframe.h) to be pinned to its own port. The request is untrusted: one
 * per helper, a valid unicast MAC, never the gateway's nor the MAC of
 * another running helper's lease, and never one the bridge has pinned to
 * another port (another VM's second MAC) or a port's own.
 */
static uint8_t reaper_claim_mac(struct ctx *c, const uint8_t *msg)
{
	static const uint8_t zero[6];
	static bool asked;
	bool ok;

	if (asked)
		return 0;
	asked = true;
	if ((msg[0] & 1) || !memcmp(msg, zero, 6) || !memcmp(msg, c->net.bridge_mac, 6))
		return 0;
	c->net.lock_fd = -1;
	if (network_lock(&c->net) < 0)
		return 0;
	ok = claim_allowed(c, msg);
	network_unlock(&c->net);
	if (ok) {
		bound.has_mac2 = true;
		memcpy(bound.mac2, msg, 6);
	}
	return ok;
}

/*
 * In the root reaper: the datapath asks to bind an IPv6 address its VM
 * uses to the MAC it sends from (network_bind6). Untrusted: only for the
 * VM's own MACs, at most VMF_ADDRS6 addresses, never the unspecified, a
 * multicast or a gateway address, never one another VM holds.
 */
static uint8_t reaper_claim_addr6(struct ctx *c, const uint8_t *addr, const uint8_t *mac)
{
	static const uint8_t unspecified[16];
	int rc;

	if (bound.n6 == VMF_ADDRS6 || addr[0] == 0xff || !memcmp(addr, unspecified, 16) ||
	    !memcmp(addr, c->net.ll6, 16) || (c->net.ipv6 && !memcmp(addr, c->net.gateway6, 16)))
		return 0;
	if (memcmp(mac, c->mac, 6) != 0 && !(bound.has_mac2 && !memcmp(mac, bound.mac2, 6)))
		return 0;
	c->net.lock_fd = -1;
	if (network_lock(&c->net) < 0)
		return 0;
	rc = network_bind6(&c->net, addr, mac);
	network_unlock(&c->net);
	if (rc < 0)
		return 0;
	memcpy(bound.addr6[bound.n6], addr, 16);
	memcpy(bound.mac6[bound.n6++], mac, 6);
	return 1;
}

/*
 * In the reaper: one request from the datapath, by its length after the
 * sequence byte; the answer carries that byte's low 7 bits and the verdict.
 */
static uint8_t reaper_answer(void *arg, const uint8_t *msg, size_t len)
{
	struct ctx *c = arg;
	uint8_t ok = 0;

	if (len < 1)
		return 0;
	if (c->opt.mode != MODE_BRIDGED && len == 1 + 6)
		ok = reaper_claim_mac(c, msg + 1);
	else if (c->opt.mode != MODE_BRIDGED && len == 1 + 22)
		ok = reaper_claim_addr6(c, msg + 1, msg + 17);
	return (uint8_t)(msg[0] << 1) | ok;
}

/*
 * In the datapath (VM thread): asks the reaper, 1 if granted. An answer
 * that comes after its request's timeout (the reaper waited for the
 * network's lock) is told from the next one's by its sequence number.
 */
static int ask_reaper(struct ctx *c, const void *payload, size_t len)
{
	static uint8_t seq;
	uint8_t msg[1 + 22];
	int rc;

	if (len > sizeof(msg) - 1)
		return -EINVAL;
	seq = (uint8_t)((seq + 1) & 0x7f);
	msg[0] = seq;
	memcpy(msg + 1, payload, len);
	rc = reaper_ask(&c->reaper, msg, len + 1, CLAIM_TIMEOUT_MS);
	while (rc >= 0 && (uint8_t)(rc >> 1) != seq)
		rc = reaper_next_answer(&c->reaper, CLAIM_TIMEOUT_MS);
	return rc < 0 ? rc : rc & 1;
}

/* In the datapath (VM thread): what the reaper says about a second MAC. */
static bool claim_mac(void *arg, const uint8_t mac[6])
{
	struct ctx *c = arg;
	int rc = ask_reaper(c, mac, 6);
	char text[18];

	ident_mac_format(mac, text);
	if (rc == 1)
		INFO("main", "the VM also sends from %s (pinned to %s)", text, c->tap.name);
	else
		WARN("main", "frames from %s are dropped: another VM of the network uses it%s",
		     text, rc < 0 ? " (no answer)" : "");
	return rc == 1;
}

/* In the datapath (VM thread): what the reaper says about an IPv6 address. */
static bool claim_addr6(void *arg, const uint8_t addr[16], const uint8_t mac[6])
{
	struct ctx *c = arg;
	uint8_t msg[22];
	char text[INET6_ADDRSTRLEN];
	int rc;

	memcpy(msg, addr, 16);
	memcpy(msg + 16, mac, 6);
	rc = ask_reaper(c, msg, sizeof(msg));
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	if (rc == 1)
		DEBUG("main", "the VM uses %s (bound to its MAC)", text);
	else
		WARN("main", "IPv6 frames from or advertising %s are dropped: another VM of the "
		     "network uses it%s", text, rc < 0 ? " (no answer)" : "");
	return rc == 1;
}

static void start_reaper(struct ctx *c)
{
	/* The reaper opens its own netlink socket: none may be shared across fork. */
	nl_close();
	/* Setup (libnftables above all) leaves freed heap behind; give it back
	 * before the fork so neither the reaper nor the datapath keeps it resident. */
	malloc_trim(0);
	if (reaper_start(&c->reaper, teardown, reaper_answer, c) < 0) {
		tap_close(&c->tap);
		/* A reaper that could not confine itself still tears down. */
		if (c->reaper.pid < 0)
			teardown(c);
		exit(EXIT_FAILURE);
	}
}

static _Noreturn void finish(struct ctx *c, int code)
{
	dnsfwd_close(c->dns);
	c->dns = NULL;
	dnsfwd_close(c->dns6);
	c->dns6 = NULL;
	tap_close(&c->tap);
	transport_close(&c->vm);
	reaper_finish(&c->reaper);
	INFO("main", "stopped");
	exit(code);
}


/* What the main thread calls once set up, for the datapath's seccomp filter. */
static const struct sandbox_rule main_rules[] = {
	/* wait_for_termination: signals (signalfd), the once-a-second checks */
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(read),
	/* finish(): closing, then waiting for the reaper's teardown */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(wait4),
	/* claim_mac (the VM thread): asking the reaper for a second MAC, once */
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(recvfrom),
};
static const struct sandbox_list main_sandbox = SANDBOX_LIST(main_rules);

/* The datapath's filter: every module that runs there, and libc. */
static const struct sandbox_list *const datapath_lists[] = {
	&sandbox_libc, &main_sandbox, &transport_sandbox, &forward_sandbox, &dnsfwd_sandbox,
	&vhost_sandbox, NULL,
};

/*
 * From here on the process reads what VMs send: it may only make the calls
 * its modules list, anything else kills it (docs/security.md says why).
 * What needs more than that is done first: the sock_diag socket, and the
 * time zone glibc would otherwise load on the first stats line.
 */
static void enter_sandbox(struct ctx *c)
{
	int rc = transport_watch_peer(&c->vm);

	if (rc < 0)
		WARN("main", "cannot watch the VM's socket (%s): only a failed send will tell "
		     "that the VM is gone", strerror(-rc));
	tzset();
	if (sandbox_install(datapath_lists, SANDBOX_KILL) < 0)
		finish(c, EXIT_FAILURE);
}

/*
 * The datapath's confinement, in one place: from here on this process
 * touches VM traffic.
 *  - Its own empty filesystem (sandbox.h): while still root (that takes
 *    CAP_SYS_ADMIN), and after the reaper left (teardown needs the host's).
 *  - The drop: never uid 0, no capabilities, no supplementary groups,
 *    no_new_privs, not dumpable, all read back (privileges.c).
 *  - Its seccomp filter (enter_sandbox), before it reads a byte a VM sent.
 * A failure stops it before it serves a frame, and the reaper still tears down.
 */
static void confine_datapath(struct ctx *c)
{
	sandbox_isolate_fs();
	if (priv_drop(&c->user) < 0)
		finish(c, EXIT_FAILURE);
	unblock_signals();
	INFO("main", "running as uid: %u gid: %u", (unsigned)getuid(), (unsigned)getgid());
	enter_sandbox(c);
}

/* Right after the privilege drop. Only our own VM's queries reach these
 * sockets (nat_dns_add), whatever else runs on the network. */
static void start_dns(struct ctx *c)
{
	int rc = 0;

	if (c->dns)
		rc = dnsfwd_start(c->dns);
	if (rc == 0 && c->dns6)
		rc = dnsfwd_start(c->dns6);
	if (rc < 0) {
		ERROR("main", "cannot start the DNS thread: %s", strerror(-rc));
		finish(c, EXIT_FAILURE);
	}
}

static void wait_for_client(struct ctx *c)
{
	int rc;

	if (!c->opt.socket_path)
		return;
	rc = transport_wait_client(&c->vm, c->sig_fd, c->first, sizeof(c->first), &c->first_len);
	if (rc < 0)
		finish(c, EXIT_FAILURE);
	if (rc == 0) {
		INFO("main", "stopped before a client connected");
		finish(c, EXIT_SUCCESS);
	}
}

/*
 * IPv6 for the VM (shared mode): SLAAC in the network's prefix, the gateway
 * (its link-local address, the bridge MAC) as default router. RDNSS names
 * the gateway's IPv6 address only when the DNS forwarder answers there
 * (dns6); otherwise the VM resolves over IPv4 with the server DHCP gave it.
 */
static void configure_ra(struct ctx *c)
{
	struct ndp_config *r = &c->fwd.ndp;

	c->fwd.ra_enabled = c->net.ipv6;
	if (!c->net.ipv6)
		return;
	*r = (struct ndp_config){
		.router_lifetime = RA_ROUTER_LIFETIME, .valid_lifetime = RA_VALID_LIFETIME,
		.preferred_lifetime = RA_PREFERRED_LIFETIME, .dns_lifetime = RA_DNS_LIFETIME,
		.mtu = (uint16_t)c->mtu, .has_dns = c->dns6 != NULL,
	};
	memcpy(r->router_mac, c->net.bridge_mac, 6);
	memcpy(r->router_ll, c->net.ll6, 16);
	memcpy(r->prefix, c->net.prefix6, 8);
	memcpy(r->dns, c->net.gateway6, 16);
}

/* What the VM may send as its own (vmframe.h): shared and host mode. */
static void configure_guards(struct ctx *c)
{
	struct vmframe_config *g = &c->fwd.check;

	memcpy(g->vm_mac, c->mac, 6);
	if (c->opt.mode == MODE_BRIDGED)
		return;
	memcpy(g->gateway_mac, c->net.bridge_mac, 6);
	g->gateway = c->net.gateway;
	g->mask = c->net.mask;
	g->pool_first = c->net.gateway + 1;
	g->pool_last = c->net.end;
	g->lease = c->lease;
	g->has_gateway6 = c->net.ipv6;
	memcpy(g->gateway6, c->net.gateway6, 16);
	memcpy(g->gateway_ll6, c->net.ll6, 16);
}

static void start_forwarding(struct ctx *c)
{
	struct forward *f = &c->fwd;

	f->vm_fd = c->vm.fd;
	f->vhost_user = c->opt.vhost_user;
	f->stream = c->vm.type == SOCK_STREAM && !f->vhost_user;
	f->tap_fd = c->tap.fd;
	f->vnet_hdr = c->tap.vnet_hdr;
	f->tso = c->opt.enable_tso;
	f->mtu = c->mtu;
	f->max_packet = max_packet(c);
	f->dhcp_enabled = c->opt.mode != MODE_BRIDGED;
	f->dhcp = (struct dhcp_config){
		.server = c->net.gateway, .mask = c->net.mask, .yiaddr = c->lease,
		.lease_time = LEASE_TIME, .dns = c->dns ? c->net.gateway : 0,
		.mtu = (uint16_t)c->mtu,
	};
	memcpy(f->dhcp.server_mac, c->net.bridge_mac, 6);
	configure_ra(c);
	configure_guards(c);
	if (c->opt.mode != MODE_BRIDGED) {
		f->claim_mac = claim_mac;
		f->claim_addr6 = claim_addr6;
		f->claim_arg = c;
	}
	f->first = c->first;
	f->first_len = c->first_len;
	if (forward_start(f) < 0) {
		ERROR("main", "cannot start forwarding");
		finish(c, EXIT_FAILURE);
	}
	INFO("main", "host forwarding started");
	INFO("main", "vm forwarding started");
}

static void counters_json(struct json *j, const char *key, struct fwd_counters *fc)
{
	char buf[128];
	struct json o;

	json_begin(&o, buf, sizeof(buf));
	json_num(&o, "packets", (long long)atomic_load(&fc->packets));
	json_num(&o, "bytes", (long long)atomic_load(&fc->bytes));
	json_num(&o, "drops", (long long)atomic_load(&fc->drops));
	json_end(&o);
	json_raw(j, key, buf);
}

static void dns_counters_json(struct json *j, const char *key, struct dnsfwd_counters *dc)
{
	char buf[160];
	struct json o;

	json_begin(&o, buf, sizeof(buf));
	json_num(&o, "queries", (long long)atomic_load(&dc->queries));
	json_num(&o, "answers", (long long)atomic_load(&dc->answers));
	json_num(&o, "servfails", (long long)atomic_load(&dc->servfails));
	json_num(&o, "drops", (long long)atomic_load(&dc->drops));
	json_end(&o);
	json_raw(j, key, buf);
}

static void log_stats(struct ctx *c)
{
	char buf[768], when[40];
	struct timespec ts;
	struct tm tm;
	struct json j;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "time", when);
	counters_json(&j, "host", &c->fwd.host);
	counters_json(&j, "vm", &c->fwd.vm);
	if (c->dns)
		dns_counters_json(&j, "dns", dnsfwd_counters(c->dns));
	if (c->dns6)
		dns_counters_json(&j, "dns6", dnsfwd_counters(c->dns6));
	json_end(&j);
	INFO("stats", "%s", buf);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Until a signal, the VM going away, or a device error. Checks once a second. */
static void wait_for_termination(struct ctx *c)
{
	struct pollfd p = { c->sig_fd, POLLIN, 0 };
	double next_stats = now_seconds() + c->opt.stats_interval;

	INFO("main", "waiting for termination");
	for (;;) {
		if (poll(&p, 1, 1000) > 0) {
			struct signalfd_siginfo si;
			if (read(c->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				INFO("main", "received signal %s", strsignal((int)si.ssi_signo));
				return;
			}
		}
		if (atomic_load(&c->fwd.vm_gone) || atomic_load(&c->fwd.failed))
			return;
		if (!transport_peer_alive(&c->vm)) {
			INFO("main", "the VM closed its socket");
			return;
		}
		if (c->opt.stats_interval && now_seconds() >= next_stats) {
			log_stats(c);
			next_stats += c->opt.stats_interval;
		}
	}
}

int main(int argc, char **argv)
{
	static struct ctx c = { .vm = TRANSPORT_INIT, .tap = { .fd = -1 },
				.reaper = { .pid = -1, .pipe_fd = -1 } };

	parse_options(&c, argc, argv);
	close_inherited(&c);
	list_shared_interfaces(&c.opt);
	block_signals(&c);
	reset_umask();
	require_root();
	identify_user(&c);
	load_policy(&c);
	resolve_network(&c);
	identify(&c);
	check_shared_interface(&c);
	check_policy(&c);
	open_transport(&c);
	log_start();
	setup_network(&c);
	open_dns(&c);
	start_reaper(&c);
	confine_datapath(&c);
	print_json(&c);
	start_dns(&c);
	wait_for_client(&c);
	start_forwarding(&c);
	wait_for_termination(&c);
	forward_stop(&c.fwd);
	if (c.opt.stats_interval)
		log_stats(&c);
	finish(&c, EXIT_SUCCESS);
}
