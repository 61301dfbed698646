/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The model's hardware side: one walker thread that plays the IOMMU for every
 * attachment point of a model, and one traffic thread that plays the device
 * driver issuing DMA.
 *
 * The traffic thread writes a pattern carrying a sequence number into a source
 * buffer, posts a descriptor (attachment point round robin, source and
 * destination IOVAs inside [iova, iova+map_size)) into a lock-free SPSC ring,
 * and verifies the destination when the completion comes back through a
 * second ring. The walker translates both IOVAs through the point's PASID
 * entry, using its PASID-cache copy until an invalidation (see model.h),
 * performs the copy in the model's memory, and reports a fault for a
 * non-present, invalid or torn entry or an unmapped address.
 *
 * Without traffic nothing is translated, so the model cannot fault: the threads
 * run only between walker_start() and walker_stop().
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/fault.h"
#include "backends/model/model.h"

typedef struct WalkerParams {
	FaultQueue *walker_faults;  /* FAULT_SOURCE_MODEL records; NULL: count only */
	FaultQueue *traffic_faults; /* FAULT_SOURCE_DMA_VERIFY records; NULL: count only */
	uint32_t dma_size;	    /* 1 ≤ dma_size ≤ the model's map_size */
	double dma_rate;	    /* transfers/s, 0 = as fast as possible */
	bool verify;		    /* check the destination's pattern */
	uint64_t settle_ns; /* a fault this soon after a replace() still counts as during it */
	uint64_t seed;	    /* mixed into the data pattern */
} WalkerParams;

typedef struct Walker Walker;

int walker_new(Model *m, const WalkerParams *params, Walker **ret);
Walker *walker_free(Walker *w); /* stops the threads first */
DEFINE_TRIVIAL_CLEANUP_FUNC(Walker *, walker_free);

/* Starts the walker and traffic threads (0 if already running). */
int walker_start(Walker *w);
/* Stops issuing, waits for the transfers in flight, joins both threads. Idempotent. */
void walker_stop(Walker *w);
bool walker_running(const Walker *w);

typedef struct WalkerCounters {
	uint64_t translations; /* DMA descriptors the walker translated (or faulted) */
	uint64_t faults;       /* walker faults */
	uint64_t dma_ok;
	uint64_t dma_errors; /* faulted or corrupted transfers */
} WalkerCounters;

/* Any thread; totals over all points, each counter exact on its own. */
void walker_counters(const Model *m, WalkerCounters *ret);

/*
 * The walker's decision for one fetched entry of point p, without threads:
 * 0 and the matching domain, or a MODEL_FAULT_* reason.
 */
uint32_t walker_decode(const Model *m, const ModelPoint *p, const PasidEntry *e,
		       const ModelDomain **ret);
/* Translates [iova, iova+len) through domain d to a PA: 0 or a MODEL_FAULT_* reason. */
uint32_t walker_translate(const Model *m, const ModelDomain *d, uint64_t iova, uint64_t len,
			  uint64_t *ret_pa);
