// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_pkgconfig_test - libpinio as a program outside this tree sees it.
 *
 * Built only from an installed copy of libpinio (make stage), with the flags
 * of `pkg-config --static libpinio-uring` and nothing else (see Makefile
 * here), then run in the QEMU guest. It uses the public headers
 * <pinio/pinio.h>, <pinio/pinio_uring.h> and <linux/pinio.h> and checks the
 * library's promises: results as -errno, errno never touched, and the
 * io_uring prep helpers; and the LIBPINIO_1.1 calls of the attached store
 * (pinio_attach(), pinio_attach_path(), pinio_detach(), pinio_flush(),
 * pinio_prep_flush()): their errors without a store, and on the guest's
 * virtio-blk disk ($PINIO_VBLK, else SKIP) a write, flush and read through
 * pinned pages. Plain TAP, no kselftest harness: it is not part of the
 * installed interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pinio/pinio.h>
#include <pinio/pinio_uring.h>

#define LEN		(256 * 1024)
#define DEV_OFF		(3 * 4096 + 17)	/* not page aligned, on purpose */
#define ERRNO_MARK	4242		/* must survive every call */
#define DISK_OFF	(40ULL << 20)	/* on $PINIO_VBLK, whole blocks */

static int test_nr, failed;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	test_nr++;
	if (!ok) {
		failed++;
		printf("# %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	printf("%sok %d %s\n", ok ? "" : "not ", test_nr, name);
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	printf("ok %d %s # SKIP %s\n", ++test_nr, name, why);
	fflush(stdout);
}

static uint8_t pat(uint64_t off, unsigned int seed)
{
	return (uint8_t)((off * 2654435761U) >> 7) ^ (uint8_t)seed;
}

static void fill(uint8_t *p, size_t len, uint64_t off, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pat(off + i, seed);
}

/* First index where @p differs from the pattern, or -1. */
static long mismatch(const uint8_t *p, size_t len, uint64_t off,
		     unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void test_open_missing(void)
{
	int ret;

	errno = ERRNO_MARK;
	ret = pinio_open("/nonexistent/pinio", O_RDWR);
	result(ret == -ENOENT && errno == ERRNO_MARK, "open_missing_is_enoent",
	       "got %d, errno %d", ret, errno);
}

static void test_info(int fd, struct pinio_info *info)
{
	int ret;

	errno = ERRNO_MARK;
	ret = pinio_get_info(fd, info);
	result(!ret && errno == ERRNO_MARK &&
	       info->abi_version == PINIO_ABI_VERSION &&
	       info->dev_size >= DEV_OFF + LEN &&
	       (info->features & PINIO_FEAT_DIRECT), "get_info",
	       "ret %d, abi %u, size %llu, features 0x%llx", ret,
	       info->abi_version, (unsigned long long)info->dev_size,
	       (unsigned long long)info->features);
}

static void test_roundtrip(int fd, uint8_t *src, uint8_t *dst)
{
	int64_t before = pinio_stat("direct_write_bytes"), after;
	uint32_t hs = 0, hd = 0;
	long m = -2;
	int ret;

	fill(src, LEN, DEV_OFF, 1);
	memset(dst, 0, LEN);
	ret = pinio_register(fd, src, LEN, PINIO_REG_USER_TO_DEV, &hs);
	if (!ret)
		ret = pinio_register(fd, dst, LEN, PINIO_REG_DEV_TO_USER, &hd);
	if (!ret)
		ret = pinio_write(fd, hs, 0, DEV_OFF, LEN);
	if (!ret)
		ret = pinio_read(fd, hd, 0, DEV_OFF, LEN);
	if (!ret)
		m = mismatch(dst, LEN, DEV_OFF, 1);
	after = pinio_stat("direct_write_bytes");
	result(!ret && m == -1 && hs && hd && hs != hd, "register_write_read",
	       "ret %d (%s), first mismatch %ld", ret, pinio_strerror(ret), m);
	result(before >= 0 && after - before == LEN, "stat_counts_the_write",
	       "direct_write_bytes %lld -> %lld", (long long)before,
	       (long long)after);

	errno = ERRNO_MARK;
	ret = pinio_unregister(fd, hs);
	result(!ret && !pinio_unregister(fd, hd) && errno == ERRNO_MARK,
	       "unregister", "ret %d, errno %d", ret, errno);
}

static void test_batch(int fd, uint8_t *src, uint8_t *dst)
{
	struct pinio_xfer segs[2];
	uint32_t h = 0, done = 99;
	long m = -2;
	int ret;

	fill(src, LEN / 2, 0, 2);
	memset(dst, 0, LEN);
	ret = pinio_register(fd, src, LEN, PINIO_REG_BIDIR, &h);
	if (!ret) {
		/* buffer[0, LEN/2) -> store -> buffer[LEN/2, LEN) */
		pinio_seg(&segs[0], PINIO_OP_WRITE, h, 0, DEV_OFF, LEN / 2);
		pinio_seg(&segs[1], PINIO_OP_READ, h, LEN / 2, DEV_OFF,
			  LEN / 2);
		ret = pinio_batch(fd, segs, 2, &done);
		m = mismatch(src + LEN / 2, LEN / 2, 0, 2);
		pinio_unregister(fd, h);
	}
	result(!ret && done == 2 && m == -1, "batch_write_then_read",
	       "ret %d (%s), completed %u, first mismatch %ld", ret,
	       pinio_strerror(ret), done, m);
}

static void test_errors(int fd)
{
	const char *s;
	int r1, r2, r3;

	errno = ERRNO_MARK;
	r1 = pinio_read(fd, 0xdead, 0, 0, 1);
	r2 = pinio_unregister(fd, 0xdead);
	r3 = pinio_register(fd, NULL, 0, PINIO_REG_BIDIR, &(uint32_t){ 0 });
	result(r1 == -ENOENT && r2 == -ENOENT && r3 == -EINVAL &&
	       errno == ERRNO_MARK, "errors_are_negative_errno",
	       "read %d, unregister %d, register %d, errno %d", r1, r2, r3,
	       errno);

	s = pinio_strerror(-ENOENT);
	result(s && !strcmp(s, strerror(ENOENT)) && errno == ERRNO_MARK &&
	       !strcmp(pinio_strerror(ENOENT), s), "strerror",
	       "'%s', errno %d", s ? s : "(null)", errno);

	result(pinio_stat("no_such_counter") == -ENOENT &&
	       pinio_stat("../dev") == -EINVAL && errno == ERRNO_MARK,
	       "stat_bad_names", "errno %d", errno);
}

/* On RAM (or an old driver): block size and DMA alignment read 1. */
static void test_info_ram(const struct pinio_info *info)
{
	result(info->store == PINIO_STORE_RAM && info->block_size == 1 &&
	       info->dma_alignment == 1 && info->attach_flags == 0,
	       "info_ram_store", "store %u, block size %u, dma alignment %u, attach flags 0x%x",
	       info->store, info->block_size, info->dma_alignment,
	       info->attach_flags);
}

/* The attach calls' errors, with no store attached. */
static void test_attach_errors(int fd, const struct pinio_info *info)
{
	int det, fl, bad, miss, nul;

	errno = ERRNO_MARK;
	det = pinio_detach(fd);
	fl = pinio_flush(fd);
	bad = pinio_attach(fd, -1, 0);
	miss = pinio_attach_path(fd, "/nonexistent/disk", 0);
	nul = pinio_attach_path(fd, "/dev/null", 0);
	if (!(info->features & PINIO_FEAT_ATTACH)) {
		/* A driver from before the attached store. */
		result(det == -ENOTTY && fl == -ENOTTY && bad == -ENOTTY &&
		       miss == -ENOENT && nul == -ENOTTY &&
		       errno == ERRNO_MARK, "attach_errors",
		       "no PINIO_FEAT_ATTACH: detach %d, flush %d, attach(-1) %d, path missing %d, /dev/null %d, errno %d",
		       det, fl, bad, miss, nul, errno);
		return;
	}
	result(det == -ENXIO && fl == -ENXIO && bad == -EBADF &&
	       miss == -ENOENT && nul == -ENOTBLK && errno == ERRNO_MARK,
	       "attach_errors",
	       "detach %d, flush %d, attach(-1) %d, path missing %d, /dev/null %d, errno %d",
	       det, fl, bad, miss, nul, errno);
}

/* One command on a fresh SQE128 ring: its res, or 1 if it never ran. */
static int uring_flush_res(int fd)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int res = 1;

	if (io_uring_queue_init(2, &ring, IORING_SETUP_SQE128))
		return 1;
	sqe = io_uring_get_sqe(&ring);
	if (sqe) {
		pinio_prep_flush(sqe, fd);
		if (io_uring_submit(&ring) == 1 &&
		    !io_uring_wait_cqe(&ring, &cqe)) {
			res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	io_uring_queue_exit(&ring);
	return res;
}

/*
 * $PINIO_VBLK attached to a second open file: write LEN bytes through
 * pinned pages, flush by ioctl and by io_uring, read them back, the block
 * rule, detach.
 */
static void test_attach_disk(const struct pinio_info *info, uint8_t *src,
			     uint8_t *dst)
{
	const char *disk = getenv("PINIO_VBLK");
	int fd, ret, busy = 1, bad_off = 1, bad_buf = 1, fl = 1, ufl = 1;
	int det = 1, det2 = 1;
	bool errno_ok = false;
	struct pinio_info ai = { 0 }, after = { 0 };
	uint32_t h = 0;
	long m = -2;

	if (!(info->features & PINIO_FEAT_ATTACH)) {
		skip("attach_disk_write_flush_read", "no PINIO_FEAT_ATTACH");
		return;
	}
	if (!disk || !*disk) {
		skip("attach_disk_write_flush_read", "$PINIO_VBLK is unset");
		return;
	}
	fd = pinio_open(NULL, O_RDWR);
	errno = ERRNO_MARK;
	ret = fd < 0 ? fd : pinio_attach_path(fd, disk, PINIO_ATTACH_WRITE);
	if (!ret)
		ret = pinio_get_info(fd, &ai);
	if (!ret) {
		busy = pinio_attach_path(fd, disk, 0);
		ret = pinio_register(fd, src, LEN, PINIO_REG_BIDIR, &h);
	}
	if (!ret) {
		fill(src, LEN, DISK_OFF, 4);
		ret = pinio_write(fd, h, 0, DISK_OFF, LEN);
		bad_off = pinio_write(fd, h, 0, DISK_OFF + 1, ai.block_size);
		bad_buf = pinio_write(fd, h, 1, DISK_OFF, ai.block_size);
		fl = pinio_flush(fd);
		errno_ok = errno == ERRNO_MARK;
		ufl = uring_flush_res(fd);
		pinio_unregister(fd, h);
	}
	if (!ret) {
		memset(dst, 0, LEN);
		ret = pinio_register(fd, dst, LEN, PINIO_REG_DEV_TO_USER, &h);
		if (!ret)
			ret = pinio_read(fd, h, 0, DISK_OFF, LEN);
		if (!ret)
			m = mismatch(dst, LEN, DISK_OFF, 4);
		if (h)
			pinio_unregister(fd, h);
	}
	if (fd >= 0) {
		det = pinio_detach(fd);
		det2 = pinio_detach(fd);
		pinio_get_info(fd, &after);
		pinio_close(fd);
	}
	result(!ret && m == -1 && ai.store == PINIO_STORE_BDEV &&
	       ai.attach_flags == PINIO_ATTACH_WRITE && ai.block_size >= 512 &&
	       busy == -EBUSY && bad_off == -EINVAL && bad_buf == -EINVAL &&
	       fl == 0 && ufl == 0 && det == 0 && det2 == -ENXIO &&
	       after.store == PINIO_STORE_RAM && errno_ok,
	       "attach_disk_write_flush_read",
	       "%s: ret %d (%s), mismatch %ld, store %u, flags 0x%x, block %u, attach again %d, misaligned offset %d, buffer %d, flush %d, uring flush %d, detach %d then %d, store after %u, errno kept %d",
	       disk, ret, pinio_strerror(ret), m, ai.store, ai.attach_flags,
	       ai.block_size, busy, bad_off, bad_buf, fl, ufl, det, det2,
	       after.store, errno_ok);
}

/* One write and one read through <pinio/pinio_uring.h> and liburing. */
static void test_uring(int fd, const struct pinio_info *info, uint8_t *src,
		       uint8_t *dst)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int ret, res[2] = { 1, 1 }, i;
	uint32_t hs = 0, hd = 0;
	long m = -2;

	if (!(info->features & PINIO_FEAT_URING_CMD)) {
		skip("uring_prep_write_read", "no PINIO_FEAT_URING_CMD");
		return;
	}
	ret = io_uring_queue_init(4, &ring, IORING_SETUP_SQE128);
	if (ret) {
		skip("uring_prep_write_read", "io_uring_queue_init failed");
		return;
	}
	fill(src, LEN, DEV_OFF, 3);
	memset(dst, 0, LEN);
	ret = pinio_register(fd, src, LEN, PINIO_REG_USER_TO_DEV, &hs);
	if (!ret)
		ret = pinio_register(fd, dst, LEN, PINIO_REG_DEV_TO_USER, &hd);
	for (i = 0; !ret && i < 2; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (!sqe) {
			ret = -EBUSY;
			break;
		}
		if (i == 0)
			pinio_prep_write(sqe, fd, hs, 0, DEV_OFF, LEN);
		else
			pinio_prep_read(sqe, fd, hd, 0, DEV_OFF, LEN);
		ret = io_uring_submit(&ring);
		ret = ret == 1 ? io_uring_wait_cqe(&ring, &cqe) : -EIO;
		if (!ret) {
			res[i] = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	if (!ret)
		m = mismatch(dst, LEN, DEV_OFF, 3);
	io_uring_queue_exit(&ring);
	if (hs)
		pinio_unregister(fd, hs);
	if (hd)
		pinio_unregister(fd, hd);
	result(!ret && res[0] == LEN && res[1] == LEN && m == -1,
	       "uring_prep_write_read",
	       "ret %d, write res %d, read res %d, first mismatch %ld", ret,
	       res[0], res[1], m);
}

/* pinio_prep_flush() on the RAM store: RAM is never durable. */
static void test_uring_flush_ram(int fd, const struct pinio_info *info)
{
	int res;

	if (!(info->features & PINIO_FEAT_ATTACH) ||
	    !(info->features & PINIO_FEAT_URING_CMD)) {
		skip("uring_prep_flush_ram", "no PINIO_FEAT_ATTACH or _URING_CMD");
		return;
	}
	res = uring_flush_res(fd);
	result(res == -ENXIO, "uring_prep_flush_ram", "res %d", res);
}

int main(void)
{
	struct pinio_info info;
	uint8_t *src, *dst;
	int fd;

	printf("TAP version 13\n1..16\n");
	src = map(LEN);
	dst = map(LEN);
	test_open_missing();
	errno = ERRNO_MARK;
	fd = pinio_open(NULL, O_RDWR);
	result(fd >= 0 && errno == ERRNO_MARK && src && dst, "open_default",
	       "%s", fd < 0 ? pinio_strerror(fd) : "out of memory");
	if (fd < 0 || !src || !dst)
		return 1;	/* the runner counts the missing tests */
	test_info(fd, &info);
	test_roundtrip(fd, src, dst);
	test_batch(fd, src, dst);
	test_errors(fd);
	test_uring(fd, &info, src, dst);
	test_info_ram(&info);
	test_attach_errors(fd, &info);
	test_uring_flush_ram(fd, &info);
	test_attach_disk(&info, src, dst);
	errno = ERRNO_MARK;
	result(!pinio_close(fd) && errno == ERRNO_MARK, "close", "errno %d",
	       errno);
	return failed ? 1 : 0;
}
