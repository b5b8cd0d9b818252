/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qemusim: plays QEMU's network backends for the benchmark, with a real kernel
 * stack (a TAP in the namespace it runs in) where QEMU has its guest. It does
 * on the socket exactly what QEMU 7.2 does, from one thread as QEMU's main
 * loop does:
 *
 *   --dgram-fd N     -netdev dgram,local.type=fd (net/dgram.c): one send() per
 *                    frame; one recv() per wake-up of the main loop (each
 *                    frame costs a poll and a recv, as in net_dgram_send).
 *   --stream PATH    -netdev stream,addr.type=unix (net/stream.c) connecting to
 *   --stream-fd N    PATH, or on an inherited connected socket: each frame
 *                    preceded by its length (4 bytes, big endian), one writev
 *                    per frame; reads of up to 69632 bytes (NET_BUFSIZE),
 *                    split into frames.
 *
 * Frames the guest sends (read from the TAP) are sent up to 256 at a time,
 * then the main loop polls again (virtio-net's tx burst). A full socket stops
 * the guest's transmit until it drains, as QEMU does; nothing is dropped.
 *
 * Usage: qemusim --tap NAME (--dgram-fd N | --stream PATH | --stream-fd N)
 *                [--mtu N] [--mac MAC]
 * Prints "READY <tap>" once connected; exits on EOF or an error on the socket,
 * or on SIGTERM (the TAP is not persistent, so the kernel removes it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_MAX  65536
#define NET_BUFSIZE (4096 + 65536)   /* QEMU's receive buffer */
#define TX_BURST   256               /* virtio-net's default tx_burst */
#define SOCK_BUF   (4 << 20)

static int tap_fd = -1, sock_fd = -1;
static bool stream;

static void fail(const char *what)
{
	fprintf(stderr, "qemusim: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: qemusim --tap NAME (--dgram-fd N | --stream PATH | --stream-fd N) "
		"[--mtu N] [--mac MAC]\n");
	exit(2);
}

static void ifreq_ioctl(int ctl, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(ctl, req, ifr) < 0)
		fail(what);
}

static int tap_create(const char *name, int mtu, const char *mac)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int ctl;

	if (fd < 0)
		fail("/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifreq_ioctl(fd, TUNSETIFF, &ifr, "TUNSETIFF");
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0)
		fail("socket");
	if (mac) {
		unsigned v[6];
		if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
			usage();
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		for (int i = 0; i < 6; i++)
			ifr.ifr_hwaddr.sa_data[i] = (char)v[i];
		ifreq_ioctl(ctl, SIOCSIFHWADDR, &ifr, "SIOCSIFHWADDR");
	}
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		ifreq_ioctl(ctl, SIOCSIFMTU, &ifr, "SIOCSIFMTU");
	}
	ifreq_ioctl(ctl, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	ifreq_ioctl(ctl, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS");
	close(ctl);
	return fd;
}

static int stream_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("socket");
	if (strlen(path) >= sizeof(sa.sun_path))
		usage();
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	return fd;
}

/* ---- guest -> socket ---- */

/* A frame waiting for room on the socket (stream: what is left of it). */
static uint8_t pending[4 + FRAME_MAX];
static size_t pending_len, pending_off;

/* Sends the pending frame. true when it is gone, false when the socket is full. */
static bool flush_pending(void)
{
	while (pending_off < pending_len) {
		ssize_t w = stream ? write(sock_fd, pending + pending_off, pending_len - pending_off)
				   : send(sock_fd, pending, pending_len, MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == ENOBUFS)
				return false;
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED || errno == EPIPE || errno == ECONNRESET)
				exit(0);
			fail("send");
		}
		pending_off = stream ? pending_off + (size_t)w : pending_len;
	}
	pending_len = pending_off = 0;
	return true;
}

/* One frame: send() for dgram; for stream one writev of the length and the
 * frame (net_stream_receive_iov). Whatever does not go now waits in pending. */
static bool send_frame(uint8_t *frame, size_t len)
{
	if (!stream) {
		memcpy(pending, frame, len);
		pending_len = len;
		return flush_pending();
	}
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			   (uint8_t)len };
	struct iovec iov[2] = { { hdr, 4 }, { frame, len } };
	ssize_t w;

	do
		w = writev(sock_fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno != EAGAIN)
		fail("writev");
	if (w == (ssize_t)(len + 4))
		return true;
	/* Keep the rest for when the socket drains. */
	memcpy(pending, hdr, 4);
	memcpy(pending + 4, frame, len);
	pending_len = len + 4;
	pending_off = w > 0 ? (size_t)w : 0;
	return false;
}

/* The guest's transmit queue: up to TX_BURST frames, then back to the loop. */
static void guest_tx(void)
{
	static uint8_t frame[FRAME_MAX];

	for (int i = 0; i < TX_BURST; i++) {
		ssize_t r = read(tap_fd, frame, sizeof(frame));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		if (!send_frame(frame, (size_t)r))
			return;
	}
}

/* ---- socket -> guest ---- */

static void guest_rx_dgram(void)
{
	static uint8_t buf[NET_BUFSIZE];
	ssize_t r = recv(sock_fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (r == 0)
		exit(0);       /* QEMU: a zero-length read ends the connection */
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == ECONNREFUSED)
			exit(0);
		fail("recv");
	}
	/* The guest's receive: a dropped frame is a full NIC queue. */
	if (write(tap_fd, buf, (size_t)r) < 0 && errno != EAGAIN && errno != ENOBUFS)
		fail("write to the TAP");
}

static void guest_rx_stream(void)
{
	static uint8_t buf[NET_BUFSIZE + 4 + FRAME_MAX];
	static size_t have;
	ssize_t r = recv(sock_fd, buf + have, NET_BUFSIZE, MSG_DONTWAIT);
	size_t off = 0;

	if (r == 0)
		exit(0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		fail("recv");
	}
	have += (size_t)r;
	while (have - off >= 4) {
		const uint8_t *p = buf + off;
		size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		if (len > FRAME_MAX) {
			fprintf(stderr, "qemusim: bad frame length %zu\n", len);
			exit(1);
		}
		if (have - off - 4 < len)
			break;
		if (write(tap_fd, p + 4, len) < 0 && errno != EAGAIN && errno != ENOBUFS)
			fail("write to the TAP");
		off += 4 + len;
	}
	memmove(buf, buf + off, have - off);
	have -= off;
}

/* ---- the main loop ---- */

static void main_loop(void)
{
	for (;;) {
		/* While a frame waits for room, the guest's transmit is stopped. */
		struct pollfd p[2] = {
			{ sock_fd, (short)(POLLIN | (pending_len ? POLLOUT : 0)), 0 },
			{ tap_fd, (short)(pending_len ? 0 : POLLIN), 0 },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll");
		}
		if (p[0].revents & (POLLERR | POLLHUP) && !(p[0].revents & POLLIN))
			exit(0);
		if (p[0].revents & POLLOUT && flush_pending())
			guest_tx();
		if (p[0].revents & POLLIN) {
			if (stream)
				guest_rx_stream();
			else
				guest_rx_dgram();
		}
		if (p[1].revents & POLLIN)
			guest_tx();
	}
}

static int parse_fd(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < 0 || v > 1 << 20)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tap", required_argument, NULL, 't' },
		{ "dgram-fd", required_argument, NULL, 'd' },
		{ "stream", required_argument, NULL, 's' },
		{ "stream-fd", required_argument, NULL, 'S' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "mac", required_argument, NULL, 'a' },
		{ 0 },
	};
	const char *tap = NULL, *path = NULL, *mac = NULL;
	int mtu = 0, fd = -1, c, size = SOCK_BUF;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': tap = optarg; break;
		case 'd': fd = parse_fd(optarg); stream = false; break;
		case 's': path = optarg; stream = true; break;
		case 'S': fd = parse_fd(optarg); stream = true; break;
		case 'm': mtu = atoi(optarg); break;
		case 'a': mac = optarg; break;
		default: usage();
		}
	}
	if (!tap || (fd < 0) == !path || optind != argc)
		usage();
	tap_fd = tap_create(tap, mtu, mac);
	sock_fd = path ? stream_connect(path) : fd;
	if (fcntl(sock_fd, F_SETFL, fcntl(sock_fd, F_GETFL) | O_NONBLOCK) < 0)
		fail("O_NONBLOCK");
	/* QEMU leaves the buffers at the system's defaults; the helper sizes its
	 * own end (transport.c), and so does passt. */
	(void)size;
	printf("READY %s\n", tap);
	fflush(stdout);
	main_loop();
	return 0;
}
