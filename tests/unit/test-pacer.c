/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <inttypes.h>
#include <time.h>

#include "macro.h"
#include "pacer.h"
#include "parse-util.h"
#include "check-run.h"

#define MS NSEC_PER_MSEC
#define S  NSEC_PER_SEC

/*
 * One schedule at 100 Hz (10 ms) from t = 1 s, and the deadline each step
 * gives for the time it is called at: on time, early, late (made up by
 * the next ones), and late by more than PACER_RESTART_NS (restarted).
 */
static const struct {
	uint64_t now, deadline;
} steps[] = {
	{1 * S, 1 * S + 10 * MS},		    /* the first is one interval after the start */
	{1 * S + 10 * MS, 1 * S + 20 * MS},	    /* on time */
	{1 * S, 1 * S + 30 * MS},		    /* early: still one interval on */
	{1 * S + 500 * MS, 1 * S + 40 * MS},	    /* late: the deadline is past, no sleep */
	{1 * S + 500 * MS, 1 * S + 50 * MS},	    /* catching up, still */
	{2 * S + 60 * MS, 1 * S + 60 * MS},	    /* exactly PACER_RESTART_NS late: caught up */
	{2 * S + 70 * MS + 1, 2 * S + 70 * MS + 1}, /* 1 ns later than that: restart */
	{2 * S + 70 * MS + 1, 2 * S + 80 * MS + 1}, /* from the restart on */
	{10 * S, 10 * S},			    /* a long stall */
	{10 * S, 10 * S + 10 * MS},
};

START_TEST(test_schedule)
{
	Pacer p;

	pacer_init(&p, 10 * MS, 1 * S);
	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		uint64_t d = pacer_advance(&p, steps[i].now);

		ck_assert_msg(d == steps[i].deadline,
			      "step %zu: deadline %" PRIu64 ", want %" PRIu64, i, d,
			      steps[i].deadline);
		ck_assert_uint_eq(p.deadline_ns, d);
	}
}
END_TEST

START_TEST(test_schedule_is_exact)
{
	Pacer p;

	/* 3 Hz, rounded to ns as the callers do: deadlines do not drift from n × interval. */
	pacer_init(&p, 333333333, 5 * S);
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert_uint_eq(pacer_advance(&p, 5 * S + n * 333333333 - 1),
				  5 * S + n * 333333333);
}
END_TEST

static bool count_calls(void *userdata)
{
	unsigned *calls = userdata;

	(*calls)++;
	return false;
}

/* Asks to stop on the n-th question, n = *(unsigned *)userdata counting down. */
static bool stop_on_nth(void *userdata)
{
	unsigned *left = userdata;

	return --*left == 0;
}

START_TEST(test_unpaced)
{
	Pacer p;
	unsigned calls = 0;

	/* Rate 0: never a sleep, a clock read or a stop question. */
	pacer_init(&p, 0, 1 * S);
	for (unsigned i = 0; i < 1000; i++)
		ck_assert(pacer_wait(&p, count_calls, &calls));
	ck_assert_uint_eq(calls, 0);
	ck_assert_uint_eq(p.deadline_ns, 1 * S);
}
END_TEST

START_TEST(test_wait_reaches_deadline)
{
	Pacer p;
	unsigned calls = 0;

	pacer_init(&p, 2 * MS, now_ns(CLOCK_MONOTONIC));
	for (unsigned i = 0; i < 5; i++) {
		ck_assert(pacer_wait(&p, count_calls, &calls));
		/* Absolute sleeps on the same clock: never woken before the deadline. */
		ck_assert_uint_ge(now_ns(CLOCK_MONOTONIC), p.deadline_ns);
	}
	/* Asked at least once at the end of each wait. */
	ck_assert_uint_ge(calls, 5);
}
END_TEST

START_TEST(test_wait_stops)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	Pacer p;
	unsigned left = 1;

	/* An hour away, stop asked at once: no sleep at all. */
	pacer_init(&p, 3600 * S, t0);
	ck_assert(!pacer_wait(&p, stop_on_nth, &left));
	ck_assert_uint_eq(p.deadline_ns, t0 + 3600 * S);

	/* Stop on the third question: two slices slept, then false. */
	left = 3;
	t0 = now_ns(CLOCK_MONOTONIC);
	ck_assert(!sleep_until_or_stop(t0 + 3600 * S, stop_on_nth, &left));
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_ge(now_ns(CLOCK_MONOTONIC), t0 + 2 * PACER_SLICE_NS);

	/* A deadline already past: no sleep, the stop question is asked once at the end. */
	left = 1;
	ck_assert(!sleep_until_or_stop(t0, stop_on_nth, &left));
	left = 2;
	ck_assert(sleep_until_or_stop(t0, stop_on_nth, &left));
	ck_assert_uint_eq(left, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pacer");
	TCase *tc = tcase_create("pacer");

	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_schedule_is_exact);
	tcase_add_test(tc, test_unpaced);
	tcase_add_test(tc, test_wait_reaches_deadline);
	tcase_add_test(tc, test_wait_stops);
	suite_add_tcase(s, tc);
	return check_run(s);
}
