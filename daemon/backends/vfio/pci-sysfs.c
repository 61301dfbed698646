/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/vfio/pci-sysfs.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "pci-address.h"

/* PCIe extended capabilities (include/uapi/linux/pci_regs.h). */
#define PCI_CFG_SPACE_SIZE     256
#define PCI_CFG_SPACE_EXP_SIZE 4096
#define PCI_EXT_CAP_ID_PASID   0x1b
#define PCI_PASID_CAP	       0x04 /* PASID feature register */
#define PCI_PASID_CAP_EXEC     0x0002
#define PCI_PASID_CAP_PRIV     0x0004
#define PCI_PASID_CTRL	       0x06 /* PASID control register */
#define PCI_PASID_CTRL_ENABLE  0x0001
#define PCI_BIND_POLL_NS       (10 * NSEC_PER_MSEC)

struct PciBinding {
	char bdf[PCI_BDF_MAX];
	char *sysfs;	     /* sysfs root, for drivers_probe and drivers/ */
	char *syspath;	     /* the device's directory */
	char *orig_driver;   /* NULL when the device had no driver */
	char *orig_override; /* driver_override before we set it, NULL when unset */
	bool changed;
	uint64_t timeout_ns;
};

int pci_bdf_normalize(const char *s, char ret[static PCI_BDF_MAX])
{
	PciAddress a;

	/* sysfs writes the domain with 4 digits, VMD with up to 8. */
	if (pci_address_parse(s, PCI_ADDRESS_WIDE_DOMAIN, &a) < 0)
		return -EINVAL;
	a.has_domain = true; /* sysfs names always carry it, 0000 when it was left out */
	pci_address_format(&a, ret);
	return 0;
}

/* First line of a (sysfs attribute) file, trailing whitespace stripped. */
static int read_line(const char *path, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[4096];
	ssize_t n;
	char *s;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n'))
		buf[--n] = 0;
	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int read_hex_attr(const char *dir, const char *attr, uint64_t max, uint64_t *ret)
{
	_cleanup_free_ char *path = NULL, *line = NULL;
	uint64_t v;
	int r;

	if (asprintf(&path, "%s/%s", dir, attr) < 0)
		return -ENOMEM;
	r = read_line(path, &line);
	if (r < 0)
		return r;
	/* sysfs prints these as 0x%04x / 0x%06x; parse_u64 takes the 0x form. */
	r = parse_u64(line, &v);
	if (r < 0)
		return r;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* basename of a symlink's target; -ENOENT when there is no link. */
static int read_link_basename(const char *dir, const char *name, char **ret)
{
	_cleanup_free_ char *path = NULL;
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base)
		return -EINVAL;
	*ret = strdup(base);
	return *ret ? 0 : -ENOMEM;
}

/* The VFIO cdev's sysfs name (vfio-dev/vfioN); -ENOENT without one. */
static int find_vfio_dev(const char *syspath, char **ret)
{
	_cleanup_free_ char *path = NULL;
	struct dirent *de;
	DIR *dir;
	int r = -ENOENT;

	if (asprintf(&path, "%s/vfio-dev", syspath) < 0)
		return -ENOMEM;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (strncmp(de->d_name, "vfio", 4) == 0) {
			*ret = strdup(de->d_name);
			r = *ret ? 0 : -ENOMEM;
			break;
		}
	closedir(dir);
	return r;
}

static int write_attr(const char *path, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(value);
	ssize_t n;

	/* Like "echo value > attr": sysfs takes one write(2) per value. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (close(TAKE_FD(fd)) < 0)
		return -errno;
	return 0;
}

static int write_attr_at(const char *dir, const char *attr, const char *value)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", dir, attr) < 0)
		return -ENOMEM;
	r = write_attr(path, value);
	log_debug("sysfs: %s ← \"%s\": %s", path, value[0] == '\n' ? "\\n" : value,
		  r < 0 ? strerror(ERRNO_VALUE(r)) : "ok");
	return r;
}

int pci_device_refresh(const HostEnv *env, PciDevice *d)
{
	char *driver = NULL, *group = NULL, *vfio_dev = NULL, *cdev = NULL;
	int r;

	r = read_link_basename(d->syspath, "driver", &driver);
	if (r < 0 && r != -ENOENT)
		return r;
	r = read_link_basename(d->syspath, "iommu_group", &group);
	if (r < 0 && r != -ENOENT)
		goto fail;
	r = find_vfio_dev(d->syspath, &vfio_dev);
	if (r < 0 && r != -ENOENT)
		goto fail;
	if (vfio_dev && asprintf(&cdev, "%s/devices/%s", env->dev_vfio, vfio_dev) < 0) {
		r = -ENOMEM;
		goto fail;
	}

	free(d->driver);
	free(d->iommu_group);
	free(d->vfio_dev);
	free(d->cdev_path);
	d->driver = driver;
	d->iommu_group = group;
	d->vfio_dev = vfio_dev;
	d->cdev_path = cdev;
	return 0;

fail:
	free(driver);
	free(group);
	free(vfio_dev);
	return r;
}

PciDevice *pci_device_free(PciDevice *d)
{
	if (!d)
		return NULL;
	free(d->syspath);
	free(d->driver);
	free(d->iommu_group);
	free(d->vfio_dev);
	free(d->cdev_path);
	free(d);
	return NULL;
}

int pci_device_new(const HostEnv *env, const char *bdf, PciDevice **ret, char **error)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	uint64_t v;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (pci_bdf_normalize(bdf, d->bdf) < 0)
		return backend_errorf(error, -EINVAL,
				      "\"%s\" is not a PCI address like 0000:00:03.0",
				      strempty(bdf));
	if (asprintf(&d->syspath, "%s/bus/pci/devices/%s", env->sysfs, d->bdf) < 0)
		return -ENOMEM;
	if (access(d->syspath, F_OK) < 0) {
		r = -errno;
		if (r == -ENOENT)
			return backend_errorf(error, -ENODEV, "no PCI device %s (no %s)", d->bdf,
					      d->syspath);
		return backend_errorf(error, r, "cannot access %s: %s", d->syspath, strerror(-r));
	}

	r = read_hex_attr(d->syspath, "vendor", UINT16_MAX, &v);
	if (r < 0)
		goto fail;
	d->vendor = (uint16_t)v;
	r = read_hex_attr(d->syspath, "device", UINT16_MAX, &v);
	if (r < 0)
		goto fail;
	d->device = (uint16_t)v;
	r = read_hex_attr(d->syspath, "class", 0xffffff, &v);
	if (r < 0)
		goto fail;
	d->class = (uint32_t)v;
	r = pci_device_refresh(env, d);
	if (r < 0)
		goto fail;

	*ret = TAKE_PTR(d);
	return 0;

fail:
	return backend_errorf(error, r, "cannot read PCI device %s in %s: %s", d->bdf, d->syspath,
			      strerror(ERRNO_VALUE(r)));
}

bool pci_device_vfio_ready(const PciDevice *d)
{
	return d->iommu_group && streq_ptr(d->driver, PCI_DRIVER_VFIO) && d->vfio_dev &&
	       access(d->cdev_path, F_OK) >= 0;
}

int pci_device_check_iommu_group(const PciDevice *d, char **error)
{
	if (!d->iommu_group)
		return backend_errorf(
			error, -ENODEV,
			"%s has no IOMMU group: is the IOMMU enabled (intel_iommu=on)?", d->bdf);
	return 0;
}

/*
 * Where block device name (dev "259:1") is mounted, from mountinfo: by the
 * device number in the third field, or by the mount source after " - TYPE "
 * (btrfs and bcachefs show an anonymous 0:NN device number, and the source
 * is the only sign of the disk). NULL if not mounted in this namespace.
 */
static char *mount_point_of(const char *mountinfo, const char *name, const char *dev)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	char line[4096];

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char majmin[32], point[PATH_MAX], source[PATH_MAX];
		const char *sep = strstr(line, " - "), *base;

		/* "36 25 259:1 / /mnt rw,… - ext4 /dev/nvme0n1p1 rw": id, parent, dev, root, point. */
		if (sscanf(line, "%*u %*u %31s %*s %4095s", majmin, point) != 2)
			continue;
		if (streq(majmin, dev))
			return strdup(point);
		if (sep && sscanf(sep, " - %*s %4095s", source) == 1 && (base = strrchr(source, '/')) &&
		    streq(base + 1, name))
			return strdup(point);
	}
	return NULL;
}

/* Whether /dev/<name> is in /proc/swaps (its first column). */
static bool in_swaps(const char *swaps, const char *name)
{
	_cleanup_fclose_ FILE *f = fopen(swaps, "re");
	char line[4096];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char path[PATH_MAX];
		const char *base;

		if (sscanf(line, "%4095s", path) != 1 || path[0] != '/')
			continue;
		base = strrchr(path, '/') + 1;
		if (streq(base, name))
			return true;
	}
	return false;
}

/* The first entry of <dir>/holders, or NULL: "dm-0", "md127". */
static char *first_holder(const char *dir)
{
	_cleanup_free_ char *h = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (asprintf(&h, "%s/holders", dir) < 0)
		return NULL;
	d = opendir(h);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			return strdup(de->d_name);
	return NULL;
}

/*
 * The kernel's own answer: an exclusive open of the node fails with EBUSY
 * while anything holds the device exclusively, in any mount namespace
 * (filesystems, swap, dm/md, ZFS, a btrfs member). 1 busy, 0 not, <0 unknown
 * (no node, or the sandbox's device policy refuses it).
 */
static int exclusive_busy(const HostEnv *env, const char *dev)
{
	_cleanup_free_ char *node = NULL;
	int fd;

	if (!env->dev_block || asprintf(&node, "%s/%s", env->dev_block, dev) < 0)
		return -ENOMEM;
	fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EBUSY ? 1 : -errno;
}

/* One block device: -EBUSY with the reason when something uses it. */
static int check_block(const HostEnv *env, const PciDevice *d, const char *name, const char *syspath,
		       const char *mountinfo, const char *swaps, char **error)
{
	_cleanup_free_ char *attr = NULL, *dev = NULL, *point = NULL, *holder = NULL;
	const char *what = strncmp(name, "nvme", 4) == 0 ? "namespace" : "block device";

	if (asprintf(&attr, "%s/dev", syspath) < 0)
		return -ENOMEM;
	if (read_line(attr, &dev) < 0)
		return 0; /* gone meanwhile */
	point = mount_point_of(mountinfo, name, dev);
	if (point)
		return backend_errorf(
			error, -EBUSY,
			"Bind=yes refused: %s %s of %s is mounted on %s%s; unmount it or pick another device",
			what, name, d->bdf, point, streq(point, "/") ? " (the root filesystem)" : "");
	if (in_swaps(swaps, name))
		return backend_errorf(error, -EBUSY,
				      "Bind=yes refused: %s %s of %s is in use as swap (swapoff /dev/%s first)",
				      what, name, d->bdf, name);
	holder = first_holder(syspath);
	if (holder)
		return backend_errorf(
			error, -EBUSY, "Bind=yes refused: %s %s of %s is held by %s (%s); release it first",
			what, name, d->bdf, holder,
			strncmp(holder, "dm-", 3) == 0 ? "device-mapper: LVM, dm-crypt or multipath"
			: strncmp(holder, "md", 2) == 0 ? "an md RAID array"
							 : "another block device");
	if (exclusive_busy(env, dev) == 1)
		return backend_errorf(
			error, -EBUSY,
			"Bind=yes refused: %s %s of %s is in use (the kernel refuses an exclusive open: a filesystem in another mount namespace, a btrfs or ZFS member, or an external journal)",
			what, name, d->bdf);
	return 0;
}

int pci_device_check_unused(const HostEnv *env, const PciDevice *d, char **error)
{
	_cleanup_free_ char *classdir = NULL, *devpath = NULL, *mountinfo = NULL, *swaps = NULL;
	_cleanup_closedir_ DIR *dir = NULL;
	char heads[16][32];
	size_t n, n_heads = 0;
	struct dirent *de;
	int r;

	if (asprintf(&classdir, "%s/class/block", env->sysfs) < 0 ||
	    asprintf(&mountinfo, "%s/self/mountinfo", env->proc) < 0 ||
	    asprintf(&swaps, "%s/swaps", env->proc) < 0)
		return -ENOMEM;
	devpath = realpath(d->syspath, NULL);
	if (!devpath)
		return backend_errorf(error, -errno, "cannot resolve %s: %s", d->syspath, strerror(errno));
	n = strlen(devpath);
	dir = opendir(classdir);
	if (!dir)
		return 0; /* no block layer: nothing can be in use */

	/* The function's own block devices, and the multipath heads their paths lead to. */
	while ((de = readdir(dir))) {
		_cleanup_free_ char *link = NULL, *real = NULL;
		unsigned subsys, ctrl, ns;
		char tail;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&link, "%s/%s", classdir, de->d_name) < 0)
			return -ENOMEM;
		real = realpath(link, NULL);
		if (!real || strncmp(real, devpath, n) != 0 || real[n] != '/')
			continue;
		r = check_block(env, d, de->d_name, real, mountinfo, swaps, error);
		if (r < 0)
			return r;
		/*
		 * With native NVMe multipath the function holds only the hidden path
		 * disk nvme<S>c<C>n<N>; what users mount is the subsystem's head
		 * nvme<S>n<N> (and its partitions), which lives elsewhere in sysfs.
		 */
		if (sscanf(de->d_name, "nvme%uc%un%u%c", &subsys, &ctrl, &ns, &tail) == 3 &&
		    n_heads < ELEMENTSOF(heads))
			(void)snprintf(heads[n_heads++], sizeof(heads[0]), "nvme%un%u", subsys, ns);
	}
	for (size_t h = 0; h < n_heads; h++) {
		size_t hl = strlen(heads[h]);

		rewinddir(dir);
		while ((de = readdir(dir))) {
			_cleanup_free_ char *link = NULL, *real = NULL;

			/* The head itself, or one of its partitions (nvme0n1p2). */
			if (strncmp(de->d_name, heads[h], hl) != 0 ||
			    (de->d_name[hl] && de->d_name[hl] != 'p'))
				continue;
			if (asprintf(&link, "%s/%s", classdir, de->d_name) < 0)
				return -ENOMEM;
			real = realpath(link, NULL);
			if (!real)
				continue;
			r = check_block(env, d, de->d_name, real, mountinfo, swaps, error);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int pci_device_check_vfio(const HostEnv *env, const PciDevice *d, char **error)
{
	int r;

	r = pci_device_check_iommu_group(d, error);
	if (r < 0)
		return r;
	if (!d->driver)
		return backend_errorf(
			error, -ENODEV,
			"%s is not bound to any driver, not vfio-pci; set Bind=yes in [Scenario] or bind it yourself",
			d->bdf);
	if (!streq(d->driver, PCI_DRIVER_VFIO))
		return backend_errorf(
			error, -ENODEV,
			"%s is bound to %s, not vfio-pci; set Bind=yes in [Scenario] or bind it yourself",
			d->bdf, d->driver);
	if (!d->vfio_dev)
		return backend_errorf(
			error, -EOPNOTSUPP,
			"%s is bound to vfio-pci but has no VFIO device cdev (no %s/vfio-dev): kernel without CONFIG_VFIO_DEVICE_CDEV",
			d->bdf, d->syspath);
	if (access(d->cdev_path, F_OK) < 0) {
		r = -errno;
		return backend_errorf(
			error, r == -ENOENT ? -ENODEV : r,
			"%s has the VFIO cdev %s but %s is missing (%s): is devtmpfs mounted on /dev?",
			d->bdf, d->vfio_dev, d->cdev_path, strerror(-r));
	}
	return 0;
}

static int compare_devices(const void *a, const void *b)
{
	const PciDevice *x = *(PciDevice *const *)a, *y = *(PciDevice *const *)b;

	return strcmp(x->bdf, y->bdf);
}

void pci_device_list_free(PciDevice **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		pci_device_free(l[i]);
	free(l);
}

int pci_device_list(const HostEnv *env, PciDevice ***ret, size_t *ret_n)
{
	_cleanup_free_ char *path = NULL;
	PciDevice **l = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	if (asprintf(&path, "%s/bus/pci/devices", env->sysfs) < 0)
		return -ENOMEM;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		PciDevice *d = NULL;
		int k;

		if (de->d_name[0] == '.')
			continue;
		k = pci_device_new(env, de->d_name, &d, NULL);
		if (k == -ENOMEM) {
			r = k;
			break;
		}
		if (k < 0) {
			/* Removed while listing, or not a PCI address: not ours to list. */
			log_debug_errno(k, "Skipping %s/%s: %m", path, de->d_name);
			continue;
		}
		if (n == cap) {
			PciDevice **nl = reallocarray(l, cap ? cap * 2 : 16, sizeof(*l));

			if (!nl) {
				pci_device_free(d);
				r = -ENOMEM;
				break;
			}
			l = nl;
			cap = cap ? cap * 2 : 16;
		}
		l[n++] = d;
	}
	closedir(dir);
	if (r < 0) {
		pci_device_list_free(l, n);
		return r;
	}
	if (n > 0)
		qsort(l, n, sizeof(*l), compare_devices);
	*ret = l;
	*ret_n = n;
	return 0;
}

int pci_device_read_config(const PciDevice *d, uint8_t *buf, size_t size, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;

	if (asprintf(&path, "%s/config", d->syspath) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* sysfs serves config space in pieces; read until it says there is no more. */
	while (len < size) {
		ssize_t n = pread(fd, buf + len, size - len, (off_t)len);

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int pci_config_find_pasid(const uint8_t *config, size_t len, PciPasidCap *ret)
{
	unsigned pos = PCI_CFG_SPACE_SIZE;

	*ret = (PciPasidCap){};
	/* 64 bytes is all an unprivileged reader gets: no telling. */
	if (len < PCI_CFG_SPACE_SIZE)
		return -ENODATA;
	/* No extended config space (conventional PCI): PASID is a PCIe capability. */
	if (len < PCI_CFG_SPACE_EXP_SIZE)
		return 0;
	/* A malformed list must not loop forever: each capability takes at least 4 bytes. */
	for (unsigned i = 0; i < (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4; i++) {
		uint32_t header = le32(config + pos);

		/* All zeros or all ones: no (more) extended capabilities. */
		if (header == 0 || header == UINT32_MAX)
			break;
		if ((header & 0xffff) == PCI_EXT_CAP_ID_PASID && pos + 8 <= len) {
			uint16_t cap = le16(config + pos + PCI_PASID_CAP);
			uint16_t ctrl = le16(config + pos + PCI_PASID_CTRL);

			*ret = (PciPasidCap){
				.present = true,
				.exec = cap & PCI_PASID_CAP_EXEC,
				.priv = cap & PCI_PASID_CAP_PRIV,
				.width = (cap >> 8) & 0x1f,
				.enabled = ctrl & PCI_PASID_CTRL_ENABLE,
			};
			return 0;
		}
		pos = (header >> 20) & 0xffc;
		if (pos < PCI_CFG_SPACE_SIZE || pos + 4 > len)
			break;
	}
	return 0;
}

bool pci_binding_changed(const PciBinding *b)
{
	return b && b->changed;
}

const char *pci_binding_original_driver(const PciBinding *b)
{
	return b ? b->orig_driver : NULL;
}

static PciBinding *pci_binding_free(PciBinding *b)
{
	if (!b)
		return NULL;
	free(b->sysfs);
	free(b->syspath);
	free(b->orig_driver);
	free(b->orig_override);
	free(b);
	return NULL;
}


/* Waits until the device's driver is want (NULL: none); false on timeout. */
static bool wait_for_driver(const char *syspath, const char *want, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + timeout_ns;

	for (;;) {
		_cleanup_free_ char *driver = NULL;
		int r = read_link_basename(syspath, "driver", &driver);

		if (r == -ENOENT && access(syspath, F_OK) < 0)
			return false; /* the device is gone */
		if (r >= 0 ? streq_ptr(driver, want) : (r == -ENOENT && !want))
			return true;
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			return false;
		sleep_ns(PCI_BIND_POLL_NS);
	}
}

int pci_binding_restore(PciBinding *b)
{
	_cleanup_free_ char *unbind = NULL, *driver = NULL;
	int r = 0, k;

	if (!b)
		return 0;
	if (!b->changed) {
		pci_binding_free(b);
		return 0;
	}
	if (access(b->syspath, F_OK) < 0) {
		/* Hot-removed: there is nothing left to give back. */
		log_debug("%s is gone; not restoring its driver", b->bdf);
		pci_binding_free(b);
		return 0;
	}

	k = read_link_basename(b->syspath, "driver", &driver);
	if (k >= 0 && streq(driver, PCI_DRIVER_VFIO)) {
		if (asprintf(&unbind, "%s/bus/pci/drivers/" PCI_DRIVER_VFIO, b->sysfs) < 0) {
			pci_binding_free(b);
			return -ENOMEM;
		}
		k = write_attr_at(unbind, "unbind", b->bdf);
		if (k < 0 && r == 0)
			r = k;
		if (!wait_for_driver(b->syspath, NULL, b->timeout_ns))
			log_debug("%s: still bound to vfio-pci after unbind", b->bdf);
	}
	/* An empty line clears driver_override; "\n" is what "echo > driver_override" writes. */
	k = write_attr_at(b->syspath, "driver_override", b->orig_override ?: "\n");
	if (k < 0 && r == 0)
		r = k;
	/* A device that had no driver stays without one: probing could bind some other driver. */
	if (b->orig_driver) {
		_cleanup_free_ char *bus = NULL;

		if (asprintf(&bus, "%s/bus/pci", b->sysfs) < 0) {
			pci_binding_free(b);
			return -ENOMEM;
		}
		k = write_attr_at(bus, "drivers_probe", b->bdf);
		if (k < 0 && r == 0)
			r = k;
		if (!wait_for_driver(b->syspath, b->orig_driver, b->timeout_ns)) {
			log_debug("%s: %s did not bind again after drivers_probe", b->bdf,
				  b->orig_driver);
			if (r == 0)
				r = -ETIMEDOUT;
		}
	}
	log_debug("%s: given back to %s: %s", b->bdf, b->orig_driver ?: "no driver",
		  r < 0 ? strerror(ERRNO_VALUE(r)) : "ok");
	pci_binding_free(b);
	return r;
}

/* Polls until the device is on vfio-pci with its cdev node present. */
static int wait_for_vfio(const HostEnv *env, PciDevice *d, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + timeout_ns;
	int r;

	for (;;) {
		r = pci_device_refresh(env, d);
		if (r < 0)
			return r;
		if (streq_ptr(d->driver, PCI_DRIVER_VFIO) && d->cdev_path &&
		    access(d->cdev_path, F_OK) >= 0)
			return 0;
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			return -ETIMEDOUT;
		sleep_ns(PCI_BIND_POLL_NS);
	}
}

int pci_device_bind_vfio(const HostEnv *env, PciDevice *d, uint64_t timeout_ns, PciBinding **ret,
			 char **error)
{
	PciBinding *b;
	_cleanup_free_ char *override = NULL, *drv = NULL, *bus = NULL;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b->bdf, d->bdf, sizeof(b->bdf));
	b->timeout_ns = timeout_ns;
	b->sysfs = strdup(env->sysfs);
	b->syspath = strdup(d->syspath);
	if (!b->sysfs || !b->syspath) {
		pci_binding_free(b);
		return -ENOMEM;
	}

	if (streq_ptr(d->driver, PCI_DRIVER_VFIO)) {
		/* Already where we want it: leave it there afterwards too. */
		*ret = b;
		return 0;
	}
	if (d->driver) {
		b->orig_driver = strdup(d->driver);
		if (!b->orig_driver) {
			pci_binding_free(b);
			return -ENOMEM;
		}
	}
	if (asprintf(&override, "%s/driver_override", d->syspath) < 0) {
		pci_binding_free(b);
		return -ENOMEM;
	}
	r = read_line(override, &b->orig_override);
	if (r < 0) {
		pci_binding_free(b);
		return backend_errorf(error, r, "cannot read %s (%s): cannot bind %s to vfio-pci",
				      override, strerror(-r), d->bdf);
	}
	/* The kernel shows an unset override as "(null)". */
	if (streq(b->orig_override, "(null)") || isempty(b->orig_override))
		b->orig_override = mfree(b->orig_override);

	/* From here on the device is ours to give back, whatever fails. */
	b->changed = true;
	r = write_attr_at(d->syspath, "driver_override", PCI_DRIVER_VFIO);
	if (r < 0) {
		backend_errorf(error, r, "cannot set %s to vfio-pci: %s", override, strerror(-r));
		goto fail;
	}
	if (d->driver) {
		if (asprintf(&drv, "%s/bus/pci/drivers/%s", env->sysfs, d->driver) < 0) {
			r = -ENOMEM;
			goto fail;
		}
		r = write_attr_at(drv, "unbind", d->bdf);
		if (r < 0) {
			backend_errorf(error, r, "cannot unbind %s from %s (%s/unbind): %s", d->bdf,
				       d->driver, drv, strerror(-r));
			goto fail;
		}
	}
	if (asprintf(&bus, "%s/bus/pci", env->sysfs) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = write_attr_at(bus, "drivers_probe", d->bdf);
	if (r < 0) {
		backend_errorf(error, r, "cannot probe %s for vfio-pci (%s/drivers_probe): %s",
			       d->bdf, bus, strerror(-r));
		goto fail;
	}

	r = wait_for_vfio(env, d, timeout_ns);
	if (r == -ETIMEDOUT) {
		if (!streq_ptr(d->driver, PCI_DRIVER_VFIO))
			backend_errorf(
				error, -ENODEV,
				"%s did not bind to vfio-pci after driver_override and drivers_probe (driver now: %s): is the vfio-pci module loaded (modprobe vfio-pci)?",
				d->bdf, d->driver ?: "none");
		else if (!d->vfio_dev)
			backend_errorf(
				error, -EOPNOTSUPP,
				"%s is bound to vfio-pci but has no VFIO device cdev (no %s/vfio-dev): kernel without CONFIG_VFIO_DEVICE_CDEV",
				d->bdf, d->syspath);
		else
			backend_errorf(
				error, -ENODEV,
				"%s is bound to vfio-pci as %s but %s did not appear: is devtmpfs mounted on /dev?",
				d->bdf, d->vfio_dev, d->cdev_path);
		r = -ENODEV;
		goto fail;
	}
	if (r < 0) {
		backend_errorf(error, r, "cannot read %s after binding it to vfio-pci: %s", d->bdf,
			       strerror(-r));
		goto fail;
	}
	log_debug("%s: moved from %s to vfio-pci (%s)", d->bdf, b->orig_driver ?: "no driver",
		  d->cdev_path);
	*ret = b;
	return 0;

fail:
	(void)pci_binding_restore(b);
	(void)pci_device_refresh(env, d);
	return r;
}
