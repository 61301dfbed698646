/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rendering the metrics with many runs listed: 64 finished runs of 64
 * attachment points each (the model backend, RID + 63 PASIDs, each run its
 * own scenario name so that every series is distinct), all kept as with
 * KeepRuns=64. Prints the median render time, the same for one run as the
 * baseline measured here, their ratio, and the ratio to the 20 ms target.
 *
 *   bench-metrics [RUNS [POINTS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/run.h"
#include "log.h"
#include "parse-util.h"

#define ROUNDS 101

static bool ended;
static void on_ended(Run *r)
{
	ended = true;
}
static const RunEvents events = {.ended = on_ended};

static Run *one_run(sd_event *e, unsigned id, unsigned points)
{
	_cleanup_free_ char *text = NULL, *pts = NULL, *err = NULL, *path = NULL;
	RunContext c = {.event = e, .env = &host_env_nowhere, .id = id, .fault_ring = 16, .events = &events};
	Scenario *s = NULL;
	RunError re;
	Run *r;

	pts = strdup("RID");
	for (unsigned i = 1; i < points && pts; i++) {
		char *n;

		if (asprintf(&n, "%s %u", pts, i) < 0)
			n = NULL;
		free(pts);
		pts = n;
	}
	if (!pts || asprintf(&text,
			     "[Scenario]\nName=bench-%u\nBackend=model\n[Attach]\nPoints=%s\nWorkers=1\n"
			     "[Domains]\nCount=2\n[Replace]\nCount=%u\n[Traffic]\nEnable=no\n"
			     "[Model]\nTransitions=ss-did\n[Expect]\nFaults=0\n",
			     id, pts, points * 20) < 0 ||
	    asprintf(&path, "/bench/run/%u", id) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (scenario_parse(text, "bench", NULL, &s, &err) < 0) {
		fprintf(stderr, "scenario: %s\n", err);
		exit(1);
	}
	c.path = path;
	ended = false;
	if (run_start(&c, s, &r, &re) < 0) {
		fprintf(stderr, "run: %s\n", re.message);
		exit(1);
	}
	while (!ended)
		if (sd_event_run(e, 100 * USEC_PER_MSEC) < 0)
			exit(1);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median ns of ROUNDS renders; *ret_len: the text's size. */
static uint64_t time_render(const Metrics *m, const Run *runs, size_t *ret_len)
{
	uint64_t t[ROUNDS];

	for (unsigned i = 0; i < ROUNDS; i++) {
		char *text = NULL;
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		if (metrics_render(m, runs, NULL, METRICS_PROMETHEUS, &text) < 0)
			exit(1);
		t[i] = now_ns(CLOCK_MONOTONIC) - t0;
		*ret_len = strlen(text);
		free(text);
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_u64);
	return t[ROUNDS / 2];
}

int main(int argc, char *argv[])
{
	unsigned n_runs = argc > 1 ? (unsigned)atoi(argv[1]) : 64, points = argc > 2 ? (unsigned)atoi(argv[2]) : 64;
	Metrics one = {}, all = {};
	Run *first = NULL, *last = NULL;
	uint64_t t1, tn;
	size_t len1, lenn;
	sd_event *e = NULL;

	log_set_max_level(LOG_WARNING);
	if (n_runs < 1 || points < 1 || sd_event_new(&e) < 0)
		return 2;
	for (unsigned i = 1; i <= n_runs; i++) {
		Run *r = one_run(e, i, points);

		if (metrics_run_started(&all, r) < 0 || metrics_run_ended(&all, r) < 0)
			return 1;
		if (i == 1 && (metrics_run_started(&one, r) < 0 || metrics_run_ended(&one, r) < 0))
			return 1;
		if (last)
			last->next = r;
		else
			first = r;
		last = r;
	}
	{
		Run *rest = first->next;

		first->next = NULL;
		t1 = time_render(&one, first, &len1);
		first->next = rest;
	}
	tn = time_render(&all, first, &lenn);
	printf("render, 1 run of %u points: %.3f ms (%zu bytes)\n", points, t1 / 1e6, len1);
	printf("render, %u finished runs of %u points: %.3f ms (%zu bytes)\n", n_runs, points, tn / 1e6,
	       lenn);
	printf("ratio to one run: %.1fx; to the 20 ms target: %.3f (target < 1)\n", (double)tn / t1,
	       tn / 20e6);
	while (first) {
		Run *next = first->next;

		run_free(first);
		first = next;
	}
	metrics_done(&one);
	metrics_done(&all);
	sd_event_unref(e);
	return tn < 20 * NSEC_PER_MSEC ? 0 : 1;
}
