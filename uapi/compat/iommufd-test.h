/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The IOMMU_TEST_CMD ABI: the kernel's iommufd selftest mock
 * (CONFIG_IOMMUFD_TEST, drivers/iommu/iommufd/iommufd_test.h). The kernel
 * never installs that header, so this is the only definition there is.
 * Include iommufd-abi.h rather than this file: it needs IOMMUFD_TYPE and
 * IOMMUFD_CMD_BASE from whichever iommufd header is in use.
 *
 * The op numbers are positions in a kernel enum that only ever grows at the
 * end; the values below are those of 6.15 (PASID ops). A kernel without
 * CONFIG_IOMMUFD_TEST answers IOMMU_TEST_CMD with ENOTTY; one that has it but
 * not a given op answers EOPNOTSUPP.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

enum {
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,		/* new mock device bound and attached to id */
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10, /* replace the mock device's RID attachment */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,	/* MOCK_DOMAIN with dev_flags (6.7) */
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,	/* inject a page request (6.11) */
	IOMMU_TEST_OP_PASID_ATTACH = 18,	/* 6.15 */
	IOMMU_TEST_OP_PASID_REPLACE = 19,
	IOMMU_TEST_OP_PASID_DETACH = 20,
	IOMMU_TEST_OP_PASID_CHECK_HWPT = 21, /* 0 if pasid is on hwpt_id (0: on nothing) */
};

/* IOVA window of every mock paging domain; mappings outside it cannot be attached. */
#define MOCK_APERTURE_START (1UL << 24)
#define MOCK_APERTURE_LAST  ((1UL << 31) - 1)

/*
 * IOMMU_HWPT_ALLOC data type of the mock's nested domains (6.7): the parent
 * must be a mock paging HWPT allocated with IOMMU_HWPT_ALLOC_NEST_PARENT.
 * Only nested HWPTs take IOMMU_HWPT_FAULT_ID_VALID on 6.11-6.12 kernels, so
 * this is how the mock gets a domain that delivers page requests to a fault
 * queue. iotlb is the initial value of the mock IOTLB entries; the selftests
 * pass IOMMU_TEST_IOTLB_DEFAULT.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* Mock device personalities for IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS. */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2, /* 6.15: the device has PASIDs, MOCK_PASID_WIDTH bits */
};
#define MOCK_PASID_WIDTH 20
/*
 * The mock's set_dev_pasid fakes a failure (ENOMEM) on every second attach of
 * this PASID, to exercise the core's rollback (selftest.c, 6.15).
 */
#define IOMMU_TEST_PASID_RESERVED 1024

struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id; /* op-specific: IOAS for MOCK_DOMAIN, stdev for REPLACE and PASID ops */
	__u32 __reserved;
	union {
		struct {
			__u32 out_stdev_id; /* IOMMU_DESTROY this to remove the device */
			__u32 out_hwpt_id;  /* the automatic HWPT the device was attached to */
			__u32 out_idev_id;  /* the device's bind id: dev_id for HWPT_ALLOC */
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags; /* MOCK_FLAGS_DEVICE_* */
		} mock_domain_flags;
		struct {
			__u32 pt_id; /* in: IOAS or HWPT; out: the HWPT attached */
		} mock_domain_replace;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm; /* enum iommu_hwpt_pgfault_perm */
			__u64 addr;
		} trigger_iopf;
		struct {
			__u32 pasid;
			__u32 pt_id; /* in: IOAS or HWPT; out: the HWPT attached */
		} pasid_attach, pasid_replace;
		struct {
			__u32 pasid;
		} pasid_detach;
		struct {
			__u32 pasid;
			__u32 hwpt_id;
		} pasid_check;
		/*
		 * The kernel's union has more members (the largest, for
		 * IOMMU_TEST_OP_DIRTY, is six u64s) and the kernel rejects a
		 * size that does not reach the end of 'last', so our union must
		 * be at least as large as the kernel's although we use none of
		 * those ops. Larger would still be accepted (zero tail).
		 */
		__aligned_u64 __union_size[6];
	};
	__u32 last; /* marks the minimum size the kernel accepts */
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
