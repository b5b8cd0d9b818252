/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath: three threads. VM socket -> TAP is a pipeline of two (one
 * receives and checks batches, one writes them to the TAP; forward.c says
 * why); TAP -> VM socket is one, helped by the receiving thread with replies
 * the host makes while it writes a few frames (forward.c). All batch syscalls where the kernel lets
 * them, with preallocated buffers (no per-frame allocation). The VM socket
 * is a datagram socket (one frame per datagram) or a stream (frames behind
 * their length, streamio.h): only the receiving and sending differ.
 * Frames the helper answers itself (DHCP, IPv6 router solicitations) never
 * reach the TAP, nor do router advertisements and DHCP/DHCPv6 server
 * messages from the VM (dropped and counted in vm.drops).
 */
#ifndef VMNET_FORWARD_H
#define VMNET_FORWARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "datapath/capture.h"
#include "parse/dhcp.h"
#include "parse/frame.h"
#include "parse/ndp.h"
#include "datapath/streamio.h"
#include "parse/vmframe.h"

#define FWD_THREADS 3

struct ring;
struct to_vm;
struct vhost;

/*
 * One direction's counters, as upstream's [stats] line has them. packets,
 * bytes: frames delivered (to the TAP, or to the VM); drops: frames lost.
 * fast, slow: calls on the VM's socket, counted as upstream counts its
 * batched (recvmsg_x/sendmsg_x) and single-frame (read/write) calls:
 * fast is a call that can carry a whole batch (recvmmsg/sendmmsg on a
 * datagram socket; a 256 KiB read, or a sendmsg of many length-prefixed
 * frames, on a stream), slow a call that carries one frame (the helper's
 * own replies toward the VM, a --socket client's first datagram). Every
 * call counts, a retry on a full socket included.
 */
struct fwd_counters {
	_Atomic uint64_t packets, bytes, drops, fast, slow;
};

struct forward {
	int vm_fd;                 /* unix socket connected to the VM */
	bool stream;               /* vm_fd is a stream: frames behind their length (vmstream.h) */
	bool vhost_user;           /* vm_fd is a vhost-user connection: frames in the guest's
				    * memory (vhost.h); tap_fd takes 12-byte virtio-net headers */
	int tap_fd;
	bool vnet_hdr;             /* TAP opened with IFF_VNET_HDR: offload (offload.h) */
	bool tso;                  /* frames up to 64 KiB both ways (needs vnet_hdr) */
	unsigned mtu;
	size_t max_packet;         /* vmnet_max_packet_size */
	bool dhcp_enabled;         /* shared/host: answer DHCP; bridged: forward it */
	struct dhcp_config dhcp;
	bool ra_enabled;           /* shared: advertise ndp.prefix to the VM */
	struct ndp_config ndp;

	/* Shared/host mode: what the VM may send as its own (vmframe.h): the
	 * address fields of check (vm_mac ... gateway_ll6), set by the caller. */
	struct vmframe_config check;
	/* Asked (from the VM thread) when the VM first sends from a MAC other
	 * than vmnet_mac_address: true if it may use it. NULL: always. */
	bool (*claim_mac)(void *arg, const uint8_t mac[6]);
	/* Asked (from the VM thread) when the VM first uses an IPv6 address as
	 * source or advertisement target, or probes for it, sending from mac:
	 * 1 if it may, 0 if not, -1 without an answer (that frame is dropped,
	 * the next one asks again). NULL: IPv6 addresses are not bound
	 * (bridged mode). */
	int (*claim_addr6)(void *arg, const uint8_t addr[16], const uint8_t mac[6]);
	/* Asked (from the VM thread) when the VM first uses an address of the
	 * DHCP pool other than its lease (set by hand): as claim_addr6. NULL:
	 * in the pool, only the lease (bridged mode). */
	int (*claim_addr4)(void *arg, uint32_t addr);
	void *claim_arg;

	/* A frame received before forwarding starts (a --socket client's first
	 * datagram): forward_start handles it first, before any thread runs, so
	 * the guards' state (the VM's second MAC) has one writer only. */
	uint8_t *first;
	size_t first_len;

	/* --pcap: every frame both ways (capture.h); NULL: off, which costs
	 * one predictable branch per frame. */
	struct capture *cap;

	struct fwd_counters vm;    /* frames from the VM, toward the host */
	struct fwd_counters host;  /* frames from the host, toward the VM */

	/* internal */
	struct vmframe_macs macs;  /* the VM's second MAC (check.macs) */
	struct vmframe_addrs6 addrs6;  /* the VM's IPv6 addresses (check.addrs6) */
	struct vmframe_addrs4 addrs4;  /* pool addresses the VM set by hand (check.addrs4) */
	int stop_fd;               /* eventfd, readable when stopping */
	_Atomic bool stopping;
	_Atomic int vm_gone;       /* set when sending to the VM fails with ECONNREFUSED */
	_Atomic int failed;        /* set when a device error stops a thread */
	_Atomic int64_t last_ra_ms;  /* when we last sent the VM an RA (monotonic) */
	int ra_count;              /* unsolicited RAs sent (VM thread only) */
	struct ring *ring;         /* VM -> TAP hand-over (forward.c) */
	struct to_vm *to_vm;       /* TAP -> VM buffers and their lock (forward.c) */
	struct stream_rx rx;       /* stream: vm_rx's receive buffer */
	struct stream_tx tx;       /* stream: every sender to the VM (streamio.h) */
	struct vhost *vhost;       /* vhost-user: the backend (vhost.c) */
	pthread_t threads[FWD_THREADS];
};

/* The syscalls the forwarding threads make (sandbox.h). */
extern const struct sandbox_list forward_sandbox;

/*
 * The batch sizes the datapath uses for frames of up to max_packet bytes
 * (vmnet_max_packet_size), as the JSON line reports them in vmnet's terms:
 * vmnet_read_max_packets is how many frames one read from the network (the
 * TAP) can take toward the VM, vmnet_write_max_packets how many frames from
 * the VM one batch writes to the network. Large frames (TSO, a large MTU)
 * make smaller batches.
 */
unsigned forward_read_max_packets(size_t max_packet);
unsigned forward_write_max_packets(size_t max_packet);

/* Starts the threads (vhost-user: vhost_start's). 0 or -errno. */
int forward_start(struct forward *f);
/* Asks the threads to stop and joins them. */
void forward_stop(struct forward *f);

/* For vhost.c, whose one thread is the VM thread: */
/* Adds to counters (relaxed atomics: the stats line reads them). */
void forward_count(struct fwd_counters *c, uint64_t packets, uint64_t bytes, uint64_t drops);
/* Sends a router advertisement when one is due; milliseconds to the next (-1: none). */
int forward_ra_timer(struct forward *f);
/*
 * The guards on one frame from the VM of len bytes, of which copy holds the
 * first fv->len (all of them, or a long frame's head: vmframe_check_head), a
 * copy the VM cannot change, parsed once into fv (frame_parse_head), which
 * offload_from_guest_view reads after. Asks the reaper for a new MAC or IPv6 address
 * as the socket paths do, answers DHCP and router solicitations (through
 * vhost_send_local). Returns the length to write, 0 if answered here, -1 to
 * drop (and count).
 */
ssize_t forward_vm_judge(struct forward *f, uint8_t *copy, const struct frame_view *fv,
			 size_t len);

#endif
