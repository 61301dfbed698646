/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.iommutest1.Device at /org/iommutest1/device/<escaped id>: one object
 * per device a backend offers. Devices come and go with the hardware, so the
 * objects are resolved from the backends on each call rather than cached;
 * the last listing of PCI devices is kept only to signal what a uevent
 * changed (device_bus_refresh()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

typedef struct DeviceLookup {
	const BackendOps *backend;
	BackendDevice dev;
} DeviceLookup;

static void device_lookup_done(DeviceLookup *l)
{
	backend_device_clear(&l->dev);
}

/* Finds a device by id across the available backends. 1 found, 0 not, <0 error. */
static int device_find(Daemon *d, const char *id, DeviceLookup *ret)
{
	for (const BackendOps *const *b = backends; *b; b++) {
		BackendDevice *devs = NULL;
		size_t n = 0;
		int found = 0;

		if (!(*b)->list_devices || (*b)->probe(&d->env, NULL) < 0)
			continue;
		if ((*b)->list_devices(&d->env, &devs, &n) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!found && streq(devs[i].id, id)) {
				ret->backend = *b;
				ret->dev = devs[i];
				found = 1;
				continue;
			}
			backend_device_clear(&devs[i]);
		}
		free(devs);
		if (found)
			return 1;
	}
	return 0;
}

static int device_from_path(Daemon *d, const char *path, DeviceLookup *ret)
{
	_cleanup_free_ char *id = NULL;
	int k;

	k = sd_bus_path_decode(path, DEVICE_PATH_PREFIX, &id);
	if (k <= 0)
		return k;
	return device_find(d, id, ret);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Daemon *d = userdata;
	DeviceLookup l = {};
	Run *busy;
	int k;

	k = device_from_path(d, path, &l);
	if (k <= 0)
		return k < 0 ? k
			     : sd_bus_error_set(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
						"Device is gone.");
	if (streq(property, "Backend"))
		k = sd_bus_message_append(reply, "s", l.backend->name);
	else if (streq(property, "Id"))
		k = sd_bus_message_append(reply, "s", l.dev.id);
	else if (streq(property, "Description"))
		k = sd_bus_message_append(reply, "s", strempty(l.dev.description));
	else if (streq(property, "Driver"))
		k = sd_bus_message_append(reply, "s", strempty(l.dev.driver));
	else if (streq(property, "State"))
		k = sd_bus_message_append(reply, "s", strempty(l.dev.state));
	else {
		busy = daemon_device_busy(d, l.backend->name, l.dev.id);
		k = sd_bus_message_append(reply, "o", busy ? busy->path : "/");
	}
	device_lookup_done(&l);
	return k;
}

/* Device.Describe() and Manager.DescribeDevice(): identity plus what the backend can tell. */
int device_describe(Daemon *d, const char *id, char **ret_json, sd_bus_error *error)
{
	_cleanup_free_ char *why = NULL;
	DeviceLookup l = {};
	JsonWriter j;
	Run *busy;
	char *text;
	int k;

	k = device_find(d, id, &l);
	if (k < 0)
		return k;
	if (k == 0)
		return sd_bus_error_setf(
			error, BUS_ERROR_NO_SUCH_DEVICE,
			"No device '%s' in any available backend (see iommuctl devices).", id);
	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "backend", l.backend->name);
	json_string(&j, "id", l.dev.id);
	json_string(&j, "description", strempty(l.dev.description));
	json_string(&j, "driver", strempty(l.dev.driver));
	json_string(&j, "state", strempty(l.dev.state));
	busy = daemon_device_busy(d, l.backend->name, l.dev.id);
	if (busy)
		json_string(&j, "busy_run", busy->path);
	else
		json_null(&j, "busy_run");
	json_object_begin(&j, "info");
	if (l.backend->device_info) {
		k = l.backend->device_info(&d->env, id, &j, &why);
		if (k < 0)
			json_string(&j, "error", why ?: strerror(ERRNO_VALUE(k)));
	}
	json_object_end(&j);
	json_object_end(&j);
	device_lookup_done(&l);

	text = json_finish(&j, &k);
	if (!text)
		return k;
	*ret_json = text;
	return 0;
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *id = NULL, *text = NULL;
	int k;

	k = sd_bus_path_decode(sd_bus_message_get_path(m), DEVICE_PATH_PREFIX, &id);
	if (k <= 0)
		return k < 0 ? k
			     : sd_bus_error_set(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
						"No such device.");
	k = device_describe(userdata, id, &text, error);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(m, "s", text);
}

static const sd_bus_vtable device_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Backend", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Id", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Description", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	/* Driver, State and BusyRun change with the system; read them, don't wait for signals. */
	SD_BUS_PROPERTY("Driver", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("BusyRun", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json),
				method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

static int device_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			      void **found, sd_bus_error *error)
{
	DeviceLookup l = {};
	int k;

	k = device_from_path(userdata, path, &l);
	if (k <= 0)
		return k;
	device_lookup_done(&l);
	*found = userdata;
	return 1;
}

static int device_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
				  sd_bus_error *error)
{
	Daemon *d = userdata;
	char **l = NULL;
	size_t n = 0;

	for (const BackendOps *const *b = backends; *b; b++) {
		BackendDevice *devs = NULL;
		size_t nd = 0;

		if (!(*b)->list_devices || (*b)->probe(&d->env, NULL) < 0 ||
		    (*b)->list_devices(&d->env, &devs, &nd) < 0)
			continue;
		for (size_t i = 0; i < nd; i++) {
			char **nl = realloc(l, (n + 2) * sizeof(char *));

			if (nl) {
				l = nl;
				if (sd_bus_path_encode(DEVICE_PATH_PREFIX, devs[i].id, &l[n]) >= 0)
					n++;
				l[n] = NULL;
			}
			backend_device_clear(&devs[i]);
		}
		free(devs);
	}
	if (!l)
		l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	*nodes = l;
	return 1;
}

static void device_list_free(BackendDevice *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		backend_device_clear(&l[i]);
	free(l);
}

/* The devices of every available PCI backend, in one array; the others' never change. */
static int pci_devices_list(Daemon *d, BackendDevice **ret, size_t *ret_n)
{
	BackendDevice *all = NULL;
	size_t n = 0;

	for (const BackendOps *const *b = backends; *b; b++) {
		BackendDevice *devs = NULL, *l;
		size_t nd = 0;

		if (!((*b)->flags & BACKEND_PCI) || !(*b)->list_devices ||
		    (*b)->probe(&d->env, NULL) < 0 || (*b)->list_devices(&d->env, &devs, &nd) < 0)
			continue;
		l = realloc(all, (n + nd + 1) * sizeof(*all));
		if (!l) {
			device_list_free(devs, nd);
			device_list_free(all, n);
			return -ENOMEM;
		}
		all = l;
		memcpy(all + n, devs, nd * sizeof(*devs));
		n += nd;
		free(devs);
	}
	*ret = all;
	*ret_n = n;
	return 0;
}

static const BackendDevice *device_in(const BackendDevice *l, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(l[i].id, id))
			return &l[i];
	return NULL;
}

static void device_emit(Daemon *d, const char *id, int what)
{
	_cleanup_free_ char *path = NULL;
	int k;

	k = sd_bus_path_encode(DEVICE_PATH_PREFIX, id, &path);
	if (k < 0)
		return;
	if (what > 0)
		k = sd_bus_emit_interfaces_added(d->bus, path, DEVICE_INTERFACE, NULL);
	else if (what < 0)
		k = sd_bus_emit_interfaces_removed(d->bus, path, DEVICE_INTERFACE, NULL);
	else
		k = sd_bus_emit_properties_changed(d->bus, path, DEVICE_INTERFACE, "Driver", "State",
						   NULL);
	if (k < 0)
		log_debug_errno(k, "Failed to signal the change of device %s: %m", id);
}

void device_bus_refresh(Daemon *d)
{
	BackendDevice *now = NULL, *was = d->shown_devices;
	size_t n_now = 0, n_was = d->n_shown_devices;

	if (pci_devices_list(d, &now, &n_now) < 0)
		return; /* the next uevent tries again; reads are resolved live anyway */
	for (size_t i = 0; i < n_was; i++)
		if (!device_in(now, n_now, was[i].id))
			device_emit(d, was[i].id, -1);
	for (size_t i = 0; i < n_now; i++) {
		const BackendDevice *old = device_in(was, n_was, now[i].id);

		if (!old)
			device_emit(d, now[i].id, 1);
		else if (!streq_ptr(old->driver, now[i].driver) ||
			 !streq_ptr(old->state, now[i].state))
			device_emit(d, now[i].id, 0);
	}
	device_list_free(was, n_was);
	d->shown_devices = now;
	d->n_shown_devices = n_now;
}

int device_bus_register(Daemon *d)
{
	int k;

	k = sd_bus_add_fallback_vtable(d->bus, NULL, DEVICE_PATH_PREFIX, DEVICE_INTERFACE, device_vtable,
				       device_object_find, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register device objects: %m");
	k = sd_bus_add_node_enumerator(d->bus, NULL, DEVICE_PATH_PREFIX, device_node_enumerator, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register device node enumerator: %m");
	/* What uevents are compared against; nothing is signalled for it. */
	k = pci_devices_list(d, &d->shown_devices, &d->n_shown_devices);
	if (k < 0)
		return log_error_errno(k, "Failed to list PCI devices: %m");
	return 0;
}
