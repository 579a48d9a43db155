/* SPDX-License-Identifier: GPL-2.0 */
/* What report.c and summary.c share: the summary section and missing measures. */
#ifndef CMABENCH_REPORT_H
#define CMABENCH_REPORT_H

#include "cmabench.h"
#include "json.h"

/* result.json's summary (summary.c). 0, or -1 when out of memory. */
int cb_write_summary(struct json *j, const struct cb_run *r);
/* @key: n, min, mean, p50, p90, p99, max of @v (sorted in place); null if empty */
void cb_json_stats(struct json *j, const char *key, uint64_t *v, size_t n);

/* A measure that may be missing: negative is null. */
static inline void null_or_s64(struct json *j, const char *k, int64_t v)
{
	if (v < 0)
		json_null(j, k);
	else
		json_s64(j, k, v);
}

static inline void null_or_double(struct json *j, const char *k, double v)
{
	if (v < 0)
		json_null(j, k);
	else
		json_double(j, k, v);
}

#endif
