/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verified NVMe traffic: see traffic-nvme.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backends/vfio/dma-engine.h"
#include "backends/vfio/traffic-nvme.h"
#include "core/backend.h"
#include "counter.h"
#include "macro.h"
#include "pacer.h"
#include "parse-util.h"

/* PCI class code of an NVM Express I/O controller: mass storage, NVM, NVMe. */
#define NVME_CLASS 0x010802u
/* QEMU answers in microseconds; a second is a lost command, not a slow guest. */
#define CMD_TIMEOUT_NS	 (2 * NSEC_PER_SEC)
#define RECOVER_ATTEMPTS 5
#define RECOVER_PAUSE_NS (20 * NSEC_PER_MSEC)
/* No new attempt after this long: the RID's replacements wait for a recovery. */
#define RECOVER_MAX_NS (10 * NSEC_PER_SEC)
/* The read-verify reference copy lives in the daemon's memory. */
#define REFERENCE_MAX (64u << 20)
#define SLOTS_MAX     256u

static bool nvme_match(uint16_t vendor, uint16_t device, uint32_t class)
{
	return class == NVME_CLASS;
}

const DmaEngineDriver dma_engine_nvme = {
	.name = "nvme",
	.description = "NVMe controller",
	.match = nvme_match,
	.block = true,
	.bar = 0,
	.min_bar_size = NVME_BAR_MIN,
	.max_transfer = NVME_MAX_TRANSFER,
	.max_transfer_why = "one PRP list page per command",
	.dma_limit = UINT64_MAX,
};

typedef enum SlotState {
	SLOT_FREE,
	SLOT_WRITE, /* write-verify: the pattern is being written */
	SLOT_READ,
} SlotState;

/* One command in flight (a Write then a Read in write-verify mode) and its buffers. */
typedef struct Slot {
	SlotState state;
	uint64_t seq;
	uint64_t chunk; /* which Size= piece of the LBA range */
	TrafficWindow win;
	uint8_t *wbuf, *rbuf;
	uint64_t wiova, riova;
	uint64_t deadline; /* CLOCK_MONOTONIC: the command in flight is lost after this */
	unsigned qid;	   /* its I/O queue: slots are spread over the queues in turn */
} Slot;

struct NvmeTraffic {
	NvmeCtrl *ctrl;
	/* As identified at setup; a recovery rewrites the driver's copy while Describe() may read. */
	NvmeIdentity id;
	const Scenario *s;
	NvmeNamespace ns;
	unsigned depth, n_queues, n_slots;
	uint32_t size, blocks_per_cmd;
	uint64_t lba_start, lba_count, n_chunks;
	uint8_t *reference; /* read-verify: n_chunks × size bytes */
	Slot *slots;
	int *slot_of_cid; /* by (qid - 1) × depth + command identifier, -1 when none */
	uint64_t seq, next_chunk;

	/* Written by the traffic thread only, read by describe(). */
	uint64_t resets, fatal, timeouts;
};

int nvme_traffic_check_scenario(Scenario *s, ScenarioCheck *c)
{
	uint64_t per_slot = (uint64_t)s->dma_size * (s->nvme_mode == NVME_MODE_WRITE_VERIFY ? 2 : 1);

	if (s->dma_size % 512)
		return scenario_check_fail(c, "Traffic.Size",
					   "Engine=nvme moves whole logical blocks: a multiple of 512 bytes (the namespace's LBA size is checked when it is identified)");
	if (s->queue_depth > NVME_MAX_DEPTH)
		return scenario_check_fail(c, "Traffic.QueueDepth",
					   "at most %u (the controller's own limit, CAP.MQES, is checked when it is enabled)",
					   NVME_MAX_DEPTH);
	if (s->queues > NVME_MAX_IO_QUEUES)
		return scenario_check_fail(c, "Traffic.Queues",
					   "at most %u (this driver's limit; the controller's own, Set Features Number of Queues, is checked when it is enabled)",
					   NVME_MAX_IO_QUEUES);
	if (s->nvme_mode == NVME_MODE_WRITE_VERIFY &&
	    (!scenario_check_is_set(c, "Traffic.NvmeLBA") || !s->nvme_allow_write))
		return scenario_check_fail(c, "Traffic.NvmeMode",
					   "write-verify overwrites the namespace: it needs NvmeLBA=START+COUNT naming the blocks it may destroy%s%s",
					   scenario_check_is_set(c, "Traffic.NvmeLBA") ? "" : " (not set)",
					   s->nvme_allow_write ? "" : " and NvmeAllowWrite=yes (not set)");
	if (per_slot > s->map_size)
		return scenario_check_fail(c, scenario_check_later(c, "Domains.MapSize", "Traffic.Size"),
					   "MapSize=%" PRIu64 " holds no command's data: %s needs %" PRIu64 " bytes per command",
					   s->map_size, nvme_mode_to_string(s->nvme_mode), per_slot);
	return 0;
}

size_t nvme_traffic_control_size(const Scenario *s)
{
	return nvme_control_size(s->queues, s->queue_depth);
}


static void slots_reset(NvmeTraffic *t)
{
	for (unsigned i = 0; i < t->n_slots; i++)
		t->slots[i].state = SLOT_FREE;
	for (unsigned i = 0; i < t->n_queues * t->depth; i++)
		t->slot_of_cid[i] = -1;
}

static uint64_t chunk_lba(const NvmeTraffic *t, uint64_t chunk)
{
	return t->lba_start + chunk * t->blocks_per_cmd;
}

static int submit(NvmeTraffic *t, Slot *sl, uint8_t op)
{
	int cid = nvme_submit(t->ctrl, sl->qid, op, t->ns.nsid, chunk_lba(t, sl->chunk),
			      t->ns.lba_size, op == NVME_CMD_WRITE ? sl->wiova : sl->riova, t->size);

	sl->deadline = now_ns(CLOCK_MONOTONIC) + CMD_TIMEOUT_NS;
	if (cid >= 0)
		t->slot_of_cid[(sl->qid - 1) * t->depth + (unsigned)cid] = (int)(sl - t->slots);
	return cid < 0 ? cid : 0;
}

/* What a Read of chunk must not leave in the buffer: the complement of the expected data. */
static void poison(NvmeTraffic *t, Slot *sl)
{
	if (t->s->nvme_mode == NVME_MODE_WRITE_VERIFY) {
		dma_pattern_poison(sl->rbuf, t->size, sl->seq);
		return;
	}
	for (uint32_t i = 0; i < t->size; i++)
		sl->rbuf[i] = (uint8_t)~t->reference[sl->chunk * t->size + i];
}

/* Synchronous command for setup: its status, or a negative errno. */
static int command_sync(NvmeTraffic *t, Slot *sl, uint8_t op)
{
	NvmeCompletion done;
	int r;

	r = submit(t, sl, op);
	if (r < 0)
		return r;
	r = nvme_wait(t->ctrl, sl->qid, CMD_TIMEOUT_NS, &done);
	if (r < 0)
		return r;
	t->slot_of_cid[(sl->qid - 1) * t->depth + done.cid % t->depth] = -1;
	return done.status;
}

static const char *wait_error(int r)
{
	return r == -ETIMEDOUT ? "no completion within 2 s" : nvme_error_to_string(r);
}

/* Checks the scenario against the controller and namespace; chooses range and slots. */
static int layout(NvmeTraffic *t, const NvmeDma *data, char **error)
{
	const Scenario *s = t->s;
	const NvmeIdentity *id = nvme_identity(t->ctrl);
	bool write = s->nvme_mode == NVME_MODE_WRITE_VERIFY;
	uint64_t per_slot = (uint64_t)t->size * (write ? 2 : 1);

	char size[16], lba[48];

	snprintf(size, sizeof(size), "%" PRIu32, t->size);
	snprintf(lba, sizeof(lba), "%" PRIu64 "+%" PRIu64, s->nvme_lba_start, s->nvme_lba_count);
	if (t->size % t->ns.lba_size)
		return backend_key_errorf(error, -EINVAL, s, "Traffic.Size", size,
					  "not a multiple of namespace %" PRIu32 "'s LBA size (%" PRIu32 " bytes)",
					  t->ns.nsid, t->ns.lba_size);
	if (id->mdts_bytes && t->size > id->mdts_bytes)
		return backend_key_errorf(error, -EINVAL, s, "Traffic.Size", size,
					  "above the controller's maximum data transfer size (MDTS: %" PRIu32 " bytes)",
					  id->mdts_bytes);
	t->blocks_per_cmd = t->size / t->ns.lba_size;
	/* depth - 1 commands per queue at most: a submission queue holds one entry fewer. */
	t->n_slots = (unsigned)MIN(MIN((uint64_t)t->n_queues * (t->depth - 1), data->size / per_slot),
				   (uint64_t)SLOTS_MAX);

	if (s->nvme_lba_count) {
		t->lba_start = s->nvme_lba_start;
		t->lba_count = s->nvme_lba_count;
		if (t->lba_start >= t->ns.blocks || t->lba_count > t->ns.blocks - t->lba_start)
			return backend_key_errorf(error, -EINVAL, s, "Traffic.NvmeLBA", lba,
						  "runs beyond the end of namespace %" PRIu32 " (%" PRIu64 " blocks of %" PRIu32 " bytes)",
						  t->ns.nsid, t->ns.blocks, t->ns.lba_size);
	} else {
		/* One chunk per slot from block 0, as far as the namespace and the reference copy go. */
		if (!write)
			t->n_slots = (unsigned)MIN((uint64_t)t->n_slots, MAX(REFERENCE_MAX / t->size, 1u));
		t->lba_start = 0;
		t->lba_count = MIN((uint64_t)t->blocks_per_cmd * t->n_slots, t->ns.blocks);
	}
	t->n_chunks = t->lba_count / t->blocks_per_cmd;
	if (t->n_chunks == 0) {
		if (s->nvme_lba_count)
			return backend_key_errorf(error, -EINVAL, s, "Traffic.NvmeLBA", lba,
						  "%" PRIu64 " blocks are fewer than one command moves (Size=%" PRIu32 ": %" PRIu32 " blocks)",
						  t->lba_count, t->size, t->blocks_per_cmd);
		return backend_key_errorf(error, -EINVAL, s, "Traffic.Size", size,
					  "one command moves %" PRIu32 " blocks, more than namespace %" PRIu32 " has (%" PRIu64 ")",
					  t->blocks_per_cmd, t->ns.nsid, t->lba_count);
	}
	/* Two slots writing one chunk would race: in write-verify each slot owns its chunks. */
	if (write)
		t->n_slots = (unsigned)MIN((uint64_t)t->n_slots, t->n_chunks);
	if (!write && t->n_chunks * t->size > REFERENCE_MAX)
		return backend_key_errorf(error, -EINVAL, s, "Traffic.NvmeLBA", lba,
					  "covers %" PRIu64 " MiB, more than the %u MiB reference copy read-verify keeps in memory",
					  t->n_chunks * t->size >> 20, REFERENCE_MAX >> 20);

	t->slots = calloc(t->n_slots, sizeof(Slot));
	t->slot_of_cid = calloc((size_t)t->n_queues * t->depth, sizeof(int));
	if (!t->slots || !t->slot_of_cid)
		return -ENOMEM;
	for (unsigned i = 0; i < t->n_slots; i++) {
		uint64_t off = i * per_slot;
		Slot *sl = &t->slots[i];

		sl->wbuf = (uint8_t *)data->va + off;
		sl->wiova = data->iova + off;
		sl->rbuf = sl->wbuf + (write ? t->size : 0);
		sl->riova = sl->wiova + (write ? t->size : 0);
		sl->qid = 1 + i % t->n_queues;
	}
	slots_reset(t);
	return 0;
}

/* Read-verify: the range as it is now, while the attachment is stable. */
static int read_reference(NvmeTraffic *t, char **error)
{
	Slot *sl = &t->slots[0];
	char buf[64];
	int r;

	t->reference = malloc(t->n_chunks * t->size);
	if (!t->reference)
		return -ENOMEM;
	for (uint64_t c = 0; c < t->n_chunks; c++) {
		sl->chunk = c;
		r = command_sync(t, sl, NVME_CMD_READ);
		if (r < 0)
			return backend_errorf(error, r,
					      "NVMe reference read of LBA %" PRIu64 "+%" PRIu32 " failed: %s",
					      chunk_lba(t, c), t->blocks_per_cmd, wait_error(r));
		if (r > 0)
			return backend_errorf(error, -EIO,
					      "NVMe reference read of LBA %" PRIu64 "+%" PRIu32 " failed: %s",
					      chunk_lba(t, c), t->blocks_per_cmd,
					      nvme_status_to_string((uint16_t)r, buf));
		memcpy(t->reference + c * t->size, sl->rbuf, t->size);
	}
	return 0;
}

int nvme_traffic_new(volatile uint8_t *bar, uint64_t bar_size, const NvmeDma *control,
		     const NvmeDma *data, int irq_fd, const Scenario *s, NvmeTraffic **ret,
		     char **error)
{
	NvmeTraffic *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->size = s->dma_size;
	t->depth = s->queue_depth;
	t->n_queues = s->queues;

	r = nvme_open(bar, bar_size, control, &t->ctrl, error);
	if (r < 0)
		goto fail;
	nvme_set_irq_fd(t->ctrl, irq_fd);
	if (t->depth > nvme_identity(t->ctrl)->max_queue_depth) {
		char depth[16];

		snprintf(depth, sizeof(depth), "%u", t->depth);
		r = backend_key_errorf(error, -EINVAL, s, "Traffic.QueueDepth", depth,
				       "above the controller's limit of %" PRIu32 " entries (CAP.MQES)",
				       nvme_identity(t->ctrl)->max_queue_depth);
		goto fail;
	}
	r = nvme_enable(t->ctrl, t->n_queues, t->depth, error);
	if (r < 0) {
		unsigned granted = nvme_identity(t->ctrl)->queues_granted;

		/* Fewer queues than asked: the scenario's key, in the parser's words. */
		if (granted && granted < t->n_queues) {
			char queues[16];

			snprintf(queues, sizeof(queues), "%u", t->n_queues);
			r = backend_key_errorf(error, -EINVAL, s, "Traffic.Queues", queues,
					       "the NVMe controller grants %u I/O queue pairs (Set Features, Number of Queues)",
					       granted);
		}
		goto fail;
	}
	r = nvme_identify_namespace(t->ctrl, s->nvme_namespace, &t->ns, error);
	if (r < 0) {
		_cleanup_free_ char *why = TAKE_PTR(*error);
		char nsid[16];

		snprintf(nsid, sizeof(nsid), "%" PRIu32, s->nvme_namespace);
		r = backend_key_errorf(error, r, s, "Traffic.Namespace", nsid, "%s",
				       why ?: strerror(-r));
		goto fail;
	}
	t->id = *nvme_identity(t->ctrl);
	r = layout(t, data, error);
	if (r < 0)
		goto fail;
	if (s->nvme_mode == NVME_MODE_READ_VERIFY) {
		r = read_reference(t, error);
		if (r < 0)
			goto fail;
	}
	/* No DMA until traffic starts: the backend detaches its trial attachment now. */
	r = nvme_disable(t->ctrl);
	if (r < 0) {
		r = backend_errorf(error, r, "disabling the NVMe controller after identifying it failed: %s",
				   strerror(-r));
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	nvme_traffic_free(t);
	return r;
}

int nvme_traffic_resume(NvmeTraffic *t, char **error)
{
	int r = nvme_enable(t->ctrl, t->n_queues, t->depth, error);

	if (r >= 0)
		slots_reset(t);
	return r;
}

/* Starts slot sl on its next chunk: a Write in write-verify mode, else a Read. */
static int slot_start(NvmeTraffic *t, const NvmeTrafficHooks *h, Slot *sl)
{
	unsigned i = (unsigned)(sl - t->slots);
	int r;

	sl->seq = ++t->seq;
	if (t->s->nvme_mode == NVME_MODE_WRITE_VERIFY) {
		/* Slot i owns chunks i, i + n_slots, …: no two commands touch one block. */
		uint64_t laps = MAX(t->n_chunks / t->n_slots, (uint64_t)1);

		sl->chunk = i + t->n_slots * (sl->seq / t->n_slots % laps);
		dma_pattern_fill(sl->wbuf, t->size, sl->seq);
		h->window_open(h->userdata, &sl->win);
		r = submit(t, sl, NVME_CMD_WRITE);
		sl->state = SLOT_WRITE;
	} else {
		sl->chunk = t->next_chunk;
		t->next_chunk = (t->next_chunk + 1) % t->n_chunks;
		poison(t, sl);
		h->window_open(h->userdata, &sl->win);
		r = submit(t, sl, NVME_CMD_READ);
		sl->state = SLOT_READ;
	}
	if (r < 0)
		sl->state = SLOT_FREE;
	return r;
}

static void slot_fault(NvmeTraffic *t, const NvmeTrafficHooks *h, Slot *sl, unsigned reason,
		       FaultAccess access, uint64_t iova, const char *fmt, ...) _printf_(7, 8);
static void slot_fault(NvmeTraffic *t, const NvmeTrafficHooks *h, Slot *sl, unsigned reason,
		       FaultAccess access, uint64_t iova, const char *fmt, ...)
{
	uint32_t dom = UINT32_MAX;
	bool during = h->window_close(h->userdata, &sl->win, &dom);
	char text[160];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	h->fault(h->userdata, sl->seq, reason, access, iova, during, dom, text);
}

/* Checks a completed Read's data; counts it either way. */
static void verify(NvmeTraffic *t, const NvmeTrafficHooks *h, Slot *sl)
{
	uint64_t lba = chunk_lba(t, sl->chunk);
	uint32_t dom;
	DmaCheck c = {};

	if (!t->s->verify) {
		(void)h->window_close(h->userdata, &sl->win, &dom);
		h->ok(h->userdata);
		return;
	}
	if (t->s->nvme_mode == NVME_MODE_WRITE_VERIFY) {
		if (dma_pattern_check(sl->rbuf, t->size, sl->seq, &c)) {
			(void)h->window_close(h->userdata, &sl->win, &dom);
			h->ok(h->userdata);
			return;
		}
	} else {
		const uint8_t *ref = t->reference + sl->chunk * t->size;
		bool poisoned = true;

		if (memcmp(sl->rbuf, ref, t->size) == 0) {
			(void)h->window_close(h->userdata, &sl->win, &dom);
			h->ok(h->userdata);
			return;
		}
		for (uint32_t i = 0; i < t->size; i++) {
			if (sl->rbuf[i] != ref[i] && !c.reason) {
				c = (DmaCheck){.reason = DMA_FAULT_MISMATCH, .offset = i,
					       .expected = ref[i], .got = sl->rbuf[i]};
			}
			if ((sl->rbuf[i] ^ ref[i]) != 0xff)
				poisoned = false;
		}
		if (poisoned)
			c.reason = DMA_FAULT_NOT_WRITTEN;
	}
	switch (c.reason) {
	case DMA_FAULT_NOT_WRITTEN:
		slot_fault(t, h, sl, c.reason, FAULT_ACCESS_WRITE, sl->riova,
			   "Read of LBA %" PRIu64 "+%" PRIu32 " completed, and its buffer was not written",
			   lba, t->blocks_per_cmd);
		break;
	case DMA_FAULT_STALE:
		slot_fault(t, h, sl, c.reason, FAULT_ACCESS_READ, sl->wiova,
			   "LBA %" PRIu64 " reads back write %" PRIu64 "'s data", lba, c.stale_seq);
		break;
	default:
		slot_fault(t, h, sl, DMA_FAULT_MISMATCH,
			   t->s->nvme_mode == NVME_MODE_WRITE_VERIFY ? FAULT_ACCESS_READ : FAULT_ACCESS_WRITE,
			   t->s->nvme_mode == NVME_MODE_WRITE_VERIFY ? sl->wiova : sl->riova,
			   "LBA %" PRIu64 " mismatch at +%zu: 0x%02x, expected 0x%02x", lba, c.offset,
			   c.got, c.expected);
		break;
	}
}

/* A completion: 1 when its slot is free again, 0 when it went on to its Read. */
static int complete(NvmeTraffic *t, const NvmeTrafficHooks *h, const NvmeCompletion *done)
{
	unsigned idx = (done->qid - 1u) * t->depth + done->cid;
	int i = done->qid >= 1 && done->qid <= t->n_queues && done->cid < t->depth ? t->slot_of_cid[idx] : -1;
	Slot *sl;
	char buf[32];

	if (i < 0)
		return 0; /* not ours: nothing was waiting for it */
	t->slot_of_cid[idx] = -1;
	sl = &t->slots[i];
	if (done->status) {
		bool wr = sl->state == SLOT_WRITE;

		slot_fault(t, h, sl, DMA_FAULT_STATUS, wr ? FAULT_ACCESS_READ : FAULT_ACCESS_WRITE,
			   wr ? sl->wiova : sl->riova,
			   "%s of LBA %" PRIu64 "+%" PRIu32 ": %s (status 0x%03x)", wr ? "Write" : "Read",
			   chunk_lba(t, sl->chunk), t->blocks_per_cmd,
			   nvme_status_to_string(done->status, buf), done->status);
		sl->state = SLOT_FREE;
		return 1;
	}
	if (sl->state == SLOT_WRITE) {
		poison(t, sl);
		/* The window stays open from the Write: a fault in either half is the pair's. */
		if (submit(t, sl, NVME_CMD_READ) == 0) {
			sl->state = SLOT_READ;
			return 0;
		}
		slot_fault(t, h, sl, DMA_FAULT_ENGINE, FAULT_ACCESS_UNKNOWN, sl->riova,
			   "the read-back of LBA %" PRIu64 " could not be queued", chunk_lba(t, sl->chunk));
		sl->state = SLOT_FREE;
		return 1;
	}
	verify(t, h, sl);
	sl->state = SLOT_FREE;
	return 1;
}

/* After a fatal status or a lost command: disable, enable, carry on; false when it stays down. */
static bool recover(NvmeTraffic *t, const NvmeTrafficHooks *h, const char *after)
{
	_cleanup_free_ char *err = NULL;
	char reason[320];
	int r = 0;

	/*
	 * With replacements going on at full speed, the admin commands of a
	 * re-initialisation meet a clear-then-update window as surely as the
	 * I/O did: replacements are held until the queues are back.
	 */
	uint64_t start = now_ns(CLOCK_MONOTONIC);

	h->hold(h->userdata, true);
	for (unsigned i = 0; i < RECOVER_ATTEMPTS && now_ns(CLOCK_MONOTONIC) - start < RECOVER_MAX_NS; i++) {
		/* Every attempt starts from a disabled controller: a fatal one clears its status. */
		err = mfree(err);
		r = nvme_enable(t->ctrl, t->n_queues, t->depth, &err);
		if (r >= 0) {
			h->hold(h->userdata, false);
			counter_inc(t->resets);
			slots_reset(t);
			return true;
		}
		if (r == -ENODEV || h->stopping(h->userdata))
			break;
		sleep_ns(RECOVER_PAUSE_NS);
	}
	h->hold(h->userdata, false);
	(void)snprintf(reason, sizeof(reason),
		       r == -ENODEV ? "device removed (NVMe registers read all ones)"
				    : "the NVMe controller did not come back after %s: %s",
		       after, err ?: strerror(-r));
	h->fail(h->userdata, r == -ENODEV ? -ENODEV : -EIO, reason);
	return false;
}

/* The slot in flight whose command is due first: the one a timeout belongs to. */
static Slot *oldest_busy(NvmeTraffic *t)
{
	Slot *best = NULL;

	for (unsigned i = 0; i < t->n_slots; i++)
		if (t->slots[i].state != SLOT_FREE && (!best || t->slots[i].deadline < best->deadline))
			best = &t->slots[i];
	return best;
}

void nvme_traffic_run(NvmeTraffic *t, const NvmeTrafficHooks *h)
{
	const Scenario *s = t->s;
	bool paced = s->dma_rate > 0;
	unsigned in_flight = 0;
	Pacer pacer;

	pacer_init(&pacer, paced ? (uint64_t)llround(1e9 / s->dma_rate) : 0, now_ns(CLOCK_MONOTONIC));
	for (;;) {
		bool stopping = h->stopping(h->userdata);
		NvmeCompletion done;
		Slot *sl;
		int r;

		/* Keep every slot busy at Rate=max; one command per tick when paced. */
		while (!stopping && in_flight < (paced ? 1u : t->n_slots)) {
			sl = NULL;
			for (unsigned i = 0; i < t->n_slots && !sl; i++)
				if (t->slots[i].state == SLOT_FREE)
					sl = &t->slots[i];
			if (!sl)
				break;
			if (paced && !pacer_wait(&pacer, h->stopping, h->userdata)) {
				stopping = true;
				break;
			}
			r = slot_start(t, h, sl);
			if (r == -EBUSY)
				break;
			if (r < 0) {
				h->fail(h->userdata, r == -ENODEV ? -ENODEV : r,
					r == -ENODEV ? "device removed (NVMe registers read all ones)"
						     : "the NVMe driver refused a command it was built to take");
				return;
			}
			in_flight++;
		}
		if (in_flight == 0) {
			if (stopping)
				return;
			continue;
		}

		/* Each command has its own deadline: others completing do not extend it. */
		sl = oldest_busy(t);
		{
			uint64_t now = now_ns(CLOCK_MONOTONIC);

			r = nvme_wait(t->ctrl, 0, sl && sl->deadline > now ? sl->deadline - now : 0, &done);
		}
		if (r == 0) {
			in_flight -= (unsigned)complete(t, h, &done);
			continue;
		}
		sl = oldest_busy(t);
		if (r == -ENODEV) {
			if (sl)
				slot_fault(t, h, sl, DMA_FAULT_ENGINE, FAULT_ACCESS_UNKNOWN, sl->riova,
					   "the NVMe controller stopped answering (registers read all ones)");
			h->fail(h->userdata, -ENODEV, "device removed (NVMe registers read all ones)");
			return;
		}
		/* One fault for the event, whatever was in flight: the reset discards it all. */
		if (r == -EIO) {
			counter_inc(t->fatal);
			if (sl)
				slot_fault(t, h, sl, DMA_FAULT_FATAL, FAULT_ACCESS_UNKNOWN, sl->riova,
					   "the NVMe controller went into fatal status (CSTS.CFS) with %u commands in flight; resetting it",
					   in_flight);
		} else {
			counter_inc(t->timeouts);
			if (sl)
				slot_fault(t, h, sl, DMA_FAULT_TIMEOUT, FAULT_ACCESS_UNKNOWN, sl->riova,
					   "no NVMe completion within %" PRIu64 " ms (%u commands in flight); resetting the controller",
					   CMD_TIMEOUT_NS / NSEC_PER_MSEC, in_flight);
		}
		in_flight = 0;
		if (!recover(t, h, r == -EIO ? "a fatal status" : "a lost command"))
			return;
		if (stopping)
			return;
	}
}

void nvme_traffic_describe(NvmeTraffic *t, JsonWriter *j)
{
	const NvmeIdentity *id = &t->id;
	char version[16];

	(void)snprintf(version, sizeof(version), "%u.%u.%u", id->version >> 16,
		       (id->version >> 8) & 0xff, id->version & 0xff);
	json_object_begin(j, "nvme");
	json_string(j, "model", id->model);
	json_string(j, "serial", id->serial);
	json_string(j, "firmware", id->firmware);
	json_string(j, "version", version);
	json_u64(j, "mdts_bytes", id->mdts_bytes);
	json_u64(j, "max_queue_depth", id->max_queue_depth);
	json_u64(j, "namespace", t->ns.nsid);
	json_u64(j, "namespace_blocks", t->ns.blocks);
	json_u64(j, "lba_size", t->ns.lba_size);
	json_string(j, "mode", nvme_mode_to_string(t->s->nvme_mode));
	json_u64(j, "lba_start", t->lba_start);
	json_u64(j, "lba_count", t->n_chunks * t->blocks_per_cmd);
	json_u64(j, "queue_depth", t->depth);
	json_u64(j, "queues", t->n_queues);
	json_string(j, "completions", nvme_completions_to_string(t->s->nvme_completions));
	json_u64(j, "queues_granted", id->queues_granted);
	json_u64(j, "commands_in_flight", t->n_slots);
	json_u64(j, "fatal_statuses", counter_get(t->fatal));
	json_u64(j, "timeouts", counter_get(t->timeouts));
	json_u64(j, "resets", counter_get(t->resets));
	json_object_end(j);
}

void nvme_traffic_free(NvmeTraffic *t)
{
	if (!t)
		return;
	nvme_close(t->ctrl);
	free(t->reference);
	free(t->slots);
	free(t->slot_of_cid);
	free(t);
}

/* A sysfs attribute of dir as one trimmed line; NULL when it cannot be read. */
static char *attr(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char line[256];
	size_t n;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || !(f = fopen(path, "re")) ||
	    !fgets(line, sizeof(line), f))
		return NULL;
	n = strcspn(line, "\n");
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n] = 0;
	return strdup(line);
}

static uint64_t attr_u64(const char *dir, const char *name)
{
	_cleanup_free_ char *v = attr(dir, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

/* The kernel driver's view: <syspath>/nvme/nvmeN. false when there is none. */
static bool describe_sysfs(const PciDevice *d, JsonWriter *j)
{
	_cleanup_free_ char *base = NULL, *ctrl = NULL;
	_cleanup_closedir_ DIR *dir = NULL, *nsdir = NULL;
	struct dirent *de;
	const char *keys[][2] = {{"model", "model"}, {"serial", "serial"}, {"firmware_rev", "firmware"},
				 {"queue_count", "queue_count"}, {"sqsize", "sqsize"}};
	uint64_t max_kb = 0;

	if (asprintf(&base, "%s/nvme", d->syspath) < 0 || !(dir = opendir(base)))
		return false;
	while ((de = readdir(dir)))
		if (strncmp(de->d_name, "nvme", 4) == 0) {
			if (asprintf(&ctrl, "%s/%s", base, de->d_name) < 0)
				return false;
			break;
		}
	if (!ctrl)
		return false;
	json_object_begin(j, "nvme");
	json_string(j, "source", "sysfs (the kernel's nvme driver)");
	json_string(j, "controller", strrchr(ctrl, '/') + 1);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		_cleanup_free_ char *v = attr(ctrl, keys[i][0]);

		json_string(j, keys[i][1], v);
	}
	json_array_begin(j, "namespaces");
	nsdir = opendir(ctrl);
	while (nsdir && (de = readdir(nsdir))) {
		_cleanup_free_ char *ns = NULL, *q = NULL;
		uint64_t lbs, sectors;

		/* nvme0n1, not nvme0n1p1 (partitions live inside) nor the controller's own files. */
		if (strncmp(de->d_name, "nvme", 4) != 0 || !strchr(de->d_name + 4, 'n') ||
		    strchr(strchr(de->d_name + 4, 'n'), 'p'))
			continue;
		if (asprintf(&ns, "%s/%s", ctrl, de->d_name) < 0 || asprintf(&q, "%s/queue", ns) < 0)
			break;
		lbs = attr_u64(q, "logical_block_size");
		sectors = attr_u64(ns, "size"); /* 512-byte units, whatever the LBA size */
		max_kb = MAX(max_kb, attr_u64(q, "max_hw_sectors_kb"));
		json_object_begin(j, NULL);
		json_string(j, "name", de->d_name);
		json_u64(j, "nsid", attr_u64(ns, "nsid"));
		json_u64(j, "bytes", sectors * 512);
		json_u64(j, "lba_size", lbs);
		json_u64(j, "blocks", lbs ? sectors * 512 / lbs : 0);
		json_object_end(j);
	}
	json_array_end(j);
	/* The block layer's limit is MDTS clipped to what the driver allows. */
	json_u64(j, "max_transfer_bytes", max_kb * 1024);
	json_object_end(j);
	return true;
}

/* Without the kernel's driver: CAP and VS through resource0, which reading does not disturb. */
static void describe_registers(const PciDevice *d, JsonWriter *j)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	volatile uint32_t *regs;
	uint64_t cap;
	uint32_t vs;
	char version[16];

	if (asprintf(&path, "%s/resource0", d->syspath) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	regs = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (regs == MAP_FAILED) {
		json_null(j, "nvme");
		json_string(j, "nvme_unavailable",
			    (errno == EACCES || errno == EPERM) && geteuid() != 0
				    ? "reading the NVMe registers (BAR0) needs root"
			    : errno == EPERM
				    ? "mapping BAR0 through sysfs is refused (kernel lockdown, or the service's sandbox)"
				    : "BAR0 cannot be mapped through sysfs (resource0)");
		return;
	}
	cap = regs[0] | (uint64_t)regs[1] << 32;
	vs = regs[2];
	(void)munmap((void *)regs, 4096);
	if (cap == UINT64_MAX) {
		json_null(j, "nvme");
		json_string(j, "nvme_unavailable",
			    "the NVMe registers read all ones (memory decoding off, or the device is in a low-power state)");
		return;
	}
	(void)snprintf(version, sizeof(version), "%u.%u.%u", vs >> 16, (vs >> 8) & 0xff, vs & 0xff);
	json_object_begin(j, "nvme");
	json_string(j, "source", "registers (no kernel driver bound)");
	json_string(j, "version", version);
	json_u64(j, "max_queue_depth", (cap & 0xffff) + 1);
	json_u64(j, "ready_timeout_ms", ((cap >> 24) & 0xff) * 500);
	json_u64(j, "doorbell_stride", 4u << ((cap >> 32) & 0xf));
	json_u64(j, "min_page_size", 4096u << ((cap >> 48) & 0xf));
	json_string(j, "identify",
		    "model, serial, firmware, namespaces and MDTS need the controller enabled: a run's Describe() shows them (backend_info.dma.nvme)");
	json_object_end(j);
}

void nvme_describe_host(const PciDevice *d, JsonWriter *j)
{
	if (!describe_sysfs(d, j))
		describe_registers(d, j);
}
