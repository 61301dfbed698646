/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * [Traffic] Engine=iopf: page requests injected into the kernel's selftest
 * mock device (IOMMU_TEST_OP_TRIGGER_IOPF) while its RID is replaced between
 * fault-capable nested HWPTs, read back from the iommufd fault queue and
 * answered. Every injected request is accounted for exactly once:
 *
 *   received   read from the fault queue fd (and answered by us: responded,
 *              or refused because the kernel had answered it already)
 *   withdrawn  never delivered because a replacement took the device off the
 *              domain first: iommufd answers the old attachment's pending
 *              groups itself (IOMMU_PAGE_RESP_INVALID) and drops them
 *   lost       never delivered although no replacement could explain it
 *
 * so that at the end injected == received - unexpected + withdrawn + lost,
 * and every received group is responded, refused or a response error.
 *
 * Threads: one injector thread; everything else (reading, answering,
 * accounting, describe) on the main thread, which is the single producer of
 * the FaultQueue.
 */

#include <stdint.h>

#include "core/backend.h"
#include "core/fault.h"
#include "json.h"

typedef struct MockIopf MockIopf;

typedef struct MockIopfParams {
	int iommufd;	 /* where IOMMU_TEST_CMD goes */
	int fault_fd;	 /* the fault queue, non-blocking; owned by the caller */
	uint32_t dev_id; /* the mock device's idev id */
	uint64_t iova;	 /* requests are for pages in [iova, iova + map_size) */
	uint64_t map_size;
	double rate;	      /* injections/s, 0: as fast as the queue is read */
	uint64_t settle_ns;   /* SettleTime= */
	AttachPointState *ap; /* the RID point, whose windows the injections fall in */
	uint32_t ap_index;
	FaultQueue *queue; /* received requests, pushed on the main thread */
	FaultSink *sink;   /* fails the run when injection cannot go on */
} MockIopfParams;

typedef struct MockIopfStats {
	uint64_t injected;		  /* TRIGGER_IOPF calls that succeeded */
	uint64_t inject_errors;		  /* … that failed: not injected */
	uint64_t injected_during_replace; /* overlapped a replace() or its settle time */
	uint64_t stalls;		  /* times the injector waited for the reader */
	uint64_t received;		  /* records read from the fault queue */
	uint64_t unexpected;		  /* … that match no outstanding injection */
	uint64_t responded;		  /* responses the kernel took */
	uint64_t response_refused;	  /* refused after a replacement answered the group */
	uint64_t response_errors;	  /* refused with no replacement to explain it */
	uint64_t withdrawn;		  /* answered by the kernel at a replacement, never read */
	uint64_t lost;			  /* never read, no replacement to explain it */
	uint64_t outstanding;		  /* injected, not yet accounted for */
} MockIopfStats;

int mock_iopf_new(const MockIopfParams *params, MockIopf **ret);
/* Stops the injector if it runs, drains what is left; NULL-safe. */
MockIopf *mock_iopf_free(MockIopf *m);

/* Main thread: starts the injector thread. */
int mock_iopf_start(MockIopf *m);
/*
 * Main thread: stops and joins the injector, then reads and answers
 * everything still queued, so that nothing stays outstanding. Idempotent.
 */
void mock_iopf_stop(MockIopf *m);

/*
 * The injector's wake-up for the main loop: it signals this eventfd when it
 * waits for the reader, which must then drain even if the fault queue itself
 * is empty (a replacement may have withdrawn everything outstanding).
 */
int mock_iopf_kick_fd(MockIopf *m);
/* Main thread: fd (the fault queue or the kick fd) polled readable. */
void mock_iopf_dispatch(MockIopf *m, int fd);

void mock_iopf_stats(MockIopf *m, MockIopfStats *ret);
/* The counters as members of an already opened JSON object. */
void mock_iopf_describe(MockIopf *m, JsonWriter *j);
