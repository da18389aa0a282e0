// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: the pinning corners the kernel's own gup_test / gup_longterm
 * cover, where the other programs do not reach: a partial pin that fails
 * after pin_user_pages_fast()'s first 1024-page batch (unmapped, PROT_NONE
 * and read-only tails, touched and never-touched memory), partial pins over
 * THP and hugetlb, read-only pins of the shared zero page and of file
 * mappings, a writable pin faulting in never-touched memory, mremap and
 * mprotect of a pinned buffer, and (with CONFIG_GUP_TEST) pinio's pages
 * seen through the kernel's own long-term pin.
 *
 * After every failed registration nothing may stay pinned: the stats,
 * VmPin, and the system-wide FOLL_PIN counters.
 */
#include <sys/utsname.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"

#define PIN_BATCH	1024	/* pages per pin_user_pages_fast() in pinio */

/* mm/gup_test.h */
struct pin_longterm_test {
	__u64 addr;
	__u64 size;
	__u32 flags;
};
#define PIN_LONGTERM_TEST_START	_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP	_IO('g', 8)
#define PIN_LONGTERM_TEST_READ	_IOW('g', 9, __u64)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1

FIXTURE(pin) {
	int fd;
	size_t ps;
	struct pin_snap base;
	int64_t pins0;
};

FIXTURE_SETUP(pin)
{
	self->ps = page_size();
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH, errname(-self->fd));
	ASSERT_OK(pin_snap(&self->base));
	self->pins0 = foll_pins_baseline();
}

FIXTURE_TEARDOWN(pin)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Nothing pinned beyond the start, here and system wide. */
#define ASSERT_NOTHING_PINNED()						\
	do {								\
		ASSERT_PINS(self->base, 0, 0);				\
		ASSERT_EQ(self->pins0, foll_pins_outstanding());	\
	} while (0)

/* @n pages of anonymous memory inside a PROT_NONE reservation. */
static uint8_t *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int map_at(void *at, size_t len, int prot)
{
	void *p = mmap(at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		       -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

enum tail { TAIL_UNMAPPED, TAIL_PROT_NONE, TAIL_READ_ONLY };

/*
 * 1500 pages and a bad last page: the pin fails in pinio's second
 * pin_user_pages_fast() batch, with 1024+ pages already pinned to undo.
 */
static void partial_after_first_batch(struct __test_metadata *_metadata,
				      FIXTURE_DATA(pin) *self, enum tail tail,
				      uint32_t flags, bool touch)
{
	size_t ps = self->ps, good = (PIN_BATCH + 476) * ps;
	bool want_ok = tail == TAIL_READ_ONLY &&
		       !(flags & PINIO_REG_DEV_TO_USER);
	uint8_t *p = reserve(good + 2 * ps);
	uint32_t h = 0;

	ASSERT_NE(NULL, p);
	ASSERT_OK(map_at(p, good, PROT_READ | PROT_WRITE));
	if (touch)
		memset(p, 0x3c, good);
	switch (tail) {
	case TAIL_UNMAPPED:
		ASSERT_OK(sys_ret(munmap(p + good, ps)));
		break;
	case TAIL_PROT_NONE:
		break;	/* the reservation */
	case TAIL_READ_ONLY:
		ASSERT_OK(map_at(p + good, ps, PROT_READ));
		break;
	}
	if (want_ok) {
		ASSERT_OK(pinio_register(self->fd, p + 7, good, flags, &h));
		ASSERT_PINS(self->base, 1, PIN_BATCH + 477);
		ASSERT_OK(pinio_unregister(self->fd, h));
	} else {
		ASSERT_ERR(EFAULT, pinio_register(self->fd, p + 7, good, flags,
						  &h))
			TH_LOG("tail %d, flags %u, touched %d", tail, flags,
			       touch);
	}
	ASSERT_NOTHING_PINNED();
	/* The good part alone registers. */
	ASSERT_OK(pinio_register(self->fd, p, good, flags, &h));
	ASSERT_PINS(self->base, 1, PIN_BATCH + 476);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	munmap(p, good + 2 * ps);
}

TEST_F_TIMEOUT(pin, partial_pin_after_first_batch, 240)
{
	static const uint32_t dirs[] = { PINIO_REG_BIDIR,
					 PINIO_REG_USER_TO_DEV,
					 PINIO_REG_DEV_TO_USER };
	size_t d;
	int tail;

	for (d = 0; d < ARRAY_SIZE(dirs); d++)
		for (tail = TAIL_UNMAPPED; tail <= TAIL_READ_ONLY; tail++)
			partial_after_first_batch(_metadata, self,
						  (enum tail)tail, dirs[d],
						  true);
	/* Never touched: GUP faults 1500 pages in, then gives them back. */
	partial_after_first_batch(_metadata, self, TAIL_UNMAPPED,
				  PINIO_REG_DEV_TO_USER, false);
	partial_after_first_batch(_metadata, self, TAIL_PROT_NONE,
				  PINIO_REG_USER_TO_DEV, false);
}

/* A THP followed by a hole: EFAULT, nothing pinned, the THP intact. */
TEST_F_TIMEOUT(pin, partial_pin_thp, 120)
{
	size_t ps = self->ps;
	struct tbuf b;
	uint32_t h = 0;
	int ret;

	ret = tbuf_thp(&b, HPAGE_SIZE);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "transparent hugepages disabled");
	ASSERT_OK(ret);
	/* tbuf_thp maps an extra 2 MiB for alignment: make its tail a hole. */
	if (b.p + HPAGE_SIZE + ps > (uint8_t *)b.base + b.map_len)
		SKIP(tbuf_free(&b); return, "no room for a hole after the THP");
	ASSERT_OK(sys_ret(munmap(b.p + HPAGE_SIZE, ps)));
	if (anon_huge_kb(b.p) <= 0)
		SKIP(tbuf_free(&b); return, "no THP was allocated");

	ASSERT_ERR(EFAULT, pinio_register(self->fd, b.p + 3 * ps + 5,
					  HPAGE_SIZE, PINIO_REG_BIDIR, NULL));
	ASSERT_ERR(EFAULT, pinio_register(self->fd, b.p + HPAGE_SIZE - 1, 2,
					  PINIO_REG_USER_TO_DEV, NULL));
	ASSERT_NOTHING_PINNED();
	ASSERT_LT(0, anon_huge_kb(b.p));
	/* Subpages of the THP pin one page each. */
	ASSERT_OK(pinio_register(self->fd, b.p + 3 * ps + 5,
				 HPAGE_SIZE - 3 * ps - 5, PINIO_REG_BIDIR, &h));
	ASSERT_PINS(self->base, 1, (int64_t)(HPAGE_SIZE / ps - 3));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	tbuf_free(&b);
}

/* A hugetlb page followed by PROT_NONE: EFAULT, nothing pinned. */
TEST_F_TIMEOUT(pin, partial_pin_hugetlb, 120)
{
	size_t ps = self->ps;
	uint8_t *res = reserve(3 * HPAGE_SIZE), *a;
	uint32_t h = 0;
	void *p;

	ASSERT_NE(NULL, res);
	a = (uint8_t *)(((uintptr_t)res + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));
	p = mmap(a, HPAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		SKIP(munmap(res, 3 * HPAGE_SIZE); return,
		     "no hugetlb page: %s", errname(errno));
	memset(a, 0x61, HPAGE_SIZE);
	ASSERT_ERR(EFAULT, pinio_register(self->fd, a + 5, HPAGE_SIZE,
					  PINIO_REG_BIDIR, NULL));
	ASSERT_ERR(EFAULT, pinio_register(self->fd, a + HPAGE_SIZE - ps,
					  2 * ps, PINIO_REG_USER_TO_DEV, NULL));
	ASSERT_NOTHING_PINNED();
	ASSERT_OK(pinio_register(self->fd, a + 5, HPAGE_SIZE - 5,
				 PINIO_REG_BIDIR, &h));
	ASSERT_PINS(self->base, 1, (int64_t)(HPAGE_SIZE / ps));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	munmap(res, 3 * HPAGE_SIZE);
}

/* Does this kernel unshare the zero page for a R/O long-term pin (6.2+)? */
static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

/*
 * A read-only registration of never-touched anonymous memory: GUP pins
 * the shared zero page (or, since 6.2, an unshared copy of it). The device
 * reads zeros; with an unshared copy, later writes by the process are what
 * the device reads next (the pin stays coherent).
 */
TEST_F(pin, zero_page_read_only)
{
	size_t ps = self->ps, len = 16 * ps;
	uint8_t *p, *chk;
	uint32_t h = 0;
	int prot;

	chk = malloc(len);
	ASSERT_NE(NULL, chk);
	for (prot = 0; prot <= 1; prot++) {
		p = mmap(NULL, len, prot ? PROT_READ : PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		memset(chk, 0xa7, len);
		ASSERT_OK(dev_pwrite_all(self->fd, chk, len, 0));
		ASSERT_OK(pinio_register(self->fd, p, len,
					 PINIO_REG_USER_TO_DEV, &h));
		ASSERT_PINS(self->base, 1, 16);
		ASSERT_OK(pinio_write(self->fd, h, 0, 0, len));
		ASSERT_OK(dev_pread_all(self->fd, chk, len, 0));
		ASSERT_FILLED(chk, len, 0);
		/* A writable pin of the same never-touched memory: EFAULT if R/O. */
		if (prot)
			ASSERT_ERR(EFAULT, pinio_register(self->fd, p, len,
							  PINIO_REG_DEV_TO_USER,
							  NULL));
		if (!prot) {
			pattern_fill(p, len, 0, 0x2e70);
			ASSERT_OK(pinio_write(self->fd, h, 0, 0, len));
			ASSERT_OK(dev_pread_all(self->fd, chk, len, 0));
			if (kernel_at_least(6, 2)) {
				ASSERT_PATTERN(chk, len, 0, 0x2e70);
			} else if (pattern_find_mismatch(chk, len, 0, 0x2e70) >= 0) {
				printf("# this kernel pinned the zero page itself: "
				       "later writes are not seen (GUP before 6.2)\n");
			}
		}
		ASSERT_OK(pinio_unregister(self->fd, h));
		ASSERT_NOTHING_PINNED();
		munmap(p, len);
	}
	free(chk);
}

/* A writable registration faults never-touched memory in, once. */
TEST_F(pin, never_touched_writable)
{
	size_t ps = self->ps, len = 40 * ps + 123;
	uint8_t *p, *src;
	uint32_t h = 0;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	src = malloc(len);
	ASSERT_NE(NULL, src);
	pattern_fill(src, len, 4096, 0x77e);
	ASSERT_OK(dev_pwrite_all(self->fd, src, len, 4096));
	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_DEV_TO_USER, &h));
	ASSERT_PINS(self->base, 1, 41);
	ASSERT_OK(pinio_read(self->fd, h, 0, 4096, len));
	ASSERT_PATTERN(p, len, 4096, 0x77e);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	/* Still the process's memory afterwards. */
	ASSERT_PATTERN(p, len, 4096, 0x77e);
	free(src);
	munmap(p, len);
}

/* Read-only pins of file mappings: private (COW) and shared. */
TEST_F(pin, read_only_file_mappings)
{
	size_t ps = self->ps, len = 6 * ps;
	char path[] = "/tmp/pinio-pin-XXXXXX";
	uint8_t *buf, *p, *chk;
	uint32_t h = 0;
	int f, shared;

	f = mkstemp(path);
	ASSERT_LE(0, f);
	unlink(path);
	buf = malloc(len);
	chk = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, chk);
	for (shared = 0; shared <= 1; shared++) {
		pattern_fill(buf, len, 0, 0xf11e + shared);
		ASSERT_EQ((ssize_t)len, pwrite(f, buf, len, 0));
		p = mmap(NULL, len, PROT_READ, shared ? MAP_SHARED : MAP_PRIVATE,
			 f, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_ERR(EFAULT, pinio_register(self->fd, p, len,
						  PINIO_REG_DEV_TO_USER, NULL));
		ASSERT_OK(pinio_register(self->fd, p + 1, len - 1,
					 PINIO_REG_USER_TO_DEV, &h));
		ASSERT_PINS(self->base, 1, 6);
		ASSERT_OK(pinio_write(self->fd, h, 0, 1, len - 1));
		ASSERT_DEV_PATTERN(self->fd, 1, len - 1, 0xf11e + shared);
		if (shared) {
			/* The page cache page itself: a write() shows through. */
			pattern_fill(buf, len, 0, 0x5ead);
			ASSERT_EQ((ssize_t)len, pwrite(f, buf, len, 0));
			ASSERT_OK(pinio_write(self->fd, h, 0, 1, len - 1));
			ASSERT_DEV_PATTERN(self->fd, 1, len - 1, 0x5ead);
		}
		ASSERT_OK(pinio_unregister(self->fd, h));
		ASSERT_NOTHING_PINNED();
		munmap(p, len);
	}
	/* The program's own text: a private read-only file mapping. */
	p = (uint8_t *)((uintptr_t)&kernel_at_least & ~(uintptr_t)(ps - 1));
	ASSERT_OK(pinio_register(self->fd, p, ps, PINIO_REG_USER_TO_DEV, &h));
	ASSERT_OK(pinio_write(self->fd, h, 0, 0, ps));
	ASSERT_OK(dev_pread_all(self->fd, chk, ps, 0));
	ASSERT_MEMEQ(p, chk, ps);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	close(f);
	free(buf);
	free(chk);
}

/* mremap moves the mapping, not the pinned pages: still coherent. */
TEST_F(pin, mremap_and_mprotect_pinned)
{
	size_t ps = self->ps, len = 8 * ps;
	uint8_t *p, *q, *dst, *src;
	uint32_t h = 0;

	src = malloc(len);
	ASSERT_NE(NULL, src);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0, len);
	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_BIDIR, &h));
	dst = reserve(len);
	ASSERT_NE(NULL, dst);
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	pattern_fill(q, len, 0, 0x3e3e);
	ASSERT_OK(pinio_write(self->fd, h, 0, 0, len));
	ASSERT_DEV_PATTERN(self->fd, 0, len, 0x3e3e);
	/* Read-only now: the pin was made writable, the device still writes. */
	ASSERT_OK(sys_ret(mprotect(q, len, PROT_READ)));
	pattern_fill(src, len, 0, 0x4f4f);
	ASSERT_OK(dev_pwrite_all(self->fd, src, len, 0));
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, len));
	ASSERT_PATTERN(q, len, 0, 0x4f4f);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_NOTHING_PINNED();
	munmap(q, len);
	free(src);
}

/*
 * With CONFIG_GUP_TEST: the kernel's own long-term pin of the same buffer
 * sees what pinio writes, also after munmap (both pins hold the pages).
 */
TEST_F(pin, gup_test_sees_pinio_pages)
{
	size_t ps = self->ps, len = 16 * ps;
	struct pin_longterm_test t;
	uint8_t *p, *src, *out;
	uint32_t h = 0;
	uint64_t ua;
	int g;

	g = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
	if (g < 0)
		SKIP(return, "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST)");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0, len);
	src = malloc(len);
	out = malloc(len);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, out);
	t = (struct pin_longterm_test){ (uintptr_t)p, len,
					PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	ASSERT_OK(sys_ret(ioctl(g, PIN_LONGTERM_TEST_START, &t)));
	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_BIDIR, &h));
	ASSERT_OK(sys_ret(munmap(p, len)));

	pattern_fill(src, len, 0, 0x6e7);
	ASSERT_OK(dev_pwrite_all(self->fd, src, len, 0));
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, len));
	ua = (uintptr_t)out;
	ASSERT_OK(sys_ret(ioctl(g, PIN_LONGTERM_TEST_READ, &ua)));
	ASSERT_PATTERN(out, len, 0, 0x6e7);

	/* Either pin can go first. */
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_OK(sys_ret(ioctl(g, PIN_LONGTERM_TEST_READ, &ua)));
	ASSERT_PATTERN(out, len, 0, 0x6e7);
	ASSERT_OK(sys_ret(ioctl(g, PIN_LONGTERM_TEST_STOP)));
	ASSERT_EQ(self->pins0, foll_pins_outstanding());
	close(g);
	free(src);
	free(out);
}

TEST_HARNESS_MAIN
