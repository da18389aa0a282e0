// SPDX-License-Identifier: GPL-2.0
/*
 * pinio_bench --profile: where one 4 KiB operation's time goes. The same
 * operations timed untraced, then under ftrace function_graph between
 * trace_marker lines (bench/profile.sh sums the trace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pinio_bench.h"

#define TRACE_DIR	"/sys/kernel/debug/tracing"

/*
 * Traced with function_graph, each with its duration: the two syscalls,
 * io_uring's issue step for a uring_cmd, pinio's entry points and its copy
 * (out of line only where io_uring calls it). Few, because under TCG each
 * traced call adds about a microsecond to its callers. The bare memcpy is
 * not traceable; kcopy times it alone, untraced.
 */
static const char *const profile_funcs[] = {
	"__x64_sys_ioctl", "__x64_sys_io_uring_enter", "io_uring_cmd",
	"pinio_ioctl", "pinio_uring_cmd", "pinio_xfer_run",
};

struct profile_phase {
	const char *name;
	int path;			/* paths[] id */
	int qd;
	bool write;
};

static const struct profile_phase profile_phases[] = {
	{ "ioctl-qd1-read", 4, 1, false },
	{ "batch-qd32-read", 6, MAX_QD, false },
	{ "uring-qd32-read", 7, MAX_QD, false },
	{ "ioctl-qd1-write", 4, 1, true },
	{ "batch-qd32-write", 6, MAX_QD, true },
	{ "uring-qd32-write", 7, MAX_QD, true },
};

static int trace_write(const char *file, const char *val, bool append)
{
	char path[128];

	snprintf(path, sizeof(path), TRACE_DIR "/%s", file);
	return write_str(path, val, append ? O_APPEND : O_TRUNC);
}

static int trace_setup(void)
{
	int ret, traced = 0;

	ret = trace_write("tracing_on", "0", false);
	if (!ret)
		ret = trace_write("current_tracer", "nop", false);
	if (!ret)
		ret = trace_write("buffer_size_kb", "32768", false);
	if (!ret)
		ret = trace_write("set_ftrace_filter", "", false);
	if (ret)
		return ret;
	/* One at a time: a kernel may have inlined one of them away. */
	for (size_t i = 0; i < sizeof(profile_funcs) / sizeof(profile_funcs[0]); i++)
		if (!trace_write("set_ftrace_filter", profile_funcs[i], true))
			traced++;
	if (!traced)
		return -ENOENT;
	ret = trace_write("options/funcgraph-tail", "1", false);
	if (!ret)
		ret = trace_write("current_tracer", "function_graph", false);
	return ret ? ret : trace_write("trace", "", false);
}

static int copy_file(const char *from, const char *to)
{
	char chunk[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		ret = -errno;
		goto close_in;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(out);
close_in:
	close(in);
	return ret;
}

/*
 * Each phase runs untraced first (median ns per operation, as in the main
 * tables), then traced for a fixed number of operations between two
 * trace_marker lines that bench/profile.sh sums per function. The trace
 * lands in @out/profile.trace; kcopy gives the bare copy's cost.
 */
int run_profile(struct bench *b, const char *out)
{
	const size_t nr_phases = sizeof(profile_phases) / sizeof(profile_phases[0]);
	char path[256], mark[128];
	struct result r = { 0 };
	int ret;

	ret = open_device(b, &stores[0], 0);
	if (ret)
		return ret;
	/* Untraced first: with function_graph set, every call pays its hook. */
	for (int w = 0; w <= 1 && !ret; w++) {
		ret = measure_kcopy(b, path_by_id(11), w, 4096, 1, &r);
		if (!ret)
			printf("profile kcopy-%s ns_per_op=%.0f\n",
			       w ? "write" : "read", 1e9 / r.ops_s);
	}
	for (size_t i = 0; i < nr_phases && !ret; i++) {
		const struct profile_phase *ph = &profile_phases[i];

		ret = measure(b, path_by_id(ph->path), ph->write, 4096, ph->qd,
			      &r);
		if (!ret)
			printf("profile %s ns_per_op=%.0f\n", ph->name,
			       1e9 / r.ops_s);
	}
	if (ret)
		goto close;

	ret = trace_setup();
	if (ret) {
		fprintf(stderr, "pinio_bench: ftrace set-up in %s: %s\n",
			TRACE_DIR, strerror(-ret));
		goto close;
	}
	/* Markers only reach the ring buffer while tracing is on. */
	ret = trace_write("tracing_on", "1", false);
	for (size_t i = 0; i < nr_phases && !ret; i++) {
		const struct profile_phase *ph = &profile_phases[i];
		const struct path *pa = path_by_id(ph->path);
		int units = 4096 / ph->qd;

		snprintf(mark, sizeof(mark), "pinio-profile phase=%s ops=%d",
			 ph->name, units * ph->qd);
		ret = trace_write("trace_marker", mark, false);
		for (int u = 0; u < units && !ret; u++)
			ret = pa->fn(b, ph->write, 4096, ph->qd, u);
	}
	if (!ret)
		ret = trace_write("trace_marker", "pinio-profile phase=end ops=0",
				  false);
	trace_write("tracing_on", "0", false);
	snprintf(path, sizeof(path), "%s/profile.trace", out);
	if (!ret)
		ret = copy_file(TRACE_DIR "/trace", path);
	trace_write("current_tracer", "nop", false);
	trace_write("set_ftrace_filter", "", false);
close:
	close_device(b);
	return ret;
}
