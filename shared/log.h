/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging in the systemd idiom. log_*_errno(r, ...) sets errno from r so that
 * "%m" prints it, logs, and evaluates to -|r| so callers can
 * "return log_error_errno(r, "Failed to …: %m");".
 *
 * Output goes to the journal (with structured fields) when stderr is connected
 * to it ($JOURNAL_STREAM) or when log_set_target(LOG_TARGET_JOURNAL) was
 * called; otherwise to stderr. Library code logs at debug level only.
 */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
	LOG_TARGET_AUTO,
	LOG_TARGET_CONSOLE,
	LOG_TARGET_JOURNAL,
} LogTarget;

void log_set_target(LogTarget t);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_parse_level(const char *s);
void log_open(void);
/* Whether records go to the journal (with their structured fields) rather than stderr. */
bool log_to_journal(void);

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *format, ...) _printf_(6, 7);

/*
 * Structured variant: extra journal fields, a NULL-terminated list of
 * "FIELD=value" strings, are attached when logging to the journal.
 */
int log_struct_internal(int level, int error, const char *const *fields, const char *format, ...)
	_printf_(4, 5);

#define log_full_errno(level, error, ...)                                                          \
	({                                                                                         \
		int _level = (level), _e = (error);                                                \
		_e = (log_get_max_level() >= _level)                                               \
			     ? log_internal(_level, _e, __FILE__, __LINE__, __func__, __VA_ARGS__) \
			     : -ERRNO_VALUE(_e);                                                   \
		_e < 0 ? _e : -ESTRPIPE;                                                           \
	})

#define log_full(level, ...) (void)log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)	 log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	 log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)	 log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)	 log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)	  log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)	  log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)	  log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(SYNTHETIC_ERRNO(ENOMEM), "Out of memory.")
