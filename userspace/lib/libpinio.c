// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libpinio: thin, errno-free wrappers around the pinio ioctls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* the GNU strerror_r */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <pinio/pinio.h>

/*
 * -errno of a failed call (@ret < 0), restoring the caller's errno: the
 * library reports errors only through return values.
 */
static int pinio_ret(int ret, int saved_errno)
{
	if (ret < 0)
		ret = -errno;
	errno = saved_errno;
	return ret;
}

static int pinio_ioctl(int fd, unsigned long cmd, void *arg)
{
	int saved = errno;

	return pinio_ret(ioctl(fd, cmd, arg) < 0 ? -1 : 0, saved);
}

int pinio_open(const char *path, int flags)
{
	int saved = errno;

	return pinio_ret(open(path ? path : PINIO_DEVICE_PATH,
			      flags | O_CLOEXEC), saved);
}

int pinio_close(int fd)
{
	int saved = errno;

	return pinio_ret(close(fd), saved);
}

int pinio_get_info(int fd, struct pinio_info *info)
{
	int ret = pinio_ioctl(fd, PINIO_IOC_INFO, info);

	/*
	 * A driver older than PINIO_FEAT_ATTACH leaves these zero (they were
	 * reserved); its only store is RAM, whose rule is 1.
	 */
	if (!ret && info->store == PINIO_STORE_RAM) {
		if (!info->block_size)
			info->block_size = 1;
		if (!info->dma_alignment)
			info->dma_alignment = 1;
	}
	return ret;
}

int pinio_register(int fd, const void *addr, size_t len, uint32_t flags,
		   uint32_t *handle)
{
	struct pinio_region reg = {
		.addr = (uint64_t)(uintptr_t)addr,
		.len = len,
		.flags = flags,
	};
	int ret = pinio_ioctl(fd, PINIO_IOC_REGISTER, &reg);

	if (!ret)
		*handle = reg.handle;
	return ret;
}

int pinio_unregister(int fd, uint32_t handle)
{
	struct pinio_unregister unreg = { .handle = handle };

	return pinio_ioctl(fd, PINIO_IOC_UNREGISTER, &unreg);
}

static int pinio_xfer(int fd, unsigned long cmd, uint32_t handle,
		      uint64_t buf_offset, uint64_t dev_offset, uint64_t len)
{
	struct pinio_xfer x = {
		.handle = handle,
		.buf_offset = buf_offset,
		.dev_offset = dev_offset,
		.len = len,
	};

	return pinio_ioctl(fd, cmd, &x);
}

int pinio_read(int fd, uint32_t handle, uint64_t buf_offset,
	       uint64_t dev_offset, uint64_t len)
{
	return pinio_xfer(fd, PINIO_IOC_READ, handle, buf_offset, dev_offset,
			  len);
}

int pinio_write(int fd, uint32_t handle, uint64_t buf_offset,
		uint64_t dev_offset, uint64_t len)
{
	return pinio_xfer(fd, PINIO_IOC_WRITE, handle, buf_offset, dev_offset,
			  len);
}

void pinio_seg(struct pinio_xfer *seg, uint32_t op, uint32_t handle,
	       uint64_t buf_offset, uint64_t dev_offset, uint64_t len)
{
	seg->handle = handle;
	seg->op = op;
	seg->buf_offset = buf_offset;
	seg->dev_offset = dev_offset;
	seg->len = len;
}

int pinio_batch(int fd, struct pinio_xfer *segs, uint32_t nr,
		uint32_t *completed)
{
	struct pinio_batch b = {
		.segs = (uint64_t)(uintptr_t)segs,
		.nr = nr,
	};
	int ret = pinio_ioctl(fd, PINIO_IOC_BATCH, &b);

	if (completed)
		*completed = b.completed;
	return ret;
}

int pinio_attach(int fd, int store_fd, uint32_t flags)
{
	struct pinio_attach a = {
		.fd = store_fd,
		.flags = flags,
	};

	return pinio_ioctl(fd, PINIO_IOC_ATTACH, &a);
}

int pinio_attach_path(int fd, const char *path, uint32_t flags)
{
	int saved = errno;
	int store_fd, ret;

	store_fd = open(path, (flags & PINIO_ATTACH_WRITE ? O_RDWR : O_RDONLY) |
			O_CLOEXEC);
	if (store_fd < 0)
		return pinio_ret(-1, saved);
	ret = pinio_attach(fd, store_fd, flags);
	close(store_fd);	/* the driver holds its own reference */
	errno = saved;
	return ret;
}

int pinio_detach(int fd)
{
	return pinio_ioctl(fd, PINIO_IOC_DETACH, NULL);
}

int pinio_flush(int fd)
{
	return pinio_ioctl(fd, PINIO_IOC_FLUSH, NULL);
}

int64_t pinio_stat(const char *name)
{
	char path[128], line[32];
	int saved = errno;
	int64_t val;
	FILE *f;

	if (strchr(name, '/') ||
	    snprintf(path, sizeof(path), PINIO_STATS_DIR "%s", name) >=
	    (int)sizeof(path))
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return pinio_ret(-1, saved);
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%" SCNd64, &val) != 1)
		val = -EIO;
	fclose(f);
	errno = saved;
	return val;
}

const char *pinio_strerror(int err)
{
	static __thread char buf[64];
	int saved = errno;
	const char *s = strerror_r(err < 0 ? -err : err, buf, sizeof(buf));

	errno = saved;
	return s;
}
