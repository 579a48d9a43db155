// SPDX-License-Identifier: GPL-2.0
/*
 * Occupancy control and memory pressure.
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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cma_bench.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

#define PAGE 4096UL
#define MIB (1UL << 20)
#define THP_SIZE (2UL << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define TMPFS_MAGIC 0x01021994
#define V9FS_MAGIC 0x01021997

struct region {
	char *addr;
	size_t len;
	int kind, fd;
	bool fixed; /* background pressure: never dropped */
	bool ballast;
};

static struct {
	struct region *v;
	size_t n, cap;
	pthread_mutex_t lock;
	int pm_fd;
	uint64_t *pm;
	size_t pm_cap;
	pid_t churn[64];
	int nchurn;
	pthread_t thr[80];
	int nthr;
	volatile int stop;
	int odirect_fd;
	uint64_t pin_handle;
	bool pinned;
	uint64_t pin_pages;
	int64_t pin_offset; /* -1: up to pin_pages in-use pages from the base */
} F = { .lock = PTHREAD_MUTEX_INITIALIZER, .pm_fd = -1, .odirect_fd = -1 };

static bool in_area(const struct cb_run *r, uint64_t pfn)
{
	const struct cb_area *a = &r->areas[r->ai];

	return pfn >= a->base_pfn && pfn < a->base_pfn + a->pages;
}

static int free_mem(uint64_t *normal, uint64_t *cma)
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
	F.pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (F.pm_fd < 0) {
		cb_err(r, "cannot open /proc/self/pagemap: %s",
		       strerror(errno));
		return -1;
	}
	return 0;
}

/* Read the pfns of a region's pages into F.pm (0: not present). */
static int region_pfns(struct region *g)
{
	size_t pages = g->len / PAGE, i;
	ssize_t n;

	if (pages > F.pm_cap) {
		void *p = realloc(F.pm, pages * sizeof(uint64_t));

		if (!p)
			return -1;
		F.pm = p;
		F.pm_cap = pages;
	}
	n = pread(F.pm_fd, F.pm, pages * 8, (uintptr_t)g->addr / PAGE * 8);
	if (n != (ssize_t)(pages * 8))
		return -1;
	for (i = 0; i < pages; i++)
		F.pm[i] = (F.pm[i] >> 63) ? (F.pm[i] & ((1ULL << 55) - 1)) : 0;
	return 0;
}

static int drop_range(struct region *g, size_t first, size_t count)
{
	if (g->kind == K_ANON || g->kind == K_THP)
		return madvise(g->addr + first * PAGE, count * PAGE,
			       MADV_DONTNEED);
	return fallocate(g->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 first * PAGE, count * PAGE);
}

/*
 * Drop up to @max present pages of @g that are inside (@inside) or outside
 * the area. Returns the number dropped.
 */
static uint64_t region_drop(struct cb_run *r, struct region *g, bool inside,
			    uint64_t max)
{
	size_t pages = g->len / PAGE, i, start = 0;
	uint64_t dropped = 0;
	bool run = false;

	if (!max || region_pfns(g))
		return 0;
	for (i = 0; i <= pages; i++) {
		bool sel = i < pages && F.pm[i] &&
			   in_area(r, F.pm[i]) == inside && dropped < max;

		if (sel) {
			if (!run)
				start = i;
			run = true;
			dropped++;
		} else if (run) {
			drop_range(g, start, i - start);
			run = false;
		}
	}
	return dropped;
}

static void region_count(struct cb_run *r, struct region *g, uint64_t *in,
			 uint64_t *out)
{
	size_t i;

	*in = *out = 0;
	if (region_pfns(g))
		return;
	for (i = 0; i < g->len / PAGE; i++)
		if (F.pm[i])
			(*(in_area(r, F.pm[i]) ? in : out))++;
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

/* A new region of @kind and @len bytes, populated. NULL on failure (errno). */
static struct region *region_new(struct cb_run *r, int kind, size_t len,
				 bool fixed)
{
	struct region g = { .kind = kind, .fd = -1, .fixed = fixed, .len = len };
	int e;

	if (F.n == F.cap) {
		size_t cap = F.cap ? F.cap * 2 : 64;
		void *p;

		pthread_mutex_lock(&F.lock); /* the odirect threads read F.v */
		p = realloc(F.v, cap * sizeof(*F.v));
		if (p) {
			F.v = p;
			F.cap = cap;
		}
		pthread_mutex_unlock(&F.lock);
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
	pthread_mutex_lock(&F.lock);
	F.v[F.n++] = g;
	pthread_mutex_unlock(&F.lock);
	return &F.v[F.n - 1];
fail:
	e = errno;
	if (g.addr)
		munmap(g.addr, len);
	if (g.fd >= 0)
		close(g.fd);
	errno = e;
	return NULL;
}

int cb_scan_area(struct cb_run *r)
{
	const struct cb_area *a = &r->areas[r->ai];

	if (!r->kp_ok) {
		if (!r->feat.kpageflags || kpage_open(&r->kp, a->pages))
			return -1;
		r->kp_ok = true;
	}
	if (cb_read_cma_bitmap(r)) {
		free(r->cma_bitmap);
		r->cma_bitmap = NULL;
	}
	if (kpage_scan(&r->kp, a->base_pfn, a->pages, r->cma_bitmap,
		       &r->mix_last))
		return -1;
	r->occ_last = kpage_used_fraction(&r->mix_last);
	r->mix_valid = true;
	return 0;
}

static uint64_t used_pages(const struct cb_run *r)
{
	const struct kpage_mix *m = &r->mix_last;

	return m->anon + m->shmem + m->file + m->other;
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

		if (free_mem(&nf, &cf))
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
		g = region_new(r, kind, len, false);
		if (!g) {
			cb_err(r, "filling the area with %s memory: %s",
			       cb_kind_names[kind], strerror(errno));
			return -1;
		}
		g->ballast = kind != fill;
		region_count(r, g, &in, &out);
		/* ballast is for outside the area: inside, it is the wrong kind */
		if (g->ballast && in) {
			region_drop(r, g, true, UINT64_MAX);
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
 * Give back memory: pages inside the area beyond @goal when over @hi, then
 * pages outside it until free memory outside CMA is at least @want.
 */
#define BLOCK 512 /* pages: a pageblock on x86_64 and arm64 with 4K pages */

/*
 * Drop @drop of our pages inside the area, from the fullest pageblocks
 * first, so that what stays is spread evenly over the blocks that hold it
 * rather than packed where the allocator happened to put it.
 */
static void level(struct cb_run *r, uint64_t drop)
{
	const struct cb_area *a = &r->areas[r->ai];
	size_t nb = (a->pages + BLOCK - 1) / BLOCK, i, k, b;
	uint64_t *cnt = calloc(nb, sizeof(*cnt)), lo = 0, hi = BLOCK, excess;

	if (!cnt)
		return;
	for (i = 0; i < F.n; i++) {
		if (F.v[i].fixed || region_pfns(&F.v[i]))
			continue;
		for (k = 0; k < F.v[i].len / PAGE; k++)
			if (F.pm[k] && in_area(r, F.pm[k]))
				cnt[(F.pm[k] - a->base_pfn) / BLOCK]++;
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
	for (i = F.n; i-- > 0;) {
		struct region *g = &F.v[i];
		size_t start = 0, pages = g->len / PAGE;
		bool run = false;

		if (g->fixed || region_pfns(g))
			continue;
		for (k = 0; k <= pages; k++) {
			bool sel = false;

			if (k < pages && F.pm[k] && in_area(r, F.pm[k])) {
				b = (F.pm[k] - a->base_pfn) / BLOCK;
				sel = cnt[b] > 0;
				cnt[b] -= sel;
			}
			if (sel && !run) {
				start = k;
				run = true;
			} else if (!sel && run) {
				drop_range(g, start, k - start);
				run = false;
			}
		}
	}
	free(cnt);
}

/*
 * Give back memory: pages inside the area beyond @goal when over @hi, then
 * pages outside it until free memory outside CMA is at least @want.
 */
static void trim(struct cb_run *r, uint64_t goal, uint64_t hi, uint64_t want)
{
	uint64_t used = used_pages(r), nf, cf, deficit;
	size_t i;

	if (used > hi)
		level(r, used - goal);
	/* Page cache and shmem outside the area is waste: always dropped. */
	for (i = 0; i < F.n; i++)
		if (!F.v[i].fixed && F.v[i].kind != K_ANON &&
		    F.v[i].kind != K_THP)
			region_drop(r, &F.v[i], false, UINT64_MAX);
	if (free_mem(&nf, &cf) || nf >= want)
		return;
	deficit = (want - nf + PAGE - 1) / PAGE;
	for (i = F.n; i-- > 0 && deficit;) {
		uint64_t d;

		if (F.v[i].fixed)
			continue;
		d = region_drop(r, &F.v[i], false, deficit);
		deficit -= d < deficit ? d : deficit;
	}
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
	uint64_t i, n = 0, used = 0;

	if (pages < 4 * BLOCK)
		pages = 4 * BLOCK;
	for (i = 0; i < a->pages && n < pages; i++) {
		if (r->cma_bitmap && (r->cma_bitmap[i / 64] >> (i % 64) & 1))
			continue;
		n++;
		used += kpage_is_used(&r->kp, i);
	}
	return n ? (double)used / n : 0;
}

int cb_fill_drive(struct cb_run *r, uint64_t need_bytes)
{
	const struct cb_config *c = &r->cfg;
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
		if (cb_scan_area(r)) {
			cb_err(r,
			       "cannot read the area's pages from /proc/kpageflags: %s",
			       strerror(errno));
			return -1;
		}
		landing = landing_used(r, need_bytes / PAGE);
		r->landing_last = landing;
		if (used_pages(r) >= lo && used_pages(r) <= hi &&
		    landing >= c->occ_target - c->occ_tol &&
		    (free_mem(&nf, &cf) || nf >= want))
			return 0;
		/* a quarter of the way past the goal: leveling then spreads the pages */
		if ((used_pages(r) < lo ||
		     landing < c->occ_target - c->occ_tol) &&
		    grow(r, goal + (A - goal) / 4))
			return -1;
		if (cb_scan_area(r))
			return -1;
		trim(r, goal, hi, want);
	}
	if (cb_stop || cb_scan_area(r))
		return cb_stop ? 0 : -1;
	r->landing_last = landing_used(r, need_bytes / PAGE);
	if (used_pages(r) < lo && r->occ_misses >= 0) {
		/* after the first round: record what was reached and go on */
		r->occ_misses++;
		return 0;
	}
	if (used_pages(r) < lo) {
		free_mem(&nf, &cf);
		cb_err(r,
		       "occupancy target %.0f%% of area '%s' is not reachable safely: reached %.1f%% with %" PRIu64
		       " MiB free outside CMA (headroom %" PRIu64
		       " MiB); lower --occupancy or --headroom",
		       c->occ_target * 100, c->area, r->occ_last * 100,
		       nf >> 20, c->headroom >> 20);
		return -1;
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
 * land. Done once, before the counters are read.
 */
int cb_fill_prepare(struct cb_run *r)
{
	const struct cb_area *a = &r->areas[r->ai];
	uint64_t chunk = 1024, n = 0, ns, k;
	struct cb_buf *b = calloc(a->pages / chunk + 1, sizeof(*b));
	struct cb_record rec;

	if (!b)
		return -1;
	while (n < a->pages / chunk && !cb_stop) {
		memset(&rec, 0, sizeof(rec));
		if (cb_backend_alloc(r, chunk, 0, &b[n], &rec) || !rec.ok)
			break;
		n++;
	}
	for (k = n; k-- > 0;)
		cb_backend_free(r, &b[k], &ns);
	free(b);
	r->error[0] = '\0'; /* a chunk that did not fit is no error here */
	return 0;
}

/* Background pressure ------------------------------------------------------ */

static void churn_child(uint64_t seed)
{
	unsigned int s = seed;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (;;) {
		/* a compiler-like process: 8..40 MiB touched, some work, exit */
		size_t len = (8 + rand_r(&s) % 33) * MIB, i;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned long sum = 0;

		if (p == MAP_FAILED) {
			usleep(10000);
			continue;
		}
		for (i = 0; i < len; i += PAGE)
			p[i] = (char)i;
		for (i = 0; i < len; i += 64)
			sum += p[i] * 31;
		munmap(p, len);
		if (sum == 1)
			usleep(1);
	}
}

static struct region dirty_region; /* a copy: F.v moves when it grows */

/* Keeps re-dirtying the file and starting its writeback. */
static void *dirty_thread(void *arg)
{
	const struct region *g = arg;
	size_t off = 0, i, slice = 4 * MIB < g->len ? 4 * MIB : g->len;

	while (!F.stop) {
		for (i = 0; i < slice; i += PAGE)
			g->addr[(off + i) % g->len]++;
		sync_file_range(g->fd, off, slice, SYNC_FILE_RANGE_WRITE);
		off = (off + slice) % g->len;
		usleep(20000);
	}
	return NULL;
}

static void *odirect_thread(void *arg)
{
	unsigned int s = (uintptr_t)arg;

	while (!F.stop) {
		char *dst = NULL;

		pthread_mutex_lock(&F.lock);
		if (F.n) {
			struct region *g = &F.v[rand_r(&s) % F.n];

			if ((g->kind == K_ANON || g->kind == K_THP) &&
			    g->len >= 64 * 1024)
				dst = g->addr +
				      (rand_r(&s) % (g->len / (64 * 1024))) *
					      64 * 1024;
		}
		pthread_mutex_unlock(&F.lock);
		/* The buffer's pages are pinned (FOLL_PIN) while the read is in flight. */
		if (!dst || pread(F.odirect_fd, dst, 64 * 1024,
				  (rand_r(&s) % 16) * 64 * 1024) < 0)
			usleep(1000);
	}
	return NULL;
}

static int scratch_ok(struct cb_run *r)
{
	struct statfs sf;

	if (statfs(r->cfg.scratch, &sf)) {
		cb_err(r, "--scratch %s: %s", r->cfg.scratch, strerror(errno));
		return -1;
	}
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == V9FS_MAGIC) {
		cb_err(r,
		       "--scratch %s is on %s, which has no disk-backed page cache; use a disk file system (ext4)",
		       r->cfg.scratch,
		       sf.f_type == TMPFS_MAGIC ? "tmpfs" : "9p");
		return -1;
	}
	return 0;
}

int cb_pressure_start(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	uint64_t nf, cf, total = 0, maxreq = 0;
	int i, j;

	for (i = 0; i < c->nsizes; i++)
		maxreq = c->sizes[i] > maxreq ? c->sizes[i] : maxreq;
	if (c->dist != DIST_LIST)
		maxreq = c->dist_max;
	for (i = 0; i < c->npressure; i++) {
		const struct cb_pressure *p = &c->pressure[i];

		if (p->kind == K_CHURN)
			total += p->amount * 40 * MIB;
		else if (p->kind <= K_THP)
			total += p->amount;
	}
	if ((c->scratch[0] || c->fill == K_FILE || c->fill == K_DIRTY) &&
	    scratch_ok(r))
		return -1;
	if (free_mem(&nf, &cf))
		return -1;
	if (total && total + c->headroom + maxreq * PAGE * c->threads > nf) {
		cb_err(r,
		       "pressure of %" PRIu64 " MiB does not fit: %" PRIu64
		       " MiB free outside CMA, headroom %" PRIu64
		       " MiB, requests up to %" PRIu64 " MiB",
		       total >> 20, nf >> 20, c->headroom >> 20,
		       (maxreq * PAGE * c->threads) >> 20);
		return -1;
	}
	for (i = 0; i < c->npressure; i++) {
		const struct cb_pressure *p = &c->pressure[i];
		struct region *g;

		switch (p->kind) {
		case K_ANON:
		case K_SHMEM:
		case K_FILE:
		case K_DIRTY:
		case K_THP:
			g = region_new(r, p->kind,
				       (p->amount + THP_SIZE - 1) &
					       ~(THP_SIZE - 1),
				       true);
			if (!g) {
				cb_err(r, "pressure %s: %s",
				       cb_kind_names[p->kind], strerror(errno));
				return -1;
			}
			if (p->kind == K_DIRTY && !dirty_region.addr) {
				dirty_region = *g;
				if (!pthread_create(&F.thr[F.nthr], NULL,
						    dirty_thread,
						    &dirty_region))
					F.nthr++;
			}
			break;
		case K_CHURN:
			for (j = 0; j < (int)p->amount && F.nchurn < 64; j++) {
				pid_t pid = fork();

				if (pid < 0) {
					cb_err(r, "pressure churn: fork: %s",
					       strerror(errno));
					return -1;
				}
				if (!pid)
					churn_child(c->seed + j);
				F.churn[F.nchurn++] = pid;
			}
			break;
		case K_ODIRECT: {
			char p2[64], *buf;
			int fd = open(c->scratch,
				      O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

			if (fd < 0 ||
			    posix_memalign((void **)&buf, PAGE, MIB)) {
				cb_err(r,
				       "pressure odirect: scratch file in %s: %s",
				       c->scratch, strerror(errno));
				if (fd >= 0)
					close(fd);
				return -1;
			}
			memset(buf, 0x5a, MIB);
			if (write(fd, buf, MIB) != (ssize_t)MIB || fsync(fd)) {
				free(buf);
				close(fd);
				cb_err(r,
				       "pressure odirect: writing the scratch file: %s",
				       strerror(errno));
				return -1;
			}
			free(buf);
			snprintf(p2, sizeof(p2), "/proc/self/fd/%d", fd);
			F.odirect_fd =
				open(p2, O_RDONLY | O_DIRECT | O_CLOEXEC);
			close(fd);
			if (F.odirect_fd < 0) {
				cb_err(r,
				       "pressure odirect: O_DIRECT on %s: %s",
				       c->scratch, strerror(errno));
				return -1;
			}
			for (j = 0; j < (int)p->amount && F.nthr < 80; j++)
				if (!pthread_create(
					    &F.thr[F.nthr], NULL,
					    odirect_thread,
					    (void *)(uintptr_t)(c->seed + j)))
					F.nthr++;
			break;
		}
		case K_PIN:
			if (r->backend != BK_CMA_BENCH && r->dev_fd < 0) {
				cb_err(r,
				       "pressure pin needs /dev/cma_bench (patched kernel); on stock kernels use odirect:N");
				return -1;
			}
			if (p->offset >= 0 && (uint64_t)p->offset + p->amount >
						      r->areas[r->ai].pages) {
				cb_err(r,
				       "pressure pin:%" PRIu64 "@%" PRId64
				       ": the range ends beyond area '%s' (%" PRIu64
				       " pages)",
				       p->amount, p->offset, c->area,
				       r->areas[r->ai].pages);
				return -1;
			}
			F.pin_pages = p->amount;
			F.pin_offset = p->offset;
			break;
		}
	}
	return 0;
}

/* pin:PAGES: long-term references on in-use pages of the area, per round. */
int cb_pin_round(struct cb_run *r)
{
	struct cma_bench_pin p;

	if (!F.pin_pages || r->dev_fd < 0)
		return 0;
	cb_pin_release(r);
	memset(&p, 0, sizeof(p));
	snprintf(p.area, sizeof(p.area), "%s", r->cfg.area);
	if (F.pin_offset >= 0) {
		/* every in-use page of the range */
		p.pfn = r->areas[r->ai].base_pfn + F.pin_offset;
		p.count = F.pin_pages;
		p.flags = CMA_BENCH_PIN_RANGE;
	} else {
		/* up to count in-use pages from the area's base; more than the area is -EINVAL */
		p.count = F.pin_pages < r->areas[r->ai].pages ?
				  F.pin_pages :
				  r->areas[r->ai].pages;
	}
	if (ioctl(r->dev_fd, CMA_BENCH_IOC_PIN, &p)) {
		cb_err(r, "CMA_BENCH_IOC_PIN of %" PRIu64 " pages in '%s': %s",
		       F.pin_pages, r->cfg.area, strerror(errno));
		return -1;
	}
	F.pin_handle = p.handle;
	F.pinned = true;
	r->pinned_last = p.pinned;
	return 0;
}

void cb_pin_release(struct cb_run *r)
{
	struct cma_bench_handle h;

	if (!F.pinned || r->dev_fd < 0)
		return;
	h.handle = F.pin_handle;
	ioctl(r->dev_fd, CMA_BENCH_IOC_UNPIN, &h);
	F.pinned = false;
}

void cb_fill_cleanup(struct cb_run *r)
{
	size_t i;
	int k;

	F.stop = 1;
	for (k = 0; k < F.nthr; k++)
		pthread_join(F.thr[k], NULL);
	F.nthr = 0;
	for (k = 0; k < F.nchurn; k++)
		kill(F.churn[k], SIGKILL);
	for (k = 0; k < F.nchurn; k++)
		waitpid(F.churn[k], NULL, 0);
	F.nchurn = 0;
	cb_pin_release(r);
	for (i = 0; i < F.n; i++) {
		munmap(F.v[i].addr, F.v[i].len);
		if (F.v[i].fd >= 0)
			close(F.v[i].fd);
	}
	F.n = 0;
	if (F.odirect_fd >= 0)
		close(F.odirect_fd);
	F.odirect_fd = -1;
	if (F.pm_fd >= 0)
		close(F.pm_fd);
	F.pm_fd = -1;
	free(F.pm);
	F.pm = NULL;
	F.pm_cap = 0;
	free(F.v);
	F.v = NULL;
	F.cap = 0;
}
