/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The run engine on its own: the model backend (wrapped where a test needs
 * a failure or a fault of its own), a private sd-event loop, and the
 * engine's reports caught by a RunEvents of the test's. No bus anywhere.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check-run.h"
#include "parse-util.h"
#include "core/metrics.h"
#include "core/run.h"
#include "core/timeline.h"

/* What the engine reported. */
typedef struct Seen {
	unsigned state_changes, samples, fault_reports, ended;
	uint64_t merged;	      /* sum over fault reports */
	RunState last_state;
	bool ended_before_listed; /* a hook fired before run_start() returned */
	bool listed;
} Seen;

static void on_state(Run *r)
{
	Seen *s = r->userdata;

	s->state_changes++;
	s->last_state = r->state;
	if (!s->listed)
		s->ended_before_listed = true;
}

static void on_sampled(Run *r)
{
	Seen *s = r->userdata;

	s->samples++;
}

static void on_fault(Run *r, const RetainedFault *f, uint64_t merged)
{
	Seen *s = r->userdata;

	s->fault_reports++;
	s->merged += merged;
}

static void on_ended(Run *r)
{
	Seen *s = r->userdata;

	s->ended++;
	if (!s->listed)
		s->ended_before_listed = true;
}

static const RunEvents events = {
	.state_changed = on_state,
	.sampled = on_sampled,
	.fault = on_fault,
	.ended = on_ended,
};

static Scenario *parse(const char *text)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;
	int r = scenario_parse(text, "test-run.conf", NULL, &s, &error);

	ck_assert_msg(r == 0, "scenario: %s", error ?: "?");
	return s;
}

typedef struct Harness {
	sd_event *event;
	Seen seen;
	Run *run;
	RunError err;
} Harness;

static int start(Harness *h, const char *text, const BackendOps *backend)
{
	RunContext c = {
		.env = &host_env_nowhere,
		.id = 7,
		.path = "/test/run/7",
		.fault_ring = 64,
		.events = &events,
		.userdata = &h->seen,
		.backend = backend,
	};
	int r;

	*h = (Harness){};
	ck_assert_int_ge(sd_event_new(&h->event), 0);
	c.event = h->event;
	r = run_start(&c, parse(text), &h->run, &h->err);
	h->seen.listed = true;
	return r;
}

/* Runs the loop until the run has ended, at most timeout_ms. */
static void loop_until_ended(Harness *h, unsigned timeout_ms)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	while (h->seen.ended == 0) {
		ck_assert_msg(now_ns(CLOCK_MONOTONIC) < deadline, "run did not end within %u ms",
			      timeout_ms);
		ck_assert_int_ge(sd_event_run(h->event, 50 * USEC_PER_MSEC), 0);
	}
}

static void done(Harness *h)
{
	run_free(h->run);
	sd_event_unref(h->event);
}

#define MODEL_SCENARIO(extra)                 \
	"[Scenario]\nBackend=model\n"         \
	"[Traffic]\nEnable=no\n" extra

START_TEST(test_count_stop)
{
	Harness h;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=5000\n"), NULL), 0);
	ck_assert_str_eq(h.run->path, "/test/run/7");
	loop_until_ended(&h, 20000);
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_uint_eq(h.run->stats.replacements, 5000);
	ck_assert_uint_eq(h.run->stats.replace_errors, 0);
	ck_assert_uint_eq(h.seen.ended, 1);
	ck_assert_int_eq(h.seen.last_state, RUN_FINISHED);
	ck_assert(!h.seen.ended_before_listed);
	ck_assert_str_eq(h.run->verdict, "none");
	done(&h);
}
END_TEST

/* Fewer replacements than workers: some have nothing to do, and none may report early. */
START_TEST(test_count_below_workers)
{
	Harness h;

	ck_assert_int_eq(start(&h,
			       MODEL_SCENARIO("[Attach]\nPoints=RID 1 2 3\nWorkers=4\n"
					      "[Replace]\nCount=2\n"),
			       NULL),
			 0);
	ck_assert_uint_eq(h.seen.ended, 0);
	loop_until_ended(&h, 20000);
	ck_assert_uint_eq(h.run->stats.replacements, 2);
	ck_assert(!h.seen.ended_before_listed);
	done(&h);
}
END_TEST

START_TEST(test_duration_stop)
{
	Harness h;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), dt;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=\nDuration=300ms\n"), NULL), 0);
	loop_until_ended(&h, 20000);
	dt = now_ns(CLOCK_MONOTONIC) - t0;
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_msg(dt >= 300 * NSEC_PER_MSEC, "ended after %" PRIu64 " ns", dt);
	ck_assert_uint_gt(h.run->stats.replacements, 0);
	/* The tick (250 ms) sampled at least once on the way. */
	ck_assert_uint_ge(h.seen.samples, 1);
	done(&h);
}
END_TEST

/*
 * Paced: the first replacement comes one interval after the start, and the
 * wait that the end of Duration= cuts short ends the run without one more:
 * Rate=2 for 1750 ms is the replacements of 0.5, 1 and 1.5 s (250 ms either
 * side, for a loaded machine), and Rate=1 for 300 ms is none.
 */
START_TEST(test_paced_end)
{
	Harness h;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=\nRate=2\nDuration=1750ms\n"), NULL), 0);
	loop_until_ended(&h, 20000);
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_uint_eq(h.run->stats.replacements, 3);
	done(&h);

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=\nRate=1\nDuration=300ms\n"), NULL), 0);
	loop_until_ended(&h, 20000);
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_uint_eq(h.run->stats.replacements, 0);
	done(&h);
}
END_TEST

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_request_stop(userdata, "test");
	return 0;
}

START_TEST(test_stop_request)
{
	Harness h;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=\nDuration=60s\n"), NULL), 0);
	ck_assert_int_ge(sd_event_add_time_relative(h.event, NULL, CLOCK_MONOTONIC,
						    100 * USEC_PER_MSEC, 0, on_stop_timer, h.run),
			 0);
	loop_until_ended(&h, 10000);
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_str_eq(h.run->reason, "");
	/* stopping, then finished */
	ck_assert_uint_ge(h.seen.state_changes, 2);
	ck_assert_uint_lt(h.run->stats.elapsed_usec, 10 * USEC_PER_SEC);
	done(&h);
}
END_TEST

START_TEST(test_fail_from_outside)
{
	Harness h;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=\nDuration=60s\n"), NULL), 0);
	run_fail(h.run, -ENODEV, "device removed (test)");
	loop_until_ended(&h, 10000);
	ck_assert_int_eq(h.run->state, RUN_FAILED);
	ck_assert_str_eq(h.run->reason, "device removed (test)");
	ck_assert_str_eq(h.run->verdict, "error");
	done(&h);
}
END_TEST

/*
 * The model, with what a test needs on top: replace() failing from the Nth
 * call on, setup() failing, and a fault producer of its own.
 */
static struct {
	unsigned fail_replace_after; /* 0: never */
	int fail_setup;		     /* a negative errno, or 0 */
	bool faults;		     /* push one fault in a window, one at rest */
	unsigned replaces;
	FaultQueue *queue;
	AttachPointState *aps;
	uint64_t settle_ns;
	uint64_t pushed_during, pushed_rest;
	unsigned outside_window; /* replace() calls that found no open window */
} wrap;

static int wrap_setup(const BackendSetup *setup, void **ret_ctx, char **error)
{
	if (wrap.fail_setup)
		return backend_errorf(error, wrap.fail_setup, "the test's backend refuses");
	wrap.aps = setup->aps;
	wrap.settle_ns = setup->scenario->settle_ns;
	if (wrap.faults)
		ck_assert_int_eq(fault_sink_add_queue(setup->sink, "test", &wrap.queue), 0);
	return backend_model.setup(setup, ret_ctx, error);
}

static void push(uint64_t t, bool during)
{
	FaultRecord f = {
		.time_ns = t,
		.address = 0x1000,
		.ap = 0,
		.source = FAULT_SOURCE_DMA_VERIFY,
		.during_replace = during,
	};

	fault_queue_push(wrap.queue, &f);
	if (during)
		wrap.pushed_during++;
	else
		wrap.pushed_rest++;
}

static int wrap_replace(void *ctx, unsigned ap, unsigned domain)
{
	unsigned n = __atomic_add_fetch(&wrap.replaces, 1, __ATOMIC_RELAXED);

	if (wrap.fail_replace_after && n >= wrap.fail_replace_after)
		return -EIO;
	/* A producer inside replace() is in the window: the engine opened it. */
	if (wrap.faults && n % 100 == 0) {
		uint64_t t = now_ns(CLOCK_MONOTONIC);

		/* Checked on the test's thread: Check's asserts belong there. */
		if (!attach_point_in_window(&wrap.aps[ap], t, wrap.settle_ns))
			wrap.outside_window++;
		push(t, true);
	}
	return backend_model.replace(ctx, ap, domain);
}

static BackendOps wrapped_model(void)
{
	BackendOps o = backend_model;

	o.setup = wrap_setup;
	o.replace = wrap_replace;
	return o;
}

START_TEST(test_failing_backend)
{
	BackendOps ops = wrapped_model();
	Harness h;

	memset(&wrap, 0, sizeof(wrap));
	wrap.fail_replace_after = 500;
	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=100000\nMaxErrors=10\n"), &ops),
			 0);
	loop_until_ended(&h, 20000);
	ck_assert_int_eq(h.run->state, RUN_FAILED);
	ck_assert_uint_eq(h.run->stats.replacements, 499);
	ck_assert_uint_eq(h.run->stats.replace_errors, 11);
	ck_assert_uint_eq(h.run->errors_by_errno[EIO], 11);
	ck_assert_msg(strstr(h.run->reason, "Input/output error"), "reason: %s", h.run->reason);
	done(&h);
}
END_TEST

START_TEST(test_setup_failure)
{
	BackendOps ops = wrapped_model();
	Harness h;

	memset(&wrap, 0, sizeof(wrap));
	wrap.fail_setup = -EBUSY;
	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=10\n"), &ops), -EBUSY);
	ck_assert_ptr_null(h.run);
	ck_assert_int_eq(h.err.kind, RUN_ERROR_SETUP_FAILED);
	ck_assert_msg(strstr(h.err.message, "the test's backend refuses"), "message: %s",
		      h.err.message);
	/* Nothing was reported for a run that never started. */
	ck_assert_uint_eq(h.seen.state_changes + h.seen.ended + h.seen.samples, 0);
	sd_event_unref(h.event);
}
END_TEST

START_TEST(test_backend_unavailable)
{
	Harness h;

	/* The mock needs /dev/iommu, which this environment points nowhere. */
	ck_assert_int_lt(start(&h, "[Scenario]\nBackend=mock\n[Replace]\nCount=10\n", NULL), 0);
	ck_assert_ptr_null(h.run);
	ck_assert_int_eq(h.err.kind, RUN_ERROR_BACKEND_UNAVAILABLE);
	ck_assert_msg(strstr(h.err.message, "not available on this host"), "message: %s",
		      h.err.message);
	sd_event_unref(h.event);
}
END_TEST

static void *rest_producer(void *userdata)
{
	/* At rest: wait for a moment outside every window (+ settle time), then report. */
	for (unsigned sent = 0; sent < 5;) {
		uint64_t t = now_ns(CLOCK_MONOTONIC);

		if (!attach_point_in_window(&wrap.aps[0], t, wrap.settle_ns)) {
			push(t, false);
			sent++;
		}
		usleep(20000);
	}
	return NULL;
}

START_TEST(test_fault_attribution)
{
	BackendOps ops = wrapped_model();
	pthread_t producer;
	Harness h;

	memset(&wrap, 0, sizeof(wrap));
	wrap.faults = true;
	/* Paced, so that most of the time is rest and the rest producer finds it. */
	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nRate=2000\nCount=1000\n"), &ops), 0);
	ck_assert_int_eq(pthread_create(&producer, NULL, rest_producer, NULL), 0);
	loop_until_ended(&h, 30000);
	pthread_join(producer, NULL);
	ck_assert_int_eq(h.run->state, RUN_FINISHED);
	ck_assert_uint_eq(wrap.outside_window, 0);
	ck_assert_uint_eq(wrap.pushed_during, 10);
	ck_assert_uint_eq(wrap.pushed_rest, 5);
	ck_assert_uint_eq(h.run->stats.faults_during, 10);
	ck_assert_uint_eq(h.run->stats.faults_at_rest, 5);
	ck_assert_uint_eq(h.run->stats.faults, 15);
	ck_assert_uint_eq(h.run->points[0].faults, 15);
	ck_assert_uint_eq(h.run->points[0].faults_during, 10);
	ck_assert_uint_eq(h.run->points[0].faults_by_source[FAULT_SOURCE_DMA_VERIFY], 15);
	/* Coalesced reports stand for every record, and the ring kept them all. */
	ck_assert_uint_eq(h.seen.merged, 15);
	ck_assert_uint_ge(h.seen.fault_reports, 1);
	ck_assert_uint_eq(h.run->fault_head, 15);
	done(&h);
}
END_TEST


/* ---- metrics: counters that outlive their runs ---- */

static char *render(const Metrics *m, const Run *runs, MetricsFormat f)
{
	char *text = NULL;

	ck_assert_int_eq(metrics_render(m, runs, NULL, f, &text), 0);
	return text;
}

static void assert_line(const char *text, const char *line)
{
	_cleanup_free_ char *want = NULL;

	ck_assert(asprintf(&want, "\n%s\n", line) > 0);
	ck_assert_msg(strstr(text, want), "no line \"%s\" in:\n%s", line, text);
}

START_TEST(test_metrics_across_runs)
{
	_cleanup_(metrics_done) Metrics m = {};
	_cleanup_free_ char *text = NULL, *after = NULL;
	Harness a, b;

	ck_assert_int_eq(start(&a, MODEL_SCENARIO("[Scenario]\nName=m\n[Replace]\nCount=3000\n"
						  "[Expect]\nReplacements=3000\n"),
			       NULL),
			 0);
	ck_assert_int_eq(metrics_run_started(&m, a.run), 0);
	loop_until_ended(&a, 20000);
	ck_assert_int_eq(metrics_run_ended(&m, a.run), 0);
	ck_assert_int_eq(start(&b, MODEL_SCENARIO("[Scenario]\nName=m\n[Replace]\nCount=2000\n"), NULL),
			 0);
	ck_assert_int_eq(metrics_run_started(&m, b.run), 0);
	loop_until_ended(&b, 20000);
	ck_assert_int_eq(metrics_run_ended(&m, b.run), 0);
	ck_assert_uint_eq(m.n_series, 1);

	a.run->next = b.run;
	text = render(&m, a.run, METRICS_PROMETHEUS);
	assert_line(text, "iommutest_replacements_total{scenario=\"m\",backend=\"model\","
			  "device=\"model0\",point=\"rid\"} 5000");
	assert_line(text, "iommutest_runs_started_total{scenario=\"m\",backend=\"model\","
			  "device=\"model0\"} 2");
	assert_line(text, "iommutest_runs_finished_total{scenario=\"m\",backend=\"model\","
			  "device=\"model0\",verdict=\"pass\"} 1");
	assert_line(text, "iommutest_runs_finished_total{scenario=\"m\",backend=\"model\","
			  "device=\"model0\",verdict=\"none\"} 1");
	assert_line(text, "iommutest_replace_latency_seconds_count{scenario=\"m\",backend=\"model\","
			  "device=\"model0\",point=\"rid\"} 5000");
	assert_line(text, "iommutest_active_runs 0");
	ck_assert(strstr(text, "iommutest_run_info{run=\"7\",scenario=\"m\""));
	ck_assert(!strstr(text, "# EOF"));

	/* The runs are forgotten (KeepRuns=): their counts stay, their run_info goes. */
	a.run->next = NULL;
	done(&a);
	done(&b);
	after = render(&m, NULL, METRICS_PROMETHEUS);
	assert_line(after, "iommutest_replacements_total{scenario=\"m\",backend=\"model\","
			   "device=\"model0\",point=\"rid\"} 5000");
	ck_assert(!strstr(after, "iommutest_run_info{"));
}
END_TEST

/* Bucket edges are powers of two ns; a value on an edge counts one bucket up. */
START_TEST(test_metrics_latency_buckets)
{
	MetricsCounts c;
	Harness h;
	Histogram *hist;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=10\n"), NULL), 0);
	loop_until_ended(&h, 20000);
	hist = h.run->points[0].hist;
	hist_init(hist);
	hist_record(hist, 100);		      /* ≤ 256 ns */
	hist_record(hist, 255);		      /* ≤ 256 ns */
	hist_record(hist, 256);		      /* its log bucket reaches 257: ≤ 512 ns */
	hist_record(hist, 300);		      /* ≤ 512 ns */
	hist_record(hist, 1000000);	      /* ≤ 2^20 ns */
	hist_record(hist, UINT64_C(1) << 31); /* above the last edge (2^30 ns) */
	metrics_run_counts(h.run, &c);
	ck_assert_uint_eq(c.latency[METRICS_POINT_RID][0], 2);
	ck_assert_uint_eq(c.latency[METRICS_POINT_RID][1], 2);
	ck_assert_uint_eq(c.latency[METRICS_POINT_RID][20 - METRICS_LATENCY_FIRST_LOG2], 1);
	ck_assert_uint_eq(c.latency[METRICS_POINT_RID][METRICS_LATENCY_BUCKETS], 1);
	ck_assert_uint_eq(c.latency_sum_ns[METRICS_POINT_RID],
			  100 + 255 + 256 + 300 + 1000000 + (UINT64_C(1) << 31));
	ck_assert_uint_eq(c.replacements[METRICS_POINT_RID], 10);
	ck_assert_uint_eq(c.replacements[METRICS_POINT_PASID], 0);
	done(&h);
}
END_TEST

START_TEST(test_metrics_formats_and_labels)
{
	_cleanup_(metrics_done) Metrics m = {};
	_cleanup_free_ char *om = NULL, *prom = NULL;
	Harness h;

	/* A name with the characters label values escape. */
	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Scenario]\nName=a\"b\\c\n[Replace]\nCount=100\n"),
			       NULL),
			 0);
	ck_assert_int_eq(metrics_run_started(&m, h.run), 0);
	loop_until_ended(&h, 20000);
	ck_assert_int_eq(metrics_run_ended(&m, h.run), 0);

	prom = render(&m, h.run, METRICS_PROMETHEUS);
	ck_assert(strstr(prom, "scenario=\"a\\\"b\\\\c\""));
	ck_assert(strstr(prom, "# TYPE iommutest_replacements_total counter\n"));
	ck_assert(strstr(prom, "# TYPE iommutest_replace_latency_seconds histogram\n"));
	ck_assert(!strstr(prom, "# UNIT"));

	om = render(&m, h.run, METRICS_OPENMETRICS);
	ck_assert(strstr(om, "# TYPE iommutest_replacements counter\n"));
	ck_assert(strstr(om, "\niommutest_replacements_total{"));
	ck_assert(strstr(om, "# UNIT iommutest_replace_latency_seconds seconds\n"));
	ck_assert(strstr(om, "le=\"2.560000000e-07\""));
	ck_assert(strstr(om, "le=\"+Inf\""));
	ck_assert_str_eq(om + strlen(om) - 6, "# EOF\n");
	/* _info families are OpenMetrics' info type there, gauges in 0.0.4. */
	ck_assert(strstr(om, "# TYPE iommutest_build info\n"));
	ck_assert(strstr(om, "\niommutest_build_info{version="));
	ck_assert(strstr(prom, "# TYPE iommutest_build_info gauge\n"));

	ck_assert_int_eq(metrics_format_from_string(""), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_format_from_string("openmetrics"), METRICS_OPENMETRICS);
	ck_assert_int_lt(metrics_format_from_string("xml"), 0);
	ck_assert_int_eq(metrics_render(&m, NULL, NULL, (MetricsFormat)7, &(char *){NULL}), -EINVAL);
	done(&h);
}
END_TEST

/* Label sets are bounded: past METRICS_MAX_SERIES, runs count as scenario "_other". */
START_TEST(test_metrics_series_bound)
{
	_cleanup_(metrics_done) Metrics m = {};
	Harness h;
	char *name;

	ck_assert_int_eq(start(&h, MODEL_SCENARIO("[Replace]\nCount=10\n"), NULL), 0);
	loop_until_ended(&h, 20000);
	name = h.run->scenario->name;
	for (unsigned i = 0; i < METRICS_MAX_SERIES + 5; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "s%u", i);
		h.run->scenario->name = buf;
		ck_assert_int_eq(metrics_run_started(&m, h.run), 0);
		ck_assert_int_eq(metrics_run_ended(&m, h.run), 0);
	}
	h.run->scenario->name = name;
	ck_assert_uint_eq(m.n_series, METRICS_MAX_SERIES + 1);
	ck_assert_str_eq(m.series[METRICS_MAX_SERIES].scenario, "_other");
	ck_assert_uint_eq(m.series[METRICS_MAX_SERIES].counts.runs_started, 5);
	done(&h);
}
END_TEST

/* The timeline: growth per bucket, and coarsening keeps the sum and the bound. */
START_TEST(test_timeline)
{
	Timeline *t = malloc(sizeof(Timeline));
	TimelineCounts c = {};
	uint64_t sum = 0;

	ck_assert_ptr_nonnull(t);
	timeline_init(t);
	for (uint64_t s = 0; s < 3 * TIMELINE_MAX_BUCKETS; s++) {
		c.replacements += s;
		c.faults[FAULT_SOURCE_MODEL] += 1;
		timeline_add(t, s * USEC_PER_SEC + 500000, &c);
		sum += s;
	}
	ck_assert_uint_le(t->n, TIMELINE_MAX_BUCKETS);
	ck_assert_uint_eq(t->width_usec, 4 * TIMELINE_FIRST_WIDTH_USEC);
	for (size_t i = 0; i < t->n; i++) {
		sum -= t->buckets[i].replacements;
		ck_assert_uint_eq(t->buckets[i].faults[FAULT_SOURCE_MODEL], i + 1 < t->n ? 4 : 4);
	}
	ck_assert_uint_eq(sum, 0);
	/* The first bucket of 4 s holds seconds 0..3: 0+1+2+3. */
	ck_assert_uint_eq(t->buckets[0].replacements, 6);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_count_stop);
	tcase_add_test(tc, test_count_below_workers);
	tcase_add_test(tc, test_duration_stop);
	tcase_add_test(tc, test_paced_end);
	tcase_add_test(tc, test_stop_request);
	tcase_add_test(tc, test_fail_from_outside);
	tcase_add_test(tc, test_failing_backend);
	tcase_add_test(tc, test_setup_failure);
	tcase_add_test(tc, test_backend_unavailable);
	tcase_add_test(tc, test_fault_attribution);
	suite_add_tcase(s, tc);
	tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_metrics_across_runs);
	tcase_add_test(tc, test_metrics_latency_buckets);
	tcase_add_test(tc, test_metrics_formats_and_labels);
	tcase_add_test(tc, test_metrics_series_bound);
	tcase_add_test(tc, test_timeline);
	suite_add_tcase(s, tc);
	return check_run(s);
}
