// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: outputs. The text tables, the headline ratios (always
 * between cases of the same run), bench.csv, bench.json and the other CSV
 * files; each CSV/JSON table lists its fields once (put_*()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pinio_bench.h"

/* Most headline ratios are the RAM store's; disk_headlines() the disk's. */
#define RAM	(&stores[0])

static const struct result *find(const struct store *st, int bounce, int path,
				 bool write, size_t size, int qd)
{
	for (int i = 0; i < nr_results; i++) {
		const struct result *r = &results[i];

		if (r->store == st && r->bounce == bounce && r->path->id == path &&
		    r->write == write && r->size == size && r->qd == qd)
			return r;
	}
	return NULL;
}

/* Ratio of two cases' figure (ops/s; same size means same for MB/s). */
static double ratio(const struct result *a, const struct result *b)
{
	return a && b && b->ops_s > 0 ? a->ops_s / b->ops_s : 0;
}

static void size_label(size_t size, char *out, size_t len)
{
	if (size >= MIB)
		snprintf(out, len, "%zuM", size / MIB);
	else if (size >= 1024)
		snprintf(out, len, "%zuK", size / 1024);
	else
		snprintf(out, len, "%zu", size);
}

/* Whether path @id ran on @st under @bounce at depth @qd, at any size. */
static bool path_ran(const struct store *st, int bounce, int id, bool w, int qd)
{
	for (size_t s = 0; s < NR_SIZES; s++)
		if (find(st, bounce, id, w, sizes[s], qd))
			return true;
	return false;
}

/* "store=nvme " before a disk store's tables, nothing for RAM's. */
static void store_label(const struct store *st, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", st->kind == STORE_RAM ? "" : "store=",
		 st->kind == STORE_RAM ? "" : st->name,
		 st->kind == STORE_RAM ? "" : " ");
}

/*
 * MB/s of every case, one table per store, bounce, direction and depth,
 * with two ratios: against the copy through the store's read/write and
 * io_uring's READ/WRITE_FIXED on it for RAM; against O_DIRECT pread/pwrite
 * and READ/WRITE_FIXED on the disk itself for a disk.
 */
static void print_tables(FILE *out, const struct store *st)
{
	bool disk = st->kind == STORE_DISK;
	int base = disk ? 14 : 1, best = disk ? 13 : 3;
	char lbl[16], sl[32];

	store_label(st, sl, sizeof(sl));
	for (int bounce = 0; bounce <= (st->bounce ? 1 : 0); bounce++)
		for (int w = 0; w <= 1; w++)
			for (int q = 0; q < 2; q++) {
				fprintf(out, "\n%sbounce=%d %s QD%d  MB/s (x vs %s, x vs %s)\n",
					sl, bounce, w ? "write" : "read", qds[q],
					path_by_id(base)->name, path_by_id(best)->name);
				fprintf(out, "%-18s", "path");
				for (size_t s = 0; s < NR_SIZES; s++) {
					size_label(sizes[s], lbl, sizeof(lbl));
					fprintf(out, " %22s", lbl);
				}
				fputc('\n', out);
				for (size_t p = 0; p < nr_paths; p++) {
					const struct path *pa = &paths[p];

					if (qds[q] > 1 && !pa->queued)
						continue;
					if (!path_ran(st, bounce, pa->id, w, qds[q]))
						continue;
					fprintf(out, "%-18s", pa->name);
					for (size_t s = 0; s < NR_SIZES; s++) {
						const struct result *r =
							find(st, bounce, pa->id, w, sizes[s], qds[q]);
						char cell[32];

						/* "-": not run (below the store's block size). */
						if (!r)
							snprintf(cell, sizeof(cell), "-");
						else
							snprintf(cell, sizeof(cell), "%.0f (%.2f,%.2f)",
								 r->mb_s,
								 ratio(r, find(st, bounce, base, w, sizes[s], 1)),
								 ratio(r, find(st, bounce, best, w, sizes[s], qds[q])));
						fprintf(out, " %22s", cell);
					}
					fputc('\n', out);
				}
			}
}

/* Operations/s and CPU time per GB (getrusage) at two sizes, bounce=0. */
static void print_cpu_table(FILE *out, const struct store *st)
{
	static const size_t at[] = { 4096, 1 << 20 };
	char sl[32];

	store_label(st, sl, sizeof(sl));
	fprintf(out, "\n%sbounce=0 ops/s and CPU s per GB (this process; QD1, or QD32 where marked)\n",
		sl);
	fprintf(out, "%-22s %-5s %12s %10s %12s %10s\n", "path", "dir",
		"4K ops/s", "4K s/GB", "1M ops/s", "1M s/GB");
	for (size_t p = 0; p < nr_paths; p++)
		for (int q = 0; q < 2; q++)
			for (int w = 0; w <= 1; w++) {
				const struct result *r0, *r1;
				char name[32];

				if (qds[q] > 1 && !paths[p].queued)
					continue;
				r0 = find(st, 0, paths[p].id, w, at[0], qds[q]);
				r1 = find(st, 0, paths[p].id, w, at[1], qds[q]);
				if (!r0 || !r1)
					continue;
				snprintf(name, sizeof(name), "%s%s", paths[p].name,
					 qds[q] > 1 ? " QD32" : "");
				fprintf(out, "%-22s %-5s %12.0f %10.3f %12.0f %10.3f\n",
					name, w ? "write" : "read", r0->ops_s,
					r0->cpu_s_gb, r1->ops_s, r1->cpu_s_gb);
			}
}

/*
 * A disk store's guest CPU seconds per GB (every CPU of the guest: the
 * device's DMA is not the guest's work), from 64 KiB up, bounce=0.
 */
static void print_guest_cpu_table(FILE *out, const struct store *st)
{
	char lbl[16];

	fprintf(out, "\nstore=%s guest CPU s per GB (all guest CPUs, per GB moved; QD1, or QD32 where marked)\n",
		st->name);
	fprintf(out, "%-22s %-5s", "path", "dir");
	for (size_t s = 0; s < NR_SIZES; s++) {
		if (sizes[s] < (64 << 10))
			continue;
		size_label(sizes[s], lbl, sizeof(lbl));
		fprintf(out, " %9s", lbl);
	}
	fputc('\n', out);
	for (size_t p = 0; p < nr_paths; p++)
		for (int q = 0; q < 2; q++)
			for (int w = 0; w <= 1; w++) {
				char name[32];

				if (!path_ran(st, 0, paths[p].id, w, qds[q]))
					continue;
				snprintf(name, sizeof(name), "%s%s", paths[p].name,
					 qds[q] > 1 ? " QD32" : "");
				fprintf(out, "%-22s %-5s", name, w ? "write" : "read");
				for (size_t s = 0; s < NR_SIZES; s++) {
					const struct result *r;

					if (sizes[s] < (64 << 10))
						continue;
					r = find(st, 0, paths[p].id, w, sizes[s], qds[q]);
					/* fio's rows: -1, not measured (fio.c). */
					if (r && r->guest_cpu_s_gb >= 0)
						fprintf(out, " %9.3f", r->guest_cpu_s_gb);
					else
						fprintf(out, " %9s", "-");
				}
				fputc('\n', out);
			}
}

struct headline {
	char name[160];
	double value, target;
	bool at_least;			/* value >= target passes, else <= */
};

static struct headline heads[128];
static int nr_heads;

static void add_head(const char *name, double value, double target,
		     bool at_least)
{
	struct headline *h;

	if (nr_heads == (int)(sizeof(heads) / sizeof(heads[0])))
		abort();	/* a programming error: grow heads[] */
	h = &heads[nr_heads++];

	snprintf(h->name, sizeof(h->name), "%s", name);
	h->value = value;
	h->target = target;
	h->at_least = at_least;
}

static bool head_ok(const struct headline *h)
{
	return h->value > 0 &&
	       (h->at_least ? h->value >= h->target : h->value <= h->target);
}

/* Guest CPU s/GB of @a over @b's; 0 when either is unknown. */
static double cpu_ratio(const struct result *a, const struct result *b)
{
	return a && b && a->guest_cpu_s_gb >= 0 && b->guest_cpu_s_gb > 0 ?
	       a->guest_cpu_s_gb / b->guest_cpu_s_gb : 0;
}

/*
 * A disk store against the kernel's own paths on the same disk: pinio's
 * uring_cmd at QD32 against io_uring READ/WRITE_FIXED on the disk opened
 * O_DIRECT and pinio's ioctl at QD1 against O_DIRECT pread/pwrite (the
 * issue's sizes: 4 KiB, 128 KiB, 1 MiB), measured in turn (paired), and
 * the guest's CPU per GB of pinio's direct path against the page cache's;
 * then, informational, the same two from the tables, fio's view,
 * registering per call, map out and copy.
 */
const struct disk_ratio disk_ratios[] = {
	{ 7, 13, MAX_QD, false, true, 0.95, { 4096, 128 << 10, MIB } },
	{ 4, 14, 1, false, true, 0.95, { 4096, 128 << 10, MIB } },
	{ 4, 15, 1, true, false, 0.5, { 64 << 10, 128 << 10, MIB, 4 * MIB } },
	{ 7, 13, MAX_QD, false, false, 0, { 4096, 128 << 10, MIB } },
	{ 4, 14, 1, false, false, 0, { 4096, 128 << 10, MIB } },
	{ 7, 16, MAX_QD, false, false, 0, { 4096, 128 << 10, MIB } },
	{ 4, 5, 1, false, false, 0, { 4096, MIB } },
	{ 9, 4, 1, false, false, 0, { MIB } },
	{ 1, 4, 1, false, false, 0, { MIB } },
};
const size_t nr_disk_ratios = sizeof(disk_ratios) / sizeof(disk_ratios[0]);

static const struct pair_result *find_pair(const struct store *st, int a,
					   int b, bool write, size_t size,
					   int qd)
{
	for (int i = 0; i < nr_pair_results; i++) {
		const struct pair_result *pr = &pair_results[i];

		if (pr->store == st && pr->a->id == a && pr->b->id == b &&
		    pr->write == write && pr->size == size && pr->qd == qd)
			return pr;
	}
	return NULL;
}

/* A path's name in a headline's: "read/write" would read as a ratio. */
static void head_path(int id, char *out, size_t len)
{
	snprintf(out, len, "%s", path_by_id(id)->name);
	for (char *c = out; *c; c++)
		if (*c == '/')
			*c = '-';
}

/* Ratio @d at @size: from its paired measurement, else from the tables. */
static double disk_ratio_value(const struct store *st,
			       const struct disk_ratio *d, bool w, size_t size)
{
	const struct result *ra = find(st, 0, d->a, w, size, d->qd);
	const struct result *rb = find(st, 0, d->b, w, size, d->qd);
	const struct pair_result *pr;

	if (d->cpu)
		return cpu_ratio(ra, rb);
	if (!d->paired)
		return ratio(ra, rb);
	pr = find_pair(st, d->a, d->b, w, size, d->qd);
	return pr && pr->b_ops_s > 0 ? pr->a_ops_s / pr->b_ops_s : 0;
}

static void disk_headlines(const struct store *st)
{
	char name[160], lbl[16], a[32], b[32];

	for (size_t i = 0; i < nr_disk_ratios; i++) {
		const struct disk_ratio *d = &disk_ratios[i];

		head_path(d->a, a, sizeof(a));
		head_path(d->b, b, sizeof(b));
		for (int w = 0; w <= 1; w++)
			for (const size_t *sz = d->at; sz < d->at + 5 && *sz; sz++) {
				size_label(*sz, lbl, sizeof(lbl));
				snprintf(name, sizeof(name), "%s %s%s/%s QD%d %s %s%s",
					 st->name, d->cpu ? "guest CPU/GB " : "",
					 a, b, d->qd, w ? "write" : "read", lbl,
					 d->paired ? " paired" : d->cpu ? "" : " tables");
				add_head(name, disk_ratio_value(st, d, w, *sz),
					 d->target, !d->cpu);
			}
	}
}

void compute_headlines(void)
{
	char name[96], lbl[16];

	for (size_t i = 0; i < nr_stores; i++)
		if (stores[i].kind == STORE_DISK &&
		    path_ran(&stores[i], 0, 4, false, 1))
			disk_headlines(&stores[i]);

	/* The rest are the RAM store's, and --store may have left it out. */
	if (!path_ran(RAM, 0, 4, false, 1))
		return;

	for (int w = 0; w <= 1; w++) {
		const char *dir = w ? "write" : "read";

		for (size_t s = 0; s < NR_SIZES; s++) {
			if (sizes[s] < MIB)
				continue;
			size_label(sizes[s], lbl, sizeof(lbl));
			snprintf(name, sizeof(name), "pinio-ioctl/kcopy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(RAM, 0, 4, w, sizes[s], 1),
					     find(RAM, 0, 11, w, sizes[s], 1)), 0.85, true);
			snprintf(name, sizeof(name), "pinio-uring/kcopy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(RAM, 0, 7, w, sizes[s], 1),
					     find(RAM, 0, 11, w, sizes[s], 1)), 0.85, true);
			snprintf(name, sizeof(name),
				 "pinio-uring-wq/pinio-uring QD32 %s %s", dir, lbl);
			add_head(name, ratio(find(RAM, 0, 12, w, sizes[s], MAX_QD),
					     find(RAM, 0, 7, w, sizes[s], MAX_QD)), 0, true);
			snprintf(name, sizeof(name), "pinio-ioctl/memcpy %s %s",
				 dir, lbl);
			add_head(name, ratio(find(RAM, 0, 4, w, sizes[s], 1),
					     find(RAM, 0, 10, w, sizes[s], 1)), 0, true);
			snprintf(name, sizeof(name), "mmap/pinio-ioctl %s %s",
				 dir, lbl);
			add_head(name, ratio(find(RAM, 0, 9, w, sizes[s], 1),
					     find(RAM, 0, 4, w, sizes[s], 1)), 0, true);
		}
		snprintf(name, sizeof(name), "pinio-uring QD32/pinio-ioctl QD1 %s 4K", dir);
		add_head(name, ratio(find(RAM, 0, 7, w, 4096, MAX_QD),
				     find(RAM, 0, 4, w, 4096, 1)), 1.5, true);
		snprintf(name, sizeof(name), "pinio-uring QD32/uring-fixed QD32 %s 4K", dir);
		add_head(name, ratio(find(RAM, 0, 7, w, 4096, MAX_QD),
				     find(RAM, 0, 3, w, 4096, MAX_QD)), 1.0, true);
		for (size_t s = 0; s < NR_SIZES; s++) {
			if (sizes[s] < (64 << 10))
				continue;
			size_label(sizes[s], lbl, sizeof(lbl));
			snprintf(name, sizeof(name),
				 "bounce=1 pinio-ioctl/read-write %s %s", dir, lbl);
			add_head(name, ratio(find(RAM, 1, 4, w, sizes[s], 1),
					     find(RAM, 1, 1, w, sizes[s], 1)), 1.6, true);
		}
	}
	for (int i = 0; i < nr_backing_results; i++) {
		const struct backing_result *r = &backing_results[i];

		snprintf(name, sizeof(name),
			 "pinio-ioctl/pinio-ioctl-reg %s 1M %s",
			 r->write ? "write" : "read", r->thp ? "THP" : "4K pages");
		add_head(name, r->reg_ops_s > 0 ? r->pre_ops_s / r->reg_ops_s : 0,
			 1.2, true);
	}
	for (int i = 0; i < nr_reg_results; i++) {
		const struct reg_result *r = &reg_results[i];

		snprintf(name, sizeof(name),
			 "register ns/page pinio/io_uring %zuM thp=%d", r->mib,
			 r->thp);
		add_head(name, r->uring_ns_page > 0 ?
			 r->pinio_ns_page / r->uring_ns_page : 0, 1.2, false);
	}
}

static void print_headlines(FILE *out)
{
	fprintf(out, "\nHeadline ratios (same boot; a target of 0 is informational)\n");
	for (int i = 0; i < nr_heads; i++) {
		const struct headline *h = &heads[i];

		fprintf(out, "  %-58s %7.2fx  target %s%.2f  %s\n", h->name,
			h->value, h->at_least ? ">=" : "<=", h->target,
			!h->target ? "" : head_ok(h) ? "MET" : "MISSED");
	}
}

/* Everything measured, as text tables (bench.txt). */
void print_report(FILE *out, const struct bench *b)
{
	fprintf(out, "pinio benchmark: medians of %d repetitions of >= %.0f ms after warm-up.\n"
		"Under QEMU TCG the absolute MB/s are emulator figures, not hardware ones: read the ratios.\n"
		"io_uring paths: QD1 and QD32, rings with %s.\n",
		b->reps, b->ms, RING_SETUP);
	for (int i = 0; i < nr_results; i++)
		if (!i || results[i].store != results[i - 1].store)
			print_tables(out, results[i].store);
	for (int i = 0; i < nr_results; i++)
		if (!i || results[i].store != results[i - 1].store)
			print_cpu_table(out, results[i].store);
	for (int i = 0; i < nr_results; i++)
		if ((!i || results[i].store != results[i - 1].store) &&
		    results[i].store->kind == STORE_DISK)
			print_guest_cpu_table(out, results[i].store);
	fprintf(out, "\nRegistration, ns per 4 KiB page (median)\n");
	fprintf(out, "  %6s %4s %12s %10s %10s %12s %12s\n", "MiB", "thp",
		"hugeKiB", "pinio", "io_uring", "pinio-unreg", "uring-unreg");
	for (int i = 0; i < nr_reg_results; i++) {
		const struct reg_result *r = &reg_results[i];

		fprintf(out, "  %6zu %4d %12ld %10.1f %10.1f %12.1f %12.1f\n",
			r->mib, r->thp, r->thp_kib, r->pinio_ns_page,
			r->uring_ns_page, r->pinio_unreg_ns_page,
			r->uring_unreg_ns_page);
	}
	fprintf(out, "\nPre-registered (path 4) versus register-per-call (path 5), 1 MiB QD1, bounce=0\n");
	fprintf(out, "  %-9s %-5s %8s %12s %12s %7s\n", "backing", "dir",
		"hugeKiB", "pre ops/s", "per-call", "x");
	for (int i = 0; i < nr_backing_results; i++) {
		const struct backing_result *r = &backing_results[i];

		fprintf(out, "  %-9s %-5s %8ld %12.0f %12.0f %7.2f\n",
			r->thp ? "THP" : "4K pages", r->write ? "write" : "read",
			r->thp_kib, r->pre_ops_s, r->reg_ops_s,
			r->reg_ops_s > 0 ? r->pre_ops_s / r->reg_ops_s : 0);
	}
	fprintf(out, "\nMap-out set-up: mmap(), first write to every page, munmap() (us, median)\n");
	fprintf(out, "  %10s %9s %10s %12s %10s\n", "window", "prefault", "mmap",
		"first-touch", "munmap");
	for (int i = 0; i < nr_map_results; i++)
		fprintf(out, "  %10zu %9d %10.1f %12.1f %10.1f\n",
			map_results[i].len, map_results[i].prefault,
			map_results[i].mmap_us, map_results[i].touch_us,
			map_results[i].munmap_us);
	if (nr_pair_results) {
		fprintf(out, "\nPaired: two paths of a case in turn, repetition by repetition (MB/s, medians)\n");
		fprintf(out, "  %-6s %-18s %-18s %-5s %8s %4s %5s %10s %10s %7s\n",
			"store", "a", "b", "dir", "size", "qd", "reps", "a MB/s",
			"b MB/s", "a/b");
	}
	for (int i = 0; i < nr_pair_results; i++) {
		const struct pair_result *pr = &pair_results[i];

		fprintf(out, "  %-6s %-18s %-18s %-5s %8zu %4d %5d %10.1f %10.1f %7.3f\n",
			pr->store->name, pr->a->name, pr->b->name,
			pr->write ? "write" : "read", pr->size, pr->qd, pr->reps,
			pr->a_mb_s, pr->b_mb_s,
			pr->b_ops_s > 0 ? pr->a_ops_s / pr->b_ops_s : 0);
	}
	print_headlines(out);
}

static void json_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *c = s; *c; c++)
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if ((unsigned char)*c >= 0x20)
			fputc(*c, f);
	fputc('"', f);
}

static void json_str(FILE *f, const char *key, const char *val, bool comma)
{
	fprintf(f, "    \"%s\": ", key);
	json_escaped(f, val);
	fprintf(f, "%s\n", comma ? "," : "");
}

/*
 * One record of a table, written as a CSV header, a CSV row or a JSON
 * object: each table lists its fields once (put_*() below) for all three.
 */
enum rec_mode { REC_CSV_HEAD, REC_CSV, REC_JSON };

struct rec {
	FILE *f;
	enum rec_mode mode;
	int fields;			/* written so far in this record */
};

static void rec_key(struct rec *o, const char *name)
{
	if (o->mode == REC_JSON)
		fprintf(o->f, "%s\"%s\": ", o->fields ? ", " : "{", name);
	else if (o->fields)
		fputc(',', o->f);
	if (o->mode == REC_CSV_HEAD)
		fputs(name, o->f);
	o->fields++;
}

/* @fmt converts one double: "%.0f" for whole numbers. */
static void rec_num(struct rec *o, const char *name, const char *fmt, double v)
{
	rec_key(o, name);
	if (o->mode != REC_CSV_HEAD)
		fprintf(o->f, fmt, v);
}

static void rec_bool(struct rec *o, const char *name, bool v)
{
	rec_key(o, name);
	if (o->mode == REC_JSON)
		fputs(v ? "true" : "false", o->f);
	else if (o->mode == REC_CSV)
		fputc(v ? '1' : '0', o->f);
}

/* No table's strings hold a comma, so CSV needs no quoting. */
static void rec_str(struct rec *o, const char *name, const char *v)
{
	rec_key(o, name);
	if (o->mode == REC_JSON)
		json_escaped(o->f, v);
	else if (o->mode == REC_CSV)
		fputs(v, o->f);
}

static void put_result(struct rec *o, int i)
{
	const struct result *r = &results[i];

	rec_num(o, "bounce", "%.0f", r->bounce);
	rec_num(o, "path_id", "%.0f", r->path->id);
	rec_str(o, "path", r->path->name);
	rec_str(o, "dir", r->write ? "write" : "read");
	rec_num(o, "size", "%.0f", r->size);
	rec_num(o, "qd", "%.0f", r->qd);
	rec_num(o, "ops_per_s", "%.1f", r->ops_s);
	rec_num(o, "mb_per_s", "%.2f", r->mb_s);
	rec_num(o, "cpu_s_per_gb", "%.4f", r->cpu_s_gb);
	rec_num(o, "x_vs_read_write", "%.3f",
		ratio(r, find(r->store, r->bounce, 1, r->write, r->size, 1)));
	rec_num(o, "x_vs_uring_fixed", "%.3f",
		ratio(r, find(r->store, r->bounce, 3, r->write, r->size, r->qd)));
	/* Last, so that the columns before them keep their places. */
	rec_num(o, "guest_cpu_s_per_gb", "%.4f", r->guest_cpu_s_gb);
	rec_str(o, "store", r->store->name);
}

static void put_registration(struct rec *o, int i)
{
	const struct reg_result *r = &reg_results[i];

	rec_num(o, "size_mib", "%.0f", r->mib);
	rec_bool(o, "thp", r->thp);
	rec_num(o, "anon_huge_kib", "%.0f", r->thp_kib);
	rec_num(o, "pinio_reg_ns_per_page", "%.1f", r->pinio_ns_page);
	rec_num(o, "uring_reg_ns_per_page", "%.1f", r->uring_ns_page);
	rec_num(o, "pinio_unreg_ns_per_page", "%.1f", r->pinio_unreg_ns_page);
	rec_num(o, "uring_unreg_ns_per_page", "%.1f", r->uring_unreg_ns_page);
	rec_num(o, "x_pinio_vs_uring", "%.3f", r->uring_ns_page > 0 ?
		r->pinio_ns_page / r->uring_ns_page : 0);
}

static void put_backing(struct rec *o, int i)
{
	const struct backing_result *r = &backing_results[i];

	rec_num(o, "size", "%.0f", MIB);
	rec_bool(o, "thp", r->thp);
	rec_num(o, "anon_huge_kib", "%.0f", r->thp_kib);
	rec_str(o, "dir", r->write ? "write" : "read");
	rec_num(o, "pre_registered_ops_per_s", "%.1f", r->pre_ops_s);
	rec_num(o, "register_per_call_ops_per_s", "%.1f", r->reg_ops_s);
}

static void put_mapping(struct rec *o, int i)
{
	const struct map_result *r = &map_results[i];

	rec_num(o, "window_bytes", "%.0f", r->len);
	rec_bool(o, "prefault", r->prefault);
	rec_num(o, "mmap_us", "%.2f", r->mmap_us);
	rec_num(o, "first_touch_us", "%.2f", r->touch_us);
	rec_num(o, "munmap_us", "%.2f", r->munmap_us);
}

static void put_pair(struct rec *o, int i)
{
	const struct pair_result *pr = &pair_results[i];

	rec_str(o, "store", pr->store->name);
	rec_str(o, "path_a", pr->a->name);
	rec_str(o, "path_b", pr->b->name);
	rec_str(o, "dir", pr->write ? "write" : "read");
	rec_num(o, "size", "%.0f", pr->size);
	rec_num(o, "qd", "%.0f", pr->qd);
	rec_num(o, "reps", "%.0f", pr->reps);
	rec_num(o, "a_mb_per_s", "%.2f", pr->a_mb_s);
	rec_num(o, "b_mb_per_s", "%.2f", pr->b_mb_s);
	rec_num(o, "x_a_vs_b", "%.3f",
		pr->b_ops_s > 0 ? pr->a_ops_s / pr->b_ops_s : 0);
}

static void put_headline(struct rec *o, int i)
{
	const struct headline *h = &heads[i];

	rec_str(o, "name", h->name);
	rec_num(o, "value", "%.3f", h->value);
	rec_num(o, "target", "%.2f", h->target);
	rec_bool(o, "at_least", h->at_least);
	rec_bool(o, "met", head_ok(h));
}

typedef void (*put_fn)(struct rec *o, int i);

static void csv_line(struct rec *o, put_fn put, int i)
{
	o->fields = 0;
	put(o, i);
	fputc('\n', o->f);
}

/* @dir/@name: a header named by record 0's fields, then @n rows. */
static int write_csv(const char *dir, const char *name, put_fn put, int n)
{
	struct rec o = { .mode = REC_CSV_HEAD };
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o.f = fopen(path, "we");
	if (!o.f)
		return -errno;
	if (n)
		csv_line(&o, put, 0);
	o.mode = REC_CSV;
	for (int i = 0; i < n; i++)
		csv_line(&o, put, i);
	return fclose(o.f) ? -errno : 0;
}

/* "key": [ one object per record ] inside the open JSON document. */
static void write_json_array(FILE *f, const char *key, put_fn put, int n,
			     bool last)
{
	struct rec o = { .f = f, .mode = REC_JSON };

	fprintf(f, "  \"%s\": [\n", key);
	for (int i = 0; i < n; i++) {
		o.fields = 0;
		fputs("    ", f);
		put(&o, i);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]%s\n", last ? "" : ",");
}

int write_outputs(const struct bench *b, const char *dir)
{
	char path[512], model[256], flags[4096], vendor[128], cmdline[1024];
	const char *cpu_arg = getenv("PINIO_BENCH_CPU");
	struct utsname u;
	FILE *f;
	int ret;

	uname(&u);
	read_line("/proc/cpuinfo", "model name", model, sizeof(model));
	read_line("/proc/cpuinfo", "flags", flags, sizeof(flags));
	read_line("/sys/class/dmi/id/sys_vendor", NULL, vendor, sizeof(vendor));
	read_line("/proc/cmdline", NULL, cmdline, sizeof(cmdline));

	ret = write_csv(dir, "bench.csv", put_result, nr_results);
	if (!ret)
		ret = write_csv(dir, "register.csv", put_registration,
				nr_reg_results);
	if (!ret)
		ret = write_csv(dir, "mmap.csv", put_mapping, nr_map_results);
	if (!ret)
		ret = write_csv(dir, "pairs.csv", put_pair, nr_pair_results);
	if (!ret)
		ret = write_csv(dir, "headline.csv", put_headline, nr_heads);
	if (ret)
		return ret;

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "{\n  \"facts\": {\n");
	json_str(f, "kernel", u.release, true);
	json_str(f, "machine", u.machine, true);
	json_str(f, "cpu_model", model, true);
	json_str(f, "cpu_flags", flags, true);
	json_str(f, "qemu_cpu", cpu_arg ? cpu_arg : "not under the runner", true);
	json_str(f, "sys_vendor", vendor, true);
	json_str(f, "kernel_cmdline", cmdline, true);
	json_str(f, "uring_async_min", b->async_min, true);
	json_str(f, "ring_setup", RING_SETUP, true);
	json_str(f, "stores", b->stores_run, true);
	json_str(f, "disk_dev", b->disk.dev[0] ? b->disk.dev : "none", true);
	json_str(f, "disk_model", b->disk.dev[0] ? b->disk.model : "none", true);
	fprintf(f, "    \"disk_logical_block_size\": %d,\n", b->disk.block_size);
	fprintf(f, "    \"disk_bytes\": %llu,\n", b->disk.bytes);
	json_str(f, "disk_qemu", b->disk.dev[0] ? b->disk.qemu : "none", true);
	json_str(f, "fio", b->fio ? b->fio : "none", true);
	fprintf(f, "    \"hypervisor\": %s,\n",
		strstr(flags, "hypervisor") ? "true" : "false");
	fprintf(f, "    \"cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "    \"dev_size\": %llu,\n", (unsigned long long)b->info.dev_size);
	fprintf(f, "    \"ms_per_rep\": %.0f,\n    \"reps\": %d,\n    \"quick\": %s,\n",
		b->ms, b->reps, b->quick ? "true" : "false");
	json_str(f, "note", "medians of reps after warm-up; absolute figures under QEMU TCG are not hardware figures, read the ratios; cpu_s_per_gb is the benchmark process's own CPU time (getrusage, median of reps), so work done in pinio's workqueue for large uring_cmd transfers is not in it; guest_cpu_s_per_gb is every guest CPU's busy time over all reps of a case (online CPUs x wall - idle - iowait from /proc/stat, 10 ms ticks: rough for quick runs), kernel threads and interrupts included, -1 if unknown (fio's rows: fio's start-up cannot be told apart); on a disk store, page-cache rows (read/write, uring-rw, uring-fixed, mmap, disk-buffered) start each rep with the disk's cache dropped and end write reps with fdatasync, timed", false);
	fprintf(f, "  },\n");
	write_json_array(f, "results", put_result, nr_results, false);
	write_json_array(f, "registration", put_registration, nr_reg_results,
			 false);
	write_json_array(f, "per_call_registration", put_backing,
			 nr_backing_results, false);
	write_json_array(f, "mapping", put_mapping, nr_map_results, false);
	write_json_array(f, "pairs", put_pair, nr_pair_results, false);
	write_json_array(f, "headline", put_headline, nr_heads, true);
	fprintf(f, "}\n");
	return fclose(f) ? -errno : 0;
}
