/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PCI devices as sysfs shows them: identity, driver, IOMMU group, VFIO cdev,
 * and moving a device to vfio-pci and back (Bind=yes).
 *
 * Everything is found under env->sysfs and env->dev_vfio so that the tests
 * run against a fake tree in a temporary directory. Writes are plain
 * open/write/close of attribute files; the kernel acts on them synchronously,
 * a fake tree merely records them, so every wait here polls for the outcome.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "pci-address.h"

#define PCI_BDF_MAX	    PCI_ADDRESS_STRING_MAX
#define PCI_DRIVER_VFIO	    "vfio-pci"
#define PCI_BIND_TIMEOUT_NS (5 * UINT64_C(1000000000))

/*
 * "00:03.0" → "0000:00:03.0", "0000:0A:1F.7" → "0000:0a:1f.7". -EINVAL for
 * anything that is not DOMAIN:BUS:DEV.FN (domain optional) with DEV ≤ 0x1f
 * and FN ≤ 7.
 */
int pci_bdf_normalize(const char *s, char ret[static PCI_BDF_MAX]);

typedef struct PciDevice {
	char bdf[PCI_BDF_MAX];
	char *syspath; /* <sysfs>/bus/pci/devices/<bdf> */
	uint16_t vendor;
	uint16_t device;
	uint32_t class;	   /* base class, subclass, prog-if: 0x00ff00 */
	char *driver;	   /* bound driver, NULL when none */
	char *iommu_group; /* group number as text, NULL without an IOMMU group */
	char *vfio_dev;	   /* "vfio0" (the cdev's sysfs name), NULL without */
	char *cdev_path;   /* <dev_vfio>/devices/vfio0, NULL without */
} PciDevice;

/*
 * Reads the device bdf (normalised first). -ENODEV with "no PCI device
 * 0000:00:09.0 (no /sys/bus/pci/devices/0000:00:09.0)" when it does not exist,
 * -EINVAL for a malformed address.
 */
int pci_device_new(const HostEnv *env, const char *bdf, PciDevice **ret, char **error);
PciDevice *pci_device_free(PciDevice *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(PciDevice *, pci_device_free);
/* Re-reads driver, IOMMU group and cdev (they change with binding). */
int pci_device_refresh(const HostEnv *env, PciDevice *d);

/* Bound to vfio-pci, in an IOMMU group, with a VFIO cdev: usable as it is. */
bool pci_device_vfio_ready(const PciDevice *d);
/*
 * Can the device be driven without rebinding it (Bind=no)? 0, or -errno
 * with the reason and what to do about it in *error.
 */
int pci_device_check_vfio(const HostEnv *env, const PciDevice *d, char **error);
/*
 * Before Bind=yes takes a device from its driver: -EBUSY, naming the block
 * device and its user, when any block device of the function (an NVMe
 * controller's namespaces and their partitions, a disk behind a storage
 * controller) is mounted (the root filesystem included), used as swap, or
 * held by another block device (device-mapper, md, LVM: its holders/).
 * Reads <sysfs>/class/block, <proc>/self/mountinfo and <proc>/swaps.
 */
int pci_device_check_unused(const HostEnv *env, const PciDevice *d, char **error);
/* 0 when the device is in an IOMMU group, else -ENODEV with an explanation. */
int pci_device_check_iommu_group(const PciDevice *d, char **error);

/* Every PCI device, sorted by address; *ret is a malloc'd array of pointers. */
int pci_device_list(const HostEnv *env, PciDevice ***ret, size_t *ret_n);
void pci_device_list_free(PciDevice **l, size_t n);

/* Reads the sysfs config file: 64 bytes unprivileged, 256 or 4096 as root. */
int pci_device_read_config(const PciDevice *d, uint8_t *buf, size_t size, size_t *ret_len);

typedef struct PciPasidCap {
	bool present;
	bool exec;	/* Execute Permission Supported */
	bool priv;	/* Privileged Mode Supported */
	bool enabled;	/* PASID Enable in the control register */
	unsigned width; /* Max PASID Width */
} PciPasidCap;
/*
 * Looks for the PCIe PASID extended capability in config space (len bytes
 * as read from sysfs). A device without extended config space (256 bytes:
 * conventional PCI) has none. -ENODATA when only the 64 bytes an
 * unprivileged reader gets are there, so whether there is one cannot be told.
 */
int pci_config_find_pasid(const uint8_t *config, size_t len, PciPasidCap *ret);

/*
 * Bind=yes: moves the device to vfio-pci (driver_override, unbind from the
 * current driver, drivers_probe) and waits up to timeout_ns for its VFIO cdev.
 * A device already on vfio-pci is left alone. On failure everything done is
 * undone and *error says what went wrong. d is refreshed.
 */
typedef struct PciBinding PciBinding;
int pci_device_bind_vfio(const HostEnv *env, PciDevice *d, uint64_t timeout_ns, PciBinding **ret,
			 char **error);
/* True when the binding moved the device (and will move it back). */
bool pci_binding_changed(const PciBinding *b);
const char *pci_binding_original_driver(const PciBinding *b); /* NULL when there was none */
/*
 * Gives the device back: unbind from vfio-pci, restore driver_override,
 * drivers_probe so the original driver binds again. Frees b; NULL-safe.
 * Returns 0 or the first -errno (a device that is gone is not an error).
 */
int pci_binding_restore(PciBinding *b);
