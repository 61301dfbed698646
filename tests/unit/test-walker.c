/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker model: its decisions on crafted entries, then the real threads
 * behind backend_model with a replace loop playing the run's worker.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/fault.h"
#include "backends/model/backend-model.h"
#include "backends/model/model.h"
#include "backends/model/walker.h"
#include "json.h"
#include "parse-util.h"
#include "check-run.h"

#define IOVA	 UINT64_C(0x100000)
#define MAP_SIZE UINT64_C(65536)

/* ---- the walker's decisions, no threads ---- */

static Model *model_for(TransitionKind kind, Layout layout)
{
	static const uint32_t points[] = {ATTACH_POINT_RID};
	ModelParams p = {
		.iova = IOVA,
		.map_size = MAP_SIZE,
		.n_domains = 4,
		.layout = layout,
		.pattern = PATTERN_PING_PONG,
		.points = points,
		.n_points = 1,
		.transitions = &kind,
		.n_transitions = 1,
	};
	Model *m = NULL;
	char *error = NULL;

	ck_assert_int_eq(model_new(&p, &m, &error), 0);
	ck_assert_ptr_null(error);
	return m;
}

START_TEST(test_decode)
{
	Model *m = model_for(TRANSITION_FS_DID, LAYOUT_IDENTICAL);
	ModelPoint *p = &m->points[0];
	const ModelDomain *d0 = &p->kind->domains[0], *d1 = &p->kind->domains[1], *got = NULL;
	PasidEntry e;

	ck_assert_uint_eq(walker_decode(m, p, &(PasidEntry){}, &got),
			  MODEL_FAULT_PASID_NOT_PRESENT);

	/* Each domain's own entry, also with noise in bits first-stage does not use. */
	ck_assert_uint_eq(walker_decode(m, p, &d1->entry, &got), 0);
	ck_assert_ptr_eq(got, d1);
	e = d0->entry;
	pasid_entry_set_qword(&e, 0, pasid_entry_qword(&e, 0) | SM_PASID0_FPD | 0x7000);
	pasid_entry_set_qword(&e, 5, 0xfeed);
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), 0);
	ck_assert_ptr_eq(got, d0);

	/* Domain 1's quantum 0 (its DID) with domain 0's quantum 1 (its FSPTPTR): torn. */
	e = d0->entry;
	e.q[0] = d1->entry.q[0];
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), MODEL_FAULT_TORN_ENTRY);

	/* Present with P only cleared elsewhere: a reserved PGTT is an invalid entry. */
	e = d0->entry;
	pasid_entry_set_qword(&e, 0,
			      (pasid_entry_qword(&e, 0) & ~SM_PASID0_PGTT) | (UINT64_C(5) << 6));
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), MODEL_FAULT_PASID_INVALID);

	/* A first-stage pointer to no table. */
	e = d0->entry;
	pasid_entry_set_qword(&e, 2, UINT64_C(0x7777000));
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), MODEL_FAULT_FS_TABLE);

	/* Not present wins over everything else. */
	e = d0->entry;
	e.q[0] &= ~(PasidQuantum)SM_PASID0_P;
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), MODEL_FAULT_PASID_NOT_PRESENT);
	model_free(m);

	/* A second-stage pointer to no table. */
	m = model_for(TRANSITION_SS_DID, LAYOUT_IDENTICAL);
	p = &m->points[0];
	e = p->kind->domains[0].entry;
	pasid_entry_set_qword(&e, 0, (pasid_entry_qword(&e, 0) & ~SM_PASID0_SSPTPTR) | 0x123000);
	ck_assert_uint_eq(walker_decode(m, p, &e, &got), MODEL_FAULT_SS_TABLE);
	model_free(m);
}
END_TEST

START_TEST(test_translate)
{
	static const struct {
		TransitionKind kind;
		uint32_t odd_fault; /* what an unmapped IOVA through domain 1 gives */
	} cases[] = {
		{TRANSITION_SS_DID, MODEL_FAULT_SS_PERMISSION},
		{TRANSITION_FS_DID, MODEL_FAULT_FS_NOT_PRESENT},
		{TRANSITION_NESTED_S1, MODEL_FAULT_FS_NOT_PRESENT},
		{TRANSITION_NESTED_S2, MODEL_FAULT_SS_PERMISSION},
		{TRANSITION_SS_PT, MODEL_FAULT_SS_PERMISSION},
		{TRANSITION_FS_PT, MODEL_FAULT_FS_NOT_PRESENT},
	};

	for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
		Model *m = model_for(cases[c].kind, LAYOUT_MISSING_RANGE);
		const ModelDomain *d = m->points[0].kind->domains;
		uint64_t pa = 0;

		/* Even domains map the range onto memory at PA == IOVA, odd ones lack it. */
		ck_assert_uint_eq(walker_translate(m, &d[0], IOVA + 0x1000, 64, &pa), 0);
		ck_assert_uint_eq(pa, IOVA + 0x1000);
		ck_assert_uint_eq(walker_translate(m, &d[2], IOVA + MAP_SIZE - 64, 64, &pa), 0);
		ck_assert_uint_eq(walker_translate(m, &d[1], IOVA, 64, &pa), cases[c].odd_fault);
		ck_assert_uint_eq(walker_translate(m, &d[3], IOVA, 64, &pa), cases[c].odd_fault);
		/* Past the end of the range, even for an even domain (unless pass-through). */
		if (d[0].config.pgtt != PASID_PGTT_PT)
			ck_assert_uint_ne(walker_translate(m, &d[0], IOVA + MAP_SIZE - 32, 64, &pa),
					  0);
		else
			ck_assert_uint_eq(walker_translate(m, &d[0], IOVA + MAP_SIZE - 32, 64, &pa),
					  MODEL_FAULT_BEYOND_MAX);
		model_free(m);
	}
}
END_TEST

START_TEST(test_model_rejects)
{
	static const uint32_t dup[] = {5, ATTACH_POINT_RID, 5};
	TransitionKind kind = TRANSITION_PT_DID;
	ModelParams p = {
		.iova = IOVA,
		.map_size = MAP_SIZE,
		.n_domains = 2,
		.layout = LAYOUT_MISSING_RANGE,
		.points = dup,
		.n_points = 1,
		.transitions = &kind,
		.n_transitions = 1,
	};
	Model *m = NULL;
	char *error = NULL;

	/* Pass-through has no table to lack a range. */
	ck_assert_int_eq(model_new(&p, &m, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "pt-did"));
	error = mfree(error);

	kind = TRANSITION_SS_DID;
	p.n_points = 3;
	ck_assert_int_eq(model_new(&p, &m, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "PASID 5"));
	error = mfree(error);

	p.n_points = 2;
	p.iova = (UINT64_C(1) << 48) - 4096;
	ck_assert_int_eq(model_new(&p, &m, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "48-bit"));
	error = mfree(error);

	/* RID and a PASID live in different slots of the two-level table. */
	p.iova = IOVA;
	ck_assert_int_eq(model_new(&p, &m, &error), 0);
	ck_assert_ptr_eq(m->points[1].entry, model_pasid_entry(m, PASID_RID_PASID));
	ck_assert_ptr_ne(m->points[0].entry, m->points[1].entry);
	ck_assert_ptr_null(model_pasid_entry(m, PASID_MAX + 1));
	model_free(m);
}
END_TEST

/* ---- the sync: a PASID-cache invalidation with wait ---- */

typedef struct SyncArg {
	Model *m;
	unsigned n;
	bool done;
} SyncArg;

static void *sync_writer(void *userdata)
{
	SyncArg *a = userdata;

	for (unsigned i = 0; i < a->n; i++)
		ck_assert_int_eq(model_write(a->m, 0, (i + 1) % 2, NULL), 0);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_sync_waits_for_translation)
{
	Model *m = model_for(TRANSITION_SS_DID, LAYOUT_IDENTICAL);
	SyncArg a = {.m = m, .n = 1};
	pthread_t t;
	uint64_t gen;

	ck_assert_int_eq(model_write(m, 0, 0, NULL), 0);
	gen = m->points[0].inv_gen;
	ck_assert_uint_eq(gen, m->points[0].syncs);

	/* A translation in flight (tseq odd): the sync must not return before it ends. */
	__atomic_store_n(&m->tseq, 1, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_create(&t, NULL, sync_writer, &a), 0);
	usleep(50000);
	ck_assert(!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE));
	/* The invalidation itself is already published. */
	ck_assert_uint_eq(__atomic_load_n(&m->points[0].inv_gen, __ATOMIC_ACQUIRE), gen + 1);
	__atomic_store_n(&m->tseq, 2, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(a.done);

	/*
	 * A walker that is never idle, translating a fifth of the time, cannot
	 * starve syncs: tseq only has to move. (Were the wait for tseq to turn
	 * even at some instant, this could spin for ever.)
	 */
	a = (SyncArg){.m = m, .n = 2000};
	ck_assert_int_eq(pthread_create(&t, NULL, sync_writer, &a), 0);
	for (uint64_t v = 3; !__atomic_load_n(&a.done, __ATOMIC_ACQUIRE); v += 2) {
		__atomic_store_n(&m->tseq, v, __ATOMIC_SEQ_CST);
		for (unsigned spin = 0; spin < 10; spin++)
			__builtin_ia32_pause();
		__atomic_store_n(&m->tseq, v + 1, __ATOMIC_SEQ_CST);
		for (unsigned spin = 0; spin < 40; spin++)
			__builtin_ia32_pause();
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(m->points[0].inv_gen, m->points[0].syncs);
	model_free(m);
}
END_TEST

/* ---- the backend with its threads ---- */

typedef struct Rig {
	Scenario s;
	uint32_t points[2];
	TransitionKind kinds[2];
	FaultSink *sink;
	AttachPointState *aps;
	void *ctx;
	unsigned domain[2];
} Rig;

static void rig_init(Rig *r, EntryWriterKind writer, TransitionKind kind, Layout layout)
{
	char *error = NULL;
	BackendSetup setup;

	memset(r, 0, sizeof(*r));
	r->points[0] = ATTACH_POINT_RID;
	r->kinds[0] = kind;
	r->s = (Scenario){
		.backend = (char *)"model",
		.device = (char *)"model0",
		.points = r->points,
		.n_points = 1,
		.workers = 1,
		.n_domains = 2,
		.layout = layout,
		.iova = IOVA,
		.map_size = MAP_SIZE,
		.pattern = PATTERN_PING_PONG,
		.traffic = true,
		.engine = (char *)"model",
		.dma_size = 1024,
		.verify = true,
		.seed = 42,
		.writer = writer,
		.transitions = r->kinds,
		.n_transitions = 1,
	};
	ck_assert_int_eq(fault_sink_new(&r->sink, 1 << 16), 0);
	r->aps = aligned_alloc(CACHELINE, sizeof(AttachPointState));
	ck_assert_ptr_nonnull(r->aps);
	memset(r->aps, 0, sizeof(AttachPointState));
	r->aps[0].pasid = ATTACH_POINT_RID;

	setup = (BackendSetup){
		.scenario = &r->s,
		.sink = r->sink,
		.aps = r->aps,
		.n_aps = 1,
	};
	ck_assert_int_eq(backend_model.setup(&setup, &r->ctx, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_int_eq(backend_model.attach(r->ctx, 0, 0), 0);
	ck_assert_int_eq(backend_model.traffic_start(r->ctx), 0);
}

static void rig_done(Rig *r)
{
	backend_model.traffic_stop(r->ctx);
	ck_assert_int_eq(backend_model.detach(r->ctx, 0), 0);
	backend_model.teardown(r->ctx);
	fault_sink_free(r->sink);
	free(r->aps);
}

/* The run's worker loop, ping-pong on point 0. */
static uint64_t rig_replace(Rig *r, uint64_t count)
{
	for (uint64_t n = 0; n < count; n++) {
		unsigned d = r->domain[0] ^ 1;

		attach_point_window_open(&r->aps[0]);
		ck_assert_int_eq(backend_model.replace(r->ctx, 0, d), 0);
		attach_point_window_close(&r->aps[0], now_ns(CLOCK_MONOTONIC));
		r->domain[0] = d;
	}
	return count;
}

typedef struct FaultStats {
	uint64_t n[_FAULT_SOURCE_MAX];
	uint64_t by_reason_model[0x200];
	uint64_t not_during;
	uint64_t wrong_ap;
} FaultStats;

static void collect(const FaultRecord *f, void *userdata)
{
	FaultStats *st = userdata;

	st->n[f->source]++;
	if (f->source == FAULT_SOURCE_MODEL && f->reason < ELEMENTSOF(st->by_reason_model))
		st->by_reason_model[f->reason]++;
	if (!f->during_replace)
		st->not_during++;
	if (f->ap != 0)
		st->wrong_ap++;
	ck_assert(f->reason_text[0]);
}

START_TEST(test_hitless_never_faults)
{
	Rig r;
	BackendCounters bc, bc2;
	FaultTotals t;
	Model *m;

	rig_init(&r, ENTRY_WRITER_ENTRY_SYNC, TRANSITION_SS_DID, LAYOUT_IDENTICAL);
	rig_replace(&r, 200000);
	/* Let some traffic run at rest as well. */
	for (uint64_t end = now_ns(CLOCK_MONOTONIC) + 20 * NSEC_PER_MSEC;
	     now_ns(CLOCK_MONOTONIC) < end;)
		;
	backend_model.traffic_stop(r.ctx);
	backend_model.traffic_stop(r.ctx); /* idempotent */

	backend_model.sample(r.ctx, &bc);
	fault_sink_totals(r.sink, &t);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_MODEL], 0);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_DMA_VERIFY], 0);
	ck_assert_uint_eq(bc.dma_errors, 0);
	ck_assert_uint_gt(bc.dma_ok, 1000);
	ck_assert_uint_eq(bc.dma_transfers, bc.dma_ok + bc.dma_errors);

	/* Stopped means stopped: nothing moves any more. */
	backend_model.sample(r.ctx, &bc2);
	ck_assert_uint_eq(bc2.dma_transfers, bc.dma_transfers);

	m = model_backend_get_model(r.ctx);
	ck_assert_uint_eq(m->points[0].replacements, 200000);
	/* One sync per hitless ss-did replacement, plus the attach's. */
	ck_assert_uint_eq(m->points[0].syncs, 200000 + 1);
	ck_assert_uint_eq(m->points[0].paths[ENTRY_SYNC_HITLESS], 200001);
	/* Translations went through both domains. */
	ck_assert_uint_gt(m->points[0].kind->domains[0].translations, 0);
	ck_assert_uint_gt(m->points[0].kind->domains[1].translations, 0);
	ck_assert_uint_eq(m->points[0].translations, bc.dma_transfers);
	rig_done(&r);
}
END_TEST

/* Replaces until the walker has reported at least `want` faults or max_ns passed. */
static void replace_until_faults(Rig *r, uint64_t want, uint64_t max_ns)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + max_ns;
	FaultTotals t;

	do {
		rig_replace(r, 1000);
		fault_sink_totals(r->sink, &t);
	} while (t.total[FAULT_SOURCE_MODEL] < want && now_ns(CLOCK_MONOTONIC) < end);
}

START_TEST(test_clear_then_update_faults)
{
	FaultStats st = {};
	FaultTotals t;
	BackendCounters bc;
	Rig r;

	rig_init(&r, ENTRY_WRITER_CLEAR_THEN_UPDATE, TRANSITION_SS_DID, LAYOUT_IDENTICAL);
	replace_until_faults(&r, 100, 15 * NSEC_PER_SEC);
	backend_model.traffic_stop(r.ctx);

	fault_sink_totals(r.sink, &t);
	backend_model.sample(r.ctx, &bc);
	(void)fault_sink_drain(r.sink, collect, &st);
	ck_assert_uint_ge(t.total[FAULT_SOURCE_MODEL], 100);
	/* Every fault is the cleared Present bit, inside a replacement window. */
	ck_assert_uint_eq(st.by_reason_model[MODEL_FAULT_PASID_NOT_PRESENT],
			  st.n[FAULT_SOURCE_MODEL]);
	ck_assert_uint_eq(t.during_replace[FAULT_SOURCE_MODEL], t.total[FAULT_SOURCE_MODEL]);
	ck_assert_uint_eq(st.not_during, 0);
	ck_assert_uint_eq(st.wrong_ap, 0);
	/*
	 * Each faulted transfer is a DMA error too, but one event is one fault:
	 * dma-verify reports only corruption the walker did not flag.
	 */
	ck_assert_uint_eq(bc.dma_errors, t.total[FAULT_SOURCE_MODEL]);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_DMA_VERIFY], 0);
	rig_done(&r);
}
END_TEST

START_TEST(test_missing_range_exact)
{
	static const struct {
		TransitionKind kind;
		uint32_t reason;
	} cases[] = {
		{TRANSITION_SS_DID, MODEL_FAULT_SS_PERMISSION},
		{TRANSITION_NESTED_S1, MODEL_FAULT_FS_NOT_PRESENT},
	};
	FaultStats st = {};
	FaultTotals t;
	BackendCounters bc;
	const ModelDomain *d;
	Rig r;

	rig_init(&r, ENTRY_WRITER_ENTRY_SYNC, cases[_i].kind, LAYOUT_MISSING_RANGE);
	d = model_backend_get_model(r.ctx)->points[0].kind->domains;
	replace_until_faults(&r, 1000, 10 * NSEC_PER_SEC);
	/*
	 * On a loaded machine the walker may only have run while the worker sat
	 * on domain 1: go on until domain 0 has carried traffic too.
	 */
	for (uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	     __atomic_load_n(&d[0].translations, __ATOMIC_RELAXED) == 0 &&
	     now_ns(CLOCK_MONOTONIC) - t0 < 10 * NSEC_PER_SEC;)
		rig_replace(&r, 100);
	backend_model.traffic_stop(r.ctx);

	fault_sink_totals(r.sink, &t);
	backend_model.sample(r.ctx, &bc);
	(void)fault_sink_drain(r.sink, collect, &st);

	/* Faults are exactly the transfers through the odd domain, and nothing else. */
	ck_assert_uint_gt(d[1].translations, 0);
	ck_assert_uint_gt(d[0].translations, 0);
	ck_assert_uint_eq(d[0].faults, 0);
	ck_assert_uint_eq(d[1].faults, d[1].translations);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_MODEL], d[1].translations);
	ck_assert_uint_eq(bc.dma_errors, d[1].translations);
	ck_assert_uint_eq(bc.dma_ok, d[0].translations);
	ck_assert_uint_eq(st.by_reason_model[cases[_i].reason], st.n[FAULT_SOURCE_MODEL]);
	rig_done(&r);
}
END_TEST

START_TEST(test_direct_writer_tears)
{
	FaultStats st = {};
	FaultTotals t;
	Rig r;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 15 * NSEC_PER_SEC;

	/* The torn window is two stores wide: keep going until the walker falls into it. */
	rig_init(&r, ENTRY_WRITER_DIRECT, TRANSITION_FS_DID, LAYOUT_IDENTICAL);
	do {
		rig_replace(&r, 10000);
		(void)fault_sink_drain(r.sink, collect, &st);
	} while (st.by_reason_model[MODEL_FAULT_TORN_ENTRY] == 0 && now_ns(CLOCK_MONOTONIC) < end);
	backend_model.traffic_stop(r.ctx);
	(void)fault_sink_drain(r.sink, collect, &st);
	fault_sink_totals(r.sink, &t);

	ck_assert_uint_gt(st.by_reason_model[MODEL_FAULT_TORN_ENTRY], 0);
	/* The direct writer never clears P: torn is the only way it faults. */
	ck_assert_uint_eq(st.by_reason_model[MODEL_FAULT_PASID_NOT_PRESENT], 0);
	ck_assert_uint_eq(st.by_reason_model[MODEL_FAULT_TORN_ENTRY], st.n[FAULT_SOURCE_MODEL]);
	rig_done(&r);
}
END_TEST

START_TEST(test_disruptive_never_tears)
{
	FaultStats st = {};
	Rig r;
	Model *m;

	/* fs-did is disruptive for entry-sync: it may fault on P=0 but never on a torn entry. */
	rig_init(&r, ENTRY_WRITER_ENTRY_SYNC, TRANSITION_FS_DID, LAYOUT_IDENTICAL);
	rig_replace(&r, 100000);
	backend_model.traffic_stop(r.ctx);
	(void)fault_sink_drain(r.sink, collect, &st);

	ck_assert_uint_eq(st.by_reason_model[MODEL_FAULT_TORN_ENTRY], 0);
	ck_assert_uint_eq(st.by_reason_model[MODEL_FAULT_PASID_NOT_PRESENT],
			  st.n[FAULT_SOURCE_MODEL]);
	ck_assert_uint_eq(st.not_during, 0);
	m = model_backend_get_model(r.ctx);
	ck_assert_uint_eq(m->points[0].paths[ENTRY_SYNC_DISRUPTIVE], 100000);
	ck_assert_uint_eq(m->points[0].syncs, 3 * 100000 + 2);
	rig_done(&r);
}
END_TEST

START_TEST(test_paced_traffic)
{
	BackendCounters bc;
	Rig r;
	uint64_t t0;

	rig_init(&r, ENTRY_WRITER_ENTRY_SYNC, TRANSITION_SS_PTR, LAYOUT_IDENTICAL);
	backend_model.traffic_stop(r.ctx);
	r.s.dma_rate = 2000;
	backend_model.teardown(r.ctx);
	{
		BackendSetup setup = {.scenario = &r.s, .sink = r.sink, .aps = r.aps, .n_aps = 1};
		char *error = NULL;

		ck_assert_int_eq(backend_model.setup(&setup, &r.ctx, &error), 0);
	}
	ck_assert_int_eq(backend_model.attach(r.ctx, 0, 0), 0);
	t0 = now_ns(CLOCK_MONOTONIC);
	ck_assert_int_eq(backend_model.traffic_start(r.ctx), 0);
	while (now_ns(CLOCK_MONOTONIC) - t0 < 500 * NSEC_PER_MSEC)
		rig_replace(&r, 100);
	backend_model.traffic_stop(r.ctx);
	backend_model.sample(r.ctx, &bc);

	/*
	 * 2000/s for half a second: 1000, far fewer on a loaded machine (this is
	 * not a speed test), at most 1200 with the pacer's 100 ms catch-up;
	 * unpaced it would be 100000s.
	 */
	ck_assert_uint_ge(bc.dma_transfers, 10);
	ck_assert_uint_le(bc.dma_transfers, 1200);
	ck_assert_uint_eq(bc.dma_errors, 0);
	rig_done(&r);
}
END_TEST

START_TEST(test_setup_errors)
{
	Rig r;
	char *error = NULL;
	void *ctx = NULL;
	AttachPointState aps[1] = {};
	BackendSetup setup;
	BackendDevice *devs = NULL;
	size_t n = 0;

	memset(&r, 0, sizeof(r));
	r.points[0] = 3;
	r.kinds[0] = TRANSITION_PT_DID;
	r.s = (Scenario){
		.backend = (char *)"model",
		.device = (char *)"model1",
		.points = r.points,
		.n_points = 1,
		.n_domains = 2,
		.iova = IOVA,
		.map_size = MAP_SIZE,
		.dma_size = 64,
		.transitions = r.kinds,
		.n_transitions = 1,
	};
	ck_assert_int_eq(fault_sink_new(&r.sink, 16), 0);
	setup = (BackendSetup){.scenario = &r.s, .sink = r.sink, .aps = aps, .n_aps = 1};

	ck_assert_int_eq(backend_model.setup(&setup, &ctx, &error), -ENODEV);
	ck_assert_ptr_nonnull(strstr(error, "model1"));
	ck_assert_ptr_nonnull(strstr(error, "model0"));
	error = mfree(error);

	r.s.device = NULL; /* the default device */
	r.s.layout = LAYOUT_MISSING_RANGE;
	ck_assert_int_eq(backend_model.setup(&setup, &ctx, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "missing-range"));
	ck_assert_ptr_nonnull(strstr(error, "PASID 3"));
	error = mfree(error);

	r.s.layout = LAYOUT_IDENTICAL;
	r.s.traffic = true;
	r.s.dma_size = (uint32_t)MAP_SIZE + 1;
	ck_assert_int_eq(backend_model.setup(&setup, &ctx, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "Size="));
	error = mfree(error);

	r.s.backend = (char *)"vfio";
	ck_assert_int_eq(backend_model.setup(&setup, &ctx, &error), -EINVAL);
	error = mfree(error);

	/* Without traffic nothing runs, and teardown is fine without any start. */
	r.s.backend = (char *)"model";
	r.s.traffic = false;
	ck_assert_int_eq(backend_model.setup(&setup, &ctx, &error), 0);
	ck_assert_int_eq(backend_model.traffic_start(ctx), 0);
	ck_assert_int_eq(backend_model.attach(ctx, 0, 1), 0);
	ck_assert_int_eq(backend_model.replace(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_model.replace(ctx, 0, 2), -EINVAL);
	ck_assert_int_eq(backend_model.replace(ctx, 1, 0), -EINVAL);
	backend_model.traffic_stop(ctx);
	backend_model.teardown(ctx);
	backend_model.teardown(NULL);

	ck_assert_int_eq(backend_model.probe(NULL, &error), 0);
	ck_assert_int_eq(backend_model.list_devices(NULL, &devs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(devs[0].id, "model0");
	backend_device_clear(&devs[0]);
	free(devs);
	fault_sink_free(r.sink);
}
END_TEST

START_TEST(test_describe)
{
	JsonWriter j;
	char *text;
	Rig r;

	rig_init(&r, ENTRY_WRITER_ENTRY_SYNC, TRANSITION_FS_PT, LAYOUT_IDENTICAL);
	rig_replace(&r, 1000);
	json_init(&j);
	json_object_begin(&j, NULL);
	backend_model.describe(r.ctx, &j);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(text);

	ck_assert_ptr_nonnull(strstr(text, "\"writer\":\"entry-sync\""));
	ck_assert_ptr_nonnull(strstr(text, "\"walker_running\":true"));
	ck_assert_ptr_nonnull(strstr(text, "\"kind\":\"fs-pt\",\"attach_points\":[\"RID\"],"
					   "\"predicted\":\"hitless\",\"critical_quanta\":1,"
					   "\"syncs\":2,"));
	ck_assert_ptr_nonnull(strstr(text, "\"replacements\":1000,"));
	ck_assert_ptr_nonnull(strstr(text, "\"name\":\"RID\",\"pasid_table_index\":0,"));
	free(text);
	rig_done(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walker");
	TCase *tc = tcase_create("decisions"), *tt = tcase_create("threads");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_translate);
	tcase_add_test(tc, test_model_rejects);
	tcase_add_test(tc, test_sync_waits_for_translation);
	suite_add_tcase(s, tc);

	/* Each threaded test stops itself well within 20 s on 2 cores. */
	tcase_set_timeout(tt, 60);
	tcase_add_test(tt, test_hitless_never_faults);
	tcase_add_test(tt, test_clear_then_update_faults);
	tcase_add_loop_test(tt, test_missing_range_exact, 0, 2);
	tcase_add_test(tt, test_direct_writer_tears);
	tcase_add_test(tt, test_disruptive_never_tears);
	tcase_add_test(tt, test_paced_traffic);
	tcase_add_test(tt, test_setup_errors);
	tcase_add_test(tt, test_describe);
	suite_add_tcase(s, tt);

	return check_run(s);
}
