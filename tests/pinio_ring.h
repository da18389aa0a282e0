/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw-syscall io_uring for the tests (no liburing in the guest): any
 * setup flags (SQE128, SQPOLL, DEFER_TASKRUN|SINGLE_ISSUER), SQE helpers
 * for pinio commands, NOP and READ, and waits with a timeout, so a CQE
 * that never comes fails a test instead of hanging it.
 */
#ifndef PINIO_RING_H
#define PINIO_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/io_uring.h>

struct pring {
	int fd;
	unsigned int setup_flags;
	unsigned int sqe_size;
	unsigned int entries;
	unsigned int queued;	/* prepared, not yet made visible */
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	uint8_t *sqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
};

/*
 * Set up a ring of @entries with io_uring_setup() @flags: 0 or -errno.
 * An SQPOLL ring's thread goes idle after @sq_idle_ms (0: the kernel's
 * default of a second).
 */
int pring_init(struct pring *r, unsigned int entries, unsigned int flags,
	       unsigned int sq_idle_ms);
/* Unmap and close; safe on a ring that failed to set up or is gone. */
void pring_exit(struct pring *r);

/* The next free SQE, zeroed; NULL when the SQ ring is full. */
struct io_uring_sqe *pring_sqe(struct pring *r);

/* A pinio IORING_OP_URING_CMD; @payload (up to 80 bytes) goes in sqe->cmd. */
void pring_prep_cmd(struct pring *r, struct io_uring_sqe *sqe, int fd,
		    uint32_t cmd_op, const void *payload, size_t payload_len,
		    uint64_t user_data, uint8_t sqe_flags, uint32_t uflags,
		    uint16_t buf_index);
void pring_prep_nop(struct io_uring_sqe *sqe, uint64_t user_data,
		    uint8_t sqe_flags);
void pring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf,
		     uint32_t len, uint64_t off, uint64_t user_data,
		     uint8_t sqe_flags);

/*
 * Make everything prepared visible to the kernel and submit it (on an
 * SQPOLL ring: wake its thread). Returns how many SQEs went in, or
 * -errno. Completions are reaped with pring_wait().
 */
int pring_submit(struct pring *r);

/*
 * The next CQE into @cqe: 0, or -ETIME if none came within @timeout_ms,
 * or -errno of io_uring_enter().
 */
int pring_wait(struct pring *r, struct io_uring_cqe *cqe,
	       unsigned int timeout_ms);

/* Register @nr iovecs as fixed buffers 0..nr-1: 0 or -errno. */
int pring_register_buffers(struct pring *r, const struct iovec *iov,
			   unsigned int nr);

/* A readable name of the setup flags the tests use, for messages. */
const char *pring_mode(unsigned int setup_flags);

#endif /* PINIO_RING_H */
