/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "manager.h"
#include "bus/bus.h"
#include "bus-util.h"
#include "ini.h"
#include "observers/kmsg.h"
#include "core/run.h"
#include "observers/uevent.h"
#include "log.h"
#include "parse-util.h"

#define SHUTDOWN_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define UID_FMT		      "%" PRIu32

int manager_new(Manager **ret)
{
	Manager *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->config.admin_group = strdup("iommutest");
	if (!d->config.admin_group) {
		free(d);
		return -ENOMEM;
	}
	d->config.keep_runs = 64;
	d->config.fault_ring = 16384;
	d->env = (HostEnv){
		.dev_iommu = "/dev/iommu",
		.sysfs = "/sys",
		.dev_kmsg = "/dev/kmsg",
		.tracefs = "/sys/kernel/tracing",
		.proc = "/proc",
		.dev_vfio = "/dev/vfio",
		.dev_block = "/dev/block",
	};
	*ret = d;
	return 0;
}

Manager *manager_free(Manager *d)
{
	if (!d)
		return NULL;
	while (d->runs) {
		Run *r = d->runs;
		d->runs = r->next;
		run_free(r);
	}
	kmsg_source_free(d->kmsg);
	uevent_monitor_free(d->uevent);
	for (size_t i = 0; i < d->n_shown_devices; i++)
		backend_device_clear(&d->shown_devices[i]);
	free(d->shown_devices);
	metrics_done(&d->metrics);
	sd_event_source_disable_unref(d->shutdown_timeout);
	sd_bus_flush_close_unref(d->bus);
	sd_event_unref(d->event);
	manager_config_done(&d->config);
	free(d->bus_address);
	free(d->config_path);
	free(d);
	return NULL;
}

void manager_config_done(ManagerConfig *c)
{
	c->admin_group = mfree(c->admin_group);
}

/*
 * The whole file. A read error (EISDIR for a directory) ends the text where
 * it happens instead of failing, so that such a path counts as an empty
 * file and the daemon starts with its defaults, as for a missing one.
 */
static int read_text(FILE *f, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, cap = 0;

	for (;;) {
		size_t n;

		if (cap - size < 4096) {
			char *b = realloc(buf, cap + 4096);

			if (!b)
				return -ENOMEM;
			buf = b;
			cap += 4096;
		}
		n = fread(buf + size, 1, cap - size, f);
		if (n == 0)
			break;
		size += n;
	}
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

/*
 * iommutestd.conf: one [Daemon] section. A missing file is fine (defaults);
 * a bad value is an error so a typo in AdminGroup= cannot silently lock
 * everybody out or let everybody in.
 */
int manager_config_load(ManagerConfig *c, const char *path)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *text = NULL;
	const IniLine *l;
	bool in_daemon = false;
	size_t size;
	int r;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return log_error_errno(errno, "Failed to open %s: %m", path);
	}
	if (read_text(f, &text, &size) < 0)
		return log_oom();

	ini_lexer_init(&lx, text, size, 0);
	while ((r = ini_lexer_next(&lx, &l)) > 0) {
		const char *key = l->key, *value = l->value;
		unsigned n = l->number;
		uint32_t u;

		switch (l->type) {
		case INI_BLANK:
			continue;
		case INI_SECTION:
		case INI_BAD_SECTION:
			/* Any line that starts with '[' ends the [Daemon] section. */
			in_daemon = l->type == INI_SECTION && streq(l->section, "Daemon");
			if (!in_daemon)
				log_warning("%s:%u: unknown section %s, ignoring.", path, n,
					    l->text);
			continue;
		case INI_NO_ASSIGNMENT:
			/* Other sections are not ours to judge. */
			if (in_daemon)
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "%s:%u: expected Key=value.", path, n);
			continue;
		case INI_ASSIGNMENT:
			break;
		}
		if (!in_daemon)
			continue;

		if (streq(key, "AdminGroup")) {
			if (isempty(value))
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "%s:%u: AdminGroup= must not be empty.",
						       path, n);
			free(c->admin_group);
			c->admin_group = strdup(value);
			if (!c->admin_group)
				return log_oom();
		} else if (streq(key, "KeepRuns")) {
			if (parse_u32(value, &u) < 0 || u < 1 || u > 100000)
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "%s:%u: KeepRuns=%s: expected 1…100000.",
						       path, n, value);
			c->keep_runs = u;
		} else if (streq(key, "FaultRing")) {
			if (parse_u32(value, &u) < 0 || u > 1u << 22)
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "%s:%u: FaultRing=%s: expected 0…4194304.",
						       path, n, value);
			c->fault_ring = u;
		} else
			log_warning("%s:%u: unknown key %s=, ignoring.", path, n, key);
	}
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "%s: too many lines.", path);
	return 0;
}

unsigned manager_active_runs(Manager *d)
{
	unsigned n = 0;

	for (Run *r = d->runs; r; r = r->next)
		if (run_is_active(r))
			n++;
	return n;
}

Run *manager_find_run(Manager *d, unsigned id)
{
	for (Run *r = d->runs; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

Run *manager_find_run_by_path(Manager *d, const char *path)
{
	uint32_t id;

	if (run_path_parse(path, &id) < 0)
		return NULL;
	return manager_find_run(d, id);
}

Run *manager_device_busy(Manager *d, const char *backend, const char *device)
{
	for (Run *r = d->runs; r; r = r->next)
		if (run_is_active(r) && streq(r->scenario->backend, backend) &&
		    streq_ptr(r->scenario->device, device))
			return r;
	return NULL;
}

void manager_update_status(Manager *d)
{
	unsigned active = 0;
	Run *last = NULL;

	if (d->shutting_down) {
		(void)sd_notify(false, "STATUS=Shutting down: stopping runs…");
		return;
	}
	for (Run *r = d->runs; r; r = r->next)
		if (run_is_active(r)) {
			active++;
			last = r;
		}
	if (active == 0)
		(void)sd_notify(false, "STATUS=Idle.");
	else if (active == 1)
		(void)sd_notifyf(false, "STATUS=Run %u (%s) %s on %s %s.", last->id,
				 last->scenario->name, run_state_to_string(last->state),
				 last->scenario->backend, last->scenario->device);
	else
		(void)sd_notifyf(false, "STATUS=%u runs active.", active);
}

static void manager_run_added(Manager *d, Run *r)
{
	r->next = NULL;
	if (d->runs_tail)
		d->runs_tail->next = r;
	else
		d->runs = r;
	d->runs_tail = r;
	d->n_runs++;
	if (metrics_run_started(&d->metrics, r) < 0)
		log_oom();
	run_bus_emit_added(d->bus, r);
	manager_bus_emit_runs_changed(d);
	manager_update_status(d);
}

/* Forgets the oldest finished runs beyond KeepRuns=, never the one that just ended. */
static void manager_prune_runs(Manager *d, Run *keep)
{
	unsigned finished = 0;

	for (Run *r = d->runs; r; r = r->next)
		if (!run_is_active(r))
			finished++;
	while (finished > d->config.keep_runs) {
		Run *prev = NULL, *r;

		for (r = d->runs; r; prev = r, r = r->next)
			if (!run_is_active(r) && r != keep)
				break;
		if (!r)
			break;
		if (prev)
			prev->next = r->next;
		else
			d->runs = r->next;
		if (d->runs_tail == r)
			d->runs_tail = prev;
		d->n_runs--;
		finished--;
		log_debug("Forgetting run %u (KeepRuns=%u).", r->id, d->config.keep_runs);
		run_bus_emit_removed(d->bus, r);
		run_free(r);
	}
}

/* The engine's reports (RunEvents): the bus layer presents them, the manager keeps its books. */
static void on_run_state_changed(Run *r)
{
	Manager *d = r->userdata;

	run_bus_emit_state(d->bus, r);
	manager_update_status(d);
}

static void on_run_sampled(Run *r)
{
	Manager *d = r->userdata;

	run_bus_emit_changes(d->bus, r);
}

static void on_run_fault(Run *r, const RetainedFault *f, uint64_t merged)
{
	Manager *d = r->userdata;

	run_bus_emit_fault(d->bus, r, f, merged);
}

static void on_run_ended(Run *r)
{
	Manager *d = r->userdata;

	if (metrics_run_ended(&d->metrics, r) < 0)
		log_oom();
	run_bus_emit_finished(d->bus, r);
	manager_prune_runs(d, r);
	manager_bus_emit_runs_changed(d);
	manager_update_status(d);
	if (d->shutting_down && manager_active_runs(d) == 0)
		(void)sd_event_exit(d->event, d->exit_code);
}

/*
 * A device uevent, routed: runs whose PCI device was unbound or removed
 * fail ("device removed"), and the bus layer shows the device change.
 */
static void on_device_uevent(const Uevent *e, void *userdata)
{
	Manager *d = userdata;
	const char *bdf = uevent_pci_address(e);
	char reason[128];

	if (!bdf)
		return;
	if (streq(e->action, "unbind") || streq(e->action, "remove"))
		for (Run *r = d->runs; r; r = r->next) {
			if (!run_is_active(r) || !(r->ops->flags & BACKEND_PCI) ||
			    !streq_ptr(r->scenario->device, bdf))
				continue;
			snprintf(reason, sizeof(reason), "device removed (uevent: %s %s)",
				 e->action, bdf);
			log_warning("Run %u: %s.", r->id, reason);
			run_fail(r, -ENODEV, reason);
		}
	device_bus_refresh(d);
}

static const RunEvents run_events = {
	.state_changed = on_run_state_changed,
	.sampled = on_run_sampled,
	.fault = on_run_fault,
	.ended = on_run_ended,
};

int manager_start_run(Manager *d, Scenario *s, Run **ret, RunError *err)
{
	_cleanup_free_ char *path = NULL;
	RunContext c = {
		.event = d->event,
		.env = &d->env,
		.id = d->next_run_id + 1,
		.fault_ring = d->config.fault_ring,
		.kmsg = d->kmsg,
		.trace_unavailable_logged = &d->trace_unavailable_logged,
		.events = &run_events,
		.userdata = d,
	};
	Run *r;
	int k;

	k = run_bus_path(c.id, &path);
	if (k < 0) {
		scenario_free(s);
		return k;
	}
	c.path = path;
	k = run_start(&c, s, &r, err);
	if (k < 0)
		return k;
	d->next_run_id = r->id;
	manager_run_added(d, r);
	*ret = r;
	return 0;
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *d = userdata;

	log_error("Runs did not stop within %llu s; exiting anyway.",
		  (unsigned long long)(SHUTDOWN_TIMEOUT_USEC / USEC_PER_SEC));
	return sd_event_exit(d->event, EXIT_FAILURE);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *d = userdata;
	int k;

	if (d->shutting_down) {
		log_warning("Received %s again; exiting without waiting for runs.",
			    strsignal((int)si->ssi_signo));
		return sd_event_exit(d->event, EXIT_FAILURE);
	}
	log_info("Received %s; stopping all runs.", strsignal((int)si->ssi_signo));
	d->shutting_down = true;
	manager_update_status(d);
	(void)sd_notify(false, "STOPPING=1");

	for (Run *r = d->runs, *next; r; r = next) {
		next = r->next; /* a run that finishes at once may prune others */
		run_request_stop(r, "daemon shutting down");
	}
	if (manager_active_runs(d) == 0)
		return sd_event_exit(d->event, 0);

	k = sd_event_add_time_relative(d->event, &d->shutdown_timeout, CLOCK_MONOTONIC,
				       SHUTDOWN_TIMEOUT_USEC, USEC_PER_SEC, on_shutdown_timeout, d);
	if (k < 0)
		log_warning_errno(k, "Failed to arm the shutdown timeout: %m");
	return 0;
}

static int manager_connect_bus(Manager *d)
{
	char buf[256];
	int k;

	/* Credentials for access control (UID, groups) arrive with each message's sender. */
	k = bus_open(d->bus_address, d->user_bus,
		     SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS,
		     BUS_OPEN_WAIT, &d->bus);
	if (k < 0)
		return log_error_errno(k, "Failed to connect to %s: %m",
				       bus_name_for_humans(d->bus_address, d->user_bus, buf,
							   sizeof(buf)));
	return 0;
}

int manager_start(Manager *d)
{
	int k;

	k = sd_event_default(&d->event);
	if (k < 0)
		return log_error_errno(k, "Failed to allocate event loop: %m");

	/* Blocked before any thread exists, so workers inherit the mask and never see them. */
	{
		sigset_t ss;

		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigaddset(&ss, SIGINT);
		sigaddset(&ss, SIGPIPE);
		if (pthread_sigmask(SIG_BLOCK, &ss, NULL) != 0)
			return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Failed to block signals.");
	}
	k = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d);
	if (k >= 0)
		k = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d);
	if (k < 0)
		return log_error_errno(k, "Failed to install signal handlers: %m");
	k = sd_event_set_watchdog(d->event, true);
	if (k < 0)
		log_warning_errno(k, "Failed to enable the watchdog: %m");

	/* Fault and device-lifecycle sources; a host without them still serves the model. */
	k = kmsg_source_new(d->event, d->env.dev_kmsg, &d->kmsg);
	if (k < 0)
		log_info_errno(k, "Kernel log fault source unavailable (%s): %m", d->env.dev_kmsg);
	k = uevent_monitor_new(d->event, on_device_uevent, d, &d->uevent);
	if (k < 0)
		log_info_errno(k, "Device uevents unavailable: %m");

	k = manager_connect_bus(d);
	if (k < 0)
		return k;

	/* Objects first, then the name, then the loop: no call can arrive half-registered. */
	k = manager_bus_register(d);
	if (k < 0)
		return k;
	k = run_bus_register(d);
	if (k < 0)
		return k;
	k = device_bus_register(d);
	if (k < 0)
		return k;
	k = sd_bus_request_name(d->bus, BUS_NAME, 0);
	if (k < 0)
		return log_error_errno(k, "Failed to acquire bus name %s: %m", BUS_NAME);
	k = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
	if (k < 0)
		return log_error_errno(k, "Failed to attach bus to event loop: %m");
	/* When the bus goes away there is nobody left to serve. */
	(void)sd_bus_set_exit_on_disconnect(d->bus, true);

	log_info("iommutestd %s running; %s on %s.", PACKAGE_VERSION, BUS_NAME,
		 d->bus_address
			 ?: d->user_bus ? "the user bus"
					: "the system bus");
	(void)sd_notify(false, "READY=1\nSTATUS=Idle.");
	return 0;
}

int manager_run(Manager *d)
{
	int k = sd_event_loop(d->event);

	if (k < 0)
		return log_error_errno(k, "Event loop failed: %m");
	return k;
}
