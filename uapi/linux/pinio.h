/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pinio - direct I/O between a memory device and pinned user buffers.
 *
 * A process registers one of its own buffers with PINIO_IOC_REGISTER; the
 * driver pins the pages (FOLL_LONGTERM) and returns a small handle. Direct
 * transfers (PINIO_IOC_READ, PINIO_IOC_WRITE, PINIO_IOC_BATCH) then copy
 * between the device store and the pinned pages without touching the
 * process's page tables. The classic buffered path (read/write/pread/pwrite/
 * readv/writev and lseek on the same file) works beside it.
 *
 * The device store is the driver's RAM unless the open file has a block
 * device or regular file attached (PINIO_IOC_ATTACH): then every path of
 * that open file works on the attached store instead, and direct transfers
 * hand the pinned pages to the kernel's direct-I/O engine, so the device
 * DMAs straight into or out of them and the CPU copies nothing.
 *
 * Every structure is made of __u32/__u64 fields with explicit padding; user
 * pointers travel as __u64. Reserved fields and unknown flag bits must be
 * zero, otherwise the ioctl fails with -EINVAL. Unknown commands fail with
 * -ENOTTY.
 */
#ifndef _UAPI_LINUX_PINIO_H
#define _UAPI_LINUX_PINIO_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define PINIO_ABI_VERSION	1

/* Path of the misc device node. */
#define PINIO_DEVICE_PATH	"/dev/pinio"

/* Limits, also reported by PINIO_IOC_INFO. */
#define PINIO_MAX_REGION_LEN	0x40000000ULL	/* 1 GiB in one registration */
#define PINIO_MAX_REGIONS	1024		/* live registrations per open file */
#define PINIO_MAX_BATCH		1024		/* segments in one PINIO_IOC_BATCH */

/* Feature bits in pinio_info.features. */
#define PINIO_FEAT_DIRECT	_BITULL(0)	/* REGISTER, READ, WRITE */
#define PINIO_FEAT_BATCH	_BITULL(1)	/* PINIO_IOC_BATCH */
#define PINIO_FEAT_BUFFERED	_BITULL(2)	/* read_iter/write_iter/llseek */
#define PINIO_FEAT_BOUNCE	_BITULL(3)	/* this file's buffered path bounces */
#define PINIO_FEAT_NOWAIT	_BITULL(4)	/* buffered path honours RWF_NOWAIT */
#define PINIO_FEAT_URING_CMD	_BITULL(5)	/* IORING_OP_URING_CMD, see below */
#define PINIO_FEAT_MMAP		_BITULL(6)	/* mmap() of the store, see below */
#define PINIO_FEAT_ATTACH	_BITULL(7)	/* PINIO_IOC_ATTACH, _DETACH, _FLUSH */

/* What pinio_info.store says this open file's store is. */
#define PINIO_STORE_RAM		0	/* the driver's RAM (the default) */
#define PINIO_STORE_BDEV	1	/* an attached block device */
#define PINIO_STORE_FILE	2	/* an attached regular file */

/**
 * struct pinio_info - what PINIO_IOC_INFO reports
 * @abi_version: PINIO_ABI_VERSION of the running driver.
 * @page_size: the kernel's PAGE_SIZE.
 * @dev_size: size of this open file's store in bytes.
 * @features: PINIO_FEAT_* bits.
 * @max_region_len: largest registration in bytes.
 * @max_regions: live registrations allowed per open file.
 * @max_batch: largest number of segments in one PINIO_IOC_BATCH.
 * @store: PINIO_STORE_* kind of this open file's store.
 * @block_size: direct transfers on this store must have their store offset,
 *	their length, and the offset and length of the part of every pinned
 *	page they cover, multiples of this (the logical block size of an
 *	attached store; 1 for RAM). For a buffer that means: its offset in
 *	its first page a multiple of @block_size.
 * @dma_alignment: the device's DMA alignment in bytes (a power of two,
 *	at most @block_size; 1 for RAM). Informational: @block_size implies it.
 * @attach_flags: the PINIO_ATTACH_* flags of the attached store, else 0.
 * @reserved: zero.
 */
struct pinio_info {
	__u32 abi_version;
	__u32 page_size;
	__u64 dev_size;
	__u64 features;
	__u64 max_region_len;
	__u32 max_regions;
	__u32 max_batch;
	__u32 store;
	__u32 block_size;
	__u32 dma_alignment;
	__u32 attach_flags;
	__u64 reserved[2];
};

/* Directions a registration allows (pinio_region.flags). */
#define PINIO_REG_DEV_TO_USER	0x1U	/* device writes the buffer (READ) */
#define PINIO_REG_USER_TO_DEV	0x2U	/* device reads the buffer (WRITE) */
#define PINIO_REG_BIDIR		(PINIO_REG_DEV_TO_USER | PINIO_REG_USER_TO_DEV)

/**
 * struct pinio_region - argument of PINIO_IOC_REGISTER
 * @addr: user address of the buffer; any alignment.
 * @len: length in bytes, 1 to PINIO_MAX_REGION_LEN.
 * @flags: PINIO_REG_* directions, at least one.
 * @handle: out: the handle naming this registration, never 0.
 * @reserved: zero.
 */
struct pinio_region {
	__u64 addr;
	__u64 len;
	__u32 flags;
	__u32 handle;
	__u64 reserved[2];
};

/**
 * struct pinio_unregister - argument of PINIO_IOC_UNREGISTER
 * @handle: handle returned by PINIO_IOC_REGISTER.
 * @flags: zero.
 */
struct pinio_unregister {
	__u32 handle;
	__u32 flags;
};

/* Operations of a batch segment (pinio_xfer.op). */
#define PINIO_OP_READ		1	/* device store -> pinned buffer */
#define PINIO_OP_WRITE		2	/* pinned buffer -> device store */

/**
 * struct pinio_xfer - one direct transfer
 * @handle: registration to transfer into or out of.
 * @op: PINIO_OP_* in a PINIO_IOC_BATCH segment; zero for PINIO_IOC_READ
 *	and PINIO_IOC_WRITE, whose command says the direction.
 * @buf_offset: offset in the registered buffer.
 * @dev_offset: offset in the device store.
 * @len: bytes to move, at least 1; the whole range must lie inside both the
 *	registration and the store, there are no short transfers.
 */
struct pinio_xfer {
	__u32 handle;
	__u32 op;
	__u64 buf_offset;
	__u64 dev_offset;
	__u64 len;
};

/**
 * struct pinio_batch - argument of PINIO_IOC_BATCH
 * @segs: user pointer to an array of @nr struct pinio_xfer.
 * @nr: number of segments, 1 to PINIO_MAX_BATCH.
 * @flags: zero.
 * @completed: out: segments fully done, in array order. Segments run in
 *	order and the batch stops at the first failing one; everything before
 *	it has completed, nothing after it has started.
 * @reserved: zero.
 */
struct pinio_batch {
	__u64 segs;
	__u32 nr;
	__u32 flags;
	__u32 completed;
	__u32 reserved;
};

/* pinio_attach.flags */
#define PINIO_ATTACH_WRITE	0x1U	/* allow writes to the attached store */

/**
 * struct pinio_attach - argument of PINIO_IOC_ATTACH
 * @fd: an open block device or regular file of the caller's.
 * @flags: PINIO_ATTACH_* bits.
 * @reserved: zero.
 */
struct pinio_attach {
	__s32 fd;
	__u32 flags;
	__u64 reserved[2];
};

#define PINIO_IOC_MAGIC		0xB9

/**
 * PINIO_IOC_INFO - describe the device
 *
 * Fills a struct pinio_info. Errors: -EFAULT (bad argument pointer).
 */
#define PINIO_IOC_INFO		_IOR(PINIO_IOC_MAGIC, 0x00, struct pinio_info)

/**
 * PINIO_IOC_REGISTER - pin a user buffer for direct transfers
 *
 * Pins every page of [addr, addr + len) for the life of the registration
 * and charges them to the caller's RLIMIT_MEMLOCK (mm->pinned_vm, shown as
 * VmPin in /proc/PID/status) unless it has CAP_IPC_LOCK. With
 * PINIO_REG_DEV_TO_USER the pages are pinned writable, so the mapping must
 * be writable; a PROT_READ mapping can be registered PINIO_REG_USER_TO_DEV
 * alone. A read-only registration of a private writable mapping breaks COW
 * first (without changing its contents), so what the process writes to the
 * buffer later is what the device reads. Writable registrations of shared
 * file mappings that need dirty tracking (a file on a disk filesystem
 * mapped MAP_SHARED) are refused on every kernel; anonymous, shmem/memfd,
 * tmpfs and hugetlbfs memory is fine.
 *
 * Errors: -EINVAL (len 0 or above the limit, no or unknown direction,
 * reserved field set), -EOVERFLOW (addr + len wraps), -EFAULT (range not
 * mapped, outside user space, or not writable for PINIO_REG_DEV_TO_USER),
 * -EOPNOTSUPP (writable pin of a dirty-tracked shared file mapping),
 * -ENOMEM (RLIMIT_MEMLOCK exceeded or out of memory), -EBUSY
 * (PINIO_MAX_REGIONS live registrations on this file). On any error nothing
 * stays pinned or charged.
 */
#define PINIO_IOC_REGISTER	_IOWR(PINIO_IOC_MAGIC, 0x01, struct pinio_region)

/**
 * PINIO_IOC_UNREGISTER - drop a registration
 *
 * The handle stops naming the registration at once; its pages are unpinned
 * (dirty if the device wrote them) and uncharged when the last transfer
 * using them finishes. Closing the file drops every registration.
 *
 * Errors: -EINVAL (flags set), -ENOENT (no such handle), -EFAULT.
 */
#define PINIO_IOC_UNREGISTER	_IOW(PINIO_IOC_MAGIC, 0x02, struct pinio_unregister)

/**
 * PINIO_IOC_READ - copy device store -> registered buffer
 *
 * Errors: -EINVAL (len 0, op or reserved bits set, device range outside the
 * store, or on an attached store an offset or length that breaks the
 * block_size rule of struct pinio_info), -ERANGE (buffer range outside
 * the registration), -ENOENT (no such handle), -EACCES (registered
 * without PINIO_REG_DEV_TO_USER), -EFAULT (bad argument pointer), -EINTR
 * (fatal signal; part may be done). On an attached store the device's own
 * errors come back as they are: -EIO, -ENODATA (an NVMe media error),
 * -ENOSPC and the like; what the failed transfer's range holds is then
 * undefined, and nothing stays pinned or charged beyond the registration.
 */
#define PINIO_IOC_READ		_IOW(PINIO_IOC_MAGIC, 0x03, struct pinio_xfer)

/**
 * PINIO_IOC_WRITE - copy registered buffer -> device store
 *
 * Errors: as PINIO_IOC_READ, with -EACCES when the registration lacks
 * PINIO_REG_USER_TO_DEV, and -EBADF when the store was attached without
 * PINIO_ATTACH_WRITE. A completed write to an attached store is in the
 * device (or the file), not necessarily durable: see PINIO_IOC_FLUSH.
 */
#define PINIO_IOC_WRITE		_IOW(PINIO_IOC_MAGIC, 0x04, struct pinio_xfer)

/**
 * PINIO_IOC_BATCH - run an array of reads and writes in one call
 *
 * Segments are checked and run in order; each is a PINIO_IOC_READ or
 * PINIO_IOC_WRITE chosen by its op. On return @completed says how many
 * finished; the return value is 0 when all did, or the error of the first
 * segment that failed (its errors are those of PINIO_IOC_READ/WRITE, and
 * -EINVAL for an unknown op).
 *
 * Errors of the call itself: -EINVAL (nr 0 or above PINIO_MAX_BATCH, flags
 * or reserved set), -EFAULT (bad pointer), -ENOMEM.
 */
#define PINIO_IOC_BATCH		_IOWR(PINIO_IOC_MAGIC, 0x05, struct pinio_batch)

/**
 * PINIO_IOC_ATTACH - make a block device or regular file this file's store
 *
 * Binds the file behind @fd to this open /dev/pinio file only: other opens
 * of /dev/pinio keep their own store, and the caller's right to open the
 * file is the whole permission check. The driver keeps its own reference,
 * so @fd may be closed afterwards. The store's size is the device's, or the
 * regular file's at attach time, rounded down to its logical block size; a
 * regular file should be preallocated (fallocate) to that size so direct
 * writes neither extend it nor fall back to a buffered copy. Registrations
 * are not affected: they belong to the process's memory, not to a store.
 * read() and write() on the file then go through the attached file's page
 * cache; with RWF_NOWAIT (or io_uring's first, non-blocking attempt) a
 * buffered transfer that would wait fails whole with -EAGAIN, never short.
 *
 * Errors: -EINVAL (flags or reserved set, @fd opened with O_APPEND, or an
 * empty store), -EBADF (@fd not open, O_PATH, not open for reading, or not
 * open for writing with PINIO_ATTACH_WRITE), -ELOOP (@fd is a /dev/pinio
 * file), -ENOTBLK (neither a block device nor a regular file: pipes,
 * sockets, character devices, directories), -EOPNOTSUPP (no device to DMA
 * into the pages: the file cannot do direct I/O (open(O_DIRECT) of it would
 * fail), its filesystem reports no direct-I/O alignment because it would
 * quietly copy through the page cache (ext4 with data=journal), or it has
 * no block device at all (tmpfs, 9p, NFS: their direct I/O is a copy)),
 * -EBUSY (a store is attached already), -EFAULT.
 */
#define PINIO_IOC_ATTACH	_IOW(PINIO_IOC_MAGIC, 0x06, struct pinio_attach)

/**
 * PINIO_IOC_DETACH - go back to the RAM store
 *
 * Transfers in flight finish against the detached store first, with their
 * pages still pinned; new ones go to RAM. Closing the file detaches too.
 *
 * Errors: -ENXIO (no store attached).
 */
#define PINIO_IOC_DETACH	_IO(PINIO_IOC_MAGIC, 0x07)

/**
 * PINIO_IOC_FLUSH - make every completed write to the attached store durable
 *
 * Returns once everything written to the store before the call (by direct
 * transfers, io_uring commands or write()) survives a power failure:
 * fdatasync() of the regular file, or a cache flush of the block device.
 *
 * Errors: -ENXIO (no store attached: RAM is never durable), -EBADF
 * (attached without PINIO_ATTACH_WRITE), and the device's: -EIO, -ENODATA.
 */
#define PINIO_IOC_FLUSH		_IO(PINIO_IOC_MAGIC, 0x08)

/*
 * mmap: a MAP_SHARED mapping of /dev/pinio at a page-aligned offset shows
 * that window of the device store, coherent with the buffered and direct
 * paths. MAP_PRIVATE fails with -EINVAL, a window reaching past the store
 * with -ENXIO; mremap() cannot grow a mapping. The store outlives every
 * mapping, so closing the file with a mapping alive is fine.
 *
 * On an attached store the mapping is the attached file's own (its page
 * cache, as mmap() of that file would give), so it stays valid after a
 * detach; PROT_WRITE needs PINIO_ATTACH_WRITE (else -EACCES).
 */

/*
 * io_uring: IORING_OP_URING_CMD on /dev/pinio runs a direct transfer
 * asynchronously. sqe->cmd_op is PINIO_URING_CMD_READ or _WRITE and the
 * payload, a struct pinio_uring_cmd, lives in sqe->cmd, which is only large
 * enough on a ring set up with IORING_SETUP_SQE128 (as NVMe passthrough
 * requires); on other rings every command fails with -EOPNOTSUPP.
 *
 * Two ways to name the user buffer:
 *  - a pinio handle: @handle and @buf_offset, as in struct pinio_xfer;
 *  - a buffer registered with io_uring itself: set IORING_URING_CMD_FIXED in
 *    sqe->uring_cmd_flags and the buffer's index in sqe->buf_index, put the
 *    user address to start at in @addr, and leave @handle and @buf_offset 0.
 *
 * The CQE's res is @len on success or -errno: the errors of PINIO_IOC_READ
 * and PINIO_IOC_WRITE, -EINVAL for a set field that must be zero, -EFAULT
 * for a fixed-buffer range outside the io_uring registration, -ENOTTY for
 * an unknown cmd_op. A transfer takes its reference on the registration
 * (and on the store) when the driver first sees it, so unregistering,
 * detaching or closing the ring with commands in flight is safe: they
 * complete, on the store they started on. The driver first sees a command
 * when io_uring first issues it: at submission, or for IOSQE_ASYNC,
 * IOSQE_IO_LINK and IOSQE_IO_DRAIN commands later, from io-wq; a handle
 * unregistered before then gives -ENOENT, a store detached before then
 * is not the one used.
 *
 * On an attached store a command is the device's I/O: it is submitted at
 * issue and its CQE is posted when the device completes it, so a ring's
 * queue depth is the device's. PINIO_URING_CMD_FLUSH is PINIO_IOC_FLUSH
 * (all fields of its payload zero, res 0 on success).
 */
/**
 * struct pinio_uring_cmd - payload of a pinio IORING_OP_URING_CMD
 * @handle: pinio handle, or 0 with IORING_URING_CMD_FIXED.
 * @flags: zero.
 * @addr: with IORING_URING_CMD_FIXED, the user address inside the io_uring
 *	registered buffer; otherwise zero.
 * @buf_offset: offset in the pinio registration; zero with FIXED.
 * @dev_offset: offset in the device store.
 * @len: bytes to move, at least 1.
 */
struct pinio_uring_cmd {
	__u32 handle;
	__u32 flags;
	__u64 addr;
	__u64 buf_offset;
	__u64 dev_offset;
	__u64 len;
};

#define PINIO_URING_CMD_READ	_IOW(PINIO_IOC_MAGIC, 0x10, struct pinio_uring_cmd)
#define PINIO_URING_CMD_WRITE	_IOW(PINIO_IOC_MAGIC, 0x11, struct pinio_uring_cmd)
#define PINIO_URING_CMD_FLUSH	_IOW(PINIO_IOC_MAGIC, 0x12, struct pinio_uring_cmd)

#endif /* _UAPI_LINUX_PINIO_H */
