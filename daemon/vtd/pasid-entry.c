/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "vtd/pasid-entry.h"

void pasid_entry_get_used(const PasidEntry *entry, PasidEntry *used)
{
	uint64_t u[PASID_ENTRY_QWORDS] = {SM_PASID0_P};

	if (pasid_entry_present(entry)) {
		switch (pasid_entry_pgtt(entry)) {
		case PASID_PGTT_FL_ONLY:
			u[0] |= SM_PASID0_AW | SM_PASID0_PGTT;
			u[1] |= SM_PASID1_DID | SM_PASID1_PWSNP | SM_PASID1_PGSNP;
			u[2] |= SM_PASID2_FSPTPTR | SM_PASID2_FSPM;
			break;
		case PASID_PGTT_NESTED:
			u[0] |= SM_PASID0_FPD | SM_PASID0_AW | SM_PASID0_PGTT | SM_PASID0_SSADE |
				SM_PASID0_SSPTPTR;
			u[1] |= SM_PASID1_DID | SM_PASID1_PWSNP | SM_PASID1_PGSNP;
			u[2] |= SM_PASID2_SRE | SM_PASID2_WPE | SM_PASID2_EAFE | SM_PASID2_FSPM |
				SM_PASID2_FSPTPTR;
			break;
		case PASID_PGTT_SL_ONLY:
			u[0] |= SM_PASID0_FPD | SM_PASID0_AW | SM_PASID0_PGTT | SM_PASID0_SSADE |
				SM_PASID0_SSPTPTR;
			u[1] |= SM_PASID1_DID | SM_PASID1_PWSNP | SM_PASID1_PGSNP;
			break;
		case PASID_PGTT_PT:
			u[0] |= SM_PASID0_FPD | SM_PASID0_AW | SM_PASID0_PGTT;
			u[1] |= SM_PASID1_DID | SM_PASID1_PWSNP | SM_PASID1_PGSNP;
			break;
		default:
			break;
		}
	}

	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		used->q[i] = (PasidQuantum)u[2 * i] | (PasidQuantum)u[2 * i + 1] << 64;
}

void pasid_config_normalize(const PasidConfig *config, PasidConfig *ret)
{
	PasidConfig c = {};
	unsigned pgtt = config->pgtt;

	if (!config->present) {
		*ret = c;
		return;
	}

	c.present = true;
	c.pgtt = config->pgtt;
	if (!pasid_pgtt_valid(pgtt)) {
		*ret = c;
		return;
	}

	c.aw = config->aw;
	c.did = config->did;
	c.pwsnp = config->pwsnp;
	c.pgsnp = config->pgsnp;
	/* The seeds' used bits: FPD matters for every PGTT but first-stage only. */
	if (pgtt != PASID_PGTT_FL_ONLY)
		c.fpd = config->fpd;
	if (pasid_pgtt_has_second_stage(pgtt)) {
		c.ssade = config->ssade;
		c.ssptptr = config->ssptptr;
	}
	if (pasid_pgtt_has_first_stage(pgtt)) {
		c.fsptptr = config->fsptptr;
		c.fspm = config->fspm;
	}
	if (pgtt == PASID_PGTT_NESTED) {
		c.sre = config->sre;
		c.wpe = config->wpe;
		c.eafe = config->eafe;
	}
	*ret = c;
}

int pasid_entry_build(const PasidConfig *config, PasidEntry *ret)
{
	uint64_t qw[PASID_ENTRY_QWORDS] = {};
	PasidConfig c;

	if (config->present) {
		if (!pasid_pgtt_valid(config->pgtt))
			return -EINVAL;
		if (config->aw > PASID_FIELD_GET(SM_PASID0_AW, SM_PASID0_AW) ||
		    config->fspm > PASID_FIELD_GET(SM_PASID2_FSPM, SM_PASID2_FSPM))
			return -EINVAL;
		if ((config->ssptptr & ~SM_PASID0_SSPTPTR) ||
		    (config->fsptptr & ~SM_PASID2_FSPTPTR))
			return -EINVAL;
	}

	/* Normalizing first is what keeps every set bit inside the used bits. */
	pasid_config_normalize(config, &c);
	if (c.present) {
		qw[0] = SM_PASID0_P | PASID_FIELD_PREP(SM_PASID0_AW, c.aw) |
			PASID_FIELD_PREP(SM_PASID0_PGTT, c.pgtt) | (c.fpd ? SM_PASID0_FPD : 0) |
			(c.ssade ? SM_PASID0_SSADE : 0) | c.ssptptr;
		qw[1] = PASID_FIELD_PREP(SM_PASID1_DID, c.did) | (c.pwsnp ? SM_PASID1_PWSNP : 0) |
			(c.pgsnp ? SM_PASID1_PGSNP : 0);
		qw[2] = c.fsptptr | PASID_FIELD_PREP(SM_PASID2_FSPM, c.fspm) |
			(c.sre ? SM_PASID2_SRE : 0) | (c.wpe ? SM_PASID2_WPE : 0) |
			(c.eafe ? SM_PASID2_EAFE : 0);
	}

	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		ret->q[i] = (PasidQuantum)qw[2 * i] | (PasidQuantum)qw[2 * i + 1] << 64;
	return 0;
}

int pasid_entry_decode(const PasidEntry *entry, PasidConfig *ret)
{
	uint64_t q0 = pasid_entry_qword(entry, 0), q1 = pasid_entry_qword(entry, 1),
		 q2 = pasid_entry_qword(entry, 2);
	PasidConfig c = {
		.present = q0 & SM_PASID0_P,
		.pgtt = (uint8_t)PASID_FIELD_GET(SM_PASID0_PGTT, q0),
		.aw = (uint8_t)PASID_FIELD_GET(SM_PASID0_AW, q0),
		.fpd = q0 & SM_PASID0_FPD,
		.ssade = q0 & SM_PASID0_SSADE,
		.ssptptr = q0 & SM_PASID0_SSPTPTR,
		.did = (uint16_t)PASID_FIELD_GET(SM_PASID1_DID, q1),
		.pwsnp = q1 & SM_PASID1_PWSNP,
		.pgsnp = q1 & SM_PASID1_PGSNP,
		.fsptptr = q2 & SM_PASID2_FSPTPTR,
		.fspm = (uint8_t)PASID_FIELD_GET(SM_PASID2_FSPM, q2),
		.sre = q2 & SM_PASID2_SRE,
		.wpe = q2 & SM_PASID2_WPE,
		.eafe = q2 & SM_PASID2_EAFE,
	};

	/* Keep only what the hardware would look at for this PGTT. */
	pasid_config_normalize(&c, ret);
	if (ret->present && !pasid_pgtt_valid(ret->pgtt))
		return -EINVAL;
	return 0;
}
