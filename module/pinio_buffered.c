// SPDX-License-Identifier: GPL-2.0
/*
 * The classic buffered path: read_iter/write_iter over the file's store,
 * with the semantics of a fixed-size device (short read at the end,
 * -ENOSPC past it) on every store. An attached store takes it through its
 * backing file's page cache (pinio_attach.c); on the RAM store there are
 * two models:
 *  - bounce=0: copy_to_iter()/copy_from_iter() straight from the store, like
 *    /dev/mem-style devices whose memory the CPU can address;
 *  - bounce=1: every chunk is staged through a driver-owned kernel buffer
 *    first, like a device reached by DMA into a bounce buffer, then copied
 *    to or from user space: two copies per byte.
 */
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uio.h>

#include "pinio_drv.h"

/* bounce=1: the "DMA" lands in the bounce buffer, the CPU copies it on. */
static size_t pinio_bounce_to_user(struct pinio_file *pf, const u8 *dev,
				   size_t n, struct iov_iter *to)
{
	memcpy(pf->bounce_buf, dev, n);
	return copy_to_iter(pf->bounce_buf, n, to);
}

static size_t pinio_bounce_from_user(struct pinio_file *pf, u8 *dev,
				     size_t n, struct iov_iter *from)
{
	size_t copied;

	copied = copy_from_iter(pf->bounce_buf, n, from);
	memcpy(dev, pf->bounce_buf, copied);
	return copied;
}

/* Stage @len bytes at @pos through the bounce buffer, a chunk at a time. */
static ssize_t pinio_bounce_copy(struct kiocb *iocb, struct iov_iter *iter,
				 size_t len, bool to_user)
{
	struct pinio_file *pf = iocb->ki_filp->private_data;
	u8 *dev = pinio_ram.data + iocb->ki_pos;
	size_t done = 0;

	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!mutex_trylock(&pf->bounce_lock))
			return -EAGAIN;
	} else if (mutex_lock_killable(&pf->bounce_lock)) {
		return -EINTR;
	}

	while (done < len) {
		size_t n = min_t(size_t, len - done, PINIO_BOUNCE_SIZE);
		size_t copied;

		if (to_user)
			copied = pinio_bounce_to_user(pf, dev + done, n, iter);
		else
			copied = pinio_bounce_from_user(pf, dev + done, n, iter);
		done += copied;
		if (copied < n)
			break;
		cond_resched();
	}

	mutex_unlock(&pf->bounce_lock);
	return done;
}

/* The RAM store's buffered path; -EFAULT if nothing could be copied. */
ssize_t pinio_ram_buffered(struct pinio_store *store, struct kiocb *iocb,
			   struct iov_iter *iter, bool write)
{
	struct pinio_file *pf = iocb->ki_filp->private_data;
	size_t len = iov_iter_count(iter);
	ssize_t done;

	if (pf->bounce)
		done = pinio_bounce_copy(iocb, iter, len, !write);
	else
		done = pinio_ram_copy_iter(iocb->ki_pos, len, iter, !write);
	return done ? done : -EFAULT;
}

/* Clamp the request to the store and hand it over. */
static ssize_t pinio_buffered(struct kiocb *iocb, struct iov_iter *iter,
			      bool write)
{
	struct pinio_file *pf = iocb->ki_filp->private_data;
	size_t len = iov_iter_count(iter);
	loff_t pos = iocb->ki_pos;
	struct pinio_store *store;
	size_t shorted;
	ssize_t ret;

	if (pos < 0)
		return -EINVAL;
	if (!len)
		return 0;
	store = pinio_file_store(pf);
	if (pos >= store->size) {
		ret = write ? -ENOSPC : 0;
		goto put_store;
	}
	/* Hide what lies past the end, and give it back afterwards. */
	shorted = len - min_t(u64, len, store->size - pos);
	iov_iter_truncate(iter, len - shorted);
	ret = store->ops->buffered(store, iocb, iter, write);
	iov_iter_reexpand(iter, iov_iter_count(iter) + shorted);
	if (ret > 0) {
		iocb->ki_pos += ret;
		pinio_stat_add(write ? PINIO_STAT_BUFFERED_WRITE_BYTES :
			       PINIO_STAT_BUFFERED_READ_BYTES, ret);
	}
put_store:
	pinio_store_put(store);
	return ret;
}

ssize_t pinio_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return pinio_buffered(iocb, to, false);
}

ssize_t pinio_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return pinio_buffered(iocb, from, true);
}

loff_t pinio_llseek(struct file *file, loff_t offset, int whence)
{
	struct pinio_store *store = pinio_file_store(file->private_data);
	loff_t ret = fixed_size_llseek(file, offset, whence, store->size);

	pinio_store_put(store);
	return ret;
}
