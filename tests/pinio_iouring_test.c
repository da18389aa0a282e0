// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: IORING_OP_URING_CMD passthrough. Transfers through pinio handles
 * and through io_uring's own fixed buffers, inline-sized and workqueue-sized,
 * many in flight at once, every documented errno, and unregister / ring
 * teardown with commands in flight. Raw syscalls, no liburing.
 */
#include <stddef.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"

/* --- the raw io_uring of pinio_hardening.h, as these tests use it ------ */

/* Submit everything queued, wait for @wait: 0, -EIO if not all went in. */
static int ring_submit(struct hring *r, unsigned int wait)
{
	unsigned int n = r->unsubmitted;
	int ret = hring_submit(r, wait);

	if (ret < 0)
		return ret;
	return (unsigned int)ret == n ? 0 : -EIO;
}

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

/* One command, submitted and reaped: the CQE's res, or a ring error. */
static int uring_cmd1(struct hring *r, int fd, uint32_t cmd_op,
		      struct pinio_uring_cmd c, uint32_t uflags,
		      uint16_t buf_index)
{
	return hring_cmd1(r, fd, cmd_op, &c, uflags, buf_index);
}

/* --- tests -------------------------------------------------------------- */

#define BUF_LEN		(8 * MiB + 2 * 4096)

FIXTURE(uring) {
	int fd;
	size_t ps;
	uint64_t dev_size;
	struct pinio_info info;
	struct hring r;
	struct tbuf b;
	uint32_t h;
	struct pin_snap base;
	uint64_t old_async_min;
};

/* Every case runs with all commands inline and all on the workqueue. */
FIXTURE_VARIANT(uring) {
	const char *async_min;
};

FIXTURE_VARIANT_ADD(uring, inline) {
	.async_min = "0",
};

FIXTURE_VARIANT_ADD(uring, workqueue) {
	.async_min = "1",
};

FIXTURE_SETUP(uring)
{
	int ret;

	self->ps = page_size();
	self->r.fd = -1;
	ASSERT_OK(pinio_param("uring_async_min", &self->old_async_min));
	ASSERT_OK(write_sysfs_str(PINIO_SYSFS_PARAMS "uring_async_min",
				  variant->async_min));
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	self->dev_size = self->info.dev_size;
	if (!(self->info.features & PINIO_FEAT_URING_CMD))
		SKIP(return, "driver without PINIO_FEAT_URING_CMD");
	ret = hring_init(&self->r, 64, IORING_SETUP_SQE128);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring not available: %s", errname(-ret));
	ASSERT_OK(ret);
	ASSERT_OK(pin_snap(&self->base));
	ASSERT_OK(tbuf_anon(&self->b, BUF_LEN));
	ASSERT_OK(pinio_register(self->fd, self->b.p, BUF_LEN,
				 PINIO_REG_BIDIR, &self->h));
}

FIXTURE_TEARDOWN(uring)
{
	char old[24];

	hring_exit(&self->r);
	if (self->fd >= 0)
		close(self->fd);
	tbuf_free(&self->b);
	snprintf(old, sizeof(old), "%llu",
		 (unsigned long long)self->old_async_min);
	write_sysfs_str(PINIO_SYSFS_PARAMS "uring_async_min", old);
}

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
		ASSERT_EQ((int)len, uring_cmd1(&self->r, self->fd,
					       PINIO_URING_CMD_WRITE,
					       ucmd(self->h, 0, src, dev, len),
					       0, 0)) TH_LOG("len %zu", len);
		ASSERT_DEV_PATTERN(self->fd, dev, len, 0x0100 + i);

		memset(self->b.p + dst - 1, 0xee, len + 2);
		ASSERT_EQ((int)len, uring_cmd1(&self->r, self->fd,
					       PINIO_URING_CMD_READ,
					       ucmd(self->h, 0, dst, dev, len),
					       0, 0)) TH_LOG("len %zu", len);
		ASSERT_EQ(0xee, self->b.p[dst - 1]);
		ASSERT_PATTERN(self->b.p + dst, len, dev, 0x0100 + i);
		ASSERT_EQ(0xee, self->b.p[dst + len]);
		moved += len;
	}
	ASSERT_EQ(dr0 + moved, pinio_stat("direct_read_bytes"));
	ASSERT_EQ(dw0 + moved, pinio_stat("direct_write_bytes"));
}

/* Many commands in flight at once, completing in any order. */
TEST_F_TIMEOUT(uring, many_in_flight, 120)
{
	enum { N = 32 };
	const size_t len = 256 * KiB + 3;
	struct io_uring_cqe cqe;
	bool seen[N] = { false };
	int i;

	for (i = 0; i < N; i++) {
		struct pinio_uring_cmd c = ucmd(self->h, 0, i * len, i * len,
						len);

		pattern_fill(self->b.p + i * len, len, i * len, 0x77);
		hring_prep_cmd(&self->r, hring_sqe(&self->r), self->fd,
			       PINIO_URING_CMD_WRITE, &c, sizeof(c), 1000 + i, 0, 0);
	}
	ASSERT_OK(ring_submit(&self->r, 0));
	for (i = 0; i < N; i++) {
		ASSERT_OK(hring_wait(&self->r, &cqe));
		ASSERT_LE(1000, cqe.user_data);
		ASSERT_GT(1000 + N, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data - 1000]);
		seen[cqe.user_data - 1000] = true;
		ASSERT_EQ((int)len, cqe.res);
	}
	ASSERT_DEV_PATTERN(self->fd, 0, N * len, 0x77);
}

/* io_uring's own registered buffers (IORING_URING_CMD_FIXED). */
TEST_F(uring, fixed_buffers)
{
	const size_t flen = 2 * MiB;
	struct tbuf fb;
	struct iovec iov;
	uint64_t base;
	int ret;

	ASSERT_OK(tbuf_anon(&fb, flen));
	iov.iov_base = fb.p;
	iov.iov_len = flen;
	ret = syscall(__NR_io_uring_register, self->r.fd,
		      IORING_REGISTER_BUFFERS, &iov, 1);
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_BUFFERS: %s",
				 errname(errno));
	base = (uintptr_t)fb.p;

	pattern_fill(fb.p + 3, MiB + 1, 12345, 0xf1);
	ASSERT_EQ((int)(MiB + 1),
		  uring_cmd1(&self->r, self->fd, PINIO_URING_CMD_WRITE,
			     ucmd(0, base + 3, 0, 12345, MiB + 1),
			     IORING_URING_CMD_FIXED, 0));
	ASSERT_DEV_PATTERN(self->fd, 12345, MiB + 1, 0xf1);
	memset(fb.p, 0, flen);
	ASSERT_EQ(4099, uring_cmd1(&self->r, self->fd, PINIO_URING_CMD_READ,
				   ucmd(0, base + 4096 + 7, 0, 12345 + 10,
					4099),
				   IORING_URING_CMD_FIXED, 0));
	ASSERT_FILLED(fb.p, 4096 + 7, 0);
	ASSERT_PATTERN(fb.p + 4096 + 7, 4099, 12345 + 10, 0xf1);
	ASSERT_FILLED(fb.p + 4096 + 7 + 4099, flen - 4096 - 7 - 4099, 0);

	/* Outside the io_uring buffer, or mixing in pinio's fields. */
	ASSERT_EQ(-EFAULT, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(0, base + flen - 10, 0, 0, 11),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EFAULT, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_WRITE,
				      ucmd(0, base - 4096, 0, 0, 10),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EFAULT, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(0, base, 0, 0, 10),
				      IORING_URING_CMD_FIXED, 5));
	ASSERT_EQ(-EINVAL, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(self->h, base, 0, 0, 10),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(0, base, 1, 0, 10),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(0, base, 0, self->dev_size - 5, 10),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_EQ(-EINVAL, uring_cmd1(&self->r, self->fd,
				      PINIO_URING_CMD_READ,
				      ucmd(0, base, 0, 0, 0),
				      IORING_URING_CMD_FIXED, 0));
	ASSERT_FILLED(fb.p, 4096 + 7, 0);
	hring_exit(&self->r);
	tbuf_free(&fb);
}

/* Every documented errno in the CQE, with nothing moved. */
TEST_F(uring, errors)
{
	const uint64_t size = self->dev_size;
	struct pinio_uring_cmd c;
	uint32_t d2u = 0, gone = 0;
	struct hring small;
	int ret;

	ASSERT_OK(pinio_register(self->fd, self->b.p, 4096,
				 PINIO_REG_DEV_TO_USER, &d2u));
	ASSERT_OK(pinio_register(self->fd, self->b.p, 1, PINIO_REG_BIDIR,
				 &gone));
	ASSERT_OK(pinio_unregister(self->fd, gone));
	ASSERT_OK(seed_store(self->fd, 0, 64 * KiB, 0xe1));
	ASSERT_OK(seed_store(self->fd, size - 64 * KiB, 64 * KiB, 0xe2));
	pattern_fill(self->b.p, BUF_LEN, 0, 0xbad);

#define UCMD(op, cmd) uring_cmd1(&self->r, self->fd, (op), (cmd), 0, 0)
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

	/* A ring with 64-byte SQEs cannot carry the payload. */
	ASSERT_OK(hring_init(&small, 8, 0));
	ret = uring_cmd1(&small, self->fd, PINIO_URING_CMD_READ,
			 ucmd(self->h, 0, 0, 0, 1), 0, 0);
	ASSERT_EQ(-EOPNOTSUPP, ret) TH_LOG("got %s", errname(-ret));
	hring_exit(&small);
}

/*
 * Unregister with commands in flight: they took their reference at
 * submission and complete in full; the pins go when the last one does.
 */
TEST_F_TIMEOUT(uring, unregister_in_flight, 120)
{
	enum { N = 8 };
	const size_t len = MiB - 1;
	struct io_uring_cqe cqe;
	int i;

	for (i = 0; i < N; i++) {
		struct pinio_uring_cmd c = ucmd(self->h, 0, i * MiB + 1,
						i * MiB + 3, len);

		pattern_fill(self->b.p + i * MiB + 1, len, i * MiB + 3, 0x88);
		hring_prep_cmd(&self->r, hring_sqe(&self->r), self->fd,
			       PINIO_URING_CMD_WRITE, &c, sizeof(c), i, 0, 0);
	}
	ASSERT_OK(ring_submit(&self->r, 0));
	ASSERT_OK(pinio_unregister(self->fd, self->h));
	for (i = 0; i < N; i++) {
		ASSERT_OK(hring_wait(&self->r, &cqe));
		ASSERT_EQ((int)len, cqe.res) TH_LOG("command %llu",
					       (unsigned long long)cqe.user_data);
	}
	for (i = 0; i < N; i++) {
		ASSERT_DEV_PATTERN(self->fd, i * MiB + 3, len, 0x88);
	}
	/* Submitted after the unregister: the handle is gone. */
	ASSERT_EQ(-ENOENT, uring_cmd1(&self->r, self->fd, PINIO_URING_CMD_READ,
				      ucmd(self->h, 0, 0, 0, 1), 0, 0));
	ASSERT_PINS(self->base, 0, 0);
}

/* Tear everything down with commands in flight: nothing leaks. */
TEST_F_TIMEOUT(uring, close_in_flight, 120)
{
	enum { N = 16 };
	struct pin_snap now;
	int i;

	for (i = 0; i < N; i++) {
		struct pinio_uring_cmd c = ucmd(self->h, 0, 0, 0, 4 * MiB);

		hring_prep_cmd(&self->r, hring_sqe(&self->r), self->fd,
			       i & 1 ? PINIO_URING_CMD_READ :
				       PINIO_URING_CMD_WRITE, &c, sizeof(c), i, 0, 0);
	}
	ASSERT_OK(ring_submit(&self->r, 0));
	hring_exit(&self->r);
	close(self->fd);
	self->fd = -1;
	tbuf_free(&self->b);
	/* Ring teardown is asynchronous: give it up to 10 seconds. */
	for (i = 0; i < 200; i++) {
		ASSERT_OK(pin_snap(&now));
		if (now.regions == self->base.regions &&
		    now.pinned_pages == self->base.pinned_pages &&
		    now.vmpin_kb == self->base.vmpin_kb)
			break;
		usleep(50000);
	}
	ASSERT_PINS(self->base, 0, 0);
}

TEST_HARNESS_MAIN
