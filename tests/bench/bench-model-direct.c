/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The baseline for the daemon benchmark: the model backend driven directly,
 * with no daemon, no bus and no run engine — the same replace() loop a worker
 * runs (window seqcount, two clock reads, histogram), on one attachment point
 * with the walker and traffic threads running.
 *
 *   bench-model-direct SCENARIO-FILE COUNT  →  prints "rate <replacements/s>"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/backend.h"
#include "core/histogram.h"
#include "parse-util.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &n, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int main(int argc, char *argv[])
{
	_cleanup_free_ char *text = NULL, *err = NULL, *count = NULL;
	_cleanup_(fault_sink_freep) FaultSink *sink = NULL;
	char *overrides[3] = {};
	Scenario *s = NULL;
	AttachPointState *aps;
	Histogram *h;
	void *ctx = NULL;
	uint64_t n, t_start, t_end, done = 0;
	unsigned cur = 0;
	int k;

	if (argc != 3 || parse_count(argv[2], &n) < 0) {
		fprintf(stderr, "usage: %s SCENARIO-FILE COUNT\n", argv[0]);
		return 2;
	}
	text = read_file(argv[1]);
	if (!text) {
		fprintf(stderr, "Cannot read %s\n", argv[1]);
		return 1;
	}
	if (asprintf(&count, "Replace.Count=%s", argv[2]) < 0)
		return 1;
	overrides[0] = count;
	overrides[1] = "Attach.Points=RID";
	k = scenario_parse(text, argv[1], overrides, &s, &err);
	if (k < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	aps = aligned_alloc(CACHELINE, sizeof(AttachPointState));
	h = malloc(sizeof(Histogram));
	if (!aps || !h || fault_sink_new(&sink, 65536) < 0)
		return 1;
	*aps = (AttachPointState){.pasid = ATTACH_POINT_RID};
	hist_init(h);

	k = backend_model.setup(
		&(BackendSetup){
			.env = &(HostEnv){}, .scenario = s, .sink = sink, .aps = aps, .n_aps = 1},
		&ctx, &err);
	if (k < 0) {
		fprintf(stderr, "setup: %s\n", err ?: "failed");
		return 1;
	}
	if (backend_model.attach(ctx, 0, 0) < 0 ||
	    (s->traffic && backend_model.traffic_start(ctx) < 0)) {
		fprintf(stderr, "attach/traffic failed\n");
		return 1;
	}

	t_start = now_ns(CLOCK_MONOTONIC);
	while (done < n) {
		unsigned d = cur == 0 ? 1 : 0;
		uint64_t t0, t1;

		attach_point_window_open(aps);
		t0 = now_ns(CLOCK_MONOTONIC);
		k = backend_model.replace(ctx, 0, d);
		t1 = now_ns(CLOCK_MONOTONIC);
		attach_point_window_close(aps, t1);
		if (k < 0) {
			fprintf(stderr, "replace failed: %d\n", k);
			return 1;
		}
		hist_record(h, t1 - t0);
		cur = d;
		done++;
	}
	t_end = now_ns(CLOCK_MONOTONIC);

	if (s->traffic)
		backend_model.traffic_stop(ctx);
	(void)backend_model.detach(ctx, 0);
	backend_model.teardown(ctx);
	printf("rate %.0f\np50 %llu\n", (double)done * 1e9 / (double)(t_end - t_start),
	       (unsigned long long)hist_percentile(h, 50));
	free(h);
	free(aps);
	scenario_free(s);
	return 0;
}
