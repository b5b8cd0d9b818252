/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rrbench: request/response latency, one transaction at a time (what netperf's
 * UDP_RR and TCP_RR measure): the client sends SIZE bytes, the server sends
 * them back, the client sends the next request once the answer is in.
 *
 *   rrbench --server (--udp | --tcp) [--port P]
 *   rrbench --client ADDR (--udp | --tcp) [--port P] [--size N] [--seconds S]
 *           [--interval US]
 *
 * The client prints one line of JSON: transactions, transactions per second
 * and the round trip's mean, min, p50, p90 and p99 in microseconds. --interval
 * waits that long between transactions (the threads on the path go idle, as
 * they do between a real application's requests; default 0: back to back).
 * UDP requests that get no answer within 1 s are sent again (counted).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65000
#define MAX_SAMPLES (1 << 22)

static struct {
	bool server, udp, tcp;
	const char *addr;
	int port, size, interval_us;
	double seconds;
} opt = { .port = 5202, .size = 1, .seconds = 5 };

static void die(const char *what)
{
	fprintf(stderr, "rrbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static bool full_io(int fd, uint8_t *buf, size_t len, bool rd)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = rd ? recv(fd, buf + done, len - done, 0) : send(fd, buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static void serve_tcp(int ls)
{
	static uint8_t buf[MAX_SIZE];

	for (;;) {
		int c = accept(ls, NULL, NULL), one = 1;
		uint8_t hdr[4];

		if (c < 0)
			die("accept");
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* Each request: a 4-byte length, then that many bytes. */
		while (full_io(c, hdr, 4, true)) {
			uint32_t len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
			if (len > MAX_SIZE || !full_io(c, buf, len, true) || !full_io(c, buf, len, false))
				break;
		}
		close(c);
	}
}

static void serve(void)
{
	static uint8_t buf[MAX_SIZE];
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)opt.port) };
	int s = socket(AF_INET6, opt.udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1, zero = 0;

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (opt.tcp && listen(s, 4) < 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
	if (opt.tcp)
		serve_tcp(s);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n >= 0)
			sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int connect_to(void)
{
	struct addrinfo_ { int family; socklen_t len; struct sockaddr_storage ss; } a = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.ss;
	int s, one = 1;

	if (inet_pton(AF_INET, opt.addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)opt.port);
		a.len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, opt.addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)opt.port);
		a.len = sizeof(*v6);
	} else {
		fprintf(stderr, "rrbench: bad address %s\n", opt.addr);
		exit(2);
	}
	s = socket(a.ss.ss_family, opt.udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&a.ss, a.len) < 0)
		die("connect");
	if (opt.tcp)
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* One transaction; false on failure. */
static bool transact(int s, uint8_t *buf, long *retries)
{
	if (opt.tcp) {
		uint8_t msg[4 + MAX_SIZE];
		uint32_t len = (uint32_t)opt.size;
		msg[0] = (uint8_t)(len >> 24);
		msg[1] = (uint8_t)(len >> 16);
		msg[2] = (uint8_t)(len >> 8);
		msg[3] = (uint8_t)len;
		memcpy(msg + 4, buf, len);
		return full_io(s, msg, 4 + len, false) && full_io(s, buf, len, true);
	}
	for (int tries = 0; tries < 10; tries++) {
		struct pollfd p = { s, POLLIN, 0 };
		if (send(s, buf, (size_t)opt.size, 0) < 0)
			return false;
		if (poll(&p, 1, 1000) > 0 && recv(s, buf, MAX_SIZE, 0) >= 0)
			return true;
		(*retries)++;
	}
	return false;
}

static int cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static void client(void)
{
	static uint8_t buf[MAX_SIZE];
	float *rtt = malloc(sizeof(float) * MAX_SAMPLES);
	int s = connect_to();
	long n = 0, retries = 0;
	double sum = 0, start = now_us(), end = start + opt.seconds * 1e6;

	if (!rtt)
		die("malloc");
	memset(buf, 'x', sizeof(buf));
	while (n < MAX_SAMPLES) {
		double t0 = now_us();
		if (t0 >= end)
			break;
		if (!transact(s, buf, &retries)) {
			fprintf(stderr, "rrbench: transaction failed\n");
			exit(1);
		}
		rtt[n] = (float)(now_us() - t0);
		sum += rtt[n++];
		if (opt.interval_us) {
			struct timespec ts = { 0, opt.interval_us * 1000L };
			nanosleep(&ts, NULL);
		}
	}
	double wall = (now_us() - start) / 1e6;
	if (n == 0)
		exit(1);
	qsort(rtt, (size_t)n, sizeof(float), cmp);
	printf("{\"transactions\":%ld,\"per_second\":%.1f,\"mean_us\":%.2f,\"min_us\":%.2f,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"retries\":%ld}\n",
	       n, (double)n / wall, sum / (double)n, rtt[0], rtt[n / 2], rtt[n * 9 / 10],
	       rtt[n * 99 / 100], retries);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", no_argument, NULL, 'S' },
		{ "client", required_argument, NULL, 'c' },
		{ "udp", no_argument, NULL, 'u' },
		{ "tcp", no_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': opt.server = true; break;
		case 'c': opt.addr = optarg; break;
		case 'u': opt.udp = true; break;
		case 't': opt.tcp = true; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'z': opt.size = atoi(optarg); break;
		case 's': opt.seconds = atof(optarg); break;
		case 'i': opt.interval_us = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (opt.udp == opt.tcp || opt.server == (opt.addr != NULL) || opt.size < 1 ||
	    opt.size > MAX_SIZE || opt.seconds <= 0 || opt.interval_us < 0 ||
	    opt.interval_us >= 1000000)
		goto usage;
	if (opt.server)
		serve();
	client();
	return 0;
usage:
	fprintf(stderr, "usage: rrbench --server (--udp|--tcp) [--port P]\n"
		"       rrbench --client ADDR (--udp|--tcp) [--port P] [--size N] [--seconds S]"
		" [--interval US]\n");
	return 2;
}
