/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/options.h"
#include "t.h"

static struct options o;
static char err[256];

/* argv from a NULL-terminated list, parsed into o/err. */
static int parse(const char *first, ...)
{
	char *argv[64] = { "vmnet-helper" };
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	return options_parse(&o, argc, argv, err, sizeof(err));
}

/* Fails with a one-line message that names what is wrong. */
#define FAILS(needle, ...) do { \
	int r_ = parse(__VA_ARGS__, (const char *)NULL); \
	CHECK(r_ == -1); \
	CHECK(strstr(err, needle) != NULL); \
	CHECK(strchr(err, '\n') == NULL); \
	if (r_ != -1 || !strstr(err, needle)) \
		fprintf(stderr, "  message: \"%s\" (wanted \"%s\")\n", err, needle); \
} while (0)

#define OK(...) do { \
	int r_ = parse(__VA_ARGS__, (const char *)NULL); \
	CHECK(r_ == 0); \
	if (r_ != 0) \
		fprintf(stderr, "  unexpected error: %s\n", err); \
} while (0)

static void test_defaults(void)
{
	OK("--fd", "3");
	CHECK(o.fd == 3);
	CHECK(o.socket_path == NULL);
	CHECK(o.mode == MODE_SHARED);
	CHECK(o.start == SHARED_DEFAULT_START);
	CHECK(o.end == SHARED_DEFAULT_END);
	CHECK(o.mask == DEFAULT_MASK);
	CHECK(!o.interface_id_set);
	CHECK(!o.enable_isolation && !o.enable_tso && !o.enable_checksum_offload);
	CHECK(!o.verbose && !o.help && !o.version && !o.list_shared_interfaces);
	CHECK(o.stats_interval == 0);
	CHECK(o.mtu == 0);    /* omitted: the network's own, or DEFAULT_MTU */
	CHECK(o.shared_interface == NULL);
	CHECK(o.auto_network);

	OK("--fd=4", "--operation-mode", "host");
	CHECK(o.fd == 4);
	CHECK(o.mode == MODE_HOST);
	CHECK(o.start == HOST_DEFAULT_START);
	CHECK(o.end == HOST_DEFAULT_END);
	CHECK(o.mask == DEFAULT_MASK);
	CHECK(o.auto_network);

	/* Explicit addresses, even the default's: no automatic choice. */
	OK("--fd=4", "--start-address", "192.168.105.1", "--end-address", "192.168.105.254",
	   "--subnet-mask", "255.255.255.0");
	CHECK(!o.auto_network);
	OK("--fd=4", "--operation-mode", "bridged", "--shared-interface", "eth0");
	CHECK(!o.auto_network);

	OK("--socket", "/tmp/vm/vmnet.sock");
	CHECK(o.fd == -1);
	CHECK_STR(o.socket_path, "/tmp/vm/vmnet.sock");
}

static void test_all_options(void)
{
	char s[37];

	OK("--socket=/tmp/x.sock", "--interface-id", "2835e074-9892-4a79-affb-7e41d2605678",
	   "--operation-mode=host", "--enable-isolation", "--enable-tso",
	   "--enable-checksum-offload", "--stats-interval", "60", "-v");
	CHECK(o.interface_id_set);
	uuid_unparse_upper(o.interface_id, s);
	CHECK_STR(s, "2835E074-9892-4A79-AFFB-7E41D2605678");
	CHECK(o.enable_isolation && o.enable_tso && o.enable_checksum_offload);
	CHECK(o.stats_interval == 60);
	CHECK(o.verbose);

	OK("--fd", "3", "--mtu", "1280");
	CHECK(o.mtu == 1280);
	OK("--fd", "3", "--operation-mode=host", "--mtu=65520");
	CHECK(o.mtu == 65520);

	OK("--fd", "0", "--verbose", "--stats-interval=86400", "--stats-interval=1");
	CHECK(o.fd == 0 && o.verbose && o.stats_interval == 1);

	OK("--fd", "3", "--operation-mode", "bridged", "--shared-interface", "eth0");
	CHECK(o.mode == MODE_BRIDGED);
	CHECK_STR(o.shared_interface, "eth0");

	OK("--fd", "3", "--operation-mode=shared", "--start-address", "192.168.50.1",
	   "--end-address=192.168.50.100", "--subnet-mask", "255.255.255.0");
	CHECK(o.start == 0xc0a83201u && o.end == 0xc0a83264u && o.mask == 0xffffff00u);
}

static void test_early_exit(void)
{
	/* These skip validation: no --fd/--socket needed, garbage after ignored. */
	OK("--help");
	CHECK(o.help);
	OK("-h", "stray");
	CHECK(o.help);
	OK("--version");
	CHECK(o.version);
	OK("--list-shared-interfaces");
	CHECK(o.list_shared_interfaces);
	OK("--fd", "3", "--socket", "/x", "--version");
	CHECK(o.version);
	/* They win over mistakes anywhere on the line; -v still counts. */
	OK("--bogus", "--help");
	CHECK(o.help);
	OK("--fd", "abc", "--version", "--fd");
	CHECK(o.version);
	OK("--list-shared-interfaces", "-v", "--operation-mode=nat");
	CHECK(o.list_shared_interfaces && o.verbose);
	/* The first of several mistakes is the one reported. */
	FAILS("--fd \"abc\"", "--fd", "abc", "--bogus");
}

static void test_syntax_errors(void)
{
	FAILS("--bogus", "--fd", "3", "--bogus");
	FAILS("--bogus", "--fd", "3", "--bogus=1");
	FAILS("-x", "--fd", "3", "-x");
	FAILS("--fd", "--fd");
	FAILS("--socket", "--socket");
	FAILS("--start-address", "--fd", "3", "--start-address");
	FAILS("--verbose", "--fd", "3", "--verbose=yes");
	FAILS("--enable-tso", "--fd", "3", "--enable-tso=1");
	FAILS("stray", "--fd", "3", "stray");
	FAILS("stray", "stray", "--fd", "3");
	FAILS("--enable", "--fd", "3", "--enable");  /* ambiguous abbreviation */
}

static void test_endpoint(void)
{
	char longpath[200];

	FAILS("--fd", "--verbose");
	FAILS("--socket", "--verbose");
	FAILS("--socket", "--fd", "3", "--socket", "/tmp/x.sock");
	FAILS("--fd", "--fd", "-1");
	FAILS("--fd", "--fd", "abc");
	FAILS("--fd", "--fd", "3x");
	FAILS("--fd", "--fd", "");
	FAILS("--fd", "--fd", " 3");
	FAILS("--fd", "--fd", "99999999999999999999");
	/* stdout carries the JSON line and stderr the log; stdin may be the socket. */
	FAILS("--fd 1", "--fd", "1");
	FAILS("--fd 2", "--fd=2");
	OK("--fd", "0");
	FAILS("--socket", "--socket", "");
	/* --socket-type: dgram for --socket unless given; --fd says it itself. */
	OK("--socket", "/tmp/x.sock");
	CHECK(o.socket_type == SOCK_DGRAM);
	OK("--socket", "/tmp/x.sock", "--socket-type", "stream");
	CHECK(o.socket_type == SOCK_STREAM);
	OK("--socket-type=dgram", "--socket", "/tmp/x.sock");
	CHECK(o.socket_type == SOCK_DGRAM);
	OK("--fd", "3");
	CHECK(o.socket_type == 0);
	OK("--fd", "3", "--socket-type", "stream");
	CHECK(o.socket_type == SOCK_STREAM);
	FAILS("--socket-type \"seqpacket\": expected dgram, stream or vhost-user", "--socket",
	      "/tmp/x.sock", "--socket-type", "seqpacket");
	/* vhost-user: a stream socket, offloads negotiated with the guest. */
	OK("--socket", "/tmp/x.sock", "--socket-type", "vhost-user");
	CHECK(o.socket_type == SOCK_STREAM && o.vhost_user);
	OK("--socket", "/tmp/x.sock", "--socket-type", "stream");
	CHECK(!o.vhost_user);
	OK("--fd", "3", "--socket-type=vhost-user");
	CHECK(o.socket_type == SOCK_STREAM && o.vhost_user);
	FAILS("--enable-tso does not apply to --socket-type vhost-user", "--fd", "3",
	      "--socket-type=vhost-user", "--enable-tso", "--enable-checksum-offload");
	FAILS("--enable-checksum-offload does not apply", "--fd", "3",
	      "--socket-type=vhost-user", "--enable-checksum-offload");
	FAILS("--socket-type requires an argument", "--socket", "/tmp/x.sock", "--socket-type");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	FAILS("--socket", "--socket", longpath);
	longpath[107] = '\0';  /* 107 bytes + NUL: exactly fits sun_path */
	OK("--socket", longpath);
	longpath[107] = 'a';
	longpath[108] = '\0';
	FAILS("--socket", "--socket", longpath);
}

/* --broker-fd: vmnet-broker's connection, beside the VM's --fd. */
static void test_broker_fd(void)
{
	OK("--fd", "3");
	CHECK(o.broker_fd == -1);
	OK("--broker-fd", "4", "--fd", "3");
	CHECK(o.broker_fd == 4 && o.fd == 3);
	FAILS("--broker-fd needs --fd", "--broker-fd", "4", "--socket", "/tmp/x.sock");
	FAILS("--broker-fd needs --fd, another", "--broker-fd", "3", "--fd", "3");
	FAILS("invalid --broker-fd \"2\"", "--broker-fd", "2", "--fd", "3");
	FAILS("invalid --broker-fd \"x\"", "--broker-fd", "x", "--fd", "3");
}

static void test_values(void)
{
	FAILS("--interface-id", "--fd", "3", "--interface-id", "not-a-uuid");
	FAILS("--interface-id", "--fd", "3", "--interface-id", "");
	FAILS("--operation-mode", "--fd", "3", "--operation-mode", "nat");
	FAILS("--operation-mode", "--fd", "3", "--operation-mode", "");
	FAILS("--stats-interval", "--fd", "3", "--stats-interval", "0");
	FAILS("--stats-interval", "--fd", "3", "--stats-interval", "86401");
	FAILS("--stats-interval", "--fd", "3", "--stats-interval", "-5");
	FAILS("--stats-interval", "--fd", "3", "--stats-interval", "1.5");
	FAILS("--stats-interval", "--fd", "3", "--stats-interval", "ten");
	FAILS("--mtu", "--fd", "3", "--mtu", "1279");
	FAILS("--mtu", "--fd", "3", "--mtu", "65521");
	FAILS("--mtu", "--fd", "3", "--mtu", "9000.5");
	FAILS("--mtu", "--fd", "3", "--mtu", "+9000");
	FAILS("--mtu", "--fd", "3", "--mtu", "jumbo");
	FAILS("--mtu", "--fd", "3", "--mtu", "");
	FAILS("--shared-interface", "--fd", "3", "--operation-mode", "bridged",
	      "--shared-interface", "");
	FAILS("--shared-interface", "--fd", "3", "--operation-mode", "bridged",
	      "--shared-interface", "a-very-long-interface-name");
}

static void test_bridged(void)
{
	FAILS("--shared-interface", "--fd", "3", "--operation-mode", "bridged");
	FAILS("--enable-isolation", "--fd", "3", "--operation-mode", "bridged",
	      "--shared-interface", "eth0", "--enable-isolation");
	FAILS("--start-address", "--fd", "3", "--operation-mode", "bridged",
	      "--shared-interface", "eth0", "--start-address", "192.168.1.1",
	      "--end-address", "192.168.1.10", "--subnet-mask", "255.255.255.0");
	FAILS("--subnet-mask", "--fd", "3", "--operation-mode", "bridged",
	      "--shared-interface", "eth0", "--subnet-mask", "255.255.255.0");
	FAILS("--mtu", "--fd", "3", "--operation-mode", "bridged", "--shared-interface", "eth0",
	      "--mtu", "9000");
	FAILS("--shared-interface", "--fd", "3", "--shared-interface", "eth0");
	FAILS("--shared-interface", "--fd", "3", "--operation-mode", "host",
	      "--shared-interface", "eth0");
}

#define RANGE(s, e, m) "--fd", "3", "--start-address", s, "--end-address", e, "--subnet-mask", m

static void test_address_rules(void)
{
	/* All three or none. */
	FAILS("--end-address", "--fd", "3", "--start-address", "192.168.1.1");
	FAILS("--start-address", "--fd", "3", "--end-address", "192.168.1.9",
	      "--subnet-mask", "255.255.255.0");
	FAILS("--subnet-mask", "--fd", "3", "--start-address", "192.168.1.1",
	      "--end-address", "192.168.1.9");
	/* Each must parse. */
	FAILS("invalid --start-address \"1.2.3\": not an IPv4 address",
	      RANGE("1.2.3", "192.168.1.9", "255.255.255.0"));
	FAILS("--end-address \"192.168.1.256\"", RANGE("192.168.1.1", "192.168.1.256", "255.255.255.0"));
	FAILS("--subnet-mask \"/24\"", RANGE("192.168.1.1", "192.168.1.9", "/24"));
	/* The mask is contiguous and not zero. */
	FAILS("--subnet-mask", RANGE("192.168.1.1", "192.168.1.9", "255.0.255.0"));
	FAILS("--subnet-mask", RANGE("192.168.1.1", "192.168.1.9", "0.0.0.0"));
	FAILS("--subnet-mask", RANGE("192.168.1.1", "192.168.1.9", "0.255.255.255"));
	/* Private addresses only, and a subnet that stays private. */
	FAILS("--start-address", RANGE("8.8.8.1", "8.8.8.9", "255.255.255.0"));
	FAILS("--start-address", RANGE("100.64.0.1", "100.64.0.9", "255.255.255.0"));
	FAILS("--end-address", RANGE("192.168.255.1", "192.169.0.9", "255.254.0.0"));
	FAILS("--subnet-mask", RANGE("172.16.0.1", "192.168.0.9", "128.0.0.0"));
	FAILS("--subnet-mask", RANGE("192.168.1.1", "192.168.1.9", "255.0.0.0"));
	FAILS("--subnet-mask", RANGE("10.0.0.1", "10.0.0.9", "254.0.0.0"));
	/* start < end */
	FAILS("--end-address", RANGE("192.168.1.9", "192.168.1.1", "255.255.255.0"));
	FAILS("--end-address", RANGE("192.168.1.9", "192.168.1.9", "255.255.255.0"));
	/* Same subnet. */
	FAILS("--end-address", RANGE("192.168.1.1", "192.168.2.9", "255.255.255.0"));
	FAILS("--end-address", RANGE("192.168.105.1", "192.168.105.6", "255.255.255.252"));
	/* Not the network address, not the broadcast address. */
	FAILS("--start-address", RANGE("192.168.1.0", "192.168.1.9", "255.255.255.0"));
	FAILS("--end-address", RANGE("192.168.1.1", "192.168.1.255", "255.255.255.0"));
	FAILS("--start-address", RANGE("192.168.105.252", "192.168.105.254", "255.255.255.252"));
	FAILS("--end-address", RANGE("192.168.105.253", "192.168.105.255", "255.255.255.252"));
	/* A /31 or /32 leaves no room for a gateway and a client. */
	FAILS("--", RANGE("192.168.1.1", "192.168.1.2", "255.255.255.254"));
	FAILS("--", RANGE("192.168.1.1", "192.168.1.2", "255.255.255.255"));
	/* Host mode validates its addresses too. */
	FAILS("--start-address", "--operation-mode", "host", RANGE("8.8.8.1", "8.8.8.9", "255.255.255.0"));
}

static void test_address_networks(void)
{
	OK(RANGE("10.0.0.1", "10.255.255.254", "255.0.0.0"));
	CHECK(o.start == 0x0a000001u && o.end == 0x0afffffeu && o.mask == 0xff000000u);
	OK(RANGE("172.16.0.1", "172.31.255.254", "255.240.0.0"));
	CHECK(o.start == 0xac100001u && o.end == 0xac1ffffeu && o.mask == 0xfff00000u);
	OK(RANGE("192.168.0.1", "192.168.255.254", "255.255.0.0"));
	CHECK(o.start == 0xc0a80001u && o.end == 0xc0a8fffeu && o.mask == 0xffff0000u);
	OK(RANGE("192.168.105.1", "192.168.105.2", "255.255.255.252"));
	CHECK(o.start == 0xc0a86901u && o.end == 0xc0a86902u && o.mask == 0xfffffffcu);
	OK(RANGE("192.168.105.253", "192.168.105.254", "255.255.255.252"));
	CHECK(o.start == 0xc0a869fdu && o.end == 0xc0a869feu);
	OK("--operation-mode", "host", RANGE("172.20.5.1", "172.20.5.50", "255.255.255.0"));
	CHECK(o.mode == MODE_HOST && o.start == 0xac140501u);
	/* The range need not span the subnet. */
	OK(RANGE("10.1.2.3", "10.1.2.4", "255.255.0.0"));
}

static void test_misc(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	static const char *const names[] = {
		"--fd", "--socket", "--interface-id", "--operation-mode", "--start-address",
		"--end-address", "--subnet-mask", "--shared-interface", "--enable-isolation",
		"--enable-tso", "--enable-checksum-offload", "--list-shared-interfaces",
		"--stats-interval", "--verbose", "-v", "--version", "--help", "-h",
	};

	options_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(strstr(text, names[i]) != NULL);
	free(text);

	CHECK_STR(options_mode_name(MODE_SHARED), "shared");
	CHECK_STR(options_mode_name(MODE_HOST), "host");
	CHECK_STR(options_mode_name(MODE_BRIDGED), "bridged");

	/* A small error buffer is truncated, not overrun. */
	{
		char small[8] = "zzzzzzz";
		char *argv[] = { "vmnet-helper", "--bogus", NULL };

		CHECK(options_parse(&o, 2, argv, small, 8) == -1);
		CHECK(strlen(small) == 7);
	}
	/* State does not leak between calls. */
	OK("--fd", "3", "--enable-tso", "--enable-checksum-offload");
	OK("--fd", "3");
	CHECK(!o.enable_tso && !o.enable_checksum_offload);
	/* Offload: checksum alone is fine, TSO needs it. */
	OK("--fd", "3", "--enable-checksum-offload");
	CHECK(o.enable_checksum_offload && !o.enable_tso);
	FAILS("--enable-tso requires --enable-checksum-offload", "--fd", "3", "--enable-tso");
}

static void test_network(void)
{
	OK("--fd", "3", "--network", "lab-1.x_y");
	CHECK(o.network && strcmp(o.network, "lab-1.x_y") == 0);
	OK("--fd", "3", "--network", "shared", "--enable-isolation", "--interface-id",
	   "2835E074-9892-4A79-AFFB-7E41D2605678", "--enable-checksum-offload");
	/* As upstream: not with the options the network decides. */
	FAILS("--network cannot be used with --operation-mode", "--fd", "3", "--network", "lab",
	      "--operation-mode", "shared");
	FAILS("--network cannot be used with --shared-interface", "--fd", "3", "--network", "lab",
	      "--shared-interface", "eth0");
	FAILS("--network cannot be used with --start-address", "--fd", "3", "--network", "lab",
	      "--start-address", "10.0.0.1");
	FAILS("--network cannot be used with --end-address", "--fd", "3", "--end-address",
	      "10.0.0.9", "--network", "lab");
	FAILS("--network cannot be used with --subnet-mask", "--fd", "3", "--network", "lab",
	      "--subnet-mask", "255.255.255.0");
	FAILS("Conflicting arguments: --network cannot be used with --operation-mode", "--fd", "3",
	      "--network", "lab", "--operation-mode", "host");
	/* --mtu is not one of them: it goes with the network's own (below). */
	OK("--fd", "3", "--network", "lab", "--mtu", "9000");
	FAILS("invalid --network \"a b\"", "--fd", "3", "--network", "a b");
	FAILS("invalid --network \"\"", "--fd", "3", "--network", "");
	FAILS("invalid --network", "--fd", "3", "--network", "0123456789012345678901234567890123");
	FAILS("requires an argument", "--fd", "3", "--network");
	/* The network's settings. */
	OK("--fd", "3", "--network", "lab");
	CHECK(options_set_network(&o, MODE_HOST, 0, 0, 0, NULL, true, 0, err, sizeof(err)) == 0);
	CHECK(o.mode == MODE_HOST && o.start == HOST_DEFAULT_START && o.end == HOST_DEFAULT_END &&
	      o.mask == DEFAULT_MASK && o.enable_isolation && o.mtu == 0);
	OK("--fd", "3", "--network", "lab");
	CHECK(options_set_network(&o, MODE_SHARED, 0x0a000001u, 0x0a0000feu, 0xffffff00u, NULL,
				  false, 9000, err, sizeof(err)) == 0);
	CHECK(o.start == 0x0a000001u && o.end == 0x0a0000feu && o.mtu == 9000 && !o.enable_isolation);
	/* --mtu: chooses when the network sets none, may repeat the one it sets. */
	OK("--fd", "3", "--network", "lab", "--mtu", "9000");
	CHECK(options_set_network(&o, MODE_HOST, 0, 0, 0, NULL, false, 0, err, sizeof(err)) == 0);
	CHECK(o.mtu == 9000);
	OK("--fd", "3", "--network", "lab", "--mtu", "9000");
	CHECK(options_set_network(&o, MODE_HOST, 0, 0, 0, NULL, false, 9000, err, sizeof(err)) == 0);
	CHECK(o.mtu == 9000);
	OK("--fd", "3", "--network", "lab", "--mtu", "4000");
	CHECK(options_set_network(&o, MODE_HOST, 0, 0, 0, NULL, false, 9000, err, sizeof(err)) == -1);
	CHECK_STR(err, "--mtu 4000 cannot be used with network \"lab\": its MTU is 9000");
	OK("--fd", "3", "--network", "lan", "--mtu", "9000");
	CHECK(options_set_network(&o, MODE_BRIDGED, 0, 0, 0, "eth1", false, 0, err,
				  sizeof(err)) == -1);
	CHECK(strstr(err, "--mtu cannot be used with network \"lan\"") != NULL);
	OK("--fd", "3", "--network", "lan", "--enable-isolation");
	CHECK(options_set_network(&o, MODE_BRIDGED, 0, 0, 0, "eth1", false, 0, err,
				  sizeof(err)) == -1);
	CHECK(strstr(err, "--enable-isolation cannot be used with network \"lan\"") != NULL);
	OK("--fd", "3", "--network", "lan");
	CHECK(options_set_network(&o, MODE_BRIDGED, 0, 0, 0, "eth1", false, 0, err, sizeof(err)) == 0);
	CHECK(o.mode == MODE_BRIDGED && strcmp(o.shared_interface, "eth1") == 0 && o.start == 0);
	CHECK(options_network_name_valid("a") && !options_network_name_valid("a/b"));
}

/* --pcap, its bound and its ring; the ring's file names. */
static void test_pcap(void)
{
	char name[64];

	OK("--fd", "3");
	CHECK(o.pcap == NULL && o.pcap_size == 0);
	OK("--fd", "3", "--pcap", "/tmp/vm.pcapng");
	CHECK(strcmp(o.pcap, "/tmp/vm.pcapng") == 0 && o.pcap_files == 1 && o.pcap_size == 0);
	OK("--fd", "3", "--pcap", "vm.pcapng", "--pcap-size", "10");
	CHECK(o.pcap_size == 10 && o.pcap_files == 1);
	OK("--fd", "3", "--pcap", "vm.pcapng", "--pcap-size", "1", "--pcap-files", "100");
	CHECK(o.pcap_size == 1 && o.pcap_files == 100);
	OK("--fd", "3", "--pcap", "vm.pcapng", "--pcap-files", "1");
	FAILS("--pcap-size requires --pcap", "--fd", "3", "--pcap-size", "1");
	FAILS("--pcap-files requires --pcap", "--fd", "3", "--pcap-files", "2");
	FAILS("--pcap-files requires --pcap-size", "--fd", "3", "--pcap", "x", "--pcap-files", "2");
	FAILS("invalid --pcap-size", "--fd", "3", "--pcap", "x", "--pcap-size", "0");
	FAILS("invalid --pcap-size", "--fd", "3", "--pcap", "x", "--pcap-size", "1000001");
	FAILS("invalid --pcap-files", "--fd", "3", "--pcap", "x", "--pcap-size", "1",
	      "--pcap-files", "101");
	FAILS("empty path", "--fd", "3", "--pcap", "");
	FAILS("requires an argument", "--fd", "3", "--pcap");
	/* --pcap-fd: the files open already (vmnet-broker's), one per file. */
	OK("--fd", "3", "--broker-fd", "4", "--pcap-fd", "5", "--pcap", "x");
	CHECK(o.pcap_fd == 5 && o.pcap_files == 1);
	OK("--fd", "3", "--pcap-fd", "9", "--pcap", "x", "--pcap-size", "1", "--pcap-files", "3");
	CHECK(o.pcap_fd == 9 && o.pcap_files == 3);
	FAILS("--pcap-fd requires --pcap", "--fd", "3", "--pcap-fd", "5");
	FAILS("invalid --pcap-fd \"2\"", "--fd", "3", "--pcap", "x", "--pcap-fd", "2");
	FAILS("invalid --pcap-fd", "--fd", "3", "--pcap", "x", "--pcap-fd", "2147483600");
	FAILS("descriptors 4 to 6 (one per --pcap file) cannot hold --fd or --broker-fd", "--fd",
	      "6", "--pcap", "x", "--pcap-fd", "4", "--pcap-size", "1", "--pcap-files", "3");
	FAILS("cannot hold --fd or --broker-fd", "--fd", "3", "--broker-fd", "5", "--pcap", "x",
	      "--pcap-fd", "5");

	CHECK(options_pcap_file("a", 1, 0, name, sizeof(name)) == 0 && strcmp(name, "a") == 0);
	CHECK(options_pcap_file("a", 3, 2, name, sizeof(name)) == 0 && strcmp(name, "a2") == 0);
	CHECK(options_pcap_file("a", 10, 0, name, sizeof(name)) == 0 && strcmp(name, "a0") == 0);
	CHECK(options_pcap_file("a", 11, 3, name, sizeof(name)) == 0 && strcmp(name, "a03") == 0);
	CHECK(options_pcap_file("a", 100, 99, name, sizeof(name)) == 0 &&
	      strcmp(name, "a99") == 0);
	CHECK(options_pcap_file("abc", 3, 1, name, 4) == -1);
}

static void tests(void)
{
	test_broker_fd();
	test_defaults();
	test_all_options();
	test_early_exit();
	test_syntax_errors();
	test_endpoint();
	test_values();
	test_bridged();
	test_address_rules();
	test_address_networks();
	test_misc();
	test_network();
	test_pcap();
}

T_MAIN
