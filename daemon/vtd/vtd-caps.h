/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Decoding of the Intel VT-d Capability (CAP_REG) and Extended Capability
 * (ECAP_REG) registers that IOMMU_GET_HW_INFO returns in struct
 * iommu_hw_info_vtd. Field names and positions are the VT-d specification's
 * (sections 11.4.2 and 11.4.3), cross-checked against the cap_*()/ecap_*()
 * accessors of the kernel's drivers/iommu/intel/iommu.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef struct VtdField {
	const char *name; /* the specification's mnemonic: "SAGAW" */
	uint8_t shift;
	uint8_t width;
	const char *description;
} VtdField;

extern const VtdField vtd_cap_fields[];
extern const size_t vtd_cap_fields_n;
extern const VtdField vtd_ecap_fields[];
extern const size_t vtd_ecap_fields_n;

static inline uint64_t vtd_field_get(const VtdField *f, uint64_t reg)
{
	return (reg >> f->shift) & (f->width >= 64 ? UINT64_MAX : (UINT64_C(1) << f->width) - 1);
}

/* NULL when the table has no field of that name. */
const VtdField *vtd_field_find(const VtdField *table, size_t n, const char *name);
/* The bits of reg that no field of the table covers (reserved or newer than this table). */
uint64_t vtd_unknown_bits(const VtdField *table, size_t n, uint64_t reg);

/* Values the fields encode, as the specification defines them. */
uint64_t vtd_cap_domains(uint64_t cap);	       /* ND: 2^(4 + 2·ND) domain IDs */
unsigned vtd_cap_mgaw_bits(uint64_t cap);      /* MGAW + 1 */
unsigned vtd_cap_fault_records(uint64_t cap);  /* NFR + 1 */
uint64_t vtd_cap_fault_offset(uint64_t cap);   /* FRO · 16, from the register base */
unsigned vtd_ecap_pasid_bits(uint64_t ecap);   /* PSS + 1 (0 without ECAP.PASID) */
uint64_t vtd_ecap_iotlb_offset(uint64_t ecap); /* IRO · 16 */
/*
 * Second-stage address widths the SAGAW bits advertise (bit n → 30 + 9n:
 * 39-bit 3-level, 48-bit 4-level, 57-bit 5-level); returns how many were
 * written to widths (at most 5).
 */
size_t vtd_cap_sagaw_widths(uint64_t cap, unsigned widths[static 5]);

/*
 * Adds to the open JSON object: "cap_reg"/"ecap_reg" as hex strings; "cap" and
 * "ecap" objects with every field by mnemonic (one-bit fields as booleans,
 * wider ones as numbers) plus "unknown_bits"; and "decoded" with the values
 * they encode (domains, widths, page sizes, register offsets, PASID bits).
 */
void vtd_caps_describe(JsonWriter *j, uint64_t cap, uint64_t ecap);
