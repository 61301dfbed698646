/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Observers: fault and cross-check sources outside the backend (the kernel
 * log, the DMAR fault interrupts, the entry_sync trace events). The engine
 * drives each through ObserverOps for the runs it applies to; an observer
 * sees an ObserverRun (the device, the points, a fault sink, a window
 * lookup) and never the Run, and keeps its per-run state in a block the
 * run allocates for it (ObserverOps.size) and keeps after the run ends, so
 * that Describe() still shows the final numbers.
 *
 * Lifecycle, all on the main thread:
 *   prepare()   before the backend sets the device up (so nothing it does is missed)
 *   start()     attachments made and traffic on
 *   poll()      on every tick of the run
 *   quiesce()   workers joined, before the backend's teardown (whose writes are not the run's)
 *   finish()    after the teardown, before the final count; faults pushed until here count
 *   stop()      releases what the observer holds; also after a failed start, and twice is fine
 * Every hook may be NULL. A prepare() or start() that fails is no failure of
 * the run: the observer says why in describe().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/backend.h"
#include "core/fault.h"
#include "json.h"

typedef struct KmsgSource KmsgSource;

/* What an observer is told of the run it watches. */
typedef struct ObserverRun {
	unsigned id;
	const char *name;   /* the run's path, for markers in logs */
	const char *device; /* Device=, a PCI address for BACKEND_PCI backends */
	const HostEnv *env;
	sd_event *event;
	FaultSink *sink; /* for a fault queue of the observer's own */
	const AttachPointState *points;
	size_t n_points;
	/* Did time t fall in a replacement window of point ap, and on which domain was it? */
	bool (*lookup)(void *userdata, size_t ap, uint64_t t, uint32_t *ret_domain);
	void *userdata;
	/* Process-wide: the kernel-log follower (NULL without one), and "said once" flags. */
	KmsgSource *kmsg;
	bool *trace_unavailable_logged;
} ObserverRun;

typedef struct ObserverOps {
	const char *name; /* its member in Describe() */
	/* Describe()'s object it goes in ("cross_checks"), or NULL for the top level. */
	const char *group;
	size_t size; /* of its per-run state, zeroed by the run */
	/* Applies to runs of this backend (the PCI observers: BACKEND_PCI). */
	unsigned needs_flags;
	/* It learns of faults after the fact, by timestamp: the run keeps a log of windows. */
	bool needs_window_log;

	int (*prepare)(void *state, const ObserverRun *run);
	int (*start)(void *state, const ObserverRun *run);
	void (*poll)(void *state);
	void (*quiesce)(void *state);
	void (*finish)(void *state);
	void (*stop)(void *state);
	/* Members of its Describe() object; state is zeroed when the observer never applied. */
	void (*describe)(const void *state, bool run_active, JsonWriter *j);
	/*
	 * May be NULL. The fault source it feeds, when it is the best count a run
	 * has (no exact source, no verified DMA), or _FAULT_SOURCE_MAX.
	 */
	FaultSource (*fallback_source)(const void *state);
} ObserverOps;

extern const ObserverOps observer_kmsg;
extern const ObserverOps observer_dmar_interrupts;
extern const ObserverOps observer_tracefs;

/* NULL-terminated, in Describe() order. */
extern const ObserverOps *const observers[];
#define OBSERVERS_MAX 8
