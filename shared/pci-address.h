/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PCI function addresses as the kernel and sysfs print them: "DDDD:BB:DD.F"
 * (domain, also called segment) or "BB:DD.F" (VT-d before 7.x and older
 * AMD kernels leave the domain out). Matched digit by digit, never with
 * sscanf(), and with libc only: the kernel-log fuzz target compiles this
 * file into itself.
 */

#include <stdbool.h>
#include <stdint.h>

/* Room for the 5+ digit domains of VMD-style host bridges too. */
#define PCI_ADDRESS_STRING_MAX sizeof("00000000:00:00.0")

typedef struct PciAddress {
	uint32_t domain; /* 0 when the text left it out */
	uint8_t bus, dev, fn;
	bool has_domain; /* the text named the domain ("0000:00:03.0", not "00:03.0") */
} PciAddress;

typedef enum PciAddressFlags {
	/*
	 * A domain of 4 to 8 hex digits, as sysfs names the devices behind a
	 * VMD host bridge ("10000:e1:00.0"). Without it a domain is exactly 4
	 * digits, the kernel's "%04x".
	 */
	PCI_ADDRESS_WIDE_DOMAIN = 1 << 0,
	/*
	 * Device and function as their digits spell them (up to 0xff and 0xf),
	 * for a caller that says itself which of the two is out of range.
	 */
	PCI_ADDRESS_NO_RANGE_CHECK = 1 << 1,
} PciAddressFlags;

/*
 * "DDDD:BB:DD.F" or "BB:DD.F", hex digits in either case, nothing before or
 * after. The bus and device are two digits, the function one; the device
 * must be ≤ 0x1f and the function ≤ 7 unless PCI_ADDRESS_NO_RANGE_CHECK.
 * 0, or -EINVAL (*ret untouched).
 */
int pci_address_parse(const char *s, PciAddressFlags flags, PciAddress *ret);

/*
 * "DDDD:BB:DD.F" if a->has_domain, else "BB:DD.F", in lower case: the form
 * sysfs and the kernel print. Returns buf.
 */
char *pci_address_format(const PciAddress *a, char buf[static PCI_ADDRESS_STRING_MAX]);
