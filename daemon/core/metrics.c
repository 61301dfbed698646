/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/metrics.h"
#include "core/scenario.h"
#include "log.h"
#include "macro.h"

static const char *const format_names[_METRICS_FORMAT_MAX] = {
	[METRICS_PROMETHEUS] = "prometheus",
	[METRICS_OPENMETRICS] = "openmetrics",
};

static const char *const point_kind_names[_METRICS_POINT_KIND_MAX] = {
	[METRICS_POINT_RID] = "rid",
	[METRICS_POINT_PASID] = "pasid",
};

static const char *const phase_names[_METRICS_PHASE_MAX] = {
	[METRICS_PHASE_DURING] = "during_replace",
	[METRICS_PHASE_REST] = "at_rest",
};

static const char *const verdict_names[_METRICS_VERDICT_MAX] = {
	[METRICS_VERDICT_PASS] = "pass",
	[METRICS_VERDICT_FAIL] = "fail",
	[METRICS_VERDICT_NONE] = "none",
	[METRICS_VERDICT_ERROR] = "error",
};

const char *metrics_format_to_string(MetricsFormat f)
{
	return f >= 0 && f < _METRICS_FORMAT_MAX ? format_names[f] : NULL;
}

MetricsFormat metrics_format_from_string(const char *s)
{
	if (isempty(s))
		return METRICS_PROMETHEUS;
	for (MetricsFormat f = 0; f < _METRICS_FORMAT_MAX; f++)
		if (streq(s, format_names[f]))
			return f;
	return -EINVAL;
}

const char *metrics_format_content_type(MetricsFormat f)
{
	return f == METRICS_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
					: "text/plain; version=0.0.4; charset=utf-8";
}

static MetricsVerdict verdict_of(const Run *r)
{
	if (r->state == RUN_FAILED)
		return METRICS_VERDICT_ERROR;
	for (MetricsVerdict v = 0; v < METRICS_VERDICT_ERROR; v++)
		if (streq_ptr(r->verdict, verdict_names[v]))
			return v;
	return METRICS_VERDICT_ERROR;
}

/*
 * Adds a log-bucketed histogram to Prometheus buckets. The edges are powers
 * of two nanoseconds, which are also edges of the log buckets, so nothing
 * is interpolated: a log bucket goes to the first edge at or above its
 * largest value (a latency exactly on an edge counts one bucket up, never
 * faster than it was).
 */
static void add_latency(uint64_t *prom, const Histogram *h)
{
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		uint64_t n = counter_get(h->buckets[b]), lo, hi;
		unsigned k;

		if (!n)
			continue;
		hist_bucket_range(b, &lo, &hi);
		for (k = 0; k < METRICS_LATENCY_BUCKETS; k++)
			if (hi - 1 <= UINT64_C(1) << (METRICS_LATENCY_FIRST_LOG2 + k))
				break;
		prom[k] += n;
	}
}

void metrics_run_counts(const Run *r, MetricsCounts *c)
{
	*c = (MetricsCounts){};

	for (size_t i = 0; i < r->n_points; i++) {
		const RunPoint *pt = &r->points[i];
		MetricsPointKind kind = pt->state->pasid == ATTACH_POINT_RID ? METRICS_POINT_RID
									     : METRICS_POINT_PASID;

		c->replacements[kind] += counter_get(pt->replacements);
		if (pt->hist) {
			add_latency(c->latency[kind], pt->hist);
			c->latency_sum_ns[kind] += counter_get(pt->hist->sum);
		}
	}
	memcpy(c->replace_errors, r->errors_by_errno, sizeof(c->replace_errors));
	for (unsigned s = 0; s < _FAULT_SOURCE_MAX; s++) {
		uint64_t during = r->fault_totals.during_replace[s];

		c->faults[s][METRICS_PHASE_DURING] = during;
		c->faults[s][METRICS_PHASE_REST] = r->fault_totals.total[s] - during;
	}
	c->dma_transfers = r->stats.dma_transfers;
	c->dma_errors = r->stats.dma_errors;
}

static void counts_add(MetricsCounts *dst, const MetricsCounts *src)
{
	/* Every member is a uint64_t (static-asserted below): add them as an array. */
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;

	for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}
_Static_assert(sizeof(MetricsCounts) % sizeof(uint64_t) == 0, "MetricsCounts is all uint64_t");

static MetricsSeries *series_find(const Metrics *m, const char *scenario, const char *backend,
				  const char *device)
{
	for (size_t i = 0; i < m->n_series; i++) {
		MetricsSeries *s = &m->series[i];

		if (streq(s->scenario, scenario) && streq(s->backend, backend) &&
		    streq(s->device, device))
			return s;
	}
	return NULL;
}

static int series_get(Metrics *m, const Run *r, MetricsSeries **ret)
{
	const char *scenario = strempty(r->scenario->name), *backend = strempty(r->scenario->backend),
		   *device = strempty(r->scenario->device);
	MetricsSeries *s;

	s = series_find(m, scenario, backend, device);
	if (!s && m->n_series >= METRICS_MAX_SERIES) {
		if (!m->overflow_logged)
			log_warning("More than %u scenario/backend/device combinations; "
				    "further runs count in metrics as scenario \"_other\".",
				    METRICS_MAX_SERIES);
		m->overflow_logged = true;
		scenario = "_other";
		s = series_find(m, scenario, backend, device);
	}
	if (!s) {
		if (m->n_series == m->cap) {
			size_t cap = MAX((size_t)16, m->cap * 2);
			MetricsSeries *n = reallocarray(m->series, cap, sizeof(*n));

			if (!n)
				return -ENOMEM;
			m->series = n;
			m->cap = cap;
		}
		s = &m->series[m->n_series];
		*s = (MetricsSeries){
			.scenario = strdup(scenario),
			.backend = strdup(backend),
			.device = strdup(device),
		};
		if (!s->scenario || !s->backend || !s->device) {
			free(s->scenario);
			free(s->backend);
			free(s->device);
			return -ENOMEM;
		}
		m->n_series++;
	}
	*ret = s;
	return 0;
}

int metrics_run_started(Metrics *m, const Run *r)
{
	MetricsSeries *s;
	int k;

	k = series_get(m, r, &s);
	if (k < 0)
		return k;
	s->counts.runs_started++;
	return 0;
}

int metrics_run_ended(Metrics *m, const Run *r)
{
	MetricsCounts c;
	MetricsSeries *s;
	int k;

	k = series_get(m, r, &s);
	if (k < 0)
		return k;
	metrics_run_counts(r, &c);
	c.runs_finished[verdict_of(r)] = 1;
	counts_add(&s->counts, &c);
	return 0;
}

void metrics_done(Metrics *m)
{
	for (size_t i = 0; i < m->n_series; i++) {
		free(m->series[i].scenario);
		free(m->series[i].backend);
		free(m->series[i].device);
	}
	free(m->series);
	*m = (Metrics){};
}

/* ---- rendering ---- */

typedef struct Out {
	FILE *f;
	MetricsFormat format;
} Out;

/* Label values: backslash, double quote and newline escaped, as both formats want. */
static void put_value(FILE *f, const char *v)
{
	for (; *v; v++)
		switch (*v) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*v, f);
		}
}

/*
 * A family's header. OpenMetrics names a counter family without its _total
 * suffix and a family with a unit after it; 0.0.4 names it as its samples.
 */
static void family(Out *o, const char *name, const char *type, const char *unit, const char *help)
{
	size_t n = strlen(name);

	if (o->format == METRICS_OPENMETRICS && streq(type, "counter") && n > 6 &&
	    streq(name + n - 6, "_total"))
		n -= 6;
	/* OpenMetrics reserves _info for its info type (family "x", sample "x_info"); 0.0.4 has none. */
	if (streq(type, "info")) {
		if (o->format == METRICS_OPENMETRICS && n > 5 && streq(name + n - 5, "_info"))
			n -= 5;
		else
			type = "gauge";
	}
	fprintf(o->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
	if (o->format == METRICS_OPENMETRICS && unit)
		fprintf(o->f, "# UNIT %.*s %s\n", (int)n, name, unit);
}

/* name{k="v",…} — pairs is NULL-terminated key, value, key, value. */
static void sample_start(Out *o, const char *name, const char *const *pairs)
{
	fputs(name, o->f);
	if (!pairs || !pairs[0])
		return;
	fputc('{', o->f);
	for (size_t i = 0; pairs[i]; i += 2) {
		fprintf(o->f, "%s%s=\"", i ? "," : "", pairs[i]);
		put_value(o->f, pairs[i + 1]);
		fputc('"', o->f);
	}
	fputc('}', o->f);
}

static void sample_u64(Out *o, const char *name, const char *const *pairs, uint64_t v)
{
	sample_start(o, name, pairs);
	fprintf(o->f, " %" PRIu64 "\n", v);
}

static void sample_double(Out *o, const char *name, const char *const *pairs, double v)
{
	sample_start(o, name, pairs);
	fprintf(o->f, " %.15g\n", v);
}

/* The series' three labels, then more pairs and NULL. */
#define LABELS(s, ...)                                                                  \
	((const char *const[]){"scenario", (s)->scenario, "backend", (s)->backend, "device", \
			       (s)->device, __VA_ARGS__})

static void render_counters(Out *o, const MetricsSeries *all, size_t n)
{
	char name[24];

	family(o, "iommutest_runs_started_total", "counter", NULL, "Runs started.");
	for (size_t i = 0; i < n; i++)
		sample_u64(o, "iommutest_runs_started_total", LABELS(&all[i], NULL),
			   all[i].counts.runs_started);

	family(o, "iommutest_runs_finished_total", "counter", NULL,
	       "Runs ended, by verdict (error: the run failed).");
	for (size_t i = 0; i < n; i++)
		for (unsigned v = 0; v < _METRICS_VERDICT_MAX; v++)
			sample_u64(o, "iommutest_runs_finished_total",
				   LABELS(&all[i], "verdict", verdict_names[v], NULL),
				   all[i].counts.runs_finished[v]);

	family(o, "iommutest_replacements_total", "counter", NULL,
	       "Successful attachment replacements, by attachment point kind.");
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < _METRICS_POINT_KIND_MAX; k++)
			sample_u64(o, "iommutest_replacements_total",
				   LABELS(&all[i], "point", point_kind_names[k], NULL),
				   all[i].counts.replacements[k]);

	family(o, "iommutest_replace_errors_total", "counter", NULL,
	       "Replacements the kernel refused, by errno name.");
	for (size_t i = 0; i < n; i++)
		for (unsigned e = 0; e < RUN_ERRNO_SLOTS; e++)
			if (all[i].counts.replace_errors[e])
				sample_u64(o, "iommutest_replace_errors_total",
					   LABELS(&all[i], "errno",
						  run_errno_slot_name(e, name, sizeof(name)), NULL),
					   all[i].counts.replace_errors[e]);

	family(o, "iommutest_faults_total", "counter", NULL,
	       "Faults observed, by source and by phase (during a replacement window or at rest).");
	for (size_t i = 0; i < n; i++)
		for (unsigned s = 0; s < _FAULT_SOURCE_MAX; s++)
			for (unsigned p = 0; p < _METRICS_PHASE_MAX; p++)
				sample_u64(o, "iommutest_faults_total",
					   LABELS(&all[i], "source", fault_source_to_string(s),
						  "phase", phase_names[p], NULL),
					   all[i].counts.faults[s][p]);

	family(o, "iommutest_dma_transfers_total", "counter", NULL,
	       "DMA transfers completed and verified.");
	for (size_t i = 0; i < n; i++)
		sample_u64(o, "iommutest_dma_transfers_total", LABELS(&all[i], NULL),
			   all[i].counts.dma_transfers);
	family(o, "iommutest_dma_errors_total", "counter", NULL,
	       "DMA transfers that failed or returned wrong data.");
	for (size_t i = 0; i < n; i++)
		sample_u64(o, "iommutest_dma_errors_total", LABELS(&all[i], NULL), all[i].counts.dma_errors);

}

static void render_host(Out *o, const MetricsHost *host)
{
	family(o, "iommutest_kmsg_suppressed_lines_total", "counter", NULL,
	       "IOMMU fault lines the kernel's printk rate limit suppressed since the daemon started: "
	       "kmsg fault counts are a lower bound while this grows.");
	sample_u64(o, "iommutest_kmsg_suppressed_lines_total", NULL, host->kmsg_suppressed);
	family(o, "iommutest_fault_events_lost_total", "counter", NULL,
	       "Fault events known to be missed since the daemon started: kernel log records "
	       "overwritten before they were read, IOMMU event queue overflows (each counts once).");
	sample_u64(o, "iommutest_fault_events_lost_total", (const char *const[]){"source", "kmsg", NULL},
		   host->kmsg_lost);
	family(o, "iommutest_kmsg_available", "gauge", NULL,
	       "1 when the daemon follows the kernel log (/dev/kmsg), else 0.");
	sample_u64(o, "iommutest_kmsg_available", NULL, host->kmsg);
}

static void render_latency(Out *o, const MetricsSeries *all, size_t n)
{
	family(o, "iommutest_replace_latency_seconds", "histogram", "seconds",
	       "Time one replacement took, by attachment point kind.");
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < _METRICS_POINT_KIND_MAX; k++) {
			const MetricsCounts *c = &all[i].counts;
			uint64_t cum = 0;
			char le[32];

			for (unsigned b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
				cum += c->latency[k][b];
				if (b == METRICS_LATENCY_BUCKETS)
					strcpy(le, "+Inf");
				else
					/* OpenMetrics wants canonical floats; 0.0.4 takes them too. */
					snprintf(le, sizeof(le), "%.9e",
						 (double)(UINT64_C(1) << (METRICS_LATENCY_FIRST_LOG2 + b)) /
							 1e9);
				sample_u64(o, "iommutest_replace_latency_seconds_bucket",
					   LABELS(&all[i], "point", point_kind_names[k], "le", le, NULL), cum);
			}
			sample_u64(o, "iommutest_replace_latency_seconds_count",
				   LABELS(&all[i], "point", point_kind_names[k], NULL), cum);
			sample_double(o, "iommutest_replace_latency_seconds_sum",
				      LABELS(&all[i], "point", point_kind_names[k], NULL),
				      (double)c->latency_sum_ns[k] / 1e9);
		}
}

/* Does the scenario say Faults=0 (or <1, <=0)? Then any fault is a failure worth an alert. */
static bool expects_no_faults(const Scenario *sc)
{
	for (size_t i = 0; i < sc->n_expect; i++) {
		const Expectation *e = &sc->expect[i];

		if (e->metric == EXPECT_FAULTS && !expectation_holds(e, 1) && expectation_holds(e, 0))
			return true;
	}
	return false;
}

static void render_runs(Out *o, const Run *runs)
{
	unsigned active = 0;
	char id[16];

	for (const Run *r = runs; r; r = r->next)
		active += run_is_active(r);
	family(o, "iommutest_active_runs", "gauge", NULL, "Runs starting, running or stopping.");
	sample_u64(o, "iommutest_active_runs", NULL, active);

	family(o, "iommutest_run_replace_rate", "gauge", NULL,
	       "An active run's replacements per second since it started.");
	for (const Run *r = runs; r; r = r->next) {
		if (!run_is_active(r))
			continue;
		snprintf(id, sizeof(id), "%u", r->id);
		sample_double(o, "iommutest_run_replace_rate",
			      (const char *const[]){"run", id, "scenario", r->scenario->name, "backend",
						    r->scenario->backend, "device", r->scenario->device,
						    NULL},
			      r->stats.rate);
	}

	family(o, "iommutest_run_info", "info", NULL,
	       "Active and recently finished runs (KeepRuns=): always 1, the labels are the data. "
	       "expects_no_faults is true when the scenario says Faults=0.");
	for (const Run *r = runs; r; r = r->next) {
		snprintf(id, sizeof(id), "%u", r->id);
		sample_u64(o, "iommutest_run_info",
			   (const char *const[]){"run", id, "scenario", r->scenario->name, "backend",
						 r->scenario->backend, "device", r->scenario->device,
						 "state", run_state_to_string(r->state), "verdict",
						 strempty(r->verdict), "expects_no_faults",
						 expects_no_faults(r->scenario) ? "true" : "false",
						 NULL},
			   1);
	}

	family(o, "iommutest_run_faults", "gauge", NULL,
	       "Faults of an active or recently finished run so far (join with iommutest_run_info "
	       "on run).");
	for (const Run *r = runs; r; r = r->next) {
		snprintf(id, sizeof(id), "%u", r->id);
		sample_u64(o, "iommutest_run_faults", (const char *const[]){"run", id, NULL},
			   r->stats.faults);
	}

	family(o, "iommutest_build_info", "info", NULL, "The daemon's version: always 1.");
	sample_u64(o, "iommutest_build_info", (const char *const[]){"version", PACKAGE_VERSION, NULL},
		   1);
}

int metrics_render(const Metrics *m, const Run *runs, const MetricsHost *host, MetricsFormat format,
		   char **ret_text)
{
	_cleanup_free_ MetricsSeries *all = NULL;
	_cleanup_free_ char *text = NULL;
	size_t n = m->n_series, len = 0;
	Out o = {.format = format};
	Metrics live;

	if (format < 0 || format >= _METRICS_FORMAT_MAX)
		return -EINVAL;

	/*
	 * The totals plus every active run's current figures, in a copy: the
	 * totals take a run only when it ends. The copy shares the label strings.
	 */
	if (n) {
		all = malloc(n * sizeof(*all));
		if (!all)
			return -ENOMEM;
		memcpy(all, m->series, n * sizeof(*all));
	}
	live = (Metrics){.series = all, .n_series = n, .cap = n};
	for (const Run *r = runs; r; r = r->next) {
		MetricsSeries *s;
		MetricsCounts c;

		if (!run_is_active(r))
			continue;
		/* Started runs are in the totals' series already (metrics_run_started()). */
		s = series_find(&live, strempty(r->scenario->name), strempty(r->scenario->backend),
				strempty(r->scenario->device));
		if (!s)
			s = series_find(&live, "_other", strempty(r->scenario->backend),
					strempty(r->scenario->device));
		if (!s)
			continue;
		metrics_run_counts(r, &c);
		counts_add(&s->counts, &c);
	}

	o.f = open_memstream(&text, &len);
	if (!o.f)
		return -ENOMEM;
	render_counters(&o, all, n);
	render_host(&o, host ? host : &(MetricsHost){});
	render_latency(&o, all, n);
	render_runs(&o, runs);
	if (format == METRICS_OPENMETRICS)
		fputs("# EOF\n", o.f);
	if (fclose(o.f) != 0)
		return -ENOMEM;
	*ret_text = TAKE_PTR(text);
	return 0;
}
