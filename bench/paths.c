// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: the paths. Each is one unit function (@qd transfers of one
 * size between the user buffer and the device) and one entry in paths[].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pinio_bench.h"

/*
 * Slot @j in the user buffer. Each repetition keeps its buffer, as a
 * program would, but moves to a slot of its own: QEMU's software TLB is
 * direct-mapped, and a user page that shares a TLB index with a kernel
 * buffer (pinio's bounce buffer, every 64th page here) ran buffered 4 KiB
 * reads 5x slower. With the slot fixed that decided a whole case by the
 * luck of the boot; with one slot per repetition the median discards it.
 */
static uint64_t buf_off(struct bench *b, size_t size, int qd, int j)
{
	uint64_t slots = b->buf_len / size;

	return ((uint64_t)b->slot * qd + j) % slots * size;
}

/* Slot @j of unit @unit in the device: units rotate over the store. */
static uint64_t dev_off(struct bench *b, size_t size, int qd, uint64_t unit,
			int j)
{
	uint64_t slots = b->info.dev_size / size;

	return ((unit * qd + j) % slots) * size;
}

/* ---- the paths ---- */

static int rw_unit(struct bench *b, int fd, bool write, size_t size, int qd,
		   uint64_t unit)
{
	uint64_t off = dev_off(b, size, qd, unit, 0);
	uint8_t *p = b->buf + buf_off(b, size, qd, 0);
	ssize_t n = write ? pwrite(fd, p, size, off) : pread(fd, p, size, off);

	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

static int unit_rw(struct bench *b, bool write, size_t size, int qd,
		   uint64_t unit)
{
	return rw_unit(b, b->fd, write, size, qd, unit);
}

/* A disk store's own paths: its disk, without pinio. */
static int unit_disk_direct(struct bench *b, bool write, size_t size, int qd,
			    uint64_t unit)
{
	return rw_unit(b, b->disk_direct, write, size, qd, unit);
}

static int unit_disk_buffered(struct bench *b, bool write, size_t size,
			      int qd, uint64_t unit)
{
	return rw_unit(b, b->disk_buffered, write, size, qd, unit);
}

/* The io_uring paths differ only in how one SQE is prepared. */
enum uring_kind {
	URING_RW,		/* IORING_OP_READ/WRITE */
	URING_FIXED,		/* IORING_OP_READ/WRITE_FIXED, io_uring buffer */
	URING_DISK_FIXED,	/* the same on a disk store's disk, O_DIRECT */
	URING_PINIO,		/* pinio uring_cmd, pinio handle */
	URING_PINIO_FIXED,	/* pinio uring_cmd, io_uring buffer */
};

unsigned long uring_short;

/* Transfer @j of a unit, from byte @done of it on (0: the whole of it). */
static int uring_prep(struct bench *b, struct io_uring *ring,
		      enum uring_kind kind, bool write, size_t size, int qd,
		      uint64_t unit, int j, size_t done)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint8_t *p = b->buf + buf_off(b, size, qd, j) + done;
	uint64_t off = dev_off(b, size, qd, unit, j) + done;
	size_t len = size - done;

	if (!sqe)
		return -EBUSY;
	switch (kind) {
	case URING_RW:
		if (write)
			io_uring_prep_write(sqe, b->fd, p, len, off);
		else
			io_uring_prep_read(sqe, b->fd, p, len, off);
		break;
	case URING_FIXED:
	case URING_DISK_FIXED:
		if (write)
			io_uring_prep_write_fixed(sqe, b->fd, p, len, off, 0);
		else
			io_uring_prep_read_fixed(sqe, b->fd, p, len, off, 0);
		break;
	case URING_PINIO:
		pinio_prep_xfer(sqe, b->fd, write, b->handle, p - b->buf, off,
				len);
		break;
	case URING_PINIO_FIXED:
		pinio_prep_xfer_fixed(sqe, b->fd, write, 0, p, off, len);
		break;
	}
	/*
	 * The device is fixed file 0 of both rings, a disk store's disk fixed
	 * file 1 of both (bench_ring_init).
	 */
	sqe->fd = kind == URING_DISK_FIXED ? 1 : 0;
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = j;
	return 0;
}

/*
 * @qd transfers in flight at once, each checked when it completes. A
 * buffered read or write may complete short (a page-cache read that would
 * block, on an attached store): as a program would, the rest goes in
 * again, and uring_short counts how often.
 */
static int uring_unit(struct bench *b, enum uring_kind kind, bool write,
		      size_t size, int qd, uint64_t unit)
{
	struct io_uring *ring = kind >= URING_PINIO ? &b->ring128 : &b->ring;
	size_t done[MAX_QD] = { 0 };
	int left = qd, ret;

	for (int j = 0; j < qd; j++) {
		ret = uring_prep(b, ring, kind, write, size, qd, unit, j, 0);
		if (ret)
			return ret;
	}
	ret = io_uring_submit_and_wait(ring, qd);
	if (ret < 0)
		return ret;
	while (left) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		bool again = false;

		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			return ret;
		io_uring_for_each_cqe(ring, head, cqe) {
			unsigned int j = cqe->user_data;

			seen++;
			if (cqe->res <= 0 || j >= (unsigned int)qd ||
			    done[j] + cqe->res > size) {
				ret = cqe->res < 0 ? cqe->res : -EIO;
				continue;
			}
			done[j] += cqe->res;
			if (done[j] == size) {
				left--;
				continue;
			}
			uring_short++;
			again = true;
			if (!ret)
				ret = uring_prep(b, ring, kind, write, size, qd,
						 unit, j, done[j]);
		}
		io_uring_cq_advance(ring, seen);
		if (ret < 0)
			return ret;
		if (again) {
			ret = io_uring_submit(ring);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* One unit function per io_uring path: uring_unit() with its kind of SQE. */
#define URING_UNIT(_name, _kind)					\
static int _name(struct bench *b, bool write, size_t size, int qd,	\
		 uint64_t unit)						\
{									\
	return uring_unit(b, _kind, write, size, qd, unit);		\
}
URING_UNIT(unit_uring_rw, URING_RW)
URING_UNIT(unit_uring_fixed, URING_FIXED)
URING_UNIT(unit_disk_uring_fixed, URING_DISK_FIXED)
URING_UNIT(unit_pinio_uring, URING_PINIO)
URING_UNIT(unit_pinio_uring_fixed, URING_PINIO_FIXED)

static int unit_ioctl(struct bench *b, bool write, size_t size, int qd,
		      uint64_t unit)
{
	uint64_t off = dev_off(b, size, qd, unit, 0);
	uint64_t boff = buf_off(b, size, qd, 0);

	return write ? pinio_write(b->fd, b->handle, boff, off, size) :
		       pinio_read(b->fd, b->handle, boff, off, size);
}

/* What drivers that pin per call do: register, transfer, unregister. */
static int unit_ioctl_reg(struct bench *b, bool write, size_t size, int qd,
			  uint64_t unit)
{
	uint64_t off = dev_off(b, size, qd, unit, 0);
	uint8_t *p = b->buf + buf_off(b, size, qd, 0);
	uint32_t h;
	int ret, ret2;

	ret = pinio_register(b->fd, p, size, write ? PINIO_REG_USER_TO_DEV :
			     PINIO_REG_DEV_TO_USER, &h);
	if (ret)
		return ret;
	ret = write ? pinio_write(b->fd, h, 0, off, size) :
		      pinio_read(b->fd, h, 0, off, size);
	ret2 = pinio_unregister(b->fd, h);
	return ret ? ret : ret2;
}

static int unit_batch(struct bench *b, bool write, size_t size, int qd,
		      uint64_t unit)
{
	struct pinio_xfer segs[MAX_QD];

	for (int j = 0; j < qd; j++)
		pinio_seg(&segs[j], write ? PINIO_OP_WRITE : PINIO_OP_READ,
			  b->handle, buf_off(b, size, qd, j),
			  dev_off(b, size, qd, unit, j), size);
	return pinio_batch(b->fd, segs, qd, NULL);
}

/* Map out: memcpy to and from the store mapped into this process. */
static int unit_mmap(struct bench *b, bool write, size_t size, int qd,
		     uint64_t unit)
{
	uint8_t *dev = b->map + dev_off(b, size, qd, unit, 0);
	uint8_t *p = b->buf + buf_off(b, size, qd, 0);

	if (write)
		memcpy(dev, p, size);
	else
		memcpy(p, dev, size);
	return 0;
}

/* The in-guest limit: the same bytes moved by user-space memcpy. */
static int unit_memcpy(struct bench *b, bool write, size_t size, int qd,
		       uint64_t unit)
{
	uint8_t *dev = b->src + dev_off(b, size, qd, unit, 0) % b->buf_len;
	uint8_t *p = b->buf + buf_off(b, size, qd, 0);

	if (write)
		memcpy(dev, p, size);
	else
		memcpy(p, dev, size);
	return 0;
}

#define RAM	STORE_RAM
#define DISK	STORE_DISK
#define ANY	(STORE_RAM | STORE_DISK)

/*
 * On a disk store, a page_cache path's repetitions each start with the
 * disk's page cache dropped and end with its writes on the disk
 * (measure.c), so that they move data to and from the device as the
 * direct paths do.
 */
const struct path paths[] = {
	{ .id = 1, .name = "read/write", .fn = unit_rw, .device = true,
	  .page_cache = true, .on = ANY },
	{ .id = 2, .name = "uring-rw", .fn = unit_uring_rw, .queued = true,
	  .device = true, .page_cache = true, .on = ANY },
	{ .id = 3, .name = "uring-fixed", .fn = unit_uring_fixed,
	  .queued = true, .device = true, .page_cache = true, .on = ANY },
	{ .id = 4, .name = "pinio-ioctl", .fn = unit_ioctl, .device = true,
	  .on = ANY },
	{ .id = 5, .name = "pinio-ioctl-reg", .fn = unit_ioctl_reg,
	  .device = true, .on = ANY },
	{ .id = 6, .name = "pinio-batch", .fn = unit_batch, .queued = true,
	  .device = true, .on = ANY },
	{ .id = 7, .name = "pinio-uring", .fn = unit_pinio_uring,
	  .queued = true, .device = true, .on = ANY },
	{ .id = 8, .name = "pinio-uring-fixed", .fn = unit_pinio_uring_fixed,
	  .queued = true, .device = true, .on = ANY },
	/*
	 * 7 with uring_async_min=1: every command goes to the workqueue. Not
	 * on a disk, where a command is the disk's I/O, issued at submission.
	 */
	{ .id = 12, .name = "pinio-uring-wq", .fn = unit_pinio_uring,
	  .queued = true, .device = true, .uring_wq = true, .on = RAM },
	{ .id = 9, .name = "mmap", .fn = unit_mmap, .device = true,
	  .page_cache = true, .on = ANY },
	{ .id = 10, .name = "memcpy", .fn = unit_memcpy, .on = RAM },
	{ .id = 11, .name = "kcopy", .measure = measure_kcopy, .on = RAM },
	/*
	 * The kernel's own paths on a disk store's disk: its best, io_uring
	 * READ/WRITE_FIXED on the disk opened O_DIRECT, then O_DIRECT and
	 * page-cache pread/pwrite; and fio's io_uring engine with fixed
	 * buffers, O_DIRECT, as an outside cross-check.
	 */
	{ .id = 13, .name = "disk-uring-fixed", .fn = unit_disk_uring_fixed,
	  .queued = true, .on = DISK },
	{ .id = 14, .name = "disk-odirect", .fn = unit_disk_direct,
	  .on = DISK },
	{ .id = 15, .name = "disk-buffered", .fn = unit_disk_buffered,
	  .page_cache = true, .on = DISK },
	{ .id = 16, .name = "fio-uring-fixed", .measure = measure_fio,
	  .queued = true, .on = DISK },
};
const size_t nr_paths = sizeof(paths) / sizeof(paths[0]);

const struct path *path_by_id(int id)
{
	for (size_t i = 0; i < nr_paths; i++)
		if (paths[i].id == id)
			return &paths[i];
	abort();	/* a programming error: no such path */
}

/* ---- correctness: every path must move the right bytes ---- */

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 12)) ^ (i >> 8));
}

int verify_path(struct bench *b, const struct path *p)
{
	static uint8_t want[VERIFY_SIZE], got[VERIFY_SIZE];
	int ret;

	/* Only paths that reach a store (not memcpy's stand-in). */
	if (!p->device && !(p->on & STORE_DISK))
		return 0;
	b->slot = 0;			/* the bytes at b->buf */
	/* Write through the path, read back through the buffered path. */
	fill(b->buf, VERIFY_SIZE, p->id);
	memcpy(want, b->buf, VERIFY_SIZE);
	ret = p->fn(b, true, VERIFY_SIZE, 1, 0);
	if (ret)
		return ret;
	if (pread(b->fd, got, VERIFY_SIZE, 0) != VERIFY_SIZE ||
	    memcmp(want, got, VERIFY_SIZE))
		return -EIO;

	/* And the other way. */
	fill(want, VERIFY_SIZE, p->id + 100);
	if (pwrite(b->fd, want, VERIFY_SIZE, 0) != VERIFY_SIZE)
		return -errno;
	memset(b->buf, 0, VERIFY_SIZE);
	ret = p->fn(b, false, VERIFY_SIZE, 1, 0);
	if (ret)
		return ret;
	return memcmp(want, b->buf, VERIFY_SIZE) ? -EIO : 0;
}
