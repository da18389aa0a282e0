// SPDX-License-Identifier: GPL-2.0
/*
 * pinio verify [--size N] [--offset N] [--chunk N] [--attach PATH]
 *
 * Round trip through both paths, both ways, over [offset, offset + size) of
 * the store (default: 16 MiB from 0, or less if the store is smaller):
 *  1. a pattern written by the direct path (PINIO_IOC_WRITE) is read back
 *     by the buffered one (pread);
 *  2. a second pattern written by pwrite is read back by PINIO_IOC_READ.
 * Each pass prints its throughput (the transfers only, not the pattern
 * work); the first byte that differs ends the run with EXIT_MISMATCH.
 * The range's previous contents are lost. With --attach the store is that
 * block device or regular file (attached read-write): both paths then reach
 * it, and offset, size and chunk must be multiples of its block size.
 */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>

#include "tool.h"

#define DEFAULT_VERIFY_SIZE	(16 * MiB)

/*
 * The byte at device offset @off of pattern @seed: a splitmix64 of the
 * 8-byte word index, so data that lands shifted or from the other pass
 * never matches.
 */
static uint8_t pat_byte(uint64_t off, uint64_t seed)
{
	uint64_t z = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((off & 7) * 8));
}

static void pat_fill(uint8_t *buf, size_t len, uint64_t off, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat_byte(off + i, seed);
}

struct pass {
	const char *name;	/* for the report */
	const char *xfer;	/* the call, for errors */
	bool write;
	struct chunk *c;
	uint64_t seed;
	const char *wrote_by;	/* read passes: who wrote the data */
};

/* One pass over the range: EXIT_OK, EXIT_IO or EXIT_MISMATCH. */
static int run_pass(const struct tool *t, struct dev *d,
		    const struct pass *ps, uint64_t off, uint64_t len)
{
	uint64_t done = 0, i;
	struct progress p;
	double busy = 0, t0;
	char sz[32];
	size_t n;
	int ret;

	progress_start(&p, t, ps->name, len);
	for (; done < len; done += n) {
		n = len - done < ps->c->len ? len - done : ps->c->len;
		if (ps->write)
			pat_fill(ps->c->p, n, off + done, ps->seed);
		else
			memset(ps->c->p, 0, n);
		t0 = now_sec();
		ret = dev_xfer(d, ps->c, ps->write, off + done, n);
		busy += now_sec() - t0;
		if (ret) {
			progress_end(&p);
			return report_dev_error(d, ps->xfer, ret);
		}
		for (i = 0; !ps->write && i < n; i++) {
			uint8_t want = pat_byte(off + done + i, ps->seed);

			if (ps->c->p[i] == want)
				continue;
			progress_end(&p);
			err_msg("verify failed: %s, then %s: first difference at device offset %llu (byte %llu of the range): wrote 0x%02x, read 0x%02x",
				ps->wrote_by, ps->name,
				(unsigned long long)(off + done + i),
				(unsigned long long)(done + i), want,
				ps->c->p[i]);
			return EXIT_MISMATCH;
		}
		progress_update(&p, done + n);
	}
	progress_end(&p);
	printf("%-16s %10s in %9.3f ms, %8.1f MiB/s%s\n", ps->name,
	       fmt_bytes(len, sz, sizeof(sz)), busy * 1e3,
	       rate_mib(len, busy), ps->write ? "" : ", verified");
	return EXIT_OK;
}

/* Direct write, buffered read; buffered write, direct read. */
static int run_passes(const struct tool *t, struct dev *d, struct chunk *reg,
		      struct chunk *plain, uint64_t off, uint64_t size)
{
	const struct pass passes[] = {
		{ "direct write", "PINIO_IOC_WRITE", true, reg, 0x5eed0001,
		  NULL },
		{ "buffered read", "pread", false, plain, 0x5eed0001,
		  "direct write" },
		{ "buffered write", "pwrite", true, plain, 0x5eed0002, NULL },
		{ "direct read", "PINIO_IOC_READ", false, reg, 0x5eed0002,
		  "buffered write" },
	};
	size_t i;
	int ret = EXIT_OK;

	for (i = 0; i < sizeof(passes) / sizeof(passes[0]) && !ret; i++)
		ret = run_pass(t, d, &passes[i], off, size);
	return ret;
}

int cmd_verify(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "size", required_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "chunk", required_argument, NULL, 'c' },
		ATTACH_LONGOPT,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 0, off = 0, chunk = DEFAULT_CHUNK;
	const char *attach = NULL;
	struct chunk reg, plain;
	bool size_given = false;
	char a[32], b[32], cs[32];
	struct dev d;
	int c, ret;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "n:o:c:"
				ATTACH_SHORTOPT, opts, NULL)) != -1) {
		if (common_option(t, c, optarg))
			continue;
		switch (c) {
		case 'n':
			if (parse_size(optarg, &size) || !size)
				return usage_error("verify", "bad size '%s'",
						   optarg);
			size_given = true;
			break;
		case 'o':
			if (parse_size(optarg, &off))
				return usage_error("verify", "bad offset '%s'",
						   optarg);
			break;
		case 'c':
			if (parse_size(optarg, &chunk) || !chunk)
				return usage_error("verify",
						   "bad chunk size '%s'",
						   optarg);
			break;
		case 'a':
			attach = optarg;
			break;
		default:
			return bad_option("verify", c, argv);
		}
	}
	if (optind < argc)
		return usage_error("verify", "unexpected argument '%s'",
				   argv[optind]);

	ret = dev_open(t, &d, O_RDWR);
	if (ret)
		return report_open_error(t, ret);
	if (attach) {
		ret = dev_attach(&d, attach, true);
		if (ret)
			goto out_dev;
	}
	ret = dev_range(&d, "verify", off, &size, size_given);
	if (ret)
		goto out_dev;
	if (!size_given && size > DEFAULT_VERIFY_SIZE)
		size = DEFAULT_VERIFY_SIZE;
	ret = dev_aligned(&d, "verify", "offset", off);
	if (!ret)
		ret = dev_aligned(&d, "verify", "size", size);
	if (!ret)
		ret = dev_aligned(&d, "verify", "chunk size", chunk);
	if (ret)
		goto out_dev;
	if (!size) {
		ret = usage_error("verify", "nothing to verify at offset %llu, the end of %s",
				  (unsigned long long)off, d.path);
		goto out_dev;
	}
	ret = chunk_get(&d, &reg, size < chunk ? size : chunk,
			PINIO_REG_BIDIR);
	if (ret)
		goto out_dev;
	ret = chunk_get(&d, &plain, reg.len, 0);
	if (ret)
		goto out_reg;

	printf("pinio verify: %s, %s at offset %llu of a %s store, %s chunks",
	       d.path, fmt_bytes(size, a, sizeof(a)), (unsigned long long)off,
	       fmt_bytes(d.info.dev_size, b, sizeof(b)),
	       fmt_bytes(reg.len, cs, sizeof(cs)));
	if (attach)
		printf(" (attached %s %s)", dev_store_kind(d.info.store),
		       attach);
	printf("\n");
	fflush(stdout);
	ret = run_passes(t, &d, &reg, &plain, off, size);
	if (!ret)
		printf("pinio verify: OK, both directions byte for byte\n");
	chunk_put(&d, &plain);
out_reg:
	chunk_put(&d, &reg);
out_dev:
	dev_close(&d);
	return ret;
}
