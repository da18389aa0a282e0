/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the pinio kselftests: device and ioctl wrappers that
 * return -errno, position-dependent data patterns with first-mismatch
 * reporting, VmPin / sysfs stats readers and memory-mapping helpers for the
 * kinds of memory a user may register.
 *
 * Test programs include this instead of kselftest_harness.h.
 */
#ifndef PINIO_TEST_UTIL_H
#define PINIO_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/pinio.h>

/* The harness itself is not -Wextra clean (an unused handler argument). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define KiB		(1024ULL)
#define MiB		(1024ULL * 1024)
#define HPAGE_SIZE	(2 * MiB)

#define PINIO_SYSFS_STATS	"/sys/class/misc/pinio/stats/"
#define PINIO_SYSFS_PARAMS	"/sys/module/pinio/parameters/"
#define THP_ENABLED_PATH	"/sys/kernel/mm/transparent_hugepage/enabled"

/* A user-space address no process can map: the kernel text on x86-64. */
#define KERNEL_ADDR	0xffffffff81000000ULL

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Pages touched by [addr, addr + len), as the driver must pin them. */
static inline uint64_t span_pages(uint64_t addr, uint64_t len)
{
	uint64_t ps = page_size();
	uint64_t first = addr & ~(ps - 1);
	uint64_t last = (addr + len + ps - 1) & ~(ps - 1);

	return (last - first) / ps;
}

static inline const char *errname(int err)
{
	switch (err) {
	case 0: return "success";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(err);
	}
}

/*
 * Checks in the harness's own style: each logs what differed, marks the
 * test failed and ends in OPTIONAL_HANDLER, so ASSERT_* variants abort the
 * test and a trailing TH_LOG("context") works as with ASSERT_EQ.
 */
#define __PINIO_FAIL(fmt, ...) do {					\
	fprintf(TH_LOG_STREAM, "# %s:%d:%s:" fmt "\n", file, line, func,	\
		##__VA_ARGS__);						\
	_metadata->exit_code = KSFT_FAIL;				\
	_metadata->trigger = 1;						\
} while (0)

#define __PINIO_LOC	_metadata, __FILE__, __LINE__, __func__
#define __PINIO_ARGS	struct __test_metadata *_metadata, const char *file, \
			int line, const char *func

/* @r is 0 / a count or -errno; @err 0 means success is expected. */
static inline void __pinio_check_err(__PINIO_ARGS, const char *expr,
				     int err, long r)
{
	if (err ? r == -(long)err : r >= 0)
		return;
	__PINIO_FAIL("%s: expected %s, got %s%s", expr, errname(err),
		     r < 0 ? errname((int)-r) : "success",
		     r > 0 ? " (positive)" : "");
}

#define ASSERT_ERR(err, expr)						\
	__pinio_check_err(__PINIO_LOC, #expr, (err), (long)(expr)); OPTIONAL_HANDLER(1)
#define EXPECT_ERR(err, expr)						\
	__pinio_check_err(__PINIO_LOC, #expr, (err), (long)(expr)); OPTIONAL_HANDLER(0)
/* Success: 0 or a nonnegative count. */
#define ASSERT_OK(expr)		ASSERT_ERR(0, expr)
#define EXPECT_OK(expr)		EXPECT_ERR(0, expr)

/* -errno of a raw call that returns -1 and sets errno. */
static inline long sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

/* pread/pwrite without libc's nonnull checking, for deliberately bad buffers */
static inline long raw_pread(int fd, void *buf, size_t len, off_t off)
{
	return syscall(SYS_pread64, fd, buf, len, off);
}

static inline long raw_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return syscall(SYS_pwrite64, fd, buf, len, off);
}

/* --- device and ioctl wrappers ----------------------------------------- */

static inline int pinio_open(void)
{
	int fd = open(PINIO_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int pinio_get_info(int fd, struct pinio_info *info)
{
	memset(info, 0xa5, sizeof(*info));
	return ioctl(fd, PINIO_IOC_INFO, info) ? -errno : 0;
}

static inline int pinio_register_full(int fd, uint64_t addr, uint64_t len,
				      uint32_t flags, uint64_t rsv0,
				      uint64_t rsv1, uint32_t *handle)
{
	struct pinio_region r = {
		.addr = addr, .len = len, .flags = flags,
		.reserved = { rsv0, rsv1 },
	};

	if (ioctl(fd, PINIO_IOC_REGISTER, &r))
		return -errno;
	if (handle)
		*handle = r.handle;
	return 0;
}

static inline int pinio_register(int fd, const void *addr, uint64_t len,
				 uint32_t flags, uint32_t *handle)
{
	return pinio_register_full(fd, (uintptr_t)addr, len, flags, 0, 0,
				   handle);
}

static inline int pinio_unregister_flags(int fd, uint32_t handle,
					 uint32_t flags)
{
	struct pinio_unregister u = { .handle = handle, .flags = flags };

	return ioctl(fd, PINIO_IOC_UNREGISTER, &u) ? -errno : 0;
}

static inline int pinio_unregister(int fd, uint32_t handle)
{
	return pinio_unregister_flags(fd, handle, 0);
}

static inline int pinio_xfer_op(int fd, unsigned long cmd, uint32_t handle,
				uint32_t op, uint64_t buf_off,
				uint64_t dev_off, uint64_t len)
{
	struct pinio_xfer x = {
		.handle = handle, .op = op, .buf_offset = buf_off,
		.dev_offset = dev_off, .len = len,
	};

	return ioctl(fd, cmd, &x) ? -errno : 0;
}

/* Device store -> registered buffer. */
static inline int pinio_read(int fd, uint32_t handle, uint64_t buf_off,
			     uint64_t dev_off, uint64_t len)
{
	return pinio_xfer_op(fd, PINIO_IOC_READ, handle, 0, buf_off, dev_off,
			     len);
}

/* Registered buffer -> device store. */
static inline int pinio_write(int fd, uint32_t handle, uint64_t buf_off,
			      uint64_t dev_off, uint64_t len)
{
	return pinio_xfer_op(fd, PINIO_IOC_WRITE, handle, 0, buf_off, dev_off,
			     len);
}

static inline struct pinio_xfer pinio_seg(uint32_t handle, uint32_t op,
					  uint64_t buf_off, uint64_t dev_off,
					  uint64_t len)
{
	struct pinio_xfer x = {
		.handle = handle, .op = op, .buf_offset = buf_off,
		.dev_offset = dev_off, .len = len,
	};

	return x;
}

/* Returns 0 or -errno; *completed gets the driver's count (~0 if unset). */
static inline int pinio_batch_full(int fd, struct pinio_xfer *segs,
				   uint32_t nr, uint32_t flags,
				   uint32_t reserved, uint32_t *completed)
{
	struct pinio_batch b = {
		.segs = (uintptr_t)segs, .nr = nr, .flags = flags,
		.completed = ~0U, .reserved = reserved,
	};
	int ret = ioctl(fd, PINIO_IOC_BATCH, &b) ? -errno : 0;

	if (completed)
		*completed = b.completed;
	return ret;
}

static inline int pinio_batch(int fd, struct pinio_xfer *segs, uint32_t nr,
			      uint32_t *completed)
{
	return pinio_batch_full(fd, segs, nr, 0, 0, completed);
}

/* Full-length buffered pread/pwrite of the store, or -errno / -EIO if short. */
static inline int dev_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += r;
	}
	return 0;
}

static inline int dev_pwrite_all(int fd, const void *buf, size_t len,
				 uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));

		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += r;
	}
	return 0;
}

/* --- data patterns ------------------------------------------------------ */

/*
 * The byte at logical position @off of pattern @seed. Logical positions are
 * normally device offsets, so data landing in the wrong place (shifted by
 * any amount, or from another seed) never matches.
 */
static inline uint64_t pat_word(uint64_t idx, uint32_t seed)
{
	uint64_t z = idx * 0x9e3779b97f4a7c15ULL +
		     ((uint64_t)seed << 32 | seed) + 0x632be59bd9b4e019ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint8_t pat_byte(uint64_t off, uint32_t seed)
{
	return (uint8_t)(pat_word(off >> 3, seed) >> ((off & 7) * 8));
}

/* buf[i] = pat_byte(off + i, seed) for i < len. */
static inline void pattern_fill(void *buf, size_t len, uint64_t off,
				uint32_t seed)
{
	uint8_t *p = buf;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		p[i] = pat_byte(off + i, seed);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = pat_word((off + i) >> 3, seed);

		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = pat_byte(off + i, seed);
}

/* Index of the first byte differing from the pattern, or -1. */
static inline int64_t pattern_find_mismatch(const void *buf, size_t len,
					    uint64_t off, uint32_t seed)
{
	const uint8_t *p = buf;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		if (p[i] != pat_byte(off + i, seed))
			return (int64_t)i;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = pat_word((off + i) >> 3, seed), got;

		memcpy(&got, p + i, 8);
		if (got != w)
			break;
	}
	for (; i < len; i++)
		if (p[i] != pat_byte(off + i, seed))
			return (int64_t)i;
	return -1;
}

static inline int64_t fill_find_mismatch(const void *buf, size_t len,
					 uint8_t c)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return (int64_t)i;
	return -1;
}

static inline int64_t mem_find_mismatch(const void *a, const void *b,
					size_t len)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	if (!memcmp(a, b, len))
		return -1;
	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (int64_t)i;
	return -1;
}

static inline void __pinio_check_pattern(__PINIO_ARGS, const char *what,
					 const void *buf, size_t len,
					 uint64_t off, uint32_t seed)
{
	int64_t m = pattern_find_mismatch(buf, len, off, seed);

	if (m < 0)
		return;
	__PINIO_FAIL("%s: first mismatch at byte %" PRId64 " of %zu (pattern "
		     "offset %" PRIu64 ", seed 0x%x): expected 0x%02x, got "
		     "0x%02x", what, m, len, off + m, seed,
		     pat_byte(off + m, seed), ((const uint8_t *)buf)[m]);
}

static inline void __pinio_check_filled(__PINIO_ARGS, const char *what,
					const void *buf, size_t len, uint8_t c)
{
	int64_t m = fill_find_mismatch(buf, len, c);

	if (m < 0)
		return;
	__PINIO_FAIL("%s: first mismatch at byte %" PRId64 " of %zu: "
		     "expected 0x%02x, got 0x%02x", what, m, len, c,
		     ((const uint8_t *)buf)[m]);
}

static inline void __pinio_check_memeq(__PINIO_ARGS, const char *what,
				       const void *want, const void *got,
				       size_t len)
{
	int64_t m = mem_find_mismatch(want, got, len);

	if (m < 0)
		return;
	__PINIO_FAIL("%s: first mismatch at byte %" PRId64 " of %zu: "
		     "expected 0x%02x, got 0x%02x", what, m, len,
		     ((const uint8_t *)want)[m], ((const uint8_t *)got)[m]);
}

/* Read the store through the buffered path and check it holds @seed. */
static inline void __pinio_check_dev_pattern(__PINIO_ARGS, int fd,
					     uint64_t dev_off, size_t len,
					     uint32_t seed)
{
	uint8_t *d = malloc(len ? len : 1);
	int ret;

	if (!d) {
		__PINIO_FAIL("out of memory");
		return;
	}
	ret = dev_pread_all(fd, d, len, dev_off);
	if (ret)
		__PINIO_FAIL("pread store [%" PRIu64 ", +%zu): %s", dev_off,
			     len, errname(-ret));
	else
		__pinio_check_pattern(_metadata, file, line, func, "store",
				      d, len, dev_off, seed);
	free(d);
}

/* buf[0..len) must hold pattern @seed at logical offset @off. */
#define ASSERT_PATTERN(buf, len, off, seed)				\
	__pinio_check_pattern(__PINIO_LOC, #buf, (buf), (len), (off),	\
			      (seed)); OPTIONAL_HANDLER(1)

/* buf[0..len) must be all @c. */
#define ASSERT_FILLED(buf, len, c)					\
	__pinio_check_filled(__PINIO_LOC, #buf, (buf), (len), (c)); OPTIONAL_HANDLER(1)

#define ASSERT_MEMEQ(want, got, len)					\
	__pinio_check_memeq(__PINIO_LOC, #got, (want), (got), (len)); OPTIONAL_HANDLER(1)

/* The store holds pattern @seed (logical offset = device offset). */
#define ASSERT_DEV_PATTERN(fd, dev_off, len, seed)			\
	__pinio_check_dev_pattern(__PINIO_LOC, (fd), (dev_off), (len),	\
				  (seed)); OPTIONAL_HANDLER(1)

/* Fill the store's [off, off + len) with pattern @seed, buffered path. */
static inline int seed_store(int fd, uint64_t off, size_t len, uint32_t seed)
{
	uint8_t *p = malloc(len);
	int ret;

	if (!p)
		return -ENOMEM;
	pattern_fill(p, len, off, seed);
	ret = dev_pwrite_all(fd, p, len, off);
	free(p);
	return ret;
}

/* --- memory-pin accounting and stats ------------------------------------ */

/* VmPin of @pid_path ("self" or a pid) in kB, or -errno. */
static inline long vmpin_kb_of(const char *pid)
{
	char path[64], line[256];
	long kb = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmPin:", 6)) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static inline long vmpin_kb(void)
{
	return vmpin_kb_of("self");
}

static inline int read_sysfs_u64(const char *path, uint64_t *val)
{
	char buf[64];
	ssize_t n;
	char *end;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	/* bool module parameters read back as Y / N */
	if (buf[0] == 'Y' || buf[0] == 'N') {
		*val = buf[0] == 'Y';
		return 0;
	}
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static inline int write_sysfs_str(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* One counter from /sys/class/misc/pinio/stats/, or -errno. */
static inline int64_t pinio_stat(const char *name)
{
	char path[128];
	uint64_t v = 0;
	int ret;

	snprintf(path, sizeof(path), PINIO_SYSFS_STATS "%s", name);
	ret = read_sysfs_u64(path, &v);
	return ret ? ret : (int64_t)v;
}

/* The four byte counters of the stats directory. */
struct byte_stats {
	int64_t dr, dw, br, bw;
};

static inline int byte_stats(struct byte_stats *s)
{
	s->dr = pinio_stat("direct_read_bytes");
	s->dw = pinio_stat("direct_write_bytes");
	s->br = pinio_stat("buffered_read_bytes");
	s->bw = pinio_stat("buffered_write_bytes");
	if (s->dr < 0 || s->dw < 0 || s->br < 0 || s->bw < 0)
		return -EIO;
	return 0;
}

/* Pin accounting snapshot: VmPin of this process and the live/total stats. */
struct pin_snap {
	long vmpin_kb;
	int64_t regions;
	int64_t pinned_pages;
	int64_t registrations;
	int64_t pinned_total;
};

static inline int pin_snap(struct pin_snap *s)
{
	s->vmpin_kb = vmpin_kb();
	s->regions = pinio_stat("regions");
	s->pinned_pages = pinio_stat("pinned_pages");
	s->registrations = pinio_stat("registrations");
	s->pinned_total = pinio_stat("pinned_pages_total");
	if (s->vmpin_kb < 0)
		return (int)s->vmpin_kb;
	if (s->regions < 0)
		return (int)s->regions;
	if (s->pinned_pages < 0)
		return (int)s->pinned_pages;
	if (s->registrations < 0)
		return (int)s->registrations;
	if (s->pinned_total < 0)
		return (int)s->pinned_total;
	return 0;
}

/*
 * The fixture of programs that need nothing but the device: /dev/pinio
 * open, its limits, the page size and the pin accounting at the start.
 */
#define PINIO_DEVICE_FIXTURE(name)					\
FIXTURE(name) {								\
	int fd;								\
	size_t ps;							\
	struct pinio_info info;						\
	struct pin_snap base;						\
};									\
									\
FIXTURE_SETUP(name)							\
{									\
	self->ps = page_size();						\
	self->fd = pinio_open();					\
	ASSERT_LE(0, self->fd)						\
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH,		\
		       errname(-self->fd));				\
	ASSERT_OK(pinio_get_info(self->fd, &self->info));		\
	ASSERT_OK(pin_snap(&self->base));				\
}									\
									\
FIXTURE_TEARDOWN(name)							\
{									\
	if (self->fd >= 0)						\
		close(self->fd);					\
}

enum pin_check {
	PIN_CHECK_LIVE,		/* regions, pinned_pages and our VmPin */
	PIN_CHECK_STATS,	/* regions and pinned_pages only */
	PIN_CHECK_TOTALS,	/* registrations and pinned_pages_total */
};

static inline void __pinio_check_pins(__PINIO_ARGS, const struct pin_snap *b,
				      int64_t d_regions, int64_t d_pages,
				      enum pin_check what)
{
	struct pin_snap n;
	int ret = pin_snap(&n);

	if (ret) {
		__PINIO_FAIL("reading pin accounting: %s", errname(-ret));
		return;
	}
	if (what == PIN_CHECK_TOTALS) {
		if (n.registrations != b->registrations + d_regions)
			__PINIO_FAIL("stat registrations: expected %" PRId64
				     ", got %" PRId64,
				     b->registrations + d_regions,
				     n.registrations);
		if (n.pinned_total != b->pinned_total + d_pages)
			__PINIO_FAIL("stat pinned_pages_total: expected %"
				     PRId64 ", got %" PRId64,
				     b->pinned_total + d_pages, n.pinned_total);
		return;
	}
	if (n.regions != b->regions + d_regions)
		__PINIO_FAIL("stat regions: expected %" PRId64 ", got %" PRId64,
			     b->regions + d_regions, n.regions);
	if (n.pinned_pages != b->pinned_pages + d_pages)
		__PINIO_FAIL("stat pinned_pages: expected %" PRId64 ", got %"
			     PRId64, b->pinned_pages + d_pages, n.pinned_pages);
	if (what == PIN_CHECK_LIVE &&
	    n.vmpin_kb != b->vmpin_kb + d_pages * (int64_t)page_size() / 1024)
		__PINIO_FAIL("VmPin: expected %" PRId64 " kB, got %ld kB",
			     b->vmpin_kb + d_pages * (int64_t)page_size() / 1024,
			     n.vmpin_kb);
}

/*
 * Live accounting now equals @base plus @d_regions registrations holding
 * @d_pages pages, charged to this process's VmPin.
 */
#define ASSERT_PINS(base, d_regions, d_pages)				\
	__pinio_check_pins(__PINIO_LOC, &(base), (d_regions), (d_pages),	\
			   PIN_CHECK_LIVE); OPTIONAL_HANDLER(1)

/* The same for the device-wide stats alone (charged to another process). */
#define ASSERT_PIN_STATS(base, d_regions, d_pages)			\
	__pinio_check_pins(__PINIO_LOC, &(base), (d_regions), (d_pages),	\
			   PIN_CHECK_STATS); OPTIONAL_HANDLER(1)

/* Totals (ever) moved by exactly @d_regs registrations of @d_pages pages. */
#define ASSERT_TOTALS(base, d_regs, d_pages)				\
	__pinio_check_pins(__PINIO_LOC, &(base), (d_regs), (d_pages),	\
			   PIN_CHECK_TOTALS); OPTIONAL_HANDLER(1)

static inline int pinio_param(const char *name, uint64_t *val)
{
	char path[128];

	snprintf(path, sizeof(path), PINIO_SYSFS_PARAMS "%s", name);
	return read_sysfs_u64(path, val);
}

static inline int pinio_set_bounce(int on)
{
	return write_sysfs_str(PINIO_SYSFS_PARAMS "bounce", on ? "1" : "0");
}

/* --- memory for registrations ------------------------------------------- */

enum tbuf_kind {
	TBUF_ANON,
	TBUF_THP,
	TBUF_MEMFD,
	TBUF_SHMEM,
	TBUF_HUGETLB,
	TBUF_FILE,
};

/* A mapping under test: @p / @len is the usable part of @base / @map_len. */
struct tbuf {
	void *base;
	size_t map_len;
	uint8_t *p;
	size_t len;
	int fd;
	enum tbuf_kind kind;
	char *path;		/* file to unlink when done */
};

static inline void tbuf_init(struct tbuf *b, enum tbuf_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->kind = kind;
}

static inline int tbuf_map(struct tbuf *b, size_t len, int prot, int flags,
			   int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	b->base = p;
	b->map_len = len;
	b->p = p;
	b->len = len;
	return 0;
}

/* Anonymous read-write memory of @kind, faulted in. */
static inline int tbuf_anon_kind(struct tbuf *b, enum tbuf_kind kind,
				 size_t len, int map_flags)
{
	int ret;

	tbuf_init(b, kind);
	ret = tbuf_map(b, len, PROT_READ | PROT_WRITE,
		       map_flags | MAP_ANONYMOUS, -1);
	if (!ret)
		memset(b->p, 0, len);
	return ret;
}

/* Private anonymous memory, faulted in. */
static inline int tbuf_anon(struct tbuf *b, size_t len)
{
	return tbuf_anon_kind(b, TBUF_ANON, len, MAP_PRIVATE);
}

/* MAP_SHARED | MAP_ANONYMOUS: shmem without a name. */
static inline int tbuf_shmem(struct tbuf *b, size_t len)
{
	return tbuf_anon_kind(b, TBUF_SHMEM, len, MAP_SHARED);
}

/* A memfd of @len bytes mapped MAP_SHARED read-write. */
static inline int tbuf_memfd(struct tbuf *b, size_t len)
{
	int ret;

	tbuf_init(b, TBUF_MEMFD);
	b->fd = memfd_create("pinio-test", MFD_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	if (ftruncate(b->fd, (off_t)len))
		ret = -errno;
	else
		ret = tbuf_map(b, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       b->fd);
	if (ret) {
		close(b->fd);
		b->fd = -1;
	}
	return ret;
}

/* MAP_HUGETLB of @len (a multiple of 2 MiB); -ENOMEM if none reserved. */
static inline int tbuf_hugetlb(struct tbuf *b, size_t len)
{
	int ret;

	tbuf_init(b, TBUF_HUGETLB);
	ret = tbuf_map(b, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1);
	if (!ret)
		memset(b->p, 0, len);
	return ret;
}

/* "always", "madvise" or "never" (the bracketed THP mode), or NULL. */
static inline const char *thp_mode(void)
{
	static char buf[128];
	char *s, *e;
	ssize_t n;
	int fd;

	fd = open(THP_ENABLED_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	s = strchr(buf, '[');
	e = s ? strchr(s, ']') : NULL;
	if (!e)
		return NULL;
	*e = 0;
	return s + 1;
}

/* AnonHugePages (kB) of the mapping containing @addr, from smaps; or -errno. */
static inline long anon_huge_kb(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	char line[512];
	bool in = false;
	long kb = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, "AnonHugePages:", 14)) {
			kb = strtol(line + 14, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/*
 * @len bytes (a multiple of 2 MiB) of 2 MiB-aligned anonymous memory asking
 * for transparent huge pages. -EOPNOTSUPP if THP is off.
 */
static inline int tbuf_thp(struct tbuf *b, size_t len)
{
	const char *mode = thp_mode();
	uintptr_t a;
	int ret;

	tbuf_init(b, TBUF_THP);
	if (!mode || !strcmp(mode, "never"))
		return -EOPNOTSUPP;
	ret = tbuf_map(b, len + HPAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (ret)
		return ret;
	a = ((uintptr_t)b->base + HPAGE_SIZE - 1) & ~(uintptr_t)(HPAGE_SIZE - 1);
	b->p = (uint8_t *)a;
	b->len = len;
	if (madvise(b->p, len, MADV_HUGEPAGE))
		return -errno;
	memset(b->p, 0, len);
	return 0;
}

/*
 * A file of @len bytes in @dir, mapped MAP_SHARED with @prot. It is unlinked
 * only by tbuf_free(): 9p's path-based servers lose unlinked open files.
 */
static inline int tbuf_file(struct tbuf *b, const char *dir, size_t len,
			    int prot)
{
	int ret;

	tbuf_init(b, TBUF_FILE);
	if (asprintf(&b->path, "%s/pinio-test.%d", dir, getpid()) < 0) {
		b->path = NULL;
		return -ENOMEM;
	}
	b->fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (b->fd < 0)
		return -errno;
	if (ftruncate(b->fd, (off_t)len))
		ret = -errno;
	else
		ret = tbuf_map(b, len, prot, MAP_SHARED, b->fd);
	return ret;
}

static inline void tbuf_free(struct tbuf *b)
{
	if (b->base)
		munmap(b->base, b->map_len);
	if (b->fd >= 0)
		close(b->fd);
	if (b->path) {
		unlink(b->path);
		free(b->path);
	}
	b->base = NULL;
	b->fd = -1;
	b->path = NULL;
}

/* An address range of @len bytes that is certainly not mapped. */
static inline void *unmapped_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

/* --- forked children ---------------------------------------------------- */

/* In a forked child: report and exit 1 unless @cond holds. */
#define CHILD_CHECK(cond, fmt, ...) do {				\
	if (!(cond)) {							\
		fprintf(stderr, "# child %d %s:%d: (%s) " fmt "\n",	\
			getpid(), __FILE__, __LINE__, #cond,		\
			##__VA_ARGS__);					\
		fflush(stderr);						\
		_exit(1);						\
	}								\
} while (0)

/* Exit status of @pid, or 128 + signal if it was killed, or -errno. */
static inline int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Clear @cap from this thread's effective and permitted sets. */
static inline int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static inline int has_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	return !!(data[cap / 32].effective & (1U << (cap % 32)));
}

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * From here on, test bodies: ASSERT_EQ(0, some_u64) compares mixed types by
 * design (the harness prints each side with its own signedness).
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
/*
 * The harness longjmp()s out of a failed ASSERT and never looks at the
 * test's locals again, so "might be clobbered" is a false positive there.
 */
#pragma GCC diagnostic ignored "-Wclobbered"

#endif /* PINIO_TEST_UTIL_H */
