/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "pci-address.h"

/* min..max hex digits (max ≤ 8, so the value fits). */
static bool eat_hex(const char **p, unsigned min, unsigned max, uint32_t *ret)
{
	const char *c = *p;
	uint32_t v = 0;
	unsigned n = 0;

	for (;; c++) {
		int d = unhexchar(*c);

		if (d < 0)
			break;
		if (++n > max)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	if (n < min)
		return false;
	*p = c;
	*ret = v;
	return true;
}

static bool eat_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int pci_address_parse(const char *s, PciAddressFlags flags, PciAddress *ret)
{
	uint32_t domain = 0, bus, dev, fn;
	const char *c = s, *colon;
	bool has_domain;

	if (!s)
		return -EINVAL;
	/*
	 * With every field of fixed width but the domain, a second colon is
	 * the only way to tell "DDDD:BB:DD.F" from "BB:DD.F".
	 */
	colon = strchr(s, ':');
	has_domain = colon && strchr(colon + 1, ':');
	if (has_domain && (!eat_hex(&c, 4, flags & PCI_ADDRESS_WIDE_DOMAIN ? 8 : 4, &domain) ||
			   !eat_char(&c, ':')))
		return -EINVAL;
	if (!eat_hex(&c, 2, 2, &bus) || !eat_char(&c, ':') || !eat_hex(&c, 2, 2, &dev) ||
	    !eat_char(&c, '.') || !eat_hex(&c, 1, 1, &fn) || *c)
		return -EINVAL;
	if (!(flags & PCI_ADDRESS_NO_RANGE_CHECK) && (dev > 0x1f || fn > 7))
		return -EINVAL;

	*ret = (PciAddress){
		.domain = domain,
		.bus = (uint8_t)bus,
		.dev = (uint8_t)dev,
		.fn = (uint8_t)fn,
		.has_domain = has_domain,
	};
	return 0;
}

char *pci_address_format(const PciAddress *a, char buf[static PCI_ADDRESS_STRING_MAX])
{
	if (a->has_domain)
		snprintf(buf, PCI_ADDRESS_STRING_MAX, "%04x:%02x:%02x.%x", a->domain, a->bus,
			 a->dev, a->fn);
	else
		snprintf(buf, PCI_ADDRESS_STRING_MAX, "%02x:%02x.%x", a->bus, a->dev, a->fn);
	return buf;
}
