// SPDX-License-Identifier: GPL-2.0
/*
 * pinio under fault injection: slab and page allocation failures (failslab,
 * fail_page_alloc), user-copy failures (fail_usercopy) and, where the
 * kernel allows, fail_function, aimed at pinio's own code paths: the
 * debugfs stack-trace filter (require-start/require-end) is set to pinio's
 * text, so only allocations and copies made on pinio's behalf can fail.
 *
 * Two modes:
 *  - systematic: /proc/thread-self/fail-nth fails the 1st, 2nd, 3rd, ...
 *    fault site of one call (open, every ioctl, the pin path over
 *    never-touched anonymous, THP, memfd and hugetlb memory, buffered
 *    I/O, io_uring, mmap, the debugfs kcopy), until a run completes without
 *    reaching the injected site;
 *  - random: a child with make-it-fail set and the task-filter on (so no
 *    other process can fail) runs a random mix with probability, interval
 *    and times set, then everything is torn down.
 *
 * Every injected failure must surface as a documented errno (or be
 * absorbed, e.g. io_uring's workqueue allocation falls back to running
 * inline) and leave nothing pinned or charged: stats, VmPin, FOLL_PIN
 * counters. Kernels without the knobs (Debian's) SKIP.
 *
 * The kernel log between "pinio-fault: begin" and "pinio-fault: end" may
 * hold allocation-failure stack dumps (vmalloc's warn_alloc); the runner
 * ignores those "Call Trace" lines there, and nothing else.
 */
#include <dirent.h>
#include <sys/mount.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"

#define DBG		"/sys/kernel/debug/"
#define MAX_NTH		4096

static const char *const attrs[] = {
	"failslab", "fail_page_alloc", "fail_usercopy", "fail_function",
	"fail_futex", "fail_make_request", "fail_io_timeout",
};

static int dbg_write(const char *attr, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), DBG "%s/%s", attr, file);
	return write_sysfs_str(path, val);
}

static bool dbg_exists(const char *attr)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), DBG "%s", attr);
	return !stat(path, &st);
}

/* [lo, hi) around pinio's text, from /proc/kallsyms; 0 if not found. */
static int pinio_text_range(uint64_t *lo, uint64_t *hi)
{
	char line[512], type, name[256], mod[64];
	unsigned long long a;
	FILE *f = fopen("/proc/kallsyms", "re");

	*lo = UINT64_MAX;
	*hi = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s [%63[^]]]", &a, &type, name,
			   mod) != 4)
			continue;
		if (strcmp(mod, "pinio") || (type != 't' && type != 'T') || !a)
			continue;
		if (a < *lo)
			*lo = a;
		if (a > *hi)
			*hi = a;
	}
	fclose(f);
	if (*lo == UINT64_MAX)
		return -ENOENT;
	*hi += 0x4000;	/* the last function, with KASAN's padding */
	return 0;
}

FIXTURE(fault) {
	int fd;
	int nth_fd;
	size_t ps;
	uint64_t dev_size;
	struct pin_snap base;
	int64_t pins0;
	bool have_slab, have_page, have_usercopy, have_function;
};

static void attrs_reset(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		if (!dbg_exists(attrs[i]))
			continue;
		dbg_write(attrs[i], "probability", "0");
		dbg_write(attrs[i], "interval", "1");
		dbg_write(attrs[i], "times", "-1");
		dbg_write(attrs[i], "task-filter", "N");
		dbg_write(attrs[i], "require-start", "0");
		dbg_write(attrs[i], "require-end", "18446744073709551615");
	}
	if (dbg_exists("fail_function"))
		dbg_write("fail_function", "inject", "\n");
}

FIXTURE_SETUP(fault)
{
	struct pinio_info info;
	char lo_s[32], hi_s[32];
	uint64_t lo, hi;
	size_t i;
	int ret;

	self->ps = page_size();
	self->fd = -1;
	self->nth_fd = -1;
	if (!dbg_exists("") && mount("debugfs", DBG, "debugfs", 0, NULL))
		SKIP(return, "no debugfs");
	self->have_slab = dbg_exists("failslab");
	self->have_page = dbg_exists("fail_page_alloc");
	self->have_usercopy = dbg_exists("fail_usercopy");
	self->have_function = dbg_exists("fail_function");
	self->nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (!self->have_slab || !self->have_page || self->nth_fd < 0)
		SKIP(return, "kernel without fault injection (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)");

	self->fd = pinio_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(pinio_get_info(self->fd, &info));
	self->dev_size = info.dev_size;
	ret = pinio_text_range(&lo, &hi);
	ASSERT_OK(ret) TH_LOG("pinio's text in /proc/kallsyms: %s",
			      errname(-ret));
	snprintf(lo_s, sizeof(lo_s), "%" PRIu64, lo);
	snprintf(hi_s, sizeof(hi_s), "%" PRIu64, hi);

	/* Only pinio's calls fail, silently, whatever their gfp flags. */
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		if (!dbg_exists(attrs[i]))
			continue;
		ASSERT_OK(dbg_write(attrs[i], "probability", "0"));
		dbg_write(attrs[i], "verbose", "0");
		dbg_write(attrs[i], "space", "0");
		dbg_write(attrs[i], "stacktrace-depth", "32");
		if (dbg_write(attrs[i], "require-start", lo_s) ||
		    dbg_write(attrs[i], "require-end", hi_s))
			TH_LOG("%s: no stack-trace filter: other code paths may fail too",
			       attrs[i]);
	}
	ASSERT_OK(dbg_write("failslab", "ignore-gfp-wait", "N"));
	dbg_write("failslab", "cache-filter", "N");
	ASSERT_OK(dbg_write("fail_page_alloc", "ignore-gfp-wait", "N"));
	ASSERT_OK(dbg_write("fail_page_alloc", "ignore-gfp-highmem", "N"));
	ASSERT_OK(dbg_write("fail_page_alloc", "min-order", "0"));

	ASSERT_OK(pin_snap(&self->base));
	self->pins0 = foll_pins_baseline();
	kmsg("pinio-fault: begin\n");
}

FIXTURE_TEARDOWN(fault)
{
	if (self->nth_fd >= 0) {
		if (pwrite(self->nth_fd, "0", 1, 0) < 0) {
			/* nothing armed */
		}
		close(self->nth_fd);
	}
	if (self->fd >= 0)
		close(self->fd);
	if (self->have_slab)
		attrs_reset();
	kmsg("pinio-fault: end\n");
}

/* Arm: the @n-th fault site this thread reaches fails. */
static void nth_arm(FIXTURE_DATA(fault) *self, unsigned int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%u", n);

	if (pwrite(self->nth_fd, s, len, 0) != len)
		abort();
}

/* Disarm; true if the failure was injected (the counter ran out). */
static bool nth_fired(FIXTURE_DATA(fault) *self)
{
	char s[16] = { 0 };
	bool fired;

	if (pread(self->nth_fd, s, sizeof(s) - 1, 0) <= 0)
		abort();
	fired = atoi(s) == 0;
	if (pwrite(self->nth_fd, "0", 1, 0) != 1)
		abort();
	return fired;
}

/* After a failed call: nothing left pinned or charged. */
static void __check_clean(struct __test_metadata *_metadata,
			  FIXTURE_DATA(fault) *self, const char *what,
			  unsigned int n, int d_regions, int d_pages)
{
	struct pin_snap now;
	int64_t pins = foll_pins_outstanding();

	ASSERT_OK(pin_snap(&now));
	if (now.regions != self->base.regions + d_regions ||
	    now.pinned_pages != self->base.pinned_pages + d_pages ||
	    now.vmpin_kb != self->base.vmpin_kb +
			    d_pages * (int64_t)self->ps / 1024 ||
	    (d_pages == 0 && pins != self->pins0)) {
		TH_LOG("%s, fault site %u: regions %" PRId64 " (want %" PRId64
		       "), pinned_pages %" PRId64 " (want %" PRId64
		       "), VmPin %ld kB (want %" PRId64 "), FOLL_PIN outstanding %"
		       PRId64 " (want %" PRId64 ")", what, n, now.regions,
		       self->base.regions + d_regions, now.pinned_pages,
		       self->base.pinned_pages + d_pages, now.vmpin_kb,
		       self->base.vmpin_kb + d_pages * (int64_t)self->ps / 1024,
		       pins, self->pins0);
		ASSERT_TRUE(0);
	}
}

#define CHECK_CLEAN(what, n, dr, dp)					\
	do {								\
		__check_clean(_metadata, self, (what), (n), (dr), (dp));	\
		if (_metadata->exit_code)				\
			return;						\
	} while (0)

static void __check_errno(struct __test_metadata *_metadata,
			  const char *what, unsigned int n, long ret,
			  const int *set)
{
	if (ret >= 0 || errno_in((int)-ret, set))
		return;
	TH_LOG("%s, fault site %u: %s is not a documented errno", what, n,
	       errname((int)-ret));
	ASSERT_TRUE(0);
}

#define CHECK_ERRNO(what, n, ret, set)					\
	do {								\
		__check_errno(_metadata, (what), (n), (ret), (set));	\
		if (_metadata->exit_code)				\
			return;						\
	} while (0)

/*
 * What each injected run returned, one letter per fault site, and how many
 * sites fired and how many of them surfaced as errors; done_msg() reports
 * and resets them.
 */
static char trace[200];
static unsigned int ntrace, nsites, nerrors;

/* Record a run whose fault fired: it returned @ret (>= 0, or -errno). */
static void note(long ret)
{
	char c;

	nsites++;
	nerrors += ret < 0;
	switch (ret >= 0 ? 0 : (int)-ret) {
	case 0: c = '.'; break;		/* absorbed: the call succeeded */
	case ENOMEM: c = 'M'; break;
	case EFAULT: c = 'F'; break;
	case EINVAL: c = 'I'; break;
	case EINTR: c = 'R'; break;
	default: c = '?'; break;
	}
	if (ntrace < sizeof(trace) - 1)
		trace[ntrace++] = c;
	trace[ntrace] = 0;
}

static void done_msg(const char *what)
{
	printf("# %s: %u fault sites failed in turn, %u surfaced as errors "
	       "(M ENOMEM, F EFAULT), the rest absorbed (.): %s\n", what,
	       nsites, nerrors, trace);
	fflush(stdout);
	ntrace = nsites = nerrors = 0;
	trace[0] = 0;
}

/* Memory for a registration: @kind 0 anon, 1 THP, 2 memfd, 3 hugetlb. */
static int map_untouched(struct tbuf *b, int kind, size_t len, size_t ps)
{
	uintptr_t a;
	int ret;

	switch (kind) {
	case 1:
		if (!thp_mode() || !strcmp(thp_mode(), "never"))
			return -EOPNOTSUPP;
		tbuf_init(b, TBUF_THP);
		ret = tbuf_map(b, len + HPAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1);
		if (ret)
			return ret;
		a = ((uintptr_t)b->base + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1);
		b->p = (uint8_t *)a;
		b->len = len;
		return madvise(b->p, len, MADV_HUGEPAGE) ? -errno : 0;
	case 2:
		tbuf_init(b, TBUF_MEMFD);
		b->fd = memfd_create("pinio-fault", MFD_CLOEXEC);
		if (b->fd < 0)
			return -errno;
		if (ftruncate(b->fd, (off_t)len))
			return -errno;
		return tbuf_map(b, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				b->fd);
	case 3:
		tbuf_init(b, TBUF_HUGETLB);
		return tbuf_map(b, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1);
	default:
		(void)ps;
		tbuf_init(b, TBUF_ANON);
		return tbuf_map(b, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1);
	}
}

/*
 * REGISTER with every fault site of the call failing in turn: its own
 * allocations, the user copies, and, over never-touched memory, every page
 * and page-table allocation of the pin path's faults. @touch pages are
 * faulted in first (so the interesting part is the tail).
 */
static void register_nth(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fault) *self, const char *what,
			 int kind, size_t len, size_t touch, uint32_t flags)
{
	static const int errs[] = PINIO_ERRS_REGISTER;
	unsigned int n;
	uint64_t pages = len / self->ps;
	struct tbuf b;
	uint32_t h;
	int ret;

	for (n = 1; n < MAX_NTH; n++) {
		ret = map_untouched(&b, kind, len, self->ps);
		if (ret == -EOPNOTSUPP || (kind == 3 && ret == -ENOMEM)) {
			tbuf_free(&b);
			printf("# %s: skipped (%s)\n", what, errname(-ret));
			return;
		}
		ASSERT_OK(ret);
		if (touch)
			memset(b.p, 1, touch);
		h = 0;
		nth_arm(self, n);
		ret = pinio_register(self->fd, b.p, len, flags, &h);
		if (!nth_fired(self)) {
			/* Past the last site: the plain call works. */
			ASSERT_OK(ret) TH_LOG("%s without a fault", what);
			CHECK_CLEAN(what, n, 1, (int)pages);
			ASSERT_OK(pinio_unregister(self->fd, h));
			CHECK_CLEAN(what, n, 0, 0);
			tbuf_free(&b);
			break;
		}
		note(ret);
		CHECK_ERRNO(what, n, ret, errs);
		if (ret) {
			CHECK_CLEAN(what, n, 0, 0);
		} else {
			/* Absorbed (GUP retried, vmalloc fell back): fine. */
			CHECK_CLEAN(what, n, 1, (int)pages);
			ASSERT_OK(pinio_unregister(self->fd, h));
			CHECK_CLEAN(what, n, 0, 0);
		}
		tbuf_free(&b);
		/* Past the interesting start, sample every 7th site. */
		if (n >= 48 && n % 7)
			n += 6 - n % 7;
	}
	ASSERT_LT(n, MAX_NTH);
	done_msg(what);
}

/* The pin path: its own allocations and every fault-in allocation. */
TEST_F_TIMEOUT(fault, register_anon, 1200)
{
	register_nth(_metadata, self, "REGISTER 3 touched pages", 0,
		     3 * self->ps, 3 * self->ps, PINIO_REG_BIDIR);
	register_nth(_metadata, self, "REGISTER 8 never-touched pages writable",
		     0, 8 * self->ps, 0, PINIO_REG_DEV_TO_USER);
	register_nth(_metadata, self, "REGISTER 8 never-touched pages read-only",
		     0, 8 * self->ps, 0, PINIO_REG_USER_TO_DEV);
	/* The second pin_user_pages_fast() batch fails: 1024 to unpin. */
	register_nth(_metadata, self, "REGISTER 1030 pages, tail untouched", 0,
		     1030 * self->ps, 1024 * self->ps, PINIO_REG_BIDIR);
}

TEST_F_TIMEOUT(fault, register_thp_memfd_hugetlb, 1200)
{
	register_nth(_metadata, self, "REGISTER never-touched THP", 1,
		     HPAGE_SIZE, 0, PINIO_REG_BIDIR);
	register_nth(_metadata, self, "REGISTER never-touched memfd", 2,
		     16 * self->ps, 0, PINIO_REG_BIDIR);
	register_nth(_metadata, self, "REGISTER never-touched hugetlb", 3,
		     HPAGE_SIZE, 0, PINIO_REG_BIDIR);
}

/* open(): the per-file state and, with bounce=1, the bounce buffer. */
TEST_F(fault, open_and_bounce)
{
	static const int errs[] = PINIO_ERRS_OPEN;
	unsigned int n;
	uint64_t old = 0;
	int bounce, fd;

	ASSERT_OK(pinio_param("bounce", &old));
	for (bounce = 0; bounce <= 1; bounce++) {
		ASSERT_OK(pinio_set_bounce(bounce));
		for (n = 1; n < MAX_NTH; n++) {
			nth_arm(self, n);
			fd = open(PINIO_DEVICE_PATH, O_RDWR | O_CLOEXEC);
			fd = fd < 0 ? -errno : fd;
			if (!nth_fired(self)) {
				ASSERT_LE(0, fd);
				close(fd);
				break;
			}
			note(fd);
			CHECK_ERRNO("open", n, fd, errs);
			if (fd >= 0)
				close(fd);
		}
	}
	ASSERT_OK(pinio_set_bounce((int)old));
	CHECK_CLEAN("open", n, 0, 0);
	done_msg("open (bounce 0 and 1)");
}

/* UNREGISTER, READ, WRITE, INFO: only their user copies can fail. */
TEST_F(fault, small_ioctls)
{
	unsigned int n;
	size_t ps = self->ps;
	struct pinio_info info;
	struct tbuf b;
	uint8_t *chk;
	uint32_t h = 0;
	int ret;

	ASSERT_OK(tbuf_anon(&b, 4 * ps));
	chk = malloc(4 * ps);
	ASSERT_NE(NULL, chk);
	ASSERT_OK(pinio_register(self->fd, b.p, 4 * ps, PINIO_REG_BIDIR, &h));

	for (n = 1; n < 64; n++) {	/* WRITE: nothing moves on failure */
		pattern_fill(chk, 4 * ps, 0, 0xf00 + n);
		ASSERT_OK(dev_pwrite_all(self->fd, chk, 4 * ps, 0));
		pattern_fill(b.p, 4 * ps, 0, 0xe00 + n);
		nth_arm(self, n);
		ret = pinio_write(self->fd, h, 0, 0, 4 * ps);
		if (!nth_fired(self)) {
			ASSERT_OK(ret);
			ASSERT_DEV_PATTERN(self->fd, 0, 4 * ps, 0xe00 + n);
			break;
		}
		note(ret);
		CHECK_ERRNO("WRITE", n, ret, ((const int[])PINIO_ERRS_XFER));
		if (ret)
			ASSERT_DEV_PATTERN(self->fd, 0, 4 * ps, 0xf00 + n);
	}
	for (n = 1; n < 64; n++) {
		memset(b.p, 0, 4 * ps);
		nth_arm(self, n);
		ret = pinio_read(self->fd, h, 0, 0, 4 * ps);
		if (!nth_fired(self)) {
			ASSERT_OK(ret);
			break;
		}
		note(ret);
		CHECK_ERRNO("READ", n, ret, ((const int[])PINIO_ERRS_XFER));
		if (ret)
			ASSERT_FILLED(b.p, 4 * ps, 0);
	}
	for (n = 1; n < 64; n++) {
		nth_arm(self, n);
		ret = pinio_get_info(self->fd, &info);
		if (!nth_fired(self)) {
			ASSERT_OK(ret);
			break;
		}
		note(ret);
		CHECK_ERRNO("INFO", n, ret, ((const int[])PINIO_ERRS_INFO));
	}
	for (n = 1; n < 64; n++) {
		nth_arm(self, n);
		ret = pinio_unregister(self->fd, h);
		if (!nth_fired(self)) {
			ASSERT_OK(ret);
			break;
		}
		note(ret);
		CHECK_ERRNO("UNREGISTER", n, ret,
			    ((const int[])PINIO_ERRS_UNREGISTER));
		/* A failed UNREGISTER left the registration alone. */
		if (!ret)
			break;
		ASSERT_OK(pinio_read(self->fd, h, 0, 0, ps));
	}
	CHECK_CLEAN("small ioctls", n, 0, 0);
	tbuf_free(&b);
	free(chk);
	done_msg("WRITE, READ, INFO, UNREGISTER");
}

/* BATCH: the struct copy, the segment array (memdup_user), completed. */
TEST_F(fault, batch)
{
	static const int errs[] = PINIO_ERRS_BATCH;
	unsigned int n, i;
	struct pinio_xfer segs[300];
	size_t ps = self->ps;
	uint32_t h = 0, done;
	struct tbuf b;
	int ret;

	ASSERT_OK(tbuf_anon(&b, 2 * ps));
	ASSERT_OK(pinio_register(self->fd, b.p, 2 * ps, PINIO_REG_BIDIR, &h));
	/* 300 segments: the array needs more than a page (kmalloc). */
	for (i = 0; i < ARRAY_SIZE(segs); i++)
		segs[i] = pinio_seg(h, i % 2 ? PINIO_OP_READ : PINIO_OP_WRITE,
				    i % ps, 4 * ps + i, 64);
	for (n = 1; n < 64; n++) {
		nth_arm(self, n);
		ret = pinio_batch(self->fd, segs, ARRAY_SIZE(segs), &done);
		if (!nth_fired(self)) {
			ASSERT_OK(ret);
			ASSERT_EQ(ARRAY_SIZE(segs), done);
			break;
		}
		note(ret);
		CHECK_ERRNO("BATCH", n, ret, errs);
	}
	ASSERT_OK(pinio_unregister(self->fd, h));
	CHECK_CLEAN("BATCH", n, 0, 0);
	tbuf_free(&b);
	done_msg("BATCH of 300");
}

/* Buffered read/write, direct and bounced: short counts or EFAULT. */
TEST_F(fault, buffered)
{
	static const int errs[] = PINIO_ERRS_BUFFERED;
	unsigned int n;
	size_t len = 600 * KiB;
	uint64_t old = 0;
	uint8_t *buf;
	int bounce, fd, w;
	long ret;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5c, len);
	ASSERT_OK(pinio_param("bounce", &old));
	for (bounce = 0; bounce <= 1; bounce++) {
		ASSERT_OK(pinio_set_bounce(bounce));
		fd = pinio_open();
		ASSERT_LE(0, fd);
		for (w = 0; w <= 1; w++) {
			for (n = 1; n < 64; n++) {
				nth_arm(self, n);
				ret = sys_ret(w ? pwrite(fd, buf, len, 12345) :
						  pread(fd, buf, len, 12345));
				if (!nth_fired(self)) {
					ASSERT_EQ((long)len, ret);
					break;
				}
				note(ret);
				CHECK_ERRNO(w ? "pwrite" : "pread", n, ret, errs);
				ASSERT_GE((long)len, ret);
			}
		}
		close(fd);
	}
	ASSERT_OK(pinio_set_bounce((int)old));
	free(buf);
	CHECK_CLEAN("buffered", n, 0, 0);
	done_msg("pread/pwrite (bounce 0 and 1)");
}

/* READs of @len through @r, the n-th fault site failing for n = 1, 2, ... */
static void uring_nth(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fault) *self, struct hring *r, uint32_t h,
		      void *buf, size_t len, bool fixed)
{
	static const int errs[] = PINIO_ERRS_URING;
	unsigned int n;
	int ret;

	for (n = 1; n < 64; n++) {
		struct pinio_uring_cmd c = {
			.handle = fixed ? 0 : h,
			.addr = fixed ? (uintptr_t)buf : 0,
			.dev_offset = 8192, .len = len,
		};

		nth_arm(self, n);
		ret = hring_cmd1(r, self->fd, PINIO_URING_CMD_READ, &c,
				 fixed ? IORING_URING_CMD_FIXED : 0, 0);
		if (!nth_fired(self)) {
			ASSERT_EQ((int)len, ret);
			return;
		}
		note(ret);
		CHECK_ERRNO("uring_cmd", n, ret, errs);
		/* The work item is optional: never an error. */
		ASSERT_EQ((int)len, ret);
	}
}

/*
 * io_uring, inline and on the workqueue (uring_async_min=1): when the work
 * item's allocation fails the command must run inline instead, so every
 * run still completes.
 */
TEST_F(fault, uring_cmd)
{
	size_t len = 512 * KiB;
	char path[] = PINIO_SYSFS_PARAMS "uring_async_min", v[32];
	struct hring r;
	struct iovec iov;
	struct tbuf b;
	uint32_t h = 0;
	uint64_t old = 0;
	int ret, async, fixed;
	bool knob;

	knob = !pinio_param("uring_async_min", &old);
	ret = hring_init(&r, 8, IORING_SETUP_SQE128);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "no io_uring");
	ASSERT_OK(ret);
	ASSERT_OK(tbuf_anon(&b, len));
	iov.iov_base = b.p;
	iov.iov_len = len;
	ASSERT_OK(hring_register_buffers(&r, &iov, 1));
	ASSERT_OK(pinio_register(self->fd, b.p, len, PINIO_REG_BIDIR, &h));
	for (async = 0; async <= (knob ? 1 : 0); async++) {
		if (knob)
			ASSERT_OK(write_sysfs_str(path, async ? "1" : "0"));
		for (fixed = 0; fixed <= 1; fixed++) {
			uring_nth(_metadata, self, &r, h, b.p, len, fixed);
			if (_metadata->exit_code)
				break;
		}
	}
	if (knob) {
		snprintf(v, sizeof(v), "%" PRIu64, old);
		ASSERT_OK(write_sysfs_str(path, v));
	}
	ASSERT_EQ(0, _metadata->exit_code);
	ASSERT_OK(pinio_unregister(self->fd, h));
	hring_exit(&r);
	tbuf_free(&b);
	ASSERT_TRUE(({
		double t = now_sec() + 10;
		struct pin_snap s;

		while ((pin_snap(&s) || s.vmpin_kb != self->base.vmpin_kb) &&
		       now_sec() < t)
			usleep(50000);
		s.vmpin_kb == self->base.vmpin_kb;
	}));
	done_msg("uring_cmd, handle and fixed, inline and workqueue");
}

/* mmap of the store, on demand and prefaulted. */
TEST_F(fault, mmap_store)
{
	static const int errs[] = PINIO_ERRS_MMAP;
	unsigned int n;
	size_t len = 64 * self->ps;
	char path[] = PINIO_SYSFS_PARAMS "mmap_prefault";
	uint64_t old = 0;
	int pre;
	void *p;

	if (pinio_param("mmap_prefault", &old))
		SKIP(return, "no mmap_prefault parameter");
	for (pre = 0; pre <= 1; pre++) {
		ASSERT_OK(write_sysfs_str(path, pre ? "1" : "0"));
		for (n = 1; n < 256; n++) {
			long ret;

			nth_arm(self, n);
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 self->fd, 0);
			ret = p == MAP_FAILED ? -errno : 0;
			if (p != MAP_FAILED)
				((volatile uint8_t *)p)[len - 1] = 1;
			if (!nth_fired(self)) {
				ASSERT_OK(ret);
				munmap(p, len);
				break;
			}
			note(ret);
			CHECK_ERRNO("mmap", n, ret, errs);
			if (p != MAP_FAILED)
				munmap(p, len);
		}
	}
	ASSERT_OK(write_sysfs_str(path, old ? "1" : "0"));
	done_msg("mmap (on demand, prefault)");
}

/* The debugfs kcopy trigger: its per-open result and its vmalloc. */
TEST_F(fault, debugfs_kcopy)
{
	static const int errs[] = { ENOMEM, EFAULT, EINTR, 0 };
	unsigned int n;
	const char *cmd = "read 65536 2";
	long ret;
	int fd;

	if (access(DBG "pinio/kcopy", W_OK))
		SKIP(return, "no " DBG "pinio/kcopy");
	for (n = 1; n < 256; n++) {
		nth_arm(self, n);
		fd = open(DBG "pinio/kcopy", O_RDWR | O_CLOEXEC);
		ret = fd < 0 ? -errno : 0;
		if (fd >= 0) {
			ret = sys_ret(write(fd, cmd, strlen(cmd)));
			close(fd);
		}
		if (!nth_fired(self)) {
			ASSERT_EQ((long)strlen(cmd), ret);
			break;
		}
		note(ret);
		CHECK_ERRNO("kcopy", n, ret, errs);
	}
	done_msg("debugfs kcopy");
}

/* Is the kprobe on @func an ftrace one (its handler runs in task context)? */
static bool kprobe_on_ftrace(const char *func)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen(DBG "kprobes/list", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, func) && strstr(line, "[FTRACE]"))
			yes = true;
	fclose(f);
	return yes;
}

/*
 * fail_function. pin_user_pages_fast() is not on the kernel's error
 * injection list (in 6.12 mm/ offers only should_failslab,
 * should_fail_alloc_page and __filemap_add_folio), so fail the page
 * allocator's hook through it, for this task only and only under pinio's
 * code: registering never-touched memory fails in the pin path's faults
 * (or in pinio's own allocations), cleanly. The kprobe must be an ftrace
 * one: an int3 kprobe runs the handler in NMI context, where the task
 * filter sees no task and the probability check takes the crng lock.
 */
TEST_F(fault, fail_function_pin_path)
{
	static const int errs[] = PINIO_ERRS_REGISTER;
	struct tbuf b;
	uint32_t h;
	int ret, fails = 0, i;

	if (!self->have_function)
		SKIP(return, "no fail_function (CONFIG_FAIL_FUNCTION)");
	if (dbg_write("fail_function", "inject", "should_fail_alloc_page"))
		SKIP(return, "should_fail_alloc_page is not injectable here");
	if (!kprobe_on_ftrace("should_fail_alloc_page")) {
		dbg_write("fail_function", "inject", "\n");
		SKIP(return, "kprobes are not on ftrace (CONFIG_KPROBES_ON_FTRACE)");
	}
	ASSERT_OK(dbg_write("fail_function", "should_fail_alloc_page/retval",
			    "1"));
	ASSERT_OK(dbg_write("fail_function", "task-filter", "Y"));
	ASSERT_OK(dbg_write("fail_function", "interval", "1"));
	ASSERT_OK(dbg_write("fail_function", "probability", "100"));
	/*
	 * Every page allocation of the call fails, not only the first: the
	 * first can be one with a fallback that absorbs the failure (seen
	 * here: kmemleak's object cache growing a slab inside the ioctl's
	 * kmalloc), so with "times 1" whether anything failed at all
	 * depended on the allocators' history.
	 */
	ASSERT_OK(dbg_write("fail_function", "times", "-1"));
	for (i = 0; i < 8; i++) {
		ASSERT_OK(map_untouched(&b, 0, 32 * self->ps, self->ps));
		/* The first i * 4 pages are there: later faults fail. */
		if (i)
			memset(b.p, 1, i * 4 * self->ps);
		ASSERT_OK(write_sysfs_str("/proc/self/make-it-fail", "1"));
		ret = pinio_register(self->fd, b.p, 32 * self->ps,
				     PINIO_REG_BIDIR, &h);
		ASSERT_OK(write_sysfs_str("/proc/self/make-it-fail", "0"));
		note(ret);
		CHECK_ERRNO("REGISTER (fail_function)", (unsigned int)i, ret,
			    errs);
		if (ret) {
			fails++;
			CHECK_CLEAN("REGISTER (fail_function)", (unsigned int)i,
				    0, 0);
		} else {
			ASSERT_OK(pinio_unregister(self->fd, h));
		}
		tbuf_free(&b);
	}
	dbg_write("fail_function", "inject", "\n");
	ASSERT_LT(0, fails);
	done_msg("fail_function on should_fail_alloc_page, REGISTER");
}

/* --- random failures in a child: probability, interval, times ------------- */

struct mix_stats {
	unsigned long calls, errors, ok;
};

static bool mix_check(struct mix_stats *st, const char *what, long ret,
		      const int *set)
{
	st->calls++;
	if (ret >= 0) {
		st->ok++;
		return true;
	}
	st->errors++;
	if (errno_in((int)-ret, set))
		return true;
	fprintf(stderr, "# random mix: %s: undocumented %s\n", what,
		errname((int)-ret));
	return false;
}

/* The child: make-it-fail on, a random mix, everything closed at the end. */
static int random_mix(uint64_t seed, unsigned int iters, int statfd)
{
	static const int reg_errs[] = PINIO_ERRS_REGISTER;
	static const int x_errs[] = PINIO_ERRS_XFER;
	static const int b_errs[] = PINIO_ERRS_BATCH;
	static const int u_errs[] = PINIO_ERRS_UNREGISTER;
	static const int o_errs[] = PINIO_ERRS_OPEN;
	static const int io_errs[] = PINIO_ERRS_BUFFERED;
	static const int ur_errs[] = PINIO_ERRS_URING;
	size_t ps = page_size();
	struct mix_stats st = { 0 };
	struct tbuf bufs[8] = { 0 };
	uint32_t handles[8] = { 0 };
	uint64_t rnd = seed;
	struct hring r;
	bool ring;
	unsigned int i;
	int fd, k;

	for (k = 0; k < 8; k++)
		bufs[k].fd = -1;
	ring = !hring_init(&r, 8, IORING_SETUP_SQE128);
	fd = pinio_open();
	if (fd < 0)
		return 1;
	if (write_sysfs_str("/proc/self/make-it-fail", "1"))
		return 1;
	for (i = 0; i < iters; i++) {
		unsigned int a = (unsigned int)rnd_below(&rnd, 100);
		long ret;

		k = (int)rnd_below(&rnd, 8);
		if (a < 30) {
			size_t len = ps * (1 + rnd_below(&rnd, 64));

			if (handles[k]) {
				if (!mix_check(&st, "UNREGISTER",
					       pinio_unregister(fd, handles[k]),
					       u_errs))
					return 1;
				handles[k] = 0;
			}
			tbuf_free(&bufs[k]);
			if (map_untouched(&bufs[k], (int)rnd_below(&rnd, 3) == 2 ?
					  2 : 0, len, ps))
				continue;
			if (rnd_pct(&rnd, 50))
				memset(bufs[k].p, 1, len / 2);
			ret = pinio_register(fd, bufs[k].p, len,
					     1 + (uint32_t)rnd_below(&rnd, 3),
					     &handles[k]);
			if (!mix_check(&st, "REGISTER", ret, reg_errs))
				return 1;
			if (ret)
				handles[k] = 0;
		} else if (a < 55 && handles[k]) {
			ret = rnd_pct(&rnd, 50) ?
			      pinio_read(fd, handles[k], 0, ps * k, ps) :
			      pinio_write(fd, handles[k], 0, ps * k, ps);
			if (ret != -EACCES &&
			    !mix_check(&st, "READ/WRITE", ret, x_errs))
				return 1;
		} else if (a < 65 && handles[k]) {
			struct pinio_xfer segs[40];
			unsigned int j;

			for (j = 0; j < 40; j++)
				segs[j] = pinio_seg(handles[k], PINIO_OP_WRITE,
						    0, j * 64, 64);
			ret = pinio_batch(fd, segs, 40, NULL);
			if (ret != -EACCES &&
			    !mix_check(&st, "BATCH", ret, b_errs))
				return 1;
		} else if (a < 75) {
			uint8_t tmp[8192];

			ret = rnd_pct(&rnd, 50) ?
			      sys_ret(pread(fd, tmp, sizeof(tmp), 4096)) :
			      sys_ret(pwrite(fd, tmp, sizeof(tmp), 4096));
			if (!mix_check(&st, "pread/pwrite", ret, io_errs))
				return 1;
		} else if (a < 85 && ring && handles[k]) {
			struct pinio_uring_cmd c = {
				.handle = handles[k], .dev_offset = 0,
				.len = ps,
			};

			ret = hring_cmd1(&r, fd, PINIO_URING_CMD_WRITE, &c, 0, 0);
			if (ret != -EACCES &&
			    !mix_check(&st, "uring_cmd", ret, ur_errs))
				return 1;
		} else if (a < 90) {
			int fd2;

			pinio_set_bounce((int)rnd_below(&rnd, 2));
			fd2 = pinio_open();
			if (!mix_check(&st, "open", fd2, o_errs))
				return 1;
			if (fd2 >= 0)
				close(fd2);
		} else if (a < 93) {
			/* Close with live registrations, start over. */
			close(fd);
			memset(handles, 0, sizeof(handles));
			fd = pinio_open();
			if (!mix_check(&st, "open", fd, o_errs))
				return 1;
			while (fd < 0)
				fd = pinio_open();
		}
	}
	if (write_sysfs_str("/proc/self/make-it-fail", "0"))
		return 1;
	close(fd);
	if (ring)
		hring_exit(&r);
	for (k = 0; k < 8; k++)
		tbuf_free(&bufs[k]);
	if (write(statfd, &st, sizeof(st)) != sizeof(st))
		return 1;
	return 0;
}

static void random_phase(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fault) *self, const char *prob,
			 const char *interval, const char *times,
			 unsigned int iters)
{
	static const char *const mine[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};
	struct mix_stats st = { 0 };
	int pfd[2], status;
	size_t i;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		if (!dbg_exists(mine[i]))
			continue;
		ASSERT_OK(dbg_write(mine[i], "task-filter", "Y"));
		ASSERT_OK(dbg_write(mine[i], "interval", interval));
		ASSERT_OK(dbg_write(mine[i], "times", times));
		ASSERT_OK(dbg_write(mine[i], "probability", prob));
	}
	ASSERT_OK(pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		_exit(random_mix(seed_from_env("PINIO_FAULT_SEED"), iters,
				 pfd[1]));
	}
	close(pfd[1]);
	status = wait_child(pid);
	for (i = 0; i < ARRAY_SIZE(mine); i++)
		if (dbg_exists(mine[i]))
			dbg_write(mine[i], "probability", "0");
	ASSERT_EQ(sizeof(st), read(pfd[0], &st, sizeof(st)))
		TH_LOG("the child exited with %d", status);
	close(pfd[0]);
	ASSERT_EQ(0, status);
	printf("# random (probability %s%%, interval %s, times %s): %lu calls, "
	       "%lu failed as documented, %lu succeeded\n", prob, interval,
	       times, st.calls, st.errors, st.ok);
	fflush(stdout);
	ASSERT_LT(0, st.errors);
	ASSERT_TRUE(({
		double t = now_sec() + 10;

		while ((pinio_stat("regions") != self->base.regions ||
			pinio_stat("pinned_pages") != self->base.pinned_pages ||
			foll_pins_outstanding() > self->pins0) &&
		       now_sec() < t)
			usleep(50000);
		pinio_stat("regions") == self->base.regions &&
		pinio_stat("pinned_pages") == self->base.pinned_pages &&
		foll_pins_outstanding() <= self->pins0;
	})) TH_LOG("pins left after the child: regions %" PRId64
		   ", pinned_pages %" PRId64, pinio_stat("regions"),
		   pinio_stat("pinned_pages"));
}

TEST_F_TIMEOUT(fault, random_task_filtered, 600)
{
	unsigned int iters = (unsigned int)env_ulong("PINIO_FAULT_ITERS", 2000);
	uint64_t old = 0;

	ASSERT_OK(pinio_param("bounce", &old));
	/* Every 3rd fault site fails, 200 times at most. */
	random_phase(_metadata, self, "100", "3", "200", iters);
	/* A quarter of the sites, unbounded. */
	random_phase(_metadata, self, "25", "1", "-1", iters);
	ASSERT_OK(pinio_set_bounce((int)old));
}

TEST_HARNESS_MAIN
