// SPDX-License-Identifier: GPL-2.0
/*
 * Registration of user buffers: validation, RLIMIT_MEMLOCK accounting,
 * long-term pinning, the per-file handle table and the release path.
 */
#include <linux/backing-dev.h>
#include <linux/capability.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pinio_compat.h"
#include "pinio_drv.h"

/* Pages pinned per pin_user_pages_fast() call; we may reschedule between. */
#define PINIO_PIN_BATCH		1024

/*
 * Would a long-term writable pin of this VMA let the device write behind the
 * filesystem's back? Mirrors vma_needs_dirty_tracking(), which 6.5+ kernels
 * use inside GUP to refuse such pins with -EFAULT while 6.1 allows them.
 * Anonymous, shmem/memfd, tmpfs and hugetlbfs memory needs no tracking.
 */
static bool pinio_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	const vm_flags_t shared_writable = VM_SHARED | VM_WRITE;
	struct file *file = vma->vm_file;

	if (!file || (vma->vm_flags & shared_writable) != shared_writable)
		return false;
	if (is_vm_hugetlb_page(vma) || (vma->vm_flags & VM_PFNMAP))
		return false;
	if (vma->vm_ops && vma->vm_ops->page_mkwrite)
		return true;
	return file->f_mapping && mapping_can_writeback(file->f_mapping);
}

/*
 * Give the same answer on every kernel: refuse writable long-term pins of
 * dirty-tracked shared file mappings with -EOPNOTSUPP, as io_uring did
 * before GUP learnt to refuse them itself.
 */
static int pinio_check_writable_range(unsigned long start, unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long addr = start;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr) {
			ret = -EFAULT;
			break;
		}
		if (pinio_vma_needs_dirty_tracking(vma)) {
			ret = -EOPNOTSUPP;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * The same question asked of the pages actually pinned. The VMA check above
 * drops mmap_lock before pin_user_pages_fast() runs, so on kernels whose GUP
 * does not refuse such pins itself (6.1) another thread could map a disk
 * file over the range in between; what got pinned is the final word.
 */
static bool pinio_pages_need_dirty_tracking(struct page **pages,
					    unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		struct folio *folio = page_folio(pages[i]);
		struct address_space *mapping;

		if (folio_test_anon(folio) || folio_test_hugetlb(folio))
			continue;
		mapping = folio_mapping(folio);
		if (mapping && mapping_can_writeback(mapping))
			return true;
	}
	return false;
}

/*
 * A read-only long-term pin must hold the pages the process will go on
 * using. In a private writable mapping 6.1's GUP pins the shared zero page
 * or a page-cache page as it finds them, and the process's next write COWs
 * its memory away from the device, which then keeps reading stale bytes
 * (newer GUP unshares such pages itself). Anonymous pages are safe; anything
 * else may send us down pinio_cow_parts().
 */
static bool pinio_pages_all_anon(struct page **pages, unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		if (!folio_test_anon(page_folio(pages[i])))
			return false;
	return true;
}

/*
 * Find the private writable parts of [start, end), where a page can still
 * be COWed away from a read-only pin, and with @unshare fault each in for
 * writing: that breaks COW without changing a byte, leaving anonymous
 * pages to pin. Returns whether there was any such part. Shared and
 * read-only mappings are left alone: nothing can COW there.
 */
static bool pinio_cow_parts(unsigned long start, unsigned long end,
			    bool unshare)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = start;
	bool found = false;

	while (addr < end) {
		struct vm_area_struct *vma;
		unsigned long from, to;
		bool cow;

		if (mmap_read_lock_killable(mm))
			return found;
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= end) {
			mmap_read_unlock(mm);
			return found;
		}
		from = max(addr, vma->vm_start);
		to = min(end, vma->vm_end);
		cow = (vma->vm_flags & (VM_SHARED | VM_WRITE)) == VM_WRITE;
		mmap_read_unlock(mm);

		if (cow) {
			if (!unshare)
				return true;
			found = true;
			fault_in_safe_writeable((const char __user *)from,
						to - from);
		}
		addr = to;
	}
	return found;
}

/*
 * Does a read-only pin of these pages need the unpin, unshare and pin again
 * of pinio_buf_create()? Only where GUP leaves COW to us, some pinned page
 * is not anonymous, and some part of the range is a COW mapping: shmem,
 * memfd, the store's own window and read-only page cache are pinned once.
 */
static bool pinio_ro_pin_needs_unshare(struct pinio_buf *buf,
				       unsigned long start)
{
	if (PINIO_GUP_UNSHARES_RO_LONGTERM)
		return false;
	if (pinio_pages_all_anon(buf->pages, buf->nr_pages))
		return false;
	return pinio_cow_parts(start, start + buf->nr_pages * PAGE_SIZE, false);
}

/*
 * Charge against RLIMIT_MEMLOCK through mm->pinned_vm, as RDMA's ib_umem
 * does: the count belongs to the process that pinned, shows up as VmPin in
 * /proc/PID/status, and is not confused with mlock()'s locked_vm.
 */
static int pinio_charge(struct mm_struct *mm, unsigned long nr_pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	u64 pinned = atomic64_add_return(nr_pages, &mm->pinned_vm);

	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr_pages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void pinio_uncharge(struct mm_struct *mm, unsigned long nr_pages)
{
	atomic64_sub(nr_pages, &mm->pinned_vm);
}

/* Pin every page or none: a partial pin is undone. */
static int pinio_pin_pages(struct pinio_buf *buf, unsigned long start)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int ret;

	if (buf->flags & PINIO_REG_DEV_TO_USER)
		gup_flags |= FOLL_WRITE;

	while (done < buf->nr_pages) {
		int chunk = min_t(unsigned long, buf->nr_pages - done,
				  PINIO_PIN_BATCH);

		ret = pin_user_pages_fast(start + done * PAGE_SIZE, chunk,
					  gup_flags, buf->pages + done);
		if (ret <= 0) {
			unpin_user_pages(buf->pages, done);
			return ret ? ret : -EFAULT;
		}
		done += ret;
		cond_resched();
	}
	return 0;
}

/*
 * The bvecs the transfer engine hands to a store and to the block layer,
 * which uses the array as it is (it takes no page reference of its own),
 * so it lives as long as the pages. One bvec per run of physically
 * contiguous pages, as bio_iov_iter_get_pages() merges them: a transfer
 * within one THP is then one segment for the device rather than one per
 * page, which decides whether NVMe maps it as one data block or builds a
 * PRP list. Adjacent struct pages and adjacent pfns both, so that the
 * iterators' bv_page + n stays right without SPARSEMEM_VMEMMAP too; no
 * folio lookups, which made registering a THP 1.5x slower under TCG.
 * bvec_page[] is each bvec's first page, for pinio_buf_bvec_at().
 */
static void pinio_buf_fill_bvecs(struct pinio_buf *buf)
{
	struct page *last = NULL;
	unsigned long i, n = 0;

	/* A run is at most a whole registration, and bv_len is 32 bits. */
	BUILD_BUG_ON(PINIO_MAX_REGION_LEN + PAGE_SIZE > UINT_MAX);
	for (i = 0; i < buf->nr_pages; i++) {
		struct page *page = buf->pages[i];

		if (last && page == last + 1 &&
		    page_to_pfn(page) == page_to_pfn(last) + 1) {
			buf->bvecs[n - 1].bv_len += PAGE_SIZE;
		} else {
			buf->bvec_page[n] = i;
			buf->bvecs[n].bv_page = page;
			buf->bvecs[n].bv_len = PAGE_SIZE;
			buf->bvecs[n].bv_offset = 0;
			n++;
		}
		last = page;
	}
	buf->nr_bvecs = n;
}

/* The index of the bvec that holds page @page of @buf (a binary search). */
unsigned long pinio_buf_bvec_at(const struct pinio_buf *buf,
				unsigned long page)
{
	unsigned long lo = 0, hi = buf->nr_bvecs - 1;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo + 1) / 2;

		if (buf->bvec_page[mid] <= page)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static struct pinio_buf *pinio_buf_create(u64 addr, u64 len, u32 flags)
{
	unsigned long start = addr & PAGE_MASK;
	struct pinio_buf *buf;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	kref_init(&buf->ref);
	buf->first_offset = offset_in_page(addr);
	buf->len = len;
	buf->flags = flags;
	buf->nr_pages = DIV_ROUND_UP(buf->first_offset + len, PAGE_SIZE);

	buf->pages = kvmalloc_array(buf->nr_pages, sizeof(*buf->pages),
				    GFP_KERNEL_ACCOUNT);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto free_buf;
	}
	buf->bvecs = kvmalloc_array(buf->nr_pages, sizeof(*buf->bvecs),
				    GFP_KERNEL_ACCOUNT);
	if (!buf->bvecs) {
		ret = -ENOMEM;
		goto free_pages;
	}
	buf->bvec_page = kvmalloc_array(buf->nr_pages, sizeof(*buf->bvec_page),
					GFP_KERNEL_ACCOUNT);
	if (!buf->bvec_page) {
		ret = -ENOMEM;
		goto free_bvecs;
	}

	if (flags & PINIO_REG_DEV_TO_USER) {
		ret = pinio_check_writable_range(start,
						 start + buf->nr_pages * PAGE_SIZE);
		if (ret)
			goto free_bvec_page;
	}

	buf->mm = current->mm;
	ret = pinio_charge(buf->mm, buf->nr_pages);
	if (ret)
		goto free_bvec_page;

	ret = pinio_pin_pages(buf, start);
	if (ret)
		goto uncharge;
	if (!(flags & PINIO_REG_DEV_TO_USER) &&
	    pinio_ro_pin_needs_unshare(buf, start)) {
		unpin_user_pages(buf->pages, buf->nr_pages);
		pinio_cow_parts(start, start + buf->nr_pages * PAGE_SIZE, true);
		ret = pinio_pin_pages(buf, start);
		if (ret)
			goto uncharge;
	}
	if ((flags & PINIO_REG_DEV_TO_USER) &&
	    pinio_pages_need_dirty_tracking(buf->pages, buf->nr_pages)) {
		ret = -EOPNOTSUPP;
		goto unpin;
	}

	pinio_buf_fill_bvecs(buf);
	mmgrab(buf->mm);
	pinio_stat_add(PINIO_STAT_REGISTRATIONS, 1);
	pinio_stat_add(PINIO_STAT_REGIONS, 1);
	pinio_stat_add(PINIO_STAT_PINNED_PAGES_TOTAL, buf->nr_pages);
	pinio_stat_add(PINIO_STAT_PINNED_PAGES, buf->nr_pages);
	return buf;

unpin:
	unpin_user_pages(buf->pages, buf->nr_pages);
uncharge:
	pinio_uncharge(buf->mm, buf->nr_pages);
free_bvec_page:
	kvfree(buf->bvec_page);
free_bvecs:
	kvfree(buf->bvecs);
free_pages:
	kvfree(buf->pages);
free_buf:
	kfree(buf);
	return ERR_PTR(ret);
}

static void pinio_buf_release(struct kref *ref)
{
	struct pinio_buf *buf = container_of(ref, struct pinio_buf, ref);

	unpin_user_pages_dirty_lock(buf->pages, buf->nr_pages,
				    READ_ONCE(buf->device_wrote));
	pinio_uncharge(buf->mm, buf->nr_pages);
	mmdrop(buf->mm);
	pinio_stat_add(PINIO_STAT_PINNED_PAGES, -(s64)buf->nr_pages);
	pinio_stat_add(PINIO_STAT_REGIONS, -1);
	kvfree(buf->bvec_page);
	kvfree(buf->bvecs);
	kvfree(buf->pages);
	kfree(buf);
}

/* Must be called from process context: unpinning dirty pages may sleep. */
void pinio_buf_put(struct pinio_buf *buf)
{
	kref_put(&buf->ref, pinio_buf_release);
}

struct pinio_buf *pinio_buf_get(struct pinio_file *pf, u32 handle)
{
	struct pinio_buf *buf;

	xa_lock(&pf->regions);
	buf = xa_load(&pf->regions, handle);
	if (buf)
		kref_get(&buf->ref);
	xa_unlock(&pf->regions);
	return buf;
}

/*
 * Remove @handle from the table if it names a live registration (and, when
 * @expect is set, that one) and return the table's reference. Handles still
 * being set up are reserved entries, which load as NULL and are left alone.
 */
static struct pinio_buf *pinio_buf_take(struct pinio_file *pf, u32 handle,
					struct pinio_buf *expect)
{
	struct pinio_buf *buf;

	xa_lock(&pf->regions);
	buf = xa_load(&pf->regions, handle);
	if (buf && (!expect || buf == expect))
		__xa_erase(&pf->regions, handle);
	else
		buf = NULL;
	xa_unlock(&pf->regions);
	return buf;
}

long pinio_ioctl_register(struct pinio_file *pf, struct pinio_region __user *uarg)
{
	struct pinio_region arg;
	struct pinio_buf *buf;
	u64 end;
	u32 id;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	if (!arg.flags || (arg.flags & ~PINIO_REG_BIDIR))
		return -EINVAL;
	if (!arg.len || arg.len > PINIO_MAX_REGION_LEN)
		return -EINVAL;
	if (check_add_overflow(arg.addr, arg.len, &end))
		return -EOVERFLOW;
	if (!access_ok(u64_to_user_ptr(arg.addr), arg.len))
		return -EFAULT;

	/* Reserve the handle first: a full table fails before any pinning. */
	ret = xa_alloc(&pf->regions, &id, NULL,
		       XA_LIMIT(1, PINIO_MAX_REGIONS), GFP_KERNEL);
	if (ret)
		return ret;

	buf = pinio_buf_create(arg.addr, arg.len, arg.flags);
	if (IS_ERR(buf)) {
		ret = PTR_ERR(buf);
		goto release_handle;
	}
	xa_store(&pf->regions, id, buf, GFP_KERNEL);

	if (put_user(id, &uarg->handle)) {
		/* Another thread may have guessed and dropped it already. */
		buf = pinio_buf_take(pf, id, buf);
		if (buf)
			pinio_buf_put(buf);
		return -EFAULT;
	}
	return 0;

release_handle:
	xa_erase(&pf->regions, id);
	return ret;
}

long pinio_ioctl_unregister(struct pinio_file *pf,
			    struct pinio_unregister __user *uarg)
{
	struct pinio_unregister arg;
	struct pinio_buf *buf;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags)
		return -EINVAL;

	buf = pinio_buf_take(pf, arg.handle, NULL);
	if (!buf)
		return -ENOENT;
	pinio_buf_put(buf);
	return 0;
}

/* The file is going away: nothing else can reach the table any more. */
void pinio_bufs_release(struct pinio_file *pf)
{
	struct pinio_buf *buf;
	unsigned long id;

	xa_for_each(&pf->regions, id, buf) {
		xa_erase(&pf->regions, id);
		pinio_buf_put(buf);
	}
	xa_destroy(&pf->regions);
}
