/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "macro.h"
#include "parse-util.h"

int parse_boolean(const char *s)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
	static const char *const no[] = {"0", "no", "n", "false", "f", "off"};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -EINVAL;
}

int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (isempty(s) || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	/* Decimal, or hex with 0x; never octal: "Count=010" means ten. */
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoull(s + 2, &end, 16);
	else
		v = strtoull(s, &end, 10);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && end == s + 2)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (isempty(s) || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Splits "12K" into 12 and the suffix; the suffix is matched by the caller. */
static int split_number(const char *s, double *num, const char **suffix)
{
	char *end;

	if (isempty(s) || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	errno = 0;
	*num = strtod(s, &end);
	if (errno == ERANGE || !isfinite(*num))
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	while (*end == ' ')
		end++;
	*suffix = end;
	return 0;
}

static int scale(double num, double mult, uint64_t *ret)
{
	double v = num * mult;

	if (v >= 18446744073709551615.0)
		return -ERANGE;
	/* Reject fractions of the base unit rather than rounding silently. */
	if (v != floor(v))
		return -EINVAL;
	*ret = (uint64_t)v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		double mult;
	} t[] = {
		{"", 1},	  {"B", 1},	      {"K", 1024.0},	   {"KiB", 1024.0},
		{"M", 1048576.0}, {"MiB", 1048576.0}, {"G", 1073741824.0}, {"GiB", 1073741824.0},
	};
	const char *suffix;
	double num;
	int r;

	/* Plain integers (including 0x hex) keep full 64-bit precision. */
	if (parse_u64(s, ret) == 0)
		return 0;
	r = split_number(s, &num, &suffix);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		if (streq(suffix, t[i].suffix))
			return scale(num, t[i].mult, ret);
	return -EINVAL;
}

int parse_count(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		double mult;
	} t[] = {
		{"", 1}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9},
	};
	const char *suffix;
	double num;
	int r;

	if (parse_u64(s, ret) == 0)
		return 0;
	r = split_number(s, &num, &suffix);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		if (streq(suffix, t[i].suffix))
			return scale(num, t[i].mult, ret);
	return -EINVAL;
}

int parse_duration_ns(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		double mult;
	} t[] = {
		{"ns", 1},     {"us", 1e3},    {"µs", 1e3},    {"ms", 1e6},
		{"s", 1e9},    {"sec", 1e9},   {"m", 60e9},    {"min", 60e9},
		{"h", 3600e9}, {"hr", 3600e9}, {"d", 86400e9},
	};
	uint64_t total = 0;
	const char *p = s;

	if (isempty(s))
		return -EINVAL;

	/* A bare number is seconds, as in systemd's time spans. */
	{
		double num;
		const char *suffix;

		if (split_number(s, &num, &suffix) == 0 && !*suffix) {
			/* llround() is only defined up to INT64_MAX: refuse anything near it. */
			if (num * 1e9 >= 9.2e18)
				return -ERANGE;
			*ret = (uint64_t)llround(num * 1e9);
			return 0;
		}
	}

	while (*p) {
		double num;
		const char *suffix, *end;
		size_t len;
		bool found = false;
		int r;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		r = split_number(p, &num, &suffix);
		if (r < 0)
			return r;
		for (end = suffix;
		     *end && !isdigit((unsigned char)*end) && *end != ' ' && *end != '.'; end++)
			;
		len = (size_t)(end - suffix);
		if (len == 0)
			return -EINVAL;
		for (size_t i = 0; i < ELEMENTSOF(t); i++)
			if (strlen(t[i].suffix) == len && strncmp(suffix, t[i].suffix, len) == 0) {
				double v = num * t[i].mult;
				if (v + (double)total >= 9.2e18)
					return -ERANGE;
				total += (uint64_t)llround(v);
				found = true;
				break;
			}
		if (!found)
			return -EINVAL;
		p = end;
	}
	*ret = total;
	return 0;
}

char *format_duration_ns(char *buf, size_t n, uint64_t ns)
{
	if (ns < NSEC_PER_USEC)
		snprintf(buf, n, "%" PRIu64 "ns", ns);
	else if (ns < NSEC_PER_MSEC)
		snprintf(buf, n, "%.1fµs", (double)ns / 1e3);
	else if (ns < NSEC_PER_SEC)
		snprintf(buf, n, "%.2fms", (double)ns / 1e6);
	else if (ns < 600 * NSEC_PER_SEC)
		snprintf(buf, n, "%.2fs", (double)ns / 1e9);
	else
		snprintf(buf, n, "%" PRIu64 "min %" PRIu64 "s", ns / (60 * NSEC_PER_SEC),
			 (ns / NSEC_PER_SEC) % 60);
	return buf;
}

char *format_count(char *buf, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}

uint64_t now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NSEC_PER_SEC),
		.tv_nsec = (long)(ns % NSEC_PER_SEC),
	};

	(void)nanosleep(&ts, NULL);
}
