/* SPDX-License-Identifier: Apache-2.0 */
/*
 * framegen: writes small UDP frames as fast as it can, for the packet-rate
 * benchmark. Two targets, the same frames:
 *
 *   --tap NAME   write() each frame to an existing TAP device (one syscall per
 *                frame: what the helper itself must do on its TAP side). This
 *                is the baseline the helper is compared with.
 *   --fd N       sendmmsg() batches to a unix datagram socket (plays the VM
 *                process writing to the helper, like QEMU's dgram backend).
 *
 * Usage:
 *   framegen (--tap NAME | --fd N) --src-mac M --dst-mac M --src-ip A --dst-ip B
 *            [--size BYTES] [--seconds S]
 *
 * Frames are Ethernet + IPv4 + UDP (port 9, discard), --size bytes without the
 * FCS (default 60, i.e. a minimum 64-byte frame on the wire). Prints
 * "sent N frames in T s" on stdout when done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 1514

static struct {
	const char *tap;
	int fd;
	uint8_t src_mac[6], dst_mac[6];
	struct in_addr src_ip, dst_ip;
	bool have_src_mac, have_dst_mac, have_src_ip, have_dst_ip;
	int size;
	double seconds;
} opt = { .fd = -1, .size = 60, .seconds = 5 };

static void die(const char *msg)
{
	fprintf(stderr, "framegen: %s\n", msg);
	exit(2);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return false;
		mac[i] = (uint8_t)v[i];
	}
	return true;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One frame of opt.size bytes; UDP checksum 0 (none), as IPv4 allows. */
static void build_frame(uint8_t *f)
{
	size_t ip_len = (size_t)opt.size - 14;

	memset(f, 0, (size_t)opt.size);
	memcpy(f, opt.dst_mac, 6);
	memcpy(f + 6, opt.src_mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	ip[6] = 0x40;                 /* DF */
	ip[8] = 64;
	ip[9] = 17;                   /* UDP */
	memcpy(ip + 12, &opt.src_ip, 4);
	memcpy(ip + 16, &opt.dst_ip, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	uint8_t *udp = ip + 20;
	put16(udp, 9999);
	put16(udp + 2, 9);
	put16(udp + 4, (uint16_t)(ip_len - 20));
}

static int tap_attach(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("framegen: /dev/net/tun");
		exit(1);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "framegen: TUNSETIFF %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Checks the clock every 256 frames: cheap next to a syscall per frame. */
static uint64_t run_tap(int fd, const uint8_t *frame, double end)
{
	uint64_t sent = 0;

	for (;;) {
		for (int i = 0; i < 256; i++) {
			if (write(fd, frame, (size_t)opt.size) == opt.size)
				sent++;
		}
		if (now() >= end)
			return sent;
	}
}

static uint64_t run_socket(int fd, uint8_t *frame, double end)
{
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	uint64_t sent = 0;
	int size = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = frame;
		iov[i].iov_len = (size_t)opt.size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
				continue;
			fprintf(stderr, "framegen: sendmmsg: %s\n", strerror(errno));
			break;
		}
		sent += (uint64_t)n;
	}
	return sent;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tap", required_argument, NULL, 't' },
		{ "fd", required_argument, NULL, 'f' },
		{ "src-mac", required_argument, NULL, 'a' },
		{ "dst-mac", required_argument, NULL, 'b' },
		{ "src-ip", required_argument, NULL, 'c' },
		{ "dst-ip", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 'S' },
		{ "seconds", required_argument, NULL, 's' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.tap = optarg; break;
		case 'f': opt.fd = atoi(optarg); break;
		case 'a': opt.have_src_mac = parse_mac(optarg, opt.src_mac); break;
		case 'b': opt.have_dst_mac = parse_mac(optarg, opt.dst_mac); break;
		case 'c': opt.have_src_ip = inet_pton(AF_INET, optarg, &opt.src_ip) == 1; break;
		case 'd': opt.have_dst_ip = inet_pton(AF_INET, optarg, &opt.dst_ip) == 1; break;
		case 'S': opt.size = atoi(optarg); break;
		case 's': opt.seconds = atof(optarg); break;
		default: die("bad option");
		}
	}
	if (!opt.tap == (opt.fd < 0))
		die("exactly one of --tap or --fd");
	if (!opt.have_src_mac || !opt.have_dst_mac || !opt.have_src_ip || !opt.have_dst_ip)
		die("--src-mac, --dst-mac, --src-ip and --dst-ip are required and must be valid");
	if (opt.size < 60 || opt.size > MAX_SIZE)
		die("--size must be 60..1514");
	if (opt.seconds <= 0)
		die("--seconds must be positive");
}

int main(int argc, char **argv)
{
	static uint8_t frame[MAX_SIZE];

	parse_args(argc, argv);
	build_frame(frame);
	int fd = opt.tap ? tap_attach(opt.tap) : opt.fd;
	double start = now();
	uint64_t sent = opt.tap ? run_tap(fd, frame, start + opt.seconds)
				: run_socket(fd, frame, start + opt.seconds);
	printf("sent %llu frames in %.3f s\n", (unsigned long long)sent, now() - start);
	return 0;
}
