// SPDX-License-Identifier: GPL-2.0
/*
 * Backend dma_heap: /dev/dma_heap/<area> (CONFIG_DMABUF_HEAPS_CMA), the path
 * drivers and Android take. Only the default area has a heap on stock
 * kernels; the heap zeroes the buffer (its time is included) and picks the
 * alignment: min(get_order(size), CONFIG_CMA_ALIGNMENT).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-heap.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

static bool present(struct cb_run *r)
{
	return r->areas[r->ai].heap[0] != '\0';
}

static int check(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;

	if (!present(r))
		return cb_err(
			r,
			"backend dma_heap: no /dev/dma_heap/%s (only the default CMA area has a heap; needs CONFIG_DMABUF_HEAPS_CMA)",
			c->area);
	if (c->align_set && c->align)
		return cb_err(
			r,
			"backend dma_heap: the heap chooses the alignment (--align %u needs cma_bench)",
			c->align);
	return 0;
}

static int heap_open(struct cb_run *r)
{
	r->heap_fd = open(r->areas[r->ai].heap, O_RDONLY | O_CLOEXEC);
	if (r->heap_fd < 0)
		return cb_err(r, "cannot open %s: %s", r->areas[r->ai].heap,
			      strerror(errno));
	return 0;
}

static unsigned int heap_align(uint64_t pages)
{
	unsigned int order = 0;

	while ((1ULL << order) < pages)
		order++;
	return order > 8 ? 8 : order; /* CONFIG_CMA_ALIGNMENT default */
}

static int alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		 struct cb_buf *b, struct cb_record *rec)
{
	struct dma_heap_allocation_data d;
	uint64_t t0, t1;
	int rc, e;

	(void)align;
	memset(&d, 0, sizeof(d));
	d.len = pages * 4096;
	d.fd_flags = O_RDWR | O_CLOEXEC;
	rec->align = heap_align(pages);
	t0 = now_ns();
	rc = ioctl(r->heap_fd, DMA_HEAP_IOCTL_ALLOC, &d);
	t1 = now_ns();
	e = errno;
	rec->user_ns = t1 - t0;
	rec->ok = rc == 0;
	rec->err = rc ? e : 0;
	if (rc == 0)
		b->fd = d.fd;
	else if (e != ENOMEM && e != EBUSY && e != EINTR)
		return cb_err(r,
			      "DMA_HEAP_IOCTL_ALLOC of %" PRIu64
			      " bytes from %s: %s",
			      (uint64_t)d.len, r->areas[r->ai].heap,
			      strerror(e));
	return 0;
}

static int release(struct cb_run *r, struct cb_buf *b)
{
	int rc = close(b->fd);

	(void)r;
	b->fd = -1;
	return rc;
}

const struct cb_backend_ops cb_dma_heap_ops = {
	.name = "dma_heap",
	.caps = CB_CAP_ANY_ORDER | CB_CAP_THREADS,
	.present = present,
	.check = check,
	.open = heap_open,
	.alloc = alloc,
	.free = release,
};
