/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pci-sysfs against a fake sysfs tree: address normalisation, discovery,
 * every error message, the PASID capability walk, and Bind=yes with a thread
 * playing the kernel, checking which files are written in which order and
 * that the device goes back to its driver on every path.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes/fake-sysfs.h"
#include "macro.h"
#include "backends/vfio/pci-sysfs.h"

#define EDU   "0000:00:03.0"
#define E1000 "0000:00:02.0"
/* Short, so that the failure paths' waits do not slow the suite down. */
#define TIMEOUT_NS (300 * UINT64_C(1000000))

static FakeSysfs *f;

static void setup_plain(void)
{
	f = fake_sysfs_new(false);
}

static void setup_kernel(void)
{
	f = fake_sysfs_new(true);
}

static void teardown(void)
{
	fake_sysfs_free(f);
	f = NULL;
}

/* ---- Bind=yes never takes a disk in use ---- */

#define NVME "0000:00:04.0"

/* A namespace (and optionally a partition) of the controller, as the block layer shows it. */
static void add_block(const char *name, const char *parent, const char *dev)
{
	char dir[PATH_MAX], link[PATH_MAX], p[PATH_MAX];

	if (parent)
		fake_path(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvme/nvme0/%s/%s", f->sys, NVME, parent, name);
	else
		fake_path(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvme/nvme0/%s", f->sys, NVME, name);
	fake_mkdir_p(dir);
	fake_path(p, sizeof(p), "%s/holders", dir);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/dev", dir);
	fake_write_file(p, dev);
	fake_path(p, sizeof(p), "%s/class/block", f->sys);
	fake_mkdir_p(p);
	fake_path(link, sizeof(link), "%s/class/block/%s", f->sys, name);
	ck_assert_int_eq(symlink(dir, link), 0);
}

static void write_proc(const char *file, const char *text)
{
	char p[PATH_MAX];

	fake_path(p, sizeof(p), "%s/proc/self", f->root);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/proc/%s", f->root, file);
	fake_write_file(p, text);
}

static void expect_in_use(PciDevice *d, const char *message)
{
	_cleanup_free_ char *error = NULL;

	ck_assert_int_eq(pci_device_check_unused(&f->env, d, &error), -EBUSY);
	ck_assert_msg(strstr(error, message), "%s", error);
}

START_TEST(test_check_unused)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL, *edu = NULL;
	_cleanup_free_ char *error = NULL, *proc = NULL;
	char p[PATH_MAX];

	fake_add_device(f, NVME, 0x1b36, 0x0010, 0x010802, "nvme", "4", true);
	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, NULL, "3", true);
	fake_path(p, sizeof(p), "%s/proc", f->root);
	proc = strdup(p);
	f->env.proc = proc;
	write_proc("self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n");
	write_proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	ck_assert_int_eq(pci_device_new(&f->env, NVME, &d, &error), 0);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &edu, &error), 0);

	/* No block layer at all, then namespaces nobody uses: free to take. */
	ck_assert_int_eq(pci_device_check_unused(&f->env, d, &error), 0);
	add_block("nvme0n1", NULL, "259:0\n");
	add_block("nvme0n1p1", "nvme0n1", "259:1\n");
	add_block("nvme0n1p2", "nvme0n1", "259:2\n");
	ck_assert_int_eq(pci_device_check_unused(&f->env, d, &error), 0);
	ck_assert_ptr_null(error);

	write_proc("self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n"
				     "36 22 259:1 / /srv/data rw,relatime - ext4 /dev/nvme0n1p1 rw\n");
	expect_in_use(d, "Bind=yes refused: namespace nvme0n1p1 of " NVME " is mounted on /srv/data; unmount it");
	/* Another device's disks are not this one's business. */
	ck_assert_int_eq(pci_device_check_unused(&f->env, edu, &error), 0);

	write_proc("self/mountinfo", "25 0 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n");
	expect_in_use(d, "nvme0n1p2 of " NVME " is mounted on / (the root filesystem)");

	write_proc("self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n");
	write_proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/nvme0n1p2 partition 1048572 0 -2\n");
	expect_in_use(d, "namespace nvme0n1p2 of " NVME " is in use as swap (swapoff /dev/nvme0n1p2 first)");

	write_proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	fake_path(p, sizeof(p), "%s/bus/pci/devices/%s/nvme/nvme0/nvme0n1/holders/dm-0", f->sys, NVME);
	fake_mkdir_p(p);
	expect_in_use(d, "namespace nvme0n1 of " NVME " is held by dm-0 (device-mapper: LVM, dm-crypt or multipath)");
	fake_path(p, sizeof(p), "%s/bus/pci/devices/%s/nvme/nvme0/nvme0n1/holders/dm-0", f->sys, NVME);
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(pci_device_check_unused(&f->env, d, &error), 0);

	/* btrfs shows an anonymous device number: the mount source names the disk. */
	write_proc("self/mountinfo", "25 0 0:26 /root / rw - btrfs /dev/nvme0n1p2 rw,ssd\n");
	expect_in_use(d, "namespace nvme0n1p2 of " NVME " is mounted on / (the root filesystem)");
	f->env.proc = "/proc";
}
END_TEST

START_TEST(test_check_unused_multipath)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL, *proc = NULL;
	char dir[PATH_MAX], link[PATH_MAX], p[PATH_MAX];

	/* Native multipath: the function has the path disk nvme0c0n1; the head is elsewhere. */
	fake_add_device(f, NVME, 0x144d, 0xa824, 0x010802, "nvme", "4", true);
	fake_path(p, sizeof(p), "%s/proc", f->root);
	proc = strdup(p);
	f->env.proc = proc;
	write_proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	write_proc("self/mountinfo", "25 0 259:3 / /srv rw - xfs /dev/nvme0n1p1 rw\n");
	ck_assert_int_eq(pci_device_new(&f->env, NVME, &d, &error), 0);
	add_block("nvme0c0n1", NULL, "259:1\n");
	fake_path(dir, sizeof(dir), "%s/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1/nvme0n1p1", f->sys);
	fake_mkdir_p(dir);
	fake_path(p, sizeof(p), "%s/dev", dir);
	fake_write_file(p, "259:3\n");
	fake_path(link, sizeof(link), "%s/class/block/nvme0n1p1", f->sys);
	ck_assert_int_eq(symlink(dir, link), 0);
	expect_in_use(d, "namespace nvme0n1p1 of " NVME " is mounted on /srv");
	f->env.proc = "/proc";
}
END_TEST

/* ---- normalisation ---- */

static const struct {
	const char *in, *out;
} bdf_cases[] = {
	{"00:03.0", "0000:00:03.0"},
	{"0000:00:03.0", "0000:00:03.0"},
	{"0000:0A:1F.7", "0000:0a:1f.7"},
	{"ab:1f.7", "0000:ab:1f.7"},
	{"10000:e1:00.0", "10000:e1:00.0"},
	{"00:20.0", NULL},	 /* device > 0x1f */
	{"00:03.8", NULL},	 /* function > 7 */
	{"0:03.0", NULL},	 /* one-digit bus */
	{"00:03", NULL},	 /* no function */
	{"000:00:03.0", NULL},	 /* three-digit domain */
	{"0000:00:03.0x", NULL}, /* trailing garbage */
	{"", NULL},
	{"zz:00.0", NULL},
	{"0000:00:03.0:1", NULL},
};

START_TEST(test_bdf_normalize)
{
	char out[PCI_BDF_MAX];
	int r = pci_bdf_normalize(bdf_cases[_i].in, out);

	if (bdf_cases[_i].out) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(out, bdf_cases[_i].out);
	} else
		ck_assert_msg(r == -EINVAL, "\"%s\" accepted as %s", bdf_cases[_i].in, out);
}
END_TEST

/* ---- discovery ---- */

START_TEST(test_discovery)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;
	char cdev[PATH_MAX];

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", true);
	/* The short form finds it too, and the device is stored in sysfs form. */
	ck_assert_int_eq(pci_device_new(&f->env, "00:03.0", &d, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_str_eq(d->bdf, EDU);
	ck_assert_uint_eq(d->vendor, 0x1234);
	ck_assert_uint_eq(d->device, 0x11e8);
	ck_assert_uint_eq(d->class, 0x00ff00);
	ck_assert_str_eq(d->driver, "vfio-pci");
	ck_assert_str_eq(d->iommu_group, "3");
	ck_assert_str_eq(d->vfio_dev, "vfio0");
	fake_path(cdev, sizeof(cdev), "%s/devices/vfio0", f->dev_vfio);
	ck_assert_str_eq(d->cdev_path, cdev);
	ck_assert(pci_device_vfio_ready(d));
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), 0);
	ck_assert_ptr_null(error);
}
END_TEST

START_TEST(test_discovery_unbound)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, NULL, NULL, true);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_ptr_null(d->driver);
	ck_assert_ptr_null(d->iommu_group);
	ck_assert_ptr_null(d->vfio_dev);
	ck_assert_ptr_null(d->cdev_path);
	ck_assert(!pci_device_vfio_ready(d));
}
END_TEST

START_TEST(test_list)
{
	PciDevice **l = NULL;
	size_t n = 0;
	char junk[PATH_MAX];

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", true);
	fake_add_device(f, "0000:00:1f.3", 0x8086, 0x293e, 0x040300, "snd_hda_intel", "4", false);
	fake_add_device(f, E1000, 0x8086, 0x10d3, 0x020000, "e1000e", "2", false);
	/* Not a PCI address: skipped, not fatal. */
	fake_path(junk, sizeof(junk), "%s/bus/pci/devices/junk", f->sys);
	fake_mkdir_p(junk);

	ck_assert_int_eq(pci_device_list(&f->env, &l, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(l[0]->bdf, E1000);
	ck_assert_str_eq(l[1]->bdf, EDU);
	ck_assert_str_eq(l[2]->bdf, "0000:00:1f.3");
	ck_assert_str_eq(l[0]->driver, "e1000e");
	pci_device_list_free(l, n);
}
END_TEST

/* ---- error messages ---- */

START_TEST(test_error_no_device)
{
	_cleanup_free_ char *error = NULL, *expected = NULL;
	PciDevice *d = NULL;

	ck_assert_int_eq(pci_device_new(&f->env, "00:09.0", &d, &error), -ENODEV);
	ck_assert_ptr_null(d);
	ck_assert_int_ge(asprintf(&expected,
				  "no PCI device 0000:00:09.0 (no %s/bus/pci/devices/0000:00:09.0)",
				  f->sys),
			 0);
	ck_assert_str_eq(error, expected);
}
END_TEST

START_TEST(test_error_bad_address)
{
	_cleanup_free_ char *error = NULL;
	PciDevice *d = NULL;

	ck_assert_int_eq(pci_device_new(&f->env, "00:33.0", &d, &error), -EINVAL);
	ck_assert_str_eq(error, "\"00:33.0\" is not a PCI address like 0000:00:03.0");
}
END_TEST

START_TEST(test_error_wrong_driver)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;

	fake_add_device(f, EDU, 0x8086, 0x10d3, 0x020000, "e1000e", "3", true);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), -ENODEV);
	ck_assert_str_eq(error, "0000:00:03.0 is bound to e1000e, not vfio-pci; set Bind=yes in "
				"[Scenario] or bind it yourself");
}
END_TEST

START_TEST(test_error_no_driver)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, NULL, "3", true);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), -ENODEV);
	ck_assert_str_eq(error, "0000:00:03.0 is not bound to any driver, not vfio-pci; set "
				"Bind=yes in [Scenario] or bind it yourself");
}
END_TEST

START_TEST(test_error_no_group)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", NULL, true);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), -ENODEV);
	ck_assert_str_eq(error,
			 "0000:00:03.0 has no IOMMU group: is the IOMMU enabled (intel_iommu=on)?");
}
END_TEST

START_TEST(test_error_no_cdev)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL, *expected = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", false);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), -EOPNOTSUPP);
	ck_assert_int_ge(
		asprintf(&expected,
			 "0000:00:03.0 is bound to vfio-pci but has no VFIO device cdev (no "
			 "%s/bus/pci/devices/0000:00:03.0/vfio-dev): kernel without "
			 "CONFIG_VFIO_DEVICE_CDEV",
			 f->sys),
		0);
	ck_assert_str_eq(error, expected);
}
END_TEST

START_TEST(test_error_no_cdev_node)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;
	char node[PATH_MAX];

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", true);
	fake_path(node, sizeof(node), "%s/devices/vfio0", f->dev_vfio);
	ck_assert_int_eq(unlink(node), 0);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert(!pci_device_vfio_ready(d));
	ck_assert_int_eq(pci_device_check_vfio(&f->env, d, &error), -ENODEV);
	ck_assert_ptr_nonnull(strstr(error, "is devtmpfs mounted on /dev?"));
}
END_TEST

/* ---- config space ---- */

static void put32(uint8_t *c, unsigned at, uint32_t v)
{
	c[at] = (uint8_t)v;
	c[at + 1] = (uint8_t)(v >> 8);
	c[at + 2] = (uint8_t)(v >> 16);
	c[at + 3] = (uint8_t)(v >> 24);
}

START_TEST(test_pasid_cap)
{
	static uint8_t c[4096];
	PciPasidCap p;

	memset(c, 0, sizeof(c));
	/* AER (0x0001, v1) at 0x100 → ACS (0x000d) at 0x148 → PASID (0x001b) at 0x1b0. */
	put32(c, 0x100, 0x0001u | 1u << 16 | 0x148u << 20);
	put32(c, 0x148, 0x000du | 1u << 16 | 0x1b0u << 20);
	put32(c, 0x1b0, 0x001bu | 1u << 16 | 0x000u << 20);
	/* Capability: exec (bit 1), priv (bit 2), width 20 (bits 12:8); control: enable. */
	put32(c, 0x1b4, 0x0006u | 20u << 8 | 0x0001u << 16);

	ck_assert_int_eq(pci_config_find_pasid(c, sizeof(c), &p), 0);
	ck_assert(p.present);
	ck_assert(p.exec);
	ck_assert(p.priv);
	ck_assert(p.enabled);
	ck_assert_uint_eq(p.width, 20);

	/* No PASID capability in the list. */
	put32(c, 0x148, 0x000du | 1u << 16);
	ck_assert_int_eq(pci_config_find_pasid(c, sizeof(c), &p), 0);
	ck_assert(!p.present);

	/* A list that loops on itself ends. */
	put32(c, 0x148, 0x000du | 1u << 16 | 0x148u << 20);
	ck_assert_int_eq(pci_config_find_pasid(c, sizeof(c), &p), 0);
	ck_assert(!p.present);

	/* Conventional PCI (256 bytes as root): no extended capabilities, so no PASID. */
	ck_assert_int_eq(pci_config_find_pasid(c, 256, &p), 0);
	ck_assert(!p.present);
	/* The 64 bytes an unprivileged reader gets: unknown. */
	ck_assert_int_eq(pci_config_find_pasid(c, 64, &p), -ENODATA);
}
END_TEST

START_TEST(test_read_config)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	char path[PATH_MAX];
	uint8_t buf[4096];
	size_t len = 0;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", true);
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/config", f->sys, EDU);
	fake_write_file(path, "\x34\x12\xe8\x11");
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_read_config(d, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(buf[0], 0x34);
	ck_assert_uint_eq(buf[3], 0x11);
}
END_TEST

/* ---- Bind=yes ---- */

static void assert_log(const char *const *expected, size_t n)
{
	char log[FAKE_LOG_MAX][160];
	unsigned got;

	fake_settle(f, (unsigned)n);
	got = fake_take_log(f, log, FAKE_LOG_MAX);

	for (unsigned i = 0; i < MIN((size_t)got, n); i++)
		ck_assert_msg(streq(log[i], expected[i]), "write %u: got \"%s\", expected \"%s\"",
			      i, log[i], expected[i]);
	ck_assert_msg(got == n, "%u writes, expected %zu (first: %s)", got, n,
		      got ? log[0] : "none");
}

static void assert_driver(const char *want)
{
	char drv[64];

	fake_driver_of(f, EDU, drv, sizeof(drv));
	ck_assert_str_eq(drv, want);
}

START_TEST(test_bind_and_restore)
{
	static const char *const bind_writes[] = {
		"devices/0000:00:03.0/driver_override=vfio-pci",
		"drivers/e1000e/unbind=0000:00:03.0",
		"drivers_probe=0000:00:03.0",
	};
	static const char *const restore_writes[] = {
		"drivers/vfio-pci/unbind=0000:00:03.0",
		"devices/0000:00:03.0/driver_override=\\n",
		"drivers_probe=0000:00:03.0",
	};
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;
	PciBinding *b = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "e1000e", "3", true);
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);

	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert(pci_binding_changed(b));
	ck_assert_str_eq(pci_binding_original_driver(b), "e1000e");
	ck_assert_str_eq(d->driver, "vfio-pci");
	ck_assert(pci_device_vfio_ready(d));
	assert_log(bind_writes, ELEMENTSOF(bind_writes));

	ck_assert_int_eq(pci_binding_restore(b), 0);
	assert_log(restore_writes, ELEMENTSOF(restore_writes));
	assert_driver("e1000e");
}
END_TEST

START_TEST(test_bind_already_vfio)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	PciBinding *b = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "vfio-pci", "3", true);
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, NULL), 0);
	ck_assert(!pci_binding_changed(b));
	ck_assert_int_eq(pci_binding_restore(b), 0);
	/* Nothing written either way, and the device stays on vfio-pci. */
	assert_log(NULL, 0);
	assert_driver("vfio-pci");
}
END_TEST

START_TEST(test_bind_unbound_device)
{
	static const char *const bind_writes[] = {
		"devices/0000:00:03.0/driver_override=vfio-pci",
		"drivers_probe=0000:00:03.0",
	};
	static const char *const restore_writes[] = {
		"drivers/vfio-pci/unbind=0000:00:03.0",
		"devices/0000:00:03.0/driver_override=\\n",
	};
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	PciBinding *b = NULL;

	/* edu has no kernel driver: nothing to unbind, and nothing to probe afterwards. */
	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, NULL, "3", true);
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, NULL), 0);
	ck_assert_ptr_null(pci_binding_original_driver(b));
	assert_log(bind_writes, ELEMENTSOF(bind_writes));
	ck_assert_int_eq(pci_binding_restore(b), 0);
	assert_log(restore_writes, ELEMENTSOF(restore_writes));
	assert_driver("");
}
END_TEST

START_TEST(test_bind_keeps_previous_override)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	char path[PATH_MAX];
	PciBinding *b = NULL;
	char log[FAKE_LOG_MAX][160];
	unsigned n;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "e1000e", "3", true);
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override", f->sys, EDU);
	fake_write_file(path, "e1000e\n");
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, NULL), 0);
	(void)fake_take_log(f, log, FAKE_LOG_MAX);
	ck_assert_int_eq(pci_binding_restore(b), 0);
	fake_settle(f, 3);
	n = fake_take_log(f, log, FAKE_LOG_MAX);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(log[1], "devices/0000:00:03.0/driver_override=e1000e");
	assert_driver("e1000e");
}
END_TEST

START_TEST(test_bind_fails_no_vfio_pci)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;
	PciBinding *b = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "e1000e", "3", true);
	/* vfio-pci is not loaded: drivers_probe binds nothing. */
	fake_remove_driver(f, "vfio-pci");
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, &error), -ENODEV);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(error, "0000:00:03.0 did not bind to vfio-pci after driver_override and "
				"drivers_probe (driver now: none): is the vfio-pci module loaded "
				"(modprobe vfio-pci)?");
	/* Given back: override cleared, e1000e bound again. */
	assert_driver("e1000e");
	ck_assert_str_eq(d->driver, "e1000e");
}
END_TEST

START_TEST(test_bind_fails_no_cdev)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	_cleanup_free_ char *error = NULL;
	PciBinding *b = NULL;

	/* vfio-pci binds, but the kernel has no VFIO cdev. */
	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "e1000e", "3", false);
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, &error), -ENODEV);
	ck_assert_ptr_nonnull(strstr(error, "kernel without CONFIG_VFIO_DEVICE_CDEV"));
	assert_driver("e1000e");
}
END_TEST

START_TEST(test_restore_device_gone)
{
	_cleanup_(pci_device_freep) PciDevice *d = NULL;
	char path[PATH_MAX];
	PciBinding *b = NULL;

	fake_add_device(f, EDU, 0x1234, 0x11e8, 0x00ff00, "e1000e", "3", true);
	fake_sysfs_start(f);
	ck_assert_int_eq(pci_device_new(&f->env, EDU, &d, NULL), 0);
	ck_assert_int_eq(pci_device_bind_vfio(&f->env, d, TIMEOUT_NS, &b, NULL), 0);
	/* Hot-unplugged during the run: nothing to give back, and that is not an error. */
	fake_path(path, sizeof(path), "%s/bus/pci/devices/%s", f->sys, EDU);
	fake_rm_rf(path);
	ck_assert_int_eq(pci_binding_restore(b), 0);
}
END_TEST

static Suite *pci_sysfs_suite(void)
{
	Suite *s = suite_create("pci-sysfs");
	TCase *tc;

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_bdf_normalize, 0, (int)ELEMENTSOF(bdf_cases));
	tcase_add_test(tc, test_pasid_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("discovery");
	tcase_add_checked_fixture(tc, setup_plain, teardown);
	tcase_add_test(tc, test_discovery);
	tcase_add_test(tc, test_check_unused);
	tcase_add_test(tc, test_check_unused_multipath);
	tcase_add_test(tc, test_discovery_unbound);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_read_config);
	tcase_add_test(tc, test_error_no_device);
	tcase_add_test(tc, test_error_bad_address);
	tcase_add_test(tc, test_error_wrong_driver);
	tcase_add_test(tc, test_error_no_driver);
	tcase_add_test(tc, test_error_no_group);
	tcase_add_test(tc, test_error_no_cdev);
	tcase_add_test(tc, test_error_no_cdev_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("bind");
	tcase_add_checked_fixture(tc, setup_kernel, teardown);
	tcase_add_test(tc, test_bind_and_restore);
	tcase_add_test(tc, test_bind_already_vfio);
	tcase_add_test(tc, test_bind_unbound_device);
	tcase_add_test(tc, test_bind_keeps_previous_override);
	tcase_add_test(tc, test_bind_fails_no_vfio_pci);
	tcase_add_test(tc, test_bind_fails_no_cdev);
	tcase_add_test(tc, test_restore_device_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pci_sysfs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
