/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio backend: real attachments through iommufd and the VFIO device
 * cdev (Linux ≥ 6.6; PASIDs ≥ 6.15), with verified DMA from the device while
 * they are replaced.
 *
 *   setup     /dev/iommu; the device's cdev; VFIO_DEVICE_BIND_IOMMUFD → dev_id;
 *             with PASID points, the checks below; one DMA buffer (anonymous
 *             memory, MapSize bytes); per domain an IOAS that maps the buffer
 *             at IOVA= (Layout=missing-range: odd domains map nothing) and
 *             IOMMU_HWPT_ALLOC(dev_id, IOAS) → HWPT, flagged
 *             IOMMU_HWPT_ALLOC_PASID when there are PASID points.
 *   attach    VFIO_DEVICE_ATTACH_IOMMUFD_PT(hwpt[d]) on the RID, the same with
 *             VFIO_DEVICE_ATTACH_PASID and the PASID for a PASID point.
 *   replace   the same ioctl: attaching while attached replaces, which is the
 *             operation under test. Workers of different points replace
 *             concurrently; the kernel serialises them on the device.
 *   detach    VFIO_DEVICE_DETACH_IOMMUFD_PT (with VFIO_DEVICE_DETACH_PASID).
 *   teardown  detaches every PASID still attached, then the RID, and only
 *             then releases HWPTs and IOASes.
 *   request   a thread waits on VFIO_PCI_REQ_IRQ_INDEX: when the device is
 *             unbound or unplugged, the run fails with "device removed" and
 *             closes the device, which the kernel's unbind is waiting for.
 *   traffic   a thread copies Size= bytes from the first half of the buffer
 *             to the second through the device's DMA engine (dma-engine.h)
 *             and checks every byte; failures are FAULT_SOURCE_DMA_VERIFY
 *             faults attributed to the RID's replacement windows.
 *
 * PASID points are checked before anything is attached, each failure in
 * words: (a) the kernel has VFIO PASID attach (probed, not read off the
 * version: uapi_probe_vfio_pasid_attach()); (b) the device has a PCI PASID
 * capability and the IOMMU enabled it (IOMMU_GET_HW_INFO max_pasid_log2 > 0:
 * 7.2's iommu_attach_device_pasid() skips devices whose max_pasids is 0, so
 * a PASID attach on one "succeeds" and does nothing); (c) every PASID is
 * below 2^max_pasid_log2 (and the capability's Max PASID Width). Then (d)
 * every point is attached to domain 0 once and detached again, so that a
 * refusal by the kernel (PASID compatibility, a PASID in use, driver limits)
 * is explained by setup() rather than surfacing as a bare errno from attach().
 *
 * Its Describe() members ("backend_info"): device, vendor_device, iommu_group,
 * cdev, bound_by_run, original_driver, dev_id, engine, layout, iova, map_size,
 * hwpt_alloc_pasid, pasid {max_pasid_log2, pci_max_pasid_width} (null without
 * PASID points), domains [{index, ioas_id, hwpt_id, maps_buffer}],
 * replacements, points [{point, pasid, attached, replacements}], and dma
 * {size, src_iova, dst_iova, rate, verify, transfers, ok, errors,
 * errors_during_replace, by_reason {timeout, engine-error, mismatch,
 * not-written, stale}}.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "counter.h"
#include "backends/vfio/dma-engine.h"
#include "iommufd-ioctl.h"
#include "backends/vfio/pci-sysfs.h"
#include "backends/vfio/traffic-nvme.h"
#include "log.h"
#include "macro.h"
#include "pacer.h"
#include "parse-util.h"
#include "vtd/vtd-caps.h"

#define VFIO_FAULT_QUEUE "vfio-dma"
/* An edu copy takes ~0.2 s of virtual time; ten times that is a hang, not a slow guest. */
#define VFIO_DMA_TIMEOUT_NS (2 * NSEC_PER_SEC)
/* After a timeout, how long the engine may take to go idle before the run gives up on it. */
#define VFIO_DMA_STUCK_NS (5 * NSEC_PER_SEC)

/* PCI config space (include/uapi/linux/pci_regs.h). */
#define PCI_COMMAND	   0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

#define DMA_REASON_SLOTS (DMA_FAULT_FATAL + 1)
/* A block engine's queues sit above the DMA buffer, on a boundary of this. */
#define CONTROL_ALIGN (UINT64_C(1) << 20)

typedef struct VfioDomain {
	uint32_t ioas_id;
	uint32_t hwpt_id;
	bool has_ioas;
	bool has_hwpt;
	bool maps_buffer;
} VfioDomain;

/* One attachment point; a cache line each, as each has its own worker. */
typedef struct VfioPoint {
	_Alignas(CACHELINE) uint64_t replacements; /* written by the point's worker only */
	uint32_t pasid;				   /* ATTACH_POINT_RID or a PASID */
	bool attached;				   /* main thread only */
} VfioPoint;

typedef struct VfioBackend {
	const Scenario *scenario;
	const HostEnv *env;
	PciDevice *pci;
	PciBinding *binding;
	int iommufd;
	int device_fd;
	uint32_t dev_id;

	uint8_t *buf; /* the DMA buffer, mapped at scenario->iova in the even (or all) domains */
	size_t buf_size;
	VfioDomain *domains;
	unsigned n_domains;

	FaultSink *sink;
	/* The kernel's request to give the device back (VFIO_PCI_REQ_IRQ_INDEX). */
	int req_fd;
	int req_stop_fd;
	/* NvmeCompletions=msix: what MSI-X vector 0 signals; -EBADF when polling. */
	int irq_fd;
	pthread_t req_thread;
	bool req_thread_started;

	VfioPoint *points; /* scenario->n_points, in its order */
	size_t n_points;
	size_t n_pasids;
	unsigned rid;		     /* index of the RID point, UINT_MAX when there is none */
	AttachPointState *rid_state; /* its replacement window (DMA without PASID goes there) */
	uint32_t hwpt_flags;	     /* IOMMU_HWPT_ALLOC_PASID with PASID points */
	uint8_t max_pasid_log2;	     /* IOMMU_GET_HW_INFO, read with PASID points only */
	PciPasidCap pasid_cap;	     /* from config space, when pasid_cap_known */
	bool pasid_cap_known;

	/* DMA traffic; engine NULL when the scenario has none. */
	const DmaEngineDriver *driver;
	DmaEngine *engine;
	uint8_t *bar;
	uint64_t bar_size;
	uint64_t config_offset;
	uint16_t saved_command;
	bool command_changed;
	FaultQueue *queue;
	uint64_t src_off, dst_off;
	/* Block engines: queue memory mapped at control_iova in every domain. */
	NvmeTraffic *nvme;
	uint8_t *control;
	size_t control_size;
	uint64_t control_iova;
	pthread_t thread;
	bool thread_started;
	bool stop;

	/* Written by the traffic thread only (relaxed atomics), read by sample() and describe(). */
	_Alignas(CACHELINE) uint64_t dma_ok;
	uint64_t dma_errors;
	uint64_t dma_errors_during;
	uint64_t dma_by_reason[DMA_REASON_SLOTS];
	uint64_t holds, held_ns; /* replacements held while a block engine recovers */

	/* The hold's handshake (nvme_hold(), vfio_gate()): set by the traffic thread… */
	_Alignas(CACHELINE) bool replace_hold;
	/* …and by the RID's worker from its gate until its replacement returned. */
	_Alignas(CACHELINE) bool replace_busy;
} VfioBackend;

static int vfio_probe(const HostEnv *env, char **reason)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *class = NULL;
	char e[96];
	int r;

	r = iommufd_open(env->dev_iommu, &fd);
	if (r == -ENOENT)
		return backend_errorf(
			reason, -EOPNOTSUPP,
			"no %s: kernel without CONFIG_IOMMUFD, or the iommufd module is not loaded (modprobe iommufd)",
			env->dev_iommu);
	if (r == -EACCES || r == -EPERM)
		return backend_errorf(reason, r,
				      "cannot open %s: %s (iommutestd needs root for VFIO)",
				      env->dev_iommu, backend_errno_text(r, e, sizeof(e)));
	if (r < 0)
		return backend_errorf(reason, r, "cannot open %s: %s", env->dev_iommu,
				      backend_errno_text(r, e, sizeof(e)));

	/* HWPT_ALLOC came with the VFIO cdev, attach-as-replace and GET_HW_INFO (6.6). */
	r = uapi_probe_iommufd_command(fd, IOMMU_HWPT_ALLOC);
	if (r == 0)
		return backend_errorf(
			reason, -EOPNOTSUPP,
			"iommufd in this kernel has no IOMMU_HWPT_ALLOC: the vfio backend needs Linux ≥ 6.6");
	if (r < 0)
		return backend_errorf(reason, r, "probing iommufd on %s failed: %s", env->dev_iommu,
				      backend_errno_text(r, e, sizeof(e)));

	/* The vfio-dev class exists as soon as vfio is loaded with CONFIG_VFIO_DEVICE_CDEV. */
	if (asprintf(&class, "%s/class/vfio-dev", env->sysfs) < 0)
		return -ENOMEM;
	if (access(class, F_OK) < 0)
		return backend_errorf(
			reason, -EOPNOTSUPP,
			"no %s: kernel without CONFIG_VFIO_DEVICE_CDEV, or vfio is not loaded (modprobe vfio-pci)",
			class);
	return 0;
}

static const char *device_state(const PciDevice *d)
{
	return pci_device_vfio_ready(d) ? "ready" : "bindable";
}

static char *device_description(const PciDevice *d)
{
	const DmaEngineDriver *drv = dma_engine_match(d->vendor, d->device, d->class);
	char *s;

	if (drv) {
		if (asprintf(&s, "%s (%04x:%04x)", drv->description, d->vendor, d->device) < 0)
			return NULL;
	} else if (asprintf(&s, "PCI %04x:%04x class %06x", d->vendor, d->device, d->class) < 0)
		return NULL;
	return s;
}

static int vfio_list_devices(const HostEnv *env, BackendDevice **ret, size_t *ret_n)
{
	PciDevice **l = NULL;
	BackendDevice *devs;
	size_t n = 0, k = 0;
	int r;

	r = pci_device_list(env, &l, &n);
	if (r < 0)
		return r;
	devs = calloc(MAX(n, (size_t)1), sizeof(*devs));
	if (!devs) {
		pci_device_list_free(l, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		BackendDevice *d = &devs[k];

		/* Without an IOMMU group there is nothing the IOMMU could attach. */
		if (!l[i]->iommu_group)
			continue;
		d->id = strdup(l[i]->bdf);
		d->description = device_description(l[i]);
		d->driver = strdup(l[i]->driver ?: "");
		d->state = strdup(device_state(l[i]));
		k++;
		if (!d->id || !d->description || !d->driver || !d->state) {
			r = -ENOMEM;
			break;
		}
	}
	pci_device_list_free(l, n);
	if (r < 0) {
		for (size_t i = 0; i < k; i++)
			backend_device_clear(&devs[i]);
		free(devs);
		return r;
	}
	*ret = devs;
	*ret_n = k;
	return 0;
}

static const char *hw_info_type_to_string(uint32_t type)
{
	switch (type) {
	case IOMMU_HW_INFO_TYPE_NONE:
		return "none";
	case IOMMU_HW_INFO_TYPE_INTEL_VTD:
		return "intel-vtd";
	default:
		return "unknown";
	}
}

/* IOMMU_GET_HW_INFO through a short-lived bind of the device's cdev. */
static int describe_hw_info(const HostEnv *env, const PciDevice *d, JsonWriter *j, char **why)
{
	_cleanup_close_ int iommufd = -EBADF, device_fd = -EBADF;
	struct iommu_hw_info_vtd vtd = {};
	uint32_t dev_id, type = 0, len = sizeof(vtd);
	uint64_t caps = 0;
	uint8_t pasid_log2 = 0;
	char e[96];
	int r;

	r = iommufd_open(env->dev_iommu, &iommufd);
	if (r < 0)
		return backend_errorf(why, r, "cannot open %s: %s", env->dev_iommu,
				      backend_errno_text(r, e, sizeof(e)));
	device_fd = open(d->cdev_path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (device_fd < 0)
		return backend_errorf(why, -errno, "cannot open %s: %s", d->cdev_path,
				      backend_errno_text(-errno, e, sizeof(e)));
	r = vfio_device_bind_iommufd(device_fd, iommufd, &dev_id);
	if (r < 0)
		return backend_errorf(
			why, r,
			"VFIO_DEVICE_BIND_IOMMUFD failed: %s (a run or another VFIO user may hold the device)",
			backend_errno_text(r, e, sizeof(e)));
	r = iommufd_get_hw_info(iommufd, dev_id, &type, &vtd, &len, &caps, &pasid_log2);
	if (r < 0)
		return backend_errorf(why, r, "IOMMU_GET_HW_INFO failed: %s",
				      backend_errno_text(r, e, sizeof(e)));

	json_object_begin(j, "hw_info");
	json_string(j, "type", hw_info_type_to_string(type));
	json_u64(j, "type_id", type);
	json_array_begin(j, "capabilities");
	if (caps & IOMMU_HW_CAP_DIRTY_TRACKING)
		json_string(j, NULL, "dirty-tracking");
	if (caps & IOMMU_HW_CAP_PCI_PASID_EXEC)
		json_string(j, NULL, "pasid-exec");
	if (caps & IOMMU_HW_CAP_PCI_PASID_PRIV)
		json_string(j, NULL, "pasid-priv");
	json_array_end(j);
	json_u64(j, "capabilities_raw", caps);
	/* 0 when the device has no PASID support enabled by the IOMMU driver. */
	json_u64(j, "max_pasid_log2", pasid_log2);
	if (type == IOMMU_HW_INFO_TYPE_INTEL_VTD && len >= sizeof(vtd)) {
		json_object_begin(j, "vtd");
		json_u64(j, "flags", vtd.flags);
		json_bool(j, "errata_772415_spr17",
			  vtd.flags & IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
		vtd_caps_describe(j, vtd.cap_reg, vtd.ecap_reg);
		json_object_end(j);
	}
	json_object_end(j);
	/* Closing the cdev unbinds it from the iommufd again. */
	return 0;
}

static void describe_pasid(const PciDevice *d, JsonWriter *j)
{
	_cleanup_free_ uint8_t *config = NULL;
	PciPasidCap cap;
	size_t len = 0;
	int r;

	config = calloc(1, 4096);
	if (!config) {
		json_null(j, "pasid");
		return;
	}
	r = pci_device_read_config(d, config, 4096, &len);
	if (r >= 0)
		r = pci_config_find_pasid(config, len, &cap);
	if (r < 0) {
		/* No config file, or only the unprivileged 64 bytes of it: unknown. */
		json_null(j, "pasid");
		return;
	}
	json_object_begin(j, "pasid");
	json_bool(j, "capable", cap.present);
	json_u64(j, "max_width", cap.width);
	json_bool(j, "exec", cap.exec);
	json_bool(j, "privileged", cap.priv);
	json_bool(j, "enabled", cap.enabled);
	json_object_end(j);
}

static int vfio_device_info(const HostEnv *env, const char *id, JsonWriter *j, char **error)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *why = NULL;
	const DmaEngineDriver *drv;
	char buf[32];
	int r;

	r = pci_device_new(env, id, &d, error);
	if (r < 0)
		return r;

	json_string(j, "bdf", d->bdf);
	snprintf(buf, sizeof(buf), "0x%04x", d->vendor);
	json_string(j, "vendor", buf);
	snprintf(buf, sizeof(buf), "0x%04x", d->device);
	json_string(j, "device", buf);
	snprintf(buf, sizeof(buf), "0x%06x", d->class);
	json_string(j, "class", buf);
	json_string(j, "driver", d->driver);
	json_string(j, "iommu_group", d->iommu_group);
	json_string(j, "vfio_cdev", d->cdev_path);
	json_string(j, "state", device_state(d));
	drv = dma_engine_match(d->vendor, d->device, d->class);
	json_string(j, "dma_engine", drv ? drv->name : NULL);
	if (drv && drv->block)
		nvme_describe_host(d, j);
	describe_pasid(d, j);

	if (!pci_device_vfio_ready(d))
		r = pci_device_check_vfio(env, d, &why);
	else
		r = describe_hw_info(env, d, j, &why);
	if (r < 0) {
		json_null(j, "hw_info");
		json_string(j, "hw_info_unavailable", why ?: strerror(ERRNO_VALUE(r)));
	}
	return 0;
}

/* --- traffic --- */

static bool traffic_stopping(void *userdata)
{
	VfioBackend *b = userdata;

	return __atomic_load_n(&b->stop, __ATOMIC_RELAXED);
}

static void dma_fault(VfioBackend *b, uint64_t seq, unsigned reason, FaultAccess access,
		      uint64_t iova, bool during, uint32_t domain, uint64_t t, const char *fmt, ...)
	_printf_(9, 10);
static void dma_fault(VfioBackend *b, uint64_t seq, unsigned reason, FaultAccess access,
		      uint64_t iova, bool during, uint32_t domain, uint64_t t, const char *fmt, ...)
{
	FaultRecord f = {
		.time_ns = t,
		.address = iova,
		.ap = b->rid,
		.reason = reason,
		.source = FAULT_SOURCE_DMA_VERIFY,
		.access = (uint8_t)access,
		.during_replace = during,
	};
	int n;
	va_list ap;

	/* No replacement overlapped the copy: it ran entirely on one domain, read inside it. */
	if (!during && domain != UINT32_MAX) {
		f.domain = domain;
		f.domain_known = true;
	}
	n = snprintf(f.reason_text, sizeof(f.reason_text), "transfer %" PRIu64 ": ", seq);
	va_start(ap, fmt);
	vsnprintf(f.reason_text + n, sizeof(f.reason_text) - (size_t)n, fmt, ap);
	va_end(ap);

	counter_inc(b->dma_errors);
	counter_inc(b->dma_by_reason[reason < DMA_REASON_SLOTS ? reason : 0]);
	if (during)
		counter_inc(b->dma_errors_during);
	fault_queue_push(b->queue, &f);
}

/* A transfer's replacement window: sampled when it starts… */
static void window_open(void *userdata, TrafficWindow *w)
{
	VfioBackend *b = userdata;

	w->seq = __atomic_load_n(&b->rid_state->window_seq, __ATOMIC_ACQUIRE);
	w->t0 = now_ns(CLOCK_MONOTONIC);
}

/*
 * …and when it ended: it overlapped a replacement if one was in flight when
 * it started, or one started or ended while it ran, or it started within
 * SettleTime= of the last one ending. If none did, *domain is the domain it
 * ran on (read between the two samples).
 */
static bool window_close(void *userdata, const TrafficWindow *w, uint32_t *domain)
{
	VfioBackend *b = userdata;
	uint32_t dom;
	uint64_t w1;
	bool during;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	dom = __atomic_load_n(&b->rid_state->domain, __ATOMIC_ACQUIRE);
	w1 = __atomic_load_n(&b->rid_state->window_seq, __ATOMIC_ACQUIRE);
	during = (w->seq & 1) || w1 != w->seq ||
		 attach_point_in_window(b->rid_state, w->t0, b->scenario->settle_ns);
	*domain = during ? UINT32_MAX : dom;
	return during;
}

static void *traffic_main(void *userdata)
{
	VfioBackend *b = userdata;
	const Scenario *s = b->scenario;
	const DmaEngineDriver *drv = b->driver;
	uint8_t *src = b->buf + b->src_off, *dst = b->buf + b->dst_off;
	uint64_t src_iova = s->iova + b->src_off, dst_iova = s->iova + b->dst_off;
	uint64_t seq = 0;
	uint32_t len = s->dma_size;
	char e[96];
	Pacer pacer;

	pacer_init(&pacer, s->dma_rate > 0 ? (uint64_t)llround(1e9 / s->dma_rate) : 0,
		   now_ns(CLOCK_MONOTONIC));

	while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
		TrafficWindow w;
		uint64_t t1;
		uint32_t dom;
		DmaCheck c;
		bool during;
		int r;

		if (!pacer_wait(&pacer, traffic_stopping, b))
			break;

		seq++;
		dma_pattern_fill(src, len, seq);
		/* A destination the device never writes keeps this: it never passes for data. */
		dma_pattern_poison(dst, len, seq);
		/* The device must see the data: no store may sink past the doorbell. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);

		window_open(b, &w);
		r = drv->memcpy_start(b->engine, src_iova, dst_iova, len);
		if (r >= 0)
			r = drv->memcpy_wait(b->engine, VFIO_DMA_TIMEOUT_NS);
		t1 = now_ns(CLOCK_MONOTONIC);
		during = window_close(b, &w, &dom);

		if (r == -ETIMEDOUT) {
			dma_fault(b, seq, DMA_FAULT_TIMEOUT, FAULT_ACCESS_UNKNOWN, src_iova, during,
				  dom, t1, "%s did not finish %" PRIu32 " bytes in %" PRIu64 " ms",
				  drv->name, len, VFIO_DMA_TIMEOUT_NS / NSEC_PER_MSEC);
			r = drv->quiesce(b->engine, VFIO_DMA_STUCK_NS);
			if (r < 0) {
				char reason[256];

				snprintf(reason, sizeof(reason),
					 "DMA engine %s on %s is stuck (still busy %" PRIu64
					 " s after a timed-out transfer): %s",
					 drv->name, b->pci->bdf,
					 (VFIO_DMA_TIMEOUT_NS + VFIO_DMA_STUCK_NS) / NSEC_PER_SEC,
					 backend_errno_text(r, e, sizeof(e)));
				fault_sink_fail(
					b->sink, r == -ENODEV ? -ENODEV : -ETIMEDOUT,
					r == -ENODEV
						? "device removed (DMA engine registers read all ones)"
						: reason);
				break;
			}
			continue;
		}
		if (r == -ENODEV) {
			dma_fault(b, seq, DMA_FAULT_ENGINE, FAULT_ACCESS_UNKNOWN, src_iova, during,
				  dom, t1, "%s stopped answering (registers read all ones)",
				  drv->name);
			fault_sink_fail(b->sink, -ENODEV,
					"device removed (DMA engine registers read all ones)");
			break;
		}
		if (r < 0) {
			dma_fault(b, seq, DMA_FAULT_ENGINE, FAULT_ACCESS_UNKNOWN, src_iova, during,
				  dom, t1, "%s refused the transfer: %s", drv->name,
				  backend_errno_text(r, e, sizeof(e)));
			(void)drv->quiesce(b->engine, VFIO_DMA_STUCK_NS);
			continue;
		}

		if (!s->verify || dma_pattern_check(dst, len, seq, &c)) {
			counter_inc(b->dma_ok);
			continue;
		}
		/*
		 * Which half of the copy went wrong: a destination never written
		 * means the device's write to memory faulted; written but wrong or
		 * stale means the read of the source did (the device copied what it
		 * got instead, zeros or its buffer's old contents).
		 */
		switch (c.reason) {
		case DMA_FAULT_NOT_WRITTEN:
			dma_fault(b, seq, c.reason, FAULT_ACCESS_WRITE, dst_iova, during, dom, t1,
				  "destination not written (%" PRIu32 " bytes)", len);
			break;
		case DMA_FAULT_STALE:
			dma_fault(b, seq, c.reason, FAULT_ACCESS_READ, src_iova, during, dom, t1,
				  "destination holds transfer %" PRIu64 "'s data", c.stale_seq);
			break;
		default:
			dma_fault(b, seq, DMA_FAULT_MISMATCH, FAULT_ACCESS_READ, src_iova, during,
				  dom, t1, "mismatch at +%zu: 0x%02x, expected 0x%02x", c.offset,
				  c.got, c.expected);
			break;
		}
	}
	return NULL;
}

static void nvme_ok(void *userdata)
{
	VfioBackend *b = userdata;

	counter_inc(b->dma_ok);
}

static void nvme_fault(void *userdata, uint64_t seq, unsigned reason, FaultAccess access,
		       uint64_t iova, bool during, uint32_t domain, const char *text)
{
	dma_fault(userdata, seq, reason, access, iova, during, domain, now_ns(CLOCK_MONOTONIC), "%s",
		  text);
}

/* hold() waits this long at most for a replacement in flight to finish. */
#define HOLD_MAX_NS  NSEC_PER_SEC
#define HOLD_POLL_NS (20 * NSEC_PER_USEC)

/*
 * The hold is a Dekker handshake between the traffic thread (hold()) and the
 * RID's worker (vfio_gate() then vfio_replace()): each sets its own flag,
 * then reads the other's, both sequentially consistent, so that at least one
 * sees the other. The worker's flag stays up from the gate until its
 * replacement has returned; hold() waits for it to come down.
 */
static void nvme_hold(void *userdata, bool on)
{
	VfioBackend *b = userdata;
	uint64_t start;

	if (!on) {
		__atomic_store_n(&b->replace_hold, false, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&b->replace_hold, true, __ATOMIC_SEQ_CST);
	/* Bounded: a replacement stuck in the kernel does not stop the recovery, which retries. */
	start = now_ns(CLOCK_MONOTONIC);
	while (__atomic_load_n(&b->replace_busy, __ATOMIC_SEQ_CST) &&
	       now_ns(CLOCK_MONOTONIC) - start < HOLD_MAX_NS)
		sleep_ns(HOLD_POLL_NS);
	counter_inc(b->holds);
}

/* Replacements of the RID wait while the NVMe controller is re-initialised. */
static void vfio_gate(void *ctx, unsigned ap)
{
	VfioBackend *b = ctx;
	uint64_t t0 = 0;

	if (ap != b->rid || !b->nvme)
		return;
	for (;;) {
		__atomic_store_n(&b->replace_busy, true, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&b->replace_hold, __ATOMIC_SEQ_CST))
			break;
		/* Held: step back, so that hold() sees no replacement coming, and wait. */
		__atomic_store_n(&b->replace_busy, false, __ATOMIC_SEQ_CST);
		if (!t0)
			t0 = now_ns(CLOCK_MONOTONIC);
		while (__atomic_load_n(&b->replace_hold, __ATOMIC_ACQUIRE))
			sleep_ns(HOLD_POLL_NS);
	}
	if (t0)
		counter_add(b->held_ns, now_ns(CLOCK_MONOTONIC) - t0);
}

static void nvme_fail(void *userdata, int r, const char *reason)
{
	VfioBackend *b = userdata;

	fault_sink_fail(b->sink, r, reason);
}

static void *nvme_main(void *userdata)
{
	VfioBackend *b = userdata;
	const NvmeTrafficHooks hooks = {
		.userdata = b,
		.stopping = traffic_stopping,
		.window_open = window_open,
		.window_close = window_close,
		.ok = nvme_ok,
		.fault = nvme_fault,
		.hold = nvme_hold,
		.fail = nvme_fail,
	};

	nvme_traffic_run(b->nvme, &hooks);
	return NULL;
}

static int vfio_traffic_start(void *ctx)
{
	VfioBackend *b = ctx;
	int r;

	if ((!b->engine && !b->nvme) || b->thread_started)
		return 0;
	if (b->nvme) {
		_cleanup_free_ char *error = NULL;

		/* Disabled since setup: the queues come back on the run's domain 0. */
		r = nvme_traffic_resume(b->nvme, &error);
		if (r < 0)
			return log_error_errno(r, "%s: re-enabling the NVMe controller failed: %s",
					       b->pci->bdf, error ?: strerror(-r));
	}
	__atomic_store_n(&b->stop, false, __ATOMIC_RELAXED);
	r = pthread_create(&b->thread, NULL, b->nvme ? nvme_main : traffic_main, b);
	if (r != 0)
		return -r;
	b->thread_started = true;
	return 0;
}

static void vfio_traffic_stop(void *ctx)
{
	VfioBackend *b = ctx;

	if (!b->thread_started)
		return;
	/* The transfer in flight completes and is counted: none is left to fault at rest. */
	__atomic_store_n(&b->stop, true, __ATOMIC_RELAXED);
	pthread_join(b->thread, NULL);
	b->thread_started = false;
}

/* --- the kernel asking for the device back --- */

/*
 * Unbinding a device from vfio-pci (or unplugging it) blocks in the kernel
 * until its user closes it; vfio-pci signals the VFIO_PCI_REQ_IRQ_INDEX
 * eventfd meanwhile and ioctls keep working, so only this tells the run that
 * the device is going.
 */
static int vfio_set_req_eventfd(int device_fd, int efd)
{
	int32_t fd32 = efd;

	return vfio_device_set_irq_eventfds(device_fd, VFIO_PCI_REQ_IRQ_INDEX, 0, &fd32, 1);
}

static void *request_main(void *userdata)
{
	VfioBackend *b = userdata;
	struct pollfd p[2] = {
		{.fd = b->req_fd, .events = POLLIN},
		{.fd = b->req_stop_fd, .events = POLLIN},
	};
	char reason[128];

	for (;;) {
		if (poll(p, ELEMENTSOF(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			log_debug_errno(-errno, "%s: polling the device request eventfd failed: %m",
					b->pci->bdf);
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (p[0].revents) {
			snprintf(
				reason, sizeof(reason),
				"device removed (the kernel asked for %s back: unbound from vfio-pci or unplugged)",
				b->pci->bdf);
			/* The run stops, tears down and closes the device, which lets the unbind
			 * finish. */
			fault_sink_fail(b->sink, -ENODEV, reason);
			return NULL;
		}
	}
}

static int setup_request(VfioBackend *b, char **error)
{
	char e[96];
	int r;

	b->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->req_fd < 0)
		return -errno;
	b->req_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->req_stop_fd < 0)
		return -errno;
	r = vfio_set_req_eventfd(b->device_fd, b->req_fd);
	if (r < 0)
		return backend_errorf(
			error, r,
			"registering for device requests (VFIO_DEVICE_SET_IRQS, VFIO_PCI_REQ_IRQ_INDEX) on %s failed: %s",
			b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	r = pthread_create(&b->req_thread, NULL, request_main, b);
	if (r != 0)
		return -r;
	b->req_thread_started = true;
	return 0;
}

/* --- attachment points --- */

/* Attach, or replace when attached: the kernel tells the two apart itself. */
static int point_attach(VfioBackend *b, size_t i, unsigned domain)
{
	VfioPoint *p = &b->points[i];
	uint32_t hwpt = b->domains[domain].hwpt_id;
	int r;

	if (p->pasid == ATTACH_POINT_RID)
		r = vfio_device_attach_iommufd_pt(b->device_fd, hwpt, NULL);
	else
		r = vfio_device_attach_pasid(b->device_fd, p->pasid, hwpt);
	if (r >= 0)
		p->attached = true;
	return r;
}

static int point_detach(VfioBackend *b, size_t i)
{
	VfioPoint *p = &b->points[i];
	int r;

	if (!p->attached)
		return 0;
	if (p->pasid == ATTACH_POINT_RID)
		r = vfio_device_detach_iommufd_pt(b->device_fd);
	else
		r = vfio_device_detach_pasid(b->device_fd, p->pasid);
	if (r >= 0)
		p->attached = false;
	return r;
}

/*
 * Every PASID first, then the RID: the reverse of how PASIDs are built up, so
 * that no PASID goes on translating for a device whose RID is blocked
 * already. Returns the first error, but goes on after one, so that as little
 * as possible stays attached (closing the device drops the rest).
 */
static int detach_all(VfioBackend *b)
{
	int ret = 0;

	for (int rid = 0; rid <= 1; rid++)
		for (size_t i = 0; b->points && i < b->n_points; i++) {
			char where[32];
			int r;

			if ((b->points[i].pasid == ATTACH_POINT_RID) != rid)
				continue;
			r = point_detach(b, i);
			if (r >= 0)
				continue;
			log_debug_errno(
				r, "%s: detaching %s failed: %m", b->pci->bdf,
				attach_point_to_string(b->points[i].pasid, where, sizeof(where)));
			if (ret == 0)
				ret = r;
		}
	return ret;
}

/* --- setup and teardown --- */

static void vfio_teardown(void *ctx)
{
	VfioBackend *b = ctx;
	int r;

	if (!b)
		return;
	if (b->req_thread_started) {
		(void)!write(b->req_stop_fd, &(uint64_t){1}, sizeof(uint64_t));
		pthread_join(b->req_thread, NULL);
	}
	vfio_traffic_stop(b);
	if (b->engine)
		b->driver->remove(b->engine);
	b->engine = NULL;
	/* Disables the controller: no DMA into the queues or buffers after this. */
	nvme_traffic_free(TAKE_PTR(b->nvme));
	/* MSI-X off before the eventfd goes (closing the device would also turn it off). */
	if (b->irq_fd >= 0 &&
	    vfio_device_set_irq_eventfds(b->device_fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, NULL, 0) < 0)
		log_debug("%s: turning MSI-X off failed", b->pci->bdf);
	b->irq_fd = safe_close(b->irq_fd);
	/* Bus mastering back off, as vfio-pci will on close; the device may already be gone. */
	if (b->command_changed &&
	    pwrite(b->device_fd, &b->saved_command, sizeof(b->saved_command),
		   (off_t)(b->config_offset + PCI_COMMAND)) != sizeof(b->saved_command))
		log_debug_errno(-errno, "%s: restoring PCI_COMMAND failed: %m", b->pci->bdf);
	if (b->bar)
		(void)munmap(b->bar, b->bar_size);

	(void)detach_all(b);
	/*
	 * Closing the cdev unbinds the device from the iommufd, which also drops
	 * an attachment that detach could not undo (device gone); the HWPTs are
	 * free to go after that.
	 */
	b->device_fd = safe_close(b->device_fd);
	/* Closing the device dropped the kernel's hold on the request eventfd. */
	b->req_fd = safe_close(b->req_fd);
	b->req_stop_fd = safe_close(b->req_stop_fd);
	for (unsigned d = 0; b->domains && d < b->n_domains; d++) {
		VfioDomain *dom = &b->domains[d];

		if (dom->has_hwpt) {
			r = iommufd_destroy(b->iommufd, dom->hwpt_id);
			if (r < 0)
				log_debug_errno(r, "Destroying HWPT %" PRIu32 " failed: %m",
						dom->hwpt_id);
		}
		/* Destroying the IOAS unmaps and unpins the buffer in it. */
		if (dom->has_ioas) {
			r = iommufd_destroy(b->iommufd, dom->ioas_id);
			if (r < 0)
				log_debug_errno(r, "Destroying IOAS %" PRIu32 " failed: %m",
						dom->ioas_id);
		}
	}
	free(b->domains);
	free(b->points);
	b->iommufd = safe_close(b->iommufd);
	if (b->buf)
		(void)munmap(b->buf, b->buf_size);
	if (b->control)
		(void)munmap(b->control, b->control_size);
	r = pci_binding_restore(TAKE_PTR(b->binding));
	if (r < 0)
		log_debug_errno(r, "%s: giving the device back to its driver failed: %m",
				b->pci ? b->pci->bdf : "device");
	pci_device_free(b->pci);
	free(b);
}

static int bind_error(const VfioBackend *b, int r, char **error)
{
	char e[96];

	if (r == -EBUSY)
		return backend_errorf(
			error, r,
			"%s is in use through its VFIO group /dev/vfio/%s (QEMU or another legacy VFIO user?): VFIO_DEVICE_BIND_IOMMUFD failed: %s",
			b->pci->bdf, strempty(b->pci->iommu_group),
			backend_errno_text(r, e, sizeof(e)));
	if (r == -EINVAL)
		return backend_errorf(
			error, r,
			"%s is already bound to an iommufd by another user of %s: VFIO_DEVICE_BIND_IOMMUFD failed: %s",
			b->pci->bdf, b->pci->cdev_path, backend_errno_text(r, e, sizeof(e)));
	return backend_errorf(error, r, "VFIO_DEVICE_BIND_IOMMUFD on %s failed: %s",
			      b->pci->cdev_path, backend_errno_text(r, e, sizeof(e)));
}

/* "0000:00:03.0 (QEMU edu, 1234:11e8)", for messages about the device itself. */
static const char *device_name(const VfioBackend *b, char *buf, size_t n)
{
	const DmaEngineDriver *drv = dma_engine_match(b->pci->vendor, b->pci->device, b->pci->class);

	if (drv)
		snprintf(buf, n, "%s (%s, %04x:%04x)", b->pci->bdf, drv->description,
			 b->pci->vendor, b->pci->device);
	else
		snprintf(buf, n, "%s (PCI %04x:%04x)", b->pci->bdf, b->pci->vendor, b->pci->device);
	return buf;
}

/* The first PASID point, as the scenario wrote it: what the PASID checks name. */
static uint32_t first_pasid(const VfioBackend *b)
{
	for (size_t i = 0; i < b->n_points; i++)
		if (b->points[i].pasid != ATTACH_POINT_RID)
			return b->points[i].pasid;
	return ATTACH_POINT_RID;
}

/* (a): does this kernel attach PASIDs through the VFIO cdev at all? */
static int check_pasid_kernel(VfioBackend *b, char **error)
{
	struct utsname u = {};
	char e[96];
	int r;

	r = uapi_probe_vfio_pasid_attach(b->device_fd);
	if (r > 0)
		return 0;
	if (r == 0) {
		(void)uname(&u);
		return backend_errorf(
			error, -EOPNOTSUPP,
			"kernel lacks PASID attach: VFIO_DEVICE_ATTACH_PASID needs Linux 6.15 or newer (this kernel: %s); [Attach] Points= lists PASID %" PRIu32
			" (use Points=RID)",
			u.release[0] ? u.release : "unknown", first_pasid(b));
	}
	if (r == -EOPNOTSUPP)
		return backend_errorf(
			error, r,
			"the VFIO driver of %s (%s) cannot attach PASIDs: VFIO_DEVICE_ATTACH_PASID failed with %s",
			b->pci->bdf, strempty(b->pci->driver), backend_errno_text(r, e, sizeof(e)));
	return backend_errorf(
		error, r,
		"probing for PASID attach on %s (VFIO_DEVICE_ATTACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID) failed: %s",
		b->pci->cdev_path, backend_errno_text(r, e, sizeof(e)));
}

/*
 * (b) and (c): the device must be able to tag DMA with a PASID, the IOMMU
 * must have enabled that, and every PASID must fit. Config space says what
 * the device has (extended capability 0x1B); IOMMU_GET_HW_INFO says what the
 * IOMMU driver made of it: max_pasid_log2 = log2(min(the capability's
 * 2^width, the IOMMU's own limit)), 0 when PASID is not enabled. The kernel
 * itself refuses a PASID ≥ 2^max_pasid_log2 with EINVAL, but attaches any
 * PASID of a device without PASID support as a no-op, so this is checked
 * here, not left to it.
 */
static int check_pasid_device(VfioBackend *b, char **error)
{
	_cleanup_free_ uint8_t *config = NULL;
	char dev[160], e[96];
	uint64_t caps = 0, limit;
	uint32_t pasid = first_pasid(b), beyond = ATTACH_POINT_RID;
	size_t len = 0, n_beyond = 0;
	int r;

	config = calloc(1, 4096);
	if (!config)
		return -ENOMEM;
	r = pci_device_read_config(b->pci, config, 4096, &len);
	if (r >= 0)
		r = pci_config_find_pasid(config, len, &b->pasid_cap);
	/* Unreadable, or the 64 bytes of an unprivileged reader: IOMMU_GET_HW_INFO decides. */
	b->pasid_cap_known = r >= 0;
	if (r < 0)
		log_debug_errno(r, "%s: no PASID capability information from config space: %m",
				b->pci->bdf);

	r = iommufd_get_hw_info(b->iommufd, b->dev_id, NULL, NULL, NULL, &caps, &b->max_pasid_log2);
	if (r < 0)
		return backend_errorf(error, r, "IOMMU_GET_HW_INFO for %s failed: %s", b->pci->bdf,
				      backend_errno_text(r, e, sizeof(e)));

	device_name(b, dev, sizeof(dev));
	if (b->pasid_cap_known && !b->pasid_cap.present)
		return backend_errorf(
			error, -EOPNOTSUPP,
			"%s has no PASID capability: its config space lists no PCI PASID extended capability (ID 0x1B), so it cannot issue DMA tagged with a PASID; [Attach] Points= lists PASID %" PRIu32
			" (use Points=RID, or a PASID-capable device)",
			dev, pasid);
	if (b->max_pasid_log2 == 0) {
		if (b->pasid_cap_known)
			return backend_errorf(
				error, -EOPNOTSUPP,
				"%s has a PCI PASID capability (Max PASID Width %u), but the IOMMU did not enable PASID for it (IOMMU_GET_HW_INFO: max_pasid_log2 0): an IOMMU without PASID support, or VT-d not in scalable mode (intel_iommu=on,sm_on; QEMU: x-scalable-mode=on,x-pasid-mode=on); [Attach] Points= lists PASID %" PRIu32,
				dev, b->pasid_cap.width, pasid);
		return backend_errorf(
			error, -EOPNOTSUPP,
			"%s has no PASID capability enabled by the IOMMU (IOMMU_GET_HW_INFO: max_pasid_log2 0): the device has no PCI PASID capability, or the IOMMU lacks PASID support; [Attach] Points= lists PASID %" PRIu32
			" (use Points=RID)",
			dev, pasid);
	}

	limit = UINT64_C(1) << MIN(b->max_pasid_log2, 32u);
	/* The IOMMU's figure already includes the capability's; a width below it would be a
	 * kernel bug, but then the device's own limit is the one that counts. */
	if (b->pasid_cap_known && b->pasid_cap.width < b->max_pasid_log2)
		limit = UINT64_C(1) << b->pasid_cap.width;
	for (size_t i = 0; i < b->n_points; i++) {
		uint32_t p = b->points[i].pasid;

		if (p == ATTACH_POINT_RID || p < limit)
			continue;
		if (n_beyond++ == 0)
			beyond = p;
	}
	if (n_beyond > 0) {
		char also[64] = "", width[96] = "";

		if (n_beyond > 1)
			snprintf(also, sizeof(also), " (and %zu more of its PASIDs)", n_beyond - 1);
		if (b->pasid_cap_known)
			snprintf(width, sizeof(width),
				 "; its PCI PASID capability says Max PASID Width %u",
				 b->pasid_cap.width);
		return backend_errorf(
			error, -ERANGE,
			"[Attach] Points= PASID %" PRIu32
			"%s is beyond what %s supports: IOMMU_GET_HW_INFO reports max_pasid_log2 %u%s, so its PASIDs are 1 to %" PRIu64
			" (below %" PRIu64 ")",
			beyond, also, dev, b->max_pasid_log2, width, limit - 1, limit);
	}
	log_debug("%s: PASIDs below %" PRIu64 " (max_pasid_log2 %u, capabilities 0x%" PRIx64 ")",
		  b->pci->bdf, limit, b->max_pasid_log2, caps);
	return 0;
}

/* (d): the kernel's reasons for refusing an attachment, from the 7.2 sources. */
static int attach_error(VfioBackend *b, size_t i, unsigned domain, int r, char **error)
{
	bool rid = b->points[i].pasid == ATTACH_POINT_RID;
	const char *why = NULL;
	char where[32], e[96];

	switch (ERRNO_VALUE(r)) {
	case EINVAL:
		why = rid ? "the HWPT is not PASID-compatible while PASIDs are attached, or another device of the IOMMU group is attached elsewhere"
			  : "the PASID is beyond the device's limit, the HWPT or the RID's HWPT is not PASID-compatible (IOMMU_HWPT_ALLOC_PASID), or the HWPT's domain does not suit this device's IOMMU";
		break;
	case EOPNOTSUPP:
		why = rid ? "the IOMMU driver cannot attach this HWPT"
			  : "the IOMMU driver cannot attach PASIDs of this device (no PASID support in the IOMMU, e.g. VT-d without ECAP.PASID, or a domain type without PASID support)";
		break;
	case EBUSY:
		why = rid ? "the device is being reset, or its translation was inherited from a previous kernel"
			  : "the PASID is in use already (by the kernel, SVA or another domain), the device is being reset, or its translation was inherited from a previous kernel";
		break;
	case ENOSPC:
		why = "the PASID is in use already";
		break;
	case ENODEV:
	case ENXIO:
		why = "the device is gone";
		break;
	default:
		break;
	}
	return backend_errorf(error, r,
			      "attaching %s of %s to domain %u (HWPT %" PRIu32 ") failed: %s%s%s",
			      attach_point_to_string(b->points[i].pasid, where, sizeof(where)),
			      b->pci->bdf, domain, b->domains[domain].hwpt_id,
			      backend_errno_text(r, e, sizeof(e)), why ? ": " : "", strempty(why));
}

/*
 * With PASIDs the kernel has reasons of its own to refuse an attachment, and
 * attach() can only return an errno. So every point is attached to domain 0
 * once here, where a refusal can be explained, and detached again: setup()
 * still leaves nothing attached, and the run's own attach() then only fails
 * on what changed since.
 */
static int setup_trial_attach(VfioBackend *b, char **error)
{
	char e[96];
	int r;

	for (size_t i = 0; i < b->n_points; i++) {
		r = point_attach(b, i, 0);
		if (r < 0)
			return attach_error(b, i, 0, r, error);
	}
	r = detach_all(b);
	if (r < 0)
		return backend_errorf(error, r,
				      "detaching %s again after its trial attachment failed: %s",
				      b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	return 0;
}

static int setup_domains(VfioBackend *b, char **error)
{
	const Scenario *s = b->scenario;
	char e[96];
	int r;

	b->domains = calloc(s->n_domains, sizeof(*b->domains));
	if (!b->domains)
		return -ENOMEM;
	b->n_domains = s->n_domains;

	for (unsigned d = 0; d < b->n_domains; d++) {
		VfioDomain *dom = &b->domains[d];

		r = iommufd_ioas_alloc(b->iommufd, &dom->ioas_id);
		if (r < 0)
			return backend_errorf(error, r, "IOMMU_IOAS_ALLOC for domain %u failed: %s",
					      d, backend_errno_text(r, e, sizeof(e)));
		dom->has_ioas = true;

		/* The positive control: odd domains lack the DMA range, so DMA there must fault. */
		dom->maps_buffer = s->layout == LAYOUT_IDENTICAL || d % 2 == 0;
		if (dom->maps_buffer) {
			r = iommufd_ioas_map_fixed(b->iommufd, dom->ioas_id, b->buf, b->buf_size,
						   s->iova);
			if (r < 0)
				return backend_errorf(
					error, r,
					"IOMMU_IOAS_MAP of %zu bytes at IOVA 0x%" PRIx64
					" in domain %u failed: %s%s",
					b->buf_size, s->iova, d,
					backend_errno_text(r, e, sizeof(e)),
					r == -ENOMEM ? " (pinned memory limit, RLIMIT_MEMLOCK?)"
					: r == -EADDRINUSE || r == -EINVAL
						? " (does IOVA= overlap a reserved range such as the MSI window?)"
						: "");
		}

		/* The queues of a block engine are in every domain: a replacement keeps them. */
		if (b->control) {
			r = iommufd_ioas_map_fixed(b->iommufd, dom->ioas_id, b->control,
						   b->control_size, b->control_iova);
			if (r < 0)
				return backend_errorf(
					error, r,
					"IOMMU_IOAS_MAP of the %zu-byte NVMe queue memory at IOVA 0x%" PRIx64
					" (the next 1 MiB boundary above IOVA + MapSize) in domain %u failed: %s%s",
					b->control_size, b->control_iova, d,
					backend_errno_text(r, e, sizeof(e)),
					r == -EADDRINUSE || r == -EINVAL || r == -ENOSPC
						? " (does it overlap a reserved range such as the MSI window, or pass the IOMMU's aperture? lower IOVA= or MapSize=)"
						: "");
		}

		/*
		 * With PASID points every HWPT is PASID-compatible, the RID's too:
		 * iommufd refuses a PASID attachment while the RID is on a HWPT
		 * that is not, and a RID replacement onto one while PASIDs are
		 * attached (iommufd_hwpt_pasid_compat()).
		 */
		r = iommufd_hwpt_alloc(b->iommufd, b->dev_id, dom->ioas_id, b->hwpt_flags, 0,
				       IOMMU_HWPT_DATA_NONE, NULL, 0, &dom->hwpt_id);
		if (r < 0 && b->hwpt_flags)
			return backend_errorf(
				error, r,
				"IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID for %s, domain %u failed: %s%s",
				b->pci->bdf, d, backend_errno_text(r, e, sizeof(e)),
				r == -EOPNOTSUPP
					? " (the IOMMU driver cannot make PASID-capable domains for this device)"
					: "");
		if (r < 0)
			return backend_errorf(error, r,
					      "IOMMU_HWPT_ALLOC for %s, domain %u failed: %s",
					      b->pci->bdf, d, backend_errno_text(r, e, sizeof(e)));
		dom->has_hwpt = true;
	}
	return 0;
}

/*
 * NvmeCompletions=msix: MSI-X vector 0 of the controller signals an eventfd
 * (VFIO_DEVICE_SET_IRQS), which the NVMe driver sleeps on.
 */
static int nvme_msix_setup(VfioBackend *b, char **error)
{
	uint32_t count = 0, flags = 0;
	int32_t fd32;
	char e[96];
	int r;

	r = vfio_device_get_irq_info(b->device_fd, VFIO_PCI_MSIX_IRQ_INDEX, &count, &flags);
	if (r < 0)
		return backend_key_errorf(error, r, b->scenario, "Traffic.NvmeCompletions", "msix",
					  "asking vfio-pci for %s's MSI-X vectors (VFIO_DEVICE_GET_IRQ_INFO) failed: %s",
					  b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	if (count == 0 || !(flags & VFIO_IRQ_INFO_EVENTFD))
		return backend_key_errorf(error, -EOPNOTSUPP, b->scenario, "Traffic.NvmeCompletions",
					  "msix", "%s has no MSI-X vector vfio-pci can signal (use NvmeCompletions=poll)",
					  b->pci->bdf);
	b->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->irq_fd < 0)
		return backend_errorf(error, -errno, "eventfd() for MSI-X failed: %s",
				      backend_errno_text(-errno, e, sizeof(e)));
	fd32 = b->irq_fd;
	r = vfio_device_set_irq_eventfds(b->device_fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, &fd32, 1);
	if (r < 0) {
		b->irq_fd = safe_close(b->irq_fd);
		return backend_key_errorf(error, r, b->scenario, "Traffic.NvmeCompletions", "msix",
					  "enabling MSI-X vector 0 of %s (VFIO_DEVICE_SET_IRQS) failed: %s",
					  b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	}
	return 0;
}

static int setup_traffic(VfioBackend *b, const BackendSetup *setup, char **error)
{
	const DmaEngineDriver *drv = b->driver;
	struct vfio_region_info bar = {}, cfg = {};
	DmaEngineResources res;
	uint16_t command;
	char e[96];
	void *p;
	int r;

	r = vfio_device_get_region_info(b->device_fd, VFIO_PCI_BAR0_REGION_INDEX + drv->bar, &bar);
	if (r < 0)
		return backend_errorf(error, r,
				      "VFIO_DEVICE_GET_REGION_INFO for BAR%u of %s failed: %s",
				      drv->bar, b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < drv->min_bar_size)
		return backend_errorf(
			error, -EOPNOTSUPP,
			"BAR%u of %s cannot be used by the %s engine (%" PRIu64 " bytes, %s)",
			drv->bar, b->pci->bdf, drv->name, (uint64_t)bar.size,
			bar.flags & VFIO_REGION_INFO_FLAG_MMAP ? "mappable" : "not mappable");
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, b->device_fd,
		 (off_t)bar.offset);
	if (p == MAP_FAILED)
		return backend_errorf(error, -errno, "mapping BAR%u of %s failed: %s", drv->bar,
				      b->pci->bdf, backend_errno_text(-errno, e, sizeof(e)));
	b->bar = p;
	b->bar_size = bar.size;

	/*
	 * DMA needs bus mastering, and BAR access needs memory decoding (vfio-pci
	 * refuses mmap faults while it is off). Read-modify-write the command
	 * register through VFIO's virtualised config space.
	 */
	r = vfio_device_get_region_info(b->device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (r < 0)
		return backend_errorf(
			error, r,
			"VFIO_DEVICE_GET_REGION_INFO for the config space of %s failed: %s",
			b->pci->bdf, backend_errno_text(r, e, sizeof(e)));
	b->config_offset = cfg.offset;
	if (pread(b->device_fd, &command, sizeof(command), (off_t)(cfg.offset + PCI_COMMAND)) !=
	    sizeof(command))
		return backend_errorf(error, errno ? -errno : -EIO,
				      "reading PCI_COMMAND of %s failed: %s", b->pci->bdf,
				      backend_errno_text(errno ? -errno : -EIO, e, sizeof(e)));
	b->saved_command = command;
	command |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(b->device_fd, &command, sizeof(command), (off_t)(cfg.offset + PCI_COMMAND)) !=
	    sizeof(command))
		return backend_errorf(error, errno ? -errno : -EIO,
				      "enabling bus mastering on %s failed: %s", b->pci->bdf,
				      backend_errno_text(errno ? -errno : -EIO, e, sizeof(e)));
	b->command_changed = true;

	if (drv->block) {
		NvmeDma control = {.va = b->control, .iova = b->control_iova, .size = b->control_size};
		NvmeDma data = {.va = b->buf, .iova = b->scenario->iova, .size = b->buf_size};
		_cleanup_free_ char *why = NULL;
		int k;

		/*
		 * Identify and the reference copy need DMA, so the RID is attached
		 * to domain 0 for them, and detached again (the controller
		 * disabled first) before the run makes its own attachments.
		 */
		r = point_attach(b, b->rid, 0);
		if (r < 0)
			return attach_error(b, b->rid, 0, r, error);
		if (b->scenario->nvme_completions == NVME_COMPLETIONS_MSIX) {
			r = nvme_msix_setup(b, error);
			if (r < 0)
				return r;
		}
		r = nvme_traffic_new(b->bar, b->bar_size, &control, &data, b->irq_fd, b->scenario,
				     &b->nvme, &why);
		k = detach_all(b);
		if (r < 0)
			return backend_errorf(error, r, "the NVMe controller %s: %s", b->pci->bdf,
					      why ?: backend_errno_text(r, e, sizeof(e)));
		if (k < 0)
			return backend_errorf(error, k, "detaching %s after identifying it failed: %s",
					      b->pci->bdf, backend_errno_text(k, e, sizeof(e)));
		return fault_sink_add_queue(setup->sink, VFIO_FAULT_QUEUE, &b->queue);
	}

	res = (DmaEngineResources){
		.device_fd = b->device_fd,
		.bar = b->bar,
		.bar_size = b->bar_size,
	};
	r = drv->init(&res, &b->engine, error);
	if (r < 0)
		return backend_errorf(error, r, "the %s DMA engine on %s did not initialise: %s",
				      drv->name, b->pci->bdf, backend_errno_text(r, e, sizeof(e)));

	r = fault_sink_add_queue(setup->sink, VFIO_FAULT_QUEUE, &b->queue);
	if (r < 0)
		return r;
	return 0;
}

/* Checks that need no device: the scenario against what this backend and engine can do. */
static int check_scenario(const BackendSetup *setup, VfioBackend *b, char **error)
{
	const Scenario *s = setup->scenario;
	const DmaEngineDriver *drv;
	char size[16];

	if (!streq_ptr(s->backend, "vfio"))
		return backend_errorf(error, -EINVAL, "scenario is for backend %s, not vfio",
				      strempty(s->backend));
	if (isempty(s->device))
		return backend_errorf(error, -EINVAL,
				      "[Scenario] Device= is required for Backend=vfio");
	if (setup->n_aps != s->n_points)
		return backend_errorf(error, -EINVAL, "%zu attachment point states for %zu points",
				      setup->n_aps, s->n_points);
	if (s->n_points == 0)
		return backend_errorf(error, -EINVAL, "[Attach] Points= is empty");
	/* A cache line per point: aligned_alloc() wants a multiple of the alignment. */
	b->points = aligned_alloc(_Alignof(VfioPoint), s->n_points * sizeof(VfioPoint));
	if (!b->points)
		return -ENOMEM;
	memset(b->points, 0, s->n_points * sizeof(VfioPoint));
	b->n_points = s->n_points;
	b->rid = UINT_MAX;
	for (size_t i = 0; i < s->n_points; i++) {
		b->points[i].pasid = s->points[i];
		if (s->points[i] == ATTACH_POINT_RID)
			b->rid = (unsigned)i;
		else
			b->n_pasids++;
	}
	if (b->rid != UINT_MAX)
		b->rid_state = &setup->aps[b->rid];

	if (!s->traffic)
		return 0;
	/* The edu engine's DMA carries no PASID: it goes through the RID's attachment. */
	if (b->rid == UINT_MAX)
		return backend_errorf(
			error, -EINVAL,
			"[Traffic] DMA from the device carries no PASID, so it needs the RID attached, and [Attach] Points= has no RID (add RID, or set [Traffic] Enable=no)");
	drv = dma_engine_find(s->engine);
	if (!drv)
		return backend_errorf(
			error, -EINVAL,
			"[Traffic] Engine=%s is not a DMA engine of the vfio backend (it has: edu, nvme)",
			strempty(s->engine));
	b->driver = drv;
	if (drv->block)
		return 0; /* its own rules ran at parse time (nvme_traffic_check_scenario) */
	snprintf(size, sizeof(size), "%" PRIu32, s->dma_size);
	if (s->dma_size == 0 || s->dma_size > drv->max_transfer)
		return backend_key_errorf(error, -EINVAL, s, "Traffic.Size", size,
					  "the %s engine moves 1 to %" PRIu32 " bytes at a time",
					  drv->name, drv->max_transfer);
	if ((uint64_t)s->dma_size * 2 > s->map_size)
		return backend_key_errorf(
			error, -EINVAL, s, "Traffic.Size", size,
			"needs [Domains] MapSize= of at least %" PRIu64
			": each transfer copies the first half of the mapping to the second",
			(uint64_t)s->dma_size * 2);
	if (s->iova + s->map_size > drv->dma_limit)
		return backend_errorf(error, -EINVAL,
				      "the %s engine reaches IOVAs below 0x%" PRIx64
				      " only; this mapping ends at 0x%" PRIx64,
				      drv->name, drv->dma_limit, s->iova + s->map_size);
	b->src_off = 0;
	b->dst_off = s->map_size / 2;
	return 0;
}

static int vfio_setup(const BackendSetup *setup, void **ret_ctx, char **error)
{
	const Scenario *s = setup->scenario;
	const HostEnv *env = setup->env;
	VfioBackend *b;
	char e[96];
	void *p;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->scenario = s;
	b->env = env;
	b->iommufd = -EBADF;
	b->device_fd = -EBADF;
	b->req_fd = -EBADF;
	b->irq_fd = -EBADF;
	b->req_stop_fd = -EBADF;
	b->sink = setup->sink;

	r = check_scenario(setup, b, error);
	if (r < 0)
		goto fail;

	r = pci_device_new(env, s->device, &b->pci, error);
	if (r < 0)
		goto fail;
	r = pci_device_check_iommu_group(b->pci, error);
	if (r < 0)
		goto fail;
	/* Before any rebinding: a device we cannot drive is left where it is. */
	if (b->driver && !b->driver->match(b->pci->vendor, b->pci->device, b->pci->class)) {
		r = backend_key_errorf(
			error, -ENODEV, s, "Traffic.Engine", b->driver->name,
			"the %s engine drives %s devices, and %s is PCI %04x:%04x (set [Traffic] Engine=none to run without DMA)",
			b->driver->name, b->driver->description, b->pci->bdf, b->pci->vendor,
			b->pci->device);
		goto fail;
	}
	/* A disk in use never goes to vfio-pci: its filesystem or swap would vanish under the host. */
	if (s->bind) {
		r = pci_device_check_unused(env, b->pci, error);
		if (r < 0)
			goto fail;
	}
	if (s->bind)
		r = pci_device_bind_vfio(env, b->pci, PCI_BIND_TIMEOUT_NS, &b->binding, error);
	else
		r = pci_device_check_vfio(env, b->pci, error);
	if (r < 0)
		goto fail;

	r = iommufd_open(env->dev_iommu, &b->iommufd);
	if (r < 0) {
		backend_errorf(error, r, "cannot open %s: %s", env->dev_iommu,
			       backend_errno_text(r, e, sizeof(e)));
		goto fail;
	}
	b->device_fd = open(b->pci->cdev_path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (b->device_fd < 0) {
		r = -errno;
		backend_errorf(error, r, "cannot open %s: %s", b->pci->cdev_path,
			       backend_errno_text(r, e, sizeof(e)));
		goto fail;
	}
	r = vfio_device_bind_iommufd(b->device_fd, b->iommufd, &b->dev_id);
	if (r < 0) {
		bind_error(b, r, error);
		goto fail;
	}
	r = setup_request(b, error);
	if (r < 0)
		goto fail;
	/* Before any memory is pinned or HWPT built: the kernel first, then the device. */
	if (b->n_pasids > 0) {
		r = check_pasid_kernel(b, error);
		if (r < 0)
			goto fail;
		r = check_pasid_device(b, error);
		if (r < 0)
			goto fail;
		b->hwpt_flags = IOMMU_HWPT_ALLOC_PASID;
	}

	/* Populated up front: the first DMA must not wait for page faults, nor pinning for them. */
	b->buf_size = s->map_size;
	p = mmap(NULL, b->buf_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		b->buf_size = 0;
		backend_errorf(error, r, "allocating the %" PRIu64 "-byte DMA buffer failed: %s",
			       s->map_size, backend_errno_text(r, e, sizeof(e)));
		goto fail;
	}
	b->buf = p;
	if (b->driver && b->driver->block) {
		b->control_size = nvme_traffic_control_size(s);
		b->control_iova = (s->iova + s->map_size + CONTROL_ALIGN - 1) & ~(CONTROL_ALIGN - 1);
		if (b->control_iova < s->iova || b->control_iova > UINT64_MAX - b->control_size) {
			r = backend_errorf(error, -EINVAL,
					   "no room above IOVA 0x%" PRIx64 " + MapSize= for the NVMe queues",
					   s->iova);
			goto fail;
		}
		p = mmap(NULL, b->control_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED) {
			r = -errno;
			b->control_size = 0;
			backend_errorf(error, r, "allocating the NVMe queue memory failed: %s",
				       backend_errno_text(r, e, sizeof(e)));
			goto fail;
		}
		b->control = p;
	}

	r = setup_domains(b, error);
	if (r < 0)
		goto fail;
	if (b->n_pasids > 0) {
		r = setup_trial_attach(b, error);
		if (r < 0)
			goto fail;
	}
	if (b->driver) {
		r = setup_traffic(b, setup, error);
		if (r < 0)
			goto fail;
	}

	log_debug("%s: bound to iommufd as device %" PRIu32 ", %u domains, %zu PASIDs, engine %s",
		  b->pci->bdf, b->dev_id, b->n_domains, b->n_pasids,
		  b->driver ? b->driver->name : "none");
	*ret_ctx = b;
	return 0;

fail:
	vfio_teardown(b);
	if (error && !*error)
		(void)backend_errorf(error, r, "%s", backend_errno_text(r, e, sizeof(e)));
	return r;
}

static int vfio_attach(void *ctx, unsigned ap, unsigned domain)
{
	VfioBackend *b = ctx;
	int r;

	if (ap >= b->n_points || domain >= b->n_domains)
		return -EINVAL;
	r = point_attach(b, ap, domain);
	if (r < 0) {
		_cleanup_free_ char *why = NULL;

		/* The run reports the errno; the words go to the debug log. */
		(void)attach_error(b, ap, domain, r, &why);
		log_debug("%s", strempty(why));
	}
	return r;
}

/*
 * The hot path. Attaching while attached is a replacement in iommufd, for
 * the RID as for a PASID (vfio: a PASID it has attached is replaced, not
 * attached again); -ENODEV or -ENXIO say the device is gone and the run
 * engine ends the run.
 */
static int vfio_replace(void *ctx, unsigned ap, unsigned domain)
{
	VfioBackend *b = ctx;
	VfioPoint *p;
	uint32_t hwpt;
	int r;

	if (_unlikely_(ap >= b->n_points || domain >= b->n_domains))
		return -EINVAL;
	p = &b->points[ap];
	hwpt = b->domains[domain].hwpt_id;
	if (p->pasid == ATTACH_POINT_RID) {
		r = vfio_device_attach_iommufd_pt(b->device_fd, hwpt, NULL);
		/* The gate's handshake: this replacement is done. */
		__atomic_store_n(&b->replace_busy, false, __ATOMIC_RELEASE);
	} else
		r = vfio_device_attach_pasid(b->device_fd, p->pasid, hwpt);
	if (_likely_(r >= 0))
		counter_inc(p->replacements);
	return r;
}

static int vfio_detach(void *ctx, unsigned ap)
{
	VfioBackend *b = ctx;

	if (ap >= b->n_points)
		return -EINVAL;
	return point_detach(b, ap);
}

static void vfio_sample(void *ctx, BackendCounters *ret)
{
	VfioBackend *b = ctx;
	uint64_t ok = counter_get(b->dma_ok), errors = counter_get(b->dma_errors);

	/* Every transfer issued ends as ok or as an error: the sum is exact at any moment. */
	*ret = (BackendCounters){
		.dma_transfers = ok + errors,
		.dma_ok = ok,
		.dma_errors = errors,
	};
}

static void vfio_describe(void *ctx, JsonWriter *j)
{
	VfioBackend *b = ctx;
	const Scenario *s = b->scenario;
	char buf[32], where[32];
	uint64_t total = 0;

	json_string(j, "device", b->pci->bdf);
	snprintf(buf, sizeof(buf), "%04x:%04x", b->pci->vendor, b->pci->device);
	json_string(j, "vendor_device", buf);
	json_string(j, "iommu_group", b->pci->iommu_group);
	json_string(j, "cdev", b->pci->cdev_path);
	json_bool(j, "bound_by_run", pci_binding_changed(b->binding));
	json_string(j, "original_driver",
		    b->binding ? pci_binding_original_driver(b->binding) : b->pci->driver);
	json_u64(j, "dev_id", b->dev_id);
	json_string(j, "engine", b->driver ? b->driver->name : NULL);
	json_string(j, "layout", layout_to_string(s->layout));
	json_u64(j, "iova", s->iova);
	json_u64(j, "map_size", s->map_size);
	json_bool(j, "hwpt_alloc_pasid", b->hwpt_flags & IOMMU_HWPT_ALLOC_PASID);
	if (b->n_pasids > 0) {
		json_object_begin(j, "pasid");
		json_u64(j, "max_pasid_log2", b->max_pasid_log2);
		if (b->pasid_cap_known && b->pasid_cap.present)
			json_u64(j, "pci_max_pasid_width", b->pasid_cap.width);
		else
			json_null(j, "pci_max_pasid_width");
		json_object_end(j);
	} else
		json_null(j, "pasid");
	json_array_begin(j, "domains");
	for (unsigned d = 0; d < b->n_domains; d++) {
		json_object_begin(j, NULL);
		json_u64(j, "index", d);
		json_u64(j, "ioas_id", b->domains[d].ioas_id);
		json_u64(j, "hwpt_id", b->domains[d].hwpt_id);
		json_bool(j, "maps_buffer", b->domains[d].maps_buffer);
		json_object_end(j);
	}
	json_array_end(j);
	for (size_t i = 0; i < b->n_points; i++)
		total += counter_get(b->points[i].replacements);
	json_u64(j, "replacements", total);
	json_array_begin(j, "points");
	for (size_t i = 0; i < b->n_points; i++) {
		const VfioPoint *p = &b->points[i];

		json_object_begin(j, NULL);
		json_string(j, "point", attach_point_to_string(p->pasid, where, sizeof(where)));
		if (p->pasid == ATTACH_POINT_RID)
			json_null(j, "pasid");
		else
			json_u64(j, "pasid", p->pasid);
		json_bool(j, "attached", p->attached);
		json_u64(j, "replacements", counter_get(p->replacements));
		json_object_end(j);
	}
	json_array_end(j);

	json_object_begin(j, "dma");
	if (b->driver) {
		uint64_t ok = counter_get(b->dma_ok), errors = counter_get(b->dma_errors);

		json_u64(j, "size", s->dma_size);
		if (b->nvme) {
			json_u64(j, "data_iova", s->iova);
			json_u64(j, "queue_iova", b->control_iova);
			json_u64(j, "replace_holds", counter_get(b->holds));
			json_u64(j, "replace_held_ns", counter_get(b->held_ns));
			nvme_traffic_describe(b->nvme, j);
		} else {
			json_u64(j, "src_iova", s->iova + b->src_off);
			json_u64(j, "dst_iova", s->iova + b->dst_off);
		}
		json_double(j, "rate", s->dma_rate);
		json_bool(j, "verify", s->verify);
		json_u64(j, "transfers", ok + errors);
		json_u64(j, "ok", ok);
		json_u64(j, "errors", errors);
		json_u64(j, "errors_during_replace", counter_get(b->dma_errors_during));
		json_object_begin(j, "by_reason");
		for (unsigned r = DMA_FAULT_TIMEOUT; r < DMA_REASON_SLOTS; r++)
			json_u64(j, dma_fault_reason_to_string(r),
				 counter_get(b->dma_by_reason[r]));
		json_object_end(j);
	}
	json_object_end(j);
}

/* What the device's DMA engine can reach and move, checked before any device is touched. */
static int vfio_check_scenario(Scenario *s, ScenarioCheck *c)
{
	const DmaEngineDriver *d = s->traffic ? dma_engine_find(s->engine) : NULL;

	if (!d)
		return 0;
	if (d->block) {
		int r = nvme_traffic_check_scenario(s, c);

		if (r < 0)
			return r;
	}
	if (s->dma_size > d->max_transfer)
		return scenario_check_fail(c, "Traffic.Size", "Engine=%s moves at most %u bytes at a time (%s)",
					   d->name, d->max_transfer, d->max_transfer_why);
	if (s->iova + s->map_size > d->dma_limit)
		return scenario_check_fail(
			c, scenario_check_later(c, "Domains.IOVA", "Domains.MapSize"),
			"Engine=%s reaches only the first %" PRIu64 "M of IOVA space (%d-bit DMA mask), this mapping ends at 0x%" PRIx64,
			d->name, d->dma_limit >> 20, __builtin_ctzll(d->dma_limit), s->iova + s->map_size);
	return 0;
}

static const char *const vfio_engines[] = {"edu", "nvme", NULL}; /* dma_engine_drivers[] */

const BackendOps backend_vfio = {
	.name = "vfio",
	.description =
		"real attachments through iommufd and the VFIO device cdev, DMA from the device",
	.flags = BACKEND_PCI,
	.scenario = {
		.default_engine = "edu",
		.engines = vfio_engines,
		.check = vfio_check_scenario,
	},
	.probe = vfio_probe,
	.list_devices = vfio_list_devices,
	.device_info = vfio_device_info,
	.setup = vfio_setup,
	.attach = vfio_attach,
	.replace = vfio_replace,
	.detach = vfio_detach,
	.gate = vfio_gate,
	.traffic_start = vfio_traffic_start,
	.traffic_stop = vfio_traffic_stop,
	.sample = vfio_sample,
	.describe = vfio_describe,
	.teardown = vfio_teardown,
};
