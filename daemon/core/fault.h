/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fault records and the FaultSink through which backends report them.
 *
 * Producers (a backend's walker, traffic or verification thread, or the main
 * loop's kmsg reader) each get their own single-producer queue; pushing is
 * lock-free and never blocks. The main loop drains all queues on a timer and
 * when woken by the sink's eventfd. A full queue drops the record but never
 * the count: per-source totals are kept by the producer in atomics.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef enum FaultSource {
	FAULT_SOURCE_MODEL,	 /* the model's hardware walker */
	FAULT_SOURCE_DMA_VERIFY, /* a DMA transfer failed or returned wrong data */
	FAULT_SOURCE_KMSG,	 /* kernel log (DMAR/AMD-Vi/SMMUv3 lines) */
	FAULT_SOURCE_IOMMUFD,	 /* iommufd fault queue */
	FAULT_SOURCE_TRACEFS,	 /* entry_sync trace events */
	_FAULT_SOURCE_MAX,
} FaultSource;

typedef enum FaultAccess {
	FAULT_ACCESS_UNKNOWN,
	FAULT_ACCESS_READ,
	FAULT_ACCESS_WRITE,
	_FAULT_ACCESS_MAX,
} FaultAccess;

#define FAULT_REASON_TEXT_MAX 96

typedef struct FaultRecord {
	uint64_t seq;	  /* assigned by the run when drained: 1, 2, … */
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	uint64_t address; /* IOVA (or 0) */
	uint32_t ap;	  /* attachment point index into Scenario.points, UINT32_MAX if unknown */
	uint32_t reason;  /* vendor reason code (VT-d fault reason, model reason) */
	uint8_t source;	  /* FaultSource */
	uint8_t access;	  /* FaultAccess */
	bool during_replace; /* fell inside a replace() window (+settle time) */
	/*
	 * The domain the point was attached to when the fault happened, when the
	 * producer can tell (not during a replacement): a positive control
	 * checks that faults come only from the domain that lacks the range.
	 */
	bool domain_known;
	uint32_t domain;
	char reason_text[FAULT_REASON_TEXT_MAX];
} FaultRecord;

const char *
fault_source_to_string(FaultSource s); /* "model", "dma-verify", "kmsg", "iommufd", "tracefs" */
const char *fault_access_to_string(FaultAccess a); /* "unknown", "read", "write" */

typedef struct FaultQueue FaultQueue;
typedef struct FaultSink FaultSink;

/* Main thread, at setup: one queue per producer thread. capacity is rounded up to a power of 2. */
int fault_sink_new(FaultSink **ret, unsigned queue_capacity);
FaultSink *fault_sink_free(FaultSink *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(FaultSink *, fault_sink_free);
int fault_sink_add_queue(FaultSink *s, const char *name, FaultQueue **ret);
int fault_sink_eventfd(FaultSink *s);
/*
 * Main thread. fault_sink_ack() consumes the eventfd when it polled readable;
 * producers stay quiet until fault_sink_rearm(), which the run calls from a
 * short timer rather than right away, so a fault storm costs the producers at
 * most one write(2) per timer period and the main loop one wake-up.
 */
void fault_sink_ack(FaultSink *s);
void fault_sink_rearm(FaultSink *s);

/* Producer thread: lock-free, never blocks; the record is copied. */
void fault_queue_push(FaultQueue *q, const FaultRecord *f);

/*
 * Any thread: the run cannot go on (e.g. device removed). The first call wins;
 * the main loop fails the run with this reason.
 */
void fault_sink_fail(FaultSink *s, int error, const char *reason);
/* Main thread: the failure, if any (reason valid until the sink is freed). */
bool fault_sink_failed(FaultSink *s, int *ret_error, const char **ret_reason);

/*
 * Main thread: pops every queued record, calling cb for each (oldest first per
 * queue); returns the number popped. Totals include records dropped on a full
 * queue, which never reach cb.
 */
typedef void (*fault_cb_t)(const FaultRecord *f, void *userdata);
uint64_t fault_sink_drain(FaultSink *s, fault_cb_t cb, void *userdata);
/*
 * Per-source totals pushed so far (delivered + dropped), how many of them fell
 * in a replacement window, and how many were dropped. Exact whatever the queue size.
 */
typedef struct FaultTotals {
	uint64_t total[_FAULT_SOURCE_MAX];
	uint64_t during_replace[_FAULT_SOURCE_MAX];
	uint64_t dropped[_FAULT_SOURCE_MAX];
} FaultTotals;
void fault_sink_totals(FaultSink *s, FaultTotals *ret);
