/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "core/timeline.h"
#include "macro.h"

void timeline_init(Timeline *t)
{
	memset(t, 0, sizeof(*t));
	t->width_usec = TIMELINE_FIRST_WIDTH_USEC;
}

static void counts_add(TimelineCounts *dst, const TimelineCounts *a)
{
	dst->replacements += a->replacements;
	dst->dma_transfers += a->dma_transfers;
	dst->dma_errors += a->dma_errors;
	for (unsigned s = 0; s < _FAULT_SOURCE_MAX; s++)
		dst->faults[s] += a->faults[s];
}

/* Pairs of buckets become one of twice the width. */
static void coarsen(Timeline *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i += 2) {
		TimelineCounts c = t->buckets[i];

		if (i + 1 < t->n)
			counts_add(&c, &t->buckets[i + 1]);
		t->buckets[n++] = c;
	}
	memset(&t->buckets[n], 0, (TIMELINE_MAX_BUCKETS - n) * sizeof(t->buckets[0]));
	t->n = n;
	t->width_usec *= 2;
}

void timeline_add(Timeline *t, uint64_t elapsed_usec, const TimelineCounts *totals)
{
	TimelineCounts d;
	size_t b;

	while ((b = (size_t)(elapsed_usec / t->width_usec)) >= TIMELINE_MAX_BUCKETS)
		coarsen(t);
	/* Totals only grow; a source that went backwards (it cannot) would count as 0. */
	d.replacements = totals->replacements - MIN(totals->replacements, t->last.replacements);
	d.dma_transfers = totals->dma_transfers - MIN(totals->dma_transfers, t->last.dma_transfers);
	d.dma_errors = totals->dma_errors - MIN(totals->dma_errors, t->last.dma_errors);
	for (unsigned s = 0; s < _FAULT_SOURCE_MAX; s++)
		d.faults[s] = totals->faults[s] - MIN(totals->faults[s], t->last.faults[s]);
	counts_add(&t->buckets[b], &d);
	if (b + 1 > t->n)
		t->n = b + 1;
	t->last = *totals;
}

void timeline_describe(const Timeline *t, JsonWriter *j)
{
	json_u64(j, "bucket_usec", t->width_usec);
	json_array_begin(j, "buckets");
	for (size_t i = 0; i < t->n; i++) {
		const TimelineCounts *c = &t->buckets[i];

		json_object_begin(j, NULL);
		json_u64(j, "start_usec", i * t->width_usec);
		json_u64(j, "replacements", c->replacements);
		json_u64(j, "dma_transfers", c->dma_transfers);
		json_u64(j, "dma_errors", c->dma_errors);
		json_object_begin(j, "faults");
		for (unsigned s = 0; s < _FAULT_SOURCE_MAX; s++)
			json_u64(j, fault_source_to_string(s), c->faults[s]);
		json_object_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}
