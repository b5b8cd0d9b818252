/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --pcap in the datapath (capture.h): frames staged per side, written a
 * batch at a time to the files the files role opened. Runs as the invoking
 * user with no capabilities and no filesystem, under capture_sandbox and
 * the datapath's other lists: it only writes and truncates descriptors it
 * was given.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/options.h"
#include "common/version.h"
#include "datapath/capture.h"
#include "datapath/pcapng.h"

/* A side's staging buffer: a batch of 64 full-size frames and their blocks
 * fit; 64 KiB frames (TSO, --mtu 65520) are written a few at a time. */
#define STAGE_BYTES (256 << 10)
#define DESCRIPTION "frames between the VM and vmnet-helper (inbound: from the VM)"

struct stage {
	uint8_t *buf;
	size_t len;
	uint64_t frames;            /* staged in buf */
	uint64_t missed;            /* not staged: the capture had stopped */
};

struct capture {
	pthread_mutex_t lock;       /* the files: one write at a time */
	int fds[PCAP_FILES_MAX];
	unsigned n, cur;            /* files, and the one being written */
	uint64_t limit;             /* bytes per file, 0: none */
	uint64_t size;              /* of the file being written */
	const char *path;
	uint8_t header[512];        /* each file starts with it */
	size_t header_len;
	_Atomic bool stopped;
	uint64_t frames, bytes, lost;   /* written; staged but not written */
	unsigned rotations;
	struct stage stage[CAPTURE_SIDES];
};

static const char *file_name(const struct capture *c, unsigned i, char *buf, size_t len)
{
	if (options_pcap_file(c->path, c->n, i, buf, len) < 0)
		return c->path;
	return buf;
}

/* From here on nothing more is written; each file ends with a whole block. */
static void stop(struct capture *c)
{
	atomic_store(&c->stopped, true);
}

/* Writes buf at the end of the current file, whole or not at all: a write
 * cut short (a full disk) is cut back to the last whole block. */
static int write_all(struct capture *c, const uint8_t *buf, size_t len)
{
	int fd = c->fds[c->cur];
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(fd, buf + done, len - done, (off_t)(c->size + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : ENOSPC;
			char name[PATH_MAX];

			if (done && ftruncate(fd, (off_t)c->size) < 0)
				WARN("capture", "cannot cut the capture back to its last whole block: "
				     "%s", strerror(errno));
			WARN("capture", "capture stopped: cannot write \"%s\": %s (the VM's traffic "
			     "goes on)", file_name(c, c->cur, name, sizeof(name)), strerror(err));
			stop(c);
			return -1;
		}
		done += (size_t)w;
	}
	c->size += len;
	return 0;
}

/* The next file of the ring, emptied, with its header. */
static int rotate(struct capture *c)
{
	c->cur = (c->cur + 1) % c->n;
	c->size = 0;
	c->rotations++;
	if (ftruncate(c->fds[c->cur], 0) < 0) {
		char name[PATH_MAX];

		WARN("capture", "capture stopped: cannot empty \"%s\": %s (the VM's traffic goes "
		     "on)", file_name(c, c->cur, name, sizeof(name)), strerror(errno));
		stop(c);
		return -1;
	}
	return write_all(c, c->header, c->header_len);
}

/* Whether len more bytes may go to a file: the bound reached, a single
 * file stops and a ring moves on. */
static bool room(struct capture *c, size_t len)
{
	if (!c->limit || c->size + len <= c->limit)
		return true;
	if (c->n > 1)
		return rotate(c) == 0;
	INFO("capture", "capture stopped: \"%s\" reached --pcap-size (%llu bytes)", c->path,
	     (unsigned long long)c->limit);
	stop(c);
	return false;
}

void capture_flush(struct capture *c, enum capture_side side)
{
	struct stage *s = &c->stage[side];

	if (s->len == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (!atomic_load(&c->stopped) && room(c, s->len) && write_all(c, s->buf, s->len) == 0) {
		c->frames += s->frames;
		c->bytes += s->len;
	} else {
		c->lost += s->frames;
	}
	pthread_mutex_unlock(&c->lock);
	s->len = 0;
	s->frames = 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void capture_frame(struct capture *c, enum capture_side side, enum capture_dir dir,
		   const uint8_t *frame, size_t caplen, size_t len, const char *comment)
{
	struct stage *s = &c->stage[side];
	size_t need, n;

	if (atomic_load_explicit(&c->stopped, memory_order_relaxed)) {
		s->missed++;
		return;
	}
	if (caplen > len)
		caplen = len;
	need = pcapng_packet_size(caplen, comment);
	if (s->len + need > STAGE_BYTES)
		capture_flush(c, side);
	n = pcapng_packet(s->buf + s->len, STAGE_BYTES - s->len, now_ns(), frame, caplen, len,
			  dir == CAPTURE_FROM_VM ? PCAPNG_INBOUND : PCAPNG_OUTBOUND, comment);
	if (n == 0) {
		s->missed++;
		return;
	}
	s->len += n;
	s->frames++;
}

static void close_files(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void capture_free(struct capture *c)
{
	close_files(c->fds, c->n);
	for (int i = 0; i < CAPTURE_SIDES; i++)
		free(c->stage[i].buf);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Every file starts as a capture with no frames: a file of the ring not
 * reached yet still reads as one. */
static int write_headers(struct capture *c)
{
	for (c->cur = c->n; c->cur-- > 0;) {
		c->size = 0;
		if (write_all(c, c->header, c->header_len) < 0)
			return -1;
	}
	c->cur = 0;
	return 0;
}

struct capture *capture_start(const int *fds, unsigned n, uint64_t limit, const char *path,
			      const char *ifname)
{
	struct capture *c = calloc(1, sizeof(*c));
	char app[128];

	if (c == NULL || n == 0 || n > PCAP_FILES_MAX) {
		WARN("capture", "cannot start the capture into \"%s\": %s", path, strerror(ENOMEM));
		close_files(fds, n > PCAP_FILES_MAX ? PCAP_FILES_MAX : n);
		free(c);
		return NULL;
	}
	memcpy(c->fds, fds, n * sizeof(int));
	c->n = n;
	c->limit = limit;
	c->path = path;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(app, sizeof(app), "vmnet-helper %s", version_string());
	c->header_len = pcapng_header(c->header, sizeof(c->header), app, ifname, DESCRIPTION);
	for (int i = 0; i < CAPTURE_SIDES; i++)
		c->stage[i].buf = malloc(STAGE_BYTES);
	if (!c->stage[0].buf || !c->stage[1].buf || !c->header_len || write_headers(c) < 0) {
		if (!atomic_load(&c->stopped))
			WARN("capture", "cannot start the capture into \"%s\"", path);
		capture_free(c);
		return NULL;
	}
	INFO("capture", "capturing every frame to and from the VM into \"%s\"%s", path,
	     n > 1 ? " (a ring of files)" : "");
	return c;
}

void capture_stop(struct capture *c)
{
	uint64_t missed = 0;

	if (c == NULL)
		return;
	for (int i = 0; i < CAPTURE_SIDES; i++) {
		capture_flush(c, (enum capture_side)i);
		missed += c->stage[i].missed;
	}
	INFO("capture", "%llu frames (%llu bytes) captured into \"%s\"", (unsigned long long)c->frames,
	     (unsigned long long)c->bytes, c->path);
	if (c->rotations >= c->n)
		INFO("capture", "the ring of %u files went round: the oldest frames were "
		     "overwritten", c->n);
	if (c->lost + missed)
		INFO("capture", "%llu frames not captured: the capture had stopped",
		     (unsigned long long)(c->lost + missed));
	capture_free(c);
}

/* What a capture calls once the datapath is sandboxed (sandbox.h). */
static const struct sandbox_rule capture_rules[] = {
	/* the files, by descriptor only: writing at the end of the current
	 * one, cutting a write a full disk left half done back to the last
	 * whole block, emptying the next file of a ring */
	SANDBOX_ALLOW(pwrite64),
	SANDBOX_ALLOW(ftruncate),
	SANDBOX_ALLOW(close),
};
const struct sandbox_list capture_sandbox = SANDBOX_LIST(capture_rules);
