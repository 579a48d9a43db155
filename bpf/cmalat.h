/* SPDX-License-Identifier: GPL-2.0 */
/* cmalat: types shared by cmalat.bpf.c and cmalat.c. */
#ifndef CMALAT_H
#define CMALAT_H

#include "common.h"

/* One histogram per area, size class and error code. */
struct hist_key {
	unsigned long long area; /* common.bpf.h's area_hash() */
	unsigned int size_class; /* log2 of the page count */
	int err; /* 0 or -errno */
};

struct hist {
	char area[CMA_NAME_LEN]; /* the area's name */
	unsigned long long slots[MAX_SLOTS];
	unsigned long long count;
	unsigned long long sum_ns;
	unsigned long long max_ns;
	unsigned long long retries;
};

#endif /* CMALAT_H */
