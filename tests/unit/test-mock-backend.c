/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mock backend against a fake kernel behind uapi_ioctl_hook that keeps
 * iommufd's object model the way the backend relies on it: IOASes with one
 * mapping each, paging HWPTs that pin their IOAS, the selftest mock device
 * with its automatic HWPT (destroyed as soon as the device leaves it),
 * replace, and IOMMU_DESTROY refusing objects still in use. It counts live
 * objects, so every test can require that teardown, after a complete or a
 * half-done setup, leaves none behind.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "iommufd-ioctl.h"
#include "scenario.h"
#include "shared/json.h"
#include "shared/macro.h"

#define MAX_OBJS 64

typedef enum ObjType {
	OBJ_FREE,
	OBJ_IOAS,
	OBJ_HWPT,
	OBJ_STDEV,
	OBJ_IDEV,
} ObjType;

typedef struct Obj {
	ObjType type;
	bool auto_domain; /* HWPT: created by the kernel for an attach to an IOAS */
	uint32_t ioas;	  /* HWPT: the IOAS it translates */
	unsigned users;	  /* IOAS: HWPTs on it; HWPT: devices attached */
	bool mapped;	  /* IOAS: its one mapping */
	uint64_t iova, length;
} Obj;

static struct {
	Obj objs[MAX_OBJS]; /* id = index; 0 is never an id */
	uint32_t stdev, idev, attached;
	int fd;
	bool no_test_cmd;	/* CONFIG_IOMMUFD_TEST=n */
	bool hw_iommu_owns_bus; /* intel_iommu=on on ≤ 6.12: MOCK_DOMAIN is EINVAL */
	bool refuse_destroy;	/* every IOMMU_DESTROY fails */
	/* fail the fail_nth call of fail_request (and fail_op for IOMMU_TEST_CMD) */
	unsigned long fail_request;
	uint32_t fail_op;
	unsigned fail_nth, seen;
	int fail_errno;
	unsigned replaces;
} K;

static int (*default_hook)(int fd, unsigned long request, void *arg);

static int kfail(int e)
{
	errno = e;
	return -1;
}

static Obj *kobj(uint32_t id, ObjType type)
{
	if (id == 0 || id >= MAX_OBJS || K.objs[id].type == OBJ_FREE)
		return NULL;
	if (type != OBJ_FREE && K.objs[id].type != type)
		return NULL;
	return &K.objs[id];
}

static uint32_t knew(ObjType type)
{
	for (uint32_t id = 1; id < MAX_OBJS; id++)
		if (K.objs[id].type == OBJ_FREE) {
			K.objs[id] = (Obj){.type = type};
			return id;
		}
	return 0;
}

static unsigned klive(void)
{
	unsigned n = 0;

	for (uint32_t id = 1; id < MAX_OBJS; id++)
		n += K.objs[id].type != OBJ_FREE;
	return n;
}

static unsigned kcount(ObjType type)
{
	unsigned n = 0;

	for (uint32_t id = 1; id < MAX_OBJS; id++)
		n += K.objs[id].type == type;
	return n;
}

/* A mock domain cannot translate a mapping outside the mock aperture. */
static bool kfits(const Obj *ioas)
{
	return !ioas->mapped || (ioas->iova >= MOCK_APERTURE_START &&
				 ioas->iova + ioas->length - 1 <= MOCK_APERTURE_LAST);
}

static void khwpt_put(uint32_t id)
{
	Obj *h = kobj(id, OBJ_HWPT);

	if (!h)
		return;
	h->users--;
	if (h->auto_domain && h->users == 0) {
		K.objs[h->ioas].users--;
		*h = (Obj){};
	}
}

/* iommufd's automatic domain: reuse one of the IOAS, or make one. */
static int kauto_domain(uint32_t ioas_id, uint32_t *ret)
{
	Obj *ioas = kobj(ioas_id, OBJ_IOAS);
	uint32_t id;

	if (!kfits(ioas))
		return EADDRINUSE;
	for (id = 1; id < MAX_OBJS; id++)
		if (K.objs[id].type == OBJ_HWPT && K.objs[id].auto_domain &&
		    K.objs[id].ioas == ioas_id) {
			*ret = id;
			return 0;
		}
	id = knew(OBJ_HWPT);
	if (!id)
		return ENOSPC;
	K.objs[id].auto_domain = true;
	K.objs[id].ioas = ioas_id;
	ioas->users++;
	*ret = id;
	return 0;
}

static int kattach(uint32_t pt_id, uint32_t *ret)
{
	uint32_t target;
	int e;

	if (kobj(pt_id, OBJ_IOAS)) {
		e = kauto_domain(pt_id, &target);
		if (e)
			return e;
	} else if (kobj(pt_id, OBJ_HWPT))
		target = pt_id;
	else
		return ENOENT;
	if (target != K.attached) {
		K.objs[target].users++;
		khwpt_put(K.attached);
		K.attached = target;
	}
	*ret = target;
	return 0;
}

static int ktest_cmd(struct iommu_test_cmd *c)
{
	uint32_t hwpt;
	int e;

	if (c->size != sizeof(*c))
		return EINVAL;
	switch (c->op) {
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		if (K.hw_iommu_owns_bus)
			return EINVAL;
		if (!kobj(c->id, OBJ_IOAS))
			return ENOENT;
		if (K.stdev)
			return EEXIST; /* one mock device is all the backend ever needs */
		K.stdev = knew(OBJ_STDEV);
		K.idev = knew(OBJ_IDEV);
		e = kattach(c->id, &hwpt);
		if (e)
			return e;
		c->mock_domain.out_stdev_id = K.stdev;
		c->mock_domain.out_idev_id = K.idev;
		c->mock_domain.out_hwpt_id = hwpt;
		return 0;
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		if (!K.stdev || c->id != K.stdev)
			return ENOENT;
		e = kattach(c->mock_domain_replace.pt_id, &hwpt);
		if (e)
			return e;
		c->mock_domain_replace.pt_id = hwpt;
		K.replaces++;
		return 0;
	default:
		return EOPNOTSUPP;
	}
}

static int kdestroy(uint32_t id)
{
	Obj *o = kobj(id, OBJ_FREE);

	if (!o)
		return ENOENT;
	if (K.refuse_destroy)
		return EBUSY;
	switch (o->type) {
	case OBJ_IOAS:
	case OBJ_HWPT:
		if (o->users)
			return EBUSY;
		if (o->type == OBJ_HWPT)
			K.objs[o->ioas].users--;
		*o = (Obj){};
		return 0;
	case OBJ_STDEV:
		khwpt_put(K.attached);
		K.attached = 0;
		K.objs[K.idev] = (Obj){};
		*o = (Obj){};
		K.stdev = K.idev = 0;
		return 0;
	default:
		return EINVAL;
	}
}

static int kernel(unsigned long request, void *arg)
{
	switch (request) {
	case IOMMU_IOAS_ALLOC: {
		struct iommu_ioas_alloc *c = arg;

		c->out_ioas_id = knew(OBJ_IOAS);
		return c->out_ioas_id ? 0 : ENOSPC;
	}
	case IOMMU_IOAS_MAP: {
		struct iommu_ioas_map *c = arg;
		Obj *ioas = kobj(c->ioas_id, OBJ_IOAS), probe;

		if (!ioas)
			return ENOENT;
		if (!(c->flags & IOMMU_IOAS_MAP_FIXED_IOVA) || !c->user_va || !c->length)
			return EINVAL;
		if (ioas->mapped)
			return EEXIST;
		probe = (Obj){.mapped = true, .iova = c->iova, .length = c->length};
		if (ioas->users && !kfits(&probe))
			return EADDRINUSE; /* outside an attached domain's aperture: reserved */
		ioas->mapped = true;
		ioas->iova = c->iova;
		ioas->length = c->length;
		return 0;
	}
	case IOMMU_IOAS_UNMAP: {
		struct iommu_ioas_unmap *c = arg;
		Obj *ioas = kobj(c->ioas_id, OBJ_IOAS);

		if (!ioas)
			return ENOENT;
		if (!ioas->mapped || ioas->iova != c->iova || ioas->length != c->length)
			return ENOENT;
		ioas->mapped = false;
		return 0;
	}
	case IOMMU_HWPT_ALLOC: {
		struct iommu_hwpt_alloc *c = arg;
		Obj *ioas = kobj(c->pt_id, OBJ_IOAS);
		uint32_t id;

		if (!K.idev || c->dev_id != K.idev)
			return ENOENT;
		if (!ioas)
			return EINVAL;
		if (c->flags || c->data_type != IOMMU_HWPT_DATA_NONE)
			return EOPNOTSUPP;
		if (!kfits(ioas))
			return EADDRINUSE;
		id = knew(OBJ_HWPT);
		if (!id)
			return ENOSPC;
		K.objs[id].ioas = c->pt_id;
		ioas->users++;
		c->out_hwpt_id = id;
		return 0;
	}
	case IOMMU_DESTROY:
		return kdestroy(((struct iommu_destroy *)arg)->id);
	case IOMMU_TEST_CMD:
		if (K.no_test_cmd)
			return ENOTTY;
		return ktest_cmd(arg);
	default:
		return ENOTTY;
	}
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	int e;

	K.fd = fd;
	if (request == K.fail_request &&
	    (request != IOMMU_TEST_CMD || ((struct iommu_test_cmd *)arg)->op == K.fail_op) &&
	    ++K.seen == K.fail_nth)
		return kfail(K.fail_errno);
	e = kernel(request, arg);
	return e ? kfail(e) : 0;
}

static void fake_setup(void)
{
	memset(&K, 0, sizeof(K));
	K.fd = -1;
	uapi_ioctl_hook = fake_ioctl;
}

static void fake_teardown(void)
{
	uapi_ioctl_hook = default_hook;
}

static const DaemonEnv fake_env = {
	.dev_iommu = "/dev/null", /* opened for real; every ioctl goes to the fake */
	.sysfs = "/sys",
	.dev_kmsg = "/dev/null",
	.tracefs = "/nonexistent",
	.proc = "/proc",
	.dev_vfio = "/nonexistent",
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
	BackendSetup setup;
	void *ctx;
	char *error;
	int r;
} Harness;

static void harness_setup(Harness *h, Scenario *s)
{
	*h = (Harness){.s = s};
	h->aps = calloc(s->n_points, sizeof(AttachPointState));
	ck_assert_ptr_nonnull(h->aps);
	h->setup = (BackendSetup){
		.env = &fake_env,
		.scenario = s,
		.sink = NULL, /* the mock reports no faults */
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
	ck_assert_ptr_null(backend_mock.traffic_start); /* no DMA engine */
	ck_assert_ptr_nonnull(backend_mock.teardown);
}
END_TEST

START_TEST(test_probe)
{
	DaemonEnv env = fake_env;
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
	ck_assert(fd_is_closed(K.fd));
	why = mfree(why);

	K.no_test_cmd = false;
	ck_assert_int_eq(backend_mock.probe(&fake_env, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert(fd_is_closed(K.fd));
	ck_assert_uint_eq(klive(), 0);
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
	fd = K.fd;

	/* 2 IOAS (both mapped), the mock device (stdev, idev, automatic HWPT), 2 HWPTs */
	ck_assert_uint_eq(kcount(OBJ_IOAS), 2);
	ck_assert_uint_eq(kcount(OBJ_STDEV), 1);
	ck_assert_uint_eq(kcount(OBJ_IDEV), 1);
	ck_assert_uint_eq(kcount(OBJ_HWPT), 3);
	for (uint32_t id = 1; id < MAX_OBJS; id++)
		if (K.objs[id].type == OBJ_IOAS) {
			ck_assert(K.objs[id].mapped);
			ck_assert_uint_eq(K.objs[id].iova, 0x1000000);
			ck_assert_uint_eq(K.objs[id].length, 64 * 1024);
		}
	initial = K.attached;
	ck_assert(K.objs[initial].auto_domain);

	/* the first attach leaves the automatic HWPT, which the kernel then frees */
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	hwpt[0] = K.attached;
	ck_assert(!K.objs[hwpt[0]].auto_domain);
	ck_assert_uint_eq(kcount(OBJ_HWPT), 2);

	for (unsigned i = 1; i <= 1000; i++) {
		ck_assert_int_eq(backend_mock.replace(h.ctx, 0, i % 2), 0);
		if (i == 1)
			hwpt[1] = K.attached;
		ck_assert_uint_eq(K.attached, hwpt[i % 2]);
	}
	ck_assert_uint_ne(hwpt[0], hwpt[1]);
	ck_assert_uint_ne(K.objs[hwpt[0]].ioas, K.objs[hwpt[1]].ioas);
	ck_assert_uint_eq(K.replaces, 1001);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 2), -EINVAL);

	/* detach parks the device on an automatic HWPT of IOAS 0 */
	ck_assert_int_eq(backend_mock.detach(h.ctx, 0), 0);
	ck_assert(K.objs[K.attached].auto_domain);
	ck_assert_uint_eq(K.objs[K.attached].ioas, K.objs[hwpt[0]].ioas);
	ck_assert_uint_eq(K.objs[hwpt[0]].users, 0);
	ck_assert_uint_eq(K.objs[hwpt[1]].users, 0);

	json = describe(h.ctx);
	ck_assert_ptr_nonnull(strstr(json, "\"stdev_id\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"maps_dma_range\":true"));
	{
		char want[64];

		snprintf(want, sizeof(want), "\"parked_hwpt_id\":%u", K.attached);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
		snprintf(want, sizeof(want), "\"initial_hwpt_id\":%u", initial);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
		snprintf(want, sizeof(want), "\"hwpt_id\":%u", hwpt[1]);
		ck_assert_msg(strstr(json, want), "%s in %s", want, json);
	}

	harness_done(&h);
	ck_assert_uint_eq(klive(), 0);
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
	ck_assert_uint_eq(kcount(OBJ_IOAS), 4);
	ck_assert_int_eq(backend_mock.attach(h.ctx, 0, 0), 0);
	ck_assert_int_eq(backend_mock.replace(h.ctx, 0, 3), 0);
	harness_done(&h);
	ck_assert_uint_eq(klive(), 0);
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
	K.fail_request = f->request;
	K.fail_op = f->op;
	K.fail_nth = f->nth;
	K.fail_errno = f->error;
	harness_setup(&h, scenario((char *[]){"Domains.Count=3", NULL}));
	ck_assert_int_eq(h.r, -f->error);
	ck_assert_ptr_null(h.ctx);
	ck_assert_ptr_nonnull(h.error);
	ck_assert_msg(strstr(h.error, f->message), "\"%s\" not in \"%s\"", f->message, h.error);
	ck_assert_msg(klive() == 0, "%u objects left", klive());
	ck_assert(fd_is_closed(K.fd));
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
	ck_assert_uint_eq(klive(), 0);
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
	ck_assert_uint_eq(klive(), 0);
	harness_done(&h);
	fake_teardown();
}
END_TEST

START_TEST(test_missing_dev_iommu_at_setup)
{
	DaemonEnv env = fake_env;
	Harness h;

	fake_setup();
	env.dev_iommu = "/nonexistent/iommu";
	h = (Harness){.s = scenario(NULL)};
	h.aps = calloc(1, sizeof(AttachPointState));
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
	{{"Attach.Points=RID 5", NULL},
	 -EOPNOTSUPP,
	 "PASID 5: PASID attachment points on the mock backend need the PASID test ops (kernel ≥ 6.15); not supported yet"},
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
	ck_assert_int_eq(K.fd, -1); /* not a single ioctl */
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
	for (uint32_t id = 1; id < MAX_OBJS; id++)
		mapped += K.objs[id].type == OBJ_IOAS && K.objs[id].mapped;
	ck_assert_uint_eq(mapped, 2); /* domains 0 and 2 */
	json = describe(h.ctx);
	ck_assert_ptr_nonnull(strstr(json, "\"index\":1,\"ioas_id\":2,\"hwpt_id\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"maps_dma_range\":false"));
	harness_done(&h);
	ck_assert_uint_eq(klive(), 0);
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
	K.refuse_destroy = true;
	backend_mock.teardown(h.ctx);
	h.ctx = NULL;
	ck_assert(fd_is_closed(K.fd)); /* closing /dev/iommu frees what destroy could not */
	harness_done(&h);
	fake_teardown();
}
END_TEST

/* ---- the shipped example ---- */

static char *example_path(void)
{
	const char *e = getenv("SCENARIO_DIR"), *slash;
	char *p;

	if (e) {
		if (asprintf(&p, "%s/mock-replace.conf", e) < 0)
			return NULL;
		return p;
	}
	slash = strrchr(__FILE__, '/');
	if (asprintf(&p, "%.*s/../../contrib/scenarios/mock-replace.conf",
		     slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".") < 0)
		return NULL;
	return p;
}

START_TEST(test_example_scenario)
{
	_cleanup_free_ char *path = example_path(), *text = NULL, *error = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	Scenario *s = NULL;
	Harness h;
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

	ck_assert_msg(scenario_parse(text, "mock-replace.conf", NULL, &s, &error) == 0, "%s",
		      strempty(error));
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
	ck_assert_uint_eq(klive(), 0);
	fake_teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mock-backend");
	TCase *tc = tcase_create("fake-kernel");
	SRunner *sr;
	int failed;

	default_hook = uapi_ioctl_hook;
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
