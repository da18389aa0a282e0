// SPDX-License-Identifier: GPL-2.0
/*
 * pinio(1): the device side. Opening /dev/pinio, chunk buffers (registered
 * for the direct path, shrinking while RLIMIT_MEMLOCK refuses them), one
 * transfer by either path, attaching a block device or regular file as the
 * store, and the messages that explain a failure: missing device, permission
 * denied, memlock limit too low, a store that cannot be attached, a range
 * that breaks the attached store's block size.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "tool.h"

#define PINIO_SYSFS_DIR	"/sys/class/misc/pinio"

/* Open the device and read its PINIO_IOC_INFO: 0 or -errno. */
int dev_open(const struct tool *t, struct dev *d, int flags)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->path = t->device;
	d->fd = pinio_open(d->path, flags);
	if (d->fd < 0)
		return d->fd;
	ret = pinio_get_info(d->fd, &d->info);
	if (ret) {
		pinio_close(d->fd);
		d->fd = -1;
	}
	return ret;
}

void dev_close(struct dev *d)
{
	if (d->fd >= 0)
		pinio_close(d->fd);
	d->fd = -1;
}

static void explain_missing(const char *path)
{
	if (access(PINIO_SYSFS_DIR, F_OK)) {
		err_msg("is the module loaded? It is not (no %s): load it with 'sudo modprobe pinio'",
			PINIO_SYSFS_DIR);
		return;
	}
	err_msg("is the module loaded? It is (%s exists), so %s is the wrong path or the node was removed",
		PINIO_SYSFS_DIR, path);
	err_msg("the driver's node is %s (devtmpfs/udev create it); pick another with -d PATH or $PINIO_DEVICE",
		PINIO_DEVICE_PATH);
}

static void explain_denied(const char *path)
{
	struct stat st;

	if (!stat(path, &st))
		err_msg("%s is mode %04o, owner uid %u, group gid %u; this process runs as uid %u, gid %u",
			path, (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid, (unsigned int)st.st_gid,
			(unsigned int)geteuid(), (unsigned int)getegid());
	err_msg("run as root, or install the udev rule (60-pinio.rules: group 'pinio', mode 0660) and add yourself to the 'pinio' group");
}

/* Say why dev_open() failed with @err; returns the exit code. */
int report_open_error(const struct tool *t, int err)
{
	const char *path = t->device;

	switch (-err) {
	case ENOTTY:
		err_msg("%s is not a pinio device (PINIO_IOC_INFO: %s)", path,
			pinio_strerror(err));
		break;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		err_msg("cannot open %s: %s", path, pinio_strerror(err));
		explain_missing(path);
		break;
	case EACCES:
	case EPERM:
		err_msg("cannot open %s: %s", path, pinio_strerror(err));
		explain_denied(path);
		break;
	default:
		err_msg("cannot open %s: %s", path, pinio_strerror(err));
		break;
	}
	return EXIT_NODEV;
}

/* Whether this thread has @cap in its effective set. */
static bool has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

static void fmt_limit(rlim_t v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu bytes (ulimit -l %llu)",
			 (unsigned long long)v, (unsigned long long)v / 1024);
}

/* PINIO_IOC_REGISTER said -ENOMEM even for one page; returns the exit code. */
static int explain_memlock(const struct dev *d, size_t len)
{
	char cur[64], max[64], sz[32];
	struct rlimit rl;

	fmt_bytes(len, sz, sizeof(sz));
	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    has_cap(CAP_IPC_LOCK)) {
		err_msg("%s: cannot pin a %s buffer: out of memory", d->path, sz);
		return EXIT_IO;
	}
	fmt_limit(rl.rlim_cur, cur, sizeof(cur));
	fmt_limit(rl.rlim_max, max, sizeof(max));
	err_msg("%s: cannot pin even a %s buffer: the locked-memory limit (RLIMIT_MEMLOCK) is too low",
		d->path, sz);
	err_msg("RLIMIT_MEMLOCK is %s, hard limit %s; pinned pages count against it",
		cur, max);
	err_msg("raise it in the shell with 'ulimit -l 65536' (KiB, up to the hard limit), or for good in /etc/security/limits.conf ('@pinio - memlock 65536') or with systemd's LimitMEMLOCK=");
	err_msg("or use --buffered, which pins nothing");
	return EXIT_MEMLOCK;
}

/* Say why @what failed on the device with @err; returns the exit code. */
int report_dev_error(const struct dev *d, const char *what, int err)
{
	if (d->store_path)
		err_msg("%s (attached %s): %s: %s", d->path, d->store_path,
			what, pinio_strerror(err));
	else
		err_msg("%s: %s: %s", d->path, what, pinio_strerror(err));
	return EXIT_IO;
}

const char *dev_store_name(const struct dev *d)
{
	return d->store_path ? d->store_path : d->path;
}

const char *dev_store_kind(uint32_t store)
{
	switch (store) {
	case PINIO_STORE_RAM:
		return "RAM";
	case PINIO_STORE_BDEV:
		return "block device";
	case PINIO_STORE_FILE:
		return "regular file";
	}
	return "unknown store";
}

/* open(2) of the store to attach failed with @err (positive). */
static int explain_store_open(const char *path, bool write, int err)
{
	err_msg("cannot open %s %s: %s", path,
		write ? "for reading and writing" : "for reading",
		strerror(err));
	switch (err) {
	case EBUSY:
		err_msg("%s is in use (mounted, or held by md, LVM or another exclusive user): pinio writes only to a disk nobody else has open exclusively",
			path);
		break;
	case EACCES:
	case EPERM:
	case EROFS:
		err_msg("attaching needs the right to open %s %s: the driver checks nothing else",
			path, write ? "read-write" : "read-only");
		break;
	}
	return EXIT_IO;
}

/* PINIO_IOC_ATTACH of @path failed with @err; returns the exit code. */
static int explain_attach(const struct dev *d, const char *path, int err)
{
	err_msg("%s: cannot attach %s (PINIO_IOC_ATTACH: %s)", d->path, path,
		pinio_strerror(err));
	switch (-err) {
	case ENOTTY:
		err_msg("this pinio driver has no attached store: load a module with PINIO_FEAT_ATTACH");
		return EXIT_NODEV;
	case ENOTBLK:
		err_msg("%s is neither a block device nor a regular file", path);
		break;
	case EOPNOTSUPP:
		err_msg("%s cannot do direct I/O, or its filesystem would turn direct I/O into a buffered copy (ramfs, for one): use a block device or a file on a disk filesystem such as ext4 or XFS",
			path);
		break;
	case EINVAL:
		err_msg("%s is empty: a store holds at least one block; preallocate a regular file first, e.g. 'fallocate -l 64M %s'",
			path, path);
		break;
	case ELOOP:
		err_msg("%s is a pinio device itself", path);
		break;
	}
	return EXIT_IO;
}

/*
 * Attach @path as the store of the open device (read-only unless @write)
 * and read the device's info again. A block device to be written is opened
 * O_EXCL, so a mounted disk is refused. Returns 0, or the exit code after
 * saying why it failed.
 */
int dev_attach(struct dev *d, const char *path, bool write)
{
	int flags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	struct stat st;
	int fd, ret;

	if (!(d->info.features & PINIO_FEAT_ATTACH)) {
		err_msg("%s: cannot attach %s: this pinio driver has no attached store (no PINIO_FEAT_ATTACH in its features)",
			d->path, path);
		err_msg("load a pinio module with the attached store ('pinio info' lists its features)");
		return EXIT_NODEV;
	}
	if (write && !stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	fd = open(path, flags);
	if (fd < 0)
		return explain_store_open(path, write, errno);
	ret = pinio_attach(d->fd, fd, write ? PINIO_ATTACH_WRITE : 0);
	close(fd);	/* the driver holds its own reference */
	if (ret)
		return explain_attach(d, path, ret);
	d->store_path = path;
	ret = pinio_get_info(d->fd, &d->info);
	if (ret)
		return report_dev_error(d, "PINIO_IOC_INFO", ret);
	return EXIT_OK;
}

/*
 * Direct transfers on an attached store move whole blocks: EXIT_OK if @val
 * (an offset or length, @what in the message) is a multiple of the block
 * size, else EXIT_USAGE after saying so.
 */
int dev_aligned(const struct dev *d, const char *cmd, const char *what,
		uint64_t val)
{
	uint32_t bs = d->info.block_size;

	if (!d->store_path || bs <= 1 || !(val % bs))
		return EXIT_OK;
	return usage_error(cmd, "%s %llu is not a multiple of the %u-byte block size of %s (direct transfers on an attached store move whole blocks)",
			   what, (unsigned long long)val, bs, d->store_path);
}

/*
 * Map a buffer of up to @want bytes (at least one, at most the driver's
 * largest registration) and, with @reg_flags, register it. While the
 * registration fails with -ENOMEM (RLIMIT_MEMLOCK), halve it down to one
 * page. The buffer is page aligned and, on an attached store, its usable
 * length a multiple of the block size (at least one block), so every
 * transfer from its start keeps the store's alignment rule. Returns 0, or
 * the exit code after saying why it failed.
 */
int chunk_get(struct dev *d, struct chunk *c, size_t want, uint32_t reg_flags)
{
	size_t ps = sysconf(_SC_PAGESIZE);
	size_t bs = d->info.block_size > 1 ? d->info.block_size : 1;
	size_t unit = bs > ps ? bs : ps;
	int ret;

	memset(c, 0, sizeof(*c));
	if (want > d->info.max_region_len)
		want = d->info.max_region_len;
	want = want / bs * bs;
	c->len = want ? want : bs;
	c->map_len = (c->len + ps - 1) / ps * ps;
	c->p = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->p == MAP_FAILED) {
		c->p = NULL;
		err_msg("cannot map a %zu-byte buffer: %s", c->map_len,
			strerror(errno));
		return EXIT_IO;
	}
	/* Pre-fault, so that pinning is not also paying for page faults. */
	memset(c->p, 0, c->map_len);
	if (!reg_flags)
		return EXIT_OK;
	for (;;) {
		ret = pinio_register(d->fd, c->p, c->len, reg_flags, &c->handle);
		if (!ret)
			return EXIT_OK;
		if (ret != -ENOMEM || c->len <= unit)
			break;
		c->len = c->len / 2 / unit * unit;
		if (c->len < unit)
			c->len = unit;
	}
	c->handle = 0;
	chunk_put(d, c);
	if (ret == -ENOMEM)
		return explain_memlock(d, unit);
	return report_dev_error(d, "PINIO_IOC_REGISTER", ret);
}

void chunk_put(struct dev *d, struct chunk *c)
{
	if (c->handle)
		pinio_unregister(d->fd, c->handle);
	if (c->p)
		munmap(c->p, c->map_len);
	memset(c, 0, sizeof(*c));
}

/*
 * Move @len bytes (at most c->len) between the start of @c and the store at
 * @dev_off: PINIO_IOC_WRITE/READ if @c is registered, else pwrite/pread.
 * Returns 0 or -errno (-EIO for an unexpected end of the store).
 */
int dev_xfer(struct dev *d, struct chunk *c, bool write, uint64_t dev_off,
	     size_t len)
{
	size_t done = 0;
	ssize_t n;

	if (c->handle)
		return write ? pinio_write(d->fd, c->handle, 0, dev_off, len) :
			       pinio_read(d->fd, c->handle, 0, dev_off, len);
	while (done < len) {
		if (write)
			n = pwrite(d->fd, c->p + done, len - done,
				   (off_t)(dev_off + done));
		else
			n = pread(d->fd, c->p + done, len - done,
				  (off_t)(dev_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/*
 * Check [off, off + *len) against the store; without @len_given, *len
 * becomes the rest of the store from @off. Returns 0 or EXIT_USAGE.
 */
int dev_range(const struct dev *d, const char *cmd, uint64_t off,
	      uint64_t *len, bool len_given)
{
	char sz[32];

	fmt_bytes(d->info.dev_size, sz, sizeof(sz));
	if (off > d->info.dev_size)
		return usage_error(cmd, "offset %llu is past the end of %s (%llu bytes, %s)",
				   (unsigned long long)off, dev_store_name(d),
				   (unsigned long long)d->info.dev_size, sz);
	if (!len_given)
		*len = d->info.dev_size - off;
	else if (*len > d->info.dev_size - off)
		return usage_error(cmd, "%llu bytes at offset %llu end past the end of %s (%llu bytes, %s)",
				   (unsigned long long)*len,
				   (unsigned long long)off, dev_store_name(d),
				   (unsigned long long)d->info.dev_size, sz);
	return EXIT_OK;
}
