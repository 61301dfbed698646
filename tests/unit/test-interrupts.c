/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observers/interrupts.h"
#include "check-run.h"

static int parse(const char *text, uint64_t *count, unsigned *lines)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	ck_assert_ptr_nonnull(f);
	r = interrupts_parse_dmar(f, count, lines);
	fclose(f);
	return r;
}

START_TEST(test_guest)
{
	/* As in the QEMU guest: two vCPUs, one DRHD. */
	static const char text[] = "           CPU0       CPU1       \n"
				   "  0:         44          0   IO-APIC   2-edge      timer\n"
				   " 24:         17          3  DMAR-MSI    0-edge      dmar0\n"
				   " 25:          0       1200  PCI-MSI 49152-edge      virtio0\n"
				   "NMI:          0          0   Non-maskable interrupts\n"
				   "ERR:          0\n";
	uint64_t n = 0;
	unsigned lines = 0;

	ck_assert_int_eq(parse(text, &n, &lines), 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_uint_eq(lines, 1);
}
END_TEST

START_TEST(test_multiple_drhd_and_none)
{
	static const char two[] = " 40:   1   2   3   4  DMAR-MSI    0-edge      dmar0\n"
				  " 41:   5   0   0   0  DMAR-MSI    1-edge      dmar1\n"
				  " 42: 100 100 100 100  IR-PCI-MSI 1-edge    nvme0q1\n";
	static const char none[] = "  0:  44  IO-APIC   2-edge  timer\n";
	static const char odd[] = " 43: DMAR-MSI\n 44:   7x  DMAR-MSI 0-edge dmar2\n";
	uint64_t n = 0;
	unsigned lines = 0;

	ck_assert_int_eq(parse(two, &n, &lines), 0);
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(lines, 2);
	ck_assert_int_eq(parse(none, &n, &lines), -ENOENT);
	/* Lines without counts, or with garbage where a count should be, add nothing. */
	ck_assert_int_eq(parse(odd, &n, &lines), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("interrupts");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_guest);
	tcase_add_test(tc, test_multiple_drhd_and_none);
	suite_add_tcase(s, tc);
	return check_run(s);
}
