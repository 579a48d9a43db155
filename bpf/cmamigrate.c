// SPDX-License-Identifier: GPL-2.0
/*
 * cmamigrate: what CMA allocations cost inside alloc_contig_range():
 * pages migrated per allocation and the time of each phase, as log2
 * histograms per area, and optionally one record per allocation.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cmamigrate.h"
#include "cmamigrate.skel.h"
#include "helpers.h"

static struct env {
	bool records;
} env;

static bool use_btf; /* the series' events as BTF raw tracepoints */

static const struct argp_option opts[] = {
	{ "records", 'r', NULL, 0, "One record per allocation too", 0 },
	{},
};

static const char doc[] =
	"Show what CMA allocations cost inside alloc_contig_range(): pages migrated\n"
	"per allocation and the time of each phase (isolate, drain, migrate, test).\n"
	"\n"
	"USAGE: cmamigrate [-h] [-m] [-r] [-T] [-j] [-p PID] [-P PATH] [--stock]\n"
	"                  [interval] [count]\n"
	"\n"
	"EXAMPLES:\n"
	"    cmamigrate          # histograms per area, Ctrl-C to end\n"
	"    cmamigrate -r       # and one line per allocation\n"
	"    cmamigrate -m 5 3   # millisecond histograms, every 5 s, 3 times\n"
	"    cmamigrate -j       # one JSON document at the end\n"
	"    cmamigrate --stock  # ignore the extended events of a patched kernel\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	const struct tool_flag flags[] = { { 'r', &env.records }, {} };

	(void)arg;
	(void)state;
	return set_tool_flag(flags, key) ? 0 : ARGP_ERR_UNKNOWN;
}

static const struct tool_cli cli = { "cmamigrate", "auto, patched, stock",
				     true,	   opts,
				     parse_arg,	   doc };

static const char *const phase_names[NR_PHASES] = { "isolate", "drain",
						    "migrate", "test" };
static const char *const hist_names[NR_HISTS] = { "pages_migrated", "isolate",
						  "drain",	    "migrate",
						  "test",	    "total" };
/* stock 6.1: the functions that make up alloc_contig_range() */
static const char *const phase_funcs[NR_PHASES] = {
	"start_isolate_page_range", "drain_all_pages",
	"__alloc_contig_migrate_range", "test_pages_isolated"
};
static const char *const range_events[NR_PHASES] = { "cma_range_isolate",
						     "cma_range_drain",
						     "cma_range_migrate",
						     "cma_range_test" };

/* A program of @obj, "<kind>_<phase>", e.g. fentry_isolate */
static struct bpf_program *phase_prog(struct cmamigrate_bpf *obj,
				      const char *kind, int ph)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", kind, phase_names[ph]);
	return bpf_object__find_program_by_name(obj->obj, name);
}

/* Choose the path, pick the programs for it, load and attach them. */
static int setup(struct cmamigrate_bpf *obj)
{
	static const char *const mig_fields[] = { "nr_attempted", "nr_migrated",
						  "nr_reclaimed", "nr_failed",
						  "passes",	  NULL };
	static const char *const mm_fields[] = { "succeeded", "failed",
						 "reason", NULL };
	static const int range_nargs[NR_PHASES] = { 4, 3, 9, 5 };
	struct cmamigrate_bpf__rodata *ro = obj->rodata;
	bool patched = true, timed, has_mm = false;
	enum cma_path path;
	int i;

	for (i = 0; i < NR_PHASES; i++)
		patched = patched &&
			  !tp_field("cma", range_events[i], "elapsed_ns",
				    &ro->f_ph_elapsed[i]);
	read_alloc_fields(&ro->af);
	path = choose_tool_path(
		patched,
		"no cma:cma_range_{isolate,drain,migrate,test} events (a kernel without the cmakit series)",
		NULL);
	if (path == PATH_NONE)
		return -ENOENT;
	if (use_alloc_fields(&ro->af))
		return -EINVAL;
	bpf_program__set_autoload(obj->progs.tp_alloc_start,
				  path == PATH_STOCK);
	/* the series' events as raw tracepoints where BTF describes them */
	use_btf = path == PATH_PATCHED && tp_btf_args("cma_alloc_finish", 8);
	for (i = 0; i < NR_PHASES; i++)
		use_btf = use_btf &&
			  tp_btf_args(range_events[i], range_nargs[i]);
	bpf_program__set_autoload(obj->progs.btf_alloc_finish, use_btf);
	bpf_program__set_autoload(obj->progs.tp_alloc_finish, !use_btf);
	for (i = 0; i < NR_PHASES; i++) {
		bpf_program__set_autoload(phase_prog(obj, "btf_range", i),
					  use_btf);
		bpf_program__set_autoload(phase_prog(obj, "tp_range", i),
					  path == PATH_PATCHED && !use_btf);
		/* stock: time the function itself where fentry can reach it */
		timed = path == PATH_STOCK && kfunc_traceable(phase_funcs[i]);
		bpf_program__set_autoload(phase_prog(obj, "fentry", i), timed);
		bpf_program__set_autoload(phase_prog(obj, "fexit", i), timed);
		if (path == PATH_PATCHED)
			continue;
		memset(&ro->f_ph_elapsed[i], 0, sizeof(ro->f_ph_elapsed[i]));
		if (!timed)
			note_unavailable(
				"%s phase time: %s not traceable by fentry",
				phase_names[i], phase_funcs[i]);
	}
	if (path == PATH_PATCHED) {
		for (i = 0; mig_fields[i]; i++)
			tp_field("cma", "cma_range_migrate", mig_fields[i],
				 (struct tp_field *)&ro->f_mig + i);
	} else {
		has_mm = true;
		for (i = 0; mm_fields[i]; i++)
			has_mm = !tp_field("migrate", "mm_migrate_pages",
					   mm_fields[i],
					   (struct tp_field *)&ro->f_mm + i) &&
				 has_mm;
		note_unavailable(
			has_mm ?
				"pages reclaimed: only the series' cma_range_migrate counts them" :
				"pages migrated: no migrate:mm_migrate_pages event");
	}
	bpf_program__set_autoload(obj->progs.tp_mm_migrate_pages, has_mm);
	ro->unit_div = tool_opts.ms ? 1000000 : 1000;
	ro->want_records = env.records;
	ro->target_tgid = tool_opts.pid;
	return tool_start(obj->skeleton, NULL, NULL);
}

/* per-allocation records kept until the next JSON document */
static struct mig_info *recs;
static size_t nr_recs, cap_recs;

static void print_record_text(const struct mig_info *r)
{
	double div = tool_opts.ms ? 1e6 : 1e3;
	int i;

	printf("%-16s %-7u %-12s %-7llu %-4s migrated %-6llu failed %-5llu passes %-3u",
	       r->comm, r->pid, r->area, r->count, r->ok ? "ok" : "fail",
	       r->nr_migrated, r->nr_failed, r->passes);
	for (i = 0; i < NR_PHASES; i++)
		printf(" %s %.1f", phase_names[i], r->phase_ns[i] / div);
	printf(" total %.1f %s\n", r->elapsed_ns / div,
	       tool_opts.ms ? "ms" : "us");
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct mig_info *r = data;

	(void)ctx;
	if (len < sizeof(*r))
		return 0;
	if (!tool_opts.json) {
		print_record_text(r);
		return 0;
	}
	if (grow_array((void **)&recs, &cap_recs, nr_recs, sizeof(*r)))
		return -ENOMEM;
	recs[nr_recs++] = *r;
	return 0;
}

struct area {
	struct mig_hists h; /* h.area: the area's name */
};

struct areas {
	struct area *area;
	size_t n, cap;
};

static int area_cmp(const void *a, const void *b)
{
	return strcmp(((const struct area *)a)->h.area,
		      ((const struct area *)b)->h.area);
}

static int add_area(const void *key, const void *value, void *ctx)
{
	struct areas *t = ctx;

	(void)key;
	if (grow_array((void **)&t->area, &t->cap, t->n, sizeof(*t->area)))
		return -ENOMEM;
	memcpy(&t->area[t->n++].h, value, sizeof(struct mig_hists));
	return 0;
}

static void print_text(const struct area *areas, size_t n)
{
	const char *unit = tool_opts.ms ? "msecs" : "usecs";
	const char *u;
	size_t i;
	int k;

	print_timestamp();
	if (!n)
		printf("no CMA allocations reached alloc_contig_range()\n");
	for (i = 0; i < n; i++) {
		const struct mig_hist *h = areas[i].h.h;

		printf("\narea = %s  allocations = %llu  pages migrated = %llu\n",
		       areas[i].h.area, h[H_PAGES_MIGRATED].count,
		       h[H_PAGES_MIGRATED].sum);
		for (k = 0; k < NR_HISTS; k++) {
			u = k == H_PAGES_MIGRATED ? "pages" : unit;
			printf("\n%s %s per allocation (total %llu)\n",
			       hist_names[k], u, h[k].sum);
			print_log2_hist(stdout, h[k].slots, MAX_SLOTS, u);
		}
	}
	fflush(stdout);
}

static void print_json(const struct area *areas, size_t n,
		       unsigned long long lost)
{
	struct json *js = tool_json_summary("cmamigrate");
	char key[32];
	size_t i;
	int k;

	json_arr_begin(js, "areas");
	for (i = 0; i < n; i++) {
		const struct mig_hist *h = areas[i].h.h;

		json_obj_begin(js, NULL);
		json_str(js, "area", areas[i].h.area);
		json_u64(js, "allocations", h[H_PAGES_MIGRATED].count);
		json_obj_begin(js, "histograms");
		for (k = 0; k < NR_HISTS; k++) {
			json_obj_begin(js, hist_names[k]);
			json_u64(js, "count", h[k].count);
			json_u64(js, "sum", h[k].sum);
			json_log2_hist(js, "slots", h[k].slots, MAX_SLOTS);
			json_obj_end(js);
		}
		json_obj_end(js);
		json_obj_end(js);
	}
	json_arr_end(js);
	json_u64(js, "lost", lost);
	if (env.records) {
		json_arr_begin(js, "records");
		json_lines(js, JSON_LINES);
		for (i = 0; i < nr_recs; i++) {
			const struct mig_info *r = &recs[i];
			const struct json_u64_kv kv[] = {
				{ "ranges", r->ranges },
				{ "nr_attempted", r->nr_attempted },
				{ "nr_migrated", r->nr_migrated },
				{ "nr_reclaimed", r->nr_reclaimed },
				{ "nr_failed", r->nr_failed },
				{ "passes", r->passes },
				{ "elapsed_ns", r->elapsed_ns },
			};

			json_obj_begin(js, NULL);
			json_alloc(js, r->comm, r->pid, r->area, r->count);
			json_bool(js, "ok", r->ok);
			json_u64s(js, kv, ARRAY_SIZE(kv));
			for (k = 0; k < NR_PHASES; k++) {
				snprintf(key, sizeof(key), "%s_ns",
					 phase_names[k]);
				json_u64(js, key, r->phase_ns[k]);
			}
			json_obj_end(js);
		}
		json_arr_end(js);
		nr_recs = 0;
	}
	tool_json_end();
}

struct report_ctx {
	struct cmamigrate_bpf *obj;
	struct ring_buffer *rb;
};

static int report(void *ctx)
{
	struct report_ctx *c = ctx;
	struct areas t = {};
	int err;

	if (c->rb)
		ring_buffer__consume(c->rb);
	err = map_drain(bpf_map__fd(c->obj->maps.hists), sizeof(struct mig_key),
			sizeof(struct mig_hists), add_area, &t);
	if (!err) {
		if (t.n)
			qsort(t.area, t.n, sizeof(*t.area), area_cmp);
		if (tool_opts.json)
			print_json(t.area, t.n, c->obj->bss->lost);
		else
			print_text(t.area, t.n);
	}
	free(t.area);
	return err;
}

int main(int argc, char **argv)
{
	struct report_ctx c = {};
	int err;

	if (tool_init(&cli, argc, argv))
		return 1;
	c.obj = cmamigrate_bpf__open();
	err = c.obj ? setup(c.obj) : tool_open_failed();
	if (!err && env.records) {
		c.rb = tool_ring_buffer(c.obj->maps.events, handle_event);
		err = c.rb ? 0 : -errno;
	}
	if (!err) {
		tool_ready("alloc_contig_range() of CMA allocations", use_btf,
			   !tool_opts.interval_given);
		err = tool_report_loop(c.rb, report, &c);
	}
	ring_buffer__free(c.rb);
	cmamigrate_bpf__destroy(c.obj);
	free(recs);
	return err != 0;
}
