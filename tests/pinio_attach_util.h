/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the attached-store tests (pinio_attach_test, the attached
 * variants of the stress and fuzz programs): the guest disks of the runner's
 * disk contract, the test's own O_DIRECT access to them (the independent
 * path every pinio transfer is checked against), PINIO_IOC_ATTACH/DETACH/
 * FLUSH wrappers and small sysfs/env readers. Every function returns 0 (or a
 * count) or -errno; none uses the kselftest harness.
 */
#ifndef PINIO_ATTACH_UTIL_H
#define PINIO_ATTACH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/pinio.h>

/* A disk of the contract, or a preallocated file in PINIO_EXT4_DIR. */
struct pa_disk {
	char path[512];
	const char *var;	/* the environment variable naming it */
	uint32_t store;		/* PINIO_STORE_BDEV or PINIO_STORE_FILE */
	uint64_t size;		/* bytes, what pinio_info.dev_size must say */
	uint32_t lbs;		/* logical block size */
	uint32_t dma_align;	/* DMA alignment in bytes (0: unknown) */
	bool created;		/* a file made by pa_disk_get: unlinked */
	int dfd;		/* the test's own O_RDWR | O_DIRECT fd */
};

/*
 * The disk named by environment variable @var: a block device, or with
 * @file_len a file of that size created and fallocated in the directory
 * @var names. -ENOENT when @var is unset or empty (the test SKIPs).
 * Opens d->dfd (O_RDWR | O_DIRECT) for the test's own checks.
 */
int pa_disk_get(struct pa_disk *d, const char *var, uint64_t file_len);
void pa_disk_put(struct pa_disk *d);

/* A fresh fd of the disk with open(2) @flags (e.g. O_RDONLY), or -errno. */
int pa_disk_reopen(const struct pa_disk *d, int flags);

/* Full-length O_DIRECT pread/pwrite through d->dfd: 0, -errno or -EIO. */
int pa_dread(const struct pa_disk *d, void *buf, size_t len, uint64_t off);
int pa_dwrite(const struct pa_disk *d, const void *buf, size_t len,
	      uint64_t off);

/* Write pattern @seed to [@off, +@len) of the disk through O_DIRECT. */
int pa_dfill(const struct pa_disk *d, uint64_t off, size_t len,
	     uint32_t seed);
/* -1 if the disk's [@off, +@len) holds pattern @seed, else the index of the
 * first differing byte; -2 - errno (<= -2) if it could not be read. Any
 * range: the pages around it are read. */
long pa_dcheck(const struct pa_disk *d, uint64_t off, size_t len,
	       uint32_t seed);

/* Page-aligned zeroed memory for O_DIRECT (free with pa_free). */
void *pa_alloc(size_t len);
void pa_free(void *p, size_t len);

/* PINIO_IOC_ATTACH with every field given: 0 or -errno. */
int pa_attach_full(int pfd, int fd, uint32_t flags, uint64_t rsv0,
		   uint64_t rsv1);
int pa_attach(int pfd, int fd, uint32_t flags);
int pa_detach(int pfd);
int pa_flush(int pfd);

/* Open the disk (O_RDWR, or O_RDONLY without PINIO_ATTACH_WRITE) and
 * attach it to @pfd, closing the disk fd again: 0 or -errno. */
int pa_attach_disk(int pfd, const struct pa_disk *d, uint32_t flags);

/* Is the driver's PINIO_FEAT_ATTACH set on @pfd? */
bool pa_have_attach(int pfd);

/* An unsigned number from environment variable @var: 0 or -ENOENT/-EINVAL. */
int pa_env_u64(const char *var, uint64_t *val);

/*
 * A scratch window of @len bytes of @d that avoids the host-check region
 * (PINIO_HOSTCHECK_*, on its disk) and the bad range (PINIO_BAD_SECTOR,
 * on the bad disks): its start offset, a multiple of 1 MiB, or -ENOSPC.
 */
int64_t pa_scratch(const struct pa_disk *d, uint64_t len);
/* Does [@off, +@len) of @d stay clear of those two ranges? */
bool pa_range_free(const struct pa_disk *d, uint64_t off, uint64_t len);

/* Create (or truncate) the file at @path: 0 or -errno. */
int pa_touch(const char *path);

#endif /* PINIO_ATTACH_UTIL_H */
