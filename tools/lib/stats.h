/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Summary statistics of a sample of unsigned 64-bit values (latencies in ns):
 * min, max, mean and nearest-rank percentiles (the value at rank
 * ceil(p/100 * n) of the sorted sample).
 */
#ifndef CMAKIT_STATS_H
#define CMAKIT_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	size_t n;
	uint64_t min, max, p50, p90, p99;
	double mean;
};

/* Sorts @v in place. With n == 0 everything is 0. */
void stats_compute(uint64_t *v, size_t n, struct stats *s);
/* Nearest-rank percentile of a sorted sample; 0 for an empty one. */
uint64_t stats_percentile(const uint64_t *sorted, size_t n, double p);

#endif
