/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Device lifecycle: kernel uevents (NETLINK_KOBJECT_UEVENT, through libnl)
 * followed from sd-event. When the PCI device of an active run is unbound
 * from its driver or removed, that run fails with "device removed": its
 * workers stop and every kernel object is released, and the daemon goes on
 * serving.
 */

#include <stddef.h>

typedef struct Daemon Daemon;
typedef struct UeventMonitor UeventMonitor;

int uevent_monitor_new(Daemon *d, UeventMonitor **ret);
UeventMonitor *uevent_monitor_free(UeventMonitor *m);

typedef struct Uevent {
	const char *action;    /* "add", "remove", "bind", "unbind", "change", … */
	const char *devpath;   /* "/devices/pci0000:00/0000:00:03.0" */
	const char *subsystem; /* "pci" */
	const char *driver;    /* may be NULL */
} Uevent;

/*
 * Parses a kernel uevent datagram ("ACTION@DEVPATH\0KEY=value\0…"); the
 * strings point into buf. 0, or -EINVAL for anything else (e.g. udev's
 * re-broadcasts, which start with "libudev").
 */
int uevent_parse(const char *buf, size_t n, Uevent *ret);

/* The PCI address the devpath ends in ("0000:00:03.0"), or NULL. */
const char *uevent_pci_address(const Uevent *e);

/* Handles one parsed event: fails the runs whose device went away. Exposed for tests. */
void uevent_dispatch(Daemon *d, const Uevent *e);
