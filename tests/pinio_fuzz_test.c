// SPDX-License-Identifier: GPL-2.0
/*
 * pinio fuzzer: random and mutated arguments for every ioctl (garbage and
 * half-mapped argument pointers, huge lengths, reserved bits, stale handles,
 * random command numbers in the 0xB9 range), random io_uring command
 * payloads, unregister and file swaps racing from another thread, and the
 * buffered, lseek and mmap entry points.
 *
 * The real assertion is the errno: every call must succeed or fail with an
 * errno the ABI documents for it. Where the state is known (one thread) the
 * fuzzer computes the exact expected result from uapi/linux/pinio.h's rules
 * and checks that too. All user memory the device may write is a private
 * arena, so a wrong success cannot corrupt the fuzzer. At the end of each
 * test nothing may be left pinned or charged.
 *
 * The attached store (issue 9): PINIO_IOC_ATTACH with fds of every kind
 * (the disk read-write, read-only, write-only, O_APPEND and O_PATH, pipes,
 * sockets, /dev/null, a directory, pinio files, closed and garbage fds),
 * random flags and reserved fields; DETACH and FLUSH in every state, and
 * PINIO_URING_CMD_FLUSH with random payloads. While a store is attached,
 * the transfers are checked against its rules too (block size, read-only
 * store). The disk is PINIO_NVME512; without it, only the fds that are no
 * disk are tried.
 *
 * Environment: PINIO_FUZZ_ITERS (calls per test, default 3000),
 * PINIO_FUZZ_SEED (printed; set it to replay a run), PINIO_NVME512.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "pinio_test_util.h"
#include "pinio_hardening.h"
#include "pinio_attach_util.h"

#define ARENA_LEN	(8 * MiB)
#define RW_OFF		0
#define RW_LEN		(256 * KiB)	/* also io_uring fixed buffer 0 */
#define UT_OFF		(512 * KiB)	/* never touched until registered */
#define UT_LEN		(64 * KiB)
#define RO_OFF		(1 * MiB)
#define RO_LEN		(16 * KiB)
#define MFD_OFF		(1536 * KiB)
#define MFD_LEN		(64 * KiB)
#define ARGS_OFF	(2 * MiB)	/* ioctl structures and batch arrays */
#define ARGS_LEN	(64 * KiB)
#define AROP_OFF	(2 * MiB + 128 * KiB)	/* one read-only page */
#define HOLE_OFF	(6 * MiB)	/* unmapped */
#define HOLE_LEN	(64 * KiB)
#define TASK_TOP	0x7ffffffff000ULL
#define STALE_MAX	64

enum { R_RW, R_UT, R_RO, R_MFD, NREGIONS };

struct region {
	uint64_t start, len;
	bool writable;
};

struct live {
	bool used;
	uint32_t flags;
	uint64_t len;
	uint64_t addr;
};

/* The kinds of fd PINIO_IOC_ATTACH is given. */
enum kfd {
	K_DISK_RW, K_DISK_RO, K_DISK_WO, K_DISK_APPEND, K_DISK_PATH,
	K_PIPE_R, K_PIPE_W, K_SOCK, K_NULL, K_DIR, K_PINIO, K_SELF,
	K_CLOSED, K_NEG, K_GARBAGE, NKFD
};

/* The results allowed for one call: the ABI gives no order among errors. */
struct want {
	int n;
	long v[6];
};

static void want_add(struct want *w, long v)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (w->v[i] == v)
			return;
	if (w->n < (int)ARRAY_SIZE(w->v))
		w->v[w->n++] = v;
}

struct fuzz {
	uint64_t rnd;
	int fd;
	size_t ps;
	uint64_t dev_size;
	uint8_t *arena;
	struct region regions[NREGIONS];
	struct live live[PINIO_MAX_REGIONS + 1];
	unsigned int nlive;
	uint32_t stale[STALE_MAX];
	unsigned int nstale;
	bool exact;		/* single thread: the expected result is known */
	atomic_ulong calls, ok, errs, exact_checks;
	unsigned long by_errno[160];
	int memfd;
	/* the attached store */
	bool have_attach;	/* PINIO_FEAT_ATTACH */
	bool have_disk;
	struct pa_disk disk;
	uint64_t ram_size;
	bool attached;
	uint32_t attach_flags;
	uint32_t bs;		/* block_size: 1 for RAM */
	int kfd[NKFD];
	atomic_ulong attaches;
	/* results */
	atomic_int failed;
	char msg[512];
};

static void fz_fail(struct fuzz *f, const char *fmt, ...)
{
	int zero = 0;
	va_list ap;

	if (!atomic_compare_exchange_strong(&f->failed, &zero, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/*
 * One call's verdict: @ret (0/count or -errno) must be allowed by @set
 * and, when @expect is not 1 and the state is known, equal to it.
 */
static void verdict(struct fuzz *f, const char *what, long ret,
		    const int *set, long expect)
{
	atomic_fetch_add(&f->calls, 1);
	if (ret < 0) {
		atomic_fetch_add(&f->errs, 1);
		if (-ret < 160)
			f->by_errno[-ret]++;
		if (!errno_in((int)-ret, set)) {
			fz_fail(f, "%s: %s is not a documented errno for it",
				what, errname((int)-ret));
			return;
		}
	} else {
		atomic_fetch_add(&f->ok, 1);
	}
	if (f->exact && expect != 1) {
		atomic_fetch_add(&f->exact_checks, 1);
		if ((expect < 0 || ret < 0) ? ret != expect : expect != 0 &&
		    ret != expect)
			fz_fail(f, "%s: expected %s, got %s (%ld)", what,
				expect < 0 ? errname((int)-expect) : "success",
				ret < 0 ? errname((int)-ret) : "success", ret);
	}
}

/* The same, with a set of allowed results (0 for success) when exact. */
static void verdict_any(struct fuzz *f, const char *what, long ret,
			const int *set, const struct want *w)
{
	long r = ret > 0 ? 0 : ret;
	int i;

	verdict(f, what, ret, set, 1);
	if (!f->exact || !w->n)
		return;
	for (i = 0; i < w->n; i++)
		if (w->v[i] == r)
			return;
	fz_fail(f, "%s: got %s, expected %s%s%s%s%s", what,
		r ? errname((int)-r) : "success",
		w->v[0] ? errname((int)-w->v[0]) : "success",
		w->n > 1 ? " or " : "",
		w->n > 1 ? (w->v[1] ? errname((int)-w->v[1]) : "success") : "",
		w->n > 2 ? " or " : "",
		w->n > 2 ? (w->v[2] ? errname((int)-w->v[2]) : "success") : "");
}

/* --- the arena ---------------------------------------------------------------- */

static int arena_setup(struct fuzz *f)
{
	uint8_t *a;
	void *p;

	a = mmap(NULL, ARENA_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return -errno;
	f->arena = a;
#define FIX(off, len, prot) \
	mmap(a + (off), (len), (prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
	if (FIX(RW_OFF, RW_LEN, PROT_READ | PROT_WRITE) == MAP_FAILED ||
	    FIX(UT_OFF, UT_LEN, PROT_READ | PROT_WRITE) == MAP_FAILED ||
	    FIX(RO_OFF, RO_LEN, PROT_READ | PROT_WRITE) == MAP_FAILED ||
	    FIX(ARGS_OFF, ARGS_LEN, PROT_READ | PROT_WRITE) == MAP_FAILED ||
	    FIX(AROP_OFF, f->ps, PROT_READ | PROT_WRITE) == MAP_FAILED)
		return -errno;
#undef FIX
	memset(a + RW_OFF, 0x11, RW_LEN);
	memset(a + RO_OFF, 0x22, RO_LEN);
	if (mprotect(a + RO_OFF, RO_LEN, PROT_READ))
		return -errno;
	f->memfd = memfd_create("pinio-fuzz", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, MFD_LEN))
		return -errno;
	p = mmap(a + MFD_OFF, MFD_LEN, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, f->memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	memset(p, 0x33, MFD_LEN);
	f->regions[R_RW] = (struct region){ (uintptr_t)a + RW_OFF, RW_LEN, true };
	f->regions[R_UT] = (struct region){ (uintptr_t)a + UT_OFF, UT_LEN, true };
	f->regions[R_RO] = (struct region){ (uintptr_t)a + RO_OFF, RO_LEN, false };
	f->regions[R_MFD] = (struct region){ (uintptr_t)a + MFD_OFF, MFD_LEN, true };
	return 0;
}

/*
 * The hole stays PROT_NONE except during a fuzzed call, when it is really
 * unmapped: left unmapped, a later mmap(NULL) of ours (an io_uring ring)
 * could land in it and turn "unmapped" into our own memory.
 */
static void hole_punch(struct fuzz *f)
{
	munmap(f->arena + HOLE_OFF, HOLE_LEN);
}

static void hole_fill(struct fuzz *f)
{
	if (mmap(f->arena + HOLE_OFF, HOLE_LEN, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		fz_fail(f, "cannot refill the hole: %s", errname(errno));
}

#define IN_HOLE(f, expr) ({						\
	long __r;							\
	hole_punch(f);							\
	__r = (expr);							\
	hole_fill(f);							\
	__r;								\
})

static void arena_free(struct fuzz *f)
{
	if (f->arena)
		munmap(f->arena, ARENA_LEN);
	if (f->memfd >= 0)
		close(f->memfd);
	f->arena = NULL;
	f->memfd = -1;
}

static bool in_arena(const struct fuzz *f, uint64_t a)
{
	return a >= (uintptr_t)f->arena && a < (uintptr_t)f->arena + ARENA_LEN;
}

/* Is the page holding @a mapped in this process? */
static bool page_mapped(const struct fuzz *f, uint64_t a)
{
	uint64_t pa = a & ~((uint64_t)f->ps - 1);

	if (a >= TASK_TOP)
		return false;
	return !msync((void *)(uintptr_t)pa, f->ps, MS_ASYNC) || errno != ENOMEM;
}

/* A length: mostly small, sometimes at or past every limit. */
static uint64_t rand_len(struct fuzz *f, uint64_t typical)
{
	uint64_t *s = &f->rnd;

	switch (rnd_below(s, 16)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return f->ps - 1 + rnd_below(s, 3);
	case 3: return PINIO_MAX_REGION_LEN + rnd_below(s, 2);
	case 4: return 1ULL << (31 + rnd_below(s, 33));
	case 5: return UINT64_MAX - rnd_below(s, 4096);
	case 6: return rnd_next(s);
	case 7: return (uint32_t)rnd_next(s);
	default: return 1 + rnd_below(s, typical);
	}
}

/*
 * A user address for a buffer: inside a region of the arena (often), at a
 * region's end, in a PROT_NONE gap, in the hole, or garbage that is
 * certainly not mapped (checked), never any other memory of ours.
 */
static uint64_t rand_uaddr(struct fuzz *f, int *region)
{
	uint64_t *s = &f->rnd;
	uint64_t a;
	int r = -1;

	switch (rnd_below(s, 20)) {
	case 0 ... 5:
		r = R_RW;
		break;
	case 6 ... 7:
		r = R_UT;
		break;
	case 8 ... 9:
		r = R_RO;
		break;
	case 10 ... 11:
		r = R_MFD;
		break;
	case 12:
		r = (int)rnd_below(s, NREGIONS);
		a = f->regions[r].start + f->regions[r].len - 1 -
		    rnd_below(s, 2 * f->ps);
		*region = r;
		return a;
	case 13:	/* the PROT_NONE gap after RW */
		a = (uintptr_t)f->arena + RW_LEN + rnd_below(s, 64 * KiB);
		*region = -1;
		return a;
	case 14:
		a = (uintptr_t)f->arena + HOLE_OFF + rnd_below(s, HOLE_LEN);
		*region = -1;
		return a;
	case 15:
		a = rnd_below(s, 2 * f->ps);
		break;
	case 16:
		a = KERNEL_ADDR + rnd_below(s, 1 << 20);
		break;
	case 17:
		a = (1ULL << 47) + rnd_below(s, 1 << 20) - (1 << 19);
		break;
	case 18:
		a = TASK_TOP - rnd_below(s, 3 * f->ps);
		break;
	default:
		a = rnd_next(s);
		if (rnd_pct(s, 50))
			a &= (1ULL << 47) - 1;
		break;
	}
	if (r >= 0) {
		*region = r;
		return f->regions[r].start + rnd_below(s, f->regions[r].len);
	}
	*region = -1;
	if (page_mapped(f, a) && !in_arena(f, a))
		a = (uintptr_t)f->arena + HOLE_OFF;	/* never our memory */
	return a;
}

/* --- argument placement --------------------------------------------------------- */

enum argmode { A_OK, A_RO, A_STRADDLE, A_NULL, A_KERNEL, A_HOLE, A_NONE,
	       A_RANDOM, NARGMODES };

static enum argmode rand_argmode(struct fuzz *f)
{
	return rnd_pct(&f->rnd, 80) ? A_OK :
	       (enum argmode)(1 + rnd_below(&f->rnd, NARGMODES - 1));
}

/*
 * Put @len bytes of @src where mode @m says and return the address to pass
 * to the kernel. @slot picks one of two areas of ARGS so a batch's struct
 * and its array do not overlap.
 */
static void *arg_place(struct fuzz *f, enum argmode m, const void *src,
		       size_t len, int slot)
{
	uint8_t *args = f->arena + ARGS_OFF, *ro = f->arena + AROP_OFF, *p;
	uint64_t a;
	size_t k;

	switch (m) {
	case A_OK:
		if (slot == 0)
			p = args + rnd_below(&f->rnd, 4096 - len + 1);
		else
			p = args + 8192 + rnd_below(&f->rnd, ARGS_LEN - 8192 -
						    len + 1);
		memcpy(p, src, len);
		return p;
	case A_RO:	/* two halves, so a batch and its array both fit */
		if (mprotect(ro, f->ps, PROT_READ | PROT_WRITE))
			return NULL;
		p = ro + (slot ? f->ps / 2 : 0) +
		    rnd_below(&f->rnd, f->ps / 2 - len + 1);
		memcpy(p, src, len);
		mprotect(ro, f->ps, PROT_READ);
		return p;
	case A_STRADDLE:	/* runs off the end of ARGS into PROT_NONE */
		k = 1 + rnd_below(&f->rnd, len > 1 ? len - 1 : 1);
		p = args + ARGS_LEN - k;
		memcpy(p, src, k);
		return p;
	case A_NULL:
		return (void *)(uintptr_t)rnd_below(&f->rnd, 64);
	case A_KERNEL:
		return (void *)(uintptr_t)(KERNEL_ADDR + rnd_below(&f->rnd, 4096));
	case A_HOLE:
		return f->arena + HOLE_OFF + rnd_below(&f->rnd, HOLE_LEN - len);
	case A_NONE:
		return f->arena + RW_LEN + rnd_below(&f->rnd, 64 * KiB);
	default:
		a = rnd_next(&f->rnd);
		if (page_mapped(f, a) || page_mapped(f, a + len - 1))
			a = (uintptr_t)f->arena + HOLE_OFF;
		return (void *)(uintptr_t)a;
	}
}

/* The pointer faults for a copy_from_user of the whole struct. */
static bool arg_bad_read(enum argmode m)
{
	return m != A_OK && m != A_RO;
}

/* --- handles ---------------------------------------------------------------------- */

static uint32_t rand_handle(struct fuzz *f)
{
	uint64_t *s = &f->rnd;
	unsigned int i, k;

	switch (rnd_below(s, 10)) {
	case 0 ... 5:
		if (!f->nlive)
			break;
		k = (unsigned int)rnd_below(s, f->nlive);
		for (i = 1; i <= PINIO_MAX_REGIONS; i++)
			if (f->live[i].used && k-- == 0)
				return i;
		break;
	case 6 ... 7:
		if (f->nstale)
			return f->stale[rnd_below(s, f->nstale)];
		break;
	case 8:
		return (uint32_t)rnd_below(s, 3) == 0 ? 0 :
		       PINIO_MAX_REGIONS + (uint32_t)rnd_below(s, 3);
	default:
		return (uint32_t)rnd_next(s);
	}
	return 1 + (uint32_t)rnd_below(s, 40);
}

static void live_add(struct fuzz *f, uint32_t h, uint32_t flags, uint64_t len,
		     uint64_t addr)
{
	if (!h || h > PINIO_MAX_REGIONS || f->live[h].used) {
		if (f->exact)
			fz_fail(f, "REGISTER returned handle %u (%s)", h,
				h && h <= PINIO_MAX_REGIONS ? "already live" :
				"out of range");
		return;
	}
	f->live[h] = (struct live){ true, flags, len, addr };
	f->nlive++;
}

static void live_del(struct fuzz *f, uint32_t h)
{
	if (h && h <= PINIO_MAX_REGIONS && f->live[h].used) {
		f->live[h].used = false;
		f->nlive--;
	}
	if (f->nstale < STALE_MAX)
		f->stale[f->nstale++] = h;
	else
		f->stale[rnd_below(&f->rnd, STALE_MAX)] = h;
}

static void live_clear(struct fuzz *f)
{
	unsigned int i;

	for (i = 1; i <= PINIO_MAX_REGIONS; i++)
		if (f->live[i].used)
			live_del(f, i);
}

/* --- expected results from the ABI's rules ----------------------------------------- */

static long expect_register(struct fuzz *f, const struct pinio_region *r,
			    int region)
{
	uint64_t end;
	const struct region *g;

	if (r->reserved[0] || r->reserved[1])
		return -EINVAL;
	if (!r->flags || (r->flags & ~PINIO_REG_BIDIR))
		return -EINVAL;
	if (!r->len || r->len > PINIO_MAX_REGION_LEN)
		return -EINVAL;
	if (__builtin_add_overflow(r->addr, r->len, &end))
		return -EOVERFLOW;
	if (end > TASK_TOP - f->ps)	/* access_ok, or unmapped top */
		return -EFAULT;
	if (f->nlive >= PINIO_MAX_REGIONS)
		return -EBUSY;
	if (region < 0)
		return -EFAULT;
	g = &f->regions[region];
	if (r->addr < g->start || end > g->start + g->len)
		return -EFAULT;
	if ((r->flags & PINIO_REG_DEV_TO_USER) && !g->writable)
		return -EFAULT;
	return 0;
}

static bool store_range_ok(struct fuzz *f, uint64_t off, uint64_t len)
{
	return len && off <= f->dev_size && len <= f->dev_size - off;
}

/* A READ or WRITE (op PINIO_OP_*) of @x, after its op field was checked. */
static long expect_seg(struct fuzz *f, const struct pinio_xfer *x, uint32_t op)
{
	const struct live *l;

	if (!store_range_ok(f, x->dev_offset, x->len))
		return -EINVAL;
	if (!x->handle || x->handle > PINIO_MAX_REGIONS ||
	    !f->live[x->handle].used)
		return -ENOENT;
	l = &f->live[x->handle];
	if (!(l->flags & (op == PINIO_OP_READ ? PINIO_REG_DEV_TO_USER :
			  PINIO_REG_USER_TO_DEV)))
		return -EACCES;
	if (x->buf_offset > l->len || x->len > l->len - x->buf_offset)
		return -ERANGE;
	return 0;
}

/*
 * The same on the store as it is: on an attached store also the block-size
 * rule (store offset, length, and the buffer's offset in its pages, given
 * as @addr, the user address the transfer starts at, or 0 if unknown) and
 * EBADF for writes to a read-only store.
 */
static void want_seg(struct fuzz *f, struct want *w, long ram, uint32_t op,
		     uint64_t dev, uint64_t len, uint64_t addr)
{
	bool any = false;

	if (f->attached) {
		if ((dev | len) % f->bs) {
			want_add(w, -EINVAL);
			any = true;
		}
		if (addr && addr % f->bs) {
			want_add(w, -EINVAL);
			any = true;
		}
		if (op == PINIO_OP_WRITE &&
		    !(f->attach_flags & PINIO_ATTACH_WRITE)) {
			want_add(w, -EBADF);
			any = true;
		}
	}
	if (ram || !any)
		want_add(w, ram);
}

static void expect_seg_any(struct fuzz *f, const struct pinio_xfer *x,
			   uint32_t op, struct want *w)
{
	long ram = expect_seg(f, x, op);
	uint64_t addr = 0;

	if (x->handle && x->handle <= PINIO_MAX_REGIONS &&
	    f->live[x->handle].used)
		addr = f->live[x->handle].addr + x->buf_offset;
	/* An address of 0 means unknown: a registration at 0 is impossible. */
	want_seg(f, w, ram, op, x->dev_offset, x->len, addr);
}

/* A segment or transfer: mostly valid, each field sometimes wrong. */
static struct pinio_xfer rand_xfer(struct fuzz *f, uint64_t maxlen)
{
	uint64_t *s = &f->rnd;
	struct pinio_xfer x = { .handle = rand_handle(f) };
	uint64_t blen = 0;

	if (x.handle && x.handle <= PINIO_MAX_REGIONS && f->live[x.handle].used)
		blen = f->live[x.handle].len;
	x.len = rnd_pct(s, 80) ? 1 + rnd_below(s, blen && blen < maxlen ?
					      blen : maxlen) :
		rand_len(f, maxlen);
	x.buf_offset = rnd_pct(s, 80) && blen > x.len ?
		       rnd_below(s, blen - x.len + 1) :
		       rnd_pct(s, 50) ? blen : rand_len(f, 4096);
	x.dev_offset = rnd_pct(s, 85) && x.len < f->dev_size ?
		       rnd_below(s, f->dev_size - x.len + 1) :
		       rnd_pct(s, 50) ? f->dev_size - rnd_below(s, 2) :
		       rnd_next(s);
	return x;
}

/* --- one fuzzed call of each kind --------------------------------------------------- */

static void fz_info(struct fuzz *f)
{
	static const int errs[] = PINIO_ERRS_INFO;
	struct pinio_info in, *p;
	enum argmode m = rand_argmode(f);
	long ret, want;

	memset(&in, 0xa5, sizeof(in));
	p = arg_place(f, m, &in, sizeof(in), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, PINIO_IOC_INFO, p)));
	want = m == A_OK ? 0 : -EFAULT;
	verdict(f, "INFO", ret, errs, want);
	if (!ret && m == A_OK) {
		memcpy(&in, p, sizeof(in));
		if (in.abi_version != PINIO_ABI_VERSION ||
		    in.page_size != f->ps || in.dev_size != f->dev_size ||
		    in.max_regions != PINIO_MAX_REGIONS ||
		    in.max_batch != PINIO_MAX_BATCH ||
		    in.max_region_len != PINIO_MAX_REGION_LEN ||
		    in.reserved[0] || in.reserved[1])
			fz_fail(f, "INFO returned inconsistent fields");
		/* Without PINIO_FEAT_ATTACH the new fields were reserved. */
		if (!f->have_attach ?
		    in.store || in.block_size || in.dma_alignment ||
		    in.attach_flags :
		    in.store != (f->attached ? PINIO_STORE_BDEV :
				 PINIO_STORE_RAM) ||
		    in.block_size != f->bs ||
		    in.attach_flags != (f->attached ? f->attach_flags : 0) ||
		    (!f->attached && in.dma_alignment != 1) ||
		    (f->attached && f->disk.dma_align &&
		     in.dma_alignment != f->disk.dma_align))
			fz_fail(f, "INFO: store %u block_size %u dma_alignment %u attach_flags %u (attached: %d)",
				in.store, in.block_size, in.dma_alignment,
				in.attach_flags, f->attached);
	}
}

static void fz_register(struct fuzz *f)
{
	static const int errs[] = PINIO_ERRS_REGISTER;
	uint64_t *s = &f->rnd;
	struct pinio_region r = { 0 }, *p;
	enum argmode m = rand_argmode(f);
	char what[160];
	int region;
	long ret, want;

	r.addr = rand_uaddr(f, &region);
	if (region >= 0 && rnd_pct(s, 75)) {
		uint64_t room = f->regions[region].start +
				f->regions[region].len - r.addr;

		r.len = 1 + rnd_below(s, room + (rnd_pct(s, 20) ? f->ps : 0));
	} else {
		r.len = rand_len(f, 64 * KiB);
	}
	r.flags = rnd_pct(s, 90) ? 1 + (uint32_t)rnd_below(s, 3) :
		  (uint32_t)rnd_next(s) >> rnd_below(s, 32);
	if (rnd_pct(s, 8))
		r.reserved[rnd_below(s, 2)] = 1ULL << rnd_below(s, 64);
	r.handle = (uint32_t)rnd_next(s);	/* output only: ignored */

	p = arg_place(f, m, &r, sizeof(r), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, PINIO_IOC_REGISTER, p)));
	want = arg_bad_read(m) ? -EFAULT : expect_register(f, &r, region);
	if (m == A_RO && !want)
		want = -EFAULT;	/* the handle cannot be written back */
	snprintf(what, sizeof(what),
		 "REGISTER [addr 0x%llx len 0x%llx flags 0x%x reserved 0x%llx/0x%llx region %d arg mode %d]",
		 (unsigned long long)r.addr, (unsigned long long)r.len, r.flags,
		 (unsigned long long)r.reserved[0],
		 (unsigned long long)r.reserved[1], region, m);
	verdict(f, what, ret, errs, want);
	if (!ret) {
		if (m != A_OK)
			fz_fail(f, "REGISTER succeeded with a bad argument pointer");
		else
			live_add(f, p->handle, r.flags, r.len, r.addr);
	}
}

static void fz_unregister(struct fuzz *f)
{
	static const int errs[] = PINIO_ERRS_UNREGISTER;
	struct pinio_unregister u = { .handle = rand_handle(f) }, *p;
	enum argmode m = rand_argmode(f);
	long ret, want;

	if (rnd_pct(&f->rnd, 10))
		u.flags = (uint32_t)rnd_next(&f->rnd) | 1;
	p = arg_place(f, m, &u, sizeof(u), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, PINIO_IOC_UNREGISTER, p)));
	if (arg_bad_read(m))
		want = -EFAULT;
	else if (u.flags)
		want = -EINVAL;
	else if (!u.handle || u.handle > PINIO_MAX_REGIONS ||
		 !f->live[u.handle].used)
		want = -ENOENT;
	else
		want = 0;
	verdict(f, "UNREGISTER", ret, errs, want);
	if (!ret)
		live_del(f, u.handle);
}

static const int xfer_errs[] = { EINVAL, ERANGE, ENOENT, EACCES, EFAULT,
				  EINTR, EBADF, 0 };

static void fz_xfer(struct fuzz *f)
{
	const int *errs = xfer_errs;
	bool read = rnd_pct(&f->rnd, 50);
	struct pinio_xfer x = rand_xfer(f, 128 * KiB), *p;
	enum argmode m = rand_argmode(f);
	struct want w = { 0 };
	long ret;

	if (rnd_pct(&f->rnd, 8))
		x.op = (uint32_t)rnd_next(&f->rnd) >> rnd_below(&f->rnd, 32);
	p = arg_place(f, m, &x, sizeof(x), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, read ? PINIO_IOC_READ : PINIO_IOC_WRITE, p)));
	if (arg_bad_read(m))
		want_add(&w, -EFAULT);
	else if (x.op)
		want_add(&w, -EINVAL);
	else
		expect_seg_any(f, &x, read ? PINIO_OP_READ : PINIO_OP_WRITE,
			       &w);
	verdict_any(f, read ? "READ" : "WRITE", ret, errs, &w);
}

static void fz_batch(struct fuzz *f)
{
	static const int errs[] = { EINVAL, EFAULT, ENOMEM, ERANGE, ENOENT,
				    EACCES, EINTR, EBADF, 0 };
	struct want w = { 0 };
	uint64_t *s = &f->rnd;
	struct pinio_xfer segs[64];
	struct pinio_batch b = { 0 }, *bp;
	enum argmode m = rand_argmode(f), sm = rand_argmode(f);
	uint32_t nseg, i, done;
	long ret, want = 0, segerr = 0;
	bool bad_call = false;
	void *sp;

	nseg = rnd_pct(s, 85) ? 1 + (uint32_t)rnd_below(s, 8) :
	       (uint32_t)rnd_below(s, 64) + 1;
	for (i = 0; i < nseg; i++) {
		segs[i] = rand_xfer(f, rnd_pct(s, 50) ? 512 : 64 * KiB);
		segs[i].op = rnd_pct(s, 92) ? 1 + (uint32_t)rnd_below(s, 2) :
			     (uint32_t)rnd_next(s) >> rnd_below(s, 32);
	}
	b.nr = nseg;
	switch (rnd_below(s, 20)) {
	case 0:
		b.nr = 0;
		break;
	case 1:
		b.nr = PINIO_MAX_BATCH + (uint32_t)rnd_below(s, 2);
		break;
	case 2:
		b.nr = (uint32_t)rnd_next(s);
		break;
	case 3:
		b.flags = 1U << rnd_below(s, 32);
		break;
	case 4:
		b.reserved = 1U << rnd_below(s, 32);
		break;
	}
	b.completed = (uint32_t)rnd_next(s);	/* output only */
	/* The array, unless the call is rejected before reading it. */
	sp = arg_place(f, sm, segs, sizeof(segs[0]) * nseg, 1);
	b.segs = (uintptr_t)sp;
	if (b.nr > nseg && b.nr <= PINIO_MAX_BATCH)
		b.nr = nseg;	/* don't let it read past what we wrote */
	bp = arg_place(f, m, &b, sizeof(b), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, PINIO_IOC_BATCH, bp)));

	if (arg_bad_read(m)) {
		want = -EFAULT;
		bad_call = true;
	} else if (b.flags || b.reserved || !b.nr || b.nr > PINIO_MAX_BATCH) {
		want = -EINVAL;
		bad_call = true;
	} else if (arg_bad_read(sm)) {
		want = -EFAULT;
		bad_call = true;
	}
	done = 0;
	if (!bad_call) {
		for (; done < b.nr; done++) {
			uint32_t op = segs[done].op;

			w.n = 0;
			if (op != PINIO_OP_READ && op != PINIO_OP_WRITE)
				want_add(&w, -EINVAL);
			else
				expect_seg_any(f, &segs[done], op, &w);
			if (w.n > 1 || w.v[0])
				break;
		}
		segerr = done < b.nr;
		if (m == A_RO) {
			w.n = 0;
			want_add(&w, -EFAULT);
		} else if (!segerr) {
			w.n = 0;
			want_add(&w, 0);
		}
	} else {
		want_add(&w, want);
	}
	verdict_any(f, "BATCH", ret, errs, &w);
	if (f->exact && !bad_call && m == A_OK && bp->completed != done)
		fz_fail(f, "BATCH of %u: completed %u, expected %u", b.nr,
			bp->completed, done);
}

static void fz_unknown_cmd(struct fuzz *f)
{
	static const int errs[] = PINIO_ERRS_UNKNOWN_CMD;
	static const unsigned long known[] = {
		PINIO_IOC_INFO, PINIO_IOC_REGISTER, PINIO_IOC_UNREGISTER,
		PINIO_IOC_READ, PINIO_IOC_WRITE, PINIO_IOC_BATCH,
		PINIO_IOC_ATTACH, PINIO_IOC_DETACH, PINIO_IOC_FLUSH,
	};
	uint64_t *s = &f->rnd;
	unsigned long cmd;
	uint64_t buf[16] = { 0 };
	size_t i;
	long ret;
	void *p;

	if (rnd_pct(s, 15))
		cmd = rnd_pct(s, 33) ? PINIO_URING_CMD_READ :
		      rnd_pct(s, 50) ? PINIO_URING_CMD_WRITE :
				       PINIO_URING_CMD_FLUSH;
	else
		cmd = _IOC((unsigned int)rnd_below(s, 4), PINIO_IOC_MAGIC,
			   (unsigned int)rnd_below(s, rnd_pct(s, 70) ? 16 : 256),
			   (unsigned int)rnd_below(s, 1 << 14));
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (cmd == known[i])
			return;
	for (i = 0; i < ARRAY_SIZE(buf); i++)
		buf[i] = rnd_next(s);
	p = arg_place(f, rand_argmode(f), buf, sizeof(buf), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, cmd, p)));
	verdict(f, "unknown ioctl", ret, errs, -ENOTTY);
}

/* --- the attached store ------------------------------------------------------------- */

/* The state of a file with the RAM store (a new one, or after DETACH). */
static void store_ram(struct fuzz *f)
{
	f->attached = false;
	f->attach_flags = 0;
	f->bs = 1;
	f->dev_size = f->ram_size;
}

static void kfds_open(struct fuzz *f)
{
	int i, p[2] = { -1, -1 }, sk[2] = { -1, -1 };

	for (i = 0; i < NKFD; i++)
		f->kfd[i] = -1;
	if (f->have_disk) {
		f->kfd[K_DISK_RW] = pa_disk_reopen(&f->disk, O_RDWR);
		f->kfd[K_DISK_RO] = pa_disk_reopen(&f->disk, O_RDONLY);
		f->kfd[K_DISK_WO] = pa_disk_reopen(&f->disk, O_WRONLY);
		f->kfd[K_DISK_APPEND] = pa_disk_reopen(&f->disk,
						       O_RDWR | O_APPEND);
		f->kfd[K_DISK_PATH] = pa_disk_reopen(&f->disk, O_PATH);
	}
	if (!pipe2(p, O_CLOEXEC)) {
		f->kfd[K_PIPE_R] = p[0];
		f->kfd[K_PIPE_W] = p[1];
	}
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk)) {
		f->kfd[K_SOCK] = sk[0];
		close(sk[1]);
	}
	f->kfd[K_NULL] = open("/dev/null", O_RDWR | O_CLOEXEC);
	f->kfd[K_DIR] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->kfd[K_PINIO] = pinio_open();
}

static void kfds_close(struct fuzz *f)
{
	int i;

	for (i = 0; i < NKFD; i++)
		if (i != K_CLOSED && i != K_SELF && i != K_NEG &&
		    i != K_GARBAGE && f->kfd[i] >= 0)
			close(f->kfd[i]);
}

/*
 * What ATTACH of fd kind @k with @flags gives on a file with the RAM
 * store: 0 or the errno. (A closed slot, e.g. no disk, never gets here.)
 */
static long attach_kind_result(enum kfd k, uint32_t flags)
{
	switch (k) {
	case K_DISK_RW:
		return 0;
	case K_DISK_RO:
		return flags & PINIO_ATTACH_WRITE ? -EBADF : 0;
	case K_DISK_APPEND:
		return -EINVAL;
	case K_DISK_WO:
	case K_DISK_PATH:
	case K_CLOSED:
	case K_NEG:
	case K_GARBAGE:
		return -EBADF;
	case K_PINIO:
	case K_SELF:
		return -ELOOP;
	default:
		return -ENOTBLK;
	}
}

static void fz_attach(struct fuzz *f)
{
	static const int errs[] = { EINVAL, EBADF, ELOOP, ENOTBLK, EOPNOTSUPP,
				    EBUSY, EFAULT, 0 };
	uint64_t *s = &f->rnd;
	struct pinio_attach a = { 0 }, *p;
	enum argmode m = rand_argmode(f);
	struct want w = { 0 };
	char what[160];
	enum kfd k;
	long ret, r;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		k = (enum kfd)rnd_below(s, NKFD);
		/* The disk, read-write, half the time. */
		if (f->have_disk && rnd_pct(s, 40))
			k = K_DISK_RW;
		if (k == K_SELF)
			a.fd = f->fd;
		else if (k == K_NEG)
			a.fd = rnd_pct(s, 50) ? -1 : (int32_t)(rnd_next(s) | 1U << 31);
		else if (k == K_GARBAGE)
			a.fd = 100000 + (int32_t)rnd_below(s, 1 << 20);
		else if (k == K_CLOSED) {
			/* A number that was an fd a moment ago. */
			a.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (a.fd >= 0)
				close(a.fd);
		}
		else
			a.fd = f->kfd[k];
		if (a.fd >= 0 || k == K_NEG)
			break;
	}
	if (tries == 16)
		return;
	a.flags = rnd_pct(s, 45) ? PINIO_ATTACH_WRITE : rnd_pct(s, 80) ? 0 :
		  (uint32_t)rnd_next(s) >> rnd_below(s, 32);
	if (rnd_pct(s, 8))
		a.reserved[rnd_below(s, 2)] = 1ULL << rnd_below(s, 64);
	p = arg_place(f, m, &a, sizeof(a), 0);
	ret = IN_HOLE(f, sys_ret(ioctl(f->fd, PINIO_IOC_ATTACH, p)));

	if (arg_bad_read(m)) {
		want_add(&w, -EFAULT);
	} else {
		r = attach_kind_result(k, a.flags);
		if (a.flags & ~PINIO_ATTACH_WRITE || a.reserved[0] ||
		    a.reserved[1])
			want_add(&w, -EINVAL);
		if (f->attached)
			want_add(&w, -EBUSY);
		if (r || !w.n)
			want_add(&w, r);
	}
	snprintf(what, sizeof(what),
		 "ATTACH [fd %d kind %d flags 0x%x reserved 0x%llx/0x%llx arg mode %d%s]",
		 a.fd, k, a.flags, (unsigned long long)a.reserved[0],
		 (unsigned long long)a.reserved[1], m,
		 f->attached ? ", attached" : "");
	verdict_any(f, what, ret, errs, &w);
	if (!ret && f->exact) {
		struct pinio_info in;

		f->attached = true;
		f->attach_flags = a.flags;
		f->bs = f->disk.lbs;
		f->dev_size = f->disk.size / f->disk.lbs * f->disk.lbs;
		atomic_fetch_add(&f->attaches, 1);
		if (pinio_get_info(f->fd, &in) || in.dev_size != f->dev_size)
			fz_fail(f, "INFO after ATTACH: dev_size %llu, expected %llu",
				(unsigned long long)in.dev_size,
				(unsigned long long)f->dev_size);
	}
}

static void fz_detach_flush(struct fuzz *f)
{
	static const int derrs[] = { ENXIO, 0 };
	static const int ferrs[] = { ENXIO, EBADF, 0 };
	bool detach = rnd_pct(&f->rnd, 40);
	long ret, want;

	if (detach) {
		ret = sys_ret(ioctl(f->fd, PINIO_IOC_DETACH,
				    (unsigned long)rnd_next(&f->rnd)));
		want = f->attached ? 0 : -ENXIO;
		verdict(f, "DETACH", ret, derrs, want);
		if (!ret && f->exact)
			store_ram(f);
		return;
	}
	ret = sys_ret(ioctl(f->fd, PINIO_IOC_FLUSH,
			    (unsigned long)rnd_next(&f->rnd)));
	want = !f->attached ? -ENXIO :
	       f->attach_flags & PINIO_ATTACH_WRITE ? 0 : -EBADF;
	verdict(f, "FLUSH", ret, ferrs, want);
}

static void fz_attach_step(struct fuzz *f)
{
	if (rnd_pct(&f->rnd, 55))
		fz_attach(f);
	else
		fz_detach_flush(f);
}

/* Sometimes reset the never-touched region, or start over with a new file. */
static void fz_housekeeping(struct fuzz *f)
{
	if (rnd_pct(&f->rnd, 50)) {
		madvise(f->arena + UT_OFF, UT_LEN, MADV_DONTNEED);
		return;
	}
	close(f->fd);
	live_clear(f);
	store_ram(f);
	f->fd = pinio_open();
	if (f->fd < 0)
		fz_fail(f, "reopen: %s", errname(-f->fd));
}

static void fz_ioctl_step(struct fuzz *f)
{
	unsigned int a = (unsigned int)rnd_below(&f->rnd, 1000);

	if (f->have_attach && rnd_pct(&f->rnd, 5))
		fz_attach_step(f);
	else if (a < 40)
		fz_info(f);
	else if (a < 300)
		fz_register(f);
	else if (a < 420)
		fz_unregister(f);
	else if (a < 720)
		fz_xfer(f);
	else if (a < 880)
		fz_batch(f);
	else if (a < 995)
		fz_unknown_cmd(f);
	else
		fz_housekeeping(f);
	/* Keep the table well below PINIO_MAX_REGIONS. */
	if (f->nlive > 200) {
		unsigned int i;

		for (i = 1; i <= PINIO_MAX_REGIONS && f->nlive > 100; i++)
			if (f->live[i].used && !pinio_unregister(f->fd, i))
				live_del(f, i);
	}
}

/* --- io_uring payloads ---------------------------------------------------------------- */

struct uexp {
	struct want want;	/* n 0: only the errno set is checked */
	uint64_t len;	/* the result of a success (0: unknown) */
	char desc[160];
};

/* Expected CQE res of a structured command on an SQE128 ring. */
static long expect_uring_ram(struct fuzz *f, uint32_t cmd_op,
			     uint32_t uflags, uint16_t idx,
			     const struct pinio_uring_cmd *c, uint32_t *op)
{
	const struct region *rw = &f->regions[R_RW];
	struct pinio_xfer x;
	uint64_t end;

	*op = 0;
	if (uflags & ~IORING_URING_CMD_FIXED)
		return -EINVAL;
	if ((uflags & IORING_URING_CMD_FIXED) && idx >= 1)
		return -EFAULT;
	if (cmd_op == PINIO_URING_CMD_READ)
		*op = PINIO_OP_READ;
	else if (cmd_op == PINIO_URING_CMD_WRITE)
		*op = PINIO_OP_WRITE;
	else
		return -ENOTTY;
	if (c->flags)
		return -EINVAL;
	if (!(uflags & IORING_URING_CMD_FIXED)) {
		if (c->addr)
			return -EINVAL;
		x = (struct pinio_xfer){ .handle = c->handle,
			.buf_offset = c->buf_offset,
			.dev_offset = c->dev_offset, .len = c->len };
		return expect_seg(f, &x, *op);
	}
	if (c->handle || c->buf_offset)
		return -EINVAL;
	if (!store_range_ok(f, c->dev_offset, c->len))
		return -EINVAL;
	if (__builtin_add_overflow(c->addr, c->len, &end) ||
	    c->addr < rw->start || end > rw->start + rw->len)
		return -EFAULT;
	return 0;
}

/* The same on the store as it is, and PINIO_URING_CMD_FLUSH. */
static void expect_uring(struct fuzz *f, uint32_t cmd_op, uint32_t uflags,
			 uint16_t idx, const struct pinio_uring_cmd *c,
			 struct want *w)
{
	uint32_t op;
	long ram;
	uint64_t addr = 0;

	if (cmd_op == PINIO_URING_CMD_FLUSH && f->have_attach) {
		bool zero = !c->handle && !c->flags && !c->addr &&
			    !c->buf_offset && !c->dev_offset && !c->len;

		if (uflags & ~IORING_URING_CMD_FIXED) {
			want_add(w, -EINVAL);
		} else if (uflags & IORING_URING_CMD_FIXED) {
			/* io_uring's own buf_index check, or pinio's. */
			want_add(w, idx >= 1 ? -EFAULT : -EINVAL);
			if (!idx && !f->attached)
				want_add(w, -ENXIO);
			if (!idx && f->attached && !(f->attach_flags & PINIO_ATTACH_WRITE))
				want_add(w, -EBADF);
			if (!idx && zero && f->attached &&
			    (f->attach_flags & PINIO_ATTACH_WRITE))
				want_add(w, 0);
		} else {
			if (!zero)
				want_add(w, -EINVAL);
			if (!f->attached)
				want_add(w, -ENXIO);
			else if (!(f->attach_flags & PINIO_ATTACH_WRITE))
				want_add(w, -EBADF);
			else if (zero)
				want_add(w, 0);
		}
		return;
	}
	ram = expect_uring_ram(f, cmd_op, uflags, idx, c, &op);
	if (!op || ram == -ENOTTY || (uflags & ~IORING_URING_CMD_FIXED) ||
	    ((uflags & IORING_URING_CMD_FIXED) && idx >= 1)) {
		want_add(w, ram);
		return;
	}
	if (uflags & IORING_URING_CMD_FIXED)
		addr = c->addr;
	else if (c->handle && c->handle <= PINIO_MAX_REGIONS &&
		 f->live[c->handle].used)
		addr = f->live[c->handle].addr + c->buf_offset;
	want_seg(f, w, ram, op, c->dev_offset, c->len, addr);
}

static bool cmd_op_is_flush(const char *desc)
{
	char op[32];

	snprintf(op, sizeof(op), "cmd_op 0x%x ", (unsigned int)PINIO_URING_CMD_FLUSH);
	return !strncmp(desc, op, strlen(op));
}

static void fz_uring_batch(struct fuzz *f, struct hring *r, bool sqe128)
{
	static const int errs[] = { EINVAL, ERANGE, ENOENT, EACCES, EFAULT,
				    EINTR, ENOTTY, EOPNOTSUPP, EBADF, ENXIO,
				    0 };
	uint64_t *s = &f->rnd;
	struct uexp exp[8];
	unsigned int k = 1 + (unsigned int)rnd_below(s, 8), i, got = 0;
	struct io_uring_cqe cqe;
	char what[256];
	int ret;

	for (i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = hring_sqe(r);
		struct pinio_uring_cmd c = { 0 };
		uint8_t raw[80];
		uint32_t cmd_op, uflags = 0;
		uint16_t idx = 0;
		bool loose = false;
		int region;

		if (!sqe)
			break;
		switch (rnd_below(s, 10)) {
		case 0:
			cmd_op = (uint32_t)rnd_next(s);
			break;
		case 1:
			cmd_op = _IOC((unsigned int)rnd_below(s, 4),
				      PINIO_IOC_MAGIC,
				      (unsigned int)rnd_below(s, 32),
				      (unsigned int)rnd_below(s, 256));
			break;
		case 2:
			cmd_op = PINIO_URING_CMD_FLUSH;
			break;
		default:
			cmd_op = rnd_pct(s, 50) ? PINIO_URING_CMD_READ :
						  PINIO_URING_CMD_WRITE;
		}
		switch (rnd_below(s, 10)) {
		case 0 ... 2:
			uflags = IORING_URING_CMD_FIXED;
			idx = rnd_pct(s, 90) ? 0 : (uint16_t)rnd_next(s);
			break;
		case 3:
			uflags = (uint32_t)rnd_next(s);
			idx = (uint16_t)rnd_next(s);
			break;
		}
		if (uflags & IORING_URING_CMD_FIXED) {
			const struct region *rw = &f->regions[R_RW];

			c.len = rnd_pct(s, 85) ? 1 + rnd_below(s, rw->len) :
				rand_len(f, rw->len);
			c.addr = rnd_pct(s, 85) && c.len <= rw->len ?
				 rw->start + rnd_below(s, rw->len - c.len + 1) :
				 rand_uaddr(f, &region);
			c.dev_offset = rnd_pct(s, 90) && c.len < f->dev_size ?
				       rnd_below(s, f->dev_size - c.len + 1) :
				       rnd_next(s);
			if (rnd_pct(s, 5))
				c.handle = rand_handle(f);
			if (rnd_pct(s, 5))
				c.buf_offset = rand_len(f, 4096);
		} else {
			struct pinio_xfer x = rand_xfer(f, 256 * KiB);

			c.handle = x.handle;
			c.buf_offset = x.buf_offset;
			c.dev_offset = x.dev_offset;
			c.len = x.len;
			if (rnd_pct(s, 5))
				c.addr = rnd_next(s);
		}
		if (rnd_pct(s, 5))
			c.flags = 1U << rnd_below(s, 32);
		if (cmd_op == PINIO_URING_CMD_FLUSH && rnd_pct(s, 80))
			memset(&c, 0, sizeof(c));	/* mostly a valid FLUSH */
		if (rnd_pct(s, 10)) {
			size_t j;

			for (j = 0; j < sizeof(raw); j++)
				raw[j] = (uint8_t)rnd_next(s);
			loose = true;
		} else {
			memset(raw, 0, sizeof(raw));
			memcpy(raw, &c, sizeof(c));
		}
		hring_prep_cmd(r, sqe, f->fd, cmd_op, raw, sizeof(raw), i,
			       uflags, idx);
		exp[i].want.n = 0;
		if (!sqe128)
			want_add(&exp[i].want,
				 uflags & ~IORING_URING_CMD_FIXED ? -EINVAL :
				 uflags ? -EFAULT : -EOPNOTSUPP);
		else if (!loose)
			expect_uring(f, cmd_op, uflags, idx, &c, &exp[i].want);
		exp[i].len = loose || cmd_op == PINIO_URING_CMD_FLUSH ? 0 :
			     c.len;
		snprintf(exp[i].desc, sizeof(exp[i].desc),
			 "cmd_op 0x%x uflags 0x%x buf_index %u handle %u flags 0x%x addr 0x%llx buf_offset %llu dev_offset %llu len %llu%s",
			 cmd_op, uflags, idx, c.handle, c.flags,
			 (unsigned long long)c.addr,
			 (unsigned long long)c.buf_offset,
			 (unsigned long long)c.dev_offset,
			 (unsigned long long)c.len, loose ? " (random payload)" : "");
	}
	k = i;
	ret = IN_HOLE(f, hring_submit(r, k));
	if (ret < 0) {
		fz_fail(f, "io_uring_enter: %s", errname(-ret));
		return;
	}
	while (got < (unsigned int)ret) {
		if (hring_wait(r, &cqe)) {
			fz_fail(f, "io_uring wait failed");
			return;
		}
		got++;
		if (cqe.user_data >= k) {
			fz_fail(f, "CQE with unknown user_data %llu",
				(unsigned long long)cqe.user_data);
			return;
		}
		i = (unsigned int)cqe.user_data;
		if (cqe.res > 0 && cmd_op_is_flush(exp[i].desc))
			fz_fail(f, "uring FLUSH: res %d (%s)", cqe.res,
				exp[i].desc);
		if (cqe.res >= 0 && exp[i].len && (uint64_t)cqe.res != exp[i].len)
			fz_fail(f, "uring cmd: res %d, but len was %llu (%s)",
				cqe.res, (unsigned long long)exp[i].len,
				exp[i].desc);
		snprintf(what, sizeof(what), "uring_cmd%s [%s]",
			 sqe128 ? "" : " (64-byte SQE)", exp[i].desc);
		verdict_any(f, what, cqe.res > 0 ? 0 : cqe.res, errs,
			    &exp[i].want);
	}
}

/* --- buffered, lseek and mmap ------------------------------------------------------------- */

static void fz_buffered(struct fuzz *f)
{
	static const int errs[] = { EINVAL, EFAULT, ENOSPC, EAGAIN, EINTR,
				    EOPNOTSUPP, EBADF, 0 };
	uint64_t *s = &f->rnd;
	int region, kind = (int)rnd_below(s, 4);
	uint64_t buf = rand_uaddr(f, &region);
	uint64_t len = rnd_pct(s, 80) ? rnd_below(s, 64 * KiB) :
		       rand_len(f, 4096);
	int64_t off = rnd_pct(s, 80) ? (int64_t)rnd_below(s, f->dev_size + 2) :
		      (int64_t)rnd_next(s);
	struct iovec iov[4];
	long ret;
	int i, n;

	if (region == R_RW || region == R_UT || region == R_MFD) {
		uint64_t room = f->regions[region].start +
				f->regions[region].len - buf;

		if (len > room && rnd_pct(s, 80))
			len = room;
	}
	if (len > 1 << 24)
		len = 1 << 24;	/* a huge valid-looking read would just be slow */
	switch (kind) {
	case 0:
		ret = IN_HOLE(f, sys_ret(syscall(SYS_pread64, f->fd, buf, len, off)));
		break;
	case 1:
		ret = IN_HOLE(f, sys_ret(syscall(SYS_pwrite64, f->fd, buf, len, off)));
		break;
	default:
		n = (int)rnd_below(s, 5);
		for (i = 0; i < n; i++) {
			iov[i].iov_base = (void *)(uintptr_t)rand_uaddr(f, &region);
			iov[i].iov_len = rnd_below(s, 8 * KiB);
		}
		ret = IN_HOLE(f, sys_ret(syscall(kind == 2 ? SYS_preadv2 :
						 SYS_pwritev2, f->fd, iov, n,
						 (unsigned long)off,
						 (unsigned long)((uint64_t)off >> 32),
						 rnd_pct(s, 70) ? 0 :
						 (int)(1U << rnd_below(s, 8)))));
		break;
	}
	verdict(f, "buffered I/O", ret, errs, 1);
	if (ret > 0 && (uint64_t)ret > (kind < 2 ? len : 64 * KiB))
		fz_fail(f, "buffered I/O returned %ld for %llu bytes", ret,
			(unsigned long long)len);
}

static void fz_lseek(struct fuzz *f)
{
	static const int errs[] = { EINVAL, ENXIO, 0 };
	uint64_t *s = &f->rnd;
	int whence = (int)rnd_below(s, 6);
	int64_t off = rnd_pct(s, 60) ? (int64_t)rnd_below(s, f->dev_size + 2) :
		      (int64_t)rnd_next(s);
	long ret = sys_ret(lseek(f->fd, off, whence));
	long want = 1;

	if (whence == SEEK_SET)
		want = off < 0 || (uint64_t)off > f->dev_size ? -EINVAL : off;
	verdict(f, "lseek", ret, errs, want == 0 ? 1 : want);
	if (whence == SEEK_SET && ret >= 0 && ret != off)
		fz_fail(f, "lseek(SEEK_SET, %lld) returned %ld", (long long)off,
			ret);
}

static void fz_mmap(struct fuzz *f)
{
	static const int errs[] = { EINVAL, ENXIO, ENOMEM, EOVERFLOW, EACCES,
				    0 };
	uint64_t *s = &f->rnd;
	uint64_t pages = f->dev_size / f->ps;
	uint64_t len = rnd_pct(s, 80) ? f->ps * (1 + rnd_below(s, 64)) :
		       rand_len(f, 1 << 20);
	uint64_t pg = rnd_pct(s, 80) ? rnd_below(s, pages + 2) : rnd_next(s) >> 12;
	int prot = rnd_pct(s, 80) ? PROT_READ | PROT_WRITE : PROT_READ;
	int flags = rnd_pct(s, 90) ? MAP_SHARED : MAP_PRIVATE;
	uint64_t npg = (len + f->ps - 1) / f->ps;
	long want = 1;
	struct want w = { 0 };
	bool ro = f->attached && !(f->attach_flags & PINIO_ATTACH_WRITE);
	void *p;

	p = mmap(NULL, len, prot, flags, f->fd, (off_t)(pg * f->ps));
	/* Huge private writable mappings fail overcommit first: ENOMEM. */
	if (len && len <= f->dev_size + 2 * f->ps && pg < pages + 2) {
		if (flags == MAP_PRIVATE)
			want = -EINVAL;
		else if (pg > pages || npg > pages - pg)
			want = -ENXIO;
		else
			want = 0;
	}
	if (want != 1) {
		/* A writable window of a read-only store: EACCES as well. */
		if (ro && (prot & PROT_WRITE))
			want_add(&w, -EACCES);
		if (want || !w.n)
			want_add(&w, want);
	}
	verdict_any(f, "mmap", p == MAP_FAILED ? -errno : 0, errs, &w);
	if (p != MAP_FAILED) {
		volatile uint8_t *v = p;

		(void)v[0];
		(void)v[len - 1];
		munmap(p, len);
	}
}

/* --- the tests ------------------------------------------------------------------------------ */

FIXTURE(fuzz) {
	struct fuzz *f;
	struct pin_snap base;
	int64_t pins0;
	unsigned long iters;
	uint64_t seed;
};

FIXTURE_SETUP(fuzz)
{
	struct pinio_info info;
	struct fuzz *f;

	self->iters = env_ulong("PINIO_FUZZ_ITERS", 3000);
	self->seed = seed_from_env("PINIO_FUZZ_SEED");
	f = self->f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	f->memfd = -1;
	f->ps = page_size();
	f->rnd = self->seed;
	f->exact = true;
	f->fd = pinio_open();
	ASSERT_LE(0, f->fd) TH_LOG("open: %s", errname(-f->fd));
	ASSERT_OK(pinio_get_info(f->fd, &info));
	f->ram_size = info.dev_size;
	store_ram(f);
	f->have_attach = info.features & PINIO_FEAT_ATTACH;
	f->disk.dfd = -1;
	if (f->have_attach)
		f->have_disk = !pa_disk_get(&f->disk, "PINIO_NVME512", 0);
	kfds_open(f);
	ASSERT_OK(arena_setup(f));
	ASSERT_OK(pin_snap(&self->base));
	self->pins0 = foll_pins_baseline();
	printf("# seed 0x%" PRIx64 " (PINIO_FUZZ_SEED), %lu iterations (PINIO_FUZZ_ITERS)%s\n",
	       self->seed, self->iters, !f->have_attach ? "" :
	       f->have_disk ? ", ATTACH with PINIO_NVME512" :
	       ", ATTACH without a disk (PINIO_NVME512 unset)");
	fflush(stdout);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->f) {
		if (self->f->fd >= 0)
			close(self->f->fd);
		kfds_close(self->f);
		pa_disk_put(&self->f->disk);
		arena_free(self->f);
		free(self->f);
	}
}

#define SETTLE(cond) ({							\
	double __t = now_sec() + 10;					\
	while (!(cond) && now_sec() < __t)				\
		usleep(50 * 1000);					\
	(cond);								\
})

static bool stats_back(const struct pin_snap *b)
{
	struct pin_snap n;

	return !pin_snap(&n) && n.regions == b->regions &&
	       n.pinned_pages == b->pinned_pages && n.vmpin_kb == b->vmpin_kb;
}

static void report(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
		   const char *what)
{
	struct fuzz *f = self->f;
	unsigned int e;

	printf("# %s: %lu calls, %lu succeeded, %lu failed as documented, "
	       "%lu exact-result checks, %lu attaches; errnos:", what,
	       atomic_load(&f->calls), atomic_load(&f->ok),
	       atomic_load(&f->errs), atomic_load(&f->exact_checks),
	       atomic_load(&f->attaches));
	for (e = 1; e < 160; e++)
		if (f->by_errno[e])
			printf(" %s=%lu", errname((int)e), f->by_errno[e]);
	printf("\n");
	fflush(stdout);
	ASSERT_EQ(0, atomic_load(&f->failed))
		TH_LOG("seed 0x%" PRIx64 ": %s", self->seed, f->msg);
	/* Nothing pinned or charged once the files are closed. */
	close(f->fd);
	f->fd = -1;
	live_clear(f);
	if (!SETTLE(stats_back(&self->base)))
		ASSERT_PINS(self->base, 0, 0);
	ASSERT_TRUE(SETTLE(foll_pins_outstanding() <= self->pins0))
		TH_LOG("FOLL_PIN pins outstanding: %" PRId64 ", before %" PRId64,
		       foll_pins_outstanding(), self->pins0);
}

/* Every ioctl, one thread, exact expected results. */
TEST_F_TIMEOUT(fuzz, ioctls, 3600)
{
	unsigned long i;

	for (i = 0; i < self->iters && !atomic_load(&self->f->failed); i++)
		fz_ioctl_step(self->f);
	report(_metadata, self, "ioctls");
}

/* IORING_OP_URING_CMD payloads, on SQE128 and 64-byte rings. */
TEST_F_TIMEOUT(fuzz, uring_cmds, 3600)
{
	struct fuzz *f = self->f;
	struct hring r128, r64;
	struct iovec iov = { f->arena + RW_OFF, RW_LEN };
	unsigned long i;
	int ret;

	ret = hring_init(&r128, 16, IORING_SETUP_SQE128);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring not available: %s", errname(-ret));
	ASSERT_OK(ret);
	ASSERT_OK(hring_register_buffers(&r128, &iov, 1));
	ASSERT_OK(hring_init(&r64, 16, 0));
	for (i = 0; i < self->iters && !atomic_load(&f->failed); i++) {
		unsigned int a = (unsigned int)rnd_below(&f->rnd, 100);

		if (f->have_attach && rnd_pct(&f->rnd, 4))
			fz_attach_step(f);
		else if (a < 25)
			fz_register(f);
		else if (a < 32)
			fz_unregister(f);
		else if (a < 95)
			fz_uring_batch(f, &r128, true);
		else
			fz_uring_batch(f, &r64, false);
		if (f->nlive > 100)
			fz_housekeeping(f);
	}
	hring_exit(&r128);
	hring_exit(&r64);
	report(_metadata, self, "uring_cmds");
}

struct racer {
	struct fuzz *f;
	uint64_t rnd;
	atomic_int stop;
	unsigned long unregs, swaps;
};

/* Unregister (and register) random handles, swap the file now and then. */
static void *racer_fn(void *arg)
{
	static const int errs[] = { ENOENT, 0 };
	struct racer *rc = arg;
	struct fuzz *f = rc->f;

	while (!atomic_load(&rc->stop)) {
		unsigned int a = (unsigned int)rnd_below(&rc->rnd, 100);
		uint32_t h = 1 + (uint32_t)rnd_below(&rc->rnd, 48);

		if (f->have_attach && a < 6) {
			static const int aerrs[] = { EINVAL, EBADF, ELOOP,
						     EBUSY, ENXIO, 0 };
			long r;

			if (a < 3 && f->kfd[K_DISK_RW] >= 0)
				r = pa_attach(f->fd, f->kfd[K_DISK_RW],
					      a & 1 ? PINIO_ATTACH_WRITE : 0);
			else if (a < 5)
				r = pa_detach(f->fd);
			else
				r = pa_flush(f->fd);
			verdict(f, "racing ATTACH/DETACH/FLUSH", r, aerrs, 1);
		} else if (a < 70) {
			verdict(f, "racing UNREGISTER",
				pinio_unregister(f->fd, h), errs, 1);
			rc->unregs++;
		} else if (a < 95) {
			const struct region *rw = &f->regions[R_RW];
			uint64_t off = rnd_below(&rc->rnd, rw->len - 1);

			verdict(f, "racing REGISTER",
				pinio_register(f->fd, (void *)(uintptr_t)(rw->start + off),
					       1 + rnd_below(&rc->rnd, rw->len - off),
					       PINIO_REG_BIDIR, NULL),
				(const int[]){ EBUSY, 0 }, 1);
		} else {
			int nfd = pinio_open();

			if (nfd >= 0) {
				dup2(nfd, f->fd);
				close(nfd);
				rc->swaps++;
			}
		}
		usleep((useconds_t)rnd_below(&rc->rnd, 300));
	}
	return NULL;
}

/*
 * The same calls while another thread unregisters, registers and swaps the
 * file: results are unknowable, errnos still must be documented ones.
 */
TEST_F_TIMEOUT(fuzz, racing_unregister, 3600)
{
	struct fuzz *f = self->f;
	struct racer rc = { .f = f, .rnd = self->seed ^ 0xace };
	struct hring r;
	struct iovec iov = { f->arena + RW_OFF, RW_LEN };
	bool ring = !hring_init(&r, 16, IORING_SETUP_SQE128) &&
		    !hring_register_buffers(&r, &iov, 1);
	pthread_t tid;
	unsigned long i;

	f->exact = false;
	ASSERT_EQ(0, pthread_create(&tid, NULL, racer_fn, &rc));
	for (i = 0; i < self->iters && !atomic_load(&f->failed); i++) {
		unsigned int a = (unsigned int)rnd_below(&f->rnd, 100);

		if (ring && a < 25) {
			fz_uring_batch(f, &r, true);
			continue;
		}
		switch (a % 4) {
		case 0:
			fz_xfer(f);
			break;
		case 1:
			fz_batch(f);
			break;
		case 2:
			fz_register(f);
			break;
		default:
			fz_unregister(f);
			break;
		}
		/* Handles we think are live may be gone: forget the oldest. */
		if (f->nlive > 64)
			live_clear(f);
	}
	atomic_store(&rc.stop, 1);
	pthread_join(tid, NULL);
	if (ring)
		hring_exit(&r);
	printf("# racer: %lu unregisters, %lu file swaps\n", rc.unregs,
	       rc.swaps);
	report(_metadata, self, "racing_unregister");
}

/* read/write/preadv2/pwritev2, lseek and mmap with random arguments. */
TEST_F_TIMEOUT(fuzz, buffered_lseek_mmap, 3600)
{
	struct fuzz *f = self->f;
	unsigned long i;

	for (i = 0; i < self->iters && !atomic_load(&f->failed); i++) {
		unsigned int a = (unsigned int)rnd_below(&f->rnd, 100);

		if (f->have_attach && rnd_pct(&f->rnd, 3))
			fz_attach_step(f);
		else if (a < 60)
			fz_buffered(f);
		else if (a < 80)
			fz_lseek(f);
		else
			fz_mmap(f);
	}
	report(_metadata, self, "buffered_lseek_mmap");
}

TEST_HARNESS_MAIN
