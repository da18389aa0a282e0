// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: buffered versus direct I/O on /dev/pinio, every path side by
 * side in one run on the same pre-faulted buffers, against io_uring's own
 * registered buffers and against plain memcpy in user space and in the
 * kernel (the driver's debugfs kcopy trigger).
 *
 * Each case runs a warm-up, then --reps repetitions of at least --ms
 * milliseconds each; the median repetition is reported. Ratios are only
 * ever taken between cases of the same run. Under QEMU/TCG the absolute
 * figures say nothing about hardware; the ratios are what to read.
 *
 * Runs unchanged on a real machine with pinio.ko loaded (as root, for the
 * bounce switch and debugfs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <pinio/pinio.h>
#include <pinio/pinio_uring.h>

#define KCOPY_PATH	"/sys/kernel/debug/pinio/kcopy"
#define BOUNCE_PARAM	"/sys/module/pinio/parameters/bounce"
#define PREFAULT_PARAM	"/sys/module/pinio/parameters/mmap_prefault"
#define ASYNC_MIN_PARAM	"/sys/module/pinio/parameters/uring_async_min"
#define MAX_QD		32
#define MAX_SIZE	(4u << 20)
#define MAX_REPS	64
#define VERIFY_SIZE	(64u << 10)
#define MIB		(1u << 20)

static const size_t sizes[] = { 512, 4096, 64 << 10, 1 << 20, 4 << 20 };
#define NR_SIZES (sizeof(sizes) / sizeof(sizes[0]))
static const int qds[] = { 1, MAX_QD };

struct bench {
	int fd;				/* /dev/pinio, opened under @bounce */
	int bounce;
	struct pinio_info info;
	uint8_t *buf;			/* MAX_QD * MAX_SIZE, pre-faulted */
	uint8_t *src;			/* memcpy's stand-in for the device */
	size_t buf_len;
	unsigned int slot;		/* this repetition's place in buf */
	uint32_t handle;		/* pinio registration of buf */
	uint8_t *map;			/* the whole store, mmap()ed */
	struct io_uring ring;		/* plain SQEs; buf is fixed buffer 0 */
	struct io_uring ring128;	/* SQE128 for uring_cmd; buf fixed 0 */
	double ms;
	int reps;
	bool quick;
	char async_min[32];		/* the driver's uring_async_min as loaded */
};

/* One unit of work: @qd transfers of @size; returns 0 or -errno. */
typedef int (*unit_fn)(struct bench *b, bool write, size_t size, int qd,
		       uint64_t unit);

struct path {
	int id;
	const char *name;
	unit_fn fn;
	bool queued;			/* has a QD32 variant */
	bool device;			/* goes through /dev/pinio */
	bool uring_wq;			/* uring_async_min=1: all on the workqueue */
};

struct result {
	int bounce;
	const struct path *path;
	bool write;
	size_t size;
	int qd;
	double ops_s, mb_s, cpu_s_gb;
};

static struct result results[1024];
static int nr_results;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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

static const struct path paths[] = {
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
#define NR_PATHS (sizeof(paths) / sizeof(paths[0]))

/* ---- measurement ---- */

static int measure(struct bench *b, const struct path *p, bool write,
		   size_t size, int qd, struct result *r)
{
	double ops[MAX_REPS], mb[MAX_REPS], cpu[MAX_REPS];
	uint64_t unit = 0;
	int ret;

	/* Warm-up: a quarter of a repetition, at least two units. */
	b->slot = 0;
	for (double end = now_s() + b->ms / 4000; unit < 2 || now_s() < end;)
		if ((ret = p->fn(b, write, size, qd, unit++)))
			return ret;

	for (int rep = 0; rep < b->reps; rep++) {
		double c0 = cpu_s(), t0 = now_s(), t;
		uint64_t n = 0;

		b->slot = rep;

		do {
			ret = p->fn(b, write, size, qd, unit++);
			if (ret)
				return ret;
			n++;
			t = now_s() - t0;
		} while (t < b->ms / 1000);

		ops[rep] = n * qd / t;
		mb[rep] = n * qd * (double)size / t / 1e6;
		cpu[rep] = (cpu_s() - c0) / (n * qd * (double)size / 1e9);
	}
	r->ops_s = median(ops, b->reps);
	r->mb_s = median(mb, b->reps);
	r->cpu_s_gb = median(cpu, b->reps);
	return 0;
}

/* Kernel memcpy of the same bytes, timed by the driver (debugfs). */
static int kcopy_once(bool to_store, size_t size, unsigned int iters,
		      double *ns)
{
	char cmd[64], out[96], dir[8];
	size_t sz;
	unsigned int it;
	int fd, n, ret = 0;
	long long t;

	fd = open(KCOPY_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(cmd, sizeof(cmd), "%s %zu %u", to_store ? "write" : "read",
		     size, iters);
	if (write(fd, cmd, n) != n) {
		ret = -errno;
		goto close_fd;
	}
	n = pread(fd, out, sizeof(out) - 1, 0);
	if (n <= 0) {
		ret = n < 0 ? -errno : -EIO;
		goto close_fd;
	}
	out[n] = '\0';
	if (sscanf(out, "%7s %zu %u %lld", dir, &sz, &it, &t) != 4)
		ret = -EIO;
	*ns = t;
close_fd:
	close(fd);
	return ret;
}

static int measure_kcopy(struct bench *b, bool write, size_t size,
			 struct result *r)
{
	double ops[MAX_REPS], mb[MAX_REPS], cpu[MAX_REPS], ns;
	unsigned int iters;
	int ret;

	/* Calibrate (and warm up) so one repetition lasts about --ms. */
	ret = kcopy_once(write, size, 4, &ns);
	if (ret)
		return ret;
	iters = 4 * (b->ms * 1e6 / (ns > 1 ? ns : 1));
	iters = iters < 1 ? 1 : iters > 100000 ? 100000 : iters;

	for (int rep = 0; rep < b->reps; rep++) {
		double c0 = cpu_s();

		ret = kcopy_once(write, size, iters, &ns);
		if (ret)
			return ret;
		ops[rep] = iters / (ns * 1e-9);
		mb[rep] = iters * (double)size / (ns * 1e-9) / 1e6;
		cpu[rep] = (cpu_s() - c0) / (iters * (double)size / 1e9);
	}
	r->ops_s = median(ops, b->reps);
	r->mb_s = median(mb, b->reps);
	r->cpu_s_gb = median(cpu, b->reps);
	return 0;
}

/* ---- correctness: every path must move the right bytes ---- */

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 12)) ^ (i >> 8));
}

static int verify_path(struct bench *b, const struct path *p)
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

/* ---- set-up ---- */

/* Write @val to the file at @path, opened with @flags added (sysfs, tracefs). */
static int write_str(const char *path, const char *val, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int set_param(const char *path, int on)
{
	return write_str(path, on ? "1" : "0", 0);
}

static void *map_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0xa5, len);		/* pre-fault every page */
	return p;
}

#define RING_SETUP	"/dev/pinio as fixed file 0, default flags"

/*
 * Both rings hold /dev/pinio as fixed file 0, as a program that owns its
 * ring would: no request then takes and drops a file reference (+8-17% at
 * 4 KiB QD32 here; DEFER_TASKRUN measured no better). The same for every
 * io_uring path, so the comparisons between them stay fair.
 */
static int bench_ring_init(struct bench *b, struct io_uring *ring,
			   unsigned int flags)
{
	int ret = io_uring_queue_init(2 * MAX_QD, ring, flags);

	if (ret)
		return ret;
	return io_uring_register_files(ring, &b->fd, 1);
}

static int open_device(struct bench *b, int bounce)
{
	struct iovec iov = { .iov_base = b->buf, .iov_len = b->buf_len };
	int ret;

	ret = set_param(BOUNCE_PARAM, bounce);
	if (ret)
		return ret;
	b->bounce = bounce;
	b->fd = pinio_open(NULL, O_RDWR);
	if (b->fd < 0)
		return b->fd;
	ret = pinio_get_info(b->fd, &b->info);
	if (ret)
		return ret;
	if (!!(b->info.features & PINIO_FEAT_BOUNCE) != !!bounce)
		return -EPROTO;
	ret = pinio_register(b->fd, b->buf, b->buf_len, PINIO_REG_BIDIR,
			     &b->handle);
	if (ret)
		return ret;
	b->map = mmap(NULL, b->info.dev_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		return -errno;
	ret = bench_ring_init(b, &b->ring, 0);
	if (ret)
		return ret;
	ret = bench_ring_init(b, &b->ring128, IORING_SETUP_SQE128);
	if (ret)
		return ret;
	ret = io_uring_register_buffers(&b->ring, &iov, 1);
	if (ret)
		return ret;
	return io_uring_register_buffers(&b->ring128, &iov, 1);
}

static void close_device(struct bench *b)
{
	io_uring_queue_exit(&b->ring128);
	io_uring_queue_exit(&b->ring);
	munmap(b->map, b->info.dev_size);
	pinio_unregister(b->fd, b->handle);
	pinio_close(b->fd);
}

/* ---- registration cost ---- */

struct reg_result {
	size_t mib;
	bool thp;
	long thp_kib;			/* AnonHugePages actually backing it */
	double pinio_ns_page, uring_ns_page;
	double pinio_unreg_ns_page, uring_unreg_ns_page;
};

static struct reg_result reg_results[8];
static int nr_reg_results;

static long anon_huge_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A pre-faulted anonymous buffer backed the way it was asked to be. */
struct backed_buf {
	uint8_t *raw;
	size_t raw_len;
	uint8_t *p;			/* @len usable bytes, 2 MiB aligned */
	long thp_kib;			/* AnonHugePages it added */
};

/*
 * With @thp the kernel is asked for transparent huge pages, without it they
 * are refused. The advice covers whole 2 MiB ranges: a THP only fits in a
 * VMA that holds its whole aligned range, so a 1 MiB buffer gets one too.
 */
static int map_backed(size_t len, bool thp, struct backed_buf *bb)
{
	size_t align = 2 * MIB, span = (len + align - 1) & ~(align - 1);
	long before = anon_huge_kib();

	bb->raw_len = span + align;
	bb->raw = mmap(NULL, bb->raw_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bb->raw == MAP_FAILED)
		return -errno;
	bb->p = (uint8_t *)(((uintptr_t)bb->raw + align - 1) &
			    ~(uintptr_t)(align - 1));
	madvise(bb->p, span, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(bb->p, 0x3c, len);
	bb->thp_kib = anon_huge_kib() - before;
	return 0;
}

static void unmap_backed(struct backed_buf *bb)
{
	munmap(bb->raw, bb->raw_len);
}

static int measure_registration(struct bench *b, size_t mib, bool thp,
				struct reg_result *r)
{
	double pr[MAX_REPS], pu[MAX_REPS], ur[MAX_REPS], uu[MAX_REPS];
	size_t len = mib * MIB, pages = len / 4096;
	/* Enough calls per repetition that one is not a single timer tick. */
	size_t reg_calls = mib >= 64 ? 1 : 64 / mib;
	struct backed_buf bb;
	struct io_uring ring;
	struct iovec iov;
	uint8_t *p;
	int ret;

	ret = map_backed(len, thp, &bb);
	if (ret)
		return ret;
	p = bb.p;
	r->thp_kib = bb.thp_kib;
	iov.iov_base = p;
	iov.iov_len = len;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		goto unmap;
	for (int rep = -1; rep < b->reps; rep++) {	/* rep -1 warms up */
		double reg[2] = { 0 }, unreg[2] = { 0 };

		/* Alternate the two, each timed alone, summed over the rep. */
		for (size_t i = 0; i < reg_calls && !ret; i++) {
			uint32_t h;
			double t0, t1, t2;

			t0 = now_s();
			ret = pinio_register(b->fd, p, len, PINIO_REG_BIDIR, &h);
			t1 = now_s();
			if (ret)
				break;
			ret = pinio_unregister(b->fd, h);
			t2 = now_s();
			reg[0] += t1 - t0;
			unreg[0] += t2 - t1;
			if (ret)
				break;

			t0 = now_s();
			ret = io_uring_register_buffers(&ring, &iov, 1);
			t1 = now_s();
			if (ret)
				break;
			ret = io_uring_unregister_buffers(&ring);
			t2 = now_s();
			reg[1] += t1 - t0;
			unreg[1] += t2 - t1;
		}
		if (ret)
			break;
		if (rep >= 0) {
			pr[rep] = reg[0] * 1e9 / (pages * reg_calls);
			pu[rep] = unreg[0] * 1e9 / (pages * reg_calls);
			ur[rep] = reg[1] * 1e9 / (pages * reg_calls);
			uu[rep] = unreg[1] * 1e9 / (pages * reg_calls);
		}
	}
	io_uring_queue_exit(&ring);
	if (!ret) {
		r->mib = mib;
		r->thp = thp;
		r->pinio_ns_page = median(pr, b->reps);
		r->pinio_unreg_ns_page = median(pu, b->reps);
		r->uring_ns_page = median(ur, b->reps);
		r->uring_unreg_ns_page = median(uu, b->reps);
	}
unmap:
	unmap_backed(&bb);
	return ret;
}

/* ---- pre-registered versus register-per-call, by buffer backing ---- */

struct backing_result {
	bool thp;
	bool write;
	long thp_kib;			/* AnonHugePages backing the buffer */
	double pre_ops_s;		/* path 4: registered once */
	double reg_ops_s;		/* path 5: registered around each call */
};

static struct backing_result backing_results[4];
static int nr_backing_results;

static const struct path *path_by_id(int id)
{
	for (size_t i = 0; i < NR_PATHS; i++)
		if (paths[i].id == id)
			return &paths[i];
	abort();	/* a programming error: no such path */
}

/*
 * Paths 4 and 5 at 1 MiB on a buffer of their own, backed by a THP or by
 * 4 KiB pages. Registering per call costs what pinning costs, and pinning
 * one huge folio is one reference where 4 KiB pages need 256.
 */
static int measure_backing(struct bench *b, bool thp)
{
	uint8_t *main_buf = b->buf;
	size_t main_len = b->buf_len;
	uint32_t main_handle = b->handle;
	struct backed_buf bb;
	int ret;

	ret = map_backed(MIB, thp, &bb);
	if (ret)
		return ret;
	ret = pinio_register(b->fd, bb.p, MIB, PINIO_REG_BIDIR, &b->handle);
	if (ret)
		goto unmap;
	b->buf = bb.p;
	b->buf_len = MIB;
	for (int w = 0; w <= 1 && !ret; w++) {
		struct result pre = { 0 }, reg = { 0 };

		ret = measure(b, path_by_id(4), w, MIB, 1, &pre);
		if (!ret)
			ret = measure(b, path_by_id(5), w, MIB, 1, &reg);
		if (!ret)
			backing_results[nr_backing_results++] =
				(struct backing_result){ .thp = thp,
					.write = w, .thp_kib = bb.thp_kib,
					.pre_ops_s = pre.ops_s,
					.reg_ops_s = reg.ops_s };
	}
	b->buf = main_buf;
	b->buf_len = main_len;
	pinio_unregister(b->fd, b->handle);
	b->handle = main_handle;
unmap:
	unmap_backed(&bb);
	return ret;
}

/* ---- map-out set-up cost ---- */

struct map_result {
	size_t len;
	int prefault;
	double mmap_us, touch_us, munmap_us;
};

static const size_t map_sizes[] = { 4096, 64 << 10, 1 << 20, 16 << 20,
				    64 << 20 };
#define NR_MAP_SIZES (sizeof(map_sizes) / sizeof(map_sizes[0]))
static struct map_result map_results[2 * NR_MAP_SIZES];
static int nr_map_results;

/* mmap() a window, write one byte per page (first touch), munmap() it. */
static int measure_mapping(struct bench *b, size_t len, int prefault,
			   struct map_result *r)
{
	double mm[MAX_REPS], touch[MAX_REPS], unmap[MAX_REPS];
	int ret = set_param(PREFAULT_PARAM, prefault);

	if (ret)
		return ret;
	for (int rep = -1; rep < b->reps; rep++) {	/* rep -1 warms up */
		double t0, t1, t2, t3;
		uint8_t *p;

		t0 = now_s();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
		t1 = now_s();
		if (p == MAP_FAILED)
			return -errno;
		for (size_t off = 0; off < len; off += 4096)
			((volatile uint8_t *)p)[off] = (uint8_t)off;
		t2 = now_s();
		munmap(p, len);
		t3 = now_s();
		if (rep >= 0) {
			mm[rep] = (t1 - t0) * 1e6;
			touch[rep] = (t2 - t1) * 1e6;
			unmap[rep] = (t3 - t2) * 1e6;
		}
	}
	r->len = len;
	r->prefault = prefault;
	r->mmap_us = median(mm, b->reps);
	r->touch_us = median(touch, b->reps);
	r->munmap_us = median(unmap, b->reps);
	return set_param(PREFAULT_PARAM, 0);
}

/* ---- reporting ---- */

static const struct result *find(int bounce, int path, bool write,
				 size_t size, int qd)
{
	for (int i = 0; i < nr_results; i++) {
		const struct result *r = &results[i];

		if (r->bounce == bounce && r->path->id == path &&
		    r->write == write && r->size == size && r->qd == qd)
			return r;
	}
	return NULL;
}

/* Ratio of two cases' figure (ops/s; same size means same for MB/s). */
static double ratio(const struct result *a, const struct result *b)
{
	return a && b && b->ops_s > 0 ? a->ops_s / b->ops_s : 0;
}

static void size_label(size_t size, char *out, size_t len)
{
	if (size >= MIB)
		snprintf(out, len, "%zuM", size / MIB);
	else if (size >= 1024)
		snprintf(out, len, "%zuK", size / 1024);
	else
		snprintf(out, len, "%zu", size);
}

static void print_tables(FILE *out)
{
	char lbl[16];

	for (int bounce = 0; bounce <= 1; bounce++)
		for (int w = 0; w <= 1; w++)
			for (int q = 0; q < 2; q++) {
				fprintf(out, "\nbounce=%d %s QD%d  MB/s (x vs read/write, x vs uring-fixed)\n",
					bounce, w ? "write" : "read", qds[q]);
				fprintf(out, "%-18s", "path");
				for (size_t s = 0; s < NR_SIZES; s++) {
					size_label(sizes[s], lbl, sizeof(lbl));
					fprintf(out, " %22s", lbl);
				}
				fputc('\n', out);
				for (size_t p = 0; p < NR_PATHS; p++) {
					const struct path *pa = &paths[p];

					if (qds[q] > 1 && !pa->queued)
						continue;
					if (!find(bounce, pa->id, w, sizes[0], qds[q]))
						continue;
					fprintf(out, "%-18s", pa->name);
					for (size_t s = 0; s < NR_SIZES; s++) {
						const struct result *r =
							find(bounce, pa->id, w, sizes[s], qds[q]);
						char cell[32];

						snprintf(cell, sizeof(cell), "%.0f (%.2f,%.2f)",
							 r ? r->mb_s : 0,
							 ratio(r, find(bounce, 1, w, sizes[s], 1)),
							 ratio(r, find(bounce, 3, w, sizes[s], qds[q])));
						fprintf(out, " %22s", cell);
					}
					fputc('\n', out);
				}
			}
}

/* Operations/s and CPU time per GB (getrusage) at two sizes, bounce=0. */
static void print_cpu_table(FILE *out)
{
	static const size_t at[] = { 4096, 1 << 20 };

	fprintf(out, "\nbounce=0 ops/s and CPU s per GB (this process; QD1, or QD32 where marked)\n");
	fprintf(out, "%-22s %-5s %12s %10s %12s %10s\n", "path", "dir",
		"4K ops/s", "4K s/GB", "1M ops/s", "1M s/GB");
	for (size_t p = 0; p < NR_PATHS; p++)
		for (int q = 0; q < 2; q++)
			for (int w = 0; w <= 1; w++) {
				const struct result *r0, *r1;
				char name[32];

				if (qds[q] > 1 && !paths[p].queued)
					continue;
				r0 = find(0, paths[p].id, w, at[0], qds[q]);
				r1 = find(0, paths[p].id, w, at[1], qds[q]);
				if (!r0 || !r1)
					continue;
				snprintf(name, sizeof(name), "%s%s", paths[p].name,
					 qds[q] > 1 ? " QD32" : "");
				fprintf(out, "%-22s %-5s %12.0f %10.3f %12.0f %10.3f\n",
					name, w ? "write" : "read", r0->ops_s,
					r0->cpu_s_gb, r1->ops_s, r1->cpu_s_gb);
			}
}

struct headline {
	char name[96];
	double value, target;
	bool at_least;			/* value >= target passes, else <= */
};

static struct headline heads[64];
static int nr_heads;

static void add_head(const char *name, double value, double target,
		     bool at_least)
{
	struct headline *h;

	if (nr_heads == (int)(sizeof(heads) / sizeof(heads[0])))
		abort();	/* a programming error: grow heads[] */
	h = &heads[nr_heads++];

	snprintf(h->name, sizeof(h->name), "%s", name);
	h->value = value;
	h->target = target;
	h->at_least = at_least;
}

static bool head_ok(const struct headline *h)
{
	return h->value > 0 &&
	       (h->at_least ? h->value >= h->target : h->value <= h->target);
}

static void compute_headlines(void)
{
	char name[96], lbl[16];

	for (int w = 0; w <= 1; w++) {
		const char *dir = w ? "write" : "read";

		for (size_t s = 3; s < NR_SIZES; s++) {
			size_label(sizes[s], lbl, sizeof(lbl));
			snprintf(name, sizeof(name), "pinio-ioctl/kcopy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(0, 4, w, sizes[s], 1),
					     find(0, 11, w, sizes[s], 1)), 0.85, true);
			snprintf(name, sizeof(name), "pinio-uring/kcopy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(0, 7, w, sizes[s], 1),
					     find(0, 11, w, sizes[s], 1)), 0.85, true);
			snprintf(name, sizeof(name),
				 "pinio-uring-wq/pinio-uring QD32 %s %s", dir, lbl);
			add_head(name, ratio(find(0, 12, w, sizes[s], MAX_QD),
					     find(0, 7, w, sizes[s], MAX_QD)), 0, true);
			snprintf(name, sizeof(name), "pinio-ioctl/memcpy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(0, 4, w, sizes[s], 1),
					     find(0, 10, w, sizes[s], 1)), 0, true);
			snprintf(name, sizeof(name), "mmap/pinio-ioctl %s %s",
				 dir, lbl);
			add_head(name, ratio(find(0, 9, w, sizes[s], 1),
					     find(0, 4, w, sizes[s], 1)), 0, true);
		}
		snprintf(name, sizeof(name), "pinio-uring QD32/pinio-ioctl QD1 %s 4K", dir);
		add_head(name, ratio(find(0, 7, w, 4096, MAX_QD),
				     find(0, 4, w, 4096, 1)), 1.5, true);
		snprintf(name, sizeof(name), "pinio-uring QD32/uring-fixed QD32 %s 4K", dir);
		add_head(name, ratio(find(0, 7, w, 4096, MAX_QD),
				     find(0, 3, w, 4096, MAX_QD)), 1.0, true);
		for (size_t s = 2; s < NR_SIZES; s++) {
			size_label(sizes[s], lbl, sizeof(lbl));
			snprintf(name, sizeof(name),
				 "bounce=1 pinio-ioctl/read-write %s %s", dir, lbl);
			add_head(name, ratio(find(1, 4, w, sizes[s], 1),
					     find(1, 1, w, sizes[s], 1)), 1.6, true);
		}
	}
	for (int i = 0; i < nr_backing_results; i++) {
		const struct backing_result *r = &backing_results[i];

		snprintf(name, sizeof(name),
			 "pinio-ioctl/pinio-ioctl-reg %s 1M %s",
			 r->write ? "write" : "read", r->thp ? "THP" : "4K pages");
		add_head(name, r->reg_ops_s > 0 ? r->pre_ops_s / r->reg_ops_s : 0,
			 1.2, true);
	}
	for (int i = 0; i < nr_reg_results; i++) {
		const struct reg_result *r = &reg_results[i];

		snprintf(name, sizeof(name),
			 "register ns/page pinio/io_uring %zuM thp=%d", r->mib,
			 r->thp);
		add_head(name, r->uring_ns_page > 0 ?
			 r->pinio_ns_page / r->uring_ns_page : 0, 1.2, false);
	}
}

static void print_headlines(FILE *out)
{
	fprintf(out, "\nHeadline ratios (same boot; a target of 0 is informational)\n");
	for (int i = 0; i < nr_heads; i++) {
		const struct headline *h = &heads[i];

		fprintf(out, "  %-52s %7.2fx  target %s%.2f  %s\n", h->name,
			h->value, h->at_least ? ">=" : "<=", h->target,
			!h->target ? "" : head_ok(h) ? "MET" : "MISSED");
	}
}

static void read_line(const char *path, const char *prefix, char *out,
		      size_t len)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	snprintf(out, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (prefix && strncmp(line, prefix, strlen(prefix)))
			continue;
		char *v = prefix ? strchr(line, ':') : line;

		if (!v)
			continue;
		v += prefix ? 1 : 0;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

static void json_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *c = s; *c; c++)
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if ((unsigned char)*c >= 0x20)
			fputc(*c, f);
	fputc('"', f);
}

static void json_str(FILE *f, const char *key, const char *val, bool comma)
{
	fprintf(f, "    \"%s\": ", key);
	json_escaped(f, val);
	fprintf(f, "%s\n", comma ? "," : "");
}

/*
 * One record of a table, written as a CSV header, a CSV row or a JSON
 * object: each table lists its fields once (put_*() below) for all three.
 */
enum rec_mode { REC_CSV_HEAD, REC_CSV, REC_JSON };

struct rec {
	FILE *f;
	enum rec_mode mode;
	int fields;			/* written so far in this record */
};

static void rec_key(struct rec *o, const char *name)
{
	if (o->mode == REC_JSON)
		fprintf(o->f, "%s\"%s\": ", o->fields ? ", " : "{", name);
	else if (o->fields)
		fputc(',', o->f);
	if (o->mode == REC_CSV_HEAD)
		fputs(name, o->f);
	o->fields++;
}

/* @fmt converts one double: "%.0f" for whole numbers. */
static void rec_num(struct rec *o, const char *name, const char *fmt, double v)
{
	rec_key(o, name);
	if (o->mode != REC_CSV_HEAD)
		fprintf(o->f, fmt, v);
}

static void rec_bool(struct rec *o, const char *name, bool v)
{
	rec_key(o, name);
	if (o->mode == REC_JSON)
		fputs(v ? "true" : "false", o->f);
	else if (o->mode == REC_CSV)
		fputc(v ? '1' : '0', o->f);
}

/* No table's strings hold a comma, so CSV needs no quoting. */
static void rec_str(struct rec *o, const char *name, const char *v)
{
	rec_key(o, name);
	if (o->mode == REC_JSON)
		json_escaped(o->f, v);
	else if (o->mode == REC_CSV)
		fputs(v, o->f);
}

static void put_result(struct rec *o, int i)
{
	const struct result *r = &results[i];

	rec_num(o, "bounce", "%.0f", r->bounce);
	rec_num(o, "path_id", "%.0f", r->path->id);
	rec_str(o, "path", r->path->name);
	rec_str(o, "dir", r->write ? "write" : "read");
	rec_num(o, "size", "%.0f", r->size);
	rec_num(o, "qd", "%.0f", r->qd);
	rec_num(o, "ops_per_s", "%.1f", r->ops_s);
	rec_num(o, "mb_per_s", "%.2f", r->mb_s);
	rec_num(o, "cpu_s_per_gb", "%.4f", r->cpu_s_gb);
	rec_num(o, "x_vs_read_write", "%.3f",
		ratio(r, find(r->bounce, 1, r->write, r->size, 1)));
	rec_num(o, "x_vs_uring_fixed", "%.3f",
		ratio(r, find(r->bounce, 3, r->write, r->size, r->qd)));
}

static void put_registration(struct rec *o, int i)
{
	const struct reg_result *r = &reg_results[i];

	rec_num(o, "size_mib", "%.0f", r->mib);
	rec_bool(o, "thp", r->thp);
	rec_num(o, "anon_huge_kib", "%.0f", r->thp_kib);
	rec_num(o, "pinio_reg_ns_per_page", "%.1f", r->pinio_ns_page);
	rec_num(o, "uring_reg_ns_per_page", "%.1f", r->uring_ns_page);
	rec_num(o, "pinio_unreg_ns_per_page", "%.1f", r->pinio_unreg_ns_page);
	rec_num(o, "uring_unreg_ns_per_page", "%.1f", r->uring_unreg_ns_page);
	rec_num(o, "x_pinio_vs_uring", "%.3f", r->uring_ns_page > 0 ?
		r->pinio_ns_page / r->uring_ns_page : 0);
}

static void put_backing(struct rec *o, int i)
{
	const struct backing_result *r = &backing_results[i];

	rec_num(o, "size", "%.0f", MIB);
	rec_bool(o, "thp", r->thp);
	rec_num(o, "anon_huge_kib", "%.0f", r->thp_kib);
	rec_str(o, "dir", r->write ? "write" : "read");
	rec_num(o, "pre_registered_ops_per_s", "%.1f", r->pre_ops_s);
	rec_num(o, "register_per_call_ops_per_s", "%.1f", r->reg_ops_s);
}

static void put_mapping(struct rec *o, int i)
{
	const struct map_result *r = &map_results[i];

	rec_num(o, "window_bytes", "%.0f", r->len);
	rec_bool(o, "prefault", r->prefault);
	rec_num(o, "mmap_us", "%.2f", r->mmap_us);
	rec_num(o, "first_touch_us", "%.2f", r->touch_us);
	rec_num(o, "munmap_us", "%.2f", r->munmap_us);
}

static void put_headline(struct rec *o, int i)
{
	const struct headline *h = &heads[i];

	rec_str(o, "name", h->name);
	rec_num(o, "value", "%.3f", h->value);
	rec_num(o, "target", "%.2f", h->target);
	rec_bool(o, "at_least", h->at_least);
	rec_bool(o, "met", head_ok(h));
}

typedef void (*put_fn)(struct rec *o, int i);

static void csv_line(struct rec *o, put_fn put, int i)
{
	o->fields = 0;
	put(o, i);
	fputc('\n', o->f);
}

/* @dir/@name: a header named by record 0's fields, then @n rows. */
static int write_csv(const char *dir, const char *name, put_fn put, int n)
{
	struct rec o = { .mode = REC_CSV_HEAD };
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o.f = fopen(path, "we");
	if (!o.f)
		return -errno;
	if (n)
		csv_line(&o, put, 0);
	o.mode = REC_CSV;
	for (int i = 0; i < n; i++)
		csv_line(&o, put, i);
	return fclose(o.f) ? -errno : 0;
}

/* "key": [ one object per record ] inside the open JSON document. */
static void write_json_array(FILE *f, const char *key, put_fn put, int n,
			     bool last)
{
	struct rec o = { .f = f, .mode = REC_JSON };

	fprintf(f, "  \"%s\": [\n", key);
	for (int i = 0; i < n; i++) {
		o.fields = 0;
		fputs("    ", f);
		put(&o, i);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]%s\n", last ? "" : ",");
}

static int write_outputs(struct bench *b, const char *dir)
{
	char path[512], model[256], flags[4096], vendor[128], cmdline[1024];
	const char *cpu_arg = getenv("PINIO_BENCH_CPU");
	struct utsname u;
	FILE *f;
	int ret;

	uname(&u);
	read_line("/proc/cpuinfo", "model name", model, sizeof(model));
	read_line("/proc/cpuinfo", "flags", flags, sizeof(flags));
	read_line("/sys/class/dmi/id/sys_vendor", NULL, vendor, sizeof(vendor));
	read_line("/proc/cmdline", NULL, cmdline, sizeof(cmdline));

	ret = write_csv(dir, "bench.csv", put_result, nr_results);
	if (!ret)
		ret = write_csv(dir, "register.csv", put_registration,
				nr_reg_results);
	if (!ret)
		ret = write_csv(dir, "mmap.csv", put_mapping, nr_map_results);
	if (!ret)
		ret = write_csv(dir, "headline.csv", put_headline, nr_heads);
	if (ret)
		return ret;

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "{\n  \"facts\": {\n");
	json_str(f, "kernel", u.release, true);
	json_str(f, "machine", u.machine, true);
	json_str(f, "cpu_model", model, true);
	json_str(f, "cpu_flags", flags, true);
	json_str(f, "qemu_cpu", cpu_arg ? cpu_arg : "not under the runner", true);
	json_str(f, "sys_vendor", vendor, true);
	json_str(f, "kernel_cmdline", cmdline, true);
	json_str(f, "uring_async_min", b->async_min, true);
	json_str(f, "ring_setup", RING_SETUP, true);
	fprintf(f, "    \"hypervisor\": %s,\n",
		strstr(flags, "hypervisor") ? "true" : "false");
	fprintf(f, "    \"cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "    \"dev_size\": %llu,\n", (unsigned long long)b->info.dev_size);
	fprintf(f, "    \"ms_per_rep\": %.0f,\n    \"reps\": %d,\n    \"quick\": %s,\n",
		b->ms, b->reps, b->quick ? "true" : "false");
	json_str(f, "note", "medians of reps after warm-up; absolute figures under QEMU TCG are not hardware figures, read the ratios; cpu_s_per_gb is the benchmark process's own CPU time (getrusage), so work done in pinio's workqueue for large uring_cmd transfers is not in it", false);
	fprintf(f, "  },\n");
	write_json_array(f, "results", put_result, nr_results, false);
	write_json_array(f, "registration", put_registration, nr_reg_results,
			 false);
	write_json_array(f, "per_call_registration", put_backing,
			 nr_backing_results, false);
	write_json_array(f, "mapping", put_mapping, nr_map_results, false);
	write_json_array(f, "headline", put_headline, nr_heads, true);
	fprintf(f, "}\n");
	return fclose(f) ? -errno : 0;
}

/* ---- profile: where one 4 KiB operation's time goes (ftrace) ---- */

#define TRACE_DIR	"/sys/kernel/debug/tracing"

/*
 * Traced with function_graph, each with its duration: the two syscalls,
 * io_uring's issue step for a uring_cmd, pinio's entry points and its copy
 * (out of line only where io_uring calls it). Few, because under TCG each
 * traced call adds about a microsecond to its callers. The bare memcpy is
 * not traceable; kcopy times it alone, untraced.
 */
static const char *const profile_funcs[] = {
	"__x64_sys_ioctl", "__x64_sys_io_uring_enter", "io_uring_cmd",
	"pinio_ioctl", "pinio_uring_cmd", "pinio_xfer_run",
};

struct profile_phase {
	const char *name;
	int path;			/* paths[] id */
	int qd;
	bool write;
};

static const struct profile_phase profile_phases[] = {
	{ "ioctl-qd1-read", 4, 1, false },
	{ "batch-qd32-read", 6, MAX_QD, false },
	{ "uring-qd32-read", 7, MAX_QD, false },
	{ "ioctl-qd1-write", 4, 1, true },
	{ "batch-qd32-write", 6, MAX_QD, true },
	{ "uring-qd32-write", 7, MAX_QD, true },
};

static int trace_write(const char *file, const char *val, bool append)
{
	char path[128];

	snprintf(path, sizeof(path), TRACE_DIR "/%s", file);
	return write_str(path, val, append ? O_APPEND : O_TRUNC);
}

static int trace_setup(void)
{
	int ret, traced = 0;

	ret = trace_write("tracing_on", "0", false);
	if (!ret)
		ret = trace_write("current_tracer", "nop", false);
	if (!ret)
		ret = trace_write("buffer_size_kb", "32768", false);
	if (!ret)
		ret = trace_write("set_ftrace_filter", "", false);
	if (ret)
		return ret;
	/* One at a time: a kernel may have inlined one of them away. */
	for (size_t i = 0; i < sizeof(profile_funcs) / sizeof(profile_funcs[0]); i++)
		if (!trace_write("set_ftrace_filter", profile_funcs[i], true))
			traced++;
	if (!traced)
		return -ENOENT;
	ret = trace_write("options/funcgraph-tail", "1", false);
	if (!ret)
		ret = trace_write("current_tracer", "function_graph", false);
	return ret ? ret : trace_write("trace", "", false);
}

static int copy_file(const char *from, const char *to)
{
	char chunk[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		ret = -errno;
		goto close_in;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(out);
close_in:
	close(in);
	return ret;
}

/*
 * Each phase runs untraced first (median ns per operation, as in the main
 * tables), then traced for a fixed number of operations between two
 * trace_marker lines that bench/profile.sh sums per function. The trace
 * lands in @out/profile.trace; kcopy gives the bare copy's cost.
 */
static int run_profile(struct bench *b, const char *out)
{
	const size_t nr_phases = sizeof(profile_phases) / sizeof(profile_phases[0]);
	char path[256], mark[128];
	struct result r = { 0 };
	int ret;

	ret = open_device(b, 0);
	if (ret)
		return ret;
	/* Untraced first: with function_graph set, every call pays its hook. */
	for (int w = 0; w <= 1 && !ret; w++) {
		ret = measure_kcopy(b, w, 4096, &r);
		if (!ret)
			printf("profile kcopy-%s ns_per_op=%.0f\n",
			       w ? "write" : "read", 1e9 / r.ops_s);
	}
	for (size_t i = 0; i < nr_phases && !ret; i++) {
		const struct profile_phase *ph = &profile_phases[i];

		ret = measure(b, path_by_id(ph->path), ph->write, 4096, ph->qd,
			      &r);
		if (!ret)
			printf("profile %s ns_per_op=%.0f\n", ph->name,
			       1e9 / r.ops_s);
	}
	if (ret)
		goto close;

	ret = trace_setup();
	if (ret) {
		fprintf(stderr, "pinio_bench: ftrace set-up in %s: %s\n",
			TRACE_DIR, strerror(-ret));
		goto close;
	}
	/* Markers only reach the ring buffer while tracing is on. */
	ret = trace_write("tracing_on", "1", false);
	for (size_t i = 0; i < nr_phases && !ret; i++) {
		const struct profile_phase *ph = &profile_phases[i];
		const struct path *pa = path_by_id(ph->path);
		int units = 4096 / ph->qd;

		snprintf(mark, sizeof(mark), "pinio-profile phase=%s ops=%d",
			 ph->name, units * ph->qd);
		ret = trace_write("trace_marker", mark, false);
		for (int u = 0; u < units && !ret; u++)
			ret = pa->fn(b, ph->write, 4096, ph->qd, u);
	}
	if (!ret)
		ret = trace_write("trace_marker", "pinio-profile phase=end ops=0",
				  false);
	trace_write("tracing_on", "0", false);
	snprintf(path, sizeof(path), "%s/profile.trace", out);
	if (!ret)
		ret = copy_file(TRACE_DIR "/trace", path);
	trace_write("current_tracer", "nop", false);
	trace_write("set_ftrace_filter", "", false);
close:
	close_device(b);
	return ret;
}

/* ---- main ---- */

static int run_series(struct bench *b, int bounce, int *done, int total)
{
	bool tty = isatty(STDERR_FILENO);
	int ret = open_device(b, bounce);

	if (ret) {
		fprintf(stderr, "pinio_bench: device set-up (bounce=%d): %s\n",
			bounce, strerror(-ret));
		return ret;
	}
	for (size_t p = 0; p < NR_PATHS; p++) {
		const struct path *pa = &paths[p];

		if (bounce && !pa->device)
			continue;
		ret = write_str(ASYNC_MIN_PARAM, pa->uring_wq ? "1" :
				b->async_min, 0);
		if (ret) {
			fprintf(stderr, "pinio_bench: setting uring_async_min: %s\n",
				strerror(-ret));
			goto out;
		}
		if (pa->fn && (ret = verify_path(b, pa))) {
			fprintf(stderr, "pinio_bench: %s moved wrong data: %s\n",
				pa->name, strerror(-ret));
			goto out;
		}
		for (int w = 0; w <= 1; w++)
			for (size_t s = 0; s < NR_SIZES; s++)
				for (int q = 0; q < 2; q++) {
					struct result *r = &results[nr_results];

					if (qds[q] > 1 && !pa->queued)
						continue;
					*r = (struct result){ .bounce = bounce, .path = pa,
						.write = w, .size = sizes[s], .qd = qds[q] };
					ret = pa->fn ? measure(b, pa, w, sizes[s], qds[q], r) :
						       measure_kcopy(b, w, sizes[s], r);
					if (ret) {
						fprintf(stderr, "pinio_bench: %s %s %zu QD%d: %s\n",
							pa->name, w ? "write" : "read",
							sizes[s], qds[q], strerror(-ret));
						goto out;
					}
					nr_results++;
					/* One line per case when logged to a file. */
					fprintf(stderr, "%s[%3d/%3d] bounce=%d %-18s %-5s %8zu QD%-2d %9.1f MB/s%s",
						tty ? "\r" : "", ++*done, total, bounce,
						pa->name, w ? "write" : "read", sizes[s],
						qds[q], r->mb_s, tty ? "   " : "\n");
				}
	}
out:
	close_device(b);
	return ret;
}

static int count_cases(void)
{
	int n = 0;

	for (int bounce = 0; bounce <= 1; bounce++)
		for (size_t p = 0; p < NR_PATHS; p++)
			if (!bounce || paths[p].device)
				n += 2 * NR_SIZES * (paths[p].queued ? 2 : 1);
	return n;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--quick] [--ms MS] [--reps N] [--out DIR] [--profile]\n"
		"  Benchmarks every path to /dev/pinio (pinio.ko loaded, run as root).\n"
		"  --quick   short repetitions (for CI); --ms per repetition (default 60)\n"
		"  --reps    repetitions after warm-up, median reported (default 5)\n"
		"  --out     directory for bench.csv, bench.json, register.csv, mmap.csv,\n"
		"            headline.csv\n"
		"  --profile only time 4 KiB ioctl, batch and uring_cmd operations, untraced\n"
		"            and under ftrace function_graph (DIR/profile.trace)\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "ms", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "profile", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .ms = 60, .reps = 5 };
	const char *out = ".";
	int opt, ret, done = 0, total = count_cases();
	static const size_t reg_mib[] = { 1, 16, 256 };
	bool profile = false;

	if (total > (int)(sizeof(results) / sizeof(results[0])))
		abort();	/* a programming error: grow results[] */

	while ((opt = getopt_long(argc, argv, "qm:r:o:ph", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			b.quick = true;
			b.ms = 8;
			break;
		case 'm':
			b.ms = atof(optarg);
			break;
		case 'r':
			b.reps = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			profile = true;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (b.reps < 5 || b.reps > MAX_REPS || b.ms <= 0) {
		fprintf(stderr, "pinio_bench: --reps must be 5..%d, --ms > 0\n",
			MAX_REPS);
		return 2;
	}

	read_line(ASYNC_MIN_PARAM, NULL, b.async_min, sizeof(b.async_min));
	b.buf_len = (size_t)MAX_QD * MAX_SIZE;
	b.buf = map_buffer(b.buf_len);
	b.src = map_buffer(b.buf_len);
	if (!b.buf || !b.src) {
		fprintf(stderr, "pinio_bench: cannot map %zu MiB buffers\n",
			2 * b.buf_len / MIB);
		return 1;
	}
	if (profile) {
		ret = run_profile(&b, out);
		if (ret)
			fprintf(stderr, "pinio_bench: profile: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}

	fprintf(stderr, "pinio_bench: %d cases x (warm-up + %d reps x %.0f ms)\n",
		total, b.reps, b.ms);
	for (int bounce = 0; bounce <= 1; bounce++) {
		ret = run_series(&b, bounce, &done, total);
		if (ret)
			return 1;
	}
	fputc('\n', stderr);
	set_param(BOUNCE_PARAM, 0);
	write_str(ASYNC_MIN_PARAM, b.async_min, 0);

	b.fd = pinio_open(NULL, O_RDWR);
	if (b.fd < 0)
		return 1;
	for (size_t i = 0; i < sizeof(reg_mib) / sizeof(reg_mib[0]); i++)
		for (int thp = 0; thp <= 1; thp++) {
			fprintf(stderr, "registration %zu MiB thp=%d\n", reg_mib[i], thp);
			ret = measure_registration(&b, reg_mib[i], thp,
						   &reg_results[nr_reg_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: registration %zu MiB: %s\n",
					reg_mib[i], strerror(-ret));
				return 1;
			}
			nr_reg_results++;
		}
	for (size_t i = 0; i < NR_MAP_SIZES; i++)
		for (int pre = 0; pre <= 1; pre++) {
			ret = measure_mapping(&b, map_sizes[i], pre,
					      &map_results[nr_map_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: mmap %zu bytes: %s\n",
					map_sizes[i], strerror(-ret));
				return 1;
			}
			nr_map_results++;
		}
	for (int thp = 1; thp >= 0; thp--) {
		fprintf(stderr, "registration per call, 1 MiB thp=%d\n", thp);
		ret = measure_backing(&b, thp);
		if (ret) {
			fprintf(stderr, "pinio_bench: per-call registration thp=%d: %s\n",
				thp, strerror(-ret));
			return 1;
		}
	}
	pinio_close(b.fd);

	compute_headlines();
	printf("pinio benchmark: medians of %d repetitions of >= %.0f ms after warm-up.\n"
	       "Under QEMU TCG the absolute MB/s are emulator figures, not hardware ones: read the ratios.\n"
	       "io_uring paths: QD1 and QD32, rings with %s.\n",
	       b.reps, b.ms, RING_SETUP);
	print_tables(stdout);
	print_cpu_table(stdout);
	printf("\nRegistration, ns per 4 KiB page (median)\n");
	printf("  %6s %4s %12s %10s %10s %12s %12s\n", "MiB", "thp", "hugeKiB",
	       "pinio", "io_uring", "pinio-unreg", "uring-unreg");
	for (int i = 0; i < nr_reg_results; i++) {
		const struct reg_result *r = &reg_results[i];

		printf("  %6zu %4d %12ld %10.1f %10.1f %12.1f %12.1f\n", r->mib,
		       r->thp, r->thp_kib, r->pinio_ns_page, r->uring_ns_page,
		       r->pinio_unreg_ns_page, r->uring_unreg_ns_page);
	}
	printf("\nPre-registered (path 4) versus register-per-call (path 5), 1 MiB QD1, bounce=0\n");
	printf("  %-9s %-5s %8s %12s %12s %7s\n", "backing", "dir", "hugeKiB",
	       "pre ops/s", "per-call", "x");
	for (int i = 0; i < nr_backing_results; i++) {
		const struct backing_result *r = &backing_results[i];

		printf("  %-9s %-5s %8ld %12.0f %12.0f %7.2f\n",
		       r->thp ? "THP" : "4K pages", r->write ? "write" : "read",
		       r->thp_kib, r->pre_ops_s, r->reg_ops_s,
		       r->reg_ops_s > 0 ? r->pre_ops_s / r->reg_ops_s : 0);
	}
	printf("\nMap-out set-up: mmap(), first write to every page, munmap() (us, median)\n");
	printf("  %10s %9s %10s %12s %10s\n", "window", "prefault", "mmap",
	       "first-touch", "munmap");
	for (int i = 0; i < nr_map_results; i++)
		printf("  %10zu %9d %10.1f %12.1f %10.1f\n", map_results[i].len,
		       map_results[i].prefault, map_results[i].mmap_us,
		       map_results[i].touch_us, map_results[i].munmap_us);
	print_headlines(stdout);

	ret = write_outputs(&b, out);
	if (ret) {
		fprintf(stderr, "pinio_bench: writing results to %s: %s\n", out,
			strerror(-ret));
		return 1;
	}
	return 0;
}
