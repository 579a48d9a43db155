// SPDX-License-Identifier: GPL-2.0
/*
 * What the records add up to: result.json's summary section (latency
 * statistics overall and by size, errors, the occupancy the requests started
 * from, the kernel's own accounting) and the table on stdout and in
 * summary.txt.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmabench.h"
#include "json.h"
#include "report.h"
#include "stats.h"
#include "util.h"

void cb_json_stats(struct json *j, const char *key, uint64_t *v, size_t n)
{
	struct stats s;

	if (!n) {
		json_null(j, key);
		return;
	}
	stats_compute(v, n, &s);
	json_obj_begin(j, key);
	json_u64(j, "n", s.n);
	json_u64(j, "min", s.min);
	json_double(j, "mean", s.mean);
	json_u64(j, "p50", s.p50);
	json_u64(j, "p90", s.p90);
	json_u64(j, "p99", s.p99);
	json_u64(j, "max", s.max);
	json_obj_end(j);
}

static void errors_obj(struct json *j, const struct cb_record *rec, size_t n,
		       uint64_t pages)
{
	int counts[256] = { 0 };
	size_t i;
	int e;

	for (i = 0; i < n; i++)
		if (!rec[i].ok && (!pages || rec[i].pages == pages) &&
		    rec[i].err > 0 && rec[i].err < 256)
			counts[rec[i].err]++;
	json_obj_begin(j, "errors");
	for (e = 0; e < 256; e++)
		if (counts[e])
			json_u64(j, errno_name(e), counts[e]);
	json_obj_end(j);
}

enum { F_USER, F_KERNEL, F_RELEASE };

/* Latency sample of the successful records (of one size if @pages). */
static size_t sample(const struct cb_run *r, uint64_t pages, int field,
		     uint64_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < r->nrec; i++) {
		const struct cb_record *x = &r->rec[i];

		if (!x->ok || (pages && x->pages != pages))
			continue;
		if (field == F_USER)
			out[n++] = x->user_ns;
		else if (field == F_KERNEL && x->kernel_ns >= 0)
			out[n++] = x->kernel_ns;
		else if (field == F_RELEASE && x->release_ns >= 0)
			out[n++] = x->release_ns;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The distinct request sizes, sorted. */
static size_t distinct_sizes(const struct cb_run *r, uint64_t *out)
{
	size_t i, k, n = 0;

	for (i = 0; i < r->nrec; i++) {
		for (k = 0; k < n && out[k] != r->rec[i].pages; k++)
			;
		if (k == n)
			out[n++] = r->rec[i].pages;
	}
	qsort(out, n, sizeof(*out), cmp_u64);
	return n;
}

struct acct {
	uint64_t records, calls, pages_ok, pages_fail, sys_ok, sys_fail;
	bool have_calls, have_sys, match;
};

static void accounting(const struct cb_run *r, struct acct *a)
{
	uint64_t s0, s1, f0, f1;
	size_t i;

	memset(a, 0, sizeof(*a));
	a->records = r->nrec;
	for (i = 0; i < r->nrec; i++)
		*(r->rec[i].ok ? &a->pages_ok : &a->pages_fail) +=
			r->rec[i].pages;
	a->match = true;
	if (!r->have_before || !r->have_after)
		return;
	if (!cb_kv_get(&r->before.vmstat, "cma_alloc_success", &s0) &&
	    !cb_kv_get(&r->before.vmstat, "cma_alloc_fail", &f0) &&
	    !cb_kv_get(&r->after.vmstat, "cma_alloc_success", &s1) &&
	    !cb_kv_get(&r->after.vmstat, "cma_alloc_fail", &f1)) {
		a->have_calls = true;
		a->calls = (s1 - s0) + (f1 - f0);
		a->match &= a->calls == a->records;
	}
	if (r->before.area[r->ai].has_sysfs &&
	    !cb_kv_get(&r->before.area[r->ai].sysfs, "alloc_pages_success",
		       &s0) &&
	    !cb_kv_get(&r->before.area[r->ai].sysfs, "alloc_pages_fail", &f0) &&
	    !cb_kv_get(&r->after.area[r->ai].sysfs, "alloc_pages_success",
		       &s1) &&
	    !cb_kv_get(&r->after.area[r->ai].sysfs, "alloc_pages_fail", &f1)) {
		a->have_sys = true;
		a->sys_ok = s1 - s0;
		a->sys_fail = f1 - f0;
		a->match &= a->sys_ok == a->pages_ok &&
			    a->sys_fail == a->pages_fail;
	}
}

/* How many requests of @pages there were, and how many succeeded. */
static void count_size(const struct cb_run *r, uint64_t pages, uint64_t *cnt,
		       uint64_t *cok)
{
	size_t q;

	*cnt = *cok = 0;
	for (q = 0; q < r->nrec; q++)
		if (r->rec[q].pages == pages) {
			(*cnt)++;
			*cok += r->rec[q].ok;
		}
}

/* summary.by_size; @buf and @sizes hold r->nrec + 1 values */
static void write_by_size(struct json *j, const struct cb_run *r, uint64_t *buf,
			  uint64_t *sizes)
{
	size_t i, n, nsz = distinct_sizes(r, sizes);

	json_arr_begin(j, "by_size");
	for (i = 0; i < nsz; i++) {
		uint64_t cnt, cok;

		count_size(r, sizes[i], &cnt, &cok);
		json_obj_begin(j, NULL);
		json_u64(j, "pages", sizes[i]);
		json_u64(j, "allocations", cnt);
		json_u64(j, "ok", cok);
		json_u64(j, "failed", cnt - cok);
		errors_obj(j, r->rec, r->nrec, sizes[i]);
		n = sample(r, sizes[i], F_USER, buf);
		cb_json_stats(j, "user_ns", buf, n);
		n = sample(r, sizes[i], F_KERNEL, buf);
		cb_json_stats(j, "kernel_ns", buf, n);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* summary.occupancy: the page mix the requests started from */
static void write_occupancy_summary(struct json *j, const struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	size_t i, nocc = 0, within = 0;
	double omin = 2, omax = -1, osum = 0;

	for (i = 0; i < r->nrec; i++) {
		const struct cb_record *x = &r->rec[i];

		if (!x->has_occ)
			continue;
		nocc++;
		osum += x->occ_used;
		omin = x->occ_used < omin ? x->occ_used : omin;
		omax = x->occ_used > omax ? x->occ_used : omax;
		if (c->occ_target >= 0 &&
		    x->occ_used >= c->occ_target - c->occ_tol - 1e-9 &&
		    x->occ_used <= c->occ_target + c->occ_tol + 1e-9)
			within++;
	}
	if (!nocc) {
		json_null(j, "occupancy");
		return;
	}
	json_obj_begin(j, "occupancy");
	null_or_double(j, "target", c->occ_target);
	json_double(j, "tolerance", c->occ_tol);
	json_u64(j, "n", nocc);
	json_double(j, "min", omin);
	json_double(j, "mean", osum / nocc);
	json_double(j, "max", omax);
	null_or_s64(j, "within_tolerance",
		    c->occ_target >= 0 ? (int64_t)within : -1);
	json_obj_end(j);
}

/* summary.accounting and summary.injected */
static void write_accounting(struct json *j, const struct cb_run *r)
{
	struct acct a;
	uint64_t inj = 0;
	bool known = false;
	size_t i;

	accounting(r, &a);
	json_obj_begin(j, "accounting");
	json_u64(j, "records", a.records);
	null_or_s64(j, "kernel_calls", a.have_calls ? (int64_t)a.calls : -1);
	json_u64(j, "pages_ok", a.pages_ok);
	null_or_s64(j, "sysfs_pages_ok", a.have_sys ? (int64_t)a.sys_ok : -1);
	json_u64(j, "pages_failed", a.pages_fail);
	null_or_s64(j, "sysfs_pages_failed",
		    a.have_sys ? (int64_t)a.sys_fail : -1);
	json_bool(j, "match", a.match);
	json_obj_end(j);
	if (!r->cfg.inject) {
		json_null(j, "injected");
		return;
	}
	for (i = 0; i < r->nrec; i++)
		if (r->rec[i].injected >= 0) {
			known = true;
			inj += r->rec[i].injected;
		}
	null_or_s64(j, "injected", known ? (int64_t)inj : -1);
}

int cb_write_summary(struct json *j, const struct cb_run *r)
{
	uint64_t *buf = calloc(r->nrec + 1, sizeof(uint64_t)),
		 *sizes = calloc(r->nrec + 1, sizeof(uint64_t));
	uint64_t ok = 0, preq = 0, pok = 0;
	size_t i, n;

	if (!buf || !sizes) {
		free(buf);
		free(sizes);
		return -1;
	}
	for (i = 0; i < r->nrec; i++) {
		ok += r->rec[i].ok;
		preq += r->rec[i].pages;
		pok += r->rec[i].ok ? r->rec[i].pages : 0;
	}
	json_obj_begin(j, "summary");
	json_u64(j, "allocations", r->nrec);
	json_u64(j, "ok", ok);
	json_u64(j, "failed", r->nrec - ok);
	errors_obj(j, r->rec, r->nrec, 0);
	json_u64(j, "pages_requested", preq);
	json_u64(j, "pages_allocated", pok);
	n = sample(r, 0, F_USER, buf);
	cb_json_stats(j, "user_ns", buf, n);
	n = sample(r, 0, F_KERNEL, buf);
	cb_json_stats(j, "kernel_ns", buf, n);
	n = sample(r, 0, F_RELEASE, buf);
	cb_json_stats(j, "release_ns", buf, n);
	write_by_size(j, r, buf, sizes);
	write_occupancy_summary(j, r);
	write_accounting(j, r);
	json_obj_end(j);
	free(buf);
	free(sizes);
	return 0;
}

int cb_print_table(const struct cb_run *r, FILE *f)
{
	const struct cb_config *c = &r->cfg;
	const struct cb_area *ar = &r->areas[r->ai];
	uint64_t *buf = calloc(r->nrec + 1, sizeof(uint64_t)),
		 *sizes = calloc(r->nrec + 1, sizeof(uint64_t));
	size_t i, n, nsz;
	struct acct a;

	if (!buf || !sizes) {
		free(buf);
		free(sizes);
		return -1;
	}
	fprintf(f,
		"cmabench %s: scenario %s, kernel %s, backend %s, area %s (%" PRIu64
		" MiB)\n",
		r->status, c->scenario, r->release,
		cb_backend_names[r->backend], ar->name, ar->pages * 4096 >> 20);
	if (c->occ_target >= 0)
		fprintf(f, "occupancy target %.0f%% +- %.0f%%, fill %s\n",
			c->occ_target * 100, c->occ_tol * 100,
			cb_kind_names[c->fill]);
	fprintf(f, "%10s %6s %6s %6s %11s %11s %11s %11s %11s %11s\n", "pages",
		"reqs", "ok", "fail", "min ms", "avg ms", "max ms", "p50 ms",
		"p99 ms", "kern avg ms");
	nsz = distinct_sizes(r, sizes);
	for (i = 0; i < nsz; i++) {
		uint64_t cnt, cok;
		struct stats s, k;

		count_size(r, sizes[i], &cnt, &cok);
		n = sample(r, sizes[i], F_USER, buf);
		stats_compute(buf, n, &s);
		fprintf(f, "%10" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64,
			sizes[i], cnt, cok, cnt - cok);
		if (n)
			fprintf(f, " %11.3f %11.3f %11.3f %11.3f %11.3f",
				s.min / 1e6, s.mean / 1e6, s.max / 1e6,
				s.p50 / 1e6, s.p99 / 1e6);
		else
			fprintf(f, " %11s %11s %11s %11s %11s", "-", "-", "-",
				"-", "-");
		n = sample(r, sizes[i], F_KERNEL, buf);
		stats_compute(buf, n, &k);
		if (n)
			fprintf(f, " %11.3f\n", k.mean / 1e6);
		else
			fprintf(f, " %11s\n", "-");
	}
	accounting(r, &a);
	fprintf(f, "%" PRIu64 " requests", a.records);
	if (a.have_calls)
		fprintf(f, ", kernel counted %" PRIu64 " (vmstat cma_alloc_*)",
			a.calls);
	if (a.have_sys)
		fprintf(f,
			", sysfs pages ok %" PRIu64 "/%" PRIu64
			" failed %" PRIu64 "/%" PRIu64,
			a.sys_ok, a.pages_ok, a.sys_fail, a.pages_fail);
	fprintf(f, ": %s\n",
		a.match ? "accounting matches" :
			  "ACCOUNTING MISMATCH (another CMA user?)");
	if (r->error[0])
		fprintf(f, "error: %s\n", r->error);
	free(buf);
	free(sizes);
	return 0;
}
