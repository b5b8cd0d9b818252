/* SPDX-License-Identifier: Apache-2.0 */
/* --pcap's writer (datapath/capture.h) on real files: what it writes, its
 * bound, its ring, and a write that fails. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datapath/capture.h"
#include "t.h"

static uint8_t frame[1514];

static int temp_file(void)
{
	char name[] = "/tmp/vmnet-test-capture-XXXXXX";
	int fd = mkstemp(name);

	unlink(name);
	return fd;
}

static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* The blocks in fd: each whole, 32-bit aligned; counts the packets. */
static int packets(int fd)
{
	static uint8_t buf[4 << 20];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	int count = 0;
	size_t off = 0;

	while (n > 0 && off + 12 <= (size_t)n) {
		uint32_t type, len;

		memcpy(&type, buf + off, 4);
		memcpy(&len, buf + off + 4, 4);
		if (len < 12 || len % 4 || off + len > (size_t)n)
			return -1;
		count += type == 6;
		off += len;
	}
	return n >= 0 && off == (size_t)n ? count : -1;
}

static void test_frames_both_sides(void)
{
	int fd = temp_file(), dup_fd = dup(fd);
	struct capture *c = capture_start(&fd, 1, 0, "test", "vmtap0");

	CHECK(c != NULL);
	CHECK(packets(dup_fd) == 0 && size_of(dup_fd) > 0);   /* the header alone */
	for (int i = 0; i < 100; i++) {
		capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 60, 60, NULL);
		capture_frame(c, CAPTURE_HOST, CAPTURE_TO_VM, frame, 1514, 1514,
			      i % 10 ? NULL : "dropped: test");
	}
	/* Staged, not written, until the batch is flushed. */
	CHECK(packets(dup_fd) == 0);
	capture_flush(c, CAPTURE_VM);
	CHECK(packets(dup_fd) == 100);
	capture_stop(c);   /* flushes the other side */
	CHECK(packets(dup_fd) == 200);
	close(dup_fd);
}

/* More than a stage holds: written as it fills, nothing lost. */
static void test_large_batches(void)
{
	int fd = temp_file(), dup_fd = dup(fd);
	struct capture *c = capture_start(&fd, 1, 0, "test", "vmtap0");

	for (int i = 0; i < 1000; i++)
		capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 1514, 1514, NULL);
	CHECK(packets(dup_fd) > 0);
	capture_stop(c);
	CHECK(packets(dup_fd) == 1000);
	close(dup_fd);
}

/* A single file stops at its bound, whole blocks only. */
static void test_bound(void)
{
	int fd = temp_file(), dup_fd = dup(fd);
	struct capture *c = capture_start(&fd, 1, 100000, "test", "vmtap0");

	for (int i = 0; i < 200; i++) {
		capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 1514, 1514, NULL);
		if (i % 16 == 15)
			capture_flush(c, CAPTURE_VM);
	}
	capture_stop(c);
	/* Batches of 16 frames of 1560 bytes: three fit with the header. */
	CHECK(size_of(dup_fd) <= 100000 && size_of(dup_fd) > 70000);
	CHECK(packets(dup_fd) == 48);
	close(dup_fd);
}

/* A ring: every file bounded and readable, the oldest overwritten. */
static void test_ring(void)
{
	int fds[3], dups[3], total = 0;
	struct capture *c;

	for (int i = 0; i < 3; i++) {
		fds[i] = temp_file();
		dups[i] = dup(fds[i]);
	}
	c = capture_start(fds, 3, 100000, "test", "vmtap0");
	for (int i = 0; i < 1000; i++) {
		capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 1514, 1514, NULL);
		if (i % 16 == 15)
			capture_flush(c, CAPTURE_VM);
	}
	capture_stop(c);
	for (int i = 0; i < 3; i++) {
		int n = packets(dups[i]);

		CHECK(n > 0 && size_of(dups[i]) <= 100000);
		total += n;
		close(dups[i]);
	}
	CHECK(total > 100 && total < 1000);
}

/* A write that fails (/dev/full: ENOSPC) stops the capture; nothing else
 * happens, and later frames are only counted. */
static void test_write_error(void)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct capture *c;

	CHECK(fd >= 0);
	c = capture_start(&fd, 1, 0, "full", "vmtap0");
	CHECK(c == NULL);   /* the header could not be written */

	/* A file that fills later: a 1-frame-sized file system is hard to get
	 * here, so the descriptor is made read-only under the capture. */
	fd = temp_file();
	int dup_fd = dup(fd);
	c = capture_start(&fd, 1, 0, "test", "vmtap0");
	capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 60, 60, NULL);
	capture_flush(c, CAPTURE_VM);
	CHECK(packets(dup_fd) == 1);
	/* Where the capture's descriptor was: a read-only one (EBADF on write). */
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(dup2(ro, fd) == fd);
	close(ro);
	for (int i = 0; i < 10; i++)
		capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 60, 60, NULL);
	capture_flush(c, CAPTURE_VM);
	capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, 60, 60, NULL);
	capture_stop(c);
	CHECK(packets(dup_fd) == 1);
	close(dup_fd);
}

static void tests(void)
{
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	test_frames_both_sides();
	test_large_batches();
	test_bound();
	test_ring();
	test_write_error();
}

T_MAIN
