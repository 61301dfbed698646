/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observers/kmsg.h"
#include "core/observer.h"
#include "pci-address.h"
#include "log.h"
#include "parse-util.h"

#define KMSG_MARKER "iommutestd: clock mark "

/*
 * The kernel prints a fault's lines back to back from one handler, so an
 * event still open this long after it was read has lost its tail (or never
 * had one: VT-d without CONFIG_DMAR_DEBUG prints no table dump). Waiting
 * costs no accuracy: faults are placed in time by their kmsg timestamp.
 */
#define KMSG_GROUP_USEC (100 * USEC_PER_MSEC)

struct KmsgSource {
	sd_event *event;
	char *path;
	KmsgSubscription *subs;
	int fd;
	sd_event_source *source, *group_timer;
	KmsgParser parser;
	uint64_t group_seq; /* the group timer closes events opened up to this record */
	uint64_t last_seq;
	bool have_seq;
	/* Since the daemon started, whoever was subscribed: for the metrics. */
	KmsgStats totals;
	/*
	 * kmsg timestamps come from local_clock(), runs measure CLOCK_MONOTONIC;
	 * both count from boot on x86 but may drift apart. Each marker we write
	 * and read back measures the offset.
	 */
	int64_t offset_ns; /* CLOCK_MONOTONIC - kmsg time */
	uint64_t mark_id, mark_mono_ns;
	bool calibrated;
};

const KmsgStats *kmsg_source_totals(const KmsgSource *k)
{
	return &k->totals;
}

KmsgSource *kmsg_source_free(KmsgSource *k)
{
	if (!k)
		return NULL;
	sd_event_source_disable_unref(k->source);
	sd_event_source_disable_unref(k->group_timer);
	safe_close(k->fd);
	free(k->path);
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
	fd = open(k->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	k->mark_id++;
	n = snprintf(line, sizeof(line), "<6>" KMSG_MARKER "%" PRIu64 " %s\n", k->mark_id, what);
	k->mark_mono_ns = now_ns(CLOCK_MONOTONIC);
	(void)!write(fd, line, (size_t)n);
	safe_close(fd);
}

void kmsg_source_subscribe(KmsgSource *k, KmsgSubscription *s)
{
	s->next = k->subs;
	k->subs = s;
}

void kmsg_source_unsubscribe(KmsgSource *k, KmsgSubscription *s)
{
	for (KmsgSubscription **p = &k->subs; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			s->next = NULL;
			return;
		}
}

static bool sub_wants(const KmsgSubscription *s, const KmsgEvent *e)
{
	return kmsg_event_matches_device(e, s->segment, s->bus, s->dev, s->fn);
}

static void route_dma_fault(KmsgSource *k, const KmsgEvent *e)
{
	uint64_t t = (uint64_t)((int64_t)(e->ts_usec * NSEC_PER_USEC) + k->offset_ns);

	for (KmsgSubscription *s = k->subs; s; s = s->next) {
		FaultRecord fr;
		size_t ap = SIZE_MAX;

		if (!sub_wants(s, e))
			continue;
		/*
		 * Requests without a PASID use the RID attachment; VT-d scalable mode
		 * reports them as PASID 0 (RID_PASID), SMMUv3 as SSID 0 without SSV.
		 */
		for (size_t i = 0; i < s->n_points; i++) {
			uint32_t p = s->points[i].pasid;

			if ((p == ATTACH_POINT_RID && (!e->has_pasid || e->pasid == 0)) ||
			    (e->has_pasid && p == e->pasid)) {
				ap = i;
				break;
			}
		}
		fr = (FaultRecord){
			.time_ns = t,
			.address = e->addr,
			.ap = ap == SIZE_MAX ? UINT32_MAX : (uint32_t)ap,
			.reason = e->reason,
			.source = FAULT_SOURCE_KMSG,
			.access = (uint8_t)e->access,
		};
		if (ap != SIZE_MAX) {
			fr.during_replace = s->lookup(s->userdata, ap, t, &fr.domain);
			fr.domain_known = fr.domain != UINT32_MAX;
		}
		snprintf(fr.reason_text, sizeof(fr.reason_text), "%s", e->reason_text);
		fault_queue_push(s->queue, &fr);
		s->stats.lines++;
	}
}

/* What hides faults from every subscriber: each count then becomes a lower bound. */
/* The kernel-wide kinds of loss: every subscriber and the daemon's totals take them. */
static void for_each_sub(KmsgSource *k, void (*fn)(KmsgStats *st, uint64_t n), uint64_t n)
{
	fn(&k->totals, n);
	for (KmsgSubscription *s = k->subs; s; s = s->next)
		fn(&s->stats, n);
}

static void add_suppressed(KmsgStats *st, uint64_t n)
{
	st->suppressed += n;
	st->lower_bound = true;
}

static void add_lost(KmsgStats *st, uint64_t n)
{
	st->lost += n;
	st->lower_bound = true;
}

/* The IOMMU dropped events itself (overflow, VT-d PFO); it does not say how many. */
static void add_overflow(KmsgStats *st, uint64_t n)
{
	st->overflows += n;
	st->lower_bound = true;
}

static void on_event(const KmsgEvent *e, void *userdata)
{
	KmsgSource *k = userdata;

	switch (e->kind) {
	case KMSG_KIND_DMA_FAULT:
		route_dma_fault(k, e);
		break;
	case KMSG_KIND_INTR_FAULT:
		for (KmsgSubscription *s = k->subs; s; s = s->next)
			if (sub_wants(s, e))
				s->stats.intr_remap++;
		break;
	case KMSG_KIND_RATELIMIT:
		/* Only the IOMMU drivers' limiters hide fault lines from us. */
		if (e->vendor != KMSG_VENDOR_NONE)
			for_each_sub(k, add_suppressed, e->suppressed);
		break;
	default:
		break;
	}
	if (e->lost) {
		log_debug("kmsg: %s IOMMU lost events: %s", kmsg_vendor_to_string(e->vendor),
			  e->reason_text);
		for_each_sub(k, add_overflow, 1);
	}
}

static void handle_record(KmsgSource *k, const KmsgRecord *rec)
{
	const char *m;

	if (k->have_seq && rec->seq > k->last_seq + 1)
		/* The kernel's ring overwrote records before we read them. */
		for_each_sub(k, add_lost, rec->seq - k->last_seq - 1);
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

	kmsg_parser_feed(&k->parser, rec);
}

/* Reads every queued record. */
static void kmsg_source_read(KmsgSource *k)
{
	char buf[8192 + 1];

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
				log_debug_errno(errno, "Reading %s failed: %m", k->path);
			return;
		}
		if (n == 0)
			return;
		if (kmsg_parse_record(buf, (size_t)n, &rec) >= 0)
			handle_record(k, &rec);
	}
}

void kmsg_source_flush(KmsgSource *k)
{
	if (!k || k->fd < 0)
		return;
	kmsg_source_read(k);
	kmsg_parser_flush(&k->parser);
	if (k->group_timer)
		(void)sd_event_source_set_enabled(k->group_timer, SD_EVENT_OFF);
}

static void arm_group_timer(KmsgSource *k);

static int on_group_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	KmsgSource *k = userdata;

	kmsg_source_read(k);
	kmsg_parser_flush_until(&k->parser, k->group_seq);
	if (kmsg_parser_pending(&k->parser, NULL))
		/* opened since the timer was armed: they get their own time */
		arm_group_timer(k);
	return 0;
}

/* Closes the open events KMSG_GROUP_USEC from now unless later lines close them first. */
static void arm_group_timer(KmsgSource *k)
{
	uint64_t now;
	int r;

	(void)kmsg_parser_pending(&k->parser, &k->group_seq);
	r = sd_event_now(k->event, CLOCK_MONOTONIC, &now);
	if (r >= 0 && k->group_timer) {
		r = sd_event_source_set_time(k->group_timer, now + KMSG_GROUP_USEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(k->group_timer, SD_EVENT_ONESHOT);
	} else if (r >= 0) {
		r = sd_event_add_time(k->event, &k->group_timer, CLOCK_MONOTONIC,
				      now + KMSG_GROUP_USEC, 0, on_group_timer, k);
		if (r >= 0)
			(void)sd_event_source_set_description(k->group_timer, "kmsg-group");
	}
	if (r < 0) {
		log_debug_errno(r, "Cannot arm the kmsg group timer, closing the event now: %m");
		kmsg_parser_flush(&k->parser);
	}
}

static int on_kmsg(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	KmsgSource *k = userdata;
	int enabled = SD_EVENT_OFF;

	kmsg_source_read(k);
	if (!kmsg_parser_pending(&k->parser, NULL))
		return 0;
	if (k->group_timer && sd_event_source_get_enabled(k->group_timer, &enabled) >= 0 &&
	    enabled != SD_EVENT_OFF)
		return 0; /* armed; on_group_timer() re-arms for events opened since */
	arm_group_timer(k);
	return 0;
}

int kmsg_source_new(sd_event *event, const char *dev_kmsg, KmsgSource **ret)
{
	KmsgSource *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->event = event;
	k->fd = -EBADF;
	k->path = strdup(dev_kmsg);
	if (!k->path) {
		kmsg_source_free(k);
		return -ENOMEM;
	}
	kmsg_parser_init(&k->parser, on_event, k);
	k->fd = open(dev_kmsg, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0) {
		r = -errno;
		kmsg_source_free(k);
		return r;
	}
	/* Only what happens from now on concerns us. */
	if (lseek(k->fd, 0, SEEK_END) < 0)
		log_debug_errno(errno, "Cannot seek to the end of %s: %m", dev_kmsg);
	r = sd_event_add_io(event, &k->source, k->fd, EPOLLIN, on_kmsg, k);
	if (r < 0) {
		kmsg_source_free(k);
		return r;
	}
	(void)sd_event_source_set_description(k->source, "kmsg");
	*ret = k;
	return 0;
}

/* The observer: a run on a PCI device follows the kernel log for its fault lines. */
typedef struct KmsgObserver {
	KmsgSource *source;
	KmsgSubscription sub;
	bool enabled, subscribed;
} KmsgObserver;

static int kmsg_observer_prepare(void *state, const ObserverRun *run)
{
	KmsgObserver *o = state;
	KmsgSubscription *s = &o->sub;
	PciAddress a;
	int r;

	if (!run->kmsg)
		return -ENOENT;
	r = pci_address_parse(run->device, 0, &a);
	if (r < 0)
		return r;
	s->segment = (uint16_t)a.domain;
	s->bus = a.bus;
	s->dev = a.dev;
	s->fn = a.fn;
	r = fault_sink_add_queue(run->sink, "kmsg", &s->queue);
	if (r < 0)
		return r;
	s->points = run->points;
	s->n_points = run->n_points;
	s->lookup = run->lookup;
	s->userdata = run->userdata;
	o->source = run->kmsg;
	o->enabled = true;
	kmsg_source_flush(o->source); /* older lines are not this run's */
	kmsg_source_subscribe(o->source, s);
	o->subscribed = true;
	kmsg_source_mark(o->source, run->name);
	return 0;
}

/* Fault lines the kernel printed up to now still belong to the run. */
static void kmsg_observer_finish(void *state)
{
	KmsgObserver *o = state;

	if (o->subscribed)
		kmsg_source_flush(o->source);
}

static void kmsg_observer_stop(void *state)
{
	KmsgObserver *o = state;

	if (o->subscribed)
		kmsg_source_unsubscribe(o->source, &o->sub);
	o->subscribed = false;
}

static void kmsg_observer_describe(const void *state, bool run_active, JsonWriter *j)
{
	const KmsgObserver *o = state;

	json_bool(j, "enabled", o->enabled);
	json_u64(j, "fault_lines", o->sub.stats.lines);
	json_u64(j, "suppressed", o->sub.stats.suppressed);
	json_u64(j, "lost", o->sub.stats.lost);
	json_u64(j, "intr_remap_faults", o->sub.stats.intr_remap);
	json_u64(j, "iommu_overflows", o->sub.stats.overflows);
	/* The kernel rate-limits DMAR lines (10 per 5 s): then the kmsg count is only a floor. */
	json_bool(j, "lower_bound", o->sub.stats.lower_bound);
}

/* Rate limited, and QEMU drops repeated fault records: a floor, the count of last resort. */
static FaultSource kmsg_observer_fallback_source(const void *state)
{
	const KmsgObserver *o = state;

	return o->enabled ? FAULT_SOURCE_KMSG : _FAULT_SOURCE_MAX;
}

const ObserverOps observer_kmsg = {
	.name = "kmsg",
	.size = sizeof(KmsgObserver),
	.needs_flags = BACKEND_PCI,
	.needs_window_log = true,
	.prepare = kmsg_observer_prepare,
	.finish = kmsg_observer_finish,
	.stop = kmsg_observer_stop,
	.describe = kmsg_observer_describe,
	.fallback_source = kmsg_observer_fallback_source,
};
