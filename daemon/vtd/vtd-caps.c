/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "macro.h"
#include "vtd/vtd-caps.h"

/*
 * VT-d specification 11.4.2, Capability Register. Bits the specification
 * reserves (15:13, 23, 38, 58:57) or has deprecated are left out, so that
 * vtd_unknown_bits() shows them if hardware ever sets them.
 */
const VtdField vtd_cap_fields[] = {
	{"ND", 0, 3, "number of domains supported"},
	{"AFL", 3, 1, "advanced fault logging"},
	{"RWBF", 4, 1, "required write-buffer flushing"},
	{"PLMR", 5, 1, "protected low-memory region"},
	{"PHMR", 6, 1, "protected high-memory region"},
	{"CM", 7, 1, "caching mode: not-present entries may be cached"},
	{"SAGAW", 8, 5, "supported adjusted guest address widths"},
	{"MGAW", 16, 6, "maximum guest address width - 1"},
	{"ZLR", 22, 1, "zero-length DMA read"},
	{"FRO", 24, 10, "fault-recording register offset / 16"},
	{"SLLPS", 34, 4, "second-stage large page sizes"},
	{"PSI", 39, 1, "page-selective invalidation"},
	{"NFR", 40, 8, "number of fault-recording registers - 1"},
	{"MAMV", 48, 6, "maximum address mask value"},
	{"DWD", 54, 1, "write draining"},
	{"DRD", 55, 1, "read draining"},
	{"FL1GP", 56, 1, "first-stage 1-GByte pages"},
	{"PI", 59, 1, "posted interrupts"},
	{"FL5LP", 60, 1, "first-stage 5-level paging"},
	{"ECMDS", 61, 1, "enhanced command support"},
	{"ESIRTPS", 62, 1, "enhanced set interrupt remap table pointer"},
	{"ESRTPS", 63, 1, "enhanced set root table pointer"},
};
const size_t vtd_cap_fields_n = ELEMENTSOF(vtd_cap_fields);

/*
 * VT-d specification 11.4.3, Extended Capability Register. Deprecated bits
 * (5, 24, 27, 28: the pre-3.0 scalable-mode precursors) are left out.
 */
const VtdField vtd_ecap_fields[] = {
	{"C", 0, 1, "page-walk coherency"},
	{"QI", 1, 1, "queued invalidation"},
	{"DT", 2, 1, "device-TLB (ATS)"},
	{"IR", 3, 1, "interrupt remapping"},
	{"EIM", 4, 1, "extended interrupt mode (x2APIC)"},
	{"PT", 6, 1, "pass-through"},
	{"SC", 7, 1, "snoop control"},
	{"IRO", 8, 10, "IOTLB register offset / 16"},
	{"MHMV", 20, 4, "maximum handle mask value"},
	{"MTS", 25, 1, "memory type"},
	{"NEST", 26, 1, "nested translation"},
	{"PRS", 29, 1, "page requests"},
	{"ERS", 30, 1, "execute requests"},
	{"SRS", 31, 1, "supervisor requests"},
	{"NWFS", 33, 1, "no write flag"},
	{"EAFS", 34, 1, "extended accessed flag"},
	{"PSS", 35, 5, "PASID size - 1 (bits)"},
	{"PASID", 40, 1, "process address space IDs"},
	{"DIT", 41, 1, "device-TLB invalidation throttling"},
	{"PDS", 42, 1, "page-request drain"},
	{"SMTS", 43, 1, "scalable-mode translation"},
	{"VCS", 44, 1, "virtual command"},
	{"SLADS", 45, 1, "second-stage accessed/dirty"},
	{"SLTS", 46, 1, "second-stage translation"},
	{"FLTS", 47, 1, "first-stage translation"},
	{"SMPWCS", 48, 1, "scalable-mode page-walk coherency"},
	{"RPS", 49, 1, "RID_PASID"},
	{"PMS", 51, 1, "performance monitoring"},
};
const size_t vtd_ecap_fields_n = ELEMENTSOF(vtd_ecap_fields);

const VtdField *vtd_field_find(const VtdField *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(table[i].name, name))
			return &table[i];
	return NULL;
}

uint64_t vtd_unknown_bits(const VtdField *table, size_t n, uint64_t reg)
{
	uint64_t known = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t mask =
			table[i].width >= 64 ? UINT64_MAX : (UINT64_C(1) << table[i].width) - 1;
		known |= mask << table[i].shift;
	}
	return reg & ~known;
}

static uint64_t field(const VtdField *table, size_t n, const char *name, uint64_t reg)
{
	const VtdField *f = vtd_field_find(table, n, name);

	return f ? vtd_field_get(f, reg) : 0;
}

#define CAP(name, reg)	field(vtd_cap_fields, vtd_cap_fields_n, name, reg)
#define ECAP(name, reg) field(vtd_ecap_fields, vtd_ecap_fields_n, name, reg)

uint64_t vtd_cap_domains(uint64_t cap)
{
	/* ND=7 is reserved; the formula would give 2^18, which no hardware means. */
	return UINT64_C(1) << (4 + 2 * MIN(CAP("ND", cap), UINT64_C(6)));
}

unsigned vtd_cap_mgaw_bits(uint64_t cap)
{
	return (unsigned)CAP("MGAW", cap) + 1;
}

unsigned vtd_cap_fault_records(uint64_t cap)
{
	return (unsigned)CAP("NFR", cap) + 1;
}

uint64_t vtd_cap_fault_offset(uint64_t cap)
{
	return CAP("FRO", cap) * 16;
}

unsigned vtd_ecap_pasid_bits(uint64_t ecap)
{
	/* PSS is only meaningful when PASIDs are supported at all. */
	return ECAP("PASID", ecap) ? (unsigned)ECAP("PSS", ecap) + 1 : 0;
}

uint64_t vtd_ecap_iotlb_offset(uint64_t ecap)
{
	return ECAP("IRO", ecap) * 16;
}

size_t vtd_cap_sagaw_widths(uint64_t cap, unsigned widths[static 5])
{
	uint64_t sagaw = CAP("SAGAW", cap);
	size_t n = 0;

	/* Bit n: a (2 + n)-level table covering 30 + 9n bits of address. */
	for (unsigned b = 0; b < 5; b++)
		if (sagaw & (UINT64_C(1) << b))
			widths[n++] = 30 + 9 * b;
	return n;
}

static void describe_fields(JsonWriter *j, const char *key, const VtdField *table, size_t n,
			    uint64_t reg)
{
	char hex[32];

	json_object_begin(j, key);
	for (size_t i = 0; i < n; i++) {
		if (table[i].width == 1)
			json_bool(j, table[i].name, vtd_field_get(&table[i], reg));
		else
			json_u64(j, table[i].name, vtd_field_get(&table[i], reg));
	}
	snprintf(hex, sizeof(hex), "0x%016" PRIx64, vtd_unknown_bits(table, n, reg));
	json_string(j, "unknown_bits", hex);
	json_object_end(j);
}

void vtd_caps_describe(JsonWriter *j, uint64_t cap, uint64_t ecap)
{
	static const char *const sllps_names[] = {"2M", "1G", "512G", "1T"};
	unsigned widths[5];
	size_t n;
	char hex[32];

	snprintf(hex, sizeof(hex), "0x%016" PRIx64, cap);
	json_string(j, "cap_reg", hex);
	snprintf(hex, sizeof(hex), "0x%016" PRIx64, ecap);
	json_string(j, "ecap_reg", hex);
	describe_fields(j, "cap", vtd_cap_fields, vtd_cap_fields_n, cap);
	describe_fields(j, "ecap", vtd_ecap_fields, vtd_ecap_fields_n, ecap);

	json_object_begin(j, "decoded");
	json_u64(j, "domains", vtd_cap_domains(cap));
	json_u64(j, "mgaw_bits", vtd_cap_mgaw_bits(cap));
	json_array_begin(j, "sagaw_bits");
	n = vtd_cap_sagaw_widths(cap, widths);
	for (size_t i = 0; i < n; i++)
		json_u64(j, NULL, widths[i]);
	json_array_end(j);
	json_array_begin(j, "second_stage_large_pages");
	for (unsigned b = 0; b < ELEMENTSOF(sllps_names); b++)
		if (CAP("SLLPS", cap) & (UINT64_C(1) << b))
			json_string(j, NULL, sllps_names[b]);
	json_array_end(j);
	json_u64(j, "fault_recording_registers", vtd_cap_fault_records(cap));
	json_u64(j, "fault_recording_offset", vtd_cap_fault_offset(cap));
	json_u64(j, "iotlb_offset", vtd_ecap_iotlb_offset(ecap));
	json_u64(j, "pasid_bits", vtd_ecap_pasid_bits(ecap));
	/* What a PASID entry can point at: the transitions the model backend studies. */
	json_bool(j, "scalable_mode", ECAP("SMTS", ecap));
	json_bool(j, "first_stage", ECAP("FLTS", ecap));
	json_bool(j, "second_stage", ECAP("SLTS", ecap));
	json_bool(j, "nested", ECAP("NEST", ecap));
	json_bool(j, "pass_through", ECAP("PT", ecap));
	json_object_end(j);
}
