/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmsim: a "VM simulator" for tests and benchmarks.
 *
 * It plays the VM process on the helper's unix datagram socket, with a real
 * kernel network stack behind it: a TAP device in the network namespace vmsim
 * runs in (the "guest" namespace). Frames are relayed both ways, one Ethernet
 * frame per datagram:
 *
 *   helper socket --recvmmsg--> TAP (write per frame)
 *   TAP (read until EAGAIN, batched) --sendmmsg--> helper socket
 *
 * Usage:
 *   vmsim --tap NAME [--mac MAC] [--mtu N] (--fd N | --socket PATH [--handshake])
 *         [--bind PATH] [--stream] [--no-up] [--offload] [--quiet]
 *
 * --stream (or a SOCK_STREAM --fd) plays QEMU's -netdev stream: frames go
 * both ways behind their length, 4 bytes big-endian. With --socket it
 * connects a stream socket (no --bind, no handshake). The socket is read in
 * large chunks; each TAP batch goes out in one writev, written whole
 * (blocking), as a VM does.
 *
 * Once the TAP is up and the socket connected it prints "READY <tap>" on
 * stdout. It exits 0 on SIGTERM/SIGINT or when the helper side is gone (send
 * fails with ECONNREFUSED), 1 on errors, 2 on a bad command line. Counters are
 * printed on stderr at exit.
 *
 * --offload plays an offloading VM (libkrun with offloading=on): the TAP is
 * opened with a virtio-net header and checksum + TCP segmentation offload, so
 * the guest kernel hands vmsim TCP frames of up to 64 KiB with partial
 * checksums. They go to the helper as raw frames, header stripped and checksum
 * left partial, as libkrun sends them. Frames from the helper are written with
 * a zeroed header (nothing says a checksum is partial or a frame is a GSO
 * one), so the guest kernel verifies every checksum itself. The MTU is 1500
 * unless --mtu says otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BATCH     64
#define FRAME_MAX (65550 + 64) /* --offload frames (vmnet_max_packet_size 65550) and then some */
#define VNET_HDR  ((int)sizeof(struct virtio_net_hdr))
#define SOCK_BUF  (4 << 20)

struct counters {
	_Atomic uint64_t packets, bytes, drops;
};

static struct {
	const char *tap_name;
	const char *mac;
	int mtu;
	int fd;
	const char *socket_path;
	const char *bind_path;
	bool handshake;
	bool stream;
	bool no_up;
	bool offload;
	bool quiet;
} opt = { .fd = -1 };

static int tap_fd = -1;
static int sock_fd = -1;
static int stop_fd = -1;
static char own_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static _Atomic bool stopping;
static _Atomic int exit_code;       /* set by the first thread that fails */
static struct counters to_tap;      /* from the helper, written to the TAP */
static struct counters to_sock;     /* read from the TAP, sent to the helper */

static void die_usage(const char *msg)
{
	fprintf(stderr, "vmsim: %s\n", msg);
	exit(2);
}

static void request_stop(int code)
{
	int expected = 0;

	atomic_compare_exchange_strong(&exit_code, &expected, code);
	atomic_store(&stopping, true);
	uint64_t one = 1;
	ssize_t r = write(stop_fd, &one, sizeof(one));
	(void)r;
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

static void set_buffers(int fd)
{
	int size = SOCK_BUF;

	/* The FORCE variants need CAP_NET_ADMIN; fall back to the limited ones. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int tap_open(void)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("vmsim: open /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (opt.offload ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap_name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "vmsim: TUNSETIFF %s: %s\n", opt.tap_name, strerror(errno));
		close(fd);
		return -1;
	}
	if (opt.offload) {
		int hdr = VNET_HDR, le = 1;
		unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETVNETLE, &le) < 0 ||
		    ioctl(fd, TUNSETOFFLOAD, off) < 0) {
			fprintf(stderr, "vmsim: offload on %s: %s\n", opt.tap_name, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("vmsim: O_NONBLOCK");
		close(fd);
		return -1;
	}

	int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		perror("vmsim: socket");
		close(fd);
		return -1;
	}
	if (opt.mac) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap_name);
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		if (parse_mac(opt.mac, (unsigned char *)ifr.ifr_hwaddr.sa_data) < 0 ||
		    ioctl(ctl, SIOCSIFHWADDR, &ifr) < 0) {
			fprintf(stderr, "vmsim: cannot set MAC %s: %s\n", opt.mac, strerror(errno));
			goto fail;
		}
	}
	if (opt.mtu > 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap_name);
		ifr.ifr_mtu = opt.mtu;
		if (ioctl(ctl, SIOCSIFMTU, &ifr) < 0) {
			fprintf(stderr, "vmsim: cannot set MTU %d: %s\n", opt.mtu, strerror(errno));
			goto fail;
		}
	}
	if (!opt.no_up) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap_name);
		if (ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) {
			perror("vmsim: SIOCGIFFLAGS");
			goto fail;
		}
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) {
			perror("vmsim: SIOCSIFFLAGS");
			goto fail;
		}
	}
	close(ctl);
	return fd;
fail:
	close(ctl);
	close(fd);
	return -1;
}

/* The helper's --socket address (exits on a path too long for it). */
static struct sockaddr_un peer_address(void)
{
	struct sockaddr_un peer = { .sun_family = AF_UNIX };

	if (strlen(opt.socket_path) >= sizeof(peer.sun_path))
		die_usage("--socket path too long");
	strcpy(peer.sun_path, opt.socket_path);
	return peer;
}

/* Connects fd to the helper's socket and sizes its buffers: fd, or -1
 * (closed) with a line on stderr. */
static int connect_peer(int fd, const struct sockaddr_un *peer)
{
	if (connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0) {
		fprintf(stderr, "vmsim: connect %s: %s\n", opt.socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	set_buffers(fd);
	return fd;
}

/* --socket --stream: a stream connection, as QEMU's -netdev stream makes it. */
static int stream_connect(void)
{
	struct sockaddr_un peer = peer_address();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("vmsim: socket");
		return -1;
	}
	return connect_peer(fd, &peer);
}

static int sock_connect(void)
{
	if (opt.stream)
		return stream_connect();

	struct sockaddr_un own = { .sun_family = AF_UNIX };
	struct sockaddr_un peer = peer_address();
	int fd;

	if (opt.bind_path) {
		if (strlen(opt.bind_path) >= sizeof(own.sun_path))
			die_usage("--bind path too long");
		snprintf(own_path, sizeof(own_path), "%s", opt.bind_path);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(own_path, sizeof(own_path), "/tmp/vmsim-%d-%lx.sock", (int)getpid(),
			 (unsigned long)ts.tv_nsec);
	}
	strcpy(own.sun_path, own_path);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("vmsim: socket");
		return -1;
	}
	unlink(own_path);
	if (bind(fd, (struct sockaddr *)&own, sizeof(own)) < 0) {
		fprintf(stderr, "vmsim: bind %s: %s\n", own_path, strerror(errno));
		own_path[0] = 0;
		close(fd);
		return -1;
	}
	if (connect_peer(fd, &peer) < 0)
		return -1;
	if (opt.handshake && send(fd, "VFKT", 4, 0) != 4) {
		fprintf(stderr, "vmsim: handshake: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits until fd has the events, or stop. Returns false when stopping. */
static bool wait_fd(int fd, short events)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = events },
		{ .fd = stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (atomic_load(&stopping))
			return false;
		int n = poll(p, 2, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (p[1].revents)
			return false;
		if (p[0].revents)
			return true;
	}
}

static uint8_t *alloc_frames(void)
{
	uint8_t *b = malloc((size_t)BATCH * FRAME_MAX);

	if (!b) {
		fprintf(stderr, "vmsim: out of memory\n");
		exit(1);
	}
	return b;
}

/* One frame to the TAP; with --offload behind a zeroed header. */
static ssize_t tap_write(void *frame, size_t len)
{
	static const struct virtio_net_hdr zero;
	struct iovec v[2] = { { (void *)&zero, sizeof(zero) }, { frame, len } };

	if (!opt.offload)
		return write(tap_fd, frame, len);
	return writev(tap_fd, v, 2);
}

/* One frame from the TAP; with --offload the header is read aside and dropped:
 * the frame keeps its partial checksum, as libkrun passes it on. */
static ssize_t tap_read(void *buf, size_t cap)
{
	struct virtio_net_hdr hdr;
	struct iovec v[2] = { { &hdr, sizeof(hdr) }, { buf, cap } };
	ssize_t r;

	if (!opt.offload)
		return read(tap_fd, buf, cap);
	r = readv(tap_fd, v, 2);
	if (r < 0)
		return r;
	return r < VNET_HDR ? 0 : r - VNET_HDR;
}

/* helper socket -> TAP */
static void *sock_to_tap(void *arg)
{
	uint8_t *buf = alloc_frames();
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];

	(void)arg;
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf + (size_t)i * FRAME_MAX;
		iov[i].iov_len = FRAME_MAX;
	}
	while (wait_fd(sock_fd, POLLIN)) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(sock_fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				if (!opt.quiet)
					fprintf(stderr, "vmsim: helper gone\n");
				request_stop(0);
				break;
			}
			fprintf(stderr, "vmsim: recvmmsg: %s\n", strerror(errno));
			request_stop(1);
			break;
		}
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC || len == 0) {
				atomic_fetch_add(&to_tap.drops, 1);
				continue;
			}
			ssize_t w = tap_write(iov[i].iov_base, len);
			if (w < 0) {
				atomic_fetch_add(&to_tap.drops, 1);
				continue;
			}
			atomic_fetch_add(&to_tap.packets, 1);
			atomic_fetch_add(&to_tap.bytes, len);
		}
	}
	free(buf);
	return NULL;
}

/* Sends msgs[0..n) to the helper; returns false when the relay must stop. */
static bool send_batch(struct mmsghdr *msgs, int n)
{
	int done = 0;

	while (done < n) {
		int r = sendmmsg(sock_fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				if (!wait_fd(sock_fd, POLLOUT))
					return false;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED || errno == ENOTCONN || errno == EPIPE) {
				if (!opt.quiet)
					fprintf(stderr, "vmsim: helper gone\n");
				request_stop(0);
				return false;
			}
			if (errno == EMSGSIZE) {
				/* One frame too big for the socket: skip it. */
				atomic_fetch_add(&to_sock.drops, 1);
				done++;
				continue;
			}
			fprintf(stderr, "vmsim: sendmmsg: %s\n", strerror(errno));
			request_stop(1);
			return false;
		}
		for (int i = done; i < done + r; i++) {
			atomic_fetch_add(&to_sock.packets, 1);
			atomic_fetch_add(&to_sock.bytes, msgs[i].msg_hdr.msg_iov->iov_len);
		}
		done += r;
	}
	return true;
}

/* TAP -> helper socket */
static void *tap_to_sock(void *arg)
{
	uint8_t *buf = alloc_frames();
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];

	(void)arg;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (wait_fd(tap_fd, POLLIN)) {
		int n = 0;
		while (n < BATCH) {
			uint8_t *p = buf + (size_t)n * FRAME_MAX;
			ssize_t r = tap_read(p, FRAME_MAX);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					atomic_fetch_add(&to_sock.drops, 1);
				break;
			}
			if (r == 0)
				break;
			iov[n].iov_base = p;
			iov[n].iov_len = (size_t)r;
			n++;
		}
		if (n > 0 && !send_batch(msgs, n))
			break;
	}
	free(buf);
	return NULL;
}

/* ---- --stream: frames behind their 4-byte big-endian length ---- */

#define STREAM_READ (1u << 20)

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes every byte of iov[0..n) (blocking, as a VM's writer). */
static bool write_all(struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)(n > 1024 ? 1024 : n) };
		ssize_t w = sendmsg(sock_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN) {
				if (!wait_fd(sock_fd, POLLOUT))
					return false;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (!opt.quiet)
				fprintf(stderr, "vmsim: helper gone (%s)\n", strerror(errno));
			request_stop(0);
			return false;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return true;
}

/* helper stream -> TAP */
static void *stream_to_tap(void *arg)
{
	size_t cap = STREAM_READ + 4 + FRAME_MAX, have = 0;
	uint8_t *buf = malloc(cap);

	(void)arg;
	if (!buf) {
		request_stop(1);
		return NULL;
	}
	while (wait_fd(sock_fd, POLLIN)) {
		ssize_t n = recv(sock_fd, buf + have, cap - have, MSG_DONTWAIT);
		size_t off = 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			if (!opt.quiet)
				fprintf(stderr, "vmsim: helper gone\n");
			request_stop(n == 0 || errno == ECONNRESET ? 0 : 1);
			break;
		}
		have += (size_t)n;
		while (have - off >= 4) {
			uint32_t len = get_be32(buf + off);
			if (len > FRAME_MAX) {
				fprintf(stderr, "vmsim: the helper sent a frame length of %u\n", len);
				request_stop(1);
				goto out;
			}
			if (have - off < 4 + (size_t)len)
				break;
			if (len == 0 || tap_write(buf + off + 4, len) < 0) {
				atomic_fetch_add(&to_tap.drops, 1);
			} else {
				atomic_fetch_add(&to_tap.packets, 1);
				atomic_fetch_add(&to_tap.bytes, len);
			}
			off += 4 + (size_t)len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	free(buf);
	return NULL;
}

/* TAP -> helper stream: a batch per writev */
static void *tap_to_stream(void *arg)
{
	uint8_t *buf = alloc_frames();
	uint8_t hdr[BATCH][4];
	struct iovec iov[2 * BATCH];

	(void)arg;
	while (wait_fd(tap_fd, POLLIN)) {
		int n = 0;
		uint64_t bytes = 0;
		while (n < BATCH) {
			uint8_t *p = buf + (size_t)n * FRAME_MAX;
			ssize_t r = tap_read(p, FRAME_MAX);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			hdr[n][0] = (uint8_t)(r >> 24);
			hdr[n][1] = (uint8_t)(r >> 16);
			hdr[n][2] = (uint8_t)(r >> 8);
			hdr[n][3] = (uint8_t)r;
			iov[2 * n] = (struct iovec){ hdr[n], 4 };
			iov[2 * n + 1] = (struct iovec){ p, (size_t)r };
			bytes += (uint64_t)r;
			n++;
		}
		if (n == 0)
			continue;
		if (!write_all(iov, 2 * n))
			break;
		atomic_fetch_add(&to_sock.packets, (uint64_t)n);
		atomic_fetch_add(&to_sock.bytes, bytes);
	}
	free(buf);
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vmsim --tap NAME [--mac MAC] [--mtu N] (--fd N | --socket PATH [--handshake])\n"
		"             [--bind PATH] [--stream] [--no-up] [--offload] [--quiet]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tap", required_argument, NULL, 't' },
		{ "mac", required_argument, NULL, 'm' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "fd", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "bind", required_argument, NULL, 'b' },
		{ "handshake", no_argument, NULL, 'H' },
		{ "stream", no_argument, NULL, 'S' },
		{ "no-up", no_argument, NULL, 'n' },
		{ "offload", no_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.tap_name = optarg; break;
		case 'm': opt.mac = optarg; break;
		case 'M':
			opt.mtu = (int)strtol(optarg, &end, 10);
			if (*end || opt.mtu < 68 || opt.mtu > 65535)
				die_usage("invalid --mtu");
			break;
		case 'f':
			errno = 0;
			opt.fd = (int)strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || opt.fd < 0)
				die_usage("invalid --fd");
			break;
		case 's': opt.socket_path = optarg; break;
		case 'b': opt.bind_path = optarg; break;
		case 'H': opt.handshake = true; break;
		case 'S': opt.stream = true; break;
		case 'n': opt.no_up = true; break;
		case 'o': opt.offload = true; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc)
		die_usage("unexpected argument");
	if (!opt.tap_name || strlen(opt.tap_name) >= IFNAMSIZ)
		die_usage("--tap NAME is required (at most 15 characters)");
	if ((opt.fd >= 0) == (opt.socket_path != NULL))
		die_usage("exactly one of --fd or --socket is required");
	if (opt.handshake && !opt.socket_path)
		die_usage("--handshake needs --socket");
	if (opt.stream && (opt.handshake || opt.bind_path))
		die_usage("--stream takes neither --handshake nor --bind");
	if (opt.mac) {
		unsigned char m[6];
		if (parse_mac(opt.mac, m) < 0)
			die_usage("invalid --mac");
	}
	if (opt.offload && opt.mtu == 0)
		opt.mtu = 1500;

	/* Signals are taken synchronously by the main thread only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0) {
		perror("vmsim: eventfd");
		return 1;
	}

	if (opt.fd >= 0) {
		int type = 0;
		socklen_t len = sizeof(type);
		if (getsockopt(opt.fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
		    (type != SOCK_DGRAM && type != SOCK_STREAM)) {
			fprintf(stderr, "vmsim: fd %d is not a datagram or stream socket\n", opt.fd);
			return 1;
		}
		opt.stream = type == SOCK_STREAM;
		sock_fd = opt.fd;
		fcntl(sock_fd, F_SETFD, FD_CLOEXEC);
		set_buffers(sock_fd);
	}

	tap_fd = tap_open();
	if (tap_fd < 0)
		return 1;

	if (opt.socket_path) {
		sock_fd = sock_connect();
		if (sock_fd < 0) {
			if (own_path[0])
				unlink(own_path);
			return 1;
		}
	}

	pthread_t threads[2];
	if (pthread_create(&threads[0], NULL, opt.stream ? stream_to_tap : sock_to_tap, NULL) ||
	    pthread_create(&threads[1], NULL, opt.stream ? tap_to_stream : tap_to_sock, NULL)) {
		fprintf(stderr, "vmsim: cannot start threads\n");
		return 1;
	}

	printf("READY %s\n", opt.tap_name);
	fflush(stdout);

	struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	while (!atomic_load(&stopping)) {
		siginfo_t si;
		int s = sigtimedwait(&sigs, &si, &tick);
		if (s > 0) {
			if (!opt.quiet)
				fprintf(stderr, "vmsim: signal %d, stopping\n", s);
			request_stop(0);
		}
	}
	pthread_join(threads[0], NULL);
	pthread_join(threads[1], NULL);

	if (!opt.quiet)
		fprintf(stderr,
			"vmsim: to_vm packets=%llu bytes=%llu drops=%llu "
			"from_vm packets=%llu bytes=%llu drops=%llu\n",
			(unsigned long long)to_tap.packets, (unsigned long long)to_tap.bytes,
			(unsigned long long)to_tap.drops, (unsigned long long)to_sock.packets,
			(unsigned long long)to_sock.bytes, (unsigned long long)to_sock.drops);
	if (own_path[0])
		unlink(own_path);
	close(tap_fd);
	close(sock_fd);
	return atomic_load(&exit_code);
}
