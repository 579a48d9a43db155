// SPDX-License-Identifier: GPL-2.0
/*
 * Events -> one record per cma_alloc call, correlated per task: start ->
 * busy retries, phases, busy pages, migrations -> finish. Memory is fixed
 * at creation: CMT_MAX_OPEN open allocations in a pool indexed by a small
 * open-addressing hash on the pid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmt.h"

#define TAB_SIZE (2 * CMT_MAX_OPEN)

struct entry {
	struct cmt_alloc a;
	bool in_use;
	uint64_t ts_first;
	bool busy_valid, test_valid, isol_valid;
	struct cmt_busy last_busy;
	uint64_t test_pfn, isol_pfn;
};

struct cmt_corr {
	cmt_emit_fn emit;
	void *ctx;
	struct cmt_counts cnt;
	struct entry *pool;
	int free_list[CMT_MAX_OPEN];
	int nfree;
	int tab[TAB_SIZE]; /* pool index, -1 when empty */
};

static const char *const kind_names[CMT_K_NR] = {
	[CMT_K_NONE] = "none",
	[CMT_K_START] = "cma_alloc_start",
	[CMT_K_FINISH] = "cma_alloc_finish",
	[CMT_K_RETRY] = "cma_alloc_busy_retry",
	[CMT_K_RELEASE] = "cma_release",
	[CMT_K_ISOLATE] = "cma_range_isolate",
	[CMT_K_DRAIN] = "cma_range_drain",
	[CMT_K_MIGRATE] = "cma_range_migrate",
	[CMT_K_TEST] = "cma_range_test",
	[CMT_K_BUSY_PAGE] = "cma_busy_page",
	[CMT_K_MM_MIGRATE] = "mm_migrate_pages",
	[CMT_K_TEST_ISOLATED] = "test_pages_isolated",
};

const char *cmt_kind_name(enum cmt_kind k)
{
	return k >= 0 && k < CMT_K_NR ? kind_names[k] : "none";
}

static inline unsigned int home(int pid)
{
	return ((uint32_t)pid * 2654435761u) & (TAB_SIZE - 1);
}

struct cmt_corr *cmt_corr_new(cmt_emit_fn emit, void *ctx)
{
	struct cmt_corr *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		return NULL;
	c->pool = calloc(CMT_MAX_OPEN, sizeof(*c->pool));
	if (!c->pool) {
		free(c);
		return NULL;
	}
	c->emit = emit;
	c->ctx = ctx;
	for (i = 0; i < CMT_MAX_OPEN; i++)
		c->free_list[i] = CMT_MAX_OPEN - 1 - i;
	c->nfree = CMT_MAX_OPEN;
	for (i = 0; i < TAB_SIZE; i++)
		c->tab[i] = -1;
	return c;
}

void cmt_corr_free(struct cmt_corr *c)
{
	if (!c)
		return;
	free(c->pool);
	free(c);
}

const struct cmt_counts *cmt_corr_counts(const struct cmt_corr *c)
{
	return &c->cnt;
}

static int find(const struct cmt_corr *c, int pid)
{
	unsigned int h = home(pid);
	int i;

	for (i = 0; i < TAB_SIZE; i++, h = (h + 1) & (TAB_SIZE - 1)) {
		int idx = c->tab[h];

		if (idx < 0)
			return -1;
		if (c->pool[idx].a.pid == pid)
			return idx;
	}
	return -1;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void tab_remove(struct cmt_corr *c, int pid)
{
	unsigned int h = home(pid), j, k;
	int n;

	for (n = 0; n < TAB_SIZE; n++, h = (h + 1) & (TAB_SIZE - 1)) {
		if (c->tab[h] < 0)
			return;
		if (c->pool[c->tab[h]].a.pid == pid)
			break;
	}
	if (n == TAB_SIZE)
		return;
	c->tab[h] = -1;
	for (j = (h + 1) & (TAB_SIZE - 1); c->tab[j] >= 0;
	     j = (j + 1) & (TAB_SIZE - 1)) {
		k = home(c->pool[c->tab[j]].a.pid);
		/* move j back to h unless its home lies cyclically in (h, j] */
		if ((h < j) ? (h < k && k <= j) : (h < k || k <= j))
			continue;
		c->tab[h] = c->tab[j];
		c->tab[j] = -1;
		h = j;
	}
}

static void finalize_blocking(struct entry *e)
{
	struct cmt_alloc *a = &e->a;

	a->blk_src = CMT_BLK_NONE;
	memset(&a->blk, 0, sizeof(a->blk));
	if (e->busy_valid) {
		a->blk_src = CMT_BLK_BUSY;
		a->blk = e->last_busy;
	} else if (e->test_valid) {
		a->blk_src = CMT_BLK_TEST;
		a->blk.pfn = e->test_pfn;
	} else if (e->isol_valid) {
		a->blk_src = CMT_BLK_ISOL;
		a->blk.pfn = e->isol_pfn;
	}
}

static void close_entry(struct cmt_corr *c, int idx)
{
	struct entry *e = &c->pool[idx];

	if (!e->a.has_finish) {
		e->a.status = CMT_UNFINISHED;
		e->a.missing |= CMT_MISS_FINISH;
	}
	finalize_blocking(e);
	tab_remove(c, e->a.pid);
	e->in_use = false;
	c->free_list[c->nfree++] = idx;
	c->emit(c->ctx, &e->a);
}

static int evict_oldest(struct cmt_corr *c)
{
	uint64_t best = UINT64_MAX;
	int i, idx = -1;

	for (i = 0; i < CMT_MAX_OPEN; i++)
		if (c->pool[i].in_use && c->pool[i].ts_first < best) {
			best = c->pool[i].ts_first;
			idx = i;
		}
	if (idx >= 0) {
		c->pool[idx].a.missing |= CMT_MISS_EVICTED;
		close_entry(c, idx);
	}
	return idx;
}

static void copy_name(struct cmt_alloc *a, const struct cmt_event *ev)
{
	int n = ev->name_len;

	if (!ev->name || n <= 0)
		return;
	if (n >= CMT_NAME_MAX)
		n = CMT_NAME_MAX - 1;
	memcpy(a->area, ev->name, (size_t)n);
	a->area[n] = '\0';
}

static bool same_name(const struct cmt_alloc *a, const struct cmt_event *ev)
{
	int n = ev->name_len;

	if (!ev->name)
		return true;
	if (n >= CMT_NAME_MAX)
		n = CMT_NAME_MAX - 1;
	return (int)strlen(a->area) == n && !memcmp(a->area, ev->name, n);
}

static struct entry *open_entry(struct cmt_corr *c, const struct cmt_event *ev)
{
	struct entry *e;
	unsigned int h;
	int idx;

	if (!c->nfree && evict_oldest(c) < 0)
		return NULL;
	idx = c->free_list[--c->nfree];
	e = &c->pool[idx];
	memset(e, 0, sizeof(*e));
	e->in_use = true;
	e->ts_first = ev->ts;
	e->a.pid = ev->pid;
	e->a.cpu_start = ev->cpu;
	e->a.cpu_finish = -1;
	copy_name(&e->a, ev);
	if (cmt_has(ev, CMT_F_COUNT))
		e->a.count = (uint64_t)ev->v[CMT_F_COUNT];
	if (cmt_has(ev, CMT_F_ALIGN))
		e->a.align = (uint64_t)ev->v[CMT_F_ALIGN];
	if (ev->kind == CMT_K_START) {
		e->a.has_start = true;
		e->a.ts_start = ev->ts;
		if (cmt_has(ev, CMT_F_AVAILABLE) && cmt_has(ev, CMT_F_TOTAL)) {
			e->a.has_area_pages = true;
			e->a.available = (uint64_t)ev->v[CMT_F_AVAILABLE];
			e->a.total = (uint64_t)ev->v[CMT_F_TOTAL];
		}
	} else {
		e->a.missing |= CMT_MISS_START;
	}
	for (h = home(ev->pid); c->tab[h] >= 0; h = (h + 1) & (TAB_SIZE - 1))
		;
	c->tab[h] = idx;
	return e;
}

/* The allocation open on the event's task, or a new one without a start. */
static struct entry *get(struct cmt_corr *c, const struct cmt_event *ev)
{
	int idx = find(c, ev->pid);

	if (idx >= 0)
		return &c->pool[idx];
	return open_entry(c, ev);
}

static void on_finish(struct cmt_corr *c, const struct cmt_event *ev)
{
	int idx = find(c, ev->pid);
	struct cmt_alloc *a;
	struct entry *e;
	bool ok;

	if (idx >= 0 && !same_name(&c->pool[idx].a, ev)) {
		close_entry(c, idx);
		idx = -1;
	}
	e = idx >= 0 ? &c->pool[idx] : open_entry(c, ev);
	if (!e)
		return;
	idx = (int)(e - c->pool);
	a = &e->a;
	a->has_finish = true;
	a->ts_finish = ev->ts;
	a->cpu_finish = ev->cpu;
	if (!a->has_start && cmt_has(ev, CMT_F_COUNT))
		a->count = (uint64_t)ev->v[CMT_F_COUNT];
	if (cmt_has(ev, CMT_F_RETRIES)) {
		a->has_kernel_retries = true;
		a->kernel_retries = (uint64_t)ev->v[CMT_F_RETRIES];
	}
	if (cmt_has(ev, CMT_F_ELAPSED)) {
		a->has_kernel_elapsed = true;
		a->kernel_elapsed = (uint64_t)ev->v[CMT_F_ELAPSED];
	}
	if (cmt_has(ev, CMT_F_ERRNO))
		ok = ev->v[CMT_F_ERRNO] == 0;
	else if (cmt_has(ev, CMT_F_PAGE))
		ok = ev->v[CMT_F_PAGE] != 0;
	else
		ok = cmt_has(ev, CMT_F_PFN) && ev->v[CMT_F_PFN] != -1;
	a->status = ok ? CMT_OK : CMT_FAILED;
	a->has_errno = true;
	if (cmt_has(ev, CMT_F_ERRNO)) {
		a->err = ev->v[CMT_F_ERRNO];
	} else {
		/* Stock 6.1 logs no error code: a busy range that was retried
		 * until the area ran out ends in -EBUSY, anything else before
		 * a page was found is -ENOMEM (mm/cma.c, cma_alloc). */
		a->errno_inferred = true;
		a->err = ok ? 0 : (a->retry_events ? -EBUSY : -ENOMEM);
	}
	if (ok && cmt_has(ev, CMT_F_PFN)) {
		a->pfn_valid = true;
		a->pfn = (uint64_t)ev->v[CMT_F_PFN];
	}
	close_entry(c, idx);
}

void cmt_corr_event(struct cmt_corr *c, const struct cmt_event *ev)
{
	struct entry *e;
	int idx;

	if (ev->kind <= CMT_K_NONE || ev->kind >= CMT_K_NR)
		return;
	c->cnt.events[ev->kind]++;
	c->cnt.events_total++;
	switch (ev->kind) {
	case CMT_K_START:
		idx = find(c, ev->pid);
		if (idx >= 0)
			close_entry(c, idx);
		open_entry(c, ev);
		return;
	case CMT_K_FINISH:
		on_finish(c, ev);
		return;
	case CMT_K_RELEASE:
		return;
	case CMT_K_MM_MIGRATE:
		idx = find(c, ev->pid);
		if (idx < 0 ||
		    (cmt_has(ev, CMT_F_REASON) && !ev->v[CMT_F_REASON])) {
			c->cnt.unrelated++;
			return;
		}
		e = &c->pool[idx];
		e->a.mm_calls++;
		e->a.mm_succeeded += (uint64_t)ev->v[CMT_F_SUCCEEDED] *
				     cmt_has(ev, CMT_F_SUCCEEDED);
		e->a.mm_failed += (uint64_t)ev->v[CMT_F_FAILED] *
				  cmt_has(ev, CMT_F_FAILED);
		return;
	case CMT_K_TEST_ISOLATED:
		idx = find(c, ev->pid);
		if (idx < 0) {
			c->cnt.unrelated++;
			return;
		}
		e = &c->pool[idx];
		e->a.it_calls++;
		if (cmt_has(ev, CMT_F_FIN_PFN) && cmt_has(ev, CMT_F_END_PFN) &&
		    (uint64_t)ev->v[CMT_F_FIN_PFN] <
			    (uint64_t)ev->v[CMT_F_END_PFN]) {
			e->a.it_failed++;
			e->isol_valid = true;
			e->isol_pfn = (uint64_t)ev->v[CMT_F_FIN_PFN];
		}
		return;
	default:
		break;
	}

	e = get(c, ev);
	if (!e)
		return;
	switch (ev->kind) {
	case CMT_K_RETRY:
		if (e->a.retry_events < CMT_KEEP_PFNS)
			e->a.retry_pfns[e->a.retry_events] =
				(uint64_t)ev->v[CMT_F_PFN] *
				cmt_has(ev, CMT_F_PFN);
		e->a.retry_events++;
		break;
	case CMT_K_ISOLATE:
	case CMT_K_DRAIN:
	case CMT_K_MIGRATE:
	case CMT_K_TEST: {
		uint64_t ns = cmt_has(ev, CMT_F_ELAPSED) ?
				      (uint64_t)ev->v[CMT_F_ELAPSED] :
				      0;

		e->a.has_phases = true;
		if (ev->kind == CMT_K_ISOLATE) {
			e->a.isolate_ns += ns;
			e->a.attempts++;
		} else if (ev->kind == CMT_K_DRAIN) {
			e->a.drain_ns += ns;
		} else if (ev->kind == CMT_K_MIGRATE) {
			e->a.migrate_ns += ns;
			e->a.has_migrate = true;
			e->a.attempted += (uint64_t)ev->v[CMT_F_ATTEMPTED] *
					  cmt_has(ev, CMT_F_ATTEMPTED);
			e->a.migrated += (uint64_t)ev->v[CMT_F_MIGRATED] *
					 cmt_has(ev, CMT_F_MIGRATED);
			e->a.reclaimed += (uint64_t)ev->v[CMT_F_RECLAIMED] *
					  cmt_has(ev, CMT_F_RECLAIMED);
			e->a.nr_failed += (uint64_t)ev->v[CMT_F_NR_FAILED] *
					  cmt_has(ev, CMT_F_NR_FAILED);
			e->a.passes += (uint64_t)ev->v[CMT_F_PASSES] *
				       cmt_has(ev, CMT_F_PASSES);
		} else {
			e->a.test_ns += ns;
			if ((cmt_has(ev, CMT_F_RET) && ev->v[CMT_F_RET]) &&
			    cmt_has(ev, CMT_F_FAILED_PFN)) {
				e->test_valid = true;
				e->test_pfn = (uint64_t)ev->v[CMT_F_FAILED_PFN];
			}
		}
		break;
	}
	case CMT_K_BUSY_PAGE: {
		struct cmt_busy b = { 0 };

		b.pfn = (uint64_t)ev->v[CMT_F_PFN] * cmt_has(ev, CMT_F_PFN);
		b.refcount = cmt_has(ev, CMT_F_REFCOUNT) ?
				     ev->v[CMT_F_REFCOUNT] :
				     -1;
		b.mapcount = cmt_has(ev, CMT_F_MAPCOUNT) ?
				     ev->v[CMT_F_MAPCOUNT] :
				     -1;
		b.migratetype = cmt_has(ev, CMT_F_MIGRATETYPE) ?
					ev->v[CMT_F_MIGRATETYPE] :
					-1;
		b.flags =
			(uint32_t)ev->v[CMT_F_FLAGS] * cmt_has(ev, CMT_F_FLAGS);
		memcpy(b.stage, ev->stage, sizeof(b.stage));
		b.stage[sizeof(b.stage) - 1] = '\0';
		memcpy(b.reason, ev->reason, sizeof(b.reason));
		b.reason[sizeof(b.reason) - 1] = '\0';
		if (e->a.busy_total < CMT_KEEP_BUSY)
			e->a.busy[e->a.busy_total] = b;
		e->a.busy_total++;
		e->busy_valid = true;
		e->last_busy = b;
		break;
	}
	default:
		break;
	}
}

void cmt_corr_missed(struct cmt_corr *c, int cpu, long long n)
{
	int i;

	(void)cpu;
	if (n > 0)
		c->cnt.missed_events += (uint64_t)n;
	else
		c->cnt.missed_unknown++;
	for (i = 0; i < CMT_MAX_OPEN; i++)
		if (c->pool[i].in_use)
			c->pool[i].a.missing |= CMT_MISS_LOST;
}

static int cmp_first(const void *x, const void *y, void *arg)
{
	const struct entry *pool = arg;
	uint64_t a = pool[*(const int *)x].ts_first;
	uint64_t b = pool[*(const int *)y].ts_first;

	return a < b ? -1 : a > b;
}

void cmt_corr_flush(struct cmt_corr *c)
{
	int idx[CMT_MAX_OPEN];
	int i, n = 0;

	for (i = 0; i < CMT_MAX_OPEN; i++)
		if (c->pool[i].in_use)
			idx[n++] = i;
	qsort_r(idx, (size_t)n, sizeof(idx[0]), cmp_first, c->pool);
	for (i = 0; i < n; i++)
		close_entry(c, idx[i]);
}
