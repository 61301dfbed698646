/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kmsg.h"
#include "uevent.h"

/* Lines as the 6.12 VT-d driver prints them (the first three seen in the QEMU guest). */
static const struct {
	const char *text;
	KmsgKind kind;
	FaultAccess access;
	bool has_pasid;
	uint32_t pasid;
	uint8_t bus, dev, fn;
	uint64_t addr;
	uint32_t reason;
	const char *reason_text;
} lines[] = {
	{"DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x100000 [fault reason 0x59] "
	 "SM: Present bit in PASID Table Entry is clear",
	 KMSG_VTD_DMA_FAULT, FAULT_ACCESS_READ, false, 0, 0, 3, 0, 0x100000, 0x59,
	 "SM: Present bit in PASID Table Entry is clear"},
	{"DMAR: [DMA Read PASID 0x0] Request device [00:03.0] fault addr 0x100000 [fault reason 0x06] "
	 "PTE Read access is not set",
	 KMSG_VTD_DMA_FAULT, FAULT_ACCESS_READ, true, 0, 0, 3, 0, 0x100000, 0x06,
	 "PTE Read access is not set"},
	{"DMAR: [DMA Write PASID 0x1f] Request device [3a:1f.7] fault addr 0xfffff000 [fault reason 0x05] "
	 "PTE Write access is not set  ",
	 KMSG_VTD_DMA_FAULT, FAULT_ACCESS_WRITE, true, 0x1f, 0x3a, 0x1f, 7, 0xfffff000, 0x05,
	 "PTE Write access is not set"},
	{"DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x0 [fault reason 0x5b] "
	 "SM: Invalid Scalable-Mode PASID Table Entry",
	 KMSG_VTD_DMA_FAULT, FAULT_ACCESS_WRITE, false, 0, 0, 3, 0, 0, 0x5b,
	 "SM: Invalid Scalable-Mode PASID Table Entry"},
	{"DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 0x1a [fault reason 0x25] "
	 "Blocked a compatibility format interrupt request",
	 KMSG_VTD_INTR_FAULT, FAULT_ACCESS_UNKNOWN, false, 0, 0, 0x1f, 0, 0x1a, 0x25,
	 "Blocked a compatibility format interrupt request"},
	{"DMAR: DRHD: handling fault status reg 2", KMSG_VTD_FAULT_STATUS},
	{"dmar_fault: 12 callbacks suppressed", KMSG_RATELIMIT},
	/* Look-alikes that are not fault records. */
	{"DMAR: IOMMU enabled", KMSG_OTHER},
	{"DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr", KMSG_OTHER},
	{"DMAR: [DMA Read NO_PASID] Request device [00:33.0] fault addr 0x0 [fault reason 0x06] x",
	 KMSG_OTHER},
	{"DMAR: [DMA Fetch PASID 0x1] Request device [00:03.0] fault addr 0x0 [fault reason 0x06] x",
	 KMSG_OTHER},
	{"dmar_fault: many callbacks suppressed", KMSG_OTHER},
	{"dmar_fault: 3 callbacks suppressed and more", KMSG_OTHER},
	{"", KMSG_OTHER},
};

START_TEST(test_fault_lines)
{
	KmsgFault f;
	KmsgKind k = kmsg_parse_fault(lines[_i].text, &f);

	ck_assert_msg(k == lines[_i].kind, "'%s': kind %d, want %d", lines[_i].text, k,
		      lines[_i].kind);
	if (k != KMSG_VTD_DMA_FAULT && k != KMSG_VTD_INTR_FAULT)
		return;
	ck_assert_int_eq(f.access, lines[_i].access);
	ck_assert_int_eq(f.has_pasid, lines[_i].has_pasid);
	ck_assert_uint_eq(f.pasid, lines[_i].pasid);
	ck_assert_uint_eq(f.bus, lines[_i].bus);
	ck_assert_uint_eq(f.dev, lines[_i].dev);
	ck_assert_uint_eq(f.fn, lines[_i].fn);
	ck_assert_uint_eq(f.addr, lines[_i].addr);
	ck_assert_uint_eq(f.reason, lines[_i].reason);
	ck_assert_str_eq(f.reason_text, lines[_i].reason_text);
}
END_TEST

START_TEST(test_ratelimit_and_status)
{
	KmsgFault f;

	ck_assert_int_eq(kmsg_parse_fault("dmar_fault: 12 callbacks suppressed", &f),
			 KMSG_RATELIMIT);
	ck_assert_str_eq(f.func, "dmar_fault");
	ck_assert_uint_eq(f.suppressed, 12);
	ck_assert_int_eq(kmsg_parse_fault("DMAR: DRHD: handling fault status reg 402", &f),
			 KMSG_VTD_FAULT_STATUS);
	ck_assert_uint_eq(f.fault_status, 0x402);
}
END_TEST

START_TEST(test_record)
{
	char buf[512];
	const char *raw =
		"3,1234,5678901,-;DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault "
		"addr 0x100000 [fault reason 0x59] SM: Present bit in PASID Table Entry is "
		"clear\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:03.0\n";
	KmsgRecord rec;
	KmsgFault f;

	strcpy(buf, raw);
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(raw), &rec), 0);
	ck_assert_int_eq(rec.prio, 3);
	ck_assert_uint_eq(rec.seq, 1234);
	ck_assert_uint_eq(rec.ts_usec, 5678901);
	ck_assert_int_eq(kmsg_parse_fault(rec.text, &f), KMSG_VTD_DMA_FAULT);
	ck_assert_str_eq(f.reason_text, "SM: Present bit in PASID Table Entry is clear");

	/* Newer kernels append fields before ';' (e.g. the caller id). */
	strcpy(buf, "6,7,8,-,caller=T1;hello\n");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), 0);
	ck_assert_str_eq(rec.text, "hello");

	strcpy(buf, "garbage without header");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
	strcpy(buf, "1,2;short");
	ck_assert_int_eq(kmsg_parse_record(buf, strlen(buf), &rec), -EINVAL);
}
END_TEST

START_TEST(test_bdf)
{
	uint16_t seg;
	uint8_t b, d, f;

	ck_assert_int_eq(pci_bdf_parse("0000:00:03.0", &seg, &b, &d, &f), 0);
	ck_assert_uint_eq(seg, 0);
	ck_assert_uint_eq(d, 3);
	ck_assert_int_eq(pci_bdf_parse("0001:3a:1f.7", &seg, &b, &d, &f), 0);
	ck_assert_uint_eq(seg, 1);
	ck_assert_uint_eq(b, 0x3a);
	ck_assert_uint_eq(d, 0x1f);
	ck_assert_uint_eq(f, 7);
	ck_assert_int_eq(pci_bdf_parse("00:03.0", &seg, &b, &d, &f), 0);
	ck_assert_int_eq(pci_bdf_parse("00:20.0", &seg, &b, &d, &f), -EINVAL);
	ck_assert_int_eq(pci_bdf_parse("00:03.8", &seg, &b, &d, &f), -EINVAL);
	ck_assert_int_eq(pci_bdf_parse("model0", &seg, &b, &d, &f), -EINVAL);
	ck_assert_int_eq(pci_bdf_parse("0000:00:03.0x", &seg, &b, &d, &f), -EINVAL);
}
END_TEST

START_TEST(test_uevent)
{
	static const char msg[] = "unbind@/devices/pci0000:00/0000:00:03.0\0ACTION=unbind\0"
				  "DEVPATH=/devices/pci0000:00/0000:00:03.0\0SUBSYSTEM=pci\0"
				  "PCI_SLOT_NAME=0000:00:03.0\0SEQNUM=1234";
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
	static const char noheader[] = "ACTION=add\0DEVPATH=/x\0";
	Uevent e;

	ck_assert_int_eq(uevent_parse(msg, sizeof(msg), &e), 0);
	ck_assert_str_eq(e.action, "unbind");
	ck_assert_str_eq(e.subsystem, "pci");
	ck_assert_ptr_null(e.driver);
	ck_assert_str_eq(uevent_pci_address(&e), "0000:00:03.0");
	/* The last field without its NUL is ignored, not read past the end. */
	ck_assert_int_eq(uevent_parse(msg, sizeof(msg) - 1, &e), 0);
	ck_assert_int_eq(uevent_parse(udev, sizeof(udev) - 1, &e), -EINVAL);
	ck_assert_int_eq(uevent_parse(noheader, sizeof(noheader), &e), -EINVAL);
	ck_assert_int_eq(uevent_parse("x", 1, &e), -EINVAL);

	e = (Uevent){.action = "remove", .devpath = "/devices/virtual/net/lo", .subsystem = "net"};
	ck_assert_ptr_null(uevent_pci_address(&e));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kmsg");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_fault_lines, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tc, test_ratelimit_and_status);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_bdf);
	tcase_add_test(tc, test_uevent);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
