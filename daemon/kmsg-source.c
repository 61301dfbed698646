/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kmsg.h"
#include "run.h"
#include "shared/log.h"
#include "shared/parse-util.h"

#define KMSG_MARKER "iommutestd: clock mark "

struct KmsgSource {
	Daemon *daemon;
	int fd;
	sd_event_source *source;
	uint64_t last_seq;
	bool have_seq;
	/*
	 * kmsg timestamps come from local_clock(), runs measure CLOCK_MONOTONIC;
	 * both count from boot on x86 but may drift apart. Each marker we write
	 * and read back measures the offset.
	 */
	int64_t offset_ns; /* CLOCK_MONOTONIC - kmsg time */
	uint64_t mark_id, mark_mono_ns;
	bool calibrated;
};

KmsgSource *kmsg_source_free(KmsgSource *k)
{
	if (!k)
		return NULL;
	sd_event_source_disable_unref(k->source);
	safe_close(k->fd);
	free(k);
	return NULL;
}

void kmsg_source_mark(KmsgSource *k, const char *what)
{
	char line[160];
	int fd, n;

	if (!k)
		return;
	/* Writing needs CAP_SYSLOG-free write access to /dev/kmsg; without it we stay uncalibrated.
	 */
	fd = open(k->daemon->env.dev_kmsg, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	k->mark_id++;
	n = snprintf(line, sizeof(line), "<6>" KMSG_MARKER "%" PRIu64 " %s\n", k->mark_id, what);
	k->mark_mono_ns = now_ns(CLOCK_MONOTONIC);
	(void)!write(fd, line, (size_t)n);
	safe_close(fd);
}

static bool run_wants_kmsg(Run *r, const KmsgFault *f)
{
	return run_is_active(r) && r->kmsg_queue && r->kmsg_match.valid &&
	       r->kmsg_match.bus == f->bus && r->kmsg_match.dev == f->dev &&
	       r->kmsg_match.fn == f->fn;
}

static void route_dma_fault(KmsgSource *k, const KmsgRecord *rec, const KmsgFault *f)
{
	uint64_t t = (uint64_t)((int64_t)(rec->ts_usec * NSEC_PER_USEC) + k->offset_ns);

	for (Run *r = k->daemon->runs; r; r = r->next) {
		FaultRecord fr;
		size_t ap = SIZE_MAX;

		if (!run_wants_kmsg(r, f))
			continue;
		/* VT-d reports RID_PASID (0) for requests without a PASID in scalable mode. */
		for (size_t i = 0; i < r->n_points; i++) {
			uint32_t p = r->points[i].state->pasid;

			if ((p == ATTACH_POINT_RID && (!f->has_pasid || f->pasid == 0)) ||
			    (f->has_pasid && p == f->pasid)) {
				ap = i;
				break;
			}
		}
		fr = (FaultRecord){
			.time_ns = t,
			.address = f->addr,
			.ap = ap == SIZE_MAX ? UINT32_MAX : (uint32_t)ap,
			.reason = f->reason,
			.source = FAULT_SOURCE_KMSG,
			.access = (uint8_t)f->access,
			.during_replace = ap != SIZE_MAX && run_point_in_window(r, ap, t),
		};
		snprintf(fr.reason_text, sizeof(fr.reason_text), "%s", f->reason_text);
		fault_queue_push(r->kmsg_queue, &fr);
		r->kmsg_stats.lines++;
	}
}

static void for_each_kmsg_run(KmsgSource *k, void (*fn)(Run *r, uint64_t n), uint64_t n)
{
	for (Run *r = k->daemon->runs; r; r = r->next)
		if (run_is_active(r) && r->kmsg_queue)
			fn(r, n);
}

static void add_suppressed(Run *r, uint64_t n)
{
	r->kmsg_stats.suppressed += n;
	r->kmsg_stats.lower_bound = true;
}

static void add_lost(Run *r, uint64_t n)
{
	r->kmsg_stats.lost += n;
	r->kmsg_stats.lower_bound = true;
}

static void add_intr(Run *r, uint64_t n)
{
	r->kmsg_stats.intr_remap += n;
}

static void handle_record(KmsgSource *k, const KmsgRecord *rec)
{
	KmsgFault f;
	const char *m;

	if (k->have_seq && rec->seq > k->last_seq + 1)
		/* The kernel's ring overwrote records before we read them. */
		for_each_kmsg_run(k, add_lost, rec->seq - k->last_seq - 1);
	k->last_seq = rec->seq;
	k->have_seq = true;

	m = strstr(rec->text, KMSG_MARKER);
	if (m && k->mark_mono_ns) {
		uint64_t id = strtoull(m + strlen(KMSG_MARKER), NULL, 10);

		if (id == k->mark_id) {
			k->offset_ns =
				(int64_t)k->mark_mono_ns - (int64_t)(rec->ts_usec * NSEC_PER_USEC);
			k->calibrated = true;
			log_debug("kmsg clock offset to CLOCK_MONOTONIC: %" PRIi64 " ns",
				  k->offset_ns);
		}
		return;
	}

	switch (kmsg_parse_fault(rec->text, &f)) {
	case KMSG_VTD_DMA_FAULT:
		route_dma_fault(k, rec, &f);
		break;
	case KMSG_VTD_INTR_FAULT:
		for (Run *r = k->daemon->runs; r; r = r->next)
			if (run_wants_kmsg(r, &f))
				add_intr(r, 1);
		break;
	case KMSG_RATELIMIT:
		/* Only the DMAR fault handler's limiter hides IOMMU faults from us. */
		if (streq(f.func, "dmar_fault"))
			for_each_kmsg_run(k, add_suppressed, f.suppressed);
		break;
	default:
		break;
	}
}

void kmsg_source_flush(KmsgSource *k)
{
	char buf[8192 + 1];

	if (!k || k->fd < 0)
		return;
	for (;;) {
		KmsgRecord rec;
		ssize_t n = read(k->fd, buf, sizeof(buf) - 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				/* Records were overwritten since the last read; the seq gap says
				 * how many. */
				continue;
			}
			if (errno != EAGAIN)
				log_debug_errno(errno, "Reading %s failed: %m",
						k->daemon->env.dev_kmsg);
			return;
		}
		if (n == 0)
			return;
		if (kmsg_parse_record(buf, (size_t)n, &rec) >= 0)
			handle_record(k, &rec);
	}
}

static int on_kmsg(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	kmsg_source_flush(userdata);
	return 0;
}

int kmsg_source_new(Daemon *d, KmsgSource **ret)
{
	KmsgSource *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->daemon = d;
	k->fd = open(d->env.dev_kmsg, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0) {
		r = -errno;
		free(k);
		return r;
	}
	/* Only what happens from now on concerns us. */
	if (lseek(k->fd, 0, SEEK_END) < 0)
		log_debug_errno(errno, "Cannot seek to the end of %s: %m", d->env.dev_kmsg);
	r = sd_event_add_io(d->event, &k->source, k->fd, EPOLLIN, on_kmsg, k);
	if (r < 0) {
		kmsg_source_free(k);
		return r;
	}
	(void)sd_event_source_set_description(k->source, "kmsg");
	*ret = k;
	return 0;
}
