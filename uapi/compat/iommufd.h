/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Our own statement of the iommufd ABI subset iommutest uses, for build hosts
 * whose <linux/iommufd.h> is missing (linux-libc-dev < 6.2, e.g. Debian
 * bookworm's 6.1) or older than the newest things we need (fault queues and
 * the PASID width in GET_HW_INFO, both there by 6.12). Do not include
 * directly: iommufd-abi.h decides between this and the system header.
 *
 * Everything here is a fact of the kernel ABI — ioctl numbers, field order,
 * widths and enumerator values — cross-checked against the kernel's
 * include/uapi/linux/iommufd.h (6.12, plus IOMMU_HWPT_ALLOC_PASID from 6.15)
 * by the static asserts in iommufd-abi.h. Only the commands and types we
 * issue are listed; everything else of iommufd is deliberately absent so that
 * a use of it fails to compile instead of silently getting a stale layout.
 *
 * Every command structure starts with a u32 size that user space sets to
 * sizeof(): iommufd accepts any size from the end of the last field the
 * kernel requires up, and a size beyond what the kernel knows only if the
 * extra bytes are zero (E2BIG otherwise). That is how fields get added.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

/* All iommufd ioctls are _IO(';', nr) with nr from 0x80; the size travels in the struct. */
#define IOMMUFD_TYPE (';')

enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,	      /* 6.6 */
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,	      /* 6.6 */
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e, /* 6.11 */
};

/* Destroys any object by id: IOAS, HWPT, fault queue, selftest device. */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags; /* must be 0 */
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0, /* map at iova, do not let the kernel choose */
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova; /* in with FIXED_IOVA, else out */
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length; /* in: range; out: bytes actually unmapped */
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,	  /* may be the stage 2 of a nested HWPT */
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1, /* 6.7 */
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,	  /* fault_id names a fault queue, 6.11 */
	IOMMU_HWPT_ALLOC_PASID = 1 << 3,	  /* may be attached to PASIDs, 6.15 */
};

/* Stage-1 (first-stage) attribute bits of a VT-d nested HWPT. */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,  /* supervisor requests */
	IOMMU_VTD_S1_EAFE = 1 << 1, /* extended access flag */
	IOMMU_VTD_S1_WPE = 1 << 2,  /* write protect */
};

/* data for IOMMU_HWPT_DATA_VTD_S1: a guest-owned first-stage table nested on a parent */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags; /* enum iommu_hwpt_vtd_s1_flags */
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0, /* a kernel-managed paging domain */
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags; /* enum iommufd_hwpt_alloc_flags */
	__u32 dev_id;
	__u32 pt_id; /* IOAS (paging) or nest-parent HWPT (nested) */
	__u32 out_hwpt_id;
	__u32 __reserved;
	/* 6.7: driver-specific data for nested HWPTs */
	__u32 data_type; /* enum iommu_hwpt_data_type */
	__u32 data_len;
	__aligned_u64 data_uptr;
	/* 6.11: with IOMMU_HWPT_FAULT_ID_VALID */
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0, /* no read-only maps on a nest parent */
};

/* Raw VT-d capability and extended capability registers (VT-d spec 11.4.2/11.4.3). */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1, /* only meaningful when out_max_pasid_log2 > 0 */
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len; /* in: buffer size; out: what the driver has (may be larger) */
	__aligned_u64 data_uptr;
	__u32 out_data_type;		/* enum iommu_hw_info_type */
	__u8 out_max_pasid_log2;	/* 0: no PASID support */
	__u8 __reserved[3];		/* must be 0, EOPNOTSUPP otherwise */
	__aligned_u64 out_capabilities; /* enum iommufd_hw_capabilities */
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* One page request read(2) from a fault queue fd. */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1, /* last request of its group: respond to this one */
};

enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = 1 << 0,
	IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
	IOMMU_PGFAULT_PERM_EXEC = 1 << 2,
	IOMMU_PGFAULT_PERM_PRIV = 1 << 3,
};

struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie; /* echoed in the response */
};

enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* write(2) to the fault queue fd to complete a group. */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

struct iommu_fault_alloc {
	__u32 size;
	__u32 flags; /* must be 0 */
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)
