/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-util.h"
#include "macro.h"

int bus_open(const char *address, bool user, uint64_t creds, BusOpenFlags flags, sd_bus **ret)
{
	_cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
	const char *unique;
	int r;

	if (!address) {
		r = user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(bus);
		return 0;
	}

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, address);
	if (r < 0)
		return r;
	r = sd_bus_set_bus_client(bus, true);
	if (r < 0)
		return r;
	if (creds) {
		/* Nothing vouches for a bus at an arbitrary address: ask for the callers' creds. */
		r = sd_bus_set_trusted(bus, false);
		if (r < 0)
			return r;
		r = sd_bus_negotiate_creds(bus, true, creds);
		if (r < 0)
			return r;
	}
	r = sd_bus_start(bus);
	if (r < 0)
		return r;
	/* sd_bus_start() only begins authentication; this waits for Hello(). */
	if (flags & BUS_OPEN_WAIT) {
		r = sd_bus_get_unique_name(bus, &unique);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(bus);
	return 0;
}

const char *bus_name_for_humans(const char *address, bool user, char *buf, size_t n)
{
	if (!address)
		return user ? "the user bus" : "the system bus";
	snprintf(buf, n, "the bus at %s", address);
	return buf;
}
