/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Typed wrappers for the iommufd, VFIO-cdev and IOMMU_TEST_CMD ioctls; see
 * iommufd-ioctl.h for the conventions. Each wrapper builds its command in a
 * zeroed structure on the stack, so that reserved fields and any tail a
 * newer kernel would read are zero, and sets size/argsz to the sizeof() this
 * build knows. No allocation and no locking: the replace wrappers are on the
 * workers' hot path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommufd-ioctl.h"

static int default_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

int (*uapi_ioctl_hook)(int fd, unsigned long request, void *arg) = default_ioctl;

static ssize_t default_read(int fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

static ssize_t default_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

ssize_t (*uapi_read_hook)(int fd, void *buf, size_t n) = default_read;
ssize_t (*uapi_write_hook)(int fd, const void *buf, size_t n) = default_write;

/* ioctl(2) convention → 0 or -errno. */
static int do_ioctl(int fd, unsigned long request, void *arg)
{
	if (uapi_ioctl_hook(fd, request, arg) < 0)
		/* A hook that fails without setting errno must not look like success. */
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static inline uint64_t ptr_to_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int iommufd_open(const char *path, int *ret_fd)
{
	int fd;

	if (!path || !ret_fd)
		return -EINVAL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int iommufd_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.id = id;
	return do_ioctl(fd, IOMMU_DESTROY, &cmd);
}

int iommufd_ioas_alloc(int fd, uint32_t *ret_ioas_id)
{
	struct iommu_ioas_alloc cmd;
	int r;

	if (!ret_ioas_id)
		return -EINVAL; /* an IOAS nobody knows the id of could never be destroyed */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	r = do_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (r < 0)
		return r;
	*ret_ioas_id = cmd.out_ioas_id;
	return 0;
}

int iommufd_ioas_map_fixed(int fd, uint32_t ioas_id, void *va, uint64_t length, uint64_t iova)
{
	struct iommu_ioas_map cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	cmd.ioas_id = ioas_id;
	cmd.user_va = ptr_to_u64(va);
	cmd.length = length;
	cmd.iova = iova;
	return do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

int iommufd_ioas_unmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.ioas_id = ioas_id;
	cmd.iova = iova;
	cmd.length = length;
	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

int iommufd_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t fault_id,
		       uint32_t data_type, const void *data, uint32_t data_len,
		       uint32_t *ret_hwpt_id)
{
	struct iommu_hwpt_alloc cmd;
	int r;

	if (!ret_hwpt_id || (data_len > 0 && !data))
		return -EINVAL;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = flags;
	cmd.dev_id = dev_id;
	cmd.pt_id = pt_id;
	cmd.data_type = data_type;
	cmd.data_len = data_len;
	cmd.data_uptr = ptr_to_u64(data);
	cmd.fault_id = fault_id;
	r = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (r < 0)
		return r;
	*ret_hwpt_id = cmd.out_hwpt_id;
	return 0;
}

int iommufd_get_hw_info(int fd, uint32_t dev_id, uint32_t *ret_type, void *data,
			uint32_t *inout_len, uint64_t *ret_capabilities,
			uint8_t *ret_max_pasid_log2)
{
	struct iommu_hw_info cmd;
	uint32_t len = inout_len ? *inout_len : 0;
	int r;

	if (len > 0 && !data)
		return -EINVAL;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.dev_id = dev_id;
	cmd.data_len = len;
	cmd.data_uptr = ptr_to_u64(len > 0 ? data : NULL);
	r = do_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
	if (r < 0)
		return r;
	/*
	 * The kernel answers with the length its driver has, which may exceed
	 * our buffer; it filled (and zero-padded) only what fits.
	 */
	if (inout_len)
		*inout_len = cmd.data_len < len ? cmd.data_len : len;
	if (ret_type)
		*ret_type = cmd.out_data_type;
	if (ret_capabilities)
		*ret_capabilities = cmd.out_capabilities;
	if (ret_max_pasid_log2)
		*ret_max_pasid_log2 = cmd.out_max_pasid_log2;
	return 0;
}

int iommufd_fault_queue_alloc(int fd, uint32_t *ret_fault_id, int *ret_fault_fd)
{
	struct iommu_fault_alloc cmd;
	int r;

	if (!ret_fault_id || !ret_fault_fd)
		return -EINVAL; /* both are needed to use the queue and to release it */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	r = do_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
	if (r < 0)
		return r;
	*ret_fault_id = cmd.out_fault_id;
	*ret_fault_fd = (int)cmd.out_fault_fd;
	return 0;
}

int iommufd_fault_read(int fault_fd, struct iommu_hwpt_pgfault *recs, size_t max, size_t *ret_n)
{
	ssize_t n;

	if (!ret_n || (max > 0 && !recs))
		return -EINVAL;
	*ret_n = 0;
	if (max == 0)
		return 0;
	do
		n = uapi_read_hook(fault_fd, recs, max * sizeof(*recs));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : (errno > 0 ? -errno : -EIO);
	/* The kernel copies whole records; anything else is not a fault queue. */
	if ((size_t)n % sizeof(*recs) != 0 || (size_t)n > max * sizeof(*recs))
		return -EIO;
	*ret_n = (size_t)n / sizeof(*recs);
	return 0;
}

int iommufd_fault_respond(int fault_fd, const struct iommu_hwpt_page_response *resp, size_t n,
			  size_t *ret_done)
{
	size_t done = 0;
	ssize_t w;

	if (!ret_done || (n > 0 && !resp))
		return -EINVAL;
	while (done < n) {
		w = uapi_write_hook(fault_fd, resp + done, (n - done) * sizeof(*resp));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			*ret_done = done;
			return errno > 0 ? -errno : -EIO;
		}
		/*
		 * A short count means the kernel refused the next response;
		 * writing from there again makes it say why.
		 */
		if (w == 0 || (size_t)w % sizeof(*resp) != 0 ||
		    (size_t)w > (n - done) * sizeof(*resp)) {
			*ret_done = done;
			return -EIO;
		}
		done += (size_t)w / sizeof(*resp);
	}
	*ret_done = done;
	return 0;
}

int vfio_device_bind_iommufd(int device_fd, int iommufd, uint32_t *ret_dev_id)
{
	struct vfio_device_bind_iommufd cmd;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.iommufd = iommufd;
	r = do_ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &cmd);
	if (r < 0)
		return r;
	if (ret_dev_id)
		*ret_dev_id = cmd.out_devid;
	return 0;
}

int vfio_device_attach_iommufd_pt(int device_fd, uint32_t pt_id, uint32_t *ret_pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.pt_id = pt_id;
	r = do_ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
	if (r < 0)
		return r;
	if (ret_pt_id)
		*ret_pt_id = cmd.pt_id;
	return 0;
}

int vfio_device_detach_iommufd_pt(int device_fd)
{
	struct vfio_device_detach_iommufd_pt cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	return do_ioctl(device_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
}

int vfio_device_attach_pasid(int device_fd, uint32_t pasid, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.flags = VFIO_DEVICE_ATTACH_PASID;
	cmd.pt_id = pt_id;
	cmd.pasid = pasid;
	return do_ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
}

int vfio_device_detach_pasid(int device_fd, uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.flags = VFIO_DEVICE_DETACH_PASID;
	cmd.pasid = pasid;
	return do_ioctl(device_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
}

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret)
{
	struct vfio_device_info cmd;
	int r;

	if (!ret)
		return -EINVAL;
	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	r = do_ioctl(device_fd, VFIO_DEVICE_GET_INFO, &cmd);
	if (r < 0)
		return r;
	*ret = cmd;
	return 0;
}

int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info *ret)
{
	struct vfio_region_info cmd;
	int r;

	if (!ret)
		return -EINVAL;
	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.index = index;
	r = do_ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &cmd);
	if (r < 0)
		return r;
	*ret = cmd;
	return 0;
}

int vfio_device_reset(int device_fd)
{
	/* The one command without an argument structure. */
	return do_ioctl(device_fd, VFIO_DEVICE_RESET, NULL);
}

int vfio_device_get_irq_info(int device_fd, uint32_t index, uint32_t *ret_count,
			     uint32_t *ret_flags)
{
	struct vfio_irq_info cmd;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.index = index;
	r = do_ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, &cmd);
	if (r < 0)
		return r;
	if (ret_count)
		*ret_count = cmd.count;
	if (ret_flags)
		*ret_flags = cmd.flags;
	return 0;
}

int vfio_device_set_irq_eventfds(int device_fd, uint32_t index, uint32_t start,
				 const int32_t *fds, uint32_t n)
{
	enum { MAX_FDS = 32 };
	_Alignas(struct vfio_irq_set) uint8_t buf[sizeof(struct vfio_irq_set) + MAX_FDS * sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	if (n > MAX_FDS || (n > 0 && !fds))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	/* The kernel reads argsz bytes: exactly the header and the n descriptors. */
	set->argsz = (uint32_t)(sizeof(*set) + n * sizeof(int32_t));
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		     (n > 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set->index = index;
	set->start = n > 0 ? start : 0;
	set->count = n;
	if (n > 0)
		memcpy(set->data, fds, n * sizeof(int32_t));
	return do_ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set);
}

/* A zeroed IOMMU_TEST_CMD for op on object id. */
static void test_cmd_init(struct iommu_test_cmd *cmd, uint32_t op, uint32_t id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->size = sizeof(*cmd);
	cmd->op = op;
	cmd->id = id;
}

int iommufd_test_mock_domain(int fd, uint32_t ioas_id, uint32_t dev_flags, uint32_t *ret_stdev_id,
			     uint32_t *ret_hwpt_id, uint32_t *ret_idev_id)
{
	struct iommu_test_cmd cmd;
	int r;

	if (!ret_stdev_id)
		return -EINVAL; /* the only handle that destroys the mock device */

	/*
	 * The plain op where no flags are asked for: MOCK_DOMAIN_FLAGS only
	 * exists from 6.7, and both answer in the same fields.
	 */
	test_cmd_init(&cmd, dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
		      ioas_id);
	cmd.mock_domain_flags.dev_flags = dev_flags;
	r = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (r < 0)
		return r;
	*ret_stdev_id = cmd.mock_domain.out_stdev_id;
	if (ret_hwpt_id)
		*ret_hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (ret_idev_id)
		*ret_idev_id = cmd.mock_domain.out_idev_id;
	return 0;
}

int iommufd_test_mock_domain_replace(int fd, uint32_t stdev_id, uint32_t pt_id, uint32_t *ret_pt_id)
{
	struct iommu_test_cmd cmd;
	int r;

	test_cmd_init(&cmd, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev_id);
	cmd.mock_domain_replace.pt_id = pt_id;
	r = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (r < 0)
		return r;
	if (ret_pt_id)
		*ret_pt_id = cmd.mock_domain_replace.pt_id;
	return 0;
}

static int test_pasid_attach_op(int fd, uint32_t op, uint32_t stdev_id, uint32_t pasid,
				uint32_t pt_id, uint32_t *ret_pt_id)
{
	struct iommu_test_cmd cmd;
	int r;

	test_cmd_init(&cmd, op, stdev_id);
	cmd.pasid_attach.pasid = pasid;
	cmd.pasid_attach.pt_id = pt_id;
	r = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (r < 0)
		return r;
	if (ret_pt_id)
		*ret_pt_id = cmd.pasid_attach.pt_id;
	return 0;
}

int iommufd_test_pasid_attach(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id,
			      uint32_t *ret_pt_id)
{
	return test_pasid_attach_op(fd, IOMMU_TEST_OP_PASID_ATTACH, stdev_id, pasid, pt_id,
				    ret_pt_id);
}

int iommufd_test_pasid_replace(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id,
			       uint32_t *ret_pt_id)
{
	return test_pasid_attach_op(fd, IOMMU_TEST_OP_PASID_REPLACE, stdev_id, pasid, pt_id,
				    ret_pt_id);
}

int iommufd_test_pasid_detach(int fd, uint32_t stdev_id, uint32_t pasid)
{
	struct iommu_test_cmd cmd;

	test_cmd_init(&cmd, IOMMU_TEST_OP_PASID_DETACH, stdev_id);
	cmd.pasid_detach.pasid = pasid;
	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int iommufd_test_pasid_check_hwpt(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t hwpt_id)
{
	struct iommu_test_cmd cmd;

	test_cmd_init(&cmd, IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev_id);
	cmd.pasid_check.pasid = pasid;
	cmd.pasid_check.hwpt_id = hwpt_id;
	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int iommufd_test_trigger_iopf(int fd, uint32_t dev_id, uint32_t pasid, uint32_t grpid,
			      uint32_t perm, uint64_t addr)
{
	struct iommu_test_cmd cmd;

	test_cmd_init(&cmd, IOMMU_TEST_OP_TRIGGER_IOPF, 0);
	cmd.trigger_iopf.dev_id = dev_id;
	cmd.trigger_iopf.pasid = pasid;
	cmd.trigger_iopf.grpid = grpid;
	cmd.trigger_iopf.perm = perm;
	cmd.trigger_iopf.addr = addr;
	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int uapi_probe_iommufd_command(int fd, unsigned long request)
{
	/*
	 * size/argsz 0 in a zeroed buffer larger than any command's fixed
	 * part: iommufd reads only the size word before rejecting it, VFIO
	 * copies its minimum structure first and then checks argsz.
	 */
	uint64_t buf[32];
	int r;

	memset(buf, 0, sizeof(buf));
	r = do_ioctl(fd, request, buf);
	switch (r) {
	case -ENOTTY:
		return 0;
	case 0: /* nothing takes a zero size; but a kernel that ran it knows it */
	case -EINVAL:
	case -EOPNOTSUPP:
		return 1;
	default:
		return r;
	}
}

int uapi_probe_vfio_pasid_attach(int device_fd)
{
	struct vfio_device_attach_iommufd_pt cmd;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argsz = sizeof(cmd);
	cmd.flags = VFIO_DEVICE_ATTACH_PASID;
	cmd.pasid = 1;
	cmd.pt_id = 0; /* no such object: the lookup fails before anything is attached */
	r = do_ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
	switch (r) {
	case -ENOENT:
		return 1;
	case -EINVAL:
		/* vfio_df_ioctl_attach_pt() before 6.15: "if (attach.flags) return -EINVAL" */
		return 0;
	case 0:
		/* No kernel attaches object 0; one that claims it did gets it undone. */
		(void)vfio_device_detach_pasid(device_fd, 1);
		return 1;
	default:
		return r;
	}
}

const char *uapi_request_name(unsigned long request)
{
	switch (request) {
	case IOMMU_DESTROY:
		return "IOMMU_DESTROY";
	case IOMMU_IOAS_ALLOC:
		return "IOMMU_IOAS_ALLOC";
	case IOMMU_IOAS_MAP:
		return "IOMMU_IOAS_MAP";
	case IOMMU_IOAS_UNMAP:
		return "IOMMU_IOAS_UNMAP";
	case IOMMU_HWPT_ALLOC:
		return "IOMMU_HWPT_ALLOC";
	case IOMMU_GET_HW_INFO:
		return "IOMMU_GET_HW_INFO";
	case IOMMU_FAULT_QUEUE_ALLOC:
		return "IOMMU_FAULT_QUEUE_ALLOC";
	case IOMMU_TEST_CMD:
		return "IOMMU_TEST_CMD";
	case VFIO_DEVICE_GET_INFO:
		return "VFIO_DEVICE_GET_INFO";
	case VFIO_DEVICE_GET_REGION_INFO:
		return "VFIO_DEVICE_GET_REGION_INFO";
	case VFIO_DEVICE_RESET:
		return "VFIO_DEVICE_RESET";
	case VFIO_DEVICE_GET_IRQ_INFO:
		return "VFIO_DEVICE_GET_IRQ_INFO";
	case VFIO_DEVICE_SET_IRQS:
		return "VFIO_DEVICE_SET_IRQS";
	case VFIO_DEVICE_BIND_IOMMUFD:
		return "VFIO_DEVICE_BIND_IOMMUFD";
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return "VFIO_DEVICE_DETACH_IOMMUFD_PT";
	default:
		return NULL;
	}
}

const char *uapi_test_op_name(uint32_t op)
{
	switch (op) {
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return "IOMMU_TEST_OP_MOCK_DOMAIN";
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE";
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return "IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS";
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return "IOMMU_TEST_OP_TRIGGER_IOPF";
	case IOMMU_TEST_OP_PASID_ATTACH:
		return "IOMMU_TEST_OP_PASID_ATTACH";
	case IOMMU_TEST_OP_PASID_REPLACE:
		return "IOMMU_TEST_OP_PASID_REPLACE";
	case IOMMU_TEST_OP_PASID_DETACH:
		return "IOMMU_TEST_OP_PASID_DETACH";
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return "IOMMU_TEST_OP_PASID_CHECK_HWPT";
	default:
		return NULL;
	}
}
