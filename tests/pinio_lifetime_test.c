// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: registration lifetime. Unregister and close racing transfers in
 * other threads, fork with a pinned buffer, munmap of a registered buffer,
 * close / dup / inherited fds / process exit with live registrations, and
 * the pin accounting returning to where it started after each.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>

#include "pinio_test_util.h"

PINIO_DEVICE_FIXTURE(life);

/* --- transfers racing unregister / close -------------------------------- */

struct racer {
	pthread_t tid;
	int fd;
	uint32_t h;
	uint32_t seed;
	uint8_t *buf;		/* registration base */
	size_t chunk;
	uint64_t src_off;	/* pattern source in the registration */
	uint64_t dst_off;	/* READ target in the registration */
	uint64_t dev_off;
	int accept;		/* the one errno that means "gone" */
	atomic_long *progress;
	double deadline;
	/* results */
	long done;
	int end_err;		/* the errno that ended the loop */
	int bad_err;		/* anything else */
	int64_t bad_at;		/* first wrong byte of a successful READ */
};

/*
 * WRITE our pattern to our store slice, READ it back to our other slice and
 * check it, until the registration (or file) is gone.
 */
static void *racer_fn(void *arg)
{
	struct racer *r = arg;

	r->bad_at = -1;
	while (now_sec() < r->deadline) {
		int ret;

		ret = pinio_write(r->fd, r->h, r->src_off, r->dev_off,
				  r->chunk);
		if (!ret) {
			memset(r->buf + r->dst_off, 0, r->chunk);
			ret = pinio_read(r->fd, r->h, r->dst_off, r->dev_off,
					 r->chunk);
		}
		if (ret == -r->accept) {
			r->end_err = -ret;
			break;
		}
		if (ret) {
			r->bad_err = -ret;
			break;
		}
		r->bad_at = pattern_find_mismatch(r->buf + r->dst_off,
						  r->chunk, r->dev_off,
						  r->seed);
		if (r->bad_at >= 0)
			break;
		r->done++;
		atomic_fetch_add(r->progress, 1);
	}
	return NULL;
}

/*
 * Start @n racers on one handle; once each has finished a few round trips,
 * call @stop_fn (unregister or close) while they are still going.
 */
static void race(struct __test_metadata *_metadata, int fd, size_t chunk,
		 int n, int accept, int (*stop_fn)(int fd, uint32_t h))
{
	struct racer *r = calloc(n, sizeof(*r));
	atomic_long progress = 0;
	double limit = now_sec() + 60;
	struct pin_snap base;
	struct tbuf b;
	uint32_t h = 0;
	int i;

	ASSERT_NE(NULL, r);
	ASSERT_OK(pin_snap(&base));
	ASSERT_OK(tbuf_anon(&b, 2 * n * chunk + 1));
	/* An odd start: every chunk straddles pages on both sides. */
	ASSERT_OK(pinio_register(fd, b.p + 1, 2 * n * chunk, PINIO_REG_BIDIR,
				 &h));
	for (i = 0; i < n; i++) {
		r[i].fd = fd;
		r[i].h = h;
		r[i].seed = 0x7ace + i;
		r[i].buf = b.p + 1;
		r[i].chunk = chunk;
		r[i].src_off = 2 * i * chunk;
		r[i].dst_off = (2 * i + 1) * chunk;
		r[i].dev_off = i * chunk + 3;
		r[i].accept = accept;
		r[i].progress = &progress;
		r[i].deadline = limit;
		pattern_fill(r[i].buf + r[i].src_off, chunk, r[i].dev_off,
			     r[i].seed);
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_create(&r[i].tid, NULL, racer_fn, &r[i]));
	}
	while (atomic_load(&progress) < 3L * n && now_sec() < limit)
		usleep(1000);
	ASSERT_OK(stop_fn(fd, h));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_join(r[i].tid, NULL));
	}

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, r[i].bad_err)
			TH_LOG("thread %d: unexpected %s", i,
			       errname(r[i].bad_err));
		ASSERT_EQ(-1, r[i].bad_at)
			TH_LOG("thread %d: wrong data at byte %" PRId64, i,
			       r[i].bad_at);
		ASSERT_EQ(accept, r[i].end_err)
			TH_LOG("thread %d never saw %s (%ld round trips)", i,
			       errname(accept), r[i].done);
	}
	ASSERT_LE(3L * n, atomic_load(&progress));
	/* Every transfer has ended: every pin is gone. */
	ASSERT_PINS(base, 0, 0);
	tbuf_free(&b);
	free(r);
}

static int kill_unregister(int fd, uint32_t h)
{
	return pinio_unregister(fd, h);
}

static int kill_close(int fd, uint32_t h)
{
	(void)h;
	return close(fd) ? -errno : 0;
}

/* Threads see only success or ENOENT while another thread unregisters. */
TEST_F_TIMEOUT(life, unregister_during_transfers, 240)
{
	const size_t chunks[] = { 4 * KiB + 5, 64 * KiB + 5, MiB + 1,
				  4 * MiB - 7 };
	size_t i, round;

	/* Several rounds: the unregister should land mid-copy at least once. */
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		for (round = 0; round < 4; round++)
			race(_metadata, self->fd, chunks[i], 4, ENOENT,
			     kill_unregister);
	}
	ASSERT_PINS(self->base, 0, 0);
}

/* Threads see only success or EBADF while another thread closes the fd. */
TEST_F_TIMEOUT(life, close_during_transfers, 240)
{
	const size_t chunks[] = { 64 * KiB + 5, 2 * MiB + 1 };
	size_t i, round;
	int fd;

	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		for (round = 0; round < 3; round++) {
			fd = pinio_open();
			ASSERT_LE(0, fd);
			race(_metadata, fd, chunks[i], 4, EBADF, kill_close);
		}
	}
	ASSERT_PINS(self->base, 0, 0);
}

/* --- fork --------------------------------------------------------------- */

/*
 * After fork the parent's registered anonymous buffer is still the memory
 * the device reads and writes; the child's copy is its own. Both for a
 * writable pin and for a read-only (USER_TO_DEV) one.
 */
static void fork_case(struct __test_metadata *_metadata,
		      FIXTURE_DATA(life) *self, uint32_t dir)
{
	size_t ps = self->ps, len = 9 * ps + 3, off = 5;
	const uint64_t D = 5 * MiB + 1, D2 = 6 * MiB + 7;
	bool dev_writes = dir & PINIO_REG_DEV_TO_USER;
	int ready[2], stop[2];
	uint32_t h = 0;
	struct tbuf b;
	pid_t pid;
	char c;

	ASSERT_OK(tbuf_anon(&b, 16 * ps));
	pattern_fill(b.p, b.len, 0, 0xf0);
	ASSERT_OK(pinio_register(self->fd, b.p + off, len, dir, &h));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe2(stop, O_NONBLOCK));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Scribble over our copy until told to stop, then check it. */
		close(ready[0]);
		close(stop[1]);
		pattern_fill(b.p, b.len, 0, 0xc0);
		CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
		while (read(stop[0], &c, 1) < 0 && errno == EAGAIN) {
			pattern_fill(b.p, b.len, 0, 0xc0);
			usleep(100);
		}
		CHILD_CHECK(pattern_find_mismatch(b.p, b.len, 0, 0xc0) == -1,
			    "the parent's device reads reached the child");
		_exit(0);
	}
	close(ready[1]);
	close(stop[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));

	/* Child alive and writing its copy: the device still reaches ours. */
	if (dev_writes) {
		ASSERT_OK(seed_store(self->fd, D, len, 0xa1));
		ASSERT_OK(pinio_read(self->fd, h, 0, D, len));
		ASSERT_PATTERN(b.p + off, len, D, 0xa1);
		ASSERT_PATTERN(b.p, off, 0, 0xf0);
		ASSERT_PATTERN(b.p + off + len, b.len - off - len, off + len,
			       0xf0);
	} else {
		/* What we had before the fork, not the child's scribbles. */
		ASSERT_OK(pinio_write(self->fd, h, 0, D2, len));
		ASSERT_OK(dev_pread_all(self->fd, b.p + off, len, D2));
		ASSERT_PATTERN(b.p + off, len, off, 0xf0);
	}
	/* And what we write now, the device reads. */
	pattern_fill(b.p + off, len, D2, 0xa2);
	ASSERT_OK(pinio_write(self->fd, h, 0, D2, len));
	ASSERT_DEV_PATTERN(self->fd, D2, len, 0xa2);

	close(stop[1]);
	ASSERT_EQ(0, wait_child(pid));
	close(ready[0]);

	/* After the child is gone, the same. */
	ASSERT_PATTERN(b.p + off, len, D2, 0xa2);
	if (dev_writes) {
		ASSERT_OK(seed_store(self->fd, D, len, 0xa3));
		ASSERT_OK(pinio_read(self->fd, h, 0, D, len));
		ASSERT_PATTERN(b.p + off, len, D, 0xa3);
	}
	pattern_fill(b.p + off, len, D2, 0xa4);
	ASSERT_OK(pinio_write(self->fd, h, 0, D2, len));
	ASSERT_DEV_PATTERN(self->fd, D2, len, 0xa4);

	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

TEST_F(life, fork_keeps_parent_pinned_pages)
{
	fork_case(_metadata, self, PINIO_REG_BIDIR);
	fork_case(_metadata, self, PINIO_REG_USER_TO_DEV);
}

/* --- munmap ------------------------------------------------------------- */

/*
 * The registration keeps its pages after munmap: transfers still work on
 * them (and not on whatever is mapped there later), unregister frees them.
 */
TEST_F(life, munmap_after_register)
{
	size_t ps = self->ps, len = 6 * ps - 9, off = 9;
	const uint64_t D = MiB + 5, D2 = 2 * MiB + 3, D3 = 3 * MiB + 11;
	uint8_t *p, *chk;
	uint32_t h = 0;

	p = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	pattern_fill(p + off, len, D, 0x3a);
	ASSERT_OK(pinio_register(self->fd, p + off, len, PINIO_REG_BIDIR, &h));
	ASSERT_OK(sys_ret(munmap(p, 6 * ps)));
	ASSERT_PINS(self->base, 1, 6);

	/* The unmapped pages still hold what was there... */
	ASSERT_OK(pinio_write(self->fd, h, 0, D, len));
	ASSERT_DEV_PATTERN(self->fd, D, len, 0x3a);
	/* ... and still take data and give it back. */
	ASSERT_OK(seed_store(self->fd, D2, len, 0x3b));
	ASSERT_OK(pinio_read(self->fd, h, 0, D2, len));
	ASSERT_OK(pinio_write(self->fd, h, 0, D3, len));
	chk = malloc(len);
	ASSERT_NE(NULL, chk);
	ASSERT_OK(dev_pread_all(self->fd, chk, len, D3));
	ASSERT_PATTERN(chk, len, D2, 0x3b);

	/* New memory at the same address is not the registration. */
	ASSERT_EQ(p, mmap(p, 6 * ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	memset(p, 0x99, 6 * ps);
	ASSERT_OK(pinio_read(self->fd, h, 0, D, len));
	ASSERT_FILLED(p, 6 * ps, 0x99);
	ASSERT_OK(pinio_write(self->fd, h, 0, D3, len));
	ASSERT_OK(dev_pread_all(self->fd, chk, len, D3));
	ASSERT_PATTERN(chk, len, D, 0x3a);

	ASSERT_OK(pinio_unregister(self->fd, h));
	ASSERT_PINS(self->base, 0, 0);

	/* munmap, then close without unregistering: the same cleanup. */
	ASSERT_OK(pinio_register(self->fd, p, 6 * ps, PINIO_REG_BIDIR, &h));
	ASSERT_OK(sys_ret(munmap(p, 6 * ps)));
	ASSERT_OK(pinio_read(self->fd, h, 0, 0, 6 * ps));
	close(self->fd);
	self->fd = -1;
	ASSERT_PINS(self->base, 0, 0);
	free(chk);
}

/* --- close, dup, inheritance, exit -------------------------------------- */

/* Closing the file drops every registration, of every kind of memory. */
TEST_F(life, close_with_live_registrations)
{
	size_t ps = self->ps;
	struct tbuf anon, mfd, shm, thp, huge, ro;
	int64_t pages = 0, regs = 0;
	uint32_t hm = 0;
	uint8_t *chk;
	int fd, ret;

	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(tbuf_anon(&anon, 4 * ps));
	ASSERT_OK(pinio_register(fd, anon.p + 1, 3 * ps, PINIO_REG_BIDIR,
				 NULL));
	pages += 4;
	regs++;
	ASSERT_OK(tbuf_memfd(&mfd, 4 * ps));
	ASSERT_OK(pinio_register(fd, mfd.p, 4 * ps, PINIO_REG_BIDIR, &hm));
	ASSERT_OK(pinio_register(fd, mfd.p + ps, 1, PINIO_REG_DEV_TO_USER,
				 NULL));
	pages += 5;
	regs += 2;
	ASSERT_OK(tbuf_shmem(&shm, 2 * ps));
	ASSERT_OK(pinio_register(fd, shm.p, 2 * ps, PINIO_REG_USER_TO_DEV,
				 NULL));
	pages += 2;
	regs++;
	ASSERT_OK(tbuf_anon(&ro, 2 * ps));
	ASSERT_OK(sys_ret(mprotect(ro.p, 2 * ps, PROT_READ)));
	ASSERT_OK(pinio_register(fd, ro.p, 2 * ps, PINIO_REG_USER_TO_DEV,
				 NULL));
	pages += 2;
	regs++;
	ret = tbuf_thp(&thp, HPAGE_SIZE);
	if (!ret) {
		ASSERT_OK(pinio_register(fd, thp.p, HPAGE_SIZE,
					 PINIO_REG_BIDIR, NULL));
		pages += HPAGE_SIZE / ps;
		regs++;
	}
	ret = tbuf_hugetlb(&huge, HPAGE_SIZE);
	if (!ret) {
		ASSERT_OK(pinio_register(fd, huge.p + 3, HPAGE_SIZE - 3,
					 PINIO_REG_BIDIR, NULL));
		pages += HPAGE_SIZE / ps;
		regs++;
	}
	ASSERT_PINS(self->base, regs, pages);

	/* Put data in the memfd through its registration, then close. */
	ASSERT_OK(seed_store(fd, 0, 4 * ps, 0xc105e));
	ASSERT_OK(pinio_read(fd, hm, 0, 0, 4 * ps));
	close(fd);
	ASSERT_PINS(self->base, 0, 0);

	/* The memory is ordinary memory again; the memfd kept its data. */
	memset(anon.p, 1, anon.len);
	memset(shm.p, 2, shm.len);
	tbuf_free(&anon);
	tbuf_free(&shm);
	tbuf_free(&ro);
	if (thp.base)
		tbuf_free(&thp);
	if (huge.base)
		tbuf_free(&huge);
	chk = malloc(4 * ps);
	ASSERT_NE(NULL, chk);
	ASSERT_EQ((ssize_t)(4 * ps), pread(mfd.fd, chk, 4 * ps, 0));
	ASSERT_PATTERN(chk, 4 * ps, 0, 0xc105e);
	tbuf_free(&mfd);
	free(chk);
}

/*
 * Registrations belong to the open file, not the descriptor: they outlive
 * close() of one dup and of the parent's fd while a child holds the file,
 * and go when the last reference does.
 */
TEST_F(life, registrations_follow_open_file)
{
	size_t ps = self->ps;
	int fd, fd2, go[2];
	struct tbuf b;
	uint32_t h = 0;
	pid_t pid;
	char c;

	ASSERT_OK(tbuf_anon(&b, 4 * ps));
	fd = pinio_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(pinio_register(fd, b.p, 4 * ps, PINIO_REG_BIDIR, &h));
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	close(fd);
	ASSERT_PINS(self->base, 1, 4);
	pattern_fill(b.p, 4 * ps, 77, 0xd0);
	ASSERT_OK(pinio_write(fd2, h, 0, 77, 4 * ps));
	ASSERT_DEV_PATTERN(fd2, 77, 4 * ps, 0xd0);

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Hold the inherited fd2 until the parent says go. */
		close(go[1]);
		CHILD_CHECK(read(go[0], &c, 1) == 0, "go");
		_exit(0);
	}
	close(go[0]);
	close(fd2);
	/* The child still holds the file: nothing released yet. */
	ASSERT_PINS(self->base, 1, 4);
	close(go[1]);
	ASSERT_EQ(0, wait_child(pid));
	/* The last reference is gone: so is the charge to our mm. */
	ASSERT_PINS(self->base, 0, 0);
	tbuf_free(&b);
}

/* A process that exits (or is killed) holding registrations leaks nothing. */
TEST_F(life, exit_with_live_registrations)
{
	int how;

	for (how = 0; how < 2; how++) {
		int ready[2];
		pid_t pid;
		char c;

		ASSERT_EQ(0, pipe(ready));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct tbuf a, m;
			uint32_t h1 = 0, h2 = 0;
			int fd = pinio_open();

			close(ready[0]);
			CHILD_CHECK(fd >= 0, "open");
			CHILD_CHECK(!tbuf_anon(&a, 8 * MiB), "anon");
			CHILD_CHECK(!tbuf_memfd(&m, MiB), "memfd");
			CHILD_CHECK(!pinio_register(fd, a.p + 1, 8 * MiB - 1,
						    PINIO_REG_BIDIR, &h1),
				    "register");
			CHILD_CHECK(!pinio_register(fd, m.p, MiB,
						    PINIO_REG_BIDIR, &h2),
				    "register");
			CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
			if (how == 0)
				_exit(0);
			/* Keep transferring until killed. */
			for (;;) {
				pinio_read(fd, h1, 0, 0, 8 * MiB - 1);
				pinio_write(fd, h2, 0, MiB, MiB);
			}
		}
		close(ready[1]);
		ASSERT_EQ(1, read(ready[0], &c, 1));
		close(ready[0]);
		if (how == 1) {
			usleep(20000);
			ASSERT_EQ(0, kill(pid, SIGKILL));
			ASSERT_EQ(128 + SIGKILL, wait_child(pid));
		} else {
			ASSERT_EQ(0, wait_child(pid));
		}
		ASSERT_PINS(self->base, 0, 0) TH_LOG("child %s",
						     how ? "killed" : "exited");
	}
}

/*
 * The process that registered (and was charged) exits while another still
 * holds the file: the registration lives on with its pages, then the last
 * close releases it against the dead process's mm without trouble.
 */
TEST_F(life, release_after_registering_process_exits)
{
	const uint64_t D = 9 * MiB + 3;
	const size_t len = 5 * 4096 + 7;
	int go[2], res[2];
	pid_t child, gchild;
	char c = 0;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct tbuf b;
		uint32_t h = 0;
		int fd = pinio_open();

		CHILD_CHECK(fd >= 0, "open");
		CHILD_CHECK(!tbuf_anon(&b, 8 * 4096), "anon");
		pattern_fill(b.p + 1, len, D, 0x0ff);
		CHILD_CHECK(!pinio_register(fd, b.p + 1, len, PINIO_REG_BIDIR,
					    &h), "register");
		gchild = fork();
		CHILD_CHECK(gchild >= 0, "fork");
		if (gchild == 0) {
			int r;

			/* Wait until our parent is gone, then use its pages. */
			CHILD_CHECK(read(go[0], &c, 1) == 1, "go");
			r = pinio_write(fd, h, 0, D, len);
			c = r ? 'E' : 'K';
			CHILD_CHECK(write(res[1], &c, 1) == 1, "result");
			close(fd);
			_exit(0);
		}
		_exit(0);	/* with the registration live, charged to us */
	}
	ASSERT_EQ(0, wait_child(child));
	/* The grandchild holds the file: the registration is still there. */
	ASSERT_PIN_STATS(self->base, 1, 6);
	ASSERT_OK(seed_store(self->fd, D, len, 0xeee));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(res[0], &c, 1));
	ASSERT_EQ('K', c) TH_LOG("transfer on the dead process's pages failed");
	ASSERT_DEV_PATTERN(self->fd, D, len, 0x0ff);
	gchild = waitpid(-1, NULL, 0);
	ASSERT_LT(0, gchild);
	ASSERT_PINS(self->base, 0, 0);
}

/* Many register/unregister cycles: handles keep working, pins balance. */
TEST_F(life, register_unregister_cycles)
{
	size_t ps = self->ps;
	int64_t pages = 0;
	struct tbuf b;
	int i;

	ASSERT_OK(tbuf_anon(&b, 3 * ps));
	for (i = 0; i < 2000; i++) {
		uint32_t h = 0;
		size_t off = (i * 97) % ps, len = ps + i % 1000 + 1;

		ASSERT_OK(pinio_register(self->fd, b.p + off, len,
					 PINIO_REG_BIDIR, &h))
			TH_LOG("cycle %d", i);
		pages += span_pages((uintptr_t)b.p + off, len);
		if (i % 100 == 0) {
			pattern_fill(b.p + off, len, i, i);
			ASSERT_OK(pinio_write(self->fd, h, 0, i, len));
			ASSERT_DEV_PATTERN(self->fd, i, len, i);
		}
		ASSERT_OK(pinio_unregister(self->fd, h));
		ASSERT_ERR(ENOENT, pinio_read(self->fd, h, 0, 0, 1));
	}
	ASSERT_PINS(self->base, 0, 0);
	ASSERT_TOTALS(self->base, 2000, pages);
	tbuf_free(&b);
}

TEST_HARNESS_MAIN
