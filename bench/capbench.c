/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capbench: what --pcap costs the datapath per frame, measured on the
 * helper's own capture code (src/datapath/capture.c) alone, so that a busy
 * machine moves it little: frames of 64, 1514 and 65550 bytes staged one by
 * one and written a batch at a time, as the forwarding threads do, into a
 * file in a directory given on the command line (a tmpfs for the code's own
 * cost, a disk's directory for the disk's). Prints CPU ns per frame (user
 * and system: the copy into the stage and into the file's pages) and MB/s
 * of frames per CPU-second.
 *
 *   build/bench/capbench DIR [SECONDS]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "datapath/capture.h"

/* What one run may write: the file lives in the directory (memory, on a
 * tmpfs) until the run ends. */
#define MAX_BYTES (1ull << 30)

/* CPU time, not wall time: on a busy machine the process waits for a core,
 * which is not the capture's cost. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Frames of len bytes for about seconds of CPU: ns per frame, MB/s. */
static void run(const char *dir, size_t len, int batch, double seconds)
{
	static uint8_t frame[65550];
	char path[4096];
	int fd;
	struct capture *c;
	uint64_t n = 0;
	double t0, t;

	snprintf(path, sizeof(path), "%s/capbench-%d.pcapng", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	unlink(path);   /* its blocks go when the capture closes it */
	memset(frame, 0x5a, sizeof(frame));
	c = capture_start(&fd, 1, 0, path, "bench0");
	if (!c)
		exit(1);
	t0 = now();
	do {
		for (int i = 0; i < batch; i++)
			capture_frame(c, CAPTURE_VM, CAPTURE_FROM_VM, frame, len, len,
				      i == 0 ? "dropped: not the VM's to send, or malformed (vm.drops)"
				      : NULL);
		capture_flush(c, CAPTURE_VM);
		n += (uint64_t)batch;
		t = now() - t0;
	} while (t < seconds && n * (len + 48) < MAX_BYTES);
	capture_stop(c);
	printf("%6zu-byte frames, %2d a batch: %7.0f CPU ns/frame, %7.0f MB/s (%llu frames)\n", len,
	       batch, t * 1e9 / (double)n, (double)n * (double)len / t / 1e6,
	       (unsigned long long)n);
}

int main(int argc, char **argv)
{
	double seconds = argc > 2 ? atof(argv[2]) : 2;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
		return 2;
	}
	log_set_verbose(false);
	run(argv[1], 64, 64, seconds);
	run(argv[1], 1514, 64, seconds);
	run(argv[1], 65550, 16, seconds);
	return 0;
}
