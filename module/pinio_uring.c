// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring passthrough: IORING_OP_URING_CMD runs a direct transfer into a
 * pinio registration or into a buffer registered with io_uring itself
 * (IORING_URING_CMD_FIXED), through the transfer engine like the ioctls.
 *
 * On the RAM store a transfer is a copy from pinned pages that never
 * blocks, so by default it runs inline in the submitter's context. With
 * uring_async_min set, transfers of at least that size run on a workqueue
 * instead and complete through task work: that pays for deep queues of
 * large transfers with idle CPUs and costs at QD1, and the driver cannot
 * see a ring's depth (README, io_uring).
 *
 * On an attached store a command is the device's I/O: submitted at issue,
 * its CQE posted from the device's completion through task work, so a
 * ring's queue depth is the device's. A non-blocking issue (the ring lock
 * held) submits with IOCB_NOWAIT; if the device would block, the command
 * is submitted again, blocking, from pinio's workqueue. Not handed back to
 * io_uring with -EAGAIN: its second issue would look the handle and the
 * store up again, and the header promises both are taken at the first.
 * Never is such an -EAGAIN the CQE.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "pinio_compat.h"
#include "pinio_drv.h"

static unsigned int uring_async_min;
module_param(uring_async_min, uint, 0644);
MODULE_PARM_DESC(uring_async_min,
		 "RAM-store io_uring transfers of at least this many bytes run on a workqueue; 0: none (default 0)");

static struct workqueue_struct *pinio_wq;

/* A command that outlives its issue. */
struct pinio_uring_io {
	struct pinio_io io;
	struct io_uring_cmd *ioucmd;
	struct iov_iter iter;		/* io.iter as prepared, for a retry */
	struct work_struct work;	/* uring_async_min, or a retry */
};

/* Lives in io_uring_cmd.pdu while a command waits for its task work. */
struct pinio_uring_pdu {
	struct pinio_uring_io *uio;
	long result;
};

static struct pinio_uring_pdu *pinio_uring_pdu(struct io_uring_cmd *ioucmd)
{
	BUILD_BUG_ON(sizeof(struct pinio_uring_pdu) > sizeof(ioucmd->pdu));
	return (struct pinio_uring_pdu *)ioucmd->pdu;
}

/*
 * Post the CQE of a command that finished during its issue, and tell
 * io_uring it is queued. Returning the result instead works only on newer
 * kernels: 6.1's io_uring_cmd() hands a non-negative ->uring_cmd() return
 * back to io_issue_sqe() as if it were an error code, so an inline issue
 * fails the request (cancelling its links) and io-wq, which only completes
 * negative codes, drops it and the command never completes. This is the
 * ublk pattern, correct on every kernel.
 */
static int pinio_uring_done_at_issue(struct io_uring_cmd *ioucmd, long res,
				     unsigned int issue_flags)
{
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
	return -EIOCBQUEUED;
}

/* Read a transfer's SQE payload (once: user space shares it) into @io. */
static int pinio_uring_prepare(struct io_uring_cmd *ioucmd, u32 op,
			       struct pinio_io *io)
{
	const struct pinio_uring_cmd *cmd = pinio_uring_cmd_payload(ioucmd);
	struct pinio_file *pf = ioucmd->file->private_data;
	struct pinio_store *store;
	struct pinio_xfer x = {};
	u64 addr;
	int ret;

	if (READ_ONCE(cmd->flags))
		return -EINVAL;
	addr = READ_ONCE(cmd->addr);
	x.handle = READ_ONCE(cmd->handle);
	x.buf_offset = READ_ONCE(cmd->buf_offset);
	x.dev_offset = READ_ONCE(cmd->dev_offset);
	x.len = READ_ONCE(cmd->len);

	store = pinio_file_store(pf);
	if (!(ioucmd->flags & IORING_URING_CMD_FIXED)) {
		ret = addr ? -EINVAL : pinio_io_prepare(io, store, pf, &x, op);
	} else if (x.handle || x.buf_offset) {
		ret = -EINVAL;
	} else if (!pinio_store_range_ok(store, x.dev_offset, x.len)) {
		ret = -EINVAL;
	} else {
		ret = io_uring_cmd_import_fixed(addr, x.len,
						op == PINIO_OP_READ ?
						ITER_DEST : ITER_SOURCE,
						&io->iter, ioucmd);
		if (!ret)
			ret = pinio_io_prepare_iter(io, store, op, x.dev_offset);
	}
	pinio_store_put(store);
	return ret;
}

/* Task work: the last unpin and the CQE, in the submitter's context. */
static void pinio_uring_complete(struct io_uring_cmd *ioucmd,
				 unsigned int issue_flags)
{
	struct pinio_uring_pdu *pdu = pinio_uring_pdu(ioucmd);
	struct pinio_uring_io *uio = pdu->uio;
	long res = pinio_io_result(&uio->io, pdu->result,
				   iov_iter_count(&uio->iter));

	pinio_io_release(&uio->io);
	kfree(uio);
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
}

/* Any context, interrupts included. */
static void pinio_uring_finish(struct pinio_uring_io *uio, long res)
{
	struct pinio_uring_pdu *pdu = pinio_uring_pdu(uio->ioucmd);

	pdu->uio = uio;
	pdu->result = res;
	io_uring_cmd_complete_in_task(uio->ioucmd, pinio_uring_complete);
}

/* pinio_io.complete of a queued transfer: maybe interrupt context. */
static void pinio_uring_io_complete(struct pinio_io *io, long res)
{
	struct pinio_uring_io *uio = container_of(io, struct pinio_uring_io, io);

	if (res == -EAGAIN && io->nowait) {
		io->nowait = false;
		queue_work(pinio_wq, &uio->work);
		return;
	}
	pinio_uring_finish(uio, res);
}

/* A transfer that may block: uring_async_min, or a late NOWAIT failure. */
static void pinio_uring_work_fn(struct work_struct *work)
{
	struct pinio_uring_io *uio = container_of(work, struct pinio_uring_io,
						  work);
	struct pinio_store *store = uio->io.store;
	ssize_t ret;

	uio->io.iter = uio->iter;
	ret = store->ops->direct(store, &uio->io);
	if (ret != -EIOCBQUEUED)
		pinio_uring_finish(uio, ret);
}

static int pinio_uring_rw(struct io_uring_cmd *ioucmd, u32 op,
			  unsigned int issue_flags)
{
	bool nonblock = issue_flags & IO_URING_F_NONBLOCK;
	struct pinio_uring_io *uio;
	unsigned int async_min;
	struct pinio_io io;
	size_t len;
	ssize_t ret;

	ret = pinio_uring_prepare(ioucmd, op, &io);
	if (ret)
		return pinio_uring_done_at_issue(ioucmd, ret, issue_flags);
	len = iov_iter_count(&io.iter);

	async_min = READ_ONCE(uring_async_min);
	if (!io.store->may_queue && (!async_min || len < async_min))
		goto run_inline;

	/*
	 * A non-blocking issue must not wait for reclaim either. Short of
	 * memory there, the command goes back to io_uring to be issued again
	 * from io-wq, the one case that looks handle and store up twice.
	 */
	uio = kmalloc(sizeof(*uio), nonblock ? GFP_NOWAIT : GFP_KERNEL);
	if (!uio) {
		if (!io.store->may_queue)
			goto run_inline;	/* slower, but never fails */
		pinio_io_release(&io);
		if (nonblock)
			return -EAGAIN;
		return pinio_uring_done_at_issue(ioucmd, -ENOMEM, issue_flags);
	}
	uio->io = io;
	uio->ioucmd = ioucmd;
	uio->iter = io.iter;
	INIT_WORK(&uio->work, pinio_uring_work_fn);
	if (!io.store->may_queue) {
		queue_work(pinio_wq, &uio->work);
		return -EIOCBQUEUED;
	}

	uio->io.nowait = nonblock;
	uio->io.complete = pinio_uring_io_complete;
	ret = io.store->ops->direct(io.store, &uio->io);
	if (ret == -EIOCBQUEUED)
		return -EIOCBQUEUED;
	if (ret == -EAGAIN && nonblock) {
		pinio_uring_io_complete(&uio->io, ret);	/* a blocking retry */
		return -EIOCBQUEUED;
	}
	ret = pinio_io_result(&uio->io, ret, len);
	pinio_io_release(&uio->io);
	kfree(uio);
	return pinio_uring_done_at_issue(ioucmd, ret, issue_flags);

run_inline:
	ret = pinio_io_result(&io, io.store->ops->direct(io.store, &io), len);
	pinio_io_release(&io);
	return pinio_uring_done_at_issue(ioucmd, ret, issue_flags);
}

/* PINIO_IOC_FLUSH: it blocks, so never under the ring lock. */
static int pinio_uring_flush(struct io_uring_cmd *ioucmd,
			     unsigned int issue_flags)
{
	const struct pinio_uring_cmd *cmd = pinio_uring_cmd_payload(ioucmd);

	if (READ_ONCE(cmd->handle) || READ_ONCE(cmd->flags) ||
	    READ_ONCE(cmd->addr) || READ_ONCE(cmd->buf_offset) ||
	    READ_ONCE(cmd->dev_offset) || READ_ONCE(cmd->len) ||
	    (ioucmd->flags & IORING_URING_CMD_FIXED))
		return pinio_uring_done_at_issue(ioucmd, -EINVAL, issue_flags);
	if (issue_flags & IO_URING_F_NONBLOCK)
		return -EAGAIN;
	return pinio_uring_done_at_issue(ioucmd,
					 pinio_flush(ioucmd->file->private_data),
					 issue_flags);
}

int pinio_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	/* struct pinio_uring_cmd does not fit in a 64-byte SQE. */
	if (!(issue_flags & IO_URING_F_SQE128))
		return pinio_uring_done_at_issue(ioucmd, -EOPNOTSUPP,
						 issue_flags);

	switch (ioucmd->cmd_op) {
	case PINIO_URING_CMD_READ:
		return pinio_uring_rw(ioucmd, PINIO_OP_READ, issue_flags);
	case PINIO_URING_CMD_WRITE:
		return pinio_uring_rw(ioucmd, PINIO_OP_WRITE, issue_flags);
	case PINIO_URING_CMD_FLUSH:
		return pinio_uring_flush(ioucmd, issue_flags);
	default:
		return pinio_uring_done_at_issue(ioucmd, -ENOTTY, issue_flags);
	}
}

int pinio_uring_init(void)
{
	pinio_wq = alloc_workqueue("pinio", WQ_UNBOUND, 0);
	return pinio_wq ? 0 : -ENOMEM;
}

/* Commands in flight hold their file, so none can be left at unload. */
void pinio_uring_exit(void)
{
	destroy_workqueue(pinio_wq);
}
