/* SPDX-License-Identifier: Apache-2.0 */
/* Bridged mode: a macvtap on a physical interface, or a TAP port on a bridge. */
#include "setup/bridged.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "setup/netlink.h"

enum kind { KIND_ETHERNET, KIND_BRIDGE, KIND_UNUSABLE };

/* Devices the helper makes itself: never a lower interface. */
static bool ours(const char *name)
{
	return !strncmp(name, "vmnet", 5) || !strncmp(name, "vmtap", 5) ||
	       !strncmp(name, "vmmvt", 5);
}

/*
 * Physical Ethernet devices have no link kind; veth is accepted as one (a
 * namespace's "physical" link). Bridges are taken as they are. Virtual
 * devices of other kinds (tun, macvtap, vxlan...) and ports of a bridge or
 * bond are not: a macvtap on a port would bypass its master.
 */
static enum kind classify(const struct nl_link *l, const char **why)
{
	*why = "is not an Ethernet interface or bridge";
	if (ours(l->name)) {
		*why = "is an interface of vmnet-helper";
		return KIND_UNUSABLE;
	}
	if (l->type != ARPHRD_ETHER || (l->flags & IFF_LOOPBACK))
		return KIND_UNUSABLE;
	if (l->master) {
		*why = "is a port of another interface (use that interface)";
		return KIND_UNUSABLE;
	}
	if (!strcmp(l->kind, "bridge"))
		return KIND_BRIDGE;
	if (l->kind[0] != '\0' && strcmp(l->kind, "veth") != 0)
		return KIND_UNUSABLE;
	return KIND_ETHERNET;
}

static int print_usable(const struct nl_link *l, void *arg)
{
	const char *why;

	/* A restarted dump would print names twice; the list is advisory and
	 * restarts need a concurrent change, so printing as we go is fine. */
	if (l != NULL && classify(l, &why) != KIND_UNUSABLE)
		fprintf(arg, "%s\n", l->name);
	return 0;
}

int bridged_list(FILE *out)
{
	int ret = nl_link_list(print_usable, out);

	if (ret < 0)
		ERROR("bridged", "cannot list interfaces: %s", strerror(-ret));
	return ret;
}

/* ---- macvtap ---- */

/* Reads "major:minor" of the macvtap's character device from sysfs. */
static int macvtap_devt(const char *name, int ifindex, dev_t *devt)
{
	char path[128], buf[32];
	unsigned maj, min;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/macvtap/tap%d/dev", name, ifindex);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EIO;
	*devt = makedev(maj, min);
	return 0;
}

/*
 * Opens the macvtap's character device. /dev/tap<ifindex> is named by
 * ifindex, which is only unique per network namespace, so a private node is
 * made from the major:minor sysfs shows for this namespace (in /dev: /run is
 * mounted nodev) and unlinked at once. Without that sysfs view (a helper
 * entered the namespace without remounting /sys) /dev/tap<ifindex> is used.
 */
static int macvtap_open_dev(const char *name, int ifindex)
{
	char path[64];
	dev_t devt = 0;
	int fd;

	if (macvtap_devt(name, ifindex, &devt) < 0) {
		snprintf(path, sizeof(path), "/dev/tap%d", ifindex);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	snprintf(path, sizeof(path), "/dev/vmnet-helper-%s", name);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, devt) < 0)
		return -errno;
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int err = errno;
	unlink(path);
	return fd < 0 ? -err : fd;
}

/* A macvtap fd starts with IFF_VNET_HDR; the datapath wants it only for
 * offloading, and plain frames otherwise. */
static int macvtap_set_frames(int fd, bool vnet_hdr)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	return ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
}

/* Creates, brings up and opens the macvtap; fills t. */
static int macvtap_attach(struct bridged *b, const struct nl_link *lower,
			  const uint8_t mac[6], bool vnet_hdr, struct tap *t)
{
	const char *step = "create";
	int ret;

	snprintf(b->macvtap, sizeof(b->macvtap), "vmmvt%d", (int)getpid());
	ret = nl_macvtap_create(b->macvtap, lower->ifindex, mac);
	if (ret < 0) {
		ERROR("bridged", "cannot create macvtap %s on %s: %s", b->macvtap, lower->name,
		      strerror(-ret));
		b->macvtap[0] = '\0';
		return ret;
	}
	snprintf(t->name, sizeof(t->name), "%s", b->macvtap);
	step = "find";
	ret = nl_ifindex(b->macvtap);
	if (ret > 0) {
		t->ifindex = ret;
		step = "bring up";
		ret = nl_link_up(t->ifindex);
	}
	if (ret == 0) {
		step = "open";
		ret = macvtap_open_dev(b->macvtap, t->ifindex);
	}
	if (ret >= 0) {
		t->fd = ret;
		step = "configure";
		ret = macvtap_set_frames(t->fd, vnet_hdr);
		t->vnet_hdr = vnet_hdr;
	}
	if (ret < 0) {
		ERROR("bridged", "cannot %s macvtap %s: %s", step, b->macvtap, strerror(-ret));
		tap_close(t);
		bridged_teardown(b);
		return ret;
	}
	return 0;
}

/* ---- TAP on an existing bridge ---- */

static int bridge_attach(const struct nl_link *br, bool vnet_hdr, struct tap *t)
{
	int ret = tap_open(t, vnet_hdr, false, br->mtu);

	if (ret < 0)
		return ret;
	ret = nl_link_set_master(t->ifindex, br->ifindex);
	if (ret < 0) {
		ERROR("bridged", "cannot attach %s to bridge %s: %s", t->name, br->name,
		      strerror(-ret));
		tap_close(t);
	}
	return ret;
}

/* ---- public ---- */

/* Looks name up and says, in one line, why it cannot be used. */
static int check_lower(const char *name, struct nl_link *l, enum kind *kind)
{
	const char *why;
	int ret = nl_link_get(name, l);

	if (ret == -ENODEV) {
		ERROR("bridged", "--shared-interface \"%s\": no such interface", name);
		return ret;
	}
	if (ret < 0) {
		ERROR("bridged", "--shared-interface \"%s\": %s", name, strerror(-ret));
		return ret;
	}
	*kind = classify(l, &why);
	if (*kind == KIND_UNUSABLE) {
		ERROR("bridged", "--shared-interface \"%s\" %s", name, why);
		return -EINVAL;
	}
	if (l->mtu < 68 || l->mtu > 65535 - 14) {
		ERROR("bridged", "--shared-interface \"%s\": unsupported MTU %u", name, l->mtu);
		return -EINVAL;
	}
	return 0;
}

int bridged_check(const char *name, bool *physical)
{
	struct nl_link l;
	enum kind kind;
	int ret = check_lower(name, &l, &kind);

	*physical = ret == 0 && kind == KIND_ETHERNET && l.kind[0] == '\0';
	return ret;
}

int bridged_open(struct bridged *b, const char *name, const uint8_t mac[6], bool vnet_hdr,
		 struct tap *t)
{
	struct nl_link lower;
	enum kind kind;
	int ret;

	memset(b, 0, sizeof(*b));
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	snprintf(b->lower, sizeof(b->lower), "%s", name);
	ret = check_lower(name, &lower, &kind);
	if (ret < 0)
		return ret;
	if (!(lower.flags & IFF_UP))
		WARN("bridged", "%s is down: the VM has no network until it is up", name);
	b->mtu = lower.mtu;
	b->on_bridge = kind == KIND_BRIDGE;
	ret = b->on_bridge ? bridge_attach(&lower, vnet_hdr, t)
			   : macvtap_attach(b, &lower, mac, vnet_hdr, t);
	if (ret == 0)
		INFO("bridged", "attached %s to %s %s", t->name,
		     b->on_bridge ? "bridge" : "interface", name);
	return ret;
}

void bridged_teardown(struct bridged *b)
{
	int ret;

	if (b->macvtap[0] == '\0')
		return;
	ret = nl_link_delete(b->macvtap);
	if (ret < 0 && ret != -ENODEV)
		ERROR("bridged", "cannot delete macvtap %s: %s", b->macvtap, strerror(-ret));
	else if (ret == 0)
		DEBUG("bridged", "deleted macvtap %s", b->macvtap);
	b->macvtap[0] = '\0';
}
