// SPDX-License-Identifier: GPL-2.0
/*
 * pinio: direct I/O between a device store (the driver's RAM, or a block
 * device or file attached to an open file) and pinned user buffers, with
 * the classic buffered path and mmap beside it for comparison.
 *
 * This file owns the module parameters, the misc device and its files.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pinio_drv.h"

#define PINIO_MAX_SIZE_MB	4096

static unsigned int size_mb = 64;
module_param(size_mb, uint, 0444);
MODULE_PARM_DESC(size_mb, "Size of the device store in MiB (default 64)");

static ushort pinio_mode = 0600;
module_param_named(mode, pinio_mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Permissions of /dev/pinio (default 0600)");

static bool bounce;
module_param(bounce, bool, 0644);
MODULE_PARM_DESC(bounce,
		 "Stage buffered transfers through a kernel bounce buffer, like a DMA device; sampled at open (default 0)");

static int pinio_open(struct inode *inode, struct file *file)
{
	struct pinio_file *pf;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;

	xa_init_flags(&pf->regions, XA_FLAGS_ALLOC1);
	spin_lock_init(&pf->store_lock);
	pf->store = &pinio_ram.store;
	pinio_store_get(pf->store);
	mutex_init(&pf->bounce_lock);
	pf->bounce = READ_ONCE(bounce);
	if (pf->bounce) {
		pf->bounce_buf = kvmalloc(PINIO_BOUNCE_SIZE, GFP_KERNEL);
		if (!pf->bounce_buf) {
			pinio_store_put(pf->store);
			kfree(pf);
			return -ENOMEM;
		}
	}

	file->private_data = pf;
	/* The buffered path never sleeps except on the bounce lock. */
	file->f_mode |= FMODE_NOWAIT;
	return 0;
}

static int pinio_release(struct inode *inode, struct file *file)
{
	struct pinio_file *pf = file->private_data;

	pinio_bufs_release(pf);
	pinio_store_put(pf->store);	/* detaches an attached store */
	kvfree(pf->bounce_buf);
	mutex_destroy(&pf->bounce_lock);
	kfree(pf);
	return 0;
}

static long pinio_ioctl_info(struct pinio_file *pf, struct pinio_info __user *uarg)
{
	struct pinio_store *store = pinio_file_store(pf);
	struct pinio_info info = {
		.abi_version = PINIO_ABI_VERSION,
		.page_size = PAGE_SIZE,
		.dev_size = store->size,
		.features = PINIO_FEAT_DIRECT | PINIO_FEAT_BATCH |
			    PINIO_FEAT_BUFFERED | PINIO_FEAT_NOWAIT |
			    PINIO_FEAT_URING_CMD | PINIO_FEAT_MMAP |
			    PINIO_FEAT_ATTACH,
		.max_region_len = PINIO_MAX_REGION_LEN,
		.max_regions = PINIO_MAX_REGIONS,
		.max_batch = PINIO_MAX_BATCH,
		.store = store->kind,
		.block_size = store->block_size,
		.dma_alignment = store->dma_alignment,
		.attach_flags = store->attach_flags,
	};

	pinio_store_put(store);
	if (pf->bounce)
		info.features |= PINIO_FEAT_BOUNCE;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long pinio_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pinio_file *pf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case PINIO_IOC_INFO:
		return pinio_ioctl_info(pf, uarg);
	case PINIO_IOC_REGISTER:
		return pinio_ioctl_register(pf, uarg);
	case PINIO_IOC_UNREGISTER:
		return pinio_ioctl_unregister(pf, uarg);
	case PINIO_IOC_READ:
		return pinio_ioctl_xfer(pf, uarg, PINIO_OP_READ);
	case PINIO_IOC_WRITE:
		return pinio_ioctl_xfer(pf, uarg, PINIO_OP_WRITE);
	case PINIO_IOC_BATCH:
		return pinio_ioctl_batch(pf, uarg);
	case PINIO_IOC_ATTACH:
		return pinio_ioctl_attach(pf, uarg);
	case PINIO_IOC_DETACH:
		return pinio_ioctl_detach(pf);
	case PINIO_IOC_FLUSH:
		return pinio_flush(pf);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pinio_fops = {
	.owner = THIS_MODULE,
	.open = pinio_open,
	.release = pinio_release,
	.unlocked_ioctl = pinio_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read_iter = pinio_read_iter,
	.write_iter = pinio_write_iter,
	.llseek = pinio_llseek,
	.uring_cmd = pinio_uring_cmd,
	.mmap = pinio_mmap,
};

/* PINIO_IOC_ATTACH must not make a pinio file another one's store. */
bool pinio_is_pinio_file(const struct file *file)
{
	return file->f_op == &pinio_fops;
}

static struct miscdevice pinio_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pinio",
	.fops = &pinio_fops,
	.groups = pinio_stats_groups,
};

static int __init pinio_init(void)
{
	int ret;

	if (!size_mb || size_mb > PINIO_MAX_SIZE_MB) {
		pr_err("size_mb must be 1..%u\n", PINIO_MAX_SIZE_MB);
		return -EINVAL;
	}

	ret = pinio_ram_init((size_t)size_mb << 20);
	if (ret)
		return ret;

	ret = pinio_uring_init();
	if (ret)
		goto free_store;

	pinio_stats_init();
	pinio_misc.mode = pinio_mode;
	ret = misc_register(&pinio_misc);
	if (ret)
		goto exit_uring;

	pinio_debugfs_init();
	pr_info("%u MiB store, bounce=%d\n", size_mb, bounce);
	return 0;

exit_uring:
	pinio_uring_exit();
free_store:
	pinio_store_put(&pinio_ram.store);
	return ret;
}

static void __exit pinio_exit(void)
{
	pinio_debugfs_exit();
	misc_deregister(&pinio_misc);
	pinio_uring_exit();
	pinio_store_put(&pinio_ram.store);
}

module_init(pinio_init);
module_exit(pinio_exit);

MODULE_DESCRIPTION("Direct I/O between a memory device and pinned user buffers");
MODULE_AUTHOR("pinio developers");
MODULE_LICENSE("GPL");
