/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinio_bench's pieces and what they share:
 *
 *   pinio_bench.c  options, the run of every case, main()
 *   paths.c        the paths: one unit function each, the paths[] table,
 *                  the check that a path moves the right bytes
 *   measure.c      timing, repetitions, medians, CPU time; the result
 *                  tables every measurement fills
 *   device.c       /dev/pinio, its rings and buffers, sysfs parameters
 *   output.c       the text tables, headline ratios, CSV and JSON
 *   fio.c          fio's io_uring engine on a disk store's disk: the
 *                  outside cross-check, run as a program
 *   profile.c      --profile: untraced and ftrace-traced 4 KiB operations
 *
 * A new path is one unit function and one entry in paths[] (paths.c), a
 * new store one entry in stores[] (device.c).
 */
#ifndef PINIO_BENCH_H
#define PINIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pinio/pinio.h>
#include <pinio/pinio_uring.h>

#define KCOPY_PATH	"/sys/kernel/debug/pinio/kcopy"
#define BOUNCE_PARAM	"/sys/module/pinio/parameters/bounce"
#define PREFAULT_PARAM	"/sys/module/pinio/parameters/mmap_prefault"
#define ASYNC_MIN_PARAM	"/sys/module/pinio/parameters/uring_async_min"
#define MAX_QD		32
#define MAX_SIZE	(4u << 20)
#define MAX_REPS	64
#define VERIFY_SIZE	(64u << 10)
#define MIB		(1u << 20)

/* The transfer sizes and queue depths of every path (measure.c). */
#define NR_SIZES	6
extern const size_t sizes[NR_SIZES];
extern const int qds[2];

/*
 * What a case's transfers land in: the driver's RAM, or a disk attached to
 * the open /dev/pinio file (PINIO_IOC_ATTACH), named by the first set
 * variable of @env (the runner finds the guest's disks by serial number).
 */
#define STORE_RAM	0x1
#define STORE_DISK	0x2

struct store {
	const char *name;		/* "ram", "nvme": the rows' store field */
	unsigned int kind;		/* STORE_* */
	const char *const *env;		/* STORE_DISK: variables naming it */
	bool bounce;			/* also run with bounce=1 */
};

/* What the run found out about a disk store's disk (bench.json). */
struct disk_facts {
	char dev[64];			/* the block device */
	char model[64];			/* sysfs device/model */
	int block_size;			/* logical block size */
	unsigned long long bytes;	/* its size */
	char qemu[512];			/* PINIO_BENCH_QEMU: how it is attached */
};

extern const struct store stores[];
extern const size_t nr_stores;

struct bench {
	int fd;				/* /dev/pinio, opened under @bounce */
	int bounce;
	const struct store *store;	/* the store @fd works on */
	int disk_direct;		/* STORE_DISK: the disk, O_DIRECT */
	int disk_buffered;		/* STORE_DISK: the disk, page cache */
	struct pinio_info info;
	uint8_t *buf;			/* MAX_QD * MAX_SIZE, pre-faulted */
	uint8_t *src;			/* memcpy's stand-in for the device */
	size_t buf_len;
	unsigned int slot;		/* this repetition's place in buf */
	uint32_t handle;		/* pinio registration of buf */
	uint8_t *map;			/* the whole store, mmap()ed */
	struct io_uring ring;		/* plain SQEs; buf is fixed buffer 0 */
	struct io_uring ring128;	/* SQE128 for uring_cmd; buf fixed 0 */
	double ms;
	int reps;
	bool quick;
	char async_min[32];		/* the driver's uring_async_min as loaded */
	char stores_run[512];		/* for bench.json: which stores, where */
	struct disk_facts disk;		/* the last disk store run */
	const char *fio;		/* fio to run, NULL: its rows left out */
};

/* ---- paths.c ---- */

/* One unit of work: @qd transfers of @size; returns 0 or -errno. */
typedef int (*unit_fn)(struct bench *b, bool write, size_t size, int qd,
		       uint64_t unit);

struct result;
struct path;

/* A path timed as a whole rather than unit by unit (kcopy, fio). */
typedef int (*measure_fn)(struct bench *b, const struct path *p, bool write,
			  size_t size, int qd, struct result *r);

struct path {
	int id;
	const char *name;
	unit_fn fn;			/* or NULL, and then: */
	measure_fn measure;		/* times the whole case itself */
	bool queued;			/* has a QD32 variant */
	bool device;			/* goes through /dev/pinio */
	bool uring_wq;			/* uring_async_min=1: all on the workqueue */
	bool page_cache;		/* on a disk: through its page cache */
	unsigned int on;		/* STORE_* kinds it runs on */
};

extern const struct path paths[];
extern const size_t nr_paths;

/* io_uring transfers that completed short, their rest resubmitted. */
extern unsigned long uring_short;

const struct path *path_by_id(int id);
int verify_path(struct bench *b, const struct path *p);

/* ---- measure.c ---- */

struct result {
	const struct store *store;
	int bounce;
	const struct path *path;
	bool write;
	size_t size;
	int qd;
	double ops_s, mb_s;
	double cpu_s_gb;		/* this process (measure.c says what) */
	double guest_cpu_s_gb;		/* every CPU of the guest */
};

struct reg_result {
	size_t mib;
	bool thp;
	long thp_kib;			/* AnonHugePages actually backing it */
	double pinio_ns_page, uring_ns_page;
	double pinio_unreg_ns_page, uring_unreg_ns_page;
};

struct backing_result {
	bool thp;
	bool write;
	long thp_kib;			/* AnonHugePages backing the buffer */
	double pre_ops_s;		/* path 4: registered once */
	double reg_ops_s;		/* path 5: registered around each call */
};

struct map_result {
	size_t len;
	int prefault;
	double mmap_us, touch_us, munmap_us;
};

/* Two paths of one case measured in turn (measure_pair()). */
struct pair_result {
	const struct store *store;
	const struct path *a, *b;
	bool write;
	size_t size;
	int qd;
	int reps;			/* of each path */
	double a_ops_s, a_mb_s, b_ops_s, b_mb_s;	/* medians */
};

/*
 * A headline ratio of a disk store: path a over path b at depth qd, at
 * each size of at[]; paired ones are measured by measure_pair().
 */
struct disk_ratio {
	int a, b, qd;
	bool cpu;			/* guest CPU s/GB, else ops/s */
	bool paired;			/* from measure_pair(), else the tables */
	double target;			/* 0: informational */
	size_t at[5];			/* the sizes, up to a 0 */
};

extern const struct disk_ratio disk_ratios[];
extern const size_t nr_disk_ratios;

#define MAX_RESULTS	1024
#define MAX_PAIRS	64
#define NR_MAP_SIZES	5
extern const size_t map_sizes[NR_MAP_SIZES];

/* What the run measured, for output.c. */
extern struct result results[MAX_RESULTS];
extern int nr_results;
extern struct reg_result reg_results[8];
extern int nr_reg_results;
extern struct backing_result backing_results[4];
extern int nr_backing_results;
extern struct map_result map_results[2 * NR_MAP_SIZES];
extern int nr_map_results;
extern struct pair_result pair_results[MAX_PAIRS];
extern int nr_pair_results;

double now_s(void);
int measure(struct bench *b, const struct path *p, bool write, size_t size,
	    int qd, struct result *r);
int measure_pair(struct bench *b, struct pair_result *pr);
int measure_kcopy(struct bench *b, const struct path *p, bool write,
		  size_t size, int qd, struct result *r);
double median(double *v, int n);
int measure_registration(struct bench *b, size_t mib, bool thp,
			 struct reg_result *r);
int measure_backing(struct bench *b, bool thp);
int measure_mapping(struct bench *b, size_t len, int prefault,
		    struct map_result *r);

/* ---- device.c ---- */

#define RING_SETUP	"/dev/pinio as fixed file 0, default flags"

int write_str(const char *path, const char *val, int flags);
int set_param(const char *path, int on);
void read_line(const char *path, const char *prefix, char *out, size_t len);
void *map_buffer(size_t len);
const char *store_disk(const struct store *s);
int store_block_size(const struct store *s);
int disk_facts(const struct store *s, struct disk_facts *d);
int drop_disk_cache(struct bench *b);
int open_device(struct bench *b, const struct store *s, int bounce);
void close_device(struct bench *b);

/* ---- output.c ---- */

void compute_headlines(void);
void print_report(FILE *out, const struct bench *b);
int write_outputs(const struct bench *b, const char *dir);

/* ---- fio.c ---- */

const char *fio_program(void);
int measure_fio(struct bench *b, const struct path *p, bool write,
		size_t size, int qd, struct result *r);

/* ---- profile.c ---- */

int run_profile(struct bench *b, const char *out);

#endif /* PINIO_BENCH_H */
