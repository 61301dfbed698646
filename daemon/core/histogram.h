/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Log-bucketed latency histogram.
 *
 * Values below 2^HIST_SUB_BITS are counted exactly; above, each power of two
 * is split into 2^HIST_SUB_BITS linear sub-buckets, so a bucket is at most
 * 1/128 of its lower bound wide. Percentiles report the bucket midpoint
 * (clamped to the exact min/max), i.e. within 0.4% of the true value.
 *
 * One thread writes a histogram (hist_record, relaxed single-writer updates,
 * no lock and no locked instruction on the hot path); another may read it at
 * any time with hist_merge() and sees a slightly stale but never torn count.
 */

#include <stdint.h>

#include "counter.h"

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP  40 /* values up to 2^41 ns (~36 min) land in their own bucket */
#define HIST_BUCKETS  (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

typedef struct Histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[HIST_BUCKETS];
} Histogram;

void hist_init(Histogram *h);

static inline unsigned hist_bucket(uint64_t v)
{
	unsigned e, idx;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	idx = HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	      (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
	return idx;
}

/* Single writer only: plain loads and stores, visible to readers without tearing. */
static inline void hist_record(Histogram *h, uint64_t v)
{
	unsigned b = hist_bucket(v);

	counter_inc(h->buckets[b]);
	if (v > counter_get(h->max))
		counter_set(h->max, v);
	if (v < counter_get(h->min))
		counter_set(h->min, v);
	counter_add(h->sum, v);
	/* count last: a reader that sees it also sees most of the rest */
	__atomic_store_n(&h->count, counter_get(h->count) + 1, __ATOMIC_RELEASE);
}

/* Lower and upper bound (exclusive) of bucket b. */
void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

/* dst += src; src may be written concurrently by its owner. */
void hist_merge(Histogram *dst, const Histogram *src);

/* p in [0, 100]; 0 when empty. */
uint64_t hist_percentile(const Histogram *h, double p);
double hist_mean(const Histogram *h);
