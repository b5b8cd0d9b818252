/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version every program reports (--version, the first log line): the
 * release number (debian/changelog's newest entry) and the commit it was
 * built from, "0.3.0 (commit abcdef0)". Both are compiled into version.o
 * alone (Makefile), so a new commit rebuilds one file.
 */
#ifndef VMNET_VERSION_H
#define VMNET_VERSION_H

#include <stdio.h>

/* "0.3.0 (commit abcdef0)": static storage. */
const char *version_string(void);

/* "PROGRAM 0.3.0 (commit abcdef0)\n" on out: what --version prints. */
void version_print(FILE *out, const char *program);

#endif
