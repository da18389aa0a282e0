// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_demo - one short round trip through /dev/pinio.
 *
 * Prints what PINIO_IOC_INFO reports, registers a buffer, writes a pattern
 * to the device store with PINIO_IOC_WRITE, reads it back with the buffered
 * path (pread) and with PINIO_IOC_READ into a second registered buffer,
 * checks every byte and prints the throughput of each step.
 *
 * Usage: pinio_demo [MiB] [rounds]   (default 16 MiB, 4 rounds)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pinio.h>

#define MiB	(1024ULL * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rate(const char *what, uint64_t len, int rounds, double secs)
{
	printf("%-16s %d x %llu MiB in %8.3f ms = %8.1f MiB/s\n",
	       what, rounds, (unsigned long long)(len / MiB), secs * 1e3,
	       secs > 0 ? len * rounds / (double)MiB / secs : 0.0);
}

/* A position-dependent pattern, so a shifted copy cannot pass. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off * 2654435761ULL) >> 13) ^ (uint8_t)(off >> 12);
}

static int verify(const char *what, const uint8_t *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != pattern(i)) {
			fprintf(stderr,
				"%s: mismatch at byte %llu: got 0x%02x, want 0x%02x\n",
				what, (unsigned long long)i, buf[i], pattern(i));
			return -1;
		}
	}
	printf("%-16s %llu MiB verified byte for byte\n",
	       what, (unsigned long long)(len / MiB));
	return 0;
}

static void *map(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static uint32_t reg(int fd, void *addr, uint64_t len, uint32_t flags)
{
	struct pinio_region r = {
		.addr = (uintptr_t)addr,
		.len = len,
		.flags = flags,
	};

	if (ioctl(fd, PINIO_IOC_REGISTER, &r)) {
		perror("PINIO_IOC_REGISTER");
		exit(1);
	}
	return r.handle;
}

static void unreg(int fd, uint32_t handle)
{
	struct pinio_unregister u = { .handle = handle };

	if (ioctl(fd, PINIO_IOC_UNREGISTER, &u)) {
		perror("PINIO_IOC_UNREGISTER");
		exit(1);
	}
}

/* One direct transfer of the whole buffer, timed over @rounds. */
static double xfer(int fd, unsigned long cmd, uint32_t handle, uint64_t len,
		   int rounds)
{
	struct pinio_xfer x = { .handle = handle, .len = len };
	double t0 = now();
	int i;

	for (i = 0; i < rounds; i++) {
		if (ioctl(fd, cmd, &x)) {
			perror(cmd == PINIO_IOC_WRITE ? "PINIO_IOC_WRITE" :
			       "PINIO_IOC_READ");
			exit(1);
		}
	}
	return now() - t0;
}

static double buffered_read(int fd, uint8_t *buf, uint64_t len, int rounds)
{
	double t0 = now();
	uint64_t done;
	ssize_t n;
	int i;

	for (i = 0; i < rounds; i++) {
		for (done = 0; done < len; done += n) {
			n = pread(fd, buf + done, len - done, done);
			if (n <= 0) {
				fprintf(stderr, "pread at %llu: %s\n",
					(unsigned long long)done, n ? strerror(errno) : "EOF");
				exit(1);
			}
		}
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	uint64_t len = (argc > 1 ? strtoull(argv[1], NULL, 0) : 16) * MiB;
	int rounds = argc > 2 ? atoi(argv[2]) : 4;
	uint32_t hsrc, hdst;
	struct pinio_info info;
	uint8_t *src, *dst;
	uint64_t i;
	double t;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rounds < 1)
		rounds = 1;
	fd = open(PINIO_DEVICE_PATH, O_RDWR);
	if (fd < 0) {
		perror(PINIO_DEVICE_PATH);
		return 1;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, PINIO_IOC_INFO, &info)) {
		perror("PINIO_IOC_INFO");
		return 1;
	}
	printf("pinio: abi %u, page size %u, store %llu MiB, features 0x%llx\n",
	       info.abi_version, info.page_size, (unsigned long long)(info.dev_size / MiB),
	       (unsigned long long)info.features);
	printf("pinio: max region %llu MiB, %u regions, batch %u\n",
	       (unsigned long long)(info.max_region_len / MiB), info.max_regions,
	       info.max_batch);

	if (len == 0 || len > info.dev_size)
		len = info.dev_size;
	if (len > info.max_region_len)
		len = info.max_region_len;

	src = map(len);
	dst = map(len);
	for (i = 0; i < len; i++)
		src[i] = pattern(i);

	hsrc = reg(fd, src, len, PINIO_REG_USER_TO_DEV);
	hdst = reg(fd, dst, len, PINIO_REG_DEV_TO_USER);

	t = xfer(fd, PINIO_IOC_WRITE, hsrc, len, rounds);
	rate("PINIO_IOC_WRITE", len, rounds, t);

	t = buffered_read(fd, dst, len, rounds);
	rate("buffered pread", len, rounds, t);
	if (verify("buffered pread", dst, len))
		return 1;

	memset(dst, 0, len);
	t = xfer(fd, PINIO_IOC_READ, hdst, len, rounds);
	rate("PINIO_IOC_READ", len, rounds, t);
	if (verify("PINIO_IOC_READ", dst, len))
		return 1;

	unreg(fd, hsrc);
	unreg(fd, hdst);
	close(fd);
	printf("pinio_demo: OK\n");
	return 0;
}
