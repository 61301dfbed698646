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

#include "bus/bus.h"
#include "log.h"

typedef struct DeviceLookup {
	const BackendOps *backend;
	BackendDevice dev;
} DeviceLookup;

static void device_lookup_done(DeviceLookup *l)
{
	backend_device_clear(&l->dev);
}

typedef struct DeviceSearch {
	const char *id;
	DeviceLookup *found;
} DeviceSearch;

static int take_if_id(const BackendOps *b, BackendDevice *dev, void *userdata)
{
	DeviceSearch *s = userdata;

	if (!streq(dev->id, s->id))
		return 0;
	s->found->backend = b;
	s->found->dev = *dev;
	*dev = (BackendDevice){};
	return 1;
}

/* Finds a device by id across the available backends. 1 found, 0 not, <0 error. */
static int device_find(Manager *d, const char *id, DeviceLookup *ret)
{
	return backend_foreach_device(&d->env, 0, take_if_id, &(DeviceSearch){id, ret});
}

static int device_from_path(Manager *d, const char *path, DeviceLookup *ret)
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
	Manager *d = userdata;
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
		busy = manager_device_busy(d, l.backend->name, l.dev.id);
		k = sd_bus_message_append(reply, "o", busy ? busy->path : "/");
	}
	device_lookup_done(&l);
	return k;
}

/* Device.Describe() and Manager.DescribeDevice(): identity plus what the backend can tell. */
int device_describe(Manager *d, const char *id, char **ret_json, sd_bus_error *error)
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
	busy = manager_device_busy(d, l.backend->name, l.dev.id);
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

typedef struct DeviceList {
	BackendDevice *devs;
	size_t n;
} DeviceList;

static void device_list_done(DeviceList *l)
{
	for (size_t i = 0; i < l->n; i++)
		backend_device_clear(&l->devs[i]);
	l->devs = mfree(l->devs);
	l->n = 0;
}

static int take_device(const BackendOps *b, BackendDevice *dev, void *userdata)
{
	DeviceList *l = userdata;
	BackendDevice *n = realloc(l->devs, (l->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	l->devs = n;
	l->devs[l->n++] = *dev;
	*dev = (BackendDevice){};
	return 0;
}

/* Every device of the available backends with flags, in one list. */
static int devices_list(Manager *d, unsigned flags, DeviceList *ret)
{
	int k;

	*ret = (DeviceList){};
	k = backend_foreach_device(&d->env, flags, take_device, ret);
	if (k < 0)
		device_list_done(ret);
	return k;
}

static int device_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
				  sd_bus_error *error)
{
	_cleanup_(device_list_done) DeviceList devs = {};
	char **l;
	size_t n = 0;
	int k;

	k = devices_list(userdata, 0, &devs);
	if (k < 0)
		return k;
	l = calloc(devs.n + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < devs.n; i++)
		if (sd_bus_path_encode(DEVICE_PATH_PREFIX, devs.devs[i].id, &l[n]) >= 0)
			n++;
	*nodes = l;
	return 1;
}

static const BackendDevice *device_in(const DeviceList *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->devs[i].id, id))
			return &l->devs[i];
	return NULL;
}

static void device_emit(Manager *d, const char *id, int what)
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

void device_bus_refresh(Manager *d)
{
	DeviceList now, was = {.devs = d->shown_devices, .n = d->n_shown_devices};

	/* The other backends' devices never change. */
	if (devices_list(d, BACKEND_PCI, &now) < 0)
		return; /* the next uevent tries again; reads are resolved live anyway */
	for (size_t i = 0; i < was.n; i++)
		if (!device_in(&now, was.devs[i].id))
			device_emit(d, was.devs[i].id, -1);
	for (size_t i = 0; i < now.n; i++) {
		const BackendDevice *old = device_in(&was, now.devs[i].id);

		if (!old)
			device_emit(d, now.devs[i].id, 1);
		else if (!streq_ptr(old->driver, now.devs[i].driver) ||
			 !streq_ptr(old->state, now.devs[i].state))
			device_emit(d, now.devs[i].id, 0);
	}
	device_list_done(&was);
	d->shown_devices = now.devs;
	d->n_shown_devices = now.n;
}

int device_bus_register(Manager *d)
{
	DeviceList shown;
	int k;

	k = sd_bus_add_fallback_vtable(d->bus, NULL, DEVICE_PATH_PREFIX, DEVICE_INTERFACE, device_vtable,
				       device_object_find, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register device objects: %m");
	k = sd_bus_add_node_enumerator(d->bus, NULL, DEVICE_PATH_PREFIX, device_node_enumerator, d);
	if (k < 0)
		return log_error_errno(k, "Failed to register device node enumerator: %m");
	/* What uevents are compared against; nothing is signalled for it. */
	k = devices_list(d, BACKEND_PCI, &shown);
	if (k < 0)
		return log_error_errno(k, "Failed to list PCI devices: %m");
	d->shown_devices = shown.devs;
	d->n_shown_devices = shown.n;
	return 0;
}
