/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fake NVMe controller for the driver's unit tests: a register file in
 * plain memory and a thread that plays the controller on it, fetching
 * submission entries, moving data through PRPs and posting completions
 * through an IOVA translation the test sets up (and changes, as a domain
 * replacement would). On a failed translation: a data transfer completes
 * with Data Transfer Error (what the specification intends), or, with
 * drop_untranslated, succeeds without moving the data (what QEMU 7.2's
 * hw/nvme was seen to do in the VM tier: its bounce buffer's write to an
 * unmapped IOVA is dropped); a submission entry or completion that cannot
 * be fetched or posted sets CSTS.CFS, as QEMU does, and the controller
 * stops until it is disabled.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FakeNvmeConfig {
	unsigned mqes;	 /* CAP.MQES (0's based); default 1023 */
	unsigned to;	 /* CAP.TO, 500 ms units; default 2 */
	unsigned dstrd;	 /* CAP.DSTRD */
	unsigned mpsmin; /* CAP.MPSMIN */
	unsigned mdts;	 /* Identify MDTS; default 0 (none) */
	uint32_t nn;	 /* namespaces; default 1 */
	uint64_t blocks; /* namespace 1's size; default 2048 */
	unsigned lbads;	 /* 2^lbads bytes per block; default 9 */
	uint16_t ms;	 /* metadata bytes per block */
	unsigned max_queues; /* I/O queue pairs Set Features (Number of Queues) grants; default 16 */
	bool never_ready; /* CC.EN=1 never sets CSTS.RDY */
	bool drop_untranslated; /* untranslatable data: success, nothing moved (QEMU 7.2) */
	/* The register file in memory of the test's (a fake VFIO cdev's BAR0), else its own. */
	uint8_t *bar;
	/*
	 * DMA through the test's IOMMU instead of fake_nvme_map() windows, with
	 * dma_lock/unlock held around each command (they may be NULL).
	 */
	uint8_t *(*translate)(uint64_t iova, uint64_t len);
	void (*dma_lock)(void);
	void (*dma_unlock)(void);
	/*
	 * Called after a completion is posted to a queue with interrupts on
	 * (the admin queue always, I/O queues created with IEN), as the MSI-X
	 * vector 0 write of a real controller; may be NULL.
	 */
	void (*interrupt)(void);
} FakeNvmeConfig;

typedef struct FakeNvme FakeNvme;

FakeNvme *fake_nvme_new(const FakeNvmeConfig *cfg);
/* Stops the thread and frees everything. */
void fake_nvme_free(FakeNvme *f);
volatile uint8_t *fake_nvme_bar(FakeNvme *f);
uint64_t fake_nvme_bar_size(FakeNvme *f);
/* The namespace's contents: blocks << lbads bytes. */
uint8_t *fake_nvme_disk(FakeNvme *f);

/* IOVA windows the controller's DMA goes through (at most 8). */
void fake_nvme_map(FakeNvme *f, uint64_t iova, void *va, size_t size);
void fake_nvme_unmap(FakeNvme *f, uint64_t iova);

/* The next n I/O commands complete with this status (SCT << 8 | SC). */
void fake_nvme_fail_next(FakeNvme *f, uint16_t status, unsigned n);
/* Controller fatal status now: nothing is processed until CC.EN goes to 0. */
void fake_nvme_set_fatal(FakeNvme *f);
/* While set, I/O commands are fetched but never completed. */
void fake_nvme_stall(FakeNvme *f, bool on);
/* Makes every register read all ones, as a removed device does. */
void fake_nvme_remove(FakeNvme *f);

typedef struct FakeNvmeStats {
	uint64_t io_commands, reads, writes, flushes;
	uint64_t prp_lists;	/* commands whose PRP2 was a list */
	uint64_t prp2_pages;	/* commands whose PRP2 was a second page */
	uint64_t enables;	/* CC.EN 0 → 1 transitions */
	uint64_t transfer_errors;
	uint64_t io_by_queue[17]; /* I/O commands served per submission queue (1…16) */
	uint32_t last_nlb;
} FakeNvmeStats;
void fake_nvme_stats(FakeNvme *f, FakeNvmeStats *ret);
