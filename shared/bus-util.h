/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef enum BusOpenFlags {
	/*
	 * At an address, wait for Hello(), so that a refused connection fails
	 * here rather than at the first call. A program whose event loop must
	 * never block (the exporter) leaves it out.
	 */
	BUS_OPEN_WAIT = 1 << 0,
} BusOpenFlags;

/*
 * Connects to the bus at address (a bus daemon: Hello() and names, not a
 * peer-to-peer link), or without one to the user or the system bus. creds
 * (SD_BUS_CREDS_*) is what a service wants to learn of its callers on a bus
 * at an address; clients pass 0. Returns 0 or a negative errno; the caller
 * says what failed, with bus_name_for_humans().
 */
int bus_open(const char *address, bool user, uint64_t creds, BusOpenFlags flags, sd_bus **ret);

/* "the system bus", "the user bus", "the bus at ADDRESS" (in buf). */
const char *bus_name_for_humans(const char *address, bool user, char *buf, size_t n);
