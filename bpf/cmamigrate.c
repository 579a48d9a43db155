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

const char *argp_program_version = "cmamigrate 1.0";
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

static const struct argp_option opts[] = {
	{ "records", 'r', NULL, 0, "One record per allocation too", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	switch (key) {
	case 'r':
		env.records = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

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

/* Choose the path, pick the programs for it, load and attach them. */
static int setup(struct cmamigrate_bpf *obj)
{
	struct cmamigrate_bpf__rodata *ro = obj->rodata;
	struct bpf_program *fentry[NR_PHASES] = { obj->progs.fentry_isolate,
						  obj->progs.fentry_drain,
						  obj->progs.fentry_migrate,
						  obj->progs.fentry_test };
	struct bpf_program *fexit[NR_PHASES] = { obj->progs.fexit_isolate,
						 obj->progs.fexit_drain,
						 obj->progs.fexit_migrate,
						 obj->progs.fexit_test };
	struct bpf_program *tps[NR_PHASES] = { obj->progs.tp_range_isolate,
					       obj->progs.tp_range_drain,
					       obj->progs.tp_range_migrate,
					       obj->progs.tp_range_test };
	struct bpf_program *btfs[NR_PHASES] = { obj->progs.btf_range_isolate,
						obj->progs.btf_range_drain,
						obj->progs.btf_range_migrate,
						obj->progs.btf_range_test };
	static const int range_nargs[NR_PHASES] = { 4, 3, 9, 5 };
	bool avail[PATH_NONE], patched = true, has_mm;
	const char *why[PATH_NONE];
	int i;

	for (i = 0; i < NR_PHASES; i++)
		patched = patched &&
			  !tp_field("cma", range_events[i], "elapsed_ns",
				    &ro->f_ph_elapsed[i]);
	avail[PATH_PATCHED] = patched;
	why[PATH_PATCHED] =
		"no cma:cma_range_{isolate,drain,migrate,test} events (a kernel without the cmakit series)";
	avail[PATH_STOCK] = tp_exists("cma", "cma_alloc_start") &&
			    tp_exists("cma", "cma_alloc_finish");
	why[PATH_STOCK] =
		"no cma:cma_alloc_start/cma_alloc_finish trace events";
	avail[PATH_FENTRY] = avail[PATH_KPROBE] = false;
	why[PATH_FENTRY] = why[PATH_KPROBE] =
		"cmamigrate needs the cma:* events to tell allocations apart";
	tool_opts.path = choose_path(tool_opts.path, avail, why);
	if (tool_opts.path == PATH_NONE)
		return -ENOENT;

	tp_field("cma", "cma_alloc_start", "name", &ro->f_start_name);
	tp_field("cma", "cma_alloc_start", "count", &ro->f_start_count);
	tp_field("cma", "cma_alloc_finish", "page", &ro->f_fin_page);
	tp_field("cma", "cma_alloc_finish", "name", &ro->f_fin_name);
	tp_field("cma", "cma_alloc_finish", "count", &ro->f_fin_count);
	if (tool_opts.path == PATH_PATCHED)
		tp_field("cma", "cma_alloc_finish", "elapsed_ns",
			 &ro->f_fin_elapsed);
	bpf_program__set_autoload(obj->progs.tp_alloc_start,
				  tool_opts.path == PATH_STOCK);
	/* the series' events as raw tracepoints where BTF describes them */
	use_btf = tool_opts.path == PATH_PATCHED;
	for (i = 0; i < NR_PHASES; i++)
		use_btf = use_btf &&
			  tp_btf_args(range_events[i], range_nargs[i]);
	use_btf = use_btf && tp_btf_args("cma_alloc_finish", 8);
	bpf_program__set_autoload(obj->progs.btf_alloc_finish, use_btf);
	bpf_program__set_autoload(obj->progs.tp_alloc_finish, !use_btf);
	for (i = 0; i < NR_PHASES; i++) {
		bpf_program__set_autoload(btfs[i], use_btf);
		bpf_program__set_autoload(
			tps[i], tool_opts.path == PATH_PATCHED && !use_btf);
		if (tool_opts.path == PATH_PATCHED) {
			bpf_program__set_autoload(fentry[i], false);
			bpf_program__set_autoload(fexit[i], false);
			continue;
		}
		memset(&ro->f_ph_elapsed[i], 0, sizeof(ro->f_ph_elapsed[i]));
		/* stock: time the function itself where fentry can reach it */
		if (kfunc_traceable(phase_funcs[i])) {
			bpf_program__set_autoload(fentry[i], true);
			bpf_program__set_autoload(fexit[i], true);
		} else {
			bpf_program__set_autoload(fentry[i], false);
			bpf_program__set_autoload(fexit[i], false);
			note_unavailable(
				"%s phase time: %s not traceable by fentry",
				phase_names[i], phase_funcs[i]);
		}
	}
	if (tool_opts.path == PATH_PATCHED) {
		tp_field("cma", "cma_range_migrate", "nr_attempted",
			 &ro->f_mig_attempted);
		tp_field("cma", "cma_range_migrate", "nr_migrated",
			 &ro->f_mig_migrated);
		tp_field("cma", "cma_range_migrate", "nr_reclaimed",
			 &ro->f_mig_reclaimed);
		tp_field("cma", "cma_range_migrate", "nr_failed",
			 &ro->f_mig_failed);
		tp_field("cma", "cma_range_migrate", "passes",
			 &ro->f_mig_passes);
		has_mm = false;
	} else {
		has_mm = !tp_field("migrate", "mm_migrate_pages", "succeeded",
				   &ro->f_mm_succeeded) &&
			 !tp_field("migrate", "mm_migrate_pages", "failed",
				   &ro->f_mm_failed) &&
			 !tp_field("migrate", "mm_migrate_pages", "reason",
				   &ro->f_mm_reason);
		if (!has_mm)
			note_unavailable(
				"pages migrated: no migrate:mm_migrate_pages event");
		else
			note_unavailable(
				"pages reclaimed: only the series' cma_range_migrate counts them");
	}
	bpf_program__set_autoload(obj->progs.tp_mm_migrate_pages, has_mm);
	ro->unit_div = tool_opts.ms ? 1000000 : 1000;
	ro->want_records = env.records;
	ro->target_tgid = tool_opts.pid;
	return tool_start(obj->skeleton, NULL, NULL, NULL);
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
	struct mig_info *n;

	(void)ctx;
	if (len < sizeof(*r))
		return 0;
	if (!tool_opts.json) {
		print_record_text(r);
		return 0;
	}
	if (nr_recs == cap_recs) {
		cap_recs = cap_recs ? cap_recs * 2 : 64;
		n = realloc(recs, cap_recs * sizeof(*n));
		if (!n)
			return -ENOMEM;
		recs = n;
	}
	recs[nr_recs++] = *r;
	return 0;
}

struct row {
	struct mig_key key;
	struct mig_hist h;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->key.area, y->key.area);

	return c ? c : (int)x->key.kind - (int)y->key.kind;
}

static int collect(int fd, struct row **out)
{
	struct mig_key key, next, *prev = NULL;
	struct row *rows = NULL, *r;
	int n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			r = realloc(rows, cap * sizeof(*rows));
			if (!r) {
				free(rows);
				return -ENOMEM;
			}
			rows = r;
		}
		if (bpf_map_lookup_elem(fd, &key, &rows[n].h))
			continue;
		rows[n++].key = key;
	}
	clear_map(fd, &next);
	if (n)
		qsort(rows, n, sizeof(*rows), row_cmp);
	*out = rows;
	return n;
}

static void print_text(const struct row *rows, int n)
{
	const char *unit = tool_opts.ms ? "msecs" : "usecs";
	int i;

	print_timestamp();
	if (!n)
		printf("no CMA allocations reached alloc_contig_range()\n");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (r->key.kind == H_PAGES_MIGRATED)
			printf("\narea = %s  allocations = %llu  pages migrated = %llu\n",
			       r->key.area, r->h.count, r->h.sum);
		if (r->key.kind >= NR_HISTS)
			continue;
		printf("\n%s %s per allocation (total %llu)\n",
		       hist_names[r->key.kind],
		       r->key.kind == H_PAGES_MIGRATED ? "pages" : unit,
		       r->h.sum);
		print_log2_hist(stdout, r->h.slots, MAX_SLOTS,
				r->key.kind == H_PAGES_MIGRATED ? "pages" :
								  unit);
	}
	fflush(stdout);
}

static void print_json(const struct row *rows, int n, unsigned long long lost)
{
	struct json *js = tool_json_begin("cmamigrate");
	char key[32];
	size_t k;
	int i, j;

	json_str(js, "path", path_name(tool_opts.path));
	json_str(js, "unit", tool_opts.ms ? "ms" : "us");
	if (tool_opts.interval_given)
		json_s64(js, "interval_s", tool_opts.interval);
	else
		json_null(js, "interval_s");
	json_unavailable(js);
	json_arr_begin(js, "areas");
	for (i = 0; i < n; i = j) {
		json_obj_begin(js, NULL);
		json_str(js, "area", rows[i].key.area);
		json_u64(js, "allocations", rows[i].h.count);
		json_obj_begin(js, "histograms");
		for (j = i;
		     j < n && !strcmp(rows[j].key.area, rows[i].key.area);
		     j++) {
			if (rows[j].key.kind >= NR_HISTS)
				continue;
			json_obj_begin(js, hist_names[rows[j].key.kind]);
			json_u64(js, "count", rows[j].h.count);
			json_u64(js, "sum", rows[j].h.sum);
			json_log2_hist(js, "slots", rows[j].h.slots, MAX_SLOTS);
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
		for (k = 0; k < nr_recs; k++) {
			const struct mig_info *r = &recs[k];

			json_obj_begin(js, NULL);
			json_str(js, "comm", r->comm);
			json_u64(js, "pid", r->pid);
			json_str(js, "area", r->area);
			json_u64(js, "pages", r->count);
			json_bool(js, "ok", r->ok);
			json_u64(js, "ranges", r->ranges);
			json_u64(js, "nr_attempted", r->nr_attempted);
			json_u64(js, "nr_migrated", r->nr_migrated);
			json_u64(js, "nr_reclaimed", r->nr_reclaimed);
			json_u64(js, "nr_failed", r->nr_failed);
			json_u64(js, "passes", r->passes);
			json_u64(js, "elapsed_ns", r->elapsed_ns);
			for (i = 0; i < NR_PHASES; i++) {
				snprintf(key, sizeof(key), "%s_ns",
					 phase_names[i]);
				json_u64(js, key, r->phase_ns[i]);
			}
			json_obj_end(js);
		}
		json_arr_end(js);
		nr_recs = 0;
	}
	tool_json_end();
}

static int report(struct cmamigrate_bpf *obj, struct ring_buffer *rb)
{
	struct row *rows = NULL;
	int n;

	if (rb)
		ring_buffer__consume(rb);
	n = collect(bpf_map__fd(obj->maps.hists), &rows);
	if (n < 0)
		return n;
	if (tool_opts.json)
		print_json(rows, n, obj->bss->lost);
	else
		print_text(rows, n);
	free(rows);
	return 0;
}

int main(int argc, char **argv)
{
	struct cmamigrate_bpf *obj = NULL;
	struct ring_buffer *rb = NULL;
	time_t next;
	int err;

	if (tool_init("cmamigrate", "auto, patched, stock", true, opts,
		      parse_arg, doc, argc, argv))
		return 1;
	obj = cmamigrate_bpf__open();
	if (!obj)
		return tool_open_failed();
	err = setup(obj);
	if (err)
		goto cleanup;
	if (env.records) {
		rb = tool_ring_buffer(obj->maps.events, handle_event);
		if (!rb) {
			err = -errno;
			goto cleanup;
		}
	}
	fprintf(stderr,
		"cmamigrate: tracing alloc_contig_range() of CMA allocations on the %s path%s%s\n",
		path_name(tool_opts.path),
		use_btf ? " (BTF raw tracepoints)" : "",
		tool_opts.interval_given ? "" : "; Ctrl-C to end");
	signal_ready();

	next = time(NULL) + tool_opts.interval;
	while (!tool_exiting) {
		if (rb) {
			err = tool_poll(rb, 100);
			if (err > 0)
				break;
			if (err < 0)
				goto cleanup;
		} else {
			usleep(100000);
		}
		if (time(NULL) < next)
			continue;
		next += tool_opts.interval;
		err = report(obj, rb);
		if (err || --tool_opts.times <= 0)
			goto cleanup;
	}
	err = report(obj, rb);
cleanup:
	ring_buffer__free(rb);
	cmamigrate_bpf__destroy(obj);
	free(recs);
	return err != 0;
}
