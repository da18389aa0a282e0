// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: module unload and reload. An open /dev/pinio pins the module;
 * once closed it unloads cleanly, and a reload starts from a zeroed store.
 *
 * The runner runs programs in sorted order and this one must stay last: it
 * replaces the module the others test (and leaves it loaded).
 */
#include <sys/sysmacros.h>

#include "pinio_test_util.h"

static long delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

static long finit_module(int fd, const char *params, unsigned int flags)
{
	return syscall(SYS_finit_module, fd, params, flags) ? -errno : 0;
}

static bool module_loaded(void)
{
	return access("/sys/module/pinio", F_OK) == 0;
}

/*
 * Wait for the reloaded device node; create it from sysfs if nothing
 * (devtmpfs, mdev) does. Returns 1 if we made it, 0 if it appeared, -errno.
 */
static int wait_for_node(mode_t mode)
{
	char buf[32];
	unsigned int maj, min;
	int i, fd;
	ssize_t n;

	for (i = 0; i < 50; i++) {
		if (access(PINIO_DEVICE_PATH, F_OK) == 0)
			return 0;
		usleep(100000);
	}
	fd = open("/sys/class/misc/pinio/dev", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	if (mknod(PINIO_DEVICE_PATH, S_IFCHR | mode, makedev(maj, min)))
		return -errno;
	return 1;
}

/* A fixture only for TEST_F_TIMEOUT: plain TEST() is not -Wextra clean. */
FIXTURE(unload) {
	int unused;
};

FIXTURE_SETUP(unload)
{
}

/* Whatever failed, leave the module loaded for whoever runs next. */
FIXTURE_TEARDOWN(unload)
{
	const char *ko = getenv("PINIO_KO");
	int kfd;

	if (!ko || !*ko || module_loaded())
		return;
	kfd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return;
	if (finit_module(kfd, "", 0) == 0)
		wait_for_node(0600);
	close(kfd);
}

TEST_F_TIMEOUT(unload, refused_while_open_then_reload, 120)
{
	const char *ko = getenv("PINIO_KO");
	uint64_t mode = 0600, old_size;
	struct pinio_info info;
	uint32_t h = 0;
	struct tbuf b;
	struct stat st;
	uint8_t *p;
	int fd, kfd, made;
	long r;

	if (!ko || !*ko)
		SKIP(return, "PINIO_KO not set");
	ASSERT_TRUE(module_loaded());
	kfd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kfd) TH_LOG("open %s: %s", ko, strerror(errno));
	pinio_param("mode", &mode);

	/* Open, with a live registration and data in the store. */
	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(pinio_get_info(fd, &info));
	old_size = info.dev_size;
	ASSERT_OK(tbuf_anon(&b, 4 * 4096));
	ASSERT_OK(pinio_register(fd, b.p, b.len, PINIO_REG_BIDIR, &h));
	pattern_fill(b.p, b.len, 0, 0x10ad);
	ASSERT_OK(pinio_write(fd, h, 0, 0, b.len));
	ASSERT_OK(dev_pwrite_all(fd, b.p, b.len, old_size - b.len));

	r = delete_module("pinio", O_NONBLOCK);
	ASSERT_TRUE(r == -EWOULDBLOCK || r == -EAGAIN)
		TH_LOG("delete_module while open: %s", errname(-r));
	ASSERT_TRUE(module_loaded());
	/* Still fully working after the refused unload. */
	ASSERT_OK(pinio_read(fd, h, 0, 0, b.len));
	ASSERT_PATTERN(b.p, b.len, 0, 0x10ad);

	close(fd);
	r = delete_module("pinio", O_NONBLOCK);
	ASSERT_EQ(0, r) TH_LOG("delete_module after close: %s", errname(-r));
	/* EXPECT from here to the reload: always get to reload it. */
	EXPECT_FALSE(module_loaded());
	EXPECT_NE(0, access("/sys/class/misc/pinio", F_OK));
	fd = open(PINIO_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	EXPECT_GT(0, fd);
	EXPECT_TRUE(fd >= 0 || errno == ENOENT || errno == ENODEV ||
		    errno == ENXIO)
		TH_LOG("open after unload: %s", errname(errno));
	if (fd >= 0)
		close(fd);
	/* The registered memory is plain memory again. */
	memset(b.p, 0x55, b.len);
	tbuf_free(&b);

	/* Reload: must leave it loaded whatever happens next. */
	r = finit_module(kfd, "", 0);
	close(kfd);
	ASSERT_EQ(0, r) TH_LOG("finit_module(%s): %s", ko, errname(-r));
	ASSERT_TRUE(module_loaded());
	made = wait_for_node(mode & 0777);
	ASSERT_LE(0, made) TH_LOG("no %s: %s", PINIO_DEVICE_PATH,
				  errname(-made));
	ASSERT_EQ(0, stat(PINIO_DEVICE_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	if (!made) {
		ASSERT_EQ(mode & 0777, st.st_mode & 0777);
	}

	/* A fresh, zeroed store of the same size. */
	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(pinio_get_info(fd, &info));
	ASSERT_EQ(PINIO_ABI_VERSION, info.abi_version);
	ASSERT_EQ(old_size, info.dev_size);
	p = malloc(info.dev_size);
	ASSERT_NE(NULL, p);
	memset(p, 0xff, info.dev_size);
	ASSERT_OK(dev_pread_all(fd, p, info.dev_size, 0));
	ASSERT_FILLED(p, info.dev_size, 0);
	free(p);
	ASSERT_EQ(0, pinio_stat("regions"));
	ASSERT_EQ(0, pinio_stat("pinned_pages"));
	close(fd);
}

TEST_HARNESS_MAIN
