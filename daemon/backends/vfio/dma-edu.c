/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's educational PCI device "edu" (hw/misc/edu.c, docs/specs/edu.rst) as
 * a DMA engine. Its DMA moves data between memory and a 4 KiB buffer inside
 * the device, one direction per command, so a copy src → dst is two device
 * DMAs: RAM → device buffer, then device buffer → RAM. Each completes on a
 * ~100 ms virtual timer: traffic is slow, but every byte goes through the
 * IOMMU twice and is checked.
 *
 * QEMU ignores IOMMU faults on edu's DMA: a read that faults leaves zeros or
 * old data in the device buffer, a write that faults is dropped, and the
 * command completes normally. Only verification can tell.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/backend.h"
#include "backends/vfio/dma-engine.h"
#include "macro.h"
#include "parse-util.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* BAR0 registers. 0x00-0x7f take 32-bit accesses only, 0x80 and up 32- or 64-bit. */
#define EDU_REG_ID	  0x00 /* 0xRRrr00ed: major RR, minor rr */
#define EDU_REG_LIVENESS  0x04 /* reads back the complement of what was written */
#define EDU_REG_DMA_SRC	  0x80
#define EDU_REG_DMA_DST	  0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD	  0x98
#define EDU_BAR_MIN	  0x100

#define EDU_ID_MAGIC_MASK 0xffffu
#define EDU_ID_MAGIC	  0x00edu
#define EDU_DMA_START	  UINT64_C(0x1) /* set to start; reads set while the DMA is in flight */
#define EDU_DMA_TO_RAM	  UINT64_C(0x2) /* direction: 0 RAM → device buffer, 1 device buffer → RAM */
#define EDU_DMA_IRQ	  UINT64_C(0x4) /* raise an interrupt when done: we poll instead */

/* The device buffer, at this address in the device's own DMA address space. */
#define EDU_BUFFER	UINT64_C(0x40000)
#define EDU_BUFFER_SIZE 4096u
/* QEMU 7.2's bounds check aborts the whole VM on a transfer of the full 4 KiB. */
#define EDU_MAX_TRANSFER  2048u
#define EDU_DMA_MASK_BITS 28
_Static_assert(EDU_MAX_TRANSFER <= EDU_BUFFER_SIZE, "a transfer must fit the device buffer");

#define EDU_POLL_MIN_NS	     (20 * NSEC_PER_USEC)
#define EDU_POLL_MAX_NS	     NSEC_PER_MSEC
/*
 * QEMU's edu answers at once, so the wait only matters for a dead device (or
 * an emulation thread that a loaded machine has not scheduled yet, as in the
 * unit tests, where 100 ms was seen to be too short under a parallel build).
 */
#define EDU_LIVENESS_WAIT_NS NSEC_PER_SEC
#define EDU_REMOVE_WAIT_NS   (2 * NSEC_PER_SEC)
#define EDU_LIVENESS_PROBE   0x5eed1e55u

typedef enum EduPhase {
	EDU_IDLE,
	EDU_TO_DEVICE, /* first half of a copy: RAM → device buffer */
	EDU_TO_RAM,    /* second half: device buffer → RAM */
} EduPhase;

struct DmaEngine {
	volatile uint8_t *bar;
	EduPhase phase;
	uint64_t dst_iova;
	uint32_t len;
};

static bool edu_match(uint16_t vendor, uint16_t device, uint32_t class)
{
	return vendor == EDU_VENDOR && device == EDU_DEVICE;
}

static uint32_t rd32(DmaEngine *e, unsigned reg)
{
	return *(volatile uint32_t *)(e->bar + reg);
}

static void wr32(DmaEngine *e, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(e->bar + reg) = v;
}

static uint64_t rd64(DmaEngine *e, unsigned reg)
{
	return *(volatile uint64_t *)(e->bar + reg);
}

static void wr64(DmaEngine *e, unsigned reg, uint64_t v)
{
	*(volatile uint64_t *)(e->bar + reg) = v;
}


/* Polls the command register until the running bit clears or the deadline passes. */
static int edu_wait_idle(DmaEngine *e, uint64_t deadline)
{
	uint64_t step = EDU_POLL_MIN_NS;

	for (;;) {
		uint64_t cmd = rd64(e, EDU_REG_DMA_CMD);

		/* A device that is gone (or reset with memory decode off) reads all ones. */
		if (cmd == UINT64_MAX)
			return -ENODEV;
		if (!(cmd & EDU_DMA_START))
			return 0;
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			return -ETIMEDOUT;
		/* A DMA takes ~100 ms; back off so polling does not load the emulator. */
		sleep_ns(step);
		step = MIN(step * 2, EDU_POLL_MAX_NS);
	}
}

static void edu_dma(DmaEngine *e, uint64_t src, uint64_t dst, uint32_t len, uint64_t dir)
{
	/* edu ignores these registers while a DMA runs: the caller made sure none does. */
	wr64(e, EDU_REG_DMA_SRC, src);
	wr64(e, EDU_REG_DMA_DST, dst);
	wr64(e, EDU_REG_DMA_COUNT, len);
	wr64(e, EDU_REG_DMA_CMD, EDU_DMA_START | dir);
}

static int edu_quiesce(DmaEngine *e, uint64_t timeout_ns)
{
	/* Whatever was in flight, issue nothing more for it. */
	e->phase = EDU_IDLE;
	return edu_wait_idle(e, now_ns(CLOCK_MONOTONIC) + timeout_ns);
}

static void edu_remove(DmaEngine *e)
{
	if (!e)
		return;
	/* The DMA buffer is unmapped after this: let an abandoned DMA finish first. */
	(void)edu_quiesce(e, EDU_REMOVE_WAIT_NS);
	free(e);
}

static int edu_init(const DmaEngineResources *res, DmaEngine **ret, char **error)
{
	DmaEngine *e;
	uint64_t deadline;
	uint32_t id, live;
	int r;

	if (!res->bar || res->bar_size < EDU_BAR_MIN)
		return backend_errorf(error, -EINVAL,
				      "edu BAR0 is %" PRIu64 " bytes, expected at least %u",
				      res->bar_size, EDU_BAR_MIN);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->bar = res->bar;

	id = rd32(e, EDU_REG_ID);
	if (id == UINT32_MAX) {
		free(e);
		return backend_errorf(
			error, -ENODEV,
			"edu BAR0 reads all ones: the device is not answering (memory decoding off, or removed)");
	}
	if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		free(e);
		return backend_errorf(error, -ENODEV,
				      "edu identification register reads 0x%08" PRIx32
				      ", expected 0x....00ed: this is not QEMU's edu device",
				      id);
	}

	/*
	 * Prove that writes reach the device. edu answers at once; re-reading for
	 * a moment covers emulations that answer asynchronously (the unit tests').
	 */
	wr32(e, EDU_REG_LIVENESS, EDU_LIVENESS_PROBE);
	deadline = now_ns(CLOCK_MONOTONIC) + EDU_LIVENESS_WAIT_NS;
	while ((live = rd32(e, EDU_REG_LIVENESS)) != (uint32_t)~EDU_LIVENESS_PROBE &&
	       now_ns(CLOCK_MONOTONIC) < deadline)
		sleep_ns(EDU_POLL_MAX_NS);
	if (live != (uint32_t)~EDU_LIVENESS_PROBE) {
		free(e);
		return backend_errorf(
			error, -EIO,
			"edu liveness check failed: wrote 0x%08x, read back 0x%08" PRIx32
			" instead of 0x%08x",
			EDU_LIVENESS_PROBE, live, (uint32_t)~EDU_LIVENESS_PROBE);
	}

	/* A DMA left running by a previous user would land in our buffer. */
	r = edu_quiesce(e, EDU_REMOVE_WAIT_NS);
	if (r < 0) {
		free(e);
		return backend_errorf(error, r, "edu DMA engine is busy and does not finish: %s",
				      strerror(-r));
	}
	*ret = e;
	return 0;
}

static int edu_memcpy_start(DmaEngine *e, uint64_t src_iova, uint64_t dst_iova, uint32_t len)
{
	uint64_t cmd;

	if (len == 0 || len > EDU_MAX_TRANSFER)
		return -EINVAL;
	if (e->phase != EDU_IDLE)
		return -EBUSY;
	cmd = rd64(e, EDU_REG_DMA_CMD);
	if (cmd == UINT64_MAX)
		return -ENODEV;
	if (cmd & EDU_DMA_START)
		return -EBUSY;
	e->dst_iova = dst_iova;
	e->len = len;
	e->phase = EDU_TO_DEVICE;
	edu_dma(e, src_iova, EDU_BUFFER, len, 0);
	return 0;
}

static int edu_memcpy_wait(DmaEngine *e, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + timeout_ns;
	int r;

	if (e->phase == EDU_TO_DEVICE) {
		r = edu_wait_idle(e, deadline);
		if (r < 0)
			return r;
		e->phase = EDU_TO_RAM;
		edu_dma(e, EDU_BUFFER, e->dst_iova, e->len, EDU_DMA_TO_RAM);
	}
	if (e->phase == EDU_TO_RAM) {
		r = edu_wait_idle(e, deadline);
		if (r < 0)
			return r;
		e->phase = EDU_IDLE;
	}
	return 0;
}

const DmaEngineDriver dma_engine_edu = {
	.name = "edu",
	.description = "QEMU edu",
	.match = edu_match,
	.bar = 0,
	.min_bar_size = EDU_BAR_MIN,
	.max_transfer = EDU_MAX_TRANSFER,
	.max_transfer_why = "QEMU 7.2's edu device aborts on larger DMA",
	.dma_limit = UINT64_C(1) << EDU_DMA_MASK_BITS,
	.init = edu_init,
	.memcpy_start = edu_memcpy_start,
	.memcpy_wait = edu_memcpy_wait,
	.quiesce = edu_quiesce,
	.remove = edu_remove,
};
