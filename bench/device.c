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
#include <sys/mman.h>
#include <unistd.h>

#include "pinio_bench.h"

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
	int ret = io_uring_queue_init(2 * MAX_QD, ring, flags);

	if (ret)
		return ret;
	return io_uring_register_files(ring, &b->fd, 1);
}

int open_device(struct bench *b, int bounce)
{
	struct iovec iov = { .iov_base = b->buf, .iov_len = b->buf_len };
	int ret;

	ret = set_param(BOUNCE_PARAM, bounce);
	if (ret)
		return ret;
	b->bounce = bounce;
	b->fd = pinio_open(NULL, O_RDWR);
	if (b->fd < 0)
		return b->fd;
	ret = pinio_get_info(b->fd, &b->info);
	if (ret)
		return ret;
	if (!!(b->info.features & PINIO_FEAT_BOUNCE) != !!bounce)
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
	pinio_close(b->fd);
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
