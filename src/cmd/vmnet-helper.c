/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-helper: gives an unprivileged VM process a network interface.
 * main() is the whole life of a helper, one step a line, in the order the
 * processes and their rights change (docs/hacking.md has the map):
 *
 *   as started    the command line, inherited descriptors; run by a user
 *                 who is not root, the request to vmnet-broker, which
 *                 starts this same program as root (client/brokerclient.h)
 *   root, setup   setup/setup.h (with --socket, the files process is forked
 *                 here: the user's identity, files/sockfile.h)
 *   the reaper    forked by start_reaper(): uid 0 with CAP_NET_ADMIN alone,
 *                 waits to tear down (reaper/reaper.h, reaper/teardown.h)
 *   the datapath  this process from datapath_confine() on: the user, no
 *                 capabilities, seccomp (datapath/datapath.h)
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/brokerclient.h"
#include "common/helper.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "datapath/datapath.h"
#include "reaper/teardown.h"
#include "setup/bridged.h"
#include "setup/setup.h"
#include "common/version.h"

static void parse_options(struct helper *h, int argc, char **argv)
{
	char err[256];

	if (options_parse(&h->opt, argc, argv, err, sizeof(err)) < 0) {
		ERROR("main", "%s", err);
		exit(EXIT_FAILURE);
	}
	if (h->opt.help) {
		options_usage(stdout);
		exit(0);
	}
	if (h->opt.version) {
		version_print(stdout, "vmnet-helper");
		exit(0);
	}
	log_set_verbose(h->opt.verbose);
}

/* Nothing inherited survives but stdio, the VM's --fd, and from the broker
 * its connection and --pcap-fd's files: a descriptor left open by whoever
 * started us is no business of the VM's helper. */
static void close_inherited(const struct helper *h)
{
	int keep[2 + PCAP_FILES_MAX] = { h->opt.fd, h->opt.broker_fd };
	size_t n = 2;
	int rc;

	for (unsigned i = 0; h->opt.pcap_fd >= 0 && i < h->opt.pcap_files; i++)
		keep[n++] = h->opt.pcap_fd + (int)i;
	rc = priv_close_inherited(keep, n);

	if (rc < 0) {
		ERROR("main", "cannot close inherited descriptors: %s", strerror(-rc));
		exit(EXIT_FAILURE);
	}
}

/* Started by vmnet-broker: the exit status goes back to the user's side,
 * from whichever process exits (setup's refusals included). */
static void report_to_broker(const struct helper *h)
{
	if (h->opt.broker_fd < 0)
		return;
	fcntl(h->opt.broker_fd, F_SETFD, FD_CLOEXEC);
	if (lifeline_report_exit(h->opt.broker_fd) < 0) {
		ERROR("main", "cannot report the exit status to vmnet-broker's client");
		exit(EXIT_FAILURE);
	}
}

/* A user who is not root: vmnet-broker starts the helper; this process
 * stands in for it until it ends (never returns). */
static void ask_broker(const struct helper *h, int argc, char **argv)
{
	if (geteuid() != 0)
		brokerclient_run(&h->opt, argc, argv);
}

/* Needs no root: a link dump. */
static void list_shared_interfaces(const struct options *o)
{
	if (!o->list_shared_interfaces)
		return;
	exit(bridged_list(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* The fork of the reaper: from here on the only root process left. */
static void start_reaper(struct helper *h)
{
	/* Setup (libnftables above all) leaves freed heap behind; give it back
	 * before the fork so neither the reaper nor the datapath keeps it resident. */
	malloc_trim(0);
	if (reaper_start(&h->reaper, teardown, teardown_answer, h) < 0) {
		tap_close(&h->tap);
		/* A reaper that could not confine itself still tears down. */
		if (h->reaper.pid < 0)
			teardown(h);
		exit(EXIT_FAILURE);
	}
}

int main(int argc, char **argv)
{
	static struct helper h = HELPER_INIT;

	parse_options(&h, argc, argv);
	close_inherited(&h);
	list_shared_interfaces(&h.opt);
	ask_broker(&h, argc, argv);
	report_to_broker(&h);
	/* Root, in this process. */
	setup_block_signals(&h);
	setup_require_root();
	setup_identify_user(&h);
	setup_lifeline(&h);
	setup_load_policy(&h);
	setup_identify(&h);
	setup_check(&h);
	setup_transport(&h);
	setup_capture(&h);
	setup_network(&h);
	setup_dns(&h);
	setup_status(&h);
	/* The reaper: root, CAP_NET_ADMIN alone, until teardown. */
	start_reaper(&h);
	setup_dns_done(&h);
	/* This process becomes the datapath: the user, sandboxed. */
	datapath_confine(&h);
	datapath_print_json(&h);
	datapath_start_dns(&h);
	datapath_wait_for_client(&h);
	datapath_start_forwarding(&h);
	datapath_wait_for_termination(&h);
	datapath_finish(&h, EXIT_SUCCESS);
}
