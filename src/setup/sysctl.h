/* SPDX-License-Identifier: Apache-2.0 */
/* Network sysctls by key under /proc/sys/net/ ("ipv4/ip_forward",
 * "ipv6/conf/eth0/accept_ra"). Both return 0 or -errno. */
#ifndef VMNET_SYSCTL_H
#define VMNET_SYSCTL_H

#include <stddef.h>

#define SYSCTL_NET "/proc/sys/net/"

/* The first line of the value, without its newline. */
int sysctl_get(const char *key, char *buf, size_t len);
int sysctl_set(const char *key, const char *value);

#endif
