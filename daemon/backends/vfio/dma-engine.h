/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * DMA engines: drivers for devices that can be told to copy memory, so that
 * the vfio backend can run verified DMA through the IOMMU while attachments
 * are replaced. A driver sees only a mapped BAR (a plain pointer, so tests
 * can hand it memory that a thread plays the device on) and the VFIO device
 * fd; the backend owns the mapping, bus mastering and the DMA buffer.
 *
 * Every transfer copies len bytes from src_iova to dst_iova. How the device
 * does it is the driver's business (edu bounces through its internal buffer).
 * Calls for one engine come from one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct DmaEngine DmaEngine;

typedef struct DmaEngineResources {
	int device_fd;	       /* VFIO device cdev; -EBADF when there is none (tests) */
	volatile uint8_t *bar; /* the driver's BAR (DmaEngineDriver.bar), mapped */
	uint64_t bar_size;
} DmaEngineResources;

typedef struct DmaEngineDriver {
	const char *name;	 /* the [Traffic] Engine= value */
	const char *description; /* "QEMU edu" */
	/* class: base class, subclass, prog-if (0x010802 is an NVMe controller). */
	bool (*match)(uint16_t vendor, uint16_t device, uint32_t class);
	/*
	 * A block engine (NVMe, traffic-nvme.h) moves data between its media and
	 * memory through queues of its own, not by the copy calls below, which
	 * it leaves NULL.
	 */
	bool block;
	unsigned bar;	       /* which BAR init() wants mapped */
	uint64_t min_bar_size; /* the registers init() touches */
	uint32_t max_transfer; /* bytes per memcpy */
	const char *max_transfer_why; /* for the scenario error */
	uint64_t dma_limit;    /* every IOVA touched must be below this (the DMA mask) */

	/* Checks the device answers as expected and is idle. *error says why not. */
	int (*init)(const DmaEngineResources *res, DmaEngine **ret, char **error);
	/* Starts one copy. -EBUSY when the previous one was not waited for or abandoned. */
	int (*memcpy_start)(DmaEngine *e, uint64_t src_iova, uint64_t dst_iova, uint32_t len);
	/*
	 * Waits for the copy started last: 0 when the device says it is done,
	 * -ETIMEDOUT when it is not done in timeout_ns (the copy stays in
	 * flight: call quiesce()), -ENODEV when the device stopped answering
	 * (registers read all ones: hot-removed or reset).
	 */
	int (*memcpy_wait)(DmaEngine *e, uint64_t timeout_ns);
	/*
	 * Abandons the current copy (issues nothing more for it) and waits up to
	 * timeout_ns for the device to go idle: 0, -ETIMEDOUT (stuck), -ENODEV.
	 */
	int (*quiesce)(DmaEngine *e, uint64_t timeout_ns);
	/* Quiesces briefly and frees the engine; NULL-safe. */
	void (*remove)(DmaEngine *e);
} DmaEngineDriver;

extern const DmaEngineDriver dma_engine_edu;
extern const DmaEngineDriver dma_engine_nvme;

/* NULL-terminated. */
extern const DmaEngineDriver *const dma_engine_drivers[];
const DmaEngineDriver *dma_engine_find(const char *name);
/* The driver for a PCI device, NULL when we have none. */
const DmaEngineDriver *dma_engine_match(uint16_t vendor, uint16_t device, uint32_t class);

/* FaultRecord.reason for FAULT_SOURCE_DMA_VERIFY. */
typedef enum DmaFaultReason {
	DMA_FAULT_TIMEOUT = 1,	   /* the engine did not finish in time */
	DMA_FAULT_ENGINE = 2,	   /* the engine refused the transfer or stopped answering */
	DMA_FAULT_MISMATCH = 3,	   /* the destination holds wrong data */
	DMA_FAULT_NOT_WRITTEN = 4, /* the destination was not written at all */
	DMA_FAULT_STALE = 5,	   /* the destination holds an earlier transfer's data */
	DMA_FAULT_STATUS = 6,	   /* the command completed with an error status (NVMe) */
	DMA_FAULT_FATAL = 7,	   /* the controller went into fatal status (NVMe CSTS.CFS) */
} DmaFaultReason;

const char *dma_fault_reason_to_string(unsigned reason); /* "timeout", "mismatch", … */

/*
 * Transfer data. Transfer seq's pattern starts with seq itself (8 bytes,
 * little endian) followed by bytes derived from seq and the offset, so a
 * destination can tell which transfer's data it holds. The poison written to
 * a destination before the transfer is the complement of the pattern: it can
 * never pass for the data, and a destination still holding it was never
 * written.
 */
void dma_pattern_fill(uint8_t *buf, size_t len, uint64_t seq);
void dma_pattern_poison(uint8_t *buf, size_t len, uint64_t seq);

typedef struct DmaCheck {
	DmaFaultReason reason; /* 0 when the data is right */
	size_t offset;	       /* first wrong byte */
	uint8_t expected, got;
	uint64_t stale_seq; /* DMA_FAULT_STALE: whose data it is */
} DmaCheck;

/* true when buf holds seq's pattern; else *ret says how it differs. */
bool dma_pattern_check(const uint8_t *buf, size_t len, uint64_t seq, DmaCheck *ret);
