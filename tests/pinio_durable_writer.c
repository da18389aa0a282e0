// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_durable_writer - the guest side of the runner's kill test
 * (tests/run-qemu.sh, kill_after_flush). Not a kselftest: it is built into
 * build/guest/ and run only by the kill boot's /init.
 *
 *   pinio_durable_writer [--no-flush] [--no-pinio] DEV OFF LEN SEED
 *
 * Attaches block device DEV to /dev/pinio (PINIO_ATTACH_WRITE), registers
 * a LEN-byte buffer holding the shared pattern (tests/pinio_pattern.c) of
 * disk range [OFF, OFF+LEN) for SEED, writes it with PINIO_IOC_WRITE in
 * 1 MiB pieces, calls PINIO_IOC_FLUSH and prints one marker line on stdout
 * (the console)
 *	pinio-durable: flushed OFF LEN SEED
 * then sleeps with everything still open until the host kills the VM.
 * With --no-flush it skips the flush and prints "pinio-durable: unflushed
 * OFF LEN SEED" instead (a by-hand experiment: without a flush the data may
 * or may not survive). --no-pinio is the control of the experiment: the
 * same writes with pwrite() on DEV opened O_DIRECT and fdatasync() for the
 * flush, no pinio involved.
 *
 * When it cannot get there it prints
 *	pinio-durable: skip REASON	(exit 4: the module lacks PINIO_FEAT_ATTACH)
 *	pinio-durable: fail REASON	(exit 1)
 * and exits, and the host reports that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pinio.h>

#include "pinio_pattern.h"

#define PIECE	(1024 * 1024ULL)

static void say(const char *verdict, const char *fmt, ...)
{
	va_list ap;

	printf("pinio-durable: %s ", verdict);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

/* The control: the same region through O_DIRECT pwrite() and fdatasync(). */
static int no_pinio(const char *dev, uint64_t off, uint64_t len, uint32_t seed,
		    int flush)
{
	uint64_t done;
	void *buf;
	int fd;

	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		say("fail", "open %s O_DIRECT: %s", dev, strerror(errno));
		return 1;
	}
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		say("fail", "mmap %" PRIu64 " bytes: %s", len, strerror(errno));
		return 1;
	}
	pinio_pattern_fill(buf, len, off, seed);
	for (done = 0; done < len; done += PIECE) {
		size_t n = len - done < PIECE ? len - done : PIECE;

		if (pwrite(fd, (char *)buf + done, n, off + done) != (ssize_t)n) {
			say("fail", "pwrite at %" PRIu64 ": %s", off + done,
			    strerror(errno));
			return 1;
		}
	}
	if (flush && fdatasync(fd)) {
		say("fail", "fdatasync: %s", strerror(errno));
		return 1;
	}
	say(flush ? "flushed" : "unflushed", "%" PRIu64 " %" PRIu64 " %" PRIu32
	    " (no pinio)", off, len, seed);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct pinio_info info;
	struct pinio_attach at;
	struct pinio_region reg;
	uint64_t off, len, seed, done;
	int flush = 1, pinio = 1, pfd, dfd;
	void *buf;

	while (argc > 1 && !strncmp(argv[1], "--", 2)) {
		if (!strcmp(argv[1], "--no-flush")) {
			flush = 0;
		} else if (!strcmp(argv[1], "--no-pinio")) {
			pinio = 0;
		} else {
			say("fail", "unknown option %s", argv[1]);
			return 1;
		}
		argc--;
		argv++;
	}
	if (argc != 5 || parse_u64(argv[2], &off) || parse_u64(argv[3], &len) ||
	    parse_u64(argv[4], &seed) || !len || seed > UINT32_MAX) {
		say("fail", "usage: pinio_durable_writer [--no-flush] DEV OFF LEN SEED");
		return 1;
	}

	if (!pinio)
		return no_pinio(argv[1], off, len, (uint32_t)seed, flush);

	pfd = open(PINIO_DEVICE_PATH, O_RDWR);
	if (pfd < 0) {
		say("fail", "open %s: %s", PINIO_DEVICE_PATH, strerror(errno));
		return 1;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(pfd, PINIO_IOC_INFO, &info)) {
		say("fail", "PINIO_IOC_INFO: %s", strerror(errno));
		return 1;
	}
	if (!(info.features & PINIO_FEAT_ATTACH)) {
		say("skip", "the module lacks PINIO_FEAT_ATTACH (features 0x%" PRIx64 ")",
		    (uint64_t)info.features);
		return 4;
	}

	dfd = open(argv[1], O_RDWR);
	if (dfd < 0) {
		say("fail", "open %s: %s", argv[1], strerror(errno));
		return 1;
	}
	memset(&at, 0, sizeof(at));
	at.fd = dfd;
	at.flags = PINIO_ATTACH_WRITE;
	if (ioctl(pfd, PINIO_IOC_ATTACH, &at)) {
		say("fail", "PINIO_IOC_ATTACH %s: %s", argv[1], strerror(errno));
		return 1;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(pfd, PINIO_IOC_INFO, &info)) {
		say("fail", "PINIO_IOC_INFO after attach: %s", strerror(errno));
		return 1;
	}
	if (info.store != PINIO_STORE_BDEV || off + len > info.dev_size ||
	    !info.block_size || off % info.block_size || len % info.block_size) {
		say("fail", "attached store: kind %" PRIu32 ", size %" PRIu64
		    ", block size %" PRIu32 " does not take [%" PRIu64 ", +%" PRIu64 ")",
		    info.store, (uint64_t)info.dev_size, info.block_size, off, len);
		return 1;
	}

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		say("fail", "mmap %" PRIu64 " bytes: %s", len, strerror(errno));
		return 1;
	}
	pinio_pattern_fill(buf, len, off, (uint32_t)seed);
	memset(&reg, 0, sizeof(reg));
	reg.addr = (uintptr_t)buf;
	reg.len = len;
	reg.flags = PINIO_REG_USER_TO_DEV;
	if (ioctl(pfd, PINIO_IOC_REGISTER, &reg)) {
		say("fail", "PINIO_IOC_REGISTER: %s", strerror(errno));
		return 1;
	}

	for (done = 0; done < len; done += PIECE) {
		struct pinio_xfer x = {
			.handle = reg.handle,
			.buf_offset = done,
			.dev_offset = off + done,
			.len = len - done < PIECE ? len - done : PIECE,
		};

		if (ioctl(pfd, PINIO_IOC_WRITE, &x)) {
			say("fail", "PINIO_IOC_WRITE at %" PRIu64 ": %s",
			    off + done, strerror(errno));
			return 1;
		}
	}
	if (flush && ioctl(pfd, PINIO_IOC_FLUSH)) {
		say("fail", "PINIO_IOC_FLUSH: %s", strerror(errno));
		return 1;
	}
	say(flush ? "flushed" : "unflushed", "%" PRIu64 " %" PRIu64 " %" PRIu64,
	    off, len, seed);

	/* Everything stays open: the host kills the VM from here on. */
	for (;;)
		pause();
}
