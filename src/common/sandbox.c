/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp allow-lists' installer and the datapath's empty filesystem
 * (sandbox.h). sandbox_isolate_fs runs as root in setup (it needs
 * CAP_SYS_ADMIN); sandbox_install in the datapath and the reaper, each on
 * its own lists.
 */
#include "common/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

/*
 * libc in any sandboxed process. Not exec: no call may make memory
 * executable (the code there is all that will ever run).
 */
static const struct sandbox_rule libc_rules[] = {
	/* malloc: arenas grow with mprotect, large blocks are mappings of their own */
	SANDBOX_ALLOW(brk),
	SANDBOX_ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW(munmap),
	SANDBOX_ALLOW(mremap),
	SANDBOX_ALLOW(madvise),
	/* a thread's first malloc picks an arena by the CPUs it may run on */
	SANDBOX_ALLOW(sched_getaffinity),
	/* pthread_create (clone3 gets ENOSYS: see sandbox_install), join, exit */
	SANDBOX_ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD),
	SANDBOX_ALLOW(set_robust_list),
	SANDBOX_ALLOW(rseq),
	SANDBOX_ALLOW(futex),
	SANDBOX_ALLOW(rt_sigprocmask),
	SANDBOX_ALLOW(exit),
	SANDBOX_ALLOW(exit_group),
	SANDBOX_ALLOW(restart_syscall),
	/* stdio and log.c: lines to stderr */
	SANDBOX_ALLOW(write),
	/* clock_gettime without the vDSO */
	SANDBOX_ALLOW(clock_gettime),
	/* abort() (glibc's own checks: heap corruption, _FORTIFY_SOURCE):
	 * SIGABRT to ourselves, so the process dies of that and says so
	 * (tgkill to this process only: added by sandbox_install) */
	SANDBOX_ALLOW(getpid),
	SANDBOX_ALLOW(gettid),
	SANDBOX_ALLOW(rt_sigaction),
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/UBSan builds (make SAN=1) only: the runtime gives each thread an
	 * alternate signal stack (docs/security.md: what its reports need) */
	SANDBOX_ALLOW(sigaltstack),
	/* and its spin locks yield when contended (libasan's own syscall, seen
	 * with make SAN=1 SECCOMP_LOG=1 when several threads exit at once) */
	SANDBOX_ALLOW(sched_yield),
#endif
};
const struct sandbox_list sandbox_libc = SANDBOX_LIST(libc_rules);

static uint32_t refuse_action(enum sandbox_refusal refusal)
{
#ifdef SANDBOX_LOG
	(void)refusal;
	return SCMP_ACT_LOG;
#else
	return refusal == SANDBOX_KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);
#endif
}

static int add_list(scmp_filter_ctx ctx, const struct sandbox_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct sandbox_rule *r = &l->rules[i];
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, r->nargs, r->args);

		/* A call this architecture does not have needs no rule. */
		if (rc < 0 && rc != -EDOM) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r->nr);
			ERROR("sandbox", "cannot allow %s: %s", name ? name : "a syscall", strerror(-rc));
			free(name);
			return rc;
		}
	}
	return 0;
}

int sandbox_install(const struct sandbox_list *const *lists, enum sandbox_refusal refusal)
{
	scmp_filter_ctx ctx = seccomp_init(refuse_action(refusal));
	int rc;

	if (ctx == NULL) {
		ERROR("sandbox", "cannot create a seccomp filter");
		return -ENOMEM;
	}
	/* glibc tries clone3 first and falls back to clone on ENOSYS. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* abort(): a signal to one of our own threads, and only that. Any
	 * process of the same uid could be signalled otherwise: the user's
	 * other helpers and processes, or every helper root started (all
	 * nobody). The pid is known only now, so no list can hold this rule. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	for (; rc == 0 && *lists; lists++)
		rc = add_list(ctx, *lists);
	if (rc == 0) {
		rc = seccomp_load(ctx);
		if (rc < 0)
			ERROR("sandbox", "cannot load the seccomp filter: %s", strerror(-rc));
	}
	seccomp_release(ctx);
	return rc;
}

/* ---- the datapath's filesystem --------------------------------------------- */

/*
 * An empty tmpfs becomes the root: mounted (read only, two inodes) on /proc of
 * a private copy of the mount tree, entered, pivoted to with the old root
 * stacked on top (pivot_root(".", ".")) and the old root detached.
 */
static int empty_root(const char **step)
{
	*step = "unshare(CLONE_NEWNS)";
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* Nothing mounted from here on may propagate to the host's namespace. */
	*step = "make the mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	*step = "mount an empty tmpfs";
	if (mount("vmnet-helper", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=2,mode=0555") < 0)
		return -errno;
	*step = "pivot_root";
	if (chdir("/proc") < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	*step = "detach the old root";
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	return 0;
}

int sandbox_isolate_fs(void)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *step = "";
	int rc = empty_root(&step);

	if (rc < 0) {
		WARN("sandbox", "cannot give the datapath an empty filesystem (%s: %s): it keeps "
		     "the host's view, and seccomp still refuses every call that opens a file",
		     step, strerror(-rc));
		/* Where it was, if a step left it elsewhere. */
		if (cwd >= 0 && fchdir(cwd) < 0)
			WARN("sandbox", "cannot return to the working directory: %s", strerror(errno));
	}
	if (cwd >= 0)
		close(cwd);
	return rc;
}
