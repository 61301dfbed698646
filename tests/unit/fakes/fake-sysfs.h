/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fake sysfs + /dev tree in a temporary directory for the PCI and vfio
 * tests, and a thread playing the kernel's part in driver binding.
 *
 * The tree holds what pci-sysfs.c reads: bus/pci/devices/BDF/{vendor, device,
 * class, driver_override, config, driver → link, iommu_group → link,
 * vfio-dev/vfioN/}, bus/pci/drivers/NAME/unbind, bus/pci/drivers_probe,
 * class/vfio-dev/, and dev/vfio/devices/vfioN as regular files.
 *
 * The "kernel" watches the attribute files with inotify and, in the order the
 * writes happened, records each one ("drivers/e1000e/unbind=0000:00:03.0") and
 * acts on it as the real kernel would: unbind removes the driver link (and the
 * VFIO cdev), drivers_probe binds driver_override if set, else the device's
 * native driver, provided that driver is "loaded" (has a directory).
 */

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"

#define FAKE_MAX_DEVICES 8
#define FAKE_MAX_WATCHES 32
#define FAKE_LOG_MAX	 64
/* A cdev file big enough for the regions the fake VFIO kernel hands out. */
#define FAKE_CDEV_SIZE (UINT64_C(1) << 21)

typedef struct FakeDevice {
	char bdf[32];
	char native_driver[32]; /* what drivers_probe binds without an override; "" none */
	bool cdev_capable;	/* vfio-pci creates vfio-dev/vfioN for it */
	unsigned vfio_index;
} FakeDevice;

typedef struct FakeSysfs {
	char root[PATH_MAX];
	char sys[PATH_MAX];
	char dev[PATH_MAX];
	char dev_vfio[PATH_MAX];
	char dev_iommu[PATH_MAX];
	HostEnv env;

	FakeDevice devices[FAKE_MAX_DEVICES];
	unsigned n_devices;

	/* the kernel emulation */
	pthread_t thread;
	bool running;
	int inotify_fd, stop_fd;
	struct {
		int wd;
		char path[PATH_MAX];
	} watches[FAKE_MAX_WATCHES];
	unsigned n_watches;
	pthread_mutex_t lock;
	char log[FAKE_LOG_MAX][160];
	unsigned n_log;
} FakeSysfs;

/* snprintf() into a path buffer; paths here are short, a long one is cut. */
void fake_path(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fake_mkdir_p(const char *path);
/* Aborts on failure: the tree is the test's own, an error there is a broken test. */
void fake_write_file(const char *path, const char *content);
/* buf is "" when the file cannot be read. */
void fake_read_file(const char *path, char *buf, size_t n);
void fake_rm_rf(const char *path);

/*
 * with_kernel: watch the tree and act on writes (fake_sysfs_start() starts the
 * thread once the devices are in place); without, the tree only holds files.
 */
FakeSysfs *fake_sysfs_new(bool with_kernel);
void fake_sysfs_start(FakeSysfs *f);
/* Stops the kernel thread and removes the tree. */
void fake_sysfs_free(FakeSysfs *f);

/* A driver directory: the driver is "loaded". */
void fake_add_driver(FakeSysfs *f, const char *name);
void fake_remove_driver(FakeSysfs *f, const char *name);
/*
 * A PCI device. driver NULL: unbound; otherwise also its native driver
 * (the one drivers_probe binds without an override) unless it is vfio-pci.
 * group NULL: no IOMMU group.
 */
FakeDevice *fake_add_device(FakeSysfs *f, const char *bdf, unsigned vendor, unsigned device,
			    unsigned class, const char *driver, const char *group,
			    bool cdev_capable);
/* Binds d to driver (NULL or "": unbinds), with the VFIO cdev for vfio-pci. */
void fake_set_driver(FakeSysfs *f, FakeDevice *d, const char *driver);
/* The device's current driver ("" when none). */
void fake_driver_of(FakeSysfs *f, const char *bdf, char *buf, size_t n);

/*
 * The kernel thread lags the writes a little (inotify): waits until at least
 * n writes are logged (up to a second), then a moment longer for any extra.
 */
void fake_settle(FakeSysfs *f, unsigned n);
/* Copies the write log and clears it; returns how many entries. */
unsigned fake_take_log(FakeSysfs *f, char out[][160], unsigned max);
