/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "bus-names.h"
#include "macro.h"

#include "run.h"

typedef struct KmsgSource KmsgSource;
typedef struct UeventMonitor UeventMonitor;

typedef struct DaemonConfig {
	char *admin_group;   /* AdminGroup=, default "iommutest" */
	unsigned keep_runs;  /* KeepRuns=, finished runs kept on the bus */
	unsigned fault_ring; /* FaultRing=, records retained per run */
} DaemonConfig;

typedef struct Daemon {
	sd_event *event;
	sd_bus *bus;

	/* options */
	char *bus_address;
	bool user_bus;
	char *config_path;
	DaemonConfig config;
	DaemonEnv env;

	Run *runs, *runs_tail; /* oldest first */
	unsigned n_runs;
	unsigned next_run_id;

	KmsgSource *kmsg;      /* NULL when /dev/kmsg cannot be read */
	UeventMonitor *uevent; /* NULL when the uevent socket cannot be opened */

	bool trace_unavailable_logged;
	/* The bus layer's: the PCI devices it last showed, for device_bus_refresh(). */
	BackendDevice *shown_devices;
	size_t n_shown_devices;
	bool shutting_down;
	sd_event_source *shutdown_timeout;
	int exit_code;
} Daemon;

int daemon_new(Daemon **ret);
Daemon *daemon_free(Daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Daemon *, daemon_free);

int daemon_config_load(DaemonConfig *c, const char *path);
void daemon_config_done(DaemonConfig *c);

int daemon_start(Daemon *d); /* bus objects, name, sd_notify READY=1 */
int daemon_run(Daemon *d);   /* the loop; returns the exit status */

/* Starts a run of s (which it takes) and lists it; see run_start(). */
int daemon_start_run(Daemon *d, Scenario *s, Run **ret, RunError *err);
Run *daemon_find_run(Daemon *d, unsigned id);
Run *daemon_find_run_by_path(Daemon *d, const char *path);
Run *daemon_device_busy(Daemon *d, const char *backend, const char *device);
unsigned daemon_active_runs(Daemon *d);
void daemon_update_status(Daemon *d);

/* Access control for mutating calls: root or AdminGroup=. 0, or <0 with error set. */
int bus_verify_admin(Daemon *d, sd_bus_message *m, sd_bus_error *error);

/* The bus layer: vtables, their registration and every emission (manager-, run-, device-dbus.c). */
void manager_bus_emit_runs_changed(Daemon *d);
int run_bus_path(unsigned id, char **ret); /* RUN_PATH_PREFIX "/N" */
void run_bus_emit_changes(sd_bus *bus, Run *r);
void run_bus_emit_state(sd_bus *bus, Run *r);
void run_bus_emit_fault(sd_bus *bus, Run *r, const RetainedFault *f, uint64_t merged);
void run_bus_emit_finished(sd_bus *bus, Run *r);
void run_bus_emit_added(sd_bus *bus, Run *r);
void run_bus_emit_removed(sd_bus *bus, Run *r);
/*
 * After a device uevent: lists the PCI backends' devices again and shows
 * the difference to the last listing (InterfacesAdded, InterfacesRemoved,
 * PropertiesChanged of Driver and State).
 */
void device_bus_refresh(Daemon *d);
int manager_bus_register(Daemon *d);
int run_bus_register(Daemon *d);
int device_bus_register(Daemon *d);
int device_describe(Daemon *d, const char *id, char **ret_json, sd_bus_error *error);
