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

static int unit_rw(struct bench *b, bool write, size_t size, int qd,
		   uint64_t unit)
{
	uint64_t off = dev_off(b, size, qd, unit, 0);
	uint8_t *p = b->buf + buf_off(b, size, qd, 0);
	ssize_t n = write ? pwrite(b->fd, p, size, off) :
			    pread(b->fd, p, size, off);

	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

/* Submit the @qd SQEs prepared by the caller, wait for and check all CQEs. */
static int uring_finish(struct io_uring *ring, size_t size, int qd)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int ret = io_uring_submit_and_wait(ring, qd);

	if (ret < 0)
		return ret;
	while (seen < (unsigned int)qd) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			return ret;
		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res != (int)size)
				ret = cqe->res < 0 ? cqe->res : -EIO;
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The four io_uring paths differ only in how one SQE is prepared. */
enum uring_kind {
	URING_RW,		/* IORING_OP_READ/WRITE */
	URING_FIXED,		/* IORING_OP_READ/WRITE_FIXED, io_uring buffer */
	URING_PINIO,		/* pinio uring_cmd, pinio handle */
	URING_PINIO_FIXED,	/* pinio uring_cmd, io_uring buffer */
};

static int uring_unit(struct bench *b, enum uring_kind kind, bool write,
		      size_t size, int qd, uint64_t unit)
{
	struct io_uring *ring = kind >= URING_PINIO ? &b->ring128 : &b->ring;

	for (int j = 0; j < qd; j++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		uint8_t *p = b->buf + buf_off(b, size, qd, j);
		uint64_t off = dev_off(b, size, qd, unit, j);

		if (!sqe)
			return -EBUSY;
		switch (kind) {
		case URING_RW:
			if (write)
				io_uring_prep_write(sqe, b->fd, p, size, off);
			else
				io_uring_prep_read(sqe, b->fd, p, size, off);
			break;
		case URING_FIXED:
			if (write)
				io_uring_prep_write_fixed(sqe, b->fd, p, size, off, 0);
			else
				io_uring_prep_read_fixed(sqe, b->fd, p, size, off, 0);
			break;
		case URING_PINIO:
			pinio_prep_xfer(sqe, b->fd, write, b->handle,
					p - b->buf, off, size);
			break;
		case URING_PINIO_FIXED:
			pinio_prep_xfer_fixed(sqe, b->fd, write, 0, p, off, size);
			break;
		}
		/* The device is fixed file 0 of both rings (bench_ring_init). */
		sqe->fd = 0;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
	return uring_finish(ring, size, qd);
}

static int unit_uring_rw(struct bench *b, bool write, size_t size, int qd,
			 uint64_t unit)
{
	return uring_unit(b, URING_RW, write, size, qd, unit);
}

static int unit_uring_fixed(struct bench *b, bool write, size_t size, int qd,
			    uint64_t unit)
{
	return uring_unit(b, URING_FIXED, write, size, qd, unit);
}

static int unit_pinio_uring(struct bench *b, bool write, size_t size, int qd,
			    uint64_t unit)
{
	return uring_unit(b, URING_PINIO, write, size, qd, unit);
}

static int unit_pinio_uring_fixed(struct bench *b, bool write, size_t size,
				  int qd, uint64_t unit)
{
	return uring_unit(b, URING_PINIO_FIXED, write, size, qd, unit);
}

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

#define PATH(_id, _name, _fn, _queued, _device, _wq) {			\
	.id = _id, .name = _name, .fn = _fn, .queued = _queued,	\
	.device = _device, .uring_wq = _wq }

const struct path paths[] = {
	PATH(1, "read/write", unit_rw, false, true, false),
	PATH(2, "uring-rw", unit_uring_rw, true, true, false),
	PATH(3, "uring-fixed", unit_uring_fixed, true, true, false),
	PATH(4, "pinio-ioctl", unit_ioctl, false, true, false),
	PATH(5, "pinio-ioctl-reg", unit_ioctl_reg, false, true, false),
	PATH(6, "pinio-batch", unit_batch, true, true, false),
	PATH(7, "pinio-uring", unit_pinio_uring, true, true, false),
	PATH(8, "pinio-uring-fixed", unit_pinio_uring_fixed, true, true, false),
	/* 7 with uring_async_min=1: every command goes to the workqueue. */
	PATH(12, "pinio-uring-wq", unit_pinio_uring, true, true, true),
	PATH(9, "mmap", unit_mmap, false, true, false),
	PATH(10, "memcpy", unit_memcpy, false, false, false),
	PATH(11, "kcopy", NULL, false, false, false),
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

	if (!p->device)
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
