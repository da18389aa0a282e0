// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: buffered versus direct I/O on /dev/pinio, every path side by
 * side in one run on the same pre-faulted buffers, against io_uring's own
 * registered buffers and against plain memcpy in user space and in the
 * kernel (the driver's debugfs kcopy trigger).
 *
 * Each case runs a warm-up, then --reps repetitions of at least --ms
 * milliseconds each; the median repetition is reported. Ratios are only
 * ever taken between cases of the same run. Under QEMU/TCG the absolute
 * figures say nothing about hardware; the ratios are what to read.
 *
 * Runs unchanged on a real machine with pinio.ko loaded (as root, for the
 * bounce switch and debugfs).
 *
 * This file: options and the run of every case. The other pieces are
 * listed in pinio_bench.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pinio_bench.h"

static int run_series(struct bench *b, int bounce, int *done, int total)
{
	bool tty = isatty(STDERR_FILENO);
	int ret = open_device(b, bounce);

	if (ret) {
		fprintf(stderr, "pinio_bench: device set-up (bounce=%d): %s\n",
			bounce, strerror(-ret));
		return ret;
	}
	for (size_t p = 0; p < nr_paths; p++) {
		const struct path *pa = &paths[p];

		if (bounce && !pa->device)
			continue;
		ret = write_str(ASYNC_MIN_PARAM, pa->uring_wq ? "1" :
				b->async_min, 0);
		if (ret) {
			fprintf(stderr, "pinio_bench: setting uring_async_min: %s\n",
				strerror(-ret));
			goto out;
		}
		if (pa->fn && (ret = verify_path(b, pa))) {
			fprintf(stderr, "pinio_bench: %s moved wrong data: %s\n",
				pa->name, strerror(-ret));
			goto out;
		}
		for (int w = 0; w <= 1; w++)
			for (size_t s = 0; s < NR_SIZES; s++)
				for (int q = 0; q < 2; q++) {
					struct result *r = &results[nr_results];

					if (qds[q] > 1 && !pa->queued)
						continue;
					*r = (struct result){ .bounce = bounce, .path = pa,
						.write = w, .size = sizes[s], .qd = qds[q] };
					ret = pa->fn ? measure(b, pa, w, sizes[s], qds[q], r) :
						       measure_kcopy(b, w, sizes[s], r);
					if (ret) {
						fprintf(stderr, "pinio_bench: %s %s %zu QD%d: %s\n",
							pa->name, w ? "write" : "read",
							sizes[s], qds[q], strerror(-ret));
						goto out;
					}
					nr_results++;
					/* One line per case when logged to a file. */
					fprintf(stderr, "%s[%3d/%3d] bounce=%d %-18s %-5s %8zu QD%-2d %9.1f MB/s%s",
						tty ? "\r" : "", ++*done, total, bounce,
						pa->name, w ? "write" : "read", sizes[s],
						qds[q], r->mb_s, tty ? "   " : "\n");
				}
	}
out:
	close_device(b);
	return ret;
}

static int count_cases(void)
{
	int n = 0;

	for (int bounce = 0; bounce <= 1; bounce++)
		for (size_t p = 0; p < nr_paths; p++)
			if (!bounce || paths[p].device)
				n += 2 * NR_SIZES * (paths[p].queued ? 2 : 1);
	return n;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--quick] [--ms MS] [--reps N] [--out DIR] [--profile]\n"
		"  Benchmarks every path to /dev/pinio (pinio.ko loaded, run as root).\n"
		"  --quick   short repetitions (for CI); --ms per repetition (default 60)\n"
		"  --reps    repetitions after warm-up, median reported (default 5)\n"
		"  --out     directory for bench.csv, bench.json, register.csv, mmap.csv,\n"
		"            headline.csv\n"
		"  --profile only time 4 KiB ioctl, batch and uring_cmd operations, untraced\n"
		"            and under ftrace function_graph (DIR/profile.trace)\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "ms", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "profile", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .ms = 60, .reps = 5 };
	const char *out = ".";
	int opt, ret, done = 0, total = count_cases();
	static const size_t reg_mib[] = { 1, 16, 256 };
	bool profile = false;

	if (total > MAX_RESULTS)
		abort();	/* a programming error: grow results[] */

	while ((opt = getopt_long(argc, argv, "qm:r:o:ph", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			b.quick = true;
			b.ms = 8;
			break;
		case 'm':
			b.ms = atof(optarg);
			break;
		case 'r':
			b.reps = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			profile = true;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (b.reps < 5 || b.reps > MAX_REPS || b.ms <= 0) {
		fprintf(stderr, "pinio_bench: --reps must be 5..%d, --ms > 0\n",
			MAX_REPS);
		return 2;
	}

	read_line(ASYNC_MIN_PARAM, NULL, b.async_min, sizeof(b.async_min));
	b.buf_len = (size_t)MAX_QD * MAX_SIZE;
	b.buf = map_buffer(b.buf_len);
	b.src = map_buffer(b.buf_len);
	if (!b.buf || !b.src) {
		fprintf(stderr, "pinio_bench: cannot map %zu MiB buffers\n",
			2 * b.buf_len / MIB);
		return 1;
	}
	if (profile) {
		ret = run_profile(&b, out);
		if (ret)
			fprintf(stderr, "pinio_bench: profile: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}

	fprintf(stderr, "pinio_bench: %d cases x (warm-up + %d reps x %.0f ms)\n",
		total, b.reps, b.ms);
	for (int bounce = 0; bounce <= 1; bounce++) {
		ret = run_series(&b, bounce, &done, total);
		if (ret)
			return 1;
	}
	fputc('\n', stderr);
	set_param(BOUNCE_PARAM, 0);
	write_str(ASYNC_MIN_PARAM, b.async_min, 0);

	b.fd = pinio_open(NULL, O_RDWR);
	if (b.fd < 0)
		return 1;
	for (size_t i = 0; i < sizeof(reg_mib) / sizeof(reg_mib[0]); i++)
		for (int thp = 0; thp <= 1; thp++) {
			fprintf(stderr, "registration %zu MiB thp=%d\n", reg_mib[i], thp);
			ret = measure_registration(&b, reg_mib[i], thp,
						   &reg_results[nr_reg_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: registration %zu MiB: %s\n",
					reg_mib[i], strerror(-ret));
				return 1;
			}
			nr_reg_results++;
		}
	for (size_t i = 0; i < NR_MAP_SIZES; i++)
		for (int pre = 0; pre <= 1; pre++) {
			ret = measure_mapping(&b, map_sizes[i], pre,
					      &map_results[nr_map_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: mmap %zu bytes: %s\n",
					map_sizes[i], strerror(-ret));
				return 1;
			}
			nr_map_results++;
		}
	for (int thp = 1; thp >= 0; thp--) {
		fprintf(stderr, "registration per call, 1 MiB thp=%d\n", thp);
		ret = measure_backing(&b, thp);
		if (ret) {
			fprintf(stderr, "pinio_bench: per-call registration thp=%d: %s\n",
				thp, strerror(-ret));
			return 1;
		}
	}
	pinio_close(b.fd);

	compute_headlines();
	print_report(stdout, &b);

	ret = write_outputs(&b, out);
	if (ret) {
		fprintf(stderr, "pinio_bench: writing results to %s: %s\n", out,
			strerror(-ret));
		return 1;
	}
	return 0;
}
