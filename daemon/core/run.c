/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "counter.h"
#include "pacer.h"
#include "core/run.h"
#include "log.h"
#include "parse-util.h"

struct Worker {
	Run *run;
	unsigned index;
	pthread_t thread;
	bool started;
	unsigned *aps;
	size_t n_aps;
	uint64_t quota;	      /* successful replacements to make, 0 = until stopped */
	uint64_t interval_ns; /* pacing for Rate=, 0 = as fast as possible */
	uint64_t rng;
	Histogram *hist; /* this worker's replace() latencies, merged on every tick */
	_Alignas(CACHELINE) uint64_t errors_by_errno[RUN_ERRNO_SLOTS];
	bool exited;
};

static const char *const run_state_table[_RUN_STATE_MAX] = {
	[RUN_STARTING] = "starting", [RUN_RUNNING] = "running", [RUN_STOPPING] = "stopping",
	[RUN_FINISHED] = "finished", [RUN_FAILED] = "failed",
};

const char *run_errno_slot_name(unsigned slot, char *buf, size_t n)
{
	const char *name = slot + 1 < RUN_ERRNO_SLOTS ? errno_to_name((int)slot) : NULL;

	if (name)
		return name;
	/* The last slot takes every errno beyond it; glibc may not know some below. */
	snprintf(buf, n, "errno%u", slot);
	return buf;
}

const char *run_state_to_string(RunState s)
{
	return (unsigned)s < _RUN_STATE_MAX ? run_state_table[s] : "unknown";
}

bool run_is_active(const Run *r)
{
	return r->state == RUN_STARTING || r->state == RUN_RUNNING || r->state == RUN_STOPPING;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/*
 * The domain after cur. Ping-pong is round-robin over domains 0 and 1
 * (cycle = 2; round-robin's is Count=), which makes the two one computation
 * and saves the worker a compare per replacement.
 */
static _always_inline_ unsigned next_domain(bool random, unsigned cycle, unsigned n_domains,
					    unsigned cur, uint64_t *rng)
{
	unsigned k;

	if (random) {
		/* Uniform over the other domains: a replace with the current one would be a no-op. */
		k = (unsigned)(xorshift64(rng) % (n_domains - 1));
		return k >= cur ? k + 1 : k;
	}
	return cur + 1 >= cycle ? 0 : cur + 1;
}

static bool worker_stopping(void *userdata)
{
	Run *r = userdata;

	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

/* Returns true when the worker must stop. */
static bool worker_error(Worker *w, RunPoint *pt, unsigned domain, int k)
{
	Run *r = w->run;
	unsigned slot = MIN((unsigned)ERRNO_VALUE(k), RUN_ERRNO_SLOTS - 1);
	uint64_t total;
	char where[32], reason[256];

	counter_inc(w->errors_by_errno[slot]);
	counter_inc(pt->errors);
	total = __atomic_add_fetch(&r->error_count, 1, __ATOMIC_RELAXED);

	attach_point_to_string(pt->state->pasid, where, sizeof(where));
	/* The device went away under us: nothing further can succeed. */
	if (k == -ENODEV || k == -ENXIO) {
		snprintf(reason, sizeof(reason), "device removed (replace of %s failed: %s)", where,
			 strerror(ERRNO_VALUE(k)));
		fault_sink_fail(r->sink, k, reason);
		return true;
	}
	if (total > r->scenario->max_errors) {
		snprintf(reason, sizeof(reason), "replace of %s to domain %u failed: %s (%s)",
			 where, domain, strerror(ERRNO_VALUE(k)), strempty(errno_to_name(k)));
		fault_sink_fail(r->sink, k, reason);
		return true;
	}
	return false;
}

/*
 * What a worker's loop reads on every replacement, read once: the compiler
 * cannot keep these in registers by itself across the atomics and the
 * backend's indirect calls, and every reload is paid per replacement
 * (bench-instructions counts them).
 */
typedef struct WorkerLoop {
	Worker *w;
	Run *r;
	int (*replace)(void *, unsigned, unsigned);
	void (*gate)(void *, unsigned);
	int (*verify)(void *, unsigned);
	void *ctx;
	Histogram *hist;
	bool random;	/* Pattern=random */
	unsigned cycle; /* otherwise: 2 for ping-pong, Count= for round-robin */
	unsigned n_domains;
	Pacer pacer;
	uint64_t left; /* successful replacements still to make; UINT64_MAX: until stopped */
} WorkerLoop;

/*
 * One replacement of point ap. False when the worker must stop. Inlined
 * into both loops of worker_main() with a constant plain: true only in the
 * loop worker_main() chose because none of what plain leaves out applies to
 * this worker (pacing, Pattern=random, a backend gate or verify, a window
 * ring for after-the-fact fault sources, a histogram per point), so that the
 * compiler drops those checks from it. One body, two loops: what a
 * replacement does is written once.
 */
static _always_inline_ bool worker_step(WorkerLoop *l, RunPoint *pt, unsigned ap, const bool plain)
{
	Run *r = l->r;
	/* Read once: the atomics and the call below would make the compiler reload it. */
	AttachPointState *st = pt->state;
	unsigned d = next_domain(!plain && l->random, l->cycle, l->n_domains, pt->domain, &l->w->rng);
	uint64_t t0, t1;
	int k;

	if (!plain) {
		/*
		 * A Stop() (or the end of Duration=) that cuts the wait short ends
		 * the loop before the replacement it waited for: the one that would
		 * come at the end lands as traffic winds down, and Rate=1 for 5 s is
		 * the 4 replacements of seconds 1 to 4, not a fifth at the stop.
		 */
		if (!pacer_wait(&l->pacer, worker_stopping, r))
			return false;
		if (l->gate)
			l->gate(l->ctx, ap);
	}

	attach_point_window_open(st);
	t0 = now_ns(CLOCK_MONOTONIC);
	if (!plain && pt->windows) {
		pt->windows[pt->window_idx % RUN_WINDOW_RING][0] = t0;
		counter_set(pt->windows[pt->window_idx % RUN_WINDOW_RING][1], UINT64_MAX);
		__atomic_store_n(&pt->window_idx, pt->window_idx + 1, __ATOMIC_RELEASE);
	}
	k = l->replace(l->ctx, ap, d);
	t1 = now_ns(CLOCK_MONOTONIC);
	/* The new domain is published before the window closes: outside a window it is
	 * exact. */
	if (_likely_(k >= 0))
		__atomic_store_n(&st->domain, d, __ATOMIC_RELAXED);
	if (!plain && pt->windows) {
		uint64_t *w_ = pt->windows[(pt->window_idx - 1) % RUN_WINDOW_RING];

		counter_set(w_[2], k >= 0 ? d : pt->domain);
		counter_set(w_[1], t1);
	}
	attach_point_window_close(st, t1);

	if (_likely_(k >= 0)) {
		pt->domain = d;
		hist_record(l->hist, t1 - t0);
		if (!plain && pt->hist != l->hist)
			hist_record(pt->hist, t1 - t0);
		counter_inc(pt->replacements);
		l->left--;
	} else if (worker_error(l->w, pt, d, k))
		return false;

	/*
	 * Outside the window and the latency sample: a check that the
	 * kernel holds what the run measured is not a replacement, and
	 * a disagreement ends the run whatever MaxErrors= allows.
	 */
	if (!plain && l->verify && ++pt->since_verify >= BACKEND_VERIFY_EVERY) {
		pt->since_verify = 0;
		k = l->verify(l->ctx, ap);
		if (k < 0) {
			char where[32], reason[128];

			attach_point_to_string(pt->state->pasid, where, sizeof(where));
			snprintf(reason, sizeof(reason), "verifying %s failed: %s", where,
				 strerror(ERRNO_VALUE(k)));
			/* The backend's own explanation, given first, wins. */
			fault_sink_fail(r->sink, k, reason);
			return false;
		}
	}
	return true;
}

/*
 * The two loops, each in a function of its own with its own copy of the
 * WorkerLoop: the pacer's address escapes in the general loop only, and a
 * copy whose address does not escape lives in registers.
 */
static _noinline_ void worker_loop_plain(const WorkerLoop *l0)
{
	WorkerLoop l = *l0;
	unsigned ap = l.w->aps[0];
	RunPoint *pt = &l.r->points[ap];

	while (!__atomic_load_n(&l.r->stop, __ATOMIC_RELAXED) && l.left > 0)
		if (!worker_step(&l, pt, ap, true))
			break;
}

static _noinline_ void worker_loop(const WorkerLoop *l0)
{
	WorkerLoop l = *l0;
	size_t next = 0;

	while (!__atomic_load_n(&l.r->stop, __ATOMIC_RELAXED) && l.left > 0) {
		unsigned ap = l.w->aps[next];

		if (++next == l.w->n_aps)
			next = 0;
		if (!worker_step(&l, &l.r->points[ap], ap, false))
			break;
	}
}

static void *worker_main(void *userdata)
{
	Worker *w = userdata;
	Run *r = w->run;
	WorkerLoop l = {
		.w = w,
		.r = r,
		.replace = r->ops->replace,
		.gate = r->ops->gate,
		.verify = r->ops->verify,
		.ctx = r->ctx,
		.hist = w->hist,
		.random = r->scenario->pattern == PATTERN_RANDOM,
		.cycle = r->scenario->pattern == PATTERN_ROUND_ROBIN ? r->scenario->n_domains : 2,
		.n_domains = r->scenario->n_domains,
		.left = w->quota ?: UINT64_MAX,
	};

	pacer_init(&l.pacer, w->interval_ns, now_ns(CLOCK_MONOTONIC));

	/* One point, unpaced, a fixed cycle, nothing else per replacement: the model at Rate=max. */
	if (w->n_aps == 1 && !l.random && !l.gate && !l.verify && w->interval_ns == 0 &&
	    !r->points[w->aps[0]].windows && r->points[w->aps[0]].hist == l.hist)
		worker_loop_plain(&l);
	else
		worker_loop(&l);

	__atomic_store_n(&w->exited, true, __ATOMIC_RELEASE);
	(void)!write(r->wake_fd, &(uint64_t){1}, sizeof(uint64_t));
	return NULL;
}

bool run_point_lookup(Run *r, size_t ap, uint64_t t, uint32_t *ret_domain)
{
	RunPoint *pt = &r->points[ap];
	uint64_t settle = r->scenario->settle_ns, idx, oldest;
	uint32_t domain = UINT32_MAX;
	bool during;

	if (!pt->windows) {
		during = attach_point_in_window(pt->state, t, settle);
		if (!during)
			domain = attach_point_domain(pt->state);
		goto done;
	}
	idx = __atomic_load_n(&pt->window_idx, __ATOMIC_ACQUIRE);
	oldest = idx > RUN_WINDOW_RING ? idx - RUN_WINDOW_RING : 0;
	/* Windows are in time order: walk back to the last one that started before t. */
	while (idx > oldest) {
		uint64_t start, end, after;

		idx--;
		start = counter_get(pt->windows[idx % RUN_WINDOW_RING][0]);
		end = counter_get(pt->windows[idx % RUN_WINDOW_RING][1]);
		after = counter_get(pt->windows[idx % RUN_WINDOW_RING][2]);
		if (start > t)
			continue;
		during = end == UINT64_MAX || t <= end + settle;
		if (!during)
			domain = (uint32_t)after;
		goto done;
	}
	/* Before the first window every point is on domain 0; older than the ring, unknown. */
	during = false;
	if (idx == 0)
		domain = 0;
done:
	if (ret_domain)
		*ret_domain = domain;
	return during;
}

static void run_fault_cb(const FaultRecord *f, void *userdata)
{
	Run *r = userdata;
	RetainedFault rf = {
		.rec = *f,
		.replace_count = r->stats.replacements,
		.time_realtime_usec = f->time_ns / NSEC_PER_USEC + r->mono_to_realtime_usec_offset,
	};

	rf.rec.seq = ++r->fault_seq;
	if (f->ap < r->n_points) {
		RunPoint *pt = &r->points[f->ap];

		pt->faults++;
		if (f->source < _FAULT_SOURCE_MAX)
			pt->faults_by_source[f->source]++;
		if (f->during_replace)
			pt->faults_during++;
		if (f->domain_known && f->domain < r->scenario->n_domains && pt->faults_by_domain)
			pt->faults_by_domain[f->domain]++;
		else
			pt->faults_domain_unknown++;
	}
	r->signal_last = rf;
	r->signal_pending++;
	if (r->fault_cap == 0)
		return;
	r->faults[r->fault_head % r->fault_cap] = rf;
	r->fault_head++;
}

/*
 * One fault report stands for every record drained since the previous one
 * ("merged") and carries the latest: a storm costs the presenter (the bus's
 * Fault signal) at most 50 reports a second. Each also goes to the journal
 * with structured fields.
 */
static void run_emit_fault_signal(Run *r)
{
	const RetainedFault *f = &r->signal_last;
	char where[32], f_run[32], f_src[48], f_addr[48], f_reason[32], f_dev[96], f_pasid[32];
	const char *fields[] = {f_run, f_src, f_addr, f_reason, f_dev, f_pasid, NULL};
	bool known = f->rec.ap < r->n_points;

	if (r->signal_pending == 0)
		return;
	if (known)
		attach_point_to_string(r->points[f->rec.ap].state->pasid, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "unknown");
	if (r->events && r->events->fault)
		r->events->fault(r, f, r->signal_pending);

	snprintf(f_run, sizeof(f_run), "IOMMUTEST_RUN=%u", r->id);
	snprintf(f_src, sizeof(f_src), "FAULT_SOURCE=%s", fault_source_to_string(f->rec.source));
	snprintf(f_addr, sizeof(f_addr), "FAULT_ADDR=0x%" PRIx64, f->rec.address);
	snprintf(f_reason, sizeof(f_reason), "FAULT_REASON=0x%" PRIx32, f->rec.reason);
	snprintf(f_dev, sizeof(f_dev), "DEVICE=%s", strempty(r->scenario->device));
	if (known && r->points[f->rec.ap].state->pasid != ATTACH_POINT_RID)
		snprintf(f_pasid, sizeof(f_pasid), "PASID=%" PRIu32,
			 r->points[f->rec.ap].state->pasid);
	else
		snprintf(f_pasid, sizeof(f_pasid), "PASID=none");
	/* Per-fault records are for the journal, where fields filter them; on a console, noise. */
	(void)log_struct_internal(
		log_to_journal() ? LOG_INFO : LOG_DEBUG, 0, fields,
		"Run %u: %s fault on %s %s at 0x%" PRIx64 ", reason 0x%" PRIx32 " %s%s (%" PRIu64
		" since the last report)",
		r->id, fault_source_to_string(f->rec.source), strempty(r->scenario->device), where,
		f->rec.address, f->rec.reason, f->rec.reason_text,
		f->rec.during_replace ? ", during a replacement" : "", r->signal_pending);
	r->signal_pending = 0;
	r->signal_last_usec = now_ns(CLOCK_MONOTONIC) / NSEC_PER_USEC;
}

static int on_fault_signal(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_emit_fault_signal(userdata);
	return 0;
}

static void run_schedule_fault_signal(Run *r)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC) / NSEC_PER_USEC;
	int k;

	if (r->signal_pending == 0)
		return;
	if (!r->fault_signal || now >= r->signal_last_usec + RUN_FAULT_SIGNAL_USEC) {
		run_emit_fault_signal(r);
		return;
	}
	k = sd_event_source_set_time(r->fault_signal, r->signal_last_usec + RUN_FAULT_SIGNAL_USEC);
	if (k >= 0)
		k = sd_event_source_set_enabled(r->fault_signal, SD_EVENT_ONESHOT);
	if (k < 0)
		run_emit_fault_signal(r);
}

void run_drain_faults(Run *r)
{
	if (!r->sink) /* finished: everything was drained */
		return;
	(void)fault_sink_drain(r->sink, run_fault_cb, r);
	run_schedule_fault_signal(r);
}

void run_sample(Run *r)
{
	RunStats *st = &r->stats;
	BackendCounters bc = {};
	uint64_t now = now_ns(CLOCK_MONOTONIC), end, repl = 0, errs = 0;
	double secs;

	hist_init(r->merged);
	for (unsigned i = 0; i < r->n_workers; i++)
		if (r->workers[i].hist)
			hist_merge(r->merged, r->workers[i].hist);
	for (size_t i = 0; i < r->n_points; i++) {
		repl += counter_get(r->points[i].replacements);
		errs += counter_get(r->points[i].errors);
	}
	memset(r->errors_by_errno, 0, sizeof(r->errors_by_errno));
	for (unsigned i = 0; i < r->n_workers; i++)
		for (unsigned e = 0; e < RUN_ERRNO_SLOTS; e++)
			r->errors_by_errno[e] += counter_get(r->workers[i].errors_by_errno[e]);

	st->replacements = repl;
	st->replace_errors = errs;
	st->p50 = hist_percentile(r->merged, 50);
	st->p90 = hist_percentile(r->merged, 90);
	st->p99 = hist_percentile(r->merged, 99);
	st->p999 = hist_percentile(r->merged, 99.9);
	st->max = r->merged->count ? r->merged->max : 0;
	st->min = r->merged->count ? r->merged->min : 0;
	st->mean = hist_mean(r->merged);

	end = r->ended_mono_ns ?: now;
	st->elapsed_usec = r->started_mono_ns && end > r->started_mono_ns
				   ? (end - r->started_mono_ns) / NSEC_PER_USEC
				   : 0;
	secs = (double)st->elapsed_usec / 1e6;
	st->rate = secs > 0 ? (double)repl / secs : 0;

	/* After teardown the last sample stands: it was taken just before. */
	if (r->ctx && r->ops->sample) {
		r->ops->sample(r->ctx, &bc);
		st->dma_transfers = bc.dma_transfers;
		st->dma_errors = bc.dma_errors;
	}

	if (r->sink)
		fault_sink_totals(r->sink, &r->fault_totals);
	st->faults = st->faults_during = 0;
	for (unsigned i = 0; i < _FAULT_SOURCE_MAX; i++) {
		st->faults += r->fault_totals.total[i];
		st->faults_during += r->fault_totals.during_replace[i];
	}
	st->faults_at_rest = st->faults - st->faults_during;

	if (r->timeline) {
		TimelineCounts tc = {
			.replacements = st->replacements,
			.dma_transfers = st->dma_transfers,
			.dma_errors = st->dma_errors,
		};

		memcpy(tc.faults, r->fault_totals.total, sizeof(tc.faults));
		timeline_add(r->timeline, st->elapsed_usec, &tc);
	}
}

static void run_report_sample(Run *r)
{
	if (r->events && r->events->sampled)
		r->events->sampled(r);
}

static void run_report_state(Run *r)
{
	if (r->events && r->events->state_changed)
		r->events->state_changed(r);
}

static double expectation_actual(Run *r, ExpectMetric m)
{
	const RunStats *st = &r->stats;

	switch (m) {
	case EXPECT_FAULTS:
		return (double)st->faults;
	case EXPECT_FAULTS_DURING_REPLACE:
		return (double)st->faults_during;
	case EXPECT_FAULTS_AT_REST:
		return (double)st->faults_at_rest;
	case EXPECT_DMA_TRANSFERS:
		return (double)st->dma_transfers;
	case EXPECT_DMA_ERRORS:
		return (double)st->dma_errors;
	case EXPECT_REPLACEMENTS:
		return (double)st->replacements;
	case EXPECT_REPLACE_ERRORS:
		return (double)st->replace_errors;
	case EXPECT_RATE:
		return st->rate;
	case EXPECT_LATENCY_P99_NS:
		return (double)st->p99;
	default:
		return NAN;
	}
}

static void run_evaluate(Run *r)
{
	const Scenario *s = r->scenario;
	bool all = true;

	for (size_t i = 0; i < s->n_expect; i++) {
		r->expect_actual[i] = expectation_actual(r, s->expect[i].metric);
		r->expect_pass[i] = expectation_holds(&s->expect[i], r->expect_actual[i]);
		all = all && r->expect_pass[i];
	}
	free(r->verdict);
	if (r->state == RUN_FAILED)
		r->verdict = strdup("error");
	else if (s->n_expect == 0)
		r->verdict = strdup("none");
	else
		r->verdict = strdup(all ? "pass" : "fail");
}

static void run_set_reason(Run *r, const char *reason)
{
	if (r->reason && r->reason[0])
		return; /* the first cause is the one worth reporting */
	free(r->reason);
	r->reason = strdup(reason ?: "");
}

static int on_backend_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Run *r = userdata;

	if (r->ctx && r->ops->event_dispatch)
		r->ops->event_dispatch(r->ctx, fd);
	return 0;
}

static void run_unwatch_backend(Run *r)
{
	for (size_t i = 0; i < ELEMENTSOF(r->backend_sources); i++)
		r->backend_sources[i] = sd_event_source_disable_unref(r->backend_sources[i]);
}

static int run_watch_backend(Run *r)
{
	int fds[ELEMENTSOF(r->backend_sources)];
	int n, k;

	if (!r->ops->event_fds || !r->ops->event_dispatch)
		return 0;
	n = r->ops->event_fds(r->ctx, fds, ELEMENTSOF(fds));
	if (n < 0)
		return n;
	for (int i = 0; i < n && (size_t)i < ELEMENTSOF(fds); i++) {
		k = sd_event_add_io(r->event, &r->backend_sources[i], fds[i], EPOLLIN,
				    on_backend_fd, r);
		if (k < 0)
			return k;
		(void)sd_event_source_set_description(r->backend_sources[i], "run-backend-fd");
	}
	return 0;
}

/* Index of the RID among the run's points; n_points when it has none. */
static size_t rid_point(const Run *r)
{
	for (size_t i = 0; i < r->n_points; i++)
		if (r->ap_states[i].pasid == ATTACH_POINT_RID)
			return i;
	return r->n_points;
}

/*
 * The point at position pos of the attach order (rid from rid_point()): the
 * RID first, then the PASIDs as written. Detaching runs the order backwards,
 * so PASIDs go before the RID whose PASID-compatible HWPT iommufd requires
 * while they are attached, whatever order Points= lists them in.
 */
static size_t attach_order(const Run *r, size_t rid, size_t pos)
{
	if (rid == r->n_points)
		return pos;
	if (pos == 0)
		return rid;
	return pos <= rid ? pos - 1 : pos;
}

/* Undo whatever setup got done; safe at every stage and more than once. */
static void run_release_backend(Run *r)
{
	if (!r->ctx)
		return;
	if (r->traffic_on && r->ops->traffic_stop)
		r->ops->traffic_stop(r->ctx);
	r->traffic_on = false;
	if (r->attached)
		for (size_t pos = r->n_points, rid = rid_point(r); pos-- > 0;) {
			size_t i = attach_order(r, rid, pos);
			int k = r->ops->detach(r->ctx, (unsigned)i);
			if (k < 0)
				log_debug_errno(k, "Run %u: detach of point %zu failed: %m", r->id,
						i);
		}
	r->attached = false;
	/* Final counters, faults and the backend's own report are read before it goes away. */
	run_sample(r);
	run_drain_faults(r);
	if (r->ops->describe && !r->backend_info) {
		JsonWriter j;

		json_init(&j);
		json_object_begin(&j, NULL);
		r->ops->describe(r->ctx, &j);
		json_object_end(&j);
		r->backend_info = json_finish(&j, NULL);
	}
	run_unwatch_backend(r);
	r->ops->teardown(r->ctx);
	r->ctx = NULL;
}

static void run_join_workers(Run *r)
{
	for (unsigned i = 0; i < r->n_workers; i++)
		if (r->workers[i].started) {
			pthread_join(r->workers[i].thread, NULL);
			r->workers[i].started = false;
		}
	r->workers_running = 0;
}

/* Calls hook of every observer that applies to the run, in table order. */
#define RUN_OBSERVERS(r, hook)                                                      \
	do {                                                                        \
		for (size_t i_ = 0; observers[i_]; i_++)                            \
			if ((r)->observer_on[i_] && observers[i_]->hook)            \
				observers[i_]->hook((r)->observer_state[i_]);       \
	} while (0)

static bool run_observer_lookup(void *userdata, size_t ap, uint64_t t, uint32_t *ret_domain)
{
	return run_point_lookup(userdata, ap, t, ret_domain);
}

/* The observers for this run's backend, prepared before the backend touches the device. */
static int run_prepare_observers(Run *r, const RunContext *c)
{
	r->observed = (ObserverRun){
		.id = r->id,
		.name = r->path,
		.device = r->scenario->device,
		.env = r->env,
		.event = r->event,
		.sink = r->sink,
		.points = r->ap_states,
		.n_points = r->n_points,
		.lookup = run_observer_lookup,
		.userdata = r,
		.kmsg = c->kmsg,
		.trace_unavailable_logged = c->trace_unavailable_logged,
	};
	for (size_t i = 0; observers[i]; i++) {
		const ObserverOps *o = observers[i];

		assert(i < OBSERVERS_MAX);
		r->observer_state[i] = calloc(1, o->size ?: 1);
		if (!r->observer_state[i])
			return -ENOMEM;
		if ((r->ops->flags & o->needs_flags) != o->needs_flags)
			continue;
		r->observer_on[i] = true;
		/* A source that cannot follow this run is no failure of it: describe() says why. */
		if (o->prepare && o->prepare(r->observer_state[i], &r->observed) < 0)
			continue;
		/* Faults learnt of after the fact are placed by timestamp in a log of windows. */
		if (o->needs_window_log)
			for (size_t p = 0; p < r->n_points; p++) {
				if (r->points[p].windows)
					continue;
				r->points[p].windows =
					calloc(RUN_WINDOW_RING, sizeof(*r->points[p].windows));
				if (!r->points[p].windows)
					return -ENOMEM;
			}
	}
	return 0;
}

static void run_start_observers(Run *r)
{
	for (size_t i = 0; observers[i]; i++)
		if (r->observer_on[i] && observers[i]->start)
			(void)observers[i]->start(r->observer_state[i], &r->observed);
}

static void run_free_observers(Run *r)
{
	RUN_OBSERVERS(r, stop);
	for (size_t i = 0; i < OBSERVERS_MAX; i++)
		r->observer_state[i] = mfree(r->observer_state[i]);
}

static void run_finish(Run *r)
{
	const char *err_reason;
	int err;

	run_join_workers(r);
	RUN_OBSERVERS(r, quiesce);
	r->ended_mono_ns = now_ns(CLOCK_MONOTONIC);
	r->finished_realtime_usec = now_ns(CLOCK_REALTIME) / NSEC_PER_USEC;
	run_release_backend(r);
	/* What the observers learn up to now still belongs to this run. */
	RUN_OBSERVERS(r, finish);
	run_drain_faults(r);
	RUN_OBSERVERS(r, stop);

	if (fault_sink_failed(r->sink, &err, &err_reason)) {
		r->state = RUN_FAILED;
		run_set_reason(r, err_reason);
	} else if (r->reason && r->reason[0])
		r->state = RUN_FAILED;
	else
		r->state = RUN_FINISHED;

	run_sample(r);
	run_evaluate(r);

	r->tick = sd_event_source_disable_unref(r->tick);
	r->wake_source = sd_event_source_disable_unref(r->wake_source);
	r->fault_source = sd_event_source_disable_unref(r->fault_source);
	r->fault_rearm = sd_event_source_disable_unref(r->fault_rearm);
	r->deadline = sd_event_source_disable_unref(r->deadline);
	r->fault_signal = sd_event_source_disable_unref(r->fault_signal);
	run_emit_fault_signal(r); /* whatever is pending goes out before Finished */
	/*
	 * A finished run keeps its numbers, not its descriptors: the totals are
	 * in r->fault_totals, the records in the ring.
	 */
	r->sink = fault_sink_free(r->sink);
	r->wake_fd = safe_close(r->wake_fd);

	if (r->state == RUN_FAILED)
		log_warning("Run %u (%s) failed: %s", r->id, r->scenario->name, r->reason);
	else
		log_info("Run %u (%s) finished: %" PRIu64 " replacements at %.0f/s, %" PRIu64
			 " faults (%" PRIu64 " during replace), verdict %s",
			 r->id, r->scenario->name, r->stats.replacements, r->stats.rate,
			 r->stats.faults, r->stats.faults_during, r->verdict);

	run_report_sample(r);
	run_report_state(r);
	if (r->events && r->events->ended)
		r->events->ended(r);
}

void run_request_stop(Run *r, const char *why)
{
	if (r->state != RUN_RUNNING && r->state != RUN_STARTING)
		return;
	log_debug("Run %u: stopping (%s)", r->id, why);
	r->state = RUN_STOPPING;
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	run_report_state(r);
	if (r->workers_running == 0)
		run_finish(r);
}

void run_fail(Run *r, int error, const char *reason)
{
	if (!run_is_active(r))
		return;
	fault_sink_fail(r->sink, error, reason);
	/* Stop right away rather than at the next tick. */
	run_request_stop(r, reason);
}

static void run_check_failure(Run *r)
{
	const char *reason;

	if (r->sink && fault_sink_failed(r->sink, NULL, &reason) && r->state == RUN_RUNNING) {
		run_set_reason(r, reason);
		run_request_stop(r, reason);
	}
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Run *r = userdata;
	uint64_t v;
	unsigned running = 0;

	(void)!read(fd, &v, sizeof(v));
	for (unsigned i = 0; i < r->n_workers; i++)
		if (r->workers[i].started &&
		    !__atomic_load_n(&r->workers[i].exited, __ATOMIC_ACQUIRE))
			running++;
	r->workers_running = running;

	run_check_failure(r);
	if (running > 0)
		return 0;
	/* All workers are done: by count, by Stop(), or by failure. */
	if (r->state == RUN_RUNNING)
		r->state = RUN_STOPPING;
	run_finish(r);
	return 0;
}

static int on_fault_rearm(sd_event_source *s, uint64_t usec, void *userdata)
{
	Run *r = userdata;

	fault_sink_rearm(r->sink);
	/* Records pushed while producers were quiet are drained now. */
	run_drain_faults(r);
	return 0;
}

static int on_faults(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Run *r = userdata;
	int k;

	fault_sink_ack(r->sink);
	run_drain_faults(r);
	run_check_failure(r);
	if (r->fault_rearm) {
		k = sd_event_source_set_time_relative(r->fault_rearm, RUN_FAULT_REARM_USEC);
		if (k >= 0)
			k = sd_event_source_set_enabled(r->fault_rearm, SD_EVENT_ONESHOT);
		if (k < 0) /* without the timer, re-arm now rather than lose wake-ups */
			fault_sink_rearm(r->sink);
	}
	return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	Run *r = userdata;
	int k;

	/* A repeating timer in sd-event is one that moves its own deadline. */
	k = sd_event_source_set_time(s, usec + RUN_TICK_USEC);
	if (k < 0)
		log_warning_errno(k, "Run %u: failed to re-arm the sampling timer: %m", r->id);

	run_drain_faults(r);
	RUN_OBSERVERS(r, poll);
	run_sample(r);
	run_report_sample(r);
	run_check_failure(r);
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_request_stop(userdata, "duration reached");
	return 0;
}

Run *run_free(Run *r)
{
	if (!r)
		return NULL;
	if (r->workers) {
		__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
		run_join_workers(r);
	}
	run_release_backend(r);
	run_free_observers(r);
	sd_event_source_disable_unref(r->tick);
	sd_event_source_disable_unref(r->wake_source);
	sd_event_source_disable_unref(r->fault_source);
	sd_event_source_disable_unref(r->fault_rearm);
	sd_event_source_disable_unref(r->deadline);
	sd_event_source_disable_unref(r->fault_signal);
	for (unsigned i = 0; r->workers && i < r->n_workers; i++) {
		free(r->workers[i].aps);
		free(r->workers[i].hist);
	}
	for (size_t i = 0; r->points && i < r->n_points; i++) {
		bool shared = false;

		free(r->points[i].windows);
		free(r->points[i].faults_by_domain);
		for (unsigned w = 0; r->workers && w < r->n_workers; w++)
			shared = shared || r->points[i].hist == r->workers[w].hist;
		if (!shared)
			free(r->points[i].hist);
	}
	free(r->workers);
	free(r->points);
	free(r->ap_states);
	fault_sink_free(r->sink);
	safe_close(r->wake_fd);
	free(r->faults);
	free(r->merged);
	free(r->timeline);
	free(r->expect_pass);
	free(r->expect_actual);
	free(r->backend_info);
	scenario_free(r->scenario);
	free(r->verdict);
	free(r->reason);
	free(r->path);
	free(r);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Run *, run_free);

static Histogram *hist_new(void)
{
	Histogram *h = malloc(sizeof(*h));

	if (h)
		hist_init(h);
	return h;
}

/* Assigns points to workers round-robin and splits the count and rate between them. */
static int run_alloc_workers(Run *r)
{
	const Scenario *s = r->scenario;
	unsigned nw = s->workers ? s->workers : 1;

	r->workers = calloc(nw, sizeof(Worker));
	if (!r->workers)
		return -ENOMEM;
	r->n_workers = nw;

	for (unsigned i = 0; i < nw; i++) {
		Worker *w = &r->workers[i];
		size_t n = 0;

		w->run = r;
		w->index = i;
		w->aps = calloc(s->n_points / nw + 1, sizeof(unsigned));
		w->hist = hist_new();
		if (!w->aps || !w->hist)
			return -ENOMEM;
		for (size_t p = i; p < s->n_points; p += nw)
			w->aps[n++] = (unsigned)p;
		w->n_aps = n;
		w->quota = s->count / nw + (i < s->count % nw ? 1 : 0);
		w->interval_ns = s->rate > 0 ? (uint64_t)llround(1e9 * nw / s->rate) : 0;
		w->rng = (s->seed ?: 0x9E3779B97F4A7C15ULL) ^
			 ((uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ULL);
		if (w->rng == 0)
			w->rng = 1;

		for (size_t k = 0; k < n; k++)
			r->points[w->aps[k]].hist = n == 1 ? w->hist : NULL;
	}
	for (size_t p = 0; p < r->n_points; p++)
		if (!r->points[p].hist) {
			r->points[p].hist = hist_new();
			if (!r->points[p].hist)
				return -ENOMEM;
		}
	return 0;
}

static int run_spawn_workers(Run *r)
{
	for (unsigned i = 0; i < r->n_workers; i++) {
		Worker *w = &r->workers[i];
		int k;

		if (r->scenario->count && w->quota == 0) {
			w->exited = true; /* nothing to do; counts as done */
			continue;
		}
		k = pthread_create(&w->thread, NULL, worker_main, w);
		if (k != 0)
			return -k;
		w->started = true;
		r->workers_running++;
	}
	return 0;
}

/* Sets err to kind and the message; returns k (a negative errno) for "return run_errorf(…)". */
_printf_(4, 5) static int run_errorf(RunError *err, RunErrorKind kind, int k, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->kind = kind;
		va_start(ap, fmt);
		(void)vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return k;
}

/* "<what>: <strerror>"; k is the negative errno that made it fail. */
#define run_errorf_errno(err, kind, k, fmt, ...) \
	run_errorf(err, kind, k, fmt ": %s", ##__VA_ARGS__, strerror(ERRNO_VALUE(k)))

const char *run_attachments_summary(const Run *r, char *buf, size_t n)
{
	size_t n_pasids = r->n_points;
	bool rid = false;

	for (size_t i = 0; i < r->n_points; i++)
		if (r->points[i].state->pasid == ATTACH_POINT_RID) {
			rid = true;
			n_pasids--;
		}
	if (n_pasids == 0)
		snprintf(buf, n, "its RID");
	else
		snprintf(buf, n, "%s%zu PASID%s", rid ? "its RID and " : "", n_pasids,
			 n_pasids == 1 ? "" : "s");
	return buf;
}

int run_start(const RunContext *c, Scenario *scenario, Run **ret, RunError *err)
{
	_cleanup_(run_freep) Run *r = NULL;
	_cleanup_free_ char *why = NULL;
	const BackendOps *ops;
	BackendSetup setup;
	int k;

	if (err)
		*err = (RunError){};
	ops = c->backend ?: backend_find(scenario->backend);
	if (!ops) {
		scenario_free(scenario);
		return run_errorf(err, RUN_ERROR_BACKEND_UNAVAILABLE, -EOPNOTSUPP,
				  "Backend '%s' is not compiled into this iommutestd.",
				  scenario->backend);
	}
	k = ops->probe(c->env, &why);
	if (k < 0) {
		k = run_errorf(err, RUN_ERROR_BACKEND_UNAVAILABLE, k,
			       "Backend '%s' is not available on this host: %s", ops->name,
			       why ?: strerror(ERRNO_VALUE(k)));
		scenario_free(scenario);
		return k;
	}

	r = calloc(1, sizeof(*r));
	if (!r) {
		scenario_free(scenario);
		return -ENOMEM;
	}
	r->scenario = scenario;
	r->events = c->events;
	r->userdata = c->userdata;
	r->event = c->event;
	r->env = c->env;
	r->ops = ops;
	r->wake_fd = -EBADF;
	r->state = RUN_STARTING;
	r->id = c->id;
	r->path = strdup(c->path);
	if (!r->path)
		return -ENOMEM;
	r->verdict = strdup("pending");
	r->reason = strdup("");
	r->merged = hist_new();
	r->timeline = malloc(sizeof(Timeline));
	if (r->timeline)
		timeline_init(r->timeline);
	r->points = calloc(scenario->n_points, sizeof(RunPoint));
	r->ap_states = aligned_alloc(CACHELINE, scenario->n_points * sizeof(AttachPointState));
	r->fault_cap = c->fault_ring;
	r->faults = r->fault_cap ? calloc(r->fault_cap, sizeof(RetainedFault)) : NULL;
	r->expect_pass = calloc(scenario->n_expect + 1, sizeof(bool));
	r->expect_actual = calloc(scenario->n_expect + 1, sizeof(double));
	if (!r->verdict || !r->reason || !r->merged || !r->timeline || !r->points || !r->ap_states ||
	    (r->fault_cap && !r->faults) || !r->expect_pass || !r->expect_actual)
		return -ENOMEM;
	r->n_points = scenario->n_points;
	memset(r->ap_states, 0, scenario->n_points * sizeof(AttachPointState));
	for (size_t i = 0; i < r->n_points; i++) {
		r->points[i].faults_by_domain = calloc(scenario->n_domains, sizeof(uint64_t));
		if (!r->points[i].faults_by_domain)
			return -ENOMEM;
		r->points[i].state = &r->ap_states[i];
		r->ap_states[i].pasid = scenario->points[i];
		r->ap_states[i].index = (uint32_t)i;
	}
	r->mono_to_realtime_usec_offset =
		now_ns(CLOCK_REALTIME) / NSEC_PER_USEC - now_ns(CLOCK_MONOTONIC) / NSEC_PER_USEC;

	k = run_alloc_workers(r);
	if (k < 0)
		return k;
	k = fault_sink_new(&r->sink, 65536);
	if (k < 0)
		return k;
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0)
		return -errno;
	k = run_prepare_observers(r, c);
	if (k < 0)
		return k;

	setup = (BackendSetup){
		.env = c->env,
		.scenario = scenario,
		.sink = r->sink,
		.aps = r->ap_states,
		.n_aps = r->n_points,
	};

	{
		_cleanup_free_ char *why_setup = NULL;

		k = ops->setup(&setup, &r->ctx, &why_setup);
		if (k < 0) {
			r->ctx = NULL;
			return run_errorf(err, RUN_ERROR_SETUP_FAILED, k,
					  "Backend %s failed to set up %s: %s", ops->name,
					  scenario->device, why_setup ?: strerror(ERRNO_VALUE(k)));
		}
	}

	/* Every point starts on domain 0; a failure unwinds what was attached. */
	r->attached = true;
	for (size_t pos = 0, rid = rid_point(r); pos < r->n_points; pos++) {
		size_t i = attach_order(r, rid, pos);

		k = ops->attach(r->ctx, (unsigned)i, 0);
		if (k < 0) {
			char where[32];

			attach_point_to_string(scenario->points[i], where, sizeof(where));
			while (pos-- > 0)
				(void)ops->detach(r->ctx, (unsigned)attach_order(r, rid, pos));
			r->attached = false;
			return run_errorf_errno(err, RUN_ERROR_SETUP_FAILED, k,
						"Initial attach of %s to domain 0 failed", where);
		}
	}

	if (scenario->traffic && ops->traffic_start) {
		k = ops->traffic_start(r->ctx);
		if (k < 0)
			return run_errorf_errno(err, RUN_ERROR_SETUP_FAILED, k,
						"Starting DMA traffic (engine %s) failed",
						scenario->engine ?: "default");
		r->traffic_on = true;
	}

	run_start_observers(r);
	k = run_watch_backend(r);
	if (k < 0)
		return run_errorf_errno(err, RUN_ERROR_SETUP_FAILED, k,
					"Cannot watch the backend's event descriptors");

	k = sd_event_add_io(r->event, &r->wake_source, r->wake_fd, EPOLLIN, on_wake, r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_description(r->wake_source, "run-workers");
	k = sd_event_add_io(r->event, &r->fault_source, fault_sink_eventfd(r->sink), EPOLLIN,
			    on_faults, r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_description(r->fault_source, "run-faults");
	k = sd_event_add_time_relative(r->event, &r->fault_rearm, CLOCK_MONOTONIC,
				       RUN_FAULT_REARM_USEC, 1000, on_fault_rearm, r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_enabled(r->fault_rearm, SD_EVENT_OFF);
	(void)sd_event_source_set_description(r->fault_rearm, "run-fault-rearm");
	k = sd_event_add_time(r->event, &r->fault_signal, CLOCK_MONOTONIC, 0, 1000, on_fault_signal,
			      r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_enabled(r->fault_signal, SD_EVENT_OFF);
	(void)sd_event_source_set_description(r->fault_signal, "run-fault-signal");
	k = sd_event_add_time_relative(r->event, &r->tick, CLOCK_MONOTONIC, RUN_TICK_USEC, 10000,
				       on_tick, r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_enabled(r->tick, SD_EVENT_ON);
	(void)sd_event_source_set_description(r->tick, "run-tick");

	r->started_mono_ns = now_ns(CLOCK_MONOTONIC);
	r->started_realtime_usec = now_ns(CLOCK_REALTIME) / NSEC_PER_USEC;
	if (scenario->duration_ns) {
		k = sd_event_add_time_relative(r->event, &r->deadline, CLOCK_MONOTONIC,
					       scenario->duration_ns / NSEC_PER_USEC, 1000,
					       on_deadline, r);
		if (k < 0)
			return k;
		(void)sd_event_source_set_description(r->deadline, "run-deadline");
	}

	r->state = RUN_RUNNING;
	k = run_spawn_workers(r);
	if (k < 0)
		return run_errorf_errno(err, RUN_ERROR_FAILED, k,
					"Failed to start worker threads for %s", scenario->name);

	log_info("Run %u (%s): backend %s, device %s, %zu attachment point(s), %u worker(s), "
		 "%u domains",
		 r->id, scenario->name, ops->name, scenario->device, r->n_points, r->n_workers,
		 scenario->n_domains);
	/*
	 * Every worker may already have had nothing to do (Count smaller than
	 * Workers). The loop finishes the run then, as for workers that are
	 * done, so that no hook fires before the caller has listed the run.
	 */
	if (r->workers_running == 0)
		(void)!write(r->wake_fd, &(uint64_t){1}, sizeof(uint64_t));
	*ret = TAKE_PTR(r);
	return 0;
}

static void describe_latency(JsonWriter *j, const char *key, Histogram *h)
{
	json_object_begin(j, key);
	json_u64(j, "min", h->count ? h->min : 0);
	json_double(j, "mean", hist_mean(h));
	json_u64(j, "p50", hist_percentile(h, 50));
	json_u64(j, "p90", hist_percentile(h, 90));
	json_u64(j, "p99", hist_percentile(h, 99));
	json_u64(j, "p999", hist_percentile(h, 99.9));
	json_u64(j, "max", h->count ? h->max : 0);
	json_object_end(j);
}

void run_describe_summary(Run *r, JsonWriter *j)
{
	json_object_begin(j, NULL);
	json_u64(j, "id", r->id);
	json_string(j, "path", r->path);
	json_string(j, "scenario", r->scenario->name);
	json_string(j, "backend", r->scenario->backend);
	json_string(j, "device", r->scenario->device);
	json_string(j, "state", run_state_to_string(r->state));
	json_string(j, "verdict", r->verdict);
	json_object_end(j);
}

static void describe_expectations(Run *r, JsonWriter *j)
{
	const Scenario *s = r->scenario;
	bool ended = !run_is_active(r);

	json_array_begin(j, "expectations");
	for (size_t i = 0; i < s->n_expect; i++) {
		const Expectation *e = &s->expect[i];
		char buf[64];
		double actual = ended ? r->expect_actual[i] : expectation_actual(r, e->metric);

		snprintf(buf, sizeof(buf), "%s%.17g", comparison_to_string(e->cmp), e->value);
		json_object_begin(j, NULL);
		json_string(j, "key", expect_metric_to_string(e->metric));
		json_string(j, "expect", buf);
		json_double(j, "actual", actual);
		if (ended)
			json_bool(j, "pass", r->expect_pass[i]);
		else
			json_null(j, "pass");
		json_object_end(j);
	}
	json_array_end(j);
}

static void describe_points(Run *r, JsonWriter *j)
{
	double secs = (double)r->stats.elapsed_usec / 1e6;

	json_array_begin(j, "attach_points");
	for (size_t i = 0; i < r->n_points; i++) {
		RunPoint *pt = &r->points[i];
		uint64_t repl = counter_get(pt->replacements);
		_cleanup_free_ Histogram *h = malloc(sizeof(Histogram));
		char name[32];

		if (!h)
			continue;
		hist_init(h);
		hist_merge(h, pt->hist);
		json_object_begin(j, NULL);
		json_string(j, "name",
			    attach_point_to_string(pt->state->pasid, name, sizeof(name)));
		if (pt->state->pasid == ATTACH_POINT_RID)
			json_null(j, "pasid");
		else
			json_u64(j, "pasid", pt->state->pasid);
		json_u64(j, "worker", i % r->n_workers);
		json_u64(j, "domain", pt->domain);
		json_u64(j, "replacements", repl);
		json_u64(j, "errors", counter_get(pt->errors));
		json_double(j, "rate", secs > 0 ? (double)repl / secs : 0);
		describe_latency(j, "latency_ns", h);
		json_u64(j, "faults", pt->faults);
		json_u64(j, "faults_during_replace", pt->faults_during);
		json_object_begin(j, "faults_by_source");
		for (unsigned src = 0; src < _FAULT_SOURCE_MAX; src++)
			json_u64(j, fault_source_to_string(src), pt->faults_by_source[src]);
		json_object_end(j);
		json_array_begin(j, "faults_by_domain");
		for (unsigned d = 0; d < r->scenario->n_domains; d++)
			json_u64(j, NULL, pt->faults_by_domain ? pt->faults_by_domain[d] : 0);
		json_array_end(j);
		json_u64(j, "faults_domain_unknown", pt->faults_domain_unknown);
		json_object_end(j);
	}
	json_array_end(j);
}

/* Each observer's object, in table order, those of a group inside one object of that name. */
static void describe_observers(Run *r, JsonWriter *j)
{
	const char *open_group = NULL;

	for (size_t i = 0; observers[i]; i++) {
		const ObserverOps *o = observers[i];

		if (open_group && !streq_ptr(open_group, o->group)) {
			json_object_end(j);
			open_group = NULL;
		}
		if (o->group && !open_group) {
			json_object_begin(j, o->group);
			open_group = o->group;
		}
		json_object_begin(j, o->name);
		if (o->describe)
			o->describe(r->observer_state[i], run_is_active(r), j);
		json_object_end(j);
	}
	if (open_group)
		json_object_end(j);
}

/*
 * Which count to believe. The model's walker sees every translation; on real
 * hardware verified DMA is exact, while the kernel log is rate limited and
 * QEMU drops repeated fault records, so it is only a floor.
 */
static const char *run_authoritative_source(const Run *r)
{
	const Scenario *s = r->scenario;
	FaultSource exact = r->ops->exact_source ? r->ops->exact_source(s) : _FAULT_SOURCE_MAX;

	if (exact < _FAULT_SOURCE_MAX)
		return fault_source_to_string(exact);
	if (s->traffic && s->verify)
		return fault_source_to_string(FAULT_SOURCE_DMA_VERIFY);
	for (size_t i = 0; observers[i]; i++)
		if (r->observer_on[i] && observers[i]->fallback_source) {
			FaultSource f = observers[i]->fallback_source(r->observer_state[i]);

			if (f < _FAULT_SOURCE_MAX)
				return fault_source_to_string(f);
		}
	return "none";
}

/*
 * The report's plot data: the timeline, and the replace latencies of all
 * points in power-of-two bins (bin k: [2^k, 2^(k+1)) ns), for a log axis.
 */
int run_describe_timeline(Run *r, char **ret_json)
{
	uint64_t bins[64] = {};
	JsonWriter j;
	char *text;
	int k;

	if (run_is_active(r)) {
		run_drain_faults(r);
		run_sample(r);
	}
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		uint64_t n = counter_get(r->merged->buckets[b]), lo, hi;

		if (n) {
			hist_bucket_range(b, &lo, &hi);
			bins[lo ? 63 - __builtin_clzll(lo) : 0] += n;
		}
	}

	json_init(&j);
	json_object_begin(&j, NULL);
	json_u64(&j, "id", r->id);
	json_u64(&j, "elapsed_usec", r->stats.elapsed_usec);
	timeline_describe(r->timeline, &j);
	json_array_begin(&j, "latency_log2_ns");
	for (unsigned b = 0; b < ELEMENTSOF(bins); b++)
		if (bins[b]) {
			json_object_begin(&j, NULL);
			json_u64(&j, "from_ns", UINT64_C(1) << b);
			json_u64(&j, "count", bins[b]);
			json_object_end(&j);
		}
	json_array_end(&j);
	json_object_end(&j);
	text = json_finish(&j, &k);
	if (!text)
		return k;
	*ret_json = text;
	return 0;
}

int run_describe(Run *r, char **ret_json)
{
	const Scenario *s = r->scenario;
	JsonWriter j;
	char *text;
	int k;

	if (run_is_active(r)) {
		run_drain_faults(r);
		run_sample(r);
	}

	json_init(&j);
	json_object_begin(&j, NULL);
	json_u64(&j, "id", r->id);
	json_string(&j, "path", r->path);
	json_string(&j, "scenario", s->name);
	json_string(&j, "description", strempty(s->description));
	json_string(&j, "source", strempty(s->source));
	json_string(&j, "scenario_text", s->text);
	json_string(&j, "overrides", s->overrides);
	json_string(&j, "backend", s->backend);
	json_string(&j, "device", s->device);
	json_string(&j, "state", run_state_to_string(r->state));
	json_string(&j, "verdict", r->verdict);
	json_string(&j, "reason", strempty(r->reason));
	json_u64(&j, "started_at_usec", r->started_realtime_usec);
	json_u64(&j, "finished_at_usec", r->finished_realtime_usec);
	json_u64(&j, "elapsed_usec", r->stats.elapsed_usec);
	json_u64(&j, "workers", r->n_workers);
	json_string(&j, "pattern", pattern_to_string(s->pattern));
	json_u64(&j, "domains", s->n_domains);
	json_string(&j, "layout", layout_to_string(s->layout));
	if (s->rate > 0)
		json_double(&j, "target_rate", s->rate);
	else
		json_string(&j, "target_rate", "max");
	json_u64(&j, "target_count", s->count);
	json_u64(&j, "target_duration_usec", s->duration_ns / NSEC_PER_USEC);

	json_u64(&j, "replacements", r->stats.replacements);
	json_u64(&j, "replace_errors", r->stats.replace_errors);
	json_object_begin(&j, "errors_by_errno");
	for (unsigned e = 0; e < RUN_ERRNO_SLOTS; e++)
		if (r->errors_by_errno[e]) {
			char name[24];

			json_u64(&j, run_errno_slot_name(e, name, sizeof(name)), r->errors_by_errno[e]);
		}
	json_object_end(&j);
	json_double(&j, "rate", r->stats.rate);
	describe_latency(&j, "latency_ns", r->merged);

	json_u64(&j, "dma_transfers", r->stats.dma_transfers);
	json_u64(&j, "dma_errors", r->stats.dma_errors);
	json_u64(&j, "faults", r->stats.faults);
	json_u64(&j, "faults_during_replace", r->stats.faults_during);
	json_u64(&j, "faults_at_rest", r->stats.faults_at_rest);
	json_object_begin(&j, "faults_by_source");
	for (unsigned i = 0; i < _FAULT_SOURCE_MAX; i++) {
		json_object_begin(&j, fault_source_to_string(i));
		json_u64(&j, "total", r->fault_totals.total[i]);
		json_u64(&j, "during_replace", r->fault_totals.during_replace[i]);
		json_u64(&j, "dropped", r->fault_totals.dropped[i]);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_u64(&j, "faults_retained", MIN((uint64_t)r->fault_head, (uint64_t)r->fault_cap));
	json_string(&j, "authoritative_source", run_authoritative_source(r));
	describe_observers(r, &j);

	describe_points(r, &j);
	describe_expectations(r, &j);

	if (r->backend_info)
		json_raw(&j, "backend_info", r->backend_info);
	else {
		json_object_begin(&j, "backend_info");
		if (r->ctx && r->ops->describe)
			r->ops->describe(r->ctx, &j);
		json_object_end(&j);
	}
	json_object_end(&j);

	text = json_finish(&j, &k);
	if (!text)
		return k;
	*ret_json = text;
	return 0;
}
