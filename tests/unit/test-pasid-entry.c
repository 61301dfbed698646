/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "vtd/pasid-entry.h"
#include "macro.h"
#include "check-run.h"

/*
 * The used bits of the final VT-d entry_sync patch, written out by hand from
 * its GENMASK/BIT lists (qwords 0..2; qword 3..7 are never used), so that the
 * code is checked against the seeds rather than against itself.
 */
typedef struct UsedCase {
	unsigned pgtt;
	uint64_t qw[3];
} UsedCase;

static const UsedCase used_cases[] = {
	/* first-stage only: AW, PGTT | DID, PWSNP, PGSNP | FSPTPTR, FSPM */
	{PASID_PGTT_FL_ONLY, {0x1dd, 0x180ffff, 0xfffffffffffff00c}},
	/* second-stage only: FPD, AW, PGTT, SSADE, SSPTPTR | DID, PWSNP, PGSNP */
	{PASID_PGTT_SL_ONLY, {0xfffffffffffff3df, 0x180ffff, 0}},
	/* nested: second-stage + FSPTPTR, FSPM, EAFE, WPE, SRE */
	{PASID_PGTT_NESTED, {0xfffffffffffff3df, 0x180ffff, 0xfffffffffffff09d}},
	/* pass-through: FPD, AW, PGTT | DID, PWSNP, PGSNP */
	{PASID_PGTT_PT, {0x1df, 0x180ffff, 0}},
	/* reserved PGTT values: P only, as the kernel's default case */
	{0, {0x1, 0, 0}},
	{5, {0x1, 0, 0}},
	{6, {0x1, 0, 0}},
	{7, {0x1, 0, 0}},
};

static void entry_from_qwords(PasidEntry *e, const uint64_t *qw, unsigned n)
{
	*e = (PasidEntry){};
	for (unsigned i = 0; i < n; i++)
		pasid_entry_set_qword(e, i, qw[i]);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(test_used_bits_per_pgtt)
{
	const UsedCase *c = &used_cases[_i];
	uint64_t rng = 0x1234567 + (uint64_t)_i, qw[PASID_ENTRY_QWORDS];
	PasidEntry e, used, expect;

	entry_from_qwords(&expect, c->qw, 3);

	/* The used bits depend on P and PGTT only: fill everything else with noise. */
	for (unsigned round = 0; round < 64; round++) {
		for (unsigned i = 0; i < PASID_ENTRY_QWORDS; i++)
			qw[i] = round == 0 ? 0 : xorshift(&rng);
		qw[0] = (qw[0] & ~SM_PASID0_PGTT) | SM_PASID0_P |
			((uint64_t)c->pgtt << 6); /* PGTT is bits 8:6 */
		entry_from_qwords(&e, qw, PASID_ENTRY_QWORDS);
		pasid_entry_get_used(&e, &used);
		for (unsigned i = 0; i < PASID_ENTRY_QWORDS; i++)
			ck_assert_msg(pasid_entry_qword(&used, i) == pasid_entry_qword(&expect, i),
				      "PGTT %u qword %u: used 0x%016llx, seeds say 0x%016llx",
				      c->pgtt, i, (unsigned long long)pasid_entry_qword(&used, i),
				      (unsigned long long)pasid_entry_qword(&expect, i));

		/* Not present: P and nothing else, whatever the rest holds. */
		qw[0] &= ~SM_PASID0_P;
		entry_from_qwords(&e, qw, PASID_ENTRY_QWORDS);
		pasid_entry_get_used(&e, &used);
		ck_assert(pasid_entry_qword(&used, 0) == SM_PASID0_P);
		for (unsigned i = 1; i < PASID_ENTRY_QWORDS; i++)
			ck_assert(pasid_entry_qword(&used, i) == 0);
	}
}
END_TEST

START_TEST(test_field_positions)
{
	/* The final patch's constants, as bit positions. */
	ck_assert(SM_PASID0_P == 0x1);
	ck_assert(SM_PASID0_FPD == 0x2);
	ck_assert(SM_PASID0_AW == 0x1c);
	ck_assert(SM_PASID0_PGTT == 0x1c0);
	ck_assert(SM_PASID0_SSADE == 0x200);
	ck_assert(SM_PASID0_SSPTPTR == 0xfffffffffffff000);
	ck_assert(SM_PASID1_DID == 0xffff);
	ck_assert(SM_PASID1_PWSNP == 1u << 23);
	ck_assert(SM_PASID1_PGSNP == 1u << 24);
	ck_assert(SM_PASID2_SRE == 0x1);
	ck_assert(SM_PASID2_FSPM == 0xc);
	ck_assert(SM_PASID2_WPE == 0x10);
	ck_assert(SM_PASID2_EAFE == 0x80);
	ck_assert(SM_PASID2_FSPTPTR == 0xfffffffffffff000);
}
END_TEST

START_TEST(test_quantum_layout)
{
	PasidEntry e = {};

	/* Quantum k holds qwords 2k (low half) and 2k+1 (high half). */
	pasid_entry_set_qword(&e, 0, 0x1111);
	pasid_entry_set_qword(&e, 1, 0x2222);
	pasid_entry_set_qword(&e, 2, 0x3333);
	pasid_entry_set_qword(&e, 7, 0x8888);
	ck_assert(e.q[0] == (((PasidQuantum)0x2222 << 64) | 0x1111));
	ck_assert(e.q[1] == 0x3333);
	ck_assert(e.q[2] == 0);
	ck_assert(e.q[3] == (PasidQuantum)0x8888 << 64);
	ck_assert_uint_eq(sizeof(PasidEntry), 64);
	ck_assert_uint_eq(_Alignof(PasidEntry), 64);

	/* Overwriting one qword leaves its neighbour alone. */
	pasid_entry_set_qword(&e, 0, 0x5555);
	ck_assert_uint_eq(pasid_entry_qword(&e, 0), 0x5555);
	ck_assert_uint_eq(pasid_entry_qword(&e, 1), 0x2222);
}
END_TEST

static PasidConfig random_config(uint64_t *rng, unsigned pgtt)
{
	uint64_t r = xorshift(rng);

	return (PasidConfig){
		.present = true,
		.pgtt = (uint8_t)pgtt,
		.aw = (uint8_t)(r & 7),
		.fpd = r >> 3 & 1,
		.ssade = r >> 4 & 1,
		.pwsnp = r >> 5 & 1,
		.pgsnp = r >> 6 & 1,
		.did = (uint16_t)(r >> 8),
		.fspm = (uint8_t)(r >> 24 & 3),
		.sre = r >> 26 & 1,
		.wpe = r >> 27 & 1,
		.eafe = r >> 28 & 1,
		.ssptptr = xorshift(rng) & SM_PASID0_SSPTPTR,
		.fsptptr = xorshift(rng) & SM_PASID2_FSPTPTR,
	};
}

static bool config_equal(const PasidConfig *a, const PasidConfig *b)
{
	return a->present == b->present && a->pgtt == b->pgtt && a->aw == b->aw &&
	       a->fpd == b->fpd && a->ssade == b->ssade && a->pwsnp == b->pwsnp &&
	       a->pgsnp == b->pgsnp && a->did == b->did && a->ssptptr == b->ssptptr &&
	       a->fsptptr == b->fsptptr && a->fspm == b->fspm && a->sre == b->sre &&
	       a->wpe == b->wpe && a->eafe == b->eafe;
}

START_TEST(test_build_decode_round_trip)
{
	unsigned pgtt = PASID_PGTT_FL_ONLY + (unsigned)_i;
	uint64_t rng = 0xdeadbeef + (uint64_t)_i;

	for (unsigned n = 0; n < 1000; n++) {
		PasidConfig c = random_config(&rng, pgtt), norm, back;
		PasidEntry e, used;

		ck_assert_int_eq(pasid_entry_build(&c, &e), 0);
		pasid_entry_get_used(&e, &used);
		/* Only used bits set: a valid entry_sync target. */
		for (unsigned q = 0; q < PASID_ENTRY_QUANTA; q++)
			ck_assert(!(e.q[q] & ~used.q[q]));
		ck_assert(pasid_entry_present(&e));
		ck_assert_uint_eq(pasid_entry_pgtt(&e), pgtt);

		ck_assert_int_eq(pasid_entry_decode(&e, &back), 0);
		pasid_config_normalize(&c, &norm);
		ck_assert(config_equal(&back, &norm));
		/* Normalizing is idempotent and building the normal form gives the same entry. */
		{
			PasidConfig again;
			PasidEntry e2;

			pasid_config_normalize(&norm, &again);
			ck_assert(config_equal(&again, &norm));
			ck_assert_int_eq(pasid_entry_build(&norm, &e2), 0);
			ck_assert(pasid_entry_equal(&e, &e2));
		}
	}
}
END_TEST

START_TEST(test_normalize_drops_unused_fields)
{
	PasidConfig c = {
		.present = true,
		.aw = PASID_AW_48,
		.fpd = true,
		.ssade = true,
		.did = 7,
		.ssptptr = 0x1000,
		.fsptptr = 0x2000,
		.fspm = 1,
		.sre = true,
	};
	PasidConfig n;

	c.pgtt = PASID_PGTT_FL_ONLY;
	pasid_config_normalize(&c, &n);
	/* First-stage only ignores FPD and the second stage. */
	ck_assert(!n.fpd && !n.ssade && n.ssptptr == 0 && n.fsptptr == 0x2000 && n.fspm == 1);
	ck_assert(!n.sre);

	c.pgtt = PASID_PGTT_SL_ONLY;
	pasid_config_normalize(&c, &n);
	ck_assert(n.fpd && n.ssade && n.ssptptr == 0x1000 && n.fsptptr == 0 && n.fspm == 0);

	c.pgtt = PASID_PGTT_PT;
	pasid_config_normalize(&c, &n);
	ck_assert(n.fpd && !n.ssade && n.ssptptr == 0 && n.fsptptr == 0 && n.did == 7);

	c.pgtt = PASID_PGTT_NESTED;
	pasid_config_normalize(&c, &n);
	ck_assert(n.fpd && n.ssade && n.ssptptr == 0x1000 && n.fsptptr == 0x2000 && n.sre);
}
END_TEST

START_TEST(test_build_rejects)
{
	PasidConfig good = {
		.present = true,
		.pgtt = PASID_PGTT_NESTED,
		.aw = PASID_AW_48,
		.ssptptr = 0x10000,
		.fsptptr = 0x20000,
	};
	PasidConfig c;
	PasidEntry e;

	ck_assert_int_eq(pasid_entry_build(&good, &e), 0);

	c = good;
	c.pgtt = 0;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);
	c.pgtt = 5;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);
	c = good;
	c.ssptptr = 0x10800;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);
	c = good;
	c.fsptptr = 0x20004;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);
	c = good;
	c.aw = 8;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);
	c = good;
	c.fspm = 4;
	ck_assert_int_eq(pasid_entry_build(&c, &e), -EINVAL);

	/* Not present: the all-zero entry, whatever else the config says. */
	c = good;
	c.present = false;
	c.pgtt = 0;
	ck_assert_int_eq(pasid_entry_build(&c, &e), 0);
	for (unsigned q = 0; q < PASID_ENTRY_QUANTA; q++)
		ck_assert(e.q[q] == 0);
}
END_TEST

START_TEST(test_decode_invalid_pgtt)
{
	PasidEntry e = {};
	PasidConfig c;

	pasid_entry_set_qword(&e, 0, SM_PASID0_P | (UINT64_C(6) << 6) | 0x1000);
	ck_assert_int_eq(pasid_entry_decode(&e, &c), -EINVAL);
	ck_assert(c.present);
	ck_assert_uint_eq(c.pgtt, 6);
	ck_assert_uint_eq(c.ssptptr, 0);

	pasid_entry_set_qword(&e, 0, 0x1000 | (UINT64_C(2) << 6));
	ck_assert_int_eq(pasid_entry_decode(&e, &c), 0);
	ck_assert(!c.present);
	ck_assert_uint_eq(c.pgtt, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pasid-entry");
	TCase *tc = tcase_create("entry");

	tcase_add_loop_test(tc, test_used_bits_per_pgtt, 0,
			    (int)ELEMENTSOF(used_cases));
	tcase_add_test(tc, test_field_positions);
	tcase_add_test(tc, test_quantum_layout);
	tcase_add_loop_test(tc, test_build_decode_round_trip, 0, 4);
	tcase_add_test(tc, test_normalize_drops_unused_fields);
	tcase_add_test(tc, test_build_rejects);
	tcase_add_test(tc, test_decode_invalid_pgtt);
	suite_add_tcase(s, tc);
	return check_run(s);
}
