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
 * With a disk in the guest (PINIO_BENCH_NVME, or the runner's PINIO_NVME4K)
 * pinio's paths run again on that disk attached to /dev/pinio, beside the
 * kernel's own paths on it: io_uring READ/WRITE_FIXED and pread/pwrite on
 * the disk opened O_DIRECT, pread/pwrite through its page cache. Each row's
 * store says where it ran (stores[] in device.c).
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

/* Whether path @pa runs on store @s under @bounce. */
static bool path_runs(const struct bench *b, const struct store *s,
		      int bounce, const struct path *pa)
{
	if (pa->measure == measure_fio && !b->fio)
		return false;
	return (pa->on & s->kind) && (!bounce || pa->device);
}

/* Direct transfers on a store must be whole logical blocks. */
static bool size_runs(size_t size, unsigned int block_size)
{
	return block_size && size % block_size == 0;
}

/* The paired ratios of disk store @st (disk_ratios[], output.c). */
static int run_pairs(struct bench *b, const struct store *st)
{
	for (size_t i = 0; i < nr_disk_ratios; i++) {
		const struct disk_ratio *d = &disk_ratios[i];

		if (!d->paired)
			continue;
		for (int w = 0; w <= 1; w++)
			for (const size_t *sz = d->at; sz < d->at + 5 && *sz; sz++) {
				struct pair_result *pr = &pair_results[nr_pair_results];
				int ret;

				if (nr_pair_results == MAX_PAIRS)
					abort();	/* a programming error: grow it */
				*pr = (struct pair_result){ .store = st,
					.a = path_by_id(d->a), .b = path_by_id(d->b),
					.write = w, .size = *sz, .qd = d->qd };
				ret = measure_pair(b, pr);
				if (ret) {
					fprintf(stderr, "pinio_bench: paired %s/%s %s %zu QD%d: %s\n",
						pr->a->name, pr->b->name,
						w ? "write" : "read", *sz, d->qd,
						strerror(-ret));
					return ret;
				}
				nr_pair_results++;
				fprintf(stderr, "paired %s/%s %s %zu QD%d: %.3f\n",
					pr->a->name, pr->b->name, w ? "write" : "read",
					*sz, d->qd, pr->a_ops_s / pr->b_ops_s);
			}
	}
	return 0;
}

static int run_series(struct bench *b, const struct store *st, int bounce,
		      int *done, int total)
{
	bool tty = isatty(STDERR_FILENO);
	int ret = open_device(b, st, bounce);
	char label[32] = "";

	if (ret) {
		fprintf(stderr, "pinio_bench: device set-up (store %s, bounce=%d): %s\n",
			st->name, bounce, strerror(-ret));
		return ret;
	}
	if (st->kind != STORE_RAM)
		snprintf(label, sizeof(label), "store=%s ", st->name);
	for (size_t p = 0; p < nr_paths; p++) {
		const struct path *pa = &paths[p];

		if (!path_runs(b, st, bounce, pa))
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
					if (!size_runs(sizes[s], b->info.block_size))
						continue;
					*r = (struct result){ .store = st,
						.bounce = bounce, .path = pa,
						.write = w, .size = sizes[s], .qd = qds[q] };
					ret = pa->measure ?
						pa->measure(b, pa, w, sizes[s], qds[q], r) :
						measure(b, pa, w, sizes[s], qds[q], r);
					if (ret) {
						fprintf(stderr, "pinio_bench: %s%s %s %zu QD%d: %s\n",
							label, pa->name, w ? "write" : "read",
							sizes[s], qds[q], strerror(-ret));
						goto out;
					}
					nr_results++;
					/* One line per case when logged to a file. */
					fprintf(stderr, "%s[%3d/%3d] %sbounce=%d %-18s %-5s %8zu QD%-2d %9.1f MB/s%s",
						tty ? "\r" : "", ++*done, total, label,
						bounce, pa->name, w ? "write" : "read", sizes[s],
						qds[q], r->mb_s, tty ? "   " : "\n");
				}
		if (uring_short) {
			fprintf(stderr, "%spinio_bench: %s%s: %lu short io_uring completions, their rest resubmitted\n",
				tty ? "\n" : "", label, pa->name, uring_short);
			uring_short = 0;
		}
	}
	if (st->kind == STORE_DISK)
		ret = run_pairs(b, st);
out:
	close_device(b);
	return ret;
}

/* The cases of store @s, a disk of logical blocks of @block_size. */
static int count_cases(const struct bench *b, const struct store *s,
		       int block_size)
{
	int n = 0;

	for (int bounce = 0; bounce <= (s->bounce ? 1 : 0); bounce++)
		for (size_t p = 0; p < nr_paths; p++)
			for (size_t i = 0; i < NR_SIZES; i++)
				if (path_runs(b, s, bounce, &paths[p]) &&
				    size_runs(sizes[i], block_size))
					n += 2 * (paths[p].queued ? 2 : 1);
	return n;
}

/* Registration cost, map-out set-up cost, per-call registration by backing. */
static int run_ram_extras(struct bench *b)
{
	static const size_t reg_mib[] = { 1, 16, 256 };
	int ret;

	b->fd = pinio_open(NULL, O_RDWR);
	if (b->fd < 0)
		return -1;
	/* The units of paths 4 and 5 below walk the RAM store (paths.c). */
	b->store = &stores[0];
	ret = pinio_get_info(b->fd, &b->info);
	if (ret) {
		fprintf(stderr, "pinio_bench: PINIO_IOC_INFO: %s\n", strerror(-ret));
		return -1;
	}
	for (size_t i = 0; i < sizeof(reg_mib) / sizeof(reg_mib[0]); i++)
		for (int thp = 0; thp <= 1; thp++) {
			fprintf(stderr, "registration %zu MiB thp=%d\n", reg_mib[i], thp);
			ret = measure_registration(b, reg_mib[i], thp,
						   &reg_results[nr_reg_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: registration %zu MiB: %s\n",
					reg_mib[i], strerror(-ret));
				return -1;
			}
			nr_reg_results++;
		}
	for (size_t i = 0; i < NR_MAP_SIZES; i++)
		for (int pre = 0; pre <= 1; pre++) {
			ret = measure_mapping(b, map_sizes[i], pre,
					      &map_results[nr_map_results]);
			if (ret) {
				fprintf(stderr, "pinio_bench: mmap %zu bytes: %s\n",
					map_sizes[i], strerror(-ret));
				return -1;
			}
			nr_map_results++;
		}
	for (int thp = 1; thp >= 0; thp--) {
		fprintf(stderr, "registration per call, 1 MiB thp=%d\n", thp);
		ret = measure_backing(b, thp);
		if (ret) {
			fprintf(stderr, "pinio_bench: per-call registration thp=%d: %s\n",
				thp, strerror(-ret));
			return -1;
		}
	}
	pinio_close(b->fd);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--quick] [--ms MS] [--reps N] [--out DIR] [--store NAME]\n"
		"          [--profile]\n"
		"  Benchmarks every path to /dev/pinio (pinio.ko loaded, run as root).\n"
		"  --quick   short repetitions (for CI); --ms per repetition (default 60)\n"
		"  --reps    repetitions after warm-up, median reported (default 5)\n"
		"  --out     directory for bench.csv, bench.json, register.csv, mmap.csv,\n"
		"            headline.csv\n"
		"  --store   only that store's cases: ram (the driver's RAM, and then the\n"
		"            registration and map-out tables too) or nvme\n"
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
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .ms = 60, .reps = 5 };
	const char *out = ".";
	int opt, ret, done = 0, total = 0, block_size[8];
	size_t used = 0;
	const char *only = NULL;
	bool profile = false, disks = false;

	while ((opt = getopt_long(argc, argv, "qm:r:o:s:ph", opts, NULL)) != -1) {
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
		case 's':
			only = optarg;
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
	b.fio = fio_program();
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

	if (nr_stores > sizeof(block_size) / sizeof(block_size[0]))
		abort();	/* a programming error: grow block_size[] */
	/* Which stores this guest has: a disk store without its disk is left out. */
	for (size_t i = 0; i < nr_stores; i++) {
		const struct store *s = &stores[i];
		const char *disk = store_disk(s);

		if (only && strcmp(only, s->name)) {
			block_size[i] = 0;
			continue;
		}
		block_size[i] = store_block_size(s);
		if (block_size[i] > 0) {
			total += count_cases(&b, s, block_size[i]);
			disks |= s->kind == STORE_DISK;
			used += snprintf(b.stores_run + used, sizeof(b.stores_run) - used,
					 "%s%s%s%s", used ? "; " : "", s->name,
					 disk ? " " : "", disk ? disk : "");
		} else if (s->kind == STORE_DISK && !disk) {
			fprintf(stderr, "pinio_bench: store %s: no disk, its rows left out (unset:",
				s->name);
			for (const char *const *e = s->env; *e; e++)
				fprintf(stderr, " %s", *e);
			fprintf(stderr, ")\n");
			used += snprintf(b.stores_run + used, sizeof(b.stores_run) - used,
					 "%s%s: no disk", used ? "; " : "", s->name);
		} else {
			fprintf(stderr, "pinio_bench: store %s (%s): %s\n", s->name,
				disk, strerror(-block_size[i]));
			return 1;
		}
		if (used >= sizeof(b.stores_run))
			abort();	/* a programming error: grow stores_run */
	}
	if (disks && !b.fio)
		fprintf(stderr, "pinio_bench: no fio (PINIO_BENCH_FIO, or fio on PATH): its rows left out\n");
	if (only && !used) {
		fprintf(stderr, "pinio_bench: --store %s: no such store\n", only);
		return 2;
	}
	if (total > MAX_RESULTS)
		abort();	/* a programming error: grow results[] */

	fprintf(stderr, "pinio_bench: %d cases x (warm-up + %d reps x %.0f ms)\n",
		total, b.reps, b.ms);
	for (size_t i = 0; i < nr_stores; i++) {
		const struct store *s = &stores[i];

		if (block_size[i] <= 0)
			continue;
		for (int bounce = 0; bounce <= (s->bounce ? 1 : 0); bounce++) {
			ret = run_series(&b, s, bounce, &done, total);
			if (ret)
				return 1;
		}
	}
	fputc('\n', stderr);
	set_param(BOUNCE_PARAM, 0);
	write_str(ASYNC_MIN_PARAM, b.async_min, 0);

	/* The RAM store's own measurements: registration, map-out, per call. */
	if (block_size[0] > 0 && run_ram_extras(&b))
		return 1;

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
