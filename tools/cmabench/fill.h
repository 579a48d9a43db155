/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory cmabench puts in the area (occupancy.c) and holds as background
 * pressure (pressure.c): regions of one page kind each, their pfns read from
 * /proc/self/pagemap so that pages inside or outside the area can be given
 * back selectively.
 */
#ifndef CMABENCH_FILL_H
#define CMABENCH_FILL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmabench.h"

#define PAGE 4096UL
#define MIB (1UL << 20)
#define THP_SIZE (2UL << 20)

struct region {
	char *addr;
	size_t len;
	int kind, fd;
	bool fixed; /* background pressure: never dropped */
	bool ballast;
};

struct cb_fill {
	struct region *v;
	size_t n, cap;
	pthread_mutex_t
		lock; /* v moves when it grows: the odirect threads read it */
	int pm_fd;
	uint64_t *pm; /* the last region_pfns() */
	size_t pm_cap;
};

/*
 * None of these prints: they return -1 with errno and the caller, which
 * knows what the memory was for, says what failed (cb_err).
 */

/* Free memory outside CMA and free CMA memory, in bytes. 0 or -1. */
int cb_free_mem(uint64_t *normal, uint64_t *cma);
bool cb_in_area(const struct cb_run *r, uint64_t pfn);
/* A new region of @kind and @len bytes, populated. NULL on failure (errno). */
struct region *cb_region_new(struct cb_run *r, int kind, size_t len,
			     bool fixed);
/* The pfns of a region's pages into r->fill->pm (0: not present). 0, or -1 with errno. */
int cb_region_pfns(struct cb_run *r, struct region *g);
/* Give back @count pages of @g from page @first. 0, or -1 with errno. */
int cb_region_drop_range(struct region *g, size_t first, size_t count);
/*
 * Give back up to @max present pages inside (@inside) or outside the area;
 * @dropped (or NULL) gets their number. 0, or -1 with errno.
 */
int cb_region_drop(struct cb_run *r, struct region *g, bool inside,
		   uint64_t max, uint64_t *dropped);
/* Present pages of @g inside and outside the area. 0, or -1 with errno. */
int cb_region_count(struct cb_run *r, struct region *g, uint64_t *in,
		    uint64_t *out);

#endif
