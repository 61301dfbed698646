/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "macro.h"
#include "parse-util.h"
#include "backends/model/walker.h"

#define RING_SIZE   64u /* descriptors in flight at most (a power of 2) */
#define WAIT_SPINS  64u
#define WAIT_YIELDS 8u
#define PARK_MAX_NS (100 * NSEC_PER_MSEC) /* a lost wake-up costs this much, never a hang */
#define PACE_SLACK_NS \
	(100 * NSEC_PER_MSEC) /* a paced sender never bursts more than this to catch up */

/*
 * Single-producer/single-consumer index pair. Each side keeps a cached copy of
 * the other's index on its own cache line; the consumer parks on a futex
 * when the ring stays empty, and the producer wakes it only if it said so.
 */
typedef struct Ring {
	_Alignas(64) uint64_t head; /* consumer */
	uint64_t tail_cache;
	_Alignas(64) uint64_t tail; /* producer */
	_Alignas(64) uint32_t parked;
} Ring;

typedef struct DmaDesc {
	uint64_t seq;
	uint64_t src_iova;
	uint64_t dst_iova;
	uint32_t ap;
	uint32_t slot;
	uint32_t len;
} DmaDesc;

typedef struct DmaCompletion {
	uint64_t fault_iova;
	uint32_t slot;
	uint32_t reason; /* 0: copied */
	uint8_t access;
	bool during;
	uint32_t domain; /* translated through, UINT32_MAX if none matched */
} DmaCompletion;

/* A source/destination buffer pair in model memory, owned by one transfer at a time. */
typedef struct DmaSlot {
	uint64_t src_off;
	uint64_t dst_off;
	uint64_t seq;
	uint32_t ap;
} DmaSlot;

struct Walker {
	Model *model;
	WalkerParams params;

	pthread_t walker_thread;
	pthread_t traffic_thread;
	bool running;

	_Alignas(64) bool stop;	       /* main → traffic: stop issuing */
	_Alignas(64) bool walker_exit; /* traffic → walker: nothing more will come */

	Ring desc_ring; /* traffic → walker */
	DmaDesc descs[RING_SIZE];
	Ring comp_ring; /* walker → traffic */
	DmaCompletion comps[RING_SIZE];

	/* The traffic thread's own. */
	DmaSlot slots[RING_SIZE];
	unsigned free_slots[RING_SIZE];
	unsigned n_slots;
	uint64_t seq;
};

static long futex(uint32_t *addr, int op, uint32_t val, const struct timespec *timeout)
{
	return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

static bool ring_ready(Ring *r)
{
	if (r->tail_cache != r->head)
		return true;
	r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	return r->tail_cache != r->head;
}

/* Producer: publish what was written; wake the consumer only if it parked. */
static void ring_notify(Ring *r)
{
	/* Orders the tail store before the parked load, against ring_park()'s mirror image. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->parked, __ATOMIC_RELAXED)) {
		__atomic_store_n(&r->parked, 0, __ATOMIC_RELAXED);
		(void)futex(&r->parked, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

/* Any thread: wake the consumer whatever it is waiting for (stop requests). */
static void ring_kick(Ring *r)
{
	__atomic_store_n(&r->parked, 0, __ATOMIC_SEQ_CST);
	(void)futex(&r->parked, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/*
 * Consumer: wait until the ring has something, *flag is set or timeout_ns has
 * passed. Spins briefly, then yields, then parks: this machine may have more
 * busy threads than cores, and the producer may be waiting for this CPU.
 */
static void ring_wait(Ring *r, const bool *flag, uint64_t timeout_ns)
{
	struct timespec ts;

	for (unsigned i = 0; i < WAIT_SPINS + WAIT_YIELDS; i++) {
		if (ring_ready(r) || (flag && __atomic_load_n(flag, __ATOMIC_ACQUIRE)))
			return;
		if (i < WAIT_SPINS)
			__builtin_ia32_pause();
		else
			sched_yield();
	}

	__atomic_store_n(&r->parked, 1, __ATOMIC_SEQ_CST);
	/* Orders the parked store before the tail load, against ring_notify()'s fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!ring_ready(r) && !(flag && __atomic_load_n(flag, __ATOMIC_SEQ_CST))) {
		timeout_ns = MIN(timeout_ns, PARK_MAX_NS);
		ts.tv_sec = (time_t)(timeout_ns / NSEC_PER_SEC);
		ts.tv_nsec = (long)(timeout_ns % NSEC_PER_SEC);
		(void)futex(&r->parked, FUTEX_WAIT_PRIVATE, 1, &ts);
	}
	__atomic_store_n(&r->parked, 0, __ATOMIC_RELAXED);
}

/* The data of transfer seq: distinct for every seq, cheap to make and check. */
static uint64_t pattern_seed(const Walker *w, uint64_t seq)
{
	uint64_t z = seq + w->params.seed * UINT64_C(0x9E3779B97F4A7C15);

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t pattern_word(uint64_t seed, size_t i)
{
	return seed + i * UINT64_C(0x9E3779B97F4A7C15);
}

static void pattern_fill(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i, n = len / 8;
	uint64_t v;

	for (i = 0; i < n; i++) {
		v = pattern_word(seed, i);
		memcpy(p + 8 * i, &v, 8);
	}
	v = pattern_word(seed, n);
	memcpy(p + 8 * n, &v, len % 8);
}

static bool pattern_check(const uint8_t *p, size_t len, uint64_t seed)
{
	size_t i, n = len / 8;
	uint64_t v, x;

	for (i = 0; i < n; i++) {
		memcpy(&x, p + 8 * i, 8);
		if (x != pattern_word(seed, i))
			return false;
	}
	v = pattern_word(seed, n);
	return memcmp(p + 8 * n, &v, len % 8) == 0;
}

static bool domain_matches(const ModelDomain *d, const PasidEntry *e)
{
	return d && pasid_entry_equal_masked(e, &d->entry, &d->used);
}

uint32_t walker_decode(const Model *m, const ModelPoint *p, const PasidEntry *e,
		       const ModelDomain **ret)
{
	const ModelDomain *domains = p->kind->domains;
	unsigned hint = __atomic_load_n(&p->target_domain, __ATOMIC_RELAXED);
	unsigned pgtt;

	if (!pasid_entry_present(e))
		return MODEL_FAULT_PASID_NOT_PRESENT;
	pgtt = pasid_entry_pgtt(e);
	if (!pasid_pgtt_valid(pgtt))
		return MODEL_FAULT_PASID_INVALID;

	/*
	 * Which of the point's domains is this? The last one and the one being
	 * written are the likely answers; anything else is searched. Equality
	 * on the used bits of a domain implies the same PGTT, hence the same
	 * used bits: bits the entry does not use may hold anything.
	 */
	if (domain_matches(p->cache_domain, e)) {
		*ret = p->cache_domain;
		return 0;
	}
	if (hint < m->n_domains && domain_matches(&domains[hint], e)) {
		*ret = &domains[hint];
		return 0;
	}
	for (unsigned i = 0; i < m->n_domains; i++)
		if (domain_matches(&domains[i], e)) {
			*ret = &domains[i];
			return 0;
		}

	/* No domain: the hardware would fault on a pointer to nowhere, else walk a mix of two. */
	if (pasid_pgtt_has_second_stage(pgtt) &&
	    !model_table_lookup(m, model_ss_class(pgtt),
				pasid_entry_qword(e, 0) & SM_PASID0_SSPTPTR))
		return MODEL_FAULT_SS_TABLE;
	if (pasid_pgtt_has_first_stage(pgtt) &&
	    !model_table_lookup(m, model_fs_class(pgtt),
				pasid_entry_qword(e, 2) & SM_PASID2_FSPTPTR))
		return MODEL_FAULT_FS_TABLE;
	return MODEL_FAULT_TORN_ENTRY;
}

uint32_t walker_translate(const Model *m, const ModelDomain *d, uint64_t iova, uint64_t len,
			  uint64_t *ret_pa)
{
	uint64_t pa, ipa;

	switch (d->config.pgtt) {
	case PASID_PGTT_PT:
		pa = iova;
		break;
	case PASID_PGTT_SL_ONLY:
		if (!model_table_map(d->ss, iova, len, &pa))
			return MODEL_FAULT_SS_PERMISSION;
		break;
	case PASID_PGTT_FL_ONLY:
		if (!model_table_map(d->fs, iova, len, &pa))
			return MODEL_FAULT_FS_NOT_PRESENT;
		break;
	case PASID_PGTT_NESTED:
		if (!model_table_map(d->fs, iova, len, &ipa))
			return MODEL_FAULT_FS_NOT_PRESENT;
		if (!model_table_map(d->ss, ipa, len, &pa))
			return MODEL_FAULT_SS_PERMISSION;
		break;
	default:
		return MODEL_FAULT_PASID_INVALID;
	}

	if (pa < m->mem_base || len > m->mem_size || pa - m->mem_base > m->mem_size - len)
		return MODEL_FAULT_BEYOND_MAX;
	*ret_pa = pa;
	return 0;
}

/*
 * The PASID-cache lookup. Must run with tseq odd: the entry is fetched only if
 * a sync invalidated the cached copy since, one 128-bit load per quantum, so a
 * writer storing in between yields a torn view, exactly as hardware would
 * see it. Entries that fault are not cached.
 */
static uint32_t pasid_cache_lookup(const Model *m, ModelPoint *p, const ModelDomain **ret)
{
	uint64_t gen = __atomic_load_n(&p->inv_gen, __ATOMIC_SEQ_CST);
	PasidEntry e;
	uint32_t reason;

	if (_likely_(p->cache_valid && p->cache_gen == gen)) {
		*ret = p->cache_domain;
		return 0;
	}

	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		e.q[i] = __atomic_load_n(&p->entry->q[i], __ATOMIC_ACQUIRE);
	reason = walker_decode(m, p, &e, ret);
	p->cache_valid = reason == 0;
	p->cache_gen = gen;
	if (reason == 0)
		p->cache_domain = *ret;
	return reason;
}

static uint64_t window_seq(const ModelPoint *p)
{
	return p->state ? __atomic_load_n(&p->state->window_seq, __ATOMIC_ACQUIRE) : 0;
}

static bool in_settle_window(const Walker *w, const ModelPoint *p, uint64_t now)
{
	return w->params.settle_ns > 0 && p->state &&
	       attach_point_in_window(p->state, now, w->params.settle_ns);
}

static void report(FaultQueue *q, FaultSource source, const ModelPoint *p, uint64_t now,
		   uint64_t iova, uint8_t access, uint32_t reason, bool during, uint32_t domain,
		   uint64_t seq)
{
	FaultRecord f = {
		.time_ns = now,
		.address = iova,
		.ap = p->index,
		.reason = reason,
		.source = (uint8_t)source,
		.access = access,
		.during_replace = during,
	};

	if (!q)
		return;
	/* The domain whose entry the translation went through, when it matched one. */
	if (domain != UINT32_MAX) {
		f.domain = domain;
		f.domain_known = true;
	}
	if (source == FAULT_SOURCE_DMA_VERIFY)
		snprintf(f.reason_text, sizeof(f.reason_text), "transfer %" PRIu64 ": %s", seq,
			 model_fault_reason_to_string(reason));
	else
		snprintf(f.reason_text, sizeof(f.reason_text), "%s",
			 model_fault_reason_to_string(reason));
	fault_queue_push(q, &f);
}

static void walker_dma(Walker *w, const DmaDesc *d, DmaCompletion *c)
{
	Model *m = w->model;
	ModelPoint *p = &m->points[d->ap];
	const ModelDomain *dom = NULL;
	uint64_t t = m->tseq, ws0, ws1, src_pa = 0, dst_pa = 0, fault_iova = d->src_iova, now;
	uint8_t access = FAULT_ACCESS_READ;
	uint32_t reason;
	bool during;

	ws0 = window_seq(p);

	/* The translation proper: what a sync has to wait for. */
	__atomic_store_n(&m->tseq, t + 1, __ATOMIC_SEQ_CST);
	reason = pasid_cache_lookup(m, p, &dom);
	if (reason == 0)
		reason = walker_translate(m, dom, d->src_iova, d->len, &src_pa);
	if (reason == 0) {
		access = FAULT_ACCESS_WRITE;
		fault_iova = d->dst_iova;
		reason = walker_translate(m, dom, d->dst_iova, d->len, &dst_pa);
	}
	__atomic_store_n(&m->tseq, t + 2, __ATOMIC_RELEASE);

	/* The data moves on the translation's result; the overlap case needs memmove. */
	if (reason == 0)
		memmove(m->memory + (dst_pa - m->mem_base), m->memory + (src_pa - m->mem_base),
			d->len);

	ws1 = window_seq(p);
	during = (ws0 & 1) || ws0 != ws1;

	counter_inc(p->translations);
	if (dom)
		counter_inc(p->kind->domains[dom->index].translations);
	if (reason != 0) {
		counter_inc(p->faults);
		if (dom)
			counter_inc(p->kind->domains[dom->index].faults);
		now = now_ns(CLOCK_MONOTONIC);
		during = during || in_settle_window(w, p, now);
		report(w->params.walker_faults, FAULT_SOURCE_MODEL, p, now, fault_iova, access,
		       reason, during, dom ? dom->index : UINT32_MAX, d->seq);
	}

	*c = (DmaCompletion){
		.fault_iova = fault_iova,
		.slot = d->slot,
		.reason = reason,
		.access = access,
		.during = during,
		.domain = dom ? dom->index : UINT32_MAX,
	};
}

static void *walker_main(void *userdata)
{
	Walker *w = userdata;
	Ring *in = &w->desc_ring, *out = &w->comp_ring;

	for (;;) {
		unsigned n = 0;

		while (ring_ready(in)) {
			const DmaDesc *d = &w->descs[in->head % RING_SIZE];

			/* No space check: there are never more transfers in flight than slots. */
			walker_dma(w, d, &w->comps[out->tail % RING_SIZE]);
			__atomic_store_n(&in->head, in->head + 1, __ATOMIC_RELEASE);
			__atomic_store_n(&out->tail, out->tail + 1, __ATOMIC_RELEASE);
			n++;
		}
		if (n > 0) {
			ring_notify(out);
			continue;
		}
		if (__atomic_load_n(&w->walker_exit, __ATOMIC_ACQUIRE))
			break;
		ring_wait(in, &w->walker_exit, PARK_MAX_NS);
	}
	return NULL;
}

static void traffic_issue(Walker *w, unsigned ap)
{
	Model *m = w->model;
	Ring *out = &w->desc_ring;
	unsigned s = w->free_slots[--w->n_slots];
	DmaSlot *slot = &w->slots[s];
	uint32_t len = w->params.dma_size;

	slot->seq = ++w->seq;
	slot->ap = ap;
	if (w->params.verify)
		pattern_fill(m->memory + slot->src_off, len, pattern_seed(w, slot->seq));

	w->descs[out->tail % RING_SIZE] = (DmaDesc){
		.seq = slot->seq,
		.src_iova = m->iova + slot->src_off,
		.dst_iova = m->iova + slot->dst_off,
		.ap = ap,
		.slot = s,
		.len = len,
	};
	__atomic_store_n(&out->tail, out->tail + 1, __ATOMIC_RELEASE);
}

static void traffic_complete(Walker *w, const DmaCompletion *c)
{
	Model *m = w->model;
	DmaSlot *slot = &w->slots[c->slot];
	ModelPoint *p = &m->points[slot->ap];
	uint32_t reason = c->reason;
	uint64_t iova = c->fault_iova, now;
	uint8_t access = c->access;

	if (reason == 0 && w->params.verify &&
	    !pattern_check(m->memory + slot->dst_off, w->params.dma_size,
			   pattern_seed(w, slot->seq))) {
		reason = MODEL_FAULT_DATA_MISMATCH;
		iova = m->iova + slot->dst_off;
		access = FAULT_ACCESS_WRITE;
	}

	if (reason == 0)
		counter_inc(p->dma_ok);
	else if (c->reason != 0) {
		/*
		 * The walker already reported this transfer's translation fault:
		 * one event, one fault. It still counts as a failed transfer.
		 */
		counter_inc(p->dma_errors);
	} else {
		counter_inc(p->dma_errors);
		now = now_ns(CLOCK_MONOTONIC);
		report(w->params.traffic_faults, FAULT_SOURCE_DMA_VERIFY, p, now, iova, access,
		       reason, c->during || in_settle_window(w, p, now), c->domain, slot->seq);
	}
	w->free_slots[w->n_slots++] = c->slot;
}

static void *traffic_main(void *userdata)
{
	Walker *w = userdata;
	Model *m = w->model;
	Ring *in = &w->comp_ring;
	uint64_t interval = w->params.dma_rate > 0 ? (uint64_t)(1e9 / w->params.dma_rate) : 0;
	uint64_t next_due = now_ns(CLOCK_MONOTONIC), now = 0;
	unsigned total_slots = w->n_slots, next_ap = 0;

	for (;;) {
		bool progress = false, stopping;
		unsigned pushed = 0;

		while (ring_ready(in)) {
			traffic_complete(w, &w->comps[in->head % RING_SIZE]);
			__atomic_store_n(&in->head, in->head + 1, __ATOMIC_RELEASE);
			progress = true;
		}

		stopping = __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
		if (stopping) {
			/* Every transfer issued is completed and counted before the walker goes. */
			if (w->n_slots == total_slots)
				break;
			ring_wait(in, NULL, PARK_MAX_NS);
			continue;
		}

		while (w->n_slots > 0) {
			if (interval) {
				now = now_ns(CLOCK_MONOTONIC);
				if (now < next_due)
					break;
				next_due = MAX(next_due + interval, now - MIN(now, PACE_SLACK_NS));
			}
			traffic_issue(w, next_ap);
			if (++next_ap == m->n_points)
				next_ap = 0;
			pushed++;
		}
		if (pushed > 0) {
			ring_notify(&w->desc_ring);
			continue;
		}
		if (progress)
			continue;
		ring_wait(in, &w->stop,
			  interval && w->n_slots > 0 && next_due > now ? next_due - now
								       : PARK_MAX_NS);
	}

	__atomic_store_n(&w->walker_exit, true, __ATOMIC_RELEASE);
	ring_kick(&w->desc_ring);
	return NULL;
}

static void slots_init(Walker *w)
{
	Model *m = w->model;
	uint64_t len = w->params.dma_size, stride = (len + 63) / 64 * 64;
	uint64_t pairs = MIN(m->map_size / (2 * stride), (uint64_t)RING_SIZE);

	if (pairs == 0) {
		/*
		 * Larger than half the range: one transfer at a time, source and
		 * destination overlapping (memmove), still shifted so that a
		 * missing copy shows unless the size is the whole range.
		 */
		w->slots[0] = (DmaSlot){.src_off = 0, .dst_off = m->map_size - len};
		pairs = 1;
	} else
		for (unsigned i = 0; i < pairs; i++)
			w->slots[i] = (DmaSlot){.src_off = 2 * i * stride,
						.dst_off = (2 * i + 1) * stride};

	for (unsigned i = 0; i < pairs; i++)
		w->free_slots[i] = (unsigned)pairs - 1 - i;
	w->n_slots = (unsigned)pairs;
}

int walker_new(Model *m, const WalkerParams *params, Walker **ret)
{
	Walker *w;

	if (params->dma_size == 0 || params->dma_size > m->map_size || params->dma_rate < 0)
		return -EINVAL;

	if (posix_memalign((void **)&w, CACHELINE, sizeof(*w)) != 0)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	w->model = m;
	w->params = *params;
	slots_init(w);
	*ret = w;
	return 0;
}

static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
	sigset_t all, saved;
	int r;

	/* Signals belong to the main loop: the model's threads block them all. */
	sigfillset(&all);
	r = pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (r != 0)
		return -r;
	r = pthread_create(t, NULL, fn, arg);
	(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r != 0)
		return -r;
	(void)pthread_setname_np(*t, name);
	return 0;
}

int walker_start(Walker *w)
{
	int r;

	if (w->running)
		return 0;
	w->stop = false;
	w->walker_exit = false;

	r = thread_start(&w->walker_thread, walker_main, w, "model-walker");
	if (r < 0)
		return r;
	r = thread_start(&w->traffic_thread, traffic_main, w, "model-traffic");
	if (r < 0) {
		__atomic_store_n(&w->walker_exit, true, __ATOMIC_RELEASE);
		ring_kick(&w->desc_ring);
		(void)pthread_join(w->walker_thread, NULL);
		return r;
	}
	w->running = true;
	return 0;
}

void walker_stop(Walker *w)
{
	if (!w || !w->running)
		return;
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	ring_kick(&w->comp_ring);
	(void)pthread_join(w->traffic_thread, NULL);
	(void)pthread_join(w->walker_thread, NULL);
	w->running = false;
}

bool walker_running(const Walker *w)
{
	return w && w->running;
}

Walker *walker_free(Walker *w)
{
	if (!w)
		return NULL;
	walker_stop(w);
	free(w);
	return NULL;
}

void walker_counters(const Model *m, WalkerCounters *ret)
{
	WalkerCounters c = {};

	for (size_t i = 0; i < m->n_points; i++) {
		const ModelPoint *p = &m->points[i];

		c.translations += counter_get(p->translations);
		c.faults += counter_get(p->faults);
		c.dma_ok += counter_get(p->dma_ok);
		c.dma_errors += counter_get(p->dma_errors);
	}
	*ret = c;
}
