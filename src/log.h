/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr in the spec's style: "INFO  [module] message". */
#ifndef VMNET_LOG_H
#define VMNET_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_verbose(bool verbose);
bool log_verbose(void);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define DEBUG(mod, ...) do { if (log_verbose()) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__); } while (0)
#define INFO(mod, ...)  log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define WARN(mod, ...)  log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define ERROR(mod, ...) log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)

#endif
