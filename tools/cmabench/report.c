// SPDX-License-Identifier: GPL-2.0
/*
 * The results directory: result.json (docs/results.md; its summary section
 * from summary.c), allocations.jsonl, areamap.json (from areamap.c) and
 * summary.txt (summary.c's table), and --json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmabench.h"
#include "json.h"
#include "report.h"
#include "util.h"

static void kv_obj(struct json *j, const char *key, const struct cb_kv *kv)
{
	size_t i;

	json_obj_begin(j, key);
	for (i = 0; i < kv->n; i++)
		json_u64(j, kv->key[i], kv->val[i]);
	json_obj_end(j);
}

/* after - before, all keys of @after (or only changed ones). */
static void kv_delta(struct json *j, const char *key, const struct cb_kv *b,
		     const struct cb_kv *a, bool changed_only)
{
	size_t i;

	json_obj_begin(j, key);
	for (i = 0; i < a->n; i++) {
		uint64_t v0 = 0;
		int64_t d;

		cb_kv_get(b, a->key[i], &v0);
		d = (int64_t)(a->val[i] - v0);
		if (!changed_only || d)
			json_s64(j, a->key[i], d);
	}
	json_obj_end(j);
}

static void counters_obj(struct json *j, const char *key,
			 const struct cb_run *r, const struct cb_counters *c)
{
	int i;

	json_obj_begin(j, key);
	kv_obj(j, "vmstat", &c->vmstat);
	kv_obj(j, "meminfo_kb", &c->meminfo);
	json_obj_begin(j, "areas");
	for (i = 0; i < r->nareas; i++) {
		json_obj_begin(j, r->areas[i].name);
		if (c->area[i].has_sysfs)
			kv_obj(j, "sysfs", &c->area[i].sysfs);
		kv_obj(j, "debugfs", &c->area[i].debugfs);
		if (c->area[i].has_stats)
			kv_obj(j, "stats", &c->area[i].stats);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_obj_end(j);
}

static void mix_obj(struct json *j, const struct kpage_mix *m)
{
	const struct json_u64_kv kv[] = {
		{ "free", m->free },
		{ "cma", m->cma },
		{ "anon", m->anon },
		{ "file", m->file },
		{ "shmem", m->shmem },
		{ "other", m->other },
		{ "thp", m->thp },
		{ "dirty", m->dirty },
		{ "writeback", m->writeback },
		{ "mapped", m->mapped },
	};

	json_obj_begin(j, "pages");
	json_u64s(j, kv, ARRAY_SIZE(kv));
	json_obj_end(j);
}

/* run.config: the effective settings */
static void write_config(struct json *j, const struct cb_config *c)
{
	int k;

	json_obj_begin(j, "config");
	json_str(j, "area", c->area);
	if (c->dist == DIST_LIST) {
		json_arr_begin(j, "sizes_pages");
		for (k = 0; k < c->nsizes; k++)
			json_u64(j, NULL, c->sizes[k]);
		json_arr_end(j);
		json_null(j, "size_dist");
	} else {
		json_null(j, "sizes_pages");
		json_str(j, "size_dist", c->dist_spec);
	}
	json_u64(j, "align", c->align);
	json_u64(j, "count", c->count);
	json_double(j, "duration_s", c->duration_s);
	json_u64(j, "threads", c->threads);
	json_u64(j, "hold_ms", c->hold_ms);
	json_u64(j, "window", c->window);
	json_str(j, "release", cb_release_names[c->release]);
	null_or_double(j, "occupancy_target", c->occ_target);
	json_double(j, "occupancy_tolerance", c->occ_tol);
	json_str(j, "fill", cb_kind_names[c->fill]);
	json_u64(j, "headroom_kb", c->headroom / 1024);
	json_arr_begin(j, "pressure");
	for (k = 0; k < c->npressure; k++) {
		char s[64];

		snprintf(s, sizeof(s), "%s:%" PRIu64,
			 cb_kind_names[c->pressure[k].kind],
			 c->pressure[k].amount);
		if (c->pressure[k].kind == K_PIN && c->pressure[k].offset >= 0)
			snprintf(s + strlen(s), sizeof(s) - strlen(s),
				 "@%" PRId64, c->pressure[k].offset);
		json_str(j, NULL, s);
	}
	json_arr_end(j);
	json_u64(j, "seed", c->seed);
	json_obj_end(j);
}

/* run.kernel and run.board */
static void write_system(struct json *j, const struct cb_run *r)
{
	json_obj_begin(j, "kernel");
	json_str(j, "release", r->release);
	json_str(j, "version", r->kversion);
	json_str(j, "machine", r->machine);
	json_str(j, "series_hash", r->series_hash[0] ? r->series_hash : NULL);
	json_bool(j, "patched",
		  r->feat.cma_bench_dev || r->feat.debugfs_stats ||
			  r->feat.fail_cma);
	json_obj_end(j);
	json_obj_begin(j, "board");
	json_str(j, "hostname", r->hostname);
	json_str(j, "model", r->model[0] ? r->model : NULL);
	json_s64(j, "cpus", r->cpus);
	json_u64(j, "mem_total_kb", r->mem_total_kb);
	json_s64(j, "page_size", r->page_size);
	json_obj_end(j);
}

/* run.backend and run.features */
static void write_backend(struct json *j, const struct cb_run *r)
{
	unsigned int caps = r->ops ? r->ops->caps : 0;

	json_obj_begin(j, "backend");
	json_str(j, "name", cb_backend_names[r->backend]);
	json_str(j, "requested", cb_backend_names[r->cfg.backend]);
	json_bool(j, "kernel_timing", r->kernel_timing);
	json_bool(j, "pfn", caps & CB_CAP_PFN);
	json_bool(j, "retries", caps & CB_CAP_KERNEL_TIME);
	json_bool(j, "align", caps & CB_CAP_ALIGN);
	if (r->n_null_ioctl) {
		uint64_t v[CB_NULL_IOCTLS];

		memcpy(v, r->null_ioctl_ns, r->n_null_ioctl * sizeof(v[0]));
		cb_json_stats(j, "null_ioctl_ns", v, r->n_null_ioctl);
	} else {
		json_null(j, "null_ioctl_ns");
	}
	json_obj_end(j);
	json_obj_begin(j, "features");
	json_bool(j, "cma_bench_dev", r->feat.cma_bench_dev);
	json_bool(j, "debugfs", r->feat.debugfs);
	json_bool(j, "debugfs_stats", r->feat.debugfs_stats);
	json_bool(j, "sysfs", r->feat.sysfs);
	json_bool(j, "dma_heap", r->feat.dma_heap);
	json_bool(j, "fail_cma", r->feat.fail_cma);
	json_bool(j, "kpageflags", r->feat.kpageflags);
	json_obj_end(j);
}

static const char *pressure_detail(const struct cb_pressure *p)
{
	switch (p->kind) {
	case K_CHURN:
		return "build-like worker processes touching 8-40 MiB each";
	case K_ODIRECT:
		return "threads with O_DIRECT reads in flight (short-lived pins)";
	case K_PIN:
		return p->offset >= 0 ?
			       "CMA_BENCH_IOC_PIN of the in-use pages of a range of the area each round" :
			       "CMA_BENCH_IOC_PIN of in-use area pages each round";
	case K_DIRTY:
		return "file pages re-dirtied and under writeback";
	default:
		return "resident for the whole run";
	}
}

/* run.pressure and run.inject */
static void write_load(struct json *j, const struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	int k;

	json_arr_begin(j, "pressure");
	for (k = 0; k < c->npressure; k++) {
		const struct cb_pressure *p = &c->pressure[k];

		json_obj_begin(j, NULL);
		json_str(j, "kind", cb_kind_names[p->kind]);
		if (p->kind <= K_THP)
			json_u64(j, "bytes", p->amount);
		else
			json_null(j, "bytes");
		json_str(j, "detail", pressure_detail(p));
		json_obj_end(j);
	}
	json_arr_end(j);
	if (!c->inject) {
		json_null(j, "inject");
		return;
	}
	json_obj_begin(j, "inject");
	json_str(j, "stage", c->inject_stage);
	json_u64(j, "probability", c->inject_prob);
	json_s64(j, "times", c->inject_times);
	null_or_s64(j, "injected_faults",
		    r->injected_before >= 0 && r->injected_after >= 0 ?
			    r->injected_after - r->injected_before :
			    -1);
	json_obj_end(j);
}

static void write_run(struct json *j, const struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	int k;

	json_obj_begin(j, "run");
	json_str(j, "id", r->run_id);
	json_str(j, "tool", "cmabench");
	json_str(j, "tool_version", CB_VERSION);
	json_str(j, "status", r->status);
	json_str(j, "error", r->error[0] ? r->error : NULL);
	json_str(j, "started", r->started[0] ? r->started : NULL);
	json_str(j, "finished", r->finished[0] ? r->finished : NULL);
	json_double(j, "duration_s",
		    r->t_end_ns > r->t0_ns && r->t0_ns ?
			    (r->t_end_ns - r->t0_ns) / 1e9 :
			    0);
	json_arr_begin(j, "command_line");
	for (k = 0; k < r->argc; k++)
		json_str(j, NULL, r->argv[k]);
	json_arr_end(j);
	if (strcmp(c->scenario, "custom")) {
		json_obj_begin(j, "scenario");
		json_str(j, "name", c->scenario);
		json_str(j, "description", c->description);
		json_str(j, "source", c->scenario_src);
		json_obj_end(j);
	} else {
		json_null(j, "scenario");
	}
	write_config(j, c);
	write_system(j, r);
	write_backend(j, r);
	write_load(j, r);
	json_obj_end(j);
}

static void write_areas(struct json *j, const struct cb_run *r)
{
	int k;

	json_arr_begin(j, "areas");
	for (k = 0; k < r->nareas; k++) {
		json_obj_begin(j, NULL);
		json_str(j, "name", r->areas[k].name);
		json_u64(j, "base_pfn", r->areas[k].base_pfn);
		json_u64(j, "pages", r->areas[k].pages);
		json_u64(j, "order_per_bit", r->areas[k].order_per_bit);
		json_str(j, "dma_heap",
			 r->areas[k].heap[0] ? r->areas[k].heap : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void write_record(struct json *j, const struct cb_run *r,
			 const struct cb_record *x)
{
	const struct cb_config *c = &r->cfg;
	const struct json_u64_kv head[] = {
		{ "seq", x->seq },
		{ "round", x->round },
		{ "thread", x->thread },
		{ "t_ns", x->t_ns },
	};

	json_obj_begin(j, NULL);
	json_u64s(j, head, ARRAY_SIZE(head));
	json_str(j, "area", c->area);
	json_u64(j, "pages", x->pages);
	json_u64(j, "align", x->align);
	json_bool(j, "ok", x->ok);
	json_s64(j, "errno", x->ok ? 0 : x->err);
	json_str(j, "error", x->ok ? NULL : errno_name(x->err));
	json_u64(j, "user_ns", x->user_ns);
	null_or_s64(j, "user_corrected_ns", x->user_corrected_ns);
	null_or_s64(j, "kernel_ns", x->kernel_ns);
	null_or_s64(j, "retries", x->retries);
	null_or_s64(j, "pfn", x->pfn);
	if (x->injected < 0)
		json_null(j, "injected");
	else
		json_bool(j, "injected", x->injected);
	null_or_s64(j, "migrated", x->migrated);
	null_or_s64(j, "release_ns", x->release_ns);
	null_or_s64(j, "pinned", x->pinned);
	if (x->has_occ) {
		json_obj_begin(j, "occupancy");
		null_or_double(j, "target", c->occ_target);
		json_double(j, "used", x->occ_used);
		null_or_double(j, "landing", x->landing);
		mix_obj(j, &x->mix);
		json_obj_end(j);
	} else {
		json_null(j, "occupancy");
	}
	json_obj_end(j);
}

static void write_allocations(struct json *j, const struct cb_run *r)
{
	size_t i;

	json_arr_begin(j, "allocations");
	for (i = 0; i < r->nrec; i++)
		write_record(j, r, &r->rec[i]);
	json_arr_end(j);
}

static void write_counters(struct json *j, const struct cb_run *r)
{
	int k;

	json_obj_begin(j, "counters");
	if (r->have_before)
		counters_obj(j, "before", r, &r->before);
	else
		json_null(j, "before");
	if (r->have_after)
		counters_obj(j, "after", r, &r->after);
	else
		json_null(j, "after");
	if (r->have_before && r->have_after) {
		json_obj_begin(j, "delta");
		kv_delta(j, "vmstat", &r->before.vmstat, &r->after.vmstat,
			 true);
		json_obj_begin(j, "areas");
		for (k = 0; k < r->nareas; k++) {
			json_obj_begin(j, r->areas[k].name);
			if (r->after.area[k].has_sysfs)
				kv_delta(j, "sysfs", &r->before.area[k].sysfs,
					 &r->after.area[k].sysfs, false);
			if (r->after.area[k].has_stats)
				kv_delta(j, "stats", &r->before.area[k].stats,
					 &r->after.area[k].stats, false);
			json_obj_end(j);
		}
		json_obj_end(j);
		json_obj_end(j);
	} else {
		json_null(j, "delta");
	}
	json_obj_end(j);
}

/* The whole document, section by section (docs/results.md). 0 or -1. */
static int write_doc(const struct cb_run *r, FILE *f)
{
	struct json j;

	json_init(&j, f, 2);
	json_obj_begin(&j, NULL);
	json_str(&j, "schema", CB_SCHEMA);
	write_run(&j, r);
	write_areas(&j, r);
	write_allocations(&j, r);
	write_counters(&j, r);
	if (cb_write_summary(&j, r)) {
		errno = ENOMEM;
		return -1;
	}
	json_obj_end(&j);
	return json_finish(&j);
}

/*
 * allocations.jsonl: the records of result.json's allocations array, the
 * same objects in the same order, one per line (written at the end, from
 * the same records).
 */
static int write_jsonl(const struct cb_run *r, FILE *f)
{
	struct json j;
	size_t i;

	for (i = 0; i < r->nrec; i++) {
		json_init(&j, f, 0);
		write_record(&j, r, &r->rec[i]);
		if (json_finish(&j))
			return -1;
	}
	return fflush(f) || ferror(f) ? -1 : 0;
}

static int write_table(const struct cb_run *r, FILE *f)
{
	if (cb_print_table(r, f)) {
		errno = ENOMEM;
		return -1;
	}
	return fflush(f) || ferror(f) ? -1 : 0;
}

/*
 * Write @path with @doc, through a temporary renamed into place when
 * @atomic (a reader never sees half a file). One line on failure. 0 or -1.
 */
static int save(const struct cb_run *r, const char *path,
		int (*doc)(const struct cb_run *, FILE *), bool atomic)
{
	char tmp[640];
	const char *name = path;
	FILE *f;
	int rc;

	if (atomic) {
		snprintf(tmp, sizeof(tmp), "%s.tmp",
			 path); /* paths are < 600 */
		name = tmp;
	}
	f = fopen(name, "we");
	if (!f) {
		fprintf(stderr, "cmabench: cannot write %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	rc = doc(r, f);
	if (!rc && atomic)
		rc = fsync(fileno(f));
	if (fclose(f))
		rc = -1;
	if (!rc && atomic)
		rc = rename(tmp, path);
	if (rc) {
		fprintf(stderr, "cmabench: writing %s failed: %s\n", path,
			strerror(errno));
		if (atomic)
			unlink(tmp);
		return -1;
	}
	return 0;
}

int cb_write_results(const struct cb_run *r)
{
	const char *dir = r->cfg.out;
	char p[600];
	int rc = 0;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "cmabench: cannot create %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	snprintf(p, sizeof(p), "%s/result.json", dir); /* out[] is shorter */
	rc |= save(r, p, write_doc, false);
	snprintf(p, sizeof(p), "%s/allocations.jsonl", dir);
	rc |= save(r, p, write_jsonl, true);
	if (cb_areamap_taken(r)) {
		snprintf(p, sizeof(p), "%s/areamap.json", dir);
		rc |= save(r, p, cb_areamap_doc, true);
	}
	snprintf(p, sizeof(p), "%s/summary.txt", dir);
	rc |= save(r, p, write_table, false);
	if (!strcmp(r->cfg.json, "-")) {
		if (write_doc(r, stdout)) {
			fprintf(stderr,
				"cmabench: writing the document to stdout failed: %s\n",
				strerror(errno));
			rc = -1;
		}
	} else if (r->cfg.json[0]) {
		rc |= save(r, r->cfg.json, write_doc, false);
	}
	return rc ? -1 : 0;
}
