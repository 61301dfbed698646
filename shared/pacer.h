/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * "N operations per second" for the worker threads: the replacement workers
 * (Rate=), the vfio backend's DMA traffic (DmaRate=) and the mock backend's
 * page-request injector. Each operation has a deadline one interval after
 * the previous one's, on CLOCK_MONOTONIC, so that a late operation is made
 * up for by the ones after it; after a stall of more than a second the
 * schedule restarts instead, so that a thread that was descheduled does not
 * follow it with a burst.
 */

#include <stdbool.h>
#include <stdint.h>

#include "parse-util.h"

/* How long one sleep may be, so that a stop request is seen promptly even at 1 Hz. */
#define PACER_SLICE_NS (50 * NSEC_PER_MSEC)
/* Late by more than this, the schedule restarts from now. */
#define PACER_RESTART_NS NSEC_PER_SEC

/*
 * Whether the thread was asked to stop. A callback, so that each thread
 * reads its flag with the memory ordering it has always used.
 */
typedef bool (*pacer_stop_fn_t)(void *userdata);

typedef struct Pacer {
	uint64_t interval_ns; /* between two operations; 0: unpaced */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC: when the last operation was due */
} Pacer;

/* The first operation is due one interval after start_ns (normally now_ns(CLOCK_MONOTONIC)). */
void pacer_init(Pacer *p, uint64_t interval_ns, uint64_t start_ns);

/*
 * Moves to the next operation's deadline and returns it, given the time now:
 * one interval after the last one, or now if that is more than
 * PACER_RESTART_NS in the past. Does not sleep or read the clock.
 */
uint64_t pacer_advance(Pacer *p, uint64_t now);

/*
 * Sleeps until the next operation is due. True when it is; false when
 * stopping() said so before or after the sleep (it is asked before every
 * slice and once at the end). Unpaced (interval 0), true at once, without
 * reading the clock or asking stopping().
 */
bool pacer_wait_paced(Pacer *p, pacer_stop_fn_t stopping, void *userdata);
static inline bool pacer_wait(Pacer *p, pacer_stop_fn_t stopping, void *userdata)
{
	/*
	 * The unpaced loops are the hot ones (a worker at Rate=max): inline,
	 * they pay one compare, not even a call (bench-instructions).
	 */
	if (p->interval_ns == 0)
		return true;
	return pacer_wait_paced(p, stopping, userdata);
}

/* Sleeps until t_ns on CLOCK_MONOTONIC (EINTR cuts it short). */
void sleep_until_ns(uint64_t t_ns);

/*
 * Sleeps until t_ns on CLOCK_MONOTONIC in slices of at most PACER_SLICE_NS,
 * asking stopping() before each. Returns !stopping() at the end: false as
 * soon as a stop is requested.
 */
bool sleep_until_or_stop(uint64_t t_ns, pacer_stop_fn_t stopping, void *userdata);
