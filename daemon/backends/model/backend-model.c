/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model backend: a VT-d scalable-mode PASID table in user space (model.c),
 * written by the scenario's writer, read by a walker thread that translates
 * the DMA of a traffic thread (walker.c). No hardware, no privileges: it is the
 * backend the integration tests and the seeds' claims run on.
 *
 * Its Describe() members ("backend_info"):
 *   writer, walker_running, walker_translations, walker_faults;
 *   transitions: one object per kind in use, in the order points first use it:
 *     kind, attach_points [names], predicted ("no-op"|"hitless"|"disruptive",
 *     the entry_sync analysis over the pairs the pattern visits, whatever the
 *     writer), critical_quanta, syncs (the most over those pairs),
 *     pairs_analysed, replacements, faults (walker), dma_errors,
 *     observed_syncs and observed_paths {path: count} (what the writer did,
 *     attach and detach included);
 *   attach_points: name, pasid_table_index (0 for the RID: RID_PASID), kind,
 *     replacements, syncs, translations, faults, dma_ok, dma_errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/model/backend-model.h"
#include "core/backend.h"
#include "counter.h"
#include "backends/model/model.h"
#include "log.h"
#include "macro.h"
#include "backends/model/walker.h"

#define MODEL_DEVICE_ID		 "model0"
#define MODEL_DEVICE_DESCRIPTION "VT-d scalable-mode PASID table model"
#define MODEL_ENGINE		 "model"
/* One fault queue per producer thread, as the sink wants. */
#define MODEL_FAULT_QUEUE   "model-walker"
#define MODEL_TRAFFIC_QUEUE "model-traffic"

typedef struct ModelBackend {
	Model *model;
	Walker *walker; /* NULL when the scenario has no traffic */
} ModelBackend;

Model *model_backend_get_model(void *ctx)
{
	ModelBackend *b = ctx;

	return b ? b->model : NULL;
}

static int model_probe(const HostEnv *env, char **reason)
{
	/* Pure user space: available wherever the daemon runs. */
	return 0;
}

static int model_list_devices(const HostEnv *env, BackendDevice **ret, size_t *ret_n)
{
	return backend_device_single(ret, ret_n, MODEL_DEVICE_ID, MODEL_DEVICE_DESCRIPTION,
				     "ready");
}

static void model_teardown(void *ctx)
{
	ModelBackend *b = ctx;

	if (!b)
		return;
	/* Threads first: they read the model. */
	b->walker = walker_free(b->walker);
	b->model = model_free(b->model);
	free(b);
}

static int model_setup(const BackendSetup *setup, void **ret_ctx, char **error)
{
	const Scenario *s = setup->scenario;
	ModelBackend *b;
	ModelParams params;
	FaultQueue *walker_q = NULL, *traffic_q = NULL;
	int r;

	if (!streq_ptr(s->backend, "model"))
		return backend_errorf(error, -EINVAL, "scenario is for backend %s, not model",
				      strempty(s->backend));
	if (s->device && !streq(s->device, MODEL_DEVICE_ID))
		return backend_errorf(
			error, -ENODEV,
			"device %s does not exist: the model backend has one device, " MODEL_DEVICE_ID,
			s->device);
	if (s->traffic && s->engine && !streq(s->engine, MODEL_ENGINE))
		return backend_errorf(
			error, -EINVAL,
			"DMA engine %s is not available: the model backend's engine is " MODEL_ENGINE,
			s->engine);
	if (setup->n_aps != s->n_points)
		return backend_errorf(error, -EINVAL, "%zu attachment point states for %zu points",
				      setup->n_aps, s->n_points);
	if (s->traffic && (s->dma_size == 0 || s->dma_size > s->map_size))
		return backend_errorf(error, -EINVAL,
				      "[Traffic] Size=%" PRIu32
				      " must be between 1 and MapSize=%" PRIu64,
				      s->dma_size, s->map_size);

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;

	params = (ModelParams){
		.iova = s->iova,
		.map_size = s->map_size,
		.n_domains = s->n_domains,
		.layout = s->layout,
		.pattern = s->pattern,
		.writer = s->writer,
		.points = s->points,
		.n_points = s->n_points,
		.transitions = s->transitions,
		.n_transitions = s->n_transitions,
		.aps = setup->aps,
	};
	r = model_new(&params, &b->model, error);
	if (r < 0)
		goto fail;

	if (s->traffic) {
		r = fault_sink_add_queue(setup->sink, MODEL_FAULT_QUEUE, &walker_q);
		if (r < 0)
			goto fail;
		r = fault_sink_add_queue(setup->sink, MODEL_TRAFFIC_QUEUE, &traffic_q);
		if (r < 0)
			goto fail;
		r = walker_new(b->model,
			       &(WalkerParams){
				       .walker_faults = walker_q,
				       .traffic_faults = traffic_q,
				       .dma_size = s->dma_size,
				       .dma_rate = s->dma_rate,
				       .verify = s->verify,
				       .settle_ns = s->settle_ns,
				       .seed = s->seed,
			       },
			       &b->walker);
		if (r < 0)
			goto fail;
	}

	*ret_ctx = b;
	return 0;

fail:
	model_teardown(b);
	if (error && !*error)
		(void)backend_errorf(error, r, "%s", strerror(ERRNO_VALUE(r)));
	return r;
}

static int model_attach(void *ctx, unsigned ap, unsigned domain)
{
	ModelBackend *b = ctx;

	return model_write(b->model, ap, domain, NULL);
}

static int model_replace(void *ctx, unsigned ap, unsigned domain)
{
	ModelBackend *b = ctx;
	int r;

	r = model_write(b->model, ap, domain, NULL);
	if (_likely_(r >= 0))
		counter_inc(b->model->points[ap].replacements);
	return r;
}

static int model_detach(void *ctx, unsigned ap)
{
	ModelBackend *b = ctx;

	return model_clear(b->model, ap, NULL);
}

static int model_traffic_start(void *ctx)
{
	ModelBackend *b = ctx;

	if (!b->walker)
		return 0;
	return walker_start(b->walker);
}

static void model_traffic_stop(void *ctx)
{
	ModelBackend *b = ctx;

	walker_stop(b->walker);
}

static void model_sample(void *ctx, BackendCounters *ret)
{
	ModelBackend *b = ctx;
	WalkerCounters c;

	walker_counters(b->model, &c);
	/* Transfers derived from ok + errors: exact whatever the sampling moment. */
	*ret = (BackendCounters){
		.dma_transfers = c.dma_ok + c.dma_errors,
		.dma_ok = c.dma_ok,
		.dma_errors = c.dma_errors,
	};
}

static void describe_paths(JsonWriter *j, const char *key, const uint64_t *paths)
{
	json_object_begin(j, key);
	for (unsigned p = 0; p < _ENTRY_SYNC_PATH_MAX; p++)
		json_u64(j, entry_sync_path_to_string(p), paths[p]);
	json_object_end(j);
}

static void describe_kind(JsonWriter *j, const Model *m, const ModelKind *k)
{
	uint64_t replacements = 0, syncs = 0, faults = 0, dma_errors = 0;
	uint64_t paths[_ENTRY_SYNC_PATH_MAX] = {};
	char name[32];

	json_object_begin(j, NULL);
	json_string(j, "kind", transition_kind_to_string(k->kind));
	json_array_begin(j, "attach_points");
	for (size_t i = 0; i < m->n_points; i++) {
		const ModelPoint *p = &m->points[i];

		if (p->kind != k)
			continue;
		json_string(j, NULL, attach_point_to_string(p->pasid, name, sizeof(name)));
		replacements += counter_get(p->replacements);
		syncs += counter_get(p->syncs);
		faults += counter_get(p->faults);
		dma_errors += counter_get(p->dma_errors);
		for (unsigned x = 0; x < _ENTRY_SYNC_PATH_MAX; x++)
			paths[x] += counter_get(p->paths[x]);
	}
	json_array_end(j);
	/* The entry_sync analysis, whichever writer runs: what the seeds' algorithm would do. */
	json_string(j, "predicted", entry_sync_path_to_string(k->predicted.path));
	json_u64(j, "critical_quanta", k->predicted.critical);
	json_u64(j, "syncs", k->predicted.syncs);
	json_u64(j, "pairs_analysed", k->n_pairs);
	json_u64(j, "replacements", replacements);
	json_u64(j, "faults", faults);
	json_u64(j, "dma_errors", dma_errors);
	/* What the writer actually did, attach and detach included. */
	json_u64(j, "observed_syncs", syncs);
	describe_paths(j, "observed_paths", paths);
	json_object_end(j);
}

static void model_describe(void *ctx, JsonWriter *j)
{
	ModelBackend *b = ctx;
	const Model *m = b->model;
	WalkerCounters c;
	bool seen[_TRANSITION_KIND_MAX] = {};
	char name[32];

	walker_counters(m, &c);
	json_string(j, "writer", entry_writer_to_string(m->writer));
	json_bool(j, "walker_running", walker_running(b->walker));
	json_u64(j, "walker_translations", c.translations);
	json_u64(j, "walker_faults", c.faults);

	/* One entry per kind in use, in the order the points first use them. */
	json_array_begin(j, "transitions");
	for (size_t i = 0; i < m->n_points; i++) {
		const ModelKind *k = m->points[i].kind;

		if (seen[k->kind])
			continue;
		seen[k->kind] = true;
		describe_kind(j, m, k);
	}
	json_array_end(j);

	json_array_begin(j, "attach_points");
	for (size_t i = 0; i < m->n_points; i++) {
		const ModelPoint *p = &m->points[i];

		json_object_begin(j, NULL);
		json_string(j, "name", attach_point_to_string(p->pasid, name, sizeof(name)));
		json_u64(j, "pasid_table_index",
			 p->pasid == ATTACH_POINT_RID ? PASID_RID_PASID : p->pasid);
		json_string(j, "kind", transition_kind_to_string(p->kind->kind));
		json_u64(j, "replacements", counter_get(p->replacements));
		json_u64(j, "syncs", counter_get(p->syncs));
		json_u64(j, "translations", counter_get(p->translations));
		json_u64(j, "faults", counter_get(p->faults));
		json_u64(j, "dma_ok", counter_get(p->dma_ok));
		json_u64(j, "dma_errors", counter_get(p->dma_errors));
		json_object_end(j);
	}
	json_array_end(j);
}

/* The walker sees every translation: nothing counts the model's faults better. */
static FaultSource model_exact_source(const Scenario *s)
{
	return FAULT_SOURCE_MODEL;
}

/* [Model]'s defaults and rules. */
static int model_check_scenario(Scenario *s, ScenarioCheck *c)
{
	if (s->n_transitions == 0) {
		s->transitions = malloc(sizeof(TransitionKind));
		if (!s->transitions)
			return -ENOMEM;
		s->transitions[0] = TRANSITION_SS_DID;
		s->n_transitions = 1;
	}
	if (s->n_transitions > s->n_points)
		return scenario_check_fail(
			c, "Model.Transitions",
			"%zu transition kinds for %zu attachment point%s: kinds are handed to points round-robin, so the kinds after the first %zu would never run",
			s->n_transitions, s->n_points, s->n_points == 1 ? "" : "s", s->n_points);
	return 0;
}

static const char *const model_engines[] = {"model", NULL};

const BackendOps backend_model = {
	.name = "model",
	.description = "user-space model of a VT-d scalable-mode PASID table with entry_sync",
	.scenario = {
		.default_device = "model0",
		.default_engine = "model",
		.engines = model_engines,
		.section = "Model",
		.check = model_check_scenario,
	},
	.probe = model_probe,
	.list_devices = model_list_devices,
	.setup = model_setup,
	.attach = model_attach,
	.replace = model_replace,
	.detach = model_detach,
	.traffic_start = model_traffic_start,
	.traffic_stop = model_traffic_stop,
	.sample = model_sample,
	.exact_source = model_exact_source,
	.describe = model_describe,
	.teardown = model_teardown,
};
