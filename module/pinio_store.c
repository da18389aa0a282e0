// SPDX-License-Identifier: GPL-2.0
/*
 * Stores: the reference counting every kind shares, and the RAM store,
 * the driver's own memory, zeroed at load so nothing stale can leak.
 */
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "pinio_drv.h"

void pinio_store_get(struct pinio_store *store)
{
	kref_get(&store->ref);
}

static void pinio_store_release(struct kref *ref)
{
	struct pinio_store *store = container_of(ref, struct pinio_store, ref);

	store->ops->release(store);
}

/* Process context only: an attached store's last put closes its file. */
void pinio_store_put(struct pinio_store *store)
{
	kref_put(&store->ref, pinio_store_release);
}

/* Is [off, off + len) a non-empty range inside the store? Cannot wrap. */
bool pinio_store_range_ok(const struct pinio_store *store, u64 off, u64 len)
{
	return len && off <= store->size && len <= store->size - off;
}

/*
 * Copy @len bytes between the RAM store at @pos and @iter, PINIO_CHUNK at
 * a time with a resched point between chunks, so a 64 MiB copy does not
 * hog the CPU. Returns the bytes copied; fewer than @len means a fault.
 */
size_t pinio_ram_copy_iter(u64 pos, size_t len, struct iov_iter *iter,
			   bool to_iter)
{
	u8 *dev = pinio_ram.data + pos;
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

/*
 * A direct transfer is a CPU copy here. The pages are pinned, so the copy
 * cannot fault; a fatal signal between chunks ends it with -EINTR.
 */
static ssize_t pinio_ram_direct(struct pinio_store *store, struct pinio_io *io)
{
	size_t len = iov_iter_count(&io->iter), done = 0;
	bool to_iter = io->op == PINIO_OP_READ;

	while (done < len) {
		size_t n = min_t(size_t, len - done, PINIO_CHUNK);

		if (done && fatal_signal_pending(current))
			return -EINTR;
		if (pinio_ram_copy_iter(io->pos + done, n, &io->iter,
					to_iter) != n)
			return -EFAULT;
		done += n;
	}
	return done;
}

static int pinio_ram_flush(struct pinio_store *store)
{
	return -ENXIO;	/* RAM is never durable */
}

static void pinio_ram_release(struct pinio_store *store)
{
	vfree(pinio_ram.data);
	pinio_ram.data = NULL;
}

static const struct pinio_store_ops pinio_ram_ops = {
	.direct = pinio_ram_direct,
	.buffered = pinio_ram_buffered,
	.mmap = pinio_ram_mmap,
	.flush = pinio_ram_flush,
	.release = pinio_ram_release,
};

struct pinio_ram_store pinio_ram;

/* The module holds the first reference; pinio_store_put() at unload. */
int pinio_ram_init(size_t size)
{
	/* Zeroed, and its pages can be mapped to user space (pinio_mmap.c). */
	pinio_ram.data = vmalloc_user(size);
	if (!pinio_ram.data)
		return -ENOMEM;
	pinio_ram.store = (struct pinio_store) {
		.ops = &pinio_ram_ops,
		.size = size,
		.kind = PINIO_STORE_RAM,
		.block_size = 1,
		.dma_alignment = 1,
	};
	kref_init(&pinio_ram.store.ref);
	return 0;
}
