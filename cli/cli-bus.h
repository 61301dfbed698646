/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client side of docs/dbus-api.md: names, connection, errors, run lookup. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "json-parse.h"

/* StartScenario() returns only once the backend has set the device up, which can take a while. */
#define START_TIMEOUT_USEC (120 * UINT64_C(1000000))

/* The system bus, the user bus, or the bus at address when that is set. */
int bus_connect(bool user, const char *address, sd_bus **ret);

/*
 * Logs a failed call as "<what>: <the daemon's message>", or says that the
 * daemon is not on the bus at all. Returns a negative errno.
 */
int log_bus_error(const sd_bus_error *error, int r, const char *what);

/* Run.State values after which nothing changes any more. */
static inline bool run_state_is_final(const char *state)
{
	return state && (strcmp(state, "finished") == 0 || strcmp(state, "failed") == 0);
}

/*
 * Accepts a run number or a run object path and asks the daemon for the run
 * (GetRun), so that a missing run is reported the same way for both forms.
 */
int bus_resolve_run(sd_bus *bus, const char *arg, char **ret_path, uint32_t *ret_id);

/*
 * Calls Describe() on path, checks that the reply is JSON, and returns the
 * text (verbatim, for --json) and/or the parsed value. what names the action
 * in error messages.
 */
int bus_describe(sd_bus *bus, const char *path, const char *interface, const char *what,
		 char **ret_text, JsonValue **ret_value);

/* Where a property read from an a{sv} goes. Strings are strdup()ed; the old value is freed. */
typedef struct BusPropertyMap {
	const char *name;
	char type; /* 's', 'b', 'u', 't' or 'd' */
	size_t offset;
} BusPropertyMap;

/* Reads an a{sv} dictionary; unknown names and unexpected types are skipped. */
int bus_message_map_properties(sd_bus_message *m, const BusPropertyMap *map, size_t n_map,
			       void *data);
int bus_map_all_properties(sd_bus *bus, const char *path, const char *interface,
			   const BusPropertyMap *map, size_t n_map, void *data,
			   sd_bus_error *error);
