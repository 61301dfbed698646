/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Verified NVMe traffic for the vfio backend ([Traffic] Engine=nvme): the
 * driver in nvme.h, kept busy with Read (and, in write-verify mode, Write)
 * commands whose data is checked, while the backend replaces attachments.
 *
 * Memory: the control memory (queues, PRP lists, identify buffer) is mapped
 * by the backend at the same IOVA in every domain, so Layout=missing-range
 * takes data transfers away, never the queues; the data buffer is the
 * backend's DMA buffer (MapSize= at IOVA=), divided into one slot per
 * command in flight (two halves per slot in write-verify mode).
 *
 * Faults (FAULT_SOURCE_DMA_VERIFY, reported through the hooks): a command
 * that completes with an error status (DMA_FAULT_STATUS); data that differs
 * from the reference copy or the written pattern (mismatch, not-written,
 * stale); no completion within the command timeout (timeout); a controller
 * fatal status (DMA_FAULT_FATAL, one fault whatever was in flight), after
 * which the controller is disabled, re-enabled and traffic resumes. A
 * controller that does not come back fails the run through the hooks.
 */

#include <stdbool.h>
#include <stdint.h>

#include "backends/vfio/nvme.h"
#include "backends/vfio/pci-sysfs.h"
#include "core/fault.h"
#include "core/scenario.h"
#include "json.h"

typedef struct NvmeTraffic NvmeTraffic;

/* A command's view of its point's replacement window (the backend's business). */
typedef struct TrafficWindow {
	uint64_t seq; /* AttachPointState.window_seq at submission */
	uint64_t t0;  /* CLOCK_MONOTONIC at submission */
} TrafficWindow;

typedef struct NvmeTrafficHooks {
	void *userdata;
	bool (*stopping)(void *userdata);
	void (*window_open)(void *userdata, TrafficWindow *w);
	/* Whether a replacement overlapped [open, now]; *domain when none did (else UINT32_MAX). */
	bool (*window_close)(void *userdata, const TrafficWindow *w, uint32_t *domain);
	void (*ok)(void *userdata);
	void (*fault)(void *userdata, uint64_t seq, unsigned reason, FaultAccess access, uint64_t iova,
		      bool during, uint32_t domain, const char *text);
	/*
	 * on: no replacement may start or be in flight once it returns (the
	 * controller is being re-initialised); off: they go on.
	 */
	void (*hold)(void *userdata, bool on);
	/* The run cannot go on: r and a reason in words. Traffic stops after it. */
	void (*fail)(void *userdata, int r, const char *reason);
} NvmeTrafficHooks;

/* The engine's scenario rules (Size=, MapSize=, the Nvme* keys): at parse time. */
int nvme_traffic_check_scenario(Scenario *s, ScenarioCheck *c);
/* Bytes of control memory the scenario's queues take. */
size_t nvme_traffic_control_size(const Scenario *s);

/*
 * With the device attached to a domain that maps both memories: enables the
 * controller, identifies it and the namespace, checks the scenario against
 * them (namespace, LBA range, LBA size, MDTS, CAP.MQES), and in read-verify
 * mode reads the reference copy. Leaves the controller disabled (no DMA) so
 * that the backend may detach. irq_fd: MSI-X vector 0's eventfd for
 * NvmeCompletions=msix, else -1. *error says what failed, naming the key.
 */
int nvme_traffic_new(volatile uint8_t *bar, uint64_t bar_size, const NvmeDma *control,
		     const NvmeDma *data, int irq_fd, const Scenario *s, NvmeTraffic **ret,
		     char **error);
/* Enables the controller again, for the traffic thread. */
int nvme_traffic_resume(NvmeTraffic *t, char **error);
/* The traffic thread's body: until hooks->stopping(), or a failure. */
void nvme_traffic_run(NvmeTraffic *t, const NvmeTrafficHooks *hooks);
/* Members of an open JSON object: controller, namespace, mode, range, queues, resets. */
void nvme_traffic_describe(NvmeTraffic *t, JsonWriter *j);
/*
 * iommuctl caps for an NVMe controller, without touching it: with the
 * kernel's nvme driver bound, its sysfs view (model, serial, firmware, each
 * namespace's size and LBA size, the transfer limit MDTS gives, queues);
 * otherwise the CAP and VS registers read through <syspath>/resource0
 * (queue depth limit, ready timeout, doorbell stride, version), and why the
 * identify data is not shown (it needs the controller enabled, which only a
 * run does: see the run's Describe()).
 */
void nvme_describe_host(const PciDevice *d, JsonWriter *j);
/* Disables the controller (no DMA after this) and frees; NULL-safe. */
void nvme_traffic_free(NvmeTraffic *t);
