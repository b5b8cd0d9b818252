/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath process (datapath.h): confinement, the JSON line, the
 * forwarding threads and the wait for the end, the [stats] lines, and the
 * claims it sends the reaper. Runs as the invoking user (nobody without
 * sudo) with no capabilities, under the seccomp lists below and the
 * modules'; it touches what the VM sends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/ident.h"
#include "common/ip4.h"
#include "common/json.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "datapath/datapath.h"
#include "datapath/dnsfwd.h"
#include "datapath/statusreply.h"
#include "datapath/vhost.h"

/* Router advertisement lifetimes (RFC 4861 defaults for a 600 s maximum
 * interval; forward.c re-advertises every 200 s). The prefix outlives a
 * helper restart: it is stable, so a VM keeps its address across one. */
#define RA_ROUTER_LIFETIME 1800
#define RA_VALID_LIFETIME 86400
#define RA_PREFERRED_LIFETIME 14400
#define RA_DNS_LIFETIME 1800
/* How long the VM thread waits for the reaper to answer a claim (a second MAC
 * once, an address the first time the VM uses it). */
#define CLAIM_TIMEOUT_MS 1000

/* What this file calls once set up, for the datapath's seccomp filter. */
static const struct sandbox_rule main_rules[] = {
	/* datapath_wait_for_termination: signals (signalfd), the once-a-second checks */
	SANDBOX_ALLOW(poll),
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(read),
	/* datapath_finish(): closing, then waiting for the reaper's teardown */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(wait4),
	/* claims (the VM thread): asking the reaper for a second MAC, once,
	 * and for the IPv6 addresses the VM uses */
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(recvfrom),
};
static const struct sandbox_list main_sandbox = SANDBOX_LIST(main_rules);

/* The datapath's filter: every module that runs there, and libc. */
const struct sandbox_list *const datapath_lists[] = {
	&sandbox_libc, &main_sandbox, &transport_sandbox, &forward_sandbox, &dnsfwd_sandbox,
	&capture_sandbox, &statusreply_sandbox, &vhost_sandbox, NULL,
};

/* --pcap's files if the capture never started; the capture's summary
 * once the threads are gone. */
static void stop_capture(struct helper *h)
{
	for (unsigned i = 0; i < h->pcap_n; i++)
		close(h->pcap_fds[i]);
	h->pcap_n = 0;
	capture_stop(h->fwd.cap);
	h->fwd.cap = NULL;
}

_Noreturn void datapath_finish(struct helper *h, int code)
{
	stop_capture(h);
	if (h->status_fd >= 0)
		close(h->status_fd);
	h->status_fd = -1;
	dnsfwd_close(h->dns);
	h->dns = NULL;
	dnsfwd_close(h->dns6);
	h->dns6 = NULL;
	tap_close(&h->tap);
	transport_close(&h->vm);
	reaper_finish(&h->reaper);
	INFO("main", "stopped");
	exit(code);
}

/* The datapath is the user's: their signals act on it as on any of their
 * processes (the reaper tears down however it ends). */
static void unblock_signals(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_SETMASK, &stop, NULL);
}

/*
 * From here on the process reads what VMs send: it may only make the calls
 * its modules list, anything else kills it (docs/security.md says why).
 * What needs more than that is done first: the sock_diag socket, and the
 * time zone glibc would otherwise load on the first stats line.
 */
static void enter_sandbox(struct helper *h)
{
	int rc = transport_watch_peer(&h->vm);

	if (rc < 0)
		WARN("main", "cannot watch the VM's socket (%s): only a failed send will tell "
		     "that the VM is gone", strerror(-rc));
	tzset();
	if (sandbox_install(datapath_lists, SANDBOX_KILL) < 0)
		datapath_finish(h, EXIT_FAILURE);
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
void datapath_confine(struct helper *h)
{
	sandbox_isolate_fs();
	if (priv_drop(&h->user) < 0)
		datapath_finish(h, EXIT_FAILURE);
	/* Running as the user, this helper is counted among theirs now: the
	 * place reserved for it at setup (policy_reserve_helper) is let go. */
	if (h->user_lock_fd >= 0)
		close(h->user_lock_fd);
	h->user_lock_fd = -1;
	unblock_signals();
	INFO("main", "running as uid: %u gid: %u", (unsigned)getuid(), (unsigned)getgid());
	enter_sandbox(h);
}

/* The network our DHCP serves: shared and host mode. */
static void json_network(struct helper *h, struct json *j)
{
	char start[16], end[16], mask[16], lease[16];

	json_str(j, "vmnet_start_address", ip4_format(h->net.gateway, start));
	json_str(j, "vmnet_end_address", ip4_format(h->net.end, end));
	json_str(j, "vmnet_subnet_mask", ip4_format(h->net.mask, mask));
	if (h->opt.mode == MODE_SHARED)
		json_str(j, "vmnet_nat66_prefix", h->nat66);
	json_str(j, "lease_address", ip4_format(h->lease, lease));
	json_str(j, "operation_mode", options_mode_name(h->opt.mode));
	json_str(j, "bridge", h->net.bridge);
}

/*
 * --network: the network's addresses as upstream reports a named network's:
 * its IPv4 subnet and mask, its IPv6 prefix and length (shared mode: the
 * ULA /64; host mode offers link-local IPv6 only, fe80::/64; neither when
 * IPv6 is disabled on the host).
 */
static void json_named(struct helper *h, struct json *j)
{
	char subnet[16], mask[16];

	json_str(j, "network", h->opt.network);
	if (h->opt.mode == MODE_BRIDGED)
		return;   /* the LAN's addresses are not ours to report */
	json_str(j, "net_ipv4_subnet", ip4_format(h->net.gateway & h->net.mask, subnet));
	json_str(j, "net_ipv4_mask", ip4_format(h->net.mask, mask));
	if (h->net.ipv6_off)
		return;   /* IPv6 disabled on the host: the network has no IPv6 prefix */
	json_str(j, "net_ipv6_prefix", h->opt.mode == MODE_SHARED ? h->nat66 : "fe80::");
	json_num(j, "net_ipv6_prefix_len", 64);
}

/* Bridged mode has no addresses of ours: the physical network decides. */
static void json_bridged(struct helper *h, struct json *j)
{
	json_str(j, "operation_mode", options_mode_name(h->opt.mode));
	json_str(j, "shared_interface", h->br.lower);
}

/* write(), not stdio: the seccomp filter refuses the fstat() stdio makes
 * on a stream's first use. */
static void write_line(struct helper *h, const char *buf)
{
	for (size_t off = 0, len = strlen(buf); off < len;) {
		ssize_t n = write(STDOUT_FILENO, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ERROR("main", "cannot write the JSON line");
			datapath_finish(h, EXIT_FAILURE);
		}
		off += (size_t)n;
	}
}

/* The transport to the VM, as --socket-type names it. */
static const char *socket_type_name(const struct helper *h)
{
	if (h->opt.vhost_user)
		return "vhost-user";
	return h->vm.type == SOCK_STREAM ? "stream" : "dgram";
}

/* Once the reaper and the datapath are confined: whoever reads the line
 * may start the VM, and a helper that cannot confine itself prints none. */
void datapath_print_json(struct helper *h)
{
	char buf[1024], mac[18];
	size_t max = helper_max_packet(h);
	struct json j;

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "vmnet_interface_id", h->id);
	json_str(&j, "vmnet_mac_address", ident_mac_format(h->mac, mac));
	json_num(&j, "vmnet_mtu", h->mtu);
	json_num(&j, "vmnet_max_packet_size", (long long)max);
	json_num(&j, "vmnet_read_max_packets", forward_read_max_packets(max));
	json_num(&j, "vmnet_write_max_packets", forward_write_max_packets(max));
	if (h->opt.mode == MODE_BRIDGED)
		json_bridged(h, &j);
	else
		json_network(h, &j);
	json_str(&j, "tap", h->tap.name);
	json_str(&j, "socket_type", socket_type_name(h));
	if (h->opt.network)
		json_named(h, &j);
	if (json_end(&j) < 0 || strlen(buf) + 1 >= sizeof(buf)) {
		ERROR("main", "JSON line too long");
		datapath_finish(h, EXIT_FAILURE);
	}
	buf[strlen(buf) + 1] = '\0';
	buf[strlen(buf)] = '\n';
	write_line(h, buf);
}

/* Right after the privilege drop. Only our own VM's queries reach these
 * sockets (nat_dns_add), whatever else runs on the network. */
void datapath_start_dns(struct helper *h)
{
	int rc = 0;

	if (h->dns)
		rc = dnsfwd_start(h->dns);
	if (rc == 0 && h->dns6)
		rc = dnsfwd_start(h->dns6);
	if (rc < 0) {
		ERROR("main", "cannot start the DNS thread: %s", strerror(-rc));
		datapath_finish(h, EXIT_FAILURE);
	}
}

void datapath_wait_for_client(struct helper *h)
{
	int stop[] = { h->sig_fd, h->opt.broker_fd, h->starter_fd };
	int rc;

	if (!h->vm.serve_first)
		return;
	rc = transport_wait_client(&h->vm, stop, 3, h->first, sizeof(h->first), &h->first_len);
	if (rc < 0)
		datapath_finish(h, EXIT_FAILURE);
	if (rc == 0) {
		INFO("main", "stopped before a client connected");
		datapath_finish(h, EXIT_SUCCESS);
	}
}

/* In the VM thread: what the reaper says about a second MAC. */
static bool claim_mac(void *arg, const uint8_t mac[6])
{
	struct helper *h = arg;
	union msg m = { .claim_mac = { .h = msg_hdr(MSG_CLAIM_MAC, 0) } };
	char text[18];
	int rc;

	memcpy(m.claim_mac.mac, mac, 6);
	rc = reaper_claim(&h->reaper, &m, CLAIM_TIMEOUT_MS);
	ident_mac_format(mac, text);
	if (rc == 1)
		INFO("main", "the VM also sends from %s (pinned to %s)", text, h->tap.name);
	else
		WARN("main", "frames from %s are dropped: another VM of the network uses it%s",
		     text, rc < 0 ? " (no answer)" : "");
	return rc == 1;
}

/* In the VM thread: what the reaper says about an IPv6 address: 1, 0, or
 * -1 without an answer. */
static int claim_addr6(void *arg, const uint8_t addr[16], const uint8_t mac[6])
{
	struct helper *h = arg;
	union msg m = { .claim_addr6 = { .h = msg_hdr(MSG_CLAIM_ADDR6, 0) } };
	char text[INET6_ADDRSTRLEN];
	int rc;

	memcpy(m.claim_addr6.addr, addr, 16);
	memcpy(m.claim_addr6.mac, mac, 6);
	rc = reaper_claim(&h->reaper, &m, CLAIM_TIMEOUT_MS);
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	if (rc == 1)
		DEBUG("main", "the VM uses %s (bound to its MAC)", text);
	else if (rc == 0)
		WARN("main", "IPv6 frames from or advertising %s are dropped: another VM of the "
		     "network uses it", text);
	else
		WARN("main", "no answer about %s: a frame from or about it is dropped", text);
	return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

/* In the VM thread: what the reaper says about a pool address set by hand,
 * as claim_addr6. */
static int claim_addr4(void *arg, uint32_t addr)
{
	struct helper *h = arg;
	union msg m = { .claim_addr4 = { .h = msg_hdr(MSG_CLAIM_ADDR4, 0), .addr = addr } };
	char text[16];
	int rc = reaper_claim(&h->reaper, &m, CLAIM_TIMEOUT_MS);

	ip4_format(addr, text);
	if (rc == 1)
		INFO("main", "the VM uses %s, set by hand in the DHCP pool: recorded as its lease",
		     text);
	else if (rc == 0)
		WARN("main", "frames from %s are dropped: another VM of the network holds it", text);
	else
		WARN("main", "no answer about %s: a frame from it is dropped", text);
	return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

/*
 * IPv6 for the VM (shared mode): SLAAC in the network's prefix, the gateway
 * (its link-local address, the bridge MAC) as default router. RDNSS names
 * the gateway's IPv6 address only when the DNS forwarder answers there
 * (dns6); otherwise the VM resolves over IPv4 with the server DHCP gave it.
 */
static void configure_ra(struct helper *h)
{
	struct ndp_config *r = &h->fwd.ndp;

	h->fwd.ra_enabled = h->net.ipv6;
	if (!h->net.ipv6)
		return;
	*r = (struct ndp_config){
		.router_lifetime = RA_ROUTER_LIFETIME, .valid_lifetime = RA_VALID_LIFETIME,
		.preferred_lifetime = RA_PREFERRED_LIFETIME, .dns_lifetime = RA_DNS_LIFETIME,
		.mtu = (uint16_t)h->mtu, .has_dns = h->dns6 != NULL,
	};
	memcpy(r->router_mac, h->net.bridge_mac, 6);
	memcpy(r->router_ll, h->net.ll6, 16);
	memcpy(r->prefix, h->net.prefix6, 8);
	memcpy(r->dns, h->net.gateway6, 16);
}

/* What the VM may send as its own (vmframe.h): shared and host mode. */
static void configure_guards(struct helper *h)
{
	struct vmframe_config *g = &h->fwd.check;

	memcpy(g->vm_mac, h->mac, 6);
	if (h->opt.mode == MODE_BRIDGED)
		return;
	memcpy(g->gateway_mac, h->net.bridge_mac, 6);
	g->gateway = h->net.gateway;
	g->mask = h->net.mask;
	g->pool_first = h->net.gateway + 1;
	g->pool_last = h->net.end;
	g->lease = h->lease;
	g->has_gateway6 = h->net.ipv6;
	memcpy(g->gateway6, h->net.gateway6, 16);
	memcpy(g->gateway_ll6, h->net.ll6, 16);
}

void datapath_start_forwarding(struct helper *h)
{
	struct forward *f = &h->fwd;

	f->vm_fd = h->vm.fd;
	f->vhost_user = h->opt.vhost_user;
	f->stream = h->vm.type == SOCK_STREAM && !f->vhost_user;
	f->tap_fd = h->tap.fd;
	f->vnet_hdr = h->tap.vnet_hdr;
	f->tso = h->opt.enable_tso;
	f->mtu = h->mtu;
	f->max_packet = helper_max_packet(h);
	f->dhcp_enabled = h->opt.mode != MODE_BRIDGED;
	f->dhcp = (struct dhcp_config){
		.server = h->net.gateway, .mask = h->net.mask, .yiaddr = h->lease,
		.lease_time = HELPER_LEASE_TIME, .dns = h->dns ? h->net.gateway : 0,
		.mtu = (uint16_t)h->mtu,
	};
	memcpy(f->dhcp.server_mac, h->net.bridge_mac, 6);
	configure_ra(h);
	configure_guards(h);
	if (h->opt.mode != MODE_BRIDGED) {
		f->claim_mac = claim_mac;
		f->claim_addr6 = claim_addr6;
		f->claim_addr4 = claim_addr4;
		f->claim_arg = h;
	}
	f->first = h->first;
	f->first_len = h->first_len;
	if (h->pcap_n) {
		f->cap = capture_start(h->pcap_fds, h->pcap_n, (uint64_t)h->opt.pcap_size * 1000000u,
				       h->opt.pcap, h->tap.name);
		h->pcap_n = 0;   /* the capture's now, started or not */
	}
	if (forward_start(f) < 0) {
		ERROR("main", "cannot start forwarding");
		datapath_finish(h, EXIT_FAILURE);
	}
	INFO("main", "host forwarding started");
	INFO("main", "vm forwarding started");
}

/* Upstream's five counters (forward.h says what fast and slow count here). */
static void counters_json(struct json *j, const char *key, struct fwd_counters *fc)
{
	char buf[192];
	struct json o;

	json_begin(&o, buf, sizeof(buf));
	json_num(&o, "packets", (long long)atomic_load(&fc->packets));
	json_num(&o, "bytes", (long long)atomic_load(&fc->bytes));
	json_num(&o, "drops", (long long)atomic_load(&fc->drops));
	json_num(&o, "fast", (long long)atomic_load(&fc->fast));
	json_num(&o, "slow", (long long)atomic_load(&fc->slow));
	json_end(&o);
	json_raw(j, key, buf);
}

static void dns_counters_json(struct json *j, const char *key, struct dns_counters *dc)
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

/*
 * Upstream's log contract: "[stats] " and one JSON object, "time" in ISO
 * 8601 with its UTC offset written out (+00:00: what Python's
 * datetime.fromisoformat reads in every version, where "Z" needs 3.11),
 * "host" and "vm" with its five counters; ours adds "dns" and "dns6".
 */
static void log_stats(struct helper *h)
{
	char buf[1024], when[40];
	struct timespec ts;
	struct tm tm;
	struct json j;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ld+00:00", ts.tv_nsec / 1000000);
	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "time", when);
	counters_json(&j, "host", &h->fwd.host);
	counters_json(&j, "vm", &h->fwd.vm);
	if (h->dns)
		dns_counters_json(&j, "dns", dnsfwd_counters(h->dns));
	if (h->dns6)
		dns_counters_json(&j, "dns6", dnsfwd_counters(h->dns6));
	json_end(&j);
	INFO("stats", "%s", buf);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A signal read from sig_fd: true (stop). */
static bool signalled(struct helper *h)
{
	struct signalfd_siginfo si;

	if (read(h->sig_fd, &si, sizeof(si)) != sizeof(si))
		return false;
	INFO("main", "received signal %s", strsignal((int)si.ssi_signo));
	return true;
}

/* The lifeline (common/lifeline.h): true when what the helper runs for is gone. */
static bool lifeline_ended(struct helper *h, const struct pollfd *p)
{
	if (p[1].revents) {
		enum lifeline_event e = lifeline_read(h->opt.broker_fd);

		if (e == LIFELINE_STOP)
			INFO("main", "stopped by the user's vmnet-helper");
		else if (e == LIFELINE_GONE)
			INFO("main", "the user's vmnet-helper is gone");
		return e != LIFELINE_NOTHING;
	}
	if (p[2].revents) {
		INFO("main", "pid %d, which started the helper, is gone", (int)h->starter_pid);
		return true;
	}
	return false;
}

/* Until a signal, the lifeline's end, the VM going away, or a device error.
 * Checks the VM once a second; answers vmnet-status meanwhile
 * (statusreply.h). A descriptor of -1 (none) is one poll() passes over. */
void datapath_wait_for_termination(struct helper *h)
{
	struct pollfd p[4] = { { h->sig_fd, POLLIN, 0 }, { h->opt.broker_fd, POLLIN, 0 },
			       { h->starter_fd, POLLIN, 0 }, { h->status_fd, POLLIN, 0 } };
	double next_stats = now_seconds() + h->opt.stats_interval;

	INFO("main", "waiting for termination");
	for (;;) {
		if (poll(p, 4, 1000) > 0) {
			if ((p[0].revents && signalled(h)) || lifeline_ended(h, p))
				break;
			if (p[3].revents)
				statusreply_serve(h);
		}
		if (atomic_load(&h->fwd.vm_gone) || atomic_load(&h->fwd.failed))
			break;
		if (!transport_peer_alive(&h->vm)) {
			INFO("main", "the VM closed its socket");
			break;
		}
		if (h->opt.stats_interval && now_seconds() >= next_stats) {
			log_stats(h);
			next_stats += h->opt.stats_interval;
		}
	}
	forward_stop(&h->fwd);
	if (h->opt.stats_interval)
		log_stats(h);
}
