/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel log as a fault source.
 *
 * /dev/kmsg hands out one record per read(2): "PRIO,SEQ,TS_USEC,FLAGS;TEXT"
 * followed by optional " KEY=value" continuation lines. The parser below
 * turns the IOMMU fault lines in TEXT into structured records; the reader
 * (daemon side) follows /dev/kmsg from sd-event and routes them to runs.
 *
 * The VT-d formats are the ones drivers/iommu/intel/dmar.c prints
 * (pr_fmt "DMAR: "):
 *   [DMA Read NO_PASID] Request device [bb:dd.f] fault addr 0x… [fault reason 0x..] TEXT
 *   [DMA Write PASID 0x..] Request device [bb:dd.f] fault addr 0x… [fault reason 0x..] TEXT
 *   [INTR-REMAP] Request device [bb:dd.f] fault index 0x… [fault reason 0x..] TEXT
 *   DRHD: handling fault status reg N
 * and lib/ratelimit.c's "FUNC: N callbacks suppressed" tells that lines were
 * dropped (the DMAR fault handler allows 10 lines per 5 s).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"

typedef struct KmsgRecord {
	uint64_t seq;
	uint64_t ts_usec; /* local_clock() at printk time */
	int prio;
	const char
		*text; /* points into the caller's buffer, NUL terminated, no continuation lines */
} KmsgRecord;

/*
 * Splits one /dev/kmsg record of n bytes; buf must have room for n + 1 (a NUL
 * is written at buf[n] and after the text). 0 or -EINVAL.
 */
int kmsg_parse_record(char *buf, size_t n, KmsgRecord *ret);

typedef enum KmsgKind {
	KMSG_OTHER,
	KMSG_VTD_DMA_FAULT,    /* a DMA remapping fault record */
	KMSG_VTD_INTR_FAULT,   /* an interrupt-remapping fault: not a DMA fault, kept apart */
	KMSG_VTD_FAULT_STATUS, /* "DRHD: handling fault status reg" */
	KMSG_RATELIMIT,	       /* "FUNC: N callbacks suppressed" */
} KmsgKind;

typedef struct KmsgFault {
	KmsgKind kind;
	uint8_t bus, dev, fn; /* requester */
	bool has_pasid;
	uint32_t pasid;
	uint64_t addr;	    /* fault addr (DMA) or fault index (INTR-REMAP) */
	FaultAccess access; /* read/write for DMA faults */
	uint32_t reason;    /* [fault reason 0x..] */
	char reason_text[FAULT_REASON_TEXT_MAX];
	uint32_t fault_status; /* KMSG_VTD_FAULT_STATUS */
	uint32_t suppressed;   /* KMSG_RATELIMIT */
	char func[64];	       /* KMSG_RATELIMIT: the rate-limited function */
} KmsgFault;

/* Classifies a record's text; fills *ret for the recognised kinds. Never fails. */
KmsgKind kmsg_parse_fault(const char *text, KmsgFault *ret);

/* "0000:00:03.0" → bus 0, dev 3, fn 0 (the segment is not in VT-d lines). 0 or -EINVAL. */
int pci_bdf_parse(const char *s, uint16_t *segment, uint8_t *bus, uint8_t *dev, uint8_t *fn);

/* The daemon's /dev/kmsg follower (kmsg-source.c). */
typedef struct Daemon Daemon;
typedef struct Run Run;
typedef struct KmsgSource KmsgSource;

/* Opens env->dev_kmsg, skips the backlog, follows it from sd-event. -errno if unavailable. */
int kmsg_source_new(Daemon *d, KmsgSource **ret);
KmsgSource *kmsg_source_free(KmsgSource *k);
/* Reads whatever is queued now (a run calls it before its final count). */
void kmsg_source_flush(KmsgSource *k);
/* Writes a marker record; used to tie kmsg timestamps to CLOCK_MONOTONIC. */
void kmsg_source_mark(KmsgSource *k, const char *what);
