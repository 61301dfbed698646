/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * tracefs as an observer of the kernel's own PASID entry updates, for kernels
 * with the entry_sync series' trace events (intel_iommu:entry_write_start,
 * entry_write_complete, entry_sync). Each write is classified by what its
 * syncs saw: passing through a non-present entry makes it disruptive; and,
 * independently, by the model's used-bits analysis of the traced current and
 * target entries, so prediction and observation stand side by side.
 *
 * A run on a PCI device gets its own trace instance
 * (TRACEFS/instances/iommutestd-run-N) with the events filtered to its
 * device, so nothing global is touched. Kernels without the events answer
 * "unavailable" with a reason and the run goes on without this source.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef enum TraceKind {
	TRACE_OTHER,
	TRACE_WRITE_START,
	TRACE_WRITE_COMPLETE,
	TRACE_SYNC,
} TraceKind;

typedef struct TraceLine {
	TraceKind kind;
	char dev[64];
	uint32_t pasid;
	uint64_t target[4], current[4]; /* qwords 0..3 (write events) */
	bool was_present, is_present;	/* sync events */
} TraceLine;

/* Parses one trace_pipe line ("task-pid [cpu] flags ts: event: payload"). */
TraceKind tracefs_parse_line(const char *line, TraceLine *ret);

typedef struct TraceStats {
	uint64_t writes;     /* completed entry writes for the device */
	uint64_t hitless;    /* … whose syncs never saw a non-present entry */
	uint64_t disruptive; /* … that went through a non-present entry */
	uint64_t syncs;	     /* entry_sync events inside those writes */
	uint64_t predicted_hitless, predicted_disruptive, predicted_noop;
	uint64_t prediction_agrees; /* hitless/disruptive as the used bits predicted */
	uint64_t unmatched;	    /* syncs or completions without a start */
} TraceStats;

typedef struct TraceSource TraceSource;

/*
 * Sets up an instance for device (a PCI address), followed from e (may be
 * NULL: then only trace_source_poll() reads it). -EOPNOTSUPP (or another
 * -errno) with *reason when the kernel has no such events or tracefs is not
 * there.
 */
int trace_source_new(sd_event *e, const char *tracefs, const char *device, unsigned run_id,
		     TraceSource **ret, char **reason);
/* Reads what the kernel has traced so far (also called on the run's timer and at its end). */
void trace_source_poll(TraceSource *t);
const TraceStats *trace_source_stats(const TraceSource *t);
/* Disables the events, removes the instance. */
TraceSource *trace_source_free(TraceSource *t);
