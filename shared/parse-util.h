/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Value parsers shared by the scenario parser, the daemon's options and the
 * CLI. All return 0 or -errno (-EINVAL for malformed text, -ERANGE for values
 * that do not fit) and never accept trailing garbage.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC  UINT64_C(1000000000)
#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

int parse_boolean(const char *s);	     /* 1, 0 or -EINVAL */
int parse_u64(const char *s, uint64_t *ret); /* decimal or 0x hex */
int parse_u32(const char *s, uint32_t *ret);
int parse_double(const char *s, double *ret);  /* finite, plain decimal */
int parse_size(const char *s, uint64_t *ret);  /* 4096, 4K, 2M, 1G (binary units) */
int parse_count(const char *s, uint64_t *ret); /* 1000000, 1M, 10k (decimal units) */
int parse_duration_ns(const char *s,
		      uint64_t *ret); /* "10s", "250ms", "1min 30s", "5us"; bare number = seconds */

/* Formats into buf; returns buf. */
char *format_duration_ns(char *buf, size_t n, uint64_t ns); /* "11.2µs", "3.40s" */
char *format_count(char *buf, size_t n, double v);	    /* "1.23M", "950k", "12" */

uint64_t now_ns(int clock);
/* Sleeps ns nanoseconds (relative, CLOCK_REALTIME's nanosleep); a signal cuts it short. */
void sleep_ns(uint64_t ns);
