/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake sysfs tree and its kernel thread: see fake-sysfs.h. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-sysfs.h"
#include "macro.h"

void fake_path(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

void fake_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			(void)mkdir(tmp, 0755);
			*p = '/';
		}
	(void)mkdir(tmp, 0755);
}

void fake_write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");

	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

void fake_read_file(const char *path, char *buf, size_t n)
{
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = 0;
	if (fd < 0)
		return;
	k = read(fd, buf, n - 1);
	buf[k > 0 ? k : 0] = 0;
	close(fd);
}

void fake_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char sub[PATH_MAX];

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		fake_path(sub, sizeof(sub), "%s/%s", path, de->d_name);
		fake_rm_rf(sub);
	}
	if (d)
		closedir(d);
	(void)rmdir(path);
}

static void fake_watch(FakeSysfs *f, const char *dir)
{
	int wd = inotify_add_watch(f->inotify_fd, dir, IN_CLOSE_WRITE);

	if (wd < 0 || f->n_watches >= FAKE_MAX_WATCHES)
		abort();
	f->watches[f->n_watches].wd = wd;
	snprintf(f->watches[f->n_watches].path, PATH_MAX, "%s", dir);
	f->n_watches++;
}

void fake_add_driver(FakeSysfs *f, const char *name)
{
	char p[PATH_MAX];

	fake_path(p, sizeof(p), "%s/bus/pci/drivers/%s", f->sys, name);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/bus/pci/drivers/%s/unbind", f->sys, name);
	fake_write_file(p, "");
	fake_path(p, sizeof(p), "%s/bus/pci/drivers/%s", f->sys, name);
	if (f->inotify_fd >= 0)
		fake_watch(f, p);
}

void fake_remove_driver(FakeSysfs *f, const char *name)
{
	char p[PATH_MAX];

	fake_path(p, sizeof(p), "%s/bus/pci/drivers/%s", f->sys, name);
	fake_rm_rf(p);
}

static FakeDevice *fake_find(FakeSysfs *f, const char *bdf)
{
	for (unsigned i = 0; i < f->n_devices; i++)
		if (streq(f->devices[i].bdf, bdf))
			return &f->devices[i];
	return NULL;
}

void fake_set_driver(FakeSysfs *f, FakeDevice *d, const char *driver)
{
	char link[PATH_MAX], target[PATH_MAX], p[PATH_MAX];

	fake_path(link, sizeof(link), "%s/bus/pci/devices/%s/driver", f->sys, d->bdf);
	(void)unlink(link);
	fake_path(p, sizeof(p), "%s/bus/pci/devices/%s/vfio-dev", f->sys, d->bdf);
	fake_rm_rf(p);
	fake_path(p, sizeof(p), "%s/devices/vfio%u", f->dev_vfio, d->vfio_index);
	(void)unlink(p);
	if (!driver || !*driver)
		return;
	fake_path(target, sizeof(target), "../../drivers/%s", driver);
	if (symlink(target, link) < 0)
		abort();
	if (streq(driver, "vfio-pci") && d->cdev_capable) {
		int fd;

		fake_path(p, sizeof(p), "%s/bus/pci/devices/%s/vfio-dev/vfio%u", f->sys, d->bdf,
			  d->vfio_index);
		fake_mkdir_p(p);
		fake_path(p, sizeof(p), "%s/devices/vfio%u", f->dev_vfio, d->vfio_index);
		fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)FAKE_CDEV_SIZE) < 0)
			abort();
		close(fd);
	}
}

static bool fake_driver_loaded(FakeSysfs *f, const char *name)
{
	char p[PATH_MAX];

	fake_path(p, sizeof(p), "%s/bus/pci/drivers/%s", f->sys, name);
	return access(p, F_OK) == 0;
}

FakeDevice *fake_add_device(FakeSysfs *f, const char *bdf, unsigned vendor, unsigned device,
			    unsigned class, const char *driver, const char *group,
			    bool cdev_capable)
{
	FakeDevice *d = &f->devices[f->n_devices];
	char dir[PATH_MAX], p[PATH_MAX], v[32];

	if (f->n_devices >= FAKE_MAX_DEVICES)
		abort();
	f->n_devices++;
	*d = (FakeDevice){.cdev_capable = cdev_capable, .vfio_index = f->n_devices - 1};
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	snprintf(d->native_driver, sizeof(d->native_driver), "%s",
		 driver && !streq(driver, "vfio-pci") ? driver : "");

	fake_path(dir, sizeof(dir), "%s/bus/pci/devices/%s", f->sys, bdf);
	fake_mkdir_p(dir);
	fake_path(p, sizeof(p), "%s/vendor", dir);
	snprintf(v, sizeof(v), "0x%04x\n", vendor);
	fake_write_file(p, v);
	fake_path(p, sizeof(p), "%s/device", dir);
	snprintf(v, sizeof(v), "0x%04x\n", device);
	fake_write_file(p, v);
	fake_path(p, sizeof(p), "%s/class", dir);
	snprintf(v, sizeof(v), "0x%06x\n", class);
	fake_write_file(p, v);
	fake_path(p, sizeof(p), "%s/driver_override", dir);
	fake_write_file(p, "(null)\n");
	if (group) {
		char target[PATH_MAX];

		fake_path(p, sizeof(p), "%s/iommu_group", dir);
		fake_path(target, sizeof(target), "../../../../kernel/iommu_groups/%s", group);
		if (symlink(target, p) < 0)
			abort();
	}
	if (driver) {
		if (!fake_driver_loaded(f, driver))
			fake_add_driver(f, driver);
		fake_set_driver(f, d, driver);
	}
	if (f->inotify_fd >= 0)
		fake_watch(f, dir);
	return d;
}

static void fake_log(FakeSysfs *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fake_log(FakeSysfs *f, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->lock);
	if (f->n_log < FAKE_LOG_MAX) {
		va_start(ap, fmt);
		vsnprintf(f->log[f->n_log], sizeof(f->log[0]), fmt, ap);
		va_end(ap);
		f->n_log++;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Acts on one completed write, as the kernel would have during write(2). */
static void fake_kernel_handle(FakeSysfs *f, const char *dir, const char *name)
{
	char path[PATH_MAX], value[128], rel[PATH_MAX], bus[PATH_MAX];
	struct stat st;
	FakeDevice *d;

	fake_path(path, sizeof(path), "%s/%s", dir, name);
	fake_read_file(path, value, sizeof(value));
	/* Logged relative to bus/pci: "drivers_probe", "drivers/e1000e/unbind",
	 * "devices/BDF/driver_override". */
	fake_path(bus, sizeof(bus), "%s/bus/pci", f->sys);
	if (streq(dir, bus))
		fake_path(rel, sizeof(rel), "%s", name);
	else
		fake_path(rel, sizeof(rel), "%s/%s", dir + strlen(bus) + 1, name);
	/* "\n" is logged as it was written, the rest without their newline. */
	if (!streq(value, "\n"))
		value[strcspn(value, "\n")] = 0;
	fake_log(f, "%s=%s", rel, streq(value, "\n") ? "\\n" : value);

	if (streq(name, "unbind")) {
		d = fake_find(f, value);
		if (d)
			fake_set_driver(f, d, NULL);
	} else if (streq(name, "drivers_probe")) {
		char override[128], link[PATH_MAX];
		const char *want;

		d = fake_find(f, value);
		if (!d)
			return;
		fake_path(link, sizeof(link), "%s/bus/pci/devices/%s/driver", f->sys, d->bdf);
		if (lstat(link, &st) == 0)
			return; /* already bound: probing does nothing */
		fake_path(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override", f->sys,
			  d->bdf);
		fake_read_file(path, override, sizeof(override));
		override[strcspn(override, "\n")] = 0;
		want = *override && !streq(override, "(null)") ? override : d->native_driver;
		if (*want && fake_driver_loaded(f, want))
			fake_set_driver(f, d, want);
	}
}

static void *fake_kernel_main(void *userdata)
{
	FakeSysfs *f = userdata;
	_Alignas(struct inotify_event) char buf[4096];

	for (;;) {
		struct pollfd p[2] = {
			{.fd = f->inotify_fd, .events = POLLIN},
			{.fd = f->stop_fd, .events = POLLIN},
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			n = read(f->inotify_fd, buf, sizeof(buf));
			for (char *c = buf; n > 0 && c < buf + n;) {
				struct inotify_event *ev = (struct inotify_event *)c;

				for (unsigned i = 0; i < f->n_watches; i++)
					if (f->watches[i].wd == ev->wd && ev->len > 0)
						fake_kernel_handle(f, f->watches[i].path, ev->name);
				c += sizeof(*ev) + ev->len;
			}
			continue;
		}
		if (p[1].revents & POLLIN)
			break;
	}
	return NULL;
}

FakeSysfs *fake_sysfs_new(bool with_kernel)
{
	FakeSysfs *f = calloc(1, sizeof(*f));
	char p[PATH_MAX];

	if (!f)
		abort();
	snprintf(f->root, sizeof(f->root), "%s/iommutest-fake-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(f->root))
		abort();
	fake_path(f->sys, sizeof(f->sys), "%s/sys", f->root);
	fake_path(f->dev, sizeof(f->dev), "%s/dev", f->root);
	fake_path(f->dev_vfio, sizeof(f->dev_vfio), "%s/dev/vfio", f->root);
	fake_path(f->dev_iommu, sizeof(f->dev_iommu), "%s/dev/iommu", f->root);
	pthread_mutex_init(&f->lock, NULL);
	f->inotify_fd = f->stop_fd = -1;

	fake_path(p, sizeof(p), "%s/bus/pci/devices", f->sys);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/class/vfio-dev", f->sys);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/kernel/iommu_groups", f->sys);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/devices", f->dev_vfio);
	fake_mkdir_p(p);
	fake_path(p, sizeof(p), "%s/bus/pci/drivers_probe", f->sys);
	fake_write_file(p, "");
	fake_write_file(f->dev_iommu, "");

	if (with_kernel) {
		f->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		f->stop_fd = eventfd(0, EFD_CLOEXEC);
		if (f->inotify_fd < 0 || f->stop_fd < 0)
			abort();
		fake_path(p, sizeof(p), "%s/bus/pci", f->sys);
		fake_watch(f, p);
	}
	fake_add_driver(f, "vfio-pci");

	f->env = (HostEnv){
		.dev_iommu = f->dev_iommu,
		.sysfs = f->sys,
		.dev_kmsg = "/dev/null",
		.tracefs = f->root,
		.proc = "/proc",
		.dev_vfio = f->dev_vfio,
		.dev_block = "/nonexistent/block", /* no exclusive-open probe on fakes */
	};
	return f;
}

/* Starts the kernel thread once the devices are in place. */
void fake_sysfs_start(FakeSysfs *f)
{
	if (f->inotify_fd < 0 || f->running)
		return;
	if (pthread_create(&f->thread, NULL, fake_kernel_main, f) != 0)
		abort();
	f->running = true;
}

void fake_sysfs_free(FakeSysfs *f)
{
	if (!f)
		return;
	if (f->running) {
		(void)!write(f->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
		pthread_join(f->thread, NULL);
	}
	if (f->inotify_fd >= 0)
		close(f->inotify_fd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	fake_rm_rf(f->root);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void fake_driver_of(FakeSysfs *f, const char *bdf, char *buf, size_t n)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t k;

	fake_path(link, sizeof(link), "%s/bus/pci/devices/%s/driver", f->sys, bdf);
	k = readlink(link, target, sizeof(target) - 1);
	buf[0] = 0;
	if (k <= 0)
		return;
	target[k] = 0;
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	/* Driver names are short; a long one is cut rather than overflowing. */
	memcpy(buf, base, MIN(strlen(base) + 1, n));
	buf[n - 1] = 0;
}

void fake_settle(FakeSysfs *f, unsigned n)
{
	for (unsigned i = 0; i < 1000; i++) {
		unsigned have;

		pthread_mutex_lock(&f->lock);
		have = f->n_log;
		pthread_mutex_unlock(&f->lock);
		if (have >= n)
			break;
		usleep(1000);
	}
	usleep(20000);
}

unsigned fake_take_log(FakeSysfs *f, char out[][160], unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = MIN(f->n_log, max);
	memcpy(out, f->log, n * sizeof(f->log[0]));
	f->n_log = 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}
