/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhostsim: plays QEMU's vhost-user network frontend and the guest's
 * virtio-net driver, for the benchmark and the tests, with a real kernel
 * stack (a TAP in the namespace it runs in) where QEMU has its guest.
 *
 * As QEMU does, it connects to the backend's socket, negotiates features
 * and protocol features, hands over the guest's memory (a memfd, shared) and
 * two split virtqueues of 256 entries (receive 0, transmit 1), with an
 * eventfd each way per queue. Then it is the guest's driver, from one thread:
 *
 *   TAP read (the guest's stack transmits) -> a transmit buffer, made
 *     available, a kick when the backend asked for one (event index);
 *   used receive buffers (after the backend's call) -> TAP write (the
 *     guest's stack receives), the buffers made available again.
 *
 * With offloads (the default) the TAP carries the virtio-net header both
 * ways, as virtio-net does: the guest's kernel hands it 64 KiB TCP frames
 * with partial checksums and takes them so; mergeable receive buffers of
 * 4 KiB. --plain negotiates none of it (no offload, no mergeable buffers, no
 * event index), as QEMU with csum=off,...,mrg_rxbuf=off,event_idx=off.
 *
 * Usage: vhostsim --tap NAME --socket PATH [--mtu N] [--mac MAC] [--plain]
 *                 [--evil bad-desc|loop|big-region|flip:A.B.C.D:E.F.G.H]
 *                 [--gen DST_MAC,SRC_IP,DST_IP]
 *
 * --gen makes the guest's driver transmit 60-byte UDP frames (to port 9,
 * from --mac) as fast as the backend takes them, the same frame in every
 * buffer, made available again as soon as it is used: the frame-rate
 * benchmark's load, with no cost of its own but the ring.
 * Prints "READY <tap>" once the queues are set up; exits 0 when the backend
 * closes the connection or on SIGTERM, 1 on errors, 2 on a bad command line.
 *
 * --evil plays a hostile guest or frontend, for the tests: bad-desc makes
 * every 8th transmit descriptor point past the guest's memory; loop makes
 * the first transmit chain a loop; big-region first offers a memory table
 * whose region is larger than its memfd (and says REFUSED if the backend
 * refuses it, then offers the right one); flip:OWN:OTHER keeps rewriting
 * the IPv4 source address of every transmit buffer between OWN and OTHER
 * from a second thread, while the backend may be reading them.
 */
#include <arpa/inet.h>
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* vhost-user (QEMU's docs/interop/vhost-user.rst). */
enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10, SET_VRING_KICK = 12,
	SET_VRING_CALL = 13, GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16,
	GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18,
};
#define F_VERSION 1u
#define F_NEED_REPLY (1u << 3)
#define PF_MQ (1ull << 0)
#define PF_REPLY_ACK (1ull << 3)
#define F_PROTOCOL (1ull << 30)
#define F_EVENT_IDX (1ull << 29)
#define F_INDIRECT (1ull << 28)
#define F_MRG (1ull << 15)
#define F_VERSION_1 (1ull << 32)
/* CSUM, GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN, HOST_TSO4/6, HOST_ECN */
#define F_OFFLOADS (1ull << 0 | 1ull << 1 | 1ull << 7 | 1ull << 8 | 1ull << 9 | 1ull << 11 | \
		    1ull << 12 | 1ull << 13)

#define QSIZE 256
#define HDR 12                        /* virtio 1.0's header, num_buffers included */
#define FRAME_MAX 65550
#define TX_BUF 65600                  /* a header and the largest frame */
#define MRG_BUF 4096                  /* Linux's mergeable buffers, at most a page */
#define MEM_SIZE (48u << 20)
#define RING_AT(q) ((size_t)(q) * 0x4000)
#define DESC_OFF 0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
/* Room for 256 buffers of a header and the largest frame each way. */
#define RX_BUFS 0x10000
#define TX_BUFS 0x1100000
#define BATCH 64

struct vq {
	uint8_t *desc, *avail, *used;
	int kick, call;
	uint16_t avail_idx;       /* next entry we make available */
	uint16_t last_used;       /* next used entry we look at */
	uint16_t kicked;          /* avail_idx at the last kick decision */
};

static struct {
	const char *tap_name, *socket_path, *mac;
	int mtu;
	bool plain;
	const char *evil;
	const char *gen;
} opt;

static int sock = -1, tap = -1, memfd = -1;
static uint8_t *mem;
static struct vq q[2];
static uint64_t features;
static bool event_idx, mrg;
static size_t rx_buf;             /* bytes per receive buffer */
static uint16_t free_tx[QSIZE];
static unsigned nfree_tx;
static unsigned tx_count;
static uint32_t flip_own, flip_other;
static uint8_t gen_frame[60];

static void fail(const char *what)
{
	fprintf(stderr, "vhostsim: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: vhostsim --tap NAME --socket PATH [--mtu N] [--mac MAC] [--plain] "
		"[--evil bad-desc|loop|big-region|flip:OWN:OTHER] [--gen DST_MAC,SRC_IP,DST_IP]\n");
	exit(2);
}

/* ---- the guest's memory and rings -------------------------------------- */

static uint16_t ld16(const uint8_t *p) { return *(volatile const uint16_t *)(const void *)p; }
static uint32_t ld32(const uint8_t *p) { return *(volatile const uint32_t *)(const void *)p; }
static void st16(uint8_t *p, uint16_t v) { *(volatile uint16_t *)(void *)p = v; }

static void set_desc(struct vq *v, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = v->desc + i * 16;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Guest physical addresses are offsets into the memfd. */
static uint64_t gpa(const void *p)
{
	return (uint64_t)((const uint8_t *)p - mem);
}

static void make_available(struct vq *v, uint16_t head)
{
	st16(v->avail + 4 + (size_t)(v->avail_idx % QSIZE) * 2, head);
	v->avail_idx++;
}

static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Publishes what was made available and kicks if the backend asked for it. */
static void publish_and_kick(struct vq *v)
{
	uint64_t one = 1;
	bool kick;

	if (v->avail_idx == v->kicked)
		return;
	atomic_thread_fence(memory_order_release);
	st16(v->avail + 2, v->avail_idx);
	atomic_thread_fence(memory_order_seq_cst);
	kick = event_idx ? need_event(ld16(v->used + 4 + QSIZE * 8), v->avail_idx, v->kicked)
			 : !(ld16(v->used) & 1);
	v->kicked = v->avail_idx;
	if (kick && write(v->kick, &one, sizeof(one)) < 0)
		fail("kick");
}

/* Asks for a call when the backend uses the next entry (or, event index
 * off, for every one). */
static void want_call(struct vq *v, bool want)
{
	if (event_idx)
		st16(v->avail + 4 + QSIZE * 2, want ? v->last_used : (uint16_t)(v->last_used - 1));
	else
		st16(v->avail, want ? 0 : 1);
	atomic_thread_fence(memory_order_seq_cst);
}

static bool has_used(struct vq *v)
{
	return ld16(v->used + 2) != v->last_used;
}

/* ---- vhost-user messages ------------------------------------------------ */

static void send_msg(uint32_t req, uint32_t flags, const void *payload, uint32_t size,
		     const int *fds, int nfds)
{
	uint32_t hdr[3] = { req, F_VERSION | flags, size };
	struct iovec iov[2] = { { hdr, 12 }, { (void *)payload, size } };
	union { char buf[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } u;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };

	if (nfds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)(12 + size))
		fail("sendmsg");
}

static uint64_t recv_u64(uint32_t req)
{
	uint32_t hdr[3];
	uint64_t v;

	if (recv(sock, hdr, 12, MSG_WAITALL) != 12 || hdr[0] != req || hdr[2] != 8 ||
	    recv(sock, &v, 8, MSG_WAITALL) != 8) {
		errno = EPROTO;
		fail("reply");
	}
	return v;
}

static uint64_t get_u64(uint32_t req)
{
	send_msg(req, 0, NULL, 0, NULL, 0);
	return recv_u64(req);
}

static void set_u64(uint32_t req, uint64_t v)
{
	send_msg(req, 0, &v, 8, NULL, 0);
}

static void set_state(uint32_t req, uint32_t index, uint32_t num)
{
	uint32_t s[2] = { index, num };

	send_msg(req, 0, s, 8, NULL, 0);
}

/* SET_MEM_TABLE with REPLY_ACK: true if the backend took it. */
static bool mem_table(uint64_t size)
{
	struct { uint32_t n, pad; uint64_t gpa, size, uaddr, off; } t = {
		1, 0, 0, size, (uint64_t)(uintptr_t)mem, 0 };

	send_msg(SET_MEM_TABLE, F_NEED_REPLY, &t, sizeof(t), &memfd, 1);
	return recv_u64(SET_MEM_TABLE) == 0;
}

static void setup_queue(unsigned i)
{
	struct vq *v = &q[i];
	struct { uint32_t index, flags; uint64_t desc, used, avail, log; } a = {
		i, 0, (uint64_t)(uintptr_t)v->desc, (uint64_t)(uintptr_t)v->used,
		(uint64_t)(uintptr_t)v->avail, 0 };
	uint64_t idx = i;

	v->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->kick < 0 || v->call < 0)
		fail("eventfd");
	set_state(SET_VRING_NUM, i, QSIZE);
	set_state(SET_VRING_BASE, i, 0);
	send_msg(SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0);
	send_msg(SET_VRING_KICK, 0, &idx, 8, &v->kick, 1);
	send_msg(SET_VRING_CALL, 0, &idx, 8, &v->call, 1);
	set_state(SET_VRING_ENABLE, i, 1);
}

/* QEMU's start-up and the driver's DRIVER_OK, in QEMU's order. */
static void negotiate(void)
{
	uint64_t want = F_PROTOCOL | F_VERSION_1 | F_INDIRECT, offered;

	if (!opt.plain)
		want |= F_OFFLOADS | F_MRG | F_EVENT_IDX;
	offered = get_u64(GET_FEATURES);
	if (!(offered & F_PROTOCOL) || !(offered & F_VERSION_1)) {
		errno = EPROTO;
		fail("the backend's features");
	}
	get_u64(GET_PROTOCOL_FEATURES);
	set_u64(SET_PROTOCOL_FEATURES, PF_MQ | PF_REPLY_ACK);
	if (get_u64(GET_QUEUE_NUM) < 1)
		fail("GET_QUEUE_NUM");
	send_msg(SET_OWNER, 0, NULL, 0, NULL, 0);
	features = offered & want;
	event_idx = features & F_EVENT_IDX;
	mrg = features & F_MRG;
	set_u64(SET_FEATURES, features);
	if (opt.evil && !strcmp(opt.evil, "big-region") && !mem_table((uint64_t)MEM_SIZE * 2)) {
		printf("REFUSED big-region\n");
		fflush(stdout);
	}
	if (!mem_table(MEM_SIZE)) {
		errno = EPROTO;
		fail("SET_MEM_TABLE refused");
	}
}

/* ---- the guest's driver ----------------------------------------------- */

static void post_rx(uint16_t id)
{
	set_desc(&q[0], id, gpa(mem + RX_BUFS + (size_t)id * rx_buf), (uint32_t)rx_buf, 2, 0);
	make_available(&q[0], id);
}

static void init_rings(void)
{
	for (unsigned i = 0; i < 2; i++) {
		q[i].desc = mem + RING_AT(i) + DESC_OFF;
		q[i].avail = mem + RING_AT(i) + AVAIL_OFF;
		q[i].used = mem + RING_AT(i) + USED_OFF;
	}
	/* As Linux: mergeable buffers of a page; without them "big" buffers
	 * for a whole super-frame with TSO, else one MTU-sized frame. */
	if (mrg)
		rx_buf = MRG_BUF;
	else if (features & (1ull << 7 | 1ull << 8))
		rx_buf = (HDR + FRAME_MAX + 63) / 64 * 64;
	else
		rx_buf = (size_t)(HDR + (opt.mtu > 0 ? opt.mtu : 1500) + 14 + 63) / 64 * 64;
	for (uint16_t i = 0; i < QSIZE; i++) {
		post_rx(i);
		free_tx[nfree_tx++] = (uint16_t)(QSIZE - 1 - i);
	}
	want_call(&q[0], true);
	want_call(&q[1], false);
}

/* Transmit: frames from the TAP into buffers, as many as there is room for. */
static void guest_tx(void)
{
	struct vq *v = &q[1];

	for (int n = 0; n < BATCH && nfree_tx > 0; n++) {
		uint16_t id = free_tx[nfree_tx - 1];
		uint8_t *buf = mem + TX_BUFS + (size_t)id * TX_BUF;
		ssize_t r = read(tap, buf, TX_BUF);
		uint64_t addr = gpa(buf);

		if (r <= 0)
			break;
		nfree_tx--;
		tx_count++;
		if (opt.evil && !strcmp(opt.evil, "bad-desc") && tx_count % 8 == 0)
			addr = MEM_SIZE + 4096;
		set_desc(v, id, addr, (uint32_t)r, 0, 0);
		if (opt.evil && !strcmp(opt.evil, "loop") && tx_count == 1)
			set_desc(v, id, addr, (uint32_t)r, 1, id);
		make_available(v, id);
	}
	publish_and_kick(v);
}

/* --gen: every free buffer holds the frame; all of them go out again. */
static void gen_tx(void)
{
	struct vq *v = &q[1];

	while (nfree_tx > 0) {
		uint16_t id = free_tx[--nfree_tx];

		set_desc(v, id, gpa(mem + TX_BUFS + (size_t)id * TX_BUF), HDR + sizeof(gen_frame), 0, 0);
		make_available(v, id);
	}
	publish_and_kick(v);
}

static void parse_gen(void)
{
	unsigned m[6], d[6];
	char src[16], dst[16];
	uint8_t *f = gen_frame, *ip = f + 14, *udp = ip + 20;
	uint32_t sum = 0;

	if (!opt.gen)
		return;
	if (!opt.mac || sscanf(opt.gen, "%x:%x:%x:%x:%x:%x,%15[0-9.],%15[0-9.]", &d[0], &d[1],
			       &d[2], &d[3], &d[4], &d[5], src, dst) != 8 ||
	    sscanf(opt.mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, src, ip + 12) != 1 || inet_pton(AF_INET, dst, ip + 16) != 1)
		usage();
	for (int i = 0; i < 6; i++) {
		f[i] = (uint8_t)d[i];
		f[6 + i] = (uint8_t)m[i];
	}
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 46;                     /* 20 + 8 + 18 */
	ip[8] = 64;
	ip[9] = 17;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	/* From port 1234 to the discard port, 26 bytes, no checksum. */
	udp[0] = 0x04;
	udp[1] = 0xd2;
	udp[3] = 9;
	udp[5] = 26;
	for (unsigned i = 0; i < QSIZE; i++)
		memcpy(mem + TX_BUFS + (size_t)i * TX_BUF + HDR, gen_frame, sizeof(gen_frame));
}

/* Transmit buffers the backend is done with. */
static void reap_tx(void)
{
	struct vq *v = &q[1];

	while (has_used(v)) {
		atomic_thread_fence(memory_order_acquire);
		uint32_t id = ld32(v->used + 4 + (size_t)(v->last_used % QSIZE) * 8);
		v->last_used++;
		if (id < QSIZE && nfree_tx < QSIZE)
			free_tx[nfree_tx++] = (uint16_t)id;
	}
}

/* One received frame: num_buffers used entries from the first one's header. */
static bool rx_frame(struct vq *v)
{
	struct iovec iov[64];
	unsigned n = 1, bufs = 1;
	uint32_t id, len;

	atomic_thread_fence(memory_order_acquire);
	id = ld32(v->used + 4 + (size_t)(v->last_used % QSIZE) * 8);
	len = ld32(v->used + 8 + (size_t)(v->last_used % QSIZE) * 8);
	if (id >= QSIZE || len > rx_buf)
		fail("a used entry out of bounds");
	iov[0] = (struct iovec){ mem + RX_BUFS + (size_t)id * rx_buf, len };
	if (mrg)
		memcpy(&bufs, (uint8_t *)iov[0].iov_base + 10, 2);
	if (bufs == 0 || bufs > 64 || (uint16_t)(ld16(v->used + 2) - v->last_used) < bufs)
		return false;   /* the rest is not there yet */
	v->last_used++;
	for (; n < bufs; n++) {
		id = ld32(v->used + 4 + (size_t)(v->last_used % QSIZE) * 8);
		len = ld32(v->used + 8 + (size_t)(v->last_used % QSIZE) * 8);
		v->last_used++;
		if (id >= QSIZE || len > rx_buf)
			fail("a used entry out of bounds");
		iov[n] = (struct iovec){ mem + RX_BUFS + (size_t)id * rx_buf, len };
	}
	/* The guest's stack receives it (a full queue drops, as a NIC's). */
	if (writev(tap, iov, (int)n) < 0 && errno != EAGAIN && errno != ENOBUFS &&
	    errno != EINVAL)
		fail("write to the TAP");
	for (unsigned i = 0; i < n; i++)
		post_rx((uint16_t)(((uint8_t *)iov[i].iov_base - mem - RX_BUFS) / rx_buf));
	return true;
}

/* Receive: every whole frame used so far, then a call wanted for the next
 * one, and a last look (what came in between sent no call). */
static void guest_rx(void)
{
	struct vq *v = &q[0];
	bool progress;

	do {
		progress = false;
		while (has_used(v) && rx_frame(v))
			progress = true;
		publish_and_kick(v);
		want_call(v, true);
	} while (progress && has_used(v));
}

/* --evil flip: rewrites the IPv4 source of every transmit buffer, forever. */
static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned k = 0;; k++) {
		uint32_t a = k & 1 ? flip_other : flip_own;

		for (unsigned i = 0; i < QSIZE; i++) {
			uint8_t *f = mem + TX_BUFS + (size_t)i * TX_BUF + HDR;

			if (f[12] == 0x08 && f[13] == 0x00)
				memcpy(f + 26, &a, 4);
		}
	}
	return NULL;
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fail("eventfd");
}

static void main_loop(void)
{
	for (;;) {
		struct pollfd p[4] = {
			{ sock, POLLIN, 0 },
			{ tap, (short)(nfree_tx && !opt.gen ? POLLIN : 0), 0 },
			{ q[0].call, POLLIN, 0 },
			{ q[1].call, POLLIN, 0 },
		};
		char c;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll");
		}
		if (p[0].revents && recv(sock, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0)
			exit(0);
		if (p[2].revents)
			drain(q[0].call);
		if (p[3].revents)
			drain(q[1].call);
		guest_rx();
		do {
			reap_tx();
			if (opt.gen)
				gen_tx();
			else if (p[1].revents)
				guest_tx();
			/* Out of buffers: a call when one comes back, and one more
			 * look (what came back meanwhile sent none). */
			want_call(&q[1], nfree_tx == 0);
		} while (nfree_tx == 0 && has_used(&q[1]));
	}
}

/* ---- set-up ------------------------------------------------------------- */

static void ifreq_ioctl(int fd, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(fd, req, ifr) < 0)
		fail(what);
}

static void tap_create(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = HDR, ctl;
	unsigned long off = opt.plain ? 0 : TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (tap < 0)
		fail("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap_name);
	ifreq_ioctl(tap, TUNSETIFF, &ifr, "TUNSETIFF");
	if (ioctl(tap, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(tap, TUNSETOFFLOAD, off) < 0)
		fail("TAP offloads");
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0)
		fail("socket");
	if (opt.mac) {
		unsigned v[6];
		if (sscanf(opt.mac, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5]) != 6)
			usage();
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		for (int i = 0; i < 6; i++)
			ifr.ifr_hwaddr.sa_data[i] = (char)v[i];
		ifreq_ioctl(ctl, SIOCSIFHWADDR, &ifr, "SIOCSIFHWADDR");
	}
	if (opt.mtu > 0) {
		ifr.ifr_mtu = opt.mtu;
		ifreq_ioctl(ctl, SIOCSIFMTU, &ifr, "SIOCSIFMTU");
	}
	ifreq_ioctl(ctl, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	ifreq_ioctl(ctl, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS");
	close(ctl);
}

static void connect_backend(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(opt.socket_path) >= sizeof(sa.sun_path))
		usage();
	strcpy(sa.sun_path, opt.socket_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
}

static void guest_memory(void)
{
	memfd = memfd_create("vhostsim-guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
		fail("memfd");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
}

static void parse_evil(void)
{
	char own[16], other[16];

	if (!opt.evil || strncmp(opt.evil, "flip:", 5))
		return;
	if (sscanf(opt.evil + 5, "%15[0-9.]:%15[0-9.]", own, other) != 2 ||
	    inet_pton(AF_INET, own, &flip_own) != 1 || inet_pton(AF_INET, other, &flip_other) != 1)
		usage();
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tap", required_argument, NULL, 't' }, { "socket", required_argument, NULL, 's' },
		{ "mtu", required_argument, NULL, 'm' }, { "mac", required_argument, NULL, 'a' },
		{ "plain", no_argument, NULL, 'p' }, { "evil", required_argument, NULL, 'e' },
		{ "gen", required_argument, NULL, 'g' },
		{ 0 },
	};
	pthread_t t;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.tap_name = optarg; break;
		case 's': opt.socket_path = optarg; break;
		case 'm': opt.mtu = atoi(optarg); break;
		case 'a': opt.mac = optarg; break;
		case 'p': opt.plain = true; break;
		case 'e': opt.evil = optarg; break;
		case 'g': opt.gen = optarg; break;
		default: usage();
		}
	}
	if (!opt.tap_name || !opt.socket_path || optind != argc)
		usage();
	parse_evil();
	signal(SIGPIPE, SIG_IGN);
	guest_memory();
	tap_create();
	connect_backend();
	negotiate();
	init_rings();
	parse_gen();
	for (unsigned i = 0; i < 2; i++)
		setup_queue(i);
	publish_and_kick(&q[0]);
	if (opt.gen)
		gen_tx();
	if (flip_own && pthread_create(&t, NULL, flipper, NULL) != 0)
		fail("pthread_create");
	printf("READY %s\n", opt.tap_name);
	fflush(stdout);
	main_loop();
	return 0;
}
