// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: how many times a registration pins each page. A read-only
 * (PINIO_REG_USER_TO_DEV) registration of memory that is not anonymous
 * used to pin every page twice: once, a check, unpin, unshare, and again.
 * The second pass only matters where a page can still be COWed away from
 * the pin, i.e. a private writable mapping on a kernel whose GUP leaves
 * that to the caller (before 6.2). Everywhere else a page is pinned once,
 * which the guest's FOLL_PIN counter shows exactly: this program is the
 * only one running while it registers.
 *
 * Each case also checks that the registration sees the process's later
 * writes (the point of the unshare), and that unregistering releases as
 * many pins as were taken.
 */
#include <sys/utsname.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"

#define NPAGES	64

FIXTURE(pc) {
	int fd;
	size_t ps;
	struct pin_snap base;
	int64_t pins0;
};

FIXTURE_SETUP(pc)
{
	self->ps = page_size();
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH, errname(-self->fd));
	ASSERT_OK(pin_snap(&self->base));
	ASSERT_LE(0, vmstat_get("nr_foll_pin_acquired"))
		TH_LOG("no nr_foll_pin_acquired in /proc/vmstat");
	/* An earlier program's io_uring buffers may still be on their way. */
	self->pins0 = foll_pins_baseline();
}

FIXTURE_TEARDOWN(pc)
{
	if (self->fd >= 0)
		close(self->fd);
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

/* Pages pinned per pin_user_pages_fast() call in pinio. */
#define PIN_BATCH	1024

/*
 * Taken and dropped again while registering: pinio's unpin before an
 * unshare shows as NPAGES here. 6.2+'s GUP fast path itself grabs one
 * page of a non-anonymous mapping it must check with the VMA (a read-only
 * long-term pin), drops it and goes the slow way: at most one per
 * pin_user_pages_fast() call.
 */
static int64_t gup_drops(void)
{
	return kernel_at_least(6, 2) ? (NPAGES + PIN_BATCH - 1) / PIN_BATCH : 0;
}

struct pin_delta {
	int64_t acq, rel;
};

static int64_t pins_now(struct pin_delta *d)
{
	d->acq = vmstat_get("nr_foll_pin_acquired");
	d->rel = vmstat_get("nr_foll_pin_released");
	return d->acq < 0 || d->rel < 0 ? -1 : 0;
}

/*
 * The whole check for one mapping of NPAGES pages at @p that the process
 * can write through @w (the same memory; NULL if it cannot): the
 * registration keeps NPAGES pins and took no more than @max_drops others
 * that it (or GUP) dropped again; the device reads what is there, and
 * what the process writes afterwards; unregistering releases NPAGES.
 */
static void check_ro(struct __test_metadata *_metadata,
		     FIXTURE_DATA(pc) *self, const char *what, uint8_t *p,
		     uint8_t *w, int64_t max_drops)
{
	size_t len = NPAGES * self->ps;
	struct pin_delta a, b, c;
	uint64_t dev = 3 * MiB;
	int64_t acq, drops;
	uint32_t h = 0;

	ASSERT_OK(pins_now(&a));
	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_USER_TO_DEV, &h))
		TH_LOG("%s", what);
	ASSERT_OK(pins_now(&b));
	acq = b.acq - a.acq;
	drops = b.rel - a.rel;
	TH_LOG("%s: %d pages, %" PRId64 " FOLL_PINs taken, %" PRId64
	       " dropped while registering", what, NPAGES, acq, drops);
	ASSERT_EQ(NPAGES, acq - drops) TH_LOG("%s", what);
	ASSERT_GE(max_drops, drops)
		TH_LOG("%s: pinned %" PRId64 " times for %d pages", what, acq,
		       NPAGES);
	ASSERT_PINS(self->base, 1, NPAGES);
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x9c);
	if (w) {
		pattern_fill(w, len, dev, 0x9d);
		ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
		ASSERT_DEV_PATTERN(self->fd, dev, len, 0x9d);
	}
	ASSERT_OK(pins_now(&b));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_OK(pins_now(&c));
	ASSERT_EQ(NPAGES, c.rel - b.rel) TH_LOG("%s: unregister", what);
	ASSERT_EQ(0, c.acq - b.acq) TH_LOG("%s: unregister", what);
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_EQ(self->pins0, foll_pins_outstanding());
}

/* Once: nothing dropped but what GUP itself may retry. */
#define CHECK_ONCE(what, p, w) \
	check_ro(_metadata, self, (what), (p), (w), gup_drops())

TEST_F(pc, shmem_shared)
{
	struct tbuf b;

	ASSERT_OK(tbuf_shmem(&b, NPAGES * self->ps));
	pattern_fill(b.p, b.len, 3 * MiB, 0x9c);
	CHECK_ONCE("MAP_SHARED|MAP_ANONYMOUS", b.p, b.p);
	tbuf_free(&b);
}

TEST_F(pc, memfd_shared)
{
	size_t len = NPAGES * self->ps;
	struct tbuf b;
	uint8_t *ro;

	ASSERT_OK(tbuf_memfd(&b, len));
	pattern_fill(b.p, len, 3 * MiB, 0x9c);
	CHECK_ONCE("memfd MAP_SHARED", b.p, b.p);
	/* A read-only shared mapping of the same memfd, written elsewhere. */
	pattern_fill(b.p, len, 3 * MiB, 0x9c);
	ro = mmap(NULL, len, PROT_READ, MAP_SHARED, b.fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	CHECK_ONCE("memfd MAP_SHARED PROT_READ", ro, b.p);
	munmap(ro, len);
	tbuf_free(&b);
}

/* The store's own mmap window: its pages are the driver's. */
TEST_F(pc, store_window)
{
	size_t len = NPAGES * self->ps;
	struct pinio_info info;
	uint64_t win;
	uint8_t *m;

	ASSERT_OK(pinio_get_info(self->fd, &info));
	if (!(info.features & PINIO_FEAT_MMAP))
		SKIP(return, "driver without PINIO_FEAT_MMAP");
	/* Far from the store range check_ro() writes to. */
	win = (info.dev_size - len) & ~(uint64_t)(self->ps - 1);
	ASSERT_LE(4 * MiB + len, win);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)win);
	ASSERT_NE(MAP_FAILED, m) TH_LOG("mmap: %s", errname(errno));
	pattern_fill(m, len, 3 * MiB, 0x9c);
	CHECK_ONCE("the store's mmap window", m, m);
	munmap(m, len);
}

/* Page cache: a file on the guest's share (tmpfs if there is none). */
TEST_F(pc, page_cache_shared)
{
	const char *dir = getenv("PINIO_FILE_DIR");
	size_t len = NPAGES * self->ps;
	uint8_t *ro;
	struct tbuf b;

	ASSERT_OK(tbuf_file(&b, dir && *dir ? dir : "/tmp", len,
			    PROT_READ | PROT_WRITE));
	pattern_fill(b.p, len, 3 * MiB, 0x9c);
	CHECK_ONCE("a MAP_SHARED file", b.p, b.p);
	/* Private but read-only: nothing can COW there either. */
	pattern_fill(b.p, len, 3 * MiB, 0x9c);
	ASSERT_OK(sys_ret(msync(b.p, len, MS_SYNC)));
	ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, b.fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	CHECK_ONCE("a MAP_PRIVATE PROT_READ file", ro, NULL);
	munmap(ro, len);
	tbuf_free(&b);
}

/* Anonymous memory the process wrote: anonymous pages, pinned once. */
TEST_F(pc, anon_private)
{
	struct tbuf b;

	ASSERT_OK(tbuf_anon(&b, NPAGES * self->ps));
	pattern_fill(b.p, b.len, 3 * MiB, 0x9c);
	check_ro(_metadata, self, "private anonymous memory", b.p, b.p, 0);
	tbuf_free(&b);
}

/*
 * A private writable mapping of a file the process has not written: the
 * pages are page cache, which the process's next write COWs away. 6.2+
 * GUP unshares them itself (once); before, pinio pins, unpins, unshares
 * and pins again, and the registration must see the later write either
 * way.
 */
TEST_F(pc, private_writable_file)
{
	size_t len = NPAGES * self->ps;
	uint8_t *old = malloc(len), *p;
	int mfd;

	ASSERT_NE(NULL, old);
	mfd = memfd_create("pinio-pincount", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	pattern_fill(old, len, 3 * MiB, 0x9c);
	ASSERT_EQ((ssize_t)len, write(mfd, old, len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_PATTERN(p, len, 3 * MiB, 0x9c);	/* read-faulted: page cache */
	if (kernel_at_least(6, 2))
		CHECK_ONCE("a private writable file mapping", p, p);
	else	/* pin, unpin, unshare, pin */
		check_ro(_metadata, self, "a private writable file mapping",
			 p, p, NPAGES);
	/* The file itself never changed. */
	ASSERT_EQ((ssize_t)len, pread(mfd, old, len, 0));
	ASSERT_PATTERN(old, len, 3 * MiB, 0x9c);
	munmap(p, len);
	close(mfd);
	free(old);
}

TEST_HARNESS_MAIN
