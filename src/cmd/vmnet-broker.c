/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-broker: starts vmnet-helper for the members of a group, without
 * sudo (vmnet-broker(8), docs/security.md). A root daemon; main() a flat
 * list of steps:
 *
 *   as started    the command line; root by the caller's choice
 *   its socket    from systemd (LISTEN_FDS), or --listen PATH (broker/listen.h)
 *   the loop      each request read from a connection becomes one root
 *                 vmnet-helper run as sudo would run it (broker/server.h,
 *                 broker/spawn.h); the broker keeps nothing a running VM needs
 */
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/listen.h"
#include "broker/server.h"
#include "common/log.h"
#include "common/version.h"
#include "common/options.h"

/* The helper it runs: the installed one (the package's Makefile sets it). */
#ifndef VMNET_HELPER_BIN
#define VMNET_HELPER_BIN VMNET_PREFIX "/bin/vmnet-helper"
#endif
#define DEFAULT_GROUP "vmnet"

struct broker {
	const char *listen_path;   /* --listen; NULL: systemd's socket */
	const char *group;
	const char *helper;
	struct server_config cfg;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vmnet-broker [--listen PATH [--group NAME]] [--helper PATH] [-v]\n"
		"\n"
		"Starts vmnet-helper, as root, for the members of a group who ask on its\n"
		"socket (a user's vmnet-helper or vmnet-run does), exactly as sudo would.\n"
		"Without --listen it takes its socket from systemd (vmnet-broker.socket).\n"
		"\n"
		"  --listen PATH   listen on a unix SOCK_SEQPACKET socket of its own at PATH\n"
		"                  (mode 0660, root and the group; e.g. " VMNET_BROKER_SOCKET ")\n"
		"  --group NAME    the group whose members may ask (default " DEFAULT_GROUP ")\n"
		"  --helper PATH   the vmnet-helper to run (default " VMNET_HELPER_BIN ")\n"
		"  -v, --verbose   debug logging\n"
		"      --version   print the version and exit\n"
		"  -h, --help      print this help and exit\n");
}

static _Noreturn void die(const char *what, const char *arg)
{
	char line[512];

	snprintf(line, sizeof(line), what, arg);
	ERROR("broker", "%s", line);
	exit(EXIT_FAILURE);
}

static void parse_options(struct broker *b, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' }, { "group", required_argument, NULL, 'g' },
		{ "helper", required_argument, NULL, 'H' }, { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:vh", longs, NULL)) != -1) {
		switch (opt) {
		case 'l': b->listen_path = optarg; break;
		case 'g': b->group = optarg; break;
		case 'H': b->helper = optarg; break;
		case 'v': log_set_verbose(true); break;
		case 'V': version_print(stdout, "vmnet-broker"); exit(0);
		case 'h': usage(stdout); exit(0);
		case ':': die("option %s requires an argument", argv[optind - 1]);
		default: die("unknown option \"%s\" (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\"", argv[optind]);
}

/* Root by the caller's choice: the helpers it starts need it. */
static void require_root(void)
{
	umask(022);
	if (geteuid() != 0 || getuid() != 0)
		die("%s", "vmnet-broker must run as root");
}

static void find_group(struct broker *b)
{
	const struct group *g = getgrnam(b->group);

	if (!g)
		die("no group \"%s\": create it (groupadd --system vmnet) or choose another with "
		    "--group", b->group);
	b->cfg.gid = g->gr_gid;
	b->cfg.group = b->group;
}

/* A program root executes for users: root's, and writable by no one else. */
static void check_helper(const struct broker *b)
{
	struct stat st;

	if (b->helper[0] != '/' || stat(b->helper, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & S_IXUSR))
		die("--helper \"%s\" is not an executable file (an absolute path)", b->helper);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		die("--helper \"%s\" must be owned by root and writable by no one else", b->helper);
}

static void open_socket(struct broker *b)
{
	int rc = listen_from_systemd(&b->cfg.listen_fd);

	if (rc < 0)
		exit(EXIT_FAILURE);
	if (rc > 0 && b->listen_path)
		die("%s", "--listen given, but systemd passed a socket too");
	if (rc == 0 && !b->listen_path)
		die("%s", "no socket from systemd (LISTEN_FDS): start it with vmnet-broker.socket, "
		    "or give --listen PATH");
	if (rc == 0 && listen_at(b->listen_path, b->cfg.gid, &b->cfg.listen_fd) < 0)
		exit(EXIT_FAILURE);
	INFO("broker", "vmnet-broker %s: members of group %s may ask on %s; running %s",
	     version_string(), b->group, b->listen_path ? b->listen_path : "the socket from systemd",
	     b->helper);
}

int main(int argc, char **argv)
{
	static struct broker b = { .group = DEFAULT_GROUP, .helper = VMNET_HELPER_BIN };
	int rc;

	log_set_process("broker");
	parse_options(&b, argc, argv);
	require_root();
	find_group(&b);
	check_helper(&b);
	b.cfg.helper = b.helper;
	open_socket(&b);
	rc = server_run(&b.cfg);
	if (b.listen_path)
		listen_remove(b.listen_path, b.cfg.listen_fd);
	return rc;
}
