/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel interfaces pinio uses that differ between the kernels it
 * supports (Debian's 6.1 and 6.12).
 */
#ifndef _PINIO_COMPAT_H
#define _PINIO_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* 6.7 moved the uring_cmd driver API out of <linux/io_uring.h>. */
#if KERNEL_VERSION(6, 7, 0) <= LINUX_VERSION_CODE
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif

/*
 * 6.6 gave uring_cmd the whole SQE instead of a pointer to its cmd area.
 * Either way the payload is sqe->cmd, 80 bytes on an IORING_SETUP_SQE128
 * ring. (io_uring_cmd_done() already takes issue_flags on Debian's 6.1.)
 */
static inline const void *pinio_uring_cmd_payload(const struct io_uring_cmd *ioucmd)
{
#if KERNEL_VERSION(6, 6, 0) <= LINUX_VERSION_CODE
	return io_uring_sqe_cmd(ioucmd->sqe);
#else
	return ioucmd->cmd;
#endif
}

/* 6.3 made vma->vm_flags read-only behind vm_flags_set(). */
static inline void pinio_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void pinio_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * 6.2 ("mm/gup: reliable R/O long-term pinning in COW mappings") made GUP
 * break COW itself when it pins a page of a private writable mapping
 * read-only and long-term; 6.1 pins the zero page or page cache as found.
 */
#define PINIO_GUP_UNSHARES_RO_LONGTERM \
	(KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE)

#endif /* _PINIO_COMPAT_H */
