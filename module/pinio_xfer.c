// SPDX-License-Identifier: GPL-2.0
/*
 * The transfer engine. Every direct transfer, from PINIO_IOC_READ/WRITE, a
 * batch segment or a uring_cmd, with a pinio handle or an io_uring fixed
 * buffer, is a struct pinio_io: a bvec iterator over pinned pages and a
 * range of the file's store, checked here once and then handed to the
 * store. The RAM store copies through kmap_local_page(); an attached store
 * lets its device DMA into the same pages. Either way nothing touches the
 * process's page tables, so nothing can fault mid-transfer.
 */
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pinio_compat.h"
#include "pinio_drv.h"

/*
 * A synchronous transfer to an attached store goes to the device this much
 * at a time, so a fatal signal ends a 1 GiB transfer between two I/Os.
 */
#define PINIO_SYNC_CHUNK	(4 << 20)

/* The file's current store, with a reference for the caller. */
struct pinio_store *pinio_file_store(struct pinio_file *pf)
{
	struct pinio_store *store;

	spin_lock(&pf->store_lock);
	store = pf->store;
	pinio_store_get(store);
	spin_unlock(&pf->store_lock);
	return store;
}

static void pinio_io_init(struct pinio_io *io, struct pinio_store *store,
			  u32 op, u64 pos)
{
	io->store = store;
	io->buf = NULL;
	io->op = op;
	io->pos = pos;
	io->ioprio = get_current_ioprio();
	io->nowait = false;
	io->complete = NULL;
}

/*
 * What the store needs beyond the range: write permission, and on an
 * attached store the block rule of the header: the store offset, the
 * length, and the start and length of every bvec segment (the part of
 * each page the transfer covers) multiples of the block size. That is
 * stricter than the block layer, which wants segment starts aligned only to
 * the DMA alignment, and the same on every device of that block size.
 */
static int pinio_io_check(struct pinio_io *io)
{
	const struct pinio_store *store = io->store;
	u32 bs = store->block_size;

	if (io->op == PINIO_OP_WRITE && store->kind != PINIO_STORE_RAM &&
	    !(store->attach_flags & PINIO_ATTACH_WRITE))
		return -EBADF;
	if (bs > 1 && ((io->pos | iov_iter_count(&io->iter)) & (bs - 1)))
		return -EINVAL;
	if (bs > 1 && !iov_iter_is_aligned(&io->iter, bs - 1, bs - 1))
		return -EINVAL;
	return 0;
}

/*
 * Check a segment and set up @io over its registration, taking a reference
 * on the registration and one on @store. The checks run in a fixed order
 * so each bad input has one errno: store range, handle, direction, buffer
 * range, then what the store itself needs.
 */
int pinio_io_prepare(struct pinio_io *io, struct pinio_store *store,
		     struct pinio_file *pf, const struct pinio_xfer *x, u32 op)
{
	u32 need = op == PINIO_OP_READ ? PINIO_REG_DEV_TO_USER :
					 PINIO_REG_USER_TO_DEV;
	unsigned long first, last;
	struct pinio_buf *buf;
	unsigned int dir;
	size_t skip;
	u64 pos;
	int ret;

	if (!pinio_store_range_ok(store, x->dev_offset, x->len))
		return -EINVAL;

	buf = pinio_buf_get(pf, x->handle);
	if (!buf)
		return -ENOENT;
	ret = -EACCES;
	if (!(buf->flags & need))
		goto put_buf;
	ret = -ERANGE;
	if (x->buf_offset > buf->len || x->len > buf->len - x->buf_offset)
		goto put_buf;

	pinio_io_init(io, store, op, x->dev_offset);
	io->buf = buf;
	/*
	 * The iterator covers only the bvecs of the range, found by a binary
	 * search: advancing from the start of a 1 GiB registration of small
	 * pages would walk 256K of them on every transfer.
	 */
	dir = op == PINIO_OP_READ ? ITER_DEST : ITER_SOURCE;
	if (x->len) {
		pos = buf->first_offset + x->buf_offset;
		first = pinio_buf_bvec_at(buf, pos >> PAGE_SHIFT);
		last = pinio_buf_bvec_at(buf, (pos + x->len - 1) >> PAGE_SHIFT);
		skip = pos - (u64)buf->bvec_page[first] * PAGE_SIZE;
		iov_iter_bvec(&io->iter, dir, buf->bvecs + first,
			      last + 1 - first, skip + x->len);
		iov_iter_advance(&io->iter, skip);
	} else {
		iov_iter_bvec(&io->iter, dir, buf->bvecs, 0, 0);
	}
	ret = pinio_io_check(io);
	if (ret)
		goto put_buf;
	if (op == PINIO_OP_READ)
		WRITE_ONCE(buf->device_wrote, true);
	pinio_store_get(store);
	return 0;

put_buf:
	pinio_buf_put(buf);
	return ret;
}

/*
 * The same for an iterator the caller set up in io->iter (an io_uring
 * fixed buffer, whose pages io_uring keeps pinned until the CQE).
 */
int pinio_io_prepare_iter(struct pinio_io *io, struct pinio_store *store,
			  u32 op, u64 pos)
{
	int ret;

	if (!pinio_store_range_ok(store, pos, iov_iter_count(&io->iter)))
		return -EINVAL;
	pinio_io_init(io, store, op, pos);
	ret = pinio_io_check(io);
	if (ret)
		return ret;
	pinio_store_get(store);
	return 0;
}

/* Drop what prepare took. Process context: the last unpin may sleep. */
void pinio_io_release(struct pinio_io *io)
{
	if (io->buf)
		pinio_buf_put(io->buf);
	pinio_store_put(io->store);
}

/*
 * Turn what the store returned for a @len byte transfer into the caller's
 * result, and count it. There are no short transfers: a store that moved
 * less (an attached file shrunk under it) failed with -EIO.
 */
long pinio_io_result(struct pinio_io *io, long res, size_t len)
{
	if (res >= 0 && (size_t)res != len)
		res = -EIO;
	if (res > 0)
		pinio_stat_add(io->op == PINIO_OP_READ ?
			       PINIO_STAT_DIRECT_READ_BYTES :
			       PINIO_STAT_DIRECT_WRITE_BYTES, res);
	return res;
}

/*
 * Run a prepared transfer to the end in the caller's context. An attached
 * store gets it PINIO_SYNC_CHUNK at a time, each chunk a synchronous I/O.
 * Returns the bytes moved (all of them) or -errno.
 */
static ssize_t pinio_io_run_sync(struct pinio_io *io)
{
	size_t len = iov_iter_count(&io->iter), done = 0;
	size_t chunk = io->store->may_queue ? PINIO_SYNC_CHUNK : len;
	struct iov_iter whole = io->iter;
	ssize_t ret;

	while (done < len) {
		size_t n = min(len - done, chunk);

		if (done && fatal_signal_pending(current))
			return -EINTR;
		io->iter = whole;
		iov_iter_advance(&io->iter, done);
		iov_iter_truncate(&io->iter, n);
		ret = io->store->ops->direct(io->store, io);
		if (ret < 0 || (size_t)ret != n)
			return ret < 0 ? ret : -EIO;
		io->pos += n;
		done += n;
		cond_resched();
	}
	return done;
}

static int pinio_xfer_one(struct pinio_store *store, struct pinio_file *pf,
			  const struct pinio_xfer *x, u32 op)
{
	struct pinio_io io;
	long ret;

	ret = pinio_io_prepare(&io, store, pf, x, op);
	if (ret)
		return ret;
	ret = pinio_io_result(&io, pinio_io_run_sync(&io), x->len);
	pinio_io_release(&io);
	return ret < 0 ? ret : 0;
}

long pinio_ioctl_xfer(struct pinio_file *pf, struct pinio_xfer __user *uarg,
		      u32 op)
{
	struct pinio_store *store;
	struct pinio_xfer x;
	long ret;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	/* The command names the direction; op is for batch segments only. */
	if (x.op)
		return -EINVAL;
	store = pinio_file_store(pf);
	ret = pinio_xfer_one(store, pf, &x, op);
	pinio_store_put(store);
	return ret;
}

/* A batch runs on the store the file had when it started. */
long pinio_ioctl_batch(struct pinio_file *pf, struct pinio_batch __user *uarg)
{
	struct pinio_store *store;
	struct pinio_batch b;
	struct pinio_xfer *segs;
	u32 done;
	int ret = 0;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (b.flags || b.reserved || !b.nr || b.nr > PINIO_MAX_BATCH)
		return -EINVAL;

	/* One copy of the whole array: user space cannot change it mid-batch. */
	segs = memdup_user(u64_to_user_ptr(b.segs), b.nr * sizeof(*segs));
	if (IS_ERR(segs))
		return PTR_ERR(segs);

	store = pinio_file_store(pf);
	for (done = 0; done < b.nr; done++) {
		u32 op = segs[done].op;

		if (op != PINIO_OP_READ && op != PINIO_OP_WRITE)
			ret = -EINVAL;
		else
			ret = pinio_xfer_one(store, pf, &segs[done], op);
		if (ret)
			break;
	}
	pinio_store_put(store);
	kfree(segs);

	if (put_user(done, &uarg->completed))
		return -EFAULT;
	return ret;
}
