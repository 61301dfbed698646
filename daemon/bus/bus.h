/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The bus layer (manager-, run- and device-dbus.c): the vtables, their
 * registration, the access checks and every emission. Nothing outside
 * daemon/bus/ touches the bus; the engine reports to it through RunEvents.
 */

#include <systemd/sd-bus.h>

#include "manager.h"

/* Access control for mutating calls: root or AdminGroup=. 0, or <0 with error set. */
int bus_verify_admin(Manager *d, sd_bus_message *m, sd_bus_error *error);

void manager_bus_emit_runs_changed(Manager *d);
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
void device_bus_refresh(Manager *d);
int manager_bus_register(Manager *d);
int run_bus_register(Manager *d);
int device_bus_register(Manager *d);
int device_describe(Manager *d, const char *id, char **ret_json, sd_bus_error *error);
