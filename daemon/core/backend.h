/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The backend interface: how attachments are made for a run.
 *
 * Lifecycle, driven by the run engine (run.c):
 *   setup()           main thread: open the device, allocate n_domains translation
 *                     domains, prepare every attachment point; nothing attached yet.
 *   attach(ap, d)     main thread: first attachment of each point.
 *   traffic_start()   main thread: start the DMA engine, if the scenario wants traffic.
 *   replace(ap, d)    worker threads, the hot path: one worker owns each point, so
 *                     calls for one ap never overlap. Must not take locks shared with
 *                     the main thread and must never touch the bus.
 *   verify(ap)        worker threads, every BACKEND_VERIFY_EVERY replacements of a
 *                     point, untimed: does the kernel agree where the point is?
 *   traffic_stop()    main thread, after the workers have been joined.
 *   detach(ap)        main thread.
 *   teardown()        main thread; must release everything after a setup() that
 *                     failed half way, after a failed attach, or with the device gone.
 *
 * Errors are negative errno. setup() explains failures in *error (malloc'd), in
 * words a lab engineer can act on ("device 0000:00:03.0 is bound to e1000e, not
 * vfio-pci; set Bind=yes or bind it").
 *
 * Faults go to the FaultSink queues the backend creates at setup(); fatal
 * asynchronous problems (device removed) go to fault_sink_fail().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fault.h"
#include "core/scenario.h"
#include "json.h"

/* Host paths, overridable so that tests run unprivileged against fakes. */
typedef struct HostEnv {
	const char *dev_iommu; /* /dev/iommu */
	const char *sysfs;     /* /sys */
	const char *dev_kmsg;  /* /dev/kmsg */
	const char *tracefs;   /* /sys/kernel/tracing */
	const char *proc;      /* /proc */
	const char *dev_vfio;  /* /dev/vfio (cdevs under devices/) */
	const char *dev_block; /* /dev/block (MAJ:MIN links to block device nodes) */
} HostEnv;

/*
 * Every path pointing nowhere: for the unit tests, fuzzers and benchmarks,
 * which must never touch the host's devices (only the model has devices then).
 */
extern const HostEnv host_env_nowhere;

/*
 * Per attachment point state shared by the worker (writer) and backends'
 * threads (readers). window_seq is a seqcount: odd while a replace() of this
 * point is in flight, so a fault producer can tell whether a fault fell in a
 * replacement window. window_end_ns is when the last replace() returned, for
 * SettleTime= attribution.
 */
typedef struct AttachPointState {
	_Alignas(64) uint64_t window_seq;
	uint64_t window_end_ns;
	uint32_t pasid; /* ATTACH_POINT_RID or a PASID */
	uint32_t index;
	uint32_t domain; /* the domain attached since the last successful replace() */
} AttachPointState;

/* Which domain the point is attached to right now (outside a window; inside, it is changing). */
static inline uint32_t attach_point_domain(const AttachPointState *a)
{
	return __atomic_load_n(&a->domain, __ATOMIC_RELAXED);
}

static inline void attach_point_window_open(AttachPointState *a)
{
	__atomic_store_n(&a->window_seq, a->window_seq + 1, __ATOMIC_RELEASE);
	/* Make the odd count visible before the backend touches the entry. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void attach_point_window_close(AttachPointState *a, uint64_t now)
{
	__atomic_store_n(&a->window_end_ns, now, __ATOMIC_RELAXED);
	__atomic_store_n(&a->window_seq, a->window_seq + 1, __ATOMIC_RELEASE);
}

/* Is a fault observed at time t (CLOCK_MONOTONIC ns) attributable to a replacement of a? */
static inline bool attach_point_in_window(const AttachPointState *a, uint64_t t, uint64_t settle_ns)
{
	if (__atomic_load_n(&a->window_seq, __ATOMIC_ACQUIRE) & 1)
		return true;
	return t <= __atomic_load_n(&a->window_end_ns, __ATOMIC_RELAXED) + settle_ns;
}

typedef struct BackendSetup {
	const HostEnv *env;
	const Scenario *scenario;
	FaultSink *sink;
	AttachPointState *aps; /* scenario->n_points entries, owned by the run */
	size_t n_aps;
} BackendSetup;

/* Counters a backend publishes; sampled by the main loop a few times a second. */
typedef struct BackendCounters {
	uint64_t dma_transfers; /* issued and completed (ok + failed) */
	uint64_t dma_ok;
	uint64_t dma_errors; /* failed or corrupted, also reported as dma-verify faults */
} BackendCounters;

typedef struct BackendDevice {
	char *id;	   /* "model0", "mock0", "0000:00:03.0" */
	char *description; /* "QEMU edu (1234:11e8)" */
	char *driver;	   /* bound driver, "" if none */
	char *state;	   /* "ready", "not bound to vfio-pci", … */
} BackendDevice;

void backend_device_clear(BackendDevice *d);


/* A one-device list (model0, mock0) for list_devices(). */
int backend_device_single(BackendDevice **ret, size_t *ret_n, const char *id,
			  const char *description, const char *state);

/*
 * Sets *error (when error is not NULL; a previous message is freed) to the
 * formatted explanation and returns r: "return backend_errorf(error, -ENODEV, …)".
 */
int backend_errorf(char **error, int r, const char *fmt, ...) _printf_(3, 4);

/*
 * backend_errorf() for a scenario key the device refuses, found at setup:
 * "x.conf:6: [Traffic] QueueDepth=64: <message>", the way parse errors name
 * line and key (scenario_key_where(); effective is the value in force, shown
 * when the key was left at its default).
 */
int backend_key_errorf(char **error, int r, const Scenario *s, const char *key,
		       const char *effective, const char *fmt, ...) _printf_(6, 7);

/* "Device or resource busy (EBUSY)" for r = -EBUSY (no name in parentheses when glibc has none). */
const char *backend_errno_text(int r, char *buf, size_t n);

/* Replacements of one point between two verify() calls. */
#define BACKEND_VERIFY_EVERY 1024

/*
 * What a backend brings to scenario files: its defaults, its DMA engines and
 * its own rules, so that scenario.c names no backend (finish() applies
 * these for the scenario's Backend=).
 */
typedef struct BackendScenarioRules {
	const char *default_device; /* Device= when unset; NULL: Device= is required */
	const char *default_engine; /* Engine= when unset: one of engines, or NULL for "none" */
	const char *const *engines; /* the DMA engines it drives (NULL-terminated), or NULL */
	const char *engine_note;    /* ", whose …": why only it drives them, for errors */
	uint64_t default_iova;	    /* IOVA= when unset; 0: the general default */
	const char *section;	    /* a scenario section only it reads ("Model"), or NULL */
	/*
	 * May be NULL. Its own checks and defaults, after the general ones;
	 * fails through scenario_check_fail().
	 */
	int (*check)(Scenario *s, ScenarioCheck *c);
} BackendScenarioRules;

/* BackendOps.flags */
enum {
	/*
	 * Devices are PCI functions (Device= is a PCI address): the kernel-log,
	 * tracefs and DMAR-interrupt observers apply to its runs, and uevents
	 * for the address concern them.
	 */
	BACKEND_PCI = 1 << 0,
};

typedef struct BackendOps {
	const char *name;
	const char *description;
	unsigned flags; /* BACKEND_* */
	BackendScenarioRules scenario;

	/* 0 if usable here; else -errno and *reason saying why (malloc'd). */
	int (*probe)(const HostEnv *env, char **reason);
	/* Devices this backend can drive; *ret is a malloc'd array. */
	int (*list_devices)(const HostEnv *env, BackendDevice **ret, size_t *ret_n);
	/*
	 * Everything known about one device, as members of an already opened JSON
	 * object (Device.Describe(), iommuctl caps): identity, driver, IOMMU group,
	 * PASID capability, decoded IOMMU_GET_HW_INFO. May be NULL. -ENODEV with
	 * *error for an unknown device.
	 */
	int (*device_info)(const HostEnv *env, const char *id, JsonWriter *j, char **error);

	int (*setup)(const BackendSetup *setup, void **ret_ctx, char **error);
	int (*attach)(void *ctx, unsigned ap, unsigned domain);
	int (*replace)(void *ctx, unsigned ap, unsigned domain);
	int (*detach)(void *ctx, unsigned ap);
	/*
	 * May be NULL. Worker threads: asks the kernel whether point ap is on the
	 * domain the last successful replace() put it on. The point's worker
	 * calls it every BACKEND_VERIFY_EVERY replacements of the point, after
	 * the replacement window has closed and outside the latency sample, so
	 * the check costs no replacement its timing. A negative return fails
	 * the run; the backend says why with fault_sink_fail() first.
	 */
	int (*verify)(void *ctx, unsigned ap);
	/*
	 * May be NULL. Worker threads, before each replacement's window opens
	 * and outside its latency sample: returns once replacements of point ap
	 * may go on. A DMA engine that re-initialises its device mid-run (an
	 * NVMe controller after a fatal status) holds them meanwhile, so that
	 * the re-initialisation's own DMA does not meet a replacement; the hold
	 * is bounded and reported by the backend.
	 */
	void (*gate)(void *ctx, unsigned ap);
	int (*traffic_start)(void *ctx); /* may be NULL: no DMA engine */
	void (*traffic_stop)(void *ctx);
	void (*sample)(void *ctx, BackendCounters *ret);
	/*
	 * File descriptors the main loop should watch for this run (e.g. iommufd
	 * fault queues), and what to do when one is readable; both may be NULL.
	 * dispatch runs on the main thread and may push to the backend's own
	 * FaultQueue (the main thread is then its single producer).
	 */
	int (*event_fds)(void *ctx, int *fds, size_t max);
	void (*event_dispatch)(void *ctx, int fd);
	/*
	 * May be NULL. The fault source that counts this scenario's faults
	 * exactly, or _FAULT_SOURCE_MAX to leave it to the engine's general
	 * rule (verified DMA, else the kernel log, which is only a floor).
	 */
	FaultSource (*exact_source)(const Scenario *s);
	/* Adds backend-specific members to a run's Describe() object (may be NULL). */
	void (*describe)(void *ctx, JsonWriter *j);
	void (*teardown)(void *ctx);
} BackendOps;

extern const BackendOps backend_model;
extern const BackendOps backend_vfio;
extern const BackendOps backend_mock;

/* NULL-terminated table of all compiled-in backends. */
extern const BackendOps *const backends[];
/*
 * Calls cb for every device of every backend usable here (probe() passes)
 * whose flags include all of flags, backend by backend in table order; a
 * backend whose listing fails is skipped. cb returns < 0 to fail, > 0 to
 * stop, 0 to go on, and may take the device (move it out, leave it cleared).
 * Returns cb's stop or error value, or 0.
 */
int backend_foreach_device(const HostEnv *env, unsigned flags,
			   int (*cb)(const BackendOps *b, BackendDevice *dev, void *userdata),
			   void *userdata);
const BackendOps *backend_find(const char *name);
/* The backend that drives DMA engine name, or NULL. */
const BackendOps *backend_find_engine(const char *name);
bool backend_has_engine(const BackendOps *b, const char *name);
