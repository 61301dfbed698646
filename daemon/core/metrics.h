/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prometheus metrics: counters that outlive the runs that feed them, so that
 * rate() works across runs, rendered in the Prometheus text format 0.0.4 or
 * OpenMetrics 1.0 from the manager's state on the main thread.
 *
 * A finished run is folded into the totals of its (scenario, backend,
 * device) series once, when it ends; an active run adds its current sample
 * at render time. A series is never removed, so every counter only grows.
 * Label sets are bounded: past METRICS_MAX_SERIES distinct combinations,
 * further runs count under scenario="_other".
 */

#include <errno.h>
#include <stdint.h>

#include "core/fault.h"
#include "core/run.h"

#define METRICS_MAX_SERIES 256
/* Replace-latency buckets: le = 2^8 … 2^30 ns (256 ns … 1.07 s), then +Inf. */
#define METRICS_LATENCY_FIRST_LOG2 8
#define METRICS_LATENCY_BUCKETS	   23

typedef enum MetricsFormat {
	METRICS_PROMETHEUS, /* text/plain; version=0.0.4 */
	METRICS_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
	_METRICS_FORMAT_MAX,
	_METRICS_FORMAT_INVALID = -EINVAL, /* and a signed enum, so that < 0 means something */
} MetricsFormat;

typedef enum MetricsPointKind {
	METRICS_POINT_RID,
	METRICS_POINT_PASID,
	_METRICS_POINT_KIND_MAX,
} MetricsPointKind;

typedef enum MetricsPhase {
	METRICS_PHASE_DURING, /* in a replacement window (+ SettleTime=) */
	METRICS_PHASE_REST,
	_METRICS_PHASE_MAX,
} MetricsPhase;

typedef enum MetricsVerdict {
	METRICS_VERDICT_PASS,
	METRICS_VERDICT_FAIL,
	METRICS_VERDICT_NONE,  /* no expectations */
	METRICS_VERDICT_ERROR, /* the run failed */
	_METRICS_VERDICT_MAX,
} MetricsVerdict;

/* What one run, or all runs of a series, amount to. */
typedef struct MetricsCounts {
	uint64_t replacements[_METRICS_POINT_KIND_MAX];
	/* Per bucket, not cumulative; [METRICS_LATENCY_BUCKETS] is above the last edge. */
	uint64_t latency[_METRICS_POINT_KIND_MAX][METRICS_LATENCY_BUCKETS + 1];
	uint64_t latency_sum_ns[_METRICS_POINT_KIND_MAX];
	uint64_t replace_errors[RUN_ERRNO_SLOTS];
	uint64_t faults[_FAULT_SOURCE_MAX][_METRICS_PHASE_MAX];
	uint64_t dma_transfers, dma_errors;
	uint64_t runs_started;
	uint64_t runs_finished[_METRICS_VERDICT_MAX];
} MetricsCounts;

/*
 * What the host's kernel log lost since the daemon started, daemon-wide:
 * the kernel's rate limit and ring name no device, so these are not per run.
 */
typedef struct MetricsHost {
	bool kmsg;		  /* the kernel log is followed at all */
	uint64_t kmsg_suppressed; /* fault lines the IOMMU drivers' rate limits suppressed */
	uint64_t kmsg_lost;	  /* records overwritten before they were read, IOMMU overflows */
} MetricsHost;

typedef struct MetricsSeries {
	char *scenario, *backend, *device;
	MetricsCounts counts;
} MetricsSeries;

typedef struct Metrics {
	MetricsSeries *series;
	size_t n_series, cap;
	bool overflow_logged;
} Metrics;

void metrics_done(Metrics *m);

/* A run was listed: it counts as started (its figures join at render time). */
int metrics_run_started(Metrics *m, const Run *r);
/* A run ended: its final figures join its series' totals, once. */
int metrics_run_ended(Metrics *m, const Run *r);

/* The run's current figures (active or not) as counts; runs_started/_finished untouched. */
void metrics_run_counts(const Run *r, MetricsCounts *ret);

/*
 * The exposition text of everything: the totals, the active runs among
 * runs (a list through Run.next), and run_info for every listed run.
 */
int metrics_render(const Metrics *m, const Run *runs, const MetricsHost *host, MetricsFormat format,
		   char **ret_text);

const char *metrics_format_to_string(MetricsFormat f);  /* "prometheus", "openmetrics" */
MetricsFormat metrics_format_from_string(const char *s); /* "" is prometheus; <0 unknown */
const char *metrics_format_content_type(MetricsFormat f);
