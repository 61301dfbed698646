/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "bus/bus.h"
#include "core/run.h"
#include "counter.h"
#include "log.h"
#include "parse-util.h"

static int property_get_state(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	Run *r = userdata;

	return sd_bus_message_append(reply, "s", run_state_to_string(r->state));
}

static int property_get_scenario_string(sd_bus *bus, const char *path, const char *interface,
					const char *property, sd_bus_message *reply, void *userdata,
					sd_bus_error *error)
{
	Run *r = userdata;
	const char *v;

	if (streq(property, "Scenario"))
		v = r->scenario->name;
	else if (streq(property, "Backend"))
		v = r->scenario->backend;
	else
		v = r->scenario->device;
	return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_elapsed(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	Run *r = userdata;

	/*
	 * Computed on read rather than from the last sample, so that a property
	 * Get between ticks is current; PropertiesChanged still goes at tick rate.
	 */
	if (run_is_active(r) && r->started_mono_ns)
		return sd_bus_message_append(
			reply, "t", (now_ns(CLOCK_MONOTONIC) - r->started_mono_ns) / NSEC_PER_USEC);
	return sd_bus_message_append(reply, "t", r->stats.elapsed_usec);
}

/*
 * One struct per attachment point, in scenario order: the same numbers as
 * Describe()'s attach_points, typed for clients that don't parse JSON.
 * Percentiles are of the point's own histogram, read while its worker writes
 * (each bucket is a relaxed atomic), so they are current to the call.
 */
static int property_get_attach_points(sd_bus *bus, const char *path, const char *interface,
				      const char *property, sd_bus_message *reply, void *userdata,
				      sd_bus_error *error)
{
	Run *r = userdata;
	_cleanup_free_ Histogram *h = malloc(sizeof(Histogram));
	double secs = (double)r->stats.elapsed_usec / 1e6;
	int k;

	if (!h)
		return -ENOMEM;
	k = sd_bus_message_open_container(reply, 'a', "(suuttdttttta{st})");
	if (k < 0)
		return k;
	for (size_t i = 0; i < r->n_points; i++) {
		const RunPoint *pt = &r->points[i];
		uint64_t repl = counter_get(pt->replacements);
		char name[32];

		hist_init(h);
		hist_merge(h, pt->hist);
		k = sd_bus_message_open_container(reply, 'r', "suuttdttttta{st}");
		if (k < 0)
			return k;
		k = sd_bus_message_append(
			reply, "suuttdttttt",
			attach_point_to_string(pt->state->pasid, name, sizeof(name)),
			pt->state->pasid, (uint32_t)(i % r->n_workers), repl,
			counter_get(pt->errors), secs > 0 ? (double)repl / secs : 0.0,
			hist_percentile(h, 50), hist_percentile(h, 99), h->count ? h->max : 0,
			pt->faults, pt->faults_during);
		if (k < 0)
			return k;
		k = sd_bus_message_open_container(reply, 'a', "{st}");
		if (k < 0)
			return k;
		for (unsigned src = 0; src < _FAULT_SOURCE_MAX; src++) {
			k = sd_bus_message_append(reply, "{st}", fault_source_to_string(src),
						  pt->faults_by_source[src]);
			if (k < 0)
				return k;
		}
		k = sd_bus_message_close_container(reply);
		if (k < 0)
			return k;
		k = sd_bus_message_close_container(reply);
		if (k < 0)
			return k;
	}
	return sd_bus_message_close_container(reply);
}

static int method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Run *r = userdata;
	int k;

	k = bus_verify_admin(r->userdata, m, error);
	if (k < 0)
		return k;
	if (!run_is_active(r))
		return sd_bus_error_setf(error, BUS_ERROR_NOT_RUNNING, "Run %u has already %s.",
					 r->id, run_state_to_string(r->state));
	log_info("Run %u: Stop() requested.", r->id);
	run_request_stop(r, "Stop() called");
	return sd_bus_reply_method_return(m, NULL);
}

static int append_faults(Run *r, sd_bus_message *reply, uint64_t since, uint32_t max)
{
	size_t retained = MIN(r->fault_head, r->fault_cap);
	size_t first = r->fault_head - retained;
	uint32_t n = 0;
	int k;

	k = sd_bus_message_open_container(reply, 'a', "(ttsssttusb)");
	if (k < 0)
		return k;
	for (size_t i = first; i < r->fault_head && (max == 0 || n < max); i++) {
		const RetainedFault *f = &r->faults[i % r->fault_cap];
		char where[32];

		if (f->rec.seq <= since)
			continue;
		k = sd_bus_message_append(
			reply, "(ttsssttusb)", f->rec.seq, f->time_realtime_usec,
			fault_source_to_string(f->rec.source),
			f->rec.ap < r->n_points
				? attach_point_to_string(r->points[f->rec.ap].state->pasid, where,
							 sizeof(where))
				: "unknown",
			fault_access_to_string(f->rec.access), f->rec.address, f->replace_count,
			f->rec.reason, f->rec.reason_text, f->rec.during_replace);
		if (k < 0)
			return k;
		n++;
	}
	return sd_bus_message_close_container(reply);
}

static int reply_faults(sd_bus_message *m, Run *r, uint64_t since, uint32_t max)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int k;

	/* Make what the producers queued visible before answering. */
	if (run_is_active(r))
		run_drain_faults(r);
	k = sd_bus_message_new_method_return(m, &reply);
	if (k < 0)
		return k;
	k = append_faults(r, reply, since, max);
	if (k < 0)
		return k;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_faults(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	uint32_t max;
	int k;

	k = sd_bus_message_read(m, "u", &max);
	if (k < 0)
		return k;
	return reply_faults(m, userdata, 0, max);
}

static int method_get_faults_since(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	uint64_t since;
	uint32_t max;
	int k;

	k = sd_bus_message_read(m, "tu", &since, &max);
	if (k < 0)
		return k;
	return reply_faults(m, userdata, since, max);
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *text = NULL;
	int k;

	k = run_describe(userdata, &text);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(m, "s", text);
}

static int method_get_timeline(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *text = NULL;
	int k;

	k = run_describe_timeline(userdata, &text);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(m, "s", text);
}

/*
 * The Run's figures: one line each feeds both the vtable and the change
 * detection in run_bus_emit_changes(), so a new figure is one line here.
 */
#define RUN_FIGURES(X)                                \
	X("Replacements", "t", replacements)          \
	X("ReplaceErrors", "t", replace_errors)       \
	X("ReplaceRate", "d", rate)                   \
	X("LatencyP50Ns", "t", p50)                   \
	X("LatencyP90Ns", "t", p90)                   \
	X("LatencyP99Ns", "t", p99)                   \
	X("LatencyP999Ns", "t", p999)                 \
	X("LatencyMaxNs", "t", max)                   \
	X("DmaTransfers", "t", dma_transfers)         \
	X("DmaErrors", "t", dma_errors)               \
	X("Faults", "t", faults)                      \
	X("FaultsDuringReplace", "t", faults_during) \
	X("FaultsAtRest", "t", faults_at_rest)

#define RUN_STAT(name, sig, field)                                   \
	SD_BUS_PROPERTY(name, sig, NULL, offsetof(Run, stats.field), \
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

static const struct {
	const char *name;
	size_t offset, size;
} run_figures[] = {
#define RUN_FIGURE(name, sig, field) \
	{name, offsetof(RunStats, field), sizeof(((RunStats *)NULL)->field)},
	RUN_FIGURES(RUN_FIGURE)
#undef RUN_FIGURE
	/* Elapsed has its own getter (current to the call) but changes with the sample. */
	{"Elapsed", offsetof(RunStats, elapsed_usec), sizeof(((RunStats *)NULL)->elapsed_usec)},
};

static const sd_bus_vtable run_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Run, id), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Scenario", "s", property_get_scenario_string, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Backend", "s", property_get_scenario_string, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Device", "s", property_get_scenario_string, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Verdict", "s", NULL, offsetof(Run, verdict),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("FailureReason", "s", NULL, offsetof(Run, reason),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	RUN_FIGURES(RUN_STAT)
	SD_BUS_PROPERTY("AttachPoints", "a(suuttdttttta{st})", property_get_attach_points, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("StartedAt", "t", NULL, offsetof(Run, started_realtime_usec),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("FinishedAt", "t", NULL, offsetof(Run, finished_realtime_usec),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Elapsed", "t", property_get_elapsed, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	/* Access is decided by bus_verify_admin(), which knows AdminGroup=. */
	SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetFaults", SD_BUS_ARGS("u", max),
				SD_BUS_RESULT("a(ttsssttusb)", faults), method_get_faults,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetFaultsSince", SD_BUS_ARGS("t", since, "u", max),
				SD_BUS_RESULT("a(ttsssttusb)", faults), method_get_faults_since,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json),
				method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetTimeline", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json),
				method_get_timeline, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", state, "s", verdict, "s", reason), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Fault",
				SD_BUS_ARGS("t", seq, "t", merged, "t", time_usec, "s", source, "s",
					    attach_point, "s", access, "t", address, "t",
					    replace_count, "u", reason, "s", reason_text, "b",
					    during_replace),
				0),
	SD_BUS_VTABLE_END,
};

int run_bus_path(unsigned id, char **ret)
{
	if (asprintf(ret, RUN_PATH_PREFIX "/%u", id) < 0)
		return -ENOMEM;
	return 0;
}

void run_bus_emit_changes(sd_bus *bus, Run *r)
{
	const char *names[ELEMENTSOF(run_figures) + 2];
	const uint8_t *a = (const uint8_t *)&r->stats, *b = (const uint8_t *)&r->presented;
	size_t n = 0;
	int k;

	for (size_t i = 0; i < ELEMENTSOF(run_figures); i++)
		if (memcmp(a + run_figures[i].offset, b + run_figures[i].offset,
			   run_figures[i].size) != 0)
			names[n++] = run_figures[i].name;
	/*
	 * Per-point counters only grow, so the points changed exactly when one
	 * of the run's sums did. AttachPoints is invalidated, not sent: with 65
	 * points its value is too big to push four times a second unasked.
	 */
	if (r->stats.replacements != r->presented.replacements ||
	    r->stats.replace_errors != r->presented.replace_errors ||
	    r->stats.faults != r->presented.faults)
		names[n++] = "AttachPoints";
	if (n == 0)
		return;
	names[n] = NULL;
	r->presented = r->stats;
	k = sd_bus_emit_properties_changed_strv(bus, r->path, RUN_INTERFACE, (char **)names);
	if (k < 0)
		log_debug_errno(k, "Failed to emit PropertiesChanged for %s: %m", r->path);
}

void run_bus_emit_state(sd_bus *bus, Run *r)
{
	const char *names[] = {"State", "Verdict", "FailureReason", "FinishedAt", NULL};
	int k;

	k = sd_bus_emit_properties_changed_strv(bus, r->path, RUN_INTERFACE, (char **)names);
	if (k < 0)
		log_debug_errno(k, "Failed to emit PropertiesChanged for %s: %m", r->path);
}

void run_bus_emit_fault(sd_bus *bus, Run *r, const RetainedFault *f, uint64_t merged)
{
	char where[32];
	int k;

	if (f->rec.ap < r->n_points)
		attach_point_to_string(r->points[f->rec.ap].state->pasid, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "unknown");
	k = sd_bus_emit_signal(bus, r->path, RUN_INTERFACE, "Fault", "tttsssttusb", f->rec.seq,
			       merged, f->time_realtime_usec, fault_source_to_string(f->rec.source),
			       where, fault_access_to_string(f->rec.access), f->rec.address,
			       f->replace_count, f->rec.reason, f->rec.reason_text,
			       (int)f->rec.during_replace);
	if (k < 0)
		log_debug_errno(k, "Run %u: failed to emit Fault: %m", r->id);
}

void run_bus_emit_added(sd_bus *bus, Run *r)
{
	int k = sd_bus_emit_interfaces_added(bus, r->path, RUN_INTERFACE, NULL);

	if (k < 0)
		log_debug_errno(k, "Run %u: failed to emit InterfacesAdded: %m", r->id);
}

/* Names the interface only, so it works after the run has left the list. */
void run_bus_emit_removed(sd_bus *bus, Run *r)
{
	int k = sd_bus_emit_interfaces_removed(bus, r->path, RUN_INTERFACE, NULL);

	if (k < 0)
		log_debug_errno(k, "Run %u: failed to emit InterfacesRemoved: %m", r->id);
}

void run_bus_emit_finished(sd_bus *bus, Run *r)
{
	int k;

	k = sd_bus_emit_signal(bus, r->path, RUN_INTERFACE, "Finished", "sss",
			       run_state_to_string(r->state), r->verdict, strempty(r->reason));
	if (k < 0)
		log_debug_errno(k, "Run %u: failed to emit Finished: %m", r->id);
}

static int run_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			   void **found, sd_bus_error *error)
{
	Run *r = manager_find_run_by_path(userdata, path);

	if (r) {
		*found = r;
		return 1;
	}
	/*
	 * A path below the prefix that names no run, including non-canonical
	 * spellings of a real one (".../run/0x3", ".../run/03"): the error the
	 * API documents, not sd-bus's generic UnknownObject. The prefix itself
	 * stays an ordinary node, so introspecting it still lists the runs.
	 */
	if (strncmp(path, RUN_PATH_PREFIX "/", strlen(RUN_PATH_PREFIX "/")) == 0)
		return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_RUN,
					 "No run at %s (run paths are %s/N, N a decimal run number).",
					 path, RUN_PATH_PREFIX);
	return 0;
}

static int run_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
			       sd_bus_error *error)
{
	Manager *d = userdata;
	char **l;
	size_t n = 0;

	l = calloc(d->n_runs + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (Run *r = d->runs; r; r = r->next) {
		l[n] = strdup(r->path);
		if (!l[n]) {
			for (size_t i = 0; i < n; i++)
				free(l[i]);
			free(l);
			return -ENOMEM;
		}
		n++;
	}
	*nodes = l;
	return 1;
}

int run_bus_register(Manager *d)
{
	int k;

	k = sd_bus_add_fallback_vtable(d->bus, NULL, RUN_PATH_PREFIX, RUN_INTERFACE, run_vtable,
				       run_object_find, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register run objects: %m");
	k = sd_bus_add_node_enumerator(d->bus, NULL, RUN_PATH_PREFIX, run_node_enumerator, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register run node enumerator: %m");
	return 0;
}
