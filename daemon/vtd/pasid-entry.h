/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VT-d scalable-mode PASID table entry (VT-d spec 9.6) as the model sees
 * it: 512 bits, handled as four 128-bit quanta because that is the widest
 * store the CPU makes atomically (CMPXCHG16B). Quantum 0 holds qwords 0 and 1
 * (P, PGTT, SSPTPTR, DID, ...), quantum 1 holds qwords 2 and 3 (FSPTPTR, ...);
 * quanta 2 and 3 are used by no PGTT.
 *
 * Bit names and the per-PGTT "used bits" follow the final version of the
 * entry_sync VT-d patch (intel_pasid_get_used() with the SM_PASID* constants).
 */

#include <stdbool.h>
#include <stdint.h>

#define PASID_BIT(n)	       (UINT64_C(1) << (n))
#define PASID_GENMASK(h, l)    ((~UINT64_C(0) >> (63 - (h))) & (~UINT64_C(0) << (l)))
#define PASID_FIELD_GET(m, v)  (((v) & (m)) >> __builtin_ctzll(m))
#define PASID_FIELD_PREP(m, v) (((uint64_t)(v) << __builtin_ctzll(m)) & (m))

/* 9.6 Scalable-Mode PASID Table Entry, qword 0 */
#define SM_PASID0_P	  PASID_BIT(0)
#define SM_PASID0_FPD	  PASID_BIT(1)
#define SM_PASID0_AW	  PASID_GENMASK(4, 2)
#define SM_PASID0_SSEE	  PASID_BIT(5)
#define SM_PASID0_PGTT	  PASID_GENMASK(8, 6)
#define SM_PASID0_SSADE	  PASID_BIT(9)
#define SM_PASID0_SSPTPTR PASID_GENMASK(63, 12)

/* qword 1 */
#define SM_PASID1_DID	PASID_GENMASK(15, 0)
#define SM_PASID1_PWSNP PASID_BIT(23)
#define SM_PASID1_PGSNP PASID_BIT(24)
#define SM_PASID1_CD	PASID_BIT(25)
#define SM_PASID1_EMTE	PASID_BIT(26)
#define SM_PASID1_PAT	PASID_GENMASK(63, 32)

/* qword 2 */
#define SM_PASID2_SRE	  PASID_BIT(0)
#define SM_PASID2_ERE	  PASID_BIT(1)
#define SM_PASID2_FSPM	  PASID_GENMASK(3, 2)
#define SM_PASID2_WPE	  PASID_BIT(4)
#define SM_PASID2_NXE	  PASID_BIT(5)
#define SM_PASID2_SMEP	  PASID_BIT(6)
#define SM_PASID2_EAFE	  PASID_BIT(7)
#define SM_PASID2_FSPTPTR PASID_GENMASK(63, 12)

/* PASID Granular Translation Type (SM_PASID0_PGTT) */
#define PASID_PGTT_FL_ONLY 1 /* first-stage only */
#define PASID_PGTT_SL_ONLY 2 /* second-stage only */
#define PASID_PGTT_NESTED  3
#define PASID_PGTT_PT	   4 /* pass-through */

/* Address width (SM_PASID0_AW): 2 = 48-bit (4-level), 3 = 57-bit (5-level). */
#define PASID_AW_48 2
#define PASID_AW_57 3

#define PASID_ENTRY_QWORDS 8
#define PASID_ENTRY_QUANTA 4

/* The RID's translation lives at this PASID (the context entry's RID_PASID). */
#define PASID_RID_PASID 0

typedef unsigned __int128 PasidQuantum;

/* One cache line, like the hardware's 64-byte entry. */
typedef struct PasidEntry {
	_Alignas(64) PasidQuantum q[PASID_ENTRY_QUANTA];
} PasidEntry;

/* Little endian: qword 2k is the low half of quantum k. */
static inline uint64_t pasid_entry_qword(const PasidEntry *e, unsigned i)
{
	return (uint64_t)(e->q[i / 2] >> (64 * (i % 2)));
}

static inline void pasid_entry_set_qword(PasidEntry *e, unsigned i, uint64_t v)
{
	PasidQuantum mask = (PasidQuantum)UINT64_MAX << (64 * (i % 2));

	e->q[i / 2] = (e->q[i / 2] & ~mask) | ((PasidQuantum)v << (64 * (i % 2)));
}

static inline bool pasid_entry_present(const PasidEntry *e)
{
	return pasid_entry_qword(e, 0) & SM_PASID0_P;
}

static inline unsigned pasid_entry_pgtt(const PasidEntry *e)
{
	return (unsigned)PASID_FIELD_GET(SM_PASID0_PGTT, pasid_entry_qword(e, 0));
}

static inline bool pasid_pgtt_valid(unsigned pgtt)
{
	return pgtt >= PASID_PGTT_FL_ONLY && pgtt <= PASID_PGTT_PT;
}

static inline bool pasid_pgtt_has_second_stage(unsigned pgtt)
{
	return pgtt == PASID_PGTT_SL_ONLY || pgtt == PASID_PGTT_NESTED;
}

static inline bool pasid_pgtt_has_first_stage(unsigned pgtt)
{
	return pgtt == PASID_PGTT_FL_ONLY || pgtt == PASID_PGTT_NESTED;
}

/* Is (a & mask) == (b & mask), quantum by quantum? */
static inline bool pasid_entry_equal_masked(const PasidEntry *a, const PasidEntry *b,
					    const PasidEntry *mask)
{
	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		if ((a->q[i] ^ b->q[i]) & mask->q[i])
			return false;
	return true;
}

static inline bool pasid_entry_equal(const PasidEntry *a, const PasidEntry *b)
{
	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		if (a->q[i] != b->q[i])
			return false;
	return true;
}

/*
 * The bits the hardware uses for the entry's current configuration: P always,
 * nothing else when not present, then per PGTT. An unknown PGTT uses P only
 * (the kernel WARNs there; the model's walker faults on such an entry).
 */
void pasid_entry_get_used(const PasidEntry *entry, PasidEntry *used);

/* What a driver means by an entry; fields the PGTT does not use are ignored. */
typedef struct PasidConfig {
	bool present;
	uint8_t pgtt; /* PASID_PGTT_* */
	uint8_t aw;   /* PASID_AW_* */
	bool fpd;     /* fault processing disable (not used by first-stage only) */
	bool ssade;   /* second-stage accessed/dirty enable */
	bool pwsnp;   /* page-walk snoop */
	bool pgsnp;   /* page snoop */
	uint16_t did;
	uint64_t ssptptr; /* second-stage table address, 4 KiB aligned */
	uint64_t fsptptr; /* first-stage table address, 4 KiB aligned */
	uint8_t fspm;	  /* first-stage paging mode */
	bool sre, wpe, eafe;
} PasidConfig;

/*
 * Builds the entry for config, setting only bits that the PGTT uses (so that
 * the result is a valid entry_sync target). A non-present config gives the
 * all-zero entry. -EINVAL for an unknown PGTT, misaligned table pointers or
 * out-of-range fields.
 */
int pasid_entry_build(const PasidConfig *config, PasidEntry *ret);

/*
 * Decodes the used fields of entry; unused fields of *ret are zero/false.
 * -EINVAL for a present entry with an unknown PGTT (ret->pgtt is still set).
 */
int pasid_entry_decode(const PasidEntry *entry, PasidConfig *ret);

/* Drops the fields the config's PGTT does not use: decode(build(c)) == normalize(c). */
void pasid_config_normalize(const PasidConfig *config, PasidConfig *ret);
