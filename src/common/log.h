/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr in the spec's style: "INFO  [module] message". */
#ifndef VMNET_LOG_H
#define VMNET_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_verbose(bool verbose);
/* The name of the process that logs (a static string): "main" for setup
 * and the datapath, "reaper", "files". LOG_SELF names it in lines logged by
 * code that runs in more than one of them. */
void log_set_process(const char *name);
const char *log_process(void);
#define LOG_SELF log_process()
bool log_verbose(void);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * While root holds the per-namespace network lock (network.h), which every
 * other helper's setup and teardown need, nothing may block on stderr: it is
 * the invoking user's, who can make a write to it block (a pipe they never
 * read, a terminal they stopped). Lines logged between log_hold and
 * log_release wait in a pipe of our own, processes forked meanwhile
 * included (past its 64 KiB, the rest is dropped), and go to stderr on
 * release, once the lock is given back. log_hold: 0 or -errno (then lines
 * go to stderr as usual).
 */
int log_hold(void);
void log_release(void);

#define DEBUG(mod, ...) do { if (log_verbose()) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__); } while (0)
#define INFO(mod, ...)  log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define WARN(mod, ...)  log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define ERROR(mod, ...) log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)

#endif
