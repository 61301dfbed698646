/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The userspace NVMe driver against the fake controller (fakes/fake-nvme):
 * initialisation and its timeouts, identify parsing, PRP construction at
 * page boundaries, error statuses, a fatal status and recovery, phase-bit
 * wrap and a full ring, a controller that stops answering.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/vfio/nvme.h"
#include "fakes/fake-nvme.h"
#include "parse-util.h"

#define CTL_IOVA  UINT64_C(0x10000000)
#define DATA_IOVA UINT64_C(0x20000000)
#define DATA_SIZE (4u << 20)
#define TIMEOUT	  (5 * NSEC_PER_SEC)

typedef struct Rig {
	FakeNvme *fake;
	NvmeCtrl *ctrl;
	NvmeDma ctl;
	uint8_t *data;
	char *error;
} Rig;

static void rig_open(Rig *r, const FakeNvmeConfig *cfg, unsigned queues, unsigned depth)
{
	memset(r, 0, sizeof(*r));
	r->fake = fake_nvme_new(cfg);
	r->ctl.size = nvme_control_size(queues, depth);
	r->ctl.va = aligned_alloc(NVME_PAGE_SIZE, r->ctl.size);
	r->ctl.iova = CTL_IOVA;
	r->data = aligned_alloc(NVME_PAGE_SIZE, DATA_SIZE);
	ck_assert_ptr_nonnull(r->ctl.va);
	ck_assert_ptr_nonnull(r->data);
	fake_nvme_map(r->fake, CTL_IOVA, r->ctl.va, r->ctl.size);
	fake_nvme_map(r->fake, DATA_IOVA, r->data, DATA_SIZE);
	ck_assert_int_eq(nvme_open(fake_nvme_bar(r->fake), fake_nvme_bar_size(r->fake), &r->ctl,
				   &r->ctrl, &r->error),
			 0);
}

static void rig_close(Rig *r)
{
	nvme_close(r->ctrl);
	fake_nvme_free(r->fake);
	free(r->ctl.va);
	free(r->data);
	free(r->error);
}

/* Submits one command on queue 1 and waits for it: its status. */
static uint16_t io(Rig *r, uint8_t op, uint64_t slba, uint64_t iova, uint32_t len)
{
	NvmeCompletion done;
	int cid = nvme_submit(r->ctrl, 1, op, 1, slba, 512, iova, len);

	ck_assert_int_ge(cid, 0);
	ck_assert_int_eq(nvme_wait(r->ctrl, 1, TIMEOUT, &done), 0);
	ck_assert_int_eq(done.cid, cid);
	return done.status;
}

START_TEST(test_identify)
{
	Rig r;
	NvmeNamespace ns;
	const NvmeIdentity *id;

	rig_open(&r, &(FakeNvmeConfig){.mqes = 255, .mdts = 5, .blocks = 4096}, 2, 64);
	ck_assert_int_eq(nvme_enable(r.ctrl, 2, 64, &r.error), 0);
	id = nvme_identity(r.ctrl);
	ck_assert_uint_eq(id->vid, 0x1b36);
	ck_assert_str_eq(id->model, "iommutest fake NVMe");
	ck_assert_str_eq(id->serial, "FAKE-SN-0001");
	ck_assert_str_eq(id->firmware, "1.0");
	ck_assert_uint_eq(id->mdts_bytes, 4096u << 5);
	ck_assert_uint_eq(id->namespaces, 1);
	ck_assert_uint_eq(id->max_queue_depth, 256);
	ck_assert_uint_eq(id->timeout_ms, 1000);
	ck_assert_uint_eq(id->version, 0x00010400);

	ck_assert_int_eq(nvme_identify_namespace(r.ctrl, 1, &ns, &r.error), 0);
	ck_assert_uint_eq(ns.blocks, 4096);
	ck_assert_uint_eq(ns.lba_size, 512);
	ck_assert_int_eq(nvme_identify_namespace(r.ctrl, 2, &ns, &r.error), -ENOENT);
	ck_assert_ptr_nonnull(strstr(r.error, "namespace 2 does not exist: the controller has 1"));
	/* Above MDTS: refused before anything is queued. */
	ck_assert_int_eq(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 4096u << 6),
			 -EINVAL);
	rig_close(&r);
}
END_TEST

START_TEST(test_metadata_refused)
{
	Rig r;
	NvmeNamespace ns;

	rig_open(&r, &(FakeNvmeConfig){.ms = 8}, 1, 16);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	ck_assert_int_eq(nvme_identify_namespace(r.ctrl, 1, &ns, &r.error), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(r.error, "8 bytes of metadata per LBA"));
	rig_close(&r);
}
END_TEST

START_TEST(test_enable_limits)
{
	Rig r;

	rig_open(&r, &(FakeNvmeConfig){.mqes = 31}, 1, 64);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 64, &r.error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(r.error, "queue depth 64 is above the controller's limit of 32 (CAP.MQES)"));
	free(r.error);
	r.error = NULL;
	/* The control memory was sized for one queue of 64. */
	ck_assert_int_eq(nvme_enable(r.ctrl, 2, 16, &r.error), 0);
	free(r.error);
	r.error = NULL;
	ck_assert_int_eq(nvme_enable(r.ctrl, 2, 32, &r.error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(r.error, "control memory"));
	rig_close(&r);
}
END_TEST

START_TEST(test_never_ready)
{
	Rig r;
	uint64_t t0;

	/* CAP.TO = 1: the enable gives up after 500 ms, and says why. */
	rig_open(&r, &(FakeNvmeConfig){.to = 1, .never_ready = true}, 1, 16);
	t0 = now_ns(CLOCK_MONOTONIC);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), -ETIMEDOUT);
	ck_assert_uint_ge(now_ns(CLOCK_MONOTONIC) - t0, 500 * NSEC_PER_MSEC);
	ck_assert_uint_lt(now_ns(CLOCK_MONOTONIC) - t0, 3 * NSEC_PER_SEC);
	ck_assert_ptr_nonnull(strstr(r.error, "did not become ready within CAP.TO (500 ms)"));
	rig_close(&r);
}
END_TEST

START_TEST(test_open_refusals)
{
	FakeNvme *f = fake_nvme_new(&(FakeNvmeConfig){.mpsmin = 1});
	NvmeDma ctl = {.size = nvme_control_size(1, 16), .iova = CTL_IOVA};
	NvmeCtrl *c = NULL;
	char *error = NULL;

	ctl.va = aligned_alloc(NVME_PAGE_SIZE, ctl.size);
	ck_assert_int_eq(nvme_open(fake_nvme_bar(f), fake_nvme_bar_size(f), &ctl, &c, &error),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(error, "smallest page is 8 KiB (CAP.MPSMIN)"));
	free(error);
	error = NULL;
	ck_assert_int_eq(nvme_open(fake_nvme_bar(f), 0x1000, &ctl, &c, &error), -EINVAL);
	free(error);
	error = NULL;
	fake_nvme_remove(f);
	ck_assert_int_eq(nvme_open(fake_nvme_bar(f), fake_nvme_bar_size(f), &ctl, &c, &error),
			 -ENODEV);
	ck_assert_ptr_nonnull(strstr(error, "reads all ones"));
	free(error);
	free(ctl.va);
	fake_nvme_free(f);
}
END_TEST

/* Writes a pattern through the driver at an offset and length, reads it back elsewhere. */
static void round_trip(Rig *r, size_t off, uint32_t len, uint64_t slba)
{
	uint8_t *src = r->data + off, *dst = r->data + DATA_SIZE / 2 + off;

	for (uint32_t i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + slba + len);
	memset(dst, 0xa5, len);
	ck_assert_uint_eq(io(r, NVME_CMD_WRITE, slba, DATA_IOVA + off, len), 0);
	ck_assert_int_eq(memcmp(fake_nvme_disk(r->fake) + slba * 512, src, len), 0);
	ck_assert_uint_eq(io(r, NVME_CMD_READ, slba, DATA_IOVA + DATA_SIZE / 2 + off, len), 0);
	ck_assert_int_eq(memcmp(dst, src, len), 0);
}

START_TEST(test_prp_boundaries)
{
	Rig r;
	FakeNvmeStats s0, s1;

	rig_open(&r, &(FakeNvmeConfig){.blocks = 8192}, 1, 16);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);

	/* Inside one page: PRP1 only. */
	fake_nvme_stats(r.fake, &s0);
	round_trip(&r, 0, 512, 0);
	round_trip(&r, 3584, 512, 1);
	fake_nvme_stats(r.fake, &s1);
	ck_assert_uint_eq(s1.prp2_pages, s0.prp2_pages);
	ck_assert_uint_eq(s1.prp_lists, s0.prp_lists);
	ck_assert_uint_eq(s1.last_nlb, 1);

	/* Crossing one page boundary: PRP2 is the second page. */
	round_trip(&r, 3584, 1024, 2);
	round_trip(&r, 0, 8192, 4);
	fake_nvme_stats(r.fake, &s0);
	ck_assert_uint_eq(s0.prp2_pages, s1.prp2_pages + 4);
	ck_assert_uint_eq(s0.prp_lists, s1.prp_lists);

	/* Three pages or more: PRP2 is a list, with and without an offset in PRP1. */
	round_trip(&r, 0, 8192 + 512, 20);
	round_trip(&r, 3584, 8192 + 1024, 40);
	round_trip(&r, 512, 1u << 20, 100);
	fake_nvme_stats(r.fake, &s1);
	ck_assert_uint_eq(s1.prp_lists, s0.prp_lists + 6);
	ck_assert_uint_eq(s1.last_nlb, 2048);

	/* Flush moves nothing. */
	ck_assert_uint_eq(io(&r, NVME_CMD_FLUSH, 0, 0, 0), 0);
	/* Lengths the controller cannot take are refused here. */
	ck_assert_int_eq(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 100), -EINVAL);
	ck_assert_int_eq(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA + 2, 512), -EINVAL);
	ck_assert_int_eq(nvme_submit(r.ctrl, 2, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 512), -EINVAL);
	rig_close(&r);
}
END_TEST

START_TEST(test_error_status)
{
	Rig r;
	char buf[32];

	rig_open(&r, &(FakeNvmeConfig){}, 1, 16);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	/* Beyond the namespace. */
	ck_assert_uint_eq(io(&r, NVME_CMD_READ, 2048, DATA_IOVA, 512), NVME_SC_LBA_RANGE);
	ck_assert_str_eq(nvme_status_to_string(NVME_SC_LBA_RANGE, buf), "LBA out of range");
	/* A data buffer the controller cannot translate (a missing range). */
	ck_assert_uint_eq(io(&r, NVME_CMD_READ, 0, DATA_IOVA + DATA_SIZE, 512),
			  NVME_SC_DATA_TRANSFER_ERROR);
	ck_assert_str_eq(nvme_status_to_string(NVME_SC_DATA_TRANSFER_ERROR, buf), "data transfer error");
	/* An injected status, of another type. */
	fake_nvme_fail_next(r.fake, 0x281, 1);
	ck_assert_uint_eq(io(&r, NVME_CMD_READ, 0, DATA_IOVA, 512), 0x281);
	ck_assert_str_eq(nvme_status_to_string(0x281, buf), "status type 2 code 0x81");
	/* And the queue goes on. */
	ck_assert_uint_eq(io(&r, NVME_CMD_READ, 0, DATA_IOVA, 512), 0);
	rig_close(&r);
}
END_TEST

START_TEST(test_fatal_and_recovery)
{
	Rig r;
	NvmeCompletion done;
	FakeNvmeStats s;

	rig_open(&r, &(FakeNvmeConfig){}, 1, 16);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	ck_assert_uint_eq(io(&r, NVME_CMD_READ, 0, DATA_IOVA, 512), 0);

	/* As QEMU does when a completion cannot be posted: the CQ's page is gone. */
	fake_nvme_unmap(r.fake, CTL_IOVA);
	ck_assert_int_ge(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 512), 0);
	ck_assert_int_eq(nvme_wait(r.ctrl, 1, TIMEOUT, &done), -EIO);
	ck_assert(nvme_fatal(r.ctrl));

	/* Recovery: the queues come back and traffic resumes. */
	fake_nvme_map(r.fake, CTL_IOVA, r.ctl.va, r.ctl.size);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	ck_assert(!nvme_fatal(r.ctrl));
	ck_assert_uint_eq(nvme_in_flight(r.ctrl, 1), 0);
	round_trip(&r, 0, 4096, 8);

	/* Fatal status set by the controller on its own. */
	fake_nvme_set_fatal(r.fake);
	ck_assert_int_ge(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 512), 0);
	ck_assert_int_eq(nvme_wait(r.ctrl, 1, TIMEOUT, &done), -EIO);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	round_trip(&r, 0, 4096, 8);
	fake_nvme_stats(r.fake, &s);
	ck_assert_uint_eq(s.enables, 3);
	rig_close(&r);
}
END_TEST

START_TEST(test_phase_wrap_and_full_ring)
{
	Rig r;
	NvmeCompletion done;
	int cids[4];

	rig_open(&r, &(FakeNvmeConfig){}, 1, 4);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 4, &r.error), 0);
	/* Many times around a ring of 4: the phase flips every lap. */
	for (unsigned i = 0; i < 50; i++)
		round_trip(&r, 0, 512, i % 16);

	/* Three in flight fill a ring of four; the fourth is refused. */
	fake_nvme_stall(r.fake, true);
	for (unsigned i = 0; i < 3; i++)
		cids[i] = nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, i, 512, DATA_IOVA + i * 512, 512);
	ck_assert_int_eq(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 3, 512, DATA_IOVA, 512), -EBUSY);
	ck_assert_uint_eq(nvme_in_flight(r.ctrl, 1), 3);
	ck_assert_int_eq(nvme_wait(r.ctrl, 1, 50 * NSEC_PER_MSEC, &done), -ETIMEDOUT);
	fake_nvme_stall(r.fake, false);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(nvme_wait(r.ctrl, 1, TIMEOUT, &done), 0);
		ck_assert_int_eq(done.cid, cids[i]);
		ck_assert_uint_eq(done.status, 0);
	}
	ck_assert_uint_eq(nvme_in_flight(r.ctrl, 1), 0);
	rig_close(&r);
}
END_TEST

START_TEST(test_removed)
{
	Rig r;
	NvmeCompletion done;

	rig_open(&r, &(FakeNvmeConfig){}, 1, 16);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), 0);
	fake_nvme_stall(r.fake, true);
	ck_assert_int_ge(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 512), 0);
	fake_nvme_remove(r.fake);
	ck_assert_int_eq(nvme_wait(r.ctrl, 1, TIMEOUT, &done), -ENODEV);
	ck_assert_int_eq(nvme_submit(r.ctrl, 1, NVME_CMD_READ, 1, 0, 512, DATA_IOVA, 512), -ENODEV);
	ck_assert_int_eq(nvme_enable(r.ctrl, 1, 16, &r.error), -ENODEV);
	/* Closing a removed controller does not wait for CAP.TO. */
	rig_close(&r);
}
END_TEST

static Suite *nvme_suite(void)
{
	Suite *s = suite_create("nvme");
	TCase *tc = tcase_create("driver");

	tcase_add_test(tc, test_identify);
	tcase_add_test(tc, test_metadata_refused);
	tcase_add_test(tc, test_enable_limits);
	tcase_add_test(tc, test_never_ready);
	tcase_add_test(tc, test_open_refusals);
	tcase_add_test(tc, test_prp_boundaries);
	tcase_add_test(tc, test_error_status);
	tcase_add_test(tc, test_fatal_and_recovery);
	tcase_add_test(tc, test_phase_wrap_and_full_ring);
	tcase_add_test(tc, test_removed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nvme_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
