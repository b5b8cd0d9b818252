/* SPDX-License-Identifier: Apache-2.0 */
/* Command line: parsing and validation, no side effects. */
#ifndef VMNET_OPTIONS_H
#define VMNET_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uuid.h>

enum op_mode { MODE_SHARED, MODE_HOST, MODE_BRIDGED };

/* The administrator's policy file (policy.h). Fixed at build time
 * (make SYSCONFDIR=...), never chosen at run time. */
#ifndef VMNET_CONF
#define VMNET_CONF "/etc/vmnet-helper/vmnet-helper.conf"
#endif

struct options {
	int fd;                     /* -1 when --socket is used */
	int broker_fd;              /* --broker-fd: the connection to the user's process
				       that asked vmnet-broker for this helper (-1: none) */
	const char *socket_path;    /* NULL when --fd is used */
	int socket_type;            /* --socket-type: SOCK_DGRAM (default) or SOCK_STREAM;
				       with --fd, 0 unless given (the socket's own type) */
	bool vhost_user;            /* --socket-type vhost-user: a stream socket serving
				       the vhost-user protocol (datapath/vhost.h) */
	uuid_t interface_id;
	bool interface_id_set;      /* false: main() generates a random one */
	enum op_mode mode;
	uint32_t start, end, mask;  /* host byte order; defaults filled per mode */
	bool auto_network;          /* shared/host without the three address options:
				       the default network, or the next free one */
	const char *shared_interface;
	bool enable_isolation;
	bool enable_tso;
	bool enable_checksum_offload;
	bool list_shared_interfaces;
	unsigned stats_interval;    /* seconds, 0 = off */
	unsigned mtu;               /* --mtu, shared and host mode; 0: omitted (the
				     * network's own MTU, DEFAULT_MTU for a new one) */
	const char *network;        /* --network NAME: mode, addresses and interface
				     * come from the named network (options_set_network) */
	const char *pcap;           /* --pcap FILE: capture every frame (NULL: off) */
	unsigned pcap_size;         /* --pcap-size MB: each file's bound, 10^6 bytes (0: none) */
	unsigned pcap_files;        /* --pcap-files N: a ring of N files (1: FILE alone) */
	int pcap_fd;                /* --pcap-fd: --pcap's files, open already, on this
				       descriptor and the pcap_files - 1 after it; FILE
				       then only names them in messages (-1: none, the
				       helper opens FILE as the user itself) */
	bool verbose;
	bool version;
	bool help;
};

/* Where a user's vmnet-helper finds vmnet-broker ($VMNET_BROKER_SOCKET
 * overrides it; vmnet-broker(8)). */
#ifndef VMNET_BROKER_SOCKET
#define VMNET_BROKER_SOCKET "/run/vmnet-helper/broker.sock"
#endif

/* Default networks: shared and host differ so both can exist side by side. */
#define SHARED_DEFAULT_START 0xc0a86901u /* 192.168.105.1 */
#define SHARED_DEFAULT_END   0xc0a869feu /* 192.168.105.254 */
#define HOST_DEFAULT_START   0xc0a86a01u /* 192.168.106.1 */
#define HOST_DEFAULT_END     0xc0a86afeu /* 192.168.106.254 */
#define DEFAULT_MASK         0xffffff00u

/* --mtu: 1280 is IPv6's minimum (shared mode networks carry IPv6); 65520 is
 * the largest MTU whose frame (plus the 14-byte Ethernet header) fits a 64 KiB
 * datagram, as QEMU's dgram and stream backends carry (and passt offers). */
#define DEFAULT_MTU 1500
#define MIN_MTU     1280
#define MAX_MTU     65520

/*
 * Parse and validate argv. Returns 0 on success, -1 on a bad invocation with
 * a one-line reason (no trailing newline) in err. --help/--version only set
 * the flags; the caller acts on them.
 */
int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen);

/* Network names (--network, [network NAME]): 1..31 of [A-Za-z0-9_.-]. */
#define NETWORK_NAME_MAX 31
bool options_network_name_valid(const char *name);

/*
 * --network: what the named network says, in place of the options that
 * options_parse refused next to --network. start/end/mask 0: the mode's
 * default network. isolation: every VM of the network is isolated. mtu 0:
 * none set (--mtu, if given, chooses it); else --mtu may only repeat it.
 * 0, or -1 with a one-line reason in err (--enable-isolation or --mtu on a
 * bridged network, another --mtu than the network's).
 */
int options_set_network(struct options *o, enum op_mode mode, uint32_t start, uint32_t end,
			uint32_t mask, const char *shared_interface, bool isolation, unsigned mtu,
			char *err, size_t errlen);

/* --pcap-size (millions of bytes, as tcpdump's -C) and --pcap-files. */
#define PCAP_SIZE_MAX  1000000
#define PCAP_FILES_MAX 100

/*
 * The name of capture file i of nfiles: path itself for a single file; for
 * a ring, path followed by i, zero-padded to the width of nfiles - 1 (as
 * tcpdump -W names them: FILE0..FILE9, FILE00..FILE99). 0, or -1 if it
 * does not fit in len.
 */
int options_pcap_file(const char *path, unsigned nfiles, unsigned i, char *buf, size_t len);

/*
 * For vmnet-broker: argv[1..argc) of a user's request without --fd and
 * --socket (and their arguments), which name the user's descriptor or
 * path: the broker passes the socket it received instead. The kept words
 * go to out (pointers into argv, at most cap). A word that is not an
 * option of the helper's, a positional argument, --broker-fd and
 * --pcap-fd (the broker's to give), and --help, --version and
 * --list-shared-interfaces (answered by the user's own vmnet-helper) are
 * refused. The number kept, or -1 with a one-line reason in err. No I/O.
 */
int options_strip_endpoint(int argc, char **argv, char **out, int cap, char *err, size_t errlen);

/* Usage text for --help. */
void options_usage(FILE *out);

const char *options_mode_name(enum op_mode mode);

#endif
