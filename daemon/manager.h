/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "core/backend.h"
#include "bus-names.h"
#include "macro.h"

#include "core/metrics.h"
#include "core/run.h"

typedef struct KmsgSource KmsgSource;
typedef struct UeventMonitor UeventMonitor;

typedef struct ManagerConfig {
	char *admin_group;   /* AdminGroup=, default "iommutest" */
	unsigned keep_runs;  /* KeepRuns=, finished runs kept on the bus */
	unsigned fault_ring; /* FaultRing=, records retained per run */
} ManagerConfig;

typedef struct Manager {
	sd_event *event;
	sd_bus *bus;

	/* options */
	char *bus_address;
	bool user_bus;
	char *config_path;
	ManagerConfig config;
	HostEnv env;

	Run *runs, *runs_tail; /* oldest first */
	unsigned n_runs;
	unsigned next_run_id;
	Metrics metrics; /* totals of every run since the daemon started */

	KmsgSource *kmsg;      /* NULL when /dev/kmsg cannot be read */
	UeventMonitor *uevent; /* NULL when the uevent socket cannot be opened */

	bool trace_unavailable_logged;
	/* The bus layer's: the PCI devices it last showed, for device_bus_refresh(). */
	BackendDevice *shown_devices;
	size_t n_shown_devices;
	bool shutting_down;
	sd_event_source *shutdown_timeout;
	int exit_code;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

int manager_config_load(ManagerConfig *c, const char *path);
void manager_config_done(ManagerConfig *c);

int manager_start(Manager *d); /* bus objects, name, sd_notify READY=1 */
int manager_run(Manager *d);   /* the loop; returns the exit status */

/* Starts a run of s (which it takes) and lists it; see run_start(). */
int manager_start_run(Manager *d, Scenario *s, Run **ret, RunError *err);
Run *manager_find_run(Manager *d, unsigned id);
Run *manager_find_run_by_path(Manager *d, const char *path);
Run *manager_device_busy(Manager *d, const char *backend, const char *device);
unsigned manager_active_runs(Manager *d);
void manager_update_status(Manager *d);
