/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One typed wrapper per iommufd / VFIO-cdev / IOMMU_TEST_CMD command.
 *
 * Every wrapper returns 0 or -errno (never -1 with errno), fills the
 * command's .size/.argsz with sizeof() of the structure this build knows,
 * and zeroes every field it does not set. Kernels that lack a command answer
 * ENOTTY; uapi_probe_*() turn that into "not supported by this kernel".
 *
 * All ioctls go through uapi_ioctl_hook so unit tests can interpose a fake
 * kernel (see tests/unit/test-uapi.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iommufd-abi.h" /* the kernel ABI: system headers or our compat copy */

/* The ioctl entry point; defaults to ioctl(2). Returns like ioctl(2). */
extern int (*uapi_ioctl_hook)(int fd, unsigned long request, void *arg);
/*
 * read(2)/write(2) on file descriptors the kernel hands out (fault queues);
 * default to the system calls. Return like them.
 */
extern ssize_t (*uapi_read_hook)(int fd, void *buf, size_t n);
extern ssize_t (*uapi_write_hook)(int fd, const void *buf, size_t n);

/* --- /dev/iommu --- */
int iommufd_open(const char *path, int *ret_fd);
int iommufd_destroy(int fd, uint32_t id);
int iommufd_ioas_alloc(int fd, uint32_t *ret_ioas_id);
/* Maps [va, va+length) at exactly iova (IOMMU_IOAS_MAP_FIXED_IOVA) readable and writable. */
int iommufd_ioas_map_fixed(int fd, uint32_t ioas_id, void *va, uint64_t length, uint64_t iova);
int iommufd_ioas_unmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t length);
/* data_type IOMMU_HWPT_DATA_NONE with data NULL for a paging domain. */
int iommufd_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t fault_id,
		       uint32_t data_type, const void *data, uint32_t data_len,
		       uint32_t *ret_hwpt_id);
/*
 * data/inout_len: buffer for the driver-specific info (e.g. struct
 * iommu_hw_info_vtd); on return *inout_len is what the kernel filled.
 */
int iommufd_get_hw_info(int fd, uint32_t dev_id, uint32_t *ret_type, void *data,
			uint32_t *inout_len, uint64_t *ret_capabilities,
			uint8_t *ret_max_pasid_log2);
int iommufd_fault_queue_alloc(int fd, uint32_t *ret_fault_id, int *ret_fault_fd);
/*
 * Reads up to max whole page request records from a fault queue fd into
 * recs; *ret_n is how many. The kernel hands out whole groups only (a group
 * larger than max is EINVAL) and never blocks: an empty queue reads 0
 * records (EAGAIN on a non-blocking fd is the same).
 */
int iommufd_fault_read(int fault_fd, struct iommu_hwpt_pgfault *recs, size_t max, size_t *ret_n);
/*
 * Writes n page responses. The kernel takes them in order and stops at the
 * first it refuses; EINVAL there means it no longer knows the cookie, e.g.
 * because it answered the group itself when the device left the domain.
 * Returns 0 when all were taken, else the -errno of the first refused one,
 * which is resp[*ret_done].
 */
int iommufd_fault_respond(int fault_fd, const struct iommu_hwpt_page_response *resp, size_t n,
			  size_t *ret_done);

/* --- VFIO device cdev (/dev/vfio/devices/vfioN) --- */
int vfio_device_bind_iommufd(int device_fd, int iommufd, uint32_t *ret_dev_id);
/*
 * Attach, or replace when already attached. *ret_pt_id (may be NULL) gets the
 * HWPT actually used.
 */
int vfio_device_attach_iommufd_pt(int device_fd, uint32_t pt_id, uint32_t *ret_pt_id);
int vfio_device_detach_iommufd_pt(int device_fd);
int vfio_device_attach_pasid(int device_fd, uint32_t pasid, uint32_t pt_id); /* 6.15+ */
int vfio_device_detach_pasid(int device_fd, uint32_t pasid);		     /* 6.15+ */
int vfio_device_get_info(int device_fd, struct vfio_device_info *ret);
int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info *ret);
int vfio_device_reset(int device_fd);
/* VFIO_DEVICE_GET_IRQ_INFO: how many interrupts index has (MSI-X: the table's size), and its flags. */
int vfio_device_get_irq_info(int device_fd, uint32_t index, uint32_t *ret_count,
			     uint32_t *ret_flags);
/*
 * VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER: interrupts start … start + n - 1 of
 * index signal the eventfds fds[0 … n - 1] (at most 32); n = 0 turns the
 * index off (DATA_NONE with count 0: MSI-X disabled again).
 */
int vfio_device_set_irq_eventfds(int device_fd, uint32_t index, uint32_t start,
				 const int32_t *fds, uint32_t n);

/* --- IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST) --- */
/* Creates a mock device attached to ioas_id. */
int iommufd_test_mock_domain(int fd, uint32_t ioas_id, uint32_t dev_flags, uint32_t *ret_stdev_id,
			     uint32_t *ret_hwpt_id, uint32_t *ret_idev_id);
int iommufd_test_mock_domain_replace(int fd, uint32_t stdev_id, uint32_t pt_id,
				     uint32_t *ret_pt_id);
/*
 * PASID attachments of a mock device created with MOCK_FLAGS_DEVICE_PASID
 * (6.15+). pt_id is an IOAS or a HWPT allocated with IOMMU_HWPT_ALLOC_PASID;
 * *ret_pt_id (may be NULL) gets the HWPT actually attached.
 */
int iommufd_test_pasid_attach(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id,
			      uint32_t *ret_pt_id);
int iommufd_test_pasid_replace(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id,
			       uint32_t *ret_pt_id);
int iommufd_test_pasid_detach(int fd, uint32_t stdev_id, uint32_t pasid);
/* 0 if pasid is attached to hwpt_id (0: to nothing); -EINVAL if it is not. */
int iommufd_test_pasid_check_hwpt(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t hwpt_id);
/* Injects a page request from the mock device dev_id (its idev id) into its fault queue. */
int iommufd_test_trigger_iopf(int fd, uint32_t dev_id, uint32_t pasid, uint32_t grpid,
			      uint32_t perm, uint64_t addr);

/*
 * Is this command implemented by the running kernel? Issues it with a zero
 * size, which a kernel that knows the command rejects with EINVAL (or
 * EOPNOTSUPP) before doing anything, and one that does not with ENOTTY.
 * 1 supported, 0 not, <0 other errors.
 */
int uapi_probe_iommufd_command(int fd, unsigned long request);

/*
 * Can this kernel attach PASIDs through the VFIO cdev (VFIO_DEVICE_ATTACH_PASID,
 * 6.15)? device_fd must be bound to an iommufd (VFIO_DEVICE_BIND_IOMMUFD):
 * before that every command is EINVAL. Asks to attach PASID 1 to object 0,
 * which never exists (iommufd ids start at 1), so nothing gets attached:
 * 6.6..6.14 refuse any flag with EINVAL, 6.15+ look the object up and
 * answer ENOENT.
 * 1 supported, 0 not, -EOPNOTSUPP when the kernel has it but the device's
 * VFIO driver does not (no pasid_attach_ioas), <0 other errors.
 */
int uapi_probe_vfio_pasid_attach(int device_fd);

/* "IOMMU_HWPT_ALLOC" etc. for messages; NULL when unknown. */
const char *uapi_request_name(unsigned long request);
/* "IOMMU_TEST_OP_MOCK_DOMAIN" etc. for messages; NULL when unknown. */
const char *uapi_test_op_name(uint32_t op);
