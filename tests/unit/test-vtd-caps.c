/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VT-d CAP_REG / ECAP_REG decoding: register values composed by hand from
 * the specification's field positions, the tables against the kernel's own
 * accessors on random values, and the JSON that iommuctl caps shows.
 */
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "vtd/vtd-caps.h"

/*
 * CAP: ND=2 (256 domains), RWBF, CM, SAGAW=0b00110 (39- and 48-bit),
 * MGAW=47 (48 bits), ZLR, FRO=0x22 (registers at 0x220), SLLPS=0b0011
 * (2M, 1G), PSI, NFR=7 (8 registers), MAMV=18, DWD, DRD, FL1GP, PI, ESRTPS.
 *   0x2 | 0x10 | 0x80 | 0x600 | 0x2f0000 | 0x400000 | 0x22000000 = 0x226f0692
 *   bits 32-47: SLLPS 0x000c | PSI 0x0080 | NFR 0x0700           = 0x078c
 *   bits 48-63: MAMV 0x0012 | DWD/DRD 0x00c0 | FL1GP 0x0100 | PI 0x0800 | ESRTPS 0x8000 = 0x89d2
 */
#define CAP UINT64_C(0x89d2078c226f0692)
/*
 * ECAP: C, QI, DT, IR, EIM, PT, SC, IRO=0x50 (IOTLB at 0x500), MHMV=15,
 * NEST, PRS, ERS, SRS, NWFS, EAFS, PSS=19 (20-bit PASIDs), PASID, DIT, PDS,
 * SMTS, SLADS, SLTS, FLTS, SMPWCS, RPS.
 *   bits 0-15:  C..EIM 0x1f | PT 0x40 | SC 0x80 | IRO 0x50 << 8                   = 0x50df
 *   bits 16-31: MHMV 0x00f0 | NEST 0x0400 | PRS/ERS/SRS 0xe000                    = 0xe4f0
 *   bits 32-47: NWFS 0x2 | EAFS 0x4 | PSS 19<<3 = 0x98 | PASID 0x100 | DIT 0x200 | PDS 0x400
 *               | SMTS 0x800 | SLADS 0x2000 | SLTS 0x4000 | FLTS 0x8000 = 0xef9e
 *   bits 48-63: SMPWCS 0x1 | RPS 0x2 = 0x0003
 */
#define ECAP UINT64_C(0x0003ef9ee4f050df)

static uint64_t cap_field(const char *name, uint64_t reg)
{
	const VtdField *f = vtd_field_find(vtd_cap_fields, vtd_cap_fields_n, name);

	ck_assert_msg(f, "no CAP field %s", name);
	return vtd_field_get(f, reg);
}

static uint64_t ecap_field(const char *name, uint64_t reg)
{
	const VtdField *f = vtd_field_find(vtd_ecap_fields, vtd_ecap_fields_n, name);

	ck_assert_msg(f, "no ECAP field %s", name);
	return vtd_field_get(f, reg);
}

START_TEST(test_cap_fields)
{
	static const struct {
		const char *name;
		uint64_t value;
	} want[] = {
		{"ND", 2},    {"AFL", 0},   {"RWBF", 1},    {"PLMR", 0},   {"PHMR", 0},	 {"CM", 1},
		{"SAGAW", 6}, {"MGAW", 47}, {"ZLR", 1},	    {"FRO", 0x22}, {"SLLPS", 3}, {"PSI", 1},
		{"NFR", 7},   {"MAMV", 18}, {"DWD", 1},	    {"DRD", 1},	   {"FL1GP", 1}, {"PI", 1},
		{"FL5LP", 0}, {"ECMDS", 0}, {"ESIRTPS", 0}, {"ESRTPS", 1},
	};

	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_msg(cap_field(want[i].name, CAP) == want[i].value, "%s = %" PRIu64,
			      want[i].name, cap_field(want[i].name, CAP));
	ck_assert_uint_eq(vtd_unknown_bits(vtd_cap_fields, vtd_cap_fields_n, CAP), 0);
}
END_TEST

START_TEST(test_ecap_fields)
{
	static const struct {
		const char *name;
		uint64_t value;
	} want[] = {
		{"C", 1},    {"QI", 1},	    {"DT", 1},	  {"IR", 1},   {"EIM", 1},   {"PT", 1},
		{"SC", 1},   {"IRO", 0x50}, {"MHMV", 15}, {"MTS", 0},  {"NEST", 1},  {"PRS", 1},
		{"ERS", 1},  {"SRS", 1},    {"NWFS", 1},  {"EAFS", 1}, {"PSS", 19},  {"PASID", 1},
		{"DIT", 1},  {"PDS", 1},    {"SMTS", 1},  {"VCS", 0},  {"SLADS", 1}, {"SLTS", 1},
		{"FLTS", 1}, {"SMPWCS", 1}, {"RPS", 1},	  {"PMS", 0},
	};

	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_msg(ecap_field(want[i].name, ECAP) == want[i].value, "%s = %" PRIu64,
			      want[i].name, ecap_field(want[i].name, ECAP));
	ck_assert_uint_eq(vtd_unknown_bits(vtd_ecap_fields, vtd_ecap_fields_n, ECAP), 0);
}
END_TEST

START_TEST(test_derived)
{
	unsigned widths[5];

	ck_assert_uint_eq(vtd_cap_domains(CAP), 256);
	ck_assert_uint_eq(vtd_cap_mgaw_bits(CAP), 48);
	ck_assert_uint_eq(vtd_cap_fault_records(CAP), 8);
	ck_assert_uint_eq(vtd_cap_fault_offset(CAP), 0x220);
	ck_assert_uint_eq(vtd_ecap_iotlb_offset(ECAP), 0x500);
	ck_assert_uint_eq(vtd_ecap_pasid_bits(ECAP), 20);
	ck_assert_uint_eq(vtd_cap_sagaw_widths(CAP, widths), 2);
	ck_assert_uint_eq(widths[0], 39);
	ck_assert_uint_eq(widths[1], 48);

	/* ND=6 is 2^16 domains; ND=7 is reserved and not taken for 2^18. */
	ck_assert_uint_eq(vtd_cap_domains(6), 65536);
	ck_assert_uint_eq(vtd_cap_domains(7), 65536);
	/* Without ECAP.PASID, PSS means nothing. */
	ck_assert_uint_eq(vtd_ecap_pasid_bits(ECAP & ~(UINT64_C(1) << 40)), 0);
	/* 5-level (57-bit) only. */
	ck_assert_uint_eq(vtd_cap_sagaw_widths(UINT64_C(0x8) << 8, widths), 1);
	ck_assert_uint_eq(widths[0], 57);
}
END_TEST

START_TEST(test_unknown_bits)
{
	/* CAP 23 and 38 are reserved; ECAP 5 and 28 deprecated. */
	uint64_t cap = CAP | UINT64_C(1) << 23 | UINT64_C(1) << 38;
	uint64_t ecap = ECAP | UINT64_C(1) << 5 | UINT64_C(1) << 28;

	ck_assert_uint_eq(vtd_unknown_bits(vtd_cap_fields, vtd_cap_fields_n, cap),
			  UINT64_C(1) << 23 | UINT64_C(1) << 38);
	ck_assert_uint_eq(vtd_unknown_bits(vtd_ecap_fields, vtd_ecap_fields_n, ecap),
			  UINT64_C(1) << 5 | UINT64_C(1) << 28);
}
END_TEST

/* Fields within 64 bits, no two overlapping, names unique: catches transcription slips. */
static void check_table(const VtdField *t, size_t n)
{
	uint64_t seen = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t mask = ((UINT64_C(1) << t[i].width) - 1) << t[i].shift;

		ck_assert_msg(t[i].width >= 1 && t[i].shift + t[i].width <= 64, "%s", t[i].name);
		ck_assert_msg(!(seen & mask), "%s overlaps another field", t[i].name);
		seen |= mask;
		for (size_t k = 0; k < i; k++)
			ck_assert_msg(!streq(t[i].name, t[k].name), "%s twice", t[i].name);
		ck_assert_ptr_nonnull(t[i].description);
	}
}

START_TEST(test_tables)
{
	check_table(vtd_cap_fields, vtd_cap_fields_n);
	check_table(vtd_ecap_fields, vtd_ecap_fields_n);
}
END_TEST

/* The accessors of drivers/iommu/intel/iommu.h (Linux 6.12), verbatim. */
#define cap_esrtps(c)		  (((c) >> 63) & 1)
#define cap_esirtps(c)		  (((c) >> 62) & 1)
#define cap_ecmds(c)		  (((c) >> 61) & 1)
#define cap_fl5lp_support(c)	  (((c) >> 60) & 1)
#define cap_pi_support(c)	  (((c) >> 59) & 1)
#define cap_fl1gp_support(c)	  (((c) >> 56) & 1)
#define cap_read_drain(c)	  (((c) >> 55) & 1)
#define cap_write_drain(c)	  (((c) >> 54) & 1)
#define cap_max_amask_val(c)	  (((c) >> 48) & 0x3f)
#define cap_num_fault_regs(c)	  ((((c) >> 40) & 0xff) + 1)
#define cap_pgsel_inv(c)	  (((c) >> 39) & 1)
#define cap_super_page_val(c)	  (((c) >> 34) & 0xf)
#define cap_fault_reg_offset(c)	  ((((c) >> 24) & 0x3ff) * 16)
#define cap_zlr(c)		  (((c) >> 22) & 1)
#define cap_mgaw(c)		  ((((c) >> 16) & 0x3f) + 1)
#define cap_sagaw(c)		  (((c) >> 8) & 0x1f)
#define cap_caching_mode(c)	  (((c) >> 7) & 1)
#define cap_phmr(c)		  (((c) >> 6) & 1)
#define cap_plmr(c)		  (((c) >> 5) & 1)
#define cap_rwbf(c)		  (((c) >> 4) & 1)
#define cap_afl(c)		  (((c) >> 3) & 1)
#define cap_ndoms(c)		  (((unsigned long)1) << (4 + 2 * ((c)&0x7)))
#define ecap_pms(e)		  (((e) >> 51) & 0x1)
#define ecap_rps(e)		  (((e) >> 49) & 0x1)
#define ecap_smpwc(e)		  (((e) >> 48) & 0x1)
#define ecap_flts(e)		  (((e) >> 47) & 0x1)
#define ecap_slts(e)		  (((e) >> 46) & 0x1)
#define ecap_slads(e)		  (((e) >> 45) & 0x1)
#define ecap_smts(e)		  (((e) >> 43) & 0x1)
#define ecap_dit(e)		  (((e) >> 41) & 0x1)
#define ecap_pds(e)		  (((e) >> 42) & 0x1)
#define ecap_pasid(e)		  (((e) >> 40) & 0x1)
#define ecap_pss(e)		  (((e) >> 35) & 0x1f)
#define ecap_eafs(e)		  (((e) >> 34) & 0x1)
#define ecap_nwfs(e)		  (((e) >> 33) & 0x1)
#define ecap_srs(e)		  (((e) >> 31) & 0x1)
#define ecap_ers(e)		  (((e) >> 30) & 0x1)
#define ecap_prs(e)		  (((e) >> 29) & 0x1)
#define ecap_nest(e)		  (((e) >> 26) & 0x1)
#define ecap_mts(e)		  (((e) >> 25) & 0x1)
#define ecap_iotlb_offset(e)	  ((((e) >> 8) & 0x3ff) * 16)
#define ecap_coherent(e)	  ((e)&0x1)
#define ecap_qis(e)		  ((e)&0x2)
#define ecap_pass_through(e)	  (((e) >> 6) & 0x1)
#define ecap_eim_support(e)	  (((e) >> 4) & 0x1)
#define ecap_ir_support(e)	  (((e) >> 3) & 0x1)
#define ecap_dev_iotlb_support(e) (((e) >> 2) & 0x1)
#define ecap_max_handle_mask(e)	  (((e) >> 20) & 0xf)
#define ecap_sc_support(e)	  (((e) >> 7) & 0x1)

START_TEST(test_against_kernel_accessors)
{
	uint64_t x = UINT64_C(0x243F6A8885A308D3);

	for (unsigned i = 0; i < 10000; i++) {
		/* xorshift64: every bit pattern class, reproducibly. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;

		ck_assert_uint_eq(cap_field("ESRTPS", x), cap_esrtps(x));
		ck_assert_uint_eq(cap_field("ESIRTPS", x), cap_esirtps(x));
		ck_assert_uint_eq(cap_field("ECMDS", x), cap_ecmds(x));
		ck_assert_uint_eq(cap_field("FL5LP", x), cap_fl5lp_support(x));
		ck_assert_uint_eq(cap_field("PI", x), cap_pi_support(x));
		ck_assert_uint_eq(cap_field("FL1GP", x), cap_fl1gp_support(x));
		ck_assert_uint_eq(cap_field("DRD", x), cap_read_drain(x));
		ck_assert_uint_eq(cap_field("DWD", x), cap_write_drain(x));
		ck_assert_uint_eq(cap_field("MAMV", x), cap_max_amask_val(x));
		ck_assert_uint_eq(vtd_cap_fault_records(x), cap_num_fault_regs(x));
		ck_assert_uint_eq(cap_field("PSI", x), cap_pgsel_inv(x));
		ck_assert_uint_eq(cap_field("SLLPS", x), cap_super_page_val(x));
		ck_assert_uint_eq(vtd_cap_fault_offset(x), cap_fault_reg_offset(x));
		ck_assert_uint_eq(cap_field("ZLR", x), cap_zlr(x));
		ck_assert_uint_eq(vtd_cap_mgaw_bits(x), cap_mgaw(x));
		ck_assert_uint_eq(cap_field("SAGAW", x), cap_sagaw(x));
		ck_assert_uint_eq(cap_field("CM", x), cap_caching_mode(x));
		ck_assert_uint_eq(cap_field("PHMR", x), cap_phmr(x));
		ck_assert_uint_eq(cap_field("PLMR", x), cap_plmr(x));
		ck_assert_uint_eq(cap_field("RWBF", x), cap_rwbf(x));
		ck_assert_uint_eq(cap_field("AFL", x), cap_afl(x));
		if ((x & 7) != 7)
			ck_assert_uint_eq(vtd_cap_domains(x), cap_ndoms(x));

		ck_assert_uint_eq(ecap_field("PMS", x), ecap_pms(x));
		ck_assert_uint_eq(ecap_field("RPS", x), ecap_rps(x));
		ck_assert_uint_eq(ecap_field("SMPWCS", x), ecap_smpwc(x));
		ck_assert_uint_eq(ecap_field("FLTS", x), ecap_flts(x));
		ck_assert_uint_eq(ecap_field("SLTS", x), ecap_slts(x));
		ck_assert_uint_eq(ecap_field("SLADS", x), ecap_slads(x));
		ck_assert_uint_eq(ecap_field("SMTS", x), ecap_smts(x));
		ck_assert_uint_eq(ecap_field("DIT", x), ecap_dit(x));
		ck_assert_uint_eq(ecap_field("PDS", x), ecap_pds(x));
		ck_assert_uint_eq(ecap_field("PASID", x), ecap_pasid(x));
		ck_assert_uint_eq(ecap_field("PSS", x), ecap_pss(x));
		ck_assert_uint_eq(ecap_field("EAFS", x), ecap_eafs(x));
		ck_assert_uint_eq(ecap_field("NWFS", x), ecap_nwfs(x));
		ck_assert_uint_eq(ecap_field("SRS", x), ecap_srs(x));
		ck_assert_uint_eq(ecap_field("ERS", x), ecap_ers(x));
		ck_assert_uint_eq(ecap_field("PRS", x), ecap_prs(x));
		ck_assert_uint_eq(ecap_field("NEST", x), ecap_nest(x));
		ck_assert_uint_eq(ecap_field("MTS", x), ecap_mts(x));
		ck_assert_uint_eq(vtd_ecap_iotlb_offset(x), ecap_iotlb_offset(x));
		ck_assert_uint_eq(ecap_field("C", x), ecap_coherent(x));
		ck_assert_uint_eq(ecap_field("QI", x), !!ecap_qis(x));
		ck_assert_uint_eq(ecap_field("PT", x), ecap_pass_through(x));
		ck_assert_uint_eq(ecap_field("EIM", x), ecap_eim_support(x));
		ck_assert_uint_eq(ecap_field("IR", x), ecap_ir_support(x));
		ck_assert_uint_eq(ecap_field("DT", x), ecap_dev_iotlb_support(x));
		ck_assert_uint_eq(ecap_field("MHMV", x), ecap_max_handle_mask(x));
		ck_assert_uint_eq(ecap_field("SC", x), ecap_sc_support(x));
	}
}
END_TEST

START_TEST(test_json)
{
	_cleanup_free_ char *text = NULL;
	JsonWriter j;

	json_init(&j);
	json_object_begin(&j, NULL);
	vtd_caps_describe(&j, CAP, ECAP | UINT64_C(1) << 5);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(text);

	ck_assert_ptr_nonnull(strstr(text, "\"cap_reg\":\"0x89d2078c226f0692\""));
	ck_assert_ptr_nonnull(strstr(text, "\"ecap_reg\":\"0x0003ef9ee4f050ff\""));
	ck_assert_ptr_nonnull(strstr(text, "\"cap\":{\"ND\":2,\"AFL\":false,\"RWBF\":true,"));
	ck_assert_ptr_nonnull(strstr(text, "\"SAGAW\":6,\"MGAW\":47,"));
	ck_assert_ptr_nonnull(
		strstr(text, "\"ESRTPS\":true,\"unknown_bits\":\"0x0000000000000000\"}"));
	ck_assert_ptr_nonnull(strstr(text, "\"PSS\":19,\"PASID\":true,"));
	ck_assert_ptr_nonnull(
		strstr(text, "\"PMS\":false,\"unknown_bits\":\"0x0000000000000020\"}"));
	ck_assert_ptr_nonnull(strstr(
		text,
		"\"decoded\":{\"domains\":256,\"mgaw_bits\":48,\"sagaw_bits\":[39,48],"
		"\"second_stage_large_pages\":[\"2M\",\"1G\"],\"fault_recording_registers\":8,"
		"\"fault_recording_offset\":544,\"iotlb_offset\":1280,\"pasid_bits\":20,"
		"\"scalable_mode\":true,\"first_stage\":true,\"second_stage\":true,"
		"\"nested\":true,\"pass_through\":true}"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vtd-caps");
	TCase *tc = tcase_create("decode");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_cap_fields);
	tcase_add_test(tc, test_ecap_fields);
	tcase_add_test(tc, test_derived);
	tcase_add_test(tc, test_unknown_bits);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_against_kernel_accessors);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
