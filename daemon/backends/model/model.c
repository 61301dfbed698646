/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/model/model.h"
#include "counter.h"
#include "macro.h"

/*
 * A random pattern visits every ordered pair; kinds repeat with period 2, so
 * the pairs among this many domains already cover every pair class.
 */
#define PREDICT_RANDOM_DOMAINS 64u

/* How long a sync spins on a translation in flight before it yields the CPU. */
#define SYNC_SPINS 256u

const char *model_fault_reason_to_string(uint32_t reason)
{
	switch (reason) {
	case MODEL_FAULT_PASID_NOT_PRESENT:
		return "SM: Present bit in PASID Table Entry is clear";
	case MODEL_FAULT_PASID_INVALID:
		return "SM: Invalid Scalable-Mode PASID Table Entry";
	case MODEL_FAULT_FS_TABLE:
		return "SM: Error attempting to access first-level paging entry";
	case MODEL_FAULT_FS_NOT_PRESENT:
		return "SM: Present bit in first-level paging entry is clear";
	case MODEL_FAULT_SS_PERMISSION:
		return "SM: Read/Write permission error in second-level paging entry";
	case MODEL_FAULT_SS_TABLE:
		return "SM: Invalid second-level page table pointer";
	case MODEL_FAULT_BEYOND_MAX:
		return "SM: Address beyond the DMA hardware max";
	case MODEL_FAULT_TORN_ENTRY:
		return "model: torn PASID entry, matches none of the point's domains";
	case MODEL_FAULT_DATA_MISMATCH:
		return "model: DMA destination does not hold the expected pattern";
	default:
		return "Unknown";
	}
}

uint64_t model_table_ptr(ModelTableClass c, unsigned i)
{
	/* Class in bits 32 and up, index in bits 12..31: found again without a search. */
	return ((uint64_t)(c + 1) << 32) | ((uint64_t)i << 12);
}

const ModelTable *model_table_lookup(const Model *m, ModelTableClass c, uint64_t ptr)
{
	uint64_t base = model_table_ptr(c, 0);

	if (ptr < base || (ptr - base) % 4096 || (ptr - base) / 4096 >= m->n_domains)
		return NULL;
	return &m->tables[c][(ptr - base) / 4096];
}

int model_domain_config(TransitionKind kind, unsigned i, PasidConfig *ret)
{
	/* One DID per kind, plus the domain's index where the kind changes the DID. */
	uint16_t did = (uint16_t)(1 + kind * SCENARIO_MAX_DOMAINS);
	uint16_t did_own = (uint16_t)(did + i);
	bool even = i % 2 == 0;
	PasidConfig c = {
		.present = true,
		.aw = PASID_AW_48,
		.did = did,
	};

	if ((unsigned)kind >= _TRANSITION_KIND_MAX || i >= SCENARIO_MAX_DOMAINS)
		return -EINVAL;

	switch (kind) {
	case TRANSITION_SS_PTR:
	case TRANSITION_SS_DID:
		c.pgtt = PASID_PGTT_SL_ONLY;
		c.ssptptr = model_table_ptr(MODEL_TABLE_SS, i);
		if (kind == TRANSITION_SS_DID)
			c.did = did_own;
		break;
	case TRANSITION_FS_PTR:
	case TRANSITION_FS_DID:
		c.pgtt = PASID_PGTT_FL_ONLY;
		c.fsptptr = model_table_ptr(MODEL_TABLE_FS, i);
		if (kind == TRANSITION_FS_DID)
			c.did = did_own;
		break;
	case TRANSITION_NESTED_S1:
		c.pgtt = PASID_PGTT_NESTED;
		c.fsptptr = model_table_ptr(MODEL_TABLE_S1, i);
		c.ssptptr = model_table_ptr(MODEL_TABLE_S2, 0);
		break;
	case TRANSITION_NESTED_S2:
		c.pgtt = PASID_PGTT_NESTED;
		c.did = did_own;
		c.fsptptr = model_table_ptr(MODEL_TABLE_S1, 0);
		c.ssptptr = model_table_ptr(MODEL_TABLE_S2, i);
		break;
	case TRANSITION_NESTED_BOTH:
		c.pgtt = PASID_PGTT_NESTED;
		c.did = did_own;
		c.fsptptr = model_table_ptr(MODEL_TABLE_S1, i);
		c.ssptptr = model_table_ptr(MODEL_TABLE_S2, i);
		break;
	case TRANSITION_SS_PT:
		/* Even: pass-through; odd: second-stage, so that odd domains can lack the range. */
		c.pgtt = even ? PASID_PGTT_PT : PASID_PGTT_SL_ONLY;
		if (!even)
			c.ssptptr = model_table_ptr(MODEL_TABLE_SS, i);
		break;
	case TRANSITION_SS_FS:
		c.pgtt = even ? PASID_PGTT_SL_ONLY : PASID_PGTT_FL_ONLY;
		if (even)
			c.ssptptr = model_table_ptr(MODEL_TABLE_SS, i);
		else
			c.fsptptr = model_table_ptr(MODEL_TABLE_FS, i);
		break;
	case TRANSITION_FS_PT:
		/* Pass-through on even domains as for ss-pt, for the same reason. */
		c.pgtt = even ? PASID_PGTT_PT : PASID_PGTT_FL_ONLY;
		if (!even)
			c.fsptptr = model_table_ptr(MODEL_TABLE_FS, i);
		break;
	case TRANSITION_PT_DID:
		c.pgtt = PASID_PGTT_PT;
		c.did = did_own;
		break;
	default:
		return -EINVAL;
	}

	*ret = c;
	return 0;
}

/* Does the kind give odd domains a page table they can lack? */
static bool kind_supports_missing_range(TransitionKind kind)
{
	return kind != TRANSITION_PT_DID;
}

static void predict_merge(EntrySyncResult *acc, const EntrySyncResult *r)
{
	static const unsigned severity[_ENTRY_SYNC_PATH_MAX] = {
		[ENTRY_SYNC_NOOP] = 0,
		[ENTRY_SYNC_HITLESS] = 1,
		[ENTRY_SYNC_DISRUPTIVE] = 2,
		[ENTRY_SYNC_DIRECT] = 3,
	};

	if (severity[r->path] > severity[acc->path])
		acc->path = r->path;
	acc->critical = MAX(acc->critical, r->critical);
	acc->syncs = MAX(acc->syncs, r->syncs);
}

static int predict_pair(TransitionKind kind, unsigned from, unsigned to, EntrySyncResult *acc)
{
	PasidConfig cf, ct;
	PasidEntry ef, et;
	EntrySyncResult r;
	int k;

	k = model_domain_config(kind, from, &cf);
	if (k < 0)
		return k;
	k = model_domain_config(kind, to, &ct);
	if (k < 0)
		return k;
	k = pasid_entry_build(&cf, &ef);
	if (k < 0)
		return k;
	k = pasid_entry_build(&ct, &et);
	if (k < 0)
		return k;
	r = entry_sync_predict(&ef, &et);
	predict_merge(acc, &r);
	return 0;
}

int model_predict(TransitionKind kind, Pattern pattern, unsigned n_domains, EntrySyncResult *ret,
		  unsigned *ret_pairs)
{
	EntrySyncResult acc = {.path = ENTRY_SYNC_NOOP};
	unsigned pairs = 0, n;
	int k;

	if (n_domains < 2)
		return -EINVAL;

	switch (pattern) {
	case PATTERN_PING_PONG:
		for (unsigned i = 0; i < 2; i++, pairs++) {
			k = predict_pair(kind, i, 1 - i, &acc);
			if (k < 0)
				return k;
		}
		break;
	case PATTERN_ROUND_ROBIN:
		for (unsigned i = 0; i < n_domains; i++, pairs++) {
			k = predict_pair(kind, i, (i + 1) % n_domains, &acc);
			if (k < 0)
				return k;
		}
		break;
	case PATTERN_RANDOM:
		n = MIN(n_domains, PREDICT_RANDOM_DOMAINS);
		for (unsigned i = 0; i < n; i++)
			for (unsigned j = 0; j < n; j++) {
				if (i == j)
					continue;
				k = predict_pair(kind, i, j, &acc);
				if (k < 0)
					return k;
				pairs++;
			}
		break;
	default:
		return -EINVAL;
	}

	*ret = acc;
	if (ret_pairs)
		*ret_pairs = pairs;
	return 0;
}

static void *zalloc_aligned(size_t size)
{
	void *p;

	if (posix_memalign(&p, CACHELINE, size ? size : 1) != 0)
		return NULL;
	memset(p, 0, size);
	return p;
}

PasidEntry *model_pasid_entry(Model *m, uint32_t point)
{
	uint32_t pasid = point == ATTACH_POINT_RID ? PASID_RID_PASID : point;
	PasidEntry **leaf;

	if (pasid > PASID_MAX)
		return NULL;
	leaf = &m->pasid_dir[pasid >> MODEL_PASID_LEAF_SHIFT];
	if (!*leaf) {
		/* One 4 KiB page of 64 entries, like a VT-d PASID table. */
		*leaf = zalloc_aligned(sizeof(PasidEntry) << MODEL_PASID_LEAF_SHIFT);
		if (!*leaf)
			return NULL;
	}
	return &(*leaf)[pasid & ((1u << MODEL_PASID_LEAF_SHIFT) - 1)];
}

static void point_sync(EntryWriter *w)
{
	ModelPoint *p = container_of(w, ModelPoint, writer);
	uint64_t t;

	/*
	 * Invalidate the point's PASID-cache entry, then wait for the
	 * translation in flight, if any: it may have fetched the entry before
	 * this generation was published. One writer per point, so a plain
	 * increment published with a full barrier is enough.
	 */
	__atomic_store_n(&p->inv_gen, p->inv_gen + 1, __ATOMIC_SEQ_CST);
	t = __atomic_load_n(&p->model->tseq, __ATOMIC_SEQ_CST);
	if (!(t & 1))
		return;
	for (unsigned spins = 0; __atomic_load_n(&p->model->tseq, __ATOMIC_ACQUIRE) == t; spins++) {
		/* More busy threads than cores: the walker may be waiting for this CPU. */
		if (spins < SYNC_SPINS)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static int kind_new(Model *m, TransitionKind kind, ModelKind **ret)
{
	_cleanup_free_ ModelKind *k = NULL;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->kind = kind;
	k->domains = zalloc_aligned(sizeof(ModelDomain) * m->n_domains);
	if (!k->domains)
		return -ENOMEM;

	for (unsigned i = 0; i < m->n_domains; i++) {
		ModelDomain *d = &k->domains[i];

		r = model_domain_config(kind, i, &d->config);
		if (r < 0)
			goto fail;
		r = pasid_entry_build(&d->config, &d->entry);
		if (r < 0)
			goto fail;
		pasid_entry_get_used(&d->entry, &d->used);
		d->index = i;

		/* Resolved once here: the walker's cache hit path never looks tables up. */
		if (pasid_pgtt_has_second_stage(d->config.pgtt))
			d->ss = model_table_lookup(m, model_ss_class(d->config.pgtt),
						   d->config.ssptptr);
		if (pasid_pgtt_has_first_stage(d->config.pgtt))
			d->fs = model_table_lookup(m, model_fs_class(d->config.pgtt),
						   d->config.fsptptr);
	}

	r = model_predict(kind, m->pattern, m->n_domains, &k->predicted, &k->n_pairs);
	if (r < 0)
		goto fail;

	*ret = TAKE_PTR(k);
	return 0;
fail:
	free(k->domains);
	return r;
}

static void tables_init(Model *m, ModelTableClass c)
{
	for (unsigned i = 0; i < m->n_domains; i++) {
		ModelTable *t = &m->tables[c][i];
		bool missing = m->layout == LAYOUT_MISSING_RANGE && i % 2 == 1;

		t->in_base = c == MODEL_TABLE_S2 ? MODEL_IPA_BASE : m->iova;
		t->size = missing ? 0 : m->map_size;
		t->out_base = c == MODEL_TABLE_S1 ? MODEL_IPA_BASE : m->mem_base;
	}
}

int model_new(const ModelParams *params, Model **ret, char **error)
{
	_cleanup_(model_freep) Model *m = NULL;
	int r;

	if (params->n_domains < 2 || params->n_domains > SCENARIO_MAX_DOMAINS)
		return backend_errorf(error, -EINVAL, "the model needs 2 to %u domains, not %u",
				      SCENARIO_MAX_DOMAINS, params->n_domains);
	if (params->n_points == 0)
		return backend_errorf(error, -EINVAL,
				      "the model needs at least one attachment point");
	if (params->map_size == 0 || params->map_size % 4096 || params->iova % 4096)
		return backend_errorf(error, -EINVAL,
				      "IOVA and MapSize must be multiples of 4 KiB");
	if (params->iova >= UINT64_C(1) << MODEL_ADDRESS_BITS ||
	    params->map_size > (UINT64_C(1) << MODEL_ADDRESS_BITS) - params->iova)
		return backend_errorf(error, -EINVAL,
				      "IOVA 0x%" PRIx64 " + MapSize %" PRIu64
				      " does not fit the model's %u-bit address width",
				      params->iova, params->map_size, MODEL_ADDRESS_BITS);

	m = zalloc_aligned(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->iova = params->iova;
	m->map_size = params->map_size;
	m->n_domains = params->n_domains;
	m->layout = params->layout;
	m->pattern = params->pattern;
	m->writer = params->writer;

	/* Memory sits at PA == IOVA so that pass-through (identity) reaches it too. */
	m->mem_base = params->iova;
	m->mem_size = params->map_size;
	m->memory = zalloc_aligned(m->mem_size);
	if (!m->memory)
		return -ENOMEM;

	for (unsigned c = 0; c < _MODEL_TABLE_CLASS_MAX; c++) {
		m->tables[c] = calloc(m->n_domains, sizeof(ModelTable));
		if (!m->tables[c])
			return -ENOMEM;
		tables_init(m, c);
	}

	m->pasid_dir = calloc(MODEL_PASID_DIR_ENTRIES, sizeof(PasidEntry *));
	if (!m->pasid_dir)
		return -ENOMEM;

	m->points = zalloc_aligned(sizeof(ModelPoint) * params->n_points);
	if (!m->points)
		return -ENOMEM;
	m->n_points = params->n_points;

	for (size_t i = 0; i < params->n_points; i++) {
		ModelPoint *p = &m->points[i];
		TransitionKind kind = params->n_transitions > 0
					      ? params->transitions[i % params->n_transitions]
					      : TRANSITION_SS_DID;
		uint32_t point = params->points[i];
		char buf[32];

		if ((unsigned)kind >= _TRANSITION_KIND_MAX)
			return backend_errorf(error, -EINVAL, "unknown transition kind %u",
					      (unsigned)kind);
		if (point != ATTACH_POINT_RID && (point == 0 || point > PASID_MAX))
			return backend_errorf(error, -EINVAL, "PASID %" PRIu32 " is outside 1..%u",
					      point, PASID_MAX);
		if (m->layout == LAYOUT_MISSING_RANGE && !kind_supports_missing_range(kind))
			return backend_errorf(
				error, -EINVAL,
				"Layout=missing-range needs page tables on odd domains, but "
				"transition kind %s (point %s) is pass-through only",
				strempty(transition_kind_to_string(kind)),
				attach_point_to_string(point, buf, sizeof(buf)));

		if (!m->kinds[kind]) {
			r = kind_new(m, kind, &m->kinds[kind]);
			if (r < 0)
				return r;
		}

		p->entry = model_pasid_entry(m, point);
		if (!p->entry)
			return -ENOMEM;
		for (size_t j = 0; j < i; j++)
			if (m->points[j].entry == p->entry)
				return backend_errorf(
					error, -EINVAL, "attachment point %s is listed twice",
					attach_point_to_string(point, buf, sizeof(buf)));
		p->writer.sync = point_sync;
		p->model = m;
		p->kind = m->kinds[kind];
		p->pasid = point;
		p->index = (unsigned)i;
		p->state = params->aps ? &params->aps[i] : NULL;
	}

	*ret = TAKE_PTR(m);
	return 0;
}

Model *model_free(Model *m)
{
	if (!m)
		return NULL;
	if (m->pasid_dir)
		for (size_t i = 0; i < MODEL_PASID_DIR_ENTRIES; i++)
			free(m->pasid_dir[i]);
	free(m->pasid_dir);
	for (unsigned k = 0; k < _TRANSITION_KIND_MAX; k++) {
		if (!m->kinds[k])
			continue;
		free(m->kinds[k]->domains);
		free(m->kinds[k]);
	}
	for (unsigned c = 0; c < _MODEL_TABLE_CLASS_MAX; c++)
		free(m->tables[c]);
	free(m->points);
	free(m->memory);
	free(m);
	return NULL;
}

static void point_account(ModelPoint *p, const EntrySyncResult *r)
{
	counter_inc(p->writes);
	counter_add(p->syncs, r->syncs);
	counter_inc(p->paths[r->path]);
}

int model_write(Model *m, unsigned ap, unsigned domain, EntrySyncResult *ret)
{
	ModelPoint *p;
	EntrySyncResult r;

	if (_unlikely_(ap >= m->n_points || domain >= m->n_domains))
		return -EINVAL;
	p = &m->points[ap];

	__atomic_store_n(&p->target_domain, domain, __ATOMIC_RELAXED);
	r = entry_write(m->writer, &p->writer, p->entry, &p->kind->domains[domain].entry);
	point_account(p, &r);
	if (ret)
		*ret = r;
	return 0;
}

int model_clear(Model *m, unsigned ap, EntrySyncResult *ret)
{
	static const PasidEntry none = {};
	ModelPoint *p;
	EntrySyncResult r;

	if (ap >= m->n_points)
		return -EINVAL;
	p = &m->points[ap];

	r = entry_write(m->writer, &p->writer, p->entry, &none);
	point_account(p, &r);
	if (ret)
		*ret = r;
	return 0;
}
