/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small helpers in the systemd idiom: _cleanup_ destructors, TAKE_PTR/TAKE_FD,
 * negative-errno helpers. Shared by the daemon, the CLI and the tests.
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _always_inline_ inline __attribute__((always_inline))
#define _noinline_      __attribute__((noinline))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))
#define _align_(n)     __attribute__((aligned(n)))
#define CACHELINE      64
#define ELEMENTSOF(x)  (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b)      ((a) < (b) ? (a) : (b))
#define MAX(a, b)      ((a) > (b) ? (a) : (b))
#define STRINGIFY(x)   #x
#define XSTRINGIFY(x)  STRINGIFY(x)

#define TAKE_PTR(p)                  \
	({                           \
		typeof(p) _p_ = (p); \
		(p) = NULL;          \
		_p_;                 \
	})

#define TAKE_FD(fd)              \
	({                       \
		int _fd_ = (fd); \
		(fd) = -EBADF;   \
		_fd_;            \
	})

/* Errors travel as negative errno; this folds either sign into a positive errno value. */
#define ERRNO_VALUE(e) (abs(e))

/* Lets an expression carry an errno that is known in advance into log_*_errno(). */
#define SYNTHETIC_ERRNO(e) (-(e))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			*p = func(*p);          \
	}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

/* Is x one of the listed strings? STR_IN_SET(x, "a", "b") */
#define STR_IN_SET(x, ...)                                           \
	({                                                           \
		const char *_set_[] = {__VA_ARGS__};                 \
		bool _found_ = false;                                \
		for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++) \
			if (streq((x), _set_[_i_])) {                \
				_found_ = true;                      \
				break;                               \
			}                                            \
		_found_;                                             \
	})

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

static inline bool isempty(const char *s)
{
	return !s || !s[0];
}

/* The value of a hex digit, or -EINVAL: for the scanners of PCI addresses, kernel lines and JSON. */
static inline int unhexchar(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -EINVAL;
}

static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

/* "EBUSY" for EBUSY or -EBUSY; NULL when glibc does not know the value. */
static inline const char *errno_to_name(int err)
{
	return strerrorname_np(ERRNO_VALUE(err));
}
