// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring passthrough: IORING_OP_URING_CMD runs a direct transfer into a
 * pinio registration or into a buffer registered with io_uring itself
 * (IORING_URING_CMD_FIXED). A copy from pinned pages never blocks, so by
 * default every command runs inline in the submitter's context. With
 * uring_async_min set, transfers of at least that size run on a workqueue
 * instead and complete through task work: that pays for deep queues of
 * large transfers with idle CPUs and costs at QD1, and the driver cannot
 * see a ring's depth (README, io_uring).
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
		 "io_uring transfers of at least this many bytes run on a workqueue; 0: none (default 0)");

static struct workqueue_struct *pinio_wq;

/* A checked command, holding what it needs to run without the SQE. */
struct pinio_uring_req {
	u32 op;
	struct pinio_xfer x;
	struct pinio_buf *buf;		/* pinio handle: a reference */
	struct iov_iter iter;		/* IORING_URING_CMD_FIXED */
};

struct pinio_uring_work {
	struct work_struct work;
	struct io_uring_cmd *ioucmd;
	struct pinio_uring_req req;
};

/* Lives in io_uring_cmd.pdu while a command waits for its task work. */
struct pinio_uring_pdu {
	int result;
};

static struct pinio_uring_pdu *pinio_uring_pdu(struct io_uring_cmd *ioucmd)
{
	BUILD_BUG_ON(sizeof(struct pinio_uring_pdu) > sizeof(ioucmd->pdu));
	return (struct pinio_uring_pdu *)ioucmd->pdu;
}

static int pinio_uring_prepare(struct io_uring_cmd *ioucmd,
			       struct pinio_uring_req *req)
{
	const struct pinio_uring_cmd *cmd = pinio_uring_cmd_payload(ioucmd);
	struct pinio_file *pf = ioucmd->file->private_data;
	u64 addr;

	switch (ioucmd->cmd_op) {
	case PINIO_URING_CMD_READ:
		req->op = PINIO_OP_READ;
		break;
	case PINIO_URING_CMD_WRITE:
		req->op = PINIO_OP_WRITE;
		break;
	default:
		return -ENOTTY;
	}

	/* The SQE is shared with user space: read each field once. */
	if (READ_ONCE(cmd->flags))
		return -EINVAL;
	addr = READ_ONCE(cmd->addr);
	req->x.handle = READ_ONCE(cmd->handle);
	req->x.buf_offset = READ_ONCE(cmd->buf_offset);
	req->x.dev_offset = READ_ONCE(cmd->dev_offset);
	req->x.len = READ_ONCE(cmd->len);

	if (!(ioucmd->flags & IORING_URING_CMD_FIXED)) {
		if (addr)
			return -EINVAL;
		return pinio_xfer_prepare(pf, &req->x, req->op, &req->buf);
	}

	if (req->x.handle || req->x.buf_offset)
		return -EINVAL;
	if (!pinio_store_range_ok(req->x.dev_offset, req->x.len))
		return -EINVAL;
	return io_uring_cmd_import_fixed(addr, req->x.len,
					 req->op == PINIO_OP_READ ?
					 ITER_DEST : ITER_SOURCE,
					 &req->iter, ioucmd);
}

/* Returns the CQE result: bytes moved or -errno. */
static int pinio_uring_run(struct pinio_uring_req *req)
{
	bool to_user = req->op == PINIO_OP_READ;
	size_t len = req->x.len;
	int ret;

	if (req->buf) {
		ret = pinio_xfer_run(req->buf, &req->x, req->op);
		pinio_buf_put(req->buf);
		return ret ? ret : len;
	}

	/* io_uring's bvecs are pinned too: copy_*_iter cannot fault here. */
	if (pinio_store_copy_iter(req->x.dev_offset, len, &req->iter,
				  to_user) != len)
		return -EFAULT;
	pinio_stat_add(to_user ? PINIO_STAT_DIRECT_READ_BYTES :
		       PINIO_STAT_DIRECT_WRITE_BYTES, len);
	return len;
}

static void pinio_uring_complete(struct io_uring_cmd *ioucmd,
				 unsigned int issue_flags)
{
	io_uring_cmd_done(ioucmd, pinio_uring_pdu(ioucmd)->result, 0,
			  issue_flags);
}

static void pinio_uring_work_fn(struct work_struct *work)
{
	struct pinio_uring_work *w = container_of(work, struct pinio_uring_work,
						  work);
	struct io_uring_cmd *ioucmd = w->ioucmd;

	pinio_uring_pdu(ioucmd)->result = pinio_uring_run(&w->req);
	kfree(w);
	io_uring_cmd_complete_in_task(ioucmd, pinio_uring_complete);
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
static int pinio_uring_done_at_issue(struct io_uring_cmd *ioucmd, int res,
				     unsigned int issue_flags)
{
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
	return -EIOCBQUEUED;
}

int pinio_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct pinio_uring_req req = {};
	struct pinio_uring_work *w;
	unsigned int async_min;
	int ret;

	/* struct pinio_uring_cmd does not fit in a 64-byte SQE. */
	if (!(issue_flags & IO_URING_F_SQE128))
		return pinio_uring_done_at_issue(ioucmd, -EOPNOTSUPP,
						 issue_flags);

	ret = pinio_uring_prepare(ioucmd, &req);
	if (ret)
		return pinio_uring_done_at_issue(ioucmd, ret, issue_flags);

	async_min = READ_ONCE(uring_async_min);
	if (!async_min || req.x.len < async_min)
		return pinio_uring_done_at_issue(ioucmd, pinio_uring_run(&req),
						 issue_flags);

	/* A non-blocking issue must not wait for reclaim either. */
	w = kmalloc(sizeof(*w), issue_flags & IO_URING_F_NONBLOCK ?
		    GFP_NOWAIT : GFP_KERNEL);
	if (!w)		/* slower, but never fails */
		return pinio_uring_done_at_issue(ioucmd, pinio_uring_run(&req),
						 issue_flags);
	w->ioucmd = ioucmd;
	w->req = req;
	INIT_WORK(&w->work, pinio_uring_work_fn);
	queue_work(pinio_wq, &w->work);
	return -EIOCBQUEUED;
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
