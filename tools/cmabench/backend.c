// SPDX-License-Identifier: GPL-2.0
/*
 * The three ways to ask the kernel for CMA memory:
 *   cma_bench  /dev/cma_bench (patched kernels): any area, any alignment,
 *              kernel-side timing, retries and pfn of every request
 *   debugfs    /sys/kernel/debug/cma/<area>/alloc and free (CONFIG_CMA_DEBUGFS):
 *              alignment 0, buffers freed newest first
 *   dma_heap   /dev/dma_heap/<area> (CONFIG_DMABUF_HEAPS_CMA): the path drivers
 *              and Android take; only the default area has a heap
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cma_bench.h>
#include <linux/dma-heap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

#define CMA_DEBUGFS "/sys/kernel/debug/cma"
#define CMA_SYSFS "/sys/kernel/mm/cma"

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void add_area(struct cb_run *r, const char *name, uint64_t base,
		     uint64_t pages, unsigned int opb)
{
	struct cb_area *a;
	char p[256];

	if (r->nareas == CB_MAX_AREAS)
		return;
	a = &r->areas[r->nareas++];
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->base_pfn = base;
	a->pages = pages;
	a->order_per_bit = opb;
	a->heap[0] = '\0';
	if (!pathf(p, sizeof(p), "/dev/dma_heap/%s", name) && exists(p))
		snprintf(a->heap, sizeof(a->heap), "%s", p);
}

static void areas_from_dev(struct cb_run *r)
{
	struct cb_bench_area_probe {
		struct cma_bench_area a;
	} q;
	unsigned int i;

	for (i = 0; i < CB_MAX_AREAS; i++) {
		memset(&q, 0, sizeof(q));
		q.a.index = i;
		if (ioctl(r->dev_fd, CMA_BENCH_IOC_AREA, &q.a))
			break;
		q.a.name[CMA_BENCH_NAME_LEN - 1] = '\0';
		add_area(r, q.a.name, q.a.base_pfn, q.a.count,
			 q.a.order_per_bit);
	}
}

static void areas_from_debugfs(struct cb_run *r)
{
	struct dirent *de;
	DIR *d = opendir(CMA_DEBUGFS);

	if (!d)
		return;
	while ((de = readdir(d))) {
		uint64_t base, count, opb;
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		if (pathf(p, sizeof(p), CMA_DEBUGFS "/%s/base_pfn",
			  de->d_name) ||
		    read_u64_file(p, &base) ||
		    pathf(p, sizeof(p), CMA_DEBUGFS "/%s/count", de->d_name) ||
		    read_u64_file(p, &count) ||
		    pathf(p, sizeof(p), CMA_DEBUGFS "/%s/order_per_bit",
			  de->d_name) ||
		    read_u64_file(p, &opb))
			continue;
		add_area(r, de->d_name, base, count, opb);
	}
	closedir(d);
}

int cb_detect(struct cb_run *r)
{
	struct cb_config *c = &r->cfg;
	char p[512];
	int i;

	r->dev_fd = -1;
	r->heap_fd = -1;
	r->feat.cma_bench_dev = exists("/dev/cma_bench");
	r->feat.debugfs = exists(CMA_DEBUGFS);
	r->feat.sysfs = exists(CMA_SYSFS);
	r->feat.dma_heap = exists("/dev/dma_heap");
	r->feat.fail_cma = exists("/sys/kernel/debug/fail_cma");
	r->feat.kpageflags = access("/proc/kpageflags", R_OK) == 0;

	if (r->feat.cma_bench_dev) {
		r->dev_fd = open("/dev/cma_bench", O_RDWR | O_CLOEXEC);
		if (r->dev_fd < 0) {
			cb_err(r, "cannot open /dev/cma_bench: %s",
			       strerror(errno));
			return -1;
		}
		areas_from_dev(r);
	}
	if (!r->nareas)
		areas_from_debugfs(r);
	if (!r->nareas) {
		cb_err(r,
		       "no CMA area found (no /dev/cma_bench, nothing in " CMA_DEBUGFS
		       "; is debugfs mounted and the kernel built with CONFIG_CMA_DEBUGFS?)");
		return -1;
	}
	r->ai = -1;
	for (i = 0; i < r->nareas; i++)
		if (c->area[0] ? !strcmp(r->areas[i].name, c->area) :
				 !strcmp(r->areas[i].name, "reserved"))
			r->ai = i;
	if (r->ai < 0 && c->area[0]) {
		cb_err(r, "no CMA area named '%s'", c->area);
		return -1;
	}
	if (r->ai < 0)
		r->ai = 0;
	snprintf(c->area, sizeof(c->area), "%s", r->areas[r->ai].name);
	r->feat.debugfs_stats =
		!pathf(p, sizeof(p), CMA_DEBUGFS "/%s/stats", c->area) &&
		exists(p);

	/* Backend choice: the most capable one present, unless forced. */
	r->backend = c->backend;
	if (r->backend == BK_AUTO) {
		if (r->dev_fd >= 0)
			r->backend = BK_CMA_BENCH;
		else if (!pathf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc",
				c->area) &&
			 exists(p) && !(c->align_set && c->align) &&
			 !(c->release != REL_LIFO && c->window) &&
			 c->threads == 1)
			r->backend =
				BK_DEBUGFS; /* what it cannot do, the heap can */
		else if (r->areas[r->ai].heap[0])
			r->backend = BK_DMA_HEAP;
		else {
			cb_err(r,
			       "no allocation interface for area '%s' (no /dev/cma_bench, debugfs alloc or DMA-BUF heap)",
			       c->area);
			return -1;
		}
	}
	switch (r->backend) {
	case BK_CMA_BENCH:
		if (r->dev_fd < 0) {
			cb_err(r,
			       "backend cma_bench: no /dev/cma_bench (needs the patched kernel with CONFIG_CMA_BENCH)");
			return -1;
		}
		break;
	case BK_DEBUGFS:
		if (pathf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc", c->area) ||
		    !exists(p)) {
			cb_err(r,
			       "backend debugfs: no %s (needs CONFIG_CMA_DEBUGFS and debugfs mounted)",
			       p);
			return -1;
		}
		if (c->align_set && c->align) {
			cb_err(r,
			       "backend debugfs: allocates with alignment 0 only (--align %u needs cma_bench)",
			       c->align);
			return -1;
		}
		if (c->release != REL_LIFO && c->window) {
			cb_err(r,
			       "backend debugfs: frees the newest buffer first; --release %s needs cma_bench or dma_heap",
			       cb_release_names[c->release]);
			return -1;
		}
		if (c->threads > 1) {
			cb_err(r,
			       "backend debugfs: one list of buffers for all; --threads %u needs cma_bench or dma_heap",
			       c->threads);
			return -1;
		}
		break;
	case BK_DMA_HEAP:
		if (!r->areas[r->ai].heap[0]) {
			cb_err(r,
			       "backend dma_heap: no /dev/dma_heap/%s (only the default CMA area has a heap; needs CONFIG_DMABUF_HEAPS_CMA)",
			       c->area);
			return -1;
		}
		if (c->align_set && c->align) {
			cb_err(r,
			       "backend dma_heap: the heap chooses the alignment (--align %u needs cma_bench)",
			       c->align);
			return -1;
		}
		break;
	}
	{
		uint64_t m = c->dist != DIST_LIST ? c->dist_max : 0;

		for (i = 0; i < c->nsizes && c->dist == DIST_LIST; i++)
			m = c->sizes[i] > m ? c->sizes[i] : m;
		if (m > r->areas[r->ai].pages) {
			cb_err(r,
			       "a request of %" PRIu64
			       " pages is larger than area '%s' (%" PRIu64
			       " pages)",
			       m, c->area, r->areas[r->ai].pages);
			return -1;
		}
	}
	r->kernel_timing = r->backend == BK_CMA_BENCH;
	return 0;
}

int cb_backend_open(struct cb_run *r)
{
	if (r->backend == BK_DMA_HEAP) {
		r->heap_fd = open(r->areas[r->ai].heap, O_RDONLY | O_CLOEXEC);
		if (r->heap_fd < 0) {
			cb_err(r, "cannot open %s: %s", r->areas[r->ai].heap,
			       strerror(errno));
			return -1;
		}
	}
	return 0;
}

static unsigned int heap_align(uint64_t pages)
{
	unsigned int order = 0;

	while ((1ULL << order) < pages)
		order++;
	return order > 8 ? 8 : order; /* CONFIG_CMA_ALIGNMENT default */
}

/*
 * One request. Returns 0 when the request was made (the outcome, success or
 * failure, is in @rec), -1 when the interface itself failed.
 */
int cb_backend_alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		     struct cb_buf *b, struct cb_record *rec)
{
	const char *area = r->cfg.area;
	uint64_t t0, t1;
	int rc, e;

	b->fd = -1;
	b->handle = 0;
	b->pages = pages;
	rec->kernel_ns = rec->retries = rec->pfn = -1;
	rec->pages = pages;
	rec->align = align;
	switch (r->backend) {
	case BK_CMA_BENCH: {
		struct cma_bench_alloc a;

		memset(&a, 0, sizeof(a));
		snprintf(a.area, sizeof(a.area), "%s", area);
		a.count = pages;
		a.align = align;
		t0 = now_ns();
		rc = ioctl(r->dev_fd, CMA_BENCH_IOC_ALLOC, &a);
		t1 = now_ns();
		if (rc) {
			cb_err(r,
			       "CMA_BENCH_IOC_ALLOC of %" PRIu64
			       " pages (align %u) from '%s': %s",
			       pages, align, area, strerror(errno));
			return -1;
		}
		rec->user_ns = t1 - t0;
		rec->ok = a.error == 0;
		rec->err = -a.error;
		rec->kernel_ns = a.elapsed_ns;
		rec->retries = a.retries;
		if (rec->ok) {
			rec->pfn = a.pfn;
			b->handle = a.handle;
		}
		return 0;
	}
	case BK_DEBUGFS: {
		char p[256], v[32];
		int fd;

		snprintf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc", area);
		snprintf(v, sizeof(v), "%" PRIu64, pages);
		fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			cb_err(r, "cannot open %s: %s", p, strerror(errno));
			return -1;
		}
		t0 = now_ns();
		rc = write(fd, v, strlen(v));
		t1 = now_ns();
		e = errno;
		close(fd);
		rec->user_ns = t1 - t0;
		rec->ok = rc >= 0;
		rec->err = rc < 0 ? e : 0;
		if (rc < 0 && e != ENOMEM && e != EBUSY && e != EINTR) {
			cb_err(r, "write %s to %s: %s", v, p, strerror(e));
			return -1;
		}
		return 0;
	}
	case BK_DMA_HEAP: {
		struct dma_heap_allocation_data d;

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
		else if (e != ENOMEM && e != EBUSY && e != EINTR) {
			cb_err(r,
			       "DMA_HEAP_IOCTL_ALLOC of %" PRIu64
			       " bytes from %s: %s",
			       (uint64_t)d.len, r->areas[r->ai].heap,
			       strerror(e));
			return -1;
		}
		return 0;
	}
	}
	return -1;
}

/* Free one buffer; @ns gets the time it took. 0 or -1. */
int cb_backend_free(struct cb_run *r, struct cb_buf *b, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int rc = 0;

	switch (r->backend) {
	case BK_CMA_BENCH: {
		struct cma_bench_handle h = { .handle = b->handle };

		rc = ioctl(r->dev_fd, CMA_BENCH_IOC_FREE, &h);
		break;
	}
	case BK_DEBUGFS: {
		char p[256], v[32];

		snprintf(p, sizeof(p), CMA_DEBUGFS "/%s/free", r->cfg.area);
		snprintf(v, sizeof(v), "%" PRIu64, b->pages);
		rc = write_file(p, v);
		break;
	}
	case BK_DMA_HEAP:
		rc = close(b->fd);
		b->fd = -1;
		break;
	}
	*ns = now_ns() - t0;
	if (rc)
		cb_err(r, "freeing a buffer of %" PRIu64 " pages: %s", b->pages,
		       strerror(errno));
	return rc ? -1 : 0;
}

void cb_backend_close(struct cb_run *r)
{
	if (r->heap_fd >= 0)
		close(r->heap_fd);
	r->heap_fd = -1;
	/* Closing /dev/cma_bench frees whatever is still allocated or pinned. */
	if (r->dev_fd >= 0)
		close(r->dev_fd);
	r->dev_fd = -1;
}

/* The area's allocation bitmap from debugfs, one bit per page, into @bits. */
int cb_read_area_bitmap(struct cb_run *r, uint64_t *bits)
{
	const struct cb_area *a = &r->areas[r->ai];
	size_t words = (a->pages + 63) / 64, size = a->pages / 32 * 12 + 4096;
	uint64_t bit = 0, per = 1ULL << a->order_per_bit;
	char p[256], *buf, *s, *end;

	memset(bits, 0, words * sizeof(uint64_t));
	buf = malloc(size);
	if (!buf)
		return -1;
	if (pathf(p, sizeof(p), CMA_DEBUGFS "/%s/bitmap", a->name) ||
	    read_file(p, buf, size) < 0) {
		free(buf);
		return -1;
	}
	for (s = buf;; s = end) {
		unsigned long w = strtoul(s, &end, 10);
		unsigned int i;
		uint64_t j;

		if (end == s)
			break;
		for (i = 0; i < 32; i++, bit++)
			if (w >> i & 1)
				for (j = bit * per;
				     j < (bit + 1) * per && j < a->pages; j++)
					bits[j / 64] |= 1ULL << (j % 64);
	}
	free(buf);
	return 0;
}

/* The same into r->cma_bitmap (allocated on first use). */
int cb_read_cma_bitmap(struct cb_run *r)
{
	if (!r->cma_bitmap) {
		r->cma_bitmap = calloc((r->areas[r->ai].pages + 63) / 64,
				       sizeof(uint64_t));
		if (!r->cma_bitmap)
			return -1;
	}
	return cb_read_area_bitmap(r, r->cma_bitmap);
}

/* @n keys of the patched kernel's stats file, read once. 0 or -1. */
int cb_area_stats(struct cb_run *r, const char *const *keys, int64_t *v, int n)
{
	char p[256], buf[4096], *s;
	int k, found = 0;

	if (!r->feat.debugfs_stats ||
	    pathf(p, sizeof(p), CMA_DEBUGFS "/%s/stats", r->cfg.area) ||
	    read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	for (k = 0; k < n; k++) {
		size_t kl = strlen(keys[k]);

		for (s = buf; s && *s;
		     s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
			if (!strncmp(s, keys[k], kl) && s[kl] == ' ') {
				v[k] = strtoll(s + kl + 1, NULL, 10);
				found++;
				break;
			}
	}
	return found == n ? 0 : -1;
}

int cb_area_stat(struct cb_run *r, const char *key, int64_t *v)
{
	return cb_area_stats(r, &key, v, 1);
}
