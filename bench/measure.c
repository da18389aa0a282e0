// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: measurement. Each case runs a warm-up, then --reps
 * repetitions of at least --ms milliseconds each; the median repetition is
 * reported, with the CPU time per GB moved of this process and of the
 * whole guest (cpu_s() says what each counts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pinio_bench.h"

const size_t sizes[NR_SIZES] = { 512, 4096, 64 << 10, 128 << 10, 1 << 20,
				  4 << 20 };
const int qds[2] = { 1, MAX_QD };

struct result results[MAX_RESULTS];
int nr_results;
struct pair_result pair_results[MAX_PAIRS];
int nr_pair_results;

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * CPU time per GB moved, two ways.
 *
 * cpu_s_per_gb, median of the repetitions: this process's user + system
 * time, getrusage(RUSAGE_SELF), whose sum is the scheduler's runtime of
 * every thread of the process: io_uring's io-wq workers and SQPOLL thread
 * included, and the kernel work done in their context (system calls, the
 * copies pinio does inline, interrupts taken while they ran). Not in it:
 * work handed to kernel threads, such as pinio's uring_async_min
 * workqueue (kworkers, path pinio-uring-wq), and interrupts and
 * completions run on another CPU or in ksoftirqd.
 *
 * guest_cpu_s_per_gb, over all the repetitions of a case together: the
 * whole guest's busy time, online CPUs x wall time minus the idle and
 * iowait time of /proc/stat's cpu line. That has the kworkers and the
 * interrupts too, and anything else the guest ran meanwhile (the
 * benchmark's guest runs nothing else). /proc/stat counts in USER_HZ
 * ticks (10 ms): 5 repetitions of 60 ms are good to a few per cent,
 * QUICK's 5 x 8 ms are not. -1 when /proc/stat cannot be read.
 */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Idle + iowait seconds of every CPU since boot, or -1. */
static double guest_idle_s(void)
{
	unsigned long long user, nice, sys, idle, iowait;
	char line[256];
	ssize_t n;
	int fd;

	fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	if (sscanf(line, "cpu %llu %llu %llu %llu %llu", &user, &nice, &sys,
		   &idle, &iowait) != 5)
		return -1;
	return (idle + iowait) / (double)sysconf(_SC_CLK_TCK);
}

/* A stretch of the guest's time, for its busy CPU seconds. */
struct guest_span {
	double t0, idle0;
	long cpus;
};

static void guest_span_start(struct guest_span *g)
{
	g->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	g->idle0 = guest_idle_s();
	g->t0 = now_s();
}

/* Busy CPU seconds of the whole guest per GB of @bytes, since the start. */
static double guest_span_s_gb(const struct guest_span *g, double bytes)
{
	double t = now_s() - g->t0, idle = guest_idle_s(), busy;

	if (g->idle0 < 0 || idle < 0 || g->cpus < 1 || bytes <= 0)
		return -1;
	busy = g->cpus * t - (idle - g->idle0);
	/* The tick counts' rounding can take a short case below zero. */
	return (busy > 0 ? busy : 0) / (bytes / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- measurement ---- */

/*
 * A page-cache path on a disk store: whether a repetition starts with the
 * disk's cache dropped (not timed) and ends with what it wrote on the disk
 * (timed), so that it reads from and writes to the device, as the direct
 * paths beside it do, rather than to memory.
 */
static bool cold_cache(const struct bench *b, const struct path *p)
{
	return p->page_cache && b->store->kind == STORE_DISK;
}

/* The repetitions of one case so far. */
struct reps {
	const struct path *p;
	bool cold;			/* cold_cache() */
	uint64_t unit;			/* the next unit: units walk the store */
	int n;
	double ops[MAX_REPS], mb[MAX_REPS], cpu[MAX_REPS], bytes;
};

/* Warm-up: a quarter of a repetition, at least two units. */
static int warm_up(struct bench *b, struct reps *rs, bool write, size_t size,
		   int qd)
{
	int ret;

	b->slot = 0;
	if (rs->cold && (ret = drop_disk_cache(b)))
		return ret;
	for (double end = now_s() + b->ms / 4000; rs->unit < 2 || now_s() < end;)
		if ((ret = rs->p->fn(b, write, size, qd, rs->unit++)))
			return ret;
	return 0;
}

/* One repetition of at least --ms, in its own slot of the user buffer. */
static int one_rep(struct bench *b, struct reps *rs, bool write, size_t size,
		   int qd)
{
	double c0, t0, t, moved;
	uint64_t n = 0;
	int ret;

	b->slot = rs->n;
	if (rs->cold && (ret = drop_disk_cache(b)))
		return ret;
	c0 = cpu_s();
	t0 = now_s();
	do {
		ret = rs->p->fn(b, write, size, qd, rs->unit++);
		if (ret)
			return ret;
		n++;
		t = now_s() - t0;
	} while (t < b->ms / 1000);
	if (rs->cold && write) {
		if (fdatasync(b->disk_buffered))
			return -errno;
		t = now_s() - t0;
	}
	moved = n * qd * (double)size;
	rs->ops[rs->n] = n * qd / t;
	rs->mb[rs->n] = moved / t / 1e6;
	rs->cpu[rs->n] = (cpu_s() - c0) / (moved / 1e9);
	rs->bytes += moved;
	rs->n++;
	return 0;
}

static void reps_result(struct reps *rs, struct result *r)
{
	r->ops_s = median(rs->ops, rs->n);
	r->mb_s = median(rs->mb, rs->n);
	r->cpu_s_gb = median(rs->cpu, rs->n);
}

int measure(struct bench *b, const struct path *p, bool write, size_t size,
	    int qd, struct result *r)
{
	struct reps rs = { .p = p, .cold = cold_cache(b, p) };
	struct guest_span guest;
	int ret = warm_up(b, &rs, write, size, qd);

	if (ret)
		return ret;
	guest_span_start(&guest);
	for (int rep = 0; rep < b->reps; rep++)
		if ((ret = one_rep(b, &rs, write, size, qd)))
			return ret;
	r->guest_cpu_s_gb = guest_span_s_gb(&guest, rs.bytes);
	reps_result(&rs, r);
	return 0;
}

/*
 * Two paths of one case, repetition by repetition in turn (a, b, a, b,
 * ...), twice --reps of each: whatever drifts meanwhile (under TCG the
 * emulated device shares two host cores with both vCPUs, and a path's
 * figures moved by up to 2x between runs) falls on both alike, so their
 * ratio is steadier than that of two series measured a minute apart.
 * No guest CPU figure: the span holds both paths.
 */
int measure_pair(struct bench *b, struct pair_result *pr)
{
	struct reps ra = { .p = pr->a, .cold = cold_cache(b, pr->a) };
	struct reps rb = { .p = pr->b, .cold = cold_cache(b, pr->b) };
	int reps = 2 * b->reps > MAX_REPS ? MAX_REPS : 2 * b->reps;
	struct result r = { 0 };
	int ret;

	ret = warm_up(b, &ra, pr->write, pr->size, pr->qd);
	if (!ret)
		ret = warm_up(b, &rb, pr->write, pr->size, pr->qd);
	for (int rep = 0; rep < reps && !ret; rep++) {
		ret = one_rep(b, &ra, pr->write, pr->size, pr->qd);
		if (!ret)
			ret = one_rep(b, &rb, pr->write, pr->size, pr->qd);
	}
	if (ret)
		return ret;
	reps_result(&ra, &r);
	pr->a_mb_s = r.mb_s;
	pr->a_ops_s = r.ops_s;
	reps_result(&rb, &r);
	pr->b_mb_s = r.mb_s;
	pr->b_ops_s = r.ops_s;
	pr->reps = reps;
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

int measure_kcopy(struct bench *b, const struct path *p, bool write,
		  size_t size, int qd, struct result *r)
{
	double ops[MAX_REPS], mb[MAX_REPS], cpu[MAX_REPS], ns;
	struct guest_span guest;
	unsigned int iters;
	int ret;

	(void)p;
	(void)qd;			/* QD1 only: one copy at a time */

	/* Calibrate (and warm up) so one repetition lasts about --ms. */
	ret = kcopy_once(write, size, 4, &ns);
	if (ret)
		return ret;
	iters = 4 * (b->ms * 1e6 / (ns > 1 ? ns : 1));
	iters = iters < 1 ? 1 : iters > 100000 ? 100000 : iters;

	guest_span_start(&guest);
	for (int rep = 0; rep < b->reps; rep++) {
		double c0 = cpu_s();

		ret = kcopy_once(write, size, iters, &ns);
		if (ret)
			return ret;
		ops[rep] = iters / (ns * 1e-9);
		mb[rep] = iters * (double)size / (ns * 1e-9) / 1e6;
		cpu[rep] = (cpu_s() - c0) / (iters * (double)size / 1e9);
	}
	r->guest_cpu_s_gb = guest_span_s_gb(&guest, (double)b->reps * iters * size);
	r->ops_s = median(ops, b->reps);
	r->mb_s = median(mb, b->reps);
	r->cpu_s_gb = median(cpu, b->reps);
	return 0;
}

/* ---- registration cost ---- */

struct reg_result reg_results[8];
int nr_reg_results;

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

int measure_registration(struct bench *b, size_t mib, bool thp,
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

struct backing_result backing_results[4];
int nr_backing_results;

/*
 * Paths 4 and 5 at 1 MiB on a buffer of their own, backed by a THP or by
 * 4 KiB pages. Registering per call costs what pinning costs, and pinning
 * one huge folio is one reference where 4 KiB pages need 256.
 */
int measure_backing(struct bench *b, bool thp)
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

const size_t map_sizes[NR_MAP_SIZES] = { 4096, 64 << 10, 1 << 20, 16 << 20,
					 64 << 20 };
struct map_result map_results[2 * NR_MAP_SIZES];
int nr_map_results;

/* mmap() a window, write one byte per page (first touch), munmap() it. */
int measure_mapping(struct bench *b, size_t len, int prefault,
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
