/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/procfs.h"
#include "t.h"

static void test_parse_stat(void)
{
	struct procfs_stat st;

	CHECK(procfs_parse_stat("42 (vmnet-helper) S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 "
				"98765 1000 10", &st) == 0);
	CHECK(strcmp(st.comm, "vmnet-helper") == 0 && st.ppid == 7 && st.start == 98765);
	/* A name with ") " and spaces in it: only the last ')' ends it. */
	CHECK(procfs_parse_stat("9 (a) S 1 (b) R 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 555 0", &st) == 0);
	CHECK(strcmp(st.comm, "a) S 1 (b") == 0 && st.ppid == 3 && st.start == 555);
	/* A name longer than the kernel's 15 bytes is cut, not overrun. */
	CHECK(procfs_parse_stat("1 (0123456789abcdefghij) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0",
				&st) == 0);
	CHECK(strlen(st.comm) == sizeof(st.comm) - 1);
	CHECK(procfs_parse_stat("1 (x S 0", &st) == -EINVAL);
	CHECK(procfs_parse_stat("1 x) S 0", &st) == -EINVAL);
	CHECK(procfs_parse_stat("1 (x) S 0 1 2", &st) == -EINVAL);   /* no start time */
	CHECK(procfs_parse_stat("", &st) == -EINVAL);
}

static void test_parse_uid(void)
{
	uid_t u = 0;

	CHECK(procfs_parse_uid("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\n", PROCFS_UID_REAL, &u) == 0 &&
	      u == 1000);
	CHECK(procfs_parse_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n", PROCFS_UID_EFFECTIVE, &u) == 0 && u == 0);
	CHECK(procfs_parse_uid("Uid:\t5\t6\t6\t6\n", PROCFS_UID_EFFECTIVE, &u) == 0 && u == 6);
	u = 77;
	CHECK(procfs_parse_uid("Name:\tUid: 3 4\n", PROCFS_UID_REAL, &u) == -EINVAL && u == 77);
	CHECK(procfs_parse_uid("Uid:\t5\n", PROCFS_UID_REAL, &u) == -EINVAL);
	CHECK(procfs_parse_uid("", PROCFS_UID_REAL, &u) == -EINVAL);
}

static void test_live(void)
{
	struct procfs_stat st;
	char comm[32];
	uid_t u;

	CHECK(procfs_stat(getpid(), &st) == 0 && st.ppid == getppid() && st.start > 0);
	CHECK(procfs_uid(0, PROCFS_UID_REAL, &u) == 0 && u == getuid());
	CHECK(procfs_uid(getpid(), PROCFS_UID_EFFECTIVE, &u) == 0 && u == geteuid());
	CHECK(procfs_read(0, "comm", comm, sizeof(comm)) > 0 && strncmp(comm, st.comm, strlen(st.comm)) == 0);
	CHECK(procfs_read(0, "comm", comm, 4) == 3 && strlen(comm) == 3);
	CHECK(procfs_read(0, "no-such-file", comm, sizeof(comm)) == -ENOENT && comm[0] == '\0');
}

static void tests(void)
{
	test_parse_stat();
	test_parse_uid();
	test_live();
}

T_MAIN
