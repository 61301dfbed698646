/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "core/observer.h"

/* Adding an observer: implement ObserverOps next to its source, list it here. */
const ObserverOps *const observers[] = {
	&observer_kmsg,
	&observer_dmar_interrupts,
	&observer_tracefs,
	NULL,
};
