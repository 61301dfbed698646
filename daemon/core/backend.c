/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "core/backend.h"
#include "log.h"

const HostEnv host_env_nowhere = {
	.dev_iommu = "/nonexistent/iommu",
	.sysfs = "/nonexistent/sys",
	.dev_kmsg = "/nonexistent/kmsg",
	.tracefs = "/nonexistent/tracing",
	.proc = "/nonexistent/proc",
	.dev_vfio = "/nonexistent/vfio",
	.dev_block = "/nonexistent/block",
};

const BackendOps *const backends[] = {
	&backend_model,
	&backend_vfio,
	&backend_mock,
	NULL,
};

const BackendOps *backend_find(const char *name)
{
	for (const BackendOps *const *b = backends; *b; b++)
		if (streq((*b)->name, name))
			return *b;
	return NULL;
}

bool backend_has_engine(const BackendOps *b, const char *name)
{
	for (const char *const *e = b->scenario.engines; e && *e; e++)
		if (streq(*e, name))
			return true;
	return false;
}

const BackendOps *backend_find_engine(const char *name)
{
	for (const BackendOps *const *b = backends; *b; b++)
		if (backend_has_engine(*b, name))
			return *b;
	return NULL;
}

void backend_device_clear(BackendDevice *d)
{
	free(d->id);
	free(d->description);
	free(d->driver);
	free(d->state);
	*d = (BackendDevice){};
}

int backend_foreach_device(const HostEnv *env, unsigned flags,
			   int (*cb)(const BackendOps *b, BackendDevice *dev, void *userdata),
			   void *userdata)
{
	for (const BackendOps *const *b = backends; *b; b++) {
		BackendDevice *devs = NULL;
		size_t n = 0;
		int k;

		if (((*b)->flags & flags) != flags || !(*b)->list_devices ||
		    (*b)->probe(env, NULL) < 0)
			continue;
		k = (*b)->list_devices(env, &devs, &n);
		if (k < 0) {
			log_debug_errno(k, "Backend %s: listing devices failed: %m", (*b)->name);
			continue;
		}
		k = 0;
		for (size_t i = 0; i < n; i++) {
			if (k == 0)
				k = cb(*b, &devs[i], userdata);
			backend_device_clear(&devs[i]);
		}
		free(devs);
		if (k != 0)
			return k;
	}
	return 0;
}

int backend_device_single(BackendDevice **ret, size_t *ret_n, const char *id,
			  const char *description, const char *state)
{
	BackendDevice *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->id = strdup(id);
	d->description = strdup(description);
	d->driver = strdup("");
	d->state = strdup(state);
	if (!d->id || !d->description || !d->driver || !d->state) {
		backend_device_clear(d);
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	*ret_n = 1;
	return 0;
}

int backend_errorf(char **error, int r, const char *fmt, ...)
{
	va_list ap;

	if (!error)
		return r;
	free(*error);
	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return r;
}

int backend_key_errorf(char **error, int r, const Scenario *s, const char *key,
		       const char *effective, const char *fmt, ...)
{
	_cleanup_free_ char *where = NULL, *msg = NULL;
	va_list ap;
	int n;

	if (!error)
		return r;
	where = scenario_key_where(s, key, effective);
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	free(*error);
	if (!where || !msg || asprintf(error, "%s: %s", where, msg) < 0)
		*error = NULL;
	return r;
}

const char *backend_errno_text(int r, char *buf, size_t n)
{
	const char *name = errno_to_name(r);

	snprintf(buf, n, "%s%s%s%s", strerror(ERRNO_VALUE(r)), name ? " (" : "", strempty(name),
		 name ? ")" : "");
	return buf;
}
