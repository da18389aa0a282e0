// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: PINIO_IOC_INFO, PINIO_IOC_REGISTER / UNREGISTER and unknown ioctls.
 * Every kind of memory a user may register, every documented errno, and the
 * memlock accounting (VmPin and the sysfs stats) around each of them.
 */
#include <sys/resource.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <termios.h>

#include "pinio_test_util.h"

PINIO_DEVICE_FIXTURE(reg);

/* INFO describes this ABI, this kernel and the header's limits. */
TEST_F(reg, info_fields)
{
	struct pinio_info *in = &self->info;
	uint64_t size_mb, bounce;
	const uint64_t need = PINIO_FEAT_DIRECT | PINIO_FEAT_BATCH |
			      PINIO_FEAT_BUFFERED | PINIO_FEAT_NOWAIT;
	int i;

	ASSERT_EQ(PINIO_ABI_VERSION, in->abi_version);
	ASSERT_EQ(self->ps, in->page_size);
	ASSERT_OK(pinio_param("size_mb", &size_mb));
	ASSERT_EQ(size_mb * MiB, in->dev_size);
	ASSERT_NE(0, in->dev_size);
	ASSERT_EQ(0, in->dev_size % self->ps);
	ASSERT_EQ(need, in->features & need)
		TH_LOG("features 0x%llx", (unsigned long long)in->features);
	ASSERT_OK(pinio_param("bounce", &bounce));
	ASSERT_EQ(!!bounce, !!(in->features & PINIO_FEAT_BOUNCE));
	ASSERT_EQ(PINIO_MAX_REGION_LEN, in->max_region_len);
	ASSERT_EQ(PINIO_MAX_REGIONS, in->max_regions);
	ASSERT_EQ(PINIO_MAX_BATCH, in->max_batch);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, in->reserved[i]) TH_LOG("reserved[%d]", i);
	}
}

/*
 * Module parameters and stats files: size_mb and mode read-only, bounce
 * read-write taking only booleans, stats world-readable decimal numbers.
 */
TEST_F(reg, module_params_and_stats_files)
{
	static const char * const stats[] = {
		"direct_read_bytes", "direct_write_bytes",
		"buffered_read_bytes", "buffered_write_bytes",
		"registrations", "pinned_pages_total", "regions",
		"pinned_pages",
	};
	uint64_t mode = 0, bounce = 7, size_mb = 0;
	struct stat st;
	size_t i;

	ASSERT_OK(pinio_param("size_mb", &size_mb));
	ASSERT_EQ(self->info.dev_size, size_mb * MiB);
	ASSERT_OK(pinio_param("mode", &mode));
	ASSERT_EQ(0, stat(PINIO_DEVICE_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(mode & 0777, st.st_mode & 0777)
		TH_LOG("node mode 0%o, parameter 0%llo", st.st_mode & 0777,
		       (unsigned long long)mode);

	ASSERT_ERR(EACCES, write_sysfs_str(PINIO_SYSFS_PARAMS "size_mb",
					   "128"));
	ASSERT_ERR(EACCES, write_sysfs_str(PINIO_SYSFS_PARAMS "mode", "0666"));
	ASSERT_OK(pinio_param("bounce", &bounce));
	ASSERT_EQ(0, bounce) TH_LOG("module not at its default bounce=0");
	ASSERT_OK(pinio_set_bounce(1));
	ASSERT_OK(pinio_param("bounce", &bounce));
	ASSERT_EQ(1, bounce);
	ASSERT_ERR(EINVAL, write_sysfs_str(PINIO_SYSFS_PARAMS "bounce", "2"));
	ASSERT_ERR(EINVAL, write_sysfs_str(PINIO_SYSFS_PARAMS "bounce",
					   "maybe"));
	ASSERT_OK(pinio_param("bounce", &bounce));
	ASSERT_EQ(1, bounce);
	ASSERT_OK(pinio_set_bounce(0));
	ASSERT_OK(pinio_param("bounce", &bounce));
	ASSERT_EQ(0, bounce);

	for (i = 0; i < ARRAY_SIZE(stats); i++) {
		char path[128], buf[64], *end;
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), PINIO_SYSFS_STATS "%s", stats[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		ASSERT_EQ(0444, st.st_mode & 0777) TH_LOG("%s", path);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ASSERT_LT(0, n);
		buf[n] = 0;
		strtoull(buf, &end, 10);
		ASSERT_TRUE(end != buf && (*end == '\n' || !*end))
			TH_LOG("%s: '%s'", path, buf);
	}
}

/* The store is the size the module says, through every view of it. */
TEST_F(reg, info_size_matches_store)
{
	uint64_t size = self->info.dev_size;
	char c;

	ASSERT_EQ((off_t)size, lseek(self->fd, 0, SEEK_END));
	ASSERT_EQ(1, pread(self->fd, &c, 1, size - 1));
	ASSERT_EQ(0, pread(self->fd, &c, 1, size));
}

TEST_F(reg, info_bad_pointer)
{
	struct tbuf ro;

	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_INFO, NULL)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_INFO,
					 (void *)KERNEL_ADDR)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_INFO,
					 unmapped_range(self->ps))));
	/* The driver writes the struct: a read-only page must fault. */
	ASSERT_OK(tbuf_anon(&ro, self->ps));
	ASSERT_OK(sys_ret(mprotect(ro.p, self->ps, PROT_READ)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_INFO, ro.p)));
	tbuf_free(&ro);
}

/* Commands the driver does not define, including near-misses, are ENOTTY. */
TEST_F(reg, unknown_ioctl_enotty)
{
	struct pinio_info info;
	struct termios tio;
	struct tbuf b;
	const unsigned long cmds[] = {
		_IO(PINIO_IOC_MAGIC, 0x06),
		_IOWR(PINIO_IOC_MAGIC, 0x06, struct pinio_xfer),
		_IOWR(PINIO_IOC_MAGIC, 0x7f, struct pinio_batch),
		_IOR(PINIO_IOC_MAGIC + 1, 0x00, struct pinio_info),
		/* right number, wrong size or direction */
		_IOR(PINIO_IOC_MAGIC, 0x00, __u64),
		_IOW(PINIO_IOC_MAGIC, 0x00, struct pinio_info),
		_IOWR(PINIO_IOC_MAGIC, 0x01, struct pinio_xfer),
		_IOW(PINIO_IOC_MAGIC, 0x03, struct pinio_region),
		_IOR(PINIO_IOC_MAGIC, 0x04, struct pinio_xfer),
		_IOW(PINIO_IOC_MAGIC, 0x05, struct pinio_batch),
		_IO(PINIO_IOC_MAGIC, 0x02),
	};
	size_t i;

	/* A valid, registered buffer as argument: only cmd can be wrong. */
	ASSERT_OK(tbuf_anon(&b, self->ps));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(b.p, 0, self->ps);
		EXPECT_ERR(ENOTTY, sys_ret(ioctl(self->fd, cmds[i], b.p)))
			TH_LOG("cmd 0x%lx", cmds[i]);
	}
	/* isatty() must say no. */
	ASSERT_ERR(ENOTTY, sys_ret(ioctl(self->fd, TCGETS, &tio)));
	ASSERT_EQ(0, isatty(self->fd));
	/* The real command still works after all that. */
	ASSERT_OK(pinio_get_info(self->fd, &info));
	ASSERT_EQ(PINIO_ABI_VERSION, info.abi_version);
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/* Register and unregister anonymous memory; handles and accounting. */
TEST_F(reg, register_unregister_anon)
{
	size_t ps = self->ps;
	uint32_t h1 = 0, h2 = 0;
	struct tbuf b;

	ASSERT_OK(tbuf_anon(&b, 4 * ps));
	/* 2 pages from an odd offset span 3 pages. */
	ASSERT_OK(pinio_register(self->fd, b.p + 100, 2 * ps, PINIO_REG_BIDIR,
				 &h1));
	ASSERT_NE(0, h1);
	ASSERT_LT(h1, 1U << 31) TH_LOG("handle %u is not small", h1);
	ASSERT_PINS(self->base, 1, 3);
	ASSERT_TOTALS(self->base, 1, 3);

	/* 1 byte at a page's last byte: 1 page; overlapping is fine. */
	ASSERT_OK(pinio_register(self->fd, b.p + ps - 1, 1,
				 PINIO_REG_DEV_TO_USER, &h2));
	ASSERT_NE(0, h2);
	ASSERT_NE(h1, h2);
	ASSERT_PINS(self->base, 2, 4);
	ASSERT_TOTALS(self->base, 2, 4);

	ASSERT_OK(pinio_unregister(self->fd, h1));
	ASSERT_PINS(self->base, 1, 1);
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, h1));
	ASSERT_OK(pinio_unregister(self->fd, h2));
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, h2));
	ASSERT_PINS(self->base, 0, 0);
	/* Totals count what was ever pinned. */
	ASSERT_TOTALS(self->base, 2, 4);
	tbuf_free(&b);
}

/* Every page the range touches is pinned and charged, no more. */
TEST_F(reg, register_page_span)
{
	size_t ps = self->ps;
	const struct { size_t off, len; } c[] = {
		{ 0, 1 }, { ps - 1, 1 }, { ps - 1, 2 }, { 1, ps }, { 0, ps },
		{ 0, ps + 1 }, { 7, 5 * ps }, { ps / 2, 3 * ps + 17 },
		{ 4095, 4097 }, { 0, 8 * ps },
	};
	struct tbuf b;
	size_t i;

	ASSERT_OK(tbuf_anon(&b, 10 * ps));
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t n = span_pages((uintptr_t)b.p + c[i].off, c[i].len);
		uint32_t h = 0;

		ASSERT_OK(pinio_register(self->fd, b.p + c[i].off, c[i].len,
					 PINIO_REG_BIDIR, &h))
			TH_LOG("case %zu", i);
		ASSERT_PINS(self->base, 1, n) TH_LOG("case %zu", i);
		ASSERT_OK(pinio_unregister(self->fd, h));
		ASSERT_PINS(self->base, 0, 0);
	}
	tbuf_free(&b);
}

/* Live handles are distinct and nonzero; transfers reach the right one. */
TEST_F(reg, handles_distinct)
{
	enum { N = 64 };
	size_t ps = self->ps;
	uint32_t h[N];
	struct tbuf b;
	int i, j;

	ASSERT_OK(tbuf_anon(&b, N * ps));
	for (i = 0; i < N; i++) {
		ASSERT_OK(pinio_register(self->fd, b.p + i * ps, ps,
					 PINIO_REG_BIDIR, &h[i]));
		ASSERT_NE(0, h[i]);
		for (j = 0; j < i; j++) {
			ASSERT_NE(h[j], h[i]) TH_LOG("%d and %d", j, i);
		}
	}
	ASSERT_PINS(self->base, N, N);
	/* Read 1 page of store into each; each lands in its own page. */
	pattern_fill(b.p, N * ps, 0, 0);
	ASSERT_OK(dev_pwrite_all(self->fd, b.p, N * ps, 0));
	memset(b.p, 0, N * ps);
	for (i = N - 1; i >= 0; i--) {
		ASSERT_OK(pinio_read(self->fd, h[i], 0, i * ps, ps));
	}
	ASSERT_PATTERN(b.p, N * ps, 0, 0);
	for (i = 0; i < N; i++) {
		ASSERT_OK(pinio_unregister(self->fd, h[i]));
	}
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/* Every malformed argument is EINVAL, and nothing gets pinned. */
TEST_F(reg, register_einval)
{
	size_t ps = self->ps;
	uint64_t a;
	struct tbuf b;
	uint32_t h = 0;

	ASSERT_OK(tbuf_anon(&b, 2 * ps));
	a = (uintptr_t)b.p;
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, 0,
					       PINIO_REG_BIDIR, 0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a,
					       PINIO_MAX_REGION_LEN + 1,
					       PINIO_REG_BIDIR, 0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, 1ULL << 40,
					       PINIO_REG_USER_TO_DEV, 0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps, 0, 0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps, 1U << 2,
					       0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps,
					       PINIO_REG_BIDIR | 1U << 5,
					       0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps,
					       PINIO_REG_DEV_TO_USER | 1U << 31,
					       0, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps,
					       PINIO_REG_BIDIR, 1, 0, &h));
	ASSERT_ERR(EINVAL, pinio_register_full(self->fd, a, ps,
					       PINIO_REG_BIDIR, 0, 1ULL << 63,
					       &h));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TOTALS(self->base, 0, 0);
	/* The same arguments, made valid, work. */
	ASSERT_OK(pinio_register_full(self->fd, a, ps, PINIO_REG_BIDIR, 0, 0,
				      &h));
	ASSERT_PINS(self->base, 1, 1);
	tbuf_free(&b);
}

/* Exactly PINIO_MAX_REGION_LEN is allowed, and its last byte is pinned. */
TEST_F_TIMEOUT(reg, register_max_len, 240)
{
	uint64_t max = PINIO_MAX_REGION_LEN;
	uint8_t *p, c = 0xff;
	uint32_t h = 0;

	/* Read-only zero-page memory: no RAM needed for 1 GiB. */
	p = mmap(NULL, max, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_OK(pinio_register(self->fd, p, max, PINIO_REG_USER_TO_DEV, &h));
	ASSERT_PINS(self->base, 1, max / self->ps);
	ASSERT_OK(dev_pwrite_all(self->fd, &c, 1, 12345));
	ASSERT_OK(pinio_write(self->fd, h, max - 1, 12345, 1));
	ASSERT_OK(dev_pread_all(self->fd, &c, 1, 12345));
	ASSERT_EQ(0, c);
	ASSERT_ERR(ERANGE, pinio_write(self->fd, h, max - 1, 12345, 2));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	munmap(p, max);
}

/* addr + len wrapping past the top of the address space is EOVERFLOW. */
TEST_F(reg, register_eoverflow)
{
	const uint32_t dirs[] = { PINIO_REG_DEV_TO_USER,
				  PINIO_REG_USER_TO_DEV, PINIO_REG_BIDIR };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		ASSERT_ERR(EOVERFLOW, pinio_register_full(self->fd,
			   UINT64_MAX, 2, dirs[i], 0, 0, NULL));
		ASSERT_ERR(EOVERFLOW, pinio_register_full(self->fd,
			   0xfffffffffffff000ULL, 0x2000, dirs[i], 0, 0, NULL));
		ASSERT_ERR(EOVERFLOW, pinio_register_full(self->fd,
			   UINT64_MAX - 4095, PINIO_MAX_REGION_LEN, dirs[i],
			   0, 0, NULL));
	}
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TOTALS(self->base, 0, 0);
}

/* Kernel, NULL, unmapped, PROT_NONE and half-mapped ranges are EFAULT. */
TEST_F(reg, register_efault)
{
	const uint32_t dirs[] = { PINIO_REG_DEV_TO_USER,
				  PINIO_REG_USER_TO_DEV, PINIO_REG_BIDIR };
	size_t ps = self->ps;
	struct tbuf half, none;
	void *hole;
	size_t i;

	ASSERT_OK(tbuf_anon(&half, 2 * ps));
	ASSERT_OK(sys_ret(munmap(half.p + ps, ps)));
	none.p = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none.p);
	/* Last: a new mapping would likely land in the hole. */
	hole = unmapped_range(16 * ps);
	ASSERT_NE(NULL, hole);

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		uint32_t d = dirs[i];

		ASSERT_ERR(EFAULT, pinio_register_full(self->fd, KERNEL_ADDR,
						       ps, d, 0, 0, NULL));
		ASSERT_ERR(EFAULT, pinio_register_full(self->fd, KERNEL_ADDR + 1,
						       1, d, 0, 0, NULL));
		ASSERT_ERR(EFAULT, pinio_register_full(self->fd, 0, ps, d,
						       0, 0, NULL));
		ASSERT_ERR(EFAULT, pinio_register_full(self->fd, 1ULL << 63,
						       ps, d, 0, 0, NULL));
		/* Ends in the non-canonical hole above user space. */
		ASSERT_ERR(EFAULT, pinio_register_full(self->fd,
						       0x7ffffffff000ULL,
						       2 * ps, d, 0, 0, NULL));
		ASSERT_ERR(EFAULT, pinio_register(self->fd, hole, 16 * ps, d,
						  NULL));
		ASSERT_ERR(EFAULT, pinio_register(self->fd, (char *)hole + 5,
						  1, d, NULL));
		ASSERT_ERR(EFAULT, pinio_register(self->fd, none.p, ps, d,
						  NULL));
		/* First page mapped, second not: the first must not leak. */
		ASSERT_ERR(EFAULT, pinio_register(self->fd, half.p + 10, ps, d,
						  NULL));
		ASSERT_PINS(self->base, 0, 0);
	}
	ASSERT_TOTALS(self->base, 0, 0);
	/* The mapped half alone registers. */
	ASSERT_OK(pinio_register(self->fd, half.p, ps, PINIO_REG_BIDIR, NULL));
	ASSERT_PINS(self->base, 1, 1);
	munmap(half.p, ps);
	munmap(none.p, ps);
}

/* Bad ioctl argument pointers are EFAULT and leave nothing pinned. */
TEST_F(reg, register_bad_arg_pointer)
{
	struct pinio_region *r;
	struct tbuf b, ro;

	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_REGISTER, NULL)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_REGISTER,
					 (void *)KERNEL_ADDR)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_UNREGISTER,
					 NULL)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_UNREGISTER,
					 (void *)KERNEL_ADDR)));

	/*
	 * A valid request in a read-only page: the handle cannot be copied
	 * back, so the registration must be undone, not leaked.
	 */
	ASSERT_OK(tbuf_anon(&b, self->ps));
	ASSERT_OK(tbuf_anon(&ro, self->ps));
	r = (struct pinio_region *)ro.p;
	r->addr = (uintptr_t)b.p;
	r->len = self->ps;
	r->flags = PINIO_REG_BIDIR;
	ASSERT_OK(sys_ret(mprotect(ro.p, self->ps, PROT_READ)));
	ASSERT_ERR(EFAULT, sys_ret(ioctl(self->fd, PINIO_IOC_REGISTER, r)));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
	tbuf_free(&ro);
}

/* UNREGISTER: flags are checked, unknown handles are ENOENT. */
TEST_F(reg, unregister_errors)
{
	size_t ps = self->ps;
	struct tbuf b;
	uint32_t h = 0;
	int fd2;

	ASSERT_OK(tbuf_anon(&b, ps));
	ASSERT_OK(pinio_register(self->fd, b.p, ps, PINIO_REG_BIDIR, &h));
	ASSERT_ERR(EINVAL, pinio_unregister_flags(self->fd, h, 1));
	ASSERT_ERR(EINVAL, pinio_unregister_flags(self->fd, h, 1U << 31));
	/* Still registered: it still transfers. */
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, ps));
	ASSERT_PINS(self->base, 1, 1);

	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, 0));
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, h + 1000));
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, UINT32_MAX));
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, 1U << 31));

	/* Handles belong to the open file. */
	fd2 = pinio_open();
	ASSERT_LE(0, fd2);
	ASSERT_ERR(ENOENT, pinio_unregister(fd2, h));
	ASSERT_ERR(ENOENT, pinio_read(fd2, h, 0, 0, 1));
	close(fd2);
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, ps));

	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_ERR(ENOENT, pinio_unregister(self->fd, h));
	ASSERT_ERR(ENOENT, pinio_read(self->fd, h, 0, 0, 1));
	ASSERT_ERR(ENOENT, pinio_write(self->fd, h, 0, 0, 1));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/* PROT_READ memory: only USER_TO_DEV, and its data reaches the store. */
TEST_F(reg, prot_read_mapping)
{
	size_t ps = self->ps, len = 2 * ps + 3;
	uint64_t dev = 3 * ps + 11;
	uint32_t h = 0;
	struct tbuf b;

	ASSERT_OK(tbuf_anon(&b, 3 * ps));
	pattern_fill(b.p + 5, len, dev, 0x51);
	ASSERT_OK(sys_ret(mprotect(b.p, 3 * ps, PROT_READ)));

	ASSERT_ERR(EFAULT, pinio_register(self->fd, b.p, 3 * ps,
					  PINIO_REG_DEV_TO_USER, NULL));
	ASSERT_ERR(EFAULT, pinio_register(self->fd, b.p + 5, len,
					  PINIO_REG_BIDIR, NULL));
	ASSERT_PINS(self->base, 0, 0);

	ASSERT_OK(pinio_register(self->fd, b.p, 3 * ps, PINIO_REG_USER_TO_DEV,
				 &h));
	ASSERT_PINS(self->base, 1, 3);
	ASSERT_OK(pinio_write(self->fd, h, 5, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x51);
	ASSERT_ERR(EACCES, pinio_read(self->fd, h, 0, 0, 1));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/*
 * A read-only registration must see what the process writes afterwards.
 * Never-touched anonymous memory maps the shared zero page, and 6.1's GUP
 * would pin that as it is; the process's first write then COWs its buffer
 * away from the device, which would read zeros.
 */
TEST_F(reg, read_only_pin_of_untouched_memory)
{
	size_t ps = self->ps, len = 8 * ps;
	uint64_t dev = 5 * MiB + 3;
	uint32_t h = 0;
	uint8_t *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Read-fault half of it: those pages are the zero page now. */
	for (size_t i = 0; i < len / 2; i += ps)
		ASSERT_EQ(0, ((volatile uint8_t *)p)[i]);

	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_USER_TO_DEV, &h));
	ASSERT_PINS(self->base, 1, 8);
	pattern_fill(p, len, dev, 0x52);
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x52);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_EQ(0, munmap(p, len));
}

/*
 * The same for a private mapping of a file: the pin must not keep the
 * page-cache page the process's next write COWs away from.
 */
TEST_F(reg, read_only_pin_of_private_file_mapping)
{
	size_t ps = self->ps, len = 4 * ps;
	uint64_t dev = 7 * MiB;
	uint8_t *old = malloc(len), *p;
	uint32_t h = 0;
	int mfd;

	ASSERT_NE(NULL, old);
	mfd = memfd_create("pinio-private", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	pattern_fill(old, len, dev, 0x53);
	ASSERT_EQ((ssize_t)len, write(mfd, old, len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_PATTERN(p, len, dev, 0x53);

	ASSERT_OK(pinio_register(self->fd, p, len, PINIO_REG_USER_TO_DEV, &h));
	pattern_fill(p, len, dev, 0x54);
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x54);
	ASSERT_OK(pinio_unregister(self->fd, h));

	/* The file itself never changed. */
	ASSERT_EQ((ssize_t)len, pread(mfd, old, len, 0));
	ASSERT_PATTERN(old, len, dev, 0x53);
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_EQ(0, munmap(p, len));
	close(mfd);
	free(old);
}

/*
 * Round trip through a registration of @b: the device writes the registered
 * bytes (checked in @b's own memory) and reads them back out.
 */
static void roundtrip(struct __test_metadata *_metadata, int fd,
		      struct tbuf *b, size_t off, size_t len, uint64_t dev,
		      uint32_t seed)
{
	struct pin_snap base;
	uint32_t h = 0;
	uint8_t *src;

	ASSERT_OK(pin_snap(&base));
	ASSERT_OK(pinio_register(fd, b->p + off, len, PINIO_REG_BIDIR, &h));
	ASSERT_PINS(base, 1, span_pages((uintptr_t)b->p + off, len));

	/* store -> memory */
	src = malloc(len);
	ASSERT_NE(NULL, src);
	pattern_fill(src, len, dev, seed);
	ASSERT_OK(dev_pwrite_all(fd, src, len, dev));
	free(src);
	memset(b->p, 0xee, b->len);
	ASSERT_OK(pinio_read(fd, h, 0, dev, len));
	ASSERT_FILLED(b->p, off, 0xee);
	ASSERT_PATTERN(b->p + off, len, dev, seed);
	ASSERT_FILLED(b->p + off + len, b->len - off - len, 0xee);

	/* memory -> store, at another device offset */
	pattern_fill(b->p + off, len, dev + 4097, seed + 1);
	ASSERT_OK(pinio_write(fd, h, 0, dev + 4097, len));
	ASSERT_DEV_PATTERN(fd, dev + 4097, len, seed + 1);

	ASSERT_OK(pinio_unregister(fd, h));
	ASSERT_PINS(base, 0, 0);
}

/* memfd MAP_SHARED: the pinned pages are the file's own pages. */
TEST_F(reg, memfd_shared)
{
	size_t ps = self->ps, len = 3 * ps, off = 3;
	uint64_t dev = 5 * ps + 1;
	uint8_t *chk;
	uint32_t h = 0;
	struct tbuf b;

	ASSERT_OK(tbuf_memfd(&b, 4 * ps));
	roundtrip(_metadata, self->fd, &b, off, len, dev, 0x3e3e);

	ASSERT_OK(pinio_register(self->fd, b.p + off, len, PINIO_REG_BIDIR,
				 &h));
	/* Device writes through the pin show up in the file itself. */
	chk = malloc(len);
	ASSERT_NE(NULL, chk);
	pattern_fill(chk, len, dev, 0x77);
	ASSERT_OK(dev_pwrite_all(self->fd, chk, len, dev));
	ASSERT_OK(pinio_read(self->fd, h, 0, dev, len));
	memset(chk, 0, len);
	ASSERT_EQ((ssize_t)len, pread(b.fd, chk, len, off));
	ASSERT_PATTERN(chk, len, dev, 0x77);
	/* And file writes are what the device reads. */
	pattern_fill(chk, len, dev, 0x78);
	ASSERT_EQ((ssize_t)len, pwrite(b.fd, chk, len, off));
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0x78);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	free(chk);
	tbuf_free(&b);
}

/* MAP_SHARED | MAP_ANONYMOUS (shmem), seen by a child through the mapping. */
TEST_F(reg, shmem_shared)
{
	size_t ps = self->ps, len = 2 * ps + 1;
	uint64_t dev = 7 * ps + 3;
	struct tbuf b;
	uint32_t h = 0;
	pid_t pid;

	ASSERT_OK(tbuf_shmem(&b, 4 * ps));
	roundtrip(_metadata, self->fd, &b, ps - 1, len, dev, 0x5500);

	ASSERT_OK(pinio_register(self->fd, b.p, 4 * ps, PINIO_REG_BIDIR, &h));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child writes the shared page; the device must see it. */
		pattern_fill(b.p, 4 * ps, 0, 0x5501);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_OK(pinio_write(self->fd, h, 0, 0, 4 * ps));
	ASSERT_DEV_PATTERN(self->fd, 0, 4 * ps, 0x5501);
	ASSERT_OK(pinio_unregister(self->fd, h));
	tbuf_free(&b);
}

/* Transparent huge pages, with a registration straddling two of them. */
TEST_F_TIMEOUT(reg, thp, 120)
{
	size_t off = HPAGE_SIZE - 4097, len = HPAGE_SIZE + 4000;
	struct tbuf b;
	long kb;
	int ret;

	ret = tbuf_thp(&b, 2 * HPAGE_SIZE);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "transparent hugepages disabled");
	ASSERT_OK(ret);
	kb = anon_huge_kb(b.p);
	if (kb <= 0)
		SKIP(tbuf_free(&b); return, "no THP was allocated (%ld kB)", kb);
	roundtrip(_metadata, self->fd, &b, off, len, 12345, 0x7e9);
	/* Still huge memory after the pin and unpin. */
	ASSERT_LT(0, anon_huge_kb(b.p));
	tbuf_free(&b);
}

/* hugetlb pages, with a registration straddling two of them. */
TEST_F_TIMEOUT(reg, hugetlb, 120)
{
	size_t off = HPAGE_SIZE - 3, len = HPAGE_SIZE;
	struct tbuf b;
	int ret;

	ret = tbuf_hugetlb(&b, 2 * HPAGE_SIZE);
	if (ret == -ENOMEM)
		SKIP(return, "no hugetlb pages reserved");
	ASSERT_OK(ret);
	roundtrip(_metadata, self->fd, &b, off, len, self->ps - 3, 0x4242);
	roundtrip(_metadata, self->fd, &b, HPAGE_SIZE - 1, 2, 77, 0x4244);
	roundtrip(_metadata, self->fd, &b, 0, 2 * HPAGE_SIZE, 0, 0x4243);
	tbuf_free(&b);
}

/*
 * A file on a dirty-tracked filesystem mapped MAP_SHARED: never pinned
 * writable (EOPNOTSUPP), but fine as a source for the device.
 */
TEST_F(reg, file_shared_mapping)
{
	const char *dir = getenv("PINIO_FILE_DIR");
	size_t ps = self->ps, len = 3 * ps + 5;
	uint64_t dev = 11 * ps + 9;
	struct tbuf b, ro;
	uint8_t *chk;
	uint32_t h = 0;

	if (!dir || !*dir)
		SKIP(return, "PINIO_FILE_DIR not set");
	ASSERT_OK(tbuf_file(&b, dir, 4 * ps, PROT_READ | PROT_WRITE));
	pattern_fill(b.p, 4 * ps, dev - 2, 0xf11e);

	ASSERT_ERR(EOPNOTSUPP, pinio_register(self->fd, b.p, 4 * ps,
					      PINIO_REG_DEV_TO_USER, NULL));
	ASSERT_ERR(EOPNOTSUPP, pinio_register(self->fd, b.p + 2, len,
					      PINIO_REG_BIDIR, NULL));
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TOTALS(self->base, 0, 0);

	ASSERT_OK(pinio_register(self->fd, b.p + 2, len,
				 PINIO_REG_USER_TO_DEV, &h));
	ASSERT_PINS(self->base, 1, 4);
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0xf11e);
	ASSERT_ERR(EACCES, pinio_read(self->fd, h, 0, dev, 1));
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);

	/* A read-only shared mapping of the file works the same way. */
	ro.p = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, b.fd, 0);
	ASSERT_NE(MAP_FAILED, ro.p);
	ASSERT_OK(pinio_register(self->fd, ro.p + 2, len,
				 PINIO_REG_USER_TO_DEV, &h));
	chk = calloc(1, 4 * ps);
	ASSERT_NE(NULL, chk);
	ASSERT_OK(dev_pwrite_all(self->fd, chk, len, dev));
	ASSERT_OK(pinio_write(self->fd, h, 0, dev, len));
	ASSERT_DEV_PATTERN(self->fd, dev, len, 0xf11e);
	ASSERT_OK(pinio_unregister(self->fd, h));
	munmap(ro.p, 4 * ps);

	/* A private mapping of it is anonymous COW memory: writable pins OK. */
	ro.p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, b.fd, 0);
	ASSERT_NE(MAP_FAILED, ro.p);
	ASSERT_OK(pinio_register(self->fd, ro.p, 4 * ps, PINIO_REG_BIDIR, &h));
	pattern_fill(chk, 4 * ps, 0, 0xabc);
	ASSERT_OK(dev_pwrite_all(self->fd, chk, 4 * ps, 0));
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, 4 * ps));
	ASSERT_PATTERN(ro.p, 4 * ps, 0, 0xabc);
	/* ... and the file itself is untouched. */
	ASSERT_EQ((ssize_t)(4 * ps), pread(b.fd, chk, 4 * ps, 0));
	ASSERT_PATTERN(chk, 4 * ps, dev - 2, 0xf11e);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	munmap(ro.p, 4 * ps);
	free(chk);
	tbuf_free(&b);
}

/*
 * Writable shared mappings that need no dirty tracking register fine: a
 * tmpfs file and a hugetlbfs memfd. The device's writes land in the file.
 */
static void shared_file_roundtrip(struct __test_metadata *_metadata, int fd,
				  struct tbuf *b, uint32_t seed)
{
	size_t len = b->len - 2;
	uint8_t *chk = malloc(len);
	uint32_t h = 0;

	ASSERT_NE(NULL, chk);
	ASSERT_OK(pinio_register(fd, b->p + 1, len, PINIO_REG_BIDIR, &h));
	pattern_fill(chk, len, 4097, seed);
	ASSERT_OK(dev_pwrite_all(fd, chk, len, 4097));
	ASSERT_OK(pinio_read(fd, h, 0, 4097, len));
	memset(chk, 0, len);
	ASSERT_EQ((ssize_t)len, pread(b->fd, chk, len, 1));
	ASSERT_PATTERN(chk, len, 4097, seed);
	pattern_fill(b->p + 1, len, 3 * MiB, seed + 1);
	ASSERT_OK(pinio_write(fd, h, 0, 3 * MiB, len));
	ASSERT_DEV_PATTERN(fd, 3 * MiB, len, seed + 1);
	ASSERT_OK(pinio_unregister(fd, h));
	free(chk);
}

TEST_F(reg, tmpfs_and_hugetlbfs_shared_files)
{
	bool tmpfs = false, huge = false;
	struct statfs sf;
	struct tbuf b;
	int mfd;

	if (!statfs("/dev/shm", &sf) && sf.f_type == TMPFS_MAGIC) {
		ASSERT_OK(tbuf_file(&b, "/dev/shm", 5 * self->ps,
				    PROT_READ | PROT_WRITE));
		shared_file_roundtrip(_metadata, self->fd, &b, 0x7f5);
		tbuf_free(&b);
		tmpfs = true;
	}

	mfd = memfd_create("pinio-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (mfd >= 0 && !ftruncate(mfd, 2 * HPAGE_SIZE)) {
		tbuf_init(&b, TBUF_HUGETLB);
		b.fd = mfd;
		if (!tbuf_map(&b, 2 * HPAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_POPULATE, mfd)) {
			shared_file_roundtrip(_metadata, self->fd, &b, 0x8f5);
			huge = true;
		}
		tbuf_free(&b);
	} else if (mfd >= 0) {
		close(mfd);
	}
	ASSERT_PINS(self->base, 0, 0);
	if (!tmpfs && !huge)
		SKIP(return, "neither tmpfs on /dev/shm nor hugetlb memfd");
	TH_LOG("tested: tmpfs file %s, hugetlbfs memfd %s",
	       tmpfs ? "yes" : "no", huge ? "yes" : "no");
}

/* PINIO_MAX_REGIONS live registrations per open file, then EBUSY. */
TEST_F_TIMEOUT(reg, max_regions_ebusy, 120)
{
	uint32_t *h, extra = 0, other = 0;
	size_t ps = self->ps;
	struct tbuf b;
	int i, fd2;

	h = calloc(PINIO_MAX_REGIONS, sizeof(*h));
	ASSERT_NE(NULL, h);
	ASSERT_OK(tbuf_anon(&b, 2 * ps));
	for (i = 0; i < PINIO_MAX_REGIONS; i++) {
		ASSERT_OK(pinio_register(self->fd, b.p + (i % ps), 1,
					 PINIO_REG_BIDIR, &h[i]))
			TH_LOG("registration %d", i);
	}
	ASSERT_PINS(self->base, PINIO_MAX_REGIONS, PINIO_MAX_REGIONS);
	ASSERT_ERR(EBUSY, pinio_register(self->fd, b.p + ps, 1,
					 PINIO_REG_BIDIR, &extra));
	ASSERT_PINS(self->base, PINIO_MAX_REGIONS, PINIO_MAX_REGIONS);
	ASSERT_TOTALS(self->base, PINIO_MAX_REGIONS, PINIO_MAX_REGIONS);

	/* The limit is per open file. */
	fd2 = pinio_open();
	ASSERT_LE(0, fd2);
	ASSERT_OK(pinio_register(fd2, b.p + ps, 1, PINIO_REG_BIDIR, &other));
	close(fd2);

	/* Freeing one makes room for exactly one. */
	ASSERT_OK(pinio_unregister(self->fd, h[17]));
	ASSERT_OK(pinio_register(self->fd, b.p + ps, ps, PINIO_REG_BIDIR,
				 &extra));
	ASSERT_ERR(EBUSY, pinio_register(self->fd, b.p, 1, PINIO_REG_BIDIR,
					 NULL));
	ASSERT_OK(pinio_read(self->fd, extra, 0, 0, ps));

	/* Close drops all of them. */
	close(self->fd);
	self->fd = -1;
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
	free(h);
}

/*
 * RLIMIT_MEMLOCK binds only without CAP_IPC_LOCK. The forked child keeps
 * the fd opened before it dropped the capability.
 */
TEST_F(reg, memlock_unprivileged)
{
	size_t ps = self->ps;
	struct tbuf b;
	pid_t pid;

	ASSERT_OK(tbuf_anon(&b, 64 * ps));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { 16 * ps, 16 * ps };
		long vm0;
		int64_t pp0;
		uint32_t h1 = 0, h2 = 0, h3 = 0;
		int r;

		r = drop_capability(CAP_IPC_LOCK);
		CHILD_CHECK(r == 0, "capset: %s", errname(-r));
		CHILD_CHECK(has_capability(CAP_IPC_LOCK) == 0, "still capable");
		CHILD_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit: %m");
		vm0 = vmpin_kb();
		pp0 = pinio_stat("pinned_pages");
		CHILD_CHECK(vm0 >= 0 && pp0 >= 0, "%ld %lld", vm0,
			    (long long)pp0);

		/* 8 of 16 pages: fine. */
		r = pinio_register(self->fd, b.p, 8 * ps,
				   PINIO_REG_BIDIR, &h1);
		CHILD_CHECK(r == 0, "within limit: %s", errname(-r));
		CHILD_CHECK(vmpin_kb() == vm0 + (long)(8 * ps / 1024),
			    "VmPin %ld", vmpin_kb());
		/* 8 + 9 > 16: refused, nothing charged or pinned. */
		r = pinio_register(self->fd, b.p + 8 * ps, 9 * ps,
				   PINIO_REG_BIDIR, NULL);
		CHILD_CHECK(r == -ENOMEM, "over limit: %s", errname(-r));
		CHILD_CHECK(vmpin_kb() == vm0 + (long)(8 * ps / 1024),
			    "VmPin %ld after ENOMEM", vmpin_kb());
		CHILD_CHECK(pinio_stat("pinned_pages") == pp0 + 8,
			    "pinned_pages %lld after ENOMEM",
			    (long long)pinio_stat("pinned_pages"));
		/* Up to exactly the limit: fine. */
		r = pinio_register(self->fd, b.p + 8 * ps, 8 * ps,
				   PINIO_REG_BIDIR, &h2);
		CHILD_CHECK(r == 0, "at limit: %s", errname(-r));
		/* One byte more is one page more. */
		r = pinio_register(self->fd, b.p + 20 * ps, 1,
				   PINIO_REG_USER_TO_DEV, NULL);
		CHILD_CHECK(r == -ENOMEM, "1 byte over: %s", errname(-r));
		CHILD_CHECK(vmpin_kb() == vm0 + (long)(16 * ps / 1024),
			    "VmPin %ld", vmpin_kb());
		/* Data still flows through registrations made unprivileged. */
		pattern_fill(b.p, 8 * ps, 0, 0x10c);
		r = pinio_write(self->fd, h1, 0, 0, 8 * ps);
		CHILD_CHECK(r == 0, "write: %s", errname(-r));
		r = pinio_read(self->fd, h2, 0, 0, 8 * ps);
		CHILD_CHECK(r == 0, "read: %s", errname(-r));
		CHILD_CHECK(pattern_find_mismatch(b.p + 8 * ps, 8 * ps, 0,
						  0x10c) == -1, "data");

		/* Unregistering gives the budget back. */
		CHILD_CHECK(!pinio_unregister(self->fd, h1), "unreg");
		CHILD_CHECK(!pinio_unregister(self->fd, h2), "unreg");
		CHILD_CHECK(vmpin_kb() == vm0, "VmPin %ld", vmpin_kb());
		CHILD_CHECK(pinio_stat("pinned_pages") == pp0, "pinned_pages");
		r = pinio_register(self->fd, b.p, 17 * ps,
				   PINIO_REG_USER_TO_DEV, NULL);
		CHILD_CHECK(r == -ENOMEM, "17 pages: %s", errname(-r));
		r = pinio_register(self->fd, b.p, 16 * ps,
				   PINIO_REG_USER_TO_DEV, &h3);
		CHILD_CHECK(r == 0, "16 pages: %s", errname(-r));
		CHILD_CHECK(!pinio_unregister(self->fd, h3), "unreg");
		CHILD_CHECK(vmpin_kb() == vm0, "VmPin %ld", vmpin_kb());
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/* With CAP_IPC_LOCK the same low limit does not apply, but still charges. */
TEST_F(reg, memlock_privileged_bypass)
{
	size_t ps = self->ps;
	struct tbuf b;
	pid_t pid;

	if (has_capability(CAP_IPC_LOCK) != 1)
		SKIP(return, "test runs without CAP_IPC_LOCK");
	ASSERT_OK(tbuf_anon(&b, 64 * ps));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { 4 * ps, 4 * ps };
		long vm0 = vmpin_kb();
		uint32_t h = 0;
		int r;

		CHILD_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit: %m");
		r = pinio_register(self->fd, b.p, 64 * ps, PINIO_REG_BIDIR,
				   &h);
		CHILD_CHECK(r == 0, "privileged: %s", errname(-r));
		CHILD_CHECK(vmpin_kb() == vm0 + (long)(64 * ps / 1024),
			    "VmPin %ld", vmpin_kb());
		CHILD_CHECK(!pinio_unregister(self->fd, h), "unreg");
		CHILD_CHECK(vmpin_kb() == vm0, "VmPin %ld", vmpin_kb());
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

TEST_HARNESS_MAIN
