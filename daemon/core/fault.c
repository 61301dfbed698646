/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "counter.h"
#include "core/fault.h"
#include "parse-util.h"

/*
 * One single-producer/single-consumer ring per producer thread. The producer
 * owns head and the counters, the main loop owns tail; they sit on separate
 * cache lines so a fault storm does not bounce the consumer's line.
 */
struct FaultQueue {
	FaultQueue *next;
	FaultSink *sink;
	char *name;
	FaultRecord *ring;
	uint64_t mask;

	_Alignas(CACHELINE) uint64_t head;
	uint64_t tail_cache; /* producer's last view of tail */
	uint64_t total[_FAULT_SOURCE_MAX];
	uint64_t during[_FAULT_SOURCE_MAX];
	uint64_t dropped[_FAULT_SOURCE_MAX];

	_Alignas(CACHELINE) uint64_t tail;
};

struct FaultSink {
	FaultQueue *queues;
	unsigned capacity;
	int efd;
	/* Producers wake the main loop at most once until it re-arms (see fault_sink_rearm). */
	_Alignas(CACHELINE) bool wake_pending;
	_Alignas(CACHELINE) bool failed;
	int fail_error;
	char fail_reason[256];
	bool fail_published;
};

const char *fault_source_to_string(FaultSource s)
{
	static const char *const t[_FAULT_SOURCE_MAX] = {
		[FAULT_SOURCE_MODEL] = "model",	    [FAULT_SOURCE_DMA_VERIFY] = "dma-verify",
		[FAULT_SOURCE_KMSG] = "kmsg",	    [FAULT_SOURCE_IOMMUFD] = "iommufd",
		[FAULT_SOURCE_TRACEFS] = "tracefs",
	};
	return (unsigned)s < _FAULT_SOURCE_MAX ? t[s] : "unknown";
}

const char *fault_access_to_string(FaultAccess a)
{
	static const char *const t[_FAULT_ACCESS_MAX] = {
		[FAULT_ACCESS_UNKNOWN] = "unknown",
		[FAULT_ACCESS_READ] = "read",
		[FAULT_ACCESS_WRITE] = "write",
	};
	return (unsigned)a < _FAULT_ACCESS_MAX ? t[a] : "unknown";
}

int fault_sink_new(FaultSink **ret, unsigned queue_capacity)
{
	FaultSink *s;
	unsigned cap = 16;

	while (cap < queue_capacity && cap < (1u << 24))
		cap <<= 1;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->capacity = cap;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

FaultSink *fault_sink_free(FaultSink *s)
{
	if (!s)
		return NULL;
	while (s->queues) {
		FaultQueue *q = s->queues;
		s->queues = q->next;
		free(q->ring);
		free(q->name);
		free(q);
	}
	safe_close(s->efd);
	free(s);
	return NULL;
}

int fault_sink_add_queue(FaultSink *s, const char *name, FaultQueue **ret)
{
	FaultQueue *q;

	q = aligned_alloc(CACHELINE, sizeof(*q));
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->ring = calloc(s->capacity, sizeof(FaultRecord));
	q->name = strdup(name);
	if (!q->ring || !q->name) {
		free(q->ring);
		free(q->name);
		free(q);
		return -ENOMEM;
	}
	q->mask = s->capacity - 1;
	q->sink = s;
	q->next = s->queues;
	s->queues = q;
	*ret = q;
	return 0;
}

int fault_sink_eventfd(FaultSink *s)
{
	return s->efd;
}

static void sink_wake(FaultSink *s)
{
	static const uint64_t one = 1;

	if (__atomic_exchange_n(&s->wake_pending, true, __ATOMIC_ACQ_REL))
		return;
	/* Nonblocking; a full counter (never in practice) still leaves the fd readable. */
	(void)!write(s->efd, &one, sizeof(one));
}

void fault_queue_push(FaultQueue *q, const FaultRecord *f)
{
	unsigned src = f->source < _FAULT_SOURCE_MAX ? f->source : FAULT_SOURCE_MODEL;
	uint64_t head = q->head;

	/* Counters first: totals are exact even when the record itself is dropped. */
	counter_inc(q->total[src]);
	if (f->during_replace)
		counter_inc(q->during[src]);

	if (head - q->tail_cache > q->mask) {
		q->tail_cache = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
		if (head - q->tail_cache > q->mask) {
			counter_inc(q->dropped[src]);
			sink_wake(q->sink);
			return;
		}
	}
	q->ring[head & q->mask] = *f;
	q->ring[head & q->mask].source = (uint8_t)src;
	__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
	sink_wake(q->sink);
}

void fault_sink_fail(FaultSink *s, int error, const char *reason)
{
	bool expected = false;

	if (!__atomic_compare_exchange_n(&s->failed, &expected, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	s->fail_error = -ERRNO_VALUE(error);
	snprintf(s->fail_reason, sizeof(s->fail_reason), "%s", reason ?: "backend failure");
	__atomic_store_n(&s->fail_published, true, __ATOMIC_RELEASE);
	/* Always wake: a failure must not wait behind a pending fault wake-up. */
	(void)!write(s->efd, &(uint64_t){1}, sizeof(uint64_t));
}

bool fault_sink_failed(FaultSink *s, int *ret_error, const char **ret_reason)
{
	if (!__atomic_load_n(&s->fail_published, __ATOMIC_ACQUIRE))
		return false;
	if (ret_error)
		*ret_error = s->fail_error;
	if (ret_reason)
		*ret_reason = s->fail_reason;
	return true;
}

void fault_sink_ack(FaultSink *s)
{
	uint64_t v;

	(void)!read(s->efd, &v, sizeof(v));
}

void fault_sink_rearm(FaultSink *s)
{
	__atomic_store_n(&s->wake_pending, false, __ATOMIC_RELEASE);
}

uint64_t fault_sink_drain(FaultSink *s, fault_cb_t cb, void *userdata)
{
	uint64_t n = 0;

	for (FaultQueue *q = s->queues; q; q = q->next) {
		uint64_t tail = q->tail;
		uint64_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);

		for (; tail != head; tail++, n++)
			if (cb)
				cb(&q->ring[tail & q->mask], userdata);
		__atomic_store_n(&q->tail, tail, __ATOMIC_RELEASE);
	}
	return n;
}

void fault_sink_totals(FaultSink *s, FaultTotals *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (FaultQueue *q = s->queues; q; q = q->next)
		for (unsigned i = 0; i < _FAULT_SOURCE_MAX; i++) {
			ret->total[i] += counter_get(q->total[i]);
			ret->during_replace[i] += counter_get(q->during[i]);
			ret->dropped[i] += counter_get(q->dropped[i]);
		}
}
