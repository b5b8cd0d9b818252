/* SPDX-License-Identifier: Apache-2.0 */
/* The administrator's policy: parsing, named networks, what users may do. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "setup/policy.h"
#include "t.h"

static int parse(const char *text, struct policy *p, char *err)
{
	return policy_parse(text, strlen(text), p, err, 256);
}

static void test_defaults(void)
{
	struct policy p;
	char err[256];

	CHECK(parse("", &p, err) == 0);
	CHECK(p.nsubnets == 5 && p.bridged && p.bridged_physical && p.ninterfaces == 0);
	CHECK(p.max_helpers == POLICY_DEFAULT_MAX_HELPERS && !p.named_only && p.nnetworks == 0);
	/* Users: the range kept for VMs, 192.168.105.0-192.168.255.255, and
	 * nothing else of RFC 1918. */
	CHECK(policy_allows_subnet(&p, 0xc0a86901u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a86a01u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a8ff01u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a86901u, 0xfffffff0u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a86801u, 0xffffff00u, err, sizeof(err)) == -1);
	CHECK_STR(err, "subnet 192.168.104.0/24 is not allowed: users may create networks in "
		  "192.168.105.0-192.168.255.255 (" VMNET_CONF ")");
	CHECK(policy_allows_subnet(&p, 0x0a370001u, 0xffffff00u, err, sizeof(err)) == -1);
	CHECK(policy_allows_subnet(&p, 0xc0a86901u, 0xfffffe00u, err, sizeof(err)) == -1);
	CHECK(policy_allows_subnet(&p, 0xc0a88001u, 0xffff8000u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a80001u, 0xffff0000u, err, sizeof(err)) == -1);
	/* A quarter of the pool, at least one. */
	CHECK(p.max_leases_percent && p.max_leases == 25);
	CHECK(policy_max_leases(&p, 253) == 63 && policy_max_leases(&p, 13) == 3);
	CHECK(policy_max_leases(&p, 1) == 1 && policy_max_leases(&p, 0) == 1);
	CHECK(policy_max_leases(&p, 16777213) == 4194303);
	CHECK(parse("# only a comment\n\n   \t\n", &p, err) == 0);
	/* The built-in networks. */
	CHECK(policy_network(&p, "shared") && policy_network(&p, "shared")->mode == MODE_SHARED);
	CHECK(policy_network(&p, "host") && policy_network(&p, "host")->mode == MODE_HOST);
	CHECK(policy_network(&p, "bridged") == NULL && policy_network(&p, "") == NULL);
}

static const char *full =
	"# the lab's policy\n"
	"subnets = 192.168.0.0/16, 10.20.0.0/16 # two ranges\n"
	"bridged = yes\n"
	"bridged-interfaces = physical br-lan,docker0\n"
	"max-helpers-per-user = 8\n"
	"named-networks-only = no\n"
	"\n"
	"[network lab]\n"
	"mode = host\n"
	"start-address = 10.20.0.1\n"
	"end-address = 10.20.0.254\r\n"
	"subnet-mask = 255.255.255.0\n"
	"isolation = yes\n"
	"mtu = 9000\n"
	"[ network  lan ]\n"
	"\tmode = bridged\n"
	"\tshared-interface = eth1\n"
	"[network shared]\n"
	"mode = shared\n"
	"start-address = 192.168.50.1\n"
	"end-address = 192.168.50.100\n"
	"subnet-mask = 255.255.255.0";

static void test_full(void)
{
	struct policy p;
	char err[256];
	const struct policy_network *n;

	CHECK(parse(full, &p, err) == 0);
	CHECK_STR(err, "");
	CHECK(p.nsubnets == 2 && p.subnets[1].addr == 0x0a140000u && p.subnets[1].mask == 0xffff0000u);
	CHECK(p.bridged && p.bridged_physical && p.ninterfaces == 2);
	CHECK_STR(p.bridged_interfaces[0], "br-lan");
	CHECK_STR(p.bridged_interfaces[1], "docker0");
	CHECK(p.max_helpers == 8 && !p.named_only && p.nnetworks == 3);
	n = policy_network(&p, "lab");
	CHECK(n && n->mode == MODE_HOST && n->start == 0x0a140001u && n->end == 0x0a1400feu &&
	      n->mask == 0xffffff00u && n->isolation && n->mtu == 9000);
	n = policy_network(&p, "lan");
	CHECK(n && n->mode == MODE_BRIDGED);
	CHECK(n && strcmp(n->shared_interface, "eth1") == 0);
	/* A definition of "shared" replaces the built-in one. */
	n = policy_network(&p, "shared");
	CHECK(n && n->start == 0xc0a83201u);
	CHECK(policy_network(&p, "host") && policy_network(&p, "host")->start == 0);
	CHECK(policy_network(&p, "LAB") == NULL);
}

static void test_malformed(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "subnets 10.0.0.0/8", "line 1: expected \"key = value\"" },
		{ "\n\nfoo = 1", "line 3: unknown setting \"foo\"" },
		{ "bridged = maybe", "line 1: bridged: \"maybe\" is not yes or no" },
		{ "bridged =", "line 1: \"bridged\" has no value" },
		{ "bridged = yes\nbridged = no", "line 2: \"bridged\" is set twice" },
		{ "max-helpers-per-user = 0", "line 1: max-helpers-per-user" },
		{ "max-helpers-per-user = 12345678901", "line 1: max-helpers-per-user" },
		{ "max-helpers-per-user = -1", "line 1: max-helpers-per-user" },
		{ "subnets = 10.0.0.0", "line 1: subnets: \"10.0.0.0\" is not ADDRESS/PREFIX" },
		{ "subnets = 10.0.0.1/8", "line 1: subnets: \"10.0.0.1/8\" has host bits set" },
		{ "subnets = 8.8.0.0/16", "line 1: subnets: \"8.8.0.0/16\" is not inside" },
		{ "subnets = 10.0.0.0/7", "line 1: subnets: \"10.0.0.0/7\" is not ADDRESS/PREFIX" },
		{ "bridged-interfaces = a/b", "line 1: bridged-interfaces: \"a/b\" is not an interface" },
		{ "bridged-interfaces = 0123456789abcdef", "line 1: bridged-interfaces" },
		{ "mode = host", "line 1: \"mode\" belongs in a [network NAME] section" },
		{ "[network a]\nmode = host\nsubnets = 10.0.0.0/8", "line 3: \"subnets\" is a global" },
		{ "[network]", "line 1: expected \"[network NAME]\"" },
		{ "[net a]", "line 1: expected \"[network NAME]\"" },
		{ "[network a b]", "line 1: network name \"a b\"" },
		{ "[network a", "line 1: expected \"[network NAME]\"" },
		{ "[network a]\n[network b]\nmode = host", "line 2: network \"a\" has no mode" },
		{ "[network a]\nmode = host\n[network a]\nmode = host", "line 3: network \"a\" is defined twice" },
		{ "[network a]\nmode = wifi", "line 2: mode: \"wifi\" is not shared, host or bridged" },
		{ "[network a]\nmode = bridged", "network \"a\": bridged mode needs shared-interface" },
		{ "[network a]\nmode = bridged\nshared-interface = eth0\nisolation = yes",
		  "network \"a\": bridged mode takes only shared-interface" },
		{ "[network a]\nmode = host\nshared-interface = eth0", "shared-interface is for bridged" },
		{ "[network a]\nmode = host\nstart-address = 10.0.0.1", "go together" },
		{ "[network a]\nmode = host\nstart-address = 10.0.0.1\nend-address = 10.0.0.9\n"
		  "subnet-mask = 255.0.255.0", "not a netmask" },
		{ "[network a]\nmode = host\nstart-address = 8.8.8.1\nend-address = 8.8.8.9\n"
		  "subnet-mask = 255.255.255.0", "not inside the private" },
		{ "[network a]\nmode = host\nstart-address = 10.0.0.9\nend-address = 10.0.0.1\n"
		  "subnet-mask = 255.255.255.0", "not a range" },
		{ "[network a]\nmode = host\nstart-address = 10.0.0.300", "not an IPv4 address" },
		{ "[network a]\nmode = host\nmtu = 100", "mtu: \"100\" is not a number in 1280..65520" },
		{ "bridged = yes\x01", "line 1: a byte that is not printable ASCII" },
		{ "bridged = y\xc3\xa9s", "line 1: a byte that is not printable ASCII" },
	};
	struct policy p;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, &p, err);

		CHECK(rc == -1);
		if (!strstr(err, cases[i].want))
			fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].want);
		CHECK(strstr(err, cases[i].want) != NULL);
		CHECK(strchr(err, '\n') == NULL);   /* one line */
	}
	/* A NUL inside the text is not a terminator. */
	CHECK(policy_parse("bridged = no\0x", 14, &p, err, sizeof(err)) == -1);
	/* The comment marker needs a blank before it inside a value. */
	CHECK(parse("bridged-interfaces = a#b", &p, err) == 0 && p.ninterfaces == 1);
	CHECK_STR(p.bridged_interfaces[0], "a#b");
}

static void test_allows(void)
{
	struct policy p;
	char err[256];
	struct policy_request r = { .mode = MODE_SHARED, .start = 0xc0a86901u, .mask = 0xffffff00u };

	policy_defaults(&p);
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	/* Subnets: inside an allowed one, wholly. */
	CHECK(parse("subnets = 192.168.64.0/18", &p, err) == 0);
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	r.start = 0xc0a80101u;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	CHECK_STR(err, "subnet 192.168.1.0/24 is not allowed: users may create networks in "
		  "192.168.64.0/18 (" VMNET_CONF ")");
	r.start = 0xc0a84001u;
	r.mask = 0xffff0000u;     /* 192.168.0.0/16 is bigger than the allowed /18 */
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	/* A named network with its own addresses is the administrator's: allowed. */
	r.named = true;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	/* Without addresses (the built-ins too) each candidate subnet is
	 * checked as it is chosen: the same answer as for a user's own. */
	r.automatic = true;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a86901u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a80101u, 0xffffff00u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "subnet 192.168.1.0/24 is not allowed") != NULL);
	r.automatic = false;
	/* Only named networks. */
	CHECK(parse("named-networks-only = yes", &p, err) == 0);
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	r.named = false;
	r.mask = 0xffffff00u;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "only named networks") != NULL);
	/* Bridged: physical by default, bridges only when listed. */
	policy_defaults(&p);
	r = (struct policy_request){ .mode = MODE_BRIDGED, .shared_interface = "eth0", .physical = true };
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	r.shared_interface = "docker0";
	r.physical = false;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "--shared-interface \"docker0\" is not allowed: users may bridge physical "
		      "Ethernet interfaces") != NULL);
	CHECK(parse("bridged-interfaces = physical, docker0", &p, err) == 0);
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	/* Only the listed ones. */
	CHECK(parse("bridged-interfaces = eth1", &p, err) == 0);
	r.shared_interface = "eth0";
	r.physical = true;
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "only the listed interfaces") != NULL);
	r.shared_interface = "eth1";
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
	/* Not at all. */
	CHECK(parse("bridged = no", &p, err) == 0);
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bridged mode is not allowed") != NULL);
}

static void test_subnets_and_leases(void)
{
	struct policy p;
	char err[256];

	/* "default" widened with a site range. */
	CHECK(parse("subnets = default, 10.20.0.0/16", &p, err) == 0);
	CHECK(p.nsubnets == 6);
	CHECK(policy_allows_subnet(&p, 0x0a140101u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0xc0a86901u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_allows_subnet(&p, 0x0a150101u, 0xffffff00u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "users may create networks in 192.168.105.0-192.168.255.255, "
		     "10.20.0.0/16 (") != NULL);
	CHECK(parse("subnets = 10.0.0.0/8, default, 172.16.0.0/12", &p, err) == 0 && p.nsubnets == 7);
	/* Six "default"s do not fit. */
	CHECK(parse("subnets = default default default default default default default", &p, err)
	      == -1);
	CHECK(strstr(err, "more than 32") != NULL);
	/* max-leases-per-user: a count or a percentage. */
	CHECK(parse("max-leases-per-user = 4", &p, err) == 0);
	CHECK(!p.max_leases_percent && policy_max_leases(&p, 253) == 4 &&
	      policy_max_leases(&p, 2) == 4);
	CHECK(parse("max-leases-per-user = 100%", &p, err) == 0);
	CHECK(p.max_leases_percent && policy_max_leases(&p, 253) == 253);
	CHECK(parse("max-leases-per-user = 10%", &p, err) == 0 && policy_max_leases(&p, 13) == 1);
	CHECK(parse("max-leases-per-user = 0", &p, err) == -1);
	CHECK(parse("max-leases-per-user = 0%", &p, err) == -1);
	CHECK(strstr(err, "line 1: max-leases-per-user: \"0%\" is not a number of leases or a "
		     "percentage") != NULL);
	CHECK(parse("max-leases-per-user = 101%", &p, err) == -1);
	CHECK(parse("max-leases-per-user = %", &p, err) == -1);
	CHECK(parse("max-leases-per-user = 5%%", &p, err) == -1);
	CHECK(parse("max-leases-per-user = 16777217", &p, err) == -1);
}

/* A named network's subnet is its own: no user makes another network over
 * it, nor lands on it automatically. */
static void test_reserved(void)
{
	struct policy p;
	char err[256];

	CHECK(parse("subnets = 10.0.0.0/8\n[network lab]\nmode = host\nstart-address = 10.20.0.1\n"
		    "end-address = 10.20.0.254\nsubnet-mask = 255.255.255.0\n"
		    "[network auto]\nmode = shared\n"
		    "[network lan]\nmode = bridged\nshared-interface = eth0\n", &p, err) == 0);
	/* The same subnet, a wider one, a narrower one. */
	CHECK(policy_allows_subnet(&p, 0x0a140001u, 0xffffff00u, err, sizeof(err)) == -1);
	CHECK_STR(err, "subnet 10.20.0.0/24 overlaps 10.20.0.0/24, the administrator's network "
		  "\"lab\": join it with --network lab (" VMNET_CONF ")");
	CHECK(policy_allows_subnet(&p, 0x0a140001u, 0xffff0000u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "subnet 10.20.0.0/16 overlaps 10.20.0.0/24") != NULL);
	CHECK(policy_allows_subnet(&p, 0x0a140081u, 0xffffff80u, err, sizeof(err)) == -1);
	CHECK(policy_reserved(&p, 0x0a140001u, 0xfffffff0u, err, sizeof(err)) == -1);
	/* Beside it: fine. */
	CHECK(policy_allows_subnet(&p, 0x0a140101u, 0xffffff00u, err, sizeof(err)) == 0);
	CHECK(policy_reserved(&p, 0xc0a86901u, 0xffffff00u, err, sizeof(err)) == 0);
	/* The explicit addresses of a user: refused through policy_allows too. */
	struct policy_request r = { .mode = MODE_SHARED, .start = 0x0a140001u, .mask = 0xffffff00u };
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == -1 && strstr(err, "--network lab"));
	r.named = true;   /* --network lab itself */
	CHECK(policy_allows(&p, &r, err, sizeof(err)) == 0);
}

/* Who may use each network: users = ..., groups = ... (policy.h). */
static void test_allow_lists(void)
{
	static const char *text =
		"[network lab]\nmode = host\nusers = alice, bob\ngroups = vmnet-lab\n"
		"[network open]\nmode = host\n"
		"[network shared]\ngroups = staff, lab$\n"
		"[network lan]\nmode = bridged\nshared-interface = eth1\nusers = carol\n";
	const char *lab[] = { "users", "vmnet-lab" }, *other[] = { "users", "vmnet" };
	const struct policy_network *n;
	struct policy p;
	char err[512];

	CHECK(parse(text, &p, err) == 0);
	n = policy_network(&p, "lab");
	CHECK(n && n->nusers == 2 && n->ngroups == 1);
	CHECK_STR(n->users[1], "bob");
	CHECK_STR(n->groups[0], "vmnet-lab");
	/* A built-in's section may only say who: its mode is the built-in's. */
	n = policy_network(&p, "shared");
	CHECK(n && n->mode == MODE_SHARED && n->start == 0 && n->ngroups == 2);
	CHECK(policy_network(&p, "lan")->nusers == 1);
	/* Listed by name, or a member of a listed group. */
	CHECK(policy_allows_user(&p, "lab", "alice", NULL, 0, err, sizeof(err)) == 0);
	CHECK(policy_allows_user(&p, "lab", "dave", lab, 2, err, sizeof(err)) == 0);
	CHECK(policy_allows_user(&p, "lab", "dave", other, 2, err, sizeof(err)) == -1);
	CHECK_STR(err, "user dave may not use network \"lab\": it is for the users and groups "
		  "listed in its section of " VMNET_CONF);
	CHECK(policy_allows_user(&p, "lab", NULL, lab, 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "user (unknown) may not") != NULL);
	/* No list: everyone. Bridged mode without --network: no network's list. */
	CHECK(policy_allows_user(&p, "open", "dave", NULL, 0, err, sizeof(err)) == 0);
	CHECK(policy_allows_user(&p, "host", "dave", NULL, 0, err, sizeof(err)) == 0);
	CHECK(policy_allows_user(&p, NULL, "dave", NULL, 0, err, sizeof(err)) == 0);
	CHECK(policy_allows_user(&p, "lan", "dave", NULL, 0, err, sizeof(err)) == -1);
	/* Shared mode without --network falls under [network shared]. */
	CHECK_STR(policy_network_of(NULL, MODE_SHARED), "shared");
	CHECK_STR(policy_network_of(NULL, MODE_HOST), "host");
	CHECK(policy_network_of(NULL, MODE_BRIDGED) == NULL);
	CHECK_STR(policy_network_of("lab", MODE_HOST), "lab");
	CHECK(policy_allows_user(&p, policy_network_of(NULL, MODE_SHARED), "dave", other, 2, err,
				 sizeof(err)) == -1);
	const char *staff[] = { "staff" };
	CHECK(policy_allows_user(&p, "shared", "dave", staff, 1, err, sizeof(err)) == 0);
	/* Malformed lists, and lists where they do not belong. */
	CHECK(parse("users = alice", &p, err) == -1 && strstr(err, "belongs in a [network NAME]"));
	CHECK(parse("[network a]\nmode = host\nusers = al ice,", &p, err) == 0);
	CHECK(policy_network(&p, "a")->nusers == 2);
	CHECK(parse("[network a]\nmode = host\nusers = -x", &p, err) == -1 &&
	      strstr(err, "users: \"-x\" is not a name"));
	CHECK(parse("[network a]\nmode = host\ngroups = a$b", &p, err) == -1);
	CHECK(parse("[network a]\nusers = x", &p, err) == -1 && strstr(err, "has no mode"));
	CHECK(parse("[network host]\nusers = x\nusers = y", &p, err) == -1 &&
	      strstr(err, "set twice"));
}

static void test_load(void)
{
	char dir[] = "/tmp/vmnet-policy-test.XXXXXX", path[256], err[256];
	struct policy p;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/vmnet-helper.conf", dir);
	/* Missing: the defaults. */
	CHECK(policy_load(path, &p, err, sizeof(err)) == 0 && p.max_helpers == POLICY_DEFAULT_MAX_HELPERS);
	f = fopen(path, "w");
	if (f) {
		fputs("max-helpers-per-user = 3\n", f);
		fclose(f);
	}
	chmod(path, 0644);
	if (geteuid() == 0) {
		CHECK(policy_load(path, &p, err, sizeof(err)) == 0 && p.max_helpers == 3);
		/* Writable by others, by a group that is not root's, or owned by a user. */
		chmod(path, 0646);
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
		CHECK(strstr(err, "must be a regular file owned by root") != NULL);
		chmod(path, 0664);
		CHECK(policy_load(path, &p, err, sizeof(err)) == 0);
		CHECK(chown(path, 0, 1) == 0);
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
		CHECK(chown(path, 1, 0) == 0);
		chmod(path, 0644);
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
		CHECK(chown(path, 0, 0) == 0);
		/* A directory others may write to. */
		chmod(dir, 0777);
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
		CHECK(strstr(err, "must be a directory owned by root") != NULL);
		chmod(dir, 0755);
		/* Malformed: the path and the line. */
		f = fopen(path, "w");
		if (f) {
			fputs("bridged = perhaps\n", f);
			fclose(f);
		}
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
		CHECK(strstr(err, "vmnet-helper.conf: line 1: bridged") != NULL);
		/* A symlink is not followed. */
		unlink(path);
		CHECK(symlink("/etc/hostname", path) == 0);
		CHECK(policy_load(path, &p, err, sizeof(err)) == -1);
	}
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

/* The file the package installs (etc/vmnet-helper.conf, run from the
 * repository's top): as installed, every setting commented out, it is the
 * defaults; with each example setting uncommented it still parses (the
 * broker's coming keys, "users" and "groups", aside until they exist). */
static char *read_example(size_t *len)
{
	static char buf[POLICY_FILE_MAX];
	FILE *f = fopen("etc/vmnet-helper.conf", "r");

	*len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[*len] = '\0';
	return f ? buf : NULL;
}

static void test_example_file(void)
{
	struct policy p, d;
	char err[256], *text, *out, *o;
	size_t len;

	text = read_example(&len);
	CHECK(text != NULL && len > 0);
	if (!text)
		return;
	policy_defaults(&d);
	CHECK(policy_parse(text, len, &p, err, sizeof(err)) == 0);
	CHECK(memcmp(&p, &d, sizeof(p)) == 0);
	/* "#key" and "#[network" lines uncommented, line by line. */
	out = o = calloc(1, len + 1);
	for (char *line = text; line && *line; ) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
		bool setting = line[0] == '#' && ((line[1] >= 'a' && line[1] <= 'z') || line[1] == '[');
		bool coming = !strncmp(line, "#users", 6) || !strncmp(line, "#groups", 7);

		if (setting && !coming) {
			memcpy(o, line + 1, n - 1);
			o += n - 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	CHECK(policy_parse(out, strlen(out), &p, err, sizeof(err)) == 0);
	if (err[0])
		fprintf(stderr, "etc/vmnet-helper.conf uncommented: %s\n", err);
	CHECK(p.nnetworks == 2 && p.max_helpers == POLICY_DEFAULT_MAX_HELPERS);
	CHECK(p.nsubnets == d.nsubnets && memcmp(p.subnets, d.subnets, sizeof(d.subnets)) == 0);
	free(out);
}

static void tests(void)
{
	test_defaults();
	test_full();
	test_malformed();
	test_allows();
	test_subnets_and_leases();
	test_reserved();
	test_allow_lists();
	test_load();
	test_example_file();
}

T_MAIN
