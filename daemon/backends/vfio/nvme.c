/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Userspace NVMe driver: see nvme.h. Offsets and field positions are the NVMe
 * Base Specification 2.0's (section 3.1.4 controller registers, 4.1/4.2
 * queue entries, 4.1.1 PRPs, 5 admin commands, the NVM Command Set
 * Specification for Read/Write/Flush and Identify Namespace).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/vfio/nvme.h"
#include "core/backend.h"
#include "macro.h"
#include "parse-util.h"

/* Controller registers (BAR0). */
#define REG_CAP	 0x00
#define REG_VS	 0x08
#define REG_CC	 0x14
#define REG_CSTS 0x1c
#define REG_AQA	 0x24
#define REG_ASQ	 0x28
#define REG_ACQ	 0x30
#define REG_DBS	 0x1000

#define CAP_MQES(c)   ((uint32_t)((c) & 0xffff))
#define CAP_CQR(c)    (((c) >> 16) & 1)
#define CAP_TO(c)     ((uint32_t)(((c) >> 24) & 0xff))
#define CAP_DSTRD(c)  ((unsigned)(((c) >> 32) & 0xf))
#define CAP_CSS_NVM(c) (((c) >> 37) & 1)
#define CAP_MPSMIN(c) ((unsigned)(((c) >> 48) & 0xf))

#define CC_EN	       (1u << 0)
#define CC_IOSQES(n)   ((uint32_t)(n) << 16)
#define CC_IOCQES(n)   ((uint32_t)(n) << 20)
#define CSTS_RDY       (1u << 0)
#define CSTS_CFS       (1u << 1)

/* Admin opcodes. */
#define ADMIN_CREATE_SQ 0x01
#define ADMIN_CREATE_CQ 0x05
#define ADMIN_IDENTIFY	0x06
#define ADMIN_SET_FEATURES 0x09
#define FEAT_NUM_QUEUES	   0x07
#define CNS_NAMESPACE	0x00
#define CNS_CONTROLLER	0x01

#define SQE_SIZE 64u
#define CQE_SIZE 16u
#define PRP_PER_PAGE (NVME_PAGE_SIZE / 8u)
#define ADMIN_TIMEOUT_NS (5 * NSEC_PER_SEC)
/* Polling: spin this long on the completion queue, then back off in sleeps. */
#define SPIN_NS	     (20 * NSEC_PER_USEC)
#define SLEEP_MIN_NS (5 * NSEC_PER_USEC)
#define SLEEP_MAX_NS NSEC_PER_MSEC

typedef struct NvmeSqe {
	uint32_t cdw0; /* opcode 7:0, CID 31:16 */
	uint32_t nsid;
	uint32_t rsvd[2];
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
} NvmeSqe;
_Static_assert(sizeof(NvmeSqe) == SQE_SIZE, "submission queue entry layout");

typedef struct NvmeCqe {
	uint32_t dw0, dw1;
	uint32_t dw2; /* SQHD 15:0, SQID 31:16 */
	uint32_t dw3; /* CID 15:0, P 16, status 31:17 */
} NvmeCqe;
_Static_assert(sizeof(NvmeCqe) == CQE_SIZE, "completion queue entry layout");

typedef struct NvmeQueue {
	unsigned qid, depth;
	volatile NvmeSqe *sq;
	volatile NvmeCqe *cq;
	uint64_t sq_iova, cq_iova;
	uint8_t *prp;	    /* one PRP list page per command slot */
	uint64_t prp_iova;
	unsigned sq_tail, sq_head, cq_head;
	unsigned phase; /* the phase a new completion carries */
	unsigned in_flight;
	bool *busy; /* by command identifier (= slot) */
	unsigned next_cid;
} NvmeQueue;

struct NvmeCtrl {
	volatile uint8_t *bar;
	uint64_t bar_size;
	NvmeDma control;
	uint64_t cap;
	uint64_t ready_timeout_ns;
	unsigned stride;
	NvmeIdentity id;
	NvmeQueue admin;
	NvmeQueue io[NVME_MAX_IO_QUEUES];
	unsigned n_io;
	unsigned next_wait; /* the queue queue_wait() looks at first next time */
	int irq_fd;	    /* MSI-X vector 0's eventfd, or -1: completions by polling */
	uint8_t *identify; /* one page */
	uint64_t identify_iova;
};

static uint32_t rd32(NvmeCtrl *c, unsigned reg)
{
	return *(volatile uint32_t *)(c->bar + reg);
}

static void wr32(NvmeCtrl *c, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(c->bar + reg) = v;
}

/* 64-bit registers as two 32-bit halves, low first, which every controller takes. */
static uint64_t rd64(NvmeCtrl *c, unsigned reg)
{
	uint64_t lo = rd32(c, reg);

	return lo | (uint64_t)rd32(c, reg + 4) << 32;
}

static void wr64(NvmeCtrl *c, unsigned reg, uint64_t v)
{
	wr32(c, reg, (uint32_t)v);
	wr32(c, reg + 4, (uint32_t)(v >> 32));
}


static size_t page_round(size_t n)
{
	return (n + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE * NVME_PAGE_SIZE;
}

static size_t queue_size(unsigned depth)
{
	return page_round((size_t)depth * SQE_SIZE) + page_round((size_t)depth * CQE_SIZE) +
	       (size_t)depth * NVME_PAGE_SIZE;
}

size_t nvme_control_size(unsigned n_queues, unsigned depth)
{
	/* Admin queues (no PRP lists of their own) and the identify page first. */
	return page_round(NVME_ADMIN_DEPTH * SQE_SIZE) + page_round(NVME_ADMIN_DEPTH * CQE_SIZE) +
	       NVME_PAGE_SIZE + (size_t)n_queues * queue_size(depth);
}

/* Lays queue q out at *off in control memory and resets its state. */
static void queue_setup(NvmeCtrl *c, NvmeQueue *q, unsigned qid, unsigned depth, size_t *off,
			bool prp_lists)
{
	uint8_t *va = c->control.va;

	q->qid = qid;
	q->depth = depth;
	q->sq = (volatile NvmeSqe *)(va + *off);
	q->sq_iova = c->control.iova + *off;
	*off += page_round((size_t)depth * SQE_SIZE);
	q->cq = (volatile NvmeCqe *)(va + *off);
	q->cq_iova = c->control.iova + *off;
	*off += page_round((size_t)depth * CQE_SIZE);
	if (prp_lists) {
		q->prp = va + *off;
		q->prp_iova = c->control.iova + *off;
		*off += (size_t)depth * NVME_PAGE_SIZE;
	}
	/* Stale completions from before a reset must not pass for new ones. */
	memset((void *)q->cq, 0, (size_t)depth * CQE_SIZE);
	q->sq_tail = q->sq_head = q->cq_head = 0;
	q->phase = 1;
	q->in_flight = 0;
	q->next_cid = 0;
	memset(q->busy, 0, depth * sizeof(bool));
}

/*
 * Ordering against the device: entries in memory before the doorbell write,
 * and the rest of a completion only after its phase bit. x86 keeps both
 * orders for uncached MMIO once the compiler does; arm64 needs barriers that
 * reach the outer shareable domain where a DMA master sees memory.
 */
static inline void wmb_before_doorbell(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dsb st" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void rmb_after_phase(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshld" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

static unsigned sq_doorbell(NvmeCtrl *c, unsigned qid)
{
	return REG_DBS + (2 * qid) * c->stride;
}

static unsigned cq_doorbell(NvmeCtrl *c, unsigned qid)
{
	return REG_DBS + (2 * qid + 1) * c->stride;
}

bool nvme_fatal(NvmeCtrl *c)
{
	uint32_t csts = rd32(c, REG_CSTS);

	return csts != UINT32_MAX && (csts & CSTS_CFS);
}

/* Waits for CSTS.RDY to read want within CAP.TO: 0, -ETIMEDOUT, -ENODEV, -EIO (CFS). */
static int wait_ready(NvmeCtrl *c, bool want)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + c->ready_timeout_ns;
	uint64_t step = SLEEP_MIN_NS;

	for (;;) {
		uint32_t csts = rd32(c, REG_CSTS);

		if (csts == UINT32_MAX)
			return -ENODEV;
		if (!!(csts & CSTS_RDY) == want)
			return 0;
		/* Enabling a controller in fatal status never completes; disabling clears it. */
		if (want && (csts & CSTS_CFS))
			return -EIO;
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			return -ETIMEDOUT;
		sleep_ns(step);
		step = MIN(step * 2, SLEEP_MAX_NS * 10);
	}
}

int nvme_open(volatile uint8_t *bar, uint64_t bar_size, const NvmeDma *control, NvmeCtrl **ret,
	      char **error)
{
	_cleanup_free_ NvmeCtrl *c = NULL;
	uint32_t vs;

	if (!bar || bar_size < NVME_BAR_MIN)
		return backend_errorf(error, -EINVAL,
				      "NVMe BAR0 is %" PRIu64 " bytes, expected at least %u", bar_size,
				      NVME_BAR_MIN);
	if (control->size < nvme_control_size(0, 1) || control->iova % NVME_PAGE_SIZE ||
	    (uintptr_t)control->va % NVME_PAGE_SIZE)
		return backend_errorf(error, -EINVAL,
				      "NVMe control memory must be page aligned and at least %zu bytes",
				      nvme_control_size(0, 1));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->bar = bar;
	c->irq_fd = -1;
	c->bar_size = bar_size;
	c->control = *control;

	c->cap = rd64(c, REG_CAP);
	vs = rd32(c, REG_VS);
	if (c->cap == UINT64_MAX || vs == UINT32_MAX)
		return backend_errorf(
			error, -ENODEV,
			"NVMe BAR0 reads all ones: the controller is not answering (memory decoding off, or removed)");
	if (!CAP_CSS_NVM(c->cap))
		return backend_errorf(error, -EOPNOTSUPP,
				      "the NVMe controller does not support the NVM command set (CAP.CSS 0x%02x)",
				      (unsigned)((c->cap >> 37) & 0xff));
	if (CAP_MPSMIN(c->cap) != 0)
		return backend_errorf(error, -EOPNOTSUPP,
				      "the NVMe controller's smallest page is %u KiB (CAP.MPSMIN); this driver uses 4 KiB pages",
				      4u << CAP_MPSMIN(c->cap));
	c->stride = 4u << CAP_DSTRD(c->cap);
	/* CAP.TO is in 500 ms units; 0 would mean none, which no controller means. */
	c->ready_timeout_ns = MAX(CAP_TO(c->cap), 1u) * 500 * NSEC_PER_MSEC;
	c->id.version = vs;
	c->id.max_queue_depth = CAP_MQES(c->cap) + 1;
	c->id.timeout_ms = CAP_TO(c->cap) * 500;
	c->id.doorbell_stride = c->stride;
	c->admin.busy = calloc(NVME_ADMIN_DEPTH, sizeof(bool));
	if (!c->admin.busy)
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

static void queues_free(NvmeCtrl *c)
{
	for (unsigned i = 0; i < NVME_MAX_IO_QUEUES; i++) {
		free(c->io[i].busy);
		c->io[i].busy = NULL;
	}
	c->n_io = 0;
}

int nvme_disable(NvmeCtrl *c)
{
	/* Disabling stops all DMA and deletes the queues: the caller may unmap after this. */
	if (rd32(c, REG_CSTS) == UINT32_MAX)
		return -ENODEV;
	wr32(c, REG_CC, rd32(c, REG_CC) & ~CC_EN);
	c->n_io = 0;
	return wait_ready(c, false);
}

void nvme_close(NvmeCtrl *c)
{
	if (!c)
		return;
	(void)nvme_disable(c);
	queues_free(c);
	free(c->admin.busy);
	free(c);
}

void nvme_set_irq_fd(NvmeCtrl *c, int fd)
{
	c->irq_fd = fd;
}

const NvmeIdentity *nvme_identity(const NvmeCtrl *c)
{
	return &c->id;
}

unsigned nvme_in_flight(const NvmeCtrl *c, unsigned qid)
{
	return qid >= 1 && qid <= c->n_io ? c->io[qid - 1].in_flight : 0;
}

/* Claims a free command identifier of q; -EBUSY when none (or the ring is full). */
static int slot_get(NvmeQueue *q)
{
	/* One entry stays empty: a full ring would look empty to the controller. */
	if (q->in_flight >= q->depth - 1 || (q->sq_tail + 1) % q->depth == q->sq_head)
		return -EBUSY;
	for (unsigned n = 0; n < q->depth; n++) {
		unsigned cid = (q->next_cid + n) % q->depth;

		if (!q->busy[cid]) {
			q->busy[cid] = true;
			q->next_cid = (cid + 1) % q->depth;
			return (int)cid;
		}
	}
	return -EBUSY;
}

static void sq_push(NvmeCtrl *c, NvmeQueue *q, const NvmeSqe *e)
{
	volatile NvmeSqe *slot = &q->sq[q->sq_tail];

	slot->cdw0 = e->cdw0;
	slot->nsid = e->nsid;
	slot->rsvd[0] = slot->rsvd[1] = 0;
	slot->mptr = e->mptr;
	slot->prp1 = e->prp1;
	slot->prp2 = e->prp2;
	slot->cdw10 = e->cdw10;
	slot->cdw11 = e->cdw11;
	slot->cdw12 = e->cdw12;
	slot->cdw13 = e->cdw13;
	slot->cdw14 = e->cdw14;
	slot->cdw15 = e->cdw15;
	q->sq_tail = (q->sq_tail + 1) % q->depth;
	q->in_flight++;
	/* The entry must be in memory before the controller hears of it. */
	wmb_before_doorbell();
	wr32(c, sq_doorbell(c, q->qid), q->sq_tail);
}

/* The completion at q's head if the controller has posted one: consumes it. */
static bool cq_pop(NvmeCtrl *c, NvmeQueue *q, NvmeCompletion *ret)
{
	volatile NvmeCqe *e = &q->cq[q->cq_head];
	uint32_t dw3 = e->dw3, status;

	if (((dw3 >> 16) & 1) != q->phase)
		return false;
	/* The phase bit is written last: read the rest only after it. */
	rmb_after_phase();
	status = dw3 >> 17;
	ret->cid = (uint16_t)dw3;
	ret->status = (uint16_t)((((status >> 8) & 0x7) << 8) | (status & 0xff));
	ret->dnr = (status >> 14) & 1;
	ret->result = e->dw0;
	ret->qid = (uint16_t)q->qid;
	q->sq_head = (e->dw2 & 0xffff) % q->depth;
	if (++q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	if (ret->cid < q->depth && q->busy[ret->cid]) {
		q->busy[ret->cid] = false;
		q->in_flight--;
	}
	wr32(c, cq_doorbell(c, q->qid), q->cq_head);
	return true;
}

/*
 * With interrupts: sleeps until the MSI-X eventfd fires (an interrupt that
 * came before the sleep left the eventfd readable: none is lost) or 100 ms
 * pass; between sleeps, looks for a fatal status and a vanished device, as
 * polling does.
 */
static int irq_wait(NvmeCtrl *c, uint64_t start, uint64_t timeout_ns)
{
	struct pollfd p = {.fd = c->irq_fd, .events = POLLIN};
	uint64_t now = now_ns(CLOCK_MONOTONIC), left, v;
	uint32_t csts = rd32(c, REG_CSTS);

	if (csts == UINT32_MAX)
		return -ENODEV;
	if (csts & CSTS_CFS)
		return -EIO;
	if (now - start >= timeout_ns)
		return -ETIMEDOUT;
	left = MIN(timeout_ns - (now - start), 100 * NSEC_PER_MSEC);
	if (poll(&p, 1, (int)((left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC)) < 0 && errno != EINTR)
		return -errno;
	if (p.revents & POLLIN)
		(void)!read(c->irq_fd, &v, sizeof(v));
	return 0;
}

/* The next completion on any of the n queues from q: each looked at in turn, none starved. */
static int queue_wait(NvmeCtrl *c, NvmeQueue *q, unsigned n, uint64_t timeout_ns,
		      NvmeCompletion *ret)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), t = start, step = SLEEP_MIN_NS;

	for (;;) {
		for (unsigned i = 0; i < n; i++) {
			NvmeQueue *next = &q[c->next_wait % n];

			c->next_wait++;
			if (cq_pop(c, next, ret))
				return 0;
		}
		if (c->irq_fd >= 0) {
			int r = irq_wait(c, start, timeout_ns);

			if (r < 0)
				return r;
			continue;
		}
		/* Spinning is cheap for a fast device; past SPIN_NS, also look for death. */
		if (t - start >= SPIN_NS) {
			uint32_t csts = rd32(c, REG_CSTS);

			if (csts == UINT32_MAX)
				return -ENODEV;
			if (csts & CSTS_CFS)
				return -EIO;
			if (t - start >= timeout_ns)
				return -ETIMEDOUT;
			sleep_ns(step);
			step = MIN(step * 2, SLEEP_MAX_NS);
		}
		t = now_ns(CLOCK_MONOTONIC);
	}
}

/* One admin command, synchronously. *status gets the completion's status. */
/* One admin command, synchronously: its whole completion in *ret. */
static int admin_cmd_result(NvmeCtrl *c, NvmeSqe *e, NvmeCompletion *ret)
{
	int cid, r;

	cid = slot_get(&c->admin);
	if (cid < 0)
		return cid;
	e->cdw0 = (e->cdw0 & 0xffff) | (uint32_t)cid << 16;
	sq_push(c, &c->admin, e);
	for (;;) {
		r = queue_wait(c, &c->admin, 1, ADMIN_TIMEOUT_NS, ret);
		if (r < 0)
			return r;
		if (ret->cid == cid)
			return 0;
	}
}

/* One admin command, synchronously. *status gets the completion's status. */
static int admin_cmd(NvmeCtrl *c, NvmeSqe *e, uint16_t *status)
{
	NvmeCompletion done;
	int r = admin_cmd_result(c, e, &done);

	if (r >= 0)
		*status = done.status;
	return r;
}

const char *nvme_error_to_string(int r)
{
	switch (r) {
	case -EIO:
		return "the controller reported a fatal status (CSTS.CFS)";
	case -ENODEV:
		return "the controller stopped answering (registers read all ones)";
	default:
		return strerror(-r);
	}
}

/* Why a ready transition (wait_ready()) failed. */
static const char *ready_error(int r)
{
	return r == -ETIMEDOUT ? "CSTS.RDY did not change in time" : nvme_error_to_string(r);
}

static const char *admin_error(int r)
{
	return r == -ETIMEDOUT ? "no completion within 5 s" : nvme_error_to_string(r);
}

/* Copies a space-padded ASCII identify field and drops the padding. */
static void ascii_field(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == 0))
		dst[--n] = 0;
	for (size_t i = 0; i < n; i++)
		if (dst[i] < 0x20 || dst[i] > 0x7e)
			dst[i] = '?';
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int identify(NvmeCtrl *c, uint8_t cns, uint32_t nsid, const char *what, char **error)
{
	NvmeSqe e = {
		.cdw0 = ADMIN_IDENTIFY,
		.nsid = nsid,
		.prp1 = c->identify_iova,
		.cdw10 = cns,
	};
	uint16_t status;
	char buf[32];
	int r;

	memset(c->identify, 0, NVME_PAGE_SIZE);
	r = admin_cmd(c, &e, &status);
	if (r < 0)
		return backend_errorf(error, r, "NVMe Identify %s failed: %s", what, admin_error(r));
	if (status)
		return backend_errorf(error, status == NVME_SC_INVALID_NS ? -ENOENT : -EIO,
				      "NVMe Identify %s failed: %s", what,
				      nvme_status_to_string(status, buf));
	return 0;
}

/*
 * Set Features, Number of Queues: a controller need not take I/O queues it
 * was not asked for, and may grant fewer than asked (0's based counts in
 * the result, submission queues in 15:0, completion queues in 31:16).
 */
static int set_queue_count(NvmeCtrl *c, unsigned n, char **error)
{
	NvmeSqe e = {
		.cdw0 = ADMIN_SET_FEATURES,
		.cdw10 = FEAT_NUM_QUEUES,
		.cdw11 = (n - 1) << 16 | (n - 1),
	};
	NvmeCompletion done;
	unsigned granted;
	char buf[32];
	int r;

	r = admin_cmd_result(c, &e, &done);
	if (r < 0)
		return backend_errorf(error, r, "NVMe Set Features (Number of Queues) failed: %s",
				      admin_error(r));
	if (done.status)
		return backend_errorf(error, -EIO, "NVMe Set Features (Number of Queues) failed: %s",
				      nvme_status_to_string(done.status, buf));
	granted = MIN((done.result & 0xffff) + 1, (done.result >> 16) + 1);
	c->id.queues_granted = granted;
	if (granted < n)
		return backend_errorf(error, -EINVAL,
				      "the NVMe controller grants %u I/O queue pairs, fewer than the %u asked for (Set Features, Number of Queues)",
				      granted, n);
	return 0;
}

static int create_queue(NvmeCtrl *c, NvmeQueue *q, char **error)
{
	NvmeSqe cq = {
		.cdw0 = ADMIN_CREATE_CQ,
		.prp1 = q->cq_iova,
		.cdw10 = (q->depth - 1) << 16 | q->qid,
		/* Physically contiguous; interrupts on vector 0 when there is an eventfd for it. */
		.cdw11 = c->irq_fd >= 0 ? 1u | 2u : 1u,
	};
	NvmeSqe sq = {
		.cdw0 = ADMIN_CREATE_SQ,
		.prp1 = q->sq_iova,
		.cdw10 = (q->depth - 1) << 16 | q->qid,
		.cdw11 = q->qid << 16 | 1, /* completes on CQ qid; contiguous */
	};
	uint16_t status;
	char buf[32];
	int r;

	r = admin_cmd(c, &cq, &status);
	if (r >= 0 && status)
		return backend_errorf(error, -EIO, "NVMe Create I/O Completion Queue %u failed: %s",
				      q->qid, nvme_status_to_string(status, buf));
	if (r < 0)
		return backend_errorf(error, r, "NVMe Create I/O Completion Queue %u failed: %s",
				      q->qid, admin_error(r));
	r = admin_cmd(c, &sq, &status);
	if (r >= 0 && status)
		return backend_errorf(error, -EIO, "NVMe Create I/O Submission Queue %u failed: %s",
				      q->qid, nvme_status_to_string(status, buf));
	if (r < 0)
		return backend_errorf(error, r, "NVMe Create I/O Submission Queue %u failed: %s",
				      q->qid, admin_error(r));
	return 0;
}

int nvme_enable(NvmeCtrl *c, unsigned n_queues, unsigned depth, char **error)
{
	const uint8_t *id;
	size_t off = 0;
	unsigned mdts;
	int r;

	if (n_queues < 1 || n_queues > NVME_MAX_IO_QUEUES)
		return backend_errorf(error, -EINVAL, "%u NVMe I/O queues: between 1 and %u", n_queues,
				      NVME_MAX_IO_QUEUES);
	if (depth < 2 || depth > NVME_MAX_DEPTH)
		return backend_errorf(error, -EINVAL, "NVMe queue depth %u: between 2 and %u", depth,
				      NVME_MAX_DEPTH);
	if (depth > c->id.max_queue_depth)
		return backend_errorf(error, -EINVAL,
				      "NVMe queue depth %u is above the controller's limit of %u (CAP.MQES)",
				      depth, c->id.max_queue_depth);
	if (c->control.size < nvme_control_size(n_queues, depth))
		return backend_errorf(error, -EINVAL,
				      "NVMe control memory of %zu bytes is short of the %zu that %u queues of %u take",
				      c->control.size, nvme_control_size(n_queues, depth), n_queues, depth);
	if (cq_doorbell(c, n_queues) + 4 > c->bar_size)
		return backend_errorf(error, -EINVAL,
				      "NVMe BAR0 of %" PRIu64 " bytes has no doorbell for queue %u",
				      c->bar_size, n_queues);

	/* From whatever state it is in: a fatal status is cleared by disabling. */
	if (rd32(c, REG_CC) & CC_EN || rd32(c, REG_CSTS) & CSTS_RDY) {
		wr32(c, REG_CC, rd32(c, REG_CC) & ~CC_EN);
		r = wait_ready(c, false);
		if (r < 0)
			return backend_errorf(error, r,
					      "the NVMe controller did not disable within CAP.TO (%" PRIu64 " ms): %s",
					      c->ready_timeout_ns / NSEC_PER_MSEC, ready_error(r));
	}

	queues_free(c);
	queue_setup(c, &c->admin, 0, NVME_ADMIN_DEPTH, &off, false);
	c->identify = (uint8_t *)c->control.va + off;
	c->identify_iova = c->control.iova + off;
	off += NVME_PAGE_SIZE;
	for (unsigned i = 0; i < n_queues; i++) {
		c->io[i].busy = calloc(depth, sizeof(bool));
		if (!c->io[i].busy)
			return -ENOMEM;
		queue_setup(c, &c->io[i], i + 1, depth, &off, true);
	}

	wr32(c, REG_AQA, (NVME_ADMIN_DEPTH - 1) << 16 | (NVME_ADMIN_DEPTH - 1));
	wr64(c, REG_ASQ, c->admin.sq_iova);
	wr64(c, REG_ACQ, c->admin.cq_iova);
	/* NVM command set, 4 KiB pages, round robin, 64- and 16-byte entries. */
	wr32(c, REG_CC, CC_IOSQES(6) | CC_IOCQES(4));
	wr32(c, REG_CC, CC_IOSQES(6) | CC_IOCQES(4) | CC_EN);
	r = wait_ready(c, true);
	if (r < 0)
		return backend_errorf(error, r,
				      "the NVMe controller did not become ready within CAP.TO (%" PRIu64 " ms): %s",
				      c->ready_timeout_ns / NSEC_PER_MSEC, ready_error(r));

	r = identify(c, CNS_CONTROLLER, 0, "Controller", error);
	if (r < 0)
		return r;
	id = c->identify;
	c->id.vid = (uint16_t)(id[0] | id[1] << 8);
	ascii_field(c->id.serial, id + 4, 20);
	ascii_field(c->id.model, id + 24, 40);
	ascii_field(c->id.firmware, id + 64, 8);
	mdts = id[77];
	/* MDTS is a power of two in CAP.MPSMIN pages (4 KiB here); 0 is no limit. */
	c->id.mdts_bytes = mdts == 0 ? 0 : mdts >= 20 ? UINT32_MAX : NVME_PAGE_SIZE << mdts;
	c->id.namespaces = le32(id + 516);

	r = set_queue_count(c, n_queues, error);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n_queues; i++) {
		r = create_queue(c, &c->io[i], error);
		if (r < 0)
			return r;
		c->n_io = i + 1;
	}
	return 0;
}

int nvme_identify_namespace(NvmeCtrl *c, uint32_t nsid, NvmeNamespace *ret, char **error)
{
	const uint8_t *ns = c->identify;
	unsigned nlbaf, fmt, lbads;
	uint32_t lbaf;
	char what[32];
	int r;

	if (nsid == 0 || nsid == UINT32_MAX || nsid > c->id.namespaces)
		return backend_errorf(error, -ENOENT,
				      "NVMe namespace %" PRIu32 " does not exist: the controller has %" PRIu32,
				      nsid, c->id.namespaces);
	(void)snprintf(what, sizeof(what), "Namespace %" PRIu32, nsid);
	r = identify(c, CNS_NAMESPACE, nsid, what, error);
	if (r < 0)
		return r;
	*ret = (NvmeNamespace){.nsid = nsid, .blocks = le64(ns)};
	if (ret->blocks == 0)
		return backend_errorf(error, -ENOENT,
				      "NVMe namespace %" PRIu32 " is not active (its size reads 0)", nsid);
	nlbaf = ns[25] + 1u;
	/* FLBAS: format index bits 3:0, and 6:5 above them when there are more than 16. */
	fmt = (ns[26] & 0xf) | (nlbaf > 16 ? ((ns[26] >> 5) & 3u) << 4 : 0);
	if (fmt >= nlbaf || fmt >= 64)
		return backend_errorf(error, -EIO,
				      "NVMe namespace %" PRIu32 " uses LBA format %u of %u", nsid, fmt, nlbaf);
	lbaf = le32(ns + 128 + 4 * fmt);
	lbads = (lbaf >> 16) & 0xff;
	ret->format = fmt;
	ret->metadata = (uint16_t)lbaf;
	if (lbads < 9 || lbads > 16)
		return backend_errorf(error, -EIO,
				      "NVMe namespace %" PRIu32 " has an LBA size of 2^%u bytes", nsid, lbads);
	ret->lba_size = 1u << lbads;
	if (ret->metadata)
		return backend_errorf(error, -EOPNOTSUPP,
				      "NVMe namespace %" PRIu32 " carries %u bytes of metadata per LBA; "
				      "this driver moves data only (format it without metadata)",
				      nsid, ret->metadata);
	return 0;
}

int nvme_submit(NvmeCtrl *c, unsigned qid, uint8_t opcode, uint32_t nsid, uint64_t slba,
		uint32_t lba_size, uint64_t data_iova, uint32_t len)
{
	NvmeQueue *q;
	NvmeSqe e = {.cdw0 = opcode, .nsid = nsid};
	uint32_t first, nlb = 0;
	int cid;

	if (qid < 1 || qid > c->n_io)
		return -EINVAL;
	q = &c->io[qid - 1];
	if (opcode == NVME_CMD_READ || opcode == NVME_CMD_WRITE) {
		if (len == 0 || lba_size == 0 || len % lba_size || len > NVME_MAX_TRANSFER ||
		    (c->id.mdts_bytes && len > c->id.mdts_bytes) || data_iova % 4)
			return -EINVAL;
		nlb = len / lba_size;
		if (nlb > 65536)
			return -EINVAL;
	} else if (opcode != NVME_CMD_FLUSH)
		return -EINVAL;
	if (rd32(c, REG_CSTS) == UINT32_MAX)
		return -ENODEV;
	cid = slot_get(q);
	if (cid < 0)
		return cid;
	e.cdw0 |= (uint32_t)cid << 16;
	if (opcode != NVME_CMD_FLUSH) {
		/* PRP1 may start inside a page; every further entry is a page. */
		first = NVME_PAGE_SIZE - (uint32_t)(data_iova % NVME_PAGE_SIZE);
		e.prp1 = data_iova;
		if (len > first) {
			uint64_t page = data_iova - data_iova % NVME_PAGE_SIZE + NVME_PAGE_SIZE;
			uint32_t pages = (len - first + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;

			if (pages == 1)
				e.prp2 = page;
			else {
				uint64_t *list = (uint64_t *)(q->prp + (size_t)cid * NVME_PAGE_SIZE);

				if (pages > PRP_PER_PAGE) {
					q->busy[cid] = false;
					return -EINVAL;
				}
				for (uint32_t i = 0; i < pages; i++)
					list[i] = htole64(page + (uint64_t)i * NVME_PAGE_SIZE);
				e.prp2 = q->prp_iova + (uint64_t)cid * NVME_PAGE_SIZE;
			}
		}
		e.cdw10 = (uint32_t)slba;
		e.cdw11 = (uint32_t)(slba >> 32);
		e.cdw12 = nlb - 1;
	}
	sq_push(c, q, &e);
	return cid;
}

int nvme_wait(NvmeCtrl *c, unsigned qid, uint64_t timeout_ns, NvmeCompletion *ret)
{
	if (qid == 0)
		return c->n_io ? queue_wait(c, c->io, c->n_io, timeout_ns, ret) : -EINVAL;
	if (qid > c->n_io)
		return -EINVAL;
	return queue_wait(c, &c->io[qid - 1], 1, timeout_ns, ret);
}

const char *nvme_status_to_string(uint16_t status, char buf[static 32])
{
	if ((status >> 8) == 0)
		switch (status & 0xff) {
		case NVME_SC_SUCCESS:
			return "success";
		case NVME_SC_INVALID_OPCODE:
			return "invalid command opcode";
		case NVME_SC_INVALID_FIELD:
			return "invalid field in command";
		case NVME_SC_DATA_TRANSFER_ERROR:
			return "data transfer error";
		case NVME_SC_INTERNAL:
			return "internal error";
		case NVME_SC_INVALID_NS:
			return "invalid namespace or format";
		case NVME_SC_LBA_RANGE:
			return "LBA out of range";
		}
	(void)snprintf(buf, 32, "status type %u code 0x%02x", status >> 8,
		       status & 0xffu);
	return buf;
}
