/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status answers (statusreply.h), in the datapath's main thread: the
 * invoking user (nobody without sudo), no capabilities, under the seccomp
 * lists (statusreply_sandbox below). Whoever connects may be anyone the
 * socket file's mode lets in; only root and the helper's own user get an
 * answer.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/text.h"
#include "datapath/statusreply.h"

/* Connections answered per call at most: the rest wait for the next. */
#define ANSWERS_PER_CALL 8

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void counters(struct msg_status_counters *c, const struct fwd_counters *f)
{
	c->packets = atomic_load(&f->packets);
	c->bytes = atomic_load(&f->bytes);
	c->drops = atomic_load(&f->drops);
	c->fast = atomic_load(&f->fast);
	c->slow = atomic_load(&f->slow);
}

void statusreply_fill(const struct helper *h, struct msg_status *st)
{
	bool bridged = h->opt.mode == MODE_BRIDGED;

	memset(st, 0, sizeof(*st));
	st->h = msg_hdr(MSG_STATUS, 0);
	st->pid = (int32_t)getpid();
	st->uid = (uint32_t)h->user.uid;
	st->gid = (uint32_t)h->user.gid;
	st->mode = (uint8_t)h->opt.mode;
	st->isolated = h->opt.enable_isolation;
	st->for_user = h->user.from_sudo;
	st->capture = h->fwd.cap != NULL;
	if (!bridged) {
		st->gateway = h->net.gateway;
		st->mask = h->net.mask;
		st->end = h->net.end;
		st->lease = h->lease;
	}
	st->mtu = h->mtu;
	memcpy(st->mac, h->mac, 6);
	st->started = h->started;
	st->uptime_ms = (uint64_t)(text_now_ms() - h->started_ms);
	copy(st->id, sizeof(st->id), h->id);
	copy(st->network, sizeof(st->network), h->opt.network);
	copy(st->bridge, sizeof(st->bridge), bridged ? h->br.lower : h->net.bridge);
	copy(st->tap, sizeof(st->tap), h->tap.name);
	copy(st->socket, sizeof(st->socket), h->opt.socket_path);
	counters(&st->host, &h->fwd.host);
	counters(&st->vm, &h->fwd.vm);
}

/* Root, or the user this datapath runs as. */
static bool may_ask(int fd, const struct helper *h)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return false;
	return cred.uid == 0 || cred.uid == h->user.uid;
}

void statusreply_serve(const struct helper *h)
{
	static unsigned refused;
	struct msg_status st;

	for (int i = 0; i < ANSWERS_PER_CALL; i++) {
		int fd = accept4(h->status_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (may_ask(fd, h)) {
			statusreply_fill(h, &st);
			/* A client that does not read loses its answer, nothing else. */
			(void)send(fd, &st, sizeof(st), MSG_DONTWAIT | MSG_NOSIGNAL);
		} else if (refused++ == 0) {
			INFO("main", "refused a status request from a user who is neither root nor "
			     "this helper's");
		}
		close(fd);
	}
}

/* What the main loop calls here once sandboxed. */
static const struct sandbox_rule statusreply_rules[] = {
	/* each connection to the status socket: taken, asked who it is (the
	 * kernel's credentials of the peer, nothing else of getsockopt),
	 * answered once, closed */
	SANDBOX_ALLOW(accept4),
	SANDBOX_ALLOW_ALL(getsockopt, 2, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_PEERCRED)),
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(close),
};
const struct sandbox_list statusreply_sandbox = SANDBOX_LIST(statusreply_rules);
