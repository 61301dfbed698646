/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "core/histogram.h"
#include "check-run.h"

static uint64_t rng_state = 0x12345678abcdefULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The exact nearest-rank percentile, as the histogram defines it. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static const double percentiles[] = {50, 90, 99, 99.9, 100};

/* Log-uniform values over 1 ns … 100 ms, the span replace() latencies live in. */
START_TEST(test_relative_error_log_uniform)
{
	const size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(uint64_t));
	Histogram *h = malloc(sizeof(Histogram));

	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(h);
	hist_init(h);
	for (size_t i = 0; i < n; i++) {
		double e = (double)(rnd() % 1000000) / 1000000.0 * 8.0; /* 10^0 … 10^8 */
		v[i] = (uint64_t)pow(10.0, e);
		hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
		uint64_t want = exact_percentile(v, n, percentiles[i]);
		uint64_t got = hist_percentile(h, percentiles[i]);
		double rel = fabs((double)got - (double)want) / (double)want;

		ck_assert_msg(rel <= 0.01, "p%g: got %llu want %llu (%.3f%%)", percentiles[i],
			      (unsigned long long)got, (unsigned long long)want, rel * 100);
	}
	ck_assert_uint_eq(h->count, n);
	ck_assert_uint_eq(h->min, v[0]);
	ck_assert_uint_eq(h->max, v[n - 1]);
	free(v);
	free(h);
}
END_TEST

/* A narrow cluster is the hard case for bucketed histograms: many values in few buckets. */
START_TEST(test_relative_error_cluster)
{
	const size_t n = 100000;
	uint64_t *v = malloc(n * sizeof(uint64_t));
	Histogram *h = malloc(sizeof(Histogram));

	hist_init(h);
	for (size_t i = 0; i < n; i++) {
		v[i] = 11000 + rnd() % 900; /* 11.0 … 11.9 µs, like the VM's replace latency */
		hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
		uint64_t want = exact_percentile(v, n, percentiles[i]);
		uint64_t got = hist_percentile(h, percentiles[i]);

		ck_assert_msg(fabs((double)got - (double)want) / (double)want <= 0.01,
			      "p%g: got %llu want %llu", percentiles[i], (unsigned long long)got,
			      (unsigned long long)want);
	}
	free(v);
	free(h);
}
END_TEST

START_TEST(test_bucket_bounds)
{
	uint64_t prev_hi = 0;

	/* Buckets tile the value range without gaps or overlaps, and are ≤ 1/128 wide. */
	for (unsigned b = 0; b < HIST_BUCKETS - 1; b++) {
		uint64_t lo, hi;

		hist_bucket_range(b, &lo, &hi);
		ck_assert_uint_eq(lo, prev_hi);
		ck_assert_uint_gt(hi, lo);
		ck_assert_uint_eq(hist_bucket(lo), b);
		ck_assert_uint_eq(hist_bucket(hi - 1), b);
		if (lo >= HIST_SUB)
			ck_assert((double)(hi - lo) / (double)lo <= 1.0 / 128 + 1e-12);
		prev_hi = hi;
	}
	/* Past the last exponent everything clamps into the final bucket. */
	ck_assert_uint_eq(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
}
END_TEST

START_TEST(test_exact_small_values)
{
	Histogram *h = malloc(sizeof(Histogram));

	hist_init(h);
	for (uint64_t i = 1; i <= 100; i++)
		hist_record(h, i);
	ck_assert_uint_eq(hist_percentile(h, 50), 50);
	ck_assert_uint_eq(hist_percentile(h, 90), 90);
	ck_assert_uint_eq(hist_percentile(h, 99), 99);
	ck_assert_uint_eq(hist_percentile(h, 100), 100);
	ck_assert(fabs(hist_mean(h) - 50.5) < 1e-9);
	free(h);
}
END_TEST

START_TEST(test_empty_and_merge)
{
	Histogram *a = malloc(sizeof(Histogram)), *b = malloc(sizeof(Histogram)),
		  *m = malloc(sizeof(Histogram));

	hist_init(a);
	hist_init(b);
	hist_init(m);
	ck_assert_uint_eq(hist_percentile(a, 50), 0);
	ck_assert(hist_mean(a) == 0);

	for (int i = 0; i < 1000; i++)
		hist_record(a, 1000);
	for (int i = 0; i < 1000; i++)
		hist_record(b, 1000000);
	hist_merge(m, a);
	hist_merge(m, b);
	ck_assert_uint_eq(m->count, 2000);
	ck_assert_uint_eq(m->min, 1000);
	ck_assert_uint_eq(m->max, 1000000);
	ck_assert(llabs((long long)hist_percentile(m, 50) - 1000) <= 10);
	ck_assert(llabs((long long)hist_percentile(m, 51) - 1000000) <= 10000);
	/* Merging an empty histogram changes nothing. */
	hist_init(a);
	hist_merge(m, a);
	ck_assert_uint_eq(m->count, 2000);
	ck_assert_uint_eq(m->min, 1000);
	free(a);
	free(b);
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("histogram");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_relative_error_log_uniform);
	tcase_add_test(tc, test_relative_error_cluster);
	tcase_add_test(tc, test_bucket_bounds);
	tcase_add_test(tc, test_exact_small_values);
	tcase_add_test(tc, test_empty_and_merge);
	suite_add_tcase(s, tc);
	return check_run(s);
}
