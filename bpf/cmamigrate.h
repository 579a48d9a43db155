/* SPDX-License-Identifier: GPL-2.0 */
/* cmamigrate: types shared by cmamigrate.bpf.c and cmamigrate.c. */
#ifndef CMAMIGRATE_H
#define CMAMIGRATE_H

#include "common.h"

/* The phases of alloc_contig_range(), in order. */
enum phase {
	PH_ISOLATE,
	PH_DRAIN,
	PH_MIGRATE,
	PH_TEST,
	NR_PHASES,
};

/* The histograms, per area: pages, then times per allocation. */
enum mhist {
	H_PAGES_MIGRATED, /* pages */
	H_ISOLATE, /* then one per phase, in time units */
	H_DRAIN,
	H_MIGRATE,
	H_TEST,
	H_TOTAL, /* the whole allocation */
	NR_HISTS,
};

/* Fields of trace events, in the order cmamigrate.c reads them. */
struct mig_fields { /* cma_range_migrate (the series) */
	struct tp_field attempted, migrated, reclaimed, failed, passes;
};

struct mm_fields { /* migrate:mm_migrate_pages (stock) */
	struct tp_field succeeded, failed, reason;
};

struct mig_key {
	unsigned long long area; /* common.bpf.h's area_hash() */
};

struct mig_hist {
	unsigned long long slots[MAX_SLOTS];
	unsigned long long count;
	unsigned long long sum;
};

/* The histograms of an area: one map entry, one lookup per allocation. */
struct mig_hists {
	char area[CMA_NAME_LEN]; /* the area's name */
	struct mig_hist h[NR_HISTS];
};

/* One allocation, as it is accumulated and as it is reported. */
struct mig_info {
	unsigned long long ts_ns;
	unsigned long long elapsed_ns;
	unsigned long long count;
	unsigned long long phase_ns[NR_PHASES];
	unsigned long long phase_start[NR_PHASES];
	unsigned long long nr_attempted;
	unsigned long long nr_migrated;
	unsigned long long nr_reclaimed;
	unsigned long long nr_failed;
	unsigned int passes;
	unsigned int ranges; /* alloc_contig_range() calls */
	unsigned int pid;
	int ok;
	unsigned int align;
	unsigned int pad;
	char comm[TASK_COMM_LEN];
	char area[CMA_NAME_LEN];
};

#endif /* CMAMIGRATE_H */
