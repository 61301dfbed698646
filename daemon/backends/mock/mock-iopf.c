/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd fault queue as a fault source, fed by the selftest mock.
 *
 * What the kernel does (drivers/iommu/iommufd/selftest.c, fault.c, device.c,
 * drivers/iommu/io-pgfault.c, 6.12):
 *   - IOMMU_TEST_OP_TRIGGER_IOPF reports one page request, always flagged
 *     LAST_PAGE, synchronously: when the ioctl returns, the group is on the
 *     fault queue's deliver list. It takes the mock device's iopf rwsem for
 *     reading and MOCK_DOMAIN_REPLACE takes it for writing, so an injection
 *     and a replacement never overlap in the kernel. A device on a domain
 *     without a fault queue drops the request, and the ioctl still returns 0.
 *   - read(2) of the fault fd never blocks: it returns whole groups, or 0
 *     when there are none. Each group read gets a cookie and waits in the
 *     queue's response table for a write(2) of struct iommu_hwpt_page_response.
 *   - A successful replacement away from a fault-capable HWPT answers every
 *     group of the old attachment itself (IOMMU_PAGE_RESP_INVALID), both the
 *     undelivered ones and those awaiting our response, and forgets them: a
 *     later response to such a cookie is refused with EINVAL.
 *   - Neither list is bounded.
 *
 * So with replacements running, not every injected request can be read and
 * not every response can be taken, and the accounting has to say which is
 * which. Each injection gets a sequence number, sent as the group id; its
 * slot in a ring records the replacement seqcount before the call and the
 * verdict of the window check. The reader marks the slots it receives. After
 * a read that found the queue empty, every injection that had returned
 * before that drain started and was not received can no longer arrive: it
 * was withdrawn if a replacement window opened at or after its call (or was
 * open during it), else lost. The injector never gets more than the ring's
 * size ahead of what is accounted for, which also bounds what the kernel
 * holds for us; when it has to wait, it kicks the main loop through an
 * eventfd, because a queue whose requests were all withdrawn never polls
 * readable.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "iommufd-ioctl.h"
#include "backends/mock/mock-iopf.h"
#include "log.h"
#include "macro.h"
#include "pacer.h"
#include "parse-util.h"

/* Injections outstanding at most; a power of 2 (slots are indexed by seq & mask). */
#define IOPF_RING 4096u
#define IOPF_MASK (IOPF_RING - 1)
/* Records per read(2), and responses per write(2). */
#define IOPF_BATCH 64u
/* At most IOPF_RING records can be queued for us; more in one dispatch means a runaway kernel. */
#define IOPF_DRAIN_MAX (2u * IOPF_RING)
/* While waiting for the reader the injector polls in these steps, and re-kicks at this period. */
#define IOPF_STALL_SLEEP_NS (20 * NSEC_PER_USEC)
#define IOPF_KICK_NS	    (10 * NSEC_PER_MSEC)
/* After a failed injection that may succeed later (e.g. ENOMEM), before the next one. */
#define IOPF_ERROR_PAUSE_NS NSEC_PER_MSEC

#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

typedef struct InjectSlot {
	uint64_t seq_before; /* the point's window seqcount before the call */
	uint64_t time_ns;    /* CLOCK_MONOTONIC when the call returned */
	bool injected;	     /* the call succeeded */
	bool during;	     /* it fell in a replacement window (or its settle time) */
} InjectSlot;

struct MockIopf {
	MockIopfParams p;
	int kick_fd;
	uint64_t pages; /* of the mapping; requests go round-robin over them */
	uint64_t interval_ns;
	pthread_t thread;
	bool running;
	bool read_failed; /* the fault fd failed for good; the run is failing */
	bool summarized;  /* the accounting was checked once, at the end */

	InjectSlot *slots; /* written by the injector, read by the main thread */
	bool *received;	   /* main thread only */

	/* Written by the injector. */
	_Alignas(CACHELINE) uint64_t started; /* last seq whose call began: slot.seq_before valid */
	uint64_t completed;		      /* last seq whose call returned: whole slot valid */
	uint64_t injected;
	uint64_t inject_errors;
	uint64_t injected_during;
	uint64_t stalls;
	int last_error;

	/* Written by the main thread. */
	_Alignas(CACHELINE) uint64_t resolved; /* every seq up to here is accounted for */
	bool stop;
	uint64_t received_n;
	uint64_t unexpected;
	uint64_t responded;
	uint64_t refused;
	uint64_t response_errors;
	uint64_t withdrawn;
	uint64_t lost;
};

static uint32_t request_perm(uint64_t seq)
{
	/* Both kinds, so that either access shows up in the fault records. */
	return seq & 1 ? IOMMU_PGFAULT_PERM_READ : IOMMU_PGFAULT_PERM_WRITE;
}

static uint64_t request_addr(const MockIopf *m, uint64_t seq)
{
	return m->p.iova + ((seq - 1) % m->pages) * 4096;
}

static uint64_t window_seq(const MockIopf *m)
{
	return LOAD(m->p.ap->window_seq);
}

/* A replacement window was open at seq_then, or one has opened since. */
static bool replaced_since(const MockIopf *m, uint64_t seq_then)
{
	return (seq_then & 1) || window_seq(m) != seq_then;
}

static bool injector_stopping(void *userdata)
{
	MockIopf *m = userdata;

	return LOAD(m->stop);
}

/* Waits until seq's slot is free, i.e. seq - IOPF_RING is accounted for. */
static bool wait_for_room(MockIopf *m, uint64_t seq)
{
	uint64_t last_kick = 0;
	bool stalled = false;

	while (seq > LOAD(m->resolved) + IOPF_RING) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		if (LOAD(m->stop))
			return false;
		if (!stalled) {
			counter_inc(m->stalls);
			stalled = true;
		}
		if (now - last_kick >= IOPF_KICK_NS) {
			(void)!write(m->kick_fd, &(uint64_t){1}, sizeof(uint64_t));
			last_kick = now;
		}
		sleep_until_ns(now + IOPF_STALL_SLEEP_NS);
	}
	return true;
}

/* Errors that the next call would return too: injection cannot go on. */
static bool inject_error_is_final(int r)
{
	switch (-r) {
	case ENOTTY:	 /* no IOMMU_TEST_CMD */
	case EOPNOTSUPP: /* no TRIGGER_IOPF op (< 6.11) */
	case ENOENT:	 /* the device is gone */
	case EINVAL:
	case EBADF:
	case ENODEV:
		return true;
	default:
		return false;
	}
}

static void *injector_main(void *userdata)
{
	MockIopf *m = userdata;
	uint64_t seq = 0;
	Pacer pacer;

	pacer_init(&pacer, m->interval_ns, now_ns(CLOCK_MONOTONIC));
	while (!LOAD(m->stop)) {
		InjectSlot *slot;
		uint64_t before, t;
		int r;

		if (!pacer_wait(&pacer, injector_stopping, m))
			break;
		if (!wait_for_room(m, seq + 1))
			break;
		seq++;
		slot = &m->slots[seq & IOPF_MASK];
		slot->injected = slot->during = false;
		before = window_seq(m);
		slot->seq_before = before;
		STORE(m->started, seq);

		do
			r = iommufd_test_trigger_iopf(m->p.iommufd, m->p.dev_id, 0, (uint32_t)seq,
						      request_perm(seq), request_addr(m, seq));
		while (r == -EINTR);
		t = now_ns(CLOCK_MONOTONIC);

		slot->time_ns = t;
		if (r >= 0) {
			slot->injected = true;
			slot->during = replaced_since(m, before) ||
				       attach_point_in_window(m->p.ap, t, m->p.settle_ns);
			counter_inc(m->injected);
			if (slot->during)
				counter_inc(m->injected_during);
		} else {
			counter_inc(m->inject_errors);
			__atomic_store_n(&m->last_error, r, __ATOMIC_RELAXED);
		}
		STORE(m->completed, seq);

		if (r >= 0)
			continue;
		if (inject_error_is_final(r)) {
			char reason[200];

			snprintf(
				reason, sizeof(reason),
				"IOMMU_TEST_OP_TRIGGER_IOPF failed: %s (%s); no page request can be injected",
				strerror(ERRNO_VALUE(r)), strempty(errno_to_name(r)));
			fault_sink_fail(m->p.sink, r, reason);
			break;
		}
		if (!sleep_until_or_stop(t + IOPF_ERROR_PAUSE_NS, injector_stopping, m))
			break;
	}
	return NULL;
}

/* One record read from the queue: match it to its injection and report it. */
static void receive(MockIopf *m, const struct iommu_hwpt_pgfault *rec)
{
	uint64_t base = m->resolved + 1, now = now_ns(CLOCK_MONOTONIC);
	uint64_t seq = base + (uint32_t)(rec->grpid - (uint32_t)base);
	uint64_t started = LOAD(m->started), completed = LOAD(m->completed);
	FaultRecord f = {
		.address = rec->addr,
		.ap = m->p.ap_index,
		.reason = rec->perm,
		.source = FAULT_SOURCE_IOMMUFD,
		.access = rec->perm & IOMMU_PGFAULT_PERM_WRITE	? FAULT_ACCESS_WRITE
			  : rec->perm & IOMMU_PGFAULT_PERM_READ ? FAULT_ACCESS_READ
								: FAULT_ACCESS_UNKNOWN,
	};
	/*
	 * Only an injection that is outstanding, not received yet, and whose
	 * request this is, field by field; anything else the kernel made up,
	 * duplicated or garbled.
	 */
	bool match = seq <= started && !m->received[seq & IOPF_MASK] &&
		     rec->dev_id == m->p.dev_id &&
		     !(rec->flags & IOMMU_PGFAULT_FLAGS_PASID_VALID) &&
		     rec->addr == request_addr(m, seq) && rec->perm == request_perm(seq) &&
		     (seq > completed || m->slots[seq & IOPF_MASK].injected);

	m->received_n++;
	if (!match) {
		m->unexpected++;
		f.time_ns = now;
		f.during_replace = attach_point_in_window(m->p.ap, now, m->p.settle_ns);
		snprintf(f.reason_text, sizeof(f.reason_text),
			 "unexpected page request: grpid %" PRIu32 ", dev %" PRIu32
			 ", flags 0x%" PRIx32,
			 rec->grpid, rec->dev_id, rec->flags);
		log_debug("mock: %s, addr 0x%" PRIx64 ", perm 0x%" PRIx32, f.reason_text,
			  (uint64_t)rec->addr, rec->perm);
	} else {
		const InjectSlot *slot = &m->slots[seq & IOPF_MASK];

		m->received[seq & IOPF_MASK] = true;
		if (seq <= completed) {
			f.time_ns = slot->time_ns;
			f.during_replace = slot->during;
		} else {
			/* Read while its TRIGGER_IOPF call is still returning. */
			f.time_ns = now;
			f.during_replace = replaced_since(m, slot->seq_before) ||
					   attach_point_in_window(m->p.ap, now, m->p.settle_ns);
		}
		snprintf(f.reason_text, sizeof(f.reason_text), "IOPF grpid %" PRIu32 " (%s)",
			 rec->grpid, fault_access_to_string(f.access));
	}
	fault_queue_push(m->p.queue, &f);
}

/*
 * Answers the groups of one read. seq_read is the window seqcount taken
 * before that read: a refusal is explained by a replacement since then.
 */
static void respond(MockIopf *m, const struct iommu_hwpt_page_response *resp, size_t n,
		    uint64_t seq_read)
{
	size_t off = 0;

	while (off < n) {
		size_t done = 0;
		int r;

		r = iommufd_fault_respond(m->p.fault_fd, resp + off, n - off, &done);
		m->responded += done;
		off += done;
		if (r >= 0)
			break;
		if (r == -EINVAL && replaced_since(m, seq_read))
			m->refused++;
		else {
			m->response_errors++;
			log_debug_errno(r, "mock: page response for cookie %" PRIu32 " refused: %m",
					resp[off].cookie);
		}
		off++; /* that one is settled either way; the rest still need answers */
	}
}

/* Everything injected up to snap was either received or will never be. */
static void resolve(MockIopf *m, uint64_t snap)
{
	for (uint64_t seq = m->resolved + 1; seq <= snap; seq++) {
		const InjectSlot *slot = &m->slots[seq & IOPF_MASK];

		if (m->received[seq & IOPF_MASK])
			m->received[seq & IOPF_MASK] = false;
		else if (!slot->injected)
			continue; /* counted as an injection error */
		else if (replaced_since(m, slot->seq_before))
			m->withdrawn++;
		else {
			m->lost++;
			log_debug("mock: page request grpid %" PRIu32
				  " was never delivered, and no replacement withdrew it",
				  (uint32_t)seq);
		}
	}
	STORE(m->resolved, snap);
}

/* Reads and answers until the queue is empty, then settles what cannot arrive any more. */
static void drain(MockIopf *m)
{
	struct iommu_hwpt_pgfault recs[IOPF_BATCH];
	struct iommu_hwpt_page_response resp[IOPF_BATCH];
	uint64_t snap = LOAD(m->completed);
	unsigned total = 0;

	if (m->read_failed)
		return;
	while (total < IOPF_DRAIN_MAX) {
		uint64_t seq_read = window_seq(m);
		size_t n = 0, nr = 0;
		int r;

		r = iommufd_fault_read(m->p.fault_fd, recs, IOPF_BATCH, &n);
		if (r == -ENOMEM)
			return; /* the kernel keeps the group; the fd stays readable */
		if (r < 0) {
			char reason[160];

			snprintf(reason, sizeof(reason),
				 "reading the iommufd fault queue failed: %s (%s)",
				 strerror(ERRNO_VALUE(r)), strempty(errno_to_name(r)));
			m->read_failed = true;
			fault_sink_fail(m->p.sink, r, reason);
			return;
		}
		if (n == 0) {
			resolve(m, snap);
			return;
		}
		total += (unsigned)n;
		for (size_t i = 0; i < n; i++) {
			receive(m, &recs[i]);
			/* The mock's groups are single requests, but a group is answered once, at
			 * its last. */
			if (recs[i].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE)
				resp[nr++] = (struct iommu_hwpt_page_response){
					.cookie = recs[i].cookie,
					.code = IOMMUFD_PAGE_RESP_SUCCESS,
				};
		}
		respond(m, resp, nr, seq_read);
	}
	/* Not empty yet: the fd polls readable still, the next dispatch goes on. */
}

int mock_iopf_new(const MockIopfParams *params, MockIopf **ret)
{
	MockIopf *m;

	if (!params || !ret || params->fault_fd < 0 || !params->ap || !params->queue ||
	    !params->sink || params->map_size < 4096 || params->rate < 0)
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->p = *params;
	m->kick_fd = -EBADF;
	m->pages = params->map_size / 4096;
	m->interval_ns = params->rate > 0 ? (uint64_t)(1e9 / params->rate) : 0;
	if (params->rate > 0 && m->interval_ns == 0)
		m->interval_ns = 1; /* faster than 1 GHz is "as fast as possible" anyway */
	m->slots = calloc(IOPF_RING, sizeof(InjectSlot));
	m->received = calloc(IOPF_RING, sizeof(bool));
	if (!m->slots || !m->received) {
		mock_iopf_free(m);
		return -ENOMEM;
	}
	m->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->kick_fd < 0) {
		int r = -errno;

		mock_iopf_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

int mock_iopf_start(MockIopf *m)
{
	int r;

	if (m->running)
		return -EBUSY;
	STORE(m->stop, false);
	r = pthread_create(&m->thread, NULL, injector_main, m);
	if (r != 0)
		return -r;
	m->running = true;
	return 0;
}

void mock_iopf_stop(MockIopf *m)
{
	MockIopfStats st;

	if (!m)
		return;
	if (m->running) {
		STORE(m->stop, true);
		pthread_join(m->thread, NULL);
		m->running = false;
	}
	/*
	 * Injection is synchronous: every request is queued or withdrawn by
	 * now, and one drain that ends on an empty queue settles them all.
	 * More passes only if a drain was cut short.
	 */
	for (unsigned i = 0; i < 4 && m->resolved < LOAD(m->completed) && !m->read_failed; i++)
		drain(m);

	if (m->summarized || LOAD(m->completed) == 0)
		return;
	m->summarized = true;
	mock_iopf_stats(m, &st);
	if (st.lost || st.unexpected || st.response_errors || st.outstanding)
		log_warning("mock: iommufd fault queue accounting: %" PRIu64
			    " page requests lost, %" PRIu64 " unexpected, %" PRIu64
			    " responses refused without a replacement, %" PRIu64
			    " outstanding (of %" PRIu64 " injected).",
			    st.lost, st.unexpected, st.response_errors, st.outstanding,
			    st.injected);
}

MockIopf *mock_iopf_free(MockIopf *m)
{
	if (!m)
		return NULL;
	mock_iopf_stop(m);
	safe_close(m->kick_fd);
	free(m->slots);
	free(m->received);
	free(m);
	return NULL;
}

int mock_iopf_kick_fd(MockIopf *m)
{
	return m->kick_fd;
}

void mock_iopf_dispatch(MockIopf *m, int fd)
{
	uint64_t v;

	if (fd == m->kick_fd)
		(void)!read(m->kick_fd, &v, sizeof(v));
	drain(m);
}

void mock_iopf_stats(MockIopf *m, MockIopfStats *ret)
{
	uint64_t accounted;

	*ret = (MockIopfStats){
		.injected = counter_get(m->injected),
		.inject_errors = counter_get(m->inject_errors),
		.injected_during_replace = counter_get(m->injected_during),
		.stalls = counter_get(m->stalls),
		.received = m->received_n,
		.unexpected = m->unexpected,
		.responded = m->responded,
		.response_refused = m->refused,
		.response_errors = m->response_errors,
		.withdrawn = m->withdrawn,
		.lost = m->lost,
	};
	/* While running, a request may be read before its injection is counted. */
	accounted = ret->received - ret->unexpected + ret->withdrawn + ret->lost;
	ret->outstanding = ret->injected > accounted ? ret->injected - accounted : 0;
}

void mock_iopf_describe(MockIopf *m, JsonWriter *j)
{
	MockIopfStats st;
	int e = __atomic_load_n(&m->last_error, __ATOMIC_RELAXED);

	mock_iopf_stats(m, &st);
	if (m->p.rate > 0)
		json_double(j, "rate", m->p.rate);
	else
		json_string(j, "rate", "max");
	json_u64(j, "max_outstanding", IOPF_RING);
	json_u64(j, "injected", st.injected);
	json_u64(j, "inject_errors", st.inject_errors);
	json_string(j, "last_inject_error", e ? errno_to_name(e) : NULL);
	json_u64(j, "injected_during_replace", st.injected_during_replace);
	json_u64(j, "received", st.received);
	json_u64(j, "unexpected", st.unexpected);
	json_u64(j, "responded", st.responded);
	json_u64(j, "response_refused", st.response_refused);
	json_u64(j, "response_errors", st.response_errors);
	json_u64(j, "withdrawn", st.withdrawn);
	json_u64(j, "lost", st.lost);
	json_u64(j, "outstanding", st.outstanding);
	json_u64(j, "stalls", st.stalls);
}
