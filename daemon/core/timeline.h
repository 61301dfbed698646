/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A run's figures over time, for its report: replacements, DMA transfers and
 * errors, and faults by source per bucket of TIMELINE_FIRST_WIDTH_USEC.
 * Memory is bounded: when the buckets are all used, neighbours merge and the
 * width doubles, so a run of any length keeps at most TIMELINE_MAX_BUCKETS
 * (a day-long run ends up with ~3 min buckets). Main thread only: the run
 * adds its totals on every sample.
 */

#include <stddef.h>
#include <stdint.h>

#include "core/fault.h"
#include "json.h"

#define TIMELINE_FIRST_WIDTH_USEC UINT64_C(1000000)
#define TIMELINE_MAX_BUCKETS	  512

typedef struct TimelineCounts {
	uint64_t replacements, dma_transfers, dma_errors;
	uint64_t faults[_FAULT_SOURCE_MAX];
} TimelineCounts;

typedef struct Timeline {
	uint64_t width_usec;
	size_t n; /* buckets in use; the last one may still grow */
	TimelineCounts last; /* the totals at the previous timeline_add() */
	TimelineCounts buckets[TIMELINE_MAX_BUCKETS];
} Timeline;

void timeline_init(Timeline *t);
/* The run's totals at elapsed_usec since its start: the growth since the last call joins that bucket. */
void timeline_add(Timeline *t, uint64_t elapsed_usec, const TimelineCounts *totals);
/* {"bucket_usec": W, "buckets": [{"start_usec":…, "replacements":…, "faults": {src: n}}, …]} */
void timeline_describe(const Timeline *t, JsonWriter *j);
