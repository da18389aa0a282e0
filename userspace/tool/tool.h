/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinio(1): shared declarations of the command-line tool.
 *
 * Helpers return 0 (or a count) on success and -errno on failure. Commands,
 * and the few helpers that explain a failure to the user (report_*(),
 * usage_error(), dev_range(), chunk_get()), return one of the exit codes
 * below, after printing why they failed.
 */
#ifndef PINIO_TOOL_H
#define PINIO_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <pinio/pinio.h>

/* Exit codes, documented in pinio(1): scripts may rely on them. */
enum {
	EXIT_OK		= 0,	/* success */
	EXIT_IO		= 1,	/* I/O or driver error, source/destination problem */
	EXIT_USAGE	= 2,	/* bad command line */
	EXIT_NODEV	= 3,	/* device or its sysfs missing, permission denied */
	EXIT_MEMLOCK	= 4,	/* RLIMIT_MEMLOCK too low to pin a buffer */
	EXIT_MISMATCH	= 5,	/* verify: data read back differs */
};

#define KiB		1024ULL
#define MiB		(1024ULL * KiB)
#define DEFAULT_CHUNK	MiB

/* Settings every command shares. */
struct tool {
	const char *device;	/* -d/--device, $PINIO_DEVICE, /dev/pinio */
	bool quiet;		/* -q: no progress bar, no throughput line */
};

/* main.c */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Handles -d/-q/-h/-V shared by every command: 1 if it was one, 0 if not. */
int common_option(struct tool *t, int opt, const char *arg);
/* getopt_long() returned '?' or ':': say so, return EXIT_USAGE. */
int bad_option(const char *cmd, int opt, char **argv);
#define COMMON_SHORTOPTS	":d:qhV"
#define COMMON_LONGOPTS						\
	{ "device", required_argument, NULL, 'd' },		\
	{ "quiet", no_argument, NULL, 'q' },			\
	{ "help", no_argument, NULL, 'h' },			\
	{ "version", no_argument, NULL, 'V' }

/* util.c */
int parse_size(const char *s, uint64_t *val);
const char *fmt_bytes(uint64_t n, char *buf, size_t len);
double rate_mib(uint64_t bytes, double secs);
double now_sec(void);
ssize_t read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
void json_string(FILE *f, const char *s);

/* progress.c: a one-line bar on stderr, only when it is a terminal. */
struct progress {
	bool on;
	const char *label;
	uint64_t total;		/* 0: unknown */
	double start;
	double last;
};
void progress_start(struct progress *p, const struct tool *t,
		    const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);

/* --attach PATH, for the commands that take it. */
#define ATTACH_SHORTOPT		"a:"
#define ATTACH_LONGOPT		{ "attach", required_argument, NULL, 'a' }

/* dev.c */
struct dev {
	int fd;
	const char *path;
	const char *store_path;	/* the attached store, or NULL for RAM */
	struct pinio_info info;
};

/* A buffer for one chunk; registered (handle != 0) for the direct path. */
struct chunk {
	uint8_t *p;
	size_t len;		/* usable (and registered) length */
	size_t map_len;
	uint32_t handle;
};

/* These return 0 or -errno ... */
int dev_open(const struct tool *t, struct dev *d, int flags);
void dev_close(struct dev *d);
int dev_xfer(struct dev *d, struct chunk *c, bool write, uint64_t dev_off,
	     size_t len);
/* ... these say what went wrong and return the exit code. */
int report_open_error(const struct tool *t, int err);
int report_dev_error(const struct dev *d, const char *what, int err);
int dev_attach(struct dev *d, const char *path, bool write);
int dev_aligned(const struct dev *d, const char *cmd, const char *what,
		uint64_t val);
/* What to call the store in messages: the attached path, or the device. */
const char *dev_store_name(const struct dev *d);
const char *dev_store_kind(uint32_t store);
int dev_range(const struct dev *d, const char *cmd, uint64_t off,
	      uint64_t *len, bool len_given);
int chunk_get(struct dev *d, struct chunk *c, size_t want, uint32_t reg_flags);
void chunk_put(struct dev *d, struct chunk *c);

/* commands */
int cmd_info(struct tool *t, int argc, char **argv);
int cmd_stats(struct tool *t, int argc, char **argv);
int cmd_cp(struct tool *t, int argc, char **argv);
int cmd_verify(struct tool *t, int argc, char **argv);

#endif /* PINIO_TOOL_H */
