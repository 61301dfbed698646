/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Device lifecycle: kernel uevents (NETLINK_KOBJECT_UEVENT, through libnl)
 * followed from sd-event. The monitor only parses and raises each event to
 * its handler: the manager routes it (a run whose PCI device is unbound or
 * removed fails with "device removed"; the bus layer shows devices coming
 * and going), so the monitor knows nothing of runs or the bus.
 */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct UeventMonitor UeventMonitor;

typedef struct Uevent {
	const char *action;    /* "add", "remove", "bind", "unbind", "change", … */
	const char *devpath;   /* "/devices/pci0000:00/0000:00:03.0" */
	const char *subsystem; /* "pci" */
	const char *driver;    /* may be NULL */
} Uevent;

typedef void (*UeventHandler)(const Uevent *e, void *userdata);

int uevent_monitor_new(sd_event *event, UeventHandler handler, void *userdata, UeventMonitor **ret);
/* A monitor on no socket, fed only through uevent_monitor_feed() (the unit tests' netlink feed). */
int uevent_monitor_new_unconnected(UeventHandler handler, void *userdata, UeventMonitor **ret);
UeventMonitor *uevent_monitor_free(UeventMonitor *m);

/*
 * One datagram as received from the socket, with the sender's netlink port:
 * only the kernel's (port 0) are parsed and raised to the handler.
 */
void uevent_monitor_feed(UeventMonitor *m, const void *buf, size_t n, uint32_t sender_port);

/*
 * Parses a kernel uevent datagram ("ACTION@DEVPATH\0KEY=value\0…"); the
 * strings point into buf. 0, or -EINVAL for anything else (e.g. udev's
 * re-broadcasts, which start with "libudev").
 */
int uevent_parse(const char *buf, size_t n, Uevent *ret);

/* The PCI address the devpath ends in ("0000:00:03.0"), or NULL. */
const char *uevent_pci_address(const Uevent *e);
