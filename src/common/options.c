/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper's command line (options.h): parsed and checked before anything
 * else, as whoever started the helper (root through sudo or the broker).
 * No side effects: a bad invocation is one line and an exit.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/ip4.h"
#include "common/options.h"

/* Long-only options get values outside the char range. */
enum {
	OPT_FD = 256,
	OPT_SOCKET,
	OPT_SOCKET_TYPE,
	OPT_INTERFACE_ID,
	OPT_OPERATION_MODE,
	OPT_START_ADDRESS,
	OPT_END_ADDRESS,
	OPT_SUBNET_MASK,
	OPT_SHARED_INTERFACE,
	OPT_ENABLE_ISOLATION,
	OPT_ENABLE_TSO,
	OPT_ENABLE_CHECKSUM_OFFLOAD,
	OPT_LIST_SHARED_INTERFACES,
	OPT_STATS_INTERVAL,
	OPT_MTU,
	OPT_NETWORK,
	OPT_PCAP,
	OPT_PCAP_SIZE,
	OPT_PCAP_FILES,
	OPT_BROKER_FD,
	OPT_PCAP_FD,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "fd", required_argument, NULL, OPT_FD },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "socket-type", required_argument, NULL, OPT_SOCKET_TYPE },
	{ "interface-id", required_argument, NULL, OPT_INTERFACE_ID },
	{ "operation-mode", required_argument, NULL, OPT_OPERATION_MODE },
	{ "start-address", required_argument, NULL, OPT_START_ADDRESS },
	{ "end-address", required_argument, NULL, OPT_END_ADDRESS },
	{ "subnet-mask", required_argument, NULL, OPT_SUBNET_MASK },
	{ "shared-interface", required_argument, NULL, OPT_SHARED_INTERFACE },
	{ "enable-isolation", no_argument, NULL, OPT_ENABLE_ISOLATION },
	{ "enable-tso", no_argument, NULL, OPT_ENABLE_TSO },
	{ "enable-checksum-offload", no_argument, NULL, OPT_ENABLE_CHECKSUM_OFFLOAD },
	{ "list-shared-interfaces", no_argument, NULL, OPT_LIST_SHARED_INTERFACES },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "pcap", required_argument, NULL, OPT_PCAP },
	{ "pcap-size", required_argument, NULL, OPT_PCAP_SIZE },
	{ "pcap-files", required_argument, NULL, OPT_PCAP_FILES },
	{ "broker-fd", required_argument, NULL, OPT_BROKER_FD },
	{ "pcap-fd", required_argument, NULL, OPT_PCAP_FD },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * '+': stop at the first positional argument instead of permuting argv, so a
 * stray argument is reported where the user typed it.
 * ':': report a missing argument as ':' rather than '?'.
 */
static const char short_options[] = "+:vh";

/* Parse state that does not belong in struct options. */
struct parse {
	struct options *o;
	char *err;
	size_t errlen;
	const char *start_arg, *end_arg, *mask_arg;
	bool mode_set;  /* --operation-mode was given */
	bool failed;  /* the first error is the one reported */
};

static int fail(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->errlen && !p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	p->failed = true;
	return -1;
}

static const char *option_name(int val)
{
	for (const struct option *lo = long_options; lo->name; lo++) {
		if (lo->val == val)
			return lo->name;
	}
	return "?";
}

/* A decimal integer in [min, max], the whole string, nothing else. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;  /* strtol would accept " 3", "+3" and "-3" */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_fd(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 0, INT_MAX, &v) < 0)
		return fail(p, "invalid --fd \"%s\": not a non-negative integer", arg);
	p->o->fd = (int)v;
	return 0;
}

static int parse_broker_fd(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 3, INT_MAX, &v) < 0)
		return fail(p, "invalid --broker-fd \"%s\": not a descriptor above 2", arg);
	p->o->broker_fd = (int)v;
	return 0;
}

/* Room for the ring after it: its last descriptor is still an int. */
static int parse_pcap_fd(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 3, INT_MAX - PCAP_FILES_MAX, &v) < 0)
		return fail(p, "invalid --pcap-fd \"%s\": not a descriptor above 2", arg);
	p->o->pcap_fd = (int)v;
	return 0;
}

static int parse_socket_type(struct parse *p, const char *arg)
{
	if (strcmp(arg, "dgram") == 0)
		p->o->socket_type = SOCK_DGRAM;
	else if (strcmp(arg, "stream") == 0 || strcmp(arg, "vhost-user") == 0)
		p->o->socket_type = SOCK_STREAM;
	else
		return fail(p, "invalid --socket-type \"%s\": expected dgram, stream or vhost-user",
			    arg);
	p->o->vhost_user = strcmp(arg, "vhost-user") == 0;
	return 0;
}

static int parse_stats_interval(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 1, 86400, &v) < 0)
		return fail(p, "invalid --stats-interval \"%s\": not an integer in 1..86400 seconds", arg);
	p->o->stats_interval = (unsigned)v;
	return 0;
}

static int parse_mtu(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, MIN_MTU, MAX_MTU, &v) < 0)
		return fail(p, "invalid --mtu \"%s\": not an integer in %d..%d", arg, MIN_MTU,
			    MAX_MTU);
	p->o->mtu = (unsigned)v;
	return 0;
}

static int parse_pcap(struct parse *p, const char *arg)
{
	if (*arg == '\0')
		return fail(p, "invalid --pcap \"\": empty path");
	/* Room for a ring's number after it, and a path the kernel takes. */
	if (strlen(arg) > PATH_MAX - 8)
		return fail(p, "invalid --pcap: path longer than %d bytes", PATH_MAX - 8);
	p->o->pcap = arg;
	return 0;
}

static int parse_pcap_size(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 1, PCAP_SIZE_MAX, &v) < 0)
		return fail(p, "invalid --pcap-size \"%s\": not an integer in 1..%d (millions of "
			    "bytes)", arg, PCAP_SIZE_MAX);
	p->o->pcap_size = (unsigned)v;
	return 0;
}

static int parse_pcap_files(struct parse *p, const char *arg)
{
	long v;

	if (parse_long(arg, 1, PCAP_FILES_MAX, &v) < 0)
		return fail(p, "invalid --pcap-files \"%s\": not an integer in 1..%d", arg,
			    PCAP_FILES_MAX);
	p->o->pcap_files = (unsigned)v;
	return 0;
}

static int parse_interface_id(struct parse *p, const char *arg)
{
	if (uuid_parse(arg, p->o->interface_id) != 0)
		return fail(p, "invalid --interface-id \"%s\": not a UUID", arg);
	p->o->interface_id_set = true;
	return 0;
}

bool options_network_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NETWORK_NAME_MAX)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static int parse_network(struct parse *p, const char *arg)
{
	if (!options_network_name_valid(arg))
		return fail(p, "invalid --network \"%s\": 1 to %d letters, digits, '-', '_' or '.'",
			    arg, NETWORK_NAME_MAX);
	p->o->network = arg;
	return 0;
}

static int parse_mode(struct parse *p, const char *arg)
{
	p->mode_set = true;
	if (strcmp(arg, "shared") == 0)
		p->o->mode = MODE_SHARED;
	else if (strcmp(arg, "host") == 0)
		p->o->mode = MODE_HOST;
	else if (strcmp(arg, "bridged") == 0)
		p->o->mode = MODE_BRIDGED;
	else
		return fail(p, "invalid --operation-mode \"%s\": expected shared, host or bridged", arg);
	return 0;
}

static int parse_address(struct parse *p, int opt, const char *arg, uint32_t *out,
			 const char **arg_out)
{
	if (ip4_parse(arg, out) < 0)
		return fail(p, "invalid --%s \"%s\": not an IPv4 address", option_name(opt), arg);
	*arg_out = arg;
	return 0;
}

static int parse_shared_interface(struct parse *p, const char *arg)
{
	if (*arg == '\0')
		return fail(p, "invalid --shared-interface \"\": empty interface name");
	if (strlen(arg) >= IFNAMSIZ)
		return fail(p, "invalid --shared-interface \"%s\": longer than %d characters",
			    arg, IFNAMSIZ - 1);
	p->o->shared_interface = arg;
	return 0;
}

static int set_flag(struct options *o, int opt)
{
	switch (opt) {
	case OPT_ENABLE_ISOLATION: o->enable_isolation = true; break;
	case OPT_ENABLE_TSO: o->enable_tso = true; break;
	case OPT_ENABLE_CHECKSUM_OFFLOAD: o->enable_checksum_offload = true; break;
	case OPT_LIST_SHARED_INTERFACES: o->list_shared_interfaces = true; break;
	case OPT_VERSION: o->version = true; break;
	case 'v': o->verbose = true; break;
	case 'h': o->help = true; break;
	default: return -1;
	}
	return 0;
}

/* getopt returned '?': an unknown option, or an argument to a flag. */
static int bad_option(struct parse *p, char **argv)
{
	const char *word = argv[optind - 1];
	size_t n;

	if (optopt == 'v' || optopt == 'h' || optopt >= 256) {
		/* Only "--flag=value" gets here with a known option. */
		return fail(p, "option --%s does not take an argument", option_name(optopt));
	}
	if (optopt != 0)
		return fail(p, "unknown option \"-%c\"", optopt);
	/* Unknown or ambiguous long option; glibc moved optind past it. */
	n = strcspn(word, "=");
	return fail(p, "unknown or ambiguous option \"%.*s\"", (int)n, word);
}

static int handle_option(struct parse *p, int opt, const char *arg, char **argv)
{
	switch (opt) {
	case OPT_FD: return parse_fd(p, arg);
	case OPT_SOCKET: p->o->socket_path = arg; return 0;
	case OPT_SOCKET_TYPE: return parse_socket_type(p, arg);
	case OPT_INTERFACE_ID: return parse_interface_id(p, arg);
	case OPT_OPERATION_MODE: return parse_mode(p, arg);
	case OPT_START_ADDRESS: return parse_address(p, opt, arg, &p->o->start, &p->start_arg);
	case OPT_END_ADDRESS: return parse_address(p, opt, arg, &p->o->end, &p->end_arg);
	case OPT_SUBNET_MASK: return parse_address(p, opt, arg, &p->o->mask, &p->mask_arg);
	case OPT_SHARED_INTERFACE: return parse_shared_interface(p, arg);
	case OPT_STATS_INTERVAL: return parse_stats_interval(p, arg);
	case OPT_MTU: return parse_mtu(p, arg);
	case OPT_NETWORK: return parse_network(p, arg);
	case OPT_PCAP: return parse_pcap(p, arg);
	case OPT_PCAP_SIZE: return parse_pcap_size(p, arg);
	case OPT_PCAP_FILES: return parse_pcap_files(p, arg);
	case OPT_BROKER_FD: return parse_broker_fd(p, arg);
	case OPT_PCAP_FD: return parse_pcap_fd(p, arg);
	case ':':
		if (optopt >= 256)
			return fail(p, "option --%s requires an argument", option_name(optopt));
		return fail(p, "option \"-%c\" requires an argument", optopt);
	case '?': return bad_option(p, argv);
	default:
		if (set_flag(p->o, opt) < 0)
			return fail(p, "unhandled option %d", opt);
		return 0;
	}
}

static int check_endpoint(struct parse *p)
{
	struct options *o = p->o;
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (o->fd < 0 && !o->socket_path)
		return fail(p, "one of --fd or --socket is required");
	if (o->fd >= 0 && o->socket_path)
		return fail(p, "--fd and --socket cannot be used together");
	if (o->fd == 1 || o->fd == 2)
		return fail(p, "invalid --fd %d: %s, not the VM's socket", o->fd,
			    o->fd == 1 ? "stdout carries the JSON line" : "stderr carries the log");
	if (o->socket_path && o->socket_path[0] == '\0')
		return fail(p, "invalid --socket \"\": empty path");
	if (o->socket_path && strlen(o->socket_path) > max)
		return fail(p, "invalid --socket \"%s\": path longer than %zu bytes", o->socket_path, max);
	/* The broker gives the VM's socket as --fd (the user's side made
	 * --socket's files itself, vmnet-broker(8)). */
	if (o->broker_fd >= 0 && (o->fd < 0 || o->broker_fd == o->fd))
		return fail(p, "--broker-fd needs --fd, another descriptor");
	/* --socket binds a datagram socket unless told otherwise; --fd's
	 * socket says what it is (a given --socket-type must match it). */
	if (o->socket_path && !o->socket_type)
		o->socket_type = SOCK_DGRAM;
	return 0;
}

/*
 * TSO alone cannot work: a segment the kernel cuts or the VM sends as one
 * 64 KiB frame always has a partial checksum. krunkit's offloading=on needs
 * both, so a lone --enable-tso is a mistake worth reporting.
 */
static int check_offload(struct parse *p)
{
	/* vhost-user: the guest and the helper negotiate offloads themselves. */
	if (p->o->vhost_user && (p->o->enable_tso || p->o->enable_checksum_offload))
		return fail(p, "--%s does not apply to --socket-type vhost-user: offloads are "
			    "negotiated with the guest", p->o->enable_tso ? "enable-tso"
			    : "enable-checksum-offload");
	if (p->o->enable_tso && !p->o->enable_checksum_offload)
		return fail(p, "--enable-tso requires --enable-checksum-offload");
	return 0;
}

/* --pcap-fd's descriptors, one per file, clear of --fd's and --broker-fd's. */
static int check_pcap_fd(struct parse *p)
{
	const struct options *o = p->o;
	int last = o->pcap_fd + (int)o->pcap_files - 1;

	if (o->pcap_fd < 0)
		return 0;
	if (!o->pcap)
		return fail(p, "--pcap-fd requires --pcap (the name of its files)");
	if ((o->fd >= o->pcap_fd && o->fd <= last) ||
	    (o->broker_fd >= o->pcap_fd && o->broker_fd <= last))
		return fail(p, "--pcap-fd: descriptors %d to %d (one per --pcap file) cannot hold "
			    "--fd or --broker-fd", o->pcap_fd, last);
	return 0;
}

/* The bound and the ring only mean something for a capture; a ring needs
 * a bound to know when to move on. */
static int check_pcap(struct parse *p)
{
	const struct options *o = p->o;

	if (!o->pcap && o->pcap_size)
		return fail(p, "--pcap-size requires --pcap");
	if (!o->pcap && o->pcap_files)
		return fail(p, "--pcap-files requires --pcap");
	if (o->pcap_files > 1 && !o->pcap_size)
		return fail(p, "--pcap-files requires --pcap-size (the size of each file)");
	if (!p->o->pcap_files)
		p->o->pcap_files = 1;
	return check_pcap_fd(p);
}

static bool any_address(const struct parse *p)
{
	return p->start_arg || p->end_arg || p->mask_arg;
}

static int check_mode(struct parse *p)
{
	struct options *o = p->o;

	if (o->mode != MODE_BRIDGED) {
		if (o->shared_interface)
			return fail(p, "--shared-interface requires --operation-mode=bridged");
		return 0;
	}
	if (!o->shared_interface)
		return fail(p, "--operation-mode=bridged requires --shared-interface");
	if (o->enable_isolation)
		return fail(p, "--enable-isolation cannot be used with --operation-mode=bridged");
	if (any_address(p))
		return fail(p, "--start-address, --end-address and --subnet-mask cannot be used "
			    "with --operation-mode=bridged");
	if (o->mtu)
		return fail(p, "--mtu cannot be used with --operation-mode=bridged (the interface's "
			    "own MTU is used)");
	return 0;
}

static int check_all_or_none(struct parse *p)
{
	const char *missing = !p->start_arg ? "--start-address"
			    : !p->end_arg ? "--end-address" : "--subnet-mask";

	return fail(p, "--start-address, --end-address and --subnet-mask must be used together "
		    "(missing %s)", missing);
}

static int check_private(struct parse *p)
{
	const struct options *o = p->o;
	uint32_t net = ip4_network(o->start, o->mask);
	uint32_t bcast = ip4_broadcast(o->start, o->mask);

	if (!ip4_is_private(o->start))
		return fail(p, "invalid --start-address \"%s\": not a private (RFC 1918) address",
			    p->start_arg);
	if (!ip4_is_private(o->end))
		return fail(p, "invalid --end-address \"%s\": not a private (RFC 1918) address",
			    p->end_arg);
	/*
	 * The whole subnet goes on the bridge and behind NAT; a short mask
	 * would claim public addresses (e.g. 172.16.0.1/1 spans 128/1).
	 */
	if (!ip4_is_private(net) || !ip4_is_private(bcast) ||
	    ip4_mask_prefix(o->mask) < 8)
		return fail(p, "invalid --subnet-mask \"%s\": the subnet of --start-address \"%s\" "
			    "extends beyond the private (RFC 1918) ranges", p->mask_arg, p->start_arg);
	return 0;
}

static int check_range(struct parse *p)
{
	const struct options *o = p->o;
	int prefix = ip4_mask_prefix(o->mask);

	if (o->start >= o->end)
		return fail(p, "invalid --end-address \"%s\": must be greater than --start-address \"%s\"",
			    p->end_arg, p->start_arg);
	if (ip4_network(o->start, o->mask) != ip4_network(o->end, o->mask))
		return fail(p, "invalid --end-address \"%s\": not in the /%d subnet of --start-address \"%s\"",
			    p->end_arg, prefix, p->start_arg);
	if (o->start == ip4_network(o->start, o->mask))
		return fail(p, "invalid --start-address \"%s\": is the network address of the /%d subnet",
			    p->start_arg, prefix);
	if (o->end == ip4_broadcast(o->end, o->mask))
		return fail(p, "invalid --end-address \"%s\": is the broadcast address of the /%d subnet",
			    p->end_arg, prefix);
	return 0;
}

static void default_addresses(struct options *o)
{
	if (o->mode == MODE_HOST) {
		o->start = HOST_DEFAULT_START;
		o->end = HOST_DEFAULT_END;
	} else {
		o->start = SHARED_DEFAULT_START;
		o->end = SHARED_DEFAULT_END;
	}
	o->mask = DEFAULT_MASK;
}

static int check_addresses(struct parse *p)
{
	struct options *o = p->o;

	if (o->mode == MODE_BRIDGED) {
		o->start = o->end = o->mask = 0;  /* the physical network decides */
		return 0;
	}
	if (!any_address(p)) {
		default_addresses(o);
		o->auto_network = true;
		return 0;
	}
	if (!p->start_arg || !p->end_arg || !p->mask_arg)
		return check_all_or_none(p);
	if (!ip4_mask_valid(o->mask))
		return fail(p, "invalid --subnet-mask \"%s\": not a contiguous netmask", p->mask_arg);
	if (check_private(p) < 0)
		return -1;
	return check_range(p);
}

/* --network NAME: the network says the mode, the addresses and the
 * interface; the options that say them cannot be given too (exactly
 * upstream's list and wording). --mtu may: options_set_network. */
static int check_network(struct parse *p)
{
	static const struct { int opt; } order[] = {
		{ OPT_OPERATION_MODE }, { OPT_SHARED_INTERFACE }, { OPT_START_ADDRESS },
		{ OPT_END_ADDRESS }, { OPT_SUBNET_MASK },
	};
	const bool given[] = { p->mode_set, p->o->shared_interface != NULL, p->start_arg != NULL,
			       p->end_arg != NULL, p->mask_arg != NULL };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (given[i])
			return fail(p, "Conflicting arguments: --network cannot be used with --%s",
				    option_name(order[i].opt));
	return 0;
}

static void options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->broker_fd = -1;
	o->pcap_fd = -1;
	o->mode = MODE_SHARED;
}

/*
 * Reads every option even after an error: --help, --version and
 * --list-shared-interfaces anywhere on the line win over mistakes
 * elsewhere, and -v still applies to them.
 */
static int parse_args(struct parse *p, int argc, char **argv)
{
	int opt;

	/* 0, not 1: glibc then also resets its internal state between calls. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1)
		handle_option(p, opt, optarg, argv);
	return p->failed ? -1 : 0;
}

int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	struct parse p = { .o = o, .err = err, .errlen = errlen };

	options_init(o);
	if (errlen)
		err[0] = '\0';
	if (parse_args(&p, argc, argv) < 0 &&
	    !(o->help || o->version || o->list_shared_interfaces))
		return -1;
	if (o->help || o->version || o->list_shared_interfaces) {
		if (errlen)
			err[0] = '\0';
		return 0;
	}
	if (optind < argc)
		return fail(&p, "unexpected argument \"%s\"", argv[optind]);
	if (check_endpoint(&p) < 0 || check_offload(&p) < 0 || check_pcap(&p) < 0)
		return -1;
	if (o->network)
		return check_network(&p);
	if (check_mode(&p) < 0)
		return -1;
	return check_addresses(&p);
}

/* What a request to the broker may not carry (options_strip_endpoint). */
static const char *refused_in_request(int opt)
{
	switch (opt) {
	case OPT_BROKER_FD:
	case OPT_PCAP_FD:
		return "is the broker's to give";
	case OPT_VERSION:
	case OPT_LIST_SHARED_INTERFACES:
	case 'h':
		return "is answered by vmnet-helper itself, not the broker";
	default:
		return NULL;
	}
}

/*
 * The words of each option are [optind before, optind after) of its
 * getopt_long call: the long options that name a descriptor or a path
 * (--fd, --socket) take one word ("--fd=3") or two ("--fd 3") and are never
 * part of a group of short options, whose words getopt counts once, when
 * the group ends. '+' in short_options: no reordering.
 */
int options_strip_endpoint(int argc, char **argv, char **out, int cap, char *err, size_t errlen)
{
	struct options o;
	struct parse p = { .o = &o, .err = err, .errlen = errlen };
	int opt, prev = 1, kept = 0;

	options_init(&o);
	if (errlen)
		err[0] = '\0';
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		const char *why = refused_in_request(opt);
		bool drop = opt == OPT_FD || opt == OPT_SOCKET;

		if (opt == '?' || opt == ':')
			return handle_option(&p, opt, optarg, argv);
		if (why)
			return fail(&p, "--%s %s", option_name(opt), why);
		for (int i = prev; i < optind && !drop; i++) {
			if (kept == cap)
				return fail(&p, "more than %d words of options", cap);
			out[kept++] = argv[i];
		}
		prev = optind;
	}
	if (optind < argc)
		return fail(&p, "unexpected argument \"%s\"", argv[optind]);
	return kept;
}

int options_set_network(struct options *o, enum op_mode mode, uint32_t start, uint32_t end,
			uint32_t mask, const char *shared_interface, bool isolation, unsigned mtu,
			char *err, size_t errlen)
{
	struct parse p = { .o = o, .err = err, .errlen = errlen };

	o->mode = mode;
	if (mode == MODE_BRIDGED) {
		if (o->enable_isolation)
			return fail(&p, "--enable-isolation cannot be used with network \"%s\" "
				    "(bridged mode)", o->network);
		if (o->mtu)
			return fail(&p, "--mtu cannot be used with network \"%s\" (bridged mode: "
				    "the interface's MTU applies)", o->network);
		o->shared_interface = shared_interface;
		o->start = o->end = o->mask = 0;
		return 0;
	}
	if (start) {
		o->start = start;
		o->end = end;
		o->mask = mask;
	} else {
		/* As without the address options: the default network, or the
		 * next free one, shared with helpers started that way. */
		default_addresses(o);
		o->auto_network = true;
	}
	o->enable_isolation = o->enable_isolation || isolation;
	/* --mtu as for a running network: it chooses the MTU when the network
	 * sets none, and may only repeat the one it sets. */
	if (mtu && o->mtu && o->mtu != mtu)
		return fail(&p, "--mtu %u cannot be used with network \"%s\": its MTU is %u",
			    o->mtu, o->network, mtu);
	if (mtu)
		o->mtu = mtu;
	return 0;
}

int options_pcap_file(const char *path, unsigned nfiles, unsigned i, char *buf, size_t len)
{
	int width = 1, n;

	for (unsigned m = nfiles - 1; m >= 10; m /= 10)
		width++;
	if (nfiles <= 1)
		n = snprintf(buf, len, "%s", path);
	else
		n = snprintf(buf, len, "%s%0*u", path, width, i);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void options_usage(FILE *out)
{
	fputs("Usage: vmnet-helper (--fd FD | --socket PATH) [options]\n"
	      "\n"
	      "Give a virtual machine a network interface: a TAP device on a per-network\n"
	      "bridge with a built-in DHCP server.\n"
	      "\n"
	      "Options:\n"
	      "  --fd FD                     unix socket shared with the VM process, datagram\n"
	      "                              or stream, see --socket-type (inherited; not 1 or 2)\n"
	      "  --socket PATH               bind a unix socket and serve the first client;\n"
	      "                              made and removed as the invoking user (SUDO_UID)\n"
	      "  --socket-type TYPE          dgram (default): one frame per datagram; stream:\n"
	      "                              each frame behind its 4-byte big-endian length\n"
	      "                              (QEMU -netdev stream); --fd finds which by itself;\n"
	      "                              vhost-user: the helper is the VM's vhost-user\n"
	      "                              network backend (QEMU -netdev vhost-user), with\n"
	      "                              the offloads the guest negotiates\n"
	      "  --interface-id UUID         stable id: the same MAC address on every run\n"
	      "  --operation-mode MODE       shared (default), host or bridged\n"
	      "  --start-address ADDR        gateway address; the DHCP pool starts after it\n"
	      "                              (default 192.168.105.1, host mode 192.168.106.1)\n"
	      "  --end-address ADDR          last DHCP pool address\n"
	      "                              (default 192.168.105.254, host mode 192.168.106.254)\n"
	      "  --subnet-mask MASK          subnet mask (default 255.255.255.0)\n"
	      "  --shared-interface NAME     interface or bridge to join (bridged mode)\n"
	      "  --enable-isolation          no traffic with other VMs (shared and host mode)\n"
	      "  --enable-tso                enable TCP segmentation offload\n"
	      "  --enable-checksum-offload   enable checksum offload\n"
	      "  --list-shared-interfaces    list interfaces usable in bridged mode and exit\n"
	      "  --network NAME              join the named network (the administrator's, or\n"
	      "                              shared or host); not with --operation-mode,\n"
	      "                              --shared-interface or the address options;\n"
	      "                              --mtu only where the network sets no other MTU\n"
	      "  --mtu MTU                   the network's MTU, 1280..65520 (shared and host\n"
	      "                              mode; default: 1500 for a new network, the\n"
	      "                              network's own MTU when joining one)\n"
	      "  --stats-interval SECONDS    log interface statistics every SECONDS (1..86400)\n"
	      "  --pcap FILE                 capture every frame between the VM and the helper\n"
	      "                              into FILE (pcapng; made as the invoking user),\n"
	      "                              those it drops or answers itself marked\n"
	      "  --pcap-size MB              FILE grows to MB millions of bytes at most, then\n"
	      "                              the capture stops (1..1000000)\n"
	      "  --pcap-files N              with --pcap-size: a ring of N files, FILE0..,\n"
	      "                              the oldest overwritten (1..100)\n"
	      "  --broker-fd FD              set by vmnet-broker: the connection to the user's\n"
	      "                              vmnet-helper (stop at its end, exit status sent)\n"
	      "  --pcap-fd FD                set by vmnet-broker: --pcap's files, opened by the\n"
	      "                              user's vmnet-helper, on FD and the descriptors\n"
	      "                              after it (one per file); FILE names them\n"
	      "  -v, --verbose               debug logging\n"
	      "      --version               print the version and exit\n"
	      "  -h, --help                  print this help and exit\n"
	      "\n"
	      "--start-address, --end-address and --subnet-mask must be used together and\n"
	      "must be private (RFC 1918) addresses. Without them the mode's default network\n"
	      "is used or, when it cannot be (another mode's network is there, or the host\n"
	      "uses it), the next free /24 after it.\n"
	      "\n"
	      "Run it as root through sudo: the VM's traffic is handled as the invoking user\n"
	      "(SUDO_UID/SUDO_GID; nobody without them) with no capabilities. Run by a user\n"
	      "who is not root, it asks vmnet-broker (" VMNET_BROKER_SOCKET ",\n"
	      "or $VMNET_BROKER_SOCKET) to start it the same way. What users may do, and\n"
	      "the named networks, are set in " VMNET_CONF ".\n", out);
}

const char *options_mode_name(enum op_mode mode)
{
	switch (mode) {
	case MODE_SHARED: return "shared";
	case MODE_HOST: return "host";
	case MODE_BRIDGED: return "bridged";
	}
	return "unknown";
}
