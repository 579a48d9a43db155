// SPDX-License-Identifier: GPL-2.0
/*
 * The memory that occupies the area: regions of anonymous, THP, shmem or
 * file pages (see fill.h). Their pfns come from /proc/self/pagemap, so
 * pages can be given back inside or outside the area.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmabench.h"
#include "fill.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool cb_in_area(const struct cb_run *r, uint64_t pfn)
{
	const struct cb_area *a = &r->areas[r->ai];

	return pfn >= a->base_pfn && pfn < a->base_pfn + a->pages;
}

int cb_free_mem(uint64_t *normal, uint64_t *cma)
{
	uint64_t mf, cf;

	if (cb_meminfo_kb("MemFree", &mf) || cb_meminfo_kb("CmaFree", &cf))
		return -1;
	*cma = cf * 1024;
	*normal = mf > cf ? (mf - cf) * 1024 : 0;
	return 0;
}

int cb_fill_init(struct cb_run *r)
{
	struct cb_fill *f = calloc(1, sizeof(*f));

	if (!f)
		return cb_err(r, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	f->pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	r->fill = f;
	if (f->pm_fd < 0)
		return cb_err(r, "cannot open /proc/self/pagemap: %s",
			      strerror(errno));
	return 0;
}

int cb_region_pfns(struct cb_run *r, struct region *g)
{
	struct cb_fill *f = r->fill;
	size_t pages = g->len / PAGE, i;
	ssize_t n;

	if (pages > f->pm_cap) {
		void *p = realloc(f->pm, pages * sizeof(uint64_t));

		if (!p)
			return -1;
		f->pm = p;
		f->pm_cap = pages;
	}
	n = pread(f->pm_fd, f->pm, pages * 8, (uintptr_t)g->addr / PAGE * 8);
	if (n != (ssize_t)(pages * 8)) {
		if (n >= 0)
			errno = EIO; /* short read */
		return -1;
	}
	for (i = 0; i < pages; i++)
		f->pm[i] = (f->pm[i] >> 63) ? (f->pm[i] & ((1ULL << 55) - 1)) :
					      0;
	return 0;
}

int cb_region_drop_range(struct region *g, size_t first, size_t count)
{
	if (g->kind == K_ANON || g->kind == K_THP)
		return madvise(g->addr + first * PAGE, count * PAGE,
			       MADV_DONTNEED);
	return fallocate(g->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 first * PAGE, count * PAGE);
}

/*
 * Drop up to @max present pages of @g that are inside (@inside) or outside
 * the area; @dropped (if not NULL) gets how many. 0, or -1 with errno.
 */
int cb_region_drop(struct cb_run *r, struct region *g, bool inside,
		   uint64_t max, uint64_t *dropped)
{
	const uint64_t *pm;
	size_t pages = g->len / PAGE, i, start = 0;
	uint64_t n = 0;
	bool run = false;

	if (dropped)
		*dropped = 0;
	if (!max)
		return 0;
	if (cb_region_pfns(r, g))
		return -1;
	pm = r->fill->pm;
	for (i = 0; i <= pages; i++) {
		bool sel = i < pages && pm[i] &&
			   cb_in_area(r, pm[i]) == inside && n < max;

		if (sel) {
			if (!run)
				start = i;
			run = true;
			n++;
		} else if (run) {
			if (cb_region_drop_range(g, start, i - start))
				return -1;
			run = false;
		}
	}
	if (dropped)
		*dropped = n;
	return 0;
}

int cb_region_count(struct cb_run *r, struct region *g, uint64_t *in,
		    uint64_t *out)
{
	size_t i;

	*in = *out = 0;
	if (cb_region_pfns(r, g))
		return -1;
	for (i = 0; i < g->len / PAGE; i++)
		if (r->fill->pm[i])
			(*(cb_in_area(r, r->fill->pm[i]) ? in : out))++;
	return 0;
}

static int populate(struct region *g)
{
	size_t i;

	if (!madvise(g->addr, g->len, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -1;
	for (i = 0; i < g->len; i += PAGE) /* before 5.14 */
		g->addr[i] = 1;
	return 0;
}

struct region *cb_region_new(struct cb_run *r, int kind, size_t len, bool fixed)
{
	struct region g = { .kind = kind, .fd = -1, .fixed = fixed, .len = len };
	struct cb_fill *f = r->fill;
	int e;

	if (!f) {
		errno = EINVAL;
		return NULL;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		void *p;

		pthread_mutex_lock(
			&f->lock); /* the odirect threads read f->v */
		p = realloc(f->v, cap * sizeof(*f->v));
		if (p) {
			f->v = p;
			f->cap = cap;
		}
		pthread_mutex_unlock(&f->lock);
		if (!p)
			return NULL;
	}
	if (kind == K_ANON || kind == K_THP) {
		size_t extra = kind == K_THP ? THP_SIZE : 0;
		char *p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		if (kind == K_THP) {
			char *a = (char *)(((uintptr_t)p + THP_SIZE - 1) &
					   ~(THP_SIZE - 1));

			if (a > p)
				munmap(p, a - p);
			munmap(a + len, p + len + extra - (a + len));
			p = a;
		}
		g.addr = p;
		madvise(p, len,
			kind == K_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	} else {
		if (kind == K_SHMEM)
			g.fd = memfd_create("cmabench-fill", MFD_CLOEXEC);
		else
			g.fd = open(r->cfg.scratch,
				    O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (g.fd < 0)
			return NULL;
		if (ftruncate(g.fd, len))
			goto fail;
		g.addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			      g.fd, 0);
		if (g.addr == MAP_FAILED) {
			g.addr = NULL;
			goto fail;
		}
	}
	if (populate(&g))
		goto fail;
	if (kind == K_FILE && fdatasync(g.fd))
		goto fail;
	pthread_mutex_lock(&f->lock);
	f->v[f->n++] = g;
	pthread_mutex_unlock(&f->lock);
	return &f->v[f->n - 1];
fail:
	e = errno;
	if (g.addr)
		munmap(g.addr, len);
	if (g.fd >= 0)
		close(g.fd);
	errno = e;
	return NULL;
}

void cb_fill_cleanup(struct cb_run *r)
{
	struct cb_fill *f = r->fill;
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		munmap(f->v[i].addr, f->v[i].len);
		if (f->v[i].fd >= 0)
			close(f->v[i].fd);
	}
	if (f->pm_fd >= 0)
		close(f->pm_fd);
	free(f->pm);
	free(f->v);
	pthread_mutex_destroy(&f->lock);
	free(f);
	r->fill = NULL;
}
