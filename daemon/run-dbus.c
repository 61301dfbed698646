/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "run.h"
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
		uint64_t repl = HIST_LOAD(pt->replacements);
		char name[32];

		hist_init(h);
		hist_merge(h, pt->hist);
		k = sd_bus_message_open_container(reply, 'r', "suuttdttttta{st}");
		if (k < 0)
			return k;
		k = sd_bus_message_append(
			reply, "suuttdttttt",
			attach_point_to_string(pt->state->pasid, name, sizeof(name)),
			pt->state->pasid, (uint32_t)(i % r->n_workers), repl, HIST_LOAD(pt->errors),
			secs > 0 ? (double)repl / secs : 0.0, hist_percentile(h, 50),
			hist_percentile(h, 99), h->count ? h->max : 0, pt->faults,
			pt->faults_during);
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

	k = bus_verify_admin(r->daemon, m, error);
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

#define RUN_STAT(name, sig, field)                                   \
	SD_BUS_PROPERTY(name, sig, NULL, offsetof(Run, stats.field), \
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

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
	RUN_STAT("Replacements", "t", replacements),
	RUN_STAT("ReplaceErrors", "t", replace_errors),
	RUN_STAT("ReplaceRate", "d", rate),
	RUN_STAT("LatencyP50Ns", "t", p50),
	RUN_STAT("LatencyP90Ns", "t", p90),
	RUN_STAT("LatencyP99Ns", "t", p99),
	RUN_STAT("LatencyP999Ns", "t", p999),
	RUN_STAT("LatencyMaxNs", "t", max),
	RUN_STAT("DmaTransfers", "t", dma_transfers),
	RUN_STAT("DmaErrors", "t", dma_errors),
	RUN_STAT("Faults", "t", faults),
	RUN_STAT("FaultsDuringReplace", "t", faults_during),
	RUN_STAT("FaultsAtRest", "t", faults_at_rest),
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
	SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", state, "s", verdict, "s", reason), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Fault",
				SD_BUS_ARGS("t", seq, "t", merged, "t", time_usec, "s", source, "s",
					    attach_point, "s", access, "t", address, "t",
					    replace_count, "u", reason, "s", reason_text, "b",
					    during_replace),
				0),
	SD_BUS_VTABLE_END,
};

static int run_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			   void **found, sd_bus_error *error)
{
	Run *r = daemon_find_run_by_path(userdata, path);

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
	Daemon *d = userdata;
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

int run_bus_register(Daemon *d)
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
