/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "bus-util.h"
#include "cli-bus.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

int bus_connect(bool user, const char *address, sd_bus **ret)
{
	char buf[256];
	int r;

	r = bus_open(address, user, 0, BUS_OPEN_WAIT, ret);
	if (r < 0) {
		log_error_errno(r, "Failed to connect to %s: %m",
				bus_name_for_humans(address, user, buf, sizeof(buf)));
		/*
		 * No socket at all (a container, a minimal root without dbus
		 * running): say what else works, as systemctl does when it finds
		 * no systemd.
		 */
		if (!address && (r == -ENOENT || r == -ECONNREFUSED))
			log_error("Hint: start the %s bus and iommutestd on it, or start "
				  "'iommutestd --bus-address=ADDRESS' and pass the same "
				  "--bus-address=ADDRESS to iommuctl%s.",
				  user ? "user" : "system", user ? "" : " (or use --user)");
		return r;
	}
	return 0;
}

int log_bus_error(const sd_bus_error *error, int r, const char *what)
{
	if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
				   SD_BUS_ERROR_NAME_HAS_NO_OWNER))
		return log_error_errno(r, "iommutestd is not running on this bus (%s not found); "
					  "start it with 'systemctl start iommutestd', or start "
					  "'iommutestd --bus-address=ADDRESS' and pass the same --bus-address=",
				       BUS_NAME);
	if (sd_bus_error_is_set(error))
		return log_error_errno(r, "%s: %s", what,
				       !isempty(error->message) ? error->message : error->name);
	return log_error_errno(r, "%s: %m", what);
}

int bus_resolve_run(sd_bus *bus, const char *arg, char **ret_path, uint32_t *ret_id)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	char *p;
	uint32_t id;
	int r;

	/* The daemon's own rules (bus-names.c): decimal, no leading zeros. */
	r = arg[0] == '/' ? run_path_parse(arg, &id) : run_id_parse(arg, &id);
	if (r < 0)
		return log_error_errno(
			SYNTHETIC_ERRNO(EINVAL),
			"Invalid run '%s': expected a run number or a path like %s/1.", arg,
			RUN_PATH_PREFIX);

	r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "GetRun", &error,
			       &reply, "u", id);
	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "Failed to look up run %" PRIu32, id);
		return log_bus_error(&error, r, what);
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return log_error_errno(r, "Failed to parse GetRun() reply: %m");

	p = strdup(path);
	if (!p)
		return log_oom();
	*ret_path = p;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int bus_describe(sd_bus *bus, const char *path, const char *interface, const char *what,
		 char **ret_text, JsonValue **ret_value)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	const char *text;
	size_t offset = 0;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, path, interface, "Describe", &error, &reply, NULL);
	if (r < 0)
		return log_bus_error(&error, r, what);
	r = sd_bus_message_read(reply, "s", &text);
	if (r < 0)
		return log_error_errno(r, "Failed to parse Describe() reply: %m");

	/* Checked even when only passed through, so that --json never prints broken JSON. */
	r = json_parse_string(text, &v, &offset);
	if (r < 0)
		return log_error_errno(
			r, "%s: Describe() of %s returned invalid JSON (at offset %zu): %m", what,
			path, offset);

	if (ret_text) {
		*ret_text = strdup(text);
		if (!*ret_text)
			return log_oom();
	}
	if (ret_value)
		*ret_value = TAKE_PTR(v);
	return 0;
}

static const BusPropertyMap *map_find(const BusPropertyMap *map, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(map[i].name, name))
			return &map[i];
	return NULL;
}

static int map_one(sd_bus_message *m, const BusPropertyMap *p, void *data)
{
	char signature[2] = {p->type, 0};
	void *where = (uint8_t *)data + p->offset;
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (type != SD_BUS_TYPE_VARIANT || !streq(contents, signature))
		/* A daemon newer than us may change a type; ignore rather than misread it. */
		return sd_bus_message_skip(m, "v");

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, signature);
	if (r < 0)
		return r;
	switch (p->type) {
	case 's': {
		const char *s;
		char *copy;

		r = sd_bus_message_read_basic(m, 's', &s);
		if (r < 0)
			return r;
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
		free(*(char **)where);
		*(char **)where = copy;
		break;
	}
	case 'b': {
		int b;

		r = sd_bus_message_read_basic(m, 'b', &b);
		if (r < 0)
			return r;
		*(bool *)where = b;
		break;
	}
	default:
		r = sd_bus_message_read_basic(m, p->type, where);
		if (r < 0)
			return r;
	}
	return sd_bus_message_exit_container(m);
}

int bus_message_map_properties(sd_bus_message *m, const BusPropertyMap *map, size_t n_map,
			       void *data)
{
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		const BusPropertyMap *p;
		const char *name;

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r < 0)
			return r;
		p = map_find(map, n_map, name);
		r = p ? map_one(m, p, data) : sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int bus_map_all_properties(sd_bus *bus, const char *path, const char *interface,
			   const BusPropertyMap *map, size_t n_map, void *data, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
			       error, &reply, "s", interface);
	if (r < 0)
		return r;
	return bus_message_map_properties(reply, map, n_map, data);
}
