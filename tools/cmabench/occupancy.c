// SPDX-License-Identifier: GPL-2.0
/*
 * Occupancy control: the area's page mix, read exactly, driven to a target.
 *
 * Movable allocations land in a CMA area only when more than half of the
 * zone's free memory is CMA, or when the movable free lists are empty
 * (mm/page_alloc.c, __rmqueue, 6.1). To occupy the area to a target, we
 * first allocate "ballast" until free memory outside CMA is no larger than
 * free CMA memory, then allocate the fill kind in small chunks until the
 * area (read exactly from /proc/kpageflags) holds the target share. Then we
 * give back pages outside the area (their pfns come from /proc/self/pagemap)
 * so that the allocation to be measured finds free memory to migrate into.
 * Free memory outside CMA never goes below --headroom: a target that would
 * need that is refused with a message, never forced (a board driven into
 * OOM measures nothing).
 *
 * All of it lives in r->occ (the scan) and r->fill (the memory, fill.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "fill.h"
#include "util.h"

#define CMA_DEBUGFS "/sys/kernel/debug/cma"
#define BLOCK 512 /* pages: a pageblock on x86_64 and arm64 with 4K pages */

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

/* The same into r->occ.bitmap (allocated on first use). 0 or -1. */
static int read_cma_bitmap(struct cb_run *r)
{
	if (!r->occ.bitmap) {
		r->occ.bitmap = calloc((r->areas[r->ai].pages + 63) / 64,
				       sizeof(uint64_t));
		if (!r->occ.bitmap)
			return -1;
	}
	return cb_read_area_bitmap(r, r->occ.bitmap);
}

/*
 * Read the area's pages into r->occ. Without the area's bitmap (no debugfs)
 * pages cma_alloc handed out are told apart by their flags alone; an
 * unreadable /proc/kpageflags or bitmap is an error (cb_err).
 */
int cb_scan_area(struct cb_run *r)
{
	struct cb_occupancy *o = &r->occ;
	const struct cb_area *a = &r->areas[r->ai];

	o->valid = false;
	if (!o->kp_ok) {
		if (!r->feat.kpageflags || kpage_open(&o->kp, a->pages))
			goto fail;
		o->kp_ok = true;
	}
	if (read_cma_bitmap(r)) {
		free(o->bitmap);
		o->bitmap = NULL;
		if (errno != ENOENT) /* the file is there and cannot be read */
			return cb_err(r,
				      "cannot read the bitmap of area '%s': %s",
				      a->name, strerror(errno));
	}
	if (kpage_scan(&o->kp, a->base_pfn, a->pages, o->bitmap, &o->mix))
		goto fail;
	o->used = kpage_used_fraction(&o->mix);
	o->valid = true;
	return 0;
fail:
	return cb_err(
		r,
		"cannot read the pages of area '%s' from /proc/kpageflags: %s",
		a->name, strerror(errno));
}

static int free_mem(struct cb_run *r, uint64_t *normal, uint64_t *cma)
{
	if (cb_free_mem(normal, cma))
		return cb_err(r, "cannot read /proc/meminfo: %s",
			      strerror(errno));
	return 0;
}

static uint64_t used_pages(const struct cb_run *r)
{
	return kpage_used(&r->occ.mix);
}

/* A region's pages could not be read from /proc/self/pagemap or given back. */
static int region_err(struct cb_run *r, const char *what,
		      const struct region *g)
{
	return cb_err(r, "%s the pages of a %zu MiB %s region: %s", what,
		      g->len / MIB, cb_kind_names[g->kind], strerror(errno));
}

/* Allocate until the area holds @goal used pages or the headroom is reached. */
static int grow(struct cb_run *r, uint64_t goal)
{
	int fill = r->cfg.fill,
	    ballast = (fill == K_FILE || fill == K_DIRTY) ? K_ANON : fill;
	uint64_t used = used_pages(r), nf, cf, in, out;
	int stuck = 0, waits = 0;

	while (used < goal && !cb_stop) {
		struct region *g;
		size_t len;
		int kind;

		if (free_mem(r, &nf, &cf))
			return -1;
		if (nf < r->cfg.headroom + 2 * MIB) {
			/* background load comes and goes: wait for it a little */
			if (++waits > 20)
				break;
			usleep(50000);
			continue;
		}
		if (nf > cf + 16 * MIB) {
			kind = ballast;
			len = nf - cf;
			if (len > 512 * MIB)
				len = 512 * MIB;
		} else {
			kind = fill;
			len = (goal - used) * PAGE;
			if (len < 2 * MIB)
				len = 2 * MIB;
			if (len > 16 * MIB)
				len = 16 * MIB;
		}
		if (len > nf - r->cfg.headroom)
			len = nf - r->cfg.headroom;
		len &= ~(THP_SIZE - 1);
		if (!len)
			break;
		g = cb_region_new(r, kind, len, false);
		if (!g)
			return cb_err(r, "filling the area with %s memory: %s",
				      cb_kind_names[kind], strerror(errno));
		g->ballast = kind != fill;
		if (cb_region_count(r, g, &in, &out))
			return region_err(r, "counting", g);
		/* ballast is for outside the area: inside, it is the wrong kind */
		if (g->ballast && in) {
			if (cb_region_drop(r, g, true, UINT64_MAX, NULL))
				return region_err(r, "giving back", g);
			in = 0;
		}
		used += in;
		/*
		 * Pages outside the area stay until trim(), whatever their
		 * kind: movable pages enter the area only while free CMA
		 * exceeds free memory outside it, and each page of the fill
		 * that lands outside is what keeps it so for the next. Page
		 * cache or shmem dropped here at once gave that memory back,
		 * and the fill stalled far short of its target.
		 */
		if (kind == fill && !in && ++stuck > 16)
			break;
	}
	return 0;
}

/*
 * Drop @drop of our pages inside the area, from the fullest pageblocks
 * first, so that what stays is spread evenly over the blocks that hold it
 * rather than packed where the allocator happened to put it.
 */
static int level(struct cb_run *r, uint64_t drop)
{
	const struct cb_area *a = &r->areas[r->ai];
	struct cb_fill *f = r->fill;
	size_t nb = (a->pages + BLOCK - 1) / BLOCK, i, k, b;
	uint64_t *cnt = calloc(nb, sizeof(*cnt)), lo = 0, hi = BLOCK, excess;
	int rc = 0;

	if (!cnt)
		return cb_err(r, "out of memory");
	for (i = 0; i < f->n; i++) {
		if (f->v[i].fixed)
			continue;
		if (cb_region_pfns(r, &f->v[i])) {
			rc = region_err(r, "reading", &f->v[i]);
			goto out;
		}
		for (k = 0; k < f->v[i].len / PAGE; k++)
			if (f->pm[k] && cb_in_area(r, f->pm[k]))
				cnt[(f->pm[k] - a->base_pfn) / BLOCK]++;
	}
	/* the highest level L whose excess over all blocks still covers @drop */
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;

		for (excess = 0, b = 0; b < nb; b++)
			excess += cnt[b] > mid ? cnt[b] - mid : 0;
		if (excess >= drop)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (b = 0; b < nb; b++) { /* per-block quotas, at most @drop in all */
		cnt[b] = cnt[b] > lo ? cnt[b] - lo : 0;
		cnt[b] = cnt[b] < drop ? cnt[b] : drop;
		drop -= cnt[b];
	}
	for (i = f->n; i-- > 0;) {
		struct region *g = &f->v[i];
		size_t start = 0, pages = g->len / PAGE;
		bool run = false;

		if (g->fixed)
			continue;
		if (cb_region_pfns(r, g)) {
			rc = region_err(r, "reading", g);
			goto out;
		}
		for (k = 0; k <= pages; k++) {
			bool sel = false;

			if (k < pages && f->pm[k] && cb_in_area(r, f->pm[k])) {
				b = (f->pm[k] - a->base_pfn) / BLOCK;
				sel = cnt[b] > 0;
				cnt[b] -= sel;
			}
			if (sel && !run) {
				start = k;
				run = true;
			} else if (!sel && run) {
				if (cb_region_drop_range(g, start, k - start)) {
					rc = region_err(r, "giving back", g);
					goto out;
				}
				run = false;
			}
		}
	}
out:
	free(cnt);
	return rc;
}

/*
 * Give back memory: pages inside the area beyond @goal when over @hi, then
 * pages outside it until free memory outside CMA is at least @want.
 */
static int trim(struct cb_run *r, uint64_t goal, uint64_t hi, uint64_t want)
{
	struct cb_fill *f = r->fill;
	uint64_t used = used_pages(r), nf, cf, deficit;
	size_t i;

	if (used > hi && level(r, used - goal))
		return -1;
	/* Page cache and shmem outside the area is waste: always dropped. */
	for (i = 0; i < f->n; i++)
		if (!f->v[i].fixed && f->v[i].kind != K_ANON &&
		    f->v[i].kind != K_THP &&
		    cb_region_drop(r, &f->v[i], false, UINT64_MAX, NULL))
			return region_err(r, "giving back", &f->v[i]);
	if (free_mem(r, &nf, &cf))
		return -1;
	if (nf >= want)
		return 0;
	deficit = (want - nf + PAGE - 1) / PAGE;
	for (i = f->n; i-- > 0 && deficit;) {
		uint64_t d;

		if (f->v[i].fixed)
			continue;
		if (cb_region_drop(r, &f->v[i], false, deficit, &d))
			return region_err(r, "giving back", &f->v[i]);
		deficit -= d < deficit ? d : deficit;
	}
	return 0;
}

/*
 * The share of used pages where the next request will land: the first
 * @pages (at least 4 pageblocks) of the area not handed out by cma_alloc,
 * which is where its first-fit search starts. A request that migrated a
 * range leaves it empty while the total stays the same (the pages moved
 * elsewhere in the area): this is what catches it.
 */
static double landing_used(const struct cb_run *r, uint64_t pages)
{
	const struct cb_area *a = &r->areas[r->ai];
	const uint64_t *bm = r->occ.bitmap;
	uint64_t i, n = 0, used = 0;

	if (pages < 4 * BLOCK)
		pages = 4 * BLOCK;
	for (i = 0; i < a->pages && n < pages; i++) {
		if (bm && (bm[i / 64] >> (i % 64) & 1))
			continue;
		n++;
		used += kpage_is_used(&r->occ.kp, i);
	}
	return n ? (double)used / n : 0;
}

int cb_occupancy_drive(struct cb_run *r, uint64_t need_bytes)
{
	const struct cb_config *c = &r->cfg;
	struct cb_occupancy *o = &r->occ;
	uint64_t A = r->areas[r->ai].pages, nf, cf;
	uint64_t goal = (uint64_t)(c->occ_target * A + 0.5);
	uint64_t lo = (uint64_t)((c->occ_target - c->occ_tol) * A),
		 hi = (uint64_t)((c->occ_target + c->occ_tol) * A);
	uint64_t want = c->headroom + need_bytes + 16 * MIB;
	double landing;
	int attempt;

	if (c->occ_target - c->occ_tol <= 0)
		lo = 0;
	for (attempt = 0; attempt < 3 && !cb_stop; attempt++) {
		if (cb_scan_area(r))
			return -1;
		landing = landing_used(r, need_bytes / PAGE);
		o->landing = landing;
		if (free_mem(r, &nf, &cf))
			return -1;
		if (used_pages(r) >= lo && used_pages(r) <= hi &&
		    landing >= c->occ_target - c->occ_tol && nf >= want)
			return 0;
		/* a quarter of the way past the goal: leveling then spreads the pages */
		if ((used_pages(r) < lo ||
		     landing < c->occ_target - c->occ_tol) &&
		    grow(r, goal + (A - goal) / 4))
			return -1;
		if (cb_scan_area(r) || trim(r, goal, hi, want))
			return -1;
	}
	if (cb_stop)
		return 0;
	if (cb_scan_area(r))
		return -1;
	o->landing = landing_used(r, need_bytes / PAGE);
	if (used_pages(r) < lo && o->misses >= 0) {
		/* after the first round: record what was reached and go on */
		o->misses++;
		return 0;
	}
	if (used_pages(r) < lo) {
		if (cb_free_mem(&nf, &cf))
			nf = 0;
		return cb_err(
			r,
			"occupancy target %.0f%% of area '%s' is not reachable safely: reached %.1f%% with %" PRIu64
			" MiB free outside CMA (headroom %" PRIu64
			" MiB); lower --occupancy or --headroom",
			c->occ_target * 100, c->area, o->used * 100, nf >> 20,
			c->headroom >> 20);
	}
	return 0;
}

/*
 * The page allocator hands out a free CMA area from its top pageblocks down
 * (the last freed order-10 block is at the head of the free list), while
 * cma_alloc searches the bitmap from the bottom: requests would find free
 * room below the fill and measure nothing. Allocating the free area in
 * chunks from the bottom and freeing them top first leaves the bottom
 * block at the head, so the fill grows from the bottom, where requests
 * land. Done once, before the counters are read. A chunk that does not fit
 * is no error here; an interface that fails is.
 */
int cb_occupancy_prepare(struct cb_run *r)
{
	const struct cb_area *a = &r->areas[r->ai];
	uint64_t chunk = 1024, n = 0, ns, k;
	struct cb_buf *b = calloc(a->pages / chunk + 1, sizeof(*b));
	struct cb_record rec;
	int rc = 0;

	if (!b)
		return cb_err(r, "out of memory");
	while (n < a->pages / chunk && !cb_stop) {
		memset(&rec, 0, sizeof(rec));
		rc = cb_backend_alloc(r, chunk, 0, &b[n], &rec);
		if (rc || !rec.ok)
			break;
		n++;
	}
	for (k = n; k-- > 0;)
		if (cb_backend_free(r, &b[k], &ns))
			rc = -1;
	free(b);
	return rc;
}

void cb_occupancy_close(struct cb_run *r)
{
	if (r->occ.kp_ok)
		kpage_close(&r->occ.kp);
	r->occ.kp_ok = false;
	free(r->occ.bitmap);
	r->occ.bitmap = NULL;
}
