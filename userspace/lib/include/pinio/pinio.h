/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libpinio - user-space access to the pinio driver.
 *
 * Every function returns 0 (or a non-negative value where documented) on
 * success and -errno on failure; none of them changes errno.
 */
#ifndef PINIO_PINIO_H
#define PINIO_PINIO_H

#include <stddef.h>
#include <stdint.h>
#include <linux/pinio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's counters, one value per file (see pinio_stat()). */
#define PINIO_STATS_DIR	"/sys/class/misc/pinio/stats/"

/* Open the device (PINIO_DEVICE_PATH when @path is NULL): fd or -errno. */
int pinio_open(const char *path, int flags);
int pinio_close(int fd);
int pinio_get_info(int fd, struct pinio_info *info);

/* Pin [addr, addr + len) for PINIO_REG_* @flags; the handle goes to *handle. */
int pinio_register(int fd, const void *addr, size_t len, uint32_t flags,
		   uint32_t *handle);
int pinio_unregister(int fd, uint32_t handle);

/* Device store -> registered buffer, and back. */
int pinio_read(int fd, uint32_t handle, uint64_t buf_offset,
	       uint64_t dev_offset, uint64_t len);
int pinio_write(int fd, uint32_t handle, uint64_t buf_offset,
		uint64_t dev_offset, uint64_t len);

/* Fill one batch segment. */
void pinio_seg(struct pinio_xfer *seg, uint32_t op, uint32_t handle,
	       uint64_t buf_offset, uint64_t dev_offset, uint64_t len);
/*
 * Run @nr segments in order. Returns 0 when all completed, else the first
 * failure's -errno; *completed (if not NULL) gets the number done either way.
 */
int pinio_batch(int fd, struct pinio_xfer *segs, uint32_t nr,
		uint32_t *completed);

/*
 * The attached store (PINIO_FEAT_ATTACH; LIBPINIO_1.1). Attach the block
 * device or regular file open as @store_fd (PINIO_ATTACH_* @flags) to this
 * open file of the device: its transfers then go to that store, which must
 * then be moved in multiples of pinio_info.block_size. @store_fd may be
 * closed afterwards.
 */
int pinio_attach(int fd, int store_fd, uint32_t flags);
/*
 * The same for @path, opened O_RDWR with PINIO_ATTACH_WRITE, else O_RDONLY
 * (and O_CLOEXEC), and closed again: errors of open(2) come back too.
 */
int pinio_attach_path(int fd, const char *path, uint32_t flags);
/* Back to the RAM store. */
int pinio_detach(int fd);
/* Make every completed write to the attached store durable. */
int pinio_flush(int fd);

/* Read one counter from PINIO_STATS_DIR: value or -errno. */
int64_t pinio_stat(const char *name);

/*
 * Describe @err, a -errno returned by a libpinio function (a positive errno
 * works too), like strerror(3) but thread-safe. Never NULL.
 */
const char *pinio_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* PINIO_PINIO_H */
