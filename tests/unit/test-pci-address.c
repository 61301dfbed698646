/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "pci-address.h"
#include "check-run.h"

#define WIDE PCI_ADDRESS_WIDE_DOMAIN
#define ANY  PCI_ADDRESS_NO_RANGE_CHECK
#define BAD  .ret = -EINVAL
#define DOM  .has_domain = true

/*
 * out is what pci_address_format() gives back: the input as the kernel
 * prints it, lower case, the domain only where the input had one.
 */
static const struct {
	const char *in;
	PciAddressFlags flags;
	int ret;
	PciAddress a;
	const char *out;
} cases[] = {
	/* The two forms. */
	{"00:03.0", 0, 0, {.bus = 0, .dev = 3, .fn = 0}, "00:03.0"},
	{"0000:00:03.0", 0, 0, {.dev = 3, DOM}, "0000:00:03.0"},
	{"0001:3a:1f.7",
	 0,
	 0,
	 {.domain = 1, .bus = 0x3a, .dev = 0x1f, .fn = 7, DOM},
	 "0001:3a:1f.7"},
	{"FFFF:3A:00.0", 0, 0, {.domain = 0xffff, .bus = 0x3a, DOM}, "ffff:3a:00.0"},
	{"0000:0A:1F.7", 0, 0, {.bus = 0x0a, .dev = 0x1f, .fn = 7, DOM}, "0000:0a:1f.7"},
	{"ab:1f.7", 0, 0, {.bus = 0xab, .dev = 0x1f, .fn = 7}, "ab:1f.7"},
	{"ff:00.1", WIDE, 0, {.bus = 0xff, .fn = 1}, "ff:00.1"},
	/* Domains: exactly 4 digits, or 4 to 8 with PCI_ADDRESS_WIDE_DOMAIN (VMD). */
	{"10000:e1:00.0", 0, BAD},
	{"00000:00:03.0", 0, BAD},
	{"10000:e1:00.0", WIDE, 0, {.domain = 0x10000, .bus = 0xe1, DOM}, "10000:e1:00.0"},
	{"0000:00:03.0", WIDE, 0, {.dev = 3, DOM}, "0000:00:03.0"},
	{"ffffffff:00:00.0", WIDE, 0, {.domain = 0xffffffff, DOM}, "ffffffff:00:00.0"},
	{"100000000:00:00.0", WIDE, BAD},
	{"000:00:03.0", 0, BAD},
	{"000:00:03.0", WIDE, BAD},
	{":00:03.0", 0, BAD},
	/* Device ≤ 0x1f, function ≤ 7, unless the caller checks them itself. */
	{"00:20.0", 0, BAD},
	{"00:03.8", 0, BAD},
	{"0000:00:20.0", WIDE, BAD},
	{"00:ff.f", ANY, 0, {.dev = 0xff, .fn = 0xf}, "00:ff.f"},
	{"0000:00:33.0", ANY, 0, {.dev = 0x33, DOM}, "0000:00:33.0"},
	{"0000:00:03.9", ANY | WIDE, 0, {.dev = 3, .fn = 9, DOM}, "0000:00:03.9"},
	{"0000:00:03.0", ANY | WIDE, 0, {.dev = 3, DOM}, "0000:00:03.0"},
	/* Field widths are exact. */
	{"0:03.0", 0, BAD},
	{"000:03.0", 0, BAD},
	{"00:3.0", 0, BAD},
	{"00:003.0", 0, BAD},
	{"00:03.00", 0, BAD},
	{"00:03.", 0, BAD},
	{"00:03", 0, BAD},
	/* Nothing before or after, no signs, blanks or prefixes. */
	{"", 0, BAD},
	{"model0", 0, BAD},
	{"zz:00.0", 0, BAD},
	{" 0:03.0", 0, BAD},
	{" 00:03.0", 0, BAD},
	{"00:03.0 ", 0, BAD},
	{"00:03.0\n", 0, BAD},
	{"-1:03.0", 0, BAD},
	{"+0:03.0", 0, BAD},
	{"0x00:03.0", 0, BAD},
	{"0000:00:03.0x", 0, BAD},
	{"0000:00:03.0:1", 0, BAD},
	{"0000:00:03:0", 0, BAD},
	{"00.03.0", 0, BAD},
	{"0000.00:03.0", 0, BAD},
};

START_TEST(test_parse)
{
	const PciAddress sentinel = {.domain = 0xdead, .bus = 0xbe, .dev = 0xef, .fn = 0xa};
	PciAddress a = sentinel;
	char buf[PCI_ADDRESS_STRING_MAX];
	int r = pci_address_parse(cases[_i].in, cases[_i].flags, &a);

	ck_assert_msg(r == cases[_i].ret, "\"%s\" (flags 0x%x): got %d want %d", cases[_i].in,
		      (unsigned)cases[_i].flags, r, cases[_i].ret);
	if (r < 0) {
		/* A failed parse leaves the result alone. */
		ck_assert(memcmp(&a, &sentinel, sizeof(a)) == 0);
		return;
	}
	ck_assert_uint_eq(a.domain, cases[_i].a.domain);
	ck_assert_uint_eq(a.bus, cases[_i].a.bus);
	ck_assert_uint_eq(a.dev, cases[_i].a.dev);
	ck_assert_uint_eq(a.fn, cases[_i].a.fn);
	ck_assert_int_eq(a.has_domain, cases[_i].a.has_domain);
	ck_assert_str_eq(pci_address_format(&a, buf), cases[_i].out);
}
END_TEST

START_TEST(test_null)
{
	PciAddress a;

	ck_assert_int_eq(pci_address_parse(NULL, 0, &a), -EINVAL);
}
END_TEST

START_TEST(test_format)
{
	char buf[PCI_ADDRESS_STRING_MAX];

	/* The domain is printed when asked for, 4 digits at the least. */
	ck_assert_str_eq(pci_address_format(&(PciAddress){.bus = 0x3a, .dev = 3, DOM}, buf),
			 "0000:3a:03.0");
	ck_assert_str_eq(pci_address_format(&(PciAddress){.domain = 0x12345678, .fn = 7, DOM}, buf),
			 "12345678:00:00.7");
	/* Without has_domain a domain is not printed, even if it is not 0. */
	ck_assert_str_eq(pci_address_format(&(PciAddress){.domain = 1, .dev = 0x1f}, buf),
			 "00:1f.0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci-address");
	TCase *tc = tcase_create("pci-address");

	tcase_add_loop_test(tc, test_parse, 0, (int)ELEMENTSOF(cases));
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return check_run(s);
}
