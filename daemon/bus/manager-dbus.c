/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>

#include "config.h"
#include "bus/bus.h"
#include "observers/kmsg.h"
#include "log.h"

#define SCENARIO_TEXT_MAX (1024 * 1024)
#define UID_FMT		  "%" PRIu32

int bus_verify_admin(Manager *d, sd_bus_message *m, sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
	const gid_t *gids = NULL;
	struct group grp, *result = NULL;
	char buf[4096];
	uid_t uid;
	gid_t gid;
	int k, n;

	k = sd_bus_query_sender_creds(m,
				      SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
					      SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
					      SD_BUS_CREDS_AUGMENT,
				      &c);
	if (k < 0)
		return sd_bus_error_set_errnof(error, k,
					       "Cannot determine the caller's credentials: %m");
	k = sd_bus_creds_get_euid(c, &uid);
	if (k < 0)
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
					"Cannot determine the caller's user ID; access denied.");
	if (uid == 0)
		return 0;

	/* Looked up per call: group membership may change while the daemon runs. */
	if (getgrnam_r(d->config.admin_group, &grp, buf, sizeof(buf), &result) == 0 && result) {
		if (sd_bus_creds_get_egid(c, &gid) >= 0 && gid == result->gr_gid)
			return 0;
		n = sd_bus_creds_get_supplementary_gids(c, &gids);
		for (int i = 0; i < n; i++)
			if (gids[i] == result->gr_gid)
				return 0;
	}
	log_info("Refused a mutating call from UID " UID_FMT ": not root and not in group %s.", uid,
		 d->config.admin_group);
	return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				 "Access denied: UID " UID_FMT
				 " is neither root nor a member of group '%s' (AdminGroup=).",
				 uid, d->config.admin_group);
}

void manager_bus_emit_runs_changed(Manager *d)
{
	int k;

	k = sd_bus_emit_properties_changed(d->bus, MANAGER_PATH, MANAGER_INTERFACE, "Runs",
					   "ActiveRuns", NULL);
	if (k < 0)
		log_debug_errno(k, "Failed to emit Manager PropertiesChanged: %m");
}

/* The bus error for each of the engine's reasons to refuse a run. */
static const char *const run_error_names[] = {
	[RUN_ERROR_BACKEND_UNAVAILABLE] = BUS_ERROR_BACKEND_UNAVAILABLE,
	[RUN_ERROR_SETUP_FAILED] = BUS_ERROR_SETUP_FAILED,
	[RUN_ERROR_FAILED] = SD_BUS_ERROR_FAILED,
};

/*
 * One run owns all of a device's attachments: a second run's PASID workers
 * would race the first's RID worker for the same attach state (and
 * iommufd's PASID-compat rules tie them).
 */
static int check_device_free(Manager *d, const Scenario *s, sd_bus_error *error)
{
	Run *busy = manager_device_busy(d, s->backend, s->device);
	char what[64];

	if (!busy)
		return 0;
	return sd_bus_error_setf(
		error, BUS_ERROR_DEVICE_BUSY,
		"Device %s (backend %s) is busy with run %u (%s), which drives %s; one run owns all of a device's RID and PASID attachments.",
		s->device, s->backend, busy->id, busy->path,
		run_attachments_summary(busy, what, sizeof(what)));
}

static int property_get_backends(sd_bus *bus, const char *path, const char *interface,
				 const char *property, sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	int k;

	k = sd_bus_message_open_container(reply, 'a', "s");
	if (k < 0)
		return k;
	for (const BackendOps *const *b = backends; *b; b++) {
		k = sd_bus_message_append(reply, "s", (*b)->name);
		if (k < 0)
			return k;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_runs(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	Manager *d = userdata;
	int k;

	k = sd_bus_message_open_container(reply, 'a', "o");
	if (k < 0)
		return k;
	for (Run *r = d->runs; r; r = r->next) {
		k = sd_bus_message_append(reply, "o", r->path);
		if (k < 0)
			return k;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_active_runs(sd_bus *bus, const char *path, const char *interface,
				    const char *property, sd_bus_message *reply, void *userdata,
				    sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", manager_active_runs(userdata));
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

/* Turns one a{sv} entry into "Section.Key=value"; the value is rendered as the file would spell it.
 */
static int read_override(sd_bus_message *m, const char *key, char **ret, sd_bus_error *error)
{
	char type;
	const char *contents;
	union {
		const char *s;
		int b;
		uint8_t y;
		int16_t n;
		uint16_t q;
		int32_t i;
		uint32_t u;
		int64_t x;
		uint64_t t;
		double d;
	} v;
	int k;

	k = sd_bus_message_peek_type(m, &type, &contents);
	if (k < 0)
		return k;
	if (!contents || strlen(contents) != 1)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Override %s: value must be a string, boolean or number.",
					 key);
	if (!strchr("sbynqiuxtd", contents[0]))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Override %s: unsupported value type '%s'.", key,
					 contents);
	k = sd_bus_message_enter_container(m, 'v', contents);
	if (k < 0)
		return k;
	/* Every member of v starts at its address, so one read serves all basic types. */
	k = sd_bus_message_read_basic(m, contents[0], &v);
	if (k < 0)
		return k;
	switch (contents[0]) {
	case 's':
		k = asprintf(ret, "%s=%s", key, v.s);
		break;
	case 'b':
		k = asprintf(ret, "%s=%s", key, v.b ? "yes" : "no");
		break;
	case 'd':
		k = asprintf(ret, "%s=%.17g", key, v.d);
		break;
	case 'n':
	case 'i':
	case 'x':
		k = asprintf(ret, "%s=%" PRIi64, key,
			     contents[0] == 'n'	  ? v.n
			     : contents[0] == 'i' ? (int64_t)v.i
						  : v.x);
		break;
	default: /* y, q, u, t */
		k = asprintf(ret, "%s=%" PRIu64, key,
			     contents[0] == 'y'	  ? v.y
			     : contents[0] == 'q' ? v.q
			     : contents[0] == 'u' ? (uint64_t)v.u
						  : v.t);
	}
	if (k < 0)
		return k == -1 ? -ENOMEM : k;
	return sd_bus_message_exit_container(m);
}

static void strv_free(char **l)
{
	for (char **i = l; i && *i; i++)
		free(*i);
	free(l);
}

static void strv_freep(char ***l)
{
	strv_free(*l);
}

static int method_start_scenario(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Manager *d = userdata;
	_cleanup_(strv_freep) char **overrides = NULL;
	_cleanup_free_ char *source = NULL, *parse_error = NULL;
	size_t n = 0, cap = 0;
	const char *text;
	Scenario *s = NULL;
	RunError err;
	Run *r;
	int k;

	k = bus_verify_admin(d, m, error);
	if (k < 0)
		return k;
	if (d->shutting_down)
		return sd_bus_error_set(error, SD_BUS_ERROR_NO_SERVER,
					"iommutestd is shutting down; no new runs.");

	k = sd_bus_message_read(m, "s", &text);
	if (k < 0)
		return k;
	if (strlen(text) > SCENARIO_TEXT_MAX)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Scenario text is larger than %d bytes.",
					 SCENARIO_TEXT_MAX);

	k = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (k < 0)
		return k;
	while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;
		char *entry = NULL;

		k = sd_bus_message_read(m, "s", &key);
		if (k < 0)
			return k;
		if (streq(key, "_source")) {
			const char *v;

			k = sd_bus_message_read(m, "v", "s", &v);
			if (k < 0)
				return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
							"Override _source must be a string.");
			free(source);
			source = strdup(v);
			if (!source)
				return -ENOMEM;
		} else {
			if (!strchr(key, '.') || key[0] == '.' || strchr(key, '='))
				return sd_bus_error_setf(
					error, SD_BUS_ERROR_INVALID_ARGS,
					"Override key '%s' is not of the form Section.Key.", key);
			k = read_override(m, key, &entry, error);
			if (k < 0)
				return k;
			if (n + 2 > cap) {
				char **l;

				cap = MAX(cap * 2, 8);
				l = realloc(overrides, cap * sizeof(char *));
				if (!l) {
					free(entry);
					return -ENOMEM;
				}
				overrides = l;
			}
			overrides[n++] = entry;
			overrides[n] = NULL;
		}
		k = sd_bus_message_exit_container(m);
		if (k < 0)
			return k;
	}
	if (k < 0)
		return k;
	k = sd_bus_message_exit_container(m);
	if (k < 0)
		return k;

	k = scenario_parse(text, source ?: "scenario", overrides, &s, &parse_error);
	if (k < 0) {
		if (k == -ENOMEM)
			return k;
		log_info("Rejected scenario: %s", parse_error ?: "invalid");
		return sd_bus_error_set(error, BUS_ERROR_INVALID_SCENARIO,
					parse_error ?: "Invalid scenario.");
	}

	k = check_device_free(d, s, error);
	if (k < 0) {
		log_info("Scenario not started: %s", error->message);
		scenario_free(s);
		return k;
	}
	k = manager_start_run(d, s, &r, &err);
	if (k < 0) {
		if (err.kind == RUN_ERROR_NONE)
			return k; /* -ENOMEM and the like: sd-bus names the errno */
		log_info("Scenario not started: %s", err.message);
		return sd_bus_error_set(error, run_error_names[err.kind], err.message);
	}
	return sd_bus_reply_method_return(m, "o", r->path);
}

static int method_list_runs(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Manager *d = userdata;
	int k;

	k = sd_bus_message_new_method_return(m, &reply);
	if (k < 0)
		return k;
	k = sd_bus_message_open_container(reply, 'a', "(uossss)");
	if (k < 0)
		return k;
	for (Run *r = d->runs; r; r = r->next) {
		k = sd_bus_message_append(reply, "(uossss)", r->id, r->path, r->scenario->name,
					  r->scenario->backend, run_state_to_string(r->state),
					  r->verdict);
		if (k < 0)
			return k;
	}
	k = sd_bus_message_close_container(reply);
	if (k < 0)
		return k;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_list_backends(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Manager *d = userdata;
	int k;

	k = sd_bus_message_new_method_return(m, &reply);
	if (k < 0)
		return k;
	k = sd_bus_message_open_container(reply, 'a', "(ssbs)");
	if (k < 0)
		return k;
	for (const BackendOps *const *b = backends; *b; b++) {
		_cleanup_free_ char *why = NULL;
		int p = (*b)->probe(&d->env, &why);

		k = sd_bus_message_append(reply, "(ssbs)", (*b)->name, (*b)->description, p >= 0,
					  p >= 0 ? "" : why ?: strerror(ERRNO_VALUE(p)));
		if (k < 0)
			return k;
	}
	k = sd_bus_message_close_container(reply);
	if (k < 0)
		return k;
	return sd_bus_send(NULL, reply, NULL);
}

typedef struct DeviceReply {
	Manager *daemon;
	sd_bus_message *reply;
} DeviceReply;

static int append_device(const BackendOps *b, BackendDevice *dev, void *userdata)
{
	DeviceReply *r = userdata;
	Run *busy = manager_device_busy(r->daemon, b->name, dev->id);
	int k;

	k = sd_bus_message_append(r->reply, "(ssssso)", b->name, dev->id,
				  strempty(dev->description), strempty(dev->driver),
				  strempty(dev->state), busy ? busy->path : "/");
	return k < 0 ? k : 0; /* > 0 would stop the listing */
}

static int method_list_devices(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int k;

	k = sd_bus_message_new_method_return(m, &reply);
	if (k < 0)
		return k;
	k = sd_bus_message_open_container(reply, 'a', "(ssssso)");
	if (k < 0)
		return k;
	k = backend_foreach_device(&((Manager *)userdata)->env, 0, append_device,
				   &(DeviceReply){userdata, reply});
	if (k < 0)
		return k;
	k = sd_bus_message_close_container(reply);
	if (k < 0)
		return k;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_run(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	uint32_t id;
	Run *r;
	int k;

	k = sd_bus_message_read(m, "u", &id);
	if (k < 0)
		return k;
	r = manager_find_run(userdata, id);
	if (!r)
		return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_RUN, "No run %u.", id);
	return sd_bus_reply_method_return(m, "o", r->path);
}

static int method_describe_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *text = NULL;
	const char *id;
	int k;

	k = sd_bus_message_read(m, "s", &id);
	if (k < 0)
		return k;
	k = device_describe(userdata, id, &text, error);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(m, "s", text);
}

typedef struct DeviceJson {
	Manager *daemon;
	JsonWriter *json;
} DeviceJson;

static int describe_device(const BackendOps *b, BackendDevice *dev, void *userdata)
{
	DeviceJson *c = userdata;
	JsonWriter *j = c->json;
	Run *busy = manager_device_busy(c->daemon, b->name, dev->id);

	json_object_begin(j, NULL);
	json_string(j, "backend", b->name);
	json_string(j, "id", dev->id);
	json_string(j, "description", strempty(dev->description));
	json_string(j, "driver", strempty(dev->driver));
	json_string(j, "state", strempty(dev->state));
	if (busy)
		json_string(j, "busy_run", busy->path);
	else
		json_null(j, "busy_run");
	json_object_end(j);
	return 0;
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Manager *d = userdata;
	_cleanup_free_ char *text = NULL;
	JsonWriter j;
	int k;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "version", PACKAGE_VERSION);
	json_string(&j, "admin_group", d->config.admin_group);
	json_u64(&j, "active_runs", manager_active_runs(d));
	json_array_begin(&j, "backends");
	for (const BackendOps *const *b = backends; *b; b++) {
		_cleanup_free_ char *why = NULL;
		int p = (*b)->probe(&d->env, &why);

		json_object_begin(&j, NULL);
		json_string(&j, "name", (*b)->name);
		json_string(&j, "description", (*b)->description);
		json_bool(&j, "available", p >= 0);
		json_string(&j, "reason", p >= 0 ? "" : why ?: strerror(ERRNO_VALUE(p)));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "devices");
	(void)backend_foreach_device(&d->env, 0, describe_device, &(DeviceJson){d, &j});
	json_array_end(&j);
	json_array_begin(&j, "runs");
	for (Run *r = d->runs; r; r = r->next)
		run_describe_summary(r, &j);
	json_array_end(&j);
	json_object_end(&j);

	text = json_finish(&j, &k);
	if (!text)
		return k;
	return sd_bus_reply_method_return(m, "s", text);
}

static int method_get_metrics(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *text = NULL;
	Manager *d = userdata;
	MetricsFormat f;
	const char *format;
	int k;

	k = sd_bus_message_read(m, "s", &format);
	if (k < 0)
		return k;
	f = metrics_format_from_string(format);
	if (f < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Unknown metrics format \"%s\" (expected \"prometheus\", "
					 "\"openmetrics\" or \"\").",
					 format);
	MetricsHost host = {.kmsg = d->kmsg};

	if (d->kmsg) {
		const KmsgStats *st = kmsg_source_totals(d->kmsg);

		host.kmsg_suppressed = st->suppressed;
		/* An overflow says events were lost, not how many: it counts as one. */
		host.kmsg_lost = st->lost + st->overflows;
	}
	k = metrics_render(&d->metrics, d->runs, &host, f, &text);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(m, "ss", text, metrics_format_content_type(f));
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Backends", "as", property_get_backends, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Runs", "ao", property_get_runs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ActiveRuns", "u", property_get_active_runs, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("AdminGroup", "s", NULL, offsetof(Manager, config.admin_group),
			SD_BUS_VTABLE_PROPERTY_CONST),
	/* Access is decided by bus_verify_admin(), which knows AdminGroup=. */
	SD_BUS_METHOD_WITH_ARGS("StartScenario", SD_BUS_ARGS("s", text, "a{sv}", overrides),
				SD_BUS_RESULT("o", run), method_start_scenario,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListRuns", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(uossss)", runs),
				method_list_runs, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListBackends", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbs)", backends),
				method_list_backends, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssso)", devices),
				method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("DescribeDevice", SD_BUS_ARGS("s", id), SD_BUS_RESULT("s", json),
				method_describe_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetRun", SD_BUS_ARGS("u", id), SD_BUS_RESULT("o", run),
				method_get_run, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json),
				method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_ARGS("s", format),
				SD_BUS_RESULT("s", text, "s", content_type), method_get_metrics,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

int manager_bus_register(Manager *d)
{
	int k;

	k = sd_bus_add_object_vtable(d->bus, NULL, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register %s: %m", MANAGER_PATH);
	/*
	 * Runs and devices below come and go: clients follow them with
	 * GetManagedObjects() and InterfacesAdded/InterfacesRemoved.
	 */
	k = sd_bus_add_object_manager(d->bus, NULL, MANAGER_PATH);
	if (k < 0)
		return log_error_errno(k, "Failed to add the object manager at %s: %m", MANAGER_PATH);
	return 0;
}
