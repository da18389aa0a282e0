// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: the attached store (PINIO_IOC_ATTACH, _DETACH, _FLUSH and
 * PINIO_URING_CMD_FLUSH). A block device or a preallocated regular file
 * becomes this open file's store; direct transfers go to it by direct I/O
 * into the pinned pages, the buffered path and mmap through its page cache.
 *
 * Every byte pinio moves is checked against the test's own, independent
 * O_DIRECT pread/pwrite of the same disk (or file), in both directions,
 * with the shared disk pattern (pinio_pattern.h): on each disk of the
 * runner's contract (NVMe with 512 B and 4 KiB blocks, virtio-blk, a file in
 * a guest-made ext4), through ioctls, batches, io_uring with pinio handles
 * and with io_uring's fixed buffers, at QD1 and QD32, inline, IOSQE_ASYNC,
 * SQPOLL and in linked chains, from THP-backed buffers. Every attach errno,
 * the block-size rule, device errors injected on a sector range (virtio-blk
 * -EIO, NVMe -ENODATA) and detach/close/unregister with I/O in flight, with
 * the pin accounting back at its baseline afterwards.
 *
 * A disk whose variable is unset, or a driver without PINIO_FEAT_ATTACH,
 * makes the case SKIP. Environment: see the guest disk contract
 * (PINIO_NVME512, PINIO_NVME4K, PINIO_VBLK, PINIO_EXT4_DIR, PINIO_BAD_NVME,
 * PINIO_BAD_VBLK, PINIO_BAD_SECTOR, PINIO_HOSTCHECK_*, PINIO_RESULTS_DIR).
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"
#include "pinio_attach_util.h"
#include "pinio_pattern.h"

#define BUF_LEN		(8 * MiB + 64 * KiB)	/* the pinio registration */
#define FX_LEN		(4 * MiB + 64 * KiB)	/* io_uring fixed buffer 0 */
#define WIN_LEN		(16 * MiB)		/* scratch window on the disk */
#define FILE_LEN	(24 * MiB)		/* the ext4 variant's file */
#define QD		32

/* --- checks ---------------------------------------------------------------- */

/* @buf holds the shared pattern of disk range [@off, +@len) for @seed. */
#define ASSERT_PAT(buf, len, off, seed) do {				\
	long __m = pinio_pattern_check((buf), (len), (off), (seed));	\
	ASSERT_EQ(-1, __m)						\
		TH_LOG("%s: first mismatch at byte %ld of %zu (disk offset " \
		       "%llu, seed 0x%x): 0x%02x, expected 0x%02x", #buf, \
		       __m, (size_t)(len),				\
		       (unsigned long long)((off) + __m), (seed),	\
		       ((const uint8_t *)(buf))[__m],			\
		       pinio_pattern_byte((off) + __m, (seed)));	\
} while (0)

/* The disk itself (read with O_DIRECT, not through pinio) holds @seed. */
#define ASSERT_DISK(d, off, len, seed) do {				\
	long __m = pa_dcheck((d), (off), (len), (seed));		\
	ASSERT_EQ(-1, __m)						\
		TH_LOG("%s [%llu, +%llu) seed 0x%x: %s %ld", (d)->path,	\
		       (unsigned long long)(off),			\
		       (unsigned long long)(len), (seed),		\
		       __m >= 0 ? "first mismatch at byte" :		\
		       errname((int)(-2 - __m)), __m);			\
} while (0)

#define SETTLE(cond) ({							\
	double __t = now_sec() + 10;					\
	while (!(cond) && now_sec() < __t)				\
		usleep(50 * 1000);					\
	(cond);								\
})

static bool pins_back(const struct pin_snap *b)
{
	struct pin_snap n;

	return !pin_snap(&n) && n.regions == b->regions &&
	       n.pinned_pages == b->pinned_pages && n.vmpin_kb == b->vmpin_kb;
}

/* --- io_uring ---------------------------------------------------------------- */

struct cmd {
	uint32_t op;			/* PINIO_URING_CMD_* */
	struct pinio_uring_cmd c;
	uint32_t uflags;		/* IORING_URING_CMD_FIXED */
	uint8_t sqe_flags;		/* IOSQE_* */
};

static struct cmd hcmd(uint32_t op, uint32_t h, uint64_t bo, uint64_t dev,
		       uint64_t len)
{
	struct cmd c = { .op = op, .c = { .handle = h, .buf_offset = bo,
					  .dev_offset = dev, .len = len } };

	return c;
}

static struct cmd fcmd(uint32_t op, const void *addr, uint64_t dev,
		       uint64_t len)
{
	struct cmd c = { .op = op, .uflags = IORING_URING_CMD_FIXED,
			 .c = { .addr = (uintptr_t)addr, .dev_offset = dev,
				.len = len } };

	return c;
}

static struct cmd flushcmd(void)
{
	struct cmd c = { .op = PINIO_URING_CMD_FLUSH };

	return c;
}

/* Queue @n commands (user_data = index) without submitting: 0 or -EBUSY. */
static int queue_cmds(struct hring *r, int pfd, const struct cmd *cmds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = hring_sqe(r);

		if (!sqe)
			return -EBUSY;
		hring_prep_cmd(r, sqe, pfd, cmds[i].op, &cmds[i].c,
			       sizeof(cmds[i].c), i, cmds[i].uflags, 0);
		sqe->flags = cmds[i].sqe_flags;
	}
	return 0;
}

/* Submit what is queued; an SQPOLL ring is woken instead. 0 or -errno. */
static int ring_go(struct hring *r, bool sqpoll)
{
	unsigned int n = r->unsubmitted;
	int ret;

	if (!sqpoll) {
		ret = hring_submit(r, 0);
		if (ret < 0)
			return ret;
		return (unsigned int)ret == n ? 0 : -EIO;
	}
	__atomic_store_n(r->sq_tail, *r->sq_tail + n, __ATOMIC_RELEASE);
	r->unsubmitted = 0;
	ret = syscall(__NR_io_uring_enter, r->fd, n, 0,
		      IORING_ENTER_SQ_WAKEUP, NULL, 0);
	return ret < 0 ? -errno : 0;
}

/* Reap @n CQEs: res[user_data] for each; -EPROTO on a stray or twin. */
static int reap_cmds(struct hring *r, int n, int *res)
{
	bool seen[256] = { false };
	struct io_uring_cqe cqe;
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = hring_wait(r, &cqe);
		if (ret)
			return ret;
		if (cqe.user_data >= (uint64_t)n || seen[cqe.user_data])
			return -EPROTO;
		seen[cqe.user_data] = true;
		res[cqe.user_data] = cqe.res;
	}
	return 0;
}

/* Queue, submit and reap @n commands: 0 or -errno; res[i] per command. */
static int run_cmds(struct hring *r, int pfd, const struct cmd *cmds, int n,
		    int *res, bool sqpoll)
{
	int ret = queue_cmds(r, pfd, cmds, n);

	if (!ret)
		ret = ring_go(r, sqpoll);
	if (!ret)
		ret = reap_cmds(r, n, res);
	return ret;
}

/* One command: its CQE's res (or a ring error). */
static int cmd1(struct hring *r, int pfd, struct cmd c)
{
	int res = -EREMOTEIO, ret = run_cmds(r, pfd, &c, 1, &res, false);

	return ret ? ret : res;
}

/* --- the fixture: one disk of the contract, attached read-write ------------ */

FIXTURE(att) {
	int pfd;
	size_t ps;
	struct pa_disk d;
	struct pinio_info ram;		/* INFO before the attach */
	struct pinio_info info;		/* and after */
	uint64_t sc;			/* scratch window start */
	uint32_t L;			/* the block size */
	struct tbuf b;
	uint32_t h;
	uint8_t *fx;
	struct hring r;
	struct pin_snap base;		/* before the ring and registration */
	struct pin_snap rbase;		/* with the ring's fixed buffer */
	int64_t pins0;
};

FIXTURE_VARIANT(att) {
	const char *var;
	uint64_t file_len;	/* a file in the directory @var names */
};

FIXTURE_VARIANT_ADD(att, nvme512) { .var = "PINIO_NVME512" };
FIXTURE_VARIANT_ADD(att, nvme4k) { .var = "PINIO_NVME4K" };
FIXTURE_VARIANT_ADD(att, vblk) { .var = "PINIO_VBLK" };
FIXTURE_VARIANT_ADD(att, ext4file) {
	.var = "PINIO_EXT4_DIR", .file_len = FILE_LEN,
};

FIXTURE_SETUP(att)
{
	struct iovec iov;
	int64_t sc;
	int ret;

	self->pfd = -1;
	self->r.fd = -1;
	self->d.dfd = -1;
	self->ps = page_size();
	self->pfd = pinio_open();
	ASSERT_LE(0, self->pfd) TH_LOG("open %s: %s", PINIO_DEVICE_PATH,
				       errname(-self->pfd));
	ASSERT_OK(pinio_get_info(self->pfd, &self->ram));
	if (!(self->ram.features & PINIO_FEAT_ATTACH))
		SKIP(return, "driver without PINIO_FEAT_ATTACH");
	ret = pa_disk_get(&self->d, variant->var, variant->file_len);
	if (ret == -ENOENT && !getenv(variant->var))
		SKIP(return, "%s is not set: no such disk", variant->var);
	if (ret && variant->file_len) {
		struct statvfs sv;

		if (!statvfs(getenv(variant->var), &sv))
			TH_LOG("%s: %llu of %llu blocks of %lu bytes free",
			       getenv(variant->var),
			       (unsigned long long)sv.f_bavail,
			       (unsigned long long)sv.f_blocks, sv.f_bsize);
	}
	ASSERT_OK(ret) TH_LOG("%s=%s: %s", variant->var,
			      getenv(variant->var), errname(-ret));
	self->L = self->d.lbs;
	sc = pa_scratch(&self->d, WIN_LEN);
	ASSERT_LE(0, sc) TH_LOG("no %llu free bytes on %s",
				(unsigned long long)WIN_LEN, self->d.path);
	self->sc = (uint64_t)sc;
	self->pins0 = foll_pins_baseline();
	ASSERT_OK(pin_snap(&self->base));

	self->fx = pa_alloc(FX_LEN);
	ASSERT_NE(NULL, self->fx);
	ret = hring_init(&self->r, 64, IORING_SETUP_SQE128);
	ASSERT_OK(ret) TH_LOG("io_uring_setup: %s", errname(-ret));
	iov.iov_base = self->fx;
	iov.iov_len = FX_LEN;
	ASSERT_OK(hring_register_buffers(&self->r, &iov, 1));
	ASSERT_OK(pin_snap(&self->rbase));
	ASSERT_OK(tbuf_anon(&self->b, BUF_LEN));
	ASSERT_OK(pinio_register(self->pfd, self->b.p, BUF_LEN,
				 PINIO_REG_BIDIR, &self->h));

	ret = pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE);
	ASSERT_OK(ret) TH_LOG("attach %s: %s", self->d.path, errname(-ret));
	ASSERT_OK(pinio_get_info(self->pfd, &self->info));
}

FIXTURE_TEARDOWN(att)
{
	hring_exit(&self->r);
	if (self->pfd >= 0)
		close(self->pfd);
	tbuf_free(&self->b);
	pa_free(self->fx, FX_LEN);
	pa_disk_put(&self->d);
}

/* INFO describes the attached store, and the RAM store again after DETACH. */
TEST_F(att, info)
{
	const struct pinio_info *i = &self->info;
	struct pinio_info now;

	ASSERT_EQ(PINIO_STORE_RAM, self->ram.store);
	ASSERT_EQ(1, self->ram.block_size);
	ASSERT_EQ(1, self->ram.dma_alignment);
	ASSERT_EQ(0, self->ram.attach_flags);

	ASSERT_EQ(self->d.store, i->store);
	ASSERT_EQ(self->d.size / self->d.lbs * self->d.lbs, i->dev_size);
	ASSERT_EQ(self->d.lbs, i->block_size);
	ASSERT_EQ(PINIO_ATTACH_WRITE, i->attach_flags);
	ASSERT_NE(0, i->dma_alignment);
	ASSERT_EQ(0, i->dma_alignment & (i->dma_alignment - 1));
	ASSERT_GE(i->block_size, i->dma_alignment);
	if (self->d.dma_align)
		ASSERT_EQ(self->d.dma_align, i->dma_alignment);
	ASSERT_TRUE(i->features & PINIO_FEAT_ATTACH);
	ASSERT_EQ(self->ram.features, i->features);
	ASSERT_EQ(self->ram.abi_version, i->abi_version);
	ASSERT_EQ(self->ram.max_region_len, i->max_region_len);
	ASSERT_EQ(0, i->reserved[0]);
	ASSERT_EQ(0, i->reserved[1]);

	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_OK(pinio_get_info(self->pfd, &now));
	ASSERT_EQ(PINIO_STORE_RAM, now.store);
	ASSERT_EQ(self->ram.dev_size, now.dev_size);
	ASSERT_EQ(1, now.block_size);
	ASSERT_EQ(1, now.dma_alignment);
	ASSERT_EQ(0, now.attach_flags);
	ASSERT_ERR(ENXIO, pa_detach(self->pfd));

	/* Read-only this time: attach_flags says so. */
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, 0));
	ASSERT_OK(pinio_get_info(self->pfd, &now));
	ASSERT_EQ(self->d.store, now.store);
	ASSERT_EQ(0, now.attach_flags);
	ASSERT_EQ(self->d.lbs, now.block_size);
	ASSERT_EQ(i->dev_size, now.dev_size);
}

/*
 * The store is this open file's alone: another open of /dev/pinio still
 * has the RAM store, and what it writes there does not reach the disk.
 */
TEST_F(att, per_open_file)
{
	const uint64_t off = self->sc;
	struct pinio_info oi;
	int fd2 = pinio_open();
	uint8_t *p;

	ASSERT_LE(0, fd2);
	ASSERT_OK(pinio_get_info(fd2, &oi));
	ASSERT_EQ(PINIO_STORE_RAM, oi.store);
	ASSERT_EQ(self->ram.dev_size, oi.dev_size);
	ASSERT_EQ(1, oi.block_size);
	ASSERT_ERR(ENXIO, pa_detach(fd2));
	ASSERT_ERR(ENXIO, pa_flush(fd2));

	ASSERT_OK(pa_dfill(&self->d, off, 64 * KiB, 0xa1));
	if (oi.dev_size >= off + 64 * KiB) {
		ASSERT_OK(seed_store(fd2, off, 64 * KiB, 0xa2));
	}
	ASSERT_OK(seed_store(fd2, 0, 4096, 0xa3));
	ASSERT_DISK(&self->d, off, 64 * KiB, 0xa1);
	/* And ours reads the disk, not RAM. */
	p = pa_alloc(64 * KiB);
	ASSERT_NE(NULL, p);
	ASSERT_OK(dev_pread_all(self->pfd, p, 64 * KiB, off));
	ASSERT_PAT(p, 64 * KiB, off, 0xa1);
	pa_free(p, 64 * KiB);
	close(fd2);
}

/* The fd handed to ATTACH was closed at once (pa_attach_disk): it works. */
TEST_F(att, backing_fd_closed)
{
	const uint64_t off = self->sc + 128 * KiB;
	int fd = pa_disk_reopen(&self->d, O_RDWR), fd2 = pinio_open();
	struct pinio_info i;
	uint32_t h2 = 0;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_OK(pa_attach(fd2, fd, PINIO_ATTACH_WRITE));
	ASSERT_EQ(0, close(fd));
	ASSERT_OK(pinio_get_info(fd2, &i));
	ASSERT_EQ(self->d.store, i.store);
	ASSERT_OK(pinio_register(fd2, self->b.p, 64 * KiB, PINIO_REG_BIDIR,
				 &h2));
	pinio_pattern_fill(self->b.p, 64 * KiB, off, 0xb1);
	ASSERT_OK(pinio_write(fd2, h2, 0, off, 64 * KiB));
	ASSERT_OK(pa_flush(fd2));
	ASSERT_DISK(&self->d, off, 64 * KiB, 0xb1);
	ASSERT_OK(pa_dfill(&self->d, off, 64 * KiB, 0xb2));
	memset(self->b.p, 0, 64 * KiB);
	ASSERT_OK(pinio_read(fd2, h2, 0, off, 64 * KiB));
	ASSERT_PAT(self->b.p, 64 * KiB, off, 0xb2);
	close(fd2);
}

/*
 * The block-size rule: store offset, length and the buffer's offset in
 * every pinned page must be multiples of block_size, else EINVAL before
 * anything moves; the same for ranges past the end. On the ioctls, in a
 * batch, and in io_uring commands with handles and with fixed buffers.
 */
TEST_F(att, alignment)
{
	const uint32_t L = self->L;
	const uint64_t size = self->info.dev_size, off = self->sc;
	const uint32_t rd = PINIO_URING_CMD_READ, wr = PINIO_URING_CMD_WRITE;
	struct {
		uint64_t bo, dev, len;
		const char *what;
	} bad[] = {
		{ 0, off + L / 2, L, "store offset L/2" },
		{ 0, off + 1, L, "store offset 1" },
		{ 0, off, L / 2, "length L/2" },
		{ 0, off, L + 1, "length L+1" },
		{ 0, off, 2 * L - 8, "length 2L-8" },
		{ L / 2, off, L, "buffer offset L/2" },
		{ 1, off, L, "buffer offset 1" },
		{ 8, off, 16 * KiB, "buffer offset 8, 16 KiB" },
		{ 0, size - L, 2 * L, "crossing the end" },
		{ 0, size, L, "at the end" },
		{ 0, size + L, L, "past the end" },
		{ 0, UINT64_MAX - L + 1, L, "offset near 2^64" },
		{ 0, off, 0, "length 0" },
	};
	struct pinio_xfer segs[2];
	uint32_t done;
	size_t i;

	ASSERT_OK(pa_dfill(&self->d, off, 64 * KiB, 0xc1));
	pattern_fill(self->b.p, BUF_LEN, 0, 0xbad);
	pinio_pattern_fill(self->fx, FX_LEN, 0, 0xbad);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t bo = bad[i].bo, dev = bad[i].dev, len = bad[i].len;

		EXPECT_ERR(EINVAL, pinio_read(self->pfd, self->h, bo, dev,
					      len)) TH_LOG("%s", bad[i].what);
		EXPECT_ERR(EINVAL, pinio_write(self->pfd, self->h, bo, dev,
					       len)) TH_LOG("%s", bad[i].what);
		segs[0] = pinio_seg(self->h, PINIO_OP_READ, bo, dev, len);
		EXPECT_ERR(EINVAL, pinio_batch(self->pfd, segs, 1, &done))
			TH_LOG("%s", bad[i].what);
		EXPECT_EQ(0, done);
		/* The first segment completes, the second stops the batch. */
		segs[0] = pinio_seg(self->h, PINIO_OP_READ, BUF_LEN - L,
				    off, L);
		segs[1] = pinio_seg(self->h, PINIO_OP_WRITE, bo, dev, len);
		EXPECT_ERR(EINVAL, pinio_batch(self->pfd, segs, 2, &done))
			TH_LOG("%s", bad[i].what);
		EXPECT_EQ(1, done);
		EXPECT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
					hcmd(rd, self->h, bo, dev, len)))
			TH_LOG("%s", bad[i].what);
		EXPECT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
					hcmd(wr, self->h, bo, dev, len)))
			TH_LOG("%s", bad[i].what);
		EXPECT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
					fcmd(rd, self->fx + bo, dev, len)))
			TH_LOG("%s", bad[i].what);
		EXPECT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
					fcmd(wr, self->fx + bo, dev, len)))
			TH_LOG("%s", bad[i].what);
	}
	/* Nothing moved but the one good segment's read. */
	ASSERT_DISK(&self->d, off, 64 * KiB, 0xc1);
	ASSERT_PAT(self->b.p + BUF_LEN - L, L, off, 0xc1);
	ASSERT_EQ(-1, pattern_find_mismatch(self->b.p, BUF_LEN - L, 0, 0xbad));
	ASSERT_PAT(self->fx, FX_LEN, 0, 0xbad);

	/* A buffer offset of 512: fine on a 512 B disk, not on a 4 KiB one. */
	pinio_pattern_fill(self->b.p + 512, 8 * KiB, off + 8 * KiB, 0xc2);
	pinio_pattern_fill(self->fx + 512, 8 * KiB, off + 24 * KiB, 0xc3);
	if (L <= 512) {
		ASSERT_OK(pinio_write(self->pfd, self->h, 512, off + 8 * KiB,
				      8 * KiB));
		ASSERT_EQ(8 * KiB, cmd1(&self->r, self->pfd,
					fcmd(wr, self->fx + 512,
					     off + 24 * KiB, 8 * KiB)));
		ASSERT_DISK(&self->d, off + 8 * KiB, 8 * KiB, 0xc2);
		ASSERT_DISK(&self->d, off + 24 * KiB, 8 * KiB, 0xc3);
		/* Three blocks, odd in every way but the block size. */
		memset(self->b.p, 0, 8 * KiB);
		ASSERT_OK(pinio_read(self->pfd, self->h, 3 * 512,
				     off + 8 * KiB + 512, 3 * 512));
		ASSERT_PAT(self->b.p + 3 * 512, 3 * 512, off + 8 * KiB + 512,
			   0xc2);
		ASSERT_FILLED(self->b.p, 3 * 512, 0);
		ASSERT_FILLED(self->b.p + 6 * 512, 8 * KiB - 6 * 512, 0);
	} else {
		ASSERT_ERR(EINVAL, pinio_write(self->pfd, self->h, 512,
					       off + 8 * KiB, 8 * KiB));
		ASSERT_ERR(EINVAL, pinio_read(self->pfd, self->h, 512,
					      off + 8 * KiB, 8 * KiB));
		ASSERT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
					fcmd(wr, self->fx + 512,
					     off + 24 * KiB, 8 * KiB)));
		ASSERT_DISK(&self->d, off, 64 * KiB, 0xc1);
	}

	/* The last block of the store is fine. */
	if (pa_range_free(&self->d, size - L, L)) {
		pinio_pattern_fill(self->b.p, L, size - L, 0xc4);
		ASSERT_OK(pinio_write(self->pfd, self->h, 0, size - L, L));
		ASSERT_DISK(&self->d, size - L, L, 0xc4);
	}
	memset(self->b.p, 0, L);
	ASSERT_OK(pa_dfill(&self->d, off, L, 0xc5));
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, off, L));
	ASSERT_PAT(self->b.p, L, off, 0xc5);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, size - L, L));
}

/*
 * A registration that starts inside a page: the rule is on the offset in
 * each pinned page, not in the registration.
 */
TEST_F(att, alignment_in_page)
{
	const uint32_t L = self->L;
	const uint64_t off = self->sc + MiB;
	const size_t mis = 256;
	uint32_t h2 = 0;

	ASSERT_OK(pinio_register(self->pfd, self->b.p + mis, 64 * KiB,
				 PINIO_REG_BIDIR, &h2));
	ASSERT_OK(pa_dfill(&self->d, off, 16 * KiB, 0xd1));
	ASSERT_ERR(EINVAL, pinio_read(self->pfd, h2, 0, off, 4 * KiB));
	ASSERT_ERR(EINVAL, pinio_write(self->pfd, h2, 0, off, 4 * KiB));
	ASSERT_EQ(-EINVAL, cmd1(&self->r, self->pfd,
				hcmd(PINIO_URING_CMD_READ, h2, 0, off,
				     4 * KiB)));
	/* Page-aligned again 3840 bytes in. */
	memset(self->b.p, 0, 16 * KiB);
	ASSERT_OK(pinio_read(self->pfd, h2, 4096 - mis, off, 8 * KiB));
	ASSERT_PAT(self->b.p + 4096, 8 * KiB, off, 0xd1);
	if (L <= 512) {
		ASSERT_OK(pinio_read(self->pfd, h2, 512 - mis, off, 4 * KiB));
		ASSERT_PAT(self->b.p + 512, 4 * KiB, off, 0xd1);
	} else {
		ASSERT_ERR(EINVAL, pinio_read(self->pfd, h2, 512 - mis, off,
					      4 * KiB));
	}
	ASSERT_OK(pinio_unregister(self->pfd, h2));
}

/*
 * PINIO_IOC_WRITE then the test's O_DIRECT pread, and the test's O_DIRECT
 * pwrite then PINIO_IOC_READ, byte for byte, from one block to 8 MiB in
 * one ioctl; the direct byte counters move by exactly that.
 */
TEST_F_TIMEOUT(att, ioctl_both_ways, 120)
{
	const uint32_t L = self->L;
	const uint64_t lens[] = { L, 4096, 64 * KiB + L, MiB - L, 8 * MiB };
	struct byte_stats s0, s1;
	uint64_t moved = 0;
	size_t i;

	ASSERT_OK(byte_stats(&s0));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		const uint64_t len = lens[i];
		const uint64_t bo = (i % 3) * 4096 +
				    (L < 4096 ? (i % 4) * 512 : 0);
		const uint64_t dev = self->sc + (i % 2) * L * 7;
		const uint32_t seed = 0x100 + (uint32_t)i;

		pinio_pattern_fill(self->b.p + bo, len, dev, seed);
		ASSERT_OK(pinio_write(self->pfd, self->h, bo, dev, len))
			TH_LOG("len %llu buf_offset %llu dev %llu",
			       (unsigned long long)len, (unsigned long long)bo,
			       (unsigned long long)dev);
		ASSERT_DISK(&self->d, dev, len, seed);

		ASSERT_OK(pa_dfill(&self->d, dev, len, seed + 0x80));
		memset(self->b.p, 0xee, BUF_LEN);
		ASSERT_OK(pinio_read(self->pfd, self->h, bo, dev, len));
		ASSERT_PAT(self->b.p + bo, len, dev, seed + 0x80);
		ASSERT_FILLED(self->b.p, bo, 0xee);
		ASSERT_FILLED(self->b.p + bo + len, BUF_LEN - bo - len, 0xee);
		moved += len;
	}
	ASSERT_OK(byte_stats(&s1));
	ASSERT_EQ(s0.dw + (int64_t)moved, s1.dw);
	ASSERT_EQ(s0.dr + (int64_t)moved, s1.dr);
	ASSERT_OK(pa_flush(self->pfd));
}

/*
 * A batch of several segments in order: writes, a read of what the test
 * wrote itself, and a read of what the batch's first segment wrote.
 */
TEST_F(att, batch_both_ways)
{
	const uint64_t o = self->sc + 2 * MiB;
	uint8_t *p = self->b.p;
	struct pinio_xfer segs[6];
	uint32_t done = 0;

	ASSERT_OK(pa_dfill(&self->d, o + MiB, 256 * KiB, 0xe2));
	memset(p, 0, 2 * MiB);
	pinio_pattern_fill(p, 128 * KiB, o, 0xe1);
	pinio_pattern_fill(p + 128 * KiB, 64 * KiB, o + 512 * KiB, 0xe3);
	segs[0] = pinio_seg(self->h, PINIO_OP_WRITE, 0, o, 128 * KiB);
	segs[1] = pinio_seg(self->h, PINIO_OP_READ, 256 * KiB, o + MiB,
			    256 * KiB);
	segs[2] = pinio_seg(self->h, PINIO_OP_WRITE, 128 * KiB, o + 512 * KiB,
			    64 * KiB);
	segs[3] = pinio_seg(self->h, PINIO_OP_READ, MiB, o, 128 * KiB);
	segs[4] = pinio_seg(self->h, PINIO_OP_READ, MiB + 128 * KiB,
			    o + 512 * KiB, 64 * KiB);
	segs[5] = pinio_seg(self->h, PINIO_OP_WRITE, 256 * KiB,
			    o + 1536 * KiB, 256 * KiB);
	ASSERT_OK(pinio_batch(self->pfd, segs, 6, &done));
	ASSERT_EQ(6, done);
	ASSERT_DISK(&self->d, o, 128 * KiB, 0xe1);
	ASSERT_DISK(&self->d, o + 512 * KiB, 64 * KiB, 0xe3);
	ASSERT_PAT(p + 256 * KiB, 256 * KiB, o + MiB, 0xe2);
	ASSERT_PAT(p + MiB, 128 * KiB, o, 0xe1);
	ASSERT_PAT(p + MiB + 128 * KiB, 64 * KiB, o + 512 * KiB, 0xe3);
	/* Segment 6 wrote what segment 2 had read: the test's pattern. */
	ASSERT_OK(pa_dread(&self->d, self->fx, 256 * KiB, o + 1536 * KiB));
	ASSERT_PAT(self->fx, 256 * KiB, o + MiB, 0xe2);
}

/* Both directions through io_uring, @n commands in flight at once. */
static void uring_both_ways(struct __test_metadata *_metadata,
			    FIXTURE_DATA(att) *self, int n, bool fixed,
			    uint8_t sqe_flags, struct hring *r, bool sqpoll,
			    uint32_t seed)
{
	const uint64_t len = n == 1 ? 1 * MiB + self->L : 64 * KiB;
	uint8_t *mem = fixed ? self->fx : self->b.p;
	struct cmd cmds[QD];
	int res[QD], i;

	for (i = 0; i < n; i++) {
		uint64_t bo = (uint64_t)i * len, dev = self->sc + bo * 2;

		pinio_pattern_fill(mem + bo, len, dev, seed);
		cmds[i] = fixed ? fcmd(PINIO_URING_CMD_WRITE, mem + bo, dev,
				       len) :
				  hcmd(PINIO_URING_CMD_WRITE, self->h, bo, dev,
				       len);
		cmds[i].sqe_flags = sqe_flags;
	}
	ASSERT_OK(run_cmds(r, self->pfd, cmds, n, res, sqpoll));
	for (i = 0; i < n; i++)
		ASSERT_EQ((int)len, res[i]) TH_LOG("write %d of %d", i, n);
	for (i = 0; i < n; i++)
		ASSERT_DISK(&self->d, self->sc + (uint64_t)i * len * 2, len,
			    seed);

	for (i = 0; i < n; i++) {
		uint64_t bo = (uint64_t)i * len, dev = self->sc + bo * 2;

		ASSERT_OK(pa_dfill(&self->d, dev, len, seed + 1));
		cmds[i].op = PINIO_URING_CMD_READ;
	}
	memset(mem, 0xee, (size_t)n * len + 4096);
	ASSERT_OK(run_cmds(r, self->pfd, cmds, n, res, sqpoll));
	for (i = 0; i < n; i++) {
		uint64_t bo = (uint64_t)i * len;

		ASSERT_EQ((int)len, res[i]) TH_LOG("read %d of %d", i, n);
		ASSERT_PAT(mem + bo, len, self->sc + bo * 2, seed + 1);
	}
	ASSERT_FILLED(mem + (size_t)n * len, 4096, 0xee);
}

TEST_F(att, uring_handle_qd1)
{
	uring_both_ways(_metadata, self, 1, false, 0, &self->r, false, 0x201);
}

TEST_F(att, uring_fixed_qd1)
{
	uring_both_ways(_metadata, self, 1, true, 0, &self->r, false, 0x202);
}

TEST_F_TIMEOUT(att, uring_handle_qd32, 120)
{
	uring_both_ways(_metadata, self, QD, false, 0, &self->r, false, 0x203);
}

TEST_F_TIMEOUT(att, uring_fixed_qd32, 120)
{
	uring_both_ways(_metadata, self, QD, true, 0, &self->r, false, 0x204);
}

/* Every command punted to io-wq first. */
TEST_F_TIMEOUT(att, uring_iosqe_async, 120)
{
	uring_both_ways(_metadata, self, 8, false, IOSQE_ASYNC, &self->r,
			false, 0x205);
	uring_both_ways(_metadata, self, 8, true, IOSQE_ASYNC, &self->r,
			false, 0x206);
}

/* Issued by the SQPOLL kernel thread. */
TEST_F_TIMEOUT(att, uring_sqpoll, 120)
{
	struct hring sq;
	struct iovec iov = { self->fx, FX_LEN };
	int ret;

	ret = hring_init(&sq, 64, IORING_SETUP_SQE128 | IORING_SETUP_SQPOLL);
	if (ret == -EPERM || ret == -EINVAL)
		SKIP(return, "no SQPOLL ring: %s", errname(-ret));
	ASSERT_OK(ret);
	ASSERT_OK(hring_register_buffers(&sq, &iov, 1));
	uring_both_ways(_metadata, self, QD, false, 0, &sq, true, 0x207);
	uring_both_ways(_metadata, self, 4, true, 0, &sq, true, 0x208);
	hring_exit(&sq);
}

/*
 * A linked chain write -> read back -> flush -> read: each waits for the
 * one before, so the read sees the write; a flush with a payload field
 * set fails and cuts the rest of its chain.
 */
TEST_F(att, uring_linked_and_flush)
{
	const uint64_t o = self->sc + 3 * MiB;
	struct cmd c[4];
	int res[4];

	pinio_pattern_fill(self->b.p, 256 * KiB, o, 0x301);
	memset(self->b.p + MiB, 0, 256 * KiB);
	c[0] = hcmd(PINIO_URING_CMD_WRITE, self->h, 0, o, 256 * KiB);
	c[1] = hcmd(PINIO_URING_CMD_READ, self->h, MiB, o, 256 * KiB);
	c[2] = flushcmd();
	c[3] = fcmd(PINIO_URING_CMD_READ, self->fx, o, 256 * KiB);
	c[0].sqe_flags = c[1].sqe_flags = c[2].sqe_flags = IOSQE_IO_LINK;
	memset(self->fx, 0, 256 * KiB);
	ASSERT_OK(run_cmds(&self->r, self->pfd, c, 4, res, false));
	ASSERT_EQ(256 * KiB, res[0]);
	ASSERT_EQ(256 * KiB, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_EQ(256 * KiB, res[3]);
	ASSERT_PAT(self->b.p + MiB, 256 * KiB, o, 0x301);
	ASSERT_PAT(self->fx, 256 * KiB, o, 0x301);
	ASSERT_DISK(&self->d, o, 256 * KiB, 0x301);

	/* FLUSH alone; and every payload field must be zero. */
	ASSERT_EQ(0, cmd1(&self->r, self->pfd, flushcmd()));
	c[0] = flushcmd();
	c[0].c.len = 4096;
	ASSERT_EQ(-EINVAL, cmd1(&self->r, self->pfd, c[0]));
	c[0] = flushcmd();
	c[0].c.handle = self->h;
	ASSERT_EQ(-EINVAL, cmd1(&self->r, self->pfd, c[0]));
	c[0] = flushcmd();
	c[0].c.flags = 1;
	ASSERT_EQ(-EINVAL, cmd1(&self->r, self->pfd, c[0]));
	c[0] = flushcmd();
	c[0].c.dev_offset = 4096;
	c[0].sqe_flags = IOSQE_IO_LINK;
	c[1] = hcmd(PINIO_URING_CMD_WRITE, self->h, 0, o, 4096);
	ASSERT_OK(run_cmds(&self->r, self->pfd, c, 2, res, false));
	ASSERT_EQ(-EINVAL, res[0]);
	ASSERT_EQ(-ECANCELED, res[1]);
	ASSERT_OK(pa_flush(self->pfd));
}

/*
 * io_uring reads of a range the buffered path has just dirtied in the page
 * cache (a non-blocking direct read must then wait for writeback: the
 * driver's -EAGAIN path), and writes over dirty pages: every byte right.
 */
TEST_F_TIMEOUT(att, uring_over_dirty_cache, 120)
{
	const uint64_t o = self->sc + 10 * MiB, len = 64 * KiB;
	struct cmd c[16];
	int res[16], i, round;
	uint8_t *p = pa_alloc(16 * len);

	ASSERT_NE(NULL, p);
	for (round = 0; round < 2; round++) {
		uint32_t seed = 0x1001 + round;

		pinio_pattern_fill(p, 16 * len, o, seed);
		for (i = 0; i < 16; i++) {
			ASSERT_OK(dev_pwrite_all(self->pfd, p + i * len, len,
						 o + i * len));
			c[i] = i & 1 ? fcmd(PINIO_URING_CMD_READ,
					    self->fx + i * len, o + i * len,
					    len) :
				       hcmd(PINIO_URING_CMD_READ, self->h,
					    i * len, o + i * len, len);
			c[i].sqe_flags = round == 1 ? IOSQE_ASYNC : 0;
		}
		memset(self->fx, 0xee, 16 * len);
		memset(self->b.p, 0xee, 16 * len);
		ASSERT_OK(run_cmds(&self->r, self->pfd, c, 16, res, false));
		for (i = 0; i < 16; i++) {
			ASSERT_EQ((int)len, res[i]) TH_LOG("read %d", i);
			ASSERT_PAT((i & 1 ? self->fx : self->b.p) + i * len, len,
				   o + i * len, seed);
		}
		/* Direct writes over the dirty pages win, in both paths. */
		for (i = 0; i < 16; i++) {
			ASSERT_OK(dev_pwrite_all(self->pfd, p + i * len, len,
						 o + i * len));
			pinio_pattern_fill((i & 1 ? self->fx : self->b.p) +
					   i * len, len, o + i * len,
					   seed + 0x100);
			c[i].op = PINIO_URING_CMD_WRITE;
		}
		ASSERT_OK(run_cmds(&self->r, self->pfd, c, 16, res, false));
		for (i = 0; i < 16; i++)
			ASSERT_EQ((int)len, res[i]) TH_LOG("write %d", i);
		memset(p, 0, 16 * len);
		ASSERT_OK(dev_pread_all(self->pfd, p, 16 * len, o));
		ASSERT_PAT(p, 16 * len, o, seed + 0x100);
		ASSERT_DISK(&self->d, o, 16 * len, seed + 0x100);
	}
	pa_free(p, 16 * len);
}

struct toggler {
	const struct pa_disk *d;
	int pfd;
	volatile int stop;
	unsigned long n;
};

static void *toggle_fn(void *arg)
{
	struct toggler *t = arg;

	while (!t->stop) {
		if (!pa_attach_disk(t->pfd, t->d, PINIO_ATTACH_WRITE))
			t->n++;
		usleep(200);
		pa_detach(t->pfd);
	}
	return NULL;
}

/*
 * io-wq issued commands (IOSQE_ASYNC) on this file while another open
 * file of the same disk is attached and detached all the time: its store
 * is its own, every read sees this disk's bytes.
 */
TEST_F_TIMEOUT(att, uring_async_beside_other_file, 120)
{
	const uint64_t o = self->sc + 11 * MiB, len = 16 * KiB;
	struct toggler t = { .d = &self->d, .pfd = pinio_open() };
	struct cmd c[16];
	int res[16], i, round;
	pthread_t tid;

	ASSERT_LE(0, t.pfd);
	ASSERT_OK(pa_dfill(&self->d, o, 16 * len, 0x1101));
	ASSERT_EQ(0, pthread_create(&tid, NULL, toggle_fn, &t));
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 16; i++) {
			c[i] = i & 1 ? fcmd(PINIO_URING_CMD_READ,
					    self->fx + i * len, o + i * len,
					    len) :
				       hcmd(PINIO_URING_CMD_READ, self->h,
					    i * len, o + i * len, len);
			c[i].sqe_flags = round & 1 ? IOSQE_ASYNC : 0;
		}
		memset(self->fx, 0xee, 16 * len);
		memset(self->b.p, 0xee, 16 * len);
		ASSERT_OK(run_cmds(&self->r, self->pfd, c, 16, res, false));
		for (i = 0; i < 16; i++) {
			ASSERT_EQ((int)len, res[i]) TH_LOG("round %d read %d",
							   round, i);
			ASSERT_PAT((i & 1 ? self->fx : self->b.p) + i * len, len,
				   o + i * len, 0x1101);
		}
	}
	t.stop = 1;
	pthread_join(tid, NULL);
	close(t.pfd);
	printf("# the other file was attached %lu times meanwhile\n", t.n);
}

/* Buffers backed by transparent huge pages, through handle and FIXED. */
TEST_F_TIMEOUT(att, thp_buffers, 120)
{
	const uint64_t o = self->sc + 4 * MiB, len = 2 * MiB;
	struct iovec iov;
	struct tbuf t;
	struct hring r2;
	uint32_t h2 = 0;
	long kb;
	int ret;

	ret = tbuf_thp(&t, len);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "transparent huge pages are off");
	ASSERT_OK(ret);
	kb = anon_huge_kb(t.p);
	if (kb <= 0)
		TH_LOG("note: the buffer got no THP (AnonHugePages %ld kB)",
		       kb);
	else
		printf("# buffer: %ld kB in transparent huge pages\n", kb);
	ASSERT_OK(pinio_register(self->pfd, t.p, len, PINIO_REG_BIDIR, &h2));
	pinio_pattern_fill(t.p, len, o, 0x401);
	ASSERT_OK(pinio_write(self->pfd, h2, 0, o, len));
	ASSERT_DISK(&self->d, o, len, 0x401);
	ASSERT_OK(pa_dfill(&self->d, o, len, 0x402));
	memset(t.p, 0, len);
	ASSERT_OK(pinio_read(self->pfd, h2, 0, o, len));
	ASSERT_PAT(t.p, len, o, 0x402);

	/* The same memory as an io_uring fixed buffer, QD 8. */
	ASSERT_OK(hring_init(&r2, 16, IORING_SETUP_SQE128));
	iov.iov_base = t.p;
	iov.iov_len = len;
	ASSERT_OK(hring_register_buffers(&r2, &iov, 1));
	if (len) {
		struct cmd c[8];
		int res[8], i;

		for (i = 0; i < 8; i++) {
			pinio_pattern_fill(t.p + i * 256 * KiB, 256 * KiB,
					   o + i * 256 * KiB, 0x403);
			c[i] = fcmd(PINIO_URING_CMD_WRITE, t.p + i * 256 * KiB,
				    o + i * 256 * KiB, 256 * KiB);
		}
		ASSERT_OK(run_cmds(&r2, self->pfd, c, 8, res, false));
		for (i = 0; i < 8; i++)
			ASSERT_EQ(256 * KiB, res[i]);
		ASSERT_DISK(&self->d, o, len, 0x403);
		ASSERT_OK(pa_dfill(&self->d, o, len, 0x404));
		memset(t.p, 0, len);
		for (i = 0; i < 8; i++)
			c[i].op = PINIO_URING_CMD_READ;
		ASSERT_OK(run_cmds(&r2, self->pfd, c, 8, res, false));
		for (i = 0; i < 8; i++)
			ASSERT_EQ(256 * KiB, res[i]);
		ASSERT_PAT(t.p, len, o, 0x404);
	}
	hring_exit(&r2);
	ASSERT_OK(pinio_unregister(self->pfd, h2));
	tbuf_free(&t);
}

/*
 * The buffered path goes through the backing file's page cache, with the
 * RAM store's semantics: no alignment rule, short reads at the end,
 * ENOSPC for writes at or past it, coherent with the direct path.
 */
TEST_F(att, buffered_path)
{
	const uint64_t o = self->sc + 5 * MiB, size = self->info.dev_size;
	uint8_t a[3000], bb[5000], c[100], *p;
	struct iovec iov[3];

	ASSERT_OK(pa_dfill(&self->d, o, 64 * KiB, 0x501));
	/* pwrite at an odd offset, then FLUSH: the disk has it, and only it. */
	pinio_pattern_fill(a, sizeof(a), o + 123, 0x502);
	ASSERT_EQ(sizeof(a), pwrite(self->pfd, a, sizeof(a), o + 123));
	ASSERT_OK(pa_flush(self->pfd));
	ASSERT_DISK(&self->d, o, 123, 0x501);
	ASSERT_DISK(&self->d, o + 123 + sizeof(a), 64 * KiB - 123 - sizeof(a),
		    0x501);
	p = pa_alloc(8192);
	ASSERT_NE(NULL, p);
	ASSERT_OK(pa_dread(&self->d, p, 8192, o));
	ASSERT_PAT(p + 123, sizeof(a), o + 123, 0x502);
	pa_free(p, 8192);

	/* writev / readv through the file position. */
	pinio_pattern_fill(a, sizeof(a), o + 7000, 0x503);
	pinio_pattern_fill(bb, sizeof(bb), o + 10000, 0x503);
	pinio_pattern_fill(c, sizeof(c), o + 15000, 0x503);
	iov[0] = (struct iovec){ a, sizeof(a) };
	iov[1] = (struct iovec){ bb, sizeof(bb) };
	iov[2] = (struct iovec){ c, sizeof(c) };
	ASSERT_EQ((off_t)(o + 7000), lseek(self->pfd, o + 7000, SEEK_SET));
	ASSERT_EQ(8100, writev(self->pfd, iov, 3));
	ASSERT_EQ((off_t)(o + 15100), lseek(self->pfd, 0, SEEK_CUR));
	ASSERT_OK(pa_flush(self->pfd));
	ASSERT_DISK(&self->d, o + 7000, 8100, 0x503);
	memset(a, 0, sizeof(a));
	memset(bb, 0, sizeof(bb));
	memset(c, 0, sizeof(c));
	ASSERT_OK(pa_dfill(&self->d, o + 32 * KiB, 16 * KiB, 0x504));
	ASSERT_EQ(8100, preadv(self->pfd, iov, 3, o + 32 * KiB + 1));
	ASSERT_PAT(a, sizeof(a), o + 32 * KiB + 1, 0x504);
	ASSERT_PAT(bb, sizeof(bb), o + 32 * KiB + 3001, 0x504);
	ASSERT_PAT(c, sizeof(c), o + 32 * KiB + 8001, 0x504);

	/* A direct write, then the buffered read sees it (and vice versa). */
	pinio_pattern_fill(self->b.p, 16 * KiB, o, 0x505);
	ASSERT_OK(pinio_write(self->pfd, self->h, 0, o, 16 * KiB));
	memset(bb, 0, sizeof(bb));
	ASSERT_OK(dev_pread_all(self->pfd, bb, sizeof(bb), o + 77));
	ASSERT_PAT(bb, sizeof(bb), o + 77, 0x505);
	pinio_pattern_fill(bb, sizeof(bb), o + 4096, 0x506);
	ASSERT_OK(dev_pwrite_all(self->pfd, bb, 4096, o + 4096));
	memset(self->b.p, 0, 8 * KiB);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, o + 4096, 4096));
	ASSERT_PAT(self->b.p, 4096, o + 4096, 0x506);

	/* The end: as for RAM. */
	ASSERT_EQ(0, pread(self->pfd, a, sizeof(a), size));
	ASSERT_EQ(0, pread(self->pfd, a, 1, size + 4096));
	ASSERT_EQ(100, pread(self->pfd, a, sizeof(a), size - 100));
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(self->pfd, a, 1, size)));
	ASSERT_ERR(ENOSPC, sys_ret(pwrite(self->pfd, a, 16, size + 4096)));
	if (pa_range_free(&self->d, size - 64 * KiB, 64 * KiB)) {
		ASSERT_OK(pa_dfill(&self->d, size - 4096, 4096, 0x507));
		pinio_pattern_fill(a, sizeof(a), size - 10, 0x508);
		ASSERT_EQ(10, pwrite(self->pfd, a, sizeof(a), size - 10));
		ASSERT_OK(pa_flush(self->pfd));
		ASSERT_DISK(&self->d, size - 10, 10, 0x508);
		ASSERT_DISK(&self->d, size - 4096, 4096 - 10, 0x507);
	}
	/* A regular file never grows. */
	if (self->d.store == PINIO_STORE_FILE) {
		struct stat st;

		ASSERT_EQ(0, fstat(self->d.dfd, &st));
		ASSERT_EQ((off_t)self->d.size, st.st_size);
	}
}

/*
 * mmap: a MAP_SHARED window shows the disk's bytes; stores through it
 * reach the disk after msync; it outlives DETACH. MAP_PRIVATE and windows
 * past the end fail.
 */
TEST_F(att, mmap_window)
{
	const uint64_t o = self->sc + 6 * MiB, len = 256 * KiB;
	const uint64_t size = self->info.dev_size;
	uint8_t *m;

	ASSERT_OK(pa_dfill(&self->d, o, len, 0x601));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->pfd, o);
	ASSERT_NE(MAP_FAILED, m) TH_LOG("mmap: %s", errname(errno));
	ASSERT_PAT(m, len, o, 0x601);
	pinio_pattern_fill(m + 4096, 64 * KiB + 100, o + 4096, 0x602);
	ASSERT_EQ(0, msync(m, len, MS_SYNC));
	ASSERT_DISK(&self->d, o + 4096, 64 * KiB + 100, 0x602);
	ASSERT_DISK(&self->d, o, 4096, 0x601);
	ASSERT_DISK(&self->d, o + 68 * KiB + 100, len - 68 * KiB - 100, 0x601);

	/* A direct write shows in the window. */
	pinio_pattern_fill(self->b.p, 128 * KiB, o + 128 * KiB, 0x603);
	ASSERT_OK(pinio_write(self->pfd, self->h, 0, o + 128 * KiB,
			      128 * KiB));
	ASSERT_PAT(m + 128 * KiB, 128 * KiB, o + 128 * KiB, 0x603);

	/* Still the file's pages after DETACH, both ways. */
	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_PAT(m + 128 * KiB, 128 * KiB, o + 128 * KiB, 0x603);
	pinio_pattern_fill(m, 4096, o, 0x604);
	ASSERT_EQ(0, msync(m, 4096, MS_SYNC));
	ASSERT_DISK(&self->d, o, 4096, 0x604);
	ASSERT_EQ(0, munmap(m, len));
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));

	ASSERT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_PRIVATE,
				   self->pfd, o));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, 8192, PROT_READ, MAP_SHARED,
				   self->pfd, size - 4096));
	ASSERT_EQ(ENXIO, errno);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->pfd, size - 4096);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m, 4096));
}

/*
 * Attached without PINIO_ATTACH_WRITE: reads work, every write path and
 * FLUSH fail with EBADF (ioctl and CQE), a writable mapping with EACCES.
 */
TEST_F(att, read_only)
{
	const uint64_t o = self->sc + 7 * MiB;
	struct pinio_xfer segs[2];
	struct pinio_info i;
	uint32_t done;
	uint8_t x[4096];
	void *m;
	int ret;

	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, 0));
	ASSERT_OK(pinio_get_info(self->pfd, &i));
	ASSERT_EQ(0, i.attach_flags);
	ASSERT_OK(pa_dfill(&self->d, o, 64 * KiB, 0x701));

	memset(self->b.p, 0, 64 * KiB);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, o, 64 * KiB));
	ASSERT_PAT(self->b.p, 64 * KiB, o, 0x701);
	pinio_pattern_fill(self->b.p, 64 * KiB, o, 0x702);
	pinio_pattern_fill(self->fx, 64 * KiB, o, 0x702);
	ASSERT_ERR(EBADF, pinio_write(self->pfd, self->h, 0, o, 4096));
	segs[0] = pinio_seg(self->h, PINIO_OP_WRITE, 0, o, 4096);
	ASSERT_ERR(EBADF, pinio_batch(self->pfd, segs, 1, &done));
	ASSERT_EQ(0, done);
	segs[0] = pinio_seg(self->h, PINIO_OP_READ, 128 * KiB, o, 4096);
	segs[1] = pinio_seg(self->h, PINIO_OP_WRITE, 0, o, 4096);
	ASSERT_ERR(EBADF, pinio_batch(self->pfd, segs, 2, &done));
	ASSERT_EQ(1, done);
	ASSERT_PAT(self->b.p + 128 * KiB, 4096, o, 0x701);
	ASSERT_EQ(-EBADF, cmd1(&self->r, self->pfd,
			       hcmd(PINIO_URING_CMD_WRITE, self->h, 0, o,
				    4096)));
	ASSERT_EQ(-EBADF, cmd1(&self->r, self->pfd,
			       fcmd(PINIO_URING_CMD_WRITE, self->fx, o,
				    4096)));
	ASSERT_ERR(EBADF, pa_flush(self->pfd));
	ASSERT_EQ(-EBADF, cmd1(&self->r, self->pfd, flushcmd()));
	memset(self->fx, 0, 4096);
	ASSERT_EQ(4096, cmd1(&self->r, self->pfd,
			     fcmd(PINIO_URING_CMD_READ, self->fx, o, 4096)));
	ASSERT_PAT(self->fx, 4096, o, 0x701);

	/* write() has no documented errno here; it must fail, nothing moves. */
	pinio_pattern_fill(x, sizeof(x), o, 0x702);
	ret = (int)sys_ret(pwrite(self->pfd, x, sizeof(x), o));
	ASSERT_GT(0, ret) TH_LOG("pwrite to a read-only store returned %d",
				 ret);
	TH_LOG("pwrite to a read-only store: %s", errname(-ret));

	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->pfd, o);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EACCES, errno);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->pfd, o);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_PAT((uint8_t *)m, 4096, o, 0x701);
	ASSERT_EQ(-1, mprotect(m, 4096, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	munmap(m, 4096);
	ASSERT_DISK(&self->d, o, 64 * KiB, 0x701);
}

/* --- lifetime: I/O in flight ------------------------------------------------ */

/*
 * QD32 commands on distinct ranges in flight: even ones write @seed, odd
 * ones read what the test put there (@seed + 0x40); handles and fixed
 * buffers mixed (all fixed with @fixed). Returns after submitting.
 */
static void submit_qd32_writes(struct __test_metadata *_metadata,
			       FIXTURE_DATA(att) *self, uint64_t o,
			       uint32_t seed, bool fixed)
{
	const uint64_t len = 64 * KiB;
	struct cmd c[QD];
	int i;

	for (i = 0; i < QD; i++) {
		bool fx = fixed || i % 4 >= 2, rd = i & 1;
		uint8_t *mem = (fx ? self->fx : self->b.p) + i * len;
		uint32_t op = rd ? PINIO_URING_CMD_READ : PINIO_URING_CMD_WRITE;

		if (rd) {
			ASSERT_OK(pa_dfill(&self->d, o + i * len, len,
					   seed + 0x40));
			memset(mem, 0xee, len);
		} else {
			pinio_pattern_fill(mem, len, o + i * len, seed);
		}
		c[i] = fx ? fcmd(op, mem, o + i * len, len) :
			    hcmd(op, self->h, i * len, o + i * len, len);
	}
	ASSERT_OK(queue_cmds(&self->r, self->pfd, c, QD));
	ASSERT_OK(ring_go(&self->r, false));
}

/* Every CQE in full; the writes on the disk, the reads in the buffers. */
static void reap_qd32(struct __test_metadata *_metadata,
		      FIXTURE_DATA(att) *self, uint64_t o, uint32_t seed,
		      bool fixed)
{
	const uint64_t len = 64 * KiB;
	int res[QD], i;

	ASSERT_OK(reap_cmds(&self->r, QD, res));
	for (i = 0; i < QD; i++)
		ASSERT_EQ(64 * KiB, res[i]) TH_LOG("command %d", i);
	for (i = 0; i < QD; i++) {
		bool fx = fixed || i % 4 >= 2;

		if (i & 1) {
			uint8_t *got = (fx ? self->fx : self->b.p) + i * len;

			ASSERT_PAT(got, len, o + i * len, seed + 0x40);
		} else {
			ASSERT_DISK(&self->d, o + i * len, len, seed);
		}
	}
}

TEST_F_TIMEOUT(att, inflight_unregister, 120)
{
	const uint64_t o = self->sc + 8 * MiB;

	submit_qd32_writes(_metadata, self, o, 0x801, false);
	ASSERT_OK(pinio_unregister(self->pfd, self->h));
	reap_qd32(_metadata, self, o, 0x801, false);
	ASSERT_EQ(-ENOENT, cmd1(&self->r, self->pfd,
				hcmd(PINIO_URING_CMD_READ, self->h, 0, o,
				     4096)));
	ASSERT_TRUE(SETTLE(pins_back(&self->rbase)));
	ASSERT_PINS(self->rbase, 0, 0);
}

/*
 * The same with every command punted to io-wq (IOSQE_ASYNC). The driver
 * first sees such a command when io-wq issues it, which may be after the
 * unregister: then it fails with ENOENT having moved nothing (the header's
 * "takes its reference at submission" cannot hold for these); otherwise it
 * completes in full.
 */
TEST_F_TIMEOUT(att, inflight_unregister_async, 120)
{
	const uint64_t o = self->sc + 8 * MiB, len = 64 * KiB;
	struct cmd c[QD];
	int res[QD], i;

	for (i = 0; i < QD; i++) {
		pinio_pattern_fill(self->b.p + i * len, len, o + i * len, 0x806);
		c[i] = hcmd(i & 1 ? PINIO_URING_CMD_WRITE : PINIO_URING_CMD_READ,
			    self->h, i * len, o + i * len, len);
		c[i].sqe_flags = IOSQE_ASYNC;
	}
	ASSERT_OK(pa_dfill(&self->d, o, QD * len, 0x807));
	ASSERT_OK(queue_cmds(&self->r, self->pfd, c, QD));
	ASSERT_OK(ring_go(&self->r, false));
	ASSERT_OK(pinio_unregister(self->pfd, self->h));
	ASSERT_OK(reap_cmds(&self->r, QD, res));
	for (i = 0; i < QD; i++) {
		bool w = i & 1;

		ASSERT_TRUE(res[i] == (int)len || res[i] == -ENOENT)
			TH_LOG("%s %d of %d, IOSQE_ASYNC, unregistered after "
			       "submission: res %d", w ? "write" : "read", i,
			       QD, res[i]);
		if (res[i] == (int)len && w)
			ASSERT_DISK(&self->d, o + i * len, len, 0x806);
		else if (res[i] == (int)len)
			ASSERT_PAT(self->b.p + i * len, len, o + i * len, 0x807);
		else if (w)
			ASSERT_DISK(&self->d, o + i * len, len, 0x807);
		else
			ASSERT_PAT(self->b.p + i * len, len, o + i * len, 0x806);
	}
	ASSERT_TRUE(SETTLE(pins_back(&self->rbase)));
	ASSERT_PINS(self->rbase, 0, 0);
}

/*
 * Reads of pages the buffered path has just dirtied: the non-blocking
 * issue cannot wait for their writeback, so the driver hands them back to
 * io_uring (-EAGAIN) and io-wq issues them again. The driver did see them
 * at submission, before the unregister, so each must complete in full.
 */
TEST_F_TIMEOUT(att, inflight_unregister_punted, 120)
{
	const uint64_t o = self->sc + 10 * MiB, len = 64 * KiB;
	struct cmd c[16];
	int res[16], i;
	uint8_t *p = pa_alloc(16 * len);

	ASSERT_NE(NULL, p);
	pinio_pattern_fill(p, 16 * len, o, 0x808);
	ASSERT_OK(dev_pwrite_all(self->pfd, p, 16 * len, o));
	memset(self->b.p, 0xee, 16 * len);
	for (i = 0; i < 16; i++)
		c[i] = hcmd(PINIO_URING_CMD_READ, self->h, i * len,
			    o + i * len, len);
	ASSERT_OK(queue_cmds(&self->r, self->pfd, c, 16));
	ASSERT_OK(ring_go(&self->r, false));
	ASSERT_OK(pinio_unregister(self->pfd, self->h));
	ASSERT_OK(reap_cmds(&self->r, 16, res));
	for (i = 0; i < 16; i++)
		EXPECT_EQ((int)len, res[i]) TH_LOG("read %d of 16 over dirty "
						   "pages, unregistered after "
						   "submission", i);
	for (i = 0; i < 16; i++)
		if (res[i] == (int)len)
			ASSERT_PAT(self->b.p + i * len, len, o + i * len, 0x808);
	pa_free(p, 16 * len);
	ASSERT_TRUE(SETTLE(pins_back(&self->rbase)));
	ASSERT_PINS(self->rbase, 0, 0);
}

/* Detached with writes in flight: they land on the disk, new I/O in RAM. */
TEST_F_TIMEOUT(att, inflight_detach, 120)
{
	const uint64_t o = self->sc + 8 * MiB;
	struct pinio_info i;

	submit_qd32_writes(_metadata, self, o, 0x802, false);
	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_OK(pinio_get_info(self->pfd, &i));
	ASSERT_EQ(PINIO_STORE_RAM, i.store);
	reap_qd32(_metadata, self, o, 0x802, false);
	/* Fixed buffers too, then attach again at once. */
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));
	submit_qd32_writes(_metadata, self, o, 0x803, true);
	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));
	reap_qd32(_metadata, self, o, 0x803, true);
}

/* The pinio file closed with commands in flight: every CQE arrives. */
TEST_F_TIMEOUT(att, inflight_close, 120)
{
	const uint64_t o = self->sc + 8 * MiB;

	submit_qd32_writes(_metadata, self, o, 0x804, false);
	close(self->pfd);
	self->pfd = -1;
	reap_qd32(_metadata, self, o, 0x804, false);
	hring_exit(&self->r);
	tbuf_free(&self->b);
	ASSERT_TRUE(SETTLE(pins_back(&self->base)));
	ASSERT_PINS(self->base, 0, 0);
}

/* The ring torn down with commands in flight: nothing stays pinned. */
TEST_F_TIMEOUT(att, inflight_ring_teardown, 120)
{
	const uint64_t o = self->sc + 8 * MiB;

	submit_qd32_writes(_metadata, self, o, 0x805, false);
	hring_exit(&self->r);
	ASSERT_OK(pa_detach(self->pfd));
	close(self->pfd);
	self->pfd = -1;
	tbuf_free(&self->b);
	pa_free(self->fx, FX_LEN);
	self->fx = NULL;
	ASSERT_TRUE(SETTLE(pins_back(&self->base)));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TRUE(SETTLE(foll_pins_outstanding() <= self->pins0))
		TH_LOG("FOLL_PIN pins outstanding: %" PRId64 ", before %" PRId64,
		       foll_pins_outstanding(), self->pins0);
}

/*
 * fork: the child shares the open file, so its transfers (through a
 * registration of its own) go to the same attached store; its own new
 * open of /dev/pinio has the RAM store.
 */
TEST_F(att, fork_shares_store)
{
	const uint64_t o = self->sc + 12 * MiB;
	pid_t pid;

	ASSERT_OK(pa_dfill(&self->d, o, 64 * KiB, 0x901));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pinio_info i;
		uint8_t *p = pa_alloc(128 * KiB);
		uint32_t h = 0;
		int fd2;

		CHILD_CHECK(p, "alloc");
		CHILD_CHECK(!pinio_get_info(self->pfd, &i) &&
			    i.store == self->d.store, "INFO in the child");
		CHILD_CHECK(!pinio_register(self->pfd, p, 128 * KiB,
					    PINIO_REG_BIDIR, &h), "register");
		CHILD_CHECK(!pinio_read(self->pfd, h, 0, o, 64 * KiB),
			    "read");
		CHILD_CHECK(pinio_pattern_check(p, 64 * KiB, o, 0x901) == -1,
			    "what the parent put on the disk");
		pinio_pattern_fill(p, 64 * KiB, o + 64 * KiB, 0x902);
		CHILD_CHECK(!pinio_write(self->pfd, h, 0, o + 64 * KiB,
					 64 * KiB), "write");
		CHILD_CHECK(!pa_flush(self->pfd), "flush");
		fd2 = pinio_open();
		CHILD_CHECK(fd2 >= 0 && !pinio_get_info(fd2, &i) &&
			    i.store == PINIO_STORE_RAM, "a new open is RAM");
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_DISK(&self->d, o + 64 * KiB, 64 * KiB, 0x902);
	/* The child's detach-free exit left the store attached here. */
	memset(self->b.p, 0, 64 * KiB);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, o + 64 * KiB, 64 * KiB));
	ASSERT_PAT(self->b.p, 64 * KiB, o + 64 * KiB, 0x902);
}

/* --- every attach errno ---------------------------------------------------------- */

FIXTURE(abi) {
	int pfd;
	struct pa_disk d;	/* any block device of the contract */
	bool have_disk;
};

FIXTURE_SETUP(abi)
{
	static const char *const vars[] = { "PINIO_NVME512", "PINIO_VBLK",
					    "PINIO_NVME4K" };
	size_t i;

	self->d.dfd = -1;
	self->pfd = pinio_open();
	ASSERT_LE(0, self->pfd);
	if (!pa_have_attach(self->pfd))
		SKIP(return, "driver without PINIO_FEAT_ATTACH");
	for (i = 0; i < ARRAY_SIZE(vars) && !self->have_disk; i++)
		self->have_disk = !pa_disk_get(&self->d, vars[i], 0);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->pfd >= 0)
		close(self->pfd);
	pa_disk_put(&self->d);
}

/* Still the RAM store, nothing attached. */
#define ASSERT_UNATTACHED(pfd) do {					\
	struct pinio_info __i;						\
	ASSERT_OK(pinio_get_info((pfd), &__i));				\
	ASSERT_EQ(PINIO_STORE_RAM, __i.store);				\
	ASSERT_ERR(ENXIO, pa_detach(pfd));				\
} while (0)

/* Files that are not block devices or regular files, and bad fds. */
TEST_F(abi, attach_bad_fds)
{
	int p[2], s[2], fd, other;

	ASSERT_ERR(EBADF, pa_attach(self->pfd, -1, 0));
	ASSERT_ERR(EBADF, pa_attach(self->pfd, 100000, 0));
	ASSERT_ERR(EBADF, pa_attach(self->pfd, INT32_MIN, PINIO_ATTACH_WRITE));
	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, 0));
	fd = open("/", O_PATH);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, 0));
	close(fd);

	/* pinio on pinio: itself, and another open of it. */
	ASSERT_ERR(ELOOP, pa_attach(self->pfd, self->pfd, 0));
	ASSERT_ERR(ELOOP, pa_attach(self->pfd, self->pfd, PINIO_ATTACH_WRITE));
	other = pinio_open();
	ASSERT_LE(0, other);
	ASSERT_ERR(ELOOP, pa_attach(self->pfd, other, PINIO_ATTACH_WRITE));
	ASSERT_ERR(ELOOP, pa_attach(other, self->pfd, 0));
	close(other);

	ASSERT_EQ(0, pipe(p));
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, p[0], 0));
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, p[1], 0));
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, s[0], PINIO_ATTACH_WRITE));
	close(s[0]);
	close(s[1]);
	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, fd, 0));
	close(fd);
	fd = open("/", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	ASSERT_ERR(ENOTBLK, pa_attach(self->pfd, fd, 0));
	close(fd);

	/* A bad argument pointer. */
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->pfd, PINIO_IOC_ATTACH, NULL)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->pfd, PINIO_IOC_ATTACH,
					 (void *)KERNEL_ADDR)));
	ASSERT_UNATTACHED(self->pfd);
}

/* Flags, reserved fields, the fd's open mode and O_APPEND. */
TEST_F(abi, attach_flags_and_modes)
{
	int fd;

	if (!self->have_disk)
		SKIP(return, "no block device (PINIO_NVME512, PINIO_VBLK, PINIO_NVME4K)");
	fd = pa_disk_reopen(&self->d, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, 0x2));
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE | 0x4));
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, 0x80000000U));
	ASSERT_ERR(EINVAL, pa_attach_full(self->pfd, fd, 0, 1, 0));
	ASSERT_ERR(EINVAL, pa_attach_full(self->pfd, fd, PINIO_ATTACH_WRITE,
					  0, 1ULL << 63));
	ASSERT_UNATTACHED(self->pfd);
	close(fd);

	fd = pa_disk_reopen(&self->d, O_RDWR | O_APPEND);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, 0));
	close(fd);

	fd = pa_disk_reopen(&self->d, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_UNATTACHED(self->pfd);
	close(fd);
	fd = pa_disk_reopen(&self->d, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, 0));
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_UNATTACHED(self->pfd);
	close(fd);
	fd = open(self->d.path, O_PATH);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EBADF, pa_attach(self->pfd, fd, 0));
	close(fd);

	/* Read-only fd, read-only store: fine. */
	fd = pa_disk_reopen(&self->d, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_OK(pa_attach(self->pfd, fd, 0));
	close(fd);
	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_UNATTACHED(self->pfd);
}

/* One store at a time: EBUSY, and the first stays. DETACH/FLUSH: ENXIO. */
TEST_F(abi, attach_busy_detach_flush)
{
	struct hring r;
	struct pinio_uring_cmd z = { 0 };
	struct pinio_info i;
	int fd;

	ASSERT_ERR(ENXIO, pa_detach(self->pfd));
	ASSERT_ERR(ENXIO, pa_flush(self->pfd));
	ASSERT_OK(hring_init(&r, 8, IORING_SETUP_SQE128));
	ASSERT_EQ(-ENXIO, hring_cmd1(&r, self->pfd, PINIO_URING_CMD_FLUSH, &z,
				     0, 0));
	if (!self->have_disk) {
		hring_exit(&r);
		SKIP(return, "no block device (PINIO_NVME512, PINIO_VBLK, PINIO_NVME4K)");
	}
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));
	fd = pa_disk_reopen(&self->d, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EBUSY, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_ERR(EBUSY, pa_attach(self->pfd, fd, 0));
	close(fd);
	ASSERT_OK(pinio_get_info(self->pfd, &i));
	ASSERT_EQ(PINIO_STORE_BDEV, i.store);
	ASSERT_EQ(PINIO_ATTACH_WRITE, i.attach_flags);
	ASSERT_OK(pa_flush(self->pfd));
	ASSERT_EQ(0, hring_cmd1(&r, self->pfd, PINIO_URING_CMD_FLUSH, &z, 0,
				0));
	ASSERT_OK(pa_detach(self->pfd));
	ASSERT_UNATTACHED(self->pfd);
	ASSERT_ERR(ENXIO, pa_flush(self->pfd));
	ASSERT_EQ(-ENXIO, hring_cmd1(&r, self->pfd, PINIO_URING_CMD_FLUSH, &z,
				     0, 0));
	hring_exit(&r);
}

/* Regular files: an empty one (or smaller than a block) is no store. */
TEST_F(abi, attach_empty_file)
{
	char path[600];
	const char *dir = getenv("PINIO_EXT4_DIR");
	struct pinio_info i;
	int fd;

	if (!dir || !*dir)
		SKIP(return, "PINIO_EXT4_DIR is not set");
	snprintf(path, sizeof(path), "%s/pinio-empty.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, 0));
	ASSERT_EQ(100, pwrite(fd, path, 100, 0));
	ASSERT_ERR(EINVAL, pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_UNATTACHED(self->pfd);
	/* 8 KiB + 100 bytes: the store is 8 KiB. */
	ASSERT_EQ(0, ftruncate(fd, 8192 + 100));
	ASSERT_OK(pa_attach(self->pfd, fd, PINIO_ATTACH_WRITE));
	ASSERT_OK(pinio_get_info(self->pfd, &i));
	ASSERT_EQ(PINIO_STORE_FILE, i.store);
	ASSERT_EQ(8192, i.dev_size);
	ASSERT_OK(pa_detach(self->pfd));
	close(fd);
	unlink(path);
}

/*
 * A regular file on a filesystem without direct I/O (open(O_DIRECT) fails
 * with EINVAL there): EOPNOTSUPP. Which filesystems those are depends on
 * the kernel (tmpfs has direct I/O since 6.6; 9p depends on its cache
 * mode); ramfs never has it, so one is mounted for the test.
 */
TEST_F(abi, attach_no_direct_io)
{
	char ramfs[64];
	const char *dirs[] = { "/tmp", "/dev/shm", getenv("PINIO_FILE_DIR"),
			       getenv("PINIO_RESULTS_DIR"), ramfs };
	char path[600];
	bool mounted;
	size_t k;
	int tried = 0;

	snprintf(ramfs, sizeof(ramfs), "/tmp/pinio-ramfs.%d", getpid());
	mounted = !mkdir(ramfs, 0700) && !mount("ramfs", ramfs, "ramfs", 0,
						NULL);
	if (!mounted)
		TH_LOG("no ramfs at %s: %s", ramfs, errname(errno));

	for (k = 0; k < ARRAY_SIZE(dirs); k++) {
		int fd, dfd;

		if (!dirs[k] || !*dirs[k])
			continue;
		snprintf(path, sizeof(path), "%s/pinio-nodio.%d", dirs[k],
			 getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			continue;
		if (ftruncate(fd, MiB)) {
			close(fd);
			unlink(path);
			continue;
		}
		dfd = open(path, O_RDWR | O_DIRECT);
		if (dfd >= 0 || errno != EINVAL) {
			if (dfd >= 0)
				close(dfd);
			close(fd);
			unlink(path);
			continue;
		}
		tried++;
		for (int w = 0; w < 2; w++) {
			int r = pa_attach(self->pfd, fd,
					  w ? PINIO_ATTACH_WRITE : 0);

			EXPECT_ERR(EOPNOTSUPP, r) TH_LOG("%s, %s", dirs[k],
							 w ? "read-write" :
							 "read-only");
			/* No I/O on it: ->direct_IO may be NULL there. */
			if (!r)
				pa_detach(self->pfd);
		}
		printf("# %s: no O_DIRECT, ATTACH refused\n", dirs[k]);
		close(fd);
		unlink(path);
	}
	if (mounted)
		umount(ramfs);
	rmdir(ramfs);
	{
		/* shmem: direct I/O there would be a copy (even where
		 * open(O_DIRECT) works, 6.6 on). */
		int fd = memfd_create("pinio-attach", MFD_CLOEXEC);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, MiB));
		EXPECT_ERR(EOPNOTSUPP, pa_attach(self->pfd, fd,
						 PINIO_ATTACH_WRITE));
		close(fd);
		snprintf(path, sizeof(path), "/dev/shm/pinio-attach.%d",
			 getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, MiB));
		EXPECT_ERR(EOPNOTSUPP, pa_attach(self->pfd, fd, 0));
		close(fd);
		unlink(path);
		tried++;
	}
	if (!tried)
		SKIP(return, "every filesystem here has direct I/O");
	ASSERT_UNATTACHED(self->pfd);
}

/* --- injected device errors ----------------------------------------------------- */

FIXTURE(bad) {
	int pfd;
	struct pa_disk d;
	uint64_t bad;		/* byte offset of the failing range */
	struct tbuf b;
	uint32_t h;
	struct hring r;
	uint8_t *fx;
	struct pin_snap base, rbase;
	int64_t pins0;
};

FIXTURE_VARIANT(bad) {
	const char *var;
	int err;
};

FIXTURE_VARIANT_ADD(bad, vblk_eio) { .var = "PINIO_BAD_VBLK", .err = EIO };
FIXTURE_VARIANT_ADD(bad, nvme_enodata) {
	.var = "PINIO_BAD_NVME", .err = ENODATA,
};

FIXTURE_SETUP(bad)
{
	struct iovec iov;
	uint64_t sector;
	int ret;

	self->r.fd = -1;
	self->d.dfd = -1;
	self->pfd = pinio_open();
	ASSERT_LE(0, self->pfd);
	if (!pa_have_attach(self->pfd))
		SKIP(return, "driver without PINIO_FEAT_ATTACH");
	ret = pa_disk_get(&self->d, variant->var, 0);
	if (ret == -ENOENT && !getenv(variant->var))
		SKIP(return, "%s is not set: no such disk", variant->var);
	ASSERT_OK(ret);
	ASSERT_OK(pa_env_u64("PINIO_BAD_SECTOR", &sector))
		TH_LOG("%s is set, PINIO_BAD_SECTOR is not", variant->var);
	self->bad = sector * 512;
	ASSERT_LE(self->bad + 3 * MiB, self->d.size);
	ASSERT_LE(MiB, self->bad);
	self->pins0 = foll_pins_baseline();
	ASSERT_OK(pin_snap(&self->base));
	self->fx = pa_alloc(MiB);
	ASSERT_NE(NULL, self->fx);
	ASSERT_OK(hring_init(&self->r, 32, IORING_SETUP_SQE128));
	iov.iov_base = self->fx;
	iov.iov_len = MiB;
	ASSERT_OK(hring_register_buffers(&self->r, &iov, 1));
	ASSERT_OK(pin_snap(&self->rbase));
	ASSERT_OK(tbuf_anon(&self->b, 2 * MiB));
	ASSERT_OK(pinio_register(self->pfd, self->b.p, 2 * MiB,
				 PINIO_REG_BIDIR, &self->h));
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));
}

FIXTURE_TEARDOWN(bad)
{
	hring_exit(&self->r);
	if (self->pfd >= 0)
		close(self->pfd);
	tbuf_free(&self->b);
	pa_free(self->fx, MiB);
	pa_disk_put(&self->d);
}

/* The pin accounting after the error cases: registration only, then none. */
static void bad_check_pins(struct __test_metadata *_metadata,
			   FIXTURE_DATA(bad) *self)
{
	ASSERT_PINS(self->rbase, 1, 2 * MiB / page_size());
	ASSERT_OK(pinio_unregister(self->pfd, self->h));
	hring_exit(&self->r);
	ASSERT_TRUE(SETTLE(pins_back(&self->base)));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TRUE(SETTLE(foll_pins_outstanding() <= self->pins0))
		TH_LOG("FOLL_PIN pins outstanding: %" PRId64 ", before %" PRId64,
		       foll_pins_outstanding(), self->pins0);
}

/* The ioctls over the bad range: the device's errno, exactly. */
TEST_F(bad, ioctl)
{
	const int e = variant->err;
	const uint64_t b = self->bad;

	/* The test's own O_DIRECT read fails there too: the disk is bad. */
	ASSERT_ERR(e, pa_dread(&self->d, self->fx, 4096, b));
	ASSERT_ERR(e, pinio_read(self->pfd, self->h, 0, b, 4096));
	ASSERT_ERR(e, pinio_read(self->pfd, self->h, 0, b - 64 * KiB,
				 128 * KiB));
	ASSERT_ERR(e, pinio_read(self->pfd, self->h, 0, b + 3584, 512));
	ASSERT_ERR(e, pinio_write(self->pfd, self->h, 0, b, 4096));
	ASSERT_ERR(e, pinio_write(self->pfd, self->h, 4096, b - 4096, MiB));

	/* Beside it, both ways work. */
	pinio_pattern_fill(self->b.p, 64 * KiB, b - 64 * KiB, 0xa01);
	ASSERT_OK(pinio_write(self->pfd, self->h, 0, b - 64 * KiB, 64 * KiB));
	ASSERT_DISK(&self->d, b - 64 * KiB, 64 * KiB, 0xa01);
	ASSERT_OK(pa_dfill(&self->d, b + 4096, 64 * KiB, 0xa02));
	memset(self->b.p, 0, 64 * KiB);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, b + 4096, 64 * KiB));
	ASSERT_PAT(self->b.p, 64 * KiB, b + 4096, 0xa02);
	bad_check_pins(_metadata, self);
}

/* A batch whose third segment hits the range: completed == 2, exactly. */
TEST_F(bad, batch_third_segment)
{
	const int e = variant->err;
	const uint64_t b = self->bad, o = b - MiB;
	struct pinio_xfer segs[4];
	uint32_t done = 0;

	ASSERT_OK(pa_dfill(&self->d, o, 256 * KiB, 0xa03));
	pinio_pattern_fill(self->b.p, 64 * KiB, o + 64 * KiB, 0xa04);
	pinio_pattern_fill(self->b.p + MiB, 64 * KiB, o + 128 * KiB, 0xa05);
	memset(self->b.p + 64 * KiB, 0, 64 * KiB);
	segs[0] = pinio_seg(self->h, PINIO_OP_WRITE, 0, o + 64 * KiB,
			    64 * KiB);
	segs[1] = pinio_seg(self->h, PINIO_OP_READ, 64 * KiB, o, 64 * KiB);
	segs[2] = pinio_seg(self->h, PINIO_OP_READ, 128 * KiB, b - 8192,
			    16 * KiB);
	segs[3] = pinio_seg(self->h, PINIO_OP_WRITE, MiB, o + 128 * KiB,
			    64 * KiB);
	ASSERT_ERR(e, pinio_batch(self->pfd, segs, 4, &done));
	ASSERT_EQ(2, done);
	ASSERT_DISK(&self->d, o + 64 * KiB, 64 * KiB, 0xa04);
	ASSERT_PAT(self->b.p + 64 * KiB, 64 * KiB, o, 0xa03);
	/* The fourth never started. */
	ASSERT_DISK(&self->d, o + 128 * KiB, 64 * KiB, 0xa03);

	/* The same with a write as the third. */
	segs[2] = pinio_seg(self->h, PINIO_OP_WRITE, 128 * KiB, b, 4096);
	ASSERT_ERR(e, pinio_batch(self->pfd, segs, 4, &done));
	ASSERT_EQ(2, done);
	ASSERT_DISK(&self->d, o + 128 * KiB, 64 * KiB, 0xa03);
	bad_check_pins(_metadata, self);
}

/* The CQE carries the errno, with handles and fixed buffers; the others
 * of the same submission complete. */
TEST_F(bad, uring)
{
	const int e = variant->err;
	const uint64_t b = self->bad, o = b - MiB;
	struct cmd c[8];
	int res[8], i;

	ASSERT_EQ(-e, cmd1(&self->r, self->pfd,
			   hcmd(PINIO_URING_CMD_READ, self->h, 0, b, 4096)));
	ASSERT_EQ(-e, cmd1(&self->r, self->pfd,
			   hcmd(PINIO_URING_CMD_WRITE, self->h, 0, b - 4096,
				8192)));
	ASSERT_EQ(-e, cmd1(&self->r, self->pfd,
			   fcmd(PINIO_URING_CMD_READ, self->fx, b - 512 * KiB,
				MiB)));
	ASSERT_EQ(-e, cmd1(&self->r, self->pfd,
			   fcmd(PINIO_URING_CMD_WRITE, self->fx, b, 512)));
	c[0] = hcmd(PINIO_URING_CMD_READ, self->h, 0, b, 4096);
	c[0].sqe_flags = IOSQE_ASYNC;
	ASSERT_OK(run_cmds(&self->r, self->pfd, c, 1, res, false));
	ASSERT_EQ(-e, res[0]);

	for (i = 0; i < 8; i++) {
		pinio_pattern_fill(self->b.p + i * 64 * KiB, 64 * KiB,
				   o + i * 64 * KiB, 0xa06);
		c[i] = hcmd(PINIO_URING_CMD_WRITE, self->h, i * 64 * KiB,
			    o + i * 64 * KiB, 64 * KiB);
	}
	c[5] = fcmd(PINIO_URING_CMD_READ, self->fx, b, 4096);
	ASSERT_OK(run_cmds(&self->r, self->pfd, c, 8, res, false));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(i == 5 ? -e : 64 * KiB, res[i]) TH_LOG("command %d", i);
	ASSERT_DISK(&self->d, o, 5 * 64 * KiB, 0xa06);
	ASSERT_DISK(&self->d, o + 6 * 64 * KiB, 2 * 64 * KiB, 0xa06);
	bad_check_pins(_metadata, self);
}

/* --- the host's image check (runner contract) ---------------------------------- */

FIXTURE(hostcheck) {
	int pfd;
	struct pa_disk d;
	uint64_t off, len, seed;
	uint8_t *p;
	uint32_t h;
};

FIXTURE_SETUP(hostcheck)
{
	int ret;

	self->d.dfd = -1;
	self->pfd = pinio_open();
	ASSERT_LE(0, self->pfd);
	if (!pa_have_attach(self->pfd))
		SKIP(return, "driver without PINIO_FEAT_ATTACH");
	ret = pa_disk_get(&self->d, "PINIO_HOSTCHECK_DEV", 0);
	if (ret == -ENOENT)
		SKIP(return, "PINIO_HOSTCHECK_DEV is not set");
	ASSERT_OK(ret);
	ASSERT_OK(pa_env_u64("PINIO_HOSTCHECK_OFF", &self->off));
	ASSERT_OK(pa_env_u64("PINIO_HOSTCHECK_LEN", &self->len));
	ASSERT_OK(pa_env_u64("PINIO_HOSTCHECK_SEED", &self->seed));
	ASSERT_LE(self->off + 2 * self->len, self->d.size);
	ASSERT_LT(0, self->len);
	ASSERT_GE(PINIO_MAX_REGION_LEN, self->len);
	self->p = pa_alloc(self->len);
	ASSERT_NE(NULL, self->p);
	ASSERT_OK(pinio_register(self->pfd, self->p, self->len,
				 PINIO_REG_BIDIR, &self->h));
	ASSERT_OK(pa_attach_disk(self->pfd, &self->d, PINIO_ATTACH_WRITE));
}

FIXTURE_TEARDOWN(hostcheck)
{
	if (self->pfd >= 0)
		close(self->pfd);
	pa_free(self->p, self->len);
	pa_disk_put(&self->d);
}

/* Fill the region through pinio's direct write; the host checks it. */
TEST_F(hostcheck, host_check_write)
{
	const char *dir = getenv("PINIO_RESULTS_DIR");
	char marker[600];
	int ret;

	pinio_pattern_fill(self->p, self->len, self->off, (uint32_t)self->seed);
	ASSERT_OK(pinio_write(self->pfd, self->h, 0, self->off, self->len));
	ASSERT_OK(pa_flush(self->pfd));
	ASSERT_DISK(&self->d, self->off, self->len, (uint32_t)self->seed);
	ASSERT_TRUE(dir && *dir) TH_LOG("PINIO_RESULTS_DIR is not set: "
					"the host cannot know it was written");
	snprintf(marker, sizeof(marker), "%s/hostcheck-written", dir);
	ret = pa_touch(marker);
	ASSERT_OK(ret) TH_LOG("%s: %s", marker, errname(-ret));
}

/* What the host wrote before boot reads back through pinio. */
TEST_F(hostcheck, host_check_read)
{
	const uint64_t o = self->off + self->len;

	memset(self->p, 0, self->len);
	ASSERT_OK(pinio_read(self->pfd, self->h, 0, o, self->len));
	ASSERT_PAT(self->p, self->len, o, (uint32_t)self->seed + 1);
}

TEST_HARNESS_MAIN
