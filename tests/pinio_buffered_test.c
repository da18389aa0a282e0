// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: the buffered path. read/write/pread/pwrite/readv/writev/preadv2/
 * pwritev2 and lseek behave like a fixed-size file, RWF_NOWAIT works, data
 * crosses between the buffered and direct paths, and the byte counters are
 * exact. Every test runs twice: with the module's bounce parameter 0 and 1
 * at open(), whose results must be identical.
 */
#include <pthread.h>
#include <sys/param.h>

#include "pinio_test_util.h"

#define BG_SEED		0x0b0b0b0bU

FIXTURE(buffered) {
	int fd;
	size_t ps;
	uint64_t size;
	struct pinio_info info;
};

FIXTURE_VARIANT(buffered) {
	int bounce;
};

FIXTURE_VARIANT_ADD(buffered, plain) {
	.bounce = 0,
};

FIXTURE_VARIANT_ADD(buffered, bounce) {
	.bounce = 1,
};

FIXTURE_SETUP(buffered)
{
	int ret;

	self->ps = page_size();
	self->fd = -1;
	ret = pinio_set_bounce(variant->bounce);
	ASSERT_OK(ret) TH_LOG("setting bounce=%d", variant->bounce);
	self->fd = pinio_open();
	/* bounce is sampled at open: put the default back at once. */
	ASSERT_OK(pinio_set_bounce(0));
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH, errname(-self->fd));
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	self->size = self->info.dev_size;
	ASSERT_EQ(!!variant->bounce,
		  !!(self->info.features & PINIO_FEAT_BOUNCE));
}

FIXTURE_TEARDOWN(buffered)
{
	pinio_set_bounce(0);
	if (self->fd >= 0)
		close(self->fd);
}

/* bounce is per open file: later opens follow the parameter, this one not. */
TEST_F(buffered, bounce_sampled_at_open)
{
	struct pinio_info info;
	uint8_t *a, *b;
	int fd2;

	ASSERT_OK(pinio_set_bounce(!variant->bounce));
	fd2 = pinio_open();
	ASSERT_OK(pinio_set_bounce(0));
	ASSERT_LE(0, fd2);
	ASSERT_OK(pinio_get_info(fd2, &info));
	ASSERT_EQ(!variant->bounce, !!(info.features & PINIO_FEAT_BOUNCE));
	ASSERT_OK(pinio_get_info(self->fd, &info));
	ASSERT_EQ(!!variant->bounce, !!(info.features & PINIO_FEAT_BOUNCE));

	/* Either way the data is the same, in both directions. */
	a = malloc(3 * self->ps);
	b = malloc(3 * self->ps);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	pattern_fill(a, 3 * self->ps, 12345, 0xb0);
	ASSERT_EQ((ssize_t)(3 * self->ps),
		  pwrite(self->fd, a, 3 * self->ps, 12345));
	ASSERT_EQ((ssize_t)(3 * self->ps), pread(fd2, b, 3 * self->ps, 12345));
	ASSERT_PATTERN(b, 3 * self->ps, 12345, 0xb0);
	pattern_fill(a, 3 * self->ps, 54321, 0xb1);
	ASSERT_EQ((ssize_t)(3 * self->ps), pwrite(fd2, a, 3 * self->ps, 54321));
	ASSERT_EQ((ssize_t)(3 * self->ps),
		  pread(self->fd, b, 3 * self->ps, 54321));
	ASSERT_PATTERN(b, 3 * self->ps, 54321, 0xb1);
	close(fd2);
	free(a);
	free(b);
}

/* pwrite/pread of awkward sizes at awkward offsets from awkward buffers. */
TEST_F_TIMEOUT(buffered, pwrite_pread_sizes, 120)
{
	size_t ps = self->ps;
	const size_t lens[] = { 1, 7, 4095, 4096, 4097, 3 * ps + 1, 65537,
				MiB + 3 };
	const size_t umis[] = { 0, 1, ps - 1 };
	const size_t guard = 32;
	uint8_t *mem, *win;
	uint32_t seed = 1;
	size_t i, j, k;

	mem = malloc(2 * MiB + 2 * ps);
	win = malloc(MiB + 3 + 2 * guard);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, win);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t len = lens[i];
		const uint64_t devs[] = { 0, 1, ps - 1, ps + 3,
					  self->size - len };

		for (j = 0; j < ARRAY_SIZE(devs); j++) {
			for (k = 0; k < ARRAY_SIZE(umis); k++, seed++) {
				uint64_t dev = devs[j];
				uint64_t lo = dev >= guard ? dev - guard : 0;
				uint64_t hi = dev + len + guard;
				uint8_t *u = mem + umis[k];

				if (hi > self->size)
					hi = self->size;
				ASSERT_OK(seed_store(self->fd, lo, hi - lo,
						     BG_SEED));
				pattern_fill(u, len, dev, seed);
				ASSERT_EQ((ssize_t)len,
					  pwrite(self->fd, u, len, dev))
					TH_LOG("len %zu dev %" PRIu64, len,
					       dev);
				/* Only [dev, dev + len) changed. */
				ASSERT_OK(dev_pread_all(self->fd, win, hi - lo,
							lo));
				ASSERT_PATTERN(win, dev - lo, lo, BG_SEED);
				ASSERT_PATTERN(win + dev - lo, len, dev, seed);
				ASSERT_PATTERN(win + dev - lo + len,
					       hi - dev - len, dev + len,
					       BG_SEED);
				/* Read back in one call into another spot. */
				u = mem + MiB + ps - umis[k];
				memset(u, 0, len);
				ASSERT_EQ((ssize_t)len,
					  pread(self->fd, u, len, dev));
				ASSERT_PATTERN(u, len, dev, seed)
					TH_LOG("len %zu dev %" PRIu64, len,
					       dev);
			}
		}
	}
	free(mem);
	free(win);
}

/* read/write use and advance the file position. */
TEST_F(buffered, read_write_file_position)
{
	const size_t n1 = 1000, n2 = 5000;
	uint8_t *a, *b;

	a = malloc(n1 + n2);
	b = malloc(n1 + n2);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	pattern_fill(a, n1 + n2, 777, 0x90);

	ASSERT_EQ(777, lseek(self->fd, 777, SEEK_SET));
	ASSERT_EQ((ssize_t)n1, write(self->fd, a, n1));
	ASSERT_EQ((off_t)(777 + n1), lseek(self->fd, 0, SEEK_CUR));
	ASSERT_EQ((ssize_t)n2, write(self->fd, a + n1, n2));
	ASSERT_EQ((off_t)(777 + n1 + n2), lseek(self->fd, 0, SEEK_CUR));

	ASSERT_EQ(777, lseek(self->fd, 777, SEEK_SET));
	ASSERT_EQ((ssize_t)(n1 + n2), read(self->fd, b, n1 + n2));
	ASSERT_PATTERN(b, n1 + n2, 777, 0x90);
	ASSERT_EQ((off_t)(777 + n1 + n2), lseek(self->fd, 0, SEEK_CUR));

	/* pread/pwrite do not move it. */
	ASSERT_EQ(10, pread(self->fd, b, 10, 0));
	ASSERT_EQ(10, pwrite(self->fd, b, 10, 0));
	ASSERT_EQ((off_t)(777 + n1 + n2), lseek(self->fd, 0, SEEK_CUR));

	/* Consecutive reads continue where the last one stopped. */
	ASSERT_EQ(777 + 3, lseek(self->fd, 777 + 3, SEEK_SET));
	memset(b, 0, n1 + n2);
	ASSERT_EQ(1, read(self->fd, b, 1));
	ASSERT_EQ(4095, read(self->fd, b + 1, 4095));
	ASSERT_EQ(900, read(self->fd, b + 4096, 900));
	ASSERT_PATTERN(b, 4996, 780, 0x90);
	free(a);
	free(b);
}

/* lseek like a fixed-size file; rejected seeks leave the position alone. */
TEST_F(buffered, lseek_semantics)
{
	const off_t size = (off_t)self->size;
	uint8_t c = 0, want;
	int fd = self->fd;

	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(12345, lseek(fd, 12345, SEEK_SET));
	ASSERT_EQ(size, lseek(fd, size, SEEK_SET));
	ASSERT_EQ(100, lseek(fd, 100, SEEK_SET));

	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, size + 1, SEEK_SET)));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, -1, SEEK_SET)));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, INT64_MAX, SEEK_SET)));
	ASSERT_EQ(100, lseek(fd, 0, SEEK_CUR));

	ASSERT_EQ(150, lseek(fd, 50, SEEK_CUR));
	ASSERT_EQ(100, lseek(fd, -50, SEEK_CUR));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, -101, SEEK_CUR)));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, size - 99, SEEK_CUR)));
	ASSERT_EQ(100, lseek(fd, 0, SEEK_CUR));
	ASSERT_EQ(0, lseek(fd, -100, SEEK_CUR));
	ASSERT_EQ(size, lseek(fd, size, SEEK_CUR));

	ASSERT_EQ(size, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(size - 1, lseek(fd, -1, SEEK_END));
	ASSERT_EQ(0, lseek(fd, -size, SEEK_END));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, 1, SEEK_END)));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, -size - 1, SEEK_END)));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_CUR));

	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, 0, 99)));
	ASSERT_ERR(EINVAL, sys_ret(lseek(fd, 0, -1)));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_CUR));

	/* The position is where read() goes. */
	ASSERT_OK(seed_store(fd, size - 1, 1, 0x5eec));
	pattern_fill(&want, 1, size - 1, 0x5eec);
	ASSERT_EQ(size - 1, lseek(fd, -1, SEEK_END));
	ASSERT_EQ(1, read(fd, &c, 1));
	ASSERT_EQ(want, c);
}

/* The end of the store: reads return 0 or short, writes ENOSPC or short. */
TEST_F(buffered, end_of_store)
{
	const uint64_t size = self->size;
	uint8_t buf[4096], zero[16] = { 0 };
	int fd = self->fd;

	ASSERT_OK(seed_store(fd, size - 8192, 8192, 0xe0f));

	ASSERT_EQ(0, pread(fd, buf, sizeof(buf), size));
	ASSERT_EQ(0, pread(fd, buf, 1, size + 1));
	ASSERT_EQ(0, pread(fd, buf, 1, size + 4096));
	ASSERT_EQ(0, pread(fd, buf, 1, INT64_MAX - 1));
	ASSERT_ERR(EINVAL, sys_ret(pread(fd, buf, 1, -1)));

	/* A read crossing the end is short, with the right bytes. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(100, pread(fd, buf, sizeof(buf), size - 100));
	ASSERT_PATTERN(buf, 100, size - 100, 0xe0f);
	ASSERT_FILLED(buf + 100, sizeof(buf) - 100, 0);
	ASSERT_EQ(1, pread(fd, buf, sizeof(buf), size - 1));

	/* Writes starting at or past the end: ENOSPC, nothing written. */
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(fd, zero, 1, size)));
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(fd, zero, 16, size + 1)));
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(fd, zero, 16, size + 4096)));
	ASSERT_DEV_PATTERN(fd, size - 8192, 8192, 0xe0f);

	/* A write crossing the end is short and stops exactly there. */
	pattern_fill(buf, sizeof(buf), size - 10, 0xe10);
	ASSERT_EQ(10, pwrite(fd, buf, sizeof(buf), size - 10));
	ASSERT_DEV_PATTERN(fd, size - 10, 10, 0xe10);
	ASSERT_DEV_PATTERN(fd, size - 8192, 8192 - 10, 0xe0f);

	/* Through the file position as well. */
	ASSERT_EQ((off_t)(size - 5), lseek(fd, -5, SEEK_END));
	pattern_fill(buf, 16, size - 5, 0xe11);
	ASSERT_EQ(5, write(fd, buf, 16));
	ASSERT_EQ((off_t)size, lseek(fd, 0, SEEK_CUR));
	ASSERT_ERR(ENOSPC, sys_ret(write(fd, buf, 1)));
	ASSERT_EQ(0, read(fd, buf, 1));
	ASSERT_EQ((off_t)size, lseek(fd, 0, SEEK_CUR));
	ASSERT_DEV_PATTERN(fd, size - 5, 5, 0xe11);

	/* Zero-length I/O is a no-op anywhere. */
	ASSERT_EQ(0, pwrite(fd, buf, 0, 0));
	ASSERT_EQ(0, pread(fd, buf, 0, size - 1));
}

/* writev gathers, readv scatters, both continuous in the store. */
TEST_F(buffered, readv_writev)
{
	size_t ps = self->ps;
	const size_t wl[] = { 1, 4095, 0, 7, 8193, 3 };
	const size_t total = 1 + 4095 + 7 + 8193 + 3;
	const uint64_t P = 3 * ps + 17;
	struct iovec wv[ARRAY_SIZE(wl)], rv[4];
	uint8_t *mem, *src;
	size_t i, at;

	mem = malloc(4 * total + 64);
	src = malloc(total);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, src);
	pattern_fill(src, total, P, 0x7e);

	/* Each piece from its own odd address. */
	for (i = 0, at = 0; i < ARRAY_SIZE(wl); i++) {
		uint8_t *p = mem + 2 * at + 2 * i + 1;

		memcpy(p, src + at, wl[i]);
		wv[i].iov_base = p;
		wv[i].iov_len = wl[i];
		at += wl[i];
	}
	ASSERT_EQ((off_t)P, lseek(self->fd, P, SEEK_SET));
	ASSERT_EQ((ssize_t)total, writev(self->fd, wv, ARRAY_SIZE(wv)));
	ASSERT_EQ((off_t)(P + total), lseek(self->fd, 0, SEEK_CUR));
	ASSERT_DEV_PATTERN(self->fd, P, total, 0x7e);

	/* Read it back split differently. */
	memset(mem, 0, 4 * total + 64);
	rv[0].iov_base = mem + 3;
	rv[0].iov_len = 5000;
	rv[1].iov_base = mem + 6000;
	rv[1].iov_len = 1;
	rv[2].iov_base = mem + 7001;
	rv[2].iov_len = 6000;
	rv[3].iov_base = mem + 20000;
	rv[3].iov_len = total - 11001;
	ASSERT_EQ((ssize_t)total, preadv(self->fd, rv, 4, P));
	ASSERT_PATTERN(mem + 3, 5000, P, 0x7e);
	ASSERT_PATTERN(mem + 6000, 1, P + 5000, 0x7e);
	ASSERT_PATTERN(mem + 7001, 6000, P + 5001, 0x7e);
	ASSERT_PATTERN(mem + 20000, total - 11001, P + 11001, 0x7e);
	ASSERT_FILLED(mem + 5003, 6000 - 5003, 0);

	/* pwritev at an offset, readv through the position. */
	pattern_fill(src, total, 1, 0x7f);
	wv[0].iov_base = src;
	wv[0].iov_len = 10;
	wv[1].iov_base = src + 10;
	wv[1].iov_len = total - 10;
	ASSERT_EQ((ssize_t)total, pwritev(self->fd, wv, 2, 1));
	ASSERT_EQ(1, lseek(self->fd, 1, SEEK_SET));
	memset(mem, 0, total);
	rv[0].iov_base = mem;
	rv[0].iov_len = total / 2;
	rv[1].iov_base = mem + total / 2;
	rv[1].iov_len = total - total / 2;
	ASSERT_EQ((ssize_t)total, readv(self->fd, rv, 2));
	ASSERT_PATTERN(mem, total, 1, 0x7f);

	/* A vector crossing the end is short. */
	pattern_fill(src, total, self->size - 5, 0x7f);
	ASSERT_EQ((ssize_t)5, pwritev(self->fd, wv, 2, self->size - 5));
	ASSERT_DEV_PATTERN(self->fd, self->size - 5, 5, 0x7f);
	free(mem);
	free(src);
}

/* RWF_NOWAIT is honoured, not refused (FMODE_NOWAIT). */
TEST_F(buffered, rwf_nowait)
{
	const size_t len = 3 * self->ps + 5;
	struct iovec v;
	uint8_t *a, *b;

	ASSERT_NE(0, self->info.features & PINIO_FEAT_NOWAIT);
	a = malloc(len);
	b = malloc(len);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	pattern_fill(a, len, 4099, 0x40);
	v.iov_base = a;
	v.iov_len = len;
	ASSERT_EQ((ssize_t)len, pwritev2(self->fd, &v, 1, 4099, RWF_NOWAIT));
	memset(b, 0, len);
	v.iov_base = b;
	ASSERT_EQ((ssize_t)len, preadv2(self->fd, &v, 1, 4099, RWF_NOWAIT));
	ASSERT_PATTERN(b, len, 4099, 0x40);

	/* And at the end of the store, the usual semantics. */
	ASSERT_EQ(0, preadv2(self->fd, &v, 1, self->size, RWF_NOWAIT));
	ASSERT_ERR(ENOSPC, sys_ret(pwritev2(self->fd, &v, 1, self->size,
					    RWF_NOWAIT)));
	/* Through the file position (offset -1) too. */
	pattern_fill(a, len, 8191, 0x41);
	v.iov_base = a;
	ASSERT_EQ(8191, lseek(self->fd, 8191, SEEK_SET));
	ASSERT_EQ((ssize_t)len, pwritev2(self->fd, &v, 1, -1, RWF_NOWAIT));
	ASSERT_EQ((off_t)(8191 + len), lseek(self->fd, 0, SEEK_CUR));
	ASSERT_DEV_PATTERN(self->fd, 8191, len, 0x41);
	free(a);
	free(b);
}

/* Data crosses paths: direct -> buffered and buffered -> direct. */
TEST_F(buffered, cross_path)
{
	size_t ps = self->ps, len = 5 * ps + 3;
	uint64_t d1 = 2 * MiB + 1, d2 = 3 * MiB + ps - 1;
	struct tbuf b;
	uint8_t *u;
	uint32_t h = 0;

	ASSERT_OK(tbuf_anon(&b, 8 * ps));
	ASSERT_OK(pinio_register(self->fd, b.p + 7, len, PINIO_REG_BIDIR, &h));
	u = malloc(len + 1);
	ASSERT_NE(NULL, u);

	/* direct WRITE, buffered pread (and read through the position) */
	pattern_fill(b.p + 7, len, d1, 0xc1);
	ASSERT_OK(pinio_write(self->fd, h, 0, d1, len));
	ASSERT_EQ((ssize_t)len, pread(self->fd, u + 1, len, d1));
	ASSERT_PATTERN(u + 1, len, d1, 0xc1);
	ASSERT_EQ((off_t)d1 + 2, lseek(self->fd, d1 + 2, SEEK_SET));
	ASSERT_EQ((ssize_t)(len - 2), read(self->fd, u, len - 2));
	ASSERT_PATTERN(u, len - 2, d1 + 2, 0xc1);

	/* buffered pwrite, direct READ */
	pattern_fill(u, len, d2, 0xc2);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, u, len, d2));
	memset(b.p, 0, b.len);
	ASSERT_OK(pinio_read(self->fd, h, 0, d2, len));
	ASSERT_FILLED(b.p, 7, 0);
	ASSERT_PATTERN(b.p + 7, len, d2, 0xc2);
	ASSERT_FILLED(b.p + 7 + len, b.len - 7 - len, 0);

	/* A buffered write overlapping a direct one: last writer wins. */
	pattern_fill(u, 100, d1 + 50, 0xc3);
	ASSERT_EQ(100, pwrite(self->fd, u, 100, d1 + 50));
	ASSERT_OK(pinio_read(self->fd, h, 0, d1, len));
	ASSERT_PATTERN(b.p + 7, 50, d1, 0xc1);
	ASSERT_PATTERN(b.p + 7 + 50, 100, d1 + 50, 0xc3);
	ASSERT_PATTERN(b.p + 7 + 150, len - 150, d1 + 150, 0xc1);
	free(u);
	tbuf_free(&b);
}

/* Bad user buffers: EFAULT, and a failed write leaves the store alone. */
TEST_F(buffered, bad_user_buffers)
{
	size_t ps = self->ps;
	struct iovec v[2];
	struct tbuf ro;
	uint8_t *half;
	void *hole;
	long r, w;

	ASSERT_OK(seed_store(self->fd, 0, 4 * ps, 0xbadf));
	ASSERT_OK(tbuf_anon(&ro, 2 * ps));
	ASSERT_OK(sys_ret(mprotect(ro.p, 2 * ps, PROT_READ)));
	hole = unmapped_range(4 * ps);
	ASSERT_NE(NULL, hole);

	ASSERT_ERR(EFAULT, sys_ret(raw_pread(self->fd, NULL, 16, 0)));
	ASSERT_ERR(EFAULT, sys_ret(pread(self->fd, (void *)KERNEL_ADDR, 16,
					 0)));
	ASSERT_ERR(EFAULT, sys_ret(pread(self->fd, hole, 4 * ps, 0)));
	ASSERT_ERR(EFAULT, sys_ret(pread(self->fd, ro.p, ps, 0)));
	ASSERT_FILLED(ro.p, 2 * ps, 0);

	ASSERT_ERR(EFAULT, sys_ret(raw_pwrite(self->fd, NULL, 16, 0)));
	ASSERT_ERR(EFAULT, sys_ret(pwrite(self->fd, (void *)KERNEL_ADDR, 16,
					  0)));
	ASSERT_ERR(EFAULT, sys_ret(pwrite(self->fd, hole, 4 * ps, 0)));
	v[0].iov_base = hole;
	v[0].iov_len = 100;
	ASSERT_ERR(EFAULT, sys_ret(pwritev(self->fd, v, 1, 5)));
	ASSERT_ERR(EFAULT, sys_ret(pwritev2(self->fd, v, 1, 5, RWF_NOWAIT)));
	ASSERT_ERR(EFAULT, sys_ret(preadv(self->fd, v, 1, 5)));
	ASSERT_DEV_PATTERN(self->fd, 0, 4 * ps, 0xbadf);

	/*
	 * Half of the buffer faults: either EFAULT or a short count, and the
	 * store holds exactly the bytes that count says were written.
	 */
	half = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, half);
	ASSERT_OK(sys_ret(munmap(half + ps, ps)));
	pattern_fill(half, ps, 0, 0x4a1f);
	w = raw_pwrite(self->fd, half, 2 * ps, 0);
	ASSERT_TRUE((w == -1 && errno == EFAULT) || (w > 0 && w <= (long)ps))
		TH_LOG("pwrite half-faulting: %ld", w);
	if (w < 0)
		w = 0;
	ASSERT_DEV_PATTERN(self->fd, 0, w, 0x4a1f);
	ASSERT_DEV_PATTERN(self->fd, w, 4 * ps - w, 0xbadf);
	memset(half, 0, ps);
	r = raw_pread(self->fd, half, 2 * ps, 0);
	ASSERT_TRUE((r == -1 && errno == EFAULT) || (r > 0 && r <= (long)ps))
		TH_LOG("pread half-faulting: %ld", r);
	if (r > 0) {
		ASSERT_PATTERN(half, MIN(r, w), 0, 0x4a1f);
		ASSERT_PATTERN(half + MIN(r, w), r - MIN(r, w), MIN(r, w),
			       0xbadf);
	}
	munmap(half, ps);
	ASSERT_OK(seed_store(self->fd, 0, 4 * ps, 0xbadf));

	/* The position is not moved by a failed call. */
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	ASSERT_ERR(EFAULT, sys_ret(read(self->fd, hole, 10)));
	ASSERT_ERR(EFAULT, sys_ret(write(self->fd, hole, 10)));
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	tbuf_free(&ro);
}

struct bthread {
	pthread_t tid;
	int fd;
	uint64_t off;
	size_t len;
	uint32_t seed;
	int iters;
	int err;		/* first failing call's errno */
	int64_t bad_at;		/* first wrong byte read back */
	int bad_iter;
};

/* pwrite our own range, pread it back whole, check, repeat. */
static void *bthread_fn(void *arg)
{
	struct bthread *t = arg;
	uint8_t *w = malloc(t->len), *r = malloc(t->len);
	int i;

	t->bad_at = -1;
	if (!w || !r) {
		t->err = ENOMEM;
		goto out;
	}
	for (i = 0; i < t->iters; i++) {
		uint32_t seed = t->seed + i;
		ssize_t n;

		pattern_fill(w, t->len, t->off, seed);
		n = pwrite(t->fd, w, t->len, t->off);
		if (n != (ssize_t)t->len) {
			t->err = n < 0 ? errno : EIO;
			break;
		}
		memset(r, 0, t->len);
		n = pread(t->fd, r, t->len, t->off);
		if (n != (ssize_t)t->len) {
			t->err = n < 0 ? errno : EIO;
			break;
		}
		t->bad_at = pattern_find_mismatch(r, t->len, t->off, seed);
		if (t->bad_at >= 0) {
			t->bad_iter = i;
			break;
		}
	}
out:
	free(w);
	free(r);
	return NULL;
}

/*
 * Threads sharing one file, each on its own range: the bounce buffer (one
 * per file) must never mix their data.
 */
TEST_F_TIMEOUT(buffered, concurrent_threads_one_file, 120)
{
	enum { N = 4 };
	struct bthread t[N];
	int i;

	for (i = 0; i < N; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].fd = self->fd;
		t[i].off = i * 3 * MiB + 11 * i;
		t[i].len = 2 * MiB + 4097 * i + 1;
		t[i].seed = 0x1000 * (i + 1);
		t[i].iters = 20;
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, pthread_create(&t[i].tid, NULL, bthread_fn, &t[i]));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, pthread_join(t[i].tid, NULL));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, t[i].err) TH_LOG("thread %d: %s", i,
					     errname(t[i].err));
		ASSERT_EQ(-1, t[i].bad_at)
			TH_LOG("thread %d, round %d: first wrong byte at %"
			       PRId64, i, t[i].bad_iter, t[i].bad_at);
	}
}

#define ASSERT_BYTES(base, dbr, dbw) do {				\
	struct byte_stats __n;						\
	ASSERT_OK(byte_stats(&__n));					\
	ASSERT_EQ((base).br + (int64_t)(dbr), __n.br)			\
		TH_LOG("buffered_read_bytes");				\
	ASSERT_EQ((base).bw + (int64_t)(dbw), __n.bw)			\
		TH_LOG("buffered_write_bytes");				\
	ASSERT_EQ((base).dr, __n.dr) TH_LOG("direct_read_bytes");	\
	ASSERT_EQ((base).dw, __n.dw) TH_LOG("direct_write_bytes");	\
} while (0)

/* Buffered byte counters move by exactly the bytes moved. */
TEST_F(buffered, stats_buffered_bytes)
{
	static uint8_t buf[3 * 4096 + 5];
	size_t ps = self->ps;
	struct byte_stats b;
	struct iovec v[2];
	uint8_t *half;
	long r, w;

	ASSERT_OK(byte_stats(&b));
	ASSERT_EQ(1000, pwrite(self->fd, buf, 1000, 0));
	ASSERT_BYTES(b, 0, 1000);
	ASSERT_EQ(777, pread(self->fd, buf, 777, 1));
	ASSERT_BYTES(b, 777, 1000);
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	ASSERT_EQ((ssize_t)sizeof(buf), read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf), write(self->fd, buf, sizeof(buf)));
	ASSERT_BYTES(b, 777 + sizeof(buf), 1000 + sizeof(buf));
	v[0].iov_base = buf;
	v[0].iov_len = 10;
	v[1].iov_base = buf + 10;
	v[1].iov_len = 20;
	ASSERT_EQ(30, pwritev(self->fd, v, 2, 5));
	ASSERT_EQ(30, preadv2(self->fd, v, 2, 5, RWF_NOWAIT));
	ASSERT_BYTES(b, 807 + sizeof(buf), 1030 + sizeof(buf));

	/* Short I/O counts what moved; refused I/O counts nothing. */
	ASSERT_EQ(100, pread(self->fd, buf, sizeof(buf), self->size - 100));
	ASSERT_EQ(7, pwrite(self->fd, buf, sizeof(buf), self->size - 7));
	ASSERT_EQ(0, pread(self->fd, buf, 10, self->size));
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(self->fd, buf, 10, self->size)));
	ASSERT_ERR(EFAULT, sys_ret(raw_pwrite(self->fd, NULL, 10, 0)));
	ASSERT_BYTES(b, 907 + sizeof(buf), 1037 + sizeof(buf));

	/* A buffer that faults halfway: counted as what the call returned. */
	ASSERT_OK(byte_stats(&b));
	half = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, half);
	ASSERT_OK(sys_ret(munmap(half + ps, ps)));
	pattern_fill(half, ps, 3 * ps, 0x4a1f);
	w = raw_pwrite(self->fd, half, 2 * ps, 3 * ps);
	ASSERT_TRUE(w == -1 || (w > 0 && w <= (long)ps))
		TH_LOG("pwrite half-faulting: %ld", w);
	r = raw_pread(self->fd, half, 2 * ps, 0);
	ASSERT_TRUE(r == -1 || (r > 0 && r <= (long)ps))
		TH_LOG("pread half-faulting: %ld", r);
	ASSERT_BYTES(b, r > 0 ? r : 0, w > 0 ? w : 0);
	munmap(half, ps);
}

/* The whole store in one pwrite and one pread. */
TEST_F_TIMEOUT(buffered, whole_store, 180)
{
	const uint64_t size = self->size;
	uint8_t *p;

	p = malloc(size + 1);
	ASSERT_NE(NULL, p);
	pattern_fill(p + 1, size, 0, 0x6464 + variant->bounce);
	ASSERT_EQ((ssize_t)size, pwrite(self->fd, p + 1, size, 0));
	memset(p, 0, size + 1);
	ASSERT_EQ((ssize_t)size, pread(self->fd, p, size, 0));
	ASSERT_PATTERN(p, size, 0, 0x6464 + variant->bounce);
	free(p);
}

TEST_HARNESS_MAIN
