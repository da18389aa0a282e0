/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinio internals shared by the driver's files.
 */
#ifndef _PINIO_DRV_H
#define _PINIO_DRV_H

#include <linux/atomic.h>
#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <linux/pinio.h>

/* Buffered and bounced copies move at most this much between resched points. */
#define PINIO_CHUNK		(256 * 1024)
/* Size of the per-file bounce buffer that models a DMA staging area. */
#define PINIO_BOUNCE_SIZE	(64 * 1024)

struct pinio_io;
struct pinio_store;

/*
 * A device store, behind one small interface: the driver's RAM (the
 * default of every open file, pinio_store.c) or a block device or regular
 * file attached to one open file (pinio_attach.c). Every path of a
 * /dev/pinio file works on its current store through these operations.
 */
struct pinio_store_ops {
	/*
	 * Move iov_iter_count(&io->iter) bytes between the store at io->pos
	 * and io->iter, which always covers pinned pages. Returns the bytes
	 * moved or -errno, or -EIOCBQUEUED when io->complete is set and will
	 * be called once with the result, perhaps in interrupt context.
	 */
	ssize_t (*direct)(struct pinio_store *store, struct pinio_io *io);
	/* read_iter/write_iter of [iocb->ki_pos, + count), inside the store. */
	ssize_t (*buffered)(struct pinio_store *store, struct kiocb *iocb,
			    struct iov_iter *iter, bool write);
	int (*mmap)(struct pinio_store *store, struct vm_area_struct *vma);
	/* Make completed writes durable; may sleep. */
	int (*flush)(struct pinio_store *store);
	void (*release)(struct pinio_store *store);
};

struct pinio_store {
	const struct pinio_store_ops *ops;
	struct kref ref;	/* each open file on it, mapping, transfer */
	u64 size;
	u32 kind;		/* PINIO_STORE_* */
	u32 block_size;		/* alignment of direct transfers */
	u32 dma_alignment;
	u32 attach_flags;	/* PINIO_ATTACH_* */
	bool may_queue;		/* ->direct can return -EIOCBQUEUED */
};

/* The RAM store: owned by the driver, zeroed at load. */
struct pinio_ram_store {
	struct pinio_store store;
	u8 *data;
};

extern struct pinio_ram_store pinio_ram;

/* pinio_store.c */
int pinio_ram_init(size_t size);
void pinio_store_get(struct pinio_store *store);
void pinio_store_put(struct pinio_store *store);
bool pinio_store_range_ok(const struct pinio_store *store, u64 off, u64 len);
size_t pinio_ram_copy_iter(u64 pos, size_t len, struct iov_iter *iter,
			   bool to_iter);

/*
 * One registered user buffer and its pinned pages. The handle table
 * holds one reference and every transfer in flight holds another, so
 * unregistering never pulls pages out from under a copy.
 */
struct pinio_buf {
	struct kref ref;
	struct page **pages;
	struct bio_vec *bvecs;		/* per contiguous run, for iterators */
	unsigned long *bvec_page;	/* pages[] index of each bvec's start */
	unsigned long nr_bvecs;
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
	/* Protects the store pointer: attach and detach swap it. */
	spinlock_t store_lock;
	struct pinio_store *store;	/* a reference */
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
unsigned long pinio_buf_bvec_at(const struct pinio_buf *buf,
				unsigned long page);
void pinio_buf_put(struct pinio_buf *buf);
void pinio_bufs_release(struct pinio_file *pf);

/*
 * One direct transfer between a store and pinned pages (a pinio
 * registration or an io_uring fixed buffer), from an ioctl, a batch
 * segment or a uring_cmd: the transfer engine of pinio_xfer.c.
 */
struct pinio_io {
	struct pinio_store *store;	/* a reference */
	struct pinio_buf *buf;		/* pinio handle: a reference, or NULL */
	u32 op;				/* PINIO_OP_* */
	u64 pos;
	struct iov_iter iter;		/* bvecs over the pinned pages */
	int ioprio;			/* the submitter's */
	bool nowait;			/* an IO_URING_F_NONBLOCK issue */
	/* Set for an asynchronous transfer; see pinio_store_ops.direct. */
	void (*complete)(struct pinio_io *io, long res);
	/* A queued transfer on an attached store (pinio_attach.c). */
	struct kiocb iocb;
	atomic_t refs;
	long res;
};

/* pinio_xfer.c */
struct pinio_store *pinio_file_store(struct pinio_file *pf);
int pinio_io_prepare(struct pinio_io *io, struct pinio_store *store,
		     struct pinio_file *pf, const struct pinio_xfer *x, u32 op);
int pinio_io_prepare_iter(struct pinio_io *io, struct pinio_store *store,
			  u32 op, u64 pos);
void pinio_io_release(struct pinio_io *io);
long pinio_io_result(struct pinio_io *io, long res, size_t len);
long pinio_ioctl_xfer(struct pinio_file *pf, struct pinio_xfer __user *uarg, u32 op);
long pinio_ioctl_batch(struct pinio_file *pf, struct pinio_batch __user *uarg);

/* pinio_attach.c */
long pinio_ioctl_attach(struct pinio_file *pf, struct pinio_attach __user *uarg);
long pinio_ioctl_detach(struct pinio_file *pf);
int pinio_flush(struct pinio_file *pf);
bool pinio_is_pinio_file(const struct file *file);

/* pinio_buffered.c */
ssize_t pinio_ram_buffered(struct pinio_store *store, struct kiocb *iocb,
			   struct iov_iter *iter, bool write);
ssize_t pinio_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t pinio_write_iter(struct kiocb *iocb, struct iov_iter *from);
loff_t pinio_llseek(struct file *file, loff_t offset, int whence);

/* pinio_uring.c */
struct io_uring_cmd;
int pinio_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
int pinio_uring_init(void);
void pinio_uring_exit(void);

/* pinio_mmap.c */
int pinio_ram_mmap(struct pinio_store *store, struct vm_area_struct *vma);
int pinio_mmap(struct file *file, struct vm_area_struct *vma);

/* pinio_kcopy.c */
void pinio_debugfs_init(void);
void pinio_debugfs_exit(void);

#endif /* _PINIO_DRV_H */
