/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's memory and its split virtqueues, as a vhost-user backend sees them
 * (virtio 1.x, 2.7 "Split Virtqueues"; --socket-type vhost-user). Pure: it
 * works on memory it is handed (mapped by the caller, or a byte array in the
 * tests and the fuzzer) and makes no system call.
 *
 * The guest is hostile and may change its memory at any time, also while we
 * read it. So:
 *  - every address and length a ring gives is translated through the memory
 *    table with overflow-safe bounds checks; anything outside one region, or
 *    crossing a region's end, is refused;
 *  - every value the rings hold (indexes, descriptors) is read once, with a
 *    volatile load into a local, and only the local is checked and used;
 *  - descriptor chains are bounded by the queue size (an indirect table by its
 *    own length), so a loop ends as an error; the direction of every
 *    descriptor (VIRTQ_DESC_F_WRITE) must be the queue's;
 *  - the bytes of a frame stay in guest memory: whoever judges them (the
 *    frame guards) copies them out first (vring_copy_from) and judges the copy.
 *
 * Errors come in two kinds. A bad chain (an address outside guest memory, a
 * loop, the wrong direction, too many buffers) is the guest's mistake in one
 * buffer: the chain is returned to it as used with nothing written, and the
 * caller counts a drop. A broken ring (an available index more than the
 * queue size ahead, a head beyond the table) cannot be followed any more:
 * the ring stops until the frontend sets it up again.
 */
#ifndef VMNET_VRING_H
#define VMNET_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VRING_MAX_REGIONS 8
/* The largest queue the spec allows (QEMU's virtio-net: 256 to 1024). */
#define VRING_MAX_SIZE 32768
/* Buffers in one chain: Linux's virtio-net uses at most MAX_SKB_FRAGS + 2
 * (19) per frame; a longer chain is a bad chain. */
#define VRING_CHAIN_MAX 64

/* Descriptor flags (virtio 2.7.5). */
#define VRING_DESC_NEXT 1
#define VRING_DESC_WRITE 2
#define VRING_DESC_INDIRECT 4
/* Ring flags: the driver wants no interrupt; the device wants no kick. */
#define VRING_AVAIL_NO_INTERRUPT 1
#define VRING_USED_NO_NOTIFY 1

struct vring_region {
	uint64_t gpa;          /* guest physical address of its first byte */
	uint64_t size;
	uint64_t uaddr;        /* the frontend's address of it (ring addresses) */
	uint8_t *host;         /* where its first byte is here */
};

struct vring_mem {
	unsigned n;
	struct vring_region r[VRING_MAX_REGIONS];
};

/*
 * A memory table the frontend sent (host pointers filled by the caller):
 * every region non-empty, ending below 2^64 in guest, frontend and host
 * addresses alike, and none overlapping another in guest or frontend
 * addresses (a guest address must mean one thing). 0, or -1 with *why.
 */
int vring_mem_check(const struct vring_mem *m, const char **why);
/* The host address of guest physical [gpa, gpa + len), or NULL when that
 * is not inside a single region. len 0 is never inside. */
uint8_t *vring_mem_gpa(const struct vring_mem *m, uint64_t gpa, uint64_t len);
/* The same for a frontend address (SET_VRING_ADDR's). */
uint8_t *vring_mem_uva(const struct vring_mem *m, uint64_t uaddr, uint64_t len);

struct vring {
	uint16_t num;            /* queue size: a power of 2 */
	uint8_t *desc;           /* descriptor table: num x 16 bytes */
	uint8_t *avail;          /* flags, idx, ring[num], used_event */
	uint8_t *used;           /* flags, idx, ring[num] x 8 bytes, avail_event */
	uint16_t last_avail;     /* the next available entry we take */
	uint16_t used_idx;       /* the next used entry we fill */
	uint16_t signalled;      /* used_idx when we last considered an interrupt */
	bool signalled_valid;    /* (false until the first) */
	bool event_idx;          /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;           /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;             /* see above: nothing is taken any more */
};

/*
 * Sets up v on the ring the frontend describes: num (a power of 2, at most
 * VRING_MAX_SIZE), the frontend addresses of its three parts (aligned as the
 * spec requires: 16, 2 and 4 bytes), base the first available entry to take
 * (SET_VRING_BASE). The used index continues from what the used ring holds.
 * 0, or -1 with *why (v is then broken).
 */
int vring_init(struct vring *v, const struct vring_mem *m, unsigned num, uint64_t desc,
	       uint64_t avail, uint64_t used, uint16_t base, bool event_idx, bool indirect,
	       const char **why);

enum vring_dir {
	VRING_OUT,     /* the device reads the buffers (transmit queue) */
	VRING_IN,      /* the device writes them (receive queue) */
};

struct vring_chain {
	uint16_t head;           /* what goes back in the used ring */
	unsigned n;              /* buffers, in order (empty descriptors left out) */
	struct iovec iov[VRING_CHAIN_MAX];
	size_t len;              /* their total length */
};

enum vring_result {
	VRING_BROKEN = -1,   /* the ring cannot be followed (v->broken set) */
	VRING_EMPTY = 0,     /* nothing available */
	VRING_CHAIN = 1,     /* a chain in *c */
	VRING_BAD = 2,       /* a bad chain: return c->head used, length 0, and drop */
};

/* Available entries not taken yet (0 when broken; a broken ring is marked). */
unsigned vring_avail(struct vring *v);
/* Takes the next available chain, every buffer in direction dir. */
enum vring_result vring_pop(struct vring *v, const struct vring_mem *m, enum vring_dir dir,
			    struct vring_chain *c, const char **why);
/* Gives back the last n chains taken and not used (mergeable buffers left over). */
void vring_unpop(struct vring *v, unsigned n);
/* Returns a chain to the guest, len bytes written into it; not visible to the
 * guest before vring_publish. */
void vring_push(struct vring *v, uint16_t head, uint32_t len);
/* Makes the pushed chains visible (the used index, after a write barrier). */
void vring_publish(struct vring *v);
/* After vring_publish: whether the guest asked for an interrupt now (its
 * used_event with event index, its NO_INTERRUPT flag otherwise). */
bool vring_need_call(struct vring *v);
/*
 * Whether the guest should kick us when it adds buffers: with event index,
 * at the next entry (enable) or never soon (disable); otherwise through the
 * used ring's NO_NOTIFY flag. After enabling, the caller looks at the ring
 * again (vring_avail): buffers added in between sent no kick.
 */
void vring_kick_enable(struct vring *v, bool enable);

/* Copies n bytes at offset off of a chain's buffers into dst (the guards'
 * copy); returns how many there were. */
size_t vring_copy_from(const struct vring_chain *c, size_t off, void *dst, size_t n);
/* Copies n bytes from src into a chain's buffers at offset off; returns how many fit. */
size_t vring_copy_to(const struct vring_chain *c, size_t off, const void *src, size_t n);
/* The chain's buffers from offset off on, as at most max iovecs in out;
 * returns how many (the chain has at most VRING_CHAIN_MAX). */
int vring_iov_from(const struct vring_chain *c, size_t off, struct iovec *out, int max);

#endif
