/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake NVMe controller: see fake-nvme.h. Register offsets and entry
 * layouts are the NVMe Base Specification's, as the driver uses them; this
 * is written independently of the driver so that a misreading in one shows
 * up as a failure instead of agreeing with itself.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake-nvme.h"

#define BAR_SIZE  0x4000u
#define PAGE	  4096u
#define MAX_Q	  17u /* admin + 16 I/O */
#define MAX_WIN	  8u
#define REG_CAP	  0x00
#define REG_VS	  0x08
#define REG_CC	  0x14
#define REG_CSTS  0x1c
#define REG_AQA	  0x24
#define REG_ASQ	  0x28
#define REG_ACQ	  0x30
#define DOORBELLS 0x1000

typedef struct FakeQueue {
	bool live;
	uint64_t base;
	unsigned size, head, tail, cqid, phase;
	bool ien; /* completion queue: interrupts enabled */
} FakeQueue;

struct FakeNvme {
	FakeNvmeConfig cfg;
	uint8_t *bar;
	uint8_t *disk;
	size_t disk_size;
	pthread_t thread;
	pthread_mutex_t lock; /* everything below, and DMA through the windows */
	bool stop, enabled, fatal, stall, removed;
	struct {
		bool used;
		uint64_t iova;
		uint8_t *va;
		size_t size;
	} win[MAX_WIN];
	uint16_t fail_status;
	unsigned fail_n;
	FakeQueue sq[MAX_Q], cq[MAX_Q];
	FakeNvmeStats stats;
};

static uint32_t r32(FakeNvme *f, unsigned reg)
{
	return __atomic_load_n((uint32_t *)(f->bar + reg), __ATOMIC_ACQUIRE);
}

static void w32(FakeNvme *f, unsigned reg, uint32_t v)
{
	__atomic_store_n((uint32_t *)(f->bar + reg), v, __ATOMIC_RELEASE);
}

static uint64_t r64(FakeNvme *f, unsigned reg)
{
	return r32(f, reg) | (uint64_t)r32(f, reg + 4) << 32;
}

static unsigned stride(FakeNvme *f)
{
	return 4u << f->cfg.dstrd;
}

/* The CPU address of [iova, iova + len) if one window holds all of it. */
static uint8_t *translate(FakeNvme *f, uint64_t iova, size_t len)
{
	if (f->cfg.translate)
		return f->cfg.translate(iova, len);
	for (unsigned i = 0; i < MAX_WIN; i++)
		if (f->win[i].used && iova >= f->win[i].iova &&
		    iova - f->win[i].iova + len <= f->win[i].size)
			return f->win[i].va + (iova - f->win[i].iova);
	return NULL;
}

static void pad(uint8_t *dst, const char *s, size_t n)
{
	memset(dst, ' ', n);
	memcpy(dst, s, strnlen(s, n));
}

static uint16_t admin_exec(FakeNvme *f, const uint32_t *sqe, uint32_t *result)
{
	uint8_t op = sqe[0] & 0xff;
	uint64_t prp1 = sqe[6] | (uint64_t)sqe[7] << 32;
	unsigned qid = sqe[10] & 0xffff, size = (sqe[10] >> 16) + 1;
	uint8_t *p;

	switch (op) {
	case 0x06: /* Identify */
		p = translate(f, prp1, PAGE);
		if (!p)
			return 0x04;
		memset(p, 0, PAGE);
		if ((sqe[10] & 0xff) == 0x01) {
			p[0] = 0x36;
			p[1] = 0x1b;
			pad(p + 4, "FAKE-SN-0001", 20);
			pad(p + 24, "iommutest fake NVMe", 40);
			pad(p + 64, "1.0", 8);
			p[77] = (uint8_t)f->cfg.mdts;
			memcpy(p + 516, &f->cfg.nn, 4);
			return 0;
		}
		if ((sqe[10] & 0xff) == 0x00) {
			uint32_t lbaf = f->cfg.ms | (uint32_t)f->cfg.lbads << 16;

			if (sqe[1] == 0 || sqe[1] > f->cfg.nn)
				return 0x0b | 0x4000; /* invalid namespace, do not retry */
			memcpy(p, &f->cfg.blocks, 8);
			memcpy(p + 8, &f->cfg.blocks, 8);
			memcpy(p + 16, &f->cfg.blocks, 8);
			p[25] = 0; /* one LBA format */
			p[26] = 0;
			memcpy(p + 128, &lbaf, 4);
			return 0;
		}
		return 0x02;
	case 0x05: /* Create I/O Completion Queue */
		if (qid == 0 || qid >= MAX_Q || size > f->cfg.mqes + 1 || f->cq[qid].live)
			return 0x0101; /* invalid queue identifier */
		f->cq[qid] = (FakeQueue){.live = true, .base = prp1, .size = size, .phase = 1,
					 .ien = (sqe[11] >> 1) & 1};
		return 0;
	case 0x01: /* Create I/O Submission Queue */
		if (qid == 0 || qid >= MAX_Q || size > f->cfg.mqes + 1 || f->sq[qid].live)
			return 0x0101;
		if (!f->cq[sqe[11] >> 16].live || (sqe[11] >> 16) == 0)
			return 0x0100; /* completion queue invalid */
		f->sq[qid] = (FakeQueue){.live = true, .base = prp1, .size = size, .cqid = sqe[11] >> 16};
		return 0;
	case 0x09: /* Set Features */
		if ((sqe[10] & 0xff) == 0x07) { /* Number of Queues, 0's based */
			unsigned max = f->cfg.max_queues ?: MAX_Q - 1;
			unsigned nsq = (sqe[11] & 0xffff) + 1, ncq = (sqe[11] >> 16) + 1;

			nsq = nsq < max ? nsq : max;
			ncq = ncq < max ? ncq : max;

			*result = (ncq - 1) << 16 | (nsq - 1);
			return 0;
		}
		return 0x02;
	default:
		return 0x01;
	}
}

/* Moves one command's data between the disk at off and the PRPs. */
static uint16_t transfer(FakeNvme *f, const uint32_t *sqe, size_t off, size_t bytes, bool to_host)
{
	uint64_t prp1 = sqe[6] | (uint64_t)sqe[7] << 32, prp2 = sqe[8] | (uint64_t)sqe[9] << 32;
	size_t first = PAGE - prp1 % PAGE, done = 0;
	uint64_t segs[520];
	size_t lens[520], n = 0;

	first = first < bytes ? first : bytes;
	segs[n] = prp1;
	lens[n++] = first;
	if (bytes > first) {
		size_t rem = bytes - first;

		if (rem <= PAGE) {
			f->stats.prp2_pages++;
			segs[n] = prp2;
			lens[n++] = rem;
		} else {
			size_t pages = (rem + PAGE - 1) / PAGE;
			const uint64_t *list = (const uint64_t *)translate(f, prp2, pages * 8);

			f->stats.prp_lists++;
			if (!list || pages > 512 || prp2 % 8) {
				f->stats.transfer_errors++;
				return 0x04;
			}
			for (size_t i = 0; i < pages; i++, rem -= lens[n - 1]) {
				if (list[i] % PAGE)
					return 0x13; /* PRP offset invalid */
				segs[n] = list[i];
				lens[n++] = rem < PAGE ? rem : PAGE;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = translate(f, segs[i], lens[i]);

		if (!p) {
			f->stats.transfer_errors++;
			if (f->cfg.drop_untranslated) {
				done += lens[i];
				continue;
			}
			return 0x04;
		}
		if (to_host)
			memcpy(p, f->disk + off + done, lens[i]);
		else
			memcpy(f->disk + off + done, p, lens[i]);
		done += lens[i];
	}
	return 0;
}

static uint16_t io_exec(FakeNvme *f, const uint32_t *sqe)
{
	uint8_t op = sqe[0] & 0xff;
	uint64_t slba = sqe[10] | (uint64_t)sqe[11] << 32;
	uint32_t nlb = (sqe[12] & 0xffff) + 1;

	f->stats.io_commands++;
	if (f->fail_n > 0) {
		f->fail_n--;
		return f->fail_status;
	}
	if (sqe[1] != 1)
		return 0x0b;
	if (op == 0x00) {
		f->stats.flushes++;
		return 0;
	}
	if (op != 0x01 && op != 0x02)
		return 0x01;
	f->stats.last_nlb = nlb;
	if (slba + nlb > f->cfg.blocks)
		return 0x80;
	if (op == 0x02)
		f->stats.reads++;
	else
		f->stats.writes++;
	return transfer(f, sqe, (size_t)slba << f->cfg.lbads, (size_t)nlb << f->cfg.lbads, op == 0x02);
}

/* Fetches, executes and completes what SQ q holds; false when the controller went fatal. */
static bool serve(FakeNvme *f, unsigned q)
{
	FakeQueue *sq = &f->sq[q];
	unsigned tail = r32(f, DOORBELLS + 2 * q * stride(f)) % sq->size;

	while (sq->head != tail) {
		uint32_t sqe[16], *cqe;
		FakeQueue *cq = &f->cq[sq->cqid];
		uint8_t *p = translate(f, sq->base + (uint64_t)sq->head * 64, 64);
		uint16_t status;
		uint32_t result;

		if (!p)
			return false;
		memcpy(sqe, p, 64);
		sq->head = (sq->head + 1) % sq->size;
		result = 0;
		if (q == 0)
			status = admin_exec(f, sqe, &result);
		else {
			status = io_exec(f, sqe);
			f->stats.io_by_queue[q]++;
		}
		cqe = (uint32_t *)translate(f, cq->base + (uint64_t)cq->tail * 16, 16);
		if (!cqe)
			return false;
		cqe[0] = result;
		cqe[1] = 0;
		cqe[2] = sq->head | q << 16;
		__atomic_store_n(&cqe[3], (sqe[0] >> 16) | cq->phase << 16 | (uint32_t)status << 17,
				 __ATOMIC_RELEASE);
		if (++cq->tail == cq->size) {
			cq->tail = 0;
			cq->phase ^= 1;
		}
		if (cq->ien && f->cfg.interrupt)
			f->cfg.interrupt();
	}
	return true;
}

static void step(FakeNvme *f)
{
	uint32_t cc = r32(f, REG_CC);

	if (f->removed) {
		memset(f->bar, 0xff, BAR_SIZE);
		return;
	}
	if (!(cc & 1)) {
		if (f->enabled || f->fatal) {
			/* Disabling deletes every queue and clears a fatal status. */
			memset(f->sq, 0, sizeof(f->sq));
			memset(f->cq, 0, sizeof(f->cq));
			/* A real controller keeps no doorbell values across a reset. */
			memset(f->bar + DOORBELLS, 0, BAR_SIZE - DOORBELLS);
			f->enabled = f->fatal = false;
			w32(f, REG_CSTS, 0);
		}
		return;
	}
	if (!f->enabled && !f->fatal && !f->cfg.never_ready) {
		uint32_t aqa = r32(f, REG_AQA);

		f->enabled = true;
		f->stats.enables++;
		f->sq[0] = (FakeQueue){.live = true, .base = r64(f, REG_ASQ), .size = (aqa & 0xfff) + 1};
		f->cq[0] = (FakeQueue){.live = true, .base = r64(f, REG_ACQ),
				       .size = ((aqa >> 16) & 0xfff) + 1, .phase = 1, .ien = true};
		w32(f, REG_CSTS, 1);
	}
	if (!f->enabled || f->fatal)
		return;
	for (unsigned q = 0; q < MAX_Q; q++) {
		bool ok;

		if (!f->sq[q].live || (q > 0 && f->stall))
			continue;
		if (f->cfg.dma_lock)
			f->cfg.dma_lock();
		ok = serve(f, q);
		if (f->cfg.dma_unlock)
			f->cfg.dma_unlock();
		if (!ok) {
			f->fatal = true;
			w32(f, REG_CSTS, r32(f, REG_CSTS) | 2);
			return;
		}
	}
}

static void *fake_main(void *userdata)
{
	FakeNvme *f = userdata;
	struct timespec ts = {.tv_nsec = 2000};

	for (;;) {
		pthread_mutex_lock(&f->lock);
		if (f->stop) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		step(f);
		pthread_mutex_unlock(&f->lock);
		(void)nanosleep(&ts, NULL);
	}
}

FakeNvme *fake_nvme_new(const FakeNvmeConfig *cfg)
{
	FakeNvme *f = calloc(1, sizeof(*f));
	uint64_t cap;

	ck_assert_ptr_nonnull(f);
	f->cfg = *cfg;
	if (!f->cfg.mqes)
		f->cfg.mqes = 1023;
	if (!f->cfg.to)
		f->cfg.to = 2;
	if (!f->cfg.nn)
		f->cfg.nn = 1;
	if (!f->cfg.blocks)
		f->cfg.blocks = 2048;
	if (!f->cfg.lbads)
		f->cfg.lbads = 9;
	f->bar = f->cfg.bar ?: aligned_alloc(PAGE, BAR_SIZE);
	ck_assert_ptr_nonnull(f->bar);
	memset(f->bar, 0, BAR_SIZE);
	f->disk_size = (size_t)f->cfg.blocks << f->cfg.lbads;
	f->disk = calloc(1, f->disk_size);
	ck_assert_ptr_nonnull(f->disk);
	/* MQES, CQR, TO, DSTRD, CSS = NVM, MPSMIN. */
	cap = f->cfg.mqes | 1u << 16 | (uint64_t)f->cfg.to << 24 | (uint64_t)f->cfg.dstrd << 32 |
	      UINT64_C(1) << 37 | (uint64_t)f->cfg.mpsmin << 48;
	memcpy(f->bar + REG_CAP, &cap, 8);
	w32(f, REG_VS, 0x00010400);
	pthread_mutex_init(&f->lock, NULL);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return f;
}

void fake_nvme_free(FakeNvme *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->lock);
	if (!f->cfg.bar)
		free(f->bar);
	free(f->disk);
	free(f);
}

volatile uint8_t *fake_nvme_bar(FakeNvme *f)
{
	return f->bar;
}

uint64_t fake_nvme_bar_size(FakeNvme *f)
{
	(void)f;
	return BAR_SIZE;
}

uint8_t *fake_nvme_disk(FakeNvme *f)
{
	return f->disk;
}

void fake_nvme_map(FakeNvme *f, uint64_t iova, void *va, size_t size)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < MAX_WIN; i++)
		if (!f->win[i].used) {
			f->win[i].used = true;
			f->win[i].iova = iova;
			f->win[i].va = va;
			f->win[i].size = size;
			pthread_mutex_unlock(&f->lock);
			return;
		}
	pthread_mutex_unlock(&f->lock);
	ck_abort_msg("fake-nvme: more than %u windows", MAX_WIN);
}

void fake_nvme_unmap(FakeNvme *f, uint64_t iova)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < MAX_WIN; i++)
		if (f->win[i].used && f->win[i].iova == iova)
			f->win[i].used = false;
	pthread_mutex_unlock(&f->lock);
}

void fake_nvme_fail_next(FakeNvme *f, uint16_t status, unsigned n)
{
	pthread_mutex_lock(&f->lock);
	f->fail_status = status;
	f->fail_n = n;
	pthread_mutex_unlock(&f->lock);
}

void fake_nvme_set_fatal(FakeNvme *f)
{
	pthread_mutex_lock(&f->lock);
	f->fatal = true;
	w32(f, REG_CSTS, r32(f, REG_CSTS) | 2);
	pthread_mutex_unlock(&f->lock);
}

void fake_nvme_stall(FakeNvme *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->stall = on;
	pthread_mutex_unlock(&f->lock);
}

void fake_nvme_remove(FakeNvme *f)
{
	pthread_mutex_lock(&f->lock);
	f->removed = true;
	memset(f->bar, 0xff, BAR_SIZE);
	pthread_mutex_unlock(&f->lock);
}

void fake_nvme_stats(FakeNvme *f, FakeNvmeStats *ret)
{
	pthread_mutex_lock(&f->lock);
	*ret = f->stats;
	pthread_mutex_unlock(&f->lock);
}
