// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: mmap() of the device store, the map-out path beside buffered and
 * direct I/O. Every case runs twice: with pages faulted in on first touch
 * (default) and with the whole window inserted at mmap() time
 * (mmap_prefault=1). Checks window bounds and errnos, coherence with both
 * other paths in both directions, VMA flags, mremap, partial munmap, fork,
 * MADV_DONTNEED, closing the file and unloading the module with a mapping
 * alive.
 */
#include <sys/syscall.h>

#include "pinio_test_util.h"

#define WIN_OFF		(3 * MiB)
#define WIN_LEN		(2 * MiB + 5 * 4096)

FIXTURE(mmap) {
	int fd;
	size_t ps;
	uint64_t dev_size;
	uint64_t old_prefault;
};

FIXTURE_VARIANT(mmap) {
	int prefault;
};

FIXTURE_VARIANT_ADD(mmap, on_fault) {
	.prefault = 0,
};

FIXTURE_VARIANT_ADD(mmap, prefault) {
	.prefault = 1,
};

FIXTURE_SETUP(mmap)
{
	struct pinio_info info;

	self->ps = page_size();
	self->fd = -1;
	ASSERT_OK(pinio_param("mmap_prefault", &self->old_prefault));
	ASSERT_OK(write_sysfs_str(PINIO_SYSFS_PARAMS "mmap_prefault",
				  variant->prefault ? "1" : "0"));
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", errname(-self->fd));
	ASSERT_OK(pinio_get_info(self->fd, &info));
	ASSERT_NE(0, info.features & PINIO_FEAT_MMAP);
	self->dev_size = info.dev_size;
}

FIXTURE_TEARDOWN(mmap)
{
	if (self->fd >= 0)
		close(self->fd);
	write_sysfs_str(PINIO_SYSFS_PARAMS "mmap_prefault",
			self->old_prefault ? "1" : "0");
}

static void *map_store(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static long map_err(int fd, size_t len, int flags, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p != MAP_FAILED) {
		munmap(p, len);
		return 0;
	}
	return -errno;
}

/*
 * How many of the @pages pages at @addr have a present PTE, from
 * /proc/self/pagemap (bit 63). Unlike a process-wide fault count, nothing
 * else the process (or khugepaged) does can change this answer.
 */
static long present_ptes(const void *addr, size_t pages, size_t ps)
{
	uint64_t ent[64];
	long present = 0;
	int fd;

	if (pages > 64)
		return -EINVAL;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, ent, pages * sizeof(ent[0]),
		  (uintptr_t)addr / ps * sizeof(ent[0])) !=
	    (ssize_t)(pages * sizeof(ent[0]))) {
		close(fd);
		return -EIO;
	}
	close(fd);
	for (size_t i = 0; i < pages; i++)
		present += ent[i] >> 63;
	return present;
}

/* The VmFlags line of the smaps entry that starts at @addr. */
static int vma_flags(void *addr, char *out, size_t len)
{
	char line[512], start[32];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static bool has_flag(const char *flags, const char *flag)
{
	char want[8];

	snprintf(want, sizeof(want), " %s", flag);
	return strstr(flags, want) != NULL;
}

/* Exit status of a child that runs @fn; 128 + signal when killed. */
static int in_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid < 0 ? -errno : wait_child(pid);
}

static void touch_byte(void *p)
{
	*(volatile uint8_t *)p = 1;
}

/* Bytes written through the mapping are what pread and PINIO_IOC_READ see. */
TEST_F(mmap, mapping_to_other_paths)
{
	uint8_t *m, *got = malloc(WIN_LEN);
	struct tbuf b;
	uint32_t h = 0;

	ASSERT_NE(NULL, got);
	m = map_store(self->fd, WIN_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	pattern_fill(m, WIN_LEN, WIN_OFF, 61);

	ASSERT_OK(dev_pread_all(self->fd, got, WIN_LEN, WIN_OFF));
	ASSERT_PATTERN(got, WIN_LEN, WIN_OFF, 61);

	ASSERT_OK(tbuf_anon(&b, WIN_LEN));
	ASSERT_OK(pinio_register(self->fd, b.p, WIN_LEN, PINIO_REG_DEV_TO_USER,
				 &h));
	ASSERT_OK(pinio_read(self->fd, h, 0, WIN_OFF, WIN_LEN));
	ASSERT_PATTERN(b.p, WIN_LEN, WIN_OFF, 61);
	ASSERT_OK(pinio_unregister(self->fd, h));
	tbuf_free(&b);
	ASSERT_EQ(0, munmap(m, WIN_LEN));
	free(got);
}

/* Bytes written by pwrite and PINIO_IOC_WRITE show in a live mapping. */
TEST_F(mmap, other_paths_to_mapping)
{
	const size_t half = WIN_LEN / 2;
	uint8_t *m, *src = malloc(half);
	struct tbuf b;
	uint32_t h = 0;

	ASSERT_NE(NULL, src);
	m = map_store(self->fd, WIN_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	/* Fault it in first, so stale pages would show. */
	memset(m, 0x11, WIN_LEN);

	pattern_fill(src, half, WIN_OFF, 62);
	ASSERT_OK(dev_pwrite_all(self->fd, src, half, WIN_OFF));

	ASSERT_OK(tbuf_anon(&b, WIN_LEN - half));
	pattern_fill(b.p, WIN_LEN - half, WIN_OFF + half, 62);
	ASSERT_OK(pinio_register(self->fd, b.p, WIN_LEN - half,
				 PINIO_REG_USER_TO_DEV, &h));
	ASSERT_OK(pinio_write(self->fd, h, 0, WIN_OFF + half, WIN_LEN - half));

	ASSERT_PATTERN(m, WIN_LEN, WIN_OFF, 62);
	ASSERT_OK(pinio_unregister(self->fd, h));
	tbuf_free(&b);
	ASSERT_EQ(0, munmap(m, WIN_LEN));
	free(src);
}

/*
 * A registration of the mapped window itself: the store pages are RAM, not
 * VM_IO/VM_PFNMAP, so they can be pinned, and a direct READ then copies one
 * part of the store into another through the pins.
 */
TEST_F(mmap, register_mapped_window)
{
	const uint64_t src_off = 20 * MiB;
	uint8_t *m, *src = malloc(WIN_LEN);
	uint32_t h = 0;

	ASSERT_NE(NULL, src);
	m = map_store(self->fd, WIN_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_OK(pinio_register(self->fd, m, WIN_LEN, PINIO_REG_BIDIR, &h));
	pattern_fill(src, WIN_LEN, WIN_OFF, 63);
	ASSERT_OK(dev_pwrite_all(self->fd, src, WIN_LEN, src_off));
	free(src);
	ASSERT_OK(pinio_read(self->fd, h, 0, src_off, WIN_LEN));
	ASSERT_PATTERN(m, WIN_LEN, WIN_OFF, 63);
	ASSERT_DEV_PATTERN(self->fd, WIN_OFF, WIN_LEN, 63);
	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_EQ(0, munmap(m, WIN_LEN));
}

TEST_F(mmap, bounds_and_errnos)
{
	const size_t ps = self->ps;
	const uint64_t end = self->dev_size;
	uint8_t *m;

	EXPECT_ERR(EINVAL, map_err(self->fd, ps, MAP_PRIVATE, 0));
	EXPECT_ERR(ENXIO, map_err(self->fd, ps, MAP_SHARED, end));
	EXPECT_ERR(ENXIO, map_err(self->fd, 2 * ps, MAP_SHARED, end - ps));
	EXPECT_ERR(ENXIO, map_err(self->fd, end + ps, MAP_SHARED, 0));
	/* The core refuses unaligned offsets before pinio sees them. */
	EXPECT_ERR(EINVAL, map_err(self->fd, ps, MAP_SHARED, 7));

	/* The whole store, and exactly its last page, are fine. */
	EXPECT_OK(map_err(self->fd, end, MAP_SHARED, 0));
	m = map_store(self->fd, ps, PROT_READ | PROT_WRITE, MAP_SHARED,
		      end - ps);
	ASSERT_NE(NULL, m) TH_LOG("mmap last page: %s", strerror(errno));
	pattern_fill(m, ps, end - ps, 64);
	ASSERT_DEV_PATTERN(self->fd, end - ps, ps, 64);
	ASSERT_EQ(0, munmap(m, ps));
}

TEST_F(mmap, vma_flags_and_mremap)
{
	const size_t len = 8 * self->ps;
	char flags[512];
	uint8_t *m, *m2;

	m = map_store(self->fd, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_OK(vma_flags(m, flags, sizeof(flags)));
	EXPECT_TRUE(has_flag(flags, "de")) TH_LOG("VmFlags:%s", flags);
	EXPECT_TRUE(has_flag(flags, "dd")) TH_LOG("VmFlags:%s", flags);
	EXPECT_FALSE(has_flag(flags, "io")) TH_LOG("VmFlags:%s", flags);
	EXPECT_FALSE(has_flag(flags, "pf")) TH_LOG("VmFlags:%s", flags);

	/* VM_DONTEXPAND: growing fails in place and when moving. */
	EXPECT_EQ(MAP_FAILED, mremap(m, len, 2 * len, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(MAP_FAILED, mremap(m, len, 2 * len, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);

	/* Shrinking is allowed and keeps the rest coherent. */
	m2 = mremap(m, len, len / 2, 0);
	ASSERT_EQ(m, m2);
	pattern_fill(m, len / 2, 0, 65);
	ASSERT_DEV_PATTERN(self->fd, 0, len / 2, 65);
	ASSERT_EQ(0, munmap(m, len / 2));
}

/* On demand nothing is mapped until touched; prefaulted, all of it at once. */
TEST_F(mmap, fault_policy)
{
	const size_t pages = 64, len = pages * self->ps;
	uint8_t *m;

	m = map_store(self->fd, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(variant->prefault ? (long)pages : 0,
		  present_ptes(m, pages, self->ps));
	for (size_t i = 0; i < pages; i += 2)
		(void)*(volatile uint8_t *)(m + i * self->ps);
	EXPECT_EQ(variant->prefault ? (long)pages : (long)pages / 2,
		  present_ptes(m, pages, self->ps));

	/* Zapped pages come back through the fault handler in both modes. */
	pattern_fill(m, len, WIN_OFF, 66);
	ASSERT_EQ(0, madvise(m, len, MADV_DONTNEED));
	ASSERT_PATTERN(m, len, WIN_OFF, 66);
	ASSERT_EQ(0, munmap(m, len));
}

TEST_F(mmap, partial_munmap)
{
	const size_t ps = self->ps, len = 8 * ps;
	uint8_t *m;

	m = map_store(self->fd, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, munmap(m + 3 * ps, 2 * ps));

	/* Both remaining pieces still show their own part of the store. */
	pattern_fill(m, 3 * ps, WIN_OFF, 67);
	pattern_fill(m + 5 * ps, 3 * ps, WIN_OFF + 5 * ps, 67);
	ASSERT_DEV_PATTERN(self->fd, WIN_OFF, 3 * ps, 67);
	ASSERT_DEV_PATTERN(self->fd, WIN_OFF + 5 * ps, 3 * ps, 67);

	/* The hole is a hole. */
	EXPECT_EQ(128 + SIGSEGV, in_child(touch_byte, m + 3 * ps));
	ASSERT_EQ(0, munmap(m, 3 * ps));
	ASSERT_EQ(0, munmap(m + 5 * ps, 3 * ps));
}

TEST_F(mmap, read_only_mapping)
{
	uint8_t *m, *src = malloc(self->ps);

	ASSERT_NE(NULL, src);
	pattern_fill(src, self->ps, WIN_OFF, 68);
	ASSERT_OK(dev_pwrite_all(self->fd, src, self->ps, WIN_OFF));
	m = map_store(self->fd, self->ps, PROT_READ, MAP_SHARED, WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_PATTERN(m, self->ps, WIN_OFF, 68);
	EXPECT_EQ(128 + SIGSEGV, in_child(touch_byte, m));
	ASSERT_EQ(0, munmap(m, self->ps));
	free(src);
}

/* A forked child shares the mapping: its writes reach the store. */
TEST_F(mmap, fork_shares_mapping)
{
	const size_t len = 16 * self->ps;
	uint8_t *m;
	pid_t pid;

	m = map_store(self->fd, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	memset(m, 0, len);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pattern_fill(m, len, WIN_OFF, 69);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_PATTERN(m, len, WIN_OFF, 69);
	ASSERT_DEV_PATTERN(self->fd, WIN_OFF, len, 69);
	ASSERT_EQ(0, munmap(m, len));
}

/*
 * The mapping keeps the file, and so the store and the module, alive after
 * close(): it stays coherent, and the module refuses to unload until the
 * last mapping is gone.
 */
TEST_F(mmap, outlives_close)
{
	const size_t len = 4 * self->ps;
	long r;
	uint8_t *m;
	int fd2;

	m = map_store(self->fd, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      WIN_OFF);
	ASSERT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	close(self->fd);
	self->fd = -1;

	pattern_fill(m, len, WIN_OFF, 70);
	fd2 = pinio_open();
	ASSERT_LE(0, fd2);
	ASSERT_DEV_PATTERN(fd2, WIN_OFF, len, 70);
	close(fd2);

	r = syscall(SYS_delete_module, "pinio", O_NONBLOCK) ? -errno : 0;
	EXPECT_EQ(-EWOULDBLOCK, r) TH_LOG("delete_module with a live mapping: %s",
					  errname((int)-r));
	ASSERT_EQ(0, munmap(m, len));
}

TEST_HARNESS_MAIN
