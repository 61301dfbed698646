/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio backend against a fake kernel: the common fake iommufd
 * (fakes/fake-iommufd.h: IOAS/HWPT objects with the kernel's reference
 * rules, attach/replace/detach, GET_HW_INFO) with the VFIO cdev on top
 * (bind, attach/detach of the RID and PASIDs, region info), a fake sysfs
 * tree plays sysfs, and a thread plays QEMU's edu device on the BAR (the
 * cdev file, mapped shared), translating its DMA through whatever HWPT is
 * attached.
 *
 * The fake plays a 7.2 kernel by default (PASID attach with iommufd's PASID
 * compatibility rules, max_pasid_log2, PCI config space in the fake sysfs)
 * and a 6.12 one on request.
 *
 * Checked: probe and listing, device_info, the ioctl sequence of a run, that
 * every object, fd and binding is released after teardown on every failure
 * path of setup, ENODEV from replace, PASID points (each refusal in words,
 * before anything is attached; attach, concurrent replace and detach; PASIDs
 * detached before the RID), and the traffic engine: exact counters,
 * verified data, faults with the right reason, access, address and
 * replacement-window attribution, device removal, timeouts. The edu driver
 * and the data pattern are also tested on their own, over a plain memory BAR.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "fakes/fake-iommufd.h"
#include "fakes/fake-nvme.h"
#include "fakes/fake-sysfs.h"
#include "core/fault.h"
#include "iommufd-ioctl.h"
#include "core/scenario.h"
#include "json.h"
#include "macro.h"
#include "parse-util.h"
#include "backends/vfio/dma-engine.h"

#define EDU	 "0000:00:03.0"
#define BAR_SIZE (UINT64_C(1) << 20)
#define CFG_OFF	 BAR_SIZE
#define DEV_ID	 0x47u
#define IOVA	 UINT64_C(0x100000)
#define MAP_SIZE UINT64_C(65536)
#define VTD_CAP	 UINT64_C(0x89d2078c226f0692)
#define VTD_ECAP UINT64_C(0x0003ef9ee4f050df)

DEFINE_TRIVIAL_CLEANUP_FUNC(Scenario *, scenario_free);

/* ---------------- the fake kernel ---------------- */

/*
 * iommufd's objects, the device's attachments and GET_HW_INFO are the
 * common fake's (fakes/fake-iommufd.h); this adds the VFIO cdev on top: the
 * bind, attach/detach of the RID and of PASIDs as vfio_df_ioctl_attach_pt()
 * and vfio_iommufd_physical_pasid_attach_ioas() have them, SET_IRQS for the
 * request eventfd and the edu's regions.
 */

#define MAX_OPS		 64
#define PCI_EXT_PASID_AT 0x148 /* behind an AER capability at 0x100, as real devices have it */

static FakeIommufd *const fk = &fake_iommufd;

static struct {
	char cdev_dir[PATH_MAX];
	int bound_fd;	   /* the cdev fd bound to the iommufd, -1 none */
	int replace_errno; /* attach while attached fails with this */
	int req_fd;	   /* the eventfd registered for VFIO_PCI_REQ_IRQ_INDEX */
	int msix_fd;	   /* the eventfd of MSI-X vector 0, -1 while MSI-X is off */
	unsigned msix_count; /* what GET_IRQ_INFO says of MSI-X; a test sets 0 for none */
	unsigned msix_signals; /* interrupts delivered to msix_fd */

	/* PASIDs, as 7.2 has them (fk->pasid_abi: ≥ 6.15, else any VFIO attach flag is EINVAL) */
	bool pasid_no_ops;     /* a VFIO driver without pasid_attach_ioas: EOPNOTSUPP */
	int pasid_errno;       /* a PASID attach (not the probe's) fails with this */
	char ops[MAX_OPS][16]; /* attach/detach in order: "A:RID", "A:5", "D:5", "D:RID" */
	unsigned n_ops;
} K;

static bool is_cdev(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	return strncmp(target, K.cdev_dir, strlen(K.cdev_dir)) == 0;
}

/* Closing the cdev unbinds: the fake cannot see close(2), so it looks. */
static bool fake_bound(void)
{
	if (K.bound_fd >= 0 && !is_cdev(K.bound_fd)) {
		K.bound_fd = -1;
		fake_iommufd_unbind();
	}
	return K.bound_fd >= 0;
}

static void op_log(const char *what, uint32_t pasid)
{
	if (K.n_ops == MAX_OPS)
		return;
	if (pasid == ATTACH_POINT_RID)
		snprintf(K.ops[K.n_ops++], sizeof(K.ops[0]), "%s:RID", what);
	else
		snprintf(K.ops[K.n_ops++], sizeof(K.ops[0]), "%s:%u", what, pasid);
}

static unsigned live_objects(void)
{
	unsigned n;

	fake_iommufd_lock();
	n = fake_iommufd_count(FAKE_OBJ_ANY);
	fake_iommufd_unlock();
	return n;
}

/* What the backend sends iommufd: exactly our structures, maps as setup makes them. */
static void check_iommu_cmd(unsigned long req, const void *arg)
{
	uint32_t size = *(const uint32_t *)arg;

	/* uapi_probe_iommufd_command() asks with size 0, which the common fake refuses. */
	if (size == 0)
		return;
	switch (req) {
	case IOMMU_IOAS_ALLOC:
		ck_assert_uint_eq(size, sizeof(struct iommu_ioas_alloc));
		break;
	case IOMMU_IOAS_MAP: {
		const struct iommu_ioas_map *c = arg;

		ck_assert_uint_eq(c->size, sizeof(*c));
		ck_assert_uint_eq(c->flags, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
						    IOMMU_IOAS_MAP_WRITEABLE);
		break;
	}
	case IOMMU_HWPT_ALLOC:
		ck_assert_uint_eq(size, sizeof(struct iommu_hwpt_alloc));
		break;
	case IOMMU_DESTROY:
		ck_assert_uint_eq(size, sizeof(struct iommu_destroy));
		break;
	case IOMMU_GET_HW_INFO:
		ck_assert_uint_eq(size, sizeof(struct iommu_hw_info));
		break;
	}
}

/* vfio_iommufd_physical_pasid_attach_ioas() down to iommu_attach_device_pasid(), as in 7.2. */
static int fake_attach_pasid(uint32_t pasid, uint32_t pt_id)
{
	bool attached = fake_iommufd_pasid_hwpt(pasid) != 0;
	int r;

	if (!fake_iommufd_obj(pt_id, FAKE_OBJ_HWPT))
		return -ENOENT; /* iommufd_get_object() */
	if (K.pasid_errno)
		return -K.pasid_errno;
	/* 7.2 replaces an attached PASID; the PASID compatibility rules are the common fake's. */
	r = attached ? fake_iommufd_pasid_replace(pasid, pt_id)
		     : fake_iommufd_pasid_attach(pasid, pt_id);
	if (r == 0 && !attached)
		op_log("A", pasid);
	return r;
}

static int fake_vfio_cmd(int fd, unsigned long req, void *arg)
{
	uint32_t argsz = *(uint32_t *)arg;

	if (req != VFIO_DEVICE_BIND_IOMMUFD && (!fake_bound() || K.bound_fd != fd))
		return -EINVAL; /* access is granted by the bind */

	switch (req) {
	case VFIO_DEVICE_BIND_IOMMUFD: {
		struct vfio_device_bind_iommufd *c = arg;
		int r;

		ck_assert_uint_ge(argsz, sizeof(*c));
		if (fake_bound() || c->flags || !fake_iommufd_is_iommufd(c->iommufd))
			return -EINVAL;
		r = fake_iommufd_bind(DEV_ID, &c->out_devid);
		if (r < 0)
			return r;
		K.bound_fd = fd;
		return 0;
	}
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct vfio_device_attach_iommufd_pt *c = arg;
		bool was = fk->attached != 0;
		int r;

		ck_assert_uint_ge(argsz, 12);
		/* vfio_df_ioctl_attach_pt(): 6.12 has "if (attach.flags) return -EINVAL" */
		if (c->flags & ~(fk->pasid_abi ? VFIO_DEVICE_ATTACH_PASID : 0u))
			return -EINVAL;
		if (c->flags) {
			if (K.pasid_no_ops)
				return -EOPNOTSUPP;
			if (argsz < 16)
				return -EINVAL;
			return fake_attach_pasid(c->pasid, c->pt_id);
		}
		if (!fake_iommufd_obj(c->pt_id, FAKE_OBJ_HWPT))
			return -EINVAL;
		if (was && K.replace_errno)
			return -K.replace_errno;
		r = fake_iommufd_attach(c->pt_id, NULL);
		if (r == 0 && !was)
			op_log("A", ATTACH_POINT_RID);
		return r;
	}
	case VFIO_DEVICE_DETACH_IOMMUFD_PT: {
		struct vfio_device_detach_iommufd_pt *c = arg;

		ck_assert_uint_ge(argsz, 8);
		if (c->flags & ~(fk->pasid_abi ? VFIO_DEVICE_DETACH_PASID : 0u))
			return -EINVAL;
		if (c->flags) {
			if (K.pasid_no_ops)
				return -EOPNOTSUPP;
			if (argsz < 12)
				return -EINVAL;
			/* pasid_detach_ioas(): void, unknown PASIDs ignored */
			if (fake_iommufd_pasid_detach(c->pasid))
				op_log("D", c->pasid);
			return 0;
		}
		if (K.replace_errno == ENODEV)
			return -ENODEV; /* the device is gone for every command */
		if (fk->attached)
			op_log("D", ATTACH_POINT_RID);
		fake_iommufd_detach();
		return 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *c = arg;

		ck_assert_uint_eq(argsz, sizeof(*c));
		if (c->index != VFIO_PCI_MSIX_IRQ_INDEX)
			return -EINVAL;
		c->count = K.msix_count;
		c->flags = K.msix_count ? VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE : 0;
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set *c = arg;
		int32_t efd;

		if (c->index == VFIO_PCI_MSIX_IRQ_INDEX) {
			/* Vector 0 to an eventfd, or everything off (DATA_NONE, count 0). */
			if (c->flags == (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER) && c->count == 0) {
				ck_assert_uint_eq(argsz, sizeof(*c));
				__atomic_store_n(&K.msix_fd, -1, __ATOMIC_RELEASE);
				return 0;
			}
			ck_assert_uint_eq(argsz, sizeof(*c) + sizeof(int32_t));
			if (c->start != 0 || c->count != 1 || K.msix_count == 0 ||
			    c->flags != (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER))
				return -EINVAL;
			memcpy(&efd, c->data, sizeof(efd));
			__atomic_store_n(&K.msix_fd, efd, __ATOMIC_RELEASE);
			return 0;
		}
		ck_assert_uint_eq(argsz, sizeof(*c) + sizeof(int32_t));
		if (c->index != VFIO_PCI_REQ_IRQ_INDEX || c->start != 0 || c->count != 1 ||
		    c->flags != (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER))
			return -EINVAL;
		memcpy(&efd, c->data, sizeof(efd));
		K.req_fd = efd;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info *c = arg;

		ck_assert_uint_ge(argsz, sizeof(*c));
		if (c->index == VFIO_PCI_BAR0_REGION_INDEX) {
			c->offset = 0;
			c->size = BAR_SIZE;
			c->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				   VFIO_REGION_INFO_FLAG_MMAP;
		} else if (c->index == VFIO_PCI_CONFIG_REGION_INDEX) {
			c->offset = CFG_OFF;
			c->size = 256;
			c->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		} else
			return -EINVAL;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	/* Every call looks, so that an iommufd command never sees a binding that is gone. */
	(void)fake_bound();
	if (is_cdev(fd))
		return fake_vfio_cmd(fd, req, arg);
	if (fake_iommufd_is_iommufd(fd))
		check_iommu_cmd(req, arg);
	return FAKE_IOMMUFD_PASS;
}

static const FakeIommufdOps vfio_ops = {
	.ioctl = fake_ioctl,
};

/* The device's view: IOVA → host memory through the attached HWPT; NULL is a fault. */
static uint8_t *fake_translate(uint64_t iova, uint32_t len)
{
	if (!fake_bound())
		return NULL;
	return fake_iommufd_translate(iova, len);
}

/* ---------------- the fake edu device ---------------- */

typedef struct FakeEdu {
	volatile uint8_t *bar;
	pthread_t thread;
	bool running;
	bool stop, paused, removed;
	bool identity; /* IOVA = address in ram (the engine-only tests) */
	uint8_t *ram;
	uint64_t ram_iova;
	size_t ram_size;
	uint8_t buffer[4096];
	uint64_t dmas, faults, range_errors;
} FakeEdu;

#define REG32(e, r) (*(volatile uint32_t *)((e)->bar + (r)))
#define REG64(e, r) (*(volatile uint64_t *)((e)->bar + (r)))

static uint8_t *edu_translate(FakeEdu *e, uint64_t iova, uint32_t len)
{
	if (e->identity)
		return iova >= e->ram_iova && iova + len <= e->ram_iova + e->ram_size
			       ? e->ram + (iova - e->ram_iova)
			       : NULL;
	return fake_translate(iova, len);
}

/* What hw/misc/edu.c does on its DMA timer; IOMMU faults are ignored as QEMU does. */
static void edu_do_dma(FakeEdu *e, uint64_t cmd)
{
	uint64_t src = REG64(e, 0x80), dst = REG64(e, 0x88), cnt = REG64(e, 0x90);
	bool to_ram = cmd & 2;
	uint64_t dev = to_ram ? src : dst, ram = to_ram ? dst : src;
	uint8_t *p;

	/* QEMU aborts the VM here; the test just counts it. */
	if (dev < 0x40000 || dev + cnt > 0x40000 + 4096 || cnt == 0 || cnt > 2048) {
		__atomic_add_fetch(&e->range_errors, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!e->identity)
		fake_iommufd_lock();
	p = edu_translate(e, ram, (uint32_t)cnt);
	if (!p) {
		__atomic_add_fetch(&e->faults, 1, __ATOMIC_RELAXED);
		if (!to_ram)
			memset(e->buffer + (dev - 0x40000), 0, cnt);
	} else if (to_ram)
		memcpy(p, e->buffer + (dev - 0x40000), cnt);
	else
		memcpy(e->buffer + (dev - 0x40000), p, cnt);
	if (!e->identity)
		fake_iommufd_unlock();
	__atomic_add_fetch(&e->dmas, 1, __ATOMIC_RELAXED);
}

static void *edu_main(void *userdata)
{
	FakeEdu *e = userdata;
	uint32_t last_live = 0;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		uint64_t cmd;
		uint32_t live;

		if (__atomic_load_n(&e->removed, __ATOMIC_ACQUIRE)) {
			/* Surprise removal: every register reads all ones. */
			REG32(e, 0x00) = UINT32_MAX;
			REG64(e, 0x98) = UINT64_MAX;
			usleep(100);
			continue;
		}
		live = REG32(e, 0x04);
		if (live != last_live) {
			last_live = ~live;
			REG32(e, 0x04) = last_live;
		}
		cmd = REG64(e, 0x98);
		if ((cmd & 1) && !__atomic_load_n(&e->paused, __ATOMIC_ACQUIRE)) {
			edu_do_dma(e, cmd);
			REG64(e, 0x98) = cmd & ~UINT64_C(1);
		}
		usleep(20);
	}
	return NULL;
}

static void edu_start(FakeEdu *e, volatile uint8_t *bar)
{
	e->bar = bar;
	REG32(e, 0x00) = 0x010000ed;
	e->stop = false;
	ck_assert_int_eq(pthread_create(&e->thread, NULL, edu_main, e), 0);
	e->running = true;
}

static void edu_stop(FakeEdu *e)
{
	if (!e->running)
		return;
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	pthread_join(e->thread, NULL);
	e->running = false;
}

/* ---------------- fixture ---------------- */

static FakeSysfs *fs;
static FakeEdu edu;
static uint8_t *cdev_map;
static FaultSink *sink;
#define MAX_APS 16
static AttachPointState *aps;
static unsigned fds_before;

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The IOMMU enabled PASIDs of this width for the device, 0: none (IOMMU_GET_HW_INFO). */
static void iommu_pasids(uint8_t max_pasid_log2)
{
	fk->hw_info.max_pasid_log2 = max_pasid_log2;
	fk->hw_info.capabilities = max_pasid_log2 ? IOMMU_HW_CAP_PCI_PASID_EXEC : 0;
}

/* A 7.2 kernel on VT-d, with nothing bound: every setup failure path starts from here. */
static void k_reset(void)
{
	const struct iommu_hw_info_vtd vtd = {
		.cap_reg = VTD_CAP,
		.ecap_reg = VTD_ECAP,
	};

	fake_iommufd_reset();
	fake_iommufd_lock();
	fk->fail.error = EIO;
	fk->pasid_abi = true;
	fk->hw_info.type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	memcpy(fk->hw_info.data, &vtd, sizeof(vtd));
	fk->hw_info.data_len = sizeof(vtd);
	iommu_pasids(0);
	K = (typeof(K)){.bound_fd = -1, .req_fd = -1, .msix_fd = -1, .msix_count = 16};
	/* /proc/self/fd shows canonical paths: TMPDIR may be a symlink. */
	ck_assert_ptr_nonnull(realpath(fs->dev_iommu, fk->dev_iommu));
	ck_assert_ptr_nonnull(realpath(fs->dev_vfio, K.cdev_dir));
	strcat(K.cdev_dir, "/devices/");
	fake_iommufd_unlock();
}

static void map_cdev(void)
{
	char path[PATH_MAX];
	int fd;

	fake_path(path, sizeof(path), "%s/devices/vfio0", fs->dev_vfio);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	cdev_map = mmap(NULL, FAKE_CDEV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert(cdev_map != MAP_FAILED);
}

/* The device at 00:03.0 on vfio-pci, the fake kernel, the sink and the points: all but the device model. */
static void setup_device(unsigned vendor, unsigned device, unsigned class)
{
	fs = fake_sysfs_new(true);
	fake_add_device(fs, EDU, vendor, device, class, "vfio-pci", "3", true);
	fake_sysfs_start(fs);
	fake_iommufd_install(&vfio_ops);
	k_reset();
	map_cdev();
	ck_assert_int_eq(fault_sink_new(&sink, 1024), 0);
	aps = aligned_alloc(CACHELINE, MAX_APS * sizeof(AttachPointState));
	memset(aps, 0, MAX_APS * sizeof(AttachPointState));
	aps[0].pasid = ATTACH_POINT_RID;
}

static void teardown_device(void)
{
	munmap(cdev_map, FAKE_CDEV_SIZE);
	fault_sink_free(sink);
	free(aps);
	fake_sysfs_free(fs);
	fake_iommufd_uninstall();
}

static void setup(void)
{
	setup_device(0x1234, 0x11e8, 0x00ff00);
	memset(&edu, 0, sizeof(edu));
	edu_start(&edu, cdev_map);
	fds_before = count_fds();
}

static void teardown(void)
{
	edu_stop(&edu);
	teardown_device();
}

static Scenario *scenario(const char *extra)
{
	_cleanup_free_ char *text = NULL, *error = NULL;
	Scenario *s = NULL;

	ck_assert_int_ge(asprintf(&text, "[Scenario]\nBackend=vfio\nDevice=00:03.0\n%s", extra), 0);
	ck_assert_msg(scenario_parse(text, "test.conf", NULL, &s, &error) == 0, "%s", error);
	return s;
}

static int do_setup(const Scenario *s, void **ctx, char **error)
{
	BackendSetup bs = {
		.env = &fs->env,
		.scenario = s,
		.sink = sink,
		.aps = aps,
		.n_aps = s->n_points,
	};

	/* As the run engine fills them in. */
	ck_assert_uint_le(s->n_points, MAX_APS);
	for (size_t i = 0; i < s->n_points; i++) {
		aps[i].pasid = s->points[i];
		aps[i].index = (uint32_t)i;
	}
	return backend_vfio.setup(&bs, ctx, error);
}

/* Everything the backend took is back: objects, fds, binding, attachment. */
static void assert_released(void)
{
	ck_assert_uint_eq(live_objects(), 0);
	ck_assert_uint_eq(count_fds(), fds_before);
	fake_iommufd_lock();
	ck_assert(!fake_bound());
	ck_assert_uint_eq(fk->attached, 0);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 0);
	fake_iommufd_unlock();
}

static uint16_t config_command(void)
{
	return *(volatile uint16_t *)(cdev_map + CFG_OFF + 4);
}

/* ---------------- probe, list, device_info ---------------- */

START_TEST(test_probe)
{
	_cleanup_free_ char *reason = NULL;
	char path[PATH_MAX];

	ck_assert_int_eq(backend_vfio.probe(&fs->env, &reason), 0);
	ck_assert_ptr_null(reason);
	ck_assert_int_eq(backend_vfio.probe(&fs->env, NULL), 0);

	fk->no_hwpt_alloc = true;
	ck_assert_int_eq(backend_vfio.probe(&fs->env, &reason), -EOPNOTSUPP);
	ck_assert_str_eq(reason, "iommufd in this kernel has no IOMMU_HWPT_ALLOC: the vfio backend "
				 "needs Linux ≥ 6.6");
	reason = mfree(reason);
	fk->no_hwpt_alloc = false;

	fake_path(path, sizeof(path), "%s/class/vfio-dev", fs->sys);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(backend_vfio.probe(&fs->env, &reason), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(reason, "kernel without CONFIG_VFIO_DEVICE_CDEV"));
	reason = mfree(reason);

	ck_assert_int_eq(unlink(fs->dev_iommu), 0);
	ck_assert_int_eq(backend_vfio.probe(&fs->env, &reason), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(reason, "kernel without CONFIG_IOMMUFD"));
}
END_TEST

START_TEST(test_list_devices)
{
	BackendDevice *devs = NULL;
	size_t n = 0;

	fake_add_device(fs, "0000:00:02.0", 0x8086, 0x10d3, 0x020000, "e1000e", "2", false);
	fake_add_device(fs, "0000:00:1f.0", 0x8086, 0x2918, 0x060100, "lpc_ich", NULL, false);
	ck_assert_int_eq(backend_vfio.list_devices(&fs->env, &devs, &n), 0);
	/* The device without an IOMMU group is not offered. */
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(devs[0].id, "0000:00:02.0");
	ck_assert_str_eq(devs[0].description, "PCI 8086:10d3 class 020000");
	ck_assert_str_eq(devs[0].driver, "e1000e");
	ck_assert_str_eq(devs[0].state, "bindable");
	ck_assert_str_eq(devs[1].id, EDU);
	ck_assert_str_eq(devs[1].description, "QEMU edu (1234:11e8)");
	ck_assert_str_eq(devs[1].driver, "vfio-pci");
	ck_assert_str_eq(devs[1].state, "ready");
	for (size_t i = 0; i < n; i++)
		backend_device_clear(&devs[i]);
	free(devs);
}
END_TEST

static char *device_info(const char *id, int *ret)
{
	_cleanup_free_ char *error = NULL;
	JsonWriter j;
	char *text;

	json_init(&j);
	json_object_begin(&j, NULL);
	*ret = backend_vfio.device_info(&fs->env, id, &j, &error);
	if (*ret < 0)
		json_string(&j, "error", error);
	json_object_end(&j);
	text = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(test_device_info)
{
	_cleanup_free_ char *text = NULL, *other = NULL, *missing = NULL;
	int r;

	text = device_info(EDU, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_nonnull(strstr(text, "\"bdf\":\"0000:00:03.0\",\"vendor\":\"0x1234\","
					   "\"device\":\"0x11e8\",\"class\":\"0x00ff00\","
					   "\"driver\":\"vfio-pci\",\"iommu_group\":\"3\""));
	ck_assert_ptr_nonnull(strstr(text, "\"state\":\"ready\",\"dma_engine\":\"edu\""));
	/* No readable config file in the fake: PASID support unknown. */
	ck_assert_ptr_nonnull(strstr(text, "\"pasid\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"hw_info\":{\"type\":\"intel-vtd\",\"type_id\":1,"
					   "\"capabilities\":[],\"capabilities_raw\":0,"
					   "\"max_pasid_log2\":0,\"vtd\":{\"flags\":0,"));
	ck_assert_ptr_nonnull(strstr(text, "\"cap_reg\":\"0x89d2078c226f0692\""));
	ck_assert_ptr_nonnull(strstr(text, "\"pasid_bits\":20"));
	/* The short-lived bind is gone again. */
	assert_released();

	fake_add_device(fs, "0000:00:02.0", 0x8086, 0x10d3, 0x020000, "e1000e", "2", false);
	other = device_info("0000:00:02.0", &r);
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_nonnull(strstr(other, "\"dma_engine\":null"));
	ck_assert_ptr_nonnull(strstr(
		other, "\"hw_info\":null,\"hw_info_unavailable\":\"0000:00:02.0 is bound to "
		       "e1000e, not vfio-pci; set Bind=yes in [Scenario] or bind it yourself\""));

	missing = device_info("0000:00:09.0", &r);
	ck_assert_int_eq(r, -ENODEV);
	ck_assert_ptr_nonnull(strstr(missing, "\"error\":\"no PCI device 0000:00:09.0"));
}
END_TEST

/* ---------------- setup, attach, replace, detach, teardown ---------------- */

START_TEST(test_lifecycle)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nCount=3\n[Traffic]\nEnable=no\n");
	_cleanup_free_ char *error = NULL;
	uint32_t hwpt[3];
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, &error), 0);
	ck_assert_ptr_null(error);
	/* Three IOASes, each mapping the buffer at IOVA=, and a HWPT on each. */
	ck_assert_uint_eq(live_objects(), 6);
	for (uint32_t id = 1, n = 0; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_HWPT) {
			FakeObj *a = fake_iommufd_obj(fk->objs[id].ioas, FAKE_OBJ_IOAS);

			ck_assert_ptr_nonnull(a);
			ck_assert_uint_eq(a->n_maps, 1);
			ck_assert_uint_eq(a->maps[0].iova, IOVA);
			ck_assert_uint_eq(a->maps[0].length, MAP_SIZE);
			hwpt[n++] = id;
		}

	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_uint_eq(fk->attaches, 1);
	ck_assert_uint_eq(fk->attached, hwpt[0]);
	for (unsigned i = 1; i <= 6; i++) {
		ck_assert_int_eq(backend_vfio.replace(ctx, 0, i % 3), 0);
		ck_assert_uint_eq(fk->attached, hwpt[i % 3]);
	}
	ck_assert_uint_eq(fk->replaces, 6);
	/* Nonsense from the run engine is refused, not passed to the kernel. */
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 3), -EINVAL);
	ck_assert_int_eq(backend_vfio.replace(ctx, 1, 0), -EINVAL);

	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	ck_assert_uint_eq(fk->detaches, 1);
	ck_assert_uint_eq(fk->attached, 0);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_teardown_while_attached)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEnable=no\n");
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 1), 0);
	/* No detach from the run engine: teardown still detaches and frees every HWPT. */
	backend_vfio.teardown(ctx);
	ck_assert_uint_eq(fk->detaches, 1);
	assert_released();
}
END_TEST

START_TEST(test_missing_range_layout)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nCount=4\nLayout=missing-range\n[Traffic]\nEnable=yes\n");
	void *ctx = NULL;
	unsigned mapped = 0, empty = 0;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_IOAS) {
			if (fk->objs[id].n_maps)
				mapped++;
			else
				empty++;
		}
	ck_assert_uint_eq(mapped, 2);
	ck_assert_uint_eq(empty, 2);
	/* Bus mastering and memory decoding were switched on for the engine ... */
	ck_assert_uint_eq(config_command() & 0x6, 0x6);
	backend_vfio.teardown(ctx);
	/* ... and back off afterwards. */
	ck_assert_uint_eq(config_command(), 0);
	assert_released();
}
END_TEST

/*
 * Fails every ioctl of a successful setup in turn: each failure must leave
 * nothing behind. prepare (may be NULL) sets the fake kernel up after each reset.
 */
static void setup_failures(const char *extra, const char *driver_after, void (*prepare)(void))
{
	_cleanup_(scenario_freep) Scenario *s = scenario(extra);
	unsigned total;
	void *ctx = NULL;

	if (prepare)
		prepare();
	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	total = fk->calls;
	backend_vfio.teardown(ctx);
	assert_released();
	ck_assert_uint_ge(total, 5);

	for (unsigned k = 1; k <= total; k++) {
		_cleanup_free_ char *error = NULL;
		char drv[64];
		int r;

		k_reset();
		if (prepare)
			prepare();
		fk->fail.nth = k;
		ctx = NULL;
		r = do_setup(s, &ctx, &error);
		ck_assert_msg(r == -EIO, "ioctl %u of %u failed, setup returned %d", k, total, r);
		ck_assert_ptr_null(ctx);
		ck_assert_msg(error && strstr(error, "Input/output error (EIO)"), "ioctl %u: %s", k,
			      strempty(error));
		assert_released();
		ck_assert_uint_eq(config_command(), 0);
		fake_driver_of(fs, EDU, drv, sizeof(drv));
		ck_assert_str_eq(drv, driver_after);
	}
}

START_TEST(test_setup_failures_traffic)
{
	setup_failures("[Domains]\nCount=3\nLayout=missing-range\n[Traffic]\nEnable=yes\n",
		       "vfio-pci", NULL);
}
END_TEST

START_TEST(test_setup_failures_bind)
{
	char log[FAKE_LOG_MAX][160];

	/* Bind=yes from another driver: every failure gives the device back to it. */
	edu_stop(&edu);
	fake_add_driver(fs, "uio_pci_generic");
	fake_set_driver(fs, &fs->devices[0], "uio_pci_generic");
	strcpy(fs->devices[0].native_driver, "uio_pci_generic");
	setup_failures("[Scenario]\nBind=yes\n[Domains]\nCount=2\n[Traffic]\nEnable=no\n",
		       "uio_pci_generic", NULL);
	fake_settle(fs, 0);
	(void)fake_take_log(fs, log, FAKE_LOG_MAX);
}
END_TEST

START_TEST(test_setup_errors)
{
	static const struct {
		const char *extra;
		const char *error;
	} cases[] = {
		/* The fake's edu has no config file and the IOMMU enabled no PASIDs for it. */
		{"[Attach]\nPoints=RID 5\n[Traffic]\nEnable=no\n",
		 "0000:00:03.0 (QEMU edu, 1234:11e8) has no PASID capability enabled by the IOMMU "
		 "(IOMMU_GET_HW_INFO: max_pasid_log2 0): the device has no PCI PASID capability, or "
		 "the IOMMU lacks PASID support; [Attach] Points= lists PASID 5 (use Points=RID)"},
		/* DMA carries no PASID: with traffic there must be a RID to carry it. */
		{"[Attach]\nPoints=5\n",
		 "[Traffic] DMA from the device carries no PASID, so it needs the RID attached, and "
		 "[Attach] Points= has no RID (add RID, or set [Traffic] Enable=no)"},
		/* The smallest mapping that holds a source and a destination of edu's largest
		   transfer. */
		{"[Domains]\nMapSize=4K\n[Traffic]\nSize=2048\n", NULL},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *text = NULL, *error = NULL, *perror = NULL;
		_cleanup_(scenario_freep) Scenario *s = NULL;
		void *ctx = NULL;
		int r;

		ck_assert_int_ge(asprintf(&text, "[Scenario]\nBackend=vfio\nDevice=00:03.0\n%s",
					  cases[i].extra),
				 0);
		/* The parser already refuses some; what it lets through the backend checks. */
		if (scenario_parse(text, "t.conf", NULL, &s, &perror) < 0) {
			ck_assert_ptr_nonnull(cases[i].error);
			continue;
		}
		r = do_setup(s, &ctx, &error);
		if (!cases[i].error) {
			ck_assert_msg(r == 0, "case %zu: %s", i, strempty(error));
			backend_vfio.teardown(ctx);
		} else {
			ck_assert_int_lt(r, 0);
			if (*cases[i].error)
				ck_assert_str_eq(error, cases[i].error);
		}
		assert_released();
	}
}
END_TEST

START_TEST(test_engine_mismatch)
{
	_cleanup_(scenario_freep) Scenario *s = NULL, *none = NULL;
	_cleanup_free_ char *error = NULL;
	char path[PATH_MAX];
	void *ctx = NULL;

	/* The device at 00:03.0 is an e1000e in disguise now. */
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/vendor", fs->sys, EDU);
	fake_write_file(path, "0x8086\n");
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/device", fs->sys, EDU);
	fake_write_file(path, "0x10d3\n");

	s = scenario("[Traffic]\nEngine=edu\n");
	ck_assert_int_eq(do_setup(s, &ctx, &error), -ENODEV);
	ck_assert_str_eq(error, "test.conf:5: [Traffic] Engine=edu: the edu engine drives QEMU edu devices, and 0000:00:03.0 is "
				"PCI 8086:10d3 (set [Traffic] Engine=none to run without DMA)");
	assert_released();
	error = mfree(error);
	s = scenario_free(s);
	/* Engine=nvme goes by the class code, checked before anything is bound or opened. */
	s = scenario("[Traffic]\nEngine=nvme\n");
	ck_assert_int_eq(do_setup(s, &ctx, &error), -ENODEV);
	ck_assert_str_eq(error, "test.conf:5: [Traffic] Engine=nvme: the nvme engine drives NVMe controller devices, and 0000:00:03.0 is "
				"PCI 8086:10d3 (set [Traffic] Engine=none to run without DMA)");
	assert_released();

	none = scenario("[Traffic]\nEngine=none\n");
	ck_assert_int_eq(do_setup(none, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	backend_vfio.traffic_stop(ctx);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_not_on_vfio_pci)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEnable=no\n");
	_cleanup_free_ char *error = NULL;
	void *ctx = NULL;

	edu_stop(&edu);
	fake_add_driver(fs, "uio_pci_generic");
	fake_set_driver(fs, &fs->devices[0], "uio_pci_generic");
	ck_assert_int_eq(do_setup(s, &ctx, &error), -ENODEV);
	ck_assert_str_eq(error, "0000:00:03.0 is bound to uio_pci_generic, not vfio-pci; set "
				"Bind=yes in [Scenario] or bind it yourself");
	assert_released();
}
END_TEST

START_TEST(test_replace_device_gone)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEnable=no\n");
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	K.replace_errno = ENXIO;
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 1), -ENXIO);
	K.replace_errno = ENODEV;
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 1), -ENODEV);
	/* Detach fails too; teardown still releases everything. */
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), -ENODEV);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_device_request)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("");
	const char *reason;
	int err;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_ge(K.req_fd, 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	ck_assert(!fault_sink_failed(sink, NULL, NULL));
	/* echo BDF > /sys/bus/pci/drivers/vfio-pci/unbind: vfio-pci signals the request. */
	ck_assert_int_eq(write(K.req_fd, &(uint64_t){1}, sizeof(uint64_t)), sizeof(uint64_t));
	for (unsigned i = 0; i < 200 && !fault_sink_failed(sink, NULL, NULL); i++)
		usleep(5000);
	ck_assert(fault_sink_failed(sink, &err, &reason));
	ck_assert_int_eq(err, -ENODEV);
	ck_assert_str_eq(reason, "device removed (the kernel asked for 0000:00:03.0 back: unbound "
				 "from vfio-pci or unplugged)");
	/* What the run engine does next: stop, detach, tear down, which closes the device. */
	backend_vfio.traffic_stop(ctx);
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

/* ---------------- traffic ---------------- */

typedef struct Replacer {
	void *ctx;
	bool stop;
	uint64_t n;
	bool open_window; /* leave the window open instead of replacing */
} Replacer;

static void *replacer_main(void *userdata)
{
	Replacer *r = userdata;
	unsigned d = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		d ^= 1;
		attach_point_window_open(&aps[0]);
		ck_assert_int_eq(backend_vfio.replace(r->ctx, 0, d), 0);
		attach_point_window_close(&aps[0], now_ns(CLOCK_MONOTONIC));
		r->n++;
		usleep(50);
	}
	return NULL;
}

typedef struct Drained {
	uint64_t n, during, by_reason[8], by_access[_FAULT_ACCESS_MAX];
	FaultRecord last;
} Drained;

static void drain_cb(const FaultRecord *f, void *userdata)
{
	Drained *d = userdata;

	ck_assert_uint_eq(f->source, FAULT_SOURCE_DMA_VERIFY);
	ck_assert_uint_eq(f->ap, 0);
	ck_assert_uint_lt(f->reason, 8);
	d->n++;
	d->during += f->during_replace;
	d->by_reason[f->reason]++;
	d->by_access[f->access]++;
	d->last = *f;
}

static void run_traffic(void *ctx, unsigned ms)
{
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	usleep(ms * 1000);
	backend_vfio.traffic_stop(ctx);
}

START_TEST(test_traffic_identical)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nSize=2048\n");
	BackendCounters c;
	Replacer rp = {};
	pthread_t t;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	rp.ctx = ctx;
	ck_assert_int_eq(pthread_create(&t, NULL, replacer_main, &rp), 0);
	run_traffic(ctx, 400);
	__atomic_store_n(&rp.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);

	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 10);
	ck_assert_uint_eq(c.dma_errors, 0);
	ck_assert_uint_eq(c.dma_transfers, c.dma_ok + c.dma_errors);
	ck_assert_uint_gt(rp.n, 10);
	/* Two device DMAs per transfer, none faulted, none out of the device buffer. */
	ck_assert_uint_eq(edu.dmas, 2 * c.dma_transfers);
	ck_assert_uint_eq(edu.faults, 0);
	ck_assert_uint_eq(edu.range_errors, 0);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d), 0);

	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_traffic_missing_range)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nLayout=missing-range\n[Traffic]\nSize=512\n");
	_cleanup_free_ char *info = NULL;
	BackendCounters c;
	FaultTotals t;
	Drained d = {};
	JsonWriter j;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	/* At rest on domain 1, which lacks the range: every transfer faults. */
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 1), 0);
	run_traffic(ctx, 200);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_errors, 3);
	ck_assert_uint_eq(c.dma_ok, 0);
	ck_assert_uint_eq(c.dma_transfers, c.dma_errors);
	/* A fast host faults more than the 1024-record queue holds in 200 ms; what
	 * the full queue dropped is counted, so delivered + dropped is exact. */
	fault_sink_totals(sink, &t);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d) + t.dropped[FAULT_SOURCE_DMA_VERIFY],
			  c.dma_errors);
	/* Both halves faulted: the destination was never written, a write fault at its IOVA. */
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_NOT_WRITTEN], d.n);
	ck_assert_uint_eq(d.by_access[FAULT_ACCESS_WRITE], d.n);
	ck_assert_uint_eq(d.during, 0);
	ck_assert_uint_eq(d.last.address, IOVA + MAP_SIZE / 2);
	ck_assert_ptr_nonnull(strstr(d.last.reason_text, ": destination not written (512 bytes)"));
	ck_assert_uint_eq(t.total[FAULT_SOURCE_DMA_VERIFY], c.dma_errors);

	/* Back on domain 0: no more faults. */
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 0), 0);
	run_traffic(ctx, 100);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 3);
	ck_assert_uint_eq(c.dma_transfers, c.dma_ok + c.dma_errors);

	/* Faults while a window is open count as during the replacement. */
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 1), 0);
	attach_point_window_open(&aps[0]);
	memset(&d, 0, sizeof(d));
	run_traffic(ctx, 100);
	attach_point_window_close(&aps[0], now_ns(CLOCK_MONOTONIC));
	ck_assert_uint_gt(fault_sink_drain(sink, drain_cb, &d), 0);
	ck_assert_uint_eq(d.during, d.n);

	json_init(&j);
	json_object_begin(&j, NULL);
	backend_vfio.describe(ctx, &j);
	json_object_end(&j);
	info = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(strstr(info, "\"layout\":\"missing-range\""));
	ck_assert_ptr_nonnull(strstr(info, "\"maps_buffer\":false"));
	ck_assert_ptr_nonnull(strstr(info, "\"by_reason\":{\"timeout\":0,\"engine-error\":0,"
					   "\"mismatch\":0,\"not-written\":"));

	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_traffic_device_removed)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("");
	BackendCounters c;
	const char *reason;
	int err;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	usleep(50 * 1000);
	__atomic_store_n(&edu.removed, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < 200 && !fault_sink_failed(sink, NULL, NULL); i++)
		usleep(10 * 1000);
	ck_assert(fault_sink_failed(sink, &err, &reason));
	ck_assert_int_eq(err, -ENODEV);
	ck_assert_str_eq(reason, "device removed (DMA engine registers read all ones)");
	backend_vfio.traffic_stop(ctx);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_eq(c.dma_transfers, c.dma_ok + c.dma_errors);
	ck_assert_uint_ge(c.dma_errors, 1);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_traffic_timeout)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("");
	BackendCounters c;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	/* The device stops finishing DMA for longer than the transfer timeout (2 s), then recovers.
	 */
	__atomic_store_n(&edu.paused, true, __ATOMIC_RELEASE);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	usleep(2500 * 1000);
	__atomic_store_n(&edu.paused, false, __ATOMIC_RELEASE);
	usleep(100 * 1000);
	backend_vfio.traffic_stop(ctx);

	backend_vfio.sample(ctx, &c);
	ck_assert_uint_eq(c.dma_errors, 1);
	ck_assert_uint_gt(c.dma_ok, 0);
	ck_assert_uint_eq(c.dma_transfers, c.dma_ok + c.dma_errors);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d), 1);
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_TIMEOUT], 1);
	ck_assert(!fault_sink_failed(sink, NULL, NULL));
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

/* ---------------- PASID points ---------------- */

#define EDU_NAME "0000:00:03.0 (QEMU edu, 1234:11e8)"

/*
 * The device's config file as root reads it. width < 0: conventional PCI
 * (256 bytes, no extended capabilities: QEMU's edu); 0: PCIe with an AER
 * capability only; > 0: PCIe with a PASID capability of Max PASID Width
 * width behind the AER one.
 */
static void write_config(int width)
{
	uint8_t c[4096] = {0x34, 0x12, 0xe8, 0x11};
	size_t len = width < 0 ? 256 : sizeof(c);
	char path[PATH_MAX], log[FAKE_LOG_MAX][160];
	int fd;

	if (width >= 0) {
		uint32_t aer = 0x0001 | 1u << 16 | (width > 0 ? PCI_EXT_PASID_AT : 0u) << 20;

		memcpy(c + 0x100, &aer, sizeof(aer));
	}
	if (width > 0) {
		uint32_t header = 0x001b | 1u << 16;
		uint16_t cap = (uint16_t)(width << 8 | 0x2), ctrl = 0x1;

		memcpy(c + PCI_EXT_PASID_AT, &header, sizeof(header));
		memcpy(c + PCI_EXT_PASID_AT + 4, &cap, sizeof(cap));
		memcpy(c + PCI_EXT_PASID_AT + 6, &ctrl, sizeof(ctrl));
	}
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/config", fs->sys, EDU);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, c, len), (ssize_t)len);
	close(fd);
	/*
	 * The fake kernel thread reads every file written in the device's
	 * directory to log it: wait for that, or its fd shows up in count_fds().
	 */
	fake_settle(fs, 1);
	(void)fake_take_log(fs, log, FAKE_LOG_MAX);
}

/* The IOMMU enabled 8-bit PASIDs (for a device with the capability, write_config(8)). */
static void iommu_pasids_8(void)
{
	iommu_pasids(8);
}

/* A device with 8-bit PASIDs that the IOMMU enabled. */
static void pasid_device_8(void)
{
	write_config(8);
	iommu_pasids_8();
}

static unsigned hwpts(uint32_t *ids, bool *compat)
{
	unsigned n = 0;

	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (fk->objs[id].type == FAKE_OBJ_HWPT) {
			ids[n] = id;
			compat[n++] = fk->objs[id].pasid_compat;
		}
	return n;
}

static void assert_ops(const char *const *want, unsigned n)
{
	fake_iommufd_lock();
	for (unsigned i = 0; i < MIN(n, K.n_ops); i++)
		ck_assert_msg(streq(K.ops[i], want[i]), "op %u: %s, expected %s", i, K.ops[i],
			      want[i]);
	ck_assert_uint_eq(K.n_ops, n);
	K.n_ops = 0;
	fake_iommufd_unlock();
}

/* (a) 6.12: the kernel is what is missing, even for a device without PASIDs. */
START_TEST(test_pasid_kernel_lacks)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Attach]\nPoints=RID 1\n[Traffic]\nEnable=no\n");
	_cleanup_(scenario_freep) Scenario *rid = scenario("[Traffic]\nEnable=no\n");
	_cleanup_free_ char *error = NULL, *want = NULL;
	struct utsname u;
	void *ctx = NULL;

	write_config(-1);
	fk->pasid_abi = false;
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_int_ge(
		asprintf(&want,
			 "kernel lacks PASID attach: VFIO_DEVICE_ATTACH_PASID needs Linux 6.15 or "
			 "newer (this kernel: %s); [Attach] Points= lists PASID 1 (use Points=RID)",
			 u.release),
		0);
	ck_assert_int_eq(do_setup(s, &ctx, &error), -EOPNOTSUPP);
	ck_assert_ptr_null(ctx);
	ck_assert_str_eq(error, want);
	/* Nothing was attached, allocated or asked of the IOMMU first. */
	ck_assert_uint_eq(fk->attaches + fk->pasid_attaches + fk->hw_infos, 0);
	assert_released();

	/* A RID-only scenario does not probe: it runs on 6.12 as it always did. */
	ck_assert_int_eq(do_setup(rid, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 1), 0);
	backend_vfio.teardown(ctx);
	assert_released();

	/* 6.15+ with a VFIO driver that has no PASID ops for this device */
	error = mfree(error);
	fk->pasid_abi = true;
	K.pasid_no_ops = true;
	pasid_device_8();
	ck_assert_int_eq(do_setup(s, &ctx, &error), -EOPNOTSUPP);
	ck_assert_str_eq(error, "the VFIO driver of 0000:00:03.0 (vfio-pci) cannot attach PASIDs: "
				"VFIO_DEVICE_ATTACH_PASID failed with Operation not supported "
				"(EOPNOTSUPP)");
	ck_assert_uint_eq(fk->hw_infos, 0);
	assert_released();
}
END_TEST

/* (b) A device that cannot do PASIDs, however the kernel learns it; nothing gets attached. */
START_TEST(test_pasid_no_capability)
{
	static const char no_cap[] = EDU_NAME
		" has no PASID capability: its config space lists no PCI PASID extended "
		"capability (ID 0x1B), so it cannot issue DMA tagged with a PASID; [Attach] "
		"Points= lists PASID 3 (use Points=RID, or a PASID-capable device)";
	static const struct {
		int config; /* write_config(), or -2: no config file */
		uint8_t max_pasid_log2;
		const char *error;
	} cases[] = {
		/* QEMU's edu: conventional PCI, no extended capabilities at all */
		{-1, 0, no_cap},
		/* PCIe without PASID: an IOMMU claiming PASIDs does not make it capable */
		{0, 20, no_cap},
		/* the capability is there, the IOMMU did not enable it */
		{8, 0,
		 EDU_NAME " has a PCI PASID capability (Max PASID Width 8), but the IOMMU did not "
			  "enable PASID for it (IOMMU_GET_HW_INFO: max_pasid_log2 0): an IOMMU "
			  "without PASID support, or VT-d not in scalable mode "
			  "(intel_iommu=on,sm_on; QEMU: x-scalable-mode=on,x-pasid-mode=on); "
			  "[Attach] Points= lists PASID 3"},
		/* config space unreadable: IOMMU_GET_HW_INFO alone says no */
		{-2, 0,
		 EDU_NAME " has no PASID capability enabled by the IOMMU (IOMMU_GET_HW_INFO: "
			  "max_pasid_log2 0): the device has no PCI PASID capability, or the IOMMU "
			  "lacks PASID support; [Attach] Points= lists PASID 3 (use Points=RID)"},
	};
	_cleanup_(scenario_freep) Scenario *s = scenario("[Attach]\nPoints=RID 3 4\n");

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *error = NULL;
		char path[PATH_MAX];
		void *ctx = NULL;

		k_reset();
		if (cases[i].config >= -1)
			write_config(cases[i].config);
		else {
			fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/config", fs->sys, EDU);
			(void)unlink(path);
		}
		iommu_pasids(cases[i].max_pasid_log2);
		ck_assert_int_eq(do_setup(s, &ctx, &error), -EOPNOTSUPP);
		ck_assert_msg(streq_ptr(error, cases[i].error), "case %zu: %s", i, strempty(error));
		ck_assert_uint_eq(fk->attaches + fk->pasid_attaches, 0);
		ck_assert_uint_eq(config_command(), 0);
		assert_released();
	}
}
END_TEST

/* (c) PASIDs beyond 2^max_pasid_log2: named with the limit, before anything is attached. */
START_TEST(test_pasid_beyond_max)
{
	_cleanup_(scenario_freep) Scenario *over =
		scenario("[Attach]\nPoints=RID 1 255 256 0x1000\n[Traffic]\nEnable=no\n");
	_cleanup_(scenario_freep) Scenario *edge =
		scenario("[Attach]\nPoints=RID 255\n[Traffic]\nEnable=no\n");
	_cleanup_(scenario_freep) Scenario *narrow =
		scenario("[Attach]\nPoints=RID 31 32\n[Traffic]\nEnable=no\n");
	_cleanup_free_ char *error = NULL;
	char path[PATH_MAX];
	void *ctx = NULL;

	pasid_device_8();
	ck_assert_int_eq(do_setup(over, &ctx, &error), -ERANGE);
	ck_assert_str_eq(error, "[Attach] Points= PASID 256 (and 1 more of its PASIDs) is beyond "
				"what " EDU_NAME " supports: IOMMU_GET_HW_INFO reports "
				"max_pasid_log2 8; its PCI PASID capability says Max PASID Width "
				"8, so its PASIDs are 1 to 255 (below 256)");
	ck_assert_uint_eq(fk->attaches + fk->pasid_attaches, 0);
	assert_released();

	/* The last PASID below the limit is fine. */
	ck_assert_int_eq(do_setup(edge, &ctx, NULL), 0);
	backend_vfio.teardown(ctx);
	assert_released();

	/* An IOMMU with fewer PASID bits than the device: the IOMMU's figure counts. */
	error = mfree(error);
	write_config(20);
	iommu_pasids(5);
	ck_assert_int_eq(do_setup(narrow, &ctx, &error), -ERANGE);
	ck_assert_str_eq(error, "[Attach] Points= PASID 32 is beyond what " EDU_NAME
				" supports: IOMMU_GET_HW_INFO reports max_pasid_log2 5; its PCI "
				"PASID capability says Max PASID Width 20, so its PASIDs are 1 to "
				"31 (below 32)");
	assert_released();

	/* Without config space to read, max_pasid_log2 alone sets the limit. */
	error = mfree(error);
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/config", fs->sys, EDU);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(do_setup(narrow, &ctx, &error), -ERANGE);
	ck_assert_str_eq(error, "[Attach] Points= PASID 32 is beyond what " EDU_NAME
				" supports: IOMMU_GET_HW_INFO reports max_pasid_log2 5, so its "
				"PASIDs are 1 to 31 (below 32)");
	assert_released();
}
END_TEST

/* RID and PASIDs in one scenario: PASID-compatible HWPTs, attach, replace, detach. */
START_TEST(test_pasid_lifecycle)
{
	static const char *const trial[] = {"A:1", "A:RID", "A:2",   "A:200",
					    "D:1", "D:2",   "D:200", "D:RID"};
	static const char *const attach[] = {"A:1", "A:RID", "A:2", "A:200"};
	static const char *const detach[] = {"D:RID", "D:200", "D:1", "D:2"};
	_cleanup_(scenario_freep) Scenario *s = scenario(
		"[Attach]\nPoints=1 RID 2 200\n[Domains]\nCount=3\n[Traffic]\nEnable=no\n");
	_cleanup_free_ char *error = NULL, *json = NULL;
	uint32_t hwpt[8];
	bool compat[8];
	JsonWriter j;
	void *ctx = NULL;

	pasid_device_8();
	ck_assert_int_eq(do_setup(s, &ctx, &error), 0);
	ck_assert_ptr_null(error);
	/* Every HWPT may carry PASIDs, the RID's too (iommufd_hwpt_pasid_compat()). */
	ck_assert_uint_eq(hwpts(hwpt, compat), 3);
	for (unsigned d = 0; d < 3; d++)
		ck_assert(compat[d]);
	/* The trial attachment in point order, undone PASIDs first: nothing is left attached. */
	assert_ops(trial, ELEMENTSOF(trial));
	ck_assert_uint_eq(fk->attached, 0);
	ck_assert_uint_eq(fake_iommufd_pasids_attached(), 0);

	for (unsigned ap = 0; ap < 4; ap++)
		ck_assert_int_eq(backend_vfio.attach(ctx, ap, 0), 0);
	assert_ops(attach, ELEMENTSOF(attach));
	ck_assert_uint_eq(fk->attached, hwpt[0]);
	ck_assert_uint_eq(fake_iommufd_pasid_hwpt(200), hwpt[0]);

	/* Re-attaching an attached PASID replaces its HWPT. */
	for (unsigned i = 1; i <= 6; i++)
		for (unsigned ap = 0; ap < 4; ap++)
			ck_assert_int_eq(backend_vfio.replace(ctx, ap, (i + ap) % 3), 0);
	ck_assert_uint_eq(fk->replaces, 6);
	ck_assert_uint_eq(fk->pasid_replaces, 18);
	ck_assert_uint_eq(fk->pasid_attaches, 3 + 3); /* trial + attach */
	ck_assert_uint_eq(fake_iommufd_pasid_hwpt(1), hwpt[(6 + 0) % 3]);
	ck_assert_uint_eq(fk->attached, hwpt[(6 + 1) % 3]);
	ck_assert_uint_eq(fake_iommufd_pasid_hwpt(2), hwpt[(6 + 2) % 3]);
	ck_assert_uint_eq(fake_iommufd_pasid_hwpt(200), hwpt[(6 + 3) % 3]);
	ck_assert_int_eq(backend_vfio.replace(ctx, 4, 0), -EINVAL);
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 3), -EINVAL);

	json_init(&j);
	json_object_begin(&j, NULL);
	backend_vfio.describe(ctx, &j);
	json_object_end(&j);
	json = json_finish(&j, NULL);
	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"hwpt_alloc_pasid\":true,\"pasid\":{"
					   "\"max_pasid_log2\":8,\"pci_max_pasid_width\":8}"));
	ck_assert_ptr_nonnull(strstr(
		json, "\"replacements\":24,\"points\":["
		      "{\"point\":\"PASID 1\",\"pasid\":1,\"attached\":true,\"replacements\":6},"
		      "{\"point\":\"RID\",\"pasid\":null,\"attached\":true,\"replacements\":6},"
		      "{\"point\":\"PASID 2\",\"pasid\":2,\"attached\":true,\"replacements\":6},"
		      "{\"point\":\"PASID 200\",\"pasid\":200,\"attached\":true,"
		      "\"replacements\":6}]"));

	/* The RID may go first; the PASIDs stay on their HWPTs meanwhile. */
	ck_assert_int_eq(backend_vfio.detach(ctx, 1), 0);
	ck_assert_int_eq(backend_vfio.replace(ctx, 3, 0), 0);
	ck_assert_int_eq(backend_vfio.detach(ctx, 3), 0);
	ck_assert_int_eq(backend_vfio.detach(ctx, 3), 0); /* twice is fine */
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	ck_assert_int_eq(backend_vfio.detach(ctx, 2), 0);
	ck_assert_int_eq(backend_vfio.detach(ctx, 4), -EINVAL);
	assert_ops(detach, ELEMENTSOF(detach));
	backend_vfio.teardown(ctx);
	assert_ops(NULL, 0);
	assert_released();
}
END_TEST

/* Torn down with everything attached: every PASID goes before the RID, then the HWPTs. */
START_TEST(test_pasid_teardown_while_attached)
{
	static const char *const want[] = {"D:7", "D:9", "D:RID"};
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Attach]\nPoints=RID 7 9\n[Traffic]\nEnable=no\n");
	void *ctx = NULL;

	pasid_device_8();
	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	K.n_ops = 0;
	for (unsigned ap = 0; ap < 3; ap++)
		ck_assert_int_eq(backend_vfio.attach(ctx, ap, 1), 0);
	K.n_ops = 0;
	backend_vfio.teardown(ctx);
	assert_ops(want, ELEMENTSOF(want));
	assert_released();
}
END_TEST

/* (d) The device is fine, the kernel refuses at attach: in words, and nothing stays attached. */
START_TEST(test_pasid_attach_refused)
{
	static const struct {
		int pasid_errno;
		bool drops_pasid;
		bool no_pasid_domains;
		int r;
		const char *error; /* after "…(HWPT n) failed: " for attach errors */
	} cases[] = {
		{EOPNOTSUPP, false, false, -EOPNOTSUPP,
		 "Operation not supported (EOPNOTSUPP): the IOMMU driver cannot attach PASIDs of "
		 "this device (no PASID support in the IOMMU, e.g. VT-d without ECAP.PASID, or a "
		 "domain type without PASID support)"},
		{EBUSY, false, false, -EBUSY,
		 "Device or resource busy (EBUSY): the PASID is in use already (by the kernel, SVA "
		 "or another domain), the device is being reset, or its translation was inherited "
		 "from a previous kernel"},
		/* iommufd_hwpt_pasid_compat(): HWPTs that came out without PASID support */
		{0, true, false, -EINVAL,
		 "Invalid argument (EINVAL): the PASID is beyond the device's limit, the HWPT or "
		 "the RID's HWPT is not PASID-compatible (IOMMU_HWPT_ALLOC_PASID), or the HWPT's "
		 "domain does not suit this device's IOMMU"},
		{0, false, true, -EOPNOTSUPP,
		 "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for 0000:00:03.0, domain 0 failed: "
		 "Operation not supported (EOPNOTSUPP) (the IOMMU driver cannot make "
		 "PASID-capable domains for this device)"},
	};
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Attach]\nPoints=RID 1 2\n[Traffic]\nEnable=yes\n");

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *error = NULL;
		char want[512];
		void *ctx = NULL;

		k_reset();
		pasid_device_8();
		K.pasid_errno = cases[i].pasid_errno;
		fk->hwpt_drops_pasid = cases[i].drops_pasid;
		fk->no_pasid_domains = cases[i].no_pasid_domains;
		ck_assert_int_eq(do_setup(s, &ctx, &error), cases[i].r);
		/* Ids count from 1 after k_reset(): IOAS 1, its HWPT 2, IOAS 3, HWPT 4. */
		if (cases[i].no_pasid_domains)
			snprintf(want, sizeof(want), "%s", cases[i].error);
		else
			snprintf(
				want, sizeof(want),
				"attaching PASID 1 of 0000:00:03.0 to domain 0 (HWPT 2) failed: %s",
				cases[i].error);
		ck_assert_msg(streq_ptr(error, want), "case %zu: %s", i, strempty(error));
		/* The RID's trial attachment was undone as well. */
		assert_released();
		ck_assert_uint_eq(config_command(), 0);
	}
}
END_TEST

/* Every failing ioctl of a PASID setup (probe, GET_HW_INFO, trial attach) leaves nothing. */
START_TEST(test_pasid_setup_failures)
{
	write_config(8);
	setup_failures("[Attach]\nPoints=RID 1 2\n[Domains]\nCount=2\n[Traffic]\nEnable=yes\n",
		       "vfio-pci", iommu_pasids_8);
}
END_TEST

typedef struct PointReplacer {
	void *ctx;
	unsigned ap, n;
} PointReplacer;

static void *point_replacer_main(void *userdata)
{
	PointReplacer *r = userdata;

	for (unsigned i = 1; i <= r->n; i++) {
		attach_point_window_open(&aps[r->ap]);
		ck_assert_int_eq(backend_vfio.replace(r->ctx, r->ap, i % 2), 0);
		attach_point_window_close(&aps[r->ap], now_ns(CLOCK_MONOTONIC));
	}
	return NULL;
}

/*
 * One worker per point replacing at once, as the run engine does, with DMA
 * through the RID: the PASIDs' replacements never disturb it, and each
 * point's count is its own.
 */
START_TEST(test_pasid_concurrent)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Attach]\nPoints=3 RID 1 2\n[Replace]\nCount=1000\n");
	PointReplacer r[4];
	pthread_t t[4];
	BackendCounters c;
	void *ctx = NULL;

	pasid_device_8();
	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	for (unsigned ap = 0; ap < 4; ap++)
		ck_assert_int_eq(backend_vfio.attach(ctx, ap, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	for (unsigned ap = 0; ap < 4; ap++) {
		r[ap] = (PointReplacer){.ctx = ctx, .ap = ap, .n = 500 + 100 * ap};
		ck_assert_int_eq(pthread_create(&t[ap], NULL, point_replacer_main, &r[ap]), 0);
	}
	for (unsigned ap = 0; ap < 4; ap++)
		pthread_join(t[ap], NULL);
	usleep(100 * 1000);
	backend_vfio.traffic_stop(ctx);

	ck_assert_uint_eq(fk->replaces, 600);
	ck_assert_uint_eq(fk->pasid_replaces, 500 + 700 + 800);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 0);
	ck_assert_uint_eq(c.dma_errors, 0);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

/* ---------------- the edu driver on its own ---------------- */

#define RAM_IOVA UINT64_C(0x200000)

static uint8_t bar_mem[0x1000] __attribute__((aligned(64)));
static uint8_t ram[8192];

static void engine_setup(void)
{
	memset(bar_mem, 0, sizeof(bar_mem));
	memset(&edu, 0, sizeof(edu));
	edu.identity = true;
	edu.ram = ram;
	edu.ram_iova = RAM_IOVA;
	edu.ram_size = sizeof(ram);
	edu_start(&edu, bar_mem);
}

static void engine_teardown(void)
{
	edu_stop(&edu);
}

static DmaEngine *engine_init(void)
{
	DmaEngineResources res = {.device_fd = -EBADF, .bar = bar_mem, .bar_size = sizeof(bar_mem)};
	_cleanup_free_ char *error = NULL;
	DmaEngine *e = NULL;

	ck_assert_msg(dma_engine_edu.init(&res, &e, &error) == 0, "%s", strempty(error));
	return e;
}

START_TEST(test_edu_copy)
{
	DmaEngine *e = engine_init();

	ck_assert_ptr_eq(dma_engine_find("edu"), &dma_engine_edu);
	ck_assert_ptr_eq(dma_engine_match(0x1234, 0x11e8, 0x00ff00), &dma_engine_edu);
	ck_assert_ptr_null(dma_engine_match(0x8086, 0x10d3, 0x020000));
	/* NVMe goes by class code, whoever made it. */
	ck_assert_ptr_eq(dma_engine_find("nvme"), &dma_engine_nvme);
	ck_assert_ptr_eq(dma_engine_match(0x1b36, 0x0010, 0x010802), &dma_engine_nvme);
	ck_assert_ptr_eq(dma_engine_match(0x144d, 0xa808, 0x010802), &dma_engine_nvme);
	ck_assert_ptr_null(dma_engine_match(0x144d, 0xa808, 0x010601));

	dma_pattern_fill(ram, 2048, 7);
	dma_pattern_poison(ram + 4096, 2048, 7);
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 2048), 0);
	/* One copy at a time. */
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 16), -EBUSY);
	ck_assert_int_eq(dma_engine_edu.memcpy_wait(e, NSEC_PER_SEC), 0);
	ck_assert(dma_pattern_check(ram + 4096, 2048, 7, NULL));
	/* Through the device buffer at 0x40000, in both directions. */
	ck_assert_uint_eq(REG64(&edu, 0x80), 0x40000);
	ck_assert_uint_eq(REG64(&edu, 0x88), RAM_IOVA + 4096);
	ck_assert_uint_eq(REG64(&edu, 0x98), 2);

	/* Transfers the device cannot take are refused before reaching it. */
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 2049), -EINVAL);
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 0), -EINVAL);
	ck_assert_uint_eq(edu.range_errors, 0);
	dma_engine_edu.remove(e);
}
END_TEST

START_TEST(test_edu_timeout_and_quiesce)
{
	DmaEngine *e = engine_init();

	__atomic_store_n(&edu.paused, true, __ATOMIC_RELEASE);
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 64), 0);
	ck_assert_int_eq(dma_engine_edu.memcpy_wait(e, 20 * NSEC_PER_MSEC), -ETIMEDOUT);
	ck_assert_int_eq(dma_engine_edu.quiesce(e, 20 * NSEC_PER_MSEC), -ETIMEDOUT);
	__atomic_store_n(&edu.paused, false, __ATOMIC_RELEASE);
	ck_assert_int_eq(dma_engine_edu.quiesce(e, NSEC_PER_SEC), 0);
	/* The abandoned copy's second half was never issued. */
	ck_assert_uint_eq(edu.dmas, 1);
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 64), 0);
	ck_assert_int_eq(dma_engine_edu.memcpy_wait(e, NSEC_PER_SEC), 0);
	dma_engine_edu.remove(e);
}
END_TEST

START_TEST(test_edu_removed)
{
	DmaEngine *e = engine_init();

	__atomic_store_n(&edu.removed, true, __ATOMIC_RELEASE);
	usleep(5000);
	ck_assert_int_eq(dma_engine_edu.memcpy_start(e, RAM_IOVA, RAM_IOVA + 4096, 64), -ENODEV);
	ck_assert_int_eq(dma_engine_edu.quiesce(e, NSEC_PER_SEC), -ENODEV);
	dma_engine_edu.remove(e);
}
END_TEST

START_TEST(test_edu_init_errors)
{
	DmaEngineResources res = {.device_fd = -EBADF, .bar = bar_mem, .bar_size = sizeof(bar_mem)};
	_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
	DmaEngine *e = NULL;

	edu_stop(&edu);
	*(volatile uint32_t *)bar_mem = 0x12345678;
	ck_assert_int_eq(dma_engine_edu.init(&res, &e, &e1), -ENODEV);
	ck_assert_str_eq(e1, "edu identification register reads 0x12345678, expected 0x....00ed: "
			     "this is not QEMU's edu device");
	*(volatile uint32_t *)bar_mem = UINT32_MAX;
	ck_assert_int_eq(dma_engine_edu.init(&res, &e, &e2), -ENODEV);
	ck_assert_ptr_nonnull(strstr(e2, "reads all ones"));
	/* Right identity, but nobody answers the liveness register. */
	*(volatile uint32_t *)bar_mem = 0x010000ed;
	ck_assert_int_eq(dma_engine_edu.init(&res, &e, &e3), -EIO);
	ck_assert_ptr_nonnull(strstr(e3, "edu liveness check failed"));
	res.bar_size = 0x80;
	ck_assert_int_eq(dma_engine_edu.init(&res, &e, &e4), -EINVAL);
	ck_assert_ptr_null(e);
}
END_TEST

/* ---------------- the data pattern ---------------- */

START_TEST(test_pattern)
{
	uint8_t a[2048], b[2048];
	DmaCheck c;

	dma_pattern_fill(a, sizeof(a), 42);
	ck_assert(dma_pattern_check(a, sizeof(a), 42, &c));
	ck_assert_uint_eq(c.reason, 0);
	/* The first 8 bytes are the sequence number, little endian. */
	ck_assert_uint_eq(a[0], 42);
	ck_assert_uint_eq(a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7], 0);

	dma_pattern_poison(b, sizeof(b), 42);
	ck_assert(!dma_pattern_check(b, sizeof(b), 42, &c));
	ck_assert_uint_eq(c.reason, DMA_FAULT_NOT_WRITTEN);

	dma_pattern_fill(b, sizeof(b), 41);
	ck_assert(!dma_pattern_check(b, sizeof(b), 42, &c));
	ck_assert_uint_eq(c.reason, DMA_FAULT_STALE);
	ck_assert_uint_eq(c.stale_seq, 41);

	memset(b, 0, sizeof(b));
	ck_assert(!dma_pattern_check(b, sizeof(b), 42, &c));
	ck_assert_uint_eq(c.reason, DMA_FAULT_MISMATCH);
	ck_assert_uint_eq(c.offset, 0);

	memcpy(b, a, sizeof(b));
	b[1000] ^= 0x10;
	ck_assert(!dma_pattern_check(b, sizeof(b), 42, &c));
	ck_assert_uint_eq(c.reason, DMA_FAULT_MISMATCH);
	ck_assert_uint_eq(c.offset, 1000);
	ck_assert_uint_eq(c.expected, a[1000]);
	ck_assert_uint_eq(c.got, a[1000] ^ 0x10);

	/* Transfers differ everywhere, not only in the sequence number. */
	dma_pattern_fill(b, sizeof(b), 43);
	for (size_t k = 8, same = 0; k < sizeof(b); k++) {
		same += a[k] == b[k];
		ck_assert_uint_lt(same, 64);
	}

	/* Tiny transfers: still checked, never mistaken for poison. */
	dma_pattern_fill(a, 1, 3);
	ck_assert(dma_pattern_check(a, 1, 3, NULL));
	dma_pattern_poison(a, 1, 3);
	ck_assert(!dma_pattern_check(a, 1, 3, &c));
	ck_assert_uint_eq(c.reason, DMA_FAULT_NOT_WRITTEN);
	ck_assert_str_eq(dma_fault_reason_to_string(DMA_FAULT_STALE), "stale");
}
END_TEST


/* ---------------- Engine=nvme through the backend ---------------- */

static FakeNvme *nvme;

static uint8_t *nvme_translate(uint64_t iova, uint64_t len)
{
	return fake_translate(iova, (uint32_t)len);
}

/* The controller's MSI-X write, as vfio-pci delivers it: the eventfd of vector 0, if any. */
static void nvme_interrupt(void)
{
	int fd = __atomic_load_n(&K.msix_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0) {
		(void)!write(fd, &(uint64_t){1}, sizeof(uint64_t));
		__atomic_add_fetch(&K.msix_signals, 1, __ATOMIC_RELAXED);
	}
}

static void nvme_start(const FakeNvmeConfig *extra)
{
	FakeNvmeConfig cfg = *extra;

	cfg.bar = cdev_map;
	cfg.translate = nvme_translate;
	cfg.dma_lock = fake_iommufd_lock;
	cfg.dma_unlock = fake_iommufd_unlock;
	cfg.interrupt = nvme_interrupt;
	if (!cfg.blocks)
		cfg.blocks = 4096;
	nvme = fake_nvme_new(&cfg);
	/* Something to read back that is not zeros. */
	for (size_t i = 0; i < (size_t)cfg.blocks * 512; i++)
		fake_nvme_disk(nvme)[i] = (uint8_t)(i * 13 + (i >> 9));
}

static void nvme_setup(void)
{
	/* QEMU's NVMe controller: 1b36:0010, class 010802. */
	setup_device(0x1b36, 0x0010, 0x010802);
	nvme_start(&(FakeNvmeConfig){});
	fds_before = count_fds();
}

static void nvme_teardown(void)
{
	fake_nvme_free(nvme);
	teardown_device();
}

static bool nvme_ready(void)
{
	return *(volatile uint32_t *)(cdev_map + 0x1c) & 1;
}

static char *describe(void *ctx)
{
	JsonWriter j;

	json_init(&j);
	json_object_begin(&j, NULL);
	backend_vfio.describe(ctx, &j);
	json_object_end(&j);
	ck_assert_int_eq(j.error, 0);
	return j.buf;
}

START_TEST(test_nvme_read_verify)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Traffic]\nEngine=nvme\nSize=4K\nQueueDepth=8\n");
	_cleanup_free_ char *info = NULL;
	FakeNvmeStats st;
	BackendCounters c;
	Replacer rp = {};
	pthread_t t;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	/* Setup identified it and read the reference (7 slots of 8 blocks), then disabled it. */
	fake_nvme_stats(nvme, &st);
	ck_assert_uint_eq(st.enables, 1);
	ck_assert_uint_eq(st.reads, 7);
	ck_assert(!nvme_ready());
	fake_iommufd_lock();
	ck_assert_uint_eq(fk->attached, 0);
	fake_iommufd_unlock();

	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	rp.ctx = ctx;
	ck_assert_int_eq(pthread_create(&t, NULL, replacer_main, &rp), 0);
	run_traffic(ctx, 400);
	__atomic_store_n(&rp.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);

	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 20);
	ck_assert_uint_eq(c.dma_errors, 0);
	ck_assert_uint_gt(rp.n, 10);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d), 0);
	fake_nvme_stats(nvme, &st);
	ck_assert_uint_eq(st.reads, 7 + c.dma_transfers);
	ck_assert_uint_eq(st.writes, 0);
	ck_assert_uint_eq(st.transfer_errors, 0);

	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"nvme\":{\"model\":\"iommutest fake NVMe\",\"serial\":\"FAKE-SN-0001\""), "%s", info);
	ck_assert_msg(strstr(info, "\"mode\":\"read-verify\",\"lba_start\":0,\"lba_count\":56,\"queue_depth\":8,\"queues\":1,\"completions\":\"poll\",\"queues_granted\":1,\"commands_in_flight\":7"), "%s", info);
	ck_assert_msg(strstr(info, "\"resets\":0"), "%s", info);
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	ck_assert(!nvme_ready());
	assert_released();
}
END_TEST

/* Queues=4: the commands in flight spread over four I/O queue pairs, every one served. */
START_TEST(test_nvme_queues)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nMapSize=1M\n[Traffic]\nEngine=nvme\nSize=4K\nQueueDepth=4\nQueues=4\n");
	_cleanup_free_ char *info = NULL;
	FakeNvmeStats st;
	BackendCounters c;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	/* 3 commands per queue of 4 entries, 4 queues: 12 slots, 12 reference chunks. */
	fake_nvme_stats(nvme, &st);
	ck_assert_uint_eq(st.reads, 12);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	run_traffic(ctx, 300);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 40);
	ck_assert_uint_eq(c.dma_errors, 0);
	fake_nvme_stats(nvme, &st);
	for (unsigned q = 1; q <= 4; q++)
		ck_assert_msg(st.io_by_queue[q] > 5, "queue %u served %llu commands", q,
			      (unsigned long long)st.io_by_queue[q]);
	ck_assert_uint_eq(st.io_by_queue[5], 0);
	ck_assert_uint_eq(st.reads, 12 + c.dma_transfers);
	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"queue_depth\":4,\"queues\":4,\"completions\":\"poll\",\"queues_granted\":4,\"commands_in_flight\":12"), "%s", info);
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	ck_assert(!nvme_ready());
	assert_released();
}
END_TEST

/* NvmeCompletions=msix: the driver sleeps on MSI-X vector 0's eventfd; MSI-X is off after teardown. */
START_TEST(test_nvme_msix)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Traffic]\nEngine=nvme\nSize=4K\nQueueDepth=8\nNvmeCompletions=msix\n");
	_cleanup_free_ char *info = NULL;
	BackendCounters c;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_ge(K.msix_fd, 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	run_traffic(ctx, 300);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 20);
	ck_assert_uint_eq(c.dma_errors, 0);
	/* Each I/O completion interrupted; admin commands and the reference reads too. */
	ck_assert_uint_ge(K.msix_signals, c.dma_transfers);
	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"queues\":1,\"completions\":\"msix\""), "%s", info);
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	ck_assert_int_eq(K.msix_fd, -1);
	assert_released();
}
END_TEST

START_TEST(test_nvme_missing_range)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nLayout=missing-range\n[Traffic]\nEngine=nvme\nSize=4K\n");
	FakeNvmeStats st;
	BackendCounters c;
	FaultTotals tot;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	/* On domain 1 the data buffers are gone, the queues are not: every command fails, alone. */
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 1), 0);
	aps[0].domain = 1; /* as the run engine records it */
	run_traffic(ctx, 200);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_errors, 3);
	ck_assert_uint_eq(c.dma_ok, 0);
	fault_sink_totals(sink, &tot);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d) + tot.dropped[FAULT_SOURCE_DMA_VERIFY],
			  c.dma_errors);
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_STATUS], d.n);
	ck_assert_uint_eq(d.by_access[FAULT_ACCESS_WRITE], d.n);
	ck_assert_uint_eq(d.during, 0);
	ck_assert_uint_eq(d.last.domain, 1);
	ck_assert_msg(strstr(d.last.reason_text, ": data transfer error (status 0x004)"), "%s", d.last.reason_text);
	fake_nvme_stats(nvme, &st);
	ck_assert_uint_eq(st.enables, 2); /* setup, then traffic: no reset */
	ck_assert_uint_eq(st.transfer_errors, c.dma_errors);

	/* Back on domain 0: the same queues carry on, without faults. */
	ck_assert_int_eq(backend_vfio.replace(ctx, 0, 0), 0);
	run_traffic(ctx, 100);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 3);
	ck_assert_uint_eq(c.dma_transfers, c.dma_ok + c.dma_errors);
	ck_assert_int_eq(backend_vfio.detach(ctx, 0), 0);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_dropped_data)
{
	_cleanup_(scenario_freep) Scenario *s =
		scenario("[Domains]\nLayout=missing-range\n[Traffic]\nEngine=nvme\nSize=4K\n");
	BackendCounters c;
	FaultTotals tot;
	Drained d = {};
	void *ctx = NULL;

	/* A controller that completes reads it could not deliver (QEMU 7.2): verification tells. */
	fake_nvme_free(nvme);
	nvme_start(&(FakeNvmeConfig){.drop_untranslated = true});
	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 1), 0);
	aps[0].domain = 1;
	run_traffic(ctx, 200);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_errors, 3);
	ck_assert_uint_eq(c.dma_ok, 0);
	fault_sink_totals(sink, &tot);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d) + tot.dropped[FAULT_SOURCE_DMA_VERIFY],
			  c.dma_errors);
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_NOT_WRITTEN], d.n);
	ck_assert_uint_eq(d.by_access[FAULT_ACCESS_WRITE], d.n);
	/* At one command slot's buffer: inside the mapping, 4 KiB apart. */
	ck_assert_uint_ge(d.last.address, IOVA);
	ck_assert_uint_lt(d.last.address, IOVA + MAP_SIZE);
	ck_assert_uint_eq((d.last.address - IOVA) % 4096, 0);
	ck_assert_msg(strstr(d.last.reason_text, "completed, and its buffer was not written"), "%s", d.last.reason_text);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_write_verify)
{
	_cleanup_(scenario_freep) Scenario *s = scenario(
		"[Traffic]\nEngine=nvme\nNvmeMode=write-verify\nNvmeLBA=64+256\nNvmeAllowWrite=yes\nSize=4K\n");
	_cleanup_free_ char *info = NULL;
	FakeNvmeStats st;
	BackendCounters c;
	Replacer rp = {};
	pthread_t t;
	uint64_t seq;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	rp.ctx = ctx;
	ck_assert_int_eq(pthread_create(&t, NULL, replacer_main, &rp), 0);
	run_traffic(ctx, 300);
	__atomic_store_n(&rp.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	backend_vfio.sample(ctx, &c);
	ck_assert_uint_gt(c.dma_ok, 10);
	ck_assert_uint_eq(c.dma_errors, 0);
	fake_nvme_stats(nvme, &st);
	ck_assert_uint_eq(st.writes, st.reads);
	ck_assert_uint_ge(st.writes, c.dma_ok);
	/* Only the named range was written: block 64 holds a pattern, block 63 is as it was. */
	memcpy(&seq, fake_nvme_disk(nvme) + 64 * 512, sizeof(seq));
	ck_assert_uint_gt(seq, 0);
	ck_assert_uint_le(seq, st.writes);
	ck_assert_uint_eq(fake_nvme_disk(nvme)[63 * 512], (uint8_t)(63 * 512 * 13 + 63));
	ck_assert_uint_eq(fake_nvme_disk(nvme)[320 * 512], (uint8_t)(320 * 512 * 13 + 320));
	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"mode\":\"write-verify\",\"lba_start\":64,\"lba_count\":256,"), "%s", info);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_fatal_recovery)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEngine=nvme\nSize=4K\n");
	_cleanup_free_ char *info = NULL;
	BackendCounters before, after;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	usleep(100 * 1000);
	backend_vfio.sample(ctx, &before);
	fake_nvme_set_fatal(nvme);
	usleep(300 * 1000);
	backend_vfio.traffic_stop(ctx);
	backend_vfio.sample(ctx, &after);
	ck_assert(!fault_sink_failed(sink, NULL, NULL));
	/* One fault for the fatal status, then traffic resumed on the reset controller. */
	ck_assert_uint_eq(after.dma_errors, 1);
	ck_assert_uint_gt(after.dma_ok, before.dma_ok + 10);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d), 1);
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_FATAL], 1);
	ck_assert_msg(strstr(d.last.reason_text, "went into fatal status (CSTS.CFS)"), "%s", d.last.reason_text);
	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"fatal_statuses\":1,\"timeouts\":0,\"resets\":1"), "%s", info);
	ck_assert_msg(strstr(info, "\"controller-fatal\":1"), "%s", info);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_timeout_recovery)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEngine=nvme\nSize=4K\n");
	_cleanup_free_ char *info = NULL;
	BackendCounters before, after;
	Drained d = {};
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	/* The controller stops completing for longer than the 2 s command timeout. */
	usleep(100 * 1000);
	fake_nvme_stall(nvme, true);
	usleep(2600 * 1000);
	fake_nvme_stall(nvme, false);
	backend_vfio.sample(ctx, &before);
	usleep(200 * 1000);
	backend_vfio.traffic_stop(ctx);
	backend_vfio.sample(ctx, &after);
	ck_assert(!fault_sink_failed(sink, NULL, NULL));
	/* One timeout fault, the controller reset, and commands verified again after it. */
	ck_assert_uint_eq(after.dma_errors, 1);
	ck_assert_uint_gt(after.dma_ok, before.dma_ok + 10);
	ck_assert_uint_eq(fault_sink_drain(sink, drain_cb, &d), 1);
	ck_assert_uint_eq(d.by_reason[DMA_FAULT_TIMEOUT], 1);
	ck_assert_msg(strstr(d.last.reason_text, "no NVMe completion within 2000 ms"), "%s", d.last.reason_text);
	info = describe(ctx);
	ck_assert_msg(strstr(info, "\"fatal_statuses\":0,\"timeouts\":1,\"resets\":1"), "%s", info);
	ck_assert_msg(strstr(info, "\"replace_holds\":1,"), "%s", info);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_removed)
{
	_cleanup_(scenario_freep) Scenario *s = scenario("[Traffic]\nEngine=nvme\nSize=4K\n");
	const char *reason;
	int err;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, NULL), 0);
	ck_assert_int_eq(backend_vfio.attach(ctx, 0, 0), 0);
	ck_assert_int_eq(backend_vfio.traffic_start(ctx), 0);
	usleep(50 * 1000);
	fake_nvme_remove(nvme);
	for (unsigned i = 0; i < 300 && !fault_sink_failed(sink, NULL, NULL); i++)
		usleep(10 * 1000);
	ck_assert(fault_sink_failed(sink, &err, &reason));
	ck_assert_int_eq(err, -ENODEV);
	ck_assert_str_eq(reason, "device removed (NVMe registers read all ones)");
	backend_vfio.traffic_stop(ctx);
	backend_vfio.teardown(ctx);
	assert_released();
}
END_TEST

START_TEST(test_nvme_caps)
{
	_cleanup_free_ char *regs = NULL, *text = NULL;
	char dir[PATH_MAX], p[PATH_MAX];
	int r;

	/* No kernel driver: the registers, here unmappable (a fake sysfs has no resource0). */
	regs = device_info(EDU, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_msg(strstr(regs, "\"dma_engine\":\"nvme\",\"nvme\":null,\"nvme_unavailable\":\"BAR0 cannot be mapped through sysfs (resource0)\""), "%s", regs);

	/* The kernel's nvme driver's view, as sysfs shows it. */
	fake_path(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvme/nvme0", fs->sys, EDU);
	fake_mkdir_p(dir);
	const char *files[][2] = {{"model", "Samsung SSD 980 PRO 1TB                 \n"},
				  {"serial", "S5GXNF0R123456      \n"},
				  {"firmware_rev", "5B2QGXA7\n"},
				  {"queue_count", "9\n"},
				  {"sqsize", "1023\n"},
				  {"nvme0n1/nsid", "1\n"},
				  {"nvme0n1/size", "1953525168\n"},
				  {"nvme0n1/queue/logical_block_size", "512\n"},
				  {"nvme0n1/queue/max_hw_sectors_kb", "512\n"},
				  {"nvme0n1/nvme0n1p1/size", "2048\n"}};
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		char *slash;

		fake_path(p, sizeof(p), "%s/%s", dir, files[i][0]);
		slash = strrchr(p, '/');
		*slash = 0;
		fake_mkdir_p(p);
		*slash = '/';
		fake_write_file(p, files[i][1]);
	}
	text = device_info(EDU, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_msg(strstr(text, "\"nvme\":{\"source\":\"sysfs (the kernel's nvme driver)\",\"controller\":\"nvme0\","
				  "\"model\":\"Samsung SSD 980 PRO 1TB\",\"serial\":\"S5GXNF0R123456\",\"firmware\":\"5B2QGXA7\","
				  "\"queue_count\":\"9\",\"sqsize\":\"1023\",\"namespaces\":[{\"name\":\"nvme0n1\",\"nsid\":1,"
				  "\"bytes\":1000204886016,\"lba_size\":512,\"blocks\":1953525168}],\"max_transfer_bytes\":524288}"),
		      "%s", text);
}
END_TEST

/* setup() refuses, in words naming the key, and leaves nothing attached or open. */
static void nvme_refused(const char *extra, int expect, const char *message)
{
	_cleanup_(scenario_freep) Scenario *s = scenario(extra);
	_cleanup_free_ char *error = NULL;
	void *ctx = NULL;

	ck_assert_int_eq(do_setup(s, &ctx, &error), expect);
	ck_assert_msg(strstr(error, message), "%s", error);
	assert_released();
	ck_assert(!nvme_ready());
}

START_TEST(test_nvme_setup_errors)
{
	/* Line and key, as the parser names them: the scenario has 3 lines before these. */
	nvme_refused("[Traffic]\nEngine=nvme\nNamespace=2\n", -ENOENT,
		     "the NVMe controller 0000:00:03.0: test.conf:6: [Traffic] Namespace=2: NVMe namespace 2 does not exist: the controller has 1");
	nvme_refused("[Traffic]\nEngine=nvme\nNvmeLBA=4000+200\n", -EINVAL,
		     "test.conf:6: [Traffic] NvmeLBA=4000+200: runs beyond the end of namespace 1 (4096 blocks of 512 bytes)");
	nvme_refused("[Traffic]\nEngine=nvme\nSize=4K\nNvmeLBA=0+4\n", -EINVAL,
		     "test.conf:7: [Traffic] NvmeLBA=0+4: 4 blocks are fewer than one command moves (Size=4096: 8 blocks)");
	fake_nvme_free(nvme);
	nvme_start(&(FakeNvmeConfig){.mqes = 15, .mdts = 1});
	/* Nothing set it: the value in force, said to be the default. */
	nvme_refused("[Traffic]\nEngine=nvme\n", -EINVAL,
		     ": [Traffic] QueueDepth=64 (the default): above the controller's limit of 16 entries (CAP.MQES)");
	nvme_refused("[Traffic]\nEngine=nvme\nQueueDepth=16\nSize=16K\n", -EINVAL,
		     "test.conf:7: [Traffic] Size=16K: above the controller's maximum data transfer size (MDTS: 8192 bytes)");
	/* The last assignment is the one blamed. */
	nvme_refused("[Traffic]\nEngine=nvme\nQueueDepth=8\nQueueDepth=32\n", -EINVAL,
		     "test.conf:7: [Traffic] QueueDepth=32: above the controller's limit of 16 entries (CAP.MQES)");
	/* A device without MSI-X for NvmeCompletions=msix. */
	K.msix_count = 0;
	nvme_refused("[Traffic]\nEngine=nvme\nNvmeCompletions=msix\n", -EOPNOTSUPP,
		     "test.conf:6: [Traffic] NvmeCompletions=msix: 0000:00:03.0 has no MSI-X vector vfio-pci can signal (use NvmeCompletions=poll)");
	K.msix_count = 16;
	/* A controller that grants fewer queues than Queues= asks for. */
	fake_nvme_free(nvme);
	nvme_start(&(FakeNvmeConfig){.max_queues = 2});
	nvme_refused("[Traffic]\nEngine=nvme\nQueues=4\n", -EINVAL,
		     "test.conf:6: [Traffic] Queues=4: the NVMe controller grants 2 I/O queue pairs (Set Features, Number of Queues)");
	/* A namespace whose LBA format carries metadata is refused, not misread. */
	fake_nvme_free(nvme);
	nvme_start(&(FakeNvmeConfig){.ms = 8});
	nvme_refused("[Traffic]\nEngine=nvme\n", -EOPNOTSUPP, "8 bytes of metadata per LBA");
}
END_TEST

static Suite *vfio_suite(void)
{
	Suite *s = suite_create("vfio-backend");
	TCase *tc;

	tc = tcase_create("pattern");
	tcase_add_test(tc, test_pattern);
	suite_add_tcase(s, tc);

	tc = tcase_create("edu");
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_add_test(tc, test_edu_copy);
	tcase_add_test(tc, test_edu_timeout_and_quiesce);
	tcase_add_test(tc, test_edu_removed);
	tcase_add_test(tc, test_edu_init_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_list_devices);
	tcase_add_test(tc, test_device_info);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_teardown_while_attached);
	tcase_add_test(tc, test_missing_range_layout);
	tcase_add_test(tc, test_setup_failures_traffic);
	tcase_add_test(tc, test_setup_failures_bind);
	tcase_add_test(tc, test_setup_errors);
	tcase_add_test(tc, test_engine_mismatch);
	tcase_add_test(tc, test_not_on_vfio_pci);
	tcase_add_test(tc, test_replace_device_gone);
	tcase_add_test(tc, test_device_request);
	tcase_add_test(tc, test_traffic_identical);
	tcase_add_test(tc, test_traffic_missing_range);
	tcase_add_test(tc, test_traffic_device_removed);
	tcase_add_test(tc, test_traffic_timeout);
	tcase_add_test(tc, test_pasid_kernel_lacks);
	tcase_add_test(tc, test_pasid_no_capability);
	tcase_add_test(tc, test_pasid_beyond_max);
	tcase_add_test(tc, test_pasid_lifecycle);
	tcase_add_test(tc, test_pasid_teardown_while_attached);
	tcase_add_test(tc, test_pasid_attach_refused);
	tcase_add_test(tc, test_pasid_setup_failures);
	tcase_add_test(tc, test_pasid_concurrent);
	suite_add_tcase(s, tc);

	tc = tcase_create("nvme");
	tcase_add_checked_fixture(tc, nvme_setup, nvme_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_nvme_read_verify);
	tcase_add_test(tc, test_nvme_queues);
	tcase_add_test(tc, test_nvme_msix);
	tcase_add_test(tc, test_nvme_missing_range);
	tcase_add_test(tc, test_nvme_dropped_data);
	tcase_add_test(tc, test_nvme_write_verify);
	tcase_add_test(tc, test_nvme_fatal_recovery);
	tcase_add_test(tc, test_nvme_timeout_recovery);
	tcase_add_test(tc, test_nvme_removed);
	tcase_add_test(tc, test_nvme_setup_errors);
	tcase_add_test(tc, test_nvme_caps);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vfio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
