/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A run: one scenario executing. The main thread owns the Run; worker threads
 * (one per group of attachment points) own their RunPoint counters and publish
 * them with single-writer relaxed atomics, waking the main loop through an
 * eventfd only when they exit. The main loop merges counters on a timer
 * (RUN_TICK_USEC), emits PropertiesChanged for what changed, drains faults,
 * and drives the state machine:
 *
 *   starting → running → stopping → finished
 *                  └──────────┴────→ failed (reason)
 */

#include <pthread.h>
#include <systemd/sd-event.h>

#include "core/backend.h"
#include "core/histogram.h"
#include "core/observer.h"
#include "core/timeline.h"

typedef struct Run Run;

#define RUN_TICK_USEC	     (250 * 1000) /* ≤ 4 Hz of PropertiesChanged */
#define RUN_FAULT_REARM_USEC (20 * 1000)  /* fault wake-ups: ≤ 50 Hz, ≤ 20 ms latency */
#define RUN_FAULT_SIGNAL_USEC \
	(20 * 1000)	     /* Fault signals: ≤ 50 Hz, each says how many it stands for */
#define RUN_ERRNO_SLOTS 134  /* errno values counted individually (EHWPOISON = 133) */
#define RUN_WINDOW_RING 8192 /* replacement windows kept per point for timestamp attribution */

typedef enum RunState {
	RUN_STARTING,
	RUN_RUNNING,
	RUN_STOPPING,
	RUN_FINISHED,
	RUN_FAILED,
	_RUN_STATE_MAX,
} RunState;

typedef struct Worker Worker;

/* Per attachment point: written by its worker only. */
typedef struct RunPoint {
	AttachPointState *state; /* in Run.ap_states, shared with the backend's threads */
	_Alignas(CACHELINE) uint64_t replacements;
	uint64_t errors;
	unsigned domain;       /* currently attached domain */
	unsigned since_verify; /* replacements since the backend's last verify() */
	Histogram *hist;
	/*
	 * The last RUN_WINDOW_RING replacement windows [start, end] in
	 * CLOCK_MONOTONIC ns, for sources that learn of a fault after the fact
	 * (the kernel log). end is UINT64_MAX while the window is open. Only
	 * allocated for runs with such a source. Written by the worker.
	 */
	uint64_t (*windows)[3]; /* [start, end, domain attached after it] */
	uint64_t window_idx;
	/* main-thread side */
	uint64_t faults, faults_during;
	uint64_t faults_by_source[_FAULT_SOURCE_MAX];
	uint64_t *faults_by_domain; /* Scenario.n_domains entries */
	uint64_t faults_domain_unknown;
} RunPoint;

typedef struct RetainedFault {
	FaultRecord rec;
	uint64_t replace_count; /* the run's replacements when the fault was drained */
	uint64_t time_realtime_usec;
} RetainedFault;

/* What the bus sees; recomputed by run_sample(). */
typedef struct RunStats {
	uint64_t replacements;
	uint64_t replace_errors;
	double rate;
	uint64_t p50, p90, p99, p999, max, min;
	double mean;
	uint64_t dma_transfers, dma_errors;
	uint64_t faults, faults_during, faults_at_rest;
	uint64_t elapsed_usec;
} RunStats;

/*
 * How the engine reports what happens to a run, to whoever presents runs
 * (the bus layer, through the manager); the engine itself names no bus,
 * interface, property or error, like machined's machine.c next to
 * machine-dbus.c. Every hook runs on the main thread; any may be NULL.
 */
typedef struct RunEvents {
	/* State, and with it Verdict, FailureReason or FinishedAt, changed. */
	void (*state_changed)(Run *r);
	/* A tick's sample is in r->stats: present what differs from the last one. */
	void (*sampled)(Run *r);
	/*
	 * A coalesced fault report (at most 1000000 / RUN_FAULT_SIGNAL_USEC a
	 * second): f is the latest record, merged how many it stands for.
	 */
	void (*fault)(Run *r, const RetainedFault *f, uint64_t merged);
	/* The run has ended (finished or failed): its numbers are final. */
	void (*ended)(Run *r);
} RunEvents;

/* What a run needs from the process that starts it; nothing of it is owned by the run. */
typedef struct RunContext {
	sd_event *event;
	const HostEnv *env;
	unsigned id;
	/* The presenter's name for the run (its object path): shown in Describe(), never parsed. */
	const char *path;
	unsigned fault_ring; /* fault records retained, ManagerConfig.fault_ring */
	KmsgSource *kmsg;    /* NULL when the kernel log cannot be read */
	/* Set once "entry_sync trace events unavailable" has been logged: once per process. */
	bool *trace_unavailable_logged;
	const RunEvents *events;
	void *userdata; /* the presenter's, for its hooks; the engine never reads it */
	/* NULL: the backend the scenario names. Set by tests that bring their own. */
	const BackendOps *backend;
} RunContext;

/* Why run_start() refused, for the presenter to name (as a bus error, say). */
typedef enum RunErrorKind {
	RUN_ERROR_NONE,
	RUN_ERROR_BACKEND_UNAVAILABLE, /* not compiled in, or its probe failed here */
	RUN_ERROR_SETUP_FAILED,	       /* the backend could not set the device up */
	RUN_ERROR_FAILED,	       /* anything else (threads, descriptors) */
} RunErrorKind;

typedef struct RunError {
	RunErrorKind kind;
	char message[512];
} RunError;

typedef struct Run {
	Run *next; /* the manager's list */
	unsigned id;
	char *path;

	const RunEvents *events;
	void *userdata;
	sd_event *event;
	const HostEnv *env;

	Scenario *scenario;
	const BackendOps *ops;
	void *ctx; /* backend instance */
	FaultSink *sink;

	RunState state;
	char *verdict;
	char *reason;

	RunPoint *points;
	AttachPointState *ap_states; /* contiguous, as BackendSetup hands them out */
	size_t n_points;
	Worker *workers;
	unsigned n_workers;
	unsigned workers_running;
	int wake_fd; /* workers → main loop */

	/* set by the main thread, read by workers */
	_Alignas(CACHELINE) bool stop;
	_Alignas(CACHELINE) uint64_t error_count; /* all workers; only touched on errors */

	uint64_t started_mono_ns, ended_mono_ns;
	uint64_t started_realtime_usec, finished_realtime_usec;

	RunStats stats;
	Timeline *timeline; /* the figures over time, for the report (GetTimeline()) */
	RunStats presented; /* the presenter's: what it last showed; the engine never reads it */
	Histogram *merged;
	uint64_t errors_by_errno[RUN_ERRNO_SLOTS];
	FaultTotals fault_totals;
	bool *expect_pass; /* per scenario expectation, once ended */
	double *expect_actual;
	uint64_t mono_to_realtime_usec_offset;

	/* retained faults: ring of config.fault_ring records */
	RetainedFault *faults;
	size_t fault_cap, fault_head; /* fault_head = records ever retained */
	uint64_t fault_seq;

	char *backend_info; /* the backend's Describe() members, kept after teardown */

	/*
	 * The observers (observer.h), in observers[] order: what each is told
	 * of the run, its state (kept after the end for Describe()), and
	 * whether it applies to this run at all.
	 */
	ObserverRun observed;
	void *observer_state[OBSERVERS_MAX];
	bool observer_on[OBSERVERS_MAX];
	/* The coalesced Fault signal: the latest record, and how many arrived since the last
	 * signal. */
	RetainedFault signal_last;
	uint64_t signal_pending;
	uint64_t signal_last_usec; /* CLOCK_MONOTONIC µs of the last emission */

	sd_event_source *backend_sources[8]; /* BackendOps.event_fds */
	bool attached, traffic_on;
	sd_event_source *tick, *wake_source, *fault_source, *fault_rearm, *deadline, *fault_signal;
} Run;

/*
 * Sets the run up and starts its workers. The scenario is the run's from
 * then on, even on failure. On failure returns a negative errno and, unless
 * it is -ENOMEM, err says why; the run's hooks fire only after a successful
 * return, so the caller can list the run first.
 */
int run_start(const RunContext *c, Scenario *s, Run **ret, RunError *err);
void run_request_stop(Run *r, const char *why);
/* Fails an active run from outside (its device went away): reason is its FailureReason. */
void run_fail(Run *r, int error, const char *reason);
Run *run_free(Run *r);
bool run_is_active(const Run *r);
const char *run_state_to_string(RunState s);
/* The name errors_by_errno[slot] is counted under: "EBUSY", or "errnoN". */
const char *run_errno_slot_name(unsigned slot, char *buf, size_t n);

/* "its RID", "its RID and 15 PASIDs": what a run drives of its device, for messages. */
const char *run_attachments_summary(const Run *r, char *buf, size_t n);

/*
 * Did time t (CLOCK_MONOTONIC ns) fall in a replacement window of point ap
 * (+ SettleTime=)? And the domain the point was on at t (UINT32_MAX if
 * unknown or mid-replacement).
 */
bool run_point_lookup(Run *r, size_t ap, uint64_t t, uint32_t *ret_domain);

/* Moves queued fault records into the run's ring (main thread). */
void run_drain_faults(Run *r);

/* Merges worker counters into r->stats (main thread). */
void run_sample(Run *r);
int run_describe(Run *r, char **ret_json);
int run_describe_timeline(Run *r, char **ret_json);
void run_describe_summary(Run *r, JsonWriter *j); /* the short form used in lists */
