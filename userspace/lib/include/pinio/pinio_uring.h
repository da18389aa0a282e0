/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * liburing prep helpers for pinio's IORING_OP_URING_CMD, in the style of
 * io_uring_prep_*(). The ring must be set up with IORING_SETUP_SQE128: the
 * command payload lives in the big SQE's cmd area.
 */
#ifndef PINIO_PINIO_URING_H
#define PINIO_PINIO_URING_H

#include <string.h>
#include <liburing.h>
#include <pinio/pinio.h>

static inline void pinio_prep_cmd(struct io_uring_sqe *sqe, int fd,
				  uint32_t cmd_op,
				  const struct pinio_uring_cmd *cmd,
				  uint32_t uring_cmd_flags, uint16_t buf_index)
{
	/* An SQE128 slot is two struct io_uring_sqe. */
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->uring_cmd_flags = uring_cmd_flags;
	sqe->buf_index = buf_index;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
}

/* Transfer through a pinio handle. */
static inline void pinio_prep_xfer(struct io_uring_sqe *sqe, int fd, int write,
				   uint32_t handle, uint64_t buf_offset,
				   uint64_t dev_offset, uint64_t len)
{
	struct pinio_uring_cmd cmd;

	/* No designated initializers: C++ -Wextra wants every field. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.handle = handle;
	cmd.buf_offset = buf_offset;
	cmd.dev_offset = dev_offset;
	cmd.len = len;
	pinio_prep_cmd(sqe, fd, write ? PINIO_URING_CMD_WRITE :
			PINIO_URING_CMD_READ, &cmd, 0, 0);
}

static inline void pinio_prep_read(struct io_uring_sqe *sqe, int fd,
				   uint32_t handle, uint64_t buf_offset,
				   uint64_t dev_offset, uint64_t len)
{
	pinio_prep_xfer(sqe, fd, 0, handle, buf_offset, dev_offset, len);
}

static inline void pinio_prep_write(struct io_uring_sqe *sqe, int fd,
				    uint32_t handle, uint64_t buf_offset,
				    uint64_t dev_offset, uint64_t len)
{
	pinio_prep_xfer(sqe, fd, 1, handle, buf_offset, dev_offset, len);
}

/* Transfer through a buffer registered with io_uring_register_buffers(). */
static inline void pinio_prep_xfer_fixed(struct io_uring_sqe *sqe, int fd,
					 int write, uint16_t buf_index,
					 const void *addr, uint64_t dev_offset,
					 uint64_t len)
{
	struct pinio_uring_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uint64_t)(uintptr_t)addr;
	cmd.dev_offset = dev_offset;
	cmd.len = len;
	pinio_prep_cmd(sqe, fd, write ? PINIO_URING_CMD_WRITE :
			PINIO_URING_CMD_READ, &cmd, IORING_URING_CMD_FIXED,
			buf_index);
}

static inline void pinio_prep_read_fixed(struct io_uring_sqe *sqe, int fd,
					 uint16_t buf_index, void *addr,
					 uint64_t dev_offset, uint64_t len)
{
	pinio_prep_xfer_fixed(sqe, fd, 0, buf_index, addr, dev_offset, len);
}

static inline void pinio_prep_write_fixed(struct io_uring_sqe *sqe, int fd,
					  uint16_t buf_index, const void *addr,
					  uint64_t dev_offset, uint64_t len)
{
	pinio_prep_xfer_fixed(sqe, fd, 1, buf_index, addr, dev_offset, len);
}

/*
 * PINIO_URING_CMD_FLUSH: PINIO_IOC_FLUSH as a command (PINIO_FEAT_ATTACH).
 * Its CQE's res is 0 once every write completed before it is durable.
 */
static inline void pinio_prep_flush(struct io_uring_sqe *sqe, int fd)
{
	struct pinio_uring_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	pinio_prep_cmd(sqe, fd, PINIO_URING_CMD_FLUSH, &cmd, 0, 0);
}

#endif /* PINIO_PINIO_URING_H */
