/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One fake iommufd kernel for the unit tests, behind the uapi hooks of
 * uapi/iommufd-ioctl.h.
 *
 * It keeps iommufd's object model the way the backends rely on it, as
 * Linux 6.12/6.15 have it (iommufd/main.c, ioas.c, hw_pagetable.c,
 * device.c):
 *  - one object table; ids count from 1, the lowest free one first, so a
 *    test can name the ids a setup gets;
 *  - IOASes with up to FAKE_IOAS_MAX_MAPS fixed-IOVA mappings (overlaps are
 *    EEXIST), IOMMU_IOAS_MAP/UNMAP;
 *  - paging HWPTs on an IOAS (NEST_PARENT, PASID-compatible), nested HWPTs
 *    on a nest parent with an optional fault queue, and fault queues whose
 *    fd is an eventfd (IOMMU_HWPT_ALLOC, IOMMU_FAULT_QUEUE_ALLOC);
 *  - IOMMU_DESTROY refusing (EBUSY) what is in use: an IOAS with HWPTs on
 *    it, a HWPT the device or a nested child uses, a fault queue a HWPT
 *    uses or whose fd is open;
 *  - one device: its RID attachment (attach, replace, detach; optionally
 *    iommufd's automatic domains for an attach to an IOAS), its PASID table
 *    under iommufd_hwpt_pasid_compat()'s rules, IOVA → host translation
 *    through the RID's HWPT, and IOMMU_GET_HW_INFO with the answer the test
 *    put in hw_info;
 *  - failure injection: the n-th call of a request (or of any), optionally
 *    of one IOMMU_TEST_CMD op;
 *  - knobs for what older kernels or other IOMMU drivers lack.
 *
 * What a backend's kernel adds on top (the VFIO cdev, IOMMU_TEST_CMD, page
 * requests on the fault queue) a test plugs in with FakeIommufdOps.
 *
 * Every hook takes one mutex, and the ops are called with it held; a test
 * takes it (fake_iommufd_lock()) to look at state other threads change.
 * Errors are negative errno values; the hooks turn them into -1 and errno,
 * as the system calls return them.
 */

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iommufd-ioctl.h"

#define FAKE_IOMMUFD_MAX_OBJS	64 /* ids 1 … 63 */
#define FAKE_IOAS_MAX_MAPS	4
#define FAKE_IOMMUFD_MAX_PASIDS 128
#define FAKE_HW_INFO_MAX	64

/* From FakeIommufdOps.ioctl: not the extension's, the common fake answers. */
#define FAKE_IOMMUFD_PASS 1

typedef enum FakeObjType {
	FAKE_OBJ_FREE,
	FAKE_OBJ_IOAS,
	FAKE_OBJ_HWPT,
	FAKE_OBJ_FAULT,
	/* The bound device (iommufd_device), when its binding gives it an id here. */
	FAKE_OBJ_DEVICE,
	/* An extension's object (the selftest's mock device): ops->destroy frees it. */
	FAKE_OBJ_EXT,
	_FAKE_OBJ_MAX,
	FAKE_OBJ_ANY = _FAKE_OBJ_MAX, /* for lookups and counts: every live object */
} FakeObjType;

typedef struct FakeMap {
	uint64_t iova, length;
	uint8_t *va;
} FakeMap;

typedef struct FakeObj {
	FakeObjType type;
	/* IOAS: HWPTs on it; HWPT: the device's RID and PASIDs on it, nested children; FAULT: HWPTs
	 */
	unsigned users;

	/* IOAS */
	FakeMap maps[FAKE_IOAS_MAX_MAPS];
	unsigned n_maps;

	/* HWPT */
	uint32_t ioas;	   /* paging: the IOAS it translates; 0 for a nested one */
	uint32_t parent;   /* nested: its nest parent */
	uint32_t fault;	   /* its fault queue, 0 for none */
	bool auto_domain;  /* made by the kernel for an attach to an IOAS */
	bool pasid_compat; /* allocated with IOMMU_HWPT_ALLOC_PASID (and the kernel kept it) */
	bool nest_parent;  /* paging, allocated with IOMMU_HWPT_ALLOC_NEST_PARENT */

	/* FAULT: the eventfd standing in for the queue's fd */
	int fd;
} FakeObj;

typedef struct FakeIommufdOps {
	/*
	 * Every ioctl, on any fd, before the common fake: 0 or -errno when the
	 * extension answered, FAKE_IOMMUFD_PASS to leave it to the common fake.
	 * May call fake_iommufd_handle() to wrap the common answer.
	 */
	int (*ioctl)(int fd, unsigned long request, void *arg);
	/* IOMMU_DESTROY of a FAKE_OBJ_EXT: releases what it holds; on 0 the slot is freed. */
	int (*destroy)(uint32_t id);
	/*
	 * The IOMMU driver's part of a nested HWPT allocation (its
	 * domain_alloc_nested(): the data, whether it takes a fault queue),
	 * after iommufd's checks of the flags and the parent. Without it,
	 * nesting is EOPNOTSUPP.
	 */
	int (*hwpt_nested)(const struct iommu_hwpt_alloc *c);
	/* The RID left hwpt_id (replaced, detached, unbound), before the HWPT is put. */
	void (*rid_left)(uint32_t hwpt_id);
	/* read(2)/write(2) on a fault queue's fd; without them, the eventfd is read/written. */
	ssize_t (*fault_read)(uint32_t fault_id, void *buf, size_t n);
	ssize_t (*fault_write)(uint32_t fault_id, const void *buf, size_t n);
} FakeIommufdOps;

typedef struct FakeIommufd {
	pthread_mutex_t lock;
	const FakeIommufdOps *ops;

	/* Everything below is what fake_iommufd_reset() forgets. */

	/* The canonical path of /dev/iommu; "": every fd is an iommufd. */
	char dev_iommu[PATH_MAX];

	FakeObj objs[FAKE_IOMMUFD_MAX_OBJS]; /* index = id; 0 is never an id */

	/* The one device. */
	uint32_t dev_id;   /* 0: none bound */
	uint32_t attached; /* the RID's HWPT, 0 none */
	struct {
		uint32_t pasid, hwpt; /* pasid 0: a free slot (PASID 0 is the RID) */
	} pasids[FAKE_IOMMUFD_MAX_PASIDS];

	/* IOMMU_GET_HW_INFO's answer for the device. */
	struct {
		uint32_t type;
		uint8_t data[FAKE_HW_INFO_MAX];
		uint32_t data_len;
		uint8_t max_pasid_log2; /* also the PASID limit at attach, when not 0 */
		uint64_t capabilities;
	} hw_info;

	/* The kernel this is: all false is a 6.12 one with a plain paging-only IOMMU driver. */
	bool no_hwpt_alloc;    /* < 6.6: IOMMU_HWPT_ALLOC is ENOTTY */
	bool no_nesting;       /* < 6.7, or a driver that cannot nest: NEST_PARENT is EOPNOTSUPP */
	bool no_fault_queue;   /* < 6.11: IOMMU_FAULT_QUEUE_ALLOC is ENOTTY */
	bool pasid_abi;	       /* ≥ 6.15: IOMMU_HWPT_ALLOC_PASID is a valid flag */
	bool no_pasid_domains; /* the IOMMU driver refuses IOMMU_HWPT_ALLOC_PASID: EOPNOTSUPP */
	bool hwpt_drops_pasid; /* HWPTs come out PASID-incompatible whatever was asked */
	bool auto_domains;     /* an attach to an IOAS gets an automatic HWPT; false: EINVAL */
	bool refuse_destroy;   /* every IOMMU_DESTROY of an existing object is EBUSY */
	/* The domains' aperture (the mock IOMMU's): mappings outside it are EADDRINUSE. */
	bool aperture;
	uint64_t aperture_start, aperture_last;

	/*
	 * Fail the nth call (from 1; 0: never) of request (0: of any), and of
	 * IOMMU_TEST_CMD only those with op (0: any).
	 */
	struct {
		unsigned long request;
		uint32_t op;
		unsigned nth;
		int error; /* positive errno */
		unsigned seen;
	} fail;

	/* The books. */
	unsigned calls;	   /* every ioctl */
	int last_fd;	   /* the fd of the last ioctl, -1 before any */
	int last_fault_fd; /* the fd of the last fault queue, kept after it is destroyed; -1 none */
	unsigned attaches, replaces, detaches; /* of the RID */
	unsigned pasid_attaches, pasid_replaces, pasid_detaches;
	unsigned hw_infos; /* GET_HW_INFO answered */
} FakeIommufd;

extern FakeIommufd fake_iommufd;

/*
 * Interposes fns on the uapi hooks (NULL leaves a hook as it is). The hooks
 * found at the first install are kept until fake_hooks_restore() puts them
 * back, however many installs came in between.
 */
void fake_hooks_install(int (*ioctl_fn)(int fd, unsigned long request, void *arg),
			ssize_t (*read_fn)(int fd, void *buf, size_t n),
			ssize_t (*write_fn)(int fd, const void *buf, size_t n));
void fake_hooks_restore(void);

/* The fake behind all three hooks, reset, with the extension's ops (may be NULL). */
void fake_iommufd_install(const FakeIommufdOps *ops);
void fake_iommufd_uninstall(void);
/* A fresh kernel: no objects, no device, every knob and counter zero; the ops stay. */
void fake_iommufd_reset(void);
void fake_iommufd_lock(void);
void fake_iommufd_unlock(void);

/* Everything below: with the lock held (ops run with it held already). */

/* The common fake's answer to an iommufd command. */
int fake_iommufd_handle(unsigned long request, void *arg);
/* Is fd open on dev_iommu? Always true when dev_iommu is "". */
bool fake_iommufd_is_iommufd(int fd);

/* The object with this id, if it has this type (FAKE_OBJ_ANY: any); else NULL. */
FakeObj *fake_iommufd_obj(uint32_t id, FakeObjType type);
/* A new object, zeroed but for its type; 0 when the table is full. */
uint32_t fake_iommufd_obj_new(FakeObjType type);
unsigned fake_iommufd_count(FakeObjType type);
/* The fault queue whose fd this is, 0 for none. */
uint32_t fake_iommufd_fault_of_fd(int fd);

/*
 * Binds the device: id 0 makes it an object (FAKE_OBJ_DEVICE), as
 * IOMMU_TEST_OP_MOCK_DOMAIN does; any other id is the test's own, outside
 * the table. -EBUSY when one is bound.
 */
int fake_iommufd_bind(uint32_t id, uint32_t *ret_id);
/*
 * What closing or destroying the device does: its PASIDs are detached, then
 * its RID, and its object freed. The kernel does this itself, so no detach
 * is counted.
 */
void fake_iommufd_unbind(void);

/*
 * iommufd_device_attach()/_replace() for the RID: pt_id is a HWPT, or an
 * IOAS when auto_domains is on. *ret_hwpt (may be NULL) gets the HWPT.
 */
int fake_iommufd_attach(uint32_t pt_id, uint32_t *ret_hwpt);
void fake_iommufd_detach(void);
/* A PASID not attached yet (else -EBUSY), or an attached one (else -EINVAL), to a HWPT. */
int fake_iommufd_pasid_attach(uint32_t pasid, uint32_t pt_id);
int fake_iommufd_pasid_replace(uint32_t pasid, uint32_t pt_id);
/* Whether it was attached: detaching one that is not is no error. */
bool fake_iommufd_pasid_detach(uint32_t pasid);
/* The PASID's HWPT, 0 when it is not attached. */
uint32_t fake_iommufd_pasid_hwpt(uint32_t pasid);
unsigned fake_iommufd_pasids_attached(void);

/* The device's view: [iova, iova+len) through the RID's HWPT to host memory; NULL faults. */
uint8_t *fake_iommufd_translate(uint64_t iova, uint64_t len);
