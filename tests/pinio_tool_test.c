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
 *
 * The attached store (--attach): on the guest's disks of the runner's
 * contract ($PINIO_NVME4K, $PINIO_VBLK, a preallocated file in
 * $PINIO_EXT4_DIR; each SKIPs when unset or when the driver lacks
 * PINIO_FEAT_ATTACH), cp to the disk and back, checked byte for byte with
 * this program's own O_DIRECT reads of the disk (guard blocks around the
 * range must stay as they were), info's report of the store against the
 * driver's and the disk's own numbers, verify on the disk, the refusal
 * (exit 2, nothing written) of offsets and lengths that are not multiples
 * of the block size, a mounted disk refused, and the messages for a driver
 * without the feature and for things that cannot be attached.
 */
#include <dirent.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <sys/mount.h>
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
	static const char *const cases[][6] = {
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
		{ "cp", "--flush", "a", "dev:0" },
		{ "cp", "--no-flush", "a", "dev:0" },
		{ "cp", "--attach", "/dev/null", "--flush", "dev:0", "out" },
		{ "cp", "--attach" },
		{ "info", "--attach" },
		{ "verify", "-a" },
	};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i];

		TOOL(&r, ROOT, a[0], a[1], a[2], a[3], a[4], a[5]);
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

/* --- the attached store (--attach) -------------------------------------- */

TEST_F(tool, attach_refusals)
{
	char src[128], ramfs[128], path[192];
	struct run r;
	int ret;

	ASSERT_OK(make_file(self->dir, "src", 4096, 0, 0xa7, src, sizeof(src)));
	if (!(self->info.features & PINIO_FEAT_ATTACH)) {
		/* A driver from before the attached store: exit 3, and why. */
		TOOL(&r, ROOT, "info", "--attach", "/dev/null");
		EXPECT_RUN(&r, EXIT_NODEV, "cannot attach /dev/null",
			   "no PINIO_FEAT_ATTACH");
		EXPECT_EQ(0, r.out_len);
		run_free(&r);
		TOOL(&r, ROOT, "cp", "--attach", "/dev/null", src, "dev:0");
		EXPECT_RUN(&r, EXIT_NODEV, "no PINIO_FEAT_ATTACH");
		run_free(&r);
		return;
	}
	TOOL(&r, ROOT, "info", "--attach", "/dev/null");
	EXPECT_RUN(&r, EXIT_IO, "cannot attach /dev/null",
		   "neither a block device nor a regular file");
	EXPECT_EQ(0, r.out_len);
	run_free(&r);
	TOOL(&r, ROOT, "info", "--attach", "/nonexistent/disk");
	EXPECT_RUN(&r, EXIT_IO, "cannot open /nonexistent/disk for reading",
		   "No such file or directory");
	run_free(&r);
	TOOL(&r, ROOT, "cp", "--attach", PINIO_DEVICE_PATH, src, "dev:0");
	EXPECT_RUN(&r, EXIT_IO, "is a pinio device itself");
	run_free(&r);
	/* ramfs has no direct I/O (tmpfs has, from 6.6 on). */
	snprintf(ramfs, sizeof(ramfs), "%s/ramfs", self->dir);
	ASSERT_EQ(0, mkdir(ramfs, 0700));
	ASSERT_EQ(0, mount("ramfs", ramfs, "ramfs", 0, NULL))
		TH_LOG("mount ramfs: %s", strerror(errno));
	ret = make_file(ramfs, "store", 4096, 0, 0xa9, path, sizeof(path));
	if (!ret)
		TOOL(&r, ROOT, "verify", "--attach", path);
	unlink(path);
	umount(ramfs);
	rmdir(ramfs);
	ASSERT_OK(ret);
	EXPECT_RUN(&r, EXIT_IO, "cannot attach", "cannot do direct I/O");
	EXPECT_EQ(0, r.out_len);
	run_free(&r);
}

/* The block device mounted at (or above) @dir, from /proc/self/mounts. */
static int mount_source(const char *dir, char *dev, size_t len)
{
	char src[256], mnt[256], line[1024];
	FILE *f = fopen("/proc/self/mounts", "re");
	size_t best = 0, l;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s", src, mnt) != 2)
			continue;
		l = strlen(mnt);
		if (strncmp(dir, mnt, l) ||
		    (dir[l] && dir[l] != '/' && strcmp(mnt, "/")) || l < best)
			continue;
		best = l;
		snprintf(dev, len, "%s", src);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* A disk with a mounted filesystem is never written (O_EXCL). */
TEST_F(tool, attach_refuses_a_mounted_disk)
{
	const char *dir = getenv("PINIO_EXT4_DIR");
	char disk[256], src[128];
	struct stat st;
	struct run r;

	if (!(self->info.features & PINIO_FEAT_ATTACH))
		SKIP(return, "the driver has no PINIO_FEAT_ATTACH");
	if (!dir || !*dir)
		SKIP(return, "$PINIO_EXT4_DIR is unset: no mounted disk");
	ASSERT_OK(mount_source(dir, disk, sizeof(disk)));
	ASSERT_EQ(0, stat(disk, &st)) TH_LOG("%s: %s", disk, strerror(errno));
	ASSERT_TRUE(S_ISBLK(st.st_mode)) TH_LOG("%s mounted from %s", dir, disk);
	ASSERT_OK(make_file(self->dir, "src", 4096, 0, 0xa8, src, sizeof(src)));
	TOOL(&r, ROOT, "cp", "--attach", disk, src, "dev:0");
	EXPECT_RUN(&r, EXIT_IO, "Device or resource busy", "is in use");
	run_free(&r);
}

#define ATTACH_REGION	(4 * MiB)	/* each test's part of the disk */
#define GUARD		4096		/* around a copy; must not change */
#define FILE_STORE_SIZE	(16 * MiB)
#define FILE_STORE_NAME	"pinio-tool-store."

FIXTURE(attach) {
	TOOL_FIXTURE_FIELDS;
	char disk[256];
	int dfd;			/* the disk, opened O_DIRECT */
	struct pinio_info ainfo;	/* the device with the disk attached */
	uint64_t base;			/* this test's region of the disk */
	uint8_t *buf;			/* ATTACH_REGION bytes, page aligned */
	bool file;
};

FIXTURE_VARIANT(attach) {
	const char *env;
	bool file;	/* env is a directory: a preallocated file there */
};

FIXTURE_VARIANT_ADD(attach, nvme4k) {
	.env = "PINIO_NVME4K",
};

FIXTURE_VARIANT_ADD(attach, vblk) {
	.env = "PINIO_VBLK",
};

FIXTURE_VARIANT_ADD(attach, ext4_file) {
	.env = "PINIO_EXT4_DIR",
	.file = true,
};

/*
 * Where a test may write on @path: ATTACH_REGION bytes from a quarter of
 * the store, moved out of the runner's host-check region of that disk
 * ([OFF, OFF + 2 * LEN) of $PINIO_HOSTCHECK_DEV), which the host checks
 * after the run. Returns 0 or -ENOSPC.
 */
static int pick_base(const char *path, uint64_t size, uint64_t *base)
{
	const char *hc = getenv("PINIO_HOSTCHECK_DEV");
	uint64_t b = size / 4 / MiB * MiB, lo, hi;
	struct stat a, h;

	if (hc && *hc && !stat(path, &a) && !stat(hc, &h) &&
	    S_ISBLK(a.st_mode) && a.st_rdev == h.st_rdev) {
		lo = strtoull(getenv("PINIO_HOSTCHECK_OFF") ?: "0", NULL, 0);
		hi = lo + 2 * strtoull(getenv("PINIO_HOSTCHECK_LEN") ?: "0",
				       NULL, 0);
		if (b < hi && b + ATTACH_REGION > lo) {
			b = (hi + MiB - 1) / MiB * MiB;
			if (b + ATTACH_REGION > size)
				b = lo >= ATTACH_REGION ?
				    (lo - ATTACH_REGION) / MiB * MiB : size;
		}
	}
	if (b + ATTACH_REGION > size)
		return -ENOSPC;
	*base = b;
	return 0;
}

/* Unlink the files in @dir whose names start with @prefix. */
static void remove_stale(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	char path[512];
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

FIXTURE_SETUP(attach)
{
	const char *env = getenv(variant->env);
	struct pinio_attach a = { 0 };
	uint64_t bytes;
	int fd, sfd, lbs;
	uint32_t bs;

	self->fd = self->dfd = -1;
	self->buf = NULL;
	self->disk[0] = '\0';
	self->file = variant->file;
	/* SKIP before anything is made: the harness skips the teardown. */
	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(pinio_get_info(fd, &self->info));
	close(fd);
	if (!(self->info.features & PINIO_FEAT_ATTACH))
		SKIP(return, "the driver has no PINIO_FEAT_ATTACH");
	if (!env || !*env)
		SKIP(return, "$%s is unset: this guest has no such disk",
		     variant->env);
	env_setup(_metadata, self->dir, &self->fd, &self->info);
	if (variant->file) {
		/*
		 * The harness does not always run the teardown of a test that
		 * an ASSERT ended: remove what such a test left, so one
		 * failure does not fill the filesystem for the next.
		 */
		remove_stale(env, FILE_STORE_NAME);
		snprintf(self->disk, sizeof(self->disk),
			 "%s/" FILE_STORE_NAME "XXXXXX", env);
		fd = mkstemp(self->disk);
		ASSERT_LE(0, fd) TH_LOG("mkstemp in %s: %s", env,
					strerror(errno));
		ASSERT_EQ(0, fallocate(fd, 0, 0, FILE_STORE_SIZE))
			TH_LOG("fallocate %s: %s", self->disk, strerror(errno));
		close(fd);
	} else {
		snprintf(self->disk, sizeof(self->disk), "%s", env);
	}
	self->dfd = open(self->disk, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->dfd) TH_LOG("%s: %s", self->disk, strerror(errno));
	ASSERT_EQ(0, posix_memalign((void **)&self->buf, page_size(),
				    ATTACH_REGION));

	/* The driver's own view of the store, from another open file. */
	fd = pinio_open();
	ASSERT_LE(0, fd);
	sfd = open(self->disk, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, sfd);
	a.fd = sfd;
	ASSERT_EQ(0, ioctl(fd, PINIO_IOC_ATTACH, &a))
		TH_LOG("PINIO_IOC_ATTACH %s: %s", self->disk, strerror(errno));
	close(sfd);
	ASSERT_OK(pinio_get_info(fd, &self->ainfo));
	close(fd);
	ASSERT_EQ(variant->file ? PINIO_STORE_FILE : PINIO_STORE_BDEV,
		  self->ainfo.store);
	ASSERT_EQ(0, self->ainfo.attach_flags);
	bs = self->ainfo.block_size;
	ASSERT_TRUE(bs >= 512 && bs <= GUARD && !(bs & (bs - 1)))
		TH_LOG("block size %u", bs);
	ASSERT_TRUE(self->ainfo.dma_alignment >= 1 &&
		    self->ainfo.dma_alignment <= bs &&
		    !(self->ainfo.dma_alignment & (self->ainfo.dma_alignment - 1)))
		TH_LOG("DMA alignment %u", self->ainfo.dma_alignment);
	if (variant->file) {
		ASSERT_EQ(FILE_STORE_SIZE, self->ainfo.dev_size);
	} else {
		ASSERT_EQ(0, ioctl(self->dfd, BLKSSZGET, &lbs));
		ASSERT_EQ(0, ioctl(self->dfd, BLKGETSIZE64, &bytes));
		ASSERT_EQ((uint32_t)lbs, bs);
		ASSERT_EQ(bytes / bs * bs, self->ainfo.dev_size);
	}
	ASSERT_OK(pick_base(self->disk, self->ainfo.dev_size, &self->base));
}

FIXTURE_TEARDOWN(attach)
{
	free(self->buf);
	if (self->dfd >= 0)
		close(self->dfd);
	if (self->file && self->disk[0])
		unlink(self->disk);
	env_teardown(self->dir, self->fd);
}

/* Pattern @seed over the disk's [off, off + len), by O_DIRECT. */
#define DISK_FILL(off, len, seed) do {					\
	pattern_fill(self->buf, (len), (off), (seed));			\
	ASSERT_OK(dev_pwrite_all(self->dfd, self->buf, (len), (off)));	\
} while (0)

/* The disk's [off, off + len) holds pattern @seed, read by O_DIRECT. */
#define ASSERT_DISK_PATTERN(off, len, seed) do {			\
	ASSERT_OK(dev_pread_all(self->dfd, self->buf, (len), (off)));	\
	ASSERT_PATTERN(self->buf, (len), (off), (seed));		\
} while (0)

static const char *store_kind(bool file)
{
	return file ? "regular file" : "block device";
}

/* File -> disk -> file through pinned buffers, and by the buffered path. */
TEST_F(attach, cp_to_the_disk_and_back)
{
	const uint64_t len = MiB + 3 * GUARD;	/* whole blocks of any size */
	const uint64_t off = self->base + GUARD;
	const uint32_t mark = 0xd15c, seed = 0xa77ac4;
	char src[128], out[128], dev[64], n[32];
	struct run r;
	int i;

	snprintf(dev, sizeof(dev), "dev:%llu", (unsigned long long)off);
	for (i = 0; i < 2; i++) {
		const char *path = i ? "--buffered" : "--chunk=256K";

		/* A marker only the copy's own range may lose. */
		DISK_FILL(self->base, len + 2 * GUARD, mark + i);
		ASSERT_OK(make_file(self->dir, "src", len, off, seed + i, src,
				    sizeof(src)));
		TOOL(&r, ROOT, "cp", path, "--attach", self->disk, src, dev);
		EXPECT_RUN(&r, 0, "copied",
			   i ? "(buffered, attached " : "(direct, attached ",
			   "pinio: flushed ");
		EXPECT_EQ(0, r.out_len);
		run_free(&r);
		ASSERT_DISK_PATTERN(self->base, GUARD, mark + i);
		ASSERT_DISK_PATTERN(off, len, seed + i);
		ASSERT_DISK_PATTERN(off + len, GUARD, mark + i);

		/* Back, attached read-only: no flush. */
		snprintf(out, sizeof(out), "%s/out", self->dir);
		TOOL(&r, ROOT, "cp", path, "--attach", self->disk, "--size",
		     num(n, len), dev, out);
		EXPECT_RUN(&r, 0, "copied");
		EXPECT_EQ(NULL, strstr(r.err, "flushed")) TH_LOG("%s", r.err);
		run_free(&r);
		CHECK_FILE(out, len, off, seed + i);
	}

	/* --no-flush: the same copy, without the flush. */
	TOOL(&r, ROOT, "cp", "--attach", self->disk, "--no-flush", src, dev);
	EXPECT_RUN(&r, 0, "copied");
	EXPECT_EQ(NULL, strstr(r.err, "flushed")) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_DISK_PATTERN(off, len, seed + 1);

	/* The tool's attach was its own open file's: ours is still RAM. */
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	EXPECT_EQ(PINIO_STORE_RAM, self->info.store);
}

/* info --attach reports the driver's numbers for the disk. */
TEST_F(attach, info_reports_the_store)
{
	const struct pinio_info *i = &self->ainfo;
	char want[512];
	struct run r;

	TOOL(&r, ROOT, "info", "--attach", self->disk);
	EXPECT_RUN(&r, 0);
	snprintf(want, sizeof(want), "store:        %s %s (attached, read-only)\n",
		 store_kind(self->file), self->disk);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "store size:   ");
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "(%llu bytes)\n",
		 (unsigned long long)i->dev_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "block size:   %u bytes", i->block_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "DMA align:    %u byte", i->dma_alignment);
	EXPECT_OUT(&r, want);
	EXPECT_OUT(&r, " attach");
	run_free(&r);

	TOOL(&r, ROOT, "info", "--json", "--attach", self->disk);
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, self->file ? "\"store\": \"file\"," :
		   "\"store\": \"bdev\",");
	snprintf(want, sizeof(want), "\"attached\": \"%s\",", self->disk);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "\"dev_size\": %llu,",
		 (unsigned long long)i->dev_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "\"block_size\": %u,", i->block_size);
	EXPECT_OUT(&r, want);
	snprintf(want, sizeof(want), "\"dma_alignment\": %u,",
		 i->dma_alignment);
	EXPECT_OUT(&r, want);
	EXPECT_OUT(&r, "\"attach_flags\": 0,");
	EXPECT_OUT(&r, "\"attach\"");
	EXPECT_EQ(0, strcmp(r.out + r.out_len - 2, "}\n"));
	run_free(&r);

	/* Without --attach: the driver's RAM, whose rule is 1. */
	TOOL(&r, ROOT, "info");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "store:        RAM (the driver's)\n");
	EXPECT_OUT(&r, "block size:   1 byte ");
	run_free(&r);
	TOOL(&r, ROOT, "info", "--json");
	EXPECT_RUN(&r, 0);
	EXPECT_OUT(&r, "\"store\": \"ram\", \"attached\": null,");
	EXPECT_OUT(&r, "\"block_size\": 1, \"dma_alignment\": 1, \"attach_flags\": 0,");
	run_free(&r);
}

/* Offsets and lengths that are not whole blocks: exit 2, nothing moved. */
TEST_F(attach, misaligned_is_refused_exit_2)
{
	const uint32_t bs = self->ainfo.block_size, mark = 0x3a11;
	const uint64_t off = self->base + GUARD, odd_len = 64 * KiB + 100;
	char src[128], odd[128], out[128], arg[64], want[512], o[32];
	uint8_t *p = malloc(odd_len);
	pid_t feeder;
	struct run r;
	int in;

	ASSERT_NE(NULL, p);
	DISK_FILL(self->base, ATTACH_REGION, mark);
	ASSERT_OK(make_file(self->dir, "src", 64 * KiB, off, 0x5a, src,
			    sizeof(src)));
	ASSERT_OK(make_file(self->dir, "odd", odd_len, off, 0x5b, odd,
			    sizeof(odd)));
	snprintf(out, sizeof(out), "%s/out", self->dir);

	/* Half a block off; and 512-byte aligned on a 4 KiB-block disk. */
	snprintf(arg, sizeof(arg), "dev:%llu",
		 (unsigned long long)(off + bs / 2));
	snprintf(want, sizeof(want), "cp: offset %llu is not a multiple of the %u-byte block size of %s",
		 (unsigned long long)(off + bs / 2), bs, self->disk);
	TOOL(&r, ROOT, "cp", "--attach", self->disk, src, arg);
	EXPECT_RUN(&r, EXIT_USAGE, want, "Try 'pinio --help'.");
	run_free(&r);
	if (bs > 512) {
		snprintf(arg, sizeof(arg), "dev:%llu",
			 (unsigned long long)(off + 512));
		TOOL(&r, ROOT, "cp", "--attach", self->disk, src, arg);
		EXPECT_RUN(&r, EXIT_USAGE, "is not a multiple of the");
		run_free(&r);
	}
	TOOL(&r, ROOT, "cp", "--attach", self->disk, "--size", "1000", arg,
	     out);
	EXPECT_RUN(&r, EXIT_USAGE, "is not a multiple of the");
	run_free(&r);

	/* A source that is not whole blocks. */
	snprintf(arg, sizeof(arg), "dev:%llu", (unsigned long long)off);
	snprintf(want, sizeof(want), "cp: source length %llu is not a multiple of the %u-byte block size",
		 (unsigned long long)odd_len, bs);
	TOOL(&r, ROOT, "cp", "--attach", self->disk, odd, arg);
	EXPECT_RUN(&r, EXIT_USAGE, want);
	run_free(&r);
	TOOL(&r, ROOT, "cp", "--attach", self->disk, "--size", "1000", src,
	     arg);
	EXPECT_RUN(&r, EXIT_USAGE, "cp: size 1000 is not a multiple");
	run_free(&r);
	TOOL(&r, ROOT, "cp", "--attach", self->disk, "--chunk", "1000", src,
	     arg);
	EXPECT_RUN(&r, EXIT_USAGE, "cp: chunk size 1000 is not a multiple");
	run_free(&r);

	/* From the disk: refused before the file is made. */
	TOOL(&r, ROOT, "cp", "--attach", self->disk, "--size", "1000", arg,
	     out);
	EXPECT_RUN(&r, EXIT_USAGE, "cp: size 1000 is not a multiple");
	run_free(&r);
	EXPECT_NE(0, access(out, F_OK));

	/* verify checks the same. */
	TOOL(&r, ROOT, "verify", "--attach", self->disk, "--size", "64K",
	     "--offset", num(o, off + bs / 2));
	EXPECT_RUN(&r, EXIT_USAGE, "verify: offset", "is not a multiple");
	EXPECT_EQ(0, r.out_len);
	run_free(&r);
	TOOL(&r, ROOT, "verify", "--attach", self->disk, "--size", "1000",
	     "--offset", num(o, off));
	EXPECT_RUN(&r, EXIT_USAGE, "verify: size 1000 is not a multiple");
	run_free(&r);

	/* Not one byte of the disk moved. */
	ASSERT_DISK_PATTERN(self->base, ATTACH_REGION, mark);

	/* The buffered path has no block rule. */
	TOOL(&r, ROOT, "cp", "--buffered", "--attach", self->disk, odd, arg);
	EXPECT_RUN(&r, 0, "copied", "flushed");
	run_free(&r);
	ASSERT_OK(dev_pread_all(self->dfd, self->buf, 128 * KiB, off));
	ASSERT_PATTERN(self->buf, odd_len, off, 0x5b);
	ASSERT_PATTERN(self->buf + odd_len, 128 * KiB - odd_len,
		       off + odd_len, mark);

	/* A pipe that ends mid-block: the whole blocks go in, then exit 2. */
	DISK_FILL(self->base, ATTACH_REGION, mark);
	pattern_fill(p, odd_len, off, 0x5c);
	in = feed_pipe(p, odd_len, &feeder);
	ASSERT_LE(0, in);
	TOOL(&r, SPAWN(.in_fd = in), "cp", "--attach", self->disk, "-", arg);
	close(in);
	EXPECT_EQ(0, wait_child(feeder));
	snprintf(want, sizeof(want), "ended after %llu bytes, not a multiple of the %u-byte block size",
		 (unsigned long long)odd_len, bs);
	EXPECT_RUN(&r, EXIT_USAGE, want, "the last 100 bytes were not copied");
	run_free(&r);
	ASSERT_DISK_PATTERN(self->base, GUARD, mark);
	ASSERT_DISK_PATTERN(off, 64 * KiB, 0x5c);
	ASSERT_DISK_PATTERN(off + 64 * KiB, ATTACH_REGION - GUARD - 64 * KiB,
			    mark);
	free(p);
}

/* cmd_verify.c's pattern: what `pinio verify` leaves in the range. */
static uint8_t verify_pat_byte(uint64_t off, uint64_t seed)
{
	uint64_t z = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((off & 7) * 8));
}

/* verify --attach runs both paths against the disk itself. */
TEST_F(attach, verify_on_the_disk)
{
	const uint64_t off = self->base, size = 2 * MiB;
	char o[32], n[32], want[512];
	struct run r;
	uint64_t i;

	DISK_FILL(self->base, ATTACH_REGION, 0x7e51);
	TOOL(&r, ROOT, "verify", "--attach", self->disk, "--offset",
	     num(o, off), "--size", num(n, size), "--chunk", "256K");
	EXPECT_RUN(&r, 0);
	snprintf(want, sizeof(want), "(attached %s %s)",
		 store_kind(self->file), self->disk);
	EXPECT_OUT(&r, want);
	EXPECT_OUT(&r, "pinio verify: OK");
	run_free(&r);
	/* The last write pass (buffered) is on the disk, nothing past it. */
	ASSERT_OK(dev_pread_all(self->dfd, self->buf, size + GUARD, off));
	for (i = 0; i < size; i++)
		if (self->buf[i] != verify_pat_byte(off + i, 0x5eed0002))
			break;
	EXPECT_EQ(size, i) TH_LOG("byte %llu is not verify's",
				  (unsigned long long)i);
	ASSERT_PATTERN(self->buf + size, GUARD, off + size, 0x7e51);
}

TEST_HARNESS_MAIN
