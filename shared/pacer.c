/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "macro.h"
#include "pacer.h"

void pacer_init(Pacer *p, uint64_t interval_ns, uint64_t start_ns)
{
	*p = (Pacer){
		.interval_ns = interval_ns,
		.deadline_ns = start_ns,
	};
}

uint64_t pacer_advance(Pacer *p, uint64_t now)
{
	p->deadline_ns += p->interval_ns;
	/* After a long stall, do not burst to catch up: restart the schedule. */
	if (now > p->deadline_ns + PACER_RESTART_NS)
		p->deadline_ns = now;
	return p->deadline_ns;
}

bool pacer_wait_paced(Pacer *p, pacer_stop_fn_t stopping, void *userdata)
{
	return sleep_until_or_stop(pacer_advance(p, now_ns(CLOCK_MONOTONIC)), stopping, userdata);
}

void sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t_ns / NSEC_PER_SEC),
		.tv_nsec = (long)(t_ns % NSEC_PER_SEC),
	};

	/* Absolute: callers loop on their own clock reads, and an early wakeup cannot drift. */
	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

bool sleep_until_or_stop(uint64_t t_ns, pacer_stop_fn_t stopping, void *userdata)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	while (now < t_ns) {
		if (stopping(userdata))
			return false;
		sleep_until_ns(MIN(t_ns, now + PACER_SLICE_NS));
		now = now_ns(CLOCK_MONOTONIC);
	}
	return !stopping(userdata);
}
