/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bare-replace: the floor the daemon is measured against. The same kernel
 * objects a run of iommutestd sets up (two IOASes each mapping one buffer at
 * the same IOVA, one paging HWPT per IOAS), then nothing but the replace
 * ioctl in a loop, with no latency histogram, no windows, no worker handoff.
 *
 *   bare-replace vfio BDF SECONDS   VFIO_DEVICE_ATTACH_IOMMUFD_PT ping-pong on the
 *                                   device's cdev (it must be bound to vfio-pci)
 *   bare-replace mock SECONDS       IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE ping-pong on
 *                                   a selftest mock device (CONFIG_IOMMUFD_TEST)
 *   bare-replace mock-pasid THREADS SECONDS
 *                                   PASIDs 1..THREADS of a mock device made with
 *                                   MOCK_FLAGS_DEVICE_PASID (kernel ≥ 6.15), one
 *                                   thread each ping-ponging its PASID with
 *                                   IOMMU_TEST_OP_PASID_REPLACE
 *
 * mock-pasid builds what the daemon builds for a PASID scenario of the mock
 * backend: the HWPTs are PASID-compatible (IOMMU_HWPT_ALLOC_PASID), and the
 * RID moves to a PASID-compatible HWPT of its own before the PASIDs are
 * attached; at the end every PASID is detached before the device is
 * destroyed (the kernel would otherwise wait for them).
 *
 * Prints one JSON object: {"backend", "replacements", "seconds", "rate"},
 * plus "threads" for mock-pasid. Used by the VM tier's bench-* guest tests
 * (tests/vm/guest/).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "iommufd-ioctl.h"

#define MAP_SIZE (64u * 1024)
/* The daemon's defaults: vfio maps at 0x100000; the mock domains translate 16M..2G only. */
#define VFIO_IOVA 0x100000ull
#define MOCK_IOVA 0x1000000ull
/* Replacements between two looks at the clock. */
#define BATCH 256
/*
 * … for one of many mock-pasid threads, which share the device's locks: a
 * thread's share of the rate is small, and 256 of them could overrun the
 * deadline by a second.
 */
#define PASID_BATCH 16

_Noreturn static void die(const char *what, int r)
{
	fprintf(stderr, "bare-replace: %s: %s\n", what, strerror(-r));
	exit(EXIT_FAILURE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* /dev/iommu, and the buffer every IOAS maps (populated: no faults while timing). */
static void *open_iommufd(int *ret_iommufd)
{
	void *buf;
	int r;

	buf = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap", -errno);
	r = iommufd_open("/dev/iommu", ret_iommufd);
	if (r < 0)
		die("/dev/iommu", r);
	return buf;
}

/* Two IOASes mapping buf at iova. */
static void setup_ioas(int iommufd, void *buf, uint64_t iova, uint32_t ioas[2])
{
	int r;

	for (int i = 0; i < 2; i++) {
		r = iommufd_ioas_alloc(iommufd, &ioas[i]);
		if (r < 0)
			die("IOMMU_IOAS_ALLOC", r);
		r = iommufd_ioas_map_fixed(iommufd, ioas[i], buf, MAP_SIZE, iova);
		if (r < 0)
			die("IOMMU_IOAS_MAP", r);
	}
}

/* One mock-pasid thread: its own PASID, nothing shared but the start line. */
typedef struct PasidThread {
	pthread_t thread;
	int iommufd;
	uint32_t stdev_id, pasid, hwpt[2];
	pthread_barrier_t *start_line;
	uint64_t deadline_ns; /* set before the start line is released */
	const uint64_t *start_ns;
	uint64_t n, end_ns;
	int r;
} PasidThread;

static void *pasid_thread_main(void *userdata)
{
	PasidThread *t = userdata;
	uint64_t deadline;

	pthread_barrier_wait(t->start_line);
	deadline = *t->start_ns + t->deadline_ns;
	do {
		for (int i = 0; i < PASID_BATCH; i++, t->n++) {
			t->r = iommufd_test_pasid_replace(t->iommufd, t->stdev_id, t->pasid,
							  t->hwpt[(t->n + 1) & 1], NULL);
			if (t->r < 0)
				return NULL;
		}
		t->end_ns = now_ns();
	} while (t->end_ns < deadline);
	return NULL;
}

static int run_mock_pasid(unsigned threads, double seconds)
{
	uint32_t ioas[2], hwpt[2], rid_hwpt, stdev_id, hwpt0, dev_id;
	pthread_barrier_t start_line;
	uint64_t start = 0, end = 0, n = 0;
	PasidThread *t;
	int iommufd, r;
	void *buf;

	buf = open_iommufd(&iommufd);
	setup_ioas(iommufd, buf, MOCK_IOVA, ioas);
	r = iommufd_test_mock_domain(iommufd, ioas[0], MOCK_FLAGS_DEVICE_PASID, &stdev_id, &hwpt0,
				     &dev_id);
	if (r < 0)
		die("IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS with MOCK_FLAGS_DEVICE_PASID (kernel ≥ 6.15, intel_iommu=off)",
		    r);
	for (int i = 0; i < 2; i++) {
		r = iommufd_hwpt_alloc(iommufd, dev_id, ioas[i], IOMMU_HWPT_ALLOC_PASID, 0,
				       IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt[i]);
		if (r < 0)
			die("IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID", r);
	}
	/* The automatic HWPT the device was born on is not PASID-compatible. */
	r = iommufd_hwpt_alloc(iommufd, dev_id, ioas[0], IOMMU_HWPT_ALLOC_PASID, 0,
			       IOMMU_HWPT_DATA_NONE, NULL, 0, &rid_hwpt);
	if (r < 0)
		die("IOMMU_HWPT_ALLOC of the RID's HWPT", r);
	r = iommufd_test_mock_domain_replace(iommufd, stdev_id, rid_hwpt, NULL);
	if (r < 0)
		die("moving the RID to a PASID-compatible HWPT", r);

	t = calloc(threads, sizeof(*t));
	if (!t)
		die("calloc", -ENOMEM);
	if (pthread_barrier_init(&start_line, NULL, threads + 1) != 0)
		die("pthread_barrier_init", -EINVAL);
	for (unsigned i = 0; i < threads; i++) {
		t[i] = (PasidThread){
			.iommufd = iommufd,
			.stdev_id = stdev_id,
			.pasid = i + 1,
			.hwpt = {hwpt[0], hwpt[1]},
			.start_line = &start_line,
			.deadline_ns = (uint64_t)(seconds * 1e9),
			.start_ns = &start,
		};
		r = iommufd_test_pasid_attach(iommufd, stdev_id, t[i].pasid, hwpt[0], NULL);
		if (r < 0)
			die("IOMMU_TEST_OP_PASID_ATTACH", r);
		r = -pthread_create(&t[i].thread, NULL, pasid_thread_main, &t[i]);
		if (r < 0)
			die("pthread_create", r);
	}
	/* Every thread is waiting at the line: they start together, from one clock reading. */
	start = now_ns();
	pthread_barrier_wait(&start_line);
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(t[i].thread, NULL);
		if (t[i].r < 0)
			die("IOMMU_TEST_OP_PASID_REPLACE", t[i].r);
		n += t[i].n;
		if (t[i].end_ns > end)
			end = t[i].end_ns;
	}

	printf("{\"backend\":\"mock-pasid\",\"threads\":%u,\"replacements\":%" PRIu64
	       ",\"seconds\":%.6f,\"rate\":%.1f}\n",
	       threads, n, (double)(end - start) / 1e9, (double)n * 1e9 / (double)(end - start));
	fflush(stdout);

	/* PASIDs before the device: destroying it does not detach them. */
	for (unsigned i = 0; i < threads; i++) {
		r = iommufd_test_pasid_detach(iommufd, stdev_id, t[i].pasid);
		if (r < 0)
			die("IOMMU_TEST_OP_PASID_DETACH", r);
	}
	r = iommufd_destroy(iommufd, stdev_id);
	if (r < 0)
		die("IOMMU_DESTROY of the mock device", r);
	free(t);
	/* Closing /dev/iommu releases the HWPTs and IOASes. */
	return 0;
}

int main(int argc, char *argv[])
{
	uint32_t ioas[2], hwpt[2], dev_id, stdev_id = 0, hwpt0, pt;
	uint64_t n = 0, start, end, deadline;
	int iommufd, device_fd = -1, r;
	bool mock;
	double seconds;
	void *buf;

	if (argc < 3 || (strcmp(argv[1], "vfio") == 0 && argc != 4) ||
	    (strcmp(argv[1], "mock") == 0 && argc != 3) ||
	    (strcmp(argv[1], "mock-pasid") == 0 && argc != 4) ||
	    (strcmp(argv[1], "vfio") != 0 && strcmp(argv[1], "mock") != 0 &&
	     strcmp(argv[1], "mock-pasid") != 0)) {
		fprintf(stderr,
			"usage: bare-replace vfio BDF SECONDS | bare-replace mock SECONDS | "
			"bare-replace mock-pasid THREADS SECONDS\n");
		return 2;
	}
	mock = strcmp(argv[1], "mock") == 0;
	seconds = atof(argv[argc - 1]);
	if (!(seconds > 0)) {
		fprintf(stderr, "bare-replace: SECONDS must be positive\n");
		return 2;
	}
	if (strcmp(argv[1], "mock-pasid") == 0) {
		char *rest;
		unsigned long threads = strtoul(argv[2], &rest, 10);

		/* The PASIDs are 1..THREADS: keep clear of the mock's reserved PASID 1024. */
		if (*rest || threads < 1 || threads >= IOMMU_TEST_PASID_RESERVED) {
			fprintf(stderr, "bare-replace: THREADS must be 1 to %u\n",
				IOMMU_TEST_PASID_RESERVED - 1);
			return 2;
		}
		return run_mock_pasid((unsigned)threads, seconds);
	}

	buf = open_iommufd(&iommufd);

	if (mock) {
		setup_ioas(iommufd, buf, MOCK_IOVA, ioas);
		r = iommufd_test_mock_domain(iommufd, ioas[0], 0, &stdev_id, &hwpt0, &dev_id);
		if (r < 0)
			die("IOMMU_TEST_OP_MOCK_DOMAIN (boot with intel_iommu=off)", r);
	} else {
		char path[PATH_MAX];
		struct dirent *de;
		DIR *dir;

		/* /sys/bus/pci/devices/BDF/vfio-dev/vfioN → /dev/vfio/devices/vfioN */
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", argv[2]);
		dir = opendir(path);
		if (!dir)
			die("no VFIO cdev (is the device bound to vfio-pci?)", -errno);
		while ((de = readdir(dir)) && strncmp(de->d_name, "vfio", 4) != 0)
			;
		if (!de)
			die("no VFIO cdev (is the device bound to vfio-pci?)", -ENODEV);
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
		closedir(dir);
		device_fd = open(path, O_RDWR | O_CLOEXEC);
		if (device_fd < 0)
			die(path, -errno);
		r = vfio_device_bind_iommufd(device_fd, iommufd, &dev_id);
		if (r < 0)
			die("VFIO_DEVICE_BIND_IOMMUFD", r);
		setup_ioas(iommufd, buf, VFIO_IOVA, ioas);
	}
	for (int i = 0; i < 2; i++) {
		r = iommufd_hwpt_alloc(iommufd, dev_id, ioas[i], 0, 0, IOMMU_HWPT_DATA_NONE, NULL,
				       0, &hwpt[i]);
		if (r < 0)
			die("IOMMU_HWPT_ALLOC", r);
	}
	r = mock ? iommufd_test_mock_domain_replace(iommufd, stdev_id, hwpt[0], NULL)
		 : vfio_device_attach_iommufd_pt(device_fd, hwpt[0], NULL);
	if (r < 0)
		die("first attach", r);

	start = now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	do {
		for (int i = 0; i < BATCH; i++, n++) {
			pt = hwpt[(n + 1) & 1];
			r = mock ? iommufd_test_mock_domain_replace(iommufd, stdev_id, pt, NULL)
				 : vfio_device_attach_iommufd_pt(device_fd, pt, NULL);
			if (r < 0)
				die("replace", r);
		}
		end = now_ns();
	} while (end < deadline);

	printf("{\"backend\":\"%s\",\"replacements\":%" PRIu64 ",\"seconds\":%.6f,\"rate\":%.1f}\n",
	       argv[1], n, (double)(end - start) / 1e9, (double)n * 1e9 / (double)(end - start));
	/* Closing /dev/iommu and the cdev releases every object. */
	return 0;
}
