// SPDX-License-Identifier: GPL-2.0
/*
 * The attached store: a block device or regular file that the caller
 * opened, bound to one open /dev/pinio file (PINIO_IOC_ATTACH, as loop's
 * LOOP_CONFIGURE takes an fd), so the caller's own right to open it is the
 * whole permission check. Direct transfers hand the pinned pages to the
 * file's direct-I/O engine as a bvec iterator on an IOCB_DIRECT kiocb, as
 * loop's direct-I/O mode and io_uring's fixed buffers on O_DIRECT files
 * do: the block layer takes no page reference of its own, the device DMAs
 * into the pages, and the CPU copies nothing. The buffered path and mmap
 * go through the file's page cache.
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/uaccess.h>

#include "pinio_compat.h"
#include "pinio_drv.h"

struct pinio_file_store {
	struct pinio_store store;
	struct file *file;		/* our own reference */
	bool is_reg;			/* writes take freeze protection */
};

static struct pinio_file_store *pinio_fstore(struct pinio_store *store)
{
	return container_of(store, struct pinio_file_store, store);
}

/*
 * Freeze protection for a write to a regular file (a block device has
 * none), in its async form: it is released in the completion, which may
 * run in another context. A non-blocking issue must not wait for a thaw.
 */
static bool pinio_fstore_start_write(struct pinio_file_store *fs,
				     struct kiocb *iocb, bool nowait)
{
	struct super_block *sb = file_inode(fs->file)->i_sb;

	if (!fs->is_reg)
		return true;
	if (!nowait) {
		kiocb_start_write(iocb);
		return true;
	}
	if (!sb_start_write_trylock(sb))
		return false;
	__sb_writers_release(sb, SB_FREEZE_WRITE);
	return true;
}

static void pinio_fstore_end_write(struct pinio_file_store *fs,
				   struct kiocb *iocb)
{
	if (fs->is_reg)
		kiocb_end_write(iocb);
}

/*
 * A failed non-blocking attempt: the device had no room or cannot do
 * REQ_NOWAIT at all (-EOPNOTSUPP). Either way the caller retries blocking.
 */
static long pinio_fstore_nowait_res(const struct pinio_io *io, long res)
{
	return io->nowait && res == -EOPNOTSUPP ? -EAGAIN : res;
}

/* ki_complete: may run in hard or soft interrupt context. */
static void pinio_fstore_dio_done(struct kiocb *iocb, long res)
{
	struct pinio_io *io = container_of(iocb, struct pinio_io, iocb);

	/* Here, not in task work: the submitter may sit in freeze_super(). */
	if (io->op == PINIO_OP_WRITE)
		pinio_fstore_end_write(pinio_fstore(io->store), iocb);
	io->res = pinio_fstore_nowait_res(io, res);
	if (atomic_dec_and_test(&io->refs))
		io->complete(io, io->res);
}

static ssize_t pinio_fstore_rw(struct pinio_file_store *fs, struct kiocb *iocb,
			       struct iov_iter *iter, bool write)
{
	if (write)
		return fs->file->f_op->write_iter(iocb, iter);
	return fs->file->f_op->read_iter(iocb, iter);
}

/*
 * The kiocb, the bvec array and the pages must outlive the I/O: io holds
 * the first, and its registration (or io_uring's) the others. An async
 * transfer uses loop's two references, one for this submitter and one for
 * ki_complete, because ->read_iter can complete inline (before it returns)
 * or synchronously (returning the result and never calling ki_complete).
 */
static ssize_t pinio_fstore_direct(struct pinio_store *store,
				   struct pinio_io *io)
{
	struct pinio_file_store *fs = pinio_fstore(store);
	struct kiocb *iocb = &io->iocb;
	bool write = io->op == PINIO_OP_WRITE;
	ssize_t ret;

	if (io->nowait && !(fs->file->f_mode & FMODE_NOWAIT))
		return -EAGAIN;
	*iocb = (struct kiocb) {
		.ki_filp = fs->file,
		.ki_pos = io->pos,
		.ki_flags = IOCB_DIRECT | (write ? IOCB_WRITE : 0) |
			    (io->nowait ? IOCB_NOWAIT : 0),
		.ki_ioprio = io->ioprio,
		.ki_complete = io->complete ? pinio_fstore_dio_done : NULL,
	};
	if (write && !pinio_fstore_start_write(fs, iocb, io->nowait))
		return -EAGAIN;

	if (!io->complete) {
		ret = pinio_fstore_rw(fs, iocb, &io->iter, write);
		if (write)
			pinio_fstore_end_write(fs, iocb);
		return ret;
	}

	atomic_set(&io->refs, 2);
	ret = pinio_fstore_rw(fs, iocb, &io->iter, write);
	if (ret != -EIOCBQUEUED) {
		/* Done already: ki_complete will not run, drop its reference. */
		if (write)
			pinio_fstore_end_write(fs, iocb);
		io->res = pinio_fstore_nowait_res(io, ret);
		atomic_dec(&io->refs);
	}
	if (!atomic_dec_and_test(&io->refs))
		return -EIOCBQUEUED;
	return io->res;
}

static ssize_t pinio_fstore_buffered(struct pinio_store *store,
				     struct kiocb *iocb, struct iov_iter *iter,
				     bool write)
{
	struct pinio_file_store *fs = pinio_fstore(store);
	bool nowait = iocb->ki_flags & IOCB_NOWAIT;
	ssize_t ret, count = iov_iter_count(iter);
	struct kiocb kio;

	if (write && !(store->attach_flags & PINIO_ATTACH_WRITE))
		return -EBADF;
	if (nowait && !(fs->file->f_mode & FMODE_NOWAIT))
		return -EAGAIN;
	/* The page cache of the file; O_DSYNC and RWF_DSYNC carry over. */
	kio = (struct kiocb) {
		.ki_filp = fs->file,
		.ki_pos = iocb->ki_pos,
		.ki_flags = (iocb->ki_flags &
			     (IOCB_NOWAIT | IOCB_DSYNC | IOCB_SYNC)) |
			    (write ? IOCB_WRITE : 0),
		.ki_ioprio = iocb->ki_ioprio,
	};
	if (write && !pinio_fstore_start_write(fs, &kio, nowait))
		return -EAGAIN;
	ret = pinio_fstore_rw(fs, &kio, iter, write);
	if (write)
		pinio_fstore_end_write(fs, &kio);
	/*
	 * The page cache stops a non-blocking copy at the first page it would
	 * wait for. io_uring retries a short read only on regular files and
	 * block devices, so on this character device it would reach the user
	 * as a short transfer mid-store: make it all or nothing, -EAGAIN.
	 */
	if (nowait && ret >= 0 && ret < count) {
		iov_iter_revert(iter, ret);
		return -EAGAIN;
	}
	return ret;
}

/*
 * Map the file's own pages: the mapping becomes the file's, as if the
 * caller had mapped it, and outlives a detach.
 */
static int pinio_fstore_mmap(struct pinio_store *store,
			     struct vm_area_struct *vma)
{
	struct file *file = pinio_fstore(store)->file;
	unsigned long pages = store->size >> PAGE_SHIFT;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -ENXIO;
	if (!(store->attach_flags & PINIO_ATTACH_WRITE)) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		pinio_vm_flags_clear(vma, VM_MAYWRITE);
	}
	if (!file->f_op->mmap)
		return -ENODEV;
	vma_set_file(vma, file);
	return file->f_op->mmap(file, vma);
}

static int pinio_fstore_flush(struct pinio_store *store)
{
	if (!(store->attach_flags & PINIO_ATTACH_WRITE))
		return -EBADF;
	/* fdatasync: a block device's cache flush, or a file's data. */
	return vfs_fsync(pinio_fstore(store)->file, 1);
}

static void pinio_fstore_release(struct pinio_store *store)
{
	struct pinio_file_store *fs = pinio_fstore(store);

	fput(fs->file);
	kfree(fs);
}

static const struct pinio_store_ops pinio_fstore_ops = {
	.direct = pinio_fstore_direct,
	.buffered = pinio_fstore_buffered,
	.mmap = pinio_fstore_mmap,
	.flush = pinio_fstore_flush,
	.release = pinio_fstore_release,
};

/*
 * The direct-I/O limits of a regular file: what statx() reports as
 * STATX_DIOALIGN, and at least the logical block size of the filesystem's
 * device, which the block layer checks per bvec segment. A filesystem that
 * would quietly turn direct I/O into a buffered copy (ext4 with
 * data=journal, inline data or verity) reports no alignment: refused.
 */
static int pinio_fstore_file_limits(struct pinio_file_store *fs)
{
	struct file *file = fs->file;
	struct block_device *sb_bdev = file_inode(file)->i_sb->s_bdev;
	u32 bs = bdev_logical_block_size(sb_bdev);
	u32 dma = bdev_dma_alignment(sb_bdev) + 1;
	struct kstat st = {};
	int ret;

	ret = vfs_getattr(&file->f_path, &st, STATX_DIOALIGN,
			  AT_STATX_SYNC_AS_STAT);
	if (ret)
		return ret;
	if (st.result_mask & STATX_DIOALIGN) {
		if (!st.dio_offset_align || !st.dio_mem_align)
			return -EOPNOTSUPP;
		bs = max(bs, st.dio_offset_align);
		dma = st.dio_mem_align;
	}
	fs->store.block_size = bs;
	fs->store.dma_alignment = dma;
	fs->store.size = i_size_read(file_inode(file));
	return 0;
}

static void pinio_fstore_bdev_limits(struct pinio_file_store *fs)
{
	struct block_device *bdev = I_BDEV(fs->file->f_mapping->host);

	fs->store.block_size = bdev_logical_block_size(bdev);
	fs->store.dma_alignment = bdev_dma_alignment(bdev) + 1;
	fs->store.size = bdev_nr_bytes(bdev);
}

/* Everything that can be refused, in the order the header documents. */
static int pinio_fstore_check_file(struct file *file, u32 flags)
{
	umode_t mode = file_inode(file)->i_mode;

	if (pinio_is_pinio_file(file))
		return -ELOOP;
	if (!S_ISREG(mode) && !S_ISBLK(mode))
		return -ENOTBLK;
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if ((flags & PINIO_ATTACH_WRITE) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	/* Every write would go to the end of the file, whatever its offset. */
	if (file->f_flags & O_APPEND)
		return -EINVAL;
	if (!(file->f_mode & FMODE_CAN_ODIRECT) || !file->f_op->read_iter ||
	    ((flags & PINIO_ATTACH_WRITE) && !file->f_op->write_iter))
		return -EOPNOTSUPP;
	/*
	 * No device, no DMA: the direct I/O of tmpfs (6.6 on), 9p or NFS is
	 * a copy, and RAM is what the RAM store already is.
	 */
	if (S_ISREG(mode) && !file_inode(file)->i_sb->s_bdev)
		return -EOPNOTSUPP;
	return 0;
}

static struct pinio_store *pinio_fstore_create(struct file *file, u32 flags)
{
	struct pinio_file_store *fs;
	int ret;

	ret = pinio_fstore_check_file(file, flags);
	if (ret)
		return ERR_PTR(ret);

	fs = kzalloc(sizeof(*fs), GFP_KERNEL);
	if (!fs)
		return ERR_PTR(-ENOMEM);
	fs->file = file;
	fs->is_reg = S_ISREG(file_inode(file)->i_mode);
	if (fs->is_reg) {
		ret = pinio_fstore_file_limits(fs);
		if (ret)
			goto free_fs;
	} else {
		pinio_fstore_bdev_limits(fs);
	}

	/*
	 * A registration's pages need not be contiguous, so a bvec segment
	 * may be a single page: a larger block could straddle two.
	 */
	ret = -EOPNOTSUPP;
	if (!is_power_of_2(fs->store.block_size) ||
	    fs->store.block_size > PAGE_SIZE)
		goto free_fs;
	fs->store.dma_alignment = min(fs->store.dma_alignment,
				      fs->store.block_size);
	fs->store.size = round_down(fs->store.size, fs->store.block_size);
	ret = -EINVAL;
	if (!fs->store.size)
		goto free_fs;

	fs->store.ops = &pinio_fstore_ops;
	fs->store.kind = fs->is_reg ? PINIO_STORE_FILE : PINIO_STORE_BDEV;
	fs->store.attach_flags = flags;
	fs->store.may_queue = true;
	kref_init(&fs->store.ref);
	return &fs->store;

free_fs:
	kfree(fs);
	return ERR_PTR(ret);
}

long pinio_ioctl_attach(struct pinio_file *pf, struct pinio_attach __user *uarg)
{
	struct pinio_store *store;
	struct pinio_attach arg;
	struct file *file;
	long ret = 0;

	/* Transfers bigger than this would not fit one I/O of the file. */
	BUILD_BUG_ON(PINIO_MAX_REGION_LEN > MAX_RW_COUNT);

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved[0] || arg.reserved[1] ||
	    (arg.flags & ~PINIO_ATTACH_WRITE))
		return -EINVAL;

	file = fget(arg.fd);		/* refuses O_PATH files */
	if (!file)
		return -EBADF;
	store = pinio_fstore_create(file, arg.flags);
	if (IS_ERR(store)) {
		fput(file);
		return PTR_ERR(store);
	}

	spin_lock(&pf->store_lock);
	if (pf->store != &pinio_ram.store) {
		ret = -EBUSY;
	} else {
		pf->store = store;
		store = &pinio_ram.store;	/* the file's old reference */
	}
	spin_unlock(&pf->store_lock);
	pinio_store_put(store);		/* the new one, if refused */
	return ret;
}

long pinio_ioctl_detach(struct pinio_file *pf)
{
	struct pinio_store *store;

	spin_lock(&pf->store_lock);
	store = pf->store;
	if (store == &pinio_ram.store) {
		spin_unlock(&pf->store_lock);
		return -ENXIO;
	}
	pf->store = &pinio_ram.store;
	pinio_store_get(pf->store);
	spin_unlock(&pf->store_lock);
	/* Transfers in flight hold their own reference and finish first. */
	pinio_store_put(store);
	return 0;
}

int pinio_flush(struct pinio_file *pf)
{
	struct pinio_store *store = pinio_file_store(pf);
	int ret = store->ops->flush(store);

	pinio_store_put(store);
	return ret;
}
