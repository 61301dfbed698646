/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The common fake iommufd kernel: see fake-iommufd.h. */

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake-iommufd.h"
#include "macro.h"

FakeIommufd fake_iommufd = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.last_fd = -1,
	.last_fault_fd = -1,
};

static FakeIommufd *const k = &fake_iommufd;

/* ---- the hooks ---- */

static struct {
	bool saved;
	int (*ioctl_fn)(int fd, unsigned long request, void *arg);
	ssize_t (*read_fn)(int fd, void *buf, size_t n);
	ssize_t (*write_fn)(int fd, const void *buf, size_t n);
} saved_hooks;

void fake_hooks_install(int (*ioctl_fn)(int fd, unsigned long request, void *arg),
			ssize_t (*read_fn)(int fd, void *buf, size_t n),
			ssize_t (*write_fn)(int fd, const void *buf, size_t n))
{
	if (!saved_hooks.saved) {
		saved_hooks.ioctl_fn = uapi_ioctl_hook;
		saved_hooks.read_fn = uapi_read_hook;
		saved_hooks.write_fn = uapi_write_hook;
		saved_hooks.saved = true;
	}
	if (ioctl_fn)
		uapi_ioctl_hook = ioctl_fn;
	if (read_fn)
		uapi_read_hook = read_fn;
	if (write_fn)
		uapi_write_hook = write_fn;
}

void fake_hooks_restore(void)
{
	if (!saved_hooks.saved)
		return;
	uapi_ioctl_hook = saved_hooks.ioctl_fn;
	uapi_read_hook = saved_hooks.read_fn;
	uapi_write_hook = saved_hooks.write_fn;
	saved_hooks.saved = false;
}

static int syscall_result(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static bool fail_now(unsigned long request, const void *arg)
{
	if (k->fail.nth == 0 || (k->fail.request != 0 && request != k->fail.request))
		return false;
	if (request == IOMMU_TEST_CMD && k->fail.op != 0 &&
	    (!arg || ((const struct iommu_test_cmd *)arg)->op != k->fail.op))
		return false;
	return ++k->fail.seen == k->fail.nth;
}

static int hook_ioctl(int fd, unsigned long request, void *arg)
{
	int r = FAKE_IOMMUFD_PASS;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->last_fd = fd;
	/* An injected failure is the whole answer: the call never reaches any handler. */
	if (fail_now(request, arg))
		r = -k->fail.error;
	else if (k->ops && k->ops->ioctl)
		r = k->ops->ioctl(fd, request, arg);
	if (r == FAKE_IOMMUFD_PASS)
		r = fake_iommufd_is_iommufd(fd) ? fake_iommufd_handle(request, arg) : -ENOTTY;
	pthread_mutex_unlock(&k->lock);
	return syscall_result(r);
}

static ssize_t hook_read(int fd, void *buf, size_t n)
{
	uint32_t id;
	ssize_t r;

	pthread_mutex_lock(&k->lock);
	id = k->ops && k->ops->fault_read ? fake_iommufd_fault_of_fd(fd) : 0;
	/* Not a fault queue: a real fd of the test's or the backend's (an eventfd, say). */
	if (id == 0) {
		pthread_mutex_unlock(&k->lock);
		return read(fd, buf, n);
	}
	r = k->ops->fault_read(id, buf, n);
	pthread_mutex_unlock(&k->lock);
	return r < 0 ? syscall_result((int)r) : r;
}

static ssize_t hook_write(int fd, const void *buf, size_t n)
{
	uint32_t id;
	ssize_t r;

	pthread_mutex_lock(&k->lock);
	id = k->ops && k->ops->fault_write ? fake_iommufd_fault_of_fd(fd) : 0;
	if (id == 0) {
		pthread_mutex_unlock(&k->lock);
		return write(fd, buf, n);
	}
	r = k->ops->fault_write(id, buf, n);
	pthread_mutex_unlock(&k->lock);
	return r < 0 ? syscall_result((int)r) : r;
}

void fake_iommufd_reset(void)
{
	pthread_mutex_lock(&k->lock);
	memset((uint8_t *)k + offsetof(FakeIommufd, dev_iommu), 0,
	       sizeof(*k) - offsetof(FakeIommufd, dev_iommu));
	k->last_fd = k->last_fault_fd = -1;
	pthread_mutex_unlock(&k->lock);
}

void fake_iommufd_install(const FakeIommufdOps *ops)
{
	fake_iommufd_reset();
	pthread_mutex_lock(&k->lock);
	k->ops = ops;
	pthread_mutex_unlock(&k->lock);
	fake_hooks_install(hook_ioctl, hook_read, hook_write);
}

void fake_iommufd_uninstall(void)
{
	fake_hooks_restore();
	pthread_mutex_lock(&k->lock);
	k->ops = NULL;
	pthread_mutex_unlock(&k->lock);
}

void fake_iommufd_lock(void)
{
	pthread_mutex_lock(&k->lock);
}

void fake_iommufd_unlock(void)
{
	pthread_mutex_unlock(&k->lock);
}

bool fake_iommufd_is_iommufd(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (!k->dev_iommu[0])
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	return streq(target, k->dev_iommu);
}

/* ---- objects ---- */

FakeObj *fake_iommufd_obj(uint32_t id, FakeObjType type)
{
	if (id == 0 || id >= FAKE_IOMMUFD_MAX_OBJS || k->objs[id].type == FAKE_OBJ_FREE)
		return NULL;
	if (type != FAKE_OBJ_ANY && k->objs[id].type != type)
		return NULL;
	return &k->objs[id];
}

uint32_t fake_iommufd_obj_new(FakeObjType type)
{
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (k->objs[id].type == FAKE_OBJ_FREE) {
			k->objs[id] = (FakeObj){.type = type};
			return id;
		}
	return 0;
}

unsigned fake_iommufd_count(FakeObjType type)
{
	unsigned n = 0;

	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		n += k->objs[id].type != FAKE_OBJ_FREE &&
		     (type == FAKE_OBJ_ANY || k->objs[id].type == type);
	return n;
}

uint32_t fake_iommufd_fault_of_fd(int fd)
{
	for (uint32_t id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (k->objs[id].type == FAKE_OBJ_FAULT && k->objs[id].fd == fd)
			return id;
	return 0;
}

static bool in_aperture(uint64_t iova, uint64_t length)
{
	return !k->aperture || (iova >= k->aperture_start && iova + length - 1 <= k->aperture_last);
}

/* A domain cannot translate a mapping outside its aperture. */
static bool ioas_fits(const FakeObj *ioas)
{
	for (unsigned i = 0; i < ioas->n_maps; i++)
		if (!in_aperture(ioas->maps[i].iova, ioas->maps[i].length))
			return false;
	return true;
}

/* A device or PASID lets go of a HWPT; an automatic one goes with its last user. */
static void hwpt_put(uint32_t id)
{
	FakeObj *h = fake_iommufd_obj(id, FAKE_OBJ_HWPT);

	if (!h)
		return;
	h->users--;
	if (h->auto_domain && h->users == 0) {
		k->objs[h->ioas].users--;
		*h = (FakeObj){};
	}
}

/* iommufd's automatic domain for an attach to an IOAS: the IOAS's own, or a new one. */
static int auto_domain(uint32_t ioas_id, uint32_t *ret)
{
	FakeObj *ioas = fake_iommufd_obj(ioas_id, FAKE_OBJ_IOAS);
	uint32_t id;

	if (!ioas_fits(ioas))
		return -EADDRINUSE;
	for (id = 1; id < FAKE_IOMMUFD_MAX_OBJS; id++)
		if (k->objs[id].type == FAKE_OBJ_HWPT && k->objs[id].auto_domain &&
		    k->objs[id].ioas == ioas_id) {
			*ret = id;
			return 0;
		}
	id = fake_iommufd_obj_new(FAKE_OBJ_HWPT);
	if (!id)
		return -ENOSPC;
	k->objs[id].auto_domain = true;
	k->objs[id].ioas = ioas_id;
	ioas->users++;
	*ret = id;
	return 0;
}

static int destroy(uint32_t id)
{
	FakeObj *o = fake_iommufd_obj(id, FAKE_OBJ_ANY);
	int r;

	if (!o)
		return -ENOENT;
	if (k->refuse_destroy)
		return -EBUSY;
	switch (o->type) {
	case FAKE_OBJ_IOAS:
		if (o->users)
			return -EBUSY;
		break;
	case FAKE_OBJ_HWPT:
		if (o->users)
			return -EBUSY;
		if (o->parent)
			k->objs[o->parent].users--;
		else
			k->objs[o->ioas].users--;
		if (o->fault)
			k->objs[o->fault].users--;
		break;
	case FAKE_OBJ_FAULT:
		/* HWPTs and the open fd each hold the queue. */
		if (o->users || fcntl(o->fd, F_GETFD) >= 0)
			return -EBUSY;
		break;
	case FAKE_OBJ_DEVICE:
		/* The binding holds it: unbinding (closing the cdev, destroying the mock) frees it.
		 */
		return -EBUSY;
	case FAKE_OBJ_EXT:
		r = k->ops && k->ops->destroy ? k->ops->destroy(id) : -EINVAL;
		if (r < 0)
			return r;
		break;
	default:
		return -EINVAL;
	}
	*o = (FakeObj){};
	return 0;
}

/* ---- the commands ---- */

static int ioas_map(struct iommu_ioas_map *c)
{
	FakeObj *ioas = fake_iommufd_obj(c->ioas_id, FAKE_OBJ_IOAS);

	if (!ioas)
		return -ENOENT;
	if (!(c->flags & IOMMU_IOAS_MAP_FIXED_IOVA) || !c->user_va || !c->length)
		return -EINVAL;
	for (unsigned i = 0; i < ioas->n_maps; i++)
		if (c->iova < ioas->maps[i].iova + ioas->maps[i].length &&
		    ioas->maps[i].iova < c->iova + c->length)
			return -EEXIST;
	if (ioas->n_maps == FAKE_IOAS_MAX_MAPS)
		return -ENOSPC;
	/* Outside an attached domain's aperture: reserved. */
	if (ioas->users && !in_aperture(c->iova, c->length))
		return -EADDRINUSE;
	ioas->maps[ioas->n_maps++] = (FakeMap){
		.iova = c->iova,
		.length = c->length,
		.va = (uint8_t *)(uintptr_t)c->user_va,
	};
	return 0;
}

/* iopt_unmap_iova(): whole mappings only, ENOENT when there are none or one would be split. */
static int ioas_unmap(struct iommu_ioas_unmap *c)
{
	FakeObj *ioas = fake_iommufd_obj(c->ioas_id, FAKE_OBJ_IOAS);
	uint64_t unmapped = 0;

	if (!ioas)
		return -ENOENT;
	for (unsigned i = 0; i < ioas->n_maps; i++) {
		const FakeMap *m = &ioas->maps[i];

		if (m->iova < c->iova + c->length && c->iova < m->iova + m->length &&
		    (m->iova < c->iova || m->iova + m->length > c->iova + c->length))
			return -ENOENT;
	}
	for (unsigned i = 0; i < ioas->n_maps;) {
		const FakeMap *m = &ioas->maps[i];

		if (m->iova >= c->iova && m->iova + m->length <= c->iova + c->length) {
			unmapped += m->length;
			ioas->maps[i] = ioas->maps[--ioas->n_maps];
		} else
			i++;
	}
	if (unmapped == 0)
		return -ENOENT;
	c->length = unmapped;
	return 0;
}

/* iommufd_hwpt_nested_alloc(): the IOMMU driver's part is ops->hwpt_nested. */
static int hwpt_alloc_nested(struct iommu_hwpt_alloc *c, FakeObj *parent)
{
	FakeObj *fault = NULL;
	uint32_t id;
	int r;

	if (c->flags & ~IOMMU_HWPT_FAULT_ID_VALID)
		return -EOPNOTSUPP;
	if (parent->auto_domain || !parent->nest_parent || parent->parent)
		return -EINVAL;
	r = k->ops && k->ops->hwpt_nested ? k->ops->hwpt_nested(c) : -EOPNOTSUPP;
	if (r < 0)
		return r;
	if (c->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		fault = fake_iommufd_obj(c->fault_id, FAKE_OBJ_FAULT);
		if (!fault)
			return -ENOENT;
	}
	id = fake_iommufd_obj_new(FAKE_OBJ_HWPT);
	if (!id)
		return -ENOSPC;
	k->objs[id].parent = (uint32_t)(parent - k->objs);
	parent->users++;
	if (fault) {
		k->objs[id].fault = c->fault_id;
		fault->users++;
	}
	c->out_hwpt_id = id;
	return 0;
}

static int hwpt_alloc(struct iommu_hwpt_alloc *c)
{
	FakeObj *ioas = fake_iommufd_obj(c->pt_id, FAKE_OBJ_IOAS),
		*parent = fake_iommufd_obj(c->pt_id, FAKE_OBJ_HWPT);
	uint32_t id;

	if (k->dev_id == 0 || c->dev_id != k->dev_id)
		return -ENOENT;
	if (parent)
		return hwpt_alloc_nested(c, parent);
	if (!ioas)
		return -EINVAL;
	/* iommufd_hwpt_paging_alloc(): 6.12 takes no fault queue here; 6.15 may be
	 * PASID-compatible. */
	if ((c->flags &
	     ~(IOMMU_HWPT_ALLOC_NEST_PARENT | (k->pasid_abi ? IOMMU_HWPT_ALLOC_PASID : 0u))) ||
	    c->data_type != IOMMU_HWPT_DATA_NONE)
		return -EOPNOTSUPP;
	if ((c->flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && k->no_nesting)
		return -EOPNOTSUPP;
	if ((c->flags & IOMMU_HWPT_ALLOC_PASID) && k->no_pasid_domains)
		return -EOPNOTSUPP;
	if (!ioas_fits(ioas))
		return -EADDRINUSE;
	id = fake_iommufd_obj_new(FAKE_OBJ_HWPT);
	if (!id)
		return -ENOSPC;
	k->objs[id].ioas = c->pt_id;
	k->objs[id].nest_parent = c->flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	k->objs[id].pasid_compat = (c->flags & IOMMU_HWPT_ALLOC_PASID) && !k->hwpt_drops_pasid;
	ioas->users++;
	c->out_hwpt_id = id;
	return 0;
}

static int fault_queue_alloc(struct iommu_fault_alloc *c)
{
	uint32_t id;
	int fd;

	if (c->flags)
		return -EINVAL;
	id = fake_iommufd_obj_new(FAKE_OBJ_FAULT);
	if (!id)
		return -ENOSPC;
	/* Readable while page requests wait, like the queue's fd, so tests can poll it. */
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		k->objs[id] = (FakeObj){};
		return -ENOMEM;
	}
	k->objs[id].fd = fd;
	k->last_fault_fd = fd;
	c->out_fault_id = id;
	c->out_fault_fd = (uint32_t)fd;
	return 0;
}

static int get_hw_info(struct iommu_hw_info *c)
{
	if (k->dev_id == 0 || c->dev_id != k->dev_id)
		return -ENOENT;
	if (c->data_len)
		memcpy((void *)(uintptr_t)c->data_uptr, k->hw_info.data,
		       MIN((size_t)c->data_len, (size_t)k->hw_info.data_len));
	c->data_len = k->hw_info.data_len;
	c->out_data_type = k->hw_info.type;
	c->out_max_pasid_log2 = k->hw_info.max_pasid_log2;
	c->out_capabilities = k->hw_info.capabilities;
	k->hw_infos++;
	return 0;
}

int fake_iommufd_handle(unsigned long request, void *arg)
{
	static const struct {
		unsigned long request;
		size_t size;
	} sizes[] = {
		{IOMMU_DESTROY, sizeof(struct iommu_destroy)},
		{IOMMU_IOAS_ALLOC, sizeof(struct iommu_ioas_alloc)},
		{IOMMU_IOAS_MAP, sizeof(struct iommu_ioas_map)},
		{IOMMU_IOAS_UNMAP, sizeof(struct iommu_ioas_unmap)},
		{IOMMU_HWPT_ALLOC, sizeof(struct iommu_hwpt_alloc)},
		{IOMMU_GET_HW_INFO, sizeof(struct iommu_hw_info)},
		{IOMMU_FAULT_QUEUE_ALLOC, sizeof(struct iommu_fault_alloc)},
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(sizes); i++)
		if (sizes[i].request == request)
			break;
	if (i == ELEMENTSOF(sizes))
		return -ENOTTY;
	if ((request == IOMMU_HWPT_ALLOC && k->no_hwpt_alloc) ||
	    (request == IOMMU_FAULT_QUEUE_ALLOC && k->no_fault_queue))
		return -ENOTTY;
	/*
	 * Shorter than what the fake reads is refused as a kernel refuses a
	 * size below its minimum; size 0 is how uapi_probe_iommufd_command()
	 * asks whether the command exists.
	 */
	if (*(const uint32_t *)arg < sizes[i].size)
		return -EINVAL;

	switch (request) {
	case IOMMU_DESTROY:
		return destroy(((struct iommu_destroy *)arg)->id);
	case IOMMU_IOAS_ALLOC: {
		struct iommu_ioas_alloc *c = arg;

		c->out_ioas_id = fake_iommufd_obj_new(FAKE_OBJ_IOAS);
		return c->out_ioas_id ? 0 : -ENOSPC;
	}
	case IOMMU_IOAS_MAP:
		return ioas_map(arg);
	case IOMMU_IOAS_UNMAP:
		return ioas_unmap(arg);
	case IOMMU_HWPT_ALLOC:
		return hwpt_alloc(arg);
	case IOMMU_GET_HW_INFO:
		return get_hw_info(arg);
	case IOMMU_FAULT_QUEUE_ALLOC:
		return fault_queue_alloc(arg);
	default:
		return -ENOTTY;
	}
}

/* ---- the device ---- */

int fake_iommufd_bind(uint32_t id, uint32_t *ret_id)
{
	if (k->dev_id)
		return -EBUSY;
	if (id == 0) {
		id = fake_iommufd_obj_new(FAKE_OBJ_DEVICE);
		if (id == 0)
			return -ENOSPC;
	}
	k->dev_id = id;
	if (ret_id)
		*ret_id = id;
	return 0;
}

static void rid_leave(void)
{
	if (!k->attached)
		return;
	if (k->ops && k->ops->rid_left)
		k->ops->rid_left(k->attached);
	hwpt_put(k->attached);
	k->attached = 0;
}

void fake_iommufd_unbind(void)
{
	for (unsigned i = 0; i < FAKE_IOMMUFD_MAX_PASIDS; i++)
		if (k->pasids[i].pasid) {
			hwpt_put(k->pasids[i].hwpt);
			k->pasids[i].pasid = k->pasids[i].hwpt = 0;
		}
	rid_leave();
	if (fake_iommufd_obj(k->dev_id, FAKE_OBJ_DEVICE))
		k->objs[k->dev_id] = (FakeObj){};
	k->dev_id = 0;
}

int fake_iommufd_attach(uint32_t pt_id, uint32_t *ret_hwpt)
{
	bool pasids = fake_iommufd_pasids_attached() > 0;
	uint32_t target;
	int r;

	if (fake_iommufd_obj(pt_id, FAKE_OBJ_IOAS)) {
		if (!k->auto_domains)
			return -EINVAL;
		/* An automatic domain is never PASID-compatible. */
		if (pasids)
			return -EINVAL;
		r = auto_domain(pt_id, &target);
		if (r < 0)
			return r;
	} else if (fake_iommufd_obj(pt_id, FAKE_OBJ_HWPT))
		target = pt_id;
	else
		return -ENOENT;
	/* iommufd_hwpt_pasid_compat(): the RID cannot leave for a HWPT its PASIDs could not share.
	 */
	if (pasids && !k->objs[target].pasid_compat)
		return -EINVAL;
	if (k->attached)
		k->replaces++;
	else
		k->attaches++;
	if (target != k->attached) {
		k->objs[target].users++;
		rid_leave();
		k->attached = target;
	}
	if (ret_hwpt)
		*ret_hwpt = target;
	return 0;
}

void fake_iommufd_detach(void)
{
	rid_leave();
	k->detaches++;
}

static int pasid_slot(uint32_t pasid)
{
	for (unsigned i = 0; i < FAKE_IOMMUFD_MAX_PASIDS; i++)
		if (k->pasids[i].pasid == pasid)
			return (int)i;
	return -1;
}

/* iommufd_device_pasid_attach()/_replace() down to iommu_attach_device_pasid(). */
static int pasid_set(uint32_t pasid, uint32_t pt_id, int slot)
{
	FakeObj *h = fake_iommufd_obj(pt_id, FAKE_OBJ_HWPT),
		*rid = fake_iommufd_obj(k->attached, FAKE_OBJ_HWPT);

	if (!h)
		/* An IOAS would get an automatic domain, never PASID-compatible. */
		return fake_iommufd_obj(pt_id, FAKE_OBJ_IOAS) ? -EINVAL : -ENOENT;
	/* iommufd_hwpt_pasid_compat() */
	if (!h->pasid_compat || (rid && !rid->pasid_compat))
		return -EINVAL;
	/* iommu_attach_device_pasid(): only a device with PASIDs enabled has a limit */
	if (k->hw_info.max_pasid_log2 && pasid >= (1u << k->hw_info.max_pasid_log2))
		return -EINVAL;
	if (slot < 0) {
		slot = pasid_slot(0);
		if (slot < 0)
			return -ENOSPC;
		k->pasids[slot].pasid = pasid;
		k->pasid_attaches++;
	} else {
		hwpt_put(k->pasids[slot].hwpt);
		k->pasid_replaces++;
	}
	k->pasids[slot].hwpt = pt_id;
	h->users++;
	return 0;
}

int fake_iommufd_pasid_attach(uint32_t pasid, uint32_t pt_id)
{
	if (pasid == 0)
		return -EINVAL;
	if (pasid_slot(pasid) >= 0)
		return -EBUSY;
	return pasid_set(pasid, pt_id, -1);
}

int fake_iommufd_pasid_replace(uint32_t pasid, uint32_t pt_id)
{
	int slot = pasid == 0 ? -1 : pasid_slot(pasid);

	if (slot < 0)
		return -EINVAL;
	return pasid_set(pasid, pt_id, slot);
}

bool fake_iommufd_pasid_detach(uint32_t pasid)
{
	int slot = pasid == 0 ? -1 : pasid_slot(pasid);

	if (slot < 0)
		return false;
	hwpt_put(k->pasids[slot].hwpt);
	k->pasids[slot].pasid = k->pasids[slot].hwpt = 0;
	k->pasid_detaches++;
	return true;
}

uint32_t fake_iommufd_pasid_hwpt(uint32_t pasid)
{
	int slot = pasid == 0 ? -1 : pasid_slot(pasid);

	return slot < 0 ? 0 : k->pasids[slot].hwpt;
}

unsigned fake_iommufd_pasids_attached(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FAKE_IOMMUFD_MAX_PASIDS; i++)
		n += k->pasids[i].pasid != 0;
	return n;
}

uint8_t *fake_iommufd_translate(uint64_t iova, uint64_t len)
{
	FakeObj *h = fake_iommufd_obj(k->attached, FAKE_OBJ_HWPT), *a;

	/* A nested HWPT's stage 1 is the guest's page table, which the fake does not walk. */
	if (!h || !(a = fake_iommufd_obj(h->ioas, FAKE_OBJ_IOAS)))
		return NULL;
	for (unsigned i = 0; i < a->n_maps; i++)
		if (iova >= a->maps[i].iova && iova + len <= a->maps[i].iova + a->maps[i].length)
			return a->maps[i].va + (iova - a->maps[i].iova);
	return NULL;
}
