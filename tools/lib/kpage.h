/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What occupies a pfn range, read exactly from /proc/kpageflags and
 * /proc/kpagecount (root only; see Documentation/admin-guide/mm/pagemap.rst).
 *
 * free, cma, anon, shmem, file and other partition the range, each page
 * being the first of these that applies (one rule, kpage_scan):
 *   cma    the caller's bitmap says the page was handed out by cma_alloc
 *   anon   KPF_ANON (THP tails included)
 *   shmem  KPF_SWAPBACKED without KPF_ANON: tmpfs, shmem, memfd
 *   file   other KPF_LRU pages: the page cache of real file systems
 *   other  in use, none of the above: a flag beyond KPF_BUDDY/KPF_NOPAGE or
 *          kpagecount > 0 (isolated, locked in flight, driver-held)
 *   free   the rest: no flags beyond KPF_BUDDY and no mapping (buddy and
 *          per-cpu free pages)
 * thp, dirty, writeback and mapped (kpagecount > 0) overlap those kinds.
 */
#ifndef CMAKIT_KPAGE_H
#define CMAKIT_KPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kinds, in this order everywhere (kpage_kind_names, area maps). */
enum kpage_kind {
	KPAGE_FREE,
	KPAGE_CMA,
	KPAGE_ANON,
	KPAGE_SHMEM,
	KPAGE_FILE,
	KPAGE_OTHER,
	KPAGE_NKINDS
};

/* "free", "cma", "anon", "shmem", "file", "other" */
extern const char *const kpage_kind_names[KPAGE_NKINDS];

struct kpage_mix {
	uint64_t pages;
	uint64_t free, cma, anon, shmem, file, other;
	uint64_t thp, dirty, writeback, mapped;
};

struct kpage {
	int flags_fd, count_fd;
	uint64_t *flags, *counts;
	uint8_t *kind; /* enum kpage_kind of each page of the last scan */
	size_t cap;
};

/* A run of @len pages of one kind. */
struct kpage_run {
	uint64_t len;
	uint8_t kind;
};

/* Open the two proc files for ranges up to @max_pages. 0 or -1 (errno). */
int kpage_open(struct kpage *k, size_t max_pages);
/*
 * Classify [@pfn, @pfn + @pages). @cma_bitmap (bit i = pfn + i allocated by
 * cma_alloc, 64 pages per word) may be NULL. 0 or -1 (errno).
 */
int kpage_scan(struct kpage *k, uint64_t pfn, size_t pages,
	       const uint64_t *cma_bitmap, struct kpage_mix *mix);
/* Page @i of the last scan holds data (anon, shmem, file or other). */
bool kpage_is_used(const struct kpage *k, size_t i);
/*
 * Run-length encode @n kinds (enum kpage_kind, one byte each) into a new
 * array at *@runs (free() it). The number of runs, or -1 (errno ENOMEM).
 */
ssize_t kpage_runs(const uint8_t *kind, size_t n, struct kpage_run **runs);
/* the pages in use: anon + shmem + file + other */
uint64_t kpage_used(const struct kpage_mix *mix);
/* kpage_used() / pages */
double kpage_used_fraction(const struct kpage_mix *mix);
void kpage_close(struct kpage *k);

#endif
