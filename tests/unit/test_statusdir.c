/* SPDX-License-Identifier: Apache-2.0 */
/* The status sockets' names (common/statusdir.h): vmnet-status takes the
 * pid from a name root wrote, and nothing but that exact form. */
#include <string.h>

#include "common/statusdir.h"
#include "t.h"

static void tests(void)
{
	char dir[128], path[160];

	CHECK(statusdir_pid("4242.sock") == 4242);
	CHECK(statusdir_pid("1.sock") == 1);
	CHECK(statusdir_pid("0.sock") == -1);
	CHECK(statusdir_pid("042.sock") == -1);
	CHECK(statusdir_pid("-4.sock") == -1);
	CHECK(statusdir_pid("+4.sock") == -1);
	CHECK(statusdir_pid("4.sock.x") == -1);
	CHECK(statusdir_pid("4.socket") == -1);
	CHECK(statusdir_pid("4") == -1);
	CHECK(statusdir_pid("99999999999.sock") == -1);
	CHECK(statusdir_pid(".sock") == -1);
	CHECK(statusdir_pid("lock") == -1);

	CHECK(statusdir_path(dir, sizeof(dir)) == 0);
	CHECK(strncmp(dir, "/run/vmnet-helper/", 18) == 0);
	CHECK(strcmp(dir + strlen(dir) - 7, "/status") == 0);
	CHECK(statusdir_path(dir, 10) < 0);
	CHECK(statusdir_socket("/d", 77, path, sizeof(path)) == 0 && strcmp(path, "/d/77.sock") == 0);
	CHECK(statusdir_socket("/d", 77, path, 5) == -1);
}

T_MAIN
