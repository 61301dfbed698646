/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/fault.h"
#include "check-run.h"

typedef struct Collect {
	uint64_t n, last_addr;
	bool ordered;
} Collect;

static void collect(const FaultRecord *f, void *userdata)
{
	Collect *c = userdata;

	if (c->n && f->address != c->last_addr + 1)
		c->ordered = false;
	c->last_addr = f->address;
	c->n++;
}

START_TEST(test_push_drain_totals)
{
	FaultSink *s = NULL;
	FaultQueue *q = NULL;
	FaultTotals t;
	Collect c = {.ordered = true};

	ck_assert_int_eq(fault_sink_new(&s, 16), 0);
	ck_assert_int_eq(fault_sink_add_queue(s, "test", &q), 0);
	for (uint64_t i = 0; i < 40; i++) {
		FaultRecord f = {
			.address = i, .source = FAULT_SOURCE_MODEL, .during_replace = i % 2};
		fault_queue_push(q, &f);
	}
	/* A 16-slot ring keeps 16 records; the totals still count all 40. */
	ck_assert_uint_eq(fault_sink_drain(s, collect, &c), 16);
	ck_assert(c.ordered);
	fault_sink_totals(s, &t);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_MODEL], 40);
	ck_assert_uint_eq(t.during_replace[FAULT_SOURCE_MODEL], 20);
	ck_assert_uint_eq(t.dropped[FAULT_SOURCE_MODEL], 24);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_DMA_VERIFY], 0);
	/* The eventfd was written once, however many pushes. */
	{
		struct pollfd p = {.fd = fault_sink_eventfd(s), .events = POLLIN};
		ck_assert_int_eq(poll(&p, 1, 0), 1);
		fault_sink_ack(s);
		ck_assert_int_eq(poll(&p, 1, 0), 0);
		/* Quiet until re-armed … */
		fault_queue_push(q, &(FaultRecord){.source = FAULT_SOURCE_MODEL});
		ck_assert_int_eq(poll(&p, 1, 0), 0);
		fault_sink_rearm(s);
		fault_queue_push(q, &(FaultRecord){.source = FAULT_SOURCE_MODEL});
		ck_assert_int_eq(poll(&p, 1, 0), 1);
	}
	fault_sink_free(s);
}
END_TEST

START_TEST(test_fail_first_wins)
{
	FaultSink *s = NULL;
	const char *reason;
	int err;

	ck_assert_int_eq(fault_sink_new(&s, 16), 0);
	ck_assert(!fault_sink_failed(s, &err, &reason));
	fault_sink_fail(s, -ENODEV, "device removed");
	fault_sink_fail(s, -EIO, "second");
	ck_assert(fault_sink_failed(s, &err, &reason));
	ck_assert_int_eq(err, -ENODEV);
	ck_assert_str_eq(reason, "device removed");
	fault_sink_free(s);
}
END_TEST

typedef struct Producer {
	FaultQueue *q;
	uint64_t n;
} Producer;

static void *produce(void *p)
{
	Producer *pr = p;

	for (uint64_t i = 0; i < pr->n; i++) {
		FaultRecord f = {.address = i, .source = FAULT_SOURCE_DMA_VERIFY};
		fault_queue_push(pr->q, &f);
	}
	return NULL;
}

/* Two producers against a draining consumer: nothing lost from the totals, nothing duplicated. */
START_TEST(test_concurrent)
{
	FaultSink *s = NULL;
	Producer p[2] = {{.n = 500000}, {.n = 500000}};
	pthread_t t[2];
	uint64_t drained = 0;
	FaultTotals tot;

	ck_assert_int_eq(fault_sink_new(&s, 1024), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fault_sink_add_queue(s, "p", &p[i].q), 0);
		ck_assert_int_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	for (int i = 0; i < 2000; i++)
		drained += fault_sink_drain(s, NULL, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	drained += fault_sink_drain(s, NULL, NULL);
	fault_sink_totals(s, &tot);
	ck_assert_uint_eq(tot.total[FAULT_SOURCE_DMA_VERIFY], 1000000);
	ck_assert_uint_eq(drained + tot.dropped[FAULT_SOURCE_DMA_VERIFY], 1000000);
	fault_sink_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fault-sink");
	TCase *tc = tcase_create("sink");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_push_drain_totals);
	tcase_add_test(tc, test_fail_first_wins);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return check_run(s);
}
