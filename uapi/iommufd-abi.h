/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel ABI of iommufd, the VFIO device cdev and the iommufd selftest
 * mock, from one place. Include this, never <linux/iommufd.h> or
 * <linux/vfio.h> directly.
 *
 * meson (uapi/meson.build) compiles small probes against the build host's
 * kernel headers and records in uapi-config.h what they provide:
 *   HAVE_SYSTEM_IOMMUFD_H        <linux/iommufd.h> with fault queues and the PASID
 *                                width in GET_HW_INFO (6.12+)
 *   HAVE_IOMMU_HWPT_ALLOC_PASID  ... and IOMMU_HWPT_ALLOC_PASID (6.15+)
 *   HAVE_SYSTEM_VFIO_CDEV        <linux/vfio.h> with the device cdev (6.6+)
 *   HAVE_SYSTEM_VFIO_PASID       ... and PASID attach/detach (6.15+)
 * What the system has is used as is; what it lacks comes from compat/, so no
 * structure is ever defined twice. The static asserts at the end hold
 * whichever definitions were picked to the layout of the kernel's own headers
 * (6.12, and 6.15 for the PASID additions; unchanged in 7.2, where
 * iommu_hw_info's out_data_type became a union with in_data_type and
 * IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3 was added): if they fire, a
 * header moved.
 */

#include <assert.h>
#include <stddef.h>

#include "uapi-config.h"

#if HAVE_SYSTEM_IOMMUFD_H
#include <linux/iommufd.h>
#if !HAVE_IOMMU_HWPT_ALLOC_PASID
/* 6.12..6.14 headers: the flag is an enumerator upstream, a macro is all we can add. */
#define IOMMU_HWPT_ALLOC_PASID (1 << 3)
#endif
#else
#ifdef _IOMMUFD_H
#error "<linux/iommufd.h> is too old for iommutest and was included before iommufd-abi.h"
#endif
#include "compat/iommufd.h"
/* The installed header's guard: a stray later #include <linux/iommufd.h> becomes a no-op. */
#define _IOMMUFD_H 1
#endif

#if HAVE_SYSTEM_VFIO_CDEV && !HAVE_SYSTEM_VFIO_PASID
/*
 * 6.6..6.14 headers define the attach/detach structures without the PASID
 * fields. Park those definitions under other names while the system header
 * is read, so that compat/vfio-cdev.h can provide the 6.15 layout under the
 * real names. Same ioctl numbers: VFIO sizes travel in argsz.
 */
#ifdef VFIO_H
#error "<linux/vfio.h> was included before iommufd-abi.h"
#endif
#define vfio_device_attach_iommufd_pt vfio_device_attach_iommufd_pt_no_pasid
#define vfio_device_detach_iommufd_pt vfio_device_detach_iommufd_pt_no_pasid
#include <linux/vfio.h>
#undef vfio_device_attach_iommufd_pt
#undef vfio_device_detach_iommufd_pt
#else
#include <linux/vfio.h>
#endif
#include "compat/vfio-cdev.h"

#include "compat/iommufd-test.h"

/* --- the ABI as we rely on it --- */

#define UAPI_ASSERT_SIZE(type, n) static_assert(sizeof(type) == (n), "size of " #type)
#define UAPI_ASSERT_OFFSET(type, field, n) \
	static_assert(offsetof(type, field) == (n), "offset of " #type "." #field)

/* ioctl numbers: _IO(';', nr) = 0x3b00 | nr */
static_assert(IOMMU_DESTROY == 0x3b80, "IOMMU_DESTROY");
static_assert(IOMMU_IOAS_ALLOC == 0x3b81, "IOMMU_IOAS_ALLOC");
static_assert(IOMMU_IOAS_MAP == 0x3b85, "IOMMU_IOAS_MAP");
static_assert(IOMMU_IOAS_UNMAP == 0x3b86, "IOMMU_IOAS_UNMAP");
static_assert(IOMMU_HWPT_ALLOC == 0x3b89, "IOMMU_HWPT_ALLOC");
static_assert(IOMMU_GET_HW_INFO == 0x3b8a, "IOMMU_GET_HW_INFO");
static_assert(IOMMU_FAULT_QUEUE_ALLOC == 0x3b8e, "IOMMU_FAULT_QUEUE_ALLOC");
static_assert(IOMMU_TEST_CMD == 0x3ba0, "IOMMU_TEST_CMD");
static_assert(VFIO_DEVICE_GET_INFO == 0x3b6b, "VFIO_DEVICE_GET_INFO");
static_assert(VFIO_DEVICE_GET_REGION_INFO == 0x3b6c, "VFIO_DEVICE_GET_REGION_INFO");
static_assert(VFIO_DEVICE_RESET == 0x3b6f, "VFIO_DEVICE_RESET");
static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3b76, "VFIO_DEVICE_BIND_IOMMUFD");
static_assert(VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3b77, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
static_assert(VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78, "VFIO_DEVICE_DETACH_IOMMUFD_PT");

/* flag and type values */
static_assert(IOMMU_IOAS_MAP_FIXED_IOVA == 1 && IOMMU_IOAS_MAP_WRITEABLE == 2 &&
		      IOMMU_IOAS_MAP_READABLE == 4,
	      "iommufd_ioas_map_flags");
static_assert(IOMMU_HWPT_ALLOC_NEST_PARENT == 1 && IOMMU_HWPT_ALLOC_DIRTY_TRACKING == 2 &&
		      IOMMU_HWPT_FAULT_ID_VALID == 4 && IOMMU_HWPT_ALLOC_PASID == 8,
	      "iommufd_hwpt_alloc_flags");
static_assert(IOMMU_HWPT_DATA_NONE == 0 && IOMMU_HWPT_DATA_VTD_S1 == 1, "iommu_hwpt_data_type");
static_assert(IOMMU_HW_INFO_TYPE_NONE == 0 && IOMMU_HW_INFO_TYPE_INTEL_VTD == 1,
	      "iommu_hw_info_type");
static_assert(IOMMU_HW_CAP_DIRTY_TRACKING == 1 && IOMMU_HW_CAP_PCI_PASID_EXEC == 2 &&
		      IOMMU_HW_CAP_PCI_PASID_PRIV == 4,
	      "iommufd_hw_capabilities");
static_assert(IOMMU_PGFAULT_FLAGS_PASID_VALID == 1 && IOMMU_PGFAULT_FLAGS_LAST_PAGE == 2,
	      "iommu_hwpt_pgfault_flags");
static_assert(IOMMUFD_PAGE_RESP_SUCCESS == 0 && IOMMUFD_PAGE_RESP_INVALID == 1,
	      "iommufd_page_response_code");
static_assert(VFIO_DEVICE_ATTACH_PASID == 1 && VFIO_DEVICE_DETACH_PASID == 1, "VFIO PASID flags");
static_assert(IOMMU_TEST_OP_MOCK_DOMAIN == 2 && IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE == 10 &&
		      IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS == 12 && IOMMU_TEST_OP_TRIGGER_IOPF == 15 &&
		      IOMMU_TEST_OP_PASID_ATTACH == 18 && IOMMU_TEST_OP_PASID_REPLACE == 19 &&
		      IOMMU_TEST_OP_PASID_DETACH == 20 && IOMMU_TEST_OP_PASID_CHECK_HWPT == 21,
	      "IOMMU_TEST_OP_*");
static_assert(MOCK_FLAGS_DEVICE_NO_DIRTY == 1 && MOCK_FLAGS_DEVICE_HUGE_IOVA == 2 &&
		      MOCK_FLAGS_DEVICE_PASID == 4,
	      "MOCK_FLAGS_DEVICE_*");

/* layouts */
UAPI_ASSERT_SIZE(struct iommu_destroy, 8);
UAPI_ASSERT_SIZE(struct iommu_ioas_alloc, 12);
UAPI_ASSERT_OFFSET(struct iommu_ioas_alloc, out_ioas_id, 8);
UAPI_ASSERT_SIZE(struct iommu_ioas_map, 40);
UAPI_ASSERT_OFFSET(struct iommu_ioas_map, ioas_id, 8);
UAPI_ASSERT_OFFSET(struct iommu_ioas_map, user_va, 16);
UAPI_ASSERT_OFFSET(struct iommu_ioas_map, length, 24);
UAPI_ASSERT_OFFSET(struct iommu_ioas_map, iova, 32);
UAPI_ASSERT_SIZE(struct iommu_ioas_unmap, 24);
UAPI_ASSERT_OFFSET(struct iommu_ioas_unmap, iova, 8);
UAPI_ASSERT_OFFSET(struct iommu_ioas_unmap, length, 16);
UAPI_ASSERT_SIZE(struct iommu_hwpt_alloc, 48);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, dev_id, 8);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, pt_id, 12);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, out_hwpt_id, 16);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, data_type, 24);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, data_len, 28);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, data_uptr, 32);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_alloc, fault_id, 40);
UAPI_ASSERT_SIZE(struct iommu_hwpt_vtd_s1, 24);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_vtd_s1, addr_width, 16);
UAPI_ASSERT_SIZE(struct iommu_hw_info, 40);
UAPI_ASSERT_OFFSET(struct iommu_hw_info, data_len, 12);
UAPI_ASSERT_OFFSET(struct iommu_hw_info, data_uptr, 16);
UAPI_ASSERT_OFFSET(struct iommu_hw_info, out_data_type, 24);
UAPI_ASSERT_OFFSET(struct iommu_hw_info, out_max_pasid_log2, 28);
/* One byte, read into a uint8_t; the three after it must stay zero (EOPNOTSUPP). */
static_assert(sizeof(((struct iommu_hw_info *)0)->out_max_pasid_log2) == 1,
	      "iommu_hw_info.out_max_pasid_log2 is a __u8");
UAPI_ASSERT_OFFSET(struct iommu_hw_info, __reserved, 29);
UAPI_ASSERT_OFFSET(struct iommu_hw_info, out_capabilities, 32);
UAPI_ASSERT_SIZE(struct iommu_hw_info_vtd, 24);
UAPI_ASSERT_OFFSET(struct iommu_hw_info_vtd, cap_reg, 8);
UAPI_ASSERT_OFFSET(struct iommu_hw_info_vtd, ecap_reg, 16);
UAPI_ASSERT_SIZE(struct iommu_fault_alloc, 16);
UAPI_ASSERT_OFFSET(struct iommu_fault_alloc, out_fault_fd, 12);
UAPI_ASSERT_SIZE(struct iommu_hwpt_pgfault, 40);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_pgfault, perm, 16);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_pgfault, addr, 24);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_pgfault, length, 32);
UAPI_ASSERT_OFFSET(struct iommu_hwpt_pgfault, cookie, 36);
UAPI_ASSERT_SIZE(struct iommu_hwpt_page_response, 8);

UAPI_ASSERT_SIZE(struct vfio_device_bind_iommufd, 16);
UAPI_ASSERT_OFFSET(struct vfio_device_bind_iommufd, out_devid, 12);
UAPI_ASSERT_SIZE(struct vfio_device_attach_iommufd_pt, 16);
UAPI_ASSERT_OFFSET(struct vfio_device_attach_iommufd_pt, pt_id, 8);
UAPI_ASSERT_OFFSET(struct vfio_device_attach_iommufd_pt, flags, 4);
UAPI_ASSERT_OFFSET(struct vfio_device_attach_iommufd_pt, pasid, 12);
UAPI_ASSERT_SIZE(struct vfio_device_detach_iommufd_pt, 12);
UAPI_ASSERT_OFFSET(struct vfio_device_detach_iommufd_pt, flags, 4);
UAPI_ASSERT_OFFSET(struct vfio_device_detach_iommufd_pt, pasid, 8);
/* vfio_device_info grew a pad word in 6.2 (20 → 24 bytes); argsz copes with either. */
UAPI_ASSERT_OFFSET(struct vfio_device_info, num_irqs, 12);
UAPI_ASSERT_SIZE(struct vfio_region_info, 32);

UAPI_ASSERT_SIZE(struct iommu_hwpt_selftest, 4);
static_assert(IOMMU_HWPT_DATA_SELFTEST == 0xdead, "IOMMU_HWPT_DATA_SELFTEST");
UAPI_ASSERT_SIZE(struct iommu_test_cmd, 72);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, mock_domain.out_stdev_id, 16);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, mock_domain.out_hwpt_id, 20);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, mock_domain.out_idev_id, 24);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, mock_domain_flags.dev_flags, 28);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, mock_domain_replace.pt_id, 16);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, trigger_iopf.perm, 28);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, trigger_iopf.addr, 32);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, pasid_attach.pt_id, 20);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, pasid_check.hwpt_id, 20);
UAPI_ASSERT_OFFSET(struct iommu_test_cmd, last, 64);

#undef UAPI_ASSERT_SIZE
#undef UAPI_ASSERT_OFFSET
