// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: IORING_OP_URING_CMD passthrough. Transfers through pinio handles
 * and through io_uring's own fixed buffers, inline-sized and workqueue-sized,
 * many in flight at once, every documented errno, linked chains (the
 * command succeeding, and an earlier request failing), drains, and
 * unregister / ring teardown with commands in flight. Raw syscalls, no
 * liburing.
 *
 * Every case runs under every way io_uring reaches ->uring_cmd(): issued
 * inline by io_uring_enter(), by an io-wq worker (IOSQE_ASYNC; also what an
 * -EAGAIN retry, a link or a drain may lead to), by an SQPOLL thread, and
 * on a DEFER_TASKRUN|SINGLE_ISSUER ring; and with pinio copying on its own
 * workqueue (uring_async_min), completing through task work, on the plain
 * and DEFER_TASKRUN rings. Each SQE must post
 * exactly one CQE with the exact res, within CQE_TIMEOUT_MS: a CQE that
 * never comes fails the case instead of hanging the suite. At the end of
 * each case the ring and the file are closed and pinio's counters and
 * module reference count must be back where they were, so a command that
 * never completed (and keeps the file, and the module, busy) fails too.
 */
#include <stddef.h>

#include "pinio_test_util.h"
#include "pinio_ring.h"

/* Long for a memcpy of a few MiB under TCG; short for a suite. */
#define CQE_TIMEOUT_MS	5000
/* How long after the last expected CQE a stray one would have to come. */
#define QUIET_MS	50

#define BUF_LEN		(8 * MiB + 2 * 4096)

FIXTURE(uring) {
	int fd;
	size_t ps;
	uint64_t dev_size;
	struct pinio_info info;
	struct pring r;
	struct tbuf b;
	uint32_t h;
	struct pin_snap base;
	uint64_t refcnt0;
	uint64_t old_async_min;
	uint64_t next_ud;
};

/*
 * @async_min: pinio's uring_async_min ("0": every copy at issue, "1": all
 * on pinio's workqueue). @setup: io_uring_setup() flags besides SQE128.
 * @sqe_flags: on every pinio command (IOSQE_ASYNC: issued from io-wq).
 */
FIXTURE_VARIANT(uring) {
	const char *async_min;
	unsigned int setup;
	uint8_t sqe_flags;
};

#define DEFER	(IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER)

FIXTURE_VARIANT_ADD(uring, inline) {
	.async_min = "0",
};

FIXTURE_VARIANT_ADD(uring, workqueue) {
	.async_min = "1",
};

FIXTURE_VARIANT_ADD(uring, iosqe_async) {
	.async_min = "0", .sqe_flags = IOSQE_ASYNC,
};

FIXTURE_VARIANT_ADD(uring, sqpoll) {
	.async_min = "0", .setup = IORING_SETUP_SQPOLL,
};

FIXTURE_VARIANT_ADD(uring, defer_taskrun) {
	.async_min = "0", .setup = DEFER,
};

FIXTURE_VARIANT_ADD(uring, defer_taskrun_workqueue) {
	.async_min = "1", .setup = DEFER,
};

FIXTURE_VARIANT_ADD(uring, defer_taskrun_iosqe_async) {
	.async_min = "0", .setup = DEFER, .sqe_flags = IOSQE_ASYNC,
};

/* The pinio module's reference count: one per open file, and none else. */
static int module_refcnt(uint64_t *v)
{
	return read_sysfs_u64("/sys/module/pinio/refcnt", v);
}

/* A ring of this variant's kind; @sqe128 false for the EOPNOTSUPP case. */
static int ring_init(struct pring *r, const FIXTURE_VARIANT(uring) *variant,
		     unsigned int entries, bool sqe128)
{
	/* An SQPOLL thread that idles soon spins less on the guest's CPUs. */
	return pring_init(r, entries,
			  variant->setup | (sqe128 ? IORING_SETUP_SQE128 : 0),
			  10);
}

FIXTURE_SETUP(uring)
{
	int ret;

	self->ps = page_size();
	self->r.fd = -1;
	self->fd = -1;
	self->next_ud = 1000;
	ASSERT_OK(module_refcnt(&self->refcnt0));
	ASSERT_OK(pinio_param("uring_async_min", &self->old_async_min));
	ASSERT_OK(write_sysfs_str(PINIO_SYSFS_PARAMS "uring_async_min",
				  variant->async_min));
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	self->dev_size = self->info.dev_size;
	if (!(self->info.features & PINIO_FEAT_URING_CMD))
		SKIP(return, "driver without PINIO_FEAT_URING_CMD");
	ret = ring_init(&self->r, variant, 64, true);
	/* Only a kernel without io_uring, or with it disabled, may skip. */
	if (!variant->setup && (ret == -ENOSYS || ret == -EPERM))
		SKIP(return, "io_uring not available: %s", errname(-ret));
	/* As root, SQPOLL and DEFER_TASKRUN must work on both kernels. */
	ASSERT_OK(ret) TH_LOG("io_uring_setup(%s): %s",
			      pring_mode(variant->setup), errname(-ret));
	ASSERT_OK(pin_snap(&self->base));
	ASSERT_OK(tbuf_anon(&self->b, BUF_LEN));
	ASSERT_OK(pinio_register(self->fd, self->b.p, BUF_LEN,
				 PINIO_REG_BIDIR, &self->h));
}

FIXTURE_TEARDOWN(uring)
{
	char old[24];

	pring_exit(&self->r);
	if (self->fd >= 0)
		close(self->fd);
	tbuf_free(&self->b);
	snprintf(old, sizeof(old), "%llu",
		 (unsigned long long)self->old_async_min);
	write_sysfs_str(PINIO_SYSFS_PARAMS "uring_async_min", old);
}

/* --- submitting and reaping ----------------------------------------------- */

static struct pinio_uring_cmd ucmd(uint32_t handle, uint64_t addr,
				   uint64_t buf_off, uint64_t dev_off,
				   uint64_t len)
{
	struct pinio_uring_cmd c = {
		.handle = handle, .addr = addr, .buf_offset = buf_off,
		.dev_offset = dev_off, .len = len,
	};

	return c;
}

/*
 * Queue one pinio command with the variant's SQE flags and @link_flags
 * (IOSQE_IO_LINK, ...): its user_data, or 0 if the SQ ring is full.
 */
static uint64_t queue_cmd(FIXTURE_DATA(uring) *self,
			  const FIXTURE_VARIANT(uring) *variant,
			  uint32_t cmd_op, struct pinio_uring_cmd c,
			  uint8_t link_flags, uint32_t uflags,
			  uint16_t buf_index)
{
	struct io_uring_sqe *sqe = pring_sqe(&self->r);

	if (!sqe)
		return 0;
	pring_prep_cmd(&self->r, sqe, self->fd, cmd_op, &c, sizeof(c),
		       self->next_ud, variant->sqe_flags | link_flags, uflags,
		       buf_index);
	return self->next_ud++;
}

static uint64_t queue_nop(FIXTURE_DATA(uring) *self, uint8_t flags)
{
	struct io_uring_sqe *sqe = pring_sqe(&self->r);

	if (!sqe)
		return 0;
	pring_prep_nop(sqe, self->next_ud, flags);
	return self->next_ud++;
}

/* Submit all queued; every one must go in. */
static void submit_all(struct __test_metadata *_metadata,
		       FIXTURE_DATA(uring) *self)
{
	unsigned int n = self->r.queued;
	int ret = pring_submit(&self->r);

	ASSERT_EQ((int)n, ret) TH_LOG("submitted %d of %u: %s", ret, n,
				      ret < 0 ? errname(-ret) : "short");
}

/*
 * Reap the CQEs of the @n SQEs with user_data @ud0 .. @ud0 + n - 1 into
 * @res: exactly one each, in any order, each within CQE_TIMEOUT_MS.
 */
static void reap_n(struct __test_metadata *_metadata,
		   const FIXTURE_VARIANT(uring) *variant, struct pring *r,
		   uint64_t ud0, unsigned int n, int *res)
{
	bool seen[64] = { false };
	struct io_uring_cqe cqe;
	unsigned int i;

	ASSERT_GE(64, n);
	for (i = 0; i < n; i++) {
		int ret = pring_wait(r, &cqe, CQE_TIMEOUT_MS);

		ASSERT_EQ(0, ret)
			TH_LOG("%u of %u CQEs came, then none in %d ms (%s "
			       "ring, sqe flags 0x%x, uring_async_min %s): %s",
			       i, n, CQE_TIMEOUT_MS, pring_mode(variant->setup),
			       variant->sqe_flags, variant->async_min,
			       errname(-ret));
		ASSERT_TRUE(cqe.user_data >= ud0 && cqe.user_data < ud0 + n)
			TH_LOG("a CQE for nothing we submitted: user_data %llu, "
			       "res %d", (unsigned long long)cqe.user_data,
			       cqe.res);
		ASSERT_FALSE(seen[cqe.user_data - ud0])
			TH_LOG("a second CQE for user_data %llu, res %d",
			       (unsigned long long)cqe.user_data, cqe.res);
		seen[cqe.user_data - ud0] = true;
		res[cqe.user_data - ud0] = cqe.res;
	}
}

/* One command, submitted and reaped: the CQE's res. */
static int uring_cmd1(struct __test_metadata *_metadata,
		      FIXTURE_DATA(uring) *self,
		      const FIXTURE_VARIANT(uring) *variant, uint32_t cmd_op,
		      struct pinio_uring_cmd c, uint32_t uflags,
		      uint16_t buf_index)
{
	uint64_t ud = queue_cmd(self, variant, cmd_op, c, 0, uflags,
				buf_index);
	int res = INT32_MIN;

	if (!ud) {
		TH_LOG("SQ ring full");
		return INT32_MIN;
	}
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud, 1, &res);
	return res;
}

#define CMD1(op, c, uflags, bi) \
	uring_cmd1(_metadata, self, variant, (op), (c), (uflags), (bi))

/*
 * The end of every case: no CQE beyond the expected ones, and once the
 * ring and the file are closed, nothing pinned by pinio and no reference
 * on the module (a command io_uring never completed keeps its file open).
 * Ring teardown is asynchronous: give it up to 10 seconds.
 */
static void finish(struct __test_metadata *_metadata,
		   FIXTURE_DATA(uring) *self)
{
	struct io_uring_cqe cqe;
	struct pin_snap now;
	uint64_t refcnt = 0;
	int i, ret;

	if (self->r.fd >= 0) {
		ret = pring_wait(&self->r, &cqe, QUIET_MS);
		ASSERT_EQ(-ETIME, ret)
			TH_LOG("an extra CQE: user_data %llu, res %d",
			       (unsigned long long)cqe.user_data, cqe.res);
	}
	pring_exit(&self->r);
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	tbuf_free(&self->b);
	for (i = 0; i < 200; i++) {
		ASSERT_OK(pin_snap(&now));
		ASSERT_OK(module_refcnt(&refcnt));
		if (now.regions == self->base.regions &&
		    now.pinned_pages == self->base.pinned_pages &&
		    now.vmpin_kb == self->base.vmpin_kb &&
		    refcnt == self->refcnt0)
			break;
		usleep(50000);
	}
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_EQ(self->refcnt0, refcnt)
		TH_LOG("pinio still referenced 10 s after every file closed");
}

/*
 * Is ->uring_cmd() called after io_uring_enter() returned (io-wq, SQPOLL
 * thread)? Then a command races with what the test does next.
 */
static bool issued_later(const FIXTURE_VARIANT(uring) *variant)
{
	return (variant->sqe_flags & IOSQE_ASYNC) ||
	       (variant->setup & IORING_SETUP_SQPOLL);
}

/* --- tests -------------------------------------------------------------- */

/* Both directions through a pinio handle, from 1 byte to 3 MiB. */
TEST_F_TIMEOUT(uring, handle_roundtrip, 120)
{
	const size_t lens[] = { 1, 4097, 128 * KiB - 1, 128 * KiB,
				3 * MiB + 5 };
	int64_t dr0 = pinio_stat("direct_read_bytes");
	int64_t dw0 = pinio_stat("direct_write_bytes");
	int64_t moved = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t len = lens[i];
		uint64_t src = 3 + i, dst = 4 * MiB + 5 + i;
		uint64_t dev = MiB * i + 4093;

		pattern_fill(self->b.p + src, len, dev, 0x0100 + i);
		ASSERT_EQ((int)len, CMD1(PINIO_URING_CMD_WRITE,
					 ucmd(self->h, 0, src, dev, len), 0, 0))
			TH_LOG("len %zu", len);
		ASSERT_DEV_PATTERN(self->fd, dev, len, 0x0100 + i);

		memset(self->b.p + dst - 1, 0xee, len + 2);
		ASSERT_EQ((int)len, CMD1(PINIO_URING_CMD_READ,
					 ucmd(self->h, 0, dst, dev, len), 0, 0))
			TH_LOG("len %zu", len);
		ASSERT_EQ(0xee, self->b.p[dst - 1]);
		ASSERT_PATTERN(self->b.p + dst, len, dev, 0x0100 + i);
		ASSERT_EQ(0xee, self->b.p[dst + len]);
		moved += len;
	}
	ASSERT_EQ(dr0 + moved, pinio_stat("direct_read_bytes"));
	ASSERT_EQ(dw0 + moved, pinio_stat("direct_write_bytes"));
	finish(_metadata, self);
}

/* Many commands in flight at once, completing in any order. */
TEST_F_TIMEOUT(uring, many_in_flight, 120)
{
	enum { N = 32 };
	const size_t len = 256 * KiB + 3;
	int res[N];
	uint64_t ud0 = self->next_ud;
	int i;

	for (i = 0; i < N; i++) {
		pattern_fill(self->b.p + i * len, len, i * len, 0x77);
		ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
				       ucmd(self->h, 0, i * len, i * len, len),
				       0, 0, 0));
	}
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, N, res);
	for (i = 0; i < N; i++)
		ASSERT_EQ((int)len, res[i]) TH_LOG("command %d", i);
	ASSERT_DEV_PATTERN(self->fd, 0, N * len, 0x77);
	finish(_metadata, self);
}

/* Register @len bytes of @fb as the ring's fixed buffer 0. */
static void fixed_setup(struct __test_metadata *_metadata,
			FIXTURE_DATA(uring) *self, struct tbuf *fb,
			size_t len)
{
	struct iovec iov;
	int ret;

	ASSERT_OK(tbuf_anon(fb, len));
	iov.iov_base = fb->p;
	iov.iov_len = len;
	ret = pring_register_buffers(&self->r, &iov, 1);
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_BUFFERS: %s",
				 errname(-ret));
}

/* io_uring's own registered buffers (IORING_URING_CMD_FIXED). */
TEST_F(uring, fixed_buffers)
{
	const size_t flen = 2 * MiB;
	struct tbuf fb;
	uint64_t base;

	fixed_setup(_metadata, self, &fb, flen);
	base = (uintptr_t)fb.p;

	pattern_fill(fb.p + 3, MiB + 1, 12345, 0xf1);
	ASSERT_EQ((int)(MiB + 1),
		  CMD1(PINIO_URING_CMD_WRITE,
		       ucmd(0, base + 3, 0, 12345, MiB + 1),
		       IORING_URING_CMD_FIXED, 0));
	ASSERT_DEV_PATTERN(self->fd, 12345, MiB + 1, 0xf1);
	memset(fb.p, 0, flen);
	ASSERT_EQ(4099, CMD1(PINIO_URING_CMD_READ,
			     ucmd(0, base + 4096 + 7, 0, 12345 + 10, 4099),
			     IORING_URING_CMD_FIXED, 0));
	ASSERT_FILLED(fb.p, 4096 + 7, 0);
	ASSERT_PATTERN(fb.p + 4096 + 7, 4099, 12345 + 10, 0xf1);
	ASSERT_FILLED(fb.p + 4096 + 7 + 4099, flen - 4096 - 7 - 4099, 0);

	/* Outside the io_uring buffer, or mixing in pinio's fields. */
	ASSERT_EQ(-EFAULT, CMD1(PINIO_URING_CMD_READ,
				ucmd(0, base + flen - 10, 0, 0, 11),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EFAULT, CMD1(PINIO_URING_CMD_WRITE,
				ucmd(0, base - 4096, 0, 0, 10),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EFAULT, CMD1(PINIO_URING_CMD_READ, ucmd(0, base, 0, 0, 10),
				IORING_URING_CMD_FIXED, 5));
	ASSERT_EQ(-EINVAL, CMD1(PINIO_URING_CMD_READ,
				ucmd(self->h, base, 0, 0, 10),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, CMD1(PINIO_URING_CMD_READ, ucmd(0, base, 1, 0, 10),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, CMD1(PINIO_URING_CMD_READ,
				ucmd(0, base, 0, self->dev_size - 5, 10),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, CMD1(PINIO_URING_CMD_READ, ucmd(0, base, 0, 0, 0),
				IORING_URING_CMD_FIXED, 0));
	ASSERT_FILLED(fb.p, 4096 + 7, 0);
	ASSERT_DEV_PATTERN(self->fd, 12345, MiB + 1, 0xf1);
	finish(_metadata, self);
	tbuf_free(&fb);
}

/* Every documented errno in the CQE, with nothing moved. */
TEST_F(uring, errors)
{
	const uint64_t size = self->dev_size;
	struct pinio_uring_cmd c;
	uint32_t d2u = 0, gone = 0;
	struct io_uring_cqe cqe;
	struct pring small;
	int ret = 0;

	ASSERT_OK(pinio_register(self->fd, self->b.p, 4096,
				 PINIO_REG_DEV_TO_USER, &d2u));
	ASSERT_OK(pinio_register(self->fd, self->b.p, 1, PINIO_REG_BIDIR,
				 &gone));
	ASSERT_OK(pinio_unregister(self->fd, gone));
	ASSERT_OK(seed_store(self->fd, 0, 64 * KiB, 0xe1));
	ASSERT_OK(seed_store(self->fd, size - 64 * KiB, 64 * KiB, 0xe2));
	pattern_fill(self->b.p, BUF_LEN, 0, 0xbad);

#define UCMD(op, cmd) CMD1((op), (cmd), 0, 0)
	ASSERT_EQ(-ENOTTY, UCMD(_IOW(PINIO_IOC_MAGIC, 0x1f,
				     struct pinio_uring_cmd),
				ucmd(self->h, 0, 0, 0, 1)));
	ASSERT_EQ(-ENOTTY, UCMD(PINIO_IOC_WRITE, ucmd(self->h, 0, 0, 0, 1)));
	c = ucmd(self->h, 0, 0, 0, 1);
	c.flags = 1;
	ASSERT_EQ(-EINVAL, UCMD(PINIO_URING_CMD_WRITE, c));
	ASSERT_EQ(-EINVAL, UCMD(PINIO_URING_CMD_WRITE,
				ucmd(self->h, (uintptr_t)self->b.p, 0, 0, 1)));
	ASSERT_EQ(-ENOENT, UCMD(PINIO_URING_CMD_WRITE, ucmd(0, 0, 0, 0, 1)));
	ASSERT_EQ(-ENOENT, UCMD(PINIO_URING_CMD_READ, ucmd(gone, 0, 0, 0, 1)));
	ASSERT_EQ(-EACCES, UCMD(PINIO_URING_CMD_WRITE, ucmd(d2u, 0, 0, 0, 1)));
	ASSERT_EQ(-ERANGE, UCMD(PINIO_URING_CMD_WRITE,
				ucmd(self->h, 0, BUF_LEN - 1, 0, 2)));
	ASSERT_EQ(-ERANGE, UCMD(PINIO_URING_CMD_READ,
				ucmd(self->h, 0, UINT64_MAX, 0, 2)));
	ASSERT_EQ(-EINVAL, UCMD(PINIO_URING_CMD_WRITE,
				ucmd(self->h, 0, 0, size - 1, 2)));
	ASSERT_EQ(-EINVAL, UCMD(PINIO_URING_CMD_READ,
				ucmd(self->h, 0, 0, UINT64_MAX, 2)));
	ASSERT_EQ(-EINVAL, UCMD(PINIO_URING_CMD_READ,
				ucmd(self->h, 0, 0, 0, 0)));
#undef UCMD
	ASSERT_PATTERN(self->b.p, BUF_LEN, 0, 0xbad);
	ASSERT_DEV_PATTERN(self->fd, 0, 64 * KiB, 0xe1);
	ASSERT_DEV_PATTERN(self->fd, size - 64 * KiB, 64 * KiB, 0xe2);

	/* A ring of the same kind with 64-byte SQEs cannot carry the payload. */
	ASSERT_OK(ring_init(&small, variant, 8, false));
	c = ucmd(self->h, 0, 0, 0, 1);
	pring_prep_cmd(&small, pring_sqe(&small), self->fd,
		       PINIO_URING_CMD_READ, &c, sizeof(c), 77,
		       variant->sqe_flags, 0, 0);
	ASSERT_EQ(1, pring_submit(&small));
	reap_n(_metadata, variant, &small, 77, 1, &ret);
	ASSERT_EQ(-EOPNOTSUPP, ret) TH_LOG("got %s", errname(-ret));
	ASSERT_EQ(-ETIME, pring_wait(&small, &cqe, QUIET_MS))
		TH_LOG("an extra CQE: user_data %llu, res %d",
		       (unsigned long long)cqe.user_data, cqe.res);
	pring_exit(&small);
	finish(_metadata, self);
}

/*
 * A chain in which the pinio commands succeed: each link must run, with
 * its own res. A command that returned its result to 6.1's io_uring
 * instead of completing it failed the request and cancelled the rest.
 * Chains with the commands at the head, in the middle (issued from the
 * previous link's completion) and mixing handles and fixed buffers.
 */
TEST_F_TIMEOUT(uring, link_success, 60)
{
	const size_t len = 64 * KiB + 7, flen = MiB;
	uint64_t dev = 3 * MiB + 1, ud0;
	struct tbuf fb;
	int res[5], r16[16], i;

	fixed_setup(_metadata, self, &fb, flen);

	/* WRITE (handle) -> READ (fixed) -> NOP */
	pattern_fill(self->b.p + 11, len, dev, 0x11c);
	memset(fb.p, 0x5a, flen);
	ud0 = self->next_ud;
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, 11, dev, len), IOSQE_IO_LINK,
			       0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(0, (uintptr_t)fb.p + 5, 0, dev, len),
			       IOSQE_IO_LINK, IORING_URING_CMD_FIXED, 0));
	ASSERT_NE(0, queue_nop(self, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 3, res);
	ASSERT_EQ((int)len, res[0]);
	ASSERT_EQ((int)len, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x11c);
	ASSERT_FILLED(fb.p, 5, 0x5a);
	ASSERT_PATTERN(fb.p + 5, len, dev, 0x11c);
	ASSERT_FILLED(fb.p + 5 + len, flen - 5 - len, 0x5a);

	/* NOP -> WRITE (fixed) -> WRITE (handle) -> READ (handle) -> NOP */
	pattern_fill(fb.p, len, dev + len, 0x21c);
	pattern_fill(self->b.p + MiB, len, dev + 2 * len, 0x22c);
	memset(self->b.p + 5 * MiB, 0xa5, 2 * len + 2);
	ud0 = self->next_ud;
	ASSERT_NE(0, queue_nop(self, IOSQE_IO_LINK));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(0, (uintptr_t)fb.p, 0, dev + len, len),
			       IOSQE_IO_LINK, IORING_URING_CMD_FIXED, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, MiB, dev + 2 * len, len),
			       IOSQE_IO_LINK, 0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(self->h, 0, 5 * MiB + 1, dev + len,
				    2 * len), IOSQE_IO_LINK, 0, 0));
	ASSERT_NE(0, queue_nop(self, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 5, res);
	ASSERT_EQ(0, res[0]);
	ASSERT_EQ((int)len, res[1]);
	ASSERT_EQ((int)len, res[2]);
	ASSERT_EQ((int)(2 * len), res[3]);
	ASSERT_EQ(0, res[4]);
	ASSERT_EQ(0xa5, self->b.p[5 * MiB]);
	ASSERT_PATTERN(self->b.p + 5 * MiB + 1, len, dev + len, 0x21c);
	ASSERT_PATTERN(self->b.p + 5 * MiB + 1 + len, len, dev + 2 * len,
		       0x22c);
	ASSERT_EQ(0xa5, self->b.p[5 * MiB + 1 + 2 * len]);

	/* A chain of 16 commands, each reading what the one before wrote. */
	ud0 = self->next_ud;
	pattern_fill(self->b.p, len, 0, 0x33c);
	for (i = 0; i < 16; i++) {
		/* even: buffer[i * len] -> store; odd: store -> buffer */
		uint32_t op = i & 1 ? PINIO_URING_CMD_READ :
				      PINIO_URING_CMD_WRITE;
		uint64_t boff = (i + 1) / 2 * len;

		ASSERT_NE(0, queue_cmd(self, variant, op,
				       ucmd(self->h, 0, boff, 0, len),
				       i < 15 ? IOSQE_IO_LINK : 0, 0, 0));
	}
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 16, r16);
	for (i = 0; i < 16; i++)
		ASSERT_EQ((int)len, r16[i]) TH_LOG("link %d", i);
	/* The pattern travelled through every slot of the buffer. */
	for (i = 0; i < 9; i++)
		ASSERT_PATTERN(self->b.p + i * len, len, 0, 0x33c)
			TH_LOG("slot %d", i);
	finish(_metadata, self);
	tbuf_free(&fb);
}

/*
 * A chain in which an earlier request fails: every later link gets
 * -ECANCELED and moves nothing, and the ring goes on working. The failing
 * request is another opcode's, or a pinio command's own errno (handle and
 * fixed). With IOSQE_IO_HARDLINK the next command runs anyway.
 */
TEST_F_TIMEOUT(uring, link_after_failure, 60)
{
	const size_t len = 32 * KiB + 3, flen = MiB;
	uint64_t dev = 2 * MiB + 5, ud0;
	struct io_uring_sqe *sqe;
	char rbuf[16];
	struct tbuf fb;
	int res[4], wr;
	uint8_t *d = malloc(len);

	ASSERT_NE(NULL, d);
	fixed_setup(_metadata, self, &fb, flen);
	ASSERT_OK(seed_store(self->fd, dev, 4 * len, 0x40));
	pattern_fill(self->b.p, 4 * len, 0, 0x41);
	pattern_fill(fb.p, flen, 0, 0x42);
	wr = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);

	/* READ of a write-only file (-EBADF) -> WRITE -> READ (fixed) */
	ud0 = self->next_ud;
	sqe = pring_sqe(&self->r);
	ASSERT_NE(NULL, sqe);
	pring_prep_read(sqe, wr, rbuf, sizeof(rbuf), 0, self->next_ud++,
			IOSQE_IO_LINK);
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, 0, dev, len), IOSQE_IO_LINK,
			       0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(0, (uintptr_t)fb.p, 0, dev, len), 0,
			       IORING_URING_CMD_FIXED, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 3, res);
	ASSERT_EQ(-EBADF, res[0]);
	ASSERT_EQ(-ECANCELED, res[1]);
	ASSERT_EQ(-ECANCELED, res[2]);

	/* WRITE, unknown handle (-ENOENT) -> WRITE -> NOP */
	ud0 = self->next_ud;
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h + 100, 0, 0, dev, len),
			       IOSQE_IO_LINK, 0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, 0, dev, len), IOSQE_IO_LINK,
			       0, 0));
	ASSERT_NE(0, queue_nop(self, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 3, res);
	ASSERT_EQ(-ENOENT, res[0]);
	ASSERT_EQ(-ECANCELED, res[1]);
	ASSERT_EQ(-ECANCELED, res[2]);

	/* WRITE (handle) -> READ (fixed, past its end: -EFAULT) -> READ */
	ud0 = self->next_ud;
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, 0, dev + len, len),
			       IOSQE_IO_LINK, 0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(0, (uintptr_t)fb.p + flen - 1, 0, dev,
				    2), IOSQE_IO_LINK,
			       IORING_URING_CMD_FIXED, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(self->h, 0, len, dev, len), 0, 0, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 3, res);
	ASSERT_EQ((int)len, res[0]);
	ASSERT_EQ(-EFAULT, res[1]);
	ASSERT_EQ(-ECANCELED, res[2]);

	/* Nothing the cancelled links would have moved was moved. */
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x40);
	ASSERT_PATTERN(fb.p, flen, 0, 0x42);
	ASSERT_PATTERN(self->b.p + len, 3 * len, len, 0x41);
	/* What the one successful link wrote is there. */
	ASSERT_OK(dev_pread_all(self->fd, d, len, dev + len));
	ASSERT_PATTERN(d, len, 0, 0x41);

	/* HARDLINK: READ (-ERANGE) => WRITE runs anyway -> NOP */
	ud0 = self->next_ud;
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(self->h, 0, BUF_LEN, dev, 1),
			       IOSQE_IO_HARDLINK, 0, 0));
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
			       ucmd(self->h, 0, 2 * len, dev + 2 * len, len),
			       IOSQE_IO_LINK, 0, 0));
	ASSERT_NE(0, queue_nop(self, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, 3, res);
	ASSERT_EQ(-ERANGE, res[0]);
	ASSERT_EQ((int)len, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_OK(dev_pread_all(self->fd, d, len, dev + 2 * len));
	ASSERT_PATTERN(d, len, 2 * len, 0x41);
	ASSERT_DEV_PATTERN(self->fd, dev + 3 * len, len, 0x40);

	/* And a command after all that, on its own. */
	ASSERT_EQ((int)len, CMD1(PINIO_URING_CMD_READ,
				 ucmd(0, (uintptr_t)fb.p + 1, 0, dev, len),
				 IORING_URING_CMD_FIXED, 0));
	ASSERT_PATTERN(fb.p + 1, len, dev, 0x40);
	free(d);
	close(wr);
	finish(_metadata, self);
	tbuf_free(&fb);
}

/*
 * IOSQE_IO_DRAIN: the drained command waits for everything before it
 * (io_uring issues it later, from a completion), then reads what they all
 * wrote.
 */
TEST_F_TIMEOUT(uring, drain, 60)
{
	enum { N = 8 };
	const size_t len = 128 * KiB + 1;
	uint64_t ud0 = self->next_ud;
	int res[N + 2], i;

	for (i = 0; i < N; i++) {
		pattern_fill(self->b.p + i * len, len, i * len, 0xd1);
		ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
				       ucmd(self->h, 0, i * len, i * len, len),
				       0, 0, 0));
	}
	memset(self->b.p + 4 * MiB, 0, N * len);
	ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_READ,
			       ucmd(self->h, 0, 4 * MiB, 0, N * len),
			       IOSQE_IO_DRAIN, 0, 0));
	ASSERT_NE(0, queue_nop(self, 0));
	submit_all(_metadata, self);
	reap_n(_metadata, variant, &self->r, ud0, N + 2, res);
	for (i = 0; i < N; i++)
		ASSERT_EQ((int)len, res[i]) TH_LOG("write %d", i);
	ASSERT_EQ((int)(N * len), res[N]);
	ASSERT_EQ(0, res[N + 1]);
	ASSERT_PATTERN(self->b.p + 4 * MiB, N * len, 0, 0xd1);
	finish(_metadata, self);
}

/*
 * Unregister with commands in flight: they took their reference at issue
 * and complete in full; the pins go when the last one does. Where io_uring
 * issues them after io_uring_enter() returned (io-wq, SQPOLL), a command
 * may come after the unregister and fail with -ENOENT instead.
 */
TEST_F_TIMEOUT(uring, unregister_in_flight, 120)
{
	enum { N = 8 };
	const size_t len = MiB - 1;
	uint64_t ud0 = self->next_ud;
	int res[N], i, done = 0;
	uint8_t *d;

	ASSERT_OK(seed_store(self->fd, 0, 8 * MiB + 3, 0x87));
	for (i = 0; i < N; i++) {
		pattern_fill(self->b.p + i * MiB + 1, len, i * MiB + 3, 0x88);
		ASSERT_NE(0, queue_cmd(self, variant, PINIO_URING_CMD_WRITE,
				       ucmd(self->h, 0, i * MiB + 1,
					    i * MiB + 3, len), 0, 0, 0));
	}
	submit_all(_metadata, self);
	ASSERT_OK(pinio_unregister(self->fd, self->h));
	reap_n(_metadata, variant, &self->r, ud0, N, res);
	d = malloc(len);
	ASSERT_NE(NULL, d);
	for (i = 0; i < N; i++) {
		ASSERT_OK(dev_pread_all(self->fd, d, len, i * MiB + 3));
		if (res[i] == -ENOENT && issued_later(variant)) {
			ASSERT_PATTERN(d, len, i * MiB + 3, 0x87);
			continue;
		}
		ASSERT_EQ((int)len, res[i]) TH_LOG("command %d", i);
		ASSERT_PATTERN(d, len, i * MiB + 3, 0x88);
		done++;
	}
	free(d);
	TH_LOG("%d of %d completed before the unregister", done, N);
	/* Submitted after the unregister: the handle is gone. */
	ASSERT_EQ(-ENOENT, CMD1(PINIO_URING_CMD_READ,
				ucmd(self->h, 0, 0, 0, 1), 0, 0));
	ASSERT_PINS(self->base, 0, 0);
	finish(_metadata, self);
}

/* Tear everything down with commands in flight: nothing leaks. */
TEST_F_TIMEOUT(uring, close_in_flight, 120)
{
	enum { N = 16 };
	int i;

	for (i = 0; i < N; i++) {
		ASSERT_NE(0, queue_cmd(self, variant,
				       i & 1 ? PINIO_URING_CMD_READ :
					       PINIO_URING_CMD_WRITE,
				       ucmd(self->h, 0, 0, 0, 4 * MiB),
				       i % 4 == 3 ? IOSQE_IO_LINK : 0, 0, 0));
	}
	submit_all(_metadata, self);
	pring_exit(&self->r);
	finish(_metadata, self);
}

TEST_HARNESS_MAIN
