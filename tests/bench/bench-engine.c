/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's side of the instruction-count comparison: one run through the
 * run engine (run_start(), its worker thread's hot loop, the main loop's
 * ticks), no bus, on the scenario given with COUNT replacements of the RID.
 *
 *   bench-engine SCENARIO-FILE COUNT  →  prints "rate <replacements/s>"
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/run.h"
#include "log.h"
#include "parse-util.h"

static bool ended;

static void on_ended(Run *r)
{
	ended = true;
}

static const RunEvents events = {.ended = on_ended};

int main(int argc, char *argv[])
{
	_cleanup_free_ char *text = NULL, *count = NULL, *err = NULL;
	char *overrides[3] = {};
	RunContext c = {.env = &host_env_nowhere, .id = 1, .path = "/bench/run/1", .fault_ring = 64,
			.events = &events};
	sd_event *e = NULL;
	Scenario *s = NULL;
	size_t n = 0;
	RunError re;
	FILE *f;
	Run *r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SCENARIO-FILE COUNT\n", argv[0]);
		return 2;
	}
	log_set_max_level(LOG_WARNING);
	f = fopen(argv[1], "re");
	if (!f || getdelim(&text, &n, '\0', f) < 0)
		return 1;
	fclose(f);
	if (asprintf(&count, "Replace.Count=%s", argv[2]) < 0)
		return 1;
	/* The same run bench-model-direct makes: the RID alone. */
	overrides[0] = count;
	overrides[1] = "Attach.Points=RID";
	if (scenario_parse(text, argv[1], overrides, &s, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (sd_event_new(&e) < 0)
		return 1;
	c.event = e;
	if (run_start(&c, s, &r, &re) < 0) {
		fprintf(stderr, "run: %s\n", re.message);
		return 1;
	}
	while (!ended)
		if (sd_event_run(e, 100 * USEC_PER_MSEC) < 0)
			return 1;
	printf("rate %.0f\n", r->stats.rate);
	run_free(r);
	sd_event_unref(e);
	return 0;
}
