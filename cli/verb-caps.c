/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommuctl caps DEVICE: what a device is and what its IOMMU can do, from
 * Manager.DescribeDevice(). The "info" part is backend specific (sysfs facts,
 * decoded IOMMU_GET_HW_INFO for vfio), so it is rendered generically: nested
 * objects indent, arrays of scalars join on one line.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"

static void print_scalar(const JsonValue *v)
{
	uint64_t u;
	double d;
	bool b;

	if (json_value_u64(v, &u))
		printf("%" PRIu64, u);
	else if (json_value_double(v, &d))
		printf("%g", d);
	else if (json_value_bool(v, &b))
		fputs(b ? "yes" : "no", stdout);
	else if (json_value_string(v))
		fputs(json_value_string(v), stdout);
	else
		fputs("-", stdout);
}

static bool is_scalar(const JsonValue *v)
{
	return !json_value_is(v, JSON_TYPE_OBJECT) && !json_value_is(v, JSON_TYPE_ARRAY);
}

static void print_tree(const JsonValue *v, unsigned indent)
{
	for (size_t i = 0; i < v->object.n; i++) {
		const JsonMember *m = &v->object.members[i];

		printf("%*s%s:", (int)indent, "", m->key);
		if (is_scalar(m->value)) {
			putchar(' ');
			print_scalar(m->value);
			putchar('\n');
		} else if (json_value_is(m->value, JSON_TYPE_ARRAY)) {
			bool flat = true;

			for (size_t k = 0; k < json_value_size(m->value); k++)
				flat = flat && is_scalar(json_value_index(m->value, k));
			if (flat) {
				for (size_t k = 0; k < json_value_size(m->value); k++) {
					putchar(' ');
					print_scalar(json_value_index(m->value, k));
				}
				putchar('\n');
			} else {
				putchar('\n');
				for (size_t k = 0; k < json_value_size(m->value); k++) {
					const JsonValue *e = json_value_index(m->value, k);

					if (json_value_is(e, JSON_TYPE_OBJECT)) {
						printf("%*s-\n", (int)indent + 2, "");
						print_tree(e, indent + 4);
					}
				}
			}
		} else {
			putchar('\n');
			print_tree(m->value, indent + 2);
		}
	}
}

int verb_caps(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	sd_bus *bus = userdata;
	const char *text;
	const JsonValue *info;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "DescribeDevice",
			       &error, &reply, "s", argv[1]);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to describe device");
	r = sd_bus_message_read(reply, "s", &text);
	if (r < 0)
		return log_error_errno(r, "Failed to parse reply: %m");
	if (arg_json != JSON_MODE_OFF) {
		output_json_text(text);
		return EXIT_SUCCESS;
	}
	r = json_parse_string(text, &v, NULL);
	if (r < 0 || !json_value_is(v, JSON_TYPE_OBJECT))
		return log_error_errno(r < 0 ? r : -EBADMSG, "DescribeDevice() returned bad JSON.");

	print_field("Device", NULL, "%s", json_value_get_string(v, "id", "?"));
	print_field("Backend", NULL, "%s", json_value_get_string(v, "backend", "?"));
	print_field("Description", NULL, "%s", json_value_get_string(v, "description", ""));
	print_field("Driver", NULL, "%s",
		    json_value_get_string(v, "driver", "")[0]
			    ? json_value_get_string(v, "driver", "")
			    : "-");
	print_field("State", NULL, "%s", json_value_get_string(v, "state", ""));
	print_field("Busy", NULL, "%s", json_value_get_string(v, "busy_run", "no"));
	info = json_value_get(v, "info");
	if (info && json_value_is(info, JSON_TYPE_OBJECT) && info->object.n > 0) {
		putchar('\n');
		print_tree(info, 0);
	}
	return EXIT_SUCCESS;
}
