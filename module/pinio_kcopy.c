// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's ceiling: how fast does this kernel copy the same bytes
 * between two kernel buffers, with no user memory involved? Like mm's
 * gup_test, a debugfs file runs the measurement on request:
 *
 *   echo "read 1048576 100" > /sys/kernel/debug/pinio/kcopy
 *   cat /sys/kernel/debug/pinio/kcopy   ->  "read 1048576 100 <ns>"
 *
 * "read" copies store -> kernel buffer (what PINIO_IOC_READ does into
 * pinned pages), "write" the other way. Like the benchmark's transfers,
 * iteration i uses store offset (i * size) modulo the store, so both touch
 * the same bytes. Each open file keeps its own result.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "pinio_drv.h"

#define PINIO_KCOPY_MAX_ITERS	100000

static struct dentry *pinio_debugfs_dir;

struct pinio_kcopy_result {
	char text[96];
};

static int pinio_kcopy_open(struct inode *inode, struct file *file)
{
	struct pinio_kcopy_result *res;

	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return -ENOMEM;
	file->private_data = res;
	return 0;
}

static int pinio_kcopy_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

/* Copy @size bytes @iters times; returns the elapsed ns or -errno. */
static s64 pinio_kcopy_run(bool read, size_t size, unsigned int iters)
{
	size_t slots = pinio_ram.store.size / size;
	u64 start, elapsed;
	unsigned int i;
	u8 *kbuf;

	kbuf = vmalloc(size);
	if (!kbuf)
		return -ENOMEM;
	/* Fault in and warm both sides before timing. */
	memset(kbuf, 0x5a, size);
	memcpy(kbuf, pinio_ram.data, size);

	start = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		u8 *dev = pinio_ram.data + (i % slots) * size;

		if (read)
			memcpy(kbuf, dev, size);
		else
			memcpy(dev, kbuf, size);
		if (fatal_signal_pending(current))
			break;
	}
	elapsed = ktime_get_ns() - start;
	vfree(kbuf);
	return i == iters ? (s64)elapsed : -EINTR;
}

static ssize_t pinio_kcopy_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct pinio_kcopy_result *res = file->private_data;
	unsigned int iters;
	char cmd[64], dir[8];
	size_t size;
	s64 ns;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (sscanf(cmd, "%7s %zu %u", dir, &size, &iters) != 3)
		return -EINVAL;
	if (strcmp(dir, "read") && strcmp(dir, "write"))
		return -EINVAL;
	if (!size || size > pinio_ram.store.size || !iters ||
	    iters > PINIO_KCOPY_MAX_ITERS)
		return -EINVAL;

	ns = pinio_kcopy_run(!strcmp(dir, "read"), size, iters);
	if (ns < 0)
		return ns;
	snprintf(res->text, sizeof(res->text), "%s %zu %u %lld\n", dir, size,
		 iters, ns);
	return count;
}

static ssize_t pinio_kcopy_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct pinio_kcopy_result *res = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, res->text,
				       strlen(res->text));
}

static const struct file_operations pinio_kcopy_fops = {
	.owner = THIS_MODULE,
	.open = pinio_kcopy_open,
	.release = pinio_kcopy_release,
	.read = pinio_kcopy_read,
	.write = pinio_kcopy_write,
	.llseek = default_llseek,
};

/* debugfs is optional: failure to create it is not an error. */
void pinio_debugfs_init(void)
{
	pinio_debugfs_dir = debugfs_create_dir("pinio", NULL);
	debugfs_create_file("kcopy", 0600, pinio_debugfs_dir, NULL,
			    &pinio_kcopy_fops);
}

void pinio_debugfs_exit(void)
{
	debugfs_remove_recursive(pinio_debugfs_dir);
}
