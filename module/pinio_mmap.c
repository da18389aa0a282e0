// SPDX-License-Identifier: GPL-2.0
/*
 * The map-out path: mmap() of /dev/pinio shows a window of the file's
 * store. An attached store hands the mapping to its backing file (its page
 * cache, pinio_attach.c). The RAM store shows its window as one contiguous
 * user region, although the store is made of separate vmalloc pages. Two
 * ways to get the pages into the page tables:
 *  - on demand (default): a .fault handler hands the store page to the core
 *    mm, so mmap() is O(1) and each page costs one fault on first touch;
 *  - mmap_prefault=1: vm_insert_pages() maps the whole window in mmap(), so
 *    setting up costs O(pages) once and no access ever faults.
 * The store pages are ordinary RAM: no VM_IO, and no VM_PFNMAP either, so
 * get_user_pages() and pinio's own registration work on a mapped window.
 */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pinio_compat.h"
#include "pinio_drv.h"

/* Pages handed to one vm_insert_pages() call. */
#define PINIO_INSERT_BATCH	512

static bool mmap_prefault;
module_param(mmap_prefault, bool, 0644);
MODULE_PARM_DESC(mmap_prefault,
		 "Map the whole window at mmap() time instead of on first touch; sampled at mmap (default 0)");

static struct page *pinio_store_page(pgoff_t pgoff)
{
	return vmalloc_to_page(pinio_ram.data + (pgoff << PAGE_SHIFT));
}

/* A mapping (also each half of a split one) holds the store. */
static void pinio_vm_open(struct vm_area_struct *vma)
{
	pinio_store_get(&pinio_ram.store);
}

static void pinio_vm_close(struct vm_area_struct *vma)
{
	pinio_store_put(&pinio_ram.store);
}

static vm_fault_t pinio_vm_fault(struct vm_fault *vmf)
{
	struct page *page;

	if (vmf->pgoff >= pinio_ram.store.size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = pinio_store_page(vmf->pgoff);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct pinio_vm_ops = {
	.open = pinio_vm_open,
	.close = pinio_vm_close,
	.fault = pinio_vm_fault,
};

static int pinio_mmap_insert(struct vm_area_struct *vma)
{
	unsigned long nr = vma_pages(vma), done = 0;
	struct page **pages;
	int ret = 0;

	pages = kmalloc_array(min_t(unsigned long, nr, PINIO_INSERT_BATCH),
			      sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	while (done < nr) {
		unsigned long i, n = min_t(unsigned long, nr - done,
					   PINIO_INSERT_BATCH);
		unsigned long left = n;

		for (i = 0; i < n; i++)
			pages[i] = pinio_store_page(vma->vm_pgoff + done + i);
		ret = vm_insert_pages(vma, vma->vm_start + done * PAGE_SIZE,
				      pages, &left);
		if (ret)
			break;
		done += n;
		cond_resched();
	}
	kfree(pages);
	return ret;
}

int pinio_ram_mmap(struct pinio_store *store, struct vm_area_struct *vma)
{
	unsigned long store_pages = store->size >> PAGE_SHIFT;
	unsigned long nr = vma_pages(vma);
	int ret;

	/*
	 * A private mapping would have to COW store pages behind the other
	 * paths' backs; nobody needs that from a device, so refuse it.
	 */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > store_pages || nr > store_pages - vma->vm_pgoff)
		return -ENXIO;

	/* Fixed size (mremap cannot grow it), and not part of core dumps. */
	pinio_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);

	if (READ_ONCE(mmap_prefault)) {
		/* On failure the core mm zaps whatever was inserted. */
		ret = pinio_mmap_insert(vma);
		if (ret)
			return ret;
	}

	/* Last, so that a failed mmap() leaves no reference behind. */
	vma->vm_ops = &pinio_vm_ops;
	pinio_store_get(store);
	return 0;
}

int pinio_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pinio_store *store = pinio_file_store(file->private_data);
	int ret = store->ops->mmap(store, vma);

	pinio_store_put(store);
	return ret;
}
