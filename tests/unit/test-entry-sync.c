/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writers, step by step, the SMMUv3 KUnit way: a sync callback records
 * the entry at every sync, a store callback after every quantum store. Beyond
 * the KUnit checks (each synced entry equals the old or the new one on the
 * bits it uses), every view a walker could fetch is checked: it reads quanta
 * 0..3 in order, each with one 128-bit load, and a sync waits for a fetch in
 * flight, so a fetch sees quantum k from some state between two syncs and
 * quantum k+1 from the same or a later one.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vtd/entry-sync.h"
#include "backends/model/model.h"
#include "check-run.h"

#define MAX_STATES 32
#define N_DOMAINS  4 /* kinds repeat with period 2: four domains have every pair class */

typedef struct Recorder {
	EntryWriter w;
	PasidEntry states[MAX_STATES]; /* [0]: before the write, then one per store */
	unsigned n_states;
	unsigned sync_at[MAX_STATES]; /* index of the state current at each sync */
	unsigned n_syncs;
} Recorder;

static void record_store(EntryWriter *w, const PasidEntry *entry, unsigned quantum)
{
	Recorder *r = container_of(w, Recorder, w);

	ck_assert_uint_lt(r->n_states, MAX_STATES);
	r->states[r->n_states++] = *entry;
}

static void record_sync(EntryWriter *w)
{
	Recorder *r = container_of(w, Recorder, w);

	ck_assert_uint_lt(r->n_syncs, MAX_STATES);
	r->sync_at[r->n_syncs++] = r->n_states - 1;
}

typedef enum View {
	VIEW_OLD,	  /* equals the old entry on the bits the old entry uses */
	VIEW_NEW,	  /* equals the new entry on the bits the new entry uses */
	VIEW_NOT_PRESENT, /* neither, and P is clear: the walker faults */
	VIEW_TORN,	  /* neither, and present: the walker would use a mix */
} View;

static View classify(const PasidEntry *v, const PasidEntry *old, const PasidEntry *new)
{
	PasidEntry used_old, used_new;

	pasid_entry_get_used(old, &used_old);
	pasid_entry_get_used(new, &used_new);
	if (pasid_entry_equal_masked(v, old, &used_old))
		return VIEW_OLD;
	if (pasid_entry_equal_masked(v, new, &used_new))
		return VIEW_NEW;
	return pasid_entry_present(v) ? VIEW_TORN : VIEW_NOT_PRESENT;
}

typedef struct Observed {
	EntrySyncResult result;
	unsigned syncs_recorded;
	bool synced_not_present; /* a state at a sync point was not present (and neither old nor
				    new) */
	bool synced_torn;
	bool view_not_present; /* some fetch could see a non-present mix */
	bool view_torn;
} Observed;

/* Every in-order fetch within [first, last]: q0 from state a ≤ q1's b ≤ q2's c ≤ q3's d. */
static void check_views(const Recorder *r, unsigned first, unsigned last, const PasidEntry *old,
			const PasidEntry *new, Observed *o)
{
	for (unsigned a = first; a <= last; a++)
		for (unsigned b = a; b <= last; b++)
			for (unsigned c = b; c <= last; c++)
				for (unsigned d = c; d <= last; d++) {
					PasidEntry v = {
						.q = {r->states[a].q[0], r->states[b].q[1],
						      r->states[c].q[2], r->states[d].q[3]},
					};

					switch (classify(&v, old, new)) {
					case VIEW_NOT_PRESENT:
						o->view_not_present = true;
						break;
					case VIEW_TORN:
						o->view_torn = true;
						break;
					default:
						break;
					}
				}
}

static void run_writer(EntryWriterKind kind, const PasidEntry *old, const PasidEntry *new, Observed *o)
{
	Recorder r = {.w = {.sync = record_sync, .stored = record_store}};
	PasidEntry entry = *old;
	unsigned first = 0;

	memset(o, 0, sizeof(*o));
	r.states[r.n_states++] = entry;
	o->result = entry_write(kind, &r.w, &entry, new);
	o->syncs_recorded = r.n_syncs;

	/* The writer ends on the target exactly, and no store is left unsynced. */
	ck_assert(pasid_entry_equal(&entry, new));
	if (r.n_states > 1) {
		ck_assert_uint_gt(r.n_syncs, 0);
		ck_assert_uint_eq(r.sync_at[r.n_syncs - 1], r.n_states - 1);
	}

	for (unsigned s = 0; s < r.n_syncs; s++) {
		View v = classify(&r.states[r.sync_at[s]], old, new);

		o->synced_not_present |= v == VIEW_NOT_PRESENT;
		o->synced_torn |= v == VIEW_TORN;
		check_views(&r, first, r.sync_at[s], old, new, o);
		first = r.sync_at[s];
	}
	if (r.n_syncs == 0)
		check_views(&r, 0, r.n_states - 1, old, new, o);
}

typedef struct Expect {
	EntrySyncPath path;
	unsigned critical;
	unsigned syncs;
} Expect;

#define H1                               \
	{                                \
		ENTRY_SYNC_HITLESS, 1, 1 \
	}
#define H2                               \
	{                                \
		ENTRY_SYNC_HITLESS, 1, 2 \
	}
#define DIS                                 \
	{                                   \
		ENTRY_SYNC_DISRUPTIVE, 2, 3 \
	}
#define NOOP                          \
	{                             \
		ENTRY_SYNC_NOOP, 0, 0 \
	}

/*
 * Hand-derived from the entry layout (quantum 0: P, PGTT, SSPTPTR, DID;
 * quantum 1: FSPTPTR) and the algorithm:
 *  - a change confined to quantum 0 (SSPTPTR, DID, PGTT between kinds that
 *    use nothing beyond it) or to quantum 1 (FSPTPTR alone) is hitless in 1
 *    sync: the critical quantum's store is the only one;
 *  - FSPTPTR and DID/SSPTPTR together make both quanta critical: V=0, sync,
 *    quantum 1, sync, quantum 0, sync;
 *  - second-stage or pass-through ↔ first-stage: PGTT makes quantum 0
 *    critical while quantum 1 is unused on one side, so it is written ahead
 *    (→ first-stage) or cleaned up after (first-stage →): 2 syncs;
 *  - pass-through → pass-through with the same DID changes nothing.
 * The direct writer lets a walker see a torn entry when two quanta change
 * and the first-stage side uses the second one.
 */
typedef struct KindCase {
	TransitionKind kind;
	Expect even_even, odd_odd, cross;
	bool tears_same, tears_cross;
} KindCase;

static const KindCase kind_cases[] = {
	{TRANSITION_SS_PTR, H1, H1, H1, false, false},
	{TRANSITION_SS_DID, H1, H1, H1, false, false},
	{TRANSITION_FS_PTR, H1, H1, H1, false, false},
	{TRANSITION_FS_DID, DIS, DIS, DIS, true, true},
	{TRANSITION_NESTED_S1, H1, H1, H1, false, false},
	{TRANSITION_NESTED_S2, H1, H1, H1, false, false},
	{TRANSITION_NESTED_BOTH, DIS, DIS, DIS, true, true},
	{TRANSITION_SS_PT, NOOP, H1, H1, false, false},
	{TRANSITION_SS_FS, H1, H1, H2, false, true},
	{TRANSITION_FS_PT, NOOP, H1, H2, false, true},
	{TRANSITION_PT_DID, H1, H1, H1, false, false},
};

static void domain_entry(TransitionKind kind, unsigned i, PasidEntry *ret)
{
	PasidConfig c;

	ck_assert_int_eq(model_domain_config(kind, i, &c), 0);
	ck_assert_int_eq(pasid_entry_build(&c, ret), 0);
}

START_TEST(test_kind_pairs)
{
	const KindCase *kc = &kind_cases[_i];
	const char *name = transition_kind_to_string(kc->kind);

	ck_assert_uint_eq(ELEMENTSOF(kind_cases), _TRANSITION_KIND_MAX);

	for (unsigned i = 0; i < N_DOMAINS; i++)
		for (unsigned j = 0; j < N_DOMAINS; j++) {
			bool cross = i % 2 != j % 2;
			const Expect *e = cross	  ? &kc->cross
					  : i % 2 ? &kc->odd_odd
						  : &kc->even_even;
			PasidEntry old, new;
			EntrySyncResult predicted;
			Observed o;

			if (i == j)
				continue;
			domain_entry(kc->kind, i, &old);
			domain_entry(kc->kind, j, &new);

			/* entry-sync: the table, and no view is ever torn. */
			run_writer(ENTRY_WRITER_ENTRY_SYNC, &old, &new, &o);
			ck_assert_msg(o.result.path == e->path && o.result.syncs == e->syncs &&
					      o.result.critical == e->critical,
				      "%s %u→%u: %s, %u critical, %u syncs; expected %s, %u, %u",
				      name, i, j, entry_sync_path_to_string(o.result.path),
				      o.result.critical, o.result.syncs,
				      entry_sync_path_to_string(e->path), e->critical, e->syncs);
			ck_assert_uint_eq(o.syncs_recorded, e->syncs);
			ck_assert_msg(!o.synced_torn && !o.view_torn, "%s %u→%u: torn view", name,
				      i, j);
			/* Non-present only on the disruptive path, and there at a sync point. */
			ck_assert_msg(o.view_not_present == (e->path == ENTRY_SYNC_DISRUPTIVE),
				      "%s %u→%u: non-present view on a %s path", name, i, j,
				      entry_sync_path_to_string(e->path));
			ck_assert(o.synced_not_present == (e->path == ENTRY_SYNC_DISRUPTIVE));

			predicted = entry_sync_predict(&old, &new);
			ck_assert(predicted.path == o.result.path);
			ck_assert_uint_eq(predicted.syncs, o.result.syncs);
			ck_assert_uint_eq(predicted.critical, o.result.critical);

			/* clear-then-update: never torn, always through non-present, 2 syncs. */
			run_writer(ENTRY_WRITER_CLEAR_THEN_UPDATE, &old, &new, &o);
			ck_assert(o.result.path == ENTRY_SYNC_DISRUPTIVE);
			ck_assert_uint_eq(o.syncs_recorded, 2);
			ck_assert(o.synced_not_present);
			ck_assert(!o.synced_torn && !o.view_torn);

			/* direct: one sync; torn exactly where two used quanta change. */
			run_writer(ENTRY_WRITER_DIRECT, &old, &new, &o);
			ck_assert(o.result.path == ENTRY_SYNC_DIRECT);
			ck_assert_uint_eq(o.syncs_recorded, e->path == ENTRY_SYNC_NOOP ? 0 : 1);
			ck_assert_msg(o.view_torn == (cross ? kc->tears_cross : kc->tears_same),
				      "%s %u→%u: direct writer torn=%d", name, i, j, o.view_torn);
			ck_assert(!o.synced_torn);
		}
}
END_TEST

START_TEST(test_attach_detach)
{
	const KindCase *kc = &kind_cases[_i];
	static const PasidEntry none = {};

	for (unsigned i = 0; i < N_DOMAINS; i++) {
		PasidEntry e;
		PasidConfig c;
		Observed o;
		unsigned syncs;

		ck_assert_int_eq(model_domain_config(kc->kind, i, &c), 0);
		domain_entry(kc->kind, i, &e);
		/* A first-stage table pointer lives in quantum 1: written ahead, cleaned after. */
		syncs = pasid_pgtt_has_first_stage(c.pgtt) ? 2 : 1;

		run_writer(ENTRY_WRITER_ENTRY_SYNC, &none, &e, &o);
		ck_assert(o.result.path == ENTRY_SYNC_HITLESS);
		ck_assert_uint_eq(o.result.syncs, syncs);
		ck_assert(!o.view_torn);

		run_writer(ENTRY_WRITER_ENTRY_SYNC, &e, &none, &o);
		ck_assert(o.result.path == ENTRY_SYNC_HITLESS);
		ck_assert_uint_eq(o.result.syncs, syncs);
		ck_assert(!o.view_torn);

		/* Same entry again: nothing to do. */
		run_writer(ENTRY_WRITER_ENTRY_SYNC, &e, &e, &o);
		ck_assert(o.result.path == ENTRY_SYNC_NOOP);
		ck_assert_uint_eq(o.syncs_recorded, 0);
	}
}
END_TEST

START_TEST(test_unused_bits_only)
{
	PasidEntry clean, dirty;
	Observed o;

	/* A second-stage entry with junk in quantum 1, which second-stage does not use. */
	domain_entry(TRANSITION_SS_DID, 0, &clean);
	dirty = clean;
	pasid_entry_set_qword(&dirty, 2, 0xabcd000);
	pasid_entry_set_qword(&dirty, 5, 0x42);

	run_writer(ENTRY_WRITER_ENTRY_SYNC, &dirty, &clean, &o);
	ck_assert(o.result.path == ENTRY_SYNC_NOOP);
	ck_assert_uint_eq(o.result.critical, 0);
	/* The junk is cleaned in one step, with one sync. */
	ck_assert_uint_eq(o.result.syncs, 1);
	ck_assert(!o.view_torn && !o.view_not_present);
}
END_TEST

START_TEST(test_kind_configs)
{
	TransitionKind kind = (TransitionKind)_i;
	PasidConfig c[N_DOMAINS];
	PasidEntry e;

	for (unsigned i = 0; i < N_DOMAINS; i++) {
		ck_assert_int_eq(model_domain_config(kind, i, &c[i]), 0);
		ck_assert_int_eq(pasid_entry_build(&c[i], &e), 0);
		ck_assert(c[i].present);
	}

	switch (kind) {
	case TRANSITION_SS_PTR:
	case TRANSITION_SS_DID:
		ck_assert(c[0].pgtt == PASID_PGTT_SL_ONLY && c[1].pgtt == PASID_PGTT_SL_ONLY);
		ck_assert(c[0].ssptptr != c[1].ssptptr);
		ck_assert((c[0].did != c[1].did) == (kind == TRANSITION_SS_DID));
		break;
	case TRANSITION_FS_PTR:
	case TRANSITION_FS_DID:
		ck_assert(c[0].pgtt == PASID_PGTT_FL_ONLY && c[1].pgtt == PASID_PGTT_FL_ONLY);
		ck_assert(c[0].fsptptr != c[1].fsptptr);
		ck_assert((c[0].did != c[1].did) == (kind == TRANSITION_FS_DID));
		break;
	case TRANSITION_NESTED_S1:
		ck_assert(c[0].pgtt == PASID_PGTT_NESTED && c[1].pgtt == PASID_PGTT_NESTED);
		ck_assert(c[0].fsptptr != c[1].fsptptr && c[0].ssptptr == c[1].ssptptr);
		ck_assert(c[0].did == c[1].did);
		break;
	case TRANSITION_NESTED_S2:
		ck_assert(c[0].pgtt == PASID_PGTT_NESTED);
		ck_assert(c[0].fsptptr == c[1].fsptptr && c[0].ssptptr != c[1].ssptptr);
		ck_assert(c[0].did != c[1].did);
		break;
	case TRANSITION_NESTED_BOTH:
		ck_assert(c[0].pgtt == PASID_PGTT_NESTED);
		ck_assert(c[0].fsptptr != c[1].fsptptr && c[0].ssptptr != c[1].ssptptr);
		ck_assert(c[0].did != c[1].did);
		break;
	case TRANSITION_SS_PT:
		ck_assert(c[0].pgtt == PASID_PGTT_PT && c[1].pgtt == PASID_PGTT_SL_ONLY);
		ck_assert(c[0].did == c[1].did);
		break;
	case TRANSITION_SS_FS:
		ck_assert(c[0].pgtt == PASID_PGTT_SL_ONLY && c[1].pgtt == PASID_PGTT_FL_ONLY);
		ck_assert(c[0].did == c[1].did);
		break;
	case TRANSITION_FS_PT:
		ck_assert(c[0].pgtt == PASID_PGTT_PT && c[1].pgtt == PASID_PGTT_FL_ONLY);
		ck_assert(c[0].did == c[1].did);
		break;
	case TRANSITION_PT_DID:
		ck_assert(c[0].pgtt == PASID_PGTT_PT && c[1].pgtt == PASID_PGTT_PT);
		ck_assert(c[0].did != c[1].did);
		break;
	default:
		ck_abort();
	}
	/* Period 2: domain i+2 has the shape of domain i. */
	ck_assert(c[0].pgtt == c[2].pgtt && c[1].pgtt == c[3].pgtt);
	ck_assert_int_eq(model_domain_config(kind, SCENARIO_MAX_DOMAINS, &c[0]), -EINVAL);
}
END_TEST

START_TEST(test_predict_per_pattern)
{
	const KindCase *kc = &kind_cases[_i];
	EntrySyncResult r;
	unsigned pairs;

	/* Ping-pong visits 0→1 and 1→0: the cross-parity row. */
	ck_assert_int_eq(model_predict(kc->kind, PATTERN_PING_PONG, 8, &r, &pairs), 0);
	ck_assert_uint_eq(pairs, 2);
	ck_assert(r.path == kc->cross.path);
	ck_assert_uint_eq(r.syncs, kc->cross.syncs);
	ck_assert_uint_eq(r.critical, kc->cross.critical);

	/* Round-robin over 5: 0→1→2→3→4→0, the last pair even→even. */
	ck_assert_int_eq(model_predict(kc->kind, PATTERN_ROUND_ROBIN, 5, &r, &pairs), 0);
	ck_assert_uint_eq(pairs, 5);
	ck_assert(r.path == MAX(kc->cross.path, kc->even_even.path));
	ck_assert_uint_eq(r.syncs, MAX(kc->cross.syncs, kc->even_even.syncs));

	/* Random: every ordered pair, here of 4 domains. */
	ck_assert_int_eq(model_predict(kc->kind, PATTERN_RANDOM, 4, &r, &pairs), 0);
	ck_assert_uint_eq(pairs, 12);
	ck_assert_uint_eq(r.syncs,
			  MAX(kc->cross.syncs, MAX(kc->even_even.syncs, kc->odd_odd.syncs)));

	ck_assert_int_eq(model_predict(kc->kind, PATTERN_PING_PONG, 1, &r, NULL), -EINVAL);
}
END_TEST

START_TEST(test_seeds_claims)
{
	/* The claims of the brief, by name, via the ping-pong analysis. */
	static const struct {
		const char *kind;
		EntrySyncPath path;
		unsigned syncs;
	} claims[] = {
		{"ss-ptr", ENTRY_SYNC_HITLESS, 1},	   {"ss-did", ENTRY_SYNC_HITLESS, 1},
		{"fs-ptr", ENTRY_SYNC_HITLESS, 1},	   {"nested-s1", ENTRY_SYNC_HITLESS, 1},
		{"nested-s2", ENTRY_SYNC_HITLESS, 1},	   {"pt-did", ENTRY_SYNC_HITLESS, 1},
		{"ss-pt", ENTRY_SYNC_HITLESS, 1},	   {"ss-fs", ENTRY_SYNC_HITLESS, 2},
		{"fs-pt", ENTRY_SYNC_HITLESS, 2},	   {"fs-did", ENTRY_SYNC_DISRUPTIVE, 3},
		{"nested-both", ENTRY_SYNC_DISRUPTIVE, 3},
	};

	for (size_t i = 0; i < ELEMENTSOF(claims); i++) {
		int kind = transition_kind_from_string(claims[i].kind);
		EntrySyncResult r;

		ck_assert_int_ge(kind, 0);
		ck_assert_int_eq(model_predict(kind, PATTERN_PING_PONG, 2, &r, NULL), 0);
		ck_assert_msg(r.path == claims[i].path && r.syncs == claims[i].syncs,
			      "%s: %s with %u syncs", claims[i].kind,
			      entry_sync_path_to_string(r.path), r.syncs);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("entry-sync");
	TCase *tc = tcase_create("writers");

	tcase_add_loop_test(tc, test_kind_pairs, 0, (int)ELEMENTSOF(kind_cases));
	tcase_add_loop_test(tc, test_attach_detach, 0, (int)ELEMENTSOF(kind_cases));
	tcase_add_test(tc, test_unused_bits_only);
	tcase_add_loop_test(tc, test_kind_configs, 0, _TRANSITION_KIND_MAX);
	tcase_add_loop_test(tc, test_predict_per_pattern, 0, (int)ELEMENTSOF(kind_cases));
	tcase_add_test(tc, test_seeds_claims);
	suite_add_tcase(s, tc);
	return check_run(s);
}
