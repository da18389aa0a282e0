// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench: fio as the outside cross-check. One case is one fio run on
 * a disk store's disk: its io_uring engine with O_DIRECT, io_uring's own
 * registered buffers and a registered file (as the benchmark's rings), at
 * the case's size and depth, one job for the warm-up and then one per
 * repetition (stonewalled: they run one after another). Each job's line
 * of fio's terse output gives its MB/s and IOPS; the median is reported.
 *
 * fio is told to do what the benchmark's unit does: submit @qd at once and
 * reap all @qd before the next batch, with no per-I/O clock reads
 * (gtod_reduce: its latency statistics would cost more than the I/O).
 *
 * CPU time: fio reports its job's user and system time as a percentage of
 * the job's run time, the same kind of figure as cpu_s_per_gb (getrusage
 * of the process). The whole guest's busy time cannot be told apart from
 * fio's start-up (about a second of TCG time, longer than the case), so
 * guest_cpu_s_per_gb is -1 for fio's rows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinio_bench.h"

/*
 * Fields of fio's terse output, version 3 (fio's HOWTO, "Terse output"),
 * counted from 1: the bandwidth in KiB/s and IOPS of reads and of writes,
 * and the job's user and system CPU as percentages of its run time.
 */
#define TERSE_READ_BW_KIB	7
#define TERSE_READ_IOPS		8
#define TERSE_WRITE_BW_KIB	48
#define TERSE_WRITE_IOPS	49
#define TERSE_USR_CPU		88
#define TERSE_SYS_CPU		89

/* fio to run: $PINIO_BENCH_FIO (the runner's), else fio on $PATH; or NULL. */
const char *fio_program(void)
{
	static char found[4096];
	const char *env = getenv("PINIO_BENCH_FIO"), *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) ? NULL : env;
	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(found, sizeof(found), "%.*s/fio", (int)len, path);
		if (len && !access(found, X_OK))
			return found;
		path += len + (path[len] == ':');
	}
	return NULL;
}

/* Field @n (from 1) of a ';'-separated line, as a number; -1 if absent. */
static double terse_field(const char *line, int n)
{
	const char *p = line;

	for (int i = 1; i < n; i++) {
		p = strchr(p, ';');
		if (!p)
			return -1;
		p++;
	}
	return strtod(p, NULL);
}

/* Start fio with @argv, its standard output readable from the return. */
static FILE *fio_start(char *const argv[], pid_t *pid)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return NULL;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (!*pid) {
		dup2(fds[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	return fdopen(fds[0], "re");
}

int measure_fio(struct bench *b, const struct path *p, bool write,
		size_t size, int qd, struct result *r)
{
	char opt[8][96], jobs[MAX_REPS + 1][32], line[4096];
	char *argv[24 + 2 * (MAX_REPS + 1)];
	double ops[MAX_REPS], mb[MAX_REPS], cpu[MAX_REPS];
	int argc = 0, n = 0, status;
	FILE *out;
	pid_t pid;

	(void)p;
	snprintf(opt[0], sizeof(opt[0]), "--filename=%s", b->disk.dev);
	snprintf(opt[1], sizeof(opt[1]), "--rw=%s", write ? "write" : "read");
	snprintf(opt[2], sizeof(opt[2]), "--bs=%zu", size);
	snprintf(opt[3], sizeof(opt[3]), "--iodepth=%d", qd);
	snprintf(opt[4], sizeof(opt[4]), "--runtime=%.0fms", b->ms);
	snprintf(opt[6], sizeof(opt[6]), "--iodepth_batch_submit=%d", qd);
	snprintf(opt[7], sizeof(opt[7]), "--iodepth_batch_complete_min=%d", qd);
	/* The warm-up: a quarter of a repetition, as measure()'s. */
	snprintf(opt[5], sizeof(opt[5]), "--runtime=%.0fms", b->ms / 4 + 1);
	argv[argc++] = (char *)b->fio;
	argv[argc++] = "--output-format=terse";
	argv[argc++] = "--terse-version=3";
	argv[argc++] = "--ioengine=io_uring";
	argv[argc++] = "--direct=1";
	argv[argc++] = "--fixedbufs=1";
	argv[argc++] = "--registerfiles=1";
	argv[argc++] = "--time_based";
	argv[argc++] = "--gtod_reduce=1";
	argv[argc++] = opt[6];
	argv[argc++] = opt[7];
	for (int i = 0; i < 5; i++)
		argv[argc++] = opt[i];
	/* The warm-up job, then one stonewalled job per repetition. */
	for (int j = 0; j <= b->reps; j++) {
		snprintf(jobs[j], sizeof(jobs[j]), "--name=%s%d",
			 j ? "rep" : "warm", j);
		argv[argc++] = jobs[j];
		argv[argc++] = j ? "--stonewall" : opt[5];
	}
	argv[argc] = NULL;

	out = fio_start(argv, &pid);
	if (!out)
		return -errno;
	while (fgets(line, sizeof(line), out)) {
		double bw, iops, usr, sys;

		/* Field 3, the job's name, is the only one that is not a number. */
		if (terse_field(line, 1) != 3 || strstr(line, ";warm0;") ||
		    n == MAX_REPS)
			continue;
		bw = terse_field(line, write ? TERSE_WRITE_BW_KIB : TERSE_READ_BW_KIB);
		iops = terse_field(line, write ? TERSE_WRITE_IOPS : TERSE_READ_IOPS);
		usr = terse_field(line, TERSE_USR_CPU);
		sys = terse_field(line, TERSE_SYS_CPU);
		if (bw <= 0 || iops <= 0 || usr < 0 || sys < 0)
			continue;
		mb[n] = bw * 1024 / 1e6;
		ops[n] = iops;
		/* CPU % of the run time, per GB: (usr + sys)% x 1 s / (GB per s). */
		cpu[n] = (usr + sys) / 100 / (mb[n] / 1e3);
		n++;
	}
	fclose(out);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
	if (n != b->reps)
		return -EPROTO;		/* fio printed other than a line per job */
	r->ops_s = median(ops, n);
	r->mb_s = median(mb, n);
	r->cpu_s_gb = median(cpu, n);
	r->guest_cpu_s_gb = -1;
	return 0;
}
