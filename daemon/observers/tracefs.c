/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtd/entry-sync.h"
#include "log.h"
#include "observers/tracefs.h"
#include "core/observer.h"

#define MAX_OPEN_WRITES 64

static const char *const trace_events[] = {
	"entry_write_start",
	"entry_write_complete",
	"entry_sync",
};

typedef struct OpenWrite {
	bool used;
	uint32_t pasid;
	unsigned syncs;
	bool went_non_present;
	EntrySyncPath predicted;
} OpenWrite;

struct TraceSource {
	char *instance; /* the instance directory, or NULL when using the top level */
	bool created;
	char *device;
	int fd;
	sd_event_source *source;
	char buf[16384];
	size_t len;
	OpenWrite open[MAX_OPEN_WRITES];
	TraceStats stats;
};

/* "DEV[PASID] …": the device name and PASID every event of the series prints first. */
static const char *parse_dev_pasid(const char *p, TraceLine *l)
{
	const char *br = strchr(p, '[');
	char *end;
	size_t n;

	if (!br || br == p)
		return NULL;
	n = (size_t)(br - p);
	if (n >= sizeof(l->dev))
		return NULL;
	memcpy(l->dev, p, n);
	l->dev[n] = 0;
	errno = 0;
	l->pasid = (uint32_t)strtoul(br + 1, &end, 10);
	if (errno || end == br + 1 || *end != ']')
		return NULL;
	return end + 1;
}

static bool parse_words(const char *p, uint64_t w[4])
{
	unsigned long long w3, w2, w1, w0;
	int n = 0;

	if (sscanf(p, "%16llx:%16llx:%16llx:%16llx%n", &w3, &w2, &w1, &w0, &n) != 4 || n != 67)
		return false;
	w[0] = w0;
	w[1] = w1;
	w[2] = w2;
	w[3] = w3;
	return true;
}

TraceKind tracefs_parse_line(const char *line, TraceLine *ret)
{
	static const struct {
		const char *tag;
		TraceKind kind;
	} tags[] = {
		{" entry_write_start: ", TRACE_WRITE_START},
		{" entry_write_complete: ", TRACE_WRITE_COMPLETE},
		{" entry_sync: ", TRACE_SYNC},
	};
	TraceLine l = {};
	const char *p = NULL;

	for (size_t i = 0; i < ELEMENTSOF(tags) && !p; i++) {
		p = strstr(line, tags[i].tag);
		if (p) {
			l.kind = tags[i].kind;
			p += strlen(tags[i].tag);
		}
	}
	if (!p)
		return TRACE_OTHER;
	p = parse_dev_pasid(p, &l);
	if (!p)
		return TRACE_OTHER;

	if (l.kind == TRACE_SYNC) {
		if (strncmp(p, " was present", 12) == 0)
			l.was_present = true, p += 12;
		else if (strncmp(p, " was non-present", 16) == 0)
			p += 16;
		else
			return TRACE_OTHER;
		if (strncmp(p, ", is now present", 16) == 0)
			l.is_present = true;
		else if (strncmp(p, ", is now non-present", 20) != 0)
			return TRACE_OTHER;
	} else {
		if (strncmp(p, " target ", 8) != 0 || !parse_words(p + 8, l.target))
			return TRACE_OTHER;
		p = strstr(p + 8, ", current ");
		if (!p || !parse_words(p + 10, l.current))
			return TRACE_OTHER;
	}
	*ret = l;
	return l.kind;
}

static OpenWrite *find_write(TraceSource *t, uint32_t pasid, bool create)
{
	OpenWrite *free_slot = NULL;

	for (size_t i = 0; i < MAX_OPEN_WRITES; i++) {
		if (t->open[i].used && t->open[i].pasid == pasid)
			return &t->open[i];
		if (!t->open[i].used && !free_slot)
			free_slot = &t->open[i];
	}
	if (!create || !free_slot)
		return NULL;
	*free_slot = (OpenWrite){.used = true, .pasid = pasid};
	return free_slot;
}

static EntrySyncPath predict(const TraceLine *l)
{
	PasidEntry cur = {}, target = {};

	for (unsigned i = 0; i < 4; i++) {
		pasid_entry_set_qword(&cur, i, l->current[i]);
		pasid_entry_set_qword(&target, i, l->target[i]);
	}
	return entry_sync_predict(&cur, &target).path;
}

static void handle_line(TraceSource *t, const char *line)
{
	TraceLine l;
	OpenWrite *w;

	if (tracefs_parse_line(line, &l) == TRACE_OTHER || !streq(l.dev, t->device))
		return;
	switch (l.kind) {
	case TRACE_WRITE_START:
		w = find_write(t, l.pasid, true);
		if (!w)
			return;
		*w = (OpenWrite){.used = true, .pasid = l.pasid, .predicted = predict(&l)};
		break;
	case TRACE_SYNC:
		w = find_write(t, l.pasid, false);
		if (!w) {
			t->stats.unmatched++;
			return;
		}
		w->syncs++;
		if (l.was_present && !l.is_present)
			w->went_non_present = true;
		break;
	case TRACE_WRITE_COMPLETE:
		w = find_write(t, l.pasid, false);
		if (!w) {
			t->stats.unmatched++;
			return;
		}
		t->stats.writes++;
		t->stats.syncs += w->syncs;
		if (w->went_non_present)
			t->stats.disruptive++;
		else
			t->stats.hitless++;
		switch (w->predicted) {
		case ENTRY_SYNC_HITLESS:
			t->stats.predicted_hitless++;
			t->stats.prediction_agrees += !w->went_non_present;
			break;
		case ENTRY_SYNC_DISRUPTIVE:
			t->stats.predicted_disruptive++;
			t->stats.prediction_agrees += w->went_non_present;
			break;
		default:
			t->stats.predicted_noop++;
			t->stats.prediction_agrees += !w->went_non_present;
		}
		w->used = false;
		break;
	default:
		break;
	}
}

void trace_source_poll(TraceSource *t)
{
	if (!t || t->fd < 0)
		return;
	for (;;) {
		ssize_t n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		char *start, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		t->len += (size_t)n;
		t->buf[t->len] = 0;
		start = t->buf;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			handle_line(t, start);
			start = nl + 1;
		}
		t->len -= (size_t)(start - t->buf);
		memmove(t->buf, start, t->len);
		/* A line longer than the buffer is not one of ours: drop it. */
		if (t->len == sizeof(t->buf) - 1)
			t->len = 0;
	}
}

const TraceStats *trace_source_stats(const TraceSource *t)
{
	return &t->stats;
}

static int on_trace(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	trace_source_poll(userdata);
	return 0;
}

static int write_file(const char *dir, const char *event, const char *file, const char *value)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(value);

	if (asprintf(&path, "%s/events/intel_iommu/%s/%s", dir, event, file) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		return -errno ?: -EIO;
	return 0;
}

static bool has_events(const char *dir)
{
	for (size_t i = 0; i < ELEMENTSOF(trace_events); i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/events/intel_iommu/%s/enable", dir, trace_events[i]) < 0 ||
		    access(path, F_OK) < 0)
			return false;
	}
	return true;
}

TraceSource *trace_source_free(TraceSource *t)
{
	if (!t)
		return NULL;
	sd_event_source_disable_unref(t->source);
	safe_close(t->fd);
	if (t->instance) {
		for (size_t i = 0; i < ELEMENTSOF(trace_events); i++)
			(void)write_file(t->instance, trace_events[i], "enable", "0");
		/* The kernel refuses to remove an instance that is still open: fd closed above. */
		if (t->created && rmdir(t->instance) < 0)
			log_debug_errno(errno, "Cannot remove trace instance %s: %m", t->instance);
	}
	free(t->instance);
	free(t->device);
	free(t);
	return NULL;
}

int trace_source_new(sd_event *e, const char *tracefs, const char *device, unsigned run_id,
		     TraceSource **ret, char **reason)
{
	_cleanup_free_ char *filter = NULL, *pipe_path = NULL;
	TraceSource *t;
	struct stat st;
	int k;

	if (stat(tracefs, &st) < 0 || !S_ISDIR(st.st_mode))
		return asprintf(reason, "tracefs is not mounted at %s", tracefs) < 0 ? -ENOMEM
										     : -ENOENT;
	/* The event directories exist at the top level whenever they exist at all. */
	if (!has_events(tracefs))
		return asprintf(reason,
				"the kernel has no intel_iommu:entry_sync trace events (the "
				"entry_sync series is not applied)") < 0
			       ? -ENOMEM
			       : -EOPNOTSUPP;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -EBADF;
	t->device = strdup(device);
	if (!t->device ||
	    asprintf(&t->instance, "%s/instances/iommutestd-run-%u", tracefs, run_id) < 0) {
		t->instance = NULL;
		trace_source_free(t);
		return -ENOMEM;
	}
	if (mkdir(t->instance, 0750) >= 0)
		t->created = true;
	else if (errno != EEXIST) {
		k = -errno;
		(void)asprintf(reason, "cannot create trace instance %s: %s", t->instance,
			       strerror(-k));
		free(t->instance);
		t->instance = NULL;
		trace_source_free(t);
		return k;
	}
	if (!has_events(t->instance)) {
		(void)asprintf(reason, "trace instance %s has no intel_iommu events", t->instance);
		trace_source_free(t);
		return -EOPNOTSUPP;
	}

	if (asprintf(&filter, "dev == \"%s\"", device) < 0) {
		trace_source_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ELEMENTSOF(trace_events); i++) {
		k = write_file(t->instance, trace_events[i], "filter", filter);
		if (k >= 0)
			k = write_file(t->instance, trace_events[i], "enable", "1");
		if (k < 0) {
			(void)asprintf(reason, "cannot enable intel_iommu:%s in %s: %s",
				       trace_events[i], t->instance, strerror(-k));
			trace_source_free(t);
			return k;
		}
	}

	if (asprintf(&pipe_path, "%s/trace_pipe", t->instance) < 0) {
		trace_source_free(t);
		return -ENOMEM;
	}
	t->fd = open(pipe_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		k = -errno;
		(void)asprintf(reason, "cannot open %s: %s", pipe_path, strerror(-k));
		trace_source_free(t);
		return k;
	}
	/*
	 * A regular file (a test fixture) cannot be polled, and without a loop
	 * there is nothing to poll with: then the run's timer reads it instead.
	 */
	k = e ? sd_event_add_io(e, &t->source, t->fd, EPOLLIN, on_trace, t) : 0;
	if (k < 0 && k != -EPERM) {
		trace_source_free(t);
		return k;
	}
	if (t->source)
		(void)sd_event_source_set_description(t->source, "tracefs");
	*ret = t;
	return 0;
}

/* The observer: the kernel's own entry writes for a run's device, where it traces them. */
typedef struct TraceObserver {
	TraceSource *source;
	TraceStats stats; /* the final counts, once the instance is gone */
	bool stats_valid;
	char unavailable[256];
} TraceObserver;

static int trace_observer_start(void *state, const ObserverRun *run)
{
	TraceObserver *o = state;
	_cleanup_free_ char *why = NULL;
	int r;

	r = trace_source_new(run->event, run->env->tracefs, run->device, run->id, &o->source, &why);
	if (r >= 0)
		return 0;
	snprintf(o->unavailable, sizeof(o->unavailable), "%s", why ?: strerror(ERRNO_VALUE(r)));
	/* Said once per daemon: on a stock kernel it is the normal case, not news. */
	if (!run->trace_unavailable_logged || !*run->trace_unavailable_logged) {
		log_info("entry_sync trace events unavailable: %s; going on without them.",
			 o->unavailable);
		if (run->trace_unavailable_logged)
			*run->trace_unavailable_logged = true;
	}
	return r;
}

static void trace_observer_poll(void *state)
{
	TraceObserver *o = state;

	trace_source_poll(o->source);
}

/* Every replacement's entry writes are traced by now; the teardown's are not the run's. */
static void trace_observer_quiesce(void *state)
{
	TraceObserver *o = state;

	if (!o->source)
		return;
	trace_source_poll(o->source);
	o->stats = *trace_source_stats(o->source);
	o->stats_valid = true;
	o->source = trace_source_free(o->source);
}

static void trace_observer_stop(void *state)
{
	TraceObserver *o = state;

	o->source = trace_source_free(o->source);
}

static void trace_observer_describe(const void *state, bool run_active, JsonWriter *j)
{
	const TraceObserver *o = state;
	const TraceStats *t = o->source ? trace_source_stats(o->source) : o->stats_valid ? &o->stats : NULL;

	json_bool(j, "available", t != NULL);
	json_string(j, "reason", t ? "" : o->unavailable[0] ? o->unavailable : "not a PCI device run");
	if (!t)
		return;
	json_u64(j, "entry_writes", t->writes);
	json_u64(j, "hitless", t->hitless);
	json_u64(j, "disruptive", t->disruptive);
	json_u64(j, "syncs", t->syncs);
	json_object_begin(j, "predicted");
	json_u64(j, "hitless", t->predicted_hitless);
	json_u64(j, "disruptive", t->predicted_disruptive);
	json_u64(j, "no_op", t->predicted_noop);
	json_object_end(j);
	json_u64(j, "prediction_agrees", t->prediction_agrees);
	json_u64(j, "unmatched", t->unmatched);
}

const ObserverOps observer_tracefs = {
	.name = "tracefs",
	.size = sizeof(TraceObserver),
	.needs_flags = BACKEND_PCI,
	.start = trace_observer_start,
	.poll = trace_observer_poll,
	.quiesce = trace_observer_quiesce,
	.stop = trace_observer_stop,
	.describe = trace_observer_describe,
};
