// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: the pinio(1) command-line tool, run as a separate program.
 *
 * Every test forks and execs the static tool ($PINIO_TOOL, default
 * /bin/pinio: the runner copies build/userspace/pinio there), captures its
 * exit status, stdout and stderr, and checks them against the store (read
 * with pread here) and the driver's counters, which show which path a copy
 * really took. Covered: info/stats (text and JSON), cp both ways by both
 * paths and through stdin/stdout, verify, the exit codes, and the messages
 * for a missing device, permission denied (uid 65534), a memlock limit too
 * low (RLIMIT_MEMLOCK 0 and CAP_IPC_LOCK out of the bounding set), bad
 * arguments, and the progress bar: drawn on a terminal (a pty), never
 * into a file.
 */
#include <dirent.h>
#include <grp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>

#include "pinio_test_util.h"

#define NOBODY		65534
#define SMALL_MEMLOCK	(64 * KiB)

/* Exit codes of pinio(1). */
#define EXIT_IO		1
#define EXIT_USAGE	2
#define EXIT_NODEV	3
#define EXIT_MEMLOCK	4

static const char *tool_path(void)
{
	const char *p = getenv("PINIO_TOOL");

	return p && *p ? p : "/bin/pinio";
}

/* Who runs the tool. */
enum who {
	AS_ROOT,
	AS_NOBODY,		/* uid/gid 65534, no groups */
	NO_MEMLOCK,		/* RLIMIT_MEMLOCK 0, no CAP_IPC_LOCK */
	SMALL_MEMLOCK_ONLY,	/* RLIMIT_MEMLOCK 64 KiB, no CAP_IPC_LOCK */
};

struct spawn {
	enum who who;
	const char *env;	/* "NAME=VALUE" to add, or NULL */
	int in_fd;		/* stdin; 0 means /dev/null */
	bool err_tty;		/* stderr is a terminal (a raw pty) */
};

/* What one run of the tool did. */
struct run {
	int rc;			/* exit status, 128 + signal, or -errno */
	char *out;		/* stdout, NUL-terminated */
	size_t out_len;
	char *err;		/* stderr, NUL-terminated */
};

/* For messages: NULL as "". */
static const char *str(const char *s)
{
	return s ? s : "";
}

static char *slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;

	if (fstat(fd, &st))
		return NULL;
	buf = malloc(st.st_size + 1);
	if (!buf)
		return NULL;
	if (dev_pread_all(fd, buf, st.st_size, 0)) {
		free(buf);
		return NULL;
	}
	buf[st.st_size] = '\0';
	if (len)
		*len = st.st_size;
	return buf;
}

/* Everything left to read from @fd (a pty master: until EOF or EIO). */
static char *read_rest(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len == cap) {
			char *bigger = realloc(buf, 2 * cap + 1);

			if (!bigger) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

/*
 * A pty for the tool's stderr: returns the slave (raw, so that what the
 * tool writes arrives unchanged, no "\n" made "\r\n") and the master in
 * @master, or -errno.
 */
static int open_pty(int *master)
{
	struct termios tio;
	int slave;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (grantpt(*master) || unlockpt(*master))
		goto close_master;
	slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto close_master;
	if (tcgetattr(slave, &tio)) {
		close(slave);
		goto close_master;
	}
	cfmakeraw(&tio);
	if (tcsetattr(slave, TCSANOW, &tio)) {
		close(slave);
		goto close_master;
	}
	return slave;

close_master:
	slave = -errno;
	close(*master);
	return slave;
}

/* In the child: become @s->who, set @s->env. Exits 120+ on failure. */
static void child_setup(const struct spawn *s)
{
	struct rlimit rl;

	switch (s->who) {
	case AS_ROOT:
		break;
	case AS_NOBODY:
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(121);
		break;
	case NO_MEMLOCK:
	case SMALL_MEMLOCK_ONLY:
		/*
		 * Out of the bounding set, CAP_IPC_LOCK stays dropped across
		 * execve() even for root.
		 */
		rl.rlim_cur = rl.rlim_max = s->who == NO_MEMLOCK ? 0 :
					    SMALL_MEMLOCK;
		if (setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0))
			_exit(122);
		break;
	}
	if (s->env && putenv((char *)s->env))
		_exit(123);
}

/* Run the tool with the NULL-terminated arguments after @s. */
static int run_tool(struct run *r, const struct spawn *s, ...)
{
	const char *argv[32] = { "pinio" };
	int out, err, in, n = 1, err_master = -1;
	va_list ap;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	va_start(ap, s);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;

	out = memfd_create("pinio-stdout", MFD_CLOEXEC);
	err = s->err_tty ? open_pty(&err_master) :
			   memfd_create("pinio-stderr", MFD_CLOEXEC);
	if (err < 0)
		return s->err_tty ? err : -errno;
	in = s->in_fd ? s->in_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || err < 0 || in < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		child_setup(s);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(124);
		execv(tool_path(), (char **)argv);
		_exit(127);
	}
	if (!s->in_fd)
		close(in);
	if (s->err_tty)
		close(err);	/* the master reads EOF once the child is gone */
	r->rc = wait_child(pid);
	r->out = slurp(out, &r->out_len);
	if (s->err_tty) {
		r->err = read_rest(err_master);
		close(err_master);
	} else {
		r->err = slurp(err, NULL);
		close(err);
	}
	close(out);
	if (!r->out || !r->err)
		return -ENOMEM;
	return 0;
}

#define SPAWN(...)	(&(const struct spawn){ __VA_ARGS__ })
#define ROOT		SPAWN(.who = AS_ROOT)
/* Run the tool, asserting only that it ran; then check r.rc etc. */
#define TOOL(r, s, ...)							\
	ASSERT_OK(run_tool((r), (s), __VA_ARGS__, (const char *)NULL))

/* The run ended with @code and its stderr holds every string given. */
#define __EXPECT_RUN(r, code, ...) do {					\
	const char *__want[] = { __VA_ARGS__ };				\
	size_t __i;							\
	EXPECT_EQ((code), (r)->rc)					\
		TH_LOG("exit status; stdout:\n%s\nstderr:\n%s",		\
		       str((r)->out), str((r)->err));			\
	for (__i = 0; __i < sizeof(__want) / sizeof(__want[0]); __i++) {\
		EXPECT_NE(NULL, strstr((r)->err, __want[__i]))		\
			TH_LOG("stderr lacks '%s':\n%s", __want[__i],	\
			       str((r)->err));				\
	}								\
} while (0)
#define EXPECT_RUN(r, code, ...)	__EXPECT_RUN(r, code, "", ##__VA_ARGS__)

/* stdout holds @s. */
#define EXPECT_OUT(r, s)						\
	EXPECT_NE(NULL, strstr((r)->out, (s)))				\
		TH_LOG("stdout lacks '%s':\n%s", str(s), str((r)->out))

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* A pipe whose write end a child fills with @len bytes of @buf, then closes. */
static int feed_pipe(const void *buf, size_t len, pid_t *pid)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		const char *b = buf;
		ssize_t n;

		close(p[0]);
		while (len) {
			n = write(p[1], b, len);
			if (n <= 0)
				_exit(1);
			b += n;
			len -= n;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

struct counters {
	int64_t dw, dr, bw, br;
};

static void counters(struct counters *c)
{
	c->dw = pinio_stat("direct_write_bytes");
	c->dr = pinio_stat("direct_read_bytes");
	c->bw = pinio_stat("buffered_write_bytes");
	c->br = pinio_stat("buffered_read_bytes");
}

/* One counter's value in `pinio stats --json` output, or -1. */
static int64_t json_counter(const char *json, const char *name)
{
	char key[80];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(json, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* What every test here starts from: the device, its info, a scratch folder. */
#define TOOL_FIXTURE_FIELDS						\
	char dir[64];							\
	int fd;								\
	struct pinio_info info

static void env_setup(struct __test_metadata *_metadata, char *dir, int *fd,
		      struct pinio_info *info)
{
	*fd = -1;
	ASSERT_EQ(0, access(tool_path(), X_OK))
		TH_LOG("%s: %s (the runner copies build/userspace/pinio there)",
		       tool_path(), strerror(errno));
	*fd = pinio_open();
	ASSERT_LE(0, *fd);
	ASSERT_OK(pinio_get_info(*fd, info));
	strcpy(dir, "/tmp/pinio-tool.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	/* uid 65534 must be able to get at files made here. */
	chmod(dir, 0755);
}

static void env_teardown(const char *dir, int fd)
{
	struct dirent *e;
	char path[512];
	DIR *d;

	if (fd >= 0)
		close(fd);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

FIXTURE(tool) {
	TOOL_FIXTURE_FIELDS;
};

FIXTURE_SETUP(tool)
{
	env_setup(_metadata, self->dir, &self->fd, &self->info);
}

FIXTURE_TEARDOWN(tool)
{
	env_teardown(self->dir, self->fd);
}

/* A file @name in the fixture's folder with pattern @seed (offset @off). */
static int make_file(const char *dir, const char *name, size_t len,
		     uint64_t off, uint32_t seed, char *path, size_t path_len)
{
	uint8_t *buf = malloc(len ? len : 1);
	int fd, ret;

	if (!buf)
		return -ENOMEM;
	pattern_fill(buf, len, off, seed);
	snprintf(path, path_len, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ret = fd < 0 ? -errno : dev_pwrite_all(fd, buf, len, 0);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* The file at @path is @len bytes of pattern @seed from offset @off. */
static void __check_file(struct __test_metadata *_metadata, const char *path,
			 size_t len, uint64_t off, uint32_t seed)
{
	size_t got_len = 0;
	int64_t m;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	EXPECT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	if (fd < 0)
		return;
	buf = slurp(fd, &got_len);
	close(fd);
	EXPECT_NE(NULL, buf);
	if (!buf)
		return;
	EXPECT_EQ(len, got_len) TH_LOG("size of %s", path);
	m = pattern_find_mismatch(buf, got_len < len ? got_len : len, off,
				  seed);
	EXPECT_EQ(-1, m) TH_LOG("%s: first wrong byte at %lld", path,
				(long long)m);
	free(buf);
}

#define CHECK_FILE(path, len, off, seed)				\
	__check_file(_metadata, (path), (len), (off), (seed))

static const char *num(char *buf, uint64_t v)
{
	sprintf(buf, "%llu", (unsigned long long)v);
	return buf;
}

TEST_F(tool, help_and_version)
{
	struct run r;

	TOOL(&r, ROOT, "--help");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "Usage: pinio");
	EXPECT_OUT(&r, "Exit status");
	run_free(&r);
	TOOL(&r, ROOT, "help");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "Usage: pinio");
	run_free(&r);
	TOOL(&r, ROOT, "info", "--version");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "pinio ");
	run_free(&r);
}

TEST_F(tool, usage_errors_exit_2)
{
	static const char *const cases[][5] = {
		{ NULL },
		{ "bogus" },
		{ "--bogus", "info" },
		{ "info", "--bogus" },
		{ "info", "extra" },
		{ "stats", "extra" },
		{ "cp" },
		{ "cp", "onlyone" },
		{ "cp", "a", "b" },
		{ "cp", "dev:0", "dev:4096" },
		{ "cp", "dev:12x", "out" },
		{ "cp", "--size", "1Q", "dev:0" },
		{ "cp", "--chunk", "0", "x" },
		{ "cp", "-n", "-1", "dev:0" },
		{ "verify", "--size", "0" },
		{ "verify", "--offset" },
		{ "verify", "extra" },
		{ "-d" },
	};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i];

		TOOL(&r, ROOT, a[0], a[1], a[2], a[3], a[4]);
		EXPECT_EQ(EXIT_USAGE, r.rc)
			TH_LOG("pinio %s %s %s %s: stderr %s", a[0] ?: "",
			       a[1] ?: "", a[2] ?: "", a[3] ?: "", r.err);
		EXPECT_NE(NULL, strstr(r.err, "Try 'pinio --help'."))
			TH_LOG("pinio %s %s %s %s: stderr %s", a[0] ?: "",
			       a[1] ?: "", a[2] ?: "", a[3] ?: "", r.err);
		EXPECT_EQ(0, r.out_len);
		run_free(&r);
	}
}

TEST_F(tool, ranges_outside_the_store_exit_2)
{
	char off[64], arg[80], n[32], path[128];
	struct run r;

	snprintf(arg, sizeof(arg), "dev:%llu",
		 (unsigned long long)self->info.dev_size + 1);
	TOOL(&r, ROOT, "cp", arg, "-");
	EXPECT_RUN(&r, EXIT_USAGE, "past the end");
	run_free(&r);

	snprintf(arg, sizeof(arg), "dev:%llu",
		 (unsigned long long)self->info.dev_size - 4096);
	TOOL(&r, ROOT, "cp", "-n", "4097", arg, "-");
	EXPECT_RUN(&r, EXIT_USAGE, "past the end");
	run_free(&r);

	num(off, self->info.dev_size);
	TOOL(&r, ROOT, "verify", "--offset", off);
	EXPECT_RUN(&r, EXIT_USAGE, "nothing to verify");
	run_free(&r);

	num(n, self->info.dev_size);
	TOOL(&r, ROOT, "verify", "--offset", "1", "--size", n);
	EXPECT_RUN(&r, EXIT_USAGE, "past the end");
	run_free(&r);

	/* Nothing created for a copy that was refused. */
	snprintf(path, sizeof(path), "%s/never", self->dir);
	snprintf(arg, sizeof(arg), "dev:%llu",
		 (unsigned long long)self->info.dev_size + 1);
	TOOL(&r, ROOT, "cp", arg, path);
	EXPECT_RUN(&r, EXIT_USAGE);
	EXPECT_NE(0, access(path, F_OK));
	run_free(&r);
}

TEST_F(tool, info_text_and_json)
{
	char want[128];
	struct run r;

	TOOL(&r, ROOT, "info");
	EXPECT_RUN(&r, 0);
	snprintf(want, sizeof(want), "ABI version:  %u", PINIO_ABI_VERSION);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "(%llu bytes)",
		 (unsigned long long)self->info.dev_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "max regions:  %u",
		 self->info.max_regions);
	EXPECT_OUT(&r, want);
	EXPECT_OUT(&r, "features:     direct");
	run_free(&r);

	TOOL(&r, ROOT, "info", "--json");
	EXPECT_RUN(&r, 0);
	snprintf(want, sizeof(want), "\"dev_size\": %llu,",
		 (unsigned long long)self->info.dev_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "\"abi_version\": %u,", PINIO_ABI_VERSION);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "\"features_mask\": %llu,",
		 (unsigned long long)self->info.features);
	EXPECT_OUT(&r, want);
	EXPECT_OUT(&r, "\"features\": [\"direct\"");
	EXPECT_OUT(&r, "\"device\": \"/dev/pinio\"");
	EXPECT_EQ('{', r.out[0]);
	EXPECT_EQ(0, strcmp(r.out + r.out_len - 2, "}\n"));
	run_free(&r);
}

TEST_F(tool, stats_text_and_json_follow_the_driver)
{
	static const char * const names[] = {
		"direct_read_bytes", "direct_write_bytes",
		"buffered_read_bytes", "buffered_write_bytes",
		"registrations", "pinned_pages_total", "regions",
		"pinned_pages",
	};
	char path[128], arg[32];
	int64_t before, after;
	struct run r;
	size_t i;

	TOOL(&r, ROOT, "stats");
	EXPECT_RUN(&r, 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		EXPECT_OUT(&r, names[i]);
	run_free(&r);

	ASSERT_OK(make_file(self->dir, "src", 12345, 0, 0x57a7, path,
			    sizeof(path)));
	TOOL(&r, ROOT, "stats", "--json");
	EXPECT_RUN(&r, 0);
	before = json_counter(r.out, "direct_write_bytes");
	EXPECT_LE(0, before) TH_LOG("%s", str(r.out));
	EXPECT_EQ(pinio_stat("regions"), json_counter(r.out, "regions"));
	run_free(&r);

	snprintf(arg, sizeof(arg), "dev:%u", 3 * 4096);
	TOOL(&r, ROOT, "-q", "cp", path, arg);
	EXPECT_RUN(&r, 0);
	run_free(&r);

	TOOL(&r, ROOT, "stats", "--json");
	EXPECT_RUN(&r, 0);
	after = json_counter(r.out, "direct_write_bytes");
	EXPECT_EQ(12345, after - before) TH_LOG("%s", str(r.out));
	EXPECT_EQ('{', r.out[0]);
	run_free(&r);
}

TEST_F(tool, device_missing_exit_3)
{
	struct run r;

	TOOL(&r, ROOT, "-d", "/nonexistent/pinio", "info");
	EXPECT_RUN(&r, EXIT_NODEV, "cannot open /nonexistent/pinio",
		   "No such file or directory", "is the module loaded?");
	run_free(&r);

	/* $PINIO_DEVICE, and the option after the command. */
	TOOL(&r, SPAWN(.env = "PINIO_DEVICE=/nonexistent/pinio2"), "verify");
	EXPECT_RUN(&r, EXIT_NODEV, "/nonexistent/pinio2",
		   "is the module loaded?");
	run_free(&r);
	TOOL(&r, ROOT, "cp", "-d", "/nonexistent/pinio3", "-n", "1", "dev:0",
	     "-");
	EXPECT_RUN(&r, EXIT_NODEV, "/nonexistent/pinio3",
		   "is the module loaded?");
	EXPECT_EQ(0, r.out_len);
	run_free(&r);

	TOOL(&r, ROOT, "-d", "/dev/null", "info");
	EXPECT_RUN(&r, EXIT_NODEV, "/dev/null is not a pinio device");
	run_free(&r);
}

TEST_F(tool, permission_denied_exit_3)
{
	char path[128];
	struct stat st;
	struct run r;

	ASSERT_EQ(0, stat(PINIO_DEVICE_PATH, &st));
	if (st.st_mode & 0006)
		SKIP(return, "%s is mode %o: open to everyone",
		     PINIO_DEVICE_PATH, st.st_mode & 0777);
	ASSERT_OK(make_file(self->dir, "src", 100, 0, 1, path, sizeof(path)));

	TOOL(&r, SPAWN(.who = AS_NOBODY), "info");
	EXPECT_RUN(&r, EXIT_NODEV, "cannot open /dev/pinio: Permission denied",
		   "uid 65534", "'pinio' group");
	run_free(&r);
	TOOL(&r, SPAWN(.who = AS_NOBODY), "cp", "--buffered", path, "dev:0");
	EXPECT_RUN(&r, EXIT_NODEV, "Permission denied");
	run_free(&r);
}

TEST_F(tool, memlock_too_low_exit_4)
{
	char path[128];
	struct run r;

	ASSERT_OK(make_file(self->dir, "src", 300 * KiB, 8192, 2, path,
			    sizeof(path)));
	TOOL(&r, SPAWN(.who = NO_MEMLOCK), "cp", path, "dev:0");
	EXPECT_RUN(&r, EXIT_MEMLOCK, "RLIMIT_MEMLOCK",
		   "RLIMIT_MEMLOCK is 0 bytes (ulimit -l 0)", "ulimit -l",
		   "limits.conf", "--buffered");
	run_free(&r);

	TOOL(&r, SPAWN(.who = NO_MEMLOCK), "verify", "--size", "64K");
	EXPECT_RUN(&r, EXIT_MEMLOCK, "RLIMIT_MEMLOCK");
	run_free(&r);

	/* The buffered path pins nothing. */
	TOOL(&r, SPAWN(.who = NO_MEMLOCK), "cp", "--buffered", path,
	     "dev:8192");
	EXPECT_RUN(&r, 0, "buffered");
	ASSERT_DEV_PATTERN(self->fd, 8192, 300 * KiB, 2);
	run_free(&r);
}

TEST_F(tool, small_memlock_shrinks_the_chunk)
{
	char path[128], out[128];
	struct counters c0, c1;
	struct run r;

	ASSERT_OK(make_file(self->dir, "src", MiB + 5, 4099, 3, path,
			    sizeof(path)));
	counters(&c0);
	TOOL(&r, SPAWN(.who = SMALL_MEMLOCK_ONLY), "cp", path, "dev:4099");
	EXPECT_RUN(&r, 0, "copied", "(direct)");
	run_free(&r);
	counters(&c1);
	EXPECT_EQ(MiB + 5, c1.dw - c0.dw);
	ASSERT_DEV_PATTERN(self->fd, 4099, MiB + 5, 3);

	snprintf(out, sizeof(out), "%s/out", self->dir);
	TOOL(&r, SPAWN(.who = SMALL_MEMLOCK_ONLY), "cp", "--size", "1048581",
	     "dev:4099", out);
	EXPECT_RUN(&r, 0, "copied");
	run_free(&r);
	CHECK_FILE(out, MiB + 5, 4099, 3);

	TOOL(&r, SPAWN(.who = SMALL_MEMLOCK_ONLY), "verify", "-n", "1M");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "OK");
	run_free(&r);
}

/* cp round trips, one fixture variant per pair of paths. */
FIXTURE(cp) {
	TOOL_FIXTURE_FIELDS;
};

FIXTURE_VARIANT(cp) {
	bool write_buffered;
	bool read_buffered;
	uint64_t dev_off;
};

FIXTURE_SETUP(cp)
{
	env_setup(_metadata, self->dir, &self->fd, &self->info);
}

FIXTURE_TEARDOWN(cp)
{
	env_teardown(self->dir, self->fd);
}

FIXTURE_VARIANT_ADD(cp, direct_direct) {
	.dev_off = 8191,
};

FIXTURE_VARIANT_ADD(cp, direct_buffered) {
	.read_buffered = true,
	.dev_off = 4 * MiB + 1,
};

FIXTURE_VARIANT_ADD(cp, buffered_direct) {
	.write_buffered = true,
	.dev_off = 8 * MiB + 4095,
};

FIXTURE_VARIANT_ADD(cp, buffered_buffered) {
	.write_buffered = true,
	.read_buffered = true,
	.dev_off = 12 * MiB,
};

/* File -> store -> file, byte for byte, by the variant's paths. */
TEST_F(cp, round_trip)
{
	const size_t len = 2 * MiB + 4097;
	const uint32_t seed = 0xc0 + variant->dev_off;
	char src[128], out[128], dev[64], n[32];
	struct counters c0, c1;
	struct run r;

	ASSERT_OK(make_file(self->dir, "src", len, variant->dev_off, seed,
			    src, sizeof(src)));
	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(dev, sizeof(dev), "dev:%llu",
		 (unsigned long long)variant->dev_off);

	counters(&c0);
	/* The harness's asserts are statements of their own: braces. */
	if (variant->write_buffered) {
		TOOL(&r, ROOT, "cp", "--buffered", src, dev);
	} else {
		TOOL(&r, ROOT, "cp", src, dev);
	}
	EXPECT_RUN(&r, 0, "copied", variant->write_buffered ? "(buffered)" :
		   "(direct)");
	/* stderr is not a terminal: no progress bar. */
	EXPECT_EQ(NULL, strchr(r.err, '\r'));
	EXPECT_EQ(0, r.out_len);
	run_free(&r);
	counters(&c1);
	EXPECT_EQ(variant->write_buffered ? 0 : len, c1.dw - c0.dw);
	EXPECT_EQ(variant->write_buffered ? len : 0, c1.bw - c0.bw);
	ASSERT_DEV_PATTERN(self->fd, variant->dev_off, len, seed);

	counters(&c0);
	if (variant->read_buffered) {
		TOOL(&r, ROOT, "cp", "-b", "--size", num(n, len), dev, out);
	} else {
		TOOL(&r, ROOT, "cp", "--size", num(n, len), dev, out);
	}
	EXPECT_RUN(&r, 0, "copied");
	EXPECT_EQ(NULL, strchr(r.err, '\r'));
	run_free(&r);
	counters(&c1);
	EXPECT_EQ(variant->read_buffered ? 0 : len, c1.dr - c0.dr);
	EXPECT_EQ(variant->read_buffered ? len : 0, c1.br - c0.br);
	CHECK_FILE(out, len, variant->dev_off, seed);
}

/*
 * On a terminal, cp draws a bar ("\rpinio cp [###   ]  42% ..." ending in
 * an erase-to-end-of-line), erases it when done, then says what it copied;
 * round_trip checks that a file never gets one.
 */
TEST_F(tool, cp_progress_bar_on_a_terminal)
{
	const size_t len = 8 * MiB;
	const char *bar, *erase, *done;
	char src[128];
	struct run r;

	ASSERT_OK(make_file(self->dir, "src", len, 0, 0x77, src, sizeof(src)));
	TOOL(&r, SPAWN(.who = AS_ROOT, .err_tty = true), "cp", src, "dev:0");
	EXPECT_RUN(&r, 0, "copied");
	bar = strstr(r.err, "\rpinio cp [");
	ASSERT_NE(NULL, bar) TH_LOG("no bar on the terminal:\n%s", r.err);
	EXPECT_NE(NULL, strstr(bar, "% "));
	EXPECT_NE(NULL, strstr(bar, " of 8.0 MiB, "))
		TH_LOG("bar without the total:\n%s", bar);
	EXPECT_NE(NULL, strstr(bar, "MiB/s\033[K"));
	/* Erased before the summary line, which starts a clean line. */
	erase = strstr(bar, "\r\033[K");
	done = strstr(bar, "copied");
	ASSERT_NE(NULL, erase);
	EXPECT_LT(erase, done);
	EXPECT_EQ(NULL, strchr(done, '\r'));
	run_free(&r);
	ASSERT_DEV_PATTERN(self->fd, 0, len, 0x77);
}

/* '-' as the source (a pipe) and as the destination. */
TEST_F(tool, cp_stdin_and_stdout)
{
	const size_t len = MiB + 3;
	const uint64_t off = 16 * MiB + 7;
	uint8_t *buf = malloc(len);
	char dev[64], n[32];
	int i, in, rc;
	pid_t feeder;
	struct run r;

	ASSERT_NE(NULL, buf);
	snprintf(dev, sizeof(dev), "dev:%llu", (unsigned long long)off);
	for (i = 0; i < 2; i++) {
		const char *path = i ? "--buffered" : "--chunk=1M";

		pattern_fill(buf, len, off, 0x51d + i);
		in = feed_pipe(buf, len, &feeder);
		ASSERT_LE(0, in);
		TOOL(&r, SPAWN(.in_fd = in), "cp", path, "-", dev);
		close(in);
		rc = wait_child(feeder);
		EXPECT_RUN(&r, 0, "copied");
		EXPECT_EQ(0, rc);
		run_free(&r);
		ASSERT_DEV_PATTERN(self->fd, off, len, 0x51d + i);

		TOOL(&r, ROOT, "-q", "cp", path, "-n", num(n, len), dev, "-");
		EXPECT_RUN(&r, 0);
		EXPECT_EQ(0, strlen(r.err)) TH_LOG("-q, yet: %s", str(r.err));
		ASSERT_EQ(len, r.out_len);
		ASSERT_PATTERN((uint8_t *)r.out, len, off, 0x51d + i);
		run_free(&r);
	}
	free(buf);
}

TEST_F(tool, cp_failures_exit_1)
{
	uint64_t end = self->info.dev_size - 4096;
	char path[128], dev[64];
	uint8_t *mark = malloc(8192);
	pid_t feeder;
	struct run r;
	int in;

	ASSERT_NE(NULL, mark);
	/* A file one byte too big for the room left: nothing written. */
	pattern_fill(mark, 4096, end, 0x3a);
	ASSERT_OK(dev_pwrite_all(self->fd, mark, 4096, end));
	ASSERT_OK(make_file(self->dir, "big", 4097, 0, 0x3b, path,
			    sizeof(path)));
	snprintf(dev, sizeof(dev), "dev:%llu", (unsigned long long)end);
	TOOL(&r, ROOT, "cp", path, dev);
	EXPECT_RUN(&r, EXIT_IO, "does not fit", "No space left on device");
	run_free(&r);
	ASSERT_DEV_PATTERN(self->fd, end, 4096, 0x3a);

	/* The same through a pipe: found out when the store is full. */
	pattern_fill(mark, 4097, end, 0x3c);
	in = feed_pipe(mark, 4097, &feeder);
	ASSERT_LE(0, in);
	TOOL(&r, SPAWN(.in_fd = in), "cp", "-", dev);
	close(in);
	wait_child(feeder);
	EXPECT_RUN(&r, EXIT_IO, "No space left on device");
	run_free(&r);

	/* Exactly full through a pipe is fine. */
	in = feed_pipe(mark, 4096, &feeder);
	ASSERT_LE(0, in);
	TOOL(&r, SPAWN(.in_fd = in), "cp", "--buffered", "-", dev);
	close(in);
	wait_child(feeder);
	EXPECT_RUN(&r, 0);
	run_free(&r);
	ASSERT_DEV_PATTERN(self->fd, end, 4096, 0x3c);

	TOOL(&r, ROOT, "cp", "/nonexistent/src", "dev:0");
	EXPECT_RUN(&r, EXIT_IO, "cannot open /nonexistent/src");
	run_free(&r);

	TOOL(&r, ROOT, "cp", "-n", "10", "dev:0", "/nonexistent/dir/out");
	EXPECT_RUN(&r, EXIT_IO, "cannot create /nonexistent/dir/out");
	run_free(&r);

	/* --size longer than the source. */
	TOOL(&r, ROOT, "cp", "--size", "8193", path, "dev:0");
	EXPECT_RUN(&r, EXIT_IO, "ended after 4097 of the 8193 bytes");
	run_free(&r);
	free(mark);
}

TEST_F(tool, verify_both_directions)
{
	struct counters c0, c1;
	struct run r;

	counters(&c0);
	TOOL(&r, ROOT, "verify", "--size", "1M", "--offset", "4097");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "1.0 MiB at offset 4097");
	EXPECT_OUT(&r, "direct write");
	EXPECT_OUT(&r, "buffered read");
	EXPECT_OUT(&r, "buffered write");
	EXPECT_OUT(&r, "direct read");
	EXPECT_OUT(&r, "pinio verify: OK");
	run_free(&r);
	counters(&c1);
	/* Each pass really took its path, over the whole range. */
	EXPECT_EQ(MiB, c1.dw - c0.dw);
	EXPECT_EQ(MiB, c1.br - c0.br);
	EXPECT_EQ(MiB, c1.bw - c0.bw);
	EXPECT_EQ(MiB, c1.dr - c0.dr);

	/* Defaults: 16 MiB from 0, in small chunks. */
	TOOL(&r, ROOT, "verify", "--chunk", "256K");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "16.0 MiB at offset 0");
	EXPECT_OUT(&r, "256.0 KiB chunks");
	EXPECT_OUT(&r, "pinio verify: OK");
	run_free(&r);
}

TEST_HARNESS_MAIN
