/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel log as a fault source.
 *
 * /dev/kmsg hands out one record per read(2): "PRIO,SEQ,TS_USEC,FLAGS;TEXT"
 * followed by optional " KEY=value" dictionary lines. The kernel escapes
 * every byte of TEXT below ' ', above '~' and '\' as "\xNN", so a record
 * never spans lines; kmsg_parse_record() undoes the escaping.
 *
 * The parser turns the IOMMU lines of the three families into one event
 * shape (KmsgEvent). It is stateful because the drivers print one fault as
 * several records: VT-d follows a fault with a table dump
 * (dmar_fault_dump_ptes()), AMD follows ILLEGAL_DEV_TABLE_ENTRY with the DTE
 * and "Device not attached to domain properly" with the device on a second
 * line, SMMUv3 prints a header, the raw event qwords and (newer kernels) a
 * decoded line or two. Those lines are folded into the event they belong to,
 * so a fault is one event however many lines it took.
 *
 * Formats, as of Linux 6.12 unless noted (prefixes: pr_fmt "DMAR: " and
 * "AMD-Vi: "; dev_err()/pci_err() prepend "DRIVER DEVICE: "):
 *
 * VT-d, drivers/iommu/intel/dmar.c dmar_fault_do_one(), dmar_fault():
 *   DMAR: [DMA Read NO_PASID] Request device [bb:dd.f] fault addr 0x… [fault reason 0x..] TEXT
 *   DMAR: [DMA Write PASID 0x..] Request device [bb:dd.f] fault addr 0x… [fault reason 0x..] TEXT
 *   DMAR: [INTR-REMAP] Request device [bb:dd.f] fault index 0x… [fault reason 0x..] TEXT
 *   (newer kernels, 7.2 for one, print the device as [ssss:bb:dd.f], with the segment)
 *   DMAR: DRHD: handling fault status reg HEX       (bit 0 PFO: fault records were dropped)
 *   DMAR: VT-d detected Invalidation … Error: …     (qi_dump_fault())
 * and, with CONFIG_DMAR_DEBUG, intel/iommu.c dmar_fault_dump_ptes() and
 * pgtable_walk(): "DMAR: Dump dmarN table entries for IOVA 0x…", then root,
 * context, PASID directory/table entry and "pte level: N, pte value: 0x…"
 * lines.
 *
 * AMD, drivers/iommu/amd/iommu.c iommu_print_event(), amd_iommu_report_page_fault(),
 * amd_iommu_report_rmp_fault(), amd_iommu_report_rmp_hw_error(), amd_iommu_report_ppr_err(),
 * dump_dte_entry(), dump_command(); init.c amd_iommu_restart_log():
 *   [DRIVER DEVICE: ][AMD-Vi: ]Event logged [NAME key=value …]
 *     NAME: ILLEGAL_DEV_TABLE_ENTRY, IO_PAGE_FAULT, DEV_TAB_HARDWARE_ERROR,
 *     PAGE_TAB_HARDWARE_ERROR, ILLEGAL_COMMAND_ERROR, COMMAND_HARDWARE_ERROR,
 *     IOTLB_INV_TIMEOUT, INVALID_DEVICE_REQUEST, INVALID_PPR_REQUEST,
 *     RMP_PAGE_FAULT, RMP_HW_ERROR, UNKNOWN; device= with or without the PCI
 *     segment (older kernels print bb:dd.f); without device= the prefix names
 *     the device (pci_err()).
 *   AMD-Vi: Event logged [Device not attached to domain properly]
 *   AMD-Vi:   device=ssss:bb:dd.f domain=0x…
 *   AMD-Vi: DTE[i]: HEX / AMD-Vi: CMD[i]: HEX
 *   AMD-Vi: IOMMU Event log restarting   (older kernels: "IOMMU event log overflow")
 *
 * SMMUv3, drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c arm_smmu_evtq_thread()
 * (6.12) and arm_smmu_dump_raw_event()/arm_smmu_dump_event() (later):
 *   arm-smmu-v3 NAME: event 0x.. received:
 *   arm-smmu-v3 NAME: \t0x%016llx                            (×4: the event record)
 *   arm-smmu-v3 NAME: event: F_… client: DEV sid: … ssid: … iova: … ipa: …
 *   arm-smmu-v3 NAME: unpriv data read s1 "Input address caused fault" stag: 0x0
 *   arm-smmu-v3 NAME: EVTQ overflow detected -- events lost
 * plus the global-error, command-queue and PRI lines that bracket them.
 *
 * Rate limiting, lib/ratelimit.c ___ratelimit(): "FUNC: N callbacks suppressed".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "core/backend.h"
#include "core/fault.h"

typedef struct KmsgRecord {
	uint64_t seq;
	uint64_t ts_usec; /* local_clock() at printk time */
	int prio;
	const char *text; /* into the caller's buffer: unescaped, NUL terminated, no dictionary */
} KmsgRecord;

/*
 * Splits one /dev/kmsg record of n bytes in place; buf must have room for
 * n + 1 (a NUL is written at buf[n] and after the text). 0 or -EINVAL.
 */
int kmsg_parse_record(char *buf, size_t n, KmsgRecord *ret);

/*
 * A saved /dev/kmsg stream (`cat /dev/kmsg > file`, the test fixtures) holds
 * one record per line, its dictionary on the following lines that start with
 * a space. Returns the length of the first record in buf[0..n), its
 * dictionary and line ends included; 0 only when n is 0.
 */
size_t kmsg_stream_next(const char *buf, size_t n);

typedef enum KmsgVendor {
	KMSG_VENDOR_NONE,
	KMSG_VENDOR_VTD,
	KMSG_VENDOR_AMD,
	KMSG_VENDOR_SMMUV3,
	_KMSG_VENDOR_MAX,
} KmsgVendor;

typedef enum KmsgKind {
	KMSG_KIND_OTHER,      /* not an IOMMU line */
	KMSG_KIND_DMA_FAULT,  /* a device's DMA request faulted: the one kind runs count */
	KMSG_KIND_INTR_FAULT, /* an interrupt request faulted (VT-d INTR-REMAP, AMD I flag) */
	KMSG_KIND_STATUS,     /* fault-status/bookkeeping: status registers, command errors, PRI */
	KMSG_KIND_RATELIMIT,  /* "FUNC: N callbacks suppressed" */
	KMSG_KIND_OVERFLOW,   /* the IOMMU's event queue overflowed: events were lost */
	KMSG_KIND_DETAIL,     /* a continuation line whose event was not seen (or already closed) */
	_KMSG_KIND_MAX,
} KmsgKind;

/* AMD event flags (event[1] bits 27:16) */
#define KMSG_AMD_FLAG_GN 0x001 /* the domain/PASID field holds a PASID */
#define KMSG_AMD_FLAG_I	 0x008 /* the request was an interrupt */
#define KMSG_AMD_FLAG_RW 0x020 /* write */

#define KMSG_RAW_MAX 8

typedef struct KmsgEvent {
	KmsgKind kind;
	KmsgVendor vendor;
	FaultSource source; /* always FAULT_SOURCE_KMSG; FaultRecord speaks the same language */
	uint64_t seq;	    /* the record that opened the event */
	uint64_t ts_usec;   /* its timestamp */
	unsigned n_records; /* records folded into this event (≥ 1) */

	/* The requester: a PCI function (VT-d, AMD, SMMUv3 client), and/or a stream ID (SMMUv3). */
	bool has_bdf, has_segment;
	uint16_t segment;
	uint8_t bus, dev, fn;
	bool has_sid;
	uint32_t sid;
	char client[64]; /* the device's name as printed: SMMUv3 "client:", AMD pci_err() prefix */
	char iommu[32];	 /* the IOMMU instance if printed: dmar0, ivhd0, arm-smmu-v3.0.auto */

	bool has_pasid; /* VT-d PASID, AMD PASID (GN), SMMUv3 SSID (SSV) */
	uint32_t pasid;
	uint64_t addr; /* IOVA; VT-d INTR-REMAP: the interrupt index */
	bool has_ipa;  /* SMMUv3 stage-2 input (IPA) */
	uint64_t ipa;
	FaultAccess access;
	uint32_t reason; /* VT-d fault reason, AMD event code, SMMUv3 event ID */
	char reason_text[FAULT_REASON_TEXT_MAX];
	bool has_flags; /* AMD */
	uint32_t flags;
	bool has_domain; /* AMD */
	uint32_t domain;

	/* The IOMMU dropped events before the kernel could print them: counts are a lower bound. */
	bool lost;
	uint32_t status; /* KMSG_KIND_STATUS: VT-d fault status register, SMMUv3 GERROR bits */

	uint32_t suppressed; /* KMSG_KIND_RATELIMIT */
	char func[64];	     /* KMSG_KIND_RATELIMIT: the rate-limited function */

	/*
	 * Raw words printed with the event: SMMUv3 event record qwords, AMD
	 * DTE[] or CMD[] words, VT-d PASID table entry[] qwords of the table dump.
	 */
	uint8_t n_raw;
	uint64_t raw[KMSG_RAW_MAX];
} KmsgEvent;

const char *kmsg_kind_to_string(KmsgKind k);	 /* "other", "dma-fault", "intr-fault", … */
const char *kmsg_vendor_to_string(KmsgVendor v); /* "-", "vtd", "amd", "smmuv3" */

/*
 * Whether e concerns PCI function [segment:]bus:dev.fn. Lines that do not
 * print the segment (VT-d before 7.x) match any segment. An SMMUv3 event without a PCI
 * client name matches by stream ID = requester ID, the identity mapping of
 * QEMU virt and of most segment-0 root complexes (IORT, "iommu-map").
 */
bool kmsg_event_matches_device(const KmsgEvent *e, uint16_t segment, uint8_t bus, uint8_t dev,
			       uint8_t fn);

/*
 * One line describing e, the format of the fixtures' .expect files:
 *   SEQ KIND VENDOR DEVICE PASID ADDR ACCESS REASON [key=value …] | TEXT
 * Returns the snprintf() length (the line is truncated to n - 1 bytes).
 */
int kmsg_event_format(const KmsgEvent *e, char *buf, size_t n);

typedef void (*kmsg_event_cb_t)(const KmsgEvent *e, void *userdata);

/*
 * Feed records in kmsg order; every record ends up in exactly one event,
 * delivered to cb once complete. An event that may still receive lines stays
 * open until a record that cannot belong to it arrives, or until it is
 * flushed. Each IOMMU instance has its own open event (SMMUs print from
 * their own threads, interleaved); lines that are no IOMMU's
 * (KMSG_KIND_OTHER) close nothing — other CPUs print between a fault's lines
 * — and so may come out before the event they were printed in the middle of.
 * The parser keeps no pointers into the records it was fed.
 */
#define KMSG_PARSER_SLOTS 4

typedef struct KmsgParserSlot {
	KmsgEvent ev;
	int group;	/* what may still follow (see kmsg.c) */
	unsigned stage; /* how much of it has */
} KmsgParserSlot;

typedef struct KmsgParser {
	kmsg_event_cb_t cb;
	void *userdata;
	KmsgParserSlot open[KMSG_PARSER_SLOTS]; /* oldest first */
	unsigned n_open;
} KmsgParser;

void kmsg_parser_init(KmsgParser *p, kmsg_event_cb_t cb, void *userdata);
void kmsg_parser_feed(KmsgParser *p, const KmsgRecord *rec);
/* Closes every open event: at the end of input, or before a final count. */
void kmsg_parser_flush(KmsgParser *p);
/* Closes the open events that started at or before record seq. */
void kmsg_parser_flush_until(KmsgParser *p, uint64_t seq);
/* Whether an event is open; *ret_seq: where the newest one started. */
bool kmsg_parser_pending(const KmsgParser *p, uint64_t *ret_seq);

/* The daemon's /dev/kmsg follower (kmsg-source.c). */
typedef struct KmsgSource KmsgSource;

/* What the kernel log told about one subscriber's device. */
typedef struct KmsgStats {
	uint64_t lines;	     /* DMA fault lines for the device */
	uint64_t suppressed; /* "dmar_fault: N callbacks suppressed" while subscribed */
	uint64_t lost;	     /* records overwritten before we read them */
	uint64_t intr_remap; /* interrupt-remapping faults (not DMA faults) */
	uint64_t overflows;  /* times the IOMMU said it lost events (EVTQ overflow, PFO) */
	bool lower_bound;    /* the kmsg count misses faults */
} KmsgStats;

/*
 * A subscriber (a run on a PCI device): which device, its attachment points,
 * where its fault records go and how a time is placed in its replacement
 * windows. The source sees this and nothing else of the run; the
 * subscriber owns the struct and reads stats from it.
 */
typedef struct KmsgSubscription {
	struct KmsgSubscription *next; /* the source's */
	uint16_t segment;
	uint8_t bus, dev, fn;
	const AttachPointState *points; /* the PASID of each point, to match faults to */
	size_t n_points;
	FaultQueue *queue;
	/* Did time t fall in a replacement window of point ap, and on which domain was it? */
	bool (*lookup)(void *userdata, size_t ap, uint64_t t, uint32_t *ret_domain);
	void *userdata;
	KmsgStats stats;
} KmsgSubscription;

/* Opens dev_kmsg, skips the backlog, follows it from the loop. -errno if unavailable. */
int kmsg_source_new(sd_event *event, const char *dev_kmsg, KmsgSource **ret);
void kmsg_source_subscribe(KmsgSource *k, KmsgSubscription *s);
void kmsg_source_unsubscribe(KmsgSource *k, KmsgSubscription *s);
KmsgSource *kmsg_source_free(KmsgSource *k);
/* Suppressed lines, lost records and IOMMU overflows since the source was opened (lines unused). */
const KmsgStats *kmsg_source_totals(const KmsgSource *k);
/* Reads whatever is queued now and closes an event still open (a run calls it before its
 * final count). */
void kmsg_source_flush(KmsgSource *k);
/* Writes a marker record; used to tie kmsg timestamps to CLOCK_MONOTONIC. */
void kmsg_source_mark(KmsgSource *k, const char *what);
