// SPDX-License-Identifier: GPL-2.0
/*
 * pinio stress: threads and processes registering, transferring on every
 * path (ioctl READ/WRITE, BATCH, buffered pread/pwrite, io_uring with pinio
 * handles and with IORING_URING_CMD_FIXED), unregistering (also while a
 * transfer is in flight), closing (also with io_uring commands in flight),
 * forking and munmapping, for PINIO_STRESS_SECONDS (default 10). Then every
 * byte of the checked part of the store must be what the last completed
 * write put there, and the pin accounting must be back where it started.
 *
 * How it stays checkable: the checked part of the store is cut into slots;
 * a worker owns a slot while it transfers into it (an atomic owner word in
 * shared memory, so forked children take part too) and keeps a shadow copy
 * of every slot up to date after each completed write; every read is
 * compared with the shadow. A transfer racing an unregister either
 * completed (0) or did nothing (ENOENT), and the return value says which.
 * A separate "chaos" process does the things whose outcome cannot be known
 * (stale handles, the file replaced under running transfers, rings closed
 * with commands in flight, children killed mid-transfer) on another part of
 * the store, and checks only that every error is a documented one.
 *
 * The attached_store case does the same on PINIO_NVME512 attached to every
 * worker's file (SKIP without it): transfers on every path with queue
 * depth, unregister, DETACH and close with io_uring commands in flight
 * (each must complete in full, against the disk), rings torn down with
 * reads in flight, fork, and a chaos thread attaching, detaching and
 * flushing its own file under its own transfers; then the test's own
 * O_DIRECT read of the disk must match the shadow byte for byte.
 *
 * Environment: PINIO_STRESS_SECONDS, PINIO_STRESS_SEED, PINIO_NVME512.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"
#include "pinio_attach_util.h"
#include "pinio_pattern.h"

#define NSLOTS		32
#define SLOT_LEN	(160 * 1024 + 37)	/* odd: slots start misaligned */
#define CHECKED_LEN	((uint64_t)NSLOTS * SLOT_LEN)
#define MAP_LEN		((CHECKED_LEN + 4095) & ~4095ULL)
#define CHAOS_OFF	(8 * MiB)
#define CHAOS_LEN	(4 * MiB)
#define MAX_REGS	6
#define MAX_BUF		(192 * 1024)
#define FIXED_LEN	(256 * 1024)
#define NPROCS		2	/* worker processes besides the test's own */
#define NTHREADS	2	/* checked worker threads per process */
#define CHAOS_HANDLES	24	/* chaos picks handles 1..CHAOS_HANDLES */
#define CHAOS_BUFS	12

enum {
	C_IOCTL_READ, C_IOCTL_WRITE, C_BATCH, C_BATCH_STOPPED, C_PREAD,
	C_PWRITE, C_URING_READ, C_URING_WRITE, C_FIXED_READ, C_FIXED_WRITE,
	C_MMAP_READ, C_MMAP_WRITE,
	C_REGISTER, C_REGISTER_ZEROPAGE, C_UNREGISTER, C_RACE_DONE,
	C_RACE_ENOENT, C_URING_UNREG_INFLIGHT, C_CLOSE, C_CLOSE_INFLIGHT,
	C_FORK, C_FORK_FAILED, C_MUNMAP, C_CHAOS_OPS, C_CHAOS_ERRORS,
	C_CHAOS_SWAPS, C_CHAOS_KILLS, C_BYTES_CHECKED,
	/* the attached-store test */
	C_DETACH_INFLIGHT, C_RING_TEARDOWN, C_REATTACH, C_CHAOS_ATTACH,
	NCOUNT
};

static const char *const count_names[NCOUNT] = {
	"ioctl_read", "ioctl_write", "batch", "batch_stopped", "pread",
	"pwrite", "uring_read", "uring_write", "fixed_read", "fixed_write",
	"mmap_read", "mmap_write",
	"register", "register_zeropage", "unregister", "race_done",
	"race_enoent", "uring_unregister_inflight", "close",
	"close_inflight", "fork", "fork_failed", "munmap", "chaos_ops",
	"chaos_errors", "chaos_file_swaps", "chaos_kills", "bytes_checked",
	"detach_inflight", "ring_teardown_inflight", "reattach",
	"chaos_attach",
};

/* Shared by every process of the run (MAP_SHARED | MAP_ANONYMOUS). */
struct shared {
	atomic_int owner[NSLOTS];
	atomic_int stop;
	atomic_int failed;
	atomic_ullong count[NCOUNT];
	double deadline;
	char msg[512];
	uint8_t shadow[CHECKED_LEN];
};

static struct shared *sh;

static void count(int c, uint64_t n)
{
	atomic_fetch_add_explicit(&sh->count[c], n, memory_order_relaxed);
}

/* Record the first failure (no stdio: forked children use this too). */
static void fail(const char *fmt, ...)
{
	int zero = 0;
	va_list ap;

	if (atomic_compare_exchange_strong(&sh->failed, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&sh->stop, 1);
}

static bool running(void)
{
	return !atomic_load(&sh->stop) && now_sec() < sh->deadline;
}

/* --- registrations -------------------------------------------------------- */

struct reg {
	int fd;			/* the file it is registered on */
	uint32_t h;
	uint32_t flags;
	struct tbuf tb;		/* the mapping */
	uint8_t *p;		/* the registered buffer, while mapped */
	size_t len;
	uint8_t *mirror;	/* its content once unmapped */
	bool shared_kind;	/* memfd/shmem: a forked child sees the pages */
	bool frozen;		/* never-touched R/O memory: stays zero */
	bool inherited;		/* a forked child's copy of its parent's */
};

struct worker {
	int id;			/* slot owner id, > 0 */
	int fd;			/* where new registrations go */
	uint64_t rnd;
	bool child;		/* a forked child: no ring, no threads */
	bool hugetlb_ok;
	struct hring ring;
	bool ring_ok;
	uint8_t *fixed;		/* FIXED_LEN, io_uring fixed buffer 0 */
	uint8_t *tmp;		/* MAX_BUF scratch */
	uint8_t *map;		/* the checked store, mmap()ed (or NULL) */
	struct reg regs[MAX_REGS];
	int nregs;
};

enum path { P_IOCTL, P_URING, P_FIXED, P_BUFFERED, P_MMAP, NPATHS };

static uint8_t *reg_data(struct reg *r)
{
	return r->mirror ? r->mirror : r->p;
}

/* May we change the registered bytes through the mapping? */
static bool reg_can_fill(const struct reg *r)
{
	return r->p && !r->frozen && (!r->inherited || r->shared_kind);
}

/*
 * Is @r usable for a transfer needing @need, and, with @read, can the
 * device write it here with the result known? A child cannot see its
 * parent's private pinned pages nor update its parent's mirror.
 */
static bool reg_usable(const struct reg *r, uint32_t need, bool read)
{
	if ((r->flags & need) != need)
		return false;
	return !read || !r->inherited || (r->shared_kind && r->p);
}

/* Forget registration @i (unregistered, or its file closed). */
static void reg_drop(struct worker *w, int i)
{
	struct reg *r = &w->regs[i];

	if (!r->inherited)
		tbuf_free(&r->tb);
	free(r->mirror);
	w->regs[i] = w->regs[--w->nregs];
}

static void reg_unregister(struct worker *w, int i)
{
	struct reg *r = &w->regs[i];
	int ret = pinio_unregister(r->fd, r->h);

	if (ret)
		fail("worker %d: unregister handle %u: %s", w->id, r->h,
		     errname(-ret));
	else
		count(C_UNREGISTER, 1);
	reg_drop(w, i);
}

/* Unregister one registration this worker made; false if it has none. */
static bool reg_make_room(struct worker *w)
{
	int i, start = (int)rnd_below(&w->rnd, w->nregs ? w->nregs : 1);

	for (i = 0; i < w->nregs; i++) {
		int j = (start + i) % w->nregs;

		if (!w->regs[j].inherited) {
			reg_unregister(w, j);
			return true;
		}
	}
	return false;
}

static int map_plain(struct tbuf *tb, size_t len, bool touch)
{
	int ret;

	tbuf_init(tb, TBUF_ANON);
	ret = tbuf_map(tb, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!ret && touch)
		memset(tb->p, 0, len);
	return ret;
}

/* A new registration of random kind, size, alignment and direction. */
static int reg_new(struct worker *w)
{
	size_t ps = page_size(), len, mis, map_len;
	uint64_t *s = &w->rnd;
	unsigned int kind;
	struct reg *r;
	int ret;

	if (w->nregs == MAX_REGS && !reg_make_room(w))
		return -EBUSY;
	r = &w->regs[w->nregs];
	memset(r, 0, sizeof(*r));
	r->fd = w->fd;
	switch (rnd_below(s, 4)) {
	case 0:
		r->flags = PINIO_REG_DEV_TO_USER;
		break;
	case 1:
		r->flags = PINIO_REG_USER_TO_DEV;
		break;
	default:
		r->flags = PINIO_REG_BIDIR;
		break;
	}
	len = 1 + rnd_below(s, rnd_pct(s, 60) ? MAX_BUF : 3 * ps);
	mis = rnd_below(s, ps);
	map_len = (len + mis + ps - 1) & ~(ps - 1);

	kind = (unsigned int)rnd_below(s, 100);
	if (kind < 8 && w->hugetlb_ok) {
		ret = tbuf_hugetlb(&r->tb, HPAGE_SIZE);
		if (ret) {
			w->hugetlb_ok = false;	/* none left: stop asking */
			ret = map_plain(&r->tb, map_len, true);
		} else {
			mis = rnd_below(s, HPAGE_SIZE - len);
		}
	} else if (kind < 18 && !w->child) {
		ret = tbuf_thp(&r->tb, HPAGE_SIZE);
		if (ret == -EOPNOTSUPP)
			ret = map_plain(&r->tb, map_len, true);
		else if (!ret)
			mis = rnd_below(s, HPAGE_SIZE - len);
	} else if (kind < 32) {
		ret = tbuf_memfd(&r->tb, map_len);
		r->shared_kind = true;
	} else if (kind < 46) {
		ret = tbuf_shmem(&r->tb, map_len);
		r->shared_kind = true;
	} else if (kind < 60 && r->flags == PINIO_REG_USER_TO_DEV) {
		/* Never touched: a read-only pin of the shared zero page. */
		ret = map_plain(&r->tb, map_len, false);
		r->frozen = true;
	} else {
		ret = map_plain(&r->tb, map_len, true);
	}
	if (ret) {
		fail("worker %d: mapping %zu bytes (kind %u): %s", w->id,
		     map_len, kind, errname(-ret));
		return ret;
	}
	r->p = r->tb.p + mis;
	r->len = len;
	if (!r->frozen)
		pattern_fill(r->p, len, 0, (uint32_t)rnd_next(s));
	ret = pinio_register(r->fd, r->p, len, r->flags, &r->h);
	if (ret) {
		fail("worker %d: register %zu bytes (kind %u, flags %u): %s",
		     w->id, len, kind, r->flags, errname(-ret));
		tbuf_free(&r->tb);
		return ret;
	}
	count(C_REGISTER, 1);
	if (r->frozen)
		count(C_REGISTER_ZEROPAGE, 1);
	w->nregs++;
	return 0;
}

/* A registration usable for @need (see reg_usable), made if needed. */
static struct reg *reg_pick(struct worker *w, uint32_t need, bool read)
{
	int i, tries, start = (int)rnd_below(&w->rnd, w->nregs ? w->nregs : 1);

	for (i = 0; i < w->nregs; i++) {
		struct reg *r = &w->regs[(start + i) % w->nregs];

		if (reg_usable(r, need, read))
			return r;
	}
	for (tries = 0; tries < 6; tries++) {
		if (reg_new(w))
			return NULL;
		if (reg_usable(&w->regs[w->nregs - 1], need, read))
			return &w->regs[w->nregs - 1];
	}
	return NULL;
}

/* --- slots ---------------------------------------------------------------- */

static int slot_take(struct worker *w)
{
	int i, s0 = (int)rnd_below(&w->rnd, NSLOTS);

	for (i = 0; i < NSLOTS; i++) {
		int s = (s0 + i) % NSLOTS, zero = 0;

		if (atomic_compare_exchange_strong(&sh->owner[s], &zero,
						   w->id))
			return s;
	}
	return -1;
}

static void slot_give(struct worker *w, int s)
{
	int me = w->id;

	if (!atomic_compare_exchange_strong(&sh->owner[s], &me, 0))
		fail("worker %d: slot %d changed owner under it (now %d)",
		     w->id, s, me);
}

struct span {
	uint64_t dev;	/* device offset, inside the slot */
	uint64_t bo;	/* offset in the buffer */
	size_t n;
};

static struct span pick_span(struct worker *w, int slot, size_t buf_len)
{
	size_t max = buf_len < SLOT_LEN ? buf_len : SLOT_LEN;
	struct span sp;

	sp.n = rnd_pct(&w->rnd, 25) ? max : 1 + rnd_below(&w->rnd, max);
	sp.dev = (uint64_t)slot * SLOT_LEN +
		 rnd_below(&w->rnd, SLOT_LEN - sp.n + 1);
	sp.bo = rnd_below(&w->rnd, buf_len - sp.n + 1);
	return sp;
}

static void check_read(struct worker *w, const char *what,
		       const uint8_t *got, uint64_t dev, size_t n)
{
	int64_t m = mem_find_mismatch(sh->shadow + dev, got, n);

	if (m < 0) {
		count(C_BYTES_CHECKED, n);
		return;
	}
	fail("worker %d: %s of %zu bytes at device offset %" PRIu64
	     ": byte %" PRId64 " is 0x%02x, the last write put 0x%02x there",
	     w->id, what, n, dev, m, got[m], sh->shadow[dev + m]);
}

/* The write landed: the device now holds @src at @dev. */
static void wrote(uint64_t dev, const uint8_t *src, size_t n)
{
	memcpy(sh->shadow + dev, src, n);
}

/* --- transfers -------------------------------------------------------------- */

static int uring_xfer(struct worker *w, int fd, bool read, uint32_t h,
		      uint64_t addr, uint64_t bo, uint64_t dev, size_t n,
		      bool fixed)
{
	struct pinio_uring_cmd c = {
		.handle = h, .addr = addr, .buf_offset = bo,
		.dev_offset = dev, .len = n,
	};

	return hring_cmd1(&w->ring, fd, read ? PINIO_URING_CMD_READ :
			  PINIO_URING_CMD_WRITE, &c,
			  fixed ? IORING_URING_CMD_FIXED : 0, 0);
}

static void op_xfer(struct worker *w, int slot, bool read, enum path path)
{
	uint32_t need = read ? PINIO_REG_DEV_TO_USER : PINIO_REG_USER_TO_DEV;
	const char *what;
	struct span sp;
	struct reg *r;
	int ret;

	if ((path == P_URING || path == P_FIXED) && !w->ring_ok)
		path = P_IOCTL;
	if (path == P_MMAP && !w->map)
		path = P_BUFFERED;

	if (path == P_MMAP) {
		/* The store's own pages through a MAP_SHARED window. */
		sp = pick_span(w, slot, MAX_BUF);
		if (read) {
			memcpy(w->tmp, w->map + sp.dev, sp.n);
			check_read(w, "mmap read", w->tmp, sp.dev, sp.n);
		} else {
			pattern_fill(w->tmp, sp.n, sp.dev,
				     (uint32_t)rnd_next(&w->rnd));
			memcpy(w->map + sp.dev, w->tmp, sp.n);
			wrote(sp.dev, w->tmp, sp.n);
		}
		count(read ? C_MMAP_READ : C_MMAP_WRITE, 1);
		return;
	}

	if (path == P_BUFFERED || path == P_FIXED) {
		uint8_t *buf = path == P_FIXED ? w->fixed : w->tmp;

		sp = pick_span(w, slot, path == P_FIXED ? FIXED_LEN : MAX_BUF);
		if (!read)
			pattern_fill(buf + sp.bo, sp.n, sp.dev,
				     (uint32_t)rnd_next(&w->rnd));
		if (path == P_FIXED) {
			ret = uring_xfer(w, w->fd, read, 0,
					 (uintptr_t)(buf + sp.bo), 0, sp.dev,
					 sp.n, true);
			ret = ret == (int)sp.n ? 0 : (ret < 0 ? ret : -EIO);
			what = read ? "fixed uring read" : "fixed uring write";
		} else {
			ret = read ? dev_pread_all(w->fd, buf + sp.bo, sp.n,
						   sp.dev) :
				     dev_pwrite_all(w->fd, buf + sp.bo, sp.n,
						    sp.dev);
			what = read ? "pread" : "pwrite";
		}
		if (ret) {
			fail("worker %d: %s of %zu bytes: %s", w->id, what,
			     sp.n, errname(-ret));
			return;
		}
		if (read)
			check_read(w, what, buf + sp.bo, sp.dev, sp.n);
		else
			wrote(sp.dev, buf + sp.bo, sp.n);
		count(path == P_FIXED ? (read ? C_FIXED_READ : C_FIXED_WRITE) :
		      (read ? C_PREAD : C_PWRITE), 1);
		return;
	}

	r = reg_pick(w, need, read);
	if (!r)
		return;
	sp = pick_span(w, slot, r->len);
	if (!read && reg_can_fill(r))
		pattern_fill(r->p + sp.bo, sp.n, sp.dev,
			     (uint32_t)rnd_next(&w->rnd));
	if (path == P_URING && !w->child && rnd_pct(&w->rnd, 10)) {
		/* Unregister with the command in flight: it still completes. */
		struct pinio_uring_cmd c = {
			.handle = r->h, .buf_offset = sp.bo,
			.dev_offset = sp.dev, .len = sp.n,
		};
		struct io_uring_sqe *sqe = hring_sqe(&w->ring);
		struct io_uring_cqe cqe;

		hring_prep_cmd(&w->ring, sqe, r->fd, read ?
			       PINIO_URING_CMD_READ : PINIO_URING_CMD_WRITE,
			       &c, sizeof(c), 7, 0, 0);
		ret = hring_submit(&w->ring, 0);
		if (ret != 1) {
			fail("worker %d: io_uring submit: %d", w->id, ret);
			return;
		}
		ret = pinio_unregister(r->fd, r->h);
		if (!ret)
			ret = hring_wait(&w->ring, &cqe);
		if (ret || cqe.res != (int)sp.n) {
			fail("worker %d: uring %s unregistered in flight: %s, res %d",
			     w->id, read ? "read" : "write", errname(-ret),
			     ret ? 0 : cqe.res);
			return;
		}
		if (read && r->p)
			check_read(w, "uring read (unregistered in flight)",
				   r->p + sp.bo, sp.dev, sp.n);
		else if (!read)
			wrote(sp.dev, reg_data(r) + sp.bo, sp.n);
		count(C_URING_UNREG_INFLIGHT, 1);
		count(C_UNREGISTER, 1);
		count(read ? C_URING_READ : C_URING_WRITE, 1);
		reg_drop(w, (int)(r - w->regs));
		return;
	}

	if (path == P_URING) {
		ret = uring_xfer(w, r->fd, read, r->h, 0, sp.bo, sp.dev, sp.n,
				 false);
		ret = ret == (int)sp.n ? 0 : (ret < 0 ? ret : -EIO);
		what = read ? "uring read" : "uring write";
	} else {
		ret = read ? pinio_read(r->fd, r->h, sp.bo, sp.dev, sp.n) :
			     pinio_write(r->fd, r->h, sp.bo, sp.dev, sp.n);
		what = read ? "ioctl READ" : "ioctl WRITE";
	}
	if (ret) {
		fail("worker %d: %s of %zu bytes (handle %u, buf %" PRIu64
		     ", dev %" PRIu64 "): %s", w->id, what, sp.n, r->h, sp.bo,
		     sp.dev, errname(-ret));
		return;
	}
	if (read && r->p)
		check_read(w, what, r->p + sp.bo, sp.dev, sp.n);
	else if (read)
		memcpy(r->mirror + sp.bo, sh->shadow + sp.dev, sp.n);
	else
		wrote(sp.dev, reg_data(r) + sp.bo, sp.n);
	count(path == P_URING ? (read ? C_URING_READ : C_URING_WRITE) :
	      (read ? C_IOCTL_READ : C_IOCTL_WRITE), 1);
}

/*
 * A batch of reads and writes in one registration and one slot, simulated
 * in order on copies; sometimes with a bad last segment, which must stop
 * the batch there with everything before it done.
 */
static void op_batch(struct worker *w, int slot)
{
	struct pinio_xfer segs[9];
	uint64_t base = (uint64_t)slot * SLOT_LEN;
	uint8_t *sim_buf, *sim_slot;
	unsigned int k, i, nseg;
	uint32_t completed = 0;
	bool stop;
	struct reg *r;
	int ret;

	r = reg_pick(w, PINIO_REG_BIDIR, true);
	if (!r)
		return;
	sim_buf = malloc(r->len);
	sim_slot = malloc(SLOT_LEN);
	if (!sim_buf || !sim_slot) {
		fail("worker %d: out of memory", w->id);
		goto out;
	}
	if (reg_can_fill(r))
		pattern_fill(r->p, r->len, 0, (uint32_t)rnd_next(&w->rnd));
	memcpy(sim_buf, reg_data(r), r->len);
	memcpy(sim_slot, sh->shadow + base, SLOT_LEN);

	k = 1 + (unsigned int)rnd_below(&w->rnd, 8);
	for (i = 0; i < k; i++) {
		struct span sp = pick_span(w, slot, r->len);
		bool rd = rnd_pct(&w->rnd, 50);

		segs[i] = pinio_seg(r->h, rd ? PINIO_OP_READ : PINIO_OP_WRITE,
				    sp.bo, sp.dev, sp.n);
		if (rd)
			memcpy(sim_buf + sp.bo, sim_slot + (sp.dev - base),
			       sp.n);
		else
			memcpy(sim_slot + (sp.dev - base), sim_buf + sp.bo,
			       sp.n);
	}
	nseg = k;
	stop = rnd_pct(&w->rnd, 15);
	if (stop)	/* handle 0 never names a registration */
		segs[nseg++] = pinio_seg(0, PINIO_OP_READ, 0, base, 1);

	ret = pinio_batch(r->fd, segs, nseg, &completed);
	if (ret != (stop ? -ENOENT : 0) || completed != k) {
		fail("worker %d: batch of %u%s: %s, completed %u", w->id, nseg,
		     stop ? " (last one bad)" : "", errname(-ret), completed);
		goto out;
	}
	if (r->p) {
		int64_t m = mem_find_mismatch(sim_buf, r->p, r->len);

		if (m >= 0) {
			fail("worker %d: batch of %u: buffer byte %" PRId64
			     " is 0x%02x, expected 0x%02x", w->id, nseg, m,
			     r->p[m], sim_buf[m]);
			goto out;
		}
		count(C_BYTES_CHECKED, r->len);
	} else {
		memcpy(r->mirror, sim_buf, r->len);
	}
	memcpy(sh->shadow + base, sim_slot, SLOT_LEN);
	count(C_BATCH, 1);
	if (stop)
		count(C_BATCH_STOPPED, 1);
out:
	free(sim_buf);
	free(sim_slot);
}

struct unreg_racer {
	int fd;
	uint32_t h;
	unsigned int delay_us;
	int ret;
};

static void *unreg_racer_fn(void *arg)
{
	struct unreg_racer *u = arg;

	if (u->delay_us)
		usleep(u->delay_us);
	u->ret = pinio_unregister(u->fd, u->h);
	return NULL;
}

/*
 * An ioctl transfer racing an unregister of its handle from another
 * thread: it either completed (0) or never started (ENOENT).
 */
static void op_race(struct worker *w, int slot)
{
	bool read = rnd_pct(&w->rnd, 50);
	uint32_t need = read ? PINIO_REG_DEV_TO_USER : PINIO_REG_USER_TO_DEV;
	uint32_t sentinel = (uint32_t)rnd_next(&w->rnd);
	struct unreg_racer u;
	pthread_t tid;
	struct span sp;
	struct reg *r;
	int ret;

	r = reg_pick(w, need, read);
	if (!r || (read && !r->p))
		return;
	sp = pick_span(w, slot, r->len);
	if (reg_can_fill(r))
		pattern_fill(r->p + sp.bo, sp.n, sp.dev, sentinel);
	u.fd = r->fd;
	u.h = r->h;
	u.delay_us = (unsigned int)rnd_below(&w->rnd, 400);
	u.ret = 1;
	if (pthread_create(&tid, NULL, unreg_racer_fn, &u)) {
		fail("worker %d: pthread_create", w->id);
		return;
	}
	ret = read ? pinio_read(r->fd, r->h, sp.bo, sp.dev, sp.n) :
		     pinio_write(r->fd, r->h, sp.bo, sp.dev, sp.n);
	pthread_join(tid, NULL);
	if (u.ret) {
		fail("worker %d: racing unregister of handle %u: %s", w->id,
		     r->h, errname(-u.ret));
		return;
	}
	count(C_UNREGISTER, 1);
	if (ret == 0) {
		if (read)
			check_read(w, "READ racing unregister", r->p + sp.bo,
				   sp.dev, sp.n);
		else
			wrote(sp.dev, reg_data(r) + sp.bo, sp.n);
		count(C_RACE_DONE, 1);
	} else if (ret == -ENOENT) {
		/* Nothing moved: a READ left the buffer alone. */
		if (read && pattern_find_mismatch(r->p + sp.bo, sp.n, sp.dev,
						  sentinel) >= 0)
			fail("worker %d: READ failed with ENOENT but changed the buffer",
			     w->id);
		count(C_RACE_ENOENT, 1);
	} else {
		fail("worker %d: %s racing unregister: %s", w->id,
		     read ? "READ" : "WRITE", errname(-ret));
	}
	reg_drop(w, (int)(r - w->regs));
}

/* Close the file with its registrations (maybe a command in flight). */
static void op_close(struct worker *w, int slot)
{
	struct io_uring_cqe cqe;
	struct reg *r = NULL;
	struct span sp;
	int i, fd, ret;
	bool inflight = false;

	if (slot >= 0 && w->ring_ok && rnd_pct(&w->rnd, 50))
		r = reg_pick(w, PINIO_REG_USER_TO_DEV, false);
	if (r) {
		struct pinio_uring_cmd c;
		struct io_uring_sqe *sqe = hring_sqe(&w->ring);

		sp = pick_span(w, slot, r->len);
		c = (struct pinio_uring_cmd){ .handle = r->h,
			.buf_offset = sp.bo, .dev_offset = sp.dev,
			.len = sp.n };
		if (reg_can_fill(r))
			pattern_fill(r->p + sp.bo, sp.n, sp.dev,
				     (uint32_t)rnd_next(&w->rnd));
		hring_prep_cmd(&w->ring, sqe, r->fd, PINIO_URING_CMD_WRITE,
			       &c, sizeof(c), 9, 0, 0);
		if (hring_submit(&w->ring, 0) != 1) {
			fail("worker %d: io_uring submit failed", w->id);
			return;
		}
		inflight = true;
	}
	close(w->fd);
	if (inflight) {
		ret = hring_wait(&w->ring, &cqe);
		if (ret || cqe.res != (int)sp.n) {
			fail("worker %d: uring write with its file closed: %s, res %d",
			     w->id, errname(-ret), ret ? 0 : cqe.res);
			return;
		}
		wrote(sp.dev, reg_data(r) + sp.bo, sp.n);
		count(C_CLOSE_INFLIGHT, 1);
		count(C_URING_WRITE, 1);
	}
	for (i = w->nregs - 1; i >= 0; i--)
		if (w->regs[i].fd == w->fd)
			reg_drop(w, i);
	fd = pinio_open();
	if (fd < 0) {
		fail("worker %d: reopen: %s", w->id, errname(-fd));
		w->fd = -1;
		return;
	}
	w->fd = fd;
	count(C_CLOSE, 1);
}

/* munmap a registered buffer: its pinned pages live on, we keep a copy. */
static void op_munmap(struct worker *w)
{
	struct reg *r;
	int i;

	for (i = 0; i < w->nregs; i++) {
		r = &w->regs[i];
		if (!r->p || r->inherited)
			continue;
		r->mirror = malloc(r->len);
		if (!r->mirror) {
			fail("worker %d: out of memory", w->id);
			return;
		}
		memcpy(r->mirror, r->p, r->len);
		tbuf_free(&r->tb);
		r->p = NULL;
		count(C_MUNMAP, 1);
		return;
	}
}

/* Some checked slot operations: transfers on every path, batches, races. */
static void slot_ops(struct worker *w)
{
	int slot = slot_take(w), k;

	if (slot < 0) {
		sched_yield();
		return;
	}
	for (k = 1 + (int)rnd_below(&w->rnd, 4); k > 0 && running(); k--) {
		unsigned int a = (unsigned int)rnd_below(&w->rnd, 100);

		if (a < 12)
			op_batch(w, slot);
		else if (a < 17 && !w->child)
			op_race(w, slot);
		else if (a < 19 && !w->child)
			op_close(w, slot);
		else
			op_xfer(w, slot, rnd_pct(&w->rnd, 50),
				(enum path)rnd_below(&w->rnd,
						     w->child ? 1 : NPATHS) +
				(w->child && rnd_pct(&w->rnd, 50) ?
				 P_BUFFERED : 0));
		if (w->fd < 0)
			break;
	}
	slot_give(w, slot);
}

/* --- forked children ------------------------------------------------------- */

/*
 * A child of a worker: transfers through the inherited file and its
 * parent's registrations (where the result is knowable), through a file
 * and registrations of its own, then exits with all of them live.
 */
static void child_main(struct worker *parent)
{
	struct worker *w = malloc(sizeof(*w));
	int i, ops;

	if (!w)
		_exit(1);
	*w = *parent;
	w->child = true;
	w->id = 1000000 + getpid();
	w->rnd ^= (uint64_t)getpid() << 32;
	w->ring_ok = false;	/* the ring is the parent's */
	w->hugetlb_ok = false;
	for (i = 0; i < w->nregs; i++) {
		w->regs[i].inherited = true;
		if (w->regs[i].mirror) {
			uint8_t *m = malloc(w->regs[i].len);

			if (!m)
				_exit(1);
			memcpy(m, w->regs[i].mirror, w->regs[i].len);
			w->regs[i].mirror = m;
		}
	}
	if (rnd_pct(&w->rnd, 50)) {
		w->fd = pinio_open();
		if (w->fd < 0) {
			fail("child %d: open: %s", getpid(), errname(-w->fd));
			_exit(1);
		}
	}
	for (ops = 5 + (int)rnd_below(&w->rnd, 10); ops > 0 && running(); ops--)
		slot_ops(w);
	/* Exit with everything registered and open: exit cleans up. */
	_exit(atomic_load(&sh->failed) ? 1 : 0);
}

static void op_fork(struct worker *w)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		if (errno == ENOMEM || errno == EAGAIN)
			count(C_FORK_FAILED, 1);
		else
			fail("worker %d: fork: %s", w->id, errname(errno));
		return;
	}
	if (pid == 0)
		child_main(w);
	st = wait_child(pid);
	if (st && !atomic_load(&sh->failed))
		fail("worker %d: forked child exited with %d", w->id, st);
	count(C_FORK, 1);
}

/* --- checked workers --------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct iovec iov;
	int ret;

	w->fd = pinio_open();
	w->tmp = malloc(MAX_BUF);
	/* The mapping outlives closes of w->fd; none if mmap is missing. */
	w->map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		      w->fd, 0);
	if (w->map == MAP_FAILED)
		w->map = NULL;
	w->fixed = mmap(NULL, FIXED_LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->fd < 0 || !w->tmp || w->fixed == MAP_FAILED) {
		fail("worker %d: setup failed", w->id);
		return NULL;
	}
	memset(w->fixed, 0, FIXED_LEN);
	ret = hring_init(&w->ring, 16, IORING_SETUP_SQE128);
	if (!ret) {
		iov.iov_base = w->fixed;
		iov.iov_len = FIXED_LEN;
		ret = hring_register_buffers(&w->ring, &iov, 1);
		if (ret)
			fail("worker %d: io_uring buffer registration: %s",
			     w->id, errname(-ret));
		w->ring_ok = !ret;
	}

	while (running() && w->fd >= 0) {
		unsigned int a = (unsigned int)rnd_below(&w->rnd, 1000);

		if (a < 40)
			reg_new(w);
		else if (a < 70) {
			if (w->nregs)
				reg_make_room(w);
		} else if (a < 80)
			op_munmap(w);
		else if (a < 86)
			op_close(w, -1);
		else if (a < 90)
			op_fork(w);
		else
			slot_ops(w);
	}

	if (w->fd >= 0)
		close(w->fd);
	while (w->nregs)
		reg_drop(w, w->nregs - 1);
	hring_exit(&w->ring);
	munmap(w->fixed, FIXED_LEN);
	if (w->map)
		munmap(w->map, MAP_LEN);
	free(w->tmp);
	return NULL;
}

/* NTHREADS checked workers in this process, ids from @first_id. */
static void run_workers(int first_id, uint64_t seed, bool hugetlb)
{
	struct worker *ws = calloc(NTHREADS, sizeof(*ws));
	pthread_t tids[NTHREADS];
	int i;

	if (!ws) {
		fail("out of memory");
		return;
	}
	for (i = 0; i < NTHREADS; i++) {
		ws[i].id = first_id + i;
		ws[i].rnd = seed ^ (0x1000193ULL * (uint64_t)(first_id + i));
		ws[i].hugetlb_ok = hugetlb && i == 0;
		ws[i].ring.fd = -1;
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i])) {
			fail("pthread_create failed");
			tids[i] = 0;
		}
	}
	for (i = 0; i < NTHREADS; i++)
		if (tids[i])
			pthread_join(tids[i], NULL);
	free(ws);
}

/* --- chaos: outcomes unknowable, errnos still checked ------------------------ */

struct chaos {
	int fd;			/* a fixed number: dup2() swaps the file */
	uint64_t rnd;
	struct {
		struct tbuf tb;
		bool mapped;
	} bufs[CHAOS_BUFS];
	struct hring ring;
	bool ring_ok;
	unsigned int inflight;
	uint8_t *fixed;
};

static const int chaos_xfer_errs[] = { ENOENT, ERANGE, EACCES, 0 };

static void chaos_check(const char *what, int ret, const int *ok)
{
	count(C_CHAOS_OPS, 1);
	if (ret >= 0)
		return;
	if (errno_in(-ret, ok)) {
		count(C_CHAOS_ERRORS, 1);
		return;
	}
	fail("chaos: %s: unexpected %s", what, errname(-ret));
}

static void chaos_reap(struct chaos *c, bool all)
{
	struct io_uring_cqe cqe;

	while (c->inflight) {
		if (all) {
			if (hring_wait(&c->ring, &cqe))
				return;
		} else if (!hring_reap(&c->ring, &cqe)) {
			return;
		}
		c->inflight--;
		if (cqe.res != (int)cqe.user_data)
			chaos_check("uring cmd", cqe.res, chaos_xfer_errs);
		else
			count(C_CHAOS_OPS, 1);
	}
}

static void chaos_ring_new(struct chaos *c)
{
	struct iovec iov = { c->fixed, 256 * 1024 };

	c->ring_ok = !hring_init(&c->ring, 32, IORING_SETUP_SQE128) &&
		     !hring_register_buffers(&c->ring, &iov, 1);
	c->inflight = 0;
}

static void chaos_uring(struct chaos *c, bool fixed)
{
	uint64_t n = 1 + rnd_below(&c->rnd, fixed ? 256 * 1024 : 200 * 1024);
	struct pinio_uring_cmd cmd = {
		.dev_offset = CHAOS_OFF + rnd_below(&c->rnd, CHAOS_LEN - n),
		.len = n,
	};
	struct io_uring_sqe *sqe;

	if (!c->ring_ok)
		return;
	chaos_reap(c, false);
	sqe = hring_sqe(&c->ring);
	if (!sqe)
		return;
	if (fixed)
		cmd.addr = (uintptr_t)c->fixed +
			   rnd_below(&c->rnd, 256 * 1024 - n + 1);
	else
		cmd.handle = 1 + (uint32_t)rnd_below(&c->rnd, CHAOS_HANDLES);
	hring_prep_cmd(&c->ring, sqe, c->fd, rnd_pct(&c->rnd, 50) ?
		       PINIO_URING_CMD_READ : PINIO_URING_CMD_WRITE, &cmd,
		       sizeof(cmd), n, fixed ? IORING_URING_CMD_FIXED : 0, 0);
	if (hring_submit(&c->ring, 0) == 1)
		c->inflight++;
}

/* A child doing long transfers, killed at a random moment. */
static void chaos_kill_child(struct chaos *c)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		struct tbuf b;
		uint32_t h = 0;
		int fd = rnd_pct(&c->rnd, 50) ? pinio_open() : c->fd;

		if (fd < 0 || tbuf_anon(&b, CHAOS_LEN) ||
		    pinio_register(fd, b.p, CHAOS_LEN, PINIO_REG_BIDIR, &h))
			_exit(0);
		for (;;) {
			pinio_read(fd, h, 0, CHAOS_OFF, CHAOS_LEN);
			pinio_write(fd, h, 0, CHAOS_OFF, CHAOS_LEN);
		}
	}
	usleep((useconds_t)rnd_below(&c->rnd, 20000));
	kill(pid, SIGKILL);
	wait_child(pid);
	count(C_CHAOS_KILLS, 1);
}

static void chaos_step(struct chaos *c)
{
	static const int reg_errs[] = { EBUSY, 0 };
	static const int unreg_errs[] = { ENOENT, 0 };
	size_t ps = page_size();
	unsigned int a = (unsigned int)rnd_below(&c->rnd, 100);
	int i = (int)rnd_below(&c->rnd, CHAOS_BUFS);
	uint64_t n = 1 + rnd_below(&c->rnd, 64 * 1024);
	uint64_t dev = CHAOS_OFF + rnd_below(&c->rnd, CHAOS_LEN - n);
	uint32_t h = 1 + (uint32_t)rnd_below(&c->rnd, CHAOS_HANDLES);
	int ret;

	if (a < 15) {
		size_t len = ps * (1 + rnd_below(&c->rnd, 48));
		uint64_t off, rl;
		uint32_t flags = 1 + (uint32_t)rnd_below(&c->rnd, 3);

		if (!c->bufs[i].mapped) {
			if (map_plain(&c->bufs[i].tb, len, rnd_pct(&c->rnd, 70)))
				return;
			c->bufs[i].mapped = true;
		}
		len = c->bufs[i].tb.len;
		off = rnd_below(&c->rnd, len);
		rl = 1 + rnd_below(&c->rnd, len - off);
		ret = pinio_register(c->fd, c->bufs[i].tb.p + off, rl, flags,
				     NULL);
		chaos_check("register", ret, reg_errs);
	} else if (a < 22) {
		/* Registered pages stay pinned after the munmap. */
		if (c->bufs[i].mapped) {
			tbuf_free(&c->bufs[i].tb);
			c->bufs[i].mapped = false;
		}
	} else if (a < 45) {
		ret = rnd_pct(&c->rnd, 50) ?
		      pinio_read(c->fd, h, rnd_below(&c->rnd, 4 * ps), dev, n) :
		      pinio_write(c->fd, h, rnd_below(&c->rnd, 4 * ps), dev, n);
		chaos_check("ioctl transfer", ret, chaos_xfer_errs);
	} else if (a < 55) {
		struct pinio_xfer segs[4];
		uint32_t k = 1 + (uint32_t)rnd_below(&c->rnd, 4), j;

		for (j = 0; j < k; j++)
			segs[j] = pinio_seg(1 + (uint32_t)rnd_below(&c->rnd,
								    CHAOS_HANDLES),
					    1 + (uint32_t)rnd_below(&c->rnd, 2),
					    rnd_below(&c->rnd, 2 * ps), dev,
					    1 + rnd_below(&c->rnd, n));
		chaos_check("batch", pinio_batch(c->fd, segs, k, NULL),
			    chaos_xfer_errs);
	} else if (a < 68) {
		chaos_uring(c, false);
	} else if (a < 74) {
		chaos_uring(c, true);
	} else if (a < 76) {
		/* Ring closed with commands in flight; they still finish. */
		hring_exit(&c->ring);
		chaos_ring_new(c);
	} else if (a < 84) {
		uint8_t *p;

		if (!c->bufs[i].mapped)
			return;
		p = c->bufs[i].tb.p;
		n = n < c->bufs[i].tb.len ? n : c->bufs[i].tb.len;
		ret = rnd_pct(&c->rnd, 50) ?
		      (int)sys_ret(pread(c->fd, p, n, (off_t)dev)) :
		      (int)sys_ret(pwrite(c->fd, p, n, (off_t)dev));
		if (ret >= 0 && (uint64_t)ret != n)
			fail("chaos: short buffered transfer %d of %" PRIu64,
			     ret, n);
		chaos_check("buffered", ret, (const int[]){ 0 });
	} else if (a < 94) {
		chaos_check("unregister", pinio_unregister(c->fd, h),
			    unreg_errs);
	} else if (a < 96) {
		chaos_kill_child(c);
	} else {
		sched_yield();
	}
}

struct chaos_swapper {
	struct chaos *c;
	uint64_t rnd;
};

/*
 * Module parameters the paths sample as they go: io_uring commands pick
 * inline or the workqueue at submission, files pick bounce at open.
 */
static const char *const flip_params[] = {
	"uring_async_min", "bounce", "mmap_prefault",
};

static void flip_param(uint64_t *rnd)
{
	static const char *const async[] = { "0", "1", "65536" };
	unsigned int i = (unsigned int)rnd_below(rnd, ARRAY_SIZE(flip_params));
	char path[128];

	snprintf(path, sizeof(path), PINIO_SYSFS_PARAMS "%s", flip_params[i]);
	/* Best effort: an older module may lack one. */
	write_sysfs_str(path, i ? (rnd_pct(rnd, 50) ? "1" : "0") :
			async[rnd_below(rnd, 3)]);
}

/*
 * Unregister random handles, swap the file under running transfers, flip
 * the module parameters the checked workers' paths depend on.
 */
static void *chaos_swapper_fn(void *arg)
{
	struct chaos_swapper *s = arg;
	static const int unreg_errs[] = { ENOENT, 0 };

	while (running()) {
		unsigned int a = (unsigned int)rnd_below(&s->rnd, 100);

		if (a >= 90) {
			flip_param(&s->rnd);
		} else if (a < 60) {
			uint32_t h = 1 + (uint32_t)rnd_below(&s->rnd,
							     CHAOS_HANDLES);

			chaos_check("unregister (racing)",
				    pinio_unregister(s->c->fd, h), unreg_errs);
		} else if (a < 70) {
			int nfd = pinio_open();

			if (nfd < 0) {
				fail("chaos: open: %s", errname(-nfd));
				break;
			}
			/* The old file goes once the transfers using it end. */
			if (dup2(nfd, s->c->fd) < 0)
				fail("chaos: dup2: %s", errname(errno));
			close(nfd);
			count(C_CHAOS_SWAPS, 1);
		}
		usleep(100 + (useconds_t)rnd_below(&s->rnd, 1000));
	}
	return NULL;
}

static void chaos_main(uint64_t seed)
{
	struct chaos_swapper sw;
	struct chaos *c = calloc(1, sizeof(*c));
	pthread_t tid;
	int i;

	if (!c)
		_exit(1);
	c->rnd = seed ^ 0xc4a05ULL;
	c->fd = pinio_open();
	c->fixed = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->fd < 0 || c->fixed == MAP_FAILED) {
		fail("chaos: setup failed");
		_exit(1);
	}
	memset(c->fixed, 0, 256 * 1024);
	chaos_ring_new(c);
	sw.c = c;
	sw.rnd = seed ^ 0x5a5a5a5aULL;
	if (pthread_create(&tid, NULL, chaos_swapper_fn, &sw)) {
		fail("chaos: pthread_create");
		_exit(1);
	}
	while (running())
		chaos_step(c);
	pthread_join(tid, NULL);
	if (c->ring_ok)
		chaos_reap(c, true);
	hring_exit(&c->ring);
	close(c->fd);
	for (i = 0; i < CHAOS_BUFS; i++)
		if (c->bufs[i].mapped)
			tbuf_free(&c->bufs[i].tb);
	_exit(atomic_load(&sh->failed) ? 1 : 0);
}

/* --- the test ------------------------------------------------------------------ */

/* Wait up to 10 s (io_uring tears rings down asynchronously) for @cond. */
#define SETTLE(cond) ({							\
	double __t = now_sec() + 10;					\
	while (!(cond) && now_sec() < __t)				\
		usleep(50 * 1000);					\
	(cond);								\
})

FIXTURE(stress) {
	int fd;
	struct pinio_info info;
	struct pin_snap base;
	int64_t pins0;
};

FIXTURE_SETUP(stress)
{
	self->fd = pinio_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", PINIO_DEVICE_PATH, errname(-self->fd));
	ASSERT_OK(pinio_get_info(self->fd, &self->info));
	ASSERT_OK(pin_snap(&self->base));
	self->pins0 = foll_pins_baseline();
}

FIXTURE_TEARDOWN(stress)
{
	if (self->fd >= 0)
		close(self->fd);
}

static bool stats_back(const struct pin_snap *b)
{
	struct pin_snap n;

	return !pin_snap(&n) && n.regions == b->regions &&
	       n.pinned_pages == b->pinned_pages && n.vmpin_kb == b->vmpin_kb;
}

TEST_F_TIMEOUT(stress, mixed_workload, 7200)
{
	unsigned long secs = env_ulong("PINIO_STRESS_SECONDS", 10);
	uint64_t seed = seed_from_env("PINIO_STRESS_SEED");
	pid_t pids[NPROCS + 1];
	uint64_t params[ARRAY_SIZE(flip_params)];
	bool have_param[ARRAY_SIZE(flip_params)];
	uint64_t xfers = 0;
	struct pin_snap now;
	double t0, t1;
	uint8_t *dev, *buf;
	uint32_t h = 0;
	int i, st;

	if (self->info.dev_size < CHAOS_OFF + CHAOS_LEN)
		SKIP(return, "store of %llu bytes is too small",
		     (unsigned long long)self->info.dev_size);
	printf("# seed 0x%" PRIx64 " (PINIO_STRESS_SEED), %lu s (PINIO_STRESS_SECONDS), "
	       "%d processes x %d threads + chaos\n", seed, secs, NPROCS + 1,
	       NTHREADS);
	fflush(stdout);

	for (i = 0; i < (int)ARRAY_SIZE(flip_params); i++)
		have_param[i] = !pinio_param(flip_params[i], &params[i]);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_OK(dev_pread_all(self->fd, sh->shadow, CHECKED_LEN, 0));
	t0 = now_sec();
	sh->deadline = t0 + (double)secs;

	for (i = 0; i <= NPROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			if (i == NPROCS)
				chaos_main(seed);
			run_workers(1 + (i + 1) * NTHREADS, seed, false);
			_exit(atomic_load(&sh->failed) ? 1 : 0);
		}
	}
	run_workers(1, seed, true);
	for (i = 0; i <= NPROCS; i++) {
		st = wait_child(pids[i]);
		if (st && !atomic_load(&sh->failed))
			fail("%s process exited with %d",
			     i == NPROCS ? "chaos" : "worker", st);
	}
	t1 = now_sec();
	for (i = 0; i < (int)ARRAY_SIZE(flip_params); i++) {
		char path[128], val[32];

		if (!have_param[i])
			continue;
		snprintf(path, sizeof(path), PINIO_SYSFS_PARAMS "%s",
			 flip_params[i]);
		snprintf(val, sizeof(val), "%" PRIu64, params[i]);
		write_sysfs_str(path, val);
	}

	for (i = 0; i < NCOUNT; i++)
		if (i <= C_MMAP_WRITE)
			xfers += sh->count[i];
	printf("# stress: %" PRIu64 " checked transfers in %.1f s:", xfers,
	       t1 - t0);
	for (i = 0; i < NCOUNT; i++)
		printf("%s %s=%llu", i % 6 ? "" : "\n#  ", count_names[i],
		       (unsigned long long)sh->count[i]);
	printf("\n");
	fflush(stdout);
	ASSERT_EQ(0, atomic_load(&sh->failed)) TH_LOG("%s", sh->msg);
	ASSERT_LT(0, xfers);

	/* Every byte is what the last completed write put there. */
	dev = malloc(CHECKED_LEN);
	ASSERT_NE(NULL, dev);
	ASSERT_OK(dev_pread_all(self->fd, dev, CHECKED_LEN, 0));
	ASSERT_MEMEQ(sh->shadow, dev, CHECKED_LEN);
	/* And the direct path agrees. */
	buf = mmap(NULL, CHECKED_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_OK(pinio_register(self->fd, buf, CHECKED_LEN,
				 PINIO_REG_DEV_TO_USER, &h));
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, CHECKED_LEN));
	ASSERT_MEMEQ(sh->shadow, buf, CHECKED_LEN);
	ASSERT_OK(pinio_unregister(self->fd, h));
	munmap(buf, CHECKED_LEN);
	free(dev);
	printf("# store verified: %llu bytes in %d slots\n",
	       (unsigned long long)CHECKED_LEN, NSLOTS);

	/* Nothing left pinned or charged, here or anywhere. */
	if (!SETTLE(stats_back(&self->base))) {
		ASSERT_OK(pin_snap(&now));
		ASSERT_PINS(self->base, 0, 0);
	}
	ASSERT_TRUE(SETTLE(foll_pins_outstanding() <= self->pins0))
		TH_LOG("FOLL_PIN pins outstanding: %" PRId64 ", before %" PRId64,
		       foll_pins_outstanding(), self->pins0);
	munmap(sh, sizeof(*sh));
}

/* --- the attached store ------------------------------------------------------- */

#define A_SLOTS		16
#define A_SLOT		(256 * 1024)
#define A_LEN		((uint64_t)A_SLOTS * A_SLOT)
#define A_CHAOS_LEN	(2 * MiB)
#define A_WORKERS	3
#define A_QD		8
#define A_PART		(A_SLOT / A_QD)
_Static_assert(A_LEN <= CHECKED_LEN && A_SLOTS <= NSLOTS,
	       "the attached test reuses the shadow and the slot owners");

static struct pa_disk *a_disk;
static uint64_t a_base;		/* disk offset of the checked region */
static uint32_t a_lbs;

struct aworker {
	int id;
	uint64_t rnd;
	int pfd;
	struct hring ring;
	bool ring_ok;
	uint8_t *buf, *fx, *junk;	/* A_SLOT each */
	uint32_t h, hjunk;
};

static int a_attach(int pfd)
{
	return pa_attach_disk(pfd, a_disk, PINIO_ATTACH_WRITE);
}

/* A new file, attached, with the two registrations. */
static int a_open(struct aworker *w)
{
	int ret;

	w->pfd = pinio_open();
	if (w->pfd < 0)
		return w->pfd;
	ret = a_attach(w->pfd);
	if (!ret)
		ret = pinio_register(w->pfd, w->buf, A_SLOT, PINIO_REG_BIDIR,
				     &w->h);
	if (!ret)
		ret = pinio_register(w->pfd, w->junk, A_SLOT, PINIO_REG_BIDIR,
				     &w->hjunk);
	return ret;
}

static int a_ring(struct aworker *w)
{
	struct iovec iov[2] = { { w->fx, A_SLOT }, { w->junk, A_SLOT } };
	int ret = hring_init(&w->ring, 2 * A_QD, IORING_SETUP_SQE128);

	if (!ret)
		ret = hring_register_buffers(&w->ring, iov, 2);
	w->ring_ok = !ret;
	return ret;
}

/* A random block-aligned span of at most @max bytes inside [0, @room). */
static void a_span(struct aworker *w, uint64_t room, uint64_t max,
		   uint64_t *off, uint64_t *n)
{
	uint64_t blocks = room / a_lbs, mb = max / a_lbs, k;

	k = 1 + rnd_below(&w->rnd, mb < blocks ? mb : blocks);
	*n = k * a_lbs;
	*off = rnd_below(&w->rnd, blocks - k + 1) * a_lbs;
}

static uint64_t a_dev(int slot, uint64_t in_slot)
{
	return a_base + (uint64_t)slot * A_SLOT + in_slot;
}

static void a_check(struct aworker *w, const char *what, const uint8_t *got,
		    int slot, uint64_t in_slot, size_t n)
{
	check_read((struct worker *)&(struct worker){ .id = w->id }, what, got,
		   (uint64_t)slot * A_SLOT + in_slot, n);
}

static void a_wrote(int slot, uint64_t in_slot, const uint8_t *src, size_t n)
{
	wrote((uint64_t)slot * A_SLOT + in_slot, src, n);
}

static void a_ioctl(struct aworker *w, int slot)
{
	bool read = rnd_pct(&w->rnd, 50);
	uint64_t o, n, bo;
	int ret;

	a_span(w, A_SLOT, A_SLOT, &o, &n);
	bo = rnd_below(&w->rnd, (A_SLOT - n) / a_lbs + 1) * a_lbs;
	if (!read)
		pinio_pattern_fill(w->buf + bo, n, a_dev(slot, o),
				   (uint32_t)rnd_next(&w->rnd));
	ret = read ? pinio_read(w->pfd, w->h, bo, a_dev(slot, o), n) :
		     pinio_write(w->pfd, w->h, bo, a_dev(slot, o), n);
	if (ret) {
		fail("attached worker %d: ioctl %s of %" PRIu64 " at %" PRIu64
		     ": %s", w->id, read ? "READ" : "WRITE", n,
		     a_dev(slot, o), errname(-ret));
		return;
	}
	if (read)
		a_check(w, "attached ioctl READ", w->buf + bo, slot, o, n);
	else
		a_wrote(slot, o, w->buf + bo, n);
	count(read ? C_IOCTL_READ : C_IOCTL_WRITE, 1);
}

/* Reads and writes of one slot in one batch, simulated in order. */
static void a_batch(struct aworker *w, int slot)
{
	struct pinio_xfer segs[6];
	uint8_t *sim_buf = malloc(A_SLOT), *sim_slot = malloc(A_SLOT);
	unsigned int k = 1 + (unsigned int)rnd_below(&w->rnd, 6), i;
	uint64_t base = (uint64_t)slot * A_SLOT;
	uint32_t done = 0;
	int ret;

	if (!sim_buf || !sim_slot) {
		fail("out of memory");
		goto out;
	}
	pinio_pattern_fill(w->buf, A_SLOT, base, (uint32_t)rnd_next(&w->rnd));
	memcpy(sim_buf, w->buf, A_SLOT);
	memcpy(sim_slot, sh->shadow + base, A_SLOT);
	for (i = 0; i < k; i++) {
		bool rd = rnd_pct(&w->rnd, 50);
		uint64_t o, n, bo;

		a_span(w, A_SLOT, 64 * KiB, &o, &n);
		bo = rnd_below(&w->rnd, (A_SLOT - n) / a_lbs + 1) * a_lbs;
		segs[i] = pinio_seg(w->h, rd ? PINIO_OP_READ : PINIO_OP_WRITE,
				    bo, a_dev(slot, o), n);
		if (rd)
			memcpy(sim_buf + bo, sim_slot + o, n);
		else
			memcpy(sim_slot + o, sim_buf + bo, n);
	}
	ret = pinio_batch(w->pfd, segs, k, &done);
	if (ret || done != k) {
		fail("attached worker %d: batch of %u: %s, completed %u", w->id,
		     k, errname(-ret), done);
		goto out;
	}
	if (mem_find_mismatch(sim_buf, w->buf, A_SLOT) >= 0) {
		fail("attached worker %d: batch of %u: the buffer is not what "
		     "the segments put there", w->id, k);
		goto out;
	}
	memcpy(sh->shadow + base, sim_slot, A_SLOT);
	count(C_BATCH, 1);
	count(C_BYTES_CHECKED, A_SLOT);
out:
	free(sim_buf);
	free(sim_slot);
}

/* Buffered pread/pwrite through the attached file: no alignment rule. */
static void a_buffered(struct aworker *w, int slot)
{
	bool read = rnd_pct(&w->rnd, 50);
	uint64_t n = 1 + rnd_below(&w->rnd, 64 * KiB);
	uint64_t o = rnd_below(&w->rnd, A_SLOT - n + 1);
	int ret;

	if (!read)
		pinio_pattern_fill(w->buf, n, a_dev(slot, o),
				   (uint32_t)rnd_next(&w->rnd));
	ret = read ? dev_pread_all(w->pfd, w->buf, n, a_dev(slot, o)) :
		     dev_pwrite_all(w->pfd, w->buf, n, a_dev(slot, o));
	if (ret) {
		fail("attached worker %d: %s of %" PRIu64 ": %s", w->id,
		     read ? "pread" : "pwrite", n, errname(-ret));
		return;
	}
	if (read)
		a_check(w, "attached pread", w->buf, slot, o, n);
	else
		a_wrote(slot, o, w->buf, n);
	count(read ? C_PREAD : C_PWRITE, 1);
}

/*
 * Up to A_QD commands on disjoint parts of the slot, then maybe
 * unregister, DETACH or close with them in flight: each completes in
 * full, against the disk.
 */
static void a_uring(struct aworker *w, int slot)
{
	unsigned int k = 1 + (unsigned int)rnd_below(&w->rnd, A_QD), i;
	unsigned int what = (unsigned int)rnd_below(&w->rnd, 100);
	struct {
		bool read, fixed, async;
		uint64_t o, n;
		uint8_t *mem;
	} c[A_QD];
	struct io_uring_cqe cqe;
	bool seen[A_QD] = { false };
	int ret;

	for (i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = hring_sqe(&w->ring);
		struct pinio_uring_cmd pc = { 0 };
		uint64_t po;

		a_span(w, A_PART, A_PART, &po, &c[i].n);
		c[i].o = i * A_PART + po;
		c[i].read = rnd_pct(&w->rnd, 50);
		c[i].fixed = rnd_pct(&w->rnd, 40);
		c[i].mem = (c[i].fixed ? w->fx : w->buf) + c[i].o;
		if (!c[i].read)
			pinio_pattern_fill(c[i].mem, c[i].n, a_dev(slot, c[i].o),
					   (uint32_t)rnd_next(&w->rnd));
		pc.dev_offset = a_dev(slot, c[i].o);
		pc.len = c[i].n;
		if (c[i].fixed)
			pc.addr = (uintptr_t)c[i].mem;
		else
			pc.handle = w->h, pc.buf_offset = c[i].o;
		hring_prep_cmd(&w->ring, sqe, w->pfd, c[i].read ?
			       PINIO_URING_CMD_READ : PINIO_URING_CMD_WRITE,
			       &pc, sizeof(pc), i,
			       c[i].fixed ? IORING_URING_CMD_FIXED : 0, 0);
		/*
		 * IOSQE_ASYNC reaches the driver only when io-wq issues it,
		 * maybe after an unregister (ENOENT then) or a DETACH (RAM
		 * then) below: not with those. A closed file stays attached
		 * while io_uring holds it.
		 */
		c[i].async = what >= 30 && rnd_pct(&w->rnd, 20);
		if (c[i].async)
			sqe->flags |= IOSQE_ASYNC;
	}
	ret = hring_submit(&w->ring, 0);
	if (ret != (int)k) {
		fail("attached worker %d: io_uring submit: %d", w->id, ret);
		return;
	}
	if (what < 15) {
		ret = pinio_unregister(w->pfd, w->h);
		if (!ret)
			ret = pinio_register(w->pfd, w->buf, A_SLOT,
					     PINIO_REG_BIDIR, &w->h);
		if (ret)
			fail("attached worker %d: unregister/register in flight: %s",
			     w->id, errname(-ret));
		count(C_URING_UNREG_INFLIGHT, 1);
		count(C_UNREGISTER, 1);
	} else if (what < 30) {
		ret = pa_detach(w->pfd);
		if (ret)
			fail("attached worker %d: DETACH in flight: %s", w->id,
			     errname(-ret));
		count(C_DETACH_INFLIGHT, 1);
	} else if (what < 38) {
		close(w->pfd);
		w->pfd = -1;
		count(C_CLOSE_INFLIGHT, 1);
	}
	for (i = 0; i < k; i++) {
		unsigned int j;

		ret = hring_wait(&w->ring, &cqe);
		j = (unsigned int)cqe.user_data;
		if (ret || j >= k || seen[j]) {
			fail("attached worker %d: io_uring wait: %s, user_data %u",
			     w->id, errname(-ret), j);
			return;
		}
		seen[j] = true;
		if (cqe.res != (int)c[j].n) {
			fail("attached worker %d: uring %s%s of %" PRIu64 " at %"
			     PRIu64 "%s: res %d", w->id,
			     c[j].fixed ? "fixed " : "",
			     c[j].read ? "read" : "write", c[j].n,
			     a_dev(slot, c[j].o),
			     what < 15 ? " (unregistered in flight)" :
			     what < 30 ? " (detached in flight)" :
			     what < 38 ? " (file closed in flight)" : "",
			     cqe.res);
			return;
		}
		count(c[j].fixed ? (c[j].read ? C_FIXED_READ : C_FIXED_WRITE) :
		      (c[j].read ? C_URING_READ : C_URING_WRITE), 1);
	}
	for (i = 0; i < k; i++) {
		char desc[128];

		snprintf(desc, sizeof(desc), "attached %s read (%u of %u%s%s)",
			 c[i].fixed ? "fixed" : "uring", i, k,
			 c[i].async ? ", IOSQE_ASYNC" : "",
			 what < 15 ? ", unregistered in flight" :
			 what < 30 ? ", detached in flight" :
			 what < 38 ? ", file closed in flight" : "");
		if (c[i].read)
			a_check(w, desc, c[i].mem, slot, c[i].o, c[i].n);
		else
			a_wrote(slot, c[i].o, c[i].mem, c[i].n);
	}
	if (what >= 15 && what < 30) {
		ret = a_attach(w->pfd);
		if (ret)
			fail("attached worker %d: attach again: %s", w->id,
			     errname(-ret));
		count(C_REATTACH, 1);
	} else if (what >= 30 && what < 38) {
		ret = a_open(w);
		if (ret)
			fail("attached worker %d: reopen: %s", w->id,
			     errname(-ret));
		count(C_CLOSE, 1);
	}
}

/* The ring closed with reads in flight (into buffers nothing else uses). */
static void a_ring_teardown(struct aworker *w, int slot)
{
	unsigned int k = 1 + (unsigned int)rnd_below(&w->rnd, A_QD), i;
	int ret;

	for (i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = hring_sqe(&w->ring);
		struct pinio_uring_cmd pc = { 0 };
		bool fixed = rnd_pct(&w->rnd, 50);
		uint64_t o, n;

		a_span(w, A_SLOT, 64 * KiB, &o, &n);
		pc.dev_offset = a_dev(slot, o);
		pc.len = n;
		if (fixed)
			pc.addr = (uintptr_t)w->junk + o;
		else
			pc.handle = w->hjunk, pc.buf_offset = o;
		hring_prep_cmd(&w->ring, sqe, w->pfd, PINIO_URING_CMD_READ, &pc,
			       sizeof(pc), i, fixed ? IORING_URING_CMD_FIXED : 0,
			       fixed ? 1 : 0);
	}
	if (hring_submit(&w->ring, 0) != (int)k)
		fail("attached worker %d: io_uring submit", w->id);
	hring_exit(&w->ring);
	ret = a_ring(w);
	if (ret)
		fail("attached worker %d: new ring: %s", w->id, errname(-ret));
	count(C_RING_TEARDOWN, 1);
}

/* A child: its own registration, the inherited attached file. */
static void a_fork(struct aworker *w, int slot)
{
	pid_t pid = fork();

	if (pid < 0) {
		count(C_FORK_FAILED, 1);
		return;
	}
	if (pid == 0) {
		struct aworker cw = *w;
		int i;

		cw.id = 1000000 + getpid();
		cw.buf = mmap(NULL, A_SLOT, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (cw.buf == MAP_FAILED ||
		    pinio_register(cw.pfd, cw.buf, A_SLOT, PINIO_REG_BIDIR,
				   &cw.h)) {
			fail("attached child: register");
			_exit(1);
		}
		for (i = 0; i < 4 && running(); i++)
			a_ioctl(&cw, slot);
		_exit(atomic_load(&sh->failed) ? 1 : 0);
	}
	if (wait_child(pid) && !atomic_load(&sh->failed))
		fail("attached worker %d: child failed", w->id);
	count(C_FORK, 1);
}

static int a_slot_take(struct aworker *w)
{
	int i, s0 = (int)rnd_below(&w->rnd, A_SLOTS);

	for (i = 0; i < A_SLOTS; i++) {
		int s = (s0 + i) % A_SLOTS, zero = 0;

		if (atomic_compare_exchange_strong(&sh->owner[s], &zero,
						   w->id))
			return s;
	}
	return -1;
}

static void *a_worker_main(void *arg)
{
	struct aworker *w = arg;
	int ret;

	w->buf = pa_alloc(A_SLOT);
	w->fx = pa_alloc(A_SLOT);
	w->junk = pa_alloc(A_SLOT);
	w->ring.fd = -1;
	if (!w->buf || !w->fx || !w->junk) {
		fail("attached worker %d: out of memory", w->id);
		return NULL;
	}
	ret = a_open(w);
	if (!ret)
		ret = a_ring(w);
	if (ret) {
		fail("attached worker %d: setup: %s", w->id, errname(-ret));
		return NULL;
	}
	while (running() && w->pfd >= 0) {
		int slot = a_slot_take(w);
		unsigned int a = (unsigned int)rnd_below(&w->rnd, 100), k;

		if (slot < 0) {
			sched_yield();
			continue;
		}
		for (k = 1 + (unsigned int)rnd_below(&w->rnd, 3); k > 0 &&
		     running() && w->pfd >= 0; k--) {
			if (a < 25)
				a_ioctl(w, slot);
			else if (a < 35)
				a_batch(w, slot);
			else if (a < 45)
				a_buffered(w, slot);
			else if (a < 90)
				a_uring(w, slot);
			else if (a < 96)
				a_ring_teardown(w, slot);
			else
				a_fork(w, slot);
			a = (unsigned int)rnd_below(&w->rnd, 100);
		}
		{
			struct worker tw = { .id = w->id };

			slot_give(&tw, slot);
		}
	}
	hring_exit(&w->ring);
	if (w->pfd >= 0)
		close(w->pfd);
	pa_free(w->buf, A_SLOT);
	pa_free(w->fx, A_SLOT);
	pa_free(w->junk, A_SLOT);
	return NULL;
}

/*
 * Chaos on its own file and its own part of the disk: attach, detach and
 * flush from one thread under the other's transfers; outcomes unknowable,
 * every errno must be a documented one.
 */
struct achaos {
	int pfd;
	uint64_t rnd;
	uint8_t *buf;
	uint32_t h;
};

static void *a_chaos_attacher(void *arg)
{
	static const int errs[] = { EBUSY, ENXIO, 0 };
	struct achaos *c = arg;
	uint64_t rnd = c->rnd ^ 0xa77ac4ULL;

	while (running()) {
		unsigned int a = (unsigned int)rnd_below(&rnd, 100);

		if (a < 45)
			chaos_check("attach", a_attach(c->pfd), errs);
		else if (a < 90)
			chaos_check("detach", pa_detach(c->pfd), errs);
		else
			chaos_check("flush", pa_flush(c->pfd), errs);
		count(C_CHAOS_ATTACH, 1);
		usleep((useconds_t)rnd_below(&rnd, 2000));
	}
	return NULL;
}

static void a_chaos(struct achaos *c, struct hring *r)
{
	/* EINVAL: unaligned on the disk, or past the end of RAM. */
	static const int errs[] = { EINVAL, 0 };
	uint64_t base = a_base + A_LEN;
	uint64_t n = 1 + rnd_below(&c->rnd, 128 * KiB);
	uint64_t o = base + rnd_below(&c->rnd, A_CHAOS_LEN - n - 4096);
	uint64_t bo = rnd_below(&c->rnd, A_SLOT - n + 1);
	struct io_uring_cqe cqe;
	unsigned int a = (unsigned int)rnd_below(&c->rnd, 100), i, k;
	int ret;

	if (rnd_pct(&c->rnd, 70)) {	/* mostly valid on the disk */
		n = (n + a_lbs - 1) / a_lbs * a_lbs;
		o = o / a_lbs * a_lbs;
		bo = bo / a_lbs * a_lbs;
		if (bo + n > A_SLOT)
			bo = 0;
	}
	if (a < 40) {
		ret = rnd_pct(&c->rnd, 50) ? pinio_read(c->pfd, c->h, bo, o, n) :
					     pinio_write(c->pfd, c->h, bo, o, n);
		chaos_check("attached ioctl", ret, errs);
		return;
	}
	k = 1 + (unsigned int)rnd_below(&c->rnd, A_QD);
	for (i = 0; i < k; i++) {
		struct pinio_uring_cmd pc = { .handle = c->h, .buf_offset = bo,
					      .dev_offset = o, .len = n };
		struct io_uring_sqe *sqe = hring_sqe(r);

		hring_prep_cmd(r, sqe, c->pfd, rnd_pct(&c->rnd, 50) ?
			       PINIO_URING_CMD_READ : PINIO_URING_CMD_WRITE,
			       &pc, sizeof(pc), n, 0, 0);
	}
	if (hring_submit(r, 0) != (int)k) {
		fail("attached chaos: io_uring submit");
		return;
	}
	for (i = 0; i < k; i++) {
		if (hring_wait(r, &cqe)) {
			fail("attached chaos: io_uring wait");
			return;
		}
		if (cqe.res != (int)cqe.user_data)
			chaos_check("attached uring", cqe.res, errs);
		else
			count(C_CHAOS_OPS, 1);
	}
}

FIXTURE(astress) {
	struct pa_disk d;
	struct pin_snap base;
	int64_t pins0;
};

FIXTURE_SETUP(astress)
{
	int fd = pinio_open(), ret;

	self->d.dfd = -1;
	ASSERT_LE(0, fd);
	if (!pa_have_attach(fd)) {
		close(fd);
		SKIP(return, "driver without PINIO_FEAT_ATTACH");
	}
	close(fd);
	ret = pa_disk_get(&self->d, "PINIO_NVME512", 0);
	if (ret == -ENOENT)
		SKIP(return, "PINIO_NVME512 is not set: no such disk");
	ASSERT_OK(ret);
	ASSERT_OK(pin_snap(&self->base));
	self->pins0 = foll_pins_baseline();
}

FIXTURE_TEARDOWN(astress)
{
	pa_disk_put(&self->d);
}

TEST_F_TIMEOUT(astress, attached_store, 7200)
{
	unsigned long secs = env_ulong("PINIO_STRESS_SECONDS", 10);
	uint64_t seed = seed_from_env("PINIO_STRESS_SEED");
	struct aworker ws[A_WORKERS];
	pthread_t tids[A_WORKERS], ctid;
	struct achaos c = { 0 };
	struct hring cr;
	uint64_t xfers = 0;
	uint8_t *dev;
	int64_t sc;
	uint32_t h = 0;
	int i, fd;

	sc = pa_scratch(&self->d, A_LEN + A_CHAOS_LEN);
	ASSERT_LE(0, sc);
	a_disk = &self->d;
	a_base = (uint64_t)sc;
	a_lbs = self->d.lbs;
	printf("# seed 0x%" PRIx64 " (PINIO_STRESS_SEED), %lu s, %d attached workers + chaos on %s [%" PRIu64 ", +%" PRIu64 ")\n",
	       seed, secs, A_WORKERS, self->d.path, a_base, A_LEN);
	fflush(stdout);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	pinio_pattern_fill(sh->shadow, A_LEN, a_base, (uint32_t)seed);
	ASSERT_OK(pa_dfill(&self->d, a_base, A_LEN, (uint32_t)seed));
	sh->deadline = now_sec() + (double)secs;

	c.rnd = seed ^ 0xc4a05ULL;
	c.pfd = pinio_open();
	ASSERT_LE(0, c.pfd);
	c.buf = pa_alloc(A_SLOT);
	ASSERT_NE(NULL, c.buf);
	ASSERT_OK(pinio_register(c.pfd, c.buf, A_SLOT, PINIO_REG_BIDIR, &c.h));
	ASSERT_OK(hring_init(&cr, 2 * A_QD, IORING_SETUP_SQE128));
	ASSERT_EQ(0, pthread_create(&ctid, NULL, a_chaos_attacher, &c));
	for (i = 0; i < A_WORKERS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].id = 1 + i;
		ws[i].rnd = seed ^ (0x1000193ULL * (uint64_t)(i + 1));
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, a_worker_main,
					    &ws[i]));
	}
	while (running())
		a_chaos(&c, &cr);
	for (i = 0; i < A_WORKERS; i++)
		pthread_join(tids[i], NULL);
	pthread_join(ctid, NULL);
	hring_exit(&cr);
	close(c.pfd);

	for (i = 0; i < NCOUNT; i++)
		if (i <= C_MMAP_WRITE)
			xfers += sh->count[i];
	printf("# attached stress: %" PRIu64 " checked transfers:", xfers);
	for (i = 0; i < NCOUNT; i++)
		if (sh->count[i])
			printf(" %s=%llu", count_names[i],
			       (unsigned long long)sh->count[i]);
	printf("\n");
	fflush(stdout);
	ASSERT_EQ(0, atomic_load(&sh->failed)) TH_LOG("%s", sh->msg);
	ASSERT_LT(0, xfers);

	/* The disk, read by the test itself, is what the last writes put there. */
	dev = pa_alloc(A_LEN);
	ASSERT_NE(NULL, dev);
	ASSERT_OK(pa_dread(&self->d, dev, A_LEN, a_base));
	ASSERT_MEMEQ(sh->shadow, dev, A_LEN);
	/* And pinio's direct read of it agrees. */
	memset(dev, 0, A_LEN);
	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(a_attach(fd));
	ASSERT_OK(pinio_register(fd, dev, A_LEN, PINIO_REG_DEV_TO_USER, &h));
	ASSERT_OK(pinio_read(fd, h, 0, a_base, A_LEN));
	ASSERT_MEMEQ(sh->shadow, dev, A_LEN);
	close(fd);
	pa_free(dev, A_LEN);
	pa_free(c.buf, A_SLOT);
	printf("# disk verified: %llu bytes in %d slots\n",
	       (unsigned long long)A_LEN, A_SLOTS);

	if (!SETTLE(stats_back(&self->base)))
		ASSERT_PINS(self->base, 0, 0);
	ASSERT_TRUE(SETTLE(foll_pins_outstanding() <= self->pins0))
		TH_LOG("FOLL_PIN pins outstanding: %" PRId64 ", before %" PRId64,
		       foll_pins_outstanding(), self->pins0);
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
