/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Our own statement of the VFIO device-cdev commands, for build hosts whose
 * <linux/vfio.h> predates them (the cdev arrived in 6.6) or predates PASID
 * attachment (6.15). Do not include directly: iommufd-abi.h includes the
 * system <linux/vfio.h> first (everything older — device info, regions,
 * reset — comes from there) and then this file for what it lacks, as told by
 * the HAVE_SYSTEM_VFIO_* switches in uapi-config.h.
 *
 * Facts of the kernel ABI (include/uapi/linux/vfio.h), checked by the static
 * asserts in iommufd-abi.h. VFIO's convention differs from iommufd's: argsz
 * must cover the fields the kernel reads, and bytes past them are ignored
 * rather than checked, so the 6.15 layouts below also work on 6.6..6.14 as
 * long as no PASID flag is set.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

#if !HAVE_SYSTEM_VFIO_CDEV
/* VFIO_TYPE and VFIO_BASE come from the system <linux/vfio.h>. */

/* Binds a cdev-opened device to an iommufd; closing the device fd unbinds. */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags; /* must be 0 */
	__s32 iommufd;
	__u32 out_devid; /* the device's id inside that iommufd */
};
#define VFIO_DEVICE_BIND_IOMMUFD      _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#if !HAVE_SYSTEM_VFIO_PASID
/*
 * Attach the RID (flags 0) or a PASID to an IOAS or HWPT. Attaching an
 * attached RID/PASID again replaces its HWPT without a detach in between.
 */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_ATTACH_PASID (1 << 0) /* 6.15: pasid is valid */
	__u32 pt_id;			  /* in: IOAS or HWPT; out: the HWPT attached */
	__u32 pasid;
};

struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_DETACH_PASID (1 << 0) /* 6.15: pasid is valid */
	__u32 pasid;
};
#endif
