/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's policy file and its checks (policy.h). Runs as root
 * in setup: reads the root-owned file at the fixed VMNET_CONF path only.
 */
#include "setup/policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ip4.h"
#include "common/text.h"

#define LINE_MAX_ 1024

/* ---- parsing (pure) ---- */

struct parser {
	struct policy *p;
	struct policy_network *net;   /* the section being read; NULL: global */
	unsigned seen;                /* keys set in this section (bit per key) */
	int line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen)
		snprintf(ps->err, ps->errlen, "line %d: %s", ps->line, msg);
	return -1;
}

static const struct policy_subnet vm_range[] = POLICY_VM_RANGE;
#define VM_RANGE_N ((int)(sizeof(vm_range) / sizeof(vm_range[0])))

void policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->subnets, vm_range, sizeof(vm_range));
	p->nsubnets = VM_RANGE_N;
	p->bridged = true;
	p->bridged_physical = true;
	p->max_helpers = POLICY_DEFAULT_MAX_HELPERS;
	p->max_leases = POLICY_DEFAULT_MAX_LEASES_PERCENT;
	p->max_leases_percent = true;
}

/* s[0..n) without leading and trailing blanks. */
static void trim(const char **s, size_t *n)
{
	while (*n && text_is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && text_is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int parse_bool(struct parser *ps, const char *key, const char *v, size_t n, bool *out)
{
	if (word_is(v, n, "yes") || word_is(v, n, "true")) {
		*out = true;
		return 0;
	}
	if (word_is(v, n, "no") || word_is(v, n, "false")) {
		*out = false;
		return 0;
	}
	return fail(ps, "%s: \"%.*s\" is not yes or no", key, (int)n, v);
}

static int parse_uint(struct parser *ps, const char *key, const char *v, size_t n,
		      unsigned min, unsigned max, unsigned *out)
{
	unsigned long x = 0;

	if (n == 0 || n > 9)
		return fail(ps, "%s: \"%.*s\" is not a number in %u..%u", key, (int)n, v, min, max);
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(ps, "%s: \"%.*s\" is not a number in %u..%u", key, (int)n, v,
				    min, max);
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x < min || x > max)
		return fail(ps, "%s: \"%.*s\" is not a number in %u..%u", key, (int)n, v, min, max);
	*out = (unsigned)x;
	return 0;
}

static int parse_addr(struct parser *ps, const char *key, const char *v, size_t n, uint32_t *out)
{
	char buf[16];

	if (!text_copy(v, n, buf, sizeof(buf)) || ip4_parse(buf, out) < 0)
		return fail(ps, "%s: \"%.*s\" is not an IPv4 address", key, (int)n, v);
	return 0;
}

/* The next list item of v[*i..n): separated by commas and blanks. */
static bool next_item(const char *v, size_t n, size_t *i, const char **item, size_t *len)
{
	while (*i < n && (v[*i] == ',' || text_is_blank(v[*i])))
		(*i)++;
	if (*i == n)
		return false;
	*item = v + *i;
	while (*i < n && v[*i] != ',' && !text_is_blank(v[*i]))
		(*i)++;
	*len = (size_t)(v + *i - *item);
	return true;
}

/* "a.b.c.d/p", inside the RFC 1918 ranges, with no host bits. */
static int parse_subnet(struct parser *ps, const char *s, size_t n, struct policy_subnet *out)
{
	char buf[24], *slash;
	unsigned prefix = 0;
	uint32_t a, m;

	if (!text_copy(s, n, buf, sizeof(buf)) || !(slash = strchr(buf, '/')))
		return fail(ps, "subnets: \"%.*s\" is not ADDRESS/PREFIX", (int)n, s);
	*slash = '\0';
	if (ip4_parse(buf, &a) < 0 || parse_uint(ps, "subnets", slash + 1, strlen(slash + 1), 8, 30,
						 &prefix) < 0)
		return fail(ps, "subnets: \"%.*s\" is not ADDRESS/PREFIX (prefix 8..30)", (int)n, s);
	m = ip4_prefix_mask((int)prefix);
	if ((a & m) != a)
		return fail(ps, "subnets: \"%.*s\" has host bits set", (int)n, s);
	if (!ip4_is_private(a) || !ip4_is_private(a | ~m))
		return fail(ps, "subnets: \"%.*s\" is not inside the private (RFC 1918) ranges", (int)n, s);
	out->addr = a;
	out->mask = m;
	return 0;
}

/* A list of subnets; "default" is the range kept for VMs (POLICY_VM_RANGE). */
static int parse_subnets(struct parser *ps, const char *v, size_t n)
{
	struct policy *p = ps->p;
	const char *item;
	size_t i = 0, len;

	p->nsubnets = 0;
	while (next_item(v, n, &i, &item, &len)) {
		bool dflt = word_is(item, len, "default");

		if (p->nsubnets + (dflt ? VM_RANGE_N : 1) > POLICY_MAX_SUBNETS)
			return fail(ps, "subnets: more than %d", POLICY_MAX_SUBNETS);
		if (dflt) {
			memcpy(p->subnets + p->nsubnets, vm_range, sizeof(vm_range));
			p->nsubnets += VM_RANGE_N;
		} else if (parse_subnet(ps, item, len, &p->subnets[p->nsubnets++]) < 0) {
			return -1;
		}
	}
	return 0;
}

/* max-leases-per-user: N leases, or P% of a network's pool. */
static int parse_max_leases(struct parser *ps, const char *key, const char *v, size_t n)
{
	struct policy *p = ps->p;

	p->max_leases_percent = n > 1 && v[n - 1] == '%';
	if (p->max_leases_percent)
		return parse_uint(ps, key, v, n - 1, 1, 100, &p->max_leases) < 0 ?
		       fail(ps, "%s: \"%.*s\" is not a number of leases or a percentage 1%%..100%%",
			    key, (int)n, v) : 0;
	return parse_uint(ps, key, v, n, 1, 16777216, &p->max_leases);
}

/* Interface names as the kernel takes them: 1..15 bytes, no '/' or ':'. */
static bool valid_ifname(const char *s, size_t n)
{
	if (n == 0 || n >= IF_NAMESIZE || word_is(s, n, ".") || word_is(s, n, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_interfaces(struct parser *ps, const char *v, size_t n)
{
	struct policy *p = ps->p;
	const char *item;
	size_t i = 0, len;

	p->ninterfaces = 0;
	p->bridged_physical = false;
	while (next_item(v, n, &i, &item, &len)) {
		if (word_is(item, len, "physical")) {
			p->bridged_physical = true;
			continue;
		}
		if (!valid_ifname(item, len))
			return fail(ps, "bridged-interfaces: \"%.*s\" is not an interface name", (int)len,
				    item);
		if (p->ninterfaces == POLICY_MAX_INTERFACES)
			return fail(ps, "bridged-interfaces: more than %d", POLICY_MAX_INTERFACES);
		text_copy(item, len, p->bridged_interfaces[p->ninterfaces++], IF_NAMESIZE);
	}
	return 0;
}

/* Every key, with its bit in parser.seen. */
enum key {
	K_SUBNETS, K_BRIDGED, K_INTERFACES, K_MAX_HELPERS, K_MAX_LEASES, K_NAMED_ONLY,
	K_MODE, K_START, K_END, K_MASK, K_SHARED_INTERFACE, K_ISOLATION, K_MTU,
	K_USERS, K_GROUPS, K_COUNT,
};

static const char *const key_names[K_COUNT] = {
	"subnets", "bridged", "bridged-interfaces", "max-helpers-per-user", "max-leases-per-user",
	"named-networks-only", "mode", "start-address", "end-address", "subnet-mask",
	"shared-interface", "isolation", "mtu", "users", "groups",
};

static int global_key(struct parser *ps, enum key k, const char *v, size_t n)
{
	struct policy *p = ps->p;

	switch (k) {
	case K_SUBNETS: return parse_subnets(ps, v, n);
	case K_BRIDGED: return parse_bool(ps, key_names[k], v, n, &p->bridged);
	case K_INTERFACES: return parse_interfaces(ps, v, n);
	case K_MAX_HELPERS:
		return parse_uint(ps, key_names[k], v, n, 1, 100000, &p->max_helpers);
	case K_MAX_LEASES: return parse_max_leases(ps, key_names[k], v, n);
	case K_NAMED_ONLY: return parse_bool(ps, key_names[k], v, n, &p->named_only);
	default: return fail(ps, "\"%s\" belongs in a [network NAME] section", key_names[k]);
	}
}

static int parse_mode(struct parser *ps, const char *v, size_t n, enum op_mode *mode)
{
	if (word_is(v, n, "shared"))
		*mode = MODE_SHARED;
	else if (word_is(v, n, "host"))
		*mode = MODE_HOST;
	else if (word_is(v, n, "bridged"))
		*mode = MODE_BRIDGED;
	else
		return fail(ps, "mode: \"%.*s\" is not shared, host or bridged", (int)n, v);
	return 0;
}

/* User and group names as Debian's adduser takes them, and more: 1..32 of
 * letters, digits, '.', '_', '-' (not first) and a final '$'. */
static bool valid_member(const char *s, size_t n)
{
	if (n == 0 || n >= POLICY_MEMBER_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || (c == '$' && i == n - 1)))
			return false;
	}
	return true;
}

/* "users" or "groups" of a network: a list of names. */
static int parse_members(struct parser *ps, const char *key, const char *v, size_t n,
			 char (*out)[POLICY_MEMBER_MAX], int *count)
{
	const char *item;
	size_t i = 0, len;

	*count = 0;
	while (next_item(v, n, &i, &item, &len)) {
		if (!valid_member(item, len))
			return fail(ps, "%s: \"%.*s\" is not a name", key, (int)len, item);
		if (*count == POLICY_MAX_MEMBERS)
			return fail(ps, "%s: more than %d", key, POLICY_MAX_MEMBERS);
		text_copy(item, len, out[(*count)++], POLICY_MEMBER_MAX);
	}
	return 0;
}

static int network_key(struct parser *ps, enum key k, const char *v, size_t n)
{
	struct policy_network *net = ps->net;

	switch (k) {
	case K_MODE: return parse_mode(ps, v, n, &net->mode);
	case K_START: return parse_addr(ps, key_names[k], v, n, &net->start);
	case K_END: return parse_addr(ps, key_names[k], v, n, &net->end);
	case K_MASK: return parse_addr(ps, key_names[k], v, n, &net->mask);
	case K_SHARED_INTERFACE:
		if (!valid_ifname(v, n))
			return fail(ps, "shared-interface: \"%.*s\" is not an interface name", (int)n, v);
		text_copy(v, n, net->shared_interface, IF_NAMESIZE);
		return 0;
	case K_ISOLATION: return parse_bool(ps, key_names[k], v, n, &net->isolation);
	case K_MTU: return parse_uint(ps, key_names[k], v, n, MIN_MTU, MAX_MTU, &net->mtu);
	case K_USERS: return parse_members(ps, key_names[k], v, n, net->users, &net->nusers);
	case K_GROUPS: return parse_members(ps, key_names[k], v, n, net->groups, &net->ngroups);
	default: return fail(ps, "\"%s\" is a global setting: put it before any [network] section",
			    key_names[k]);
	}
}

static int setting(struct parser *ps, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n), *v;
	size_t kn, vn;

	if (!eq)
		return fail(ps, "expected \"key = value\", \"[network NAME]\" or a # comment");
	kn = (size_t)(eq - s);
	v = eq + 1;
	vn = n - kn - 1;
	trim(&s, &kn);
	trim(&v, &vn);
	for (int k = 0; k < K_COUNT; k++) {
		if (!word_is(s, kn, key_names[k]))
			continue;
		if (ps->seen & (1u << k))
			return fail(ps, "\"%s\" is set twice", key_names[k]);
		ps->seen |= 1u << k;
		if (vn == 0)
			return fail(ps, "\"%s\" has no value", key_names[k]);
		return ps->net ? network_key(ps, (enum key)k, v, vn) : global_key(ps, (enum key)k, v, vn);
	}
	return fail(ps, "unknown setting \"%.*s\"", (int)kn, s);
}

/* Network names: what --network takes, letters, digits, '-', '_' and '.'. */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* The addresses of a shared or host network, checked as the options are. */
static int check_addresses(struct parser *ps, const struct policy_network *net)
{
	int set = !!net->start + !!net->end + !!net->mask;

	if (set == 0)
		return 0;
	if (set != 3)
		return fail(ps, "network \"%s\": start-address, end-address and subnet-mask go together",
			    net->name);
	if (!ip4_mask_valid(net->mask) || ip4_mask_prefix(net->mask) < 8)
		return fail(ps, "network \"%s\": subnet-mask is not a netmask of /8 or longer",
			    net->name);
	if (!ip4_is_private(ip4_network(net->start, net->mask)) ||
	    !ip4_is_private(ip4_broadcast(net->start, net->mask)))
		return fail(ps, "network \"%s\": not inside the private (RFC 1918) ranges", net->name);
	if (net->start >= net->end || ip4_network(net->start, net->mask) != ip4_network(net->end, net->mask) ||
	    net->start == ip4_network(net->start, net->mask) ||
	    net->end == ip4_broadcast(net->end, net->mask))
		return fail(ps, "network \"%s\": start-address and end-address are not a range of "
			    "host addresses of one subnet", net->name);
	return 0;
}

/* The section just read is complete and consistent. */
static int finish_network(struct parser *ps)
{
	struct policy_network *net = ps->net;

	if (!net)
		return 0;
	/* The built-in networks' sections may only say who may use them. */
	if (!(ps->seen & (1u << K_MODE)) && strcmp(net->name, "shared") != 0 &&
	    strcmp(net->name, "host") != 0)
		return fail(ps, "network \"%s\" has no mode", net->name);
	if (!(ps->seen & (1u << K_MODE)))
		net->mode = strcmp(net->name, "shared") == 0 ? MODE_SHARED : MODE_HOST;
	if (net->mode == MODE_BRIDGED) {
		if (!net->shared_interface[0])
			return fail(ps, "network \"%s\": bridged mode needs shared-interface", net->name);
		if (net->start || net->end || net->mask || net->isolation || net->mtu)
			return fail(ps, "network \"%s\": bridged mode takes only shared-interface",
				    net->name);
		return 0;
	}
	if (net->shared_interface[0])
		return fail(ps, "network \"%s\": shared-interface is for bridged mode", net->name);
	return check_addresses(ps, net);
}

static int section(struct parser *ps, const char *s, size_t n)
{
	const char *name = s + 1;
	size_t nn = n - 1;

	if (s[n - 1] != ']')
		return fail(ps, "expected \"[network NAME]\"");
	nn--;
	trim(&name, &nn);
	if (nn < 8 || memcmp(name, "network", 7) != 0 || !text_is_blank(name[7]))
		return fail(ps, "expected \"[network NAME]\"");
	name += 8;
	nn -= 8;
	trim(&name, &nn);
	if (!valid_name(name, nn))
		return fail(ps, "network name \"%.*s\": 1 to %d letters, digits, '-', '_' or '.'",
			    (int)nn, name, POLICY_NAME_MAX - 1);
	if (finish_network(ps) < 0)
		return -1;
	for (int i = 0; i < ps->p->nnetworks; i++)
		if (word_is(name, nn, ps->p->networks[i].name))
			return fail(ps, "network \"%.*s\" is defined twice", (int)nn, name);
	if (ps->p->nnetworks == POLICY_MAX_NETWORKS)
		return fail(ps, "more than %d networks", POLICY_MAX_NETWORKS);
	ps->net = &ps->p->networks[ps->p->nnetworks++];
	text_copy(name, nn, ps->net->name, POLICY_NAME_MAX);
	ps->seen = 0;
	return 0;
}

/* One line: blank, a comment, a section or a setting. A '#' at the start or
 * after a blank starts a comment. */
static int parse_line(struct parser *ps, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '#' && (i == 0 || text_is_blank(s[i - 1]))) {
			n = i;
			break;
		}
		if (s[i] == '\0' || (unsigned char)s[i] >= 0x80 ||
		    ((unsigned char)s[i] < ' ' && s[i] != '\t' && s[i] != '\r'))
			return fail(ps, "a byte that is not printable ASCII");
	}
	trim(&s, &n);
	if (n == 0)
		return 0;
	if (n > LINE_MAX_)
		return fail(ps, "longer than %d bytes", LINE_MAX_);
	return s[0] == '[' ? section(ps, s, n) : setting(ps, s, n);
}

int policy_parse(const char *text, size_t len, struct policy *p, char *err, size_t errlen)
{
	struct parser ps = { .p = p, .err = err, .errlen = errlen };
	size_t i = 0;

	policy_defaults(p);
	if (errlen)
		err[0] = '\0';
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;

		ps.line++;
		if (parse_line(&ps, text + i, n) < 0)
			return -1;
		i += n + (nl ? 1 : 0);
	}
	ps.line++;
	return finish_network(&ps);
}

/* ---- questions (pure) ---- */

const struct policy_network *policy_network(const struct policy *p, const char *name)
{
	static const struct policy_network builtin[] = {
		{ .name = "shared", .mode = MODE_SHARED },
		{ .name = "host", .mode = MODE_HOST },
	};

	for (int i = 0; i < p->nnetworks; i++)
		if (strcmp(p->networks[i].name, name) == 0)
			return &p->networks[i];
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i].name, name) == 0)
			return &builtin[i];
	return NULL;
}

/* "a.b.c.d/p, ..." of the subnets users may create; subnets that follow
 * each other as a range ("default") are written as one, "a.b.c.d-e.f.g.h". */
static void subnets_text(const struct policy *p, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < p->nsubnets && used < cap;) {
		const struct policy_subnet *s = &p->subnets[i];
		uint32_t last = s->addr | ~s->mask;
		char a[16], b[16];
		int j = i + 1, w;

		for (; j < p->nsubnets && last != 0xffffffffu && p->subnets[j].addr == last + 1; j++)
			last = p->subnets[j].addr | ~p->subnets[j].mask;
		if (j == i + 1)
			w = snprintf(buf + used, cap - used, "%s%s/%d", i ? ", " : "",
				     ip4_format(s->addr, a), ip4_mask_prefix(s->mask));
		else
			w = snprintf(buf + used, cap - used, "%s%s-%s", i ? ", " : "",
				     ip4_format(s->addr, a), ip4_format(last, b));
		if (w < 0)
			break;
		used += (size_t)w;
		i = j;
	}
}

static int allows_bridged(const struct policy *p, const struct policy_request *r, char *err,
			  size_t errlen)
{
	if (!p->bridged)
		return text_error(err, errlen, "bridged mode is not allowed by the administrator (%s)",
			    VMNET_CONF);
	for (int i = 0; i < p->ninterfaces; i++)
		if (strcmp(p->bridged_interfaces[i], r->shared_interface) == 0)
			return 0;
	if (p->bridged_physical && r->physical)
		return 0;
	return text_error(err, errlen, "--shared-interface \"%s\" is not allowed: users may bridge %s%s "
		    "(bridged-interfaces in %s)", r->shared_interface,
		    p->bridged_physical ? "physical Ethernet interfaces" : "",
		    p->bridged_physical && p->ninterfaces ? " and the listed ones" :
		    p->bridged_physical ? "" : "only the listed interfaces", VMNET_CONF);
}

int policy_reserved(const struct policy *p, uint32_t start, uint32_t mask, char *err,
		    size_t errlen)
{
	char net[20], theirs[20], a[16];

	for (int i = 0; i < p->nnetworks; i++) {
		const struct policy_network *n = &p->networks[i];
		uint32_t both = mask & n->mask;   /* the shorter prefix */

		if (n->mode == MODE_BRIDGED || !n->start || (start & both) != (n->start & both))
			continue;
		snprintf(net, sizeof(net), "%s/%d", ip4_format(start & mask, a), ip4_mask_prefix(mask));
		snprintf(theirs, sizeof(theirs), "%s/%d", ip4_format(n->start & n->mask, a),
			 ip4_mask_prefix(n->mask));
		return text_error(err, errlen, "subnet %s overlaps %s, the administrator's network \"%s\": "
			    "join it with --network %s (%s)", net, theirs, n->name, n->name,
			    VMNET_CONF);
	}
	return 0;
}

unsigned policy_max_leases(const struct policy *p, uint64_t pool)
{
	uint64_t max = p->max_leases_percent ? pool * p->max_leases / 100 : p->max_leases;

	return max < 1 ? 1 : max > 0xffffffffu ? 0xffffffffu : (unsigned)max;
}

int policy_allows_subnet(const struct policy *p, uint32_t start, uint32_t mask, char *err,
			 size_t errlen)
{
	char list[POLICY_MAX_SUBNETS * 20], net[20], a[16];

	for (int i = 0; i < p->nsubnets; i++) {
		const struct policy_subnet *s = &p->subnets[i];
		/* The whole subnet inside an allowed one: its mask no shorter. */
		if ((mask & s->mask) == s->mask && (start & s->mask) == s->addr)
			return policy_reserved(p, start, mask, err, errlen);
	}
	subnets_text(p, list, sizeof(list));
	snprintf(net, sizeof(net), "%s/%d", ip4_format(start & mask, a), ip4_mask_prefix(mask));
	return text_error(err, errlen, "subnet %s is not allowed: users may create networks in %s (%s)",
		    net, list[0] ? list : "none", VMNET_CONF);
}

int policy_allows(const struct policy *p, const struct policy_request *r, char *err, size_t errlen)
{
	if (p->named_only && !r->named)
		return text_error(err, errlen, "the administrator allows only named networks: use "
			    "--network NAME (%s)", VMNET_CONF);
	if (r->mode == MODE_BRIDGED)
		return r->named ? 0 : allows_bridged(p, r, err, errlen);
	if (r->automatic)
		return 0;   /* each candidate subnet is checked as it is chosen */
	if (r->named)
		return 0;   /* the administrator's own addresses */
	return policy_allows_subnet(p, r->start, r->mask, err, errlen);
}

const char *policy_network_of(const char *named, enum op_mode mode)
{
	if (named)
		return named;
	return mode == MODE_BRIDGED ? NULL : options_mode_name(mode);
}

static bool listed(const char (*list)[POLICY_MEMBER_MAX], int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

int policy_allows_user(const struct policy *p, const char *network, const char *user,
		       const char *const *groups, int ngroups, char *err, size_t errlen)
{
	const struct policy_network *n = network ? policy_network(p, network) : NULL;

	if (!n || (n->nusers == 0 && n->ngroups == 0) || listed(n->users, n->nusers, user))
		return 0;
	for (int i = 0; i < ngroups; i++)
		if (listed(n->groups, n->ngroups, groups[i]))
			return 0;
	return text_error(err, errlen, "user %s may not use network \"%s\": it is for the users and "
		    "groups listed in its section of %s", user ? user : "(unknown)", network, VMNET_CONF);
}

/* ---- the file ---- */

/* Root's, and writable by no one else: not by others, not by a group but root's. */
static bool trusted(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & S_IWOTH) &&
	       (!(st->st_mode & S_IWGRP) || st->st_gid == 0);
}

static int check_dir(const char *path, char *err, size_t errlen)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (lstat(dir[0] ? dir : "/", &st) < 0)
		return errno == ENOENT ? 1 : text_error(err, errlen, "cannot check %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || !trusted(&st))
		return text_error(err, errlen, "%s must be a directory owned by root and writable by no "
			    "one else", dir);
	return 0;
}

int policy_load(const char *path, struct policy *p, char *err, size_t errlen)
{
	char *text;
	struct stat st;
	ssize_t n;
	int fd, rc = check_dir(path, err, errlen);

	policy_defaults(p);
	if (rc != 0)
		return rc > 0 ? 0 : -1;   /* no directory: no file */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return text_error(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !trusted(&st)) {
		close(fd);
		return text_error(err, errlen, "%s must be a regular file owned by root and writable by no "
			    "one else", path);
	}
	if (st.st_size > POLICY_FILE_MAX) {
		close(fd);
		return text_error(err, errlen, "%s is larger than %d bytes", path, POLICY_FILE_MAX);
	}
	text = malloc((size_t)st.st_size + 1);
	n = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(text);
		return text_error(err, errlen, "cannot read %s", path);
	}
	rc = policy_parse(text, (size_t)n, p, err, errlen);
	free(text);
	if (rc < 0 && errlen) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
	}
	return rc;
}

/* The real uid and the name of /proc/<pid>: false if it is gone. */
static bool proc_identity(const char *pid, uid_t *uid, char *comm, size_t cap)
{
	char path[64], buf[512];
	int fd;
	ssize_t n;
	const char *line;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "Name:\tvmnet-helper\n...Uid:\t1000\t1000\t..." */
	if (sscanf(buf, "Name:\t%31s", comm) != 1 || cap < 32)
		return false;
	line = strstr(buf, "\nUid:\t");
	return line && sscanf(line, "\nUid:\t%u", uid) == 1;
}

int policy_count_helpers(uid_t uid)
{
	char self[32] = "", comm[32];
	uid_t owner, me;
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;

	if (!d)
		return 0;
	proc_identity("self", &me, self, sizeof(self));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (proc_identity(e->d_name, &owner, comm, sizeof(comm)) && owner == uid &&
		    strcmp(comm, self) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* mkdir -m 0755, whatever the umask: root's state directories. */
static int state_dir(const char *path)
{
	if (mkdir(path, 0755) == 0)
		return chmod(path, 0755) < 0 ? -errno : 0;
	return errno == EEXIST ? 0 : -errno;
}

int policy_reserve_helper(uid_t uid, unsigned max, int *running)
{
	char path[sizeof(POLICY_USERS_DIR) + 24];
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, err = state_dir("/run/vmnet-helper");

	if (err == 0)
		err = state_dir(POLICY_USERS_DIR);
	if (err < 0)
		return err;
	snprintf(path, sizeof(path), POLICY_USERS_DIR "/%u.lock", (unsigned)uid);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* A record lock, not flock(): the files process and the reaper, forked
	 * while it is held, must not keep it. */
	while (fcntl(fd, F_SETLKW, &lk) < 0) {
		if (errno != EINTR) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	*running = policy_count_helpers(uid);
	if (*running >= (int)max) {
		close(fd);
		return -EUSERS;
	}
	return fd;
}
