/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uapi wrappers against a fake kernel behind uapi_ioctl_hook.
 *
 * The fake reads and writes commands at raw byte offsets written down from
 * the kernel's headers, not through our structures, and applies the kernel's
 * size rules: iommufd rejects a size short of the last field it requires
 * (EINVAL) and accepts a longer one only if the extra bytes are zero (E2BIG
 * otherwise); VFIO checks argsz against its minimum and ignores any tail. It
 * can play several kernel generations, so that the same wrappers are checked
 * against a kernel with exactly our layouts, an older one with shorter
 * structures, and newer ones with longer structures.
 *
 * It is not the common fake kernel (fakes/fake-iommufd.h): that one keeps
 * objects and reads commands through our own structures, which is what this
 * test must not take on trust. It shares the installing and restoring of
 * the hooks with it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes/fake-iommufd.h"
#include "iommufd-ioctl.h"
#include "macro.h"
#include "check-run.h"

#define FAKE_FD 1000 /* never a real fd: a stray real ioctl would fail with EBADF */

/* ---- the fake kernel ---- */

typedef enum Generation {
	GEN_CURRENT, /* 6.15: exactly the ABI we declare */
	GEN_OLD,     /* 6.6: shorter HWPT_ALLOC / IOMMU_TEST_CMD, no VFIO PASID flags */
	GEN_FUTURE,  /* every iommufd struct 16 bytes longer, same minimum: zero-extends us */
	GEN_GREEDY,  /* a kernel whose minimum is beyond our structs: we are "short" */
	_GEN_MAX,
} Generation;

static const char *const generation_names[_GEN_MAX] = {
	[GEN_CURRENT] = "current",
	[GEN_OLD] = "old",
	[GEN_FUTURE] = "future",
	[GEN_GREEDY] = "greedy",
};

typedef struct FakeCmd {
	unsigned long request;
	bool vfio;	   /* argsz rules instead of iommufd's size rules */
	uint32_t min_size; /* iommufd: end of the last required field; VFIO: minsz */
	uint32_t size;	   /* iommufd: the kernel's sizeof; bytes past it must be zero */
} FakeCmd;

/* Transcribed from the kernel's IOCTL_OP() table and VFIO's minsz checks (6.15). */
static const FakeCmd current_cmds[] = {
	{IOMMU_DESTROY, false, 8, 8},
	{IOMMU_IOAS_ALLOC, false, 12, 12},
	{IOMMU_IOAS_MAP, false, 40, 40},
	{IOMMU_IOAS_UNMAP, false, 24, 24},
	{IOMMU_HWPT_ALLOC, false, 24, 48},
	{IOMMU_GET_HW_INFO, false, 32, 40},
	{IOMMU_FAULT_QUEUE_ALLOC, false, 16, 16},
	{IOMMU_TEST_CMD, false, 68, 72},
	{VFIO_DEVICE_GET_INFO, true, 16, 0},
	{VFIO_DEVICE_GET_REGION_INFO, true, 32, 0},
	{VFIO_DEVICE_RESET, true, 0, 0},
	{VFIO_DEVICE_BIND_IOMMUFD, true, 16, 0},
	{VFIO_DEVICE_ATTACH_IOMMUFD_PT, true, 12, 0},
	{VFIO_DEVICE_DETACH_IOMMUFD_PT, true, 8, 0},
};

static struct {
	Generation gen;
	bool no_test_cmd;  /* CONFIG_IOMMUFD_TEST=n: IOMMU_TEST_CMD is ENOTTY */
	int force_errno;   /* answer every command with this error */
	bool forget_errno; /* fail with errno 0, as a broken hook could */
	bool no_pasid_ops; /* a VFIO driver without pasid_attach_ioas (6.15+): EOPNOTSUPP */
	bool attach_zero;  /* a broken kernel that "attaches" object 0 */
	unsigned calls;
	unsigned long request;
	uint8_t sent[256]; /* the command as the wrapper passed it, before any output */
	uint32_t sent_size;
	bool sent_null;
} fake;

static uint32_t get32(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)p + off, sizeof(v));
	return v;
}

static uint64_t get64(const void *p, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)p + off, sizeof(v));
	return v;
}

static void put32(void *p, size_t off, uint32_t v)
{
	memcpy((uint8_t *)p + off, &v, sizeof(v));
}

static void put64(void *p, size_t off, uint64_t v)
{
	memcpy((uint8_t *)p + off, &v, sizeof(v));
}

static bool fake_lookup(unsigned long request, FakeCmd *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(current_cmds); i++) {
		if (current_cmds[i].request != request)
			continue;
		*ret = current_cmds[i];
		if (request == IOMMU_TEST_CMD && fake.no_test_cmd)
			return false;
		switch (fake.gen) {
		case GEN_OLD:
			/* 6.6: HWPT_ALLOC ended at __reserved; the test union was 32 bytes */
			if (request == IOMMU_HWPT_ALLOC)
				ret->size = 24;
			if (request == IOMMU_TEST_CMD) {
				ret->min_size = 52;
				ret->size = 56;
			}
			if (request == IOMMU_FAULT_QUEUE_ALLOC)
				return false;
			break;
		case GEN_FUTURE:
			if (!ret->vfio)
				ret->size += 16;
			break;
		case GEN_GREEDY:
			if (!ret->vfio)
				ret->min_size = ret->size + 4;
			break;
		default:
			break;
		}
		return true;
	}
	return false;
}

static int fake_fail(int e)
{
	errno = fake.forget_errno ? 0 : e;
	return -1;
}

/* What a kernel that accepted the command writes back. */
static void fake_respond(unsigned long request, void *arg)
{
	switch (request) {
	case IOMMU_IOAS_ALLOC:
		put32(arg, 8, 7);
		break;
	case IOMMU_HWPT_ALLOC:
		put32(arg, 16, 9);
		break;
	case IOMMU_GET_HW_INFO: {
		uint32_t len = get32(arg, 12);
		uint8_t *data = (uint8_t *)(uintptr_t)get64(arg, 16);

		/* a VT-d driver: 24 bytes of data, zero-padding a longer buffer */
		for (uint32_t i = 0; i < len; i++)
			data[i] = i < 24 ? 0xa5 : 0;
		put32(arg, 12, 24);
		put32(arg, 24, 1);
		memset((uint8_t *)arg + 28, 20, 1);
		put64(arg, 32, 6);
		break;
	}
	case IOMMU_FAULT_QUEUE_ALLOC:
		put32(arg, 8, 11);
		put32(arg, 12, 42);
		break;
	case IOMMU_TEST_CMD:
		switch (get32(arg, 4)) {
		case IOMMU_TEST_OP_MOCK_DOMAIN:
		case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
			put32(arg, 16, 2);
			put32(arg, 20, 3);
			put32(arg, 24, 4);
			break;
		case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
			put32(arg, 16, get32(arg, 16) | 0x1000);
			break;
		case IOMMU_TEST_OP_PASID_ATTACH:
		case IOMMU_TEST_OP_PASID_REPLACE:
			put32(arg, 20, get32(arg, 20) | 0x1000);
			break;
		}
		break;
	case VFIO_DEVICE_BIND_IOMMUFD:
		put32(arg, 12, 5);
		break;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		put32(arg, 8, get32(arg, 8) | 0x1000);
		break;
	case VFIO_DEVICE_GET_INFO:
		put32(arg, 4, 3); /* RESET | PCI */
		put32(arg, 8, 9);
		put32(arg, 12, 5);
		break;
	case VFIO_DEVICE_GET_REGION_INFO:
		put64(arg, 16, 4096);
		put64(arg, 24, (uint64_t)get32(arg, 8) << 40);
		break;
	}
}

/* The kernel's own checks of reserved fields: a wrapper that leaves garbage fails them. */
static int fake_reserved_ok(unsigned long request, const void *arg, uint32_t size)
{
	switch (request) {
	case IOMMU_IOAS_ALLOC:
	case IOMMU_FAULT_QUEUE_ALLOC:
		return get32(arg, 4) == 0 ? 0 : EOPNOTSUPP;
	case IOMMU_IOAS_MAP:
		return get32(arg, 12) == 0 ? 0 : EOPNOTSUPP;
	case IOMMU_HWPT_ALLOC:
		if (get32(arg, 20) != 0)
			return EOPNOTSUPP;
		return size < 48 || get32(arg, 44) == 0 ? 0 : EOPNOTSUPP;
	case IOMMU_GET_HW_INFO:
		if (get32(arg, 4) != 0)
			return EOPNOTSUPP;
		return (get32(arg, 28) & 0xffffff00) == 0 ? 0 : EOPNOTSUPP;
	case IOMMU_TEST_CMD:
		return get32(arg, 12) == 0 ? 0 : EOPNOTSUPP;
	default:
		return 0;
	}
}

static int fake_vfio(const FakeCmd *c, void *arg)
{
	uint32_t argsz, flags, xend = c->min_size;

	if (c->request == VFIO_DEVICE_RESET)
		return 0;
	argsz = get32(arg, 0);
	flags = get32(arg, 4);
	if (argsz < c->min_size)
		return EINVAL;
	switch (c->request) {
	case VFIO_DEVICE_BIND_IOMMUFD:
		if (flags)
			return EINVAL;
		break;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		/* PASID attach is 6.15: before, any flag is EINVAL */
		if (flags & ~(fake.gen == GEN_OLD ? 0u : 1u))
			return EINVAL;
		if ((flags & 1) && fake.no_pasid_ops)
			return EOPNOTSUPP;
		if (flags & 1)
			xend += 4;
		if (argsz < xend)
			return EINVAL;
		/* iommufd_get_object(): ids start at 1, so 0 is never found */
		if (c->request == VFIO_DEVICE_ATTACH_IOMMUFD_PT && get32(arg, 8) == 0 &&
		    !fake.attach_zero)
			return ENOENT;
		break;
	}
	return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	FakeCmd c;
	int e;

	fake.calls++;
	fake.request = request;
	fake.sent_null = !arg;
	fake.sent_size = arg ? get32(arg, 0) : 0;
	memset(fake.sent, 0, sizeof(fake.sent));
	if (arg)
		memcpy(fake.sent, arg, MIN((size_t)fake.sent_size, sizeof(fake.sent)));

	if (fd != FAKE_FD)
		return fake_fail(EBADF);
	if (!fake_lookup(request, &c))
		return fake_fail(ENOTTY);
	if (fake.force_errno)
		return fake_fail(fake.force_errno);

	if (c.vfio) {
		e = fake_vfio(&c, arg);
		if (e)
			return fake_fail(e);
	} else {
		uint32_t size = get32(arg, 0);

		if (size < c.min_size)
			return fake_fail(EINVAL);
		/* copy_struct_from_user(): a longer struct is fine if the tail is zero */
		for (uint32_t i = c.size; i < size; i++)
			if (((const uint8_t *)arg)[i])
				return fake_fail(E2BIG);
		e = fake_reserved_ok(request, arg, MIN(size, c.size));
		if (e)
			return fake_fail(e);
	}
	fake_respond(request, arg);
	return 0;
}

/* ioctl(2) itself, as the library starts out. */
static int (*default_hook)(int fd, unsigned long request, void *arg);

static void fake_setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake_hooks_install(fake_ioctl, NULL, NULL);
}

static void fake_teardown(void)
{
	fake_hooks_restore();
}

/* Leaves 0xff where the wrappers' command structures are about to live. */
static void __attribute__((noinline)) poison_stack(void)
{
	volatile uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0xff;
}

/* ---- one canonical call per wrapper ---- */

static uint8_t hw_info_buf[32];

typedef struct WrapperCase {
	const char *name;
	unsigned long request;
	uint32_t op; /* IOMMU_TEST_CMD op, 0 otherwise */
	size_t size; /* sizeof() of our structure: what size/argsz must say */
	int (*call)(void);
	void (*check_sent)(const uint8_t *s); /* the inputs, as the kernel reads them */
	bool pasid;			      /* sets a 6.15 VFIO flag */
} WrapperCase;

static int call_destroy(void)
{
	return iommufd_destroy(FAKE_FD, 33);
}

static void sent_destroy(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 33);
}

static int call_ioas_alloc(void)
{
	uint32_t id = 0;
	int r = iommufd_ioas_alloc(FAKE_FD, &id);

	if (r == 0)
		ck_assert_uint_eq(id, 7);
	return r;
}

static void sent_ioas_alloc(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 0);
}

static int call_ioas_map(void)
{
	return iommufd_ioas_map_fixed(FAKE_FD, 7, (void *)(uintptr_t)0x7f0000001000, 0x20000,
				      0x1000000);
}

static void sent_ioas_map(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 7); /* FIXED_IOVA | WRITEABLE | READABLE */
	ck_assert_uint_eq(get32(s, 8), 7);
	ck_assert_uint_eq(get64(s, 16), 0x7f0000001000);
	ck_assert_uint_eq(get64(s, 24), 0x20000);
	ck_assert_uint_eq(get64(s, 32), 0x1000000);
}

static int call_ioas_unmap(void)
{
	return iommufd_ioas_unmap(FAKE_FD, 7, 0x1000000, 0x20000);
}

static void sent_ioas_unmap(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 7);
	ck_assert_uint_eq(get64(s, 8), 0x1000000);
	ck_assert_uint_eq(get64(s, 16), 0x20000);
}

static int call_hwpt_alloc(void)
{
	uint32_t id = 0;
	int r = iommufd_hwpt_alloc(FAKE_FD, 4, 7, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
				   IOMMU_HWPT_DATA_NONE, NULL, 0, &id);

	if (r == 0)
		ck_assert_uint_eq(id, 9);
	return r;
}

static void sent_hwpt_alloc(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), IOMMU_HWPT_ALLOC_NEST_PARENT);
	ck_assert_uint_eq(get32(s, 8), 4);
	ck_assert_uint_eq(get32(s, 12), 7);
	ck_assert_uint_eq(get32(s, 24), IOMMU_HWPT_DATA_NONE);
	ck_assert_uint_eq(get32(s, 28), 0);
	ck_assert_uint_eq(get64(s, 32), 0);
	ck_assert_uint_eq(get32(s, 40), 0);
}

static int call_get_hw_info(void)
{
	uint32_t type = 0, len = sizeof(hw_info_buf);
	uint64_t caps = 0;
	uint8_t pasid = 0;
	int r;

	memset(hw_info_buf, 0x11, sizeof(hw_info_buf));
	r = iommufd_get_hw_info(FAKE_FD, 4, &type, hw_info_buf, &len, &caps, &pasid);
	if (r == 0) {
		ck_assert_uint_eq(type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
		ck_assert_uint_eq(len, 24); /* what the kernel filled, not our buffer size */
		ck_assert_uint_eq(caps, IOMMU_HW_CAP_PCI_PASID_EXEC | IOMMU_HW_CAP_PCI_PASID_PRIV);
		ck_assert_uint_eq(pasid, 20);
		ck_assert_uint_eq(hw_info_buf[23], 0xa5);
		ck_assert_uint_eq(hw_info_buf[24], 0);
	}
	return r;
}

static void sent_get_hw_info(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 4);
	ck_assert_uint_eq(get32(s, 12), sizeof(hw_info_buf));
	ck_assert_uint_eq(get64(s, 16), (uintptr_t)hw_info_buf);
}

static int call_fault_queue_alloc(void)
{
	uint32_t id = 0;
	int qfd = -1;
	int r = iommufd_fault_queue_alloc(FAKE_FD, &id, &qfd);

	if (r == 0) {
		ck_assert_uint_eq(id, 11);
		ck_assert_int_eq(qfd, 42);
	}
	return r;
}

static int call_mock_domain(void)
{
	uint32_t stdev = 0, hwpt = 0, idev = 0;
	int r = iommufd_test_mock_domain(FAKE_FD, 7, 0, &stdev, &hwpt, &idev);

	if (r == 0) {
		ck_assert_uint_eq(stdev, 2);
		ck_assert_uint_eq(hwpt, 3);
		ck_assert_uint_eq(idev, 4);
	}
	return r;
}

static void sent_mock_domain(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 7);
	ck_assert_uint_eq(get32(s, 28), 0);
}

static int call_mock_domain_flags(void)
{
	uint32_t stdev = 0;

	return iommufd_test_mock_domain(FAKE_FD, 7, MOCK_FLAGS_DEVICE_PASID, &stdev, NULL, NULL);
}

static void sent_mock_domain_flags(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 7);
	ck_assert_uint_eq(get32(s, 28), MOCK_FLAGS_DEVICE_PASID);
}

static int call_mock_replace(void)
{
	uint32_t pt = 0;
	int r = iommufd_test_mock_domain_replace(FAKE_FD, 2, 9, &pt);

	if (r == 0)
		ck_assert_uint_eq(pt, 9 | 0x1000);
	return r;
}

static void sent_mock_replace(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 2);
	ck_assert_uint_eq(get32(s, 16), 9);
}

static int call_pasid_attach(void)
{
	uint32_t pt = 0;
	int r = iommufd_test_pasid_attach(FAKE_FD, 2, 5, 9, &pt);

	if (r == 0)
		ck_assert_uint_eq(pt, 9 | 0x1000);
	return r;
}

static int call_pasid_replace(void)
{
	return iommufd_test_pasid_replace(FAKE_FD, 2, 5, 9, NULL);
}

static void sent_pasid_attach(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 2);
	ck_assert_uint_eq(get32(s, 16), 5);
	ck_assert_uint_eq(get32(s, 20), 9);
}

static int call_pasid_detach(void)
{
	return iommufd_test_pasid_detach(FAKE_FD, 2, 5);
}

static void sent_pasid_detach(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 2);
	ck_assert_uint_eq(get32(s, 16), 5);
}

static int call_pasid_check(void)
{
	return iommufd_test_pasid_check_hwpt(FAKE_FD, 2, 5, 9);
}

static int call_trigger_iopf(void)
{
	return iommufd_test_trigger_iopf(FAKE_FD, 4, 5, 6, IOMMU_PGFAULT_PERM_WRITE, 0x1234567890);
}

static void sent_trigger_iopf(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 16), 4);
	ck_assert_uint_eq(get32(s, 20), 5);
	ck_assert_uint_eq(get32(s, 24), 6);
	ck_assert_uint_eq(get32(s, 28), IOMMU_PGFAULT_PERM_WRITE);
	ck_assert_uint_eq(get64(s, 32), 0x1234567890);
}

static int call_bind(void)
{
	uint32_t dev = 0;
	int r = vfio_device_bind_iommufd(FAKE_FD, 77, &dev);

	if (r == 0)
		ck_assert_uint_eq(dev, 5);
	return r;
}

static void sent_bind(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 0);
	ck_assert_uint_eq(get32(s, 8), 77);
}

static int call_attach_pt(void)
{
	uint32_t pt = 0;
	int r = vfio_device_attach_iommufd_pt(FAKE_FD, 9, &pt);

	if (r == 0)
		ck_assert_uint_eq(pt, 9 | 0x1000);
	return r;
}

static void sent_attach_pt(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 0);
	ck_assert_uint_eq(get32(s, 8), 9);
	ck_assert_uint_eq(get32(s, 12), 0);
}

static int call_detach_pt(void)
{
	return vfio_device_detach_iommufd_pt(FAKE_FD);
}

static void sent_detach_pt(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), 0);
	ck_assert_uint_eq(get32(s, 8), 0);
}

static int call_attach_pasid(void)
{
	return vfio_device_attach_pasid(FAKE_FD, 5, 9);
}

static void sent_attach_pasid(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), VFIO_DEVICE_ATTACH_PASID);
	ck_assert_uint_eq(get32(s, 8), 9);
	ck_assert_uint_eq(get32(s, 12), 5);
}

static int call_detach_pasid(void)
{
	return vfio_device_detach_pasid(FAKE_FD, 5);
}

static void sent_detach_pasid(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 4), VFIO_DEVICE_DETACH_PASID);
	ck_assert_uint_eq(get32(s, 8), 5);
}

static int call_get_info(void)
{
	struct vfio_device_info info;
	int r = vfio_device_get_info(FAKE_FD, &info);

	if (r == 0) {
		ck_assert_uint_eq(info.flags, VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PCI);
		ck_assert_uint_eq(info.num_regions, 9);
		ck_assert_uint_eq(info.num_irqs, 5);
	}
	return r;
}

static int call_region_info(void)
{
	struct vfio_region_info info;
	int r = vfio_device_get_region_info(FAKE_FD, 2, &info);

	if (r == 0) {
		ck_assert_uint_eq(info.index, 2);
		ck_assert_uint_eq(info.size, 4096);
		ck_assert_uint_eq(info.offset, UINT64_C(2) << 40);
	}
	return r;
}

static void sent_region_info(const uint8_t *s)
{
	ck_assert_uint_eq(get32(s, 8), 2);
}

static int call_reset(void)
{
	return vfio_device_reset(FAKE_FD);
}

#define TEST_CMD_CASE(n, o, c, s)                                                \
	{                                                                        \
		n, IOMMU_TEST_CMD, o, sizeof(struct iommu_test_cmd), c, s, false \
	}

static const WrapperCase wrappers[] = {
	{"iommufd_destroy", IOMMU_DESTROY, 0, sizeof(struct iommu_destroy), call_destroy,
	 sent_destroy, false},
	{"iommufd_ioas_alloc", IOMMU_IOAS_ALLOC, 0, sizeof(struct iommu_ioas_alloc),
	 call_ioas_alloc, sent_ioas_alloc, false},
	{"iommufd_ioas_map_fixed", IOMMU_IOAS_MAP, 0, sizeof(struct iommu_ioas_map), call_ioas_map,
	 sent_ioas_map, false},
	{"iommufd_ioas_unmap", IOMMU_IOAS_UNMAP, 0, sizeof(struct iommu_ioas_unmap),
	 call_ioas_unmap, sent_ioas_unmap, false},
	{"iommufd_hwpt_alloc", IOMMU_HWPT_ALLOC, 0, sizeof(struct iommu_hwpt_alloc),
	 call_hwpt_alloc, sent_hwpt_alloc, false},
	{"iommufd_get_hw_info", IOMMU_GET_HW_INFO, 0, sizeof(struct iommu_hw_info),
	 call_get_hw_info, sent_get_hw_info, false},
	{"iommufd_fault_queue_alloc", IOMMU_FAULT_QUEUE_ALLOC, 0, sizeof(struct iommu_fault_alloc),
	 call_fault_queue_alloc, NULL, false},
	TEST_CMD_CASE("mock_domain", IOMMU_TEST_OP_MOCK_DOMAIN, call_mock_domain, sent_mock_domain),
	TEST_CMD_CASE("mock_domain(flags)", IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, call_mock_domain_flags,
		      sent_mock_domain_flags),
	TEST_CMD_CASE("mock_domain_replace", IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, call_mock_replace,
		      sent_mock_replace),
	TEST_CMD_CASE("pasid_attach", IOMMU_TEST_OP_PASID_ATTACH, call_pasid_attach,
		      sent_pasid_attach),
	TEST_CMD_CASE("pasid_replace", IOMMU_TEST_OP_PASID_REPLACE, call_pasid_replace,
		      sent_pasid_attach),
	TEST_CMD_CASE("pasid_detach", IOMMU_TEST_OP_PASID_DETACH, call_pasid_detach,
		      sent_pasid_detach),
	TEST_CMD_CASE("pasid_check_hwpt", IOMMU_TEST_OP_PASID_CHECK_HWPT, call_pasid_check,
		      sent_pasid_attach),
	TEST_CMD_CASE("trigger_iopf", IOMMU_TEST_OP_TRIGGER_IOPF, call_trigger_iopf,
		      sent_trigger_iopf),
	{"vfio_device_bind_iommufd", VFIO_DEVICE_BIND_IOMMUFD, 0,
	 sizeof(struct vfio_device_bind_iommufd), call_bind, sent_bind, false},
	{"vfio_device_attach_iommufd_pt", VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0,
	 sizeof(struct vfio_device_attach_iommufd_pt), call_attach_pt, sent_attach_pt, false},
	{"vfio_device_detach_iommufd_pt", VFIO_DEVICE_DETACH_IOMMUFD_PT, 0,
	 sizeof(struct vfio_device_detach_iommufd_pt), call_detach_pt, sent_detach_pt, false},
	{"vfio_device_attach_pasid", VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0,
	 sizeof(struct vfio_device_attach_iommufd_pt), call_attach_pasid, sent_attach_pasid, true},
	{"vfio_device_detach_pasid", VFIO_DEVICE_DETACH_IOMMUFD_PT, 0,
	 sizeof(struct vfio_device_detach_iommufd_pt), call_detach_pasid, sent_detach_pasid, true},
	{"vfio_device_get_info", VFIO_DEVICE_GET_INFO, 0, sizeof(struct vfio_device_info),
	 call_get_info, NULL, false},
	{"vfio_device_get_region_info", VFIO_DEVICE_GET_REGION_INFO, 0,
	 sizeof(struct vfio_region_info), call_region_info, sent_region_info, false},
	{"vfio_device_reset", VFIO_DEVICE_RESET, 0, 0, call_reset, NULL, false},
};

/* ---- tests ---- */

/*
 * Each wrapper against a kernel with exactly our ABI: right request, size =
 * sizeof, inputs where the kernel reads them, outputs from where it writes.
 */
START_TEST(test_wrapper_fields)
{
	const WrapperCase *w = &wrappers[_i];
	int r;

	fake_setup();
	poison_stack();
	r = w->call();
	ck_assert_msg(r == 0, "%s: %d", w->name, r);
	ck_assert_uint_eq(fake.calls, 1);
	ck_assert_msg(fake.request == w->request, "%s: request 0x%lx", w->name, fake.request);
	if (w->request == VFIO_DEVICE_RESET)
		ck_assert(fake.sent_null);
	else
		ck_assert_msg(fake.sent_size == w->size, "%s: size %u, sizeof %zu", w->name,
			      fake.sent_size, w->size);
	if (w->op)
		ck_assert_uint_eq(get32(fake.sent, 4), w->op);
	if (w->check_sent)
		w->check_sent(fake.sent);
	fake_teardown();
}
END_TEST

/* Kernel errors come back as -errno, whatever the command. */
START_TEST(test_wrapper_errors)
{
	static const int errors[] = {EINVAL, ENOENT, EBUSY, ENOMEM, EOPNOTSUPP, EADDRINUSE};
	const WrapperCase *w = &wrappers[_i];

	for (size_t e = 0; e < ELEMENTSOF(errors); e++) {
		fake_setup();
		fake.force_errno = errors[e];
		ck_assert_int_eq(w->call(), -errors[e]);
		fake_teardown();
	}
	/* A failure without errno must still be a failure. */
	fake_setup();
	fake.force_errno = EINVAL;
	fake.forget_errno = true;
	ck_assert_int_eq(w->call(), -EIO);
	fake_teardown();
}
END_TEST

/*
 * The same wrappers against other kernel generations:
 *  old     structures shorter than ours: our zeroed tails are accepted, and
 *          what the old kernel cannot do fails the way it really would;
 *  future  structures longer than ours, same minimum: accepted as is;
 *  greedy  a minimum beyond our structures: every iommufd command is
 *          EINVAL, i.e. a "short" struct is refused, not misread.
 */
START_TEST(test_generations)
{
	Generation g = (Generation)_i;

	for (size_t i = 0; i < ELEMENTSOF(wrappers); i++) {
		const WrapperCase *w = &wrappers[i];
		bool vfio = w->request != IOMMU_DESTROY && w->request != IOMMU_IOAS_ALLOC &&
			    w->request != IOMMU_IOAS_MAP && w->request != IOMMU_IOAS_UNMAP &&
			    w->request != IOMMU_HWPT_ALLOC && w->request != IOMMU_GET_HW_INFO &&
			    w->request != IOMMU_FAULT_QUEUE_ALLOC && w->request != IOMMU_TEST_CMD;
		int expect = 0, r;

		if (g == GEN_OLD && w->pasid)
			expect = -EINVAL; /* flags other than 0 before 6.15 */
		if (g == GEN_OLD && w->request == IOMMU_FAULT_QUEUE_ALLOC)
			expect = -ENOTTY; /* 6.11 */
		if (g == GEN_GREEDY && !vfio)
			expect = -EINVAL;

		fake_setup();
		fake.gen = g;
		poison_stack();
		r = w->call();
		ck_assert_msg(r == expect, "%s kernel, %s: %d, expected %d", generation_names[g],
			      w->name, r, expect);
		fake_teardown();
	}
}
END_TEST

/* A 6.7..6.10 kernel has no fault_id: asking for a fault queue there is E2BIG, as for real. */
START_TEST(test_old_kernel_rejects_new_fields)
{
	uint32_t id = 0;

	fake_setup();
	fake.gen = GEN_OLD;
	ck_assert_int_eq(iommufd_hwpt_alloc(FAKE_FD, 4, 7, IOMMU_HWPT_FAULT_ID_VALID, 12,
					    IOMMU_HWPT_DATA_NONE, NULL, 0, &id),
			 -E2BIG);
	ck_assert_uint_eq(id, 0);
	/* the new field left at zero: fine */
	ck_assert_int_eq(
		iommufd_hwpt_alloc(FAKE_FD, 4, 7, 0, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &id), 0);
	ck_assert_uint_eq(id, 9);
	fake_teardown();
}
END_TEST

/* Outputs are only written on success. */
START_TEST(test_outputs_untouched_on_error)
{
	uint32_t ioas = 0xdead, hwpt = 0xdead, stdev = 0xdead, idev = 0xdead, pt = 0xdead;

	fake_setup();
	fake.force_errno = ENOMEM;
	ck_assert_int_eq(iommufd_ioas_alloc(FAKE_FD, &ioas), -ENOMEM);
	ck_assert_int_eq(iommufd_hwpt_alloc(FAKE_FD, 1, 2, 0, 0, 0, NULL, 0, &hwpt), -ENOMEM);
	ck_assert_int_eq(iommufd_test_mock_domain(FAKE_FD, 1, 0, &stdev, &hwpt, &idev), -ENOMEM);
	ck_assert_int_eq(iommufd_test_mock_domain_replace(FAKE_FD, 1, 2, &pt), -ENOMEM);
	ck_assert_uint_eq(ioas, 0xdead);
	ck_assert_uint_eq(hwpt, 0xdead);
	ck_assert_uint_eq(stdev, 0xdead);
	ck_assert_uint_eq(idev, 0xdead);
	ck_assert_uint_eq(pt, 0xdead);
	fake_teardown();
}
END_TEST

/* Creating an object whose id would be lost is refused before the kernel sees it. */
START_TEST(test_required_outputs)
{
	uint32_t id;
	int qfd;

	fake_setup();
	ck_assert_int_eq(iommufd_ioas_alloc(FAKE_FD, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_alloc(FAKE_FD, 1, 2, 0, 0, 0, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(
		iommufd_hwpt_alloc(FAKE_FD, 1, 2, 0, 0, IOMMU_HWPT_DATA_VTD_S1, NULL, 24, &id),
		-EINVAL);
	ck_assert_int_eq(iommufd_fault_queue_alloc(FAKE_FD, &id, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_fault_queue_alloc(FAKE_FD, NULL, &qfd), -EINVAL);
	ck_assert_int_eq(iommufd_test_mock_domain(FAKE_FD, 1, 0, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_get_hw_info(FAKE_FD, 1, NULL, NULL, &(uint32_t){8}, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(vfio_device_get_info(FAKE_FD, NULL), -EINVAL);
	ck_assert_int_eq(vfio_device_get_region_info(FAKE_FD, 0, NULL), -EINVAL);
	ck_assert_uint_eq(fake.calls, 0);
	fake_teardown();
}
END_TEST

START_TEST(test_hw_info_without_buffer)
{
	uint32_t type = 0;
	uint8_t pasid = 0;

	fake_setup();
	/* data_len 0 is allowed: only the generic outputs are wanted */
	ck_assert_int_eq(iommufd_get_hw_info(FAKE_FD, 4, &type, NULL, NULL, NULL, &pasid), 0);
	ck_assert_uint_eq(get32(fake.sent, 12), 0);
	ck_assert_uint_eq(get64(fake.sent, 16), 0);
	ck_assert_uint_eq(type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	ck_assert_uint_eq(pasid, 20);
	fake_teardown();
}
END_TEST

START_TEST(test_probe)
{
	fake_setup();
	/* a kernel that knows the command rejects the zero size before acting */
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_TEST_CMD), 1);
	ck_assert_uint_eq(fake.sent_size, 0);
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_HWPT_ALLOC), 1);
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, VFIO_DEVICE_BIND_IOMMUFD), 1);
	/* CONFIG_IOMMUFD_TEST=n: ENOTTY */
	fake.no_test_cmd = true;
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_TEST_CMD), 0);
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_IOAS_ALLOC), 1);
	/* 6.6: no fault queues */
	fake.gen = GEN_OLD;
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_FAULT_QUEUE_ALLOC), 0);
	/* EOPNOTSUPP also means "known" */
	fake.force_errno = EOPNOTSUPP;
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_IOAS_ALLOC), 1);
	/* anything else is an error, not an answer */
	fake.force_errno = EFAULT;
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD, IOMMU_IOAS_ALLOC), -EFAULT);
	ck_assert_int_eq(uapi_probe_iommufd_command(FAKE_FD + 1, IOMMU_IOAS_ALLOC), -EBADF);
	fake_teardown();
}
END_TEST

/*
 * The PASID attach probe, against the generations: it must never attach
 * anything (object 0), tell 6.6..6.14 (EINVAL for any flag) from 6.15+
 * (ENOENT from the object lookup), and pass on everything else.
 */
START_TEST(test_probe_vfio_pasid)
{
	fake_setup();
	poison_stack();
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), 1);
	ck_assert_uint_eq(fake.calls, 1);
	ck_assert(fake.request == VFIO_DEVICE_ATTACH_IOMMUFD_PT);
	ck_assert_uint_eq(fake.sent_size, sizeof(struct vfio_device_attach_iommufd_pt));
	ck_assert_uint_eq(get32(fake.sent, 4), VFIO_DEVICE_ATTACH_PASID);
	ck_assert_uint_eq(get32(fake.sent, 8), 0);
	ck_assert_uint_eq(get32(fake.sent, 12), 1);

	fake.gen = GEN_OLD;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), 0);
	fake.gen = GEN_FUTURE;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), 1);
	fake.gen = GEN_GREEDY; /* iommufd minimums only: VFIO is the same */
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), 1);

	/* 6.15+ with a VFIO driver that has no PASID ops */
	fake.gen = GEN_CURRENT;
	fake.no_pasid_ops = true;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), -EOPNOTSUPP);
	fake.no_pasid_ops = false;

	/* a kernel that attached object 0 after all: supported, and undone */
	fake.attach_zero = true;
	fake.calls = 0;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), 1);
	ck_assert_uint_eq(fake.calls, 2);
	ck_assert(fake.request == VFIO_DEVICE_DETACH_IOMMUFD_PT);
	ck_assert_uint_eq(get32(fake.sent, 4), VFIO_DEVICE_DETACH_PASID);
	ck_assert_uint_eq(get32(fake.sent, 8), 1);
	fake.attach_zero = false;

	/* not an answer: errors come back as they are */
	fake.force_errno = ENODEV;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), -ENODEV);
	fake.force_errno = 0;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD + 1), -EBADF);
	/* a hook that fails without errno is an error, not "supported" */
	fake.force_errno = ENOENT;
	fake.forget_errno = true;
	ck_assert_int_eq(uapi_probe_vfio_pasid_attach(FAKE_FD), -EIO);
	fake_teardown();
}
END_TEST

START_TEST(test_open)
{
	int fd = -1;

	ck_assert_int_eq(iommufd_open("/nonexistent/iommu", &fd), -ENOENT);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(iommufd_open(NULL, &fd), -EINVAL);
	ck_assert_int_eq(iommufd_open("/dev/null", &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(uapi_request_name(IOMMU_HWPT_ALLOC), "IOMMU_HWPT_ALLOC");
	ck_assert_str_eq(uapi_request_name(IOMMU_TEST_CMD), "IOMMU_TEST_CMD");
	ck_assert_str_eq(uapi_request_name(VFIO_DEVICE_ATTACH_IOMMUFD_PT),
			 "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	ck_assert_str_eq(uapi_request_name(VFIO_DEVICE_RESET), "VFIO_DEVICE_RESET");
	ck_assert_ptr_null(uapi_request_name(0x3b87)); /* IOMMU_OPTION: not ours */
	ck_assert_ptr_null(uapi_request_name(0));
	for (size_t i = 0; i < ELEMENTSOF(wrappers); i++)
		ck_assert_ptr_nonnull(uapi_request_name(wrappers[i].request));

	ck_assert_str_eq(uapi_test_op_name(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE),
			 "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE");
	ck_assert_str_eq(uapi_test_op_name(IOMMU_TEST_OP_PASID_CHECK_HWPT),
			 "IOMMU_TEST_OP_PASID_CHECK_HWPT");
	ck_assert_ptr_null(uapi_test_op_name(1)); /* ADD_RESERVED: not ours */
	for (size_t i = 0; i < ELEMENTSOF(wrappers); i++)
		if (wrappers[i].op)
			ck_assert_ptr_nonnull(uapi_test_op_name(wrappers[i].op));
}
END_TEST

/*
 * The fault queue fd the way fault.c (6.12) serves it: read(2) of whole
 * records only (ESPIPE otherwise), 0 when empty; write(2) of responses
 * stopping at the first unknown cookie, which is EINVAL when it is the
 * first, else a short count.
 */
static struct {
	struct iommu_hwpt_pgfault queue[4];
	size_t queued, next;
	int fail_once; /* errno for the next call */
	bool short_bytes;
	uint32_t bad_cookie;
	unsigned calls;
	uint32_t taken[8];
	size_t n_taken;
} Q;

static ssize_t q_read(int fd, void *buf, size_t n)
{
	size_t k = 0;

	Q.calls++;
	if (Q.fail_once) {
		errno = Q.fail_once;
		Q.fail_once = 0;
		return -1;
	}
	if (n % sizeof(struct iommu_hwpt_pgfault)) {
		errno = ESPIPE;
		return -1;
	}
	if (Q.short_bytes)
		return 12;
	for (; k < n / sizeof(struct iommu_hwpt_pgfault) && Q.next < Q.queued; k++)
		((struct iommu_hwpt_pgfault *)buf)[k] = Q.queue[Q.next++];
	return (ssize_t)(k * sizeof(struct iommu_hwpt_pgfault));
}

static ssize_t q_write(int fd, const void *buf, size_t n)
{
	const struct iommu_hwpt_page_response *r = buf;
	size_t k = 0;

	Q.calls++;
	if (Q.fail_once) {
		errno = Q.fail_once;
		Q.fail_once = 0;
		return -1;
	}
	for (; k < n / sizeof(*r); k++) {
		if (r[k].cookie == Q.bad_cookie)
			break;
		Q.taken[Q.n_taken++] = r[k].cookie;
	}
	if (k == 0) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)(k * sizeof(*r));
}

START_TEST(test_fault_read)
{
	struct iommu_hwpt_pgfault recs[2];
	size_t n = 99;

	memset(&Q, 0, sizeof(Q));
	for (uint32_t i = 0; i < 3; i++)
		Q.queue[i] = (struct iommu_hwpt_pgfault){.grpid = i + 1, .cookie = 10 + i};
	Q.queued = 3;
	fake_hooks_install(NULL, q_read, NULL);

	Q.fail_once = EINTR; /* retried */
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(recs[1].grpid, 2);
	ck_assert_uint_eq(recs[1].cookie, 11);
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(recs[0].grpid, 3);
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), 0); /* empty: read(2) is 0 */
	ck_assert_uint_eq(n, 0);
	Q.fail_once = EAGAIN; /* a non-blocking fd says empty that way */
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), 0);
	ck_assert_uint_eq(n, 0);
	Q.fail_once = EINVAL; /* a group larger than the buffer */
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), -EINVAL);
	ck_assert_uint_eq(n, 0);
	Q.short_bytes = true;
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, &n), -EIO);
	Q.calls = 0;
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 0, &n), 0);
	ck_assert_uint_eq(Q.calls, 0);
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, NULL, 2, &n), -EINVAL);
	ck_assert_int_eq(iommufd_fault_read(FAKE_FD, recs, 2, NULL), -EINVAL);
	fake_hooks_restore();
}
END_TEST

START_TEST(test_fault_respond)
{
	struct iommu_hwpt_page_response resp[4] = {
		{.cookie = 1}, {.cookie = 2}, {.cookie = 3}, {.cookie = 4}};
	size_t done = 99;

	memset(&Q, 0, sizeof(Q));
	fake_hooks_install(NULL, NULL, q_write);

	Q.fail_once = EINTR;
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp, 4, &done), 0);
	ck_assert_uint_eq(done, 4);
	ck_assert_uint_eq(Q.n_taken, 4);

	/* cookie 3 is unknown: 1 and 2 are taken, the answer names the third */
	memset(&Q, 0, sizeof(Q));
	Q.bad_cookie = 3;
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp, 4, &done), -EINVAL);
	ck_assert_uint_eq(done, 2);
	ck_assert_uint_eq(Q.n_taken, 2);
	ck_assert_uint_eq(Q.calls, 2);
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp + done + 1, 1, &done), 0);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_eq(Q.taken[2], 4);

	Q.bad_cookie = 1; /* the first refused: EINVAL straight away */
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp, 4, &done), -EINVAL);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp, 0, &done), 0);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, NULL, 1, &done), -EINVAL);
	ck_assert_int_eq(iommufd_fault_respond(FAKE_FD, resp, 1, NULL), -EINVAL);
	fake_hooks_restore();
}
END_TEST

/*
 * The real kernel, when this machine has one with iommufd: every iommufd
 * kernel knows IOAS_ALLOC, and IOMMU_TEST_CMD is answered either way.
 * Without /dev/iommu (or without access to it) there is nothing to check.
 */
START_TEST(test_real_dev_iommu)
{
	uint32_t ioas = 0;
	int fd = -1, r;

	ck_assert_ptr_eq(uapi_ioctl_hook, default_hook);
	r = iommufd_open("/dev/iommu", &fd);
	if (r < 0) {
		fprintf(stderr, "test_real_dev_iommu: /dev/iommu: %s, nothing to probe\n",
			strerror(-r));
		return;
	}
	ck_assert_int_eq(uapi_probe_iommufd_command(fd, IOMMU_IOAS_ALLOC), 1);
	r = uapi_probe_iommufd_command(fd, IOMMU_TEST_CMD);
	ck_assert_msg(r == 0 || r == 1, "IOMMU_TEST_CMD probe: %d", r);
	ck_assert_int_eq(iommufd_ioas_alloc(fd, &ioas), 0);
	ck_assert_uint_ne(ioas, 0);
	ck_assert_int_eq(iommufd_destroy(fd, ioas), 0);
	ck_assert_int_eq(iommufd_destroy(fd, ioas), -ENOENT);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uapi");
	TCase *tc = tcase_create("fake-kernel");
	TCase *real = tcase_create("real-kernel");

	default_hook = uapi_ioctl_hook;
	tcase_add_loop_test(tc, test_wrapper_fields, 0, ELEMENTSOF(wrappers));
	tcase_add_loop_test(tc, test_wrapper_errors, 0, ELEMENTSOF(wrappers));
	tcase_add_loop_test(tc, test_generations, 0, _GEN_MAX);
	tcase_add_test(tc, test_old_kernel_rejects_new_fields);
	tcase_add_test(tc, test_outputs_untouched_on_error);
	tcase_add_test(tc, test_required_outputs);
	tcase_add_test(tc, test_hw_info_without_buffer);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_probe_vfio_pasid);
	tcase_add_test(tc, test_open);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_fault_read);
	tcase_add_test(tc, test_fault_respond);
	suite_add_tcase(s, tc);
	tcase_add_test(real, test_real_dev_iommu);
	suite_add_tcase(s, real);
	return check_run(s);
}
