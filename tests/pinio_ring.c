// SPDX-License-Identifier: GPL-2.0
/*
 * A raw-syscall io_uring for the tests: see pinio_ring.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pinio_ring.h"

void pring_exit(struct pring *r)
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
	r->cq_map = NULL;
	r->sq_map = NULL;
}

int pring_init(struct pring *r, unsigned int entries, unsigned int flags,
	       unsigned int sq_idle_ms)
{
	struct io_uring_params p;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.sq_thread_idle = sq_idle_ms;
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		ret = -errno;
		r->fd = -1;
		return ret;
	}
	r->setup_flags = flags;
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
		pring_exit(r);
		return ret;
	}
#define SQ(f) ((unsigned int *)((char *)r->sq_map + p.sq_off.f))
#define CQ(f) ((unsigned int *)((char *)r->cq_map + p.cq_off.f))
	r->sq_head = SQ(head);
	r->sq_tail = SQ(tail);
	r->sq_mask = SQ(ring_mask);
	r->sq_array = SQ(array);
	r->sq_flags = SQ(flags);
	r->cq_head = CQ(head);
	r->cq_tail = CQ(tail);
	r->cq_mask = CQ(ring_mask);
	r->cqes = (struct io_uring_cqe *)CQ(cqes);
#undef SQ
#undef CQ
	return 0;
}

int pring_register_buffers(struct pring *r, const struct iovec *iov,
			   unsigned int nr)
{
	return syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS,
		       iov, nr) ? -errno : 0;
}

struct io_uring_sqe *pring_sqe(struct pring *r)
{
	unsigned int head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	unsigned int tail = *r->sq_tail + r->queued;
	unsigned int idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe;

	if (tail - head >= r->entries)
		return NULL;
	sqe = (void *)(r->sqes + (size_t)idx * r->sqe_size);
	memset(sqe, 0, r->sqe_size);
	r->sq_array[idx] = idx;
	r->queued++;
	return sqe;
}

void pring_prep_cmd(struct pring *r, struct io_uring_sqe *sqe, int fd,
		    uint32_t cmd_op, const void *payload, size_t payload_len,
		    uint64_t user_data, uint8_t sqe_flags, uint32_t uflags,
		    uint16_t buf_index)
{
	size_t room = r->sqe_size - offsetof(struct io_uring_sqe, cmd);

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = sqe_flags;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	sqe->uring_cmd_flags = uflags;
	sqe->buf_index = buf_index;
	memcpy(sqe->cmd, payload, payload_len < room ? payload_len : room);
}

void pring_prep_nop(struct io_uring_sqe *sqe, uint64_t user_data,
		    uint8_t sqe_flags)
{
	sqe->opcode = IORING_OP_NOP;
	sqe->flags = sqe_flags;
	sqe->fd = -1;
	sqe->user_data = user_data;
}

void pring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf,
		     uint32_t len, uint64_t off, uint64_t user_data,
		     uint8_t sqe_flags)
{
	sqe->opcode = IORING_OP_READ;
	sqe->flags = sqe_flags;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = user_data;
}

static int enter(int fd, unsigned int to_submit, unsigned int min_complete,
		 unsigned int flags, void *arg, size_t argsz)
{
	int ret = syscall(__NR_io_uring_enter, fd, to_submit, min_complete,
			  flags, arg, argsz);

	return ret < 0 ? -errno : ret;
}

/*
 * io_uring stops a submission at an SQE it cannot even initialise (that
 * one's CQE carries the error), so loop until the SQ ring is drained. On
 * an SQPOLL ring the thread takes them: wake it (always, which is allowed,
 * rather than racing with IORING_SQ_NEED_WAKEUP).
 */
int pring_submit(struct pring *r)
{
	unsigned int n = r->queued, done = 0;
	int ret;

	__atomic_store_n(r->sq_tail, *r->sq_tail + n, __ATOMIC_RELEASE);
	r->queued = 0;
	if (r->setup_flags & IORING_SETUP_SQPOLL) {
		do {
			ret = enter(r->fd, n, 0, IORING_ENTER_SQ_WAKEUP, NULL,
				    0);
		} while (ret == -EINTR);
		return ret < 0 ? ret : (int)n;
	}
	while (done < n) {
		ret = enter(r->fd, n - done, 0, 0, NULL, 0);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return done ? (int)done : ret;
		if (ret == 0)
			break;
		done += ret;
	}
	return (int)done;
}

static int reap(struct pring *r, struct io_uring_cqe *out)
{
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*out = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pring_wait(struct pring *r, struct io_uring_cqe *cqe,
	       unsigned int timeout_ms)
{
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;

	while (!reap(r, cqe)) {
		int64_t left = end - now_ns();
		struct __kernel_timespec ts;
		struct io_uring_getevents_arg arg;
		int ret;

		if (left <= 0)
			return -ETIME;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		memset(&arg, 0, sizeof(arg));
		arg.ts = (uintptr_t)&ts;
		/* Also runs a DEFER_TASKRUN ring's completions. */
		ret = enter(r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			    &arg, sizeof(arg));
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return ret;
	}
	return 0;
}

const char *pring_mode(unsigned int f)
{
	if (f & IORING_SETUP_SQPOLL)
		return "SQPOLL";
	if (f & IORING_SETUP_DEFER_TASKRUN)
		return "DEFER_TASKRUN|SINGLE_ISSUER";
	return "plain";
}
