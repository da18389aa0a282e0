// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: set-up. /dev/pinio under one bounce setting with the user
 * buffer registered, the store mapped and both rings ready; the sysfs and
 * procfs files the run reads and writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fs.h>

#include "pinio_bench.h"

/*
 * The stores, in the order they run. A disk store runs every path that
 * has its kind in paths[].on, at the sizes its logical block size allows,
 * in one boot with the RAM store. The NVMe namespace is make bench's
 * (tests/run-qemu.sh with DISKS=bench exports PINIO_BENCH_NVME), else the
 * tests' 64 MiB one (PINIO_NVME4K).
 */
const struct store stores[] = {
	{ .name = "ram", .kind = STORE_RAM, .bounce = true },
	{ .name = "nvme", .kind = STORE_DISK,
	  .env = (const char *const[]){ "PINIO_BENCH_NVME", "PINIO_NVME4K",
					NULL } },
};
const size_t nr_stores = sizeof(stores) / sizeof(stores[0]);

/* The block device or file of a disk store, or NULL: none in this guest. */
const char *store_disk(const struct store *s)
{
	for (const char *const *e = s->env; e && *e; e++) {
		const char *v = getenv(*e);

		if (v && *v)
			return v;
	}
	return NULL;
}

/* The store's logical block size (direct transfers' unit), or -errno. */
int store_block_size(const struct store *s)
{
	struct disk_facts d;
	int ret;

	if (s->kind == STORE_RAM)
		return 1;
	ret = disk_facts(s, &d);
	return ret ? ret : d.block_size;
}

/* The disk of store @s: model, block size, size and how QEMU attached it. */
int disk_facts(const struct store *s, struct disk_facts *d)
{
	const char *path = store_disk(s), *qemu = getenv("PINIO_BENCH_QEMU");
	char sys[128];
	int fd, ret = 0;

	memset(d, 0, sizeof(*d));
	if (!path)
		return -ENODEV;
	snprintf(d->dev, sizeof(d->dev), "%s", path);
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/device/model",
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	read_line(sys, NULL, d->model, sizeof(d->model));
	/* NVMe pads its model number with spaces. */
	for (size_t n = strlen(d->model); n && d->model[n - 1] == ' '; n--)
		d->model[n - 1] = '\0';
	snprintf(d->qemu, sizeof(d->qemu), "%s",
		 qemu && *qemu ? qemu : "not under the runner");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKSSZGET, &d->block_size) ||
	    ioctl(fd, BLKGETSIZE64, &d->bytes))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Empty the disk's page cache: unmap the store's pages from this process
 * (a mapped page cannot be dropped), write back what is dirty and drop
 * every page of the disk from the cache.
 */
int drop_disk_cache(struct bench *b)
{
	if (madvise(b->map, b->info.dev_size, MADV_DONTNEED) ||
	    fdatasync(b->disk_buffered))
		return -errno;
	/* posix_fadvise() returns the error rather than setting errno. */
	return -posix_fadvise(b->disk_buffered, 0, 0, POSIX_FADV_DONTNEED);
}

/* Write @val to the file at @path, opened with @flags added (sysfs, tracefs). */
int write_str(const char *path, const char *val, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

int set_param(const char *path, int on)
{
	return write_str(path, on ? "1" : "0", 0);
}

void *map_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0xa5, len);		/* pre-fault every page */
	return p;
}

/*
 * Both rings hold /dev/pinio as fixed file 0, as a program that owns its
 * ring would: no request then takes and drops a file reference (+8-17% at
 * 4 KiB QD32 here; DEFER_TASKRUN measured no better). The same for every
 * io_uring path, so the comparisons between them stay fair.
 */
static int bench_ring_init(struct bench *b, struct io_uring *ring,
			   unsigned int flags)
{
	int fds[2] = { b->fd, b->disk_direct };
	int ret = io_uring_queue_init(2 * MAX_QD, ring, flags);

	if (ret)
		return ret;
	/* A disk store's disk, opened O_DIRECT, is fixed file 1. */
	return io_uring_register_files(ring, fds, b->disk_direct >= 0 ? 2 : 1);
}

/* Attach the disk of store @s to b->fd; keep it open twice for its own paths. */
static int attach_disk(struct bench *b, const struct store *s)
{
	struct pinio_attach at = { .flags = PINIO_ATTACH_WRITE };
	const char *path = store_disk(s);

	if (!path)
		return -ENODEV;
	b->disk_buffered = open(path, O_RDWR | O_CLOEXEC);
	if (b->disk_buffered < 0)
		return -errno;
	b->disk_direct = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (b->disk_direct < 0)
		return -errno;
	at.fd = b->disk_buffered;
	return ioctl(b->fd, PINIO_IOC_ATTACH, &at) ? -errno : 0;
}

int open_device(struct bench *b, const struct store *s, int bounce)
{
	struct iovec iov = { .iov_base = b->buf, .iov_len = b->buf_len };
	int ret;

	ret = set_param(BOUNCE_PARAM, bounce);
	if (ret)
		return ret;
	b->bounce = bounce;
	b->store = s;
	b->disk_direct = -1;
	b->disk_buffered = -1;
	b->fd = pinio_open(NULL, O_RDWR);
	if (b->fd < 0)
		return b->fd;
	if (s->kind == STORE_DISK) {
		ret = disk_facts(s, &b->disk);
		if (!ret)
			ret = attach_disk(b, s);
		if (ret)
			return ret;
	}
	ret = pinio_get_info(b->fd, &b->info);
	if (ret)
		return ret;
	if (!!(b->info.features & PINIO_FEAT_BOUNCE) != !!bounce)
		return -EPROTO;
	if ((s->kind == STORE_DISK) != (b->info.store != PINIO_STORE_RAM))
		return -EPROTO;
	ret = pinio_register(b->fd, b->buf, b->buf_len, PINIO_REG_BIDIR,
			     &b->handle);
	if (ret)
		return ret;
	b->map = mmap(NULL, b->info.dev_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		return -errno;
	ret = bench_ring_init(b, &b->ring, 0);
	if (ret)
		return ret;
	ret = bench_ring_init(b, &b->ring128, IORING_SETUP_SQE128);
	if (ret)
		return ret;
	ret = io_uring_register_buffers(&b->ring, &iov, 1);
	if (ret)
		return ret;
	return io_uring_register_buffers(&b->ring128, &iov, 1);
}

void close_device(struct bench *b)
{
	io_uring_queue_exit(&b->ring128);
	io_uring_queue_exit(&b->ring);
	munmap(b->map, b->info.dev_size);
	pinio_unregister(b->fd, b->handle);
	/* Closing the pinio file detaches its disk. */
	pinio_close(b->fd);
	if (b->disk_direct >= 0)
		close(b->disk_direct);
	if (b->disk_buffered >= 0)
		close(b->disk_buffered);
}

void read_line(const char *path, const char *prefix, char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	snprintf(out, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (prefix && strncmp(line, prefix, strlen(prefix)))
			continue;
		char *v = prefix ? strchr(line, ':') : line;

		if (!v)
			continue;
		v += prefix ? 1 : 0;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}
