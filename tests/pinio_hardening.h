/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the hardening programs (stress, fuzz, fault injection,
 * pinning corner cases): a seeded PRNG, the documented errno set of each
 * pinio entry point, a minimal raw-syscall io_uring with SQE128 and fixed
 * buffers, and small /proc and /dev/kmsg helpers.
 *
 * Include after pinio_test_util.h.
 */
#ifndef PINIO_HARDENING_H
#define PINIO_HARDENING_H

#include <stdarg.h>
#include <stddef.h>

#include <linux/io_uring.h>

/* --- PRNG: splitmix64, one state per thread ----------------------------- */

static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return rnd_next(s) % n;
}

/* True with probability pct / 100. */
static inline bool rnd_pct(uint64_t *s, unsigned int pct)
{
	return rnd_below(s, 100) < pct;
}

/* A seed from the environment variable @env (decimal or 0x hex), else fresh. */
static inline uint64_t seed_from_env(const char *env)
{
	const char *v = getenv(env);
	struct timespec ts;

	if (v && *v)
		return strtoull(v, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 16);
}

static inline unsigned long env_ulong(const char *env, unsigned long def)
{
	const char *v = getenv(env);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* --- documented errnos -------------------------------------------------- */

/*
 * What uapi/linux/pinio.h allows each entry point to return. A fuzzed or
 * fault-injected call that fails with anything else is a bug. EINTR is
 * listed only where a fatal signal can cut a copy short.
 */
#define PINIO_ERRS_INFO		{ EFAULT, 0 }
#define PINIO_ERRS_REGISTER	{ EINVAL, EOVERFLOW, EFAULT, EOPNOTSUPP, \
				  ENOMEM, EBUSY, 0 }
#define PINIO_ERRS_UNREGISTER	{ EINVAL, ENOENT, EFAULT, 0 }
#define PINIO_ERRS_XFER		{ EINVAL, ERANGE, ENOENT, EACCES, EFAULT, \
				  EINTR, 0 }
/* The call's own errors, and those of the segment that failed. */
#define PINIO_ERRS_BATCH	{ EINVAL, EFAULT, ENOMEM, ERANGE, ENOENT, \
				  EACCES, EINTR, 0 }
#define PINIO_ERRS_UNKNOWN_CMD	{ ENOTTY, 0 }
/*
 * A uring_cmd CQE: READ/WRITE errors, EINVAL (a field that must be zero),
 * EFAULT (fixed-buffer range; io_uring's own for a bad buf_index), ENOTTY
 * (unknown cmd_op), EOPNOTSUPP (not an SQE128 ring).
 */
#define PINIO_ERRS_URING	{ EINVAL, ERANGE, ENOENT, EACCES, EFAULT, \
				  EINTR, ENOTTY, EOPNOTSUPP, 0 }
/* read/write/pread/pwrite/readv/writev (VFS and driver). */
#define PINIO_ERRS_BUFFERED	{ EINVAL, EFAULT, ENOSPC, EAGAIN, EINTR, 0 }
#define PINIO_ERRS_OPEN		{ ENOMEM, 0 }
#define PINIO_ERRS_MMAP		{ EINVAL, ENXIO, ENOMEM, EAGAIN, 0 }

/* Is @err (positive) in the 0-terminated @set? */
static inline bool errno_in(int err, const int *set)
{
	for (; *set; set++)
		if (*set == err)
			return true;
	return false;
}

/* --- kernel log markers --------------------------------------------------- */

/* Write one line to the kernel log (best effort; needs root). */
static inline void kmsg(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, line, strnlen(line, sizeof(line))) < 0) {
		/* nothing to do: the marker is a courtesy */
	}
	close(fd);
}

/* A /proc/vmstat counter (after folding per-cpu deltas), or -1. */
static inline int64_t vmstat_get(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	int64_t v = -1;
	FILE *f;
	int fd;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* older kernels or no permission: counters may lag */
		}
		close(fd);
	}
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && line[n] == ' ') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* nr_foll_pin_acquired - nr_foll_pin_released, system wide. */
static inline int64_t foll_pins_outstanding(void)
{
	int64_t a = vmstat_get("nr_foll_pin_acquired");
	int64_t r = vmstat_get("nr_foll_pin_released");

	return a < 0 || r < 0 ? 0 : a - r;
}

/*
 * A baseline for foll_pins_outstanding(): what an earlier program's
 * io_uring rings still hold is released asynchronously, so wait (up to
 * 10 s) for it to drop to zero first.
 */
static inline int64_t foll_pins_baseline(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int64_t v = foll_pins_outstanding();
	int i;

	for (i = 0; i < 200 && v > 0; i++) {
		nanosleep(&ts, NULL);
		v = foll_pins_outstanding();
	}
	return v;
}

/* --- a minimal io_uring (raw syscalls, SQE128, fixed buffers) ------------ */

struct hring {
	int fd;
	unsigned int sqe_size;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	uint8_t *sqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	unsigned int entries, unsubmitted;
};

static inline void hring_exit(struct hring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->sqes = NULL;
	r->cq_map = r->sq_map = NULL;
}

/* 0 or -errno; @flags e.g. IORING_SETUP_SQE128. */
static inline int hring_init(struct hring *r, unsigned int entries,
			     unsigned int flags)
{
	struct io_uring_params p;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		ret = -errno;
		r->fd = -1;
		return ret;
	}
	r->entries = p.sq_entries;
	r->sqe_size = flags & IORING_SETUP_SQE128 ? 128 : 64;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_len = (size_t)p.sq_entries * r->sqe_size;
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED ||
	    r->sqes == MAP_FAILED) {
		ret = -errno;
		hring_exit(r);
		return ret;
	}
	r->sq_head = (unsigned int *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned int *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	return 0;
}

/* Register @nr iovecs as fixed buffers 0..nr-1: 0 or -errno. */
static inline int hring_register_buffers(struct hring *r,
					 const struct iovec *iov,
					 unsigned int nr)
{
	return syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS,
		       iov, nr) ? -errno : 0;
}

/* The next free SQE, zeroed; NULL when the ring is full. */
static inline struct io_uring_sqe *hring_sqe(struct hring *r)
{
	unsigned int head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	unsigned int tail = *r->sq_tail + r->unsubmitted;
	unsigned int idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe;

	if (tail - head >= r->entries)
		return NULL;
	sqe = (void *)(r->sqes + idx * r->sqe_size);
	memset(sqe, 0, r->sqe_size);
	r->sq_array[idx] = idx;
	r->unsubmitted++;
	return sqe;
}

/*
 * Submit everything queued, then wait for up to @wait completions (never
 * more than were submitted): the number submitted, or -errno. io_uring
 * stops a submission at the first SQE that fails to initialise (its CQE
 * carries the error), so this loops until the SQ ring is drained.
 */
static inline int hring_submit(struct hring *r, unsigned int wait)
{
	unsigned int n = r->unsubmitted, done = 0;
	int ret;

	__atomic_store_n(r->sq_tail, *r->sq_tail + n, __ATOMIC_RELEASE);
	r->unsubmitted = 0;
	while (done < n) {
		ret = syscall(__NR_io_uring_enter, r->fd, n - done, 0, 0,
			      NULL, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return done ? (int)done : -errno;
		if (ret == 0)
			break;
		done += ret;
	}
	if (wait) {
		if (wait > done)
			wait = done;
		do {
			ret = syscall(__NR_io_uring_enter, r->fd, 0, wait,
				      IORING_ENTER_GETEVENTS, NULL, 0);
		} while (ret < 0 && errno == EINTR);
	}
	return (int)done;
}

static inline int hring_reap(struct hring *r, struct io_uring_cqe *out)
{
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*out = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

static inline int hring_wait(struct hring *r, struct io_uring_cqe *out)
{
	while (!hring_reap(r, out)) {
		int ret = syscall(__NR_io_uring_enter, r->fd, 0, 1,
				  IORING_ENTER_GETEVENTS, NULL, 0);

		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Fill @sqe as a pinio IORING_OP_URING_CMD; @payload is up to 80 bytes. */
static inline void hring_prep_cmd(struct hring *r, struct io_uring_sqe *sqe,
				  int fd, uint32_t cmd_op, const void *payload,
				  size_t payload_len, uint64_t user_data,
				  uint32_t uflags, uint16_t buf_index)
{
	size_t room = r->sqe_size - offsetof(struct io_uring_sqe, cmd);

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	sqe->uring_cmd_flags = uflags;
	sqe->buf_index = buf_index;
	memcpy(sqe->cmd, payload, payload_len < room ? payload_len : room);
}

/* One pinio uring_cmd, submitted and reaped: the CQE's res or -errno. */
static inline int hring_cmd1(struct hring *r, int fd, uint32_t cmd_op,
			     const struct pinio_uring_cmd *c, uint32_t uflags,
			     uint16_t buf_index)
{
	struct io_uring_sqe *sqe = hring_sqe(r);
	struct io_uring_cqe cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	hring_prep_cmd(r, sqe, fd, cmd_op, c, sizeof(*c), 0x5157, uflags,
		       buf_index);
	ret = hring_submit(r, 1);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EREMOTEIO;
	ret = hring_wait(r, &cqe);
	if (ret)
		return ret;
	if (cqe.user_data != 0x5157)
		return -EPROTO;
	return cqe.res;
}

#endif /* PINIO_HARDENING_H */
