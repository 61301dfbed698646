/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mock backend against a fake kernel: the common fake iommufd
 * (fakes/fake-iommufd.h) keeps iommufd's object model the way the backend
 * relies on it: IOASes with their mappings, paging HWPTs that pin their
 * IOAS, automatic HWPTs for an attach to an IOAS (destroyed as soon as the
 * device leaves them) within the mock aperture, replace, and IOMMU_DESTROY
 * refusing objects still in use. It counts live objects, so every test can
 * require that teardown, after a complete or a half-done setup, leaves none
 * behind. On top of it this file has the selftest's IOMMU_TEST_CMD: the
 * mock device (its stdev, and its idev as the common fake's device).
 *
 * For [Traffic] Engine=iopf there are also fault queues, nest parents and
 * nested HWPTs (the common fake's, with the mock driver's check of the
 * nested data here), and the page request path of 6.12 (selftest.c,
 * fault.c, device.c, io-pgfault.c) behind uapi_read_hook/uapi_write_hook:
 * TRIGGER_IOPF queues a group when the device sits on a domain with a fault
 * queue and silently drops it otherwise; read(2) returns whole records and
 * 0 when there are none, moving each group to a response table under a new
 * cookie; write(2) answers cookies in order and stops at the first unknown
 * one (EINVAL); a replacement, detach or device destroy away from a
 * fault-capable domain answers every pending group itself and forgets it.
 * The queue's fd is a real eventfd, readable while groups wait, so the
 * tests can poll it like the main loop does. Worker, injector and test
 * threads call in concurrently, so every entry point takes the common
 * fake's lock.
 *
 * With fk->pasid_abi it is a 6.15+ kernel (selftest.c, device.c): the mock
 * device may be made with MOCK_FLAGS_DEVICE_PASID (20 PASID bits, reported
 * by IOMMU_GET_HW_INFO), HWPTs may be PASID-compatible
 * (IOMMU_HWPT_ALLOC_PASID), and IOMMU_TEST_OP_PASID_ATTACH/_REPLACE/_DETACH/
 * _CHECK_HWPT keep a table of PASID attachments under the rules of
 * iommufd_hwpt_pasid_compat(): a PASID needs a compatible HWPT and a RID on
 * a compatible one, and the RID cannot leave for an incompatible HWPT (an
 * automatic one, say) while PASIDs are attached. Destroying the device with
 * PASIDs attached sets K.warned: the real kernel waits a minute and warns.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/backend.h"
#include "check-run.h"
#include "core/fault.h"
#include "fakes/fake-iommufd.h"
#include "iommufd-ioctl.h"
#include "core/scenario.h"
#include "json.h"
#include "macro.h"
#include "parse-util.h"

/* More than the injector ever has outstanding (4096): a fake queue that fills up is a bug. */
#define FAKE_QUEUE 16384
/* BACKEND_VERIFY_EVERY, spelled out: the tests below count on this value. */
#define MOCK_CHECK_EVERY_TEST 1024
_Static_assert(MOCK_CHECK_EVERY_TEST == BACKEND_VERIFY_EVERY, "tests count checks per 1024");

/* The common fake: objects, the device's attachments, IOMMU_DESTROY, GET_HW_INFO. */
static FakeIommufd *const fk = &fake_iommufd;

/* A page request group of one request, as the mock's TRIGGER_IOPF makes them. */
typedef struct FakeGroup {
	struct iommu_hwpt_pgfault rec;
	bool used; /* response table slot in use */
} FakeGroup;

/* What the selftest adds to the common fake: IOMMU_TEST_CMD and the page request path. */
static struct {
	uint32_t stdev;		/* the mock device (FAKE_OBJ_EXT); its idev is fk->dev_id */
	bool no_test_cmd;	/* CONFIG_IOMMUFD_TEST=n */
	bool hw_iommu_owns_bus; /* intel_iommu=on on ≤ 6.12: MOCK_DOMAIN is EINVAL */
	bool no_nested_fault;	/* a mock that refuses IOMMU_HWPT_FAULT_ID_VALID on nested */
	bool no_trigger_iopf;	/* < 6.11: IOMMU_TEST_OP_TRIGGER_IOPF is EOPNOTSUPP */

	/* PASIDs (6.15: fk->pasid_abi) */
	uint32_t dev_flags;	 /* of the mock device */
	uint8_t max_pasid_log2;	 /* GET_HW_INFO's answer for a PASID device (default 20) */
	bool warned;		 /* the device was destroyed with PASIDs attached */
	uint32_t mismatch_pasid; /* CHECK_HWPT of this PASID (and a HWPT) disagrees; 0: none */
	bool mismatch_rid;	 /* … of the RID */
	uint32_t stuck_pasid;	 /* PASID_DETACH of this PASID does nothing */
	unsigned pasid_checks;

	/* the page request path, on the (one) fault queue */
	FakeGroup deliver[FAKE_QUEUE]; /* FIFO: deliver_head … deliver_tail */
	uint64_t deliver_head, deliver_tail;
	FakeGroup responses[FAKE_QUEUE]; /* indexed by cookie % FAKE_QUEUE */
	uint32_t next_cookie;
	uint64_t triggered;	  /* TRIGGER_IOPF calls that returned 0 */
	uint64_t dropped;	  /* … whose request no domain took (or lose_nth) */
	uint64_t withdrawn;	  /* undelivered groups answered at a replacement */
	uint64_t auto_answered;	  /* delivered groups answered at a replacement */
	uint64_t answered;	  /* responses taken */
	uint64_t refused;	  /* responses refused */
	uint64_t overflow;	  /* groups the fake had no room for */
	uint64_t lose_nth;	  /* drop the request of this TRIGGER_IOPF call silently */
	bool bogus_next_read;	  /* deliver a record nobody injected before the next read */
	bool replace_after_read;  /* a replacement (with its window) between the next read and write
				   */
	bool forget_after_read;	  /* forget the groups just read, with no replacement at all */
	AttachPointState *window; /* the RID point's window, for replace_after_read */
	uint32_t replace_to;	  /* HWPT replace_after_read goes to */
} K;

/* The fault queue (the backend makes one), 0 when there is none. */
static uint32_t kfault(void)
{
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_FAULT)
			return id;
	return 0;
}

static void kfault_clear_fd(void)
{
	FakeObj *f = fake_iommufd_obj(kfault(), FAKE_OBJ_FAULT);
	uint64_t v;

	if (f)
		(void)!read(f->fd, &v, sizeof(v));
}

/* The device leaves a domain with a fault queue: iommufd answers its groups itself. */
static void kfault_auto_respond(uint32_t hwpt_id)
{
	FakeObj *h = fake_iommufd_obj(hwpt_id, FAKE_OBJ_HWPT);

	if (!h || !h->fault)
		return;
	K.withdrawn += K.deliver_tail - K.deliver_head;
	K.deliver_head = K.deliver_tail;
	for (unsigned i = 0; i < FAKE_QUEUE; i++)
		if (K.responses[i].used) {
			K.responses[i].used = false;
			K.auto_answered++;
		}
	kfault_clear_fd();
}

static void kqueue(const struct iommu_hwpt_pgfault *rec)
{
	FakeObj *f = fake_iommufd_obj(kfault(), FAKE_OBJ_FAULT);

	if (K.deliver_tail - K.deliver_head == FAKE_QUEUE) {
		K.overflow++;
		return;
	}
	K.deliver[K.deliver_tail++ % FAKE_QUEUE].rec = *rec;
	if (f)
		(void)!write(f->fd, &(uint64_t){1}, sizeof(uint64_t));
}

static int ktrigger_iopf(const struct iommu_test_cmd *c)
{
	FakeObj *h = fake_iommufd_obj(fk->attached, FAKE_OBJ_HWPT);
	struct iommu_hwpt_pgfault rec = {
		.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE |
			 (c->trigger_iopf.pasid ? IOMMU_PGFAULT_FLAGS_PASID_VALID : 0),
		.dev_id = c->trigger_iopf.dev_id,
		.pasid = c->trigger_iopf.pasid,
		.grpid = c->trigger_iopf.grpid,
		.perm = c->trigger_iopf.perm,
		.addr = c->trigger_iopf.addr,
	};

	if (K.no_trigger_iopf)
		return -EOPNOTSUPP;
	if (!fk->dev_id || c->trigger_iopf.dev_id != fk->dev_id)
		return -ENOENT;
	K.triggered++;
	/* No fault-capable domain: the kernel answers the device itself, the ioctl still succeeds.
	 */
	if (!h || !h->fault || K.triggered == K.lose_nth) {
		K.dropped++;
		return 0;
	}
	kqueue(&rec);
	return 0;
}

/* device.c's PASID paths for the mock device; c->id is known to be the device. */
static int kpasid_cmd(struct iommu_test_cmd *c)
{
	uint32_t pasid = c->pasid_attach.pasid, pt = c->pasid_attach.pt_id;

	switch (c->op) {
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
		if (!(K.dev_flags & MOCK_FLAGS_DEVICE_PASID) || pasid == 0 ||
		    pasid >= (1u << MOCK_PASID_WIDTH))
			return -EINVAL;
		return c->op == IOMMU_TEST_OP_PASID_ATTACH ? fake_iommufd_pasid_attach(pasid, pt)
							   : fake_iommufd_pasid_replace(pasid, pt);
	case IOMMU_TEST_OP_PASID_DETACH:
		/* Detaching a PASID that is not attached is not an error. */
		if (pasid != K.stuck_pasid)
			(void)fake_iommufd_pasid_detach(pasid);
		return 0;
	case IOMMU_TEST_OP_PASID_CHECK_HWPT: {
		uint32_t want = c->pasid_check.hwpt_id, have;

		K.pasid_checks++;
		have = c->pasid_check.pasid == 0 ? fk->attached
						 : fake_iommufd_pasid_hwpt(c->pasid_check.pasid);
		if (want == 0)
			return have ? -EINVAL : 0;
		if (!fake_iommufd_obj(want, FAKE_OBJ_HWPT))
			return -ENOENT;
		if ((c->pasid_check.pasid == 0 && K.mismatch_rid) ||
		    (c->pasid_check.pasid && c->pasid_check.pasid == K.mismatch_pasid))
			return -EINVAL;
		return have == want ? 0 : -EINVAL;
	}
	default:
		return -EOPNOTSUPP;
	}
}

/* mock_dev_create() and the attach of iommufd_test_mock_domain(). */
static int kmock_domain(struct iommu_test_cmd *c)
{
	uint32_t idev, hwpt;
	int r;

	if (K.hw_iommu_owns_bus)
		return -EINVAL;
	if (c->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS) {
		uint32_t valid = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
				 (fk->pasid_abi ? MOCK_FLAGS_DEVICE_PASID : 0);

		if (c->mock_domain_flags.dev_flags & ~valid)
			return -EINVAL; /* 6.12: mock_dev_create() knows no PASID flag */
		K.dev_flags = c->mock_domain_flags.dev_flags;
	} else
		K.dev_flags = 0;
	if (!fake_iommufd_obj(c->id, FAKE_OBJ_IOAS))
		return -ENOENT;
	if (K.stdev)
		return -EEXIST; /* one mock device is all the backend ever needs */
	K.stdev = fake_iommufd_obj_new(FAKE_OBJ_EXT);
	if (!K.stdev)
		return -ENOSPC;
	r = fake_iommufd_bind(0, &idev);
	if (r == 0) {
		fk->hw_info.type = 0xfeedbeef; /* IOMMU_HW_INFO_TYPE_SELFTEST */
		fk->hw_info.max_pasid_log2 =
			K.dev_flags & MOCK_FLAGS_DEVICE_PASID ? K.max_pasid_log2 : 0;
		r = fake_iommufd_attach(c->id, &hwpt);
		if (r < 0)
			fake_iommufd_unbind();
	}
	if (r < 0) {
		fk->objs[K.stdev] = (FakeObj){};
		K.stdev = 0;
		return r;
	}
	c->mock_domain.out_stdev_id = K.stdev;
	c->mock_domain.out_idev_id = idev;
	c->mock_domain.out_hwpt_id = hwpt;
	return 0;
}

static int ktest_cmd(struct iommu_test_cmd *c)
{
	uint32_t hwpt;
	int r;

	if (c->size != sizeof(*c))
		return -EINVAL;
	switch (c->op) {
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return kmock_domain(c);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		if (!K.stdev || c->id != K.stdev)
			return -ENOENT;
		r = fake_iommufd_attach(c->mock_domain_replace.pt_id, &hwpt);
		if (r < 0)
			return r;
		c->mock_domain_replace.pt_id = hwpt;
		return 0;
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return ktrigger_iopf(c);
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
	case IOMMU_TEST_OP_PASID_DETACH:
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		if (!fk->pasid_abi)
			return -EOPNOTSUPP;
		if (!K.stdev || c->id != K.stdev)
			return -ENOENT;
		return kpasid_cmd(c);
	default:
		return -EOPNOTSUPP;
	}
}

static int kioctl(int fd, unsigned long request, void *arg)
{
	int r;

	switch (request) {
	case IOMMU_TEST_CMD:
		if (K.no_test_cmd)
			return -ENOTTY;
		return ktest_cmd(arg);
	case IOMMU_FAULT_QUEUE_ALLOC:
		/* A new queue starts empty. */
		r = fake_iommufd_handle(request, arg);
		if (r == 0) {
			K.deliver_head = K.deliver_tail = 0;
			memset(K.responses, 0, sizeof(K.responses));
		}
		return r;
	default:
		return FAKE_IOMMUFD_PASS;
	}
}

/* Destroying the mock device. */
static int kdestroy(uint32_t id)
{
	if (id != K.stdev)
		return -EINVAL;
	/* The kernel only detaches the RID: it waits for the PASIDs, and warns. */
	if (fake_iommufd_pasids_attached())
		K.warned = true;
	fake_iommufd_unbind();
	K.stdev = 0;
	return 0;
}

/* mock_domain_alloc_nested(): what the selftests pass; anything else would be our mistake. */
static int khwpt_nested(const struct iommu_hwpt_alloc *c)
{
	struct iommu_hwpt_selftest data;

	if (c->data_type != IOMMU_HWPT_DATA_SELFTEST)
		return -EOPNOTSUPP;
	if (c->data_len < sizeof(data) || !c->data_uptr)
		return -EINVAL;
	memcpy(&data, (const void *)(uintptr_t)c->data_uptr, sizeof(data));
	if (data.iotlb != IOMMU_TEST_IOTLB_DEFAULT)
		return -EINVAL;
	if ((c->flags & IOMMU_HWPT_FAULT_ID_VALID) && K.no_nested_fault)
		return -EOPNOTSUPP;
	return 0;
}

/* Some other thread replaced the device while the reader was between read and write. */
static void kreplace_behind_reader(void)
{
	attach_point_window_open(K.window);
	(void)fake_iommufd_attach(K.replace_to, NULL);
	attach_point_window_close(K.window, now_ns(CLOCK_MONOTONIC));
}

static ssize_t kfault_read(uint32_t fault_id, void *buf, size_t n)
{
	struct iommu_hwpt_pgfault *out = buf;
	size_t max = n / sizeof(*out), done = 0;

	if (n % sizeof(*out))
		return -ESPIPE;
	if (K.bogus_next_read) {
		/* grpid 0 was never injected: the injector's first group id is 1. */
		kqueue(&(struct iommu_hwpt_pgfault){.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE,
						    .dev_id = fk->dev_id,
						    .perm = IOMMU_PGFAULT_PERM_READ});
		K.bogus_next_read = false;
	}
	while (done < max && K.deliver_head != K.deliver_tail) {
		FakeGroup *g = &K.deliver[K.deliver_head++ % FAKE_QUEUE];
		uint32_t cookie = ++K.next_cookie;
		FakeGroup *slot = &K.responses[cookie % FAKE_QUEUE];

		if (slot->used) {
			K.overflow++; /* a cookie nobody answered for FAKE_QUEUE reads */
			K.deliver_head--;
			break;
		}
		g->rec.cookie = cookie;
		*slot = (FakeGroup){.rec = g->rec, .used = true};
		out[done++] = g->rec;
	}
	if (K.deliver_head == K.deliver_tail)
		kfault_clear_fd();
	if (done && K.replace_after_read) {
		kreplace_behind_reader();
		K.replace_after_read = false;
	}
	if (done && K.forget_after_read) {
		for (unsigned i = 0; i < FAKE_QUEUE; i++)
			K.responses[i].used = false;
		K.forget_after_read = false;
	}
	return (ssize_t)(done * sizeof(*out));
}

static ssize_t kfault_write(uint32_t fault_id, const void *buf, size_t n)
{
	const struct iommu_hwpt_page_response *in = buf;
	size_t done = 0;

	if (n % sizeof(*in))
		return -ESPIPE;
	for (; done < n / sizeof(*in); done++) {
		FakeGroup *slot = &K.responses[in[done].cookie % FAKE_QUEUE];

		if (in[done].code > IOMMUFD_PAGE_RESP_INVALID || !slot->used ||
		    slot->rec.cookie != in[done].cookie) {
			K.refused++;
			break;
		}
		slot->used = false;
		K.answered++;
	}
	return done ? (ssize_t)(done * sizeof(*in)) : -EINVAL;
}

static const FakeIommufdOps selftest_ops = {
	.ioctl = kioctl,
	.destroy = kdestroy,
	.hwpt_nested = khwpt_nested,
	.rid_left = kfault_auto_respond,
	.fault_read = kfault_read,
	.fault_write = kfault_write,
};

/* A 6.12 kernel with CONFIG_IOMMUFD_TEST (the knobs make it another) behind the hooks. */
static void fake_setup(void)
{
	fake_iommufd_install(&selftest_ops);
	/* A fault fd left from the previous test belongs to that test's (closed) backend. */
	memset(&K, 0, sizeof(K));
	K.max_pasid_log2 = MOCK_PASID_WIDTH;
	/* The mock IOMMU's domains: automatic ones for an IOAS, with the mock aperture. */
	fk->auto_domains = true;
	fk->aperture = true;
	fk->aperture_start = MOCK_APERTURE_START;
	fk->aperture_last = MOCK_APERTURE_LAST;
}

static void fake_teardown(void)
{
	fake_iommufd_uninstall();
}

/* Reads one of the fake's counters while other threads may be calling in. */
static uint64_t kget(const uint64_t *counter)
{
	uint64_t v;

	fake_iommufd_lock();
	v = *counter;
	fake_iommufd_unlock();
	return v;
}

static const HostEnv fake_env = {
	.dev_iommu = "/dev/null", /* opened for real; every ioctl goes to the fake */
	.sysfs = "/sys",
	.dev_kmsg = "/dev/null",
	.tracefs = "/nonexistent",
	.proc = "/proc",
	.dev_vfio = "/nonexistent",
	.dev_block = "/nonexistent",
};

/* ---- scenarios ---- */

static const char base_scenario[] = "[Scenario]\n"
				    "Backend=mock\n"
				    "[Domains]\n"
				    "IOVA=0x1000000\n"
				    "[Replace]\n"
				    "Count=100\n";

static Scenario *scenario(char *const *overrides)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;
	int r;

	r = scenario_parse(base_scenario, "mock.conf", overrides, &s, &error);
	ck_assert_msg(r == 0, "scenario: %s", strempty(error));
	return s;
}

typedef struct Harness {
	Scenario *s;
	AttachPointState *aps;
	FaultSink *sink;
	BackendSetup setup;
	void *ctx;
	char *error;
	int r;
	unsigned since_verify[64]; /* per point, as the run engine counts */
} Harness;

/* What a run's worker does: replace, and verify() every BACKEND_VERIFY_EVERY of the point. */
static int engine_replace(Harness *h, unsigned ap, unsigned domain)
{
	int r = backend_mock.replace(h->ctx, ap, domain);

	if (r < 0)
		return r;
	ck_assert_uint_lt(ap, ELEMENTSOF(h->since_verify));
	if (++h->since_verify[ap] < BACKEND_VERIFY_EVERY)
		return 0;
	h->since_verify[ap] = 0;
	return backend_mock.verify(h->ctx, ap);
}

static void harness_setup(Harness *h, Scenario *s)
{
	*h = (Harness){.s = s};
	/* As the run allocates them: the window seqcount is cache-line aligned. */
	h->aps = aligned_alloc(CACHELINE, s->n_points * sizeof(AttachPointState));
	ck_assert_ptr_nonnull(h->aps);
	memset(h->aps, 0, s->n_points * sizeof(AttachPointState));
	ck_assert_int_eq(fault_sink_new(&h->sink, 65536), 0);
	h->setup = (BackendSetup){
		.env = &fake_env,
		.scenario = s,
		.sink = h->sink,
		.aps = h->aps,
		.n_aps = s->n_points,
	};
	h->r = backend_mock.setup(&h->setup, &h->ctx, &h->error);
}

static void harness_done(Harness *h)
{
	if (h->ctx)
		backend_mock.teardown(h->ctx);
	free(h->aps);
	free(h->error);
	fault_sink_free(h->sink);
	scenario_free(h->s);
	*h = (Harness){};
}

static bool fd_is_closed(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static char *describe(void *ctx)
{
	JsonWriter j;
	char *text;

	json_init(&j);
	json_object_begin(&j, NULL);
	backend_mock.describe(ctx, &j);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* ---- tests ---- */

START_TEST(test_registered)
{
	ck_assert_ptr_eq(backend_find("mock"), &backend_mock);
	/* No DMA engine, but page request injection (Engine=iopf) is traffic too. */
	ck_assert_ptr_nonnull(backend_mock.traffic_start);
	ck_assert_ptr_nonnull(backend_mock.traffic_stop);
	ck_assert_ptr_nonnull(backend_mock.event_fds);
	ck_assert_ptr_nonnull(backend_mock.event_dispatch);
	ck_assert_ptr_nonnull(backend_mock.teardown);
}
END_TEST

START_TEST(test_probe)
{
	HostEnv env = fake_env;
	_cleanup_free_ char *why = NULL;

	fake_setup();
	env.dev_iommu = "/nonexistent/iommu";
	ck_assert_int_eq(backend_mock.probe(&env, &why), -ENOENT);
	ck_assert_str_eq(
		why,
		"/nonexistent/iommu not found: kernel without CONFIG_IOMMUFD or module not loaded");
	why = mfree(why);
	/* the daemon may not want the reason */
	ck_assert_int_eq(backend_mock.probe(&env, NULL), -ENOENT);

	K.no_test_cmd = true;
	ck_assert_int_eq(backend_mock.probe(&fake_env, &why), -EOPNOTSUPP);
	ck_assert_str_eq(why,
			 "kernel built without CONFIG_IOMMUFD_TEST (the iommufd selftest mock)");
	ck_assert(fd_is_closed(fk->last_fd));
	why = mfree(why);

	K.no_test_cmd = false;
	ck_assert_int_eq(backend_mock.probe(&fake_env, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert(fd_is_closed(fk->last_fd));
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

START_TEST(test_list_devices)
{
	BackendDevice *devs = NULL;
	size_t n = 0;

	ck_assert_int_eq(backend_mock.list_devices(&fake_env, &devs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(devs[0].id, "mock0");
	ck_assert_str_eq(devs[0].state, "ready");
	ck_assert_ptr_nonnull(strstr(devs[0].description, "CONFIG_IOMMUFD_TEST"));
	backend_device_clear(&devs[0]);
	free(devs);
}
END_TEST

START_TEST(test_device_info)
{
	_cleanup_free_ char *err = NULL, *text = NULL;
	JsonWriter j;

	json_init(&j);
	json_object_begin(&j, NULL);
	ck_assert_int_eq(backend_mock.device_info(&fake_env, "mock0", &j, &err), 0);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\"aperture_start\":16777216"));
	ck_assert_ptr_nonnull(strstr(text, "\"dev_iommu\":\"/dev/null\""));

	json_init(&j);
	ck_assert_int_eq(backend_mock.device_info(&fake_env, "mock1", &j, &err), -ENODEV);
	ck_assert_str_eq(err, "no device mock1: the mock backend has one device, mock0");
	json_done(&j);
}
END_TEST

/* The whole life of a run: objects, the replace ping-pong, detach, teardown. */
START_TEST(test_lifecycle)
{
	_cleanup_free_ char *json = NULL;
	uint32_t hwpt[2], initial;
	Harness h;
	int fd;

	fake_setup();
	harness_setup(&h, scenario(NULL));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	fd = fk->last_fd;

	/* 2 IOAS (both mapped), the mock device (stdev, idev, automatic HWPT), 2 HWPTs */
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_IOAS), 2);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_EXT), 1);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_DEVICE), 1);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_HWPT), 3);
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_IOAS) {
			ck_assert_uint_eq(fk->objs[id].n_maps, 1);
			ck_assert_uint_eq(fk->objs[id].maps[0].iova, 0x1000000);
			ck_assert_uint_eq(fk->objs[id].maps[0].length, 64 * 1024);
		}
	initial = fk->attached;
	ck_assert(fk->objs[initial].auto_domain);

	/* no Engine=iopf: nothing to watch, no traffic to start */
	ck_assert_int_eq(backend_mock.event_fds(h.ctx, (int[8]){}, 8), 0);
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), -EOPNOTSUPP);
	backend_mock.traffic_stop(h.ctx);

	/* the first attach leaves the automatic HWPT, which the kernel then frees */
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	hwpt[0] = fk->attached;
	ck_assert(!fk->objs[hwpt[0]].auto_domain);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_HWPT), 2);

	for (unsigned i = 1; i <= 1000; i++) {
		ck_assert_int_eq(backend_mock.replace(h.ctx, 0, i % 2), 0);
		if (i == 1)
			hwpt[1] = fk->attached;
		ck_assert_uint_eq(fk->attached, hwpt[i % 2]);
	}
	ck_assert_uint_ne(hwpt[0], hwpt[1]);
	ck_assert_uint_ne(fk->objs[hwpt[0]].ioas, fk->objs[hwpt[1]].ioas);
	ck_assert_uint_eq(fk->replaces, 1001);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 2), -EINVAL);

	/* detach parks the device on an automatic HWPT of IOAS 0 */
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	ck_assert(fk->objs[fk->attached].auto_domain);
	ck_assert_uint_eq(fk->objs[fk->attached].ioas, fk->objs[hwpt[0]].ioas);
	ck_assert_uint_eq(fk->objs[hwpt[0]].users, 0);
	ck_assert_uint_eq(fk->objs[hwpt[1]].users, 0);

	json = describe(h.ctx);
	ck_assert_ptr_nonnull(strstr(json, "\"stdev_id\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"maps_dma_range\":true"));
	{
		char want[64];

		snprintf(want, sizeof(want), "\"parked_hwpt_id\":%u", fk->attached);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
		snprintf(want, sizeof(want), "\"initial_hwpt_id\":%u", initial);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
		snprintf(want, sizeof(want), "\"hwpt_id\":%u", hwpt[1]);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
	}

	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(fd_is_closed(fd));
	fake_teardown();
}
END_TEST

/* Teardown straight after setup, attached or not, with no detach in between. */
START_TEST(test_teardown_without_detach)
{
	Harness h;

	fake_setup();
	harness_setup(&h, scenario((char *[]){"Domains.Count=4", NULL}));
	ck_assert_int_eq(h.r, 0);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_IOAS), 4);
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 3), 0);
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* Every ioctl of setup, failing in turn: nothing stays behind, and the message says what failed. */
typedef struct FailPoint {
	unsigned long request;
	uint32_t op;
	unsigned nth;
	int error;
	const char *message; /* a substring */
} FailPoint;

static const FailPoint fail_points[] = {
	{IOMMU_IOAS_ALLOC, 0, 1, ENOMEM,
	 "IOMMU_IOAS_ALLOC for domain 0 failed: Cannot allocate memory (ENOMEM)"},
	{IOMMU_IOAS_ALLOC, 0, 3, ENOSPC, "IOMMU_IOAS_ALLOC for domain 2 failed"},
	{IOMMU_IOAS_MAP, 0, 1, ENOMEM,
	 "IOMMU_IOAS_MAP of 0x10000 bytes at IOVA 0x1000000 in IOAS 1 (domain 0) failed"},
	{IOMMU_IOAS_MAP, 0, 2, EFAULT, "(domain 1) failed: Bad address (EFAULT)"},
	{IOMMU_TEST_CMD, IOMMU_TEST_OP_MOCK_DOMAIN, 1, ENOMEM,
	 "IOMMU_TEST_OP_MOCK_DOMAIN on IOAS 1 failed: Cannot allocate memory"},
	{IOMMU_HWPT_ALLOC, 0, 1, EOPNOTSUPP, "IOMMU_HWPT_ALLOC for domain 0 (IOAS 1, mock device"},
	{IOMMU_HWPT_ALLOC, 0, 3, ENOMEM, "IOMMU_HWPT_ALLOC for domain 2"},
};

START_TEST(test_setup_unwinds)
{
	const FailPoint *f = &fail_points[_i];
	Harness h;

	fake_setup();
	fk->fail.request = f->request;
	fk->fail.op = f->op;
	fk->fail.nth = f->nth;
	fk->fail.error = f->error;
	harness_setup(&h, scenario((char *[]){"Domains.Count=3", NULL}));
	ck_assert_int_eq(h.r, -f->error);
	ck_assert_ptr_null(h.ctx);
	ck_assert_ptr_nonnull(h.error);
	ck_assert_msg(strstr(h.error, f->message), "\"%s\" not in \"%s\"", f->message, h.error);
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fk->last_fd));
	harness_done(&h);
	fake_teardown();
}
END_TEST

START_TEST(test_hw_iommu_owns_bus)
{
	Harness h;

	fake_setup();
	K.hw_iommu_owns_bus = true;
	harness_setup(&h, scenario(NULL));
	ck_assert_int_eq(h.r, -EINVAL);
	ck_assert_str_eq(
		h.error,
		"IOMMU_TEST_OP_MOCK_DOMAIN failed (EINVAL): on kernels up to at least 6.12 the mock device cannot be created while a hardware IOMMU driver (e.g. intel_iommu=on) owns the bus; boot with intel_iommu=off to use the mock backend");
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	harness_done(&h);
	fake_teardown();
}
END_TEST

START_TEST(test_no_test_cmd_at_setup)
{
	Harness h;

	fake_setup();
	K.no_test_cmd = true;
	harness_setup(&h, scenario(NULL));
	ck_assert_int_eq(h.r, -ENOTTY);
	ck_assert_ptr_nonnull(strstr(h.error, "CONFIG_IOMMUFD_TEST"));
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	harness_done(&h);
	fake_teardown();
}
END_TEST

START_TEST(test_missing_dev_iommu_at_setup)
{
	HostEnv env = fake_env;
	Harness h;

	fake_setup();
	env.dev_iommu = "/nonexistent/iommu";
	h = (Harness){.s = scenario(NULL)};
	h.aps = aligned_alloc(CACHELINE, sizeof(AttachPointState));
	memset(h.aps, 0, sizeof(AttachPointState));
	h.setup = (BackendSetup){.env = &env, .scenario = h.s, .aps = h.aps, .n_aps = 1};
	h.r = backend_mock.setup(&h.setup, &h.ctx, &h.error);
	ck_assert_int_eq(h.r, -ENOENT);
	ck_assert_str_eq(
		h.error,
		"/nonexistent/iommu not found: kernel without CONFIG_IOMMUFD or module not loaded");
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* Scenarios the mock cannot run are refused before any kernel object exists. */
typedef struct Refusal {
	const char *overrides[4];
	int error;
	const char *message; /* a substring */
} Refusal;

static const Refusal refusals[] = {
	{{"Attach.Points=RID 1-3 1024", NULL},
	 -EINVAL,
	 "PASID 1024 is reserved by the kernel's selftest mock (IOMMU_TEST_PASID_RESERVED): its set_dev_pasid fakes a failure on every second attach of PASID 1024"},
	{{"Attach.Points=RID 7", "Traffic.Engine=iopf", NULL},
	 -EOPNOTSUPP,
	 "PASID 7: [Traffic] Engine=iopf injects page requests on the RID only; it cannot run with PASID attachment points"},
	{{"Scenario.Device=mock1", NULL},
	 -ENODEV,
	 "device mock1 does not exist: the mock backend has one device, mock0"},
	{{"Traffic.Enable=no", "Traffic.Engine=edu", NULL},
	 -EINVAL,
	 "DMA engine edu is not available: the mock device has no DMA engine"},
	{{"Domains.IOVA=0x100000", NULL},
	 -ERANGE,
	 "[Domains] IOVA=0x100000 MapSize=0x10000 is outside the mock IOMMU's aperture 0x1000000-0x7fffffff"},
	{{"Domains.IOVA=0x7fff0000", "Domains.MapSize=128K", NULL},
	 -ERANGE,
	 "outside the mock IOMMU's aperture"},
};

START_TEST(test_refusals)
{
	const Refusal *f = &refusals[_i];
	Harness h;

	fake_setup();
	harness_setup(&h, scenario((char **)f->overrides));
	ck_assert_int_eq(h.r, f->error);
	ck_assert_msg(strstr(strempty(h.error), f->message), "\"%s\" not in \"%s\"", f->message,
		      strempty(h.error));
	ck_assert_int_eq(fk->last_fd, -1); /* not a single ioctl */
	harness_done(&h);
	fake_teardown();
}
END_TEST

START_TEST(test_wrong_backend)
{
	Harness h;
	Scenario *s;

	fake_setup();
	s = scenario(NULL);
	free(s->backend);
	s->backend = strdup("model");
	harness_setup(&h, s);
	ck_assert_int_eq(h.r, -EINVAL);
	ck_assert_str_eq(h.error, "scenario is for backend model, not mock");
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* The parser refuses missing-range without traffic; the backend still lays it out right. */
START_TEST(test_missing_range_layout)
{
	_cleanup_free_ char *json = NULL;
	Harness h;
	Scenario *s;
	unsigned mapped = 0;

	fake_setup();
	s = scenario((char *[]){"Domains.Count=3", NULL});
	s->layout = LAYOUT_MISSING_RANGE;
	harness_setup(&h, s);
	ck_assert_int_eq(h.r, 0);
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		mapped += fk->objs[id].type == FAKE_OBJ_IOAS && fk->objs[id].n_maps;
	ck_assert_uint_eq(mapped, 2); /* domains 0 and 2 */
	json = describe(h.ctx);
	ck_assert_ptr_nonnull(
		strstr(json, "\"index\":1,\"kind\":\"paging\",\"ioas_id\":2,\"hwpt_id\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"maps_dma_range\":false"));
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* A kernel that refuses every destroy: teardown still finishes and closes the fd. */
START_TEST(test_teardown_when_destroy_fails)
{
	Harness h;

	fake_setup();
	harness_setup(&h, scenario(NULL));
	ck_assert_int_eq(h.r, 0);
	fk->refuse_destroy = true;
	backend_mock.teardown(h.ctx);
	h.ctx = NULL;
	ck_assert(fd_is_closed(fk->last_fd)); /* closing /dev/iommu frees what destroy could not */
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* ---- Engine=iopf: the fault queue as a fault source ---- */

static Scenario *iopf_scenario(const char *rate, const char *domains)
{
	char r[64], d[64];

	snprintf(r, sizeof(r), "Traffic.Rate=%s", rate);
	snprintf(d, sizeof(d), "Domains.Count=%s", domains);
	return scenario((char *[]){"Traffic.Engine=iopf", r, d, NULL});
}

/* A run up to traffic_start(): set the fake's knobs, then start. */
static void iopf_setup_idle(Harness *h, const char *rate)
{
	fake_setup();
	harness_setup(h, iopf_scenario(rate, "2"));
	ck_assert_msg(h->r == 0, "setup: %s", strempty(h->error));
	K.window = &h->aps[0];
	ck_assert_int_eq(backend_mock.attach(h->ctx, 0, 0), 0);
}

static void iopf_setup(Harness *h, const char *rate)
{
	iopf_setup_idle(h, rate);
	ck_assert_int_eq(backend_mock.traffic_start(h->ctx), 0);
}

/* A member of the backend's Describe() "iopf" object. */
static uint64_t iopf_stat(void *ctx, const char *name)
{
	_cleanup_free_ char *json = describe(ctx), *key = NULL;
	const char *p;

	ck_assert_int_ge(asprintf(&key, "\"%s\":", name), 0);
	p = strstr(json, "\"iopf\":{");
	ck_assert_msg(p, "no iopf object in %s", json);
	p = strstr(p, key);
	ck_assert_msg(p, "no %s in %s", key, json);
	return strtoull(p + strlen(key), NULL, 10);
}

/* What the run's main loop does: poll the backend's fds and dispatch the readable ones. */
static void pump(Harness *h, int timeout_ms)
{
	struct pollfd pfd[8];
	int fds[8], n;

	n = backend_mock.event_fds(h->ctx, fds, ELEMENTSOF(fds));
	ck_assert_int_eq(n, 2);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (poll(pfd, (nfds_t)n, timeout_ms) <= 0)
		return;
	for (int i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			backend_mock.event_dispatch(h->ctx, fds[i]);
}

static void pump_until_triggered(Harness *h, uint64_t n)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 20 * NSEC_PER_SEC;

	while (kget(&K.triggered) < n) {
		ck_assert_msg(now_ns(CLOCK_MONOTONIC) < end,
			      "only %llu of %llu page requests injected",
			      (unsigned long long)kget(&K.triggered), (unsigned long long)n);
		pump(h, 1);
	}
}

typedef struct SinkCount {
	uint64_t iova, map_size;
	uint64_t records, during, reads, writes;
} SinkCount;

static void sink_count_cb(const FaultRecord *f, void *userdata)
{
	SinkCount *c = userdata;

	ck_assert_int_eq(f->source, FAULT_SOURCE_IOMMUFD);
	ck_assert_uint_eq(f->ap, 0);
	ck_assert_msg(f->address >= c->iova && f->address < c->iova + c->map_size,
		      "address 0x%llx outside the mapping", (unsigned long long)f->address);
	ck_assert_uint_eq(f->address % 4096, 0);
	ck_assert_ptr_nonnull(strstr(f->reason_text, "IOPF grpid "));
	c->records++;
	c->during += f->during_replace;
	c->reads += f->access == FAULT_ACCESS_READ;
	c->writes += f->access == FAULT_ACCESS_WRITE;
}

static unsigned kresponses_pending(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FAKE_QUEUE; i++)
		n += K.responses[i].used;
	return n;
}

/*
 * The accounting every run must end with, checked against the fake kernel's
 * own books: every injection received, withdrawn or lost; every group read
 * answered by us or refused; nothing left in the kernel.
 */
static void assert_accounted(Harness *h)
{
	uint64_t injected = iopf_stat(h->ctx, "injected"), received = iopf_stat(h->ctx, "received"),
		 unexpected = iopf_stat(h->ctx, "unexpected"),
		 withdrawn = iopf_stat(h->ctx, "withdrawn"), lost = iopf_stat(h->ctx, "lost"),
		 responded = iopf_stat(h->ctx, "responded"),
		 refused = iopf_stat(h->ctx, "response_refused"),
		 response_errors = iopf_stat(h->ctx, "response_errors");
	FaultTotals t;

	ck_assert_uint_eq(iopf_stat(h->ctx, "outstanding"), 0);
	ck_assert_uint_eq(injected, received - unexpected + withdrawn + lost);
	ck_assert_uint_eq(received, responded + refused + response_errors);
	ck_assert_uint_eq(injected, K.triggered);
	ck_assert_uint_eq(responded, K.answered);
	ck_assert_uint_eq(refused + response_errors, K.refused);
	ck_assert_uint_eq(withdrawn + lost, K.withdrawn + K.dropped);
	ck_assert_uint_eq(K.deliver_tail - K.deliver_head, 0);
	ck_assert_uint_eq(kresponses_pending(), 0);
	ck_assert_uint_eq(K.overflow, 0);
	fault_sink_totals(h->sink, &t);
	ck_assert_uint_eq(t.total[FAULT_SOURCE_IOMMUFD], received);
}

static void iopf_done(Harness *h)
{
	int fault_fd = fk->last_fault_fd, fds[8];

	ck_assert_int_eq(backend_mock.event_fds(h->ctx, fds, ELEMENTSOF(fds)), 2);
	ck_assert_int_eq(backend_mock.detach(h->ctx, 0), 0);
	harness_done(h);
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fault_fd));
	ck_assert(fd_is_closed(fds[1])); /* the kick eventfd */
	fake_teardown();
}

/* The objects, as the selftests build them; replace and detach between them; nothing left after. */
START_TEST(test_iopf_objects)
{
	_cleanup_free_ char *json = NULL;
	uint32_t nested[3] = {}, parent = 0;
	unsigned n = 0;
	char want[64];
	int fds[8];
	Harness h;

	fake_setup();
	harness_setup(&h, iopf_scenario("max", "3"));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_FAULT), 1);
	/* Nested domains need no IOAS of their own. */
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_IOAS), 1);
	/* automatic, nest parent, three nested */
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_HWPT), 5);
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++) {
		FakeObj *o = &fk->objs[id];

		if (o->type == FAKE_OBJ_HWPT && o->nest_parent)
			parent = id;
		if (o->type == FAKE_OBJ_HWPT && o->parent) {
			ck_assert_uint_eq(o->fault, kfault());
			nested[n++] = id;
		}
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_ne(parent, 0);
	ck_assert_uint_eq(fk->objs[parent].users, 3);
	ck_assert_uint_eq(fk->objs[kfault()].users, 3);
	ck_assert(fcntl(fk->last_fault_fd, F_GETFL) & O_NONBLOCK);

	ck_assert_int_eq(backend_mock.event_fds(h.ctx, fds, ELEMENTSOF(fds)), 2);
	ck_assert_int_eq(fds[0], fk->last_fault_fd);
	ck_assert(!fd_is_closed(fds[1]));
	ck_assert_int_eq(backend_mock.event_fds(h.ctx, fds, 1), -ENOBUFS);

	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_uint_eq(fk->attached, nested[0]);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 2), 0);
	ck_assert_uint_eq(fk->attached, nested[2]);

	json = describe(h.ctx);
	ck_assert_ptr_nonnull(strstr(json, "\"engine\":\"iopf\""));
	snprintf(want, sizeof(want), "\"fault_id\":%u", kfault());
	ck_assert_msg(strstr(json, want), "%s in %s", want, json);
	snprintf(want, sizeof(want), "\"nest_parent_hwpt_id\":%u", parent);
	ck_assert_msg(strstr(json, want), "%s in %s", want, json);
	snprintf(want, sizeof(want), "\"kind\":\"nested\",\"ioas_id\":%u,\"hwpt_id\":%u",
		 fk->objs[parent].ioas, nested[2]);
	ck_assert_msg(strstr(json, want), "%s in %s", want, json);
	ck_assert_ptr_nonnull(strstr(json, "\"injected\":0,"));

	/* detach parks the device on an automatic domain of IOAS 0, off every nested one */
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	ck_assert(fk->objs[fk->attached].auto_domain);
	iopf_done(&h);
}
END_TEST

/* No replacement: every injected request is read and answered, nothing else. */
START_TEST(test_iopf_at_rest)
{
	SinkCount c = {.iova = 0x1000000, .map_size = 64 * 1024};
	uint64_t injected;
	Harness h;

	iopf_setup(&h, "max");
	pump_until_triggered(&h, 20000);
	backend_mock.traffic_stop(h.ctx);
	backend_mock.traffic_stop(h.ctx); /* idempotent */

	injected = iopf_stat(h.ctx, "injected");
	ck_assert_uint_ge(injected, 20000);
	ck_assert_uint_eq(iopf_stat(h.ctx, "received"), injected);
	ck_assert_uint_eq(iopf_stat(h.ctx, "responded"), injected);
	ck_assert_uint_eq(iopf_stat(h.ctx, "withdrawn"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "unexpected"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "inject_errors"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "injected_during_replace"), 0);
	assert_accounted(&h);

	(void)fault_sink_drain(h.sink, sink_count_cb, &c);
	ck_assert_uint_eq(c.records, injected);
	ck_assert_uint_eq(c.during, 0);
	ck_assert_uint_eq(c.reads, (injected + 1) / 2); /* odd group ids read, even ones write */
	ck_assert_uint_eq(c.writes, injected / 2);
	iopf_done(&h);
}
END_TEST

typedef struct Replacer {
	Harness *h;
	pthread_t thread;
	bool stop;
	uint64_t done;
	int error;
} Replacer;

/* A run's worker: ping-pong replacements, each inside its window. */
static void *replacer_main(void *userdata)
{
	Replacer *rp = userdata;
	unsigned d = 0;

	while (!__atomic_load_n(&rp->stop, __ATOMIC_RELAXED)) {
		int r;

		d ^= 1;
		attach_point_window_open(&rp->h->aps[0]);
		r = backend_mock.replace(rp->h->ctx, 0, d);
		attach_point_window_close(&rp->h->aps[0], now_ns(CLOCK_MONOTONIC));
		if (r < 0) {
			rp->error = r;
			break;
		}
		__atomic_store_n(&rp->done, rp->done + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * The point of it all: replacements and injections at full speed, the main
 * thread reading. Every request ends up received, withdrawn by a
 * replacement, or lost, and none may be lost or made up.
 */
START_TEST(test_iopf_while_replacing)
{
	SinkCount c = {.iova = 0x1000000, .map_size = 64 * 1024};
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 20 * NSEC_PER_SEC;
	Replacer rp = {};
	FaultTotals t;
	Harness h;

	iopf_setup(&h, "max");
	rp.h = &h;
	ck_assert_int_eq(pthread_create(&rp.thread, NULL, replacer_main, &rp), 0);
	while (kget(&K.triggered) < 20000 || __atomic_load_n(&rp.done, __ATOMIC_RELAXED) < 2000) {
		ck_assert_msg(now_ns(CLOCK_MONOTONIC) < end, "stuck: %llu injected, %llu replaced",
			      (unsigned long long)kget(&K.triggered),
			      (unsigned long long)__atomic_load_n(&rp.done, __ATOMIC_RELAXED));
		pump(&h, 1);
	}
	__atomic_store_n(&rp.stop, true, __ATOMIC_RELAXED);
	ck_assert_int_eq(pthread_join(rp.thread, NULL), 0);
	ck_assert_int_eq(rp.error, 0);
	backend_mock.traffic_stop(h.ctx);

	assert_accounted(&h);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "unexpected"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "response_errors"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "inject_errors"), 0);
	ck_assert_uint_gt(iopf_stat(h.ctx, "received"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "withdrawn"), K.withdrawn);
	ck_assert_uint_eq(iopf_stat(h.ctx, "response_refused"), K.auto_answered);
	ck_assert_uint_le(iopf_stat(h.ctx, "injected_during_replace"),
			  iopf_stat(h.ctx, "injected"));

	/* The run drains the sink as it goes; here a full queue may drop records, never counts. */
	(void)fault_sink_drain(h.sink, sink_count_cb, &c);
	fault_sink_totals(h.sink, &t);
	ck_assert_uint_eq(c.records + t.dropped[FAULT_SOURCE_IOMMUFD],
			  iopf_stat(h.ctx, "received"));
	iopf_done(&h);
}
END_TEST

/*
 * Deterministic withdrawal: nobody reads, so the injector fills its window
 * and waits; one replacement then withdraws all of it, and the reader, woken
 * by the kick although the queue is empty, settles them as withdrawn.
 */
START_TEST(test_iopf_withdrawn)
{
	uint64_t n, end = now_ns(CLOCK_MONOTONIC) + 20 * NSEC_PER_SEC;
	Harness h;

	iopf_setup(&h, "max");
	while (kget(&K.triggered) < 4096) {
		ck_assert(now_ns(CLOCK_MONOTONIC) < end);
		usleep(1000);
	}
	usleep(20000);
	n = kget(&K.triggered);
	ck_assert_uint_eq(n, 4096); /* the injector waits for the reader */
	ck_assert_uint_ge(iopf_stat(h.ctx, "stalls"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "outstanding"), 4096);

	attach_point_window_open(&h.aps[0]);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 1), 0);
	attach_point_window_close(&h.aps[0], now_ns(CLOCK_MONOTONIC));
	ck_assert_uint_eq(kget(&K.withdrawn), 4096);

	pump_until_triggered(&h, 3 * 4096);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	ck_assert_uint_eq(iopf_stat(h.ctx, "withdrawn"), 4096);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "received"), iopf_stat(h.ctx, "injected") - 4096);
	iopf_done(&h);
}
END_TEST

/* A request that vanishes with no replacement to explain it is lost, and said so. */
START_TEST(test_iopf_lost)
{
	Harness h;

	iopf_setup_idle(&h, "max");
	K.lose_nth = 10;
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 2 * 4096);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "withdrawn"), 0);
	iopf_done(&h);
}
END_TEST

/* A replacement between our read and our write: the kernel answered, our response is refused. */
START_TEST(test_iopf_refused_after_replacement)
{
	Harness h;

	iopf_setup_idle(&h, "max");
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_HWPT && fk->objs[id].parent && id != fk->attached)
			K.replace_to = id;
	K.replace_after_read = true;
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 2 * 4096);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	ck_assert_uint_ge(iopf_stat(h.ctx, "response_refused"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "response_refused"), K.auto_answered);
	ck_assert_uint_eq(iopf_stat(h.ctx, "response_errors"), 0);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	iopf_done(&h);
}
END_TEST

/* The kernel forgets cookies with no replacement at all: that is a response error. */
START_TEST(test_iopf_response_errors)
{
	Harness h;

	iopf_setup_idle(&h, "max");
	K.forget_after_read = true;
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 2 * 4096);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	ck_assert_uint_ge(iopf_stat(h.ctx, "response_errors"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "response_refused"), 0);
	iopf_done(&h);
}
END_TEST

/* A record nobody injected is counted, reported and answered, and matched to nothing. */
START_TEST(test_iopf_unexpected)
{
	Harness h;

	iopf_setup_idle(&h, "max");
	K.bogus_next_read = true;
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 2 * 4096);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	ck_assert_uint_eq(iopf_stat(h.ctx, "unexpected"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "received"), iopf_stat(h.ctx, "injected") + 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	iopf_done(&h);
}
END_TEST

/* Rate= paces the injector. */
START_TEST(test_iopf_rate)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), t1, injected;
	_cleanup_free_ char *json = NULL;
	Harness h;

	iopf_setup(&h, "1000");
	while (now_ns(CLOCK_MONOTONIC) < t0 + 200 * NSEC_PER_MSEC)
		pump(&h, 5);
	backend_mock.traffic_stop(h.ctx);
	t1 = now_ns(CLOCK_MONOTONIC);
	injected = iopf_stat(h.ctx, "injected");
	ck_assert_uint_ge(injected, 1);
	ck_assert_msg(injected <= (t1 - t0) / NSEC_PER_MSEC + 2,
		      "%llu injections in %llu ms at 1000/s", (unsigned long long)injected,
		      (unsigned long long)((t1 - t0) / NSEC_PER_MSEC));
	assert_accounted(&h);
	json = describe(h.ctx);
	ck_assert_msg(strstr(json, "\"rate\":1000,"), "%s", json);
	iopf_done(&h);
}
END_TEST

/* A kernel without TRIGGER_IOPF: the first injection fails the run, with the reason. */
START_TEST(test_iopf_trigger_unsupported)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 10 * NSEC_PER_SEC;
	_cleanup_free_ char *json = NULL;
	const char *reason = NULL;
	int err = 0;
	Harness h;

	fake_setup();
	K.no_trigger_iopf = true;
	harness_setup(&h, iopf_scenario("max", "2"));
	ck_assert_int_eq(h.r, 0);
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), -EBUSY);
	while (!fault_sink_failed(h.sink, &err, &reason)) {
		ck_assert(now_ns(CLOCK_MONOTONIC) < end);
		usleep(1000);
	}
	ck_assert_int_eq(err, -EOPNOTSUPP);
	ck_assert_str_eq(
		reason,
		"IOMMU_TEST_OP_TRIGGER_IOPF failed: Operation not supported (EOPNOTSUPP); no page request can be injected");
	backend_mock.traffic_stop(h.ctx);
	ck_assert_uint_eq(iopf_stat(h.ctx, "inject_errors"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "injected"), 0);
	json = describe(h.ctx);
	ck_assert_ptr_nonnull(strstr(json, "\"last_inject_error\":\"EOPNOTSUPP\""));
	assert_accounted(&h);
	iopf_done(&h);
}
END_TEST

/* A failure that may pass (ENOMEM) is counted, paced, and does not disturb the accounting. */
START_TEST(test_iopf_trigger_transient_error)
{
	Harness h;

	fake_setup();
	fk->fail.request = IOMMU_TEST_CMD;
	fk->fail.op = IOMMU_TEST_OP_TRIGGER_IOPF;
	fk->fail.nth = 5;
	fk->fail.error = ENOMEM;
	harness_setup(&h, iopf_scenario("max", "2"));
	ck_assert_int_eq(h.r, 0);
	K.window = &h.aps[0];
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 2 * 4096);
	backend_mock.traffic_stop(h.ctx);
	ck_assert(!fault_sink_failed(h.sink, NULL, NULL));
	ck_assert_uint_eq(iopf_stat(h.ctx, "inject_errors"), 1);
	ck_assert_uint_eq(iopf_stat(h.ctx, "lost"), 0);
	assert_accounted(&h);
	iopf_done(&h);
}
END_TEST

/* Kernels that lack a piece: a setup error that says which, nothing left behind. */
typedef struct IopfRefusal {
	bool *knob;
	int error;
	const char *message; /* a substring */
} IopfRefusal;

static const IopfRefusal iopf_refusals[] = {
	{&fake_iommufd.no_fault_queue, -ENOTTY,
	 "iommufd fault queues need kernel ≥ 6.11 (IOMMU_FAULT_QUEUE_ALLOC: ENOTTY); [Traffic] Engine=iopf cannot run on this kernel"},
	{&fake_iommufd.no_nesting, -EOPNOTSUPP,
	 "IOMMU_HWPT_ALLOC of the nest parent (IOMMU_HWPT_ALLOC_NEST_PARENT on IOAS 2) failed: Operation not supported (EOPNOTSUPP); the kernel's selftest mock cannot nest (needs kernel ≥ 6.7)"},
	{&K.no_nested_fault, -EOPNOTSUPP,
	 "IOMMU_HWPT_ALLOC of nested domain 0 (IOMMU_HWPT_DATA_SELFTEST on HWPT 6, fault queue 1) failed: Operation not supported (EOPNOTSUPP); this kernel's selftest mock refuses fault-capable nested domains (they need kernel ≥ 6.11)"},
};

START_TEST(test_iopf_kernel_lacks)
{
	const IopfRefusal *f = &iopf_refusals[_i];
	Harness h;

	fake_setup();
	*f->knob = true;
	harness_setup(&h, iopf_scenario("max", "2"));
	ck_assert_int_eq(h.r, f->error);
	ck_assert_ptr_null(h.ctx);
	ck_assert_msg(strstr(strempty(h.error), f->message), "\"%s\" not in \"%s\"", f->message,
		      strempty(h.error));
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fk->last_fd));
	if (fk->last_fault_fd >= 0)
		ck_assert(fd_is_closed(fk->last_fault_fd));
	harness_done(&h);
	fake_teardown();
}
END_TEST

static const FailPoint iopf_fail_points[] = {
	{IOMMU_FAULT_QUEUE_ALLOC, 0, 1, ENOMEM,
	 "IOMMU_FAULT_QUEUE_ALLOC failed: Cannot allocate memory (ENOMEM)"},
	{IOMMU_IOAS_ALLOC, 0, 1, ENOSPC, "IOMMU_IOAS_ALLOC for domain 0 failed"},
	{IOMMU_IOAS_MAP, 0, 1, ENOMEM,
	 "IOMMU_IOAS_MAP of 0x10000 bytes at IOVA 0x1000000 in IOAS 2"},
	{IOMMU_TEST_CMD, IOMMU_TEST_OP_MOCK_DOMAIN, 1, ENOMEM,
	 "IOMMU_TEST_OP_MOCK_DOMAIN on IOAS 2 failed"},
	{IOMMU_HWPT_ALLOC, 0, 1, ENOMEM,
	 "IOMMU_HWPT_ALLOC of the nest parent (IOMMU_HWPT_ALLOC_NEST_PARENT on IOAS 2) failed: Cannot allocate memory (ENOMEM)"},
	{IOMMU_HWPT_ALLOC, 0, 2, ENOMEM, "IOMMU_HWPT_ALLOC of nested domain 0"},
	{IOMMU_HWPT_ALLOC, 0, 4, EFAULT, "IOMMU_HWPT_ALLOC of nested domain 2"},
};

START_TEST(test_iopf_setup_unwinds)
{
	const FailPoint *f = &iopf_fail_points[_i];
	Harness h;

	fake_setup();
	fk->fail.request = f->request;
	fk->fail.op = f->op;
	fk->fail.nth = f->nth;
	fk->fail.error = f->error;
	harness_setup(&h, iopf_scenario("max", "3"));
	ck_assert_int_eq(h.r, -f->error);
	ck_assert_ptr_null(h.ctx);
	ck_assert_msg(strstr(strempty(h.error), f->message), "\"%s\" not in \"%s\"", f->message,
		      strempty(h.error));
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fk->last_fd));
	if (fk->last_fault_fd >= 0)
		ck_assert(fd_is_closed(fk->last_fault_fd));
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* Teardown with the injector still running (a run that failed half way): it stops, drains, frees.
 */
START_TEST(test_iopf_teardown_while_injecting)
{
	int fault_fd;
	Harness h;

	iopf_setup(&h, "max");
	pump_until_triggered(&h, 100);
	fault_fd = fk->last_fault_fd;
	harness_done(&h);
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fault_fd));
	fake_teardown();
}
END_TEST

/* ---- PASID attachment points (6.15) ---- */

static void assert_in(const char *json, const char *want)
{
	ck_assert_msg(strstr(json, want), "%s not in %s", want, json);
}

static uint32_t kpasid_hwpt(uint32_t pasid)
{
	uint32_t hwpt = fake_iommufd_pasid_hwpt(pasid);

	ck_assert_msg(hwpt != 0, "PASID %u is not attached", pasid);
	return hwpt;
}

/* Attaches every point to domain 0, as the run does. */
static void attach_all(Harness *h)
{
	for (unsigned ap = 0; ap < h->s->n_points; ap++)
		ck_assert_int_eq(backend_mock.attach(h->ctx, ap, 0), 0);
}

/* The RID and PASIDs side by side: objects, ping-pong, checks, detach, nothing left. */
START_TEST(test_pasid_lifecycle)
{
	_cleanup_free_ char *json = NULL, *after = NULL;
	uint32_t rid_hwpt, hwpt[2];
	char want[96];
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-4", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	ck_assert_uint_eq(K.dev_flags, MOCK_FLAGS_DEVICE_PASID);
	/* two domain HWPTs and the RID's own; the automatic one went when the RID moved */
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_HWPT), 3);
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_HWPT) {
			ck_assert(fk->objs[id].pasid_compat);
			ck_assert(!fk->objs[id].auto_domain);
		}
	rid_hwpt = fk->attached;
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 0);

	attach_all(&h);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 4);
	hwpt[0] = fk->attached;
	ck_assert_uint_ne(hwpt[0], rid_hwpt);
	for (uint32_t pasid = 1; pasid <= 4; pasid++)
		ck_assert_uint_eq(kpasid_hwpt(pasid), hwpt[0]);
	ck_assert_int_eq(backend_mock.attach(h.ctx, 1, 1), -EBUSY);

	for (unsigned i = 1; i <= 3000; i++) {
		for (unsigned ap = 0; ap < 5; ap++)
			ck_assert_int_eq(engine_replace(&h, ap, i % 2), 0);
		if (i == 1) {
			hwpt[1] = fk->attached;
			for (uint32_t pasid = 1; pasid <= 4; pasid++)
				ck_assert_uint_eq(kpasid_hwpt(pasid), hwpt[1]);
		}
	}
	ck_assert_uint_ne(hwpt[0], hwpt[1]);
	ck_assert_uint_ne(hwpt[1], rid_hwpt);
	ck_assert_uint_eq(fk->attached, hwpt[0]); /* 3000 is even: everyone is back on domain 0 */
	ck_assert_uint_eq(fk->pasid_replaces, 4 * 3000);
	for (uint32_t pasid = 1; pasid <= 4; pasid++)
		ck_assert_uint_eq(kpasid_hwpt(pasid), hwpt[0]);

	/* every point checked after 1024 and 2048 replacements */
	json = describe(h.ctx);
	assert_in(json, "\"device_pasid\":true,\"max_pasid_log2\":20");
	assert_in(
		json,
		"\"hwpt_checks\":{\"available\":true,\"every\":1024,\"checks\":10,\"mismatches\":0,\"errors\":0}");
	assert_in(json, "\"pasids_attached\":4,\"pasids_detached_verified\":0");
	snprintf(want, sizeof(want), "\"rid_hwpt_id\":%u", rid_hwpt);
	assert_in(json, want);
	snprintf(want, sizeof(want),
		 "{\"name\":\"PASID 3\",\"pasid\":3,\"hwpt_id\":%u,\"attached\":true,\"checks\":2,",
		 hwpt[0]);
	assert_in(json, want);
	assert_in(json, "{\"name\":\"RID\",\"pasid\":null,");

	/* the RID first: it cannot go to an automatic HWPT while PASIDs are attached */
	for (unsigned ap = 0; ap < 5; ap++)
		ck_assert_int_eq(backend_mock.detach(h.ctx, ap), 0);
	ck_assert_uint_eq(fk->attached, rid_hwpt);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 0);
	ck_assert_uint_eq(fk->objs[hwpt[0]].users, 0);
	after = describe(h.ctx);
	assert_in(after, "\"pasids_attached\":0,\"pasids_detached_verified\":4");
	assert_in(after, "\"checks\":15,\"mismatches\":0");
	assert_in(after,
		  "\"pasid\":4,\"hwpt_id\":0,\"attached\":false,\"checks\":3,\"mismatches\":0,"
		  "\"check_errors\":0,\"detach_verified\":true}");
	snprintf(want, sizeof(want), "\"parked_hwpt_id\":%u", rid_hwpt);
	assert_in(after, want);
	ck_assert(!fault_sink_failed(h.sink, NULL, NULL));

	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

/* PASIDs attached before the RID, or with no RID point at all. */
static const char *const pasid_orders[] = {"Attach.Points=5 6 RID", "Attach.Points=1-3",
					   "Attach.Points=0xFFFFF RID 1023 1025"};

START_TEST(test_pasid_orders)
{
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, scenario((char *[]){(char *)pasid_orders[_i], NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	for (unsigned i = 1; i <= 10; i++)
		for (unsigned ap = 0; ap < h.s->n_points; ap++)
			ck_assert_int_eq(engine_replace(&h, ap, i % 2), 0);
	for (unsigned ap = 0; ap < h.s->n_points; ap++)
		ck_assert_int_eq(backend_mock.detach(h.ctx, ap), 0);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 0);
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

/* 6.12: the PASID ops answer EOPNOTSUPP; refused before a single object exists. */
START_TEST(test_pasid_kernel_lacks)
{
	Harness h;

	fake_setup();
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-64", NULL}));
	ck_assert_int_eq(h.r, -EOPNOTSUPP);
	ck_assert_ptr_null(h.ctx);
	assert_in(
		strempty(h.error),
		"kernel lacks PASID attach: IOMMU_TEST_OP_PASID_ATTACH needs Linux 6.15 or newer (this kernel: ");
	assert_in(h.error, "), so PASID 1 cannot be attached on the mock backend");
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(fd_is_closed(fk->last_fd));
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* The device's PASID width from IOMMU_GET_HW_INFO. */
START_TEST(test_pasid_width)
{
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	K.max_pasid_log2 = 4;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 3 15 16", NULL}));
	ck_assert_int_eq(h.r, -ERANGE);
	ck_assert_str_eq(
		strempty(h.error),
		"PASID 16 is beyond the mock device's PASID width: IOMMU_GET_HW_INFO reports max_pasid_log2=4 (PASIDs 1-15)");
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	harness_done(&h);

	fake_setup();
	fk->pasid_abi = true;
	K.max_pasid_log2 = 0;
	harness_setup(&h, scenario((char *[]){"Attach.Points=2", NULL}));
	ck_assert_int_eq(h.r, -EOPNOTSUPP);
	assert_in(strempty(h.error), "IOMMU_GET_HW_INFO reports max_pasid_log2=0");
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	harness_done(&h);

	/* a kernel that does not answer GET_HW_INFO: the width is not known, the run goes on */
	fake_setup();
	fk->pasid_abi = true;
	fk->fail.request = IOMMU_GET_HW_INFO;
	fk->fail.nth = 1;
	fk->fail.error = EOPNOTSUPP;
	harness_setup(&h, scenario((char *[]){"Attach.Points=2", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	{
		_cleanup_free_ char *json = describe(h.ctx);

		assert_in(json, "\"max_pasid_log2\":null");
	}
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* The kernel holds another HWPT than the daemon attached: the run fails, naming both. */
START_TEST(test_pasid_mismatch)
{
	_cleanup_free_ char *json = NULL, *want = NULL;
	const char *reason = NULL;
	int err = 0;
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	K.mismatch_pasid = 2;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-3", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	/* replace() itself never asks: the check is verify()'s, outside the timing */
	for (unsigned i = 1; i < MOCK_CHECK_EVERY_TEST; i++)
		ck_assert_int_eq(engine_replace(&h, 2, i % 2), 0);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 2, 0), 0);
	ck_assert(!fault_sink_failed(h.sink, NULL, NULL));
	ck_assert_int_eq(backend_mock.verify(h.ctx, 2), -EBADE);
	ck_assert(fault_sink_failed(h.sink, &err, &reason));
	ck_assert_int_eq(err, -EBADE);
	ck_assert_int_ge(
		asprintf(
			&want,
			"PASID 2: the kernel does not hold HWPT %u that the daemon attached (IOMMU_TEST_OP_PASID_CHECK_HWPT after a batch of replacements disagrees)",
			kpasid_hwpt(2)),
		0);
	ck_assert_str_eq(reason, want);
	json = describe(h.ctx);
	assert_in(json, "\"checks\":0,\"mismatches\":1,\"errors\":0");
	assert_in(json, "\"pasid\":2,");

	/* teardown without detach: every PASID goes before the device */
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

/* The RID is checked as PASID 0, here at detach. */
START_TEST(test_rid_mismatch_at_detach)
{
	const char *reason = NULL;
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, scenario(NULL));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	ck_assert_uint_eq(K.dev_flags, 0); /* RID only: a plain mock device */
	attach_all(&h);
	K.mismatch_rid = true;
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), -EBADE);
	ck_assert(fk->objs[fk->attached].auto_domain); /* parked all the same */
	ck_assert(fault_sink_failed(h.sink, NULL, &reason));
	assert_in(reason, "RID: the kernel does not hold HWPT ");
	assert_in(reason,
		  " that the daemon attached (IOMMU_TEST_OP_PASID_CHECK_HWPT at detach disagrees)");
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* RID-only runs are checked too where the kernel can; not where it cannot. */
START_TEST(test_rid_checks)
{
	_cleanup_free_ char *json = NULL, *old = NULL;
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, scenario(NULL));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_HWPT)
			ck_assert(!fk->objs[id].pasid_compat);
	attach_all(&h);
	for (unsigned i = 1; i <= 2048; i++)
		ck_assert_int_eq(engine_replace(&h, 0, i % 2), 0);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	json = describe(h.ctx);
	assert_in(json, "\"device_pasid\":false,\"max_pasid_log2\":null,\"rid_hwpt_id\":0");
	assert_in(json, "\"available\":true,\"every\":1024,\"checks\":3,\"mismatches\":0");
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);

	fake_setup(); /* 6.12 */
	harness_setup(&h, scenario(NULL));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	for (unsigned i = 1; i <= 2048; i++)
		ck_assert_int_eq(engine_replace(&h, 0, i % 2), 0);
	old = describe(h.ctx);
	assert_in(old, "\"hwpt_checks\":{\"available\":false,\"every\":1024,\"checks\":0,");
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* A PASID the kernel does not let go: detach says so; the others are verified. */
START_TEST(test_pasid_detach_unverified)
{
	_cleanup_free_ char *json = NULL;
	const char *reason = NULL;
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	K.stuck_pasid = 3;
	harness_setup(&h, scenario((char *[]){"Attach.Points=1-4", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 1), 0);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 2), -EBADE);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 3), 0);
	ck_assert(fault_sink_failed(h.sink, NULL, &reason));
	ck_assert_str_eq(
		reason,
		"PASID 3: still attached after IOMMU_TEST_OP_PASID_DETACH (IOMMU_TEST_OP_PASID_CHECK_HWPT with hwpt_id 0 disagrees)");
	json = describe(h.ctx);
	assert_in(json, "\"pasids_attached\":1,\"pasids_detached_verified\":3");
	assert_in(json, "\"pasid\":3,\"hwpt_id\":");
	assert_in(json, "\"attached\":true,\"checks\":1,\"mismatches\":0,\"check_errors\":0,"
			"\"detach_verified\":false}");
	harness_done(&h);
	ck_assert(fd_is_closed(fk->last_fd));
	fake_teardown();
}
END_TEST

/* A run that failed half way through its attaches: teardown detaches what was attached. */
START_TEST(test_pasid_teardown_half_attached)
{
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	fk->fail.request = IOMMU_TEST_CMD;
	fk->fail.op = IOMMU_TEST_OP_PASID_ATTACH;
	fk->fail.nth = 4;
	fk->fail.error = ENOMEM;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-6", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	for (unsigned ap = 0; ap < 4; ap++)
		ck_assert_int_eq(backend_mock.attach(h.ctx, ap, 0), 0);
	ck_assert_int_eq(backend_mock.attach(h.ctx, 4, 0), -ENOMEM);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 3);
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

static const FailPoint pasid_fail_points[] = {
	{IOMMU_TEST_CMD, IOMMU_TEST_OP_PASID_CHECK_HWPT, 1, EIO,
	 "probing the PASID test ops (IOMMU_TEST_OP_PASID_CHECK_HWPT) failed: Input/output error (EIO)"},
	{IOMMU_TEST_CMD, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, 1, ENOMEM,
	 "IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS (MOCK_FLAGS_DEVICE_PASID) on IOAS 1 failed: Cannot allocate memory (ENOMEM)"},
	{IOMMU_HWPT_ALLOC, 0, 1, EOPNOTSUPP,
	 "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for domain 0 (IOAS 1, mock device 5) failed: Operation not supported (EOPNOTSUPP); kernel lacks PASID attach"},
	{IOMMU_HWPT_ALLOC, 0, 3, ENOMEM,
	 "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for domain 2"},
	{IOMMU_HWPT_ALLOC, 0, 4, ENOMEM,
	 "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for the RID (IOAS 1) failed: Cannot allocate memory (ENOMEM)"},
	{IOMMU_TEST_CMD, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, 1, ENOMEM,
	 "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE of the RID to its PASID-compatible HWPT"},
};

START_TEST(test_pasid_setup_unwinds)
{
	const FailPoint *f = &pasid_fail_points[_i];
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	fk->fail.request = f->request;
	fk->fail.op = f->op;
	fk->fail.nth = f->nth;
	fk->fail.error = f->error;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-2", "Domains.Count=3", NULL}));
	ck_assert_int_eq(h.r, -f->error);
	ck_assert_ptr_null(h.ctx);
	ck_assert_msg(strstr(strempty(h.error), f->message), "\"%s\" not in \"%s\"", f->message,
		      strempty(h.error));
	ck_assert_msg(fake_iommufd_count(FAKE_OBJ_ANY) == 0, "%u objects left",
		      fake_iommufd_count(FAKE_OBJ_ANY));
	ck_assert(fd_is_closed(fk->last_fd));
	harness_done(&h);
	fake_teardown();
}
END_TEST

typedef struct PasidWorker {
	Harness *h;
	unsigned ap;
	int r;
} PasidWorker;

static void *pasid_worker_main(void *userdata)
{
	PasidWorker *w = userdata;

	for (unsigned i = 1; i <= 5000 && w->r == 0; i++)
		w->r = engine_replace(w->h, w->ap, i % 2);
	return NULL;
}

/* One worker per point, all at once, as the run engine calls replace(). */
START_TEST(test_pasid_concurrent_workers)
{
	_cleanup_free_ char *json = NULL;
	PasidWorker w[16];
	pthread_t t[16];
	Harness h;

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, scenario((char *[]){"Attach.Points=RID 1-15", NULL}));
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	for (unsigned i = 0; i < 16; i++) {
		w[i] = (PasidWorker){.h = &h, .ap = i};
		ck_assert_int_eq(pthread_create(&t[i], NULL, pasid_worker_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].r, 0);
	}
	ck_assert_uint_eq(fk->pasid_replaces, 15 * 5000);
	json = describe(h.ctx);
	/* 5000 replacements make 4 checks a point */
	assert_in(json, "\"checks\":64,\"mismatches\":0,\"errors\":0");
	for (unsigned ap = 0; ap < 16; ap++)
		ck_assert_int_eq(backend_mock.detach(h.ctx, ap), 0);
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

START_TEST(test_pasid_device_info)
{
	_cleanup_free_ char *text = NULL, *old = NULL, *err = NULL;
	JsonWriter j;

	fake_setup();
	fk->pasid_abi = true;
	json_init(&j);
	json_object_begin(&j, NULL);
	ck_assert_int_eq(backend_mock.device_info(&fake_env, "mock0", &j, &err), 0);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	assert_in(text, "\"pasid\":true,\"pasid_width\":20");

	fk->pasid_abi = false;
	json_init(&j);
	json_object_begin(&j, NULL);
	ck_assert_int_eq(backend_mock.device_info(&fake_env, "mock0", &j, &err), 0);
	json_object_end(&j);
	old = json_finish(&j, NULL);
	assert_in(old, "\"pasid\":false,\"pasid_width\":null");
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

/* ---- the shipped examples ---- */

static char *example_path(const char *name)
{
	const char *e = getenv("SCENARIO_DIR"), *slash;
	char *p;

	if (e) {
		if (asprintf(&p, "%s/%s", e, name) < 0)
			return NULL;
		return p;
	}
	slash = strrchr(__FILE__, '/');
	if (asprintf(&p, "%.*s/../../contrib/scenarios/%s", slash ? (int)(slash - __FILE__) : 1,
		     slash ? __FILE__ : ".", name) < 0)
		return NULL;
	return p;
}

static Scenario *parse_example(const char *name)
{
	_cleanup_free_ char *path = example_path(name), *text = NULL, *error = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	Scenario *s = NULL;
	long n;

	ck_assert_ptr_nonnull(path);
	f = fopen(path, "re");
	ck_assert_msg(f, "cannot open %s (set SCENARIO_DIR to contrib/scenarios): %m", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	ck_assert_msg(scenario_parse(text, name, NULL, &s, &error) == 0, "%s", strempty(error));
	return s;
}

static bool has_expectation(const Scenario *s, ExpectMetric m, Comparison cmp, double v)
{
	for (size_t i = 0; i < s->n_expect; i++)
		if (s->expect[i].metric == m && s->expect[i].cmp == cmp && s->expect[i].value == v)
			return true;
	return false;
}

START_TEST(test_example_scenario)
{
	Scenario *s = parse_example("mock-replace.conf");
	Harness h;

	ck_assert_str_eq(s->backend, "mock");
	ck_assert_str_eq(s->engine, "none");
	ck_assert(!s->traffic);
	ck_assert_uint_eq(s->count, 1000000);
	ck_assert_uint_eq(s->n_expect, 2);

	fake_setup();
	harness_setup(&h, s);
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 1), 0);
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	fake_teardown();
}
END_TEST

START_TEST(test_example_iopf)
{
	Scenario *s = parse_example("mock-iopf.conf");
	Harness h;

	ck_assert_str_eq(s->backend, "mock");
	ck_assert_str_eq(s->engine, "iopf");
	ck_assert(s->traffic);
	ck_assert_uint_eq(s->n_points, 1);
	ck_assert_uint_eq(s->n_domains, 2);
	ck_assert_uint_eq(s->duration_ns, 5 * NSEC_PER_SEC);
	ck_assert(has_expectation(s, EXPECT_REPLACE_ERRORS, CMP_EQ, 0));
	ck_assert(has_expectation(s, EXPECT_FAULTS, CMP_GT, 0));

	fake_setup();
	harness_setup(&h, s);
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	K.window = &h.aps[0];
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.traffic_start(h.ctx), 0);
	pump_until_triggered(&h, 100);
	backend_mock.traffic_stop(h.ctx);
	assert_accounted(&h);
	iopf_done(&h);
}
END_TEST

START_TEST(test_example_pasid)
{
	_cleanup_free_ char *json = NULL;
	Scenario *s = parse_example("mock-pasid.conf");
	Harness h;

	ck_assert_str_eq(s->backend, "mock");
	ck_assert_str_eq(s->engine, "none");
	ck_assert_uint_eq(s->n_points, 65);
	ck_assert_uint_eq(s->workers, 65);
	ck_assert_uint_eq(s->points[0], ATTACH_POINT_RID);
	ck_assert_uint_eq(s->points[64], 64);
	ck_assert_uint_eq(s->count, 1000000);
	ck_assert(has_expectation(s, EXPECT_REPLACE_ERRORS, CMP_EQ, 0));
	ck_assert(has_expectation(s, EXPECT_REPLACEMENTS, CMP_GE, 1000000));

	fake_setup();
	fk->pasid_abi = true;
	harness_setup(&h, s);
	ck_assert_msg(h.r == 0, "setup: %s", strempty(h.error));
	attach_all(&h);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 64);
	for (unsigned ap = 0; ap < 65; ap++)
		ck_assert_int_eq(backend_mock.replace(h.ctx, ap, 1), 0);
	for (unsigned ap = 0; ap < 65; ap++)
		ck_assert_int_eq(backend_mock.detach(h.ctx, ap), 0);
	json = describe(h.ctx);
	assert_in(json, "\"pasids_attached\":0,\"pasids_detached_verified\":64");
	assert_in(json, "\"checks\":65,\"mismatches\":0,\"errors\":0");
	harness_done(&h);
	ck_assert_uint_eq(fake_iommufd_count(FAKE_OBJ_ANY), 0);
	ck_assert(!K.warned);
	fake_teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mock-backend");
	TCase *tc = tcase_create("fake-kernel");

	tcase_add_test(tc, test_registered);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_list_devices);
	tcase_add_test(tc, test_device_info);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_teardown_without_detach);
	tcase_add_loop_test(tc, test_setup_unwinds, 0, ELEMENTSOF(fail_points));
	tcase_add_test(tc, test_hw_iommu_owns_bus);
	tcase_add_test(tc, test_no_test_cmd_at_setup);
	tcase_add_test(tc, test_missing_dev_iommu_at_setup);
	tcase_add_loop_test(tc, test_refusals, 0, ELEMENTSOF(refusals));
	tcase_add_test(tc, test_wrong_backend);
	tcase_add_test(tc, test_missing_range_layout);
	tcase_add_test(tc, test_teardown_when_destroy_fails);
	tcase_add_test(tc, test_example_scenario);
	tcase_add_test(tc, test_example_iopf);
	suite_add_tcase(s, tc);

	tc = tcase_create("iopf");
	tcase_add_test(tc, test_iopf_objects);
	tcase_add_test(tc, test_iopf_at_rest);
	tcase_add_test(tc, test_iopf_while_replacing);
	tcase_add_test(tc, test_iopf_withdrawn);
	tcase_add_test(tc, test_iopf_lost);
	tcase_add_test(tc, test_iopf_refused_after_replacement);
	tcase_add_test(tc, test_iopf_response_errors);
	tcase_add_test(tc, test_iopf_unexpected);
	tcase_add_test(tc, test_iopf_rate);
	tcase_add_test(tc, test_iopf_trigger_unsupported);
	tcase_add_test(tc, test_iopf_trigger_transient_error);
	tcase_add_loop_test(tc, test_iopf_kernel_lacks, 0, ELEMENTSOF(iopf_refusals));
	tcase_add_loop_test(tc, test_iopf_setup_unwinds, 0, ELEMENTSOF(iopf_fail_points));
	tcase_add_test(tc, test_iopf_teardown_while_injecting);
	suite_add_tcase(s, tc);

	tc = tcase_create("pasid");
	tcase_add_test(tc, test_pasid_lifecycle);
	tcase_add_loop_test(tc, test_pasid_orders, 0, ELEMENTSOF(pasid_orders));
	tcase_add_test(tc, test_pasid_kernel_lacks);
	tcase_add_test(tc, test_pasid_width);
	tcase_add_test(tc, test_pasid_mismatch);
	tcase_add_test(tc, test_rid_mismatch_at_detach);
	tcase_add_test(tc, test_rid_checks);
	tcase_add_test(tc, test_pasid_detach_unverified);
	tcase_add_test(tc, test_pasid_teardown_half_attached);
	tcase_add_loop_test(tc, test_pasid_setup_unwinds, 0, ELEMENTSOF(pasid_fail_points));
	tcase_add_test(tc, test_pasid_concurrent_workers);
	tcase_add_test(tc, test_pasid_device_info);
	tcase_add_test(tc, test_example_pasid);
	suite_add_tcase(s, tc);
	return check_run(s);
}
