// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_imgcheck - the host's side of the guest disk checks: writes or
 * verifies the shared disk pattern (tests/pinio_pattern.c) in a raw disk
 * image file, with no guest code involved.
 *
 *   pinio_imgcheck fill  IMAGE OFF LEN SEED   write the pattern of
 *                                             [OFF, OFF+LEN) for SEED
 *   pinio_imgcheck check IMAGE OFF LEN SEED   verify it byte for byte
 *
 * OFF, LEN and SEED are numbers in C notation (decimal, 0x...). check
 * exits 0 when every byte matches, 1 at a mismatch (it names the first bad
 * image offset and says how many 512-byte blocks differ and how many of
 * those read as zeros), 2 on a usage or I/O error.
 */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pinio_pattern.h"

#define CHUNK	(1024 * 1024)
#define SECTOR	512

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pinio_imgcheck fill|check IMAGE OFF LEN SEED\n");
	exit(2);
}

static int is_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int do_fill(int fd, uint64_t off, uint64_t len, uint32_t seed,
		   unsigned char *buf)
{
	uint64_t done = 0;

	while (done < len) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t w;

		pinio_pattern_fill(buf, n, off + done, seed);
		w = pwrite(fd, buf, n, (off_t)(off + done));
		if (w != (ssize_t)n) {
			fprintf(stderr, "pinio_imgcheck: write at %" PRIu64 ": %s\n",
				off + done, w < 0 ? strerror(errno) : "short write");
			return 2;
		}
		done += n;
	}
	if (fsync(fd)) {
		fprintf(stderr, "pinio_imgcheck: fsync: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}

static int do_check(int fd, uint64_t off, uint64_t len, uint32_t seed,
		    unsigned char *buf)
{
	uint64_t done = 0, first_bad = 0, bad_blocks = 0, zero_blocks = 0;
	unsigned int img = 0, want = 0;
	int bad = 0;

	while (done < len) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t r = pread(fd, buf, n, (off_t)(off + done));
		size_t b;

		if (r < 0) {
			fprintf(stderr, "pinio_imgcheck: read at %" PRIu64 ": %s\n",
				off + done, strerror(errno));
			return 2;
		}
		/* Past the end of the image reads as zeros, and mismatches. */
		if ((size_t)r < n)
			memset(buf + r, 0, n - r);
		for (b = 0; b < n; b += SECTOR) {
			size_t bn = n - b < SECTOR ? n - b : SECTOR;
			long i = pinio_pattern_check(buf + b, bn, off + done + b,
						     seed);

			if (i < 0)
				continue;
			if (!bad) {
				bad = 1;
				first_bad = off + done + b + (uint64_t)i;
				img = buf[b + i];
				want = pinio_pattern_byte(first_bad, seed);
			}
			bad_blocks++;
			zero_blocks += is_zero(buf + b, bn);
		}
		done += n;
	}
	if (!bad) {
		printf("%" PRIu64 " bytes at %" PRIu64 " match seed %" PRIu32 "\n",
		       len, off, seed);
		return 0;
	}
	printf("first bad byte at image offset %" PRIu64
	       " (0x%02x, want 0x%02x); %" PRIu64 " of %" PRIu64
	       " 512-byte blocks differ, %" PRIu64 " of them all zeros\n",
	       first_bad, img, want, bad_blocks, (len + SECTOR - 1) / SECTOR,
	       zero_blocks);
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t off, len, seed;
	unsigned char *buf;
	int fill, fd, ret;

	if (argc != 6)
		usage();
	if (!strcmp(argv[1], "fill"))
		fill = 1;
	else if (!strcmp(argv[1], "check"))
		fill = 0;
	else
		usage();
	if (parse_u64(argv[3], &off) || parse_u64(argv[4], &len) ||
	    parse_u64(argv[5], &seed) || seed > UINT32_MAX || !len)
		usage();

	fd = open(argv[2], fill ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "pinio_imgcheck: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	buf = malloc(CHUNK);
	if (!buf) {
		fprintf(stderr, "pinio_imgcheck: out of memory\n");
		return 2;
	}
	if (fill)
		ret = do_fill(fd, off, len, (uint32_t)seed, buf);
	else
		ret = do_check(fd, off, len, (uint32_t)seed, buf);
	free(buf);
	close(fd);
	return ret;
}
