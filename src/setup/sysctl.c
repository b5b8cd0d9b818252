/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network sysctls under /proc/sys/net (sysctl.h): set as root in setup,
 * restored by the reaper (uid 0) at teardown. Paths are built from fixed
 * prefixes and our own interface names, never from user input.
 */
#include "setup/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sysctl_get(const char *key, char *buf, size_t len)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), SYSCTL_NET "%s", key);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int sysctl_set(const char *key, const char *value)
{
	char path[320];
	int fd, ret = 0;

	snprintf(path, sizeof(path), SYSCTL_NET "%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
