// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the attached-store tests: see pinio_attach_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "pinio_attach_util.h"
#include "pinio_pattern.h"

#define PA_MiB	(1024ULL * 1024)

static int pa_statx_dio(const char *path, uint32_t *lbs, uint32_t *mem)
{
	struct statx stx;

	memset(&stx, 0, sizeof(stx));
	if (statx(AT_FDCWD, path, 0, STATX_DIOALIGN, &stx))
		return -errno;
	if (!(stx.stx_mask & STATX_DIOALIGN) || !stx.stx_dio_offset_align)
		return -EOPNOTSUPP;
	*lbs = stx.stx_dio_offset_align;
	*mem = stx.stx_dio_mem_align;
	return 0;
}

int pa_disk_get(struct pa_disk *d, const char *var, uint64_t file_len)
{
	static unsigned int seq;
	const char *v = getenv(var);
	uint32_t lbs = 0, mem = 0;
	struct stat st;
	int ret, sz;

	memset(d, 0, sizeof(*d));
	d->dfd = -1;
	d->var = var;
	if (!v || !*v)
		return -ENOENT;
	if (file_len) {
		snprintf(d->path, sizeof(d->path), "%s/pinio-attach.%d.%u", v,
			 (int)getpid(), seq++);
		d->dfd = open(d->path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT |
			      O_CLOEXEC, 0600);
		if (d->dfd < 0)
			return -errno;
		d->created = true;
		ret = posix_fallocate(d->dfd, 0, (off_t)file_len);
		if (ret)
			goto fail_ret;
		if (fsync(d->dfd))
			goto fail;
		d->store = PINIO_STORE_FILE;
		d->size = file_len;
	} else {
		snprintf(d->path, sizeof(d->path), "%s", v);
		if (stat(d->path, &st))
			return -errno;
		if (!S_ISBLK(st.st_mode))
			return -ENOTBLK;
		d->dfd = open(d->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (d->dfd < 0)
			return -errno;
		d->store = PINIO_STORE_BDEV;
		if (ioctl(d->dfd, BLKGETSIZE64, &d->size) ||
		    ioctl(d->dfd, BLKSSZGET, &sz))
			goto fail;
		lbs = (uint32_t)sz;
	}
	if (!pa_statx_dio(d->path, &d->lbs, &mem)) {
		d->dma_align = mem;
		if (lbs && lbs != d->lbs) {
			ret = -EPROTO;	/* statx and BLKSSZGET disagree */
			goto fail_ret;
		}
	} else if (lbs) {
		d->lbs = lbs;
	} else {
		ret = -EOPNOTSUPP;
		goto fail_ret;
	}
	return 0;
fail:
	ret = -errno;
fail_ret:
	ret = ret > 0 ? -ret : ret;
	pa_disk_put(d);
	return ret;
}

void pa_disk_put(struct pa_disk *d)
{
	if (d->dfd >= 0)
		close(d->dfd);
	d->dfd = -1;
	if (d->created)
		unlink(d->path);
	d->created = false;
}

int pa_disk_reopen(const struct pa_disk *d, int flags)
{
	int fd = open(d->path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int pa_dread(const struct pa_disk *d, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(d->dfd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += r;
	}
	return 0;
}

int pa_dwrite(const struct pa_disk *d, const void *buf, size_t len,
	      uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(d->dfd, (const char *)buf + done,
				   len - done, (off_t)(off + done));

		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += r;
	}
	return 0;
}

void *pa_alloc(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	return p;
}

void pa_free(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

int pa_dfill(const struct pa_disk *d, uint64_t off, size_t len,
	     uint32_t seed)
{
	void *p = pa_alloc(len);
	int ret;

	if (!p)
		return -ENOMEM;
	pinio_pattern_fill(p, len, off, seed);
	ret = pa_dwrite(d, p, len, off);
	pa_free(p, len);
	return ret;
}

long pa_dcheck(const struct pa_disk *d, uint64_t off, size_t len,
	       uint32_t seed)
{
	/* O_DIRECT needs whole blocks: read the pages around the range. */
	uint64_t lo = off & ~4095ULL, hi = (off + len + 4095) & ~4095ULL;
	uint8_t *p;
	long ret;

	if (hi > d->size)
		return -2 - ERANGE;
	p = pa_alloc(hi - lo);
	if (!p)
		return -2 - ENOMEM;
	ret = pa_dread(d, p, hi - lo, lo);
	if (ret)
		ret = -2 + ret;
	else
		ret = pinio_pattern_check(p + (off - lo), len, off, seed);
	pa_free(p, hi - lo);
	return ret;
}

int pa_attach_full(int pfd, int fd, uint32_t flags, uint64_t rsv0,
		   uint64_t rsv1)
{
	struct pinio_attach a = {
		.fd = fd, .flags = flags, .reserved = { rsv0, rsv1 },
	};

	return ioctl(pfd, PINIO_IOC_ATTACH, &a) ? -errno : 0;
}

int pa_attach(int pfd, int fd, uint32_t flags)
{
	return pa_attach_full(pfd, fd, flags, 0, 0);
}

int pa_detach(int pfd)
{
	return ioctl(pfd, PINIO_IOC_DETACH) ? -errno : 0;
}

int pa_flush(int pfd)
{
	return ioctl(pfd, PINIO_IOC_FLUSH) ? -errno : 0;
}

int pa_attach_disk(int pfd, const struct pa_disk *d, uint32_t flags)
{
	int fd = pa_disk_reopen(d, flags & PINIO_ATTACH_WRITE ? O_RDWR :
				O_RDONLY);
	int ret;

	if (fd < 0)
		return fd;
	ret = pa_attach(pfd, fd, flags);
	close(fd);
	return ret;
}

bool pa_have_attach(int pfd)
{
	struct pinio_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(pfd, PINIO_IOC_INFO, &info))
		return false;
	return info.features & PINIO_FEAT_ATTACH;
}

int pa_env_u64(const char *var, uint64_t *val)
{
	const char *v = getenv(var);
	char *end;

	if (!v || !*v)
		return -ENOENT;
	errno = 0;
	*val = strtoull(v, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static bool pa_same_disk(const struct pa_disk *d, const char *var)
{
	const char *v = getenv(var);
	struct stat a, b;

	if (!v || !*v || d->store != PINIO_STORE_BDEV)
		return false;
	if (stat(d->path, &a) || stat(v, &b))
		return false;
	return S_ISBLK(a.st_mode) && S_ISBLK(b.st_mode) &&
	       a.st_rdev == b.st_rdev;
}

static bool pa_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The ranges of @d no test may write: 0 to 2 of them in @lo / @n. */
static int pa_reserved(const struct pa_disk *d, uint64_t *lo, uint64_t *n)
{
	uint64_t bad, off, hlen = 0;
	int k = 0;

	if (pa_same_disk(d, "PINIO_HOSTCHECK_DEV") &&
	    !pa_env_u64("PINIO_HOSTCHECK_OFF", &off) &&
	    !pa_env_u64("PINIO_HOSTCHECK_LEN", &hlen)) {
		lo[k] = off;
		n[k++] = 2 * hlen;
	}
	if ((pa_same_disk(d, "PINIO_BAD_NVME") ||
	     pa_same_disk(d, "PINIO_BAD_VBLK")) &&
	    !pa_env_u64("PINIO_BAD_SECTOR", &bad)) {
		lo[k] = bad * 512;
		n[k++] = 8 * 512;
	}
	return k;
}

bool pa_range_free(const struct pa_disk *d, uint64_t off, uint64_t len)
{
	uint64_t lo[2], n[2];
	int k = pa_reserved(d, lo, n), i;

	for (i = 0; i < k; i++)
		if (pa_overlaps(off, len, lo[i], n[i]))
			return false;
	return true;
}

int64_t pa_scratch(const struct pa_disk *d, uint64_t len)
{
	uint64_t off;

	for (off = 0; off + len <= d->size; off += PA_MiB)
		if (pa_range_free(d, off, len))
			return (int64_t)off;
	return -ENOSPC;
}

int pa_touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (fsync(fd)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	close(fd);
	return 0;
}
