/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <string.h>

#include "core/histogram.h"
#include "counter.h"
#include "macro.h"

void hist_init(Histogram *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
	unsigned e, sub;

	if (b < HIST_SUB) {
		*lo = b;
		*hi = b + 1;
		return;
	}
	e = (b - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	sub = (b - HIST_SUB) % HIST_SUB;
	*lo = (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
	*hi = *lo + (1ULL << (e - HIST_SUB_BITS));
}

void hist_merge(Histogram *dst, const Histogram *src)
{
	uint64_t count = __atomic_load_n(&src->count, __ATOMIC_ACQUIRE);
	uint64_t mn, mx;

	if (count == 0)
		return;
	dst->count += count;
	dst->sum += counter_get(src->sum);
	mn = counter_get(src->min);
	mx = counter_get(src->max);
	dst->min = MIN(dst->min, mn);
	dst->max = MAX(dst->max, mx);
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += counter_get(src->buckets[i]);
}

uint64_t hist_percentile(const Histogram *h, double p)
{
	uint64_t total = 0, rank, seen = 0;

	/* Sum the buckets rather than trusting count: a concurrent merge may differ by a few. */
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		total += h->buckets[i];
	if (total == 0)
		return 0;
	if (p >= 100.0)
		return h->max;

	rank = (uint64_t)ceil(p / 100.0 * (double)total);
	if (rank == 0)
		rank = 1;

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t lo, hi, mid;

			hist_bucket_range(i, &lo, &hi);
			mid = lo + (hi - lo - 1) / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}

double hist_mean(const Histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
