// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: direct transfers. PINIO_IOC_READ, PINIO_IOC_WRITE and
 * PINIO_IOC_BATCH between the store and pinned buffers: sizes from 1 byte
 * to the whole 64 MiB store at every kind of misalignment, every documented
 * errno (with proof that a rejected transfer changed nothing), batch
 * ordering and partial completion, and the byte counters.
 */
#include "pinio_test_util.h"

#define BUF_LEN		(4 * MiB + 4 * 4096)
#define BG_SEED		0xb9b9b9b9U	/* background pattern of the store */

FIXTURE(xfer) {
	int fd;
	size_t ps;
	uint64_t dev_size;
	struct pinio_info info;
	struct tbuf b;
	uint32_t h;		/* BIDIR over all of b */
};

FIXTURE_SETUP(xfer)
{
	self->ps = page_size();
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH, errname(-self->fd));
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	self->dev_size = self->info.dev_size;
	ASSERT_LE(16 * MiB, self->dev_size);
	ASSERT_OK(tbuf_anon(&self->b, BUF_LEN));
	ASSERT_OK(pinio_register(self->fd, self->b.p, BUF_LEN,
				 PINIO_REG_BIDIR, &self->h));
}

FIXTURE_TEARDOWN(xfer)
{
	if (self->fd >= 0)
		close(self->fd);
	tbuf_free(&self->b);
}

/*
 * WRITE @len bytes from buf_off to dev_off, READ them back at another buffer
 * offset, and check both sides byte for byte, including that the bytes
 * around each target were not touched.
 */
static void xfer_roundtrip(struct __test_metadata *_metadata,
			   FIXTURE_DATA(xfer) *self, uint64_t buf_off,
			   uint64_t dev_off, size_t len, uint64_t dst_off,
			   uint32_t seed)
{
	const size_t guard = 64;
	uint64_t lo = dev_off >= guard ? dev_off - guard : 0;
	uint64_t hi = dev_off + len + guard;
	uint8_t *win;

	if (hi > self->dev_size)
		hi = self->dev_size;
	ASSERT_LE(dst_off + len + guard, self->b.len);
	ASSERT_LE(guard, dst_off);

	ASSERT_OK(seed_store(self->fd, lo, hi - lo, BG_SEED));
	pattern_fill(self->b.p + buf_off, len, dev_off, seed);
	ASSERT_OK(pinio_write(self->fd, self->h, buf_off, dev_off, len))
		TH_LOG("WRITE buf_off %" PRIu64 " dev_off %" PRIu64 " len %zu",
		       buf_off, dev_off, len);

	win = malloc(hi - lo);
	ASSERT_NE(NULL, win);
	ASSERT_OK(dev_pread_all(self->fd, win, hi - lo, lo));
	ASSERT_PATTERN(win, dev_off - lo, lo, BG_SEED)
		TH_LOG("store before the written range was touched");
	ASSERT_PATTERN(win + (dev_off - lo), len, dev_off, seed)
		TH_LOG("WRITE buf_off %" PRIu64 " dev_off %" PRIu64 " len %zu",
		       buf_off, dev_off, len);
	ASSERT_PATTERN(win + (dev_off - lo) + len, hi - dev_off - len,
		       dev_off + len, BG_SEED)
		TH_LOG("store after the written range was touched");
	free(win);

	memset(self->b.p + dst_off - guard, 0xee, len + 2 * guard);
	ASSERT_OK(pinio_read(self->fd, self->h, dst_off, dev_off, len))
		TH_LOG("READ buf_off %" PRIu64 " dev_off %" PRIu64 " len %zu",
		       dst_off, dev_off, len);
	ASSERT_FILLED(self->b.p + dst_off - guard, guard, 0xee)
		TH_LOG("READ wrote before its range");
	ASSERT_PATTERN(self->b.p + dst_off, len, dev_off, seed)
		TH_LOG("READ buf_off %" PRIu64 " dev_off %" PRIu64 " len %zu",
		       dst_off, dev_off, len);
	ASSERT_FILLED(self->b.p + dst_off + len, guard, 0xee)
		TH_LOG("READ wrote past its range");
}

/* Sizes around page boundaries at every mix of buffer/device alignment. */
TEST_F_TIMEOUT(xfer, roundtrip_sizes_alignments, 180)
{
	size_t ps = self->ps;
	const size_t lens[] = { 1, 7, 4095, 4096, 4097, 3 * ps + 1, 65537,
				MiB + 3 };
	const uint64_t bufoffs[] = { 0, 1, 2049, ps - 1 };
	const uint64_t devoffs[] = { 0, 3, ps - 5, MiB + 777 };
	uint32_t seed = 1;
	size_t i, j, k;

	for (i = 0; i < ARRAY_SIZE(lens); i++)
		for (j = 0; j < ARRAY_SIZE(bufoffs); j++)
			for (k = 0; k < ARRAY_SIZE(devoffs); k++) {
				uint64_t dst = 2 * MiB + ps +
					       (bufoffs[j] * 7 + 3) % ps;

				xfer_roundtrip(_metadata, self, bufoffs[j],
					       devoffs[k], lens[i], dst, seed++);
			}
}

/* Long transfers crossing many pages on both sides, misaligned unequally. */
TEST_F(xfer, many_pages_misaligned)
{
	size_t ps = self->ps;
	const struct { uint64_t buf, dev; size_t len; uint64_t dst; } c[] = {
		{ 123, 4000, 37 * ps + 17, 2 * MiB + 1000 },
		{ ps - 1, 1, 16 * ps + 2, 2 * MiB + 3 * ps + 1 },
		{ 2048, 2047, 64 * ps, 2 * MiB + 65 },
		{ 1, 7 * MiB - 3, 2 * MiB - ps + 9, 2 * MiB + ps - 1 },
		{ 0, 0, 2 * MiB, 2 * MiB + 2 * ps },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		xfer_roundtrip(_metadata, self, c[i].buf, c[i].dev, c[i].len,
			       c[i].dst, 0x1000 + i);
}

/* The whole store in one transfer each way, from odd buffer offsets. */
TEST_F_TIMEOUT(xfer, whole_store, 240)
{
	uint64_t size = self->dev_size, ps = self->ps;
	uint8_t *chk, tail[16];
	struct tbuf big;
	uint32_t h = 0;

	ASSERT_OK(tbuf_anon(&big, size + 2 * ps));
	ASSERT_OK(pinio_register(self->fd, big.p, big.len, PINIO_REG_BIDIR,
				 &h));
	pattern_fill(big.p + 1, size, 0, 0x64);
	ASSERT_OK(pinio_write(self->fd, h, 1, 0, size));

	chk = malloc(size);
	ASSERT_NE(NULL, chk);
	ASSERT_OK(dev_pread_all(self->fd, chk, size, 0));
	ASSERT_PATTERN(chk, size, 0, 0x64);
	free(chk);

	memset(big.p, 0, big.len);
	ASSERT_OK(pinio_read(self->fd, h, ps - 3, 0, size));
	ASSERT_FILLED(big.p, ps - 3, 0);
	ASSERT_PATTERN(big.p + ps - 3, size, 0, 0x64);
	ASSERT_FILLED(big.p + ps - 3 + size, ps + 3, 0);

	/* One byte too many on the device side: refused, nothing written. */
	memset(big.p, 0x11, big.len);
	ASSERT_ERR(EINVAL, pinio_write(self->fd, h, 0, 1, size));
	ASSERT_ERR(EINVAL, pinio_read(self->fd, h, 0, 1, size));
	ASSERT_FILLED(big.p, big.len, 0x11);
	ASSERT_OK(dev_pread_all(self->fd, tail, sizeof(tail),
				size - sizeof(tail)));
	ASSERT_PATTERN(tail, sizeof(tail), size - sizeof(tail), 0x64);
	ASSERT_DEV_PATTERN(self->fd, 0, 2 * MiB, 0x64);

	ASSERT_OK(pinio_unregister(self->fd, h));
	tbuf_free(&big);
}

/*
 * The checks shared by READ and WRITE. The store and the buffer are seeded
 * first; since every call must fail without side effects, both are
 * verified unchanged at the end.
 */
static void xfer_errors(struct __test_metadata *_metadata,
			FIXTURE_DATA(xfer) *self, unsigned long cmd)
{
	const uint64_t size = self->dev_size, ps = self->ps;
	const uint64_t rlen = 3 * ps;	/* small registration at b + 5 */
	const size_t seeded = 64 * KiB;
	uint32_t r = 0, gone = 0;
	const struct {
		int err;
		uint32_t op;
		uint64_t buf_off, dev_off, len;
	} c[] = {
		/* registration range */
		{ ERANGE, 0, rlen, 0, 1 },
		{ ERANGE, 0, rlen - 1, 0, 2 },
		{ ERANGE, 0, 0, 0, rlen + 1 },
		{ ERANGE, 0, 1, 100, rlen },
		{ ERANGE, 0, UINT64_MAX, 0, 2 },
		{ ERANGE, 0, UINT64_MAX - 1, 0, 4 },
		/* device range, length, op */
		{ EINVAL, 0, 0, 0, 0 },
		{ EINVAL, 0, 0, size, 1 },
		{ EINVAL, 0, 0, size - 1, 2 },
		{ EINVAL, 0, 0, size - 10, 20 },
		{ EINVAL, 0, 0, UINT64_MAX, 2 },
		{ EINVAL, 0, 0, UINT64_MAX - 1, 4 },
		{ EINVAL, 0, 0, 1ULL << 40, 1 },
		{ EINVAL, PINIO_OP_READ, 0, 0, 1 },
		{ EINVAL, PINIO_OP_WRITE, 0, 0, 1 },
		{ EINVAL, 0xffffffff, 0, 0, 1 },
	};
	size_t i;

	ASSERT_OK(pinio_register(self->fd, self->b.p + 5, rlen,
				 PINIO_REG_BIDIR, &r));
	ASSERT_OK(pinio_register(self->fd, self->b.p, ps, PINIO_REG_BIDIR,
				 &gone));
	ASSERT_OK(pinio_unregister(self->fd, gone));

	ASSERT_OK(seed_store(self->fd, 0, seeded, 0xa11));
	ASSERT_OK(seed_store(self->fd, size - seeded, seeded, 0xa12));
	/* Data that would differ from the store wherever it landed. */
	pattern_fill(self->b.p, self->b.len, 0, 0xbad);

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_ERR(c[i].err, pinio_xfer_op(self->fd, cmd, r, c[i].op,
						   c[i].buf_off, c[i].dev_off,
						   c[i].len))
			TH_LOG("case %zu: op %u buf_off 0x%" PRIx64
			       " dev_off 0x%" PRIx64 " len 0x%" PRIx64, i,
			       c[i].op, c[i].buf_off, c[i].dev_off, c[i].len);
	}

	/* Unknown handles. */
	EXPECT_ERR(ENOENT, pinio_xfer_op(self->fd, cmd, 0, 0, 0, 0, 1));
	EXPECT_ERR(ENOENT, pinio_xfer_op(self->fd, cmd, r + 1000, 0, 0, 0, 1));
	EXPECT_ERR(ENOENT, pinio_xfer_op(self->fd, cmd, UINT32_MAX, 0, 0, 0, 1));
	EXPECT_ERR(ENOENT, pinio_xfer_op(self->fd, cmd, gone, 0, 0, 0, 1));

	/* Bad argument pointers. */
	EXPECT_ERR(EFAULT, sys_ret(ioctl(self->fd, cmd, NULL)));
	EXPECT_ERR(EFAULT, sys_ret(ioctl(self->fd, cmd, (void *)KERNEL_ADDR)));
	EXPECT_ERR(EFAULT, sys_ret(ioctl(self->fd, cmd, unmapped_range(ps))));

	/* Nothing moved, either way. */
	ASSERT_PATTERN(self->b.p, self->b.len, 0, 0xbad);
	ASSERT_DEV_PATTERN(self->fd, 0, seeded, 0xa11);
	ASSERT_DEV_PATTERN(self->fd, size - seeded, seeded, 0xa12);

	/* The same registration works for valid ranges right at the edges. */
	ASSERT_OK(pinio_xfer_op(self->fd, cmd, r, 0, rlen - 1, size - 1, 1));
	ASSERT_OK(pinio_xfer_op(self->fd, cmd, r, 0, 0, size - rlen, rlen));
	ASSERT_OK(pinio_unregister(self->fd, r));
}

TEST_F(xfer, read_errors)
{
	xfer_errors(_metadata, self, PINIO_IOC_READ);
}

TEST_F(xfer, write_errors)
{
	xfer_errors(_metadata, self, PINIO_IOC_WRITE);
}

/* A registration only moves data in the directions it was made for. */
TEST_F(xfer, direction_enforced)
{
	size_t ps = self->ps, len = 2 * ps + 1;
	uint32_t d2u = 0, u2d = 0;
	uint8_t *out, *in;

	out = self->b.p + 3;
	in = self->b.p + MiB + 7;
	ASSERT_OK(pinio_register(self->fd, in, len, PINIO_REG_DEV_TO_USER,
				 &d2u));
	ASSERT_OK(pinio_register(self->fd, out, len, PINIO_REG_USER_TO_DEV,
				 &u2d));

	pattern_fill(out, len, 4 * ps + 1, 0xd1);
	ASSERT_OK(pinio_write(self->fd, u2d, 0, 4 * ps + 1, len));
	ASSERT_DEV_PATTERN(self->fd, 4 * ps + 1, len, 0xd1);
	memset(in, 0, len);
	ASSERT_OK(pinio_read(self->fd, d2u, 0, 4 * ps + 1, len));
	ASSERT_PATTERN(in, len, 4 * ps + 1, 0xd1);

	/* Wrong directions: EACCES, and neither side changes. */
	memset(out, 0x33, len);
	memset(in, 0x44, len);
	ASSERT_ERR(EACCES, pinio_read(self->fd, u2d, 0, 4 * ps + 1, len));
	ASSERT_ERR(EACCES, pinio_read(self->fd, u2d, 0, 0, 1));
	ASSERT_ERR(EACCES, pinio_write(self->fd, d2u, 0, 4 * ps + 1, len));
	ASSERT_ERR(EACCES, pinio_write(self->fd, d2u, 0, 0, 1));
	ASSERT_FILLED(out, len, 0x33);
	ASSERT_FILLED(in, len, 0x44);
	ASSERT_DEV_PATTERN(self->fd, 4 * ps + 1, len, 0xd1);
}

/* Two files on the device share one store. */
TEST_F(xfer, store_shared_between_files)
{
	struct tbuf b2;
	uint32_t h2 = 0;
	int fd2;

	fd2 = pinio_open();
	ASSERT_LE(0, fd2);
	ASSERT_OK(tbuf_anon(&b2, 8192));
	ASSERT_OK(pinio_register(fd2, b2.p, b2.len, PINIO_REG_BIDIR, &h2));
	pattern_fill(self->b.p + 9, 5000, 33333, 0x2f);
	ASSERT_OK(pinio_write(self->fd, self->h, 9, 33333, 5000));
	ASSERT_OK(pinio_read(fd2, h2, 3, 33333, 5000));
	ASSERT_PATTERN(b2.p + 3, 5000, 33333, 0x2f);
	close(fd2);
	tbuf_free(&b2);
}

/*
 * A batch runs in order: a READ sees what an earlier segment of the same
 * batch wrote, and a WRITE sends what an earlier READ fetched.
 */
TEST_F(xfer, batch_in_order)
{
	size_t ps = self->ps;
	const uint64_t X = 10 * ps + 1, Y = 20 * ps + 3, Z = 30 * ps - 5;
	struct pinio_xfer s[6];
	uint32_t done = 0;
	uint8_t *z;

	ASSERT_OK(seed_store(self->fd, 0, 40 * ps, BG_SEED));
	pattern_fill(self->b.p + 1, 3 * ps, X, 0xa);	/* a -> X */
	pattern_fill(self->b.p + 5 * ps, 2 * ps + 9, Y, 0xb);	/* b -> Y */
	memset(self->b.p + MiB, 0, 2 * MiB);
	s[0] = pinio_seg(self->h, PINIO_OP_WRITE, 1, X, 3 * ps);
	s[1] = pinio_seg(self->h, PINIO_OP_WRITE, 5 * ps, Y, 2 * ps + 9);
	s[2] = pinio_seg(self->h, PINIO_OP_READ, MiB + 3, X, 3 * ps);
	s[3] = pinio_seg(self->h, PINIO_OP_READ, MiB + 8 * ps, Y + 3, 2 * ps);
	/* Send the data s[2] fetched on to Z, then fetch it back. */
	s[4] = pinio_seg(self->h, PINIO_OP_WRITE, MiB + 3, Z, 3 * ps);
	s[5] = pinio_seg(self->h, PINIO_OP_READ, 2 * MiB + 1, Z, 3 * ps);
	ASSERT_OK(pinio_batch(self->fd, s, 6, &done));
	ASSERT_EQ(6, done);

	ASSERT_DEV_PATTERN(self->fd, X, 3 * ps, 0xa);
	ASSERT_DEV_PATTERN(self->fd, Y, 2 * ps + 9, 0xb);
	ASSERT_PATTERN(self->b.p + MiB + 3, 3 * ps, X, 0xa);
	ASSERT_PATTERN(self->b.p + MiB + 8 * ps, 2 * ps, Y + 3, 0xb);
	/* Z now holds X's data: the pattern of X's offsets. */
	z = malloc(3 * ps);
	ASSERT_NE(NULL, z);
	ASSERT_OK(dev_pread_all(self->fd, z, 3 * ps, Z));
	ASSERT_PATTERN(z, 3 * ps, X, 0xa);
	free(z);
	ASSERT_PATTERN(self->b.p + 2 * MiB + 1, 3 * ps, X, 0xa);
	/* Untouched: the store between the ranges. */
	ASSERT_DEV_PATTERN(self->fd, X + 3 * ps, Y - X - 3 * ps, BG_SEED);
}

/*
 * A failing segment stops the batch: its errno is returned, completed counts
 * the segments before it (all applied), none after it has run.
 */
TEST_F(xfer, batch_stops_at_first_failure)
{
	enum { NR = 5, SEG = 4099, STRIDE = 5000 };
	const uint64_t D = 3 * MiB + 1;
	uint32_t d2u = 0, gone = 0;
	struct {
		const char *what;
		int err;
		struct pinio_xfer bad;
	} c[] = {
		{ "unknown handle", ENOENT, { 0 } },
		{ "unregistered handle", ENOENT, { 0 } },
		{ "wrong direction", EACCES, { 0 } },
		{ "buffer range", ERANGE, { 0 } },
		{ "device range", EINVAL, { 0 } },
		{ "zero length", EINVAL, { 0 } },
		{ "op 0", EINVAL, { 0 } },
		{ "op 3", EINVAL, { 0 } },
		{ "op ~0", EINVAL, { 0 } },
	};
	const uint32_t at[] = { 0, 1, 3, NR - 1 };
	struct pinio_xfer s[NR];
	size_t i, j, k;

	ASSERT_OK(pinio_register(self->fd, self->b.p, MiB,
				 PINIO_REG_DEV_TO_USER, &d2u));
	ASSERT_OK(pinio_register(self->fd, self->b.p, 1, PINIO_REG_BIDIR,
				 &gone));
	ASSERT_OK(pinio_unregister(self->fd, gone));
	c[0].bad = pinio_seg(9999, PINIO_OP_WRITE, 0, D, 10);
	c[1].bad = pinio_seg(gone, PINIO_OP_WRITE, 0, D, 10);
	c[2].bad = pinio_seg(d2u, PINIO_OP_WRITE, 0, D, 10);
	c[3].bad = pinio_seg(self->h, PINIO_OP_WRITE, BUF_LEN - 5, D, 10);
	c[4].bad = pinio_seg(self->h, PINIO_OP_WRITE, 0,
			     self->dev_size - 5, 10);
	c[5].bad = pinio_seg(self->h, PINIO_OP_WRITE, 0, D, 0);
	c[6].bad = pinio_seg(self->h, 0, 0, D, 10);
	c[7].bad = pinio_seg(self->h, 3, 0, D, 10);
	c[8].bad = pinio_seg(self->h, 0xffffffff, 0, D, 10);

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		for (j = 0; j < ARRAY_SIZE(at); j++) {
			uint32_t seed = 0x100 * (i + 1) + 0x10 * j;
			uint32_t done = 0;

			ASSERT_OK(seed_store(self->fd, D, NR * STRIDE,
					     BG_SEED));
			for (k = 0; k < NR; k++) {
				uint64_t dev = D + k * STRIDE;
				uint64_t boff = 8192 * k + 3;

				pattern_fill(self->b.p + boff, SEG, dev,
					     seed + k);
				s[k] = pinio_seg(self->h, PINIO_OP_WRITE, boff,
						 dev, SEG);
			}
			s[at[j]] = c[i].bad;
			ASSERT_ERR(c[i].err, pinio_batch(self->fd, s, NR,
							 &done))
				TH_LOG("%s at segment %u", c[i].what, at[j]);
			ASSERT_EQ(at[j], done)
				TH_LOG("%s at segment %u", c[i].what, at[j]);
			for (k = 0; k < NR; k++) {
				uint64_t dev = D + k * STRIDE;

				if (k < at[j]) {
					ASSERT_DEV_PATTERN(self->fd, dev, SEG,
							   seed + k)
						TH_LOG("%s: segment %zu before"
						       " the failure not done",
						       c[i].what, k);
				} else {
					ASSERT_DEV_PATTERN(self->fd, dev,
							   STRIDE, BG_SEED)
						TH_LOG("%s: segment %zu ran "
						       "(failure at %u)",
						       c[i].what, k, at[j]);
				}
			}
		}
	}
}

/* The same for READ segments: buffers after the failure stay untouched. */
TEST_F(xfer, batch_read_stops_at_first_failure)
{
	enum { NR = 4, SEG = 3001 };
	struct pinio_xfer s[NR];
	uint32_t done = 0;
	size_t k;

	ASSERT_OK(seed_store(self->fd, 0, NR * 4096, 0xfeed));
	memset(self->b.p, 0x5a, NR * 8192);
	for (k = 0; k < NR; k++)
		s[k] = pinio_seg(self->h, PINIO_OP_READ, k * 8192 + 1,
				 k * 4096, SEG);
	s[2].buf_offset = BUF_LEN - SEG + 1;
	ASSERT_ERR(ERANGE, pinio_batch(self->fd, s, NR, &done));
	ASSERT_EQ(2, done);
	ASSERT_PATTERN(self->b.p + 1, SEG, 0, 0xfeed);
	ASSERT_PATTERN(self->b.p + 8192 + 1, SEG, 4096, 0xfeed);
	ASSERT_FILLED(self->b.p + 2 * 8192, 2 * 8192, 0x5a);
	ASSERT_FILLED(self->b.p + BUF_LEN - SEG, SEG, 0);
}

/* Errors of the batch call itself: nothing runs. */
TEST_F(xfer, batch_call_errors)
{
	const uint32_t max = self->info.max_batch;
	struct pinio_xfer *s, *edge;
	uint32_t done = 0;
	void *two;
	size_t i, ps = self->ps;

	s = calloc(max + 1, sizeof(*s));
	ASSERT_NE(NULL, s);
	ASSERT_OK(seed_store(self->fd, 0, 64 * KiB, 0xca11));
	pattern_fill(self->b.p, 64 * KiB, 0, 0xbeef);
	for (i = 0; i <= max; i++)
		s[i] = pinio_seg(self->h, PINIO_OP_WRITE, i * 64, i * 64, 64);

	ASSERT_ERR(EINVAL, pinio_batch(self->fd, s, 0, &done));
	ASSERT_ERR(EINVAL, pinio_batch(self->fd, s, max + 1, &done));
	ASSERT_ERR(EINVAL, pinio_batch(self->fd, s, UINT32_MAX, &done));
	ASSERT_ERR(EINVAL, pinio_batch_full(self->fd, s, 1, 1, 0, &done));
	ASSERT_ERR(EINVAL, pinio_batch_full(self->fd, s, 1, 1U << 31, 0,
					    &done));
	ASSERT_ERR(EINVAL, pinio_batch_full(self->fd, s, 1, 0, 1, &done));
	ASSERT_ERR(EFAULT, pinio_batch(self->fd, NULL, 1, &done));
	ASSERT_ERR(EFAULT, pinio_batch(self->fd, (void *)KERNEL_ADDR, 1,
				       &done));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_BATCH, NULL)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_BATCH,
					 (void *)KERNEL_ADDR)));
	ASSERT_DEV_PATTERN(self->fd, 0, 64 * KiB, 0xca11);

	/* Segment array running into an unmapped page. */
	two = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_OK(sys_ret(munmap((char *)two + ps, ps)));
	edge = (struct pinio_xfer *)((char *)two + ps) - 1;
	*edge = s[0];
	ASSERT_ERR(EFAULT, pinio_batch(self->fd, edge, 2, &done));
	/* That last in-page segment alone is fine. */
	ASSERT_OK(pinio_batch(self->fd, edge, 1, &done));
	ASSERT_EQ(1, done);
	ASSERT_DEV_PATTERN(self->fd, 0, 64, 0xbeef);
	munmap(two, ps);
	free(s);
}

/* PINIO_MAX_BATCH segments scatter then gather, byte exact. */
TEST_F(xfer, batch_max_segments)
{
	const uint32_t max = self->info.max_batch;
	struct pinio_xfer *s;
	uint32_t done = 0, i;

	ASSERT_EQ(PINIO_MAX_BATCH, max);
	s = calloc(max, sizeof(*s));
	ASSERT_NE(NULL, s);
	ASSERT_OK(seed_store(self->fd, 0, max * 4099 + 64, BG_SEED));
	/* Segment i: 13 bytes destined for device offset i * 4099 + 5. */
	for (i = 0; i < max; i++) {
		pattern_fill(self->b.p + i * 13 + 1, 13, i * 4099 + 5, 0x5e9);
		s[i] = pinio_seg(self->h, PINIO_OP_WRITE, i * 13 + 1,
				 i * 4099 + 5, 13);
	}
	ASSERT_OK(pinio_batch(self->fd, s, max, &done));
	ASSERT_EQ(max, done);
	for (i = 0; i < max; i++) {
		ASSERT_DEV_PATTERN(self->fd, i * 4099 + 5, 13, 0x5e9)
			TH_LOG("segment %u", i);
		ASSERT_DEV_PATTERN(self->fd, i * 4099 + 18, 4099 - 13,
				   BG_SEED) TH_LOG("after segment %u", i);
	}

	memset(self->b.p + MiB, 0, max * 17 + 64);
	for (i = 0; i < max; i++)
		s[i] = pinio_seg(self->h, PINIO_OP_READ, MiB + i * 17 + 2,
				 i * 4099 + 5, 13);
	ASSERT_OK(pinio_batch(self->fd, s, max, &done));
	ASSERT_EQ(max, done);
	for (i = 0; i < max; i++) {
		ASSERT_PATTERN(self->b.p + MiB + i * 17 + 2, 13, i * 4099 + 5,
			       0x5e9) TH_LOG("segment %u", i);
		ASSERT_FILLED(self->b.p + MiB + i * 17 + 15, 4, 0);
	}
	free(s);
}

#define ASSERT_BYTES(base, ddr, ddw) do {				\
	struct byte_stats __n;						\
	ASSERT_OK(byte_stats(&__n));					\
	ASSERT_EQ((base).dr + (int64_t)(ddr), __n.dr)			\
		TH_LOG("direct_read_bytes");				\
	ASSERT_EQ((base).dw + (int64_t)(ddw), __n.dw)			\
		TH_LOG("direct_write_bytes");				\
	ASSERT_EQ((base).br, __n.br) TH_LOG("buffered_read_bytes");	\
	ASSERT_EQ((base).bw, __n.bw) TH_LOG("buffered_write_bytes");	\
} while (0)

/* Direct byte counters move by exactly what was transferred. */
TEST_F(xfer, stats_direct_bytes)
{
	struct pinio_xfer s[4];
	struct byte_stats b;
	uint32_t done = 0;

	ASSERT_OK(byte_stats(&b));
	ASSERT_OK(pinio_write(self->fd, self->h, 1, 3, 12345));
	ASSERT_BYTES(b, 0, 12345);
	ASSERT_OK(pinio_read(self->fd, self->h, 7, 5, 777));
	ASSERT_BYTES(b, 777, 12345);
	ASSERT_OK(pinio_read(self->fd, self->h, 0, 0, 1));
	ASSERT_BYTES(b, 778, 12345);

	s[0] = pinio_seg(self->h, PINIO_OP_WRITE, 0, 0, 100);
	s[1] = pinio_seg(self->h, PINIO_OP_READ, 0, 0, 200);
	s[2] = pinio_seg(self->h, PINIO_OP_WRITE, 0, 4096, 3000);
	ASSERT_OK(pinio_batch(self->fd, s, 3, &done));
	ASSERT_BYTES(b, 978, 15445);

	/* Failures count nothing; a stopped batch counts what it did. */
	ASSERT_ERR(ERANGE, pinio_read(self->fd, self->h, BUF_LEN, 0, 1));
	ASSERT_ERR(EINVAL, pinio_write(self->fd, self->h, 0,
				       self->dev_size, 1));
	ASSERT_ERR(ENOENT, pinio_write(self->fd, 0, 0, 0, 1));
	ASSERT_BYTES(b, 978, 15445);
	s[0] = pinio_seg(self->h, PINIO_OP_WRITE, 0, 0, 10);
	s[1] = pinio_seg(self->h, PINIO_OP_READ, 0, 0, 20);
	s[2] = pinio_seg(self->h, PINIO_OP_READ, 0, self->dev_size, 30);
	s[3] = pinio_seg(self->h, PINIO_OP_WRITE, 0, 0, 40);
	ASSERT_ERR(EINVAL, pinio_batch(self->fd, s, 4, &done));
	ASSERT_EQ(2, done);
	ASSERT_BYTES(b, 998, 15455);

	/* A big one. */
	ASSERT_OK(pinio_write(self->fd, self->h, 0, 0, BUF_LEN));
	ASSERT_BYTES(b, 998, 15455 + BUF_LEN);
}

TEST_HARNESS_MAIN
