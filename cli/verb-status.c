/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status, backends, devices: what the daemon has, from the Manager object. */
#include <inttypes.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"

/* How many of the newest runs status lists; `runs` lists them all. */
#define STATUS_RECENT_RUNS 10

static int print_recent_runs(const JsonValue *runs)
{
	_cleanup_(table_freep) Table *t = NULL;
	size_t n = json_value_size(runs);
	size_t first = n > STATUS_RECENT_RUNS ? n - STATUS_RECENT_RUNS : 0;

	t = table_new("ID", "SCENARIO", "BACKEND", "STATE", "VERDICT", NULL);
	if (!t)
		return log_oom();
	table_align_right(t, 0);

	for (size_t i = first; i < n; i++) {
		const JsonValue *run = json_value_index(runs, i);
		const char *state = json_value_get_string(run, "state", NULL);
		const char *verdict = json_value_get_string(run, "verdict", NULL);

		table_add_number(t, json_value_get(run, "id"));
		table_add(t, json_value_get_string(run, "scenario", NULL));
		table_add(t, json_value_get_string(run, "backend", NULL));
		table_add_colored(t, verdict_color(state), state);
		table_add_colored(t, verdict_color(verdict), verdict);
	}

	printf("\n%s:\n", first > 0 ? "Recent runs" : "Runs");
	return table_print(t, stdout);
}

int verb_status(int argc, char *argv[], void *userdata)
{
	_cleanup_(json_value_freep) JsonValue *d = NULL;
	_cleanup_free_ char *text = NULL;
	const JsonValue *backends, *devices, *runs;
	sd_bus *bus = userdata;
	int r;

	r = bus_describe(bus, MANAGER_PATH, MANAGER_INTERFACE, "Failed to query iommutestd", &text,
			 &d);
	if (r < 0)
		return r;
	if (arg_json != JSON_MODE_OFF) {
		output_json_text(text);
		return 0;
	}

	pager_open();
	print_field("Version", NULL, "%s", json_value_get_string(d, "version", "-"));
	print_field("Admin group", NULL, "%s", json_value_get_string(d, "admin_group", "-"));

	backends = json_value_get(d, "backends");
	for (size_t i = 0; i < json_value_size(backends); i++) {
		const JsonValue *b = json_value_index(backends, i);
		const char *name = json_value_get_string(b, "name", "-");

		if (json_value_get_bool(b, "available", false))
			print_field(i == 0 ? "Backends" : NULL, NULL, "%s", name);
		else
			print_field(i == 0 ? "Backends" : NULL, NULL, "%s (unavailable: %s)", name,
				    json_value_get_string(b, "reason", "no reason given"));
	}
	if (json_value_size(backends) == 0)
		print_field("Backends", NULL, "none");

	devices = json_value_get(d, "devices");
	for (size_t i = 0; i < json_value_size(devices); i++) {
		const JsonValue *dev = json_value_index(devices, i);
		const char *busy = json_value_get_string(dev, "busy_run", NULL);
		uint32_t id;

		if (busy && run_path_parse(busy, &id) >= 0)
			print_field(i == 0 ? "Devices" : NULL, NULL,
				    "%s (%s, %s, busy with run %" PRIu32 ")",
				    json_value_get_string(dev, "id", "-"),
				    json_value_get_string(dev, "backend", "-"),
				    json_value_get_string(dev, "state", "-"), id);
		else
			print_field(i == 0 ? "Devices" : NULL, NULL, "%s (%s, %s)",
				    json_value_get_string(dev, "id", "-"),
				    json_value_get_string(dev, "backend", "-"),
				    json_value_get_string(dev, "state", "-"));
	}
	if (json_value_size(devices) == 0)
		print_field("Devices", NULL, "none");

	runs = json_value_get(d, "runs");
	print_field("Runs", NULL, "%zu (%" PRIu64 " active)", json_value_size(runs),
		    json_value_get_u64(d, "active_runs", 0));
	if (json_value_size(runs) > 0)
		return print_recent_runs(runs);
	return 0;
}

int verb_backends(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(table_freep) Table *t = NULL;
	const char *name, *description, *reason;
	sd_bus *bus = userdata;
	JsonWriter j;
	int available, r;

	r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListBackends",
			       &error, &reply, NULL);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to list backends");

	t = table_new("BACKEND", "AVAILABLE", "DESCRIPTION", "REASON", NULL);
	if (!t)
		return log_oom();
	json_init(&j);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "backends");

	r = sd_bus_message_enter_container(reply, 'a', "(ssbs)");
	if (r < 0)
		goto parse_error;
	while ((r = sd_bus_message_read(reply, "(ssbs)", &name, &description, &available,
					&reason)) > 0) {
		json_object_begin(&j, NULL);
		json_string(&j, "name", name);
		json_string(&j, "description", description);
		json_bool(&j, "available", available);
		json_string(&j, "reason", reason);
		json_object_end(&j);

		table_add(t, name);
		table_add_colored(t, available ? NULL : ANSI_RED, available ? "yes" : "no");
		table_add(t, description);
		table_add(t, reason);
	}
	if (r < 0)
		goto parse_error;
	return output_list(&j, t, "backends");

parse_error:
	json_done(&j);
	return log_error_errno(r, "Failed to parse ListBackends() reply: %m");
}

int verb_devices(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(table_freep) Table *t = NULL;
	const char *backend, *id, *description, *driver, *state, *busy;
	sd_bus *bus = userdata;
	JsonWriter j;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListDevices",
			       &error, &reply, NULL);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to list devices");

	t = table_new("BACKEND", "DEVICE", "STATE", "DRIVER", "RUN", "DESCRIPTION", NULL);
	if (!t)
		return log_oom();
	table_align_right(t, 4);
	json_init(&j);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "devices");

	r = sd_bus_message_enter_container(reply, 'a', "(ssssso)");
	if (r < 0)
		goto parse_error;
	while ((r = sd_bus_message_read(reply, "(ssssso)", &backend, &id, &description, &driver,
					&state, &busy)) > 0) {
		/* "/" means no run on the bus; JSON says null, as Manager.Describe() does. */
		bool is_busy = !streq(busy, "/");
		uint32_t run_id = 0;

		json_object_begin(&j, NULL);
		json_string(&j, "backend", backend);
		json_string(&j, "id", id);
		json_string(&j, "description", description);
		json_string(&j, "driver", driver);
		json_string(&j, "state", state);
		json_string(&j, "busy_run", is_busy ? busy : NULL);
		json_object_end(&j);

		table_add(t, backend);
		table_add(t, id);
		table_add(t, state);
		table_add(t, driver);
		if (is_busy && run_path_parse(busy, &run_id) >= 0)
			table_addf(t, "%" PRIu32, run_id);
		else
			table_add(t, is_busy ? busy : NULL);
		table_add(t, description);
	}
	if (r < 0)
		goto parse_error;
	return output_list(&j, t, "devices");

parse_error:
	json_done(&j);
	return log_error_errno(r, "Failed to parse ListDevices() reply: %m");
}
