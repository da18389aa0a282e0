/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinio internals shared by the driver's files.
 */
#ifndef _PINIO_DRV_H
#define _PINIO_DRV_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/pinio.h>

/* Buffered and bounced copies move at most this much between resched points. */
#define PINIO_CHUNK		(256 * 1024)
/* Size of the per-file bounce buffer that models a DMA staging area. */
#define PINIO_BOUNCE_SIZE	(64 * 1024)

/* The device store: RAM owned by the driver, zeroed at load. */
struct pinio_store {
	u8 *data;
	size_t size;
	struct kref ref;		/* the module's, plus one per mapping */
};

extern struct pinio_store pinio_store;

/* pinio_store.c */
int pinio_store_init(size_t size);
void pinio_store_get(void);
void pinio_store_put(void);
bool pinio_store_range_ok(u64 off, u64 len);
size_t pinio_store_copy_iter(u64 pos, size_t len, struct iov_iter *iter,
			     bool to_iter);

/*
 * One registered user buffer and its pinned pages. The handle table
 * holds one reference and every transfer in flight holds another, so
 * unregistering never pulls pages out from under a copy.
 */
struct pinio_buf {
	struct kref ref;
	struct page **pages;
	unsigned long nr_pages;
	unsigned int first_offset;	/* offset of the buffer in pages[0] */
	u64 len;
	u32 flags;			/* PINIO_REG_* */
	bool device_wrote;		/* release the pages dirty */
	struct mm_struct *mm;		/* charged for nr_pages (mmgrab'd) */
};

/* Per open file state. */
struct pinio_file {
	/*
	 * Handle -> struct pinio_buf. The xarray's own lock protects
	 * lookup-plus-kref_get against removal by unregister.
	 */
	struct xarray regions;
	bool bounce;			/* sampled from the bounce param at open */
	/* Protects bounce_buf: one staged transfer per file at a time. */
	struct mutex bounce_lock;
	void *bounce_buf;
};

/* Counters exported in sysfs under /sys/class/misc/pinio/stats/. */
enum pinio_stat {
	PINIO_STAT_DIRECT_READ_BYTES,
	PINIO_STAT_DIRECT_WRITE_BYTES,
	PINIO_STAT_BUFFERED_READ_BYTES,
	PINIO_STAT_BUFFERED_WRITE_BYTES,
	PINIO_STAT_REGISTRATIONS,	/* ever made */
	PINIO_STAT_PINNED_PAGES_TOTAL,	/* ever pinned */
	PINIO_STAT_REGIONS,		/* live now */
	PINIO_STAT_PINNED_PAGES,	/* pinned now */
	PINIO_NR_STATS
};

extern atomic64_t pinio_stats[PINIO_NR_STATS];

static inline void pinio_stat_add(enum pinio_stat stat, s64 delta)
{
	atomic64_add(delta, &pinio_stats[stat]);
}

extern const struct attribute_group *pinio_stats_groups[];
void pinio_stats_init(void);

/* pinio_region.c */
long pinio_ioctl_register(struct pinio_file *pf, struct pinio_region __user *uarg);
long pinio_ioctl_unregister(struct pinio_file *pf, struct pinio_unregister __user *uarg);
struct pinio_buf *pinio_buf_get(struct pinio_file *pf, u32 handle);
void pinio_buf_put(struct pinio_buf *buf);
void pinio_bufs_release(struct pinio_file *pf);

/* pinio_xfer.c */
int pinio_xfer_prepare(struct pinio_file *pf, const struct pinio_xfer *x,
		       u32 op, struct pinio_buf **bufp);
int pinio_xfer_run(struct pinio_buf *buf, const struct pinio_xfer *x, u32 op);
long pinio_ioctl_xfer(struct pinio_file *pf, struct pinio_xfer __user *uarg, u32 op);
long pinio_ioctl_batch(struct pinio_file *pf, struct pinio_batch __user *uarg);

/* pinio_buffered.c */
ssize_t pinio_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t pinio_write_iter(struct kiocb *iocb, struct iov_iter *from);
loff_t pinio_llseek(struct file *file, loff_t offset, int whence);

/* pinio_uring.c */
struct io_uring_cmd;
int pinio_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
int pinio_uring_init(void);
void pinio_uring_exit(void);

/* pinio_mmap.c */
int pinio_mmap(struct file *file, struct vm_area_struct *vma);

/* pinio_kcopy.c */
void pinio_debugfs_init(void);
void pinio_debugfs_exit(void);

#endif /* _PINIO_DRV_H */
