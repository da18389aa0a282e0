// SPDX-License-Identifier: GPL-2.0
/*
 * Direct transfers between the device store and pinned user pages: the
 * kernel reaches each page through kmap_local_page(), never through the
 * process's page tables, so no fault can happen mid-copy.
 */
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pinio_drv.h"

/* Most pages copied between two resched and fatal-signal checks. */
#define PINIO_COPY_RUN		64

/*
 * How many of the @want pages from @idx on are physically contiguous (a THP
 * or hugetlb folio), so that one mapping covers them? Only without highmem,
 * where kmap_local_page() returns the linear map; with highmem each page
 * gets a temporary mapping of its own.
 */
static unsigned long pinio_contig_pages(const struct pinio_buf *buf,
					unsigned long idx, unsigned long want)
{
	unsigned long pfn = page_to_pfn(buf->pages[idx]);
	unsigned long nr = 1;

	if (IS_ENABLED(CONFIG_HIGHMEM))
		return 1;
	want = min(want, PINIO_COPY_RUN);
	while (nr < want && page_to_pfn(buf->pages[idx + nr]) == pfn + nr)
		nr++;
	return nr;
}

static int pinio_copy(struct pinio_buf *buf, const struct pinio_xfer *x, u32 op)
{
	u64 pos = buf->first_offset + x->buf_offset;
	unsigned long idx = pos >> PAGE_SHIFT, since_check = 0;
	size_t in_page = offset_in_page(pos);
	u8 *dev = pinio_store.data + x->dev_offset;
	u64 left = x->len;

	if (op == PINIO_OP_READ)
		WRITE_ONCE(buf->device_wrote, true);

	while (left) {
		unsigned long want = DIV_ROUND_UP(in_page + left, PAGE_SIZE);
		unsigned long i, nr = pinio_contig_pages(buf, idx, want);
		size_t n = min_t(u64, left, nr * PAGE_SIZE - in_page);
		u8 *va = kmap_local_page(buf->pages[idx]);

		if (op == PINIO_OP_READ) {
			memcpy(va + in_page, dev, n);
			for (i = 0; i < nr; i++)
				flush_dcache_page(buf->pages[idx + i]);
		} else {
			memcpy(dev, va + in_page, n);
		}
		kunmap_local(va);

		dev += n;
		left -= n;
		idx += nr;
		in_page = 0;
		since_check += nr;
		if (left && since_check >= PINIO_COPY_RUN) {
			since_check = 0;
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/*
 * Check a segment and take a reference on its registration. The checks run
 * in a fixed order so each bad input has one errno: arguments, handle,
 * direction, buffer range.
 */
int pinio_xfer_prepare(struct pinio_file *pf, const struct pinio_xfer *x,
		       u32 op, struct pinio_buf **bufp)
{
	u32 need = op == PINIO_OP_READ ? PINIO_REG_DEV_TO_USER :
					 PINIO_REG_USER_TO_DEV;
	struct pinio_buf *buf;

	if (!pinio_store_range_ok(x->dev_offset, x->len))
		return -EINVAL;

	buf = pinio_buf_get(pf, x->handle);
	if (!buf)
		return -ENOENT;
	if (!(buf->flags & need)) {
		pinio_buf_put(buf);
		return -EACCES;
	}
	if (x->buf_offset > buf->len || x->len > buf->len - x->buf_offset) {
		pinio_buf_put(buf);
		return -ERANGE;
	}
	*bufp = buf;
	return 0;
}

/* Run a prepared segment; the caller still owns the reference. */
int pinio_xfer_run(struct pinio_buf *buf, const struct pinio_xfer *x, u32 op)
{
	int ret = pinio_copy(buf, x, op);

	if (!ret)
		pinio_stat_add(op == PINIO_OP_READ ?
			       PINIO_STAT_DIRECT_READ_BYTES :
			       PINIO_STAT_DIRECT_WRITE_BYTES, x->len);
	return ret;
}

static int pinio_xfer_one(struct pinio_file *pf, const struct pinio_xfer *x,
			  u32 op)
{
	struct pinio_buf *buf;
	int ret;

	ret = pinio_xfer_prepare(pf, x, op, &buf);
	if (ret)
		return ret;
	ret = pinio_xfer_run(buf, x, op);
	pinio_buf_put(buf);
	return ret;
}

long pinio_ioctl_xfer(struct pinio_file *pf, struct pinio_xfer __user *uarg,
		      u32 op)
{
	struct pinio_xfer x;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	/* The command names the direction; op is for batch segments only. */
	if (x.op)
		return -EINVAL;
	return pinio_xfer_one(pf, &x, op);
}

long pinio_ioctl_batch(struct pinio_file *pf, struct pinio_batch __user *uarg)
{
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

	for (done = 0; done < b.nr; done++) {
		u32 op = segs[done].op;

		if (op != PINIO_OP_READ && op != PINIO_OP_WRITE)
			ret = -EINVAL;
		else
			ret = pinio_xfer_one(pf, &segs[done], op);
		if (ret)
			break;
	}
	kfree(segs);

	if (put_user(done, &uarg->completed))
		return -EFAULT;
	return ret;
}
