// SPDX-License-Identifier: GPL-2.0
/*
 * The CMA areas, the choice of backend and every request through it. The
 * backends themselves (struct cb_backend_ops, one file each):
 *   cma_bench  /dev/cma_bench (patched kernels): any area, any alignment,
 *              kernel-side timing, retries and pfn of every request, pins
 *   debugfs    /sys/kernel/debug/cma/<area>/alloc and free (CONFIG_CMA_DEBUGFS):
 *              alignment 0, buffers freed newest first
 *   dma_heap   /dev/dma_heap/<area> (CONFIG_DMABUF_HEAPS_CMA): the path drivers
 *              and Android take; only the default area has a heap
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

#define CMA_DEBUGFS "/sys/kernel/debug/cma"
#define CMA_SYSFS "/sys/kernel/mm/cma"

/* by enum cb_backend_id; auto tries them in this order */
static const struct cb_backend_ops *const backends[] = {
	[BK_CMA_BENCH] = &cb_cma_bench_ops,
	[BK_DEBUGFS] = &cb_debugfs_ops,
	[BK_DMA_HEAP] = &cb_dma_heap_ops,
};

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The backend can do what the configuration asks. */
static bool fits(const struct cb_config *c, unsigned int caps)
{
	return !(c->align_set && c->align && !(caps & CB_CAP_ALIGN)) &&
	       !(c->release != REL_LIFO && c->window &&
		 !(caps & CB_CAP_ANY_ORDER)) &&
	       !(c->threads > 1 && !(caps & CB_CAP_THREADS));
}

/*
 * The most capable backend present: cma_bench, else debugfs when it can do
 * what was asked (what it cannot do, the heap can), else dma_heap.
 */
static int choose(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;

	if (cb_cma_bench_ops.present(r))
		return BK_CMA_BENCH;
	if (cb_debugfs_ops.present(r) && fits(c, cb_debugfs_ops.caps))
		return BK_DEBUGFS;
	if (cb_dma_heap_ops.present(r))
		return BK_DMA_HEAP;
	return cb_err(
		r,
		"no allocation interface for area '%s' (no /dev/cma_bench, debugfs alloc or DMA-BUF heap)",
		c->area);
}

int cb_detect(struct cb_run *r)
{
	struct cb_config *c = &r->cfg;
	uint64_t m;
	char p[512];
	int i;

	r->feat.cma_bench_dev = exists("/dev/cma_bench");
	r->feat.debugfs = exists(CMA_DEBUGFS);
	r->feat.sysfs = exists(CMA_SYSFS);
	r->feat.dma_heap = exists("/dev/dma_heap");
	r->feat.fail_cma = exists("/sys/kernel/debug/fail_cma");
	r->feat.kpageflags = access("/proc/kpageflags", R_OK) == 0;

	if (cb_cma_bench_areas(r))
		return -1;
	if (!r->nareas)
		cb_debugfs_areas(r);
	if (!r->nareas)
		return cb_err(
			r,
			"no CMA area found (no /dev/cma_bench, nothing in " CMA_DEBUGFS
			"; is debugfs mounted and the kernel built with CONFIG_CMA_DEBUGFS?)");
	r->ai = -1;
	for (i = 0; i < r->nareas; i++)
		if (c->area[0] ? !strcmp(r->areas[i].name, c->area) :
				 !strcmp(r->areas[i].name, "reserved"))
			r->ai = i;
	if (r->ai < 0 && c->area[0])
		return cb_err(r, "no CMA area named '%s'", c->area);
	if (r->ai < 0)
		r->ai = 0;
	snprintf(c->area, sizeof(c->area), "%s", r->areas[r->ai].name);
	r->feat.debugfs_stats =
		!pathf(p, sizeof(p), CMA_DEBUGFS "/%s/stats", c->area) &&
		exists(p);

	r->backend = c->backend == BK_AUTO ? choose(r) : c->backend;
	if (r->backend < 0)
		return -1;
	r->ops = backends[r->backend];
	if (r->ops->check(r))
		return -1;
	m = cb_max_request_pages(c);
	if (m > r->areas[r->ai].pages)
		return cb_err(r,
			      "a request of %" PRIu64
			      " pages is larger than area '%s' (%" PRIu64
			      " pages)",
			      m, c->area, r->areas[r->ai].pages);
	r->kernel_timing = r->ops->caps & CB_CAP_KERNEL_TIME;
	return 0;
}

int cb_backend_open(struct cb_run *r)
{
	return r->ops->open ? r->ops->open(r) : 0;
}

/*
 * One request. Returns 0 when the request was made (the outcome, success or
 * failure, is in @rec), -1 when the interface itself failed.
 */
int cb_backend_alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		     struct cb_buf *b, struct cb_record *rec)
{
	b->fd = -1;
	b->handle = 0;
	b->pages = pages;
	rec->kernel_ns = rec->retries = rec->pfn = -1;
	rec->user_corrected_ns = -1;
	rec->pages = pages;
	rec->align = align;
	return r->ops->alloc(r, pages, align, b, rec);
}

/* Free one buffer; @ns gets the time it took. 0 or -1. */
int cb_backend_free(struct cb_run *r, struct cb_buf *b, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int rc = r->ops->free(r, b);

	*ns = now_ns() - t0;
	if (rc)
		return cb_err(r, "freeing a buffer of %" PRIu64 " pages: %s",
			      b->pages, strerror(errno));
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Every interface that was opened, whichever allocated: the heap, and
 * /dev/cma_bench, whose closing frees whatever is still allocated or
 * pinned through it.
 */
void cb_backend_close(struct cb_run *r)
{
	close_fd(&r->heap_fd);
	close_fd(&r->dev_fd);
}

const struct cb_backend_ops *cb_pinner(const struct cb_run *r)
{
	return r->dev_fd >= 0 ? &cb_cma_bench_ops : NULL;
}
