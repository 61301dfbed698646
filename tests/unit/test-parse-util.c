/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "parse-util.h"
#include "check-run.h"

static const struct {
	const char *text;
	int ret;
	uint64_t value;
} durations[] = {
	{"10s", 0, 10 * NSEC_PER_SEC},
	{"10", 0, 10 * NSEC_PER_SEC},
	{"1.5", 0, 1500 * NSEC_PER_MSEC},
	{"250ms", 0, 250 * NSEC_PER_MSEC},
	{"5us", 0, 5 * NSEC_PER_USEC},
	{"7ns", 0, 7},
	{"1min 30s", 0, 90 * NSEC_PER_SEC},
	{"1min30s", 0, 90 * NSEC_PER_SEC},
	{"2h", 0, 7200 * NSEC_PER_SEC},
	{"", -EINVAL, 0},
	{"s", -EINVAL, 0},
	{"10 parsecs", -EINVAL, 0},
	{"-1s", -EINVAL, 0},
	{"10s junk", -EINVAL, 0},
	{"99999999999h", -ERANGE, 0},
};

START_TEST(test_duration)
{
	uint64_t v = 0;
	int r = parse_duration_ns(durations[_i].text, &v);

	ck_assert_msg(r == durations[_i].ret, "'%s': got %d want %d", durations[_i].text, r,
		      durations[_i].ret);
	if (r == 0)
		ck_assert_uint_eq(v, durations[_i].value);
}
END_TEST

static const struct {
	const char *text;
	int ret;
	uint64_t value;
} sizes[] = {
	{"4096", 0, 4096},  {"0x1000", 0, 4096}, {"4K", 0, 4096},     {"2M", 0, 2 << 20},
	{"1G", 0, 1 << 30}, {"64KiB", 0, 65536}, {"1.5K", 0, 1536},   {"1.1", -EINVAL, 0},
	{"4Q", -EINVAL, 0}, {"", -EINVAL, 0},	 {"-4K", -EINVAL, 0}, {"99999999999G", -ERANGE, 0},
};

START_TEST(test_size)
{
	uint64_t v = 0;
	int r = parse_size(sizes[_i].text, &v);

	ck_assert_msg(r == sizes[_i].ret, "'%s': got %d want %d", sizes[_i].text, r, sizes[_i].ret);
	if (r == 0)
		ck_assert_uint_eq(v, sizes[_i].value);
}
END_TEST

START_TEST(test_numbers)
{
	uint64_t u;
	uint32_t u32;
	double d;

	ck_assert_int_eq(parse_u64("18446744073709551615", &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(parse_u64("18446744073709551616", &u), -ERANGE);
	ck_assert_int_eq(parse_u64("-1", &u), -EINVAL);
	ck_assert_int_eq(parse_u64(" 1", &u), -EINVAL);
	ck_assert_int_eq(parse_u64("1x", &u), -EINVAL);
	ck_assert_int_eq(parse_u64("010", &u), 0);
	ck_assert_uint_eq(u, 10);
	ck_assert_int_eq(parse_u64("0x10", &u), 0);
	ck_assert_uint_eq(u, 16);
	ck_assert_int_eq(parse_u64("0x", &u), -EINVAL);
	ck_assert_int_eq(parse_u32("4294967296", &u32), -ERANGE);
	ck_assert_int_eq(parse_count("1M", &u), 0);
	ck_assert_uint_eq(u, 1000000);
	ck_assert_int_eq(parse_count("2.5k", &u), 0);
	ck_assert_uint_eq(u, 2500);
	ck_assert_int_eq(parse_count("1.0000001k", &u), -EINVAL);
	ck_assert_int_eq(parse_double("2.5", &d), 0);
	ck_assert(d == 2.5);
	ck_assert_int_eq(parse_double("fast", &d), -EINVAL);
	ck_assert_int_eq(parse_double("nan", &d), -EINVAL);
	ck_assert_int_eq(parse_double("1e999", &d), -ERANGE);
	ck_assert_int_eq(parse_boolean("yes"), 1);
	ck_assert_int_eq(parse_boolean("OFF"), 0);
	ck_assert_int_eq(parse_boolean("maybe"), -EINVAL);
}
END_TEST

START_TEST(test_format)
{
	char b[32];

	ck_assert_str_eq(format_duration_ns(b, sizeof(b), 999), "999ns");
	ck_assert_str_eq(format_duration_ns(b, sizeof(b), 11200), "11.2µs");
	ck_assert_str_eq(format_duration_ns(b, sizeof(b), 3400 * NSEC_PER_MSEC), "3.40s");
	ck_assert_str_eq(format_count(b, sizeof(b), 1234567), "1.23M");
	ck_assert_str_eq(format_count(b, sizeof(b), 12), "12");
}
END_TEST

static const struct {
	const char *path;
	int ret;
	uint32_t id;
} run_paths[] = {
	{"/org/iommutest1/run/1", 0, 1},
	{"/org/iommutest1/run/42", 0, 42},
	{"/org/iommutest1/run/4294967295", 0, UINT32_MAX},
	{"/org/iommutest1/run/4294967296", -EINVAL, 0},
	{"/org/iommutest1/run/0", -EINVAL, 0},
	{"/org/iommutest1/run/03", -EINVAL, 0},
	{"/org/iommutest1/run/0x3", -EINVAL, 0},
	{"/org/iommutest1/run/+3", -EINVAL, 0},
	{"/org/iommutest1/run/3 ", -EINVAL, 0},
	{"/org/iommutest1/run/3/x", -EINVAL, 0},
	{"/org/iommutest1/run/", -EINVAL, 0},
	{"/org/iommutest1/run", -EINVAL, 0},
	{"/org/iommutest1/runs/3", -EINVAL, 0},
	{"/org/iommutest1/device/3", -EINVAL, 0},
};

START_TEST(test_run_path)
{
	uint32_t id = 0;
	int r = run_path_parse(run_paths[_i].path, &id);

	ck_assert_msg(r == run_paths[_i].ret, "'%s': got %d want %d", run_paths[_i].path, r,
		      run_paths[_i].ret);
	if (r == 0)
		ck_assert_uint_eq(id, run_paths[_i].id);
	/* A bare run number follows the same rules as the path's last part. */
	const char *prefix = RUN_PATH_PREFIX "/";
	if (strncmp(run_paths[_i].path, prefix, strlen(prefix)) == 0 &&
	    !strchr(run_paths[_i].path + strlen(prefix), '/'))
		ck_assert_int_eq(run_id_parse(run_paths[_i].path + strlen(prefix), &id),
				 run_paths[_i].ret);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse-util");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_duration, 0, sizeof(durations) / sizeof(durations[0]));
	tcase_add_loop_test(tc, test_size, 0, sizeof(sizes) / sizeof(sizes[0]));
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_format);
	tcase_add_loop_test(tc, test_run_path, 0, sizeof(run_paths) / sizeof(run_paths[0]));
	suite_add_tcase(s, tc);
	return check_run(s);
}
