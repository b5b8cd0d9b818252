/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The long-lived processes' sandboxes: a seccomp allow-list each (built with
 * libseccomp), and for the datapath an empty filesystem.
 *
 * Each module that runs in a sandboxed process lists the syscalls it makes
 * there as a `struct sandbox_list` beside its own code, each group commented
 * with what needs it:
 *   datapath: datapath/datapath.c (its main loop), forward.c (frames),
 *             dnsfwd.c (DNS), transport.c (the VM socket), sandbox.c (libc:
 *             malloc, threads)
 *   reaper:   reaper/reaper.c (its wait and the whole teardown)
 * A filter allows the union of its lists; every other call is refused with
 * the action the process's owner chose (docs/security.md says which and why).
 * clone3 always fails with ENOSYS, so that glibc creates threads with clone,
 * whose flags a filter can check (clone3 passes them in memory).
 *
 * Built with `make SECCOMP_LOG=1`, refused calls are logged to the kernel log
 * (`audit: type=1326 ... syscall=N`) and allowed: how to find what a new code
 * path needs. Never for a build that is installed.
 */
#ifndef VMNET_SANDBOX_H
#define VMNET_SANDBOX_H

#include <seccomp.h>
#include <stddef.h>

struct sandbox_rule {
	int nr;                          /* SCMP_SYS(name) */
	unsigned nargs;                  /* conditions on its arguments, all must hold */
	struct scmp_arg_cmp args[3];     /* { arg index, SCMP_CMP_*, datum, datum2 } */
};

struct sandbox_list {
	const struct sandbox_rule *rules;
	size_t n;
};

/* Any call of name. */
#define SANDBOX_ALLOW(name) { SCMP_SYS(name), 0, { { 0, 0, 0, 0 } } }
/* name when its argument number arg equals x. */
#define SANDBOX_ALLOW_IF(name, arg, x) { SCMP_SYS(name), 1, { SANDBOX_EQ(arg, x) } }
/* name when (argument arg & mask) == x. */
#define SANDBOX_ALLOW_MASKED(name, arg, mask, x) { SCMP_SYS(name), 1, { SANDBOX_MASKED(arg, mask, x) } }
/* name when all n conditions (SANDBOX_EQ, SANDBOX_MASKED) hold. */
#define SANDBOX_ALLOW_ALL(name, n, ...) { SCMP_SYS(name), n, { __VA_ARGS__ } }
#define SANDBOX_EQ(arg, x) { arg, SCMP_CMP_EQ, x, 0 }
#define SANDBOX_MASKED(arg, mask, x) { arg, SCMP_CMP_MASKED_EQ, mask, x }
/* A list of the rules in array a. */
#define SANDBOX_LIST(a) { a, sizeof(a) / sizeof((a)[0]) }

/* What happens to a call outside the list. */
enum sandbox_refusal {
	SANDBOX_KILL,     /* the whole process dies of SIGSYS */
	SANDBOX_EPERM,    /* the call fails with EPERM */
};

/* What every sandboxed process needs of libc: malloc, threads, exit, abort. */
extern const struct sandbox_list sandbox_libc;

/*
 * Installs a filter allowing the calls of every list in lists (NULL-ended),
 * and tgkill to the calling process only (abort()); applies to the calling
 * thread and threads it creates later. Sets NO_NEW_PRIVS. 0, or -errno
 * (ERROR logged).
 */
int sandbox_install(const struct sandbox_list *const *lists, enum sandbox_refusal refusal);

/*
 * The datapath's filesystem: a mount namespace of its own whose root is an
 * empty read-only tmpfs (root needed; before the privilege drop, with no
 * thread running). Returns 0, or -errno with a WARN line: the process then
 * keeps the host's view (seccomp still refuses every call that opens a file).
 */
int sandbox_isolate_fs(void);

#endif
