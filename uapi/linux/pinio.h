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

/**
 * struct pinio_info - what PINIO_IOC_INFO reports
 * @abi_version: PINIO_ABI_VERSION of the running driver.
 * @page_size: the kernel's PAGE_SIZE.
 * @dev_size: size of the device store in bytes.
 * @features: PINIO_FEAT_* bits.
 * @max_region_len: largest registration in bytes.
 * @max_regions: live registrations allowed per open file.
 * @max_batch: largest number of segments in one PINIO_IOC_BATCH.
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
	__u64 reserved[4];
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
 * store), -ERANGE (buffer range outside the registration), -ENOENT (no
 * such handle), -EACCES (registered without PINIO_REG_DEV_TO_USER),
 * -EFAULT (bad argument pointer), -EINTR (fatal signal; part may be done).
 */
#define PINIO_IOC_READ		_IOW(PINIO_IOC_MAGIC, 0x03, struct pinio_xfer)

/**
 * PINIO_IOC_WRITE - copy registered buffer -> device store
 *
 * Errors: as PINIO_IOC_READ, with -EACCES when the registration lacks
 * PINIO_REG_USER_TO_DEV.
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

/*
 * mmap: a MAP_SHARED mapping of /dev/pinio at a page-aligned offset shows
 * that window of the device store, coherent with the buffered and direct
 * paths. MAP_PRIVATE fails with -EINVAL, a window reaching past the store
 * with -ENXIO; mremap() cannot grow a mapping. The store outlives every
 * mapping, so closing the file with a mapping alive is fine.
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
 * an unknown cmd_op. A transfer takes its reference on the registration at
 * submission, so unregistering or closing the ring with commands in flight
 * is safe: they complete.
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

#endif /* _UAPI_LINUX_PINIO_H */
