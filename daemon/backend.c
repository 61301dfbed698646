/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"

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

void backend_device_clear(BackendDevice *d)
{
	free(d->id);
	free(d->description);
	free(d->driver);
	free(d->state);
	*d = (BackendDevice){};
}
