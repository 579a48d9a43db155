// SPDX-License-Identifier: GPL-2.0
/*
 * cmalat: summarize CMA allocation latency as log2 histograms per area,
 * size class and error code.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cmalat.h"
#include "cmalat.skel.h"
#include "helpers.h"

static struct env {
	bool per_size;
} env;

static bool use_btf; /* the series' events as BTF raw tracepoints */

const char *argp_program_version = "cmalat 1.0";
static const char doc[] =
	"Summarize CMA allocation latency as log2 histograms per area, size class\n"
	"and error code.\n"
	"\n"
	"USAGE: cmalat [-h] [-m] [-S] [-T] [-j] [-p PID] [-P PATH] [--stock]\n"
	"              [interval] [count]\n"
	"\n"
	"EXAMPLES:\n"
	"    cmalat              # histograms per area and error, Ctrl-C to end\n"
	"    cmalat 1 10         # print 1 second summaries, 10 times\n"
	"    cmalat -mS          # milliseconds, one histogram per size class too\n"
	"    cmalat -j 5 1       # one JSON document after 5 seconds\n"
	"    cmalat --stock      # ignore the extended events of a patched kernel\n";

static const struct argp_option opts[] = {
	{ "size", 'S', NULL, 0,
	  "One histogram per size class (log2 of pages) too", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	switch (key) {
	case 'S':
		env.per_size = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* What the probes found; printed in the JSON. */
static enum errno_src errsrc = ERRSRC_NONE;
static const char *acr_kprobe;

/* Choose the path, pick the programs for it, load and attach them. */
static int setup(struct cmalat_bpf *obj)
{
	struct cmalat_bpf__rodata *ro = obj->rodata;
	bool has_start, has_fin, has_retry, patched;
	bool avail[PATH_NONE];
	const char *why[PATH_NONE];

	has_start = tp_exists("cma", "cma_alloc_start");
	has_fin = tp_exists("cma", "cma_alloc_finish");
	has_retry = tp_exists("cma", "cma_alloc_busy_retry");
	/* errorno and elapsed_ns: the cmakit series (upstream added errorno in 6.7) */
	patched = has_fin &&
		  !tp_field("cma", "cma_alloc_finish", "errorno",
			    &ro->f_fin_errorno) &&
		  !tp_field("cma", "cma_alloc_finish", "elapsed_ns",
			    &ro->f_fin_elapsed);
	tp_field("cma", "cma_alloc_finish", "retries", &ro->f_fin_retries);

	avail[PATH_PATCHED] = patched;
	why[PATH_PATCHED] =
		"cma_alloc_finish has no errorno/elapsed_ns fields (a kernel without the cmakit series)";
	avail[PATH_STOCK] = has_start && has_fin;
	why[PATH_STOCK] =
		"no cma:cma_alloc_start/cma_alloc_finish trace events (tracefs not mounted, or CONFIG_CMA without tracepoints)";
	tool_opts.path = choose_cma_alloc_path(tool_opts.path, avail, why,
					       obj->progs.fentry_cma_alloc,
					       obj->progs.fexit_cma_alloc,
					       obj->progs.kprobe_cma_alloc,
					       obj->progs.kretprobe_cma_alloc);
	if (tool_opts.path == PATH_NONE)
		return -ENOENT;

	if (tool_opts.path == PATH_PATCHED) {
		errsrc = ERRSRC_EVENT;
	} else {
		memset(&ro->f_fin_errorno, 0, sizeof(ro->f_fin_errorno));
		memset(&ro->f_fin_elapsed, 0, sizeof(ro->f_fin_elapsed));
		memset(&ro->f_fin_retries, 0, sizeof(ro->f_fin_retries));
	}
	if (tool_opts.path == PATH_PATCHED || tool_opts.path == PATH_STOCK) {
		tp_field("cma", "cma_alloc_start", "name", &ro->f_start_name);
		tp_field("cma", "cma_alloc_start", "count", &ro->f_start_count);
		tp_field("cma", "cma_alloc_finish", "name", &ro->f_fin_name);
		tp_field("cma", "cma_alloc_finish", "page", &ro->f_fin_page);
		tp_field("cma", "cma_alloc_finish", "count", &ro->f_fin_count);
		if (!(ro->f_fin_name.flags & TPF_DATA_LOC) ||
		    !(ro->f_fin_page.flags & TPF_PRESENT) ||
		    !(ro->f_fin_count.flags & TPF_PRESENT)) {
			error_line(
				"cma_alloc_finish lacks its stock fields name, page, count");
			return -EINVAL;
		}
	} else if (has_start || has_fin) {
		note_unavailable("cma:* events not used on path %s",
				 path_name(tool_opts.path));
	}
	if (!has_retry && tool_opts.path != PATH_PATCHED)
		note_unavailable(
			"busy retry counts: no cma:cma_alloc_busy_retry event");

	ro->use_event_timing = tool_opts.path == PATH_PATCHED;
	ro->unit_div = tool_opts.ms ? 1000000 : 1000;
	ro->target_tgid = tool_opts.pid;

	bpf_program__set_autoload(obj->progs.tp_alloc_start,
				  tool_opts.path == PATH_STOCK);
	/* the series' event as a raw tracepoint where BTF describes it */
	use_btf = tool_opts.path == PATH_PATCHED &&
		  tp_btf_args("cma_alloc_finish", 8);
	bpf_program__set_autoload(obj->progs.btf_alloc_finish, use_btf);
	bpf_program__set_autoload(obj->progs.tp_alloc_finish,
				  tool_opts.path <= PATH_STOCK && !use_btf);
	bpf_program__set_autoload(obj->progs.tp_busy_retry,
				  tool_opts.path != PATH_PATCHED && has_retry);
	/* Stock 6.1 does not say why an allocation failed: ask the range allocator. */
	errsrc = setup_errno_source(tool_opts.path, obj->progs.fexit_acr,
				    obj->progs.kretprobe_acr, &acr_kprobe);
	return tool_start(obj->skeleton, obj->progs.kretprobe_acr, acr_kprobe,
			  &obj->links.kretprobe_acr);
}

struct row {
	struct hist_key key;
	struct hist h;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->key.area, y->key.area);

	if (c)
		return c;
	if (x->key.size_class != y->key.size_class)
		return x->key.size_class < y->key.size_class ? -1 : 1;
	return x->key.err < y->key.err ? 1 : x->key.err > y->key.err ? -1 : 0;
}

/* Read and clear the histograms; merge size classes unless keep_size. */
static int collect(int fd, bool keep_size, struct row **out)
{
	struct hist_key key, next, *prev = NULL;
	struct row *rows = NULL, *r;
	int n = 0, cap = 0, i, j;
	struct hist h;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &h))
			continue;
		if (!keep_size)
			key.size_class = 0;
		for (i = 0; i < n; i++)
			if (!memcmp(&rows[i].key, &key, sizeof(key)))
				break;
		if (i == n) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				r = realloc(rows, cap * sizeof(*rows));
				if (!r) {
					free(rows);
					return -ENOMEM;
				}
				rows = r;
			}
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n++].key = key;
		}
		r = &rows[i];
		for (j = 0; j < MAX_SLOTS; j++)
			r->h.slots[j] += h.slots[j];
		r->h.count += h.count;
		r->h.sum_ns += h.sum_ns;
		r->h.retries += h.retries;
		if (h.max_ns > r->h.max_ns)
			r->h.max_ns = h.max_ns;
	}
	/* delete what was read; allocations counted meanwhile go to the next round */
	clear_map(fd, &next);
	if (n)
		qsort(rows, n, sizeof(*rows), row_cmp);
	*out = rows;
	return n;
}

static void print_text(const struct row *rows, int n)
{
	const char *unit = tool_opts.ms ? "msecs" : "usecs";
	double div = tool_opts.ms ? 1e6 : 1e3;
	int i;

	print_timestamp();
	if (!n)
		printf("no CMA allocations\n");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("\narea = %s", r->key.area);
		if (env.per_size)
			printf("  pages = %llu..%llu",
			       1ULL << r->key.size_class,
			       (2ULL << r->key.size_class) - 1);
		printf("  result = %s  count = %llu  avg = %.1f %s  max = %.1f %s",
		       errno_str(r->key.err), r->h.count,
		       r->h.count ? r->h.sum_ns / div / r->h.count : 0.0,
		       unit + 0, r->h.max_ns / div, unit);
		if (r->h.retries)
			printf("  busy retries = %llu", r->h.retries);
		printf("\n");
		print_log2_hist(stdout, r->h.slots, MAX_SLOTS, unit);
	}
	fflush(stdout);
}

static void print_json(const struct row *rows, int n)
{
	unsigned long long total = 0, failed = 0;
	struct json *j = tool_json_begin("cmalat");
	int i;

	json_str(j, "path", path_name(tool_opts.path));
	json_str(j, "errno_source", errsrc_name(errsrc));
	json_str(j, "unit", tool_opts.ms ? "ms" : "us");
	if (tool_opts.interval_given)
		json_s64(j, "interval_s", tool_opts.interval);
	else
		json_null(j, "interval_s");
	json_unavailable(j);
	json_arr_begin(j, "histograms");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		json_obj_begin(j, NULL);
		json_str(j, "area", r->key.area);
		json_u64(j, "size_class", r->key.size_class);
		json_u64(j, "pages_min", 1ULL << r->key.size_class);
		json_u64(j, "pages_max", (2ULL << r->key.size_class) - 1);
		json_s64(j, "errno", r->key.err);
		json_str(j, "error", errno_str(r->key.err));
		json_u64(j, "count", r->h.count);
		json_u64(j, "sum_ns", r->h.sum_ns);
		json_u64(j, "max_ns", r->h.max_ns);
		json_u64(j, "busy_retries", r->h.retries);
		json_log2_hist(j, "slots", r->h.slots, MAX_SLOTS);
		json_obj_end(j);
		total += r->h.count;
		if (r->key.err)
			failed += r->h.count;
	}
	json_arr_end(j);
	json_u64(j, "allocations", total);
	json_u64(j, "failures", failed);
	tool_json_end();
}

static int report(struct cmalat_bpf *obj)
{
	struct row *rows = NULL;
	int n;

	/* JSON keeps every size class; the text merges them unless -S */
	n = collect(bpf_map__fd(obj->maps.hists),
		    tool_opts.json || env.per_size, &rows);
	if (n < 0)
		return n;
	if (tool_opts.json)
		print_json(rows, n);
	else
		print_text(rows, n);
	free(rows);
	return 0;
}

int main(int argc, char **argv)
{
	struct cmalat_bpf *obj = NULL;
	int err;

	if (tool_init("cmalat", "auto, patched, stock, fentry, kprobe", true,
		      opts, parse_arg, doc, argc, argv))
		return 1;
	obj = cmalat_bpf__open();
	if (!obj)
		return tool_open_failed();
	err = setup(obj);
	if (err)
		goto cleanup;
	fprintf(stderr, "cmalat: tracing CMA allocations on the %s path%s%s\n",
		path_name(tool_opts.path),
		use_btf ? " (BTF raw tracepoints)" : "",
		tool_opts.interval_given ? "" : "; Ctrl-C to end");
	signal_ready();

	while (!tool_exiting) {
		sleep(tool_opts.interval);
		err = report(obj);
		if (err || --tool_opts.times <= 0)
			break;
	}
cleanup:
	cmalat_bpf__destroy(obj);
	return err != 0;
}
