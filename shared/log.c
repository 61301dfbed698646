/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static bool use_journal;

void log_set_target(LogTarget t)
{
	log_target = t;
	log_open();
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

int log_parse_level(const char *s)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",	  [LOG_CRIT] = "crit",
		[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}

/*
 * systemd passes "$dev:$ino" of the journal stream it connected to stderr; only
 * log natively when stderr still is that stream, so a redirected stderr wins.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_open(void)
{
	switch (log_target) {
	case LOG_TARGET_JOURNAL:
		use_journal = true;
		break;
	case LOG_TARGET_CONSOLE:
		use_journal = false;
		break;
	default:
		use_journal = stderr_is_journal();
	}
}

bool log_to_journal(void)
{
	return use_journal;
}

static int log_dispatch(int level, int error, const char *file, int line, const char *func,
			const char *const *fields, const char *msg)
{
	if (use_journal) {
		struct iovec iov[32];
		char buf[6][64];
		size_t n = 0;
		_cleanup_free_ char *m = NULL;

		if (asprintf(&m, "MESSAGE=%s", msg) < 0)
			return -ENOMEM;
		iov[n++] = (struct iovec){m, strlen(m)};
		snprintf(buf[0], sizeof(buf[0]), "PRIORITY=%d", level);
		iov[n++] = (struct iovec){buf[0], strlen(buf[0])};
		snprintf(buf[1], sizeof(buf[1]), "SYSLOG_IDENTIFIER=%s",
			 program_invocation_short_name);
		iov[n++] = (struct iovec){buf[1], strlen(buf[1])};
		if (error != 0) {
			snprintf(buf[2], sizeof(buf[2]), "ERRNO=%d", ERRNO_VALUE(error));
			iov[n++] = (struct iovec){buf[2], strlen(buf[2])};
		}
		if (file) {
			snprintf(buf[3], sizeof(buf[3]), "CODE_LINE=%d", line);
			iov[n++] = (struct iovec){buf[3], strlen(buf[3])};
		}
		for (; fields && *fields && n < ELEMENTSOF(iov); fields++)
			iov[n++] = (struct iovec){(void *)*fields, strlen(*fields)};
		(void)sd_journal_sendv(iov, (int)n);
		return 0;
	}

	fprintf(stderr, "%s\n", msg);
	return 0;
}

static int log_internalv(int level, int error, const char *file, int line, const char *func,
			 const char *const *fields, const char *format, va_list ap)
{
	char msg[2048];
	int saved = errno;

	if (error != 0)
		errno = ERRNO_VALUE(error);
	vsnprintf(msg, sizeof(msg), format, ap);
	errno = saved;

	(void)log_dispatch(level, error, file, line, func, fields, msg);
	return -ERRNO_VALUE(error);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = log_internalv(level, error, file, line, func, NULL, format, ap);
	va_end(ap);
	return r;
}

int log_struct_internal(int level, int error, const char *const *fields, const char *format, ...)
{
	va_list ap;
	int r;

	if (log_max_level < level)
		return -ERRNO_VALUE(error);
	va_start(ap, format);
	r = log_internalv(level, error, NULL, 0, NULL, fields, format, ap);
	va_end(ap);
	return r;
}
