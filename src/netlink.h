/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink operations (libmnl). Every function returns 0 or -errno. */
#ifndef VMNET_NETLINK_H
#define VMNET_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

int nl_open(void);                       /* opens the process-wide rtnetlink socket */
void nl_close(void);

int nl_ifindex(const char *name);        /* ifindex, or -ENODEV */
int nl_bridge_create(const char *name);  /* -EEXIST if it exists */
int nl_link_delete(const char *name);
int nl_link_up(int ifindex);
int nl_link_set_mtu(int ifindex, unsigned mtu);
int nl_link_set_master(int ifindex, int master_ifindex);
/* Bridge port flag IFLA_BRPORT_ISOLATED. */
int nl_brport_set_isolated(int ifindex, bool on);
/* Adds addr/prefix (host order) to ifindex. -EEXIST if present. */
int nl_addr4_add(int ifindex, uint32_t addr, int prefix);
/* Number of links whose master is master_ifindex (>= 0), or -errno. */
int nl_count_ports(int master_ifindex);
/* First IPv4 address on ifindex: addr/prefix (host order). -ENOENT if none. */
int nl_addr4_get(int ifindex, uint32_t *addr, int *prefix);

#endif
