/* SPDX-License-Identifier: Apache-2.0 */
/*
 * streamrelay: plays QEMU's "stream" network backend for the benchmark, so a
 * real kernel stack can sit behind passt. It creates a TAP in the network
 * namespace it runs in and relays it to a unix stream socket where each frame
 * is preceded by its length as a 4-byte big-endian integer (the protocol
 * passt speaks on its --socket).
 *
 *   TAP (read up to --batch frames, default 1) --one writev--> socket
 *   socket (read into a buffer, split on length prefixes) --write per frame--> TAP
 *
 * Usage: streamrelay --tap NAME (--socket PATH | --fd N) [--mac MAC] [--mtu N] [--batch N]
 * --fd: an inherited stream socket (a socketpair end, as QEMU's
 * -netdev stream,addr.type=fd gets it) instead of connecting to PATH.
 * Prints "READY <tap>" once connected; exits on EOF from the socket or on a
 * signal (the TAP is not persistent, so the kernel removes it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH     64
#define FRAME_MAX 65536
#define RBUF      (1 << 20)

static int tap_fd = -1;
static int sock_fd = -1;
static int batch = 1;         /* frames per writev: 1 writes like QEMU does */

static void fail(const char *what)
{
	fprintf(stderr, "streamrelay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int ifreq_ioctl(int ctl, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(ctl, req, ifr) < 0)
		fail(what);
	return 0;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	return 0;
}

static int tap_create(const char *name, int mtu, const char *mac)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifreq_ioctl(fd, TUNSETIFF, &ifr, "TUNSETIFF");

	int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0)
		fail("socket");
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		ifreq_ioctl(ctl, SIOCSIFMTU, &ifr, "SIOCSIFMTU");
	}
	if (mac) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		if (parse_mac(mac, (unsigned char *)ifr.ifr_hwaddr.sa_data) < 0) {
			fprintf(stderr, "streamrelay: bad --mac %s\n", mac);
			exit(2);
		}
		ifreq_ioctl(ctl, SIOCSIFHWADDR, &ifr, "SIOCSIFHWADDR");
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
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "streamrelay: socket path too long\n");
		exit(2);
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	return fd;
}

static void write_all(int fd, const struct iovec *iov_in, int cnt)
{
	struct iovec iov[2 * BATCH];
	int first = 0;

	memcpy(iov, iov_in, sizeof(*iov) * (size_t)cnt);
	while (first < cnt) {
		ssize_t w = writev(fd, iov + first, cnt - first);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail("writev");
		}
		while (first < cnt && (size_t)w >= iov[first].iov_len) {
			w -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first < cnt) {
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + w;
			iov[first].iov_len -= (size_t)w;
		}
	}
}

/* TAP -> stream: one frame per writev by default, as QEMU writes. passt
 * 0.0~git20230309 loses throughput badly when several large frames arrive in one
 * write (a frame split across its reads), so --batch > 1 is for experiments. */
static void *tap_to_stream(void *arg)
{
	static uint8_t bufs[BATCH][FRAME_MAX];
	static uint8_t lens[BATCH][4];
	struct iovec iov[2 * BATCH];

	(void)arg;
	for (;;) {
		struct pollfd p = { .fd = tap_fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			fail("poll");
		int n = 0;
		while (n < batch) {
			ssize_t r = read(tap_fd, bufs[n], FRAME_MAX);
			if (r <= 0)
				break;
			uint32_t len = (uint32_t)r;
			lens[n][0] = (uint8_t)(len >> 24);
			lens[n][1] = (uint8_t)(len >> 16);
			lens[n][2] = (uint8_t)(len >> 8);
			lens[n][3] = (uint8_t)len;
			iov[2 * n] = (struct iovec){ lens[n], 4 };
			iov[2 * n + 1] = (struct iovec){ bufs[n], (size_t)r };
			n++;
		}
		if (n > 0)
			write_all(sock_fd, iov, 2 * n);
	}
	return NULL;
}

/* stream -> TAP: split the byte stream on the length prefixes. */
static void stream_to_tap(void)
{
	uint8_t *buf = malloc(RBUF);
	size_t have = 0;

	if (!buf)
		fail("malloc");
	for (;;) {
		ssize_t r = read(sock_fd, buf + have, RBUF - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			exit(r < 0 ? 1 : 0);
		have += (size_t)r;
		size_t off = 0;
		while (have - off >= 4) {
			const uint8_t *p = buf + off;
			uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				       (uint32_t)p[2] << 8 | p[3];
			if (len > FRAME_MAX) {
				fprintf(stderr, "streamrelay: bad frame length %u\n", len);
				exit(1);
			}
			if (have - off - 4 < len)
				break;
			/* A failed write drops the frame, as a full NIC queue would. */
			ssize_t w = write(tap_fd, p + 4, len);
			(void)w;
			off += 4 + len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tap", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "mac", required_argument, NULL, 'M' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ 0 },
	};
	const char *tap = NULL, *path = NULL, *mac = NULL;
	int mtu = 0, fd = -1, c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': tap = optarg; break;
		case 's': path = optarg; break;
		case 'f': fd = atoi(optarg); break;
		case 'M': mac = optarg; break;
		case 'm': mtu = atoi(optarg); break;
		case 'b':
			batch = atoi(optarg);
			if (batch < 1 || batch > BATCH)
				batch = BATCH;
			break;
		default:
			fprintf(stderr, "usage: streamrelay --tap NAME (--socket PATH | --fd N) "
				"[--mac MAC] [--mtu N] [--batch N]\n");
			return 2;
		}
	}
	if (!tap || !path == (fd < 0)) {
		fprintf(stderr, "usage: streamrelay --tap NAME (--socket PATH | --fd N) "
			"[--mac MAC] [--mtu N] [--batch N]\n");
		return 2;
	}
	tap_fd = tap_create(tap, mtu, mac);
	if (fcntl(tap_fd, F_SETFL, fcntl(tap_fd, F_GETFL) | O_NONBLOCK) < 0)
		fail("O_NONBLOCK");
	sock_fd = path ? stream_connect(path) : fd;

	pthread_t t;
	if (pthread_create(&t, NULL, tap_to_stream, NULL))
		fail("pthread_create");
	printf("READY %s\n", tap);
	fflush(stdout);
	stream_to_tap();
	return 0;
}
