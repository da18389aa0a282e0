// SPDX-License-Identifier: GPL-2.0
/*
 * The device store: RAM owned by the driver, zeroed at load so nothing
 * stale can leak, and copies between it and an iov_iter.
 */
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "pinio_drv.h"

struct pinio_store pinio_store;

int pinio_store_init(size_t size)
{
	/* Zeroed, and its pages can be mapped to user space (pinio_mmap.c). */
	pinio_store.data = vmalloc_user(size);
	if (!pinio_store.data)
		return -ENOMEM;
	pinio_store.size = size;
	kref_init(&pinio_store.ref);
	return 0;
}

static void pinio_store_release(struct kref *ref)
{
	vfree(pinio_store.data);
	pinio_store.data = NULL;
}

/* Each user-space mapping holds a reference, and so does the module. */
void pinio_store_get(void)
{
	kref_get(&pinio_store.ref);
}

void pinio_store_put(void)
{
	kref_put(&pinio_store.ref, pinio_store_release);
}

/* Is [off, off + len) a non-empty range inside the store? Cannot wrap. */
bool pinio_store_range_ok(u64 off, u64 len)
{
	return len && off <= pinio_store.size && len <= pinio_store.size - off;
}

/*
 * Copy @len bytes between the store at @pos and @iter, PINIO_CHUNK at a
 * time with a resched point between chunks, so a 64 MiB copy does not hog
 * the CPU. Returns the bytes copied; fewer than @len means a fault.
 */
size_t pinio_store_copy_iter(u64 pos, size_t len, struct iov_iter *iter,
			     bool to_iter)
{
	u8 *dev = pinio_store.data + pos;
	size_t done = 0;

	while (done < len) {
		size_t n = min_t(size_t, len - done, PINIO_CHUNK);
		size_t copied;

		if (to_iter)
			copied = copy_to_iter(dev + done, n, iter);
		else
			copied = copy_from_iter(dev + done, n, iter);
		done += copied;
		if (copied < n)
			break;
		cond_resched();
	}
	return done;
}
