/* SPDX-License-Identifier: Apache-2.0 */
/* TAP devices from /dev/net/tun, one per helper. */
#include "setup/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"
#include "setup/netlink.h"

/* Creates the device; the kernel picks the number in "vmtap%d" so helpers
 * never race over names. Not made persistent: closing the last fd (the
 * helper exiting in any way) removes it. */
static int tap_create(struct tap *t, bool vnet_hdr, bool isolated)
{
	struct ifreq ifr;

	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int err = errno;

		ERROR("tap", "cannot open /dev/net/tun: %s", strerror(err));
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s%%d",
		 isolated ? TAP_ISOLATED_PREFIX : "vmtap");
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		ERROR("tap", "cannot create TAP device: %s", strerror(err));
		return -err;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	t->vnet_hdr = vnet_hdr;
	return 0;
}

/* MTU (the network's, vmnet_mtu) and link up: the TAP carries frames as soon
 * as it joins the bridge. */
static int tap_configure(struct tap *t, unsigned mtu)
{
	int ret = nl_ifindex(t->name);

	if (ret < 0) {
		ERROR("tap", "cannot find %s: %s", t->name, strerror(-ret));
		return ret;
	}
	t->ifindex = ret;
	ret = nl_link_set_mtu(t->ifindex, mtu);
	if (ret < 0) {
		ERROR("tap", "cannot set MTU of %s: %s", t->name, strerror(-ret));
		return ret;
	}
	ret = nl_link_up(t->ifindex);
	if (ret < 0) {
		ERROR("tap", "cannot bring %s up: %s", t->name, strerror(-ret));
		return ret;
	}
	return 0;
}

int tap_open(struct tap *t, bool vnet_hdr, bool isolated, unsigned mtu)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	ret = tap_create(t, vnet_hdr, isolated);
	if (ret == 0)
		ret = tap_configure(t, mtu);
	if (ret < 0) {
		tap_close(t);
		return ret;
	}
	DEBUG("tap", "created %s (ifindex %d%s)", t->name, t->ifindex,
	      vnet_hdr ? ", vnet header" : "");
	return 0;
}

/*
 * The kernel may hand us partially checksummed frames (TUN_F_CSUM) and, with
 * TSO, TCP frames up to 64 KiB (TSO4/TSO6, and TSO_ECN so ECN-marked flows are
 * not segmented in software for nothing). UDP segmentation stays off: the VM
 * cannot be told a frame is a UDP super-packet. Headers are little endian on
 * every host, and the 10-byte legacy size (the VM side has no use for
 * num_buffers).
 */
int tap_set_offload(struct tap *t, bool tso)
{
	int hdr_len = (int)sizeof(struct virtio_net_hdr), le = 1;
	unsigned long flags = TUN_F_CSUM;

	if (tso)
		flags |= TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(t->fd, TUNSETVNETLE, &le) < 0 ||
	    ioctl(t->fd, TUNSETOFFLOAD, flags) < 0) {
		int err = errno;

		ERROR("tap", "cannot enable offload on %s: %s", t->name, strerror(err));
		return -err;
	}
	DEBUG("tap", "offload on %s: checksum%s", t->name, tso ? ", TSO" : "");
	return 0;
}

/*
 * vhost-user: the guest's own virtio-net header passes through, so the TAP
 * takes virtio 1.0's (12 bytes, little endian). The kernel gives the TAP no
 * partial checksum and no super-frame until the guest negotiates them: the
 * datapath then sets them (TUNSETOFFLOAD, datapath/vhost.c).
 */
int tap_set_vhost(struct tap *t)
{
	int hdr_len = (int)sizeof(struct virtio_net_hdr_mrg_rxbuf), le = 1;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(t->fd, TUNSETVNETLE, &le) < 0 ||
	    ioctl(t->fd, TUNSETOFFLOAD, 0UL) < 0) {
		int err = errno;

		ERROR("tap", "cannot set up %s for vhost-user: %s", t->name, strerror(err));
		return -err;
	}
	return 0;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->ifindex = 0;
}
