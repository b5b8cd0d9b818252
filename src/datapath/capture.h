/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --pcap: every frame between the VM and the helper, both ways, into pcapng
 * files (pcapng.h) the datapath was handed open: it has no filesystem, so
 * the files are made by whoever plays the files role with the user's
 * identity (files/capfile.h) and only written here, by descriptor.
 *
 * Frames are staged in a buffer per side, each used by one thread at a time
 * (the VM's thread; the pass from the TAP to the VM, under its lock), and
 * written a batch at a time (capture_flush): one write per batch, never per
 * frame, and no lock held per frame. A write that fails (a full disk, a
 * quota, an I/O error) stops the capture with one WARN line and leaves the
 * file ending at the last whole block; the VM's traffic goes on. With a
 * size bound a single file stops growing there (one INFO line), a ring of
 * files starts over on the oldest one.
 */
#ifndef VMNET_CAPTURE_H
#define VMNET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/sandbox.h"

struct capture;

/* Who stages a frame: each side is one thread's at a time. */
enum capture_side {
	CAPTURE_VM,      /* the VM's thread: frames from the VM, the helper's replies */
	CAPTURE_HOST,    /* the TAP -> VM pass (under its lock): frames to the VM */
	CAPTURE_SIDES
};

/* Where a frame went: pcapng's inbound and outbound (pcapng.h). */
enum capture_dir {
	CAPTURE_FROM_VM = 1,
	CAPTURE_TO_VM = 2,
};

/*
 * Starts a capture into the n files of fds (n > 1: a ring), each at most
 * limit bytes (0: unbounded; a single file then stops growing at the bound),
 * and writes each file's header. path: the --pcap option, for messages;
 * ifname: the interface's name in the files. The capture owns the fds from
 * here on, whatever happens. NULL with one WARN line if it cannot start
 * (the VM is served without it).
 */
struct capture *capture_start(const int *fds, unsigned n, uint64_t limit, const char *path,
			      const char *ifname);

/*
 * Stages one frame of len bytes, of which caplen are at frame (fewer when
 * it was cut, e.g. longer than the buffer that received it); comment NULL
 * for a frame that simply passed. Writes what was staged first when the
 * buffer is full.
 */
void capture_frame(struct capture *c, enum capture_side side, enum capture_dir dir,
		   const uint8_t *frame, size_t caplen, size_t len, const char *comment);

/* Writes what side staged (its batch). */
void capture_flush(struct capture *c, enum capture_side side);

/* Flushes both sides (no thread may use c any more), logs what was
 * captured, closes the files and frees c. NULL is fine. */
void capture_stop(struct capture *c);

/* The calls a capture makes in the datapath (sandbox.h). */
extern const struct sandbox_list capture_sandbox;

#endif
