/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mock backend: the kernel's iommufd selftest mock device
 * (CONFIG_IOMMUFD_TEST) driven through IOMMU_TEST_CMD. It has no hardware
 * behind it and no DMA, so what it measures is the iommufd core's replace
 * path: object lookup, locking, reserved-region bookkeeping and the mock
 * driver's attach callbacks.
 *
 * Kernel objects of a run, created in this order by setup() and destroyed
 * in the reverse order by teardown():
 *   one IOAS per domain, each mapping one shared anonymous buffer of MapSize
 *     bytes at IOVA (Layout=missing-range: odd domains map nothing);
 *   the mock device: IOMMU_TEST_OP_MOCK_DOMAIN on IOAS 0 creates it, binds it
 *     (idev) and attaches it to an automatic HWPT of IOAS 0;
 *   one paging HWPT per domain, IOMMU_HWPT_ALLOC(idev, IOAS i).
 * attach() and replace() are IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE to the
 * domain's HWPT. The mock device's RID cannot be detached on its own (only
 * destroying the device does), so detach() parks it on IOAS 0 instead; see
 * mock_detach().
 *
 * PASID attachment points (kernel ≥ 6.15): the device is created with
 * IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS and MOCK_FLAGS_DEVICE_PASID (20 PASID
 * bits), and every domain HWPT is allocated with IOMMU_HWPT_ALLOC_PASID:
 * iommufd_hwpt_pasid_compat() refuses a PASID attach unless both the PASID's
 * HWPT and the RID's are PASID-compatible, and refuses to move the RID to an
 * incompatible HWPT while any PASID is attached. The automatic HWPT the
 * device is born on is not compatible, so setup() moves the RID to a
 * PASID-compatible HWPT of IOAS 0 of its own (rid_hwpt_id) before any PASID
 * is attached, and detach() parks the RID there rather than on an automatic
 * HWPT. A PASID point is attached, replaced and detached with
 * IOMMU_TEST_OP_PASID_ATTACH/_REPLACE/_DETACH; teardown() detaches whatever
 * PASID is still attached before the device goes, since the kernel waits
 * for those attachments when the device is destroyed.
 *
 * Where the kernel has IOMMU_TEST_OP_PASID_CHECK_HWPT (6.15; it works for
 * the RID too, as PASID 0), every point's worker asks the kernel after each
 * BACKEND_VERIFY_EVERY replacements (verify(), outside the timed replace),
 * and detach() once more, whether the point
 * is on the HWPT the daemon last attached. A disagreement fails the run
 * (EBADE) with a reason naming the point and the HWPT; detach() verifies
 * with hwpt_id 0 that a PASID is detached.
 *
 * With [Traffic] Engine=iopf the domains are fault-capable instead, the way
 * the kernel's selftests build them (tools/testing/selftests/iommu/iommufd.c,
 * iommufd_hwpt_alloc nested): before anything else a fault queue
 * (IOMMU_FAULT_QUEUE_ALLOC: an object id and an fd); then only IOAS 0,
 * mapped; the mock device on it; a nest-parent paging HWPT on IOAS 0
 * (IOMMU_HWPT_ALLOC_NEST_PARENT); and per domain a nested HWPT on that
 * parent (IOMMU_HWPT_DATA_SELFTEST, IOMMU_HWPT_FAULT_ID_VALID with the
 * queue's id). On 6.11/6.12 only nested HWPTs take a fault queue. The
 * domains then differ only in their stage 1, which the mock does not walk.
 * traffic_start() starts the page request injector (mock-iopf.c); the main
 * loop watches the fault queue fd and the injector's kick fd.
 *
 * Its Describe() members ("backend_info"): engine, stdev_id, idev_id,
 * initial_hwpt_id, parked_hwpt_id (0 until detach), iova, map_size,
 * domains [{index, kind (paging|nested), ioas_id, hwpt_id, maps_dma_range}];
 * device_pasid, max_pasid_log2, rid_hwpt_id, pasids_detached_verified,
 * hwpt_checks {…} and points [{…}] for the PASID attachments and the
 * CHECK_HWPT counts; with Engine=iopf also fault_id, nest_parent_hwpt_id and
 * iopf {…} (see mock-iopf.h and docs/dbus-api.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "core/backend.h"
#include "counter.h"
#include "iommufd-ioctl.h"
#include "backends/mock/mock-iopf.h"
#include "log.h"
#include "macro.h"

#define MOCK_DEVICE_ID		"mock0"
#define MOCK_DEVICE_DESCRIPTION "iommufd selftest mock device (CONFIG_IOMMUFD_TEST)"
/*
 * Replacements of one point between two IOMMU_TEST_OP_PASID_CHECK_HWPT: rare
 * enough not to show in the rate (one more ioctl per 1024), often enough that
 * a kernel losing track of an attachment is caught within the run.
 */
/* IOMMU_TEST_OP_PASID_CHECK_HWPT's name for the RID's attachment. */
#define MOCK_NO_PASID 0u

/* Object ids: iommufd hands out ids from 1, so 0 means "not created". */
typedef struct MockDomain {
	uint32_t ioas_id;
	uint32_t hwpt_id;
	bool mapped; /* the buffer is mapped at IOVA in this IOAS */
} MockDomain;

/*
 * One attachment point. The worker that owns the point writes hwpt_id and the
 * counters, Describe() on the main thread reads them: single-writer relaxed
 * atomics, and a cache line per point so workers do not share one.
 */
typedef struct MockPoint {
	_Alignas(CACHELINE) uint32_t pasid; /* ATTACH_POINT_RID or the PASID */
	uint32_t hwpt_id;		    /* what the daemon attached last; 0: nothing */
	bool attached;	       /* PASID: attached; teardown() must detach it (main thread) */
	bool detach_verified;  /* PASID: CHECK_HWPT with hwpt_id 0 agreed after the detach */
	uint64_t checks;       /* CHECK_HWPT that agreed */
	uint64_t mismatches;   /* … that said the point is not on hwpt_id */
	uint64_t check_errors; /* … that failed otherwise */
} MockPoint;

typedef struct MockBackend {
	int fd;		 /* /dev/iommu */
	bool iopf;	 /* Engine=iopf: nested fault-capable domains, page request injection */
	bool pasid;	 /* the scenario has PASID points: PASID device, PASID-compatible HWPTs */
	bool checks;	 /* the kernel has IOMMU_TEST_OP_PASID_CHECK_HWPT: every point is checked */
	FaultSink *sink; /* where a failed check fails the run (may be NULL in tests) */
	MockPoint *points;
	size_t n_points;
	uint8_t max_pasid_log2; /* IOMMU_GET_HW_INFO of the device; 0 if unknown */
	uint32_t rid_hwpt_id;	/* PASID mode: the RID's PASID-compatible HWPT of IOAS 0 */
	uint64_t pasids_detached_verified; /* main thread */
	void *buf;
	uint64_t iova;
	uint64_t map_size;
	MockDomain *domains;
	unsigned n_domains;
	uint32_t stdev_id;	  /* the selftest object: destroying it removes the device */
	uint32_t idev_id;	  /* the device's bind id, dev_id of HWPT_ALLOC */
	uint32_t initial_hwpt_id; /* automatic HWPT of IOAS 0 that MOCK_DOMAIN attached */
	uint32_t parked_hwpt_id;  /* automatic HWPT of IOAS 0 that detach() attached */
	/* Engine=iopf */
	uint32_t fault_id;	 /* the fault queue object */
	int fault_fd;		 /* … and its fd: page requests in, responses out */
	uint32_t nest_parent_id; /* paging HWPT on IOAS 0 under every nested domain */
	MockIopf *injector;
} MockBackend;

static int open_dev_iommu(const HostEnv *env, int *ret_fd, char **reason)
{
	char e[96];
	int r;

	r = iommufd_open(env->dev_iommu, ret_fd);
	if (r == -ENOENT)
		return backend_errorf(
			reason, r,
			"%s not found: kernel without CONFIG_IOMMUFD or module not loaded",
			env->dev_iommu);
	if (r < 0)
		return backend_errorf(reason, r, "cannot open %s: %s", env->dev_iommu,
				      backend_errno_text(r, e, sizeof(e)));
	return 0;
}

static int mock_probe(const HostEnv *env, char **reason)
{
	_cleanup_close_ int fd = -EBADF;
	char e[96];
	int r;

	r = open_dev_iommu(env, &fd, reason);
	if (r < 0)
		return r;
	r = uapi_probe_iommufd_command(fd, IOMMU_TEST_CMD);
	if (r == 0)
		return backend_errorf(
			reason, -EOPNOTSUPP,
			"kernel built without CONFIG_IOMMUFD_TEST (the iommufd selftest mock)");
	if (r < 0)
		return backend_errorf(reason, r, "probing IOMMU_TEST_CMD on %s failed: %s",
				      env->dev_iommu, backend_errno_text(r, e, sizeof(e)));
	return 0;
}

/*
 * Does the kernel have the PASID test ops (6.15)? IOMMU_TEST_OP_PASID_CHECK_HWPT
 * of stdev 0, which no object can have: a kernel that knows the op looks the
 * device up and answers ENOENT, one that does not answers EOPNOTSUPP, without
 * CONFIG_IOMMUFD_TEST ENOTTY. Nothing is created. 1 yes, 0 no, <0 other errors.
 */
static int probe_pasid_ops(int fd)
{
	int r = iommufd_test_pasid_check_hwpt(fd, 0, 1, 0);

	switch (r) {
	case -ENOENT:
	case -EINVAL:
	case 0:
		return 1;
	case -EOPNOTSUPP:
	case -ENOTTY:
		return 0;
	default:
		return r;
	}
}

/* "6.12.38" for messages about what this kernel lacks. */
static const char *kernel_release(struct utsname *u)
{
	return uname(u) == 0 ? u->release : "unknown";
}

static int mock_list_devices(const HostEnv *env, BackendDevice **ret, size_t *ret_n)
{
	/* A mock device exists only while a run holds it; any run can make one. */
	return backend_device_single(ret, ret_n, MOCK_DEVICE_ID, MOCK_DEVICE_DESCRIPTION, "ready");
}

static int mock_device_info(const HostEnv *env, const char *id, JsonWriter *j, char **error)
{
	if (!streq_ptr(id, MOCK_DEVICE_ID))
		return backend_errorf(
			error, -ENODEV,
			"no device %s: the mock backend has one device, " MOCK_DEVICE_ID,
			strempty(id));
	json_string(j, "dev_iommu", env->dev_iommu);
	json_string(j, "kernel_interface", "IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST)");
	json_u64(j, "aperture_start", MOCK_APERTURE_START);
	json_u64(j, "aperture_last", MOCK_APERTURE_LAST);
	{
		_cleanup_close_ int fd = -EBADF;
		int r = iommufd_open(env->dev_iommu, &fd);

		if (r >= 0)
			r = probe_pasid_ops(fd);
		/* A mock device made with MOCK_FLAGS_DEVICE_PASID, where the PASID ops exist. */
		json_bool(j, "pasid", r > 0);
		if (r > 0)
			json_u64(j, "pasid_width", MOCK_PASID_WIDTH);
		else
			json_null(j, "pasid_width");
	}
	json_null(j, "dma_engine");
	return 0;
}

/* Destroys one object; teardown goes on regardless, closing the fd releases what is left. */
static void destroy_object(MockBackend *b, uint32_t *id, const char *what)
{
	int r;

	if (*id == 0)
		return;
	r = iommufd_destroy(b->fd, *id);
	if (r < 0)
		log_debug_errno(r, "mock: IOMMU_DESTROY of %s %" PRIu32 " failed: %m", what, *id);
	*id = 0;
}

static uint32_t point_pasid(const MockPoint *p)
{
	return p->pasid == ATTACH_POINT_RID ? MOCK_NO_PASID : p->pasid;
}

/*
 * Asks the kernel whether point p is on HWPT hwpt (the one the daemon
 * attached last) and fails the run when it is not: the replace ioctls all
 * succeeded, yet the kernel holds another attachment than the one the run
 * measures. Called by the point's worker, or by the main thread at detach.
 */
static int check_point(MockBackend *b, MockPoint *p, uint32_t hwpt, const char *when)
{
	char where[32], reason[256], e[96];
	int r;

	r = iommufd_test_pasid_check_hwpt(b->fd, b->stdev_id, point_pasid(p), hwpt);
	if (r >= 0) {
		counter_inc(p->checks);
		return 0;
	}
	attach_point_to_string(p->pasid, where, sizeof(where));
	if (r == -EINVAL) {
		counter_inc(p->mismatches);
		snprintf(reason, sizeof(reason),
			 "%s: the kernel does not hold HWPT %" PRIu32
			 " that the daemon attached (IOMMU_TEST_OP_PASID_CHECK_HWPT %s disagrees)",
			 where, hwpt, when);
		r = -EBADE;
	} else {
		counter_inc(p->check_errors);
		snprintf(reason, sizeof(reason),
			 "%s: IOMMU_TEST_OP_PASID_CHECK_HWPT of HWPT %" PRIu32 " %s failed: %s",
			 where, hwpt, when, backend_errno_text(r, e, sizeof(e)));
	}
	/* The first failure of a run wins; the worker's own "replace failed" comes after. */
	if (b->sink)
		fault_sink_fail(b->sink, r, reason);
	return r;
}

/*
 * Detaches a PASID and verifies with CHECK_HWPT hwpt_id 0 that the kernel
 * agrees. Stays marked attached when the kernel does not agree, so that
 * teardown() tries again. verify_attached: check the HWPT first (detach()).
 */
static int detach_pasid(MockBackend *b, MockPoint *p, bool verify_attached)
{
	char where[32], reason[256], e[96];
	int r = 0, k;

	if (!p->attached)
		return 0;
	if (verify_attached && b->checks)
		r = check_point(b, p, p->hwpt_id, "at detach");
	k = iommufd_test_pasid_detach(b->fd, b->stdev_id, p->pasid);
	if (k < 0) {
		log_debug_errno(k,
				"mock: IOMMU_TEST_OP_PASID_DETACH of PASID %" PRIu32 " failed: %m",
				p->pasid);
		return r < 0 ? r : k;
	}
	k = iommufd_test_pasid_check_hwpt(b->fd, b->stdev_id, p->pasid, 0);
	if (k >= 0) {
		p->attached = false;
		p->detach_verified = true;
		__atomic_store_n(&p->hwpt_id, 0, __ATOMIC_RELAXED);
		b->pasids_detached_verified++;
		return r;
	}
	attach_point_to_string(p->pasid, where, sizeof(where));
	if (k == -EINVAL)
		snprintf(
			reason, sizeof(reason),
			"%s: still attached after IOMMU_TEST_OP_PASID_DETACH (IOMMU_TEST_OP_PASID_CHECK_HWPT with hwpt_id 0 disagrees)",
			where);
	else
		snprintf(reason, sizeof(reason),
			 "%s: IOMMU_TEST_OP_PASID_CHECK_HWPT after the detach failed: %s", where,
			 backend_errno_text(k, e, sizeof(e)));
	if (b->sink)
		fault_sink_fail(b->sink, k == -EINVAL ? -EBADE : k, reason);
	log_debug("mock: %s", reason);
	return r < 0 ? r : k == -EINVAL ? -EBADE : k;
}

static void mock_teardown(void *ctx)
{
	MockBackend *b = ctx;

	if (!b)
		return;
	/* The injector uses the objects below until it is joined. */
	b->injector = mock_iopf_free(b->injector);
	/*
	 * PASIDs first, also after a setup or attach that failed half way:
	 * destroying the device does not detach them, the kernel would wait
	 * for them (and warn) instead.
	 */
	for (size_t i = 0; i < b->n_points; i++)
		if (b->points[i].attached) {
			log_debug("mock: PASID %" PRIu32
				  " still attached at teardown, detaching it",
				  b->points[i].pasid);
			(void)detach_pasid(b, &b->points[i], false);
		}
	/*
	 * The device first: it holds a reference on whatever HWPT it is
	 * attached to, and its automatic HWPT goes away with it. Then the
	 * HWPTs (nested ones hold their parent and the fault queue), which
	 * hold their IOAS, then the IOASes. The fault queue's fd holds the
	 * queue object as well, so it is closed before the object is
	 * destroyed; whatever the kernel still queued it answers itself then.
	 */
	destroy_object(b, &b->stdev_id, "mock device");
	destroy_object(b, &b->rid_hwpt_id, "RID HWPT");
	for (unsigned i = b->n_domains; i-- > 0;)
		destroy_object(b, &b->domains[i].hwpt_id, "HWPT");
	destroy_object(b, &b->nest_parent_id, "nest parent HWPT");
	b->fault_fd = safe_close(b->fault_fd);
	destroy_object(b, &b->fault_id, "fault queue");
	for (unsigned i = b->n_domains; i-- > 0;) {
		MockDomain *m = &b->domains[i];

		/*
		 * Unmapping explicitly unpins the buffer even if the IOAS
		 * destroy below fails because something still holds the IOAS.
		 */
		if (m->mapped) {
			int r = iommufd_ioas_unmap(b->fd, m->ioas_id, b->iova, b->map_size);
			if (r < 0)
				log_debug_errno(
					r, "mock: IOMMU_IOAS_UNMAP in IOAS %" PRIu32 " failed: %m",
					m->ioas_id);
			m->mapped = false;
		}
		destroy_object(b, &m->ioas_id, "IOAS");
	}
	if (b->buf)
		(void)munmap(b->buf, b->map_size);
	/* Closing the iommufd frees every object a failed destroy above left behind. */
	safe_close(b->fd);
	free(b->domains);
	free(b->points);
	free(b);
}

static int check_scenario(const BackendSetup *setup, char **error)
{
	const Scenario *s = setup->scenario;
	char where[32];

	if (!streq_ptr(s->backend, "mock"))
		return backend_errorf(error, -EINVAL, "scenario is for backend %s, not mock",
				      strempty(s->backend));
	if (s->device && !streq(s->device, MOCK_DEVICE_ID))
		return backend_errorf(
			error, -ENODEV,
			"device %s does not exist: the mock backend has one device, " MOCK_DEVICE_ID,
			s->device);
	if (setup->n_aps != s->n_points)
		return backend_errorf(error, -EINVAL, "%zu attachment point states for %zu points",
				      setup->n_aps, s->n_points);
	for (size_t i = 0; i < s->n_points; i++) {
		uint32_t pasid = s->points[i];

		if (pasid == ATTACH_POINT_RID)
			continue;
		attach_point_to_string(pasid, where, sizeof(where));
		/* The parser allows up to PASID_MAX; the mock's width is checked again at setup. */
		if (pasid == 0 || pasid >= (1u << MOCK_PASID_WIDTH))
			return backend_errorf(
				error, -ERANGE,
				"%s is beyond the mock device's PASID width (MOCK_PASID_WIDTH %u bits: PASIDs 1-%u)",
				where, MOCK_PASID_WIDTH, (1u << MOCK_PASID_WIDTH) - 1);
		if (pasid == IOMMU_TEST_PASID_RESERVED)
			return backend_errorf(
				error, -EINVAL,
				"%s is reserved by the kernel's selftest mock (IOMMU_TEST_PASID_RESERVED): its set_dev_pasid fakes a failure on every second attach of PASID %u to test the core's rollback; use another PASID",
				where, IOMMU_TEST_PASID_RESERVED);
		/*
		 * The injector raises page requests on the RID's nested domains
		 * only; PASID domains that report to the fault queue are not
		 * built.
		 */
		if (streq_ptr(s->engine, "iopf"))
			return backend_errorf(
				error, -EOPNOTSUPP,
				"%s: [Traffic] Engine=iopf injects page requests on the RID only; it cannot run with PASID attachment points (set Points=RID or Engine=none)",
				where);
	}
	if (!streq_ptr(s->engine, "iopf") &&
	    (s->traffic || (s->engine && !streq(s->engine, "none"))))
		return backend_errorf(
			error, -EINVAL,
			"DMA engine %s is not available: the mock device has no DMA engine, set [Traffic] Engine=none (or Engine=iopf to inject page requests)",
			s->engine ?: "(default)");
	if (streq_ptr(s->engine, "iopf")) {
		if (!setup->sink)
			return backend_errorf(
				error, -EINVAL,
				"Engine=iopf reports page requests as faults and needs a fault sink");
		/* The parser refuses this too; the nested domains all share IOAS 0. */
		if (s->layout == LAYOUT_MISSING_RANGE)
			return backend_errorf(
				error, -EINVAL,
				"Layout=missing-range cannot be built with Engine=iopf: every nested domain translates through the same nest parent");
	}
	if (s->n_domains < 1)
		return backend_errorf(error, -EINVAL, "no domains to attach");
	/*
	 * Mock paging domains only translate [MOCK_APERTURE_START,
	 * MOCK_APERTURE_LAST]; attaching one to an IOAS with a mapping outside
	 * that window fails (EADDRINUSE), so say so up front.
	 */
	if (s->map_size == 0 || s->iova < MOCK_APERTURE_START ||
	    s->iova + s->map_size - 1 > MOCK_APERTURE_LAST)
		return backend_errorf(
			error, -ERANGE,
			"[Domains] IOVA=0x%" PRIx64 " MapSize=0x%" PRIx64
			" is outside the mock IOMMU's aperture 0x%lx-0x%lx; use e.g. IOVA=0x%lx",
			s->iova, s->map_size, MOCK_APERTURE_START, MOCK_APERTURE_LAST,
			MOCK_APERTURE_START);
	return 0;
}

static int create_domains(MockBackend *b, Layout layout, char **error)
{
	char e[96];
	int r;

	/* Nested domains all sit on the nest parent of IOAS 0; they need no IOAS of their own. */
	for (unsigned i = 0; i < (b->iopf ? 1 : b->n_domains); i++) {
		MockDomain *m = &b->domains[i];

		r = iommufd_ioas_alloc(b->fd, &m->ioas_id);
		if (r < 0)
			return backend_errorf(error, r, "IOMMU_IOAS_ALLOC for domain %u failed: %s",
					      i, backend_errno_text(r, e, sizeof(e)));
		/* Odd domains lack the range, as asked; with no DMA nothing will notice. */
		if (layout == LAYOUT_MISSING_RANGE && i % 2 == 1)
			continue;
		r = iommufd_ioas_map_fixed(b->fd, m->ioas_id, b->buf, b->map_size, b->iova);
		if (r < 0)
			return backend_errorf(error, r,
					      "IOMMU_IOAS_MAP of 0x%" PRIx64
					      " bytes at IOVA 0x%" PRIx64 " in IOAS %" PRIu32
					      " (domain %u) failed: %s",
					      b->map_size, b->iova, m->ioas_id, i,
					      backend_errno_text(r, e, sizeof(e)));
		m->mapped = true;
	}
	return 0;
}

static int create_device(MockBackend *b, char **error)
{
	/* The op iommufd_test_mock_domain() issues for these flags. */
	const char *op = b->pasid ? "IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS (MOCK_FLAGS_DEVICE_PASID)"
				  : "IOMMU_TEST_OP_MOCK_DOMAIN";
	char e[96];
	int r;

	r = iommufd_test_mock_domain(b->fd, b->domains[0].ioas_id,
				     b->pasid ? MOCK_FLAGS_DEVICE_PASID : 0, &b->stdev_id,
				     &b->initial_hwpt_id, &b->idev_id);
	if (r == -EINVAL)
		return backend_errorf(
			error, r,
			"%s failed (EINVAL): on kernels up to at least 6.12 the mock device cannot be created while a hardware IOMMU driver (e.g. intel_iommu=on) owns the bus; boot with intel_iommu=off to use the mock backend",
			op);
	if (r == -ENOTTY)
		return backend_errorf(
			error, r,
			"IOMMU_TEST_CMD is not supported: kernel built without CONFIG_IOMMUFD_TEST (the iommufd selftest mock)");
	if (r < 0)
		return backend_errorf(error, r, "%s on IOAS %" PRIu32 " failed: %s", op,
				      b->domains[0].ioas_id, backend_errno_text(r, e, sizeof(e)));
	return 0;
}

/* The PASID ops are there (setup() probed them); a clear word when they are not. */
static int require_pasid_ops(MockBackend *b, const Scenario *s, char **error)
{
	struct utsname u;
	char where[32], e[96];
	int r;

	r = probe_pasid_ops(b->fd);
	if (r > 0)
		return 0;
	for (size_t i = 0; i < s->n_points; i++)
		if (s->points[i] != ATTACH_POINT_RID) {
			attach_point_to_string(s->points[i], where, sizeof(where));
			break;
		}
	if (r == 0)
		return backend_errorf(
			error, -EOPNOTSUPP,
			"kernel lacks PASID attach: IOMMU_TEST_OP_PASID_ATTACH needs Linux 6.15 or newer (this kernel: %s), so %s cannot be attached on the mock backend",
			kernel_release(&u), where);
	return backend_errorf(
		error, r, "probing the PASID test ops (IOMMU_TEST_OP_PASID_CHECK_HWPT) failed: %s",
		backend_errno_text(r, e, sizeof(e)));
}

/*
 * The device's PASID width as iommufd reports it: every PASID point must be
 * below 2^max_pasid_log2, or the kernel refuses the attach with a bare EINVAL.
 */
static int check_pasid_width(MockBackend *b, const Scenario *s, char **error)
{
	char where[32], e[96];
	uint8_t log2 = 0;
	int r;

	r = iommufd_get_hw_info(b->fd, b->idev_id, NULL, NULL, NULL, NULL, &log2);
	if (r < 0) {
		/* Only a cross-check: the parser and check_scenario() held PASIDs to 20 bits. */
		log_debug("mock: IOMMU_GET_HW_INFO of device %" PRIu32 " failed: %s", b->idev_id,
			  backend_errno_text(r, e, sizeof(e)));
		return 0;
	}
	b->max_pasid_log2 = log2;
	if (log2 == 0)
		return backend_errorf(
			error, -EOPNOTSUPP,
			"the mock device has no PASIDs although created with MOCK_FLAGS_DEVICE_PASID: IOMMU_GET_HW_INFO reports max_pasid_log2=0");
	for (size_t i = 0; i < s->n_points; i++) {
		uint32_t pasid = s->points[i];

		if (pasid == ATTACH_POINT_RID || log2 >= 32 || pasid < (1u << log2))
			continue;
		return backend_errorf(
			error, -ERANGE,
			"%s is beyond the mock device's PASID width: IOMMU_GET_HW_INFO reports max_pasid_log2=%u (PASIDs 1-%u)",
			attach_point_to_string(pasid, where, sizeof(where)), log2,
			(1u << log2) - 1);
	}
	return 0;
}

static int create_hwpts(MockBackend *b, char **error)
{
	uint32_t flags = b->pasid ? IOMMU_HWPT_ALLOC_PASID : 0;
	char e[96];
	int r;

	for (unsigned i = 0; i < b->n_domains; i++) {
		MockDomain *m = &b->domains[i];

		r = iommufd_hwpt_alloc(b->fd, b->idev_id, m->ioas_id, flags, 0,
				       IOMMU_HWPT_DATA_NONE, NULL, 0, &m->hwpt_id);
		if (r < 0)
			return backend_errorf(
				error, r,
				"IOMMU_HWPT_ALLOC%s for domain %u (IOAS %" PRIu32
				", mock device %" PRIu32 ") failed: %s%s",
				b->pasid ? " with IOMMU_HWPT_ALLOC_PASID" : "", i, m->ioas_id,
				b->idev_id, backend_errno_text(r, e, sizeof(e)),
				b->pasid && r == -EOPNOTSUPP
					? "; kernel lacks PASID attach (PASID-compatible HWPTs need Linux 6.15 or newer)"
					: "");
	}
	return 0;
}

/*
 * PASID mode: the device was born on an automatic HWPT of IOAS 0, which is
 * not PASID-compatible, and while it sits there no PASID can be attached.
 * Give the RID a PASID-compatible HWPT of IOAS 0 of its own before any
 * attach: the PASIDs can then be attached in any order relative to the RID,
 * and detach() has somewhere compatible to park the RID while PASIDs are
 * still attached. The automatic HWPT goes away with the move.
 */
static int create_rid_hwpt(MockBackend *b, char **error)
{
	uint32_t ioas_id = b->domains[0].ioas_id;
	char e[96];
	int r;

	r = iommufd_hwpt_alloc(b->fd, b->idev_id, ioas_id, IOMMU_HWPT_ALLOC_PASID, 0,
			       IOMMU_HWPT_DATA_NONE, NULL, 0, &b->rid_hwpt_id);
	if (r < 0)
		return backend_errorf(
			error, r,
			"IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for the RID (IOAS %" PRIu32
			") failed: %s",
			ioas_id, backend_errno_text(r, e, sizeof(e)));
	r = iommufd_test_mock_domain_replace(b->fd, b->stdev_id, b->rid_hwpt_id, NULL);
	if (r < 0)
		return backend_errorf(
			error, r,
			"IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE of the RID to its PASID-compatible HWPT %" PRIu32
			" failed: %s",
			b->rid_hwpt_id, backend_errno_text(r, e, sizeof(e)));
	for (size_t i = 0; i < b->n_points; i++)
		if (b->points[i].pasid == ATTACH_POINT_RID)
			b->points[i].hwpt_id = b->rid_hwpt_id;
	return 0;
}

static int create_fault_queue(MockBackend *b, char **error)
{
	char e[96];
	int r, flags;

	r = iommufd_fault_queue_alloc(b->fd, &b->fault_id, &b->fault_fd);
	if (r == -ENOTTY)
		return backend_errorf(
			error, r,
			"iommufd fault queues need kernel ≥ 6.11 (IOMMU_FAULT_QUEUE_ALLOC: ENOTTY); [Traffic] Engine=iopf cannot run on this kernel");
	if (r < 0)
		return backend_errorf(error, r, "IOMMU_FAULT_QUEUE_ALLOC failed: %s",
				      backend_errno_text(r, e, sizeof(e)));
	/* The kernel's read never blocks; the main loop must not, should that ever change. */
	flags = fcntl(b->fault_fd, F_GETFL);
	if (flags < 0 || fcntl(b->fault_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		return backend_errorf(error, r, "cannot make the fault queue fd non-blocking: %s",
				      backend_errno_text(r, e, sizeof(e)));
	}
	return 0;
}

static int create_nested_hwpts(MockBackend *b, char **error)
{
	const struct iommu_hwpt_selftest data = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT};
	uint32_t ioas_id = b->domains[0].ioas_id;
	char e[96];
	int r;

	r = iommufd_hwpt_alloc(b->fd, b->idev_id, ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
			       IOMMU_HWPT_DATA_NONE, NULL, 0, &b->nest_parent_id);
	if (r < 0)
		return backend_errorf(
			error, r,
			"IOMMU_HWPT_ALLOC of the nest parent (IOMMU_HWPT_ALLOC_NEST_PARENT on IOAS %" PRIu32
			") failed: %s%s",
			ioas_id, backend_errno_text(r, e, sizeof(e)),
			r == -EOPNOTSUPP
				? "; the kernel's selftest mock cannot nest (needs kernel ≥ 6.7)"
				: "");

	for (unsigned i = 0; i < b->n_domains; i++) {
		MockDomain *m = &b->domains[i];

		r = iommufd_hwpt_alloc(b->fd, b->idev_id, b->nest_parent_id,
				       IOMMU_HWPT_FAULT_ID_VALID, b->fault_id,
				       IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &m->hwpt_id);
		if (r < 0)
			return backend_errorf(
				error, r,
				"IOMMU_HWPT_ALLOC of nested domain %u (IOMMU_HWPT_DATA_SELFTEST on HWPT %" PRIu32
				", fault queue %" PRIu32 ") failed: %s%s",
				i, b->nest_parent_id, b->fault_id,
				backend_errno_text(r, e, sizeof(e)),
				r == -EOPNOTSUPP
					? "; this kernel's selftest mock refuses fault-capable nested domains (they need kernel ≥ 6.11)"
					: "");
	}
	return 0;
}

static int create_injector(MockBackend *b, const BackendSetup *setup, char **error)
{
	const Scenario *s = setup->scenario;
	FaultQueue *q;
	int r;

	r = fault_sink_add_queue(setup->sink, "iommufd", &q);
	if (r < 0)
		return r;
	/* check_scenario() allowed RID points only, and a point is listed once: it is point 0. */
	r = mock_iopf_new(
		&(MockIopfParams){
			.iommufd = b->fd,
			.fault_fd = b->fault_fd,
			.dev_id = b->idev_id,
			.iova = b->iova,
			.map_size = b->map_size,
			.rate = s->dma_rate,
			.settle_ns = s->settle_ns,
			.ap = &setup->aps[0],
			.ap_index = 0,
			.queue = q,
			.sink = setup->sink,
		},
		&b->injector);
	if (r < 0)
		return backend_errorf(error, r, "cannot set up the page request injector: %s",
				      strerror(ERRNO_VALUE(r)));
	return 0;
}

static int mock_setup(const BackendSetup *setup, void **ret_ctx, char **error)
{
	const Scenario *s = setup->scenario;
	MockBackend *b;
	int r;

	r = check_scenario(setup, error);
	if (r < 0)
		return r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -EBADF;
	b->fault_fd = -EBADF;
	b->iopf = streq_ptr(s->engine, "iopf");
	b->sink = setup->sink;
	b->iova = s->iova;
	b->map_size = s->map_size;
	/* teardown() walks domains[] and points[]: their counts are set once they exist. */
	b->domains = calloc(s->n_domains, sizeof(MockDomain));
	if (!b->domains) {
		r = -ENOMEM;
		goto fail;
	}
	b->n_domains = s->n_domains;
	b->points = aligned_alloc(CACHELINE, s->n_points * sizeof(MockPoint));
	if (!b->points) {
		r = -ENOMEM;
		goto fail;
	}
	memset(b->points, 0, s->n_points * sizeof(MockPoint));
	b->n_points = s->n_points;
	for (size_t i = 0; i < s->n_points; i++) {
		b->points[i].pasid = s->points[i];
		b->pasid = b->pasid || s->points[i] != ATTACH_POINT_RID;
	}

	r = open_dev_iommu(setup->env, &b->fd, error);
	if (r < 0)
		goto fail;
	/*
	 * Before any object: a kernel without the PASID ops cannot run a PASID
	 * scenario at all. Where they exist every point is checked, RID ones
	 * too; where they do not a RID-only run goes on unchecked.
	 */
	if (b->pasid) {
		r = require_pasid_ops(b, s, error);
		if (r < 0)
			goto fail;
		b->checks = true;
	} else {
		r = probe_pasid_ops(b->fd);
		b->checks = r > 0;
	}
	/* First: on a kernel without fault queues nothing else needs to be tried. */
	if (b->iopf) {
		r = create_fault_queue(b, error);
		if (r < 0)
			goto fail;
	}

	/* One buffer serves every IOAS: the mock never reads it, it only has to be pinnable. */
	b->buf =
		mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->buf == MAP_FAILED) {
		char e[96];

		b->buf = NULL;
		r = -errno;
		(void)backend_errorf(error, r, "cannot allocate the 0x%" PRIx64 " byte buffer: %s",
				     b->map_size, backend_errno_text(r, e, sizeof(e)));
		goto fail;
	}

	r = create_domains(b, s->layout, error);
	if (r < 0)
		goto fail;
	r = create_device(b, error);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < b->n_points; i++)
		if (b->points[i].pasid == ATTACH_POINT_RID)
			b->points[i].hwpt_id = b->initial_hwpt_id;
	if (b->pasid) {
		r = check_pasid_width(b, s, error);
		if (r < 0)
			goto fail;
	}
	r = b->iopf ? create_nested_hwpts(b, error) : create_hwpts(b, error);
	if (r < 0)
		goto fail;
	if (b->pasid) {
		r = create_rid_hwpt(b, error);
		if (r < 0)
			goto fail;
	}
	if (b->iopf) {
		r = create_injector(b, setup, error);
		if (r < 0)
			goto fail;
	}

	*ret_ctx = b;
	return 0;

fail:
	mock_teardown(b);
	if (error && !*error)
		(void)backend_errorf(error, r, "%s", strerror(ERRNO_VALUE(r)));
	return r;
}

/* The hot path: one ioctl. */
static int mock_replace(void *ctx, unsigned ap, unsigned domain)
{
	MockBackend *b = ctx;
	MockPoint *p;
	uint32_t hwpt;
	int r;

	if (_unlikely_(domain >= b->n_domains || ap >= b->n_points))
		return -EINVAL;
	p = &b->points[ap];
	hwpt = b->domains[domain].hwpt_id;
	if (p->pasid == ATTACH_POINT_RID)
		r = iommufd_test_mock_domain_replace(b->fd, b->stdev_id, hwpt, NULL);
	else
		r = iommufd_test_pasid_replace(b->fd, b->stdev_id, p->pasid, hwpt, NULL);
	if (_unlikely_(r < 0))
		return r;
	__atomic_store_n(&p->hwpt_id, hwpt, __ATOMIC_RELAXED);
	return 0;
}

/* The run's worker, every BACKEND_VERIFY_EVERY replacements of the point, untimed. */
static int mock_verify(void *ctx, unsigned ap)
{
	MockBackend *b = ctx;
	MockPoint *p;

	if (ap >= b->n_points)
		return -EINVAL;
	p = &b->points[ap];
	/* PASIDs are attached before the workers start; the RID always is. */
	if (!b->checks || !(p->pasid == ATTACH_POINT_RID || p->attached))
		return 0;
	return check_point(b, p, __atomic_load_n(&p->hwpt_id, __ATOMIC_RELAXED),
			   "after a batch of replacements");
}

/*
 * The RID's first attach is a replace as well: MOCK_DOMAIN already attached
 * the device to an automatic HWPT of IOAS 0 (or setup() moved it to
 * rid_hwpt_id). A PASID starts out detached.
 */
static int mock_attach(void *ctx, unsigned ap, unsigned domain)
{
	MockBackend *b = ctx;
	MockPoint *p;
	uint32_t hwpt;
	int r;

	if (domain >= b->n_domains || ap >= b->n_points)
		return -EINVAL;
	p = &b->points[ap];
	if (p->pasid == ATTACH_POINT_RID)
		return mock_replace(ctx, ap, domain);
	if (p->attached)
		return -EBUSY;
	hwpt = b->domains[domain].hwpt_id;
	r = iommufd_test_pasid_attach(b->fd, b->stdev_id, p->pasid, hwpt, NULL);
	if (r < 0)
		return r;
	p->attached = true;
	p->detach_verified = false;
	__atomic_store_n(&p->hwpt_id, hwpt, __ATOMIC_RELAXED);
	return 0;
}

/*
 * A PASID is detached (IOMMU_TEST_OP_PASID_DETACH), after one last check of
 * its HWPT and with a check that it is gone. IOMMU_TEST_CMD has no RID
 * detach: the mock device is attached from birth until IOMMU_DESTROY. Going
 * back to initial_hwpt_id is not possible either: it was an automatic HWPT,
 * which the kernel destroys as soon as the last device leaves it, i.e. at the
 * first attach(). So detach() replaces the RID to IOAS 0 itself, which makes
 * the kernel attach an automatic HWPT of IOAS 0 again: the state MOCK_DOMAIN
 * left the device in. In PASID mode that HWPT would not be PASID-compatible,
 * which the kernel refuses while PASIDs are attached, so the RID goes back to
 * rid_hwpt_id instead. Either way none of the scenario's HWPTs is in use
 * afterwards.
 */
static int mock_detach(void *ctx, unsigned ap)
{
	MockBackend *b = ctx;
	MockPoint *p;
	int r = 0, k;

	if (ap >= b->n_points)
		return -EINVAL;
	p = &b->points[ap];
	if (p->pasid != ATTACH_POINT_RID)
		return detach_pasid(b, p, true);

	if (b->checks && p->hwpt_id)
		r = check_point(b, p, p->hwpt_id, "at detach");
	if (b->pasid) {
		k = iommufd_test_mock_domain_replace(b->fd, b->stdev_id, b->rid_hwpt_id, NULL);
		if (k >= 0)
			b->parked_hwpt_id = b->rid_hwpt_id;
	} else
		k = iommufd_test_mock_domain_replace(b->fd, b->stdev_id, b->domains[0].ioas_id,
						     &b->parked_hwpt_id);
	if (k >= 0)
		__atomic_store_n(&p->hwpt_id, b->parked_hwpt_id, __ATOMIC_RELAXED);
	return r < 0 ? r : k;
}

static int mock_traffic_start(void *ctx)
{
	MockBackend *b = ctx;

	/* check_scenario() lets traffic through with Engine=iopf only. */
	if (!b->injector)
		return -EOPNOTSUPP;
	return mock_iopf_start(b->injector);
}

static void mock_traffic_stop(void *ctx)
{
	MockBackend *b = ctx;

	mock_iopf_stop(b->injector);
}

static int mock_event_fds(void *ctx, int *fds, size_t max)
{
	MockBackend *b = ctx;

	if (!b->injector)
		return 0;
	if (max < 2)
		return -ENOBUFS;
	fds[0] = b->fault_fd;
	fds[1] = mock_iopf_kick_fd(b->injector);
	return 2;
}

static void mock_event_dispatch(void *ctx, int fd)
{
	MockBackend *b = ctx;

	if (b->injector)
		mock_iopf_dispatch(b->injector, fd);
}

/* The PASID attachments and the CHECK_HWPT counts (workers may be running). */
static void describe_pasid(MockBackend *b, JsonWriter *j)
{
	uint64_t checks = 0, mismatches = 0, errors = 0, attached = 0;

	json_bool(j, "device_pasid", b->pasid);
	if (b->max_pasid_log2)
		json_u64(j, "max_pasid_log2", b->max_pasid_log2);
	else
		json_null(j, "max_pasid_log2");
	json_u64(j, "rid_hwpt_id", b->rid_hwpt_id);
	for (size_t i = 0; i < b->n_points; i++) {
		const MockPoint *p = &b->points[i];

		checks += counter_get(p->checks);
		mismatches += counter_get(p->mismatches);
		errors += counter_get(p->check_errors);
		attached += p->attached;
	}
	json_u64(j, "pasids_attached", attached);
	json_u64(j, "pasids_detached_verified", b->pasids_detached_verified);
	json_object_begin(j, "hwpt_checks");
	json_bool(j, "available", b->checks);
	json_u64(j, "every", BACKEND_VERIFY_EVERY);
	json_u64(j, "checks", checks);
	json_u64(j, "mismatches", mismatches);
	json_u64(j, "errors", errors);
	json_object_end(j);

	json_array_begin(j, "points");
	for (size_t i = 0; i < b->n_points; i++) {
		const MockPoint *p = &b->points[i];
		bool rid = p->pasid == ATTACH_POINT_RID;
		char name[32];

		json_object_begin(j, NULL);
		json_string(j, "name", attach_point_to_string(p->pasid, name, sizeof(name)));
		if (rid)
			json_null(j, "pasid");
		else
			json_u64(j, "pasid", p->pasid);
		json_u64(j, "hwpt_id", __atomic_load_n(&p->hwpt_id, __ATOMIC_RELAXED));
		/* The RID is always on some HWPT; a PASID only between attach and detach. */
		json_bool(j, "attached", rid || p->attached);
		json_u64(j, "checks", counter_get(p->checks));
		json_u64(j, "mismatches", counter_get(p->mismatches));
		json_u64(j, "check_errors", counter_get(p->check_errors));
		if (rid)
			json_null(j, "detach_verified");
		else
			json_bool(j, "detach_verified", p->detach_verified);
		json_object_end(j);
	}
	json_array_end(j);
}

static void mock_describe(void *ctx, JsonWriter *j)
{
	MockBackend *b = ctx;

	json_string(j, "engine", b->iopf ? "iopf" : "none");
	json_u64(j, "stdev_id", b->stdev_id);
	json_u64(j, "idev_id", b->idev_id);
	json_u64(j, "initial_hwpt_id", b->initial_hwpt_id);
	json_u64(j, "parked_hwpt_id", b->parked_hwpt_id);
	json_u64(j, "iova", b->iova);
	json_u64(j, "map_size", b->map_size);
	if (b->iopf) {
		json_u64(j, "fault_id", b->fault_id);
		json_u64(j, "nest_parent_hwpt_id", b->nest_parent_id);
	}
	json_array_begin(j, "domains");
	for (unsigned i = 0; i < b->n_domains; i++) {
		/* A nested domain translates through the parent's IOAS, IOAS 0. */
		const MockDomain *m = &b->domains[b->iopf ? 0 : i];

		json_object_begin(j, NULL);
		json_u64(j, "index", i);
		json_string(j, "kind", b->iopf ? "nested" : "paging");
		json_u64(j, "ioas_id", m->ioas_id);
		json_u64(j, "hwpt_id", b->domains[i].hwpt_id);
		json_bool(j, "maps_dma_range", m->mapped);
		json_object_end(j);
	}
	json_array_end(j);
	describe_pasid(b, j);
	if (b->injector) {
		json_object_begin(j, "iopf");
		mock_iopf_describe(b->injector, j);
		json_object_end(j);
	}
}

/* Every injected page request is accounted for by the backend (mock-iopf.c). */
static FaultSource mock_exact_source(const Scenario *s)
{
	return s->traffic && streq_ptr(s->engine, "iopf") ? FAULT_SOURCE_IOMMUFD
							 : _FAULT_SOURCE_MAX;
}

/* A page request moves no data: there is nothing to size, verify or count as DMA. */
static int mock_check_scenario(Scenario *s, ScenarioCheck *c)
{
	if (!s->traffic || !streq_ptr(s->engine, "iopf"))
		return 0;
	if (scenario_check_is_set(c, "Traffic.Size"))
		return scenario_check_fail(
			c, "Traffic.Size", "does not apply to Engine=iopf (a page request carries no data)");
	if (scenario_check_is_set(c, "Traffic.Verify"))
		return scenario_check_fail(
			c, "Traffic.Verify", "does not apply to Engine=iopf (a page request carries no data)");
	s->verify = false; /* nothing is verified, whatever the default says */
	if (s->layout == LAYOUT_MISSING_RANGE)
		return scenario_check_fail(
			c, scenario_check_later(c, "Domains.Layout", "Traffic.Engine"),
			"Layout=missing-range cannot be combined with Engine=iopf: the nested domains share one nest parent, so none can lack the range");
	for (const char *const *k = (const char *const[]){"Expect.DmaTransfers", "Expect.DmaErrors", NULL}; *k; k++)
		if (scenario_check_is_set(c, *k))
			return scenario_check_fail(
				c, *k,
				"Engine=iopf makes page requests, not DMA transfers (they count as Faults)");
	return 0;
}

static const char *const mock_engines[] = {"iopf", NULL};

const BackendOps backend_mock = {
	.name = "mock",
	.description = "kernel iommufd selftest mock device (IOMMU_TEST_CMD), no hardware",
	.scenario = {
		.default_device = "mock0",
		.engines = mock_engines,
		.engine_note = ", whose selftest device injects the page requests",
		/*
		 * The kernel's mock domains translate only from 16 MiB up
		 * (selftest MOCK_APERTURE_START), so the mock gets a default
		 * that works there.
		 */
		.default_iova = UINT64_C(0x1000000),
		.check = mock_check_scenario,
	},
	.probe = mock_probe,
	.list_devices = mock_list_devices,
	.device_info = mock_device_info,
	.setup = mock_setup,
	.attach = mock_attach,
	.replace = mock_replace,
	.verify = mock_verify,
	.detach = mock_detach,
	.traffic_start = mock_traffic_start,
	.traffic_stop = mock_traffic_stop,
	.event_fds = mock_event_fds,
	.event_dispatch = mock_event_dispatch,
	.exact_source = mock_exact_source,
	.describe = mock_describe,
	.teardown = mock_teardown,
};
