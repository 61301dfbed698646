/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small userspace NVMe driver over a mapped BAR0, for verified DMA on real
 * hosts (issue 11). It owns nothing but the registers: the caller maps BAR0,
 * enables bus mastering and hands over two kinds of memory it has mapped for
 * the device, each known both by its CPU address and by its IOVA:
 *
 *   - control memory (NvmeDma, nvme_control_size() bytes): admin and I/O
 *     queues, PRP lists and the identify buffer. The caller maps it at the
 *     same IOVA in every domain it alternates between, so that replacing an
 *     attachment never takes the queues away from the controller;
 *   - data buffers, passed per command by IOVA only: the caller verifies
 *     what lands in them.
 *
 * Register and queue layouts are the NVMe Base Specification's (2.0: CAP,
 * CC, CSTS, AQA/ASQ/ACQ, doorbells at 0x1000 with CAP.DSTRD stride, 64-byte
 * submission and 16-byte completion entries, PRP lists). Completions are
 * found by polling the phase bit. One thread drives a controller; the I/O
 * queues are independent of each other but not locked.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVME_PAGE_SIZE	    4096u
#define NVME_ADMIN_DEPTH    32u
#define NVME_DEFAULT_DEPTH  64u
#define NVME_MAX_IO_QUEUES  16u
#define NVME_MAX_DEPTH	    1024u
/* Bytes per command this driver moves at most (one PRP list page). */
#define NVME_MAX_TRANSFER   (NVME_PAGE_SIZE * (NVME_PAGE_SIZE / 8u))
#define NVME_BAR_MIN	    0x2000u

/* Status codes (generic command status, SCT 0) the driver names. */
#define NVME_SC_SUCCESS		    0x00
#define NVME_SC_INVALID_OPCODE	    0x01
#define NVME_SC_INVALID_FIELD	    0x02
#define NVME_SC_DATA_TRANSFER_ERROR 0x04
#define NVME_SC_INTERNAL	    0x06
#define NVME_SC_INVALID_NS	    0x0b
#define NVME_SC_LBA_RANGE	    0x80

/* NVM command set opcodes. */
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ  0x02

typedef struct NvmeCtrl NvmeCtrl;

typedef struct NvmeDma {
	void *va;
	uint64_t iova;
	size_t size;
} NvmeDma;

typedef struct NvmeIdentity {
	uint16_t vid;
	char serial[21], model[41], firmware[9]; /* trailing blanks removed */
	uint32_t version;	 /* VS register: major << 16 | minor << 8 | tertiary */
	uint32_t mdts_bytes;	 /* 0: no limit of the controller's own */
	uint32_t namespaces;	 /* NN */
	uint32_t max_queue_depth; /* CAP.MQES + 1 */
	uint32_t timeout_ms;	 /* CAP.TO: the ready-transition bound */
	uint32_t doorbell_stride; /* bytes */
	uint32_t queues_granted;	 /* I/O queue pairs granted (Set Features, Number of Queues) */
} NvmeIdentity;

typedef struct NvmeNamespace {
	uint32_t nsid;
	uint64_t blocks;   /* NSZE */
	uint32_t lba_size; /* bytes */
	uint16_t metadata; /* bytes per LBA of the current format (this driver refuses > 0 inline) */
	unsigned format;   /* FLBAS format index */
} NvmeNamespace;

typedef struct NvmeCompletion {
	uint16_t qid;	 /* the I/O queue it came on (0: admin) */
	uint16_t cid;
	uint16_t status; /* SCT << 8 | SC; 0 is success */
	bool dnr;	 /* do not retry */
	uint32_t result; /* DW0 */
} NvmeCompletion;

/* Control memory for n I/O queue pairs of depth entries: page multiple. */
size_t nvme_control_size(unsigned n_queues, unsigned depth);

/*
 * Reads CAP and VS and checks them against what this driver needs (4 KiB
 * pages, the NVM command set, BAR size); touches nothing. -ENODEV when the
 * BAR reads all ones. *error says why in words.
 */
int nvme_open(volatile uint8_t *bar, uint64_t bar_size, const NvmeDma *control, NvmeCtrl **ret,
	      char **error);
/* Disables the controller (bounded by CAP.TO) and frees it; NULL-safe. */
void nvme_close(NvmeCtrl *c);
/* Disables it: no DMA after this returns 0 (or -ENODEV: gone). Queues must be re-enabled. */
int nvme_disable(NvmeCtrl *c);

/*
 * Disable, admin queue, enable (each ready transition bounded by CAP.TO),
 * Identify Controller, then n_queues I/O queue pairs of depth entries
 * (depth checked against CAP.MQES). Also the recovery path after a fatal
 * status: it starts from whatever state the controller is in.
 */
int nvme_enable(NvmeCtrl *c, unsigned n_queues, unsigned depth, char **error);
const NvmeIdentity *nvme_identity(const NvmeCtrl *c);
/*
 * Completions by interrupt from the next nvme_enable() on: fd is an eventfd
 * that MSI-X vector 0 signals (the caller set that up and owns fd; -1 goes
 * back to polling). I/O completion queues are created with interrupts on
 * vector 0, and waits sleep on fd instead of backing off in sleeps.
 */
void nvme_set_irq_fd(NvmeCtrl *c, int fd);
int nvme_identify_namespace(NvmeCtrl *c, uint32_t nsid, NvmeNamespace *ret, char **error);

/*
 * Queues one NVM command on I/O queue qid (1-based) and rings its doorbell.
 * Read and Write move len bytes at data_iova (contiguous in IOVA space) as
 * blocks of the namespace's LBA size starting at slba; Flush ignores them.
 * Returns the command identifier (≥ 0), -EBUSY when the queue is full,
 * -EINVAL on arguments the controller cannot take, -ENODEV when gone.
 */
int nvme_submit(NvmeCtrl *c, unsigned qid, uint8_t opcode, uint32_t nsid, uint64_t slba,
		uint32_t lba_size, uint64_t data_iova, uint32_t len);
/*
 * The next completion on I/O queue qid, or on any of them for qid 0 (in
 * turn, so that none starves), within timeout_ns: 0, -ETIMEDOUT,
 * -EIO when the controller reports a fatal status (CSTS.CFS: call
 * nvme_enable() to recover), -ENODEV when it reads all ones.
 */
int nvme_wait(NvmeCtrl *c, unsigned qid, uint64_t timeout_ns, NvmeCompletion *ret);
unsigned nvme_in_flight(const NvmeCtrl *c, unsigned qid);
bool nvme_fatal(NvmeCtrl *c);

/* A negative errno of this driver in words: -EIO fatal status, -ENODEV gone, else strerror(). */
const char *nvme_error_to_string(int r);
/* "data transfer error", "LBA out of range", … or "status type 2 code 0x81" for others. */
const char *nvme_status_to_string(uint16_t status, char buf[static 32]);
