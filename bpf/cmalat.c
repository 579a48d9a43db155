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
	const struct tool_flag flags[] = { { 'S', &env.per_size }, {} };

	(void)arg;
	(void)state;
	return set_tool_flag(flags, key) ? 0 : ARGP_ERR_UNKNOWN;
}

static const struct tool_cli cli = { "cmalat", ALL_PATHS, true,
				     opts,     parse_arg, doc };

/* What the probes found; printed in the JSON. */
static enum errno_src errsrc = ERRSRC_NONE;
static bool use_btf; /* the series' events as BTF raw tracepoints */

/* Choose the path, pick the programs for it, load and attach them. */
static int setup(struct cmalat_bpf *obj)
{
	struct cmalat_bpf__rodata *ro = obj->rodata;
	bool has_retry = tp_exists("cma", "cma_alloc_busy_retry");
	enum cma_path path = setup_alloc_path(&ro->af, CMA_ALLOC_PROGS(obj));

	if (path == PATH_NONE)
		return -ENOENT;
	if (!has_retry && path != PATH_PATCHED)
		note_unavailable(
			"busy retry counts: no cma:cma_alloc_busy_retry event");

	ro->use_event_timing = path == PATH_PATCHED;
	ro->unit_div = tool_opts.ms ? 1000000 : 1000;
	ro->target_tgid = tool_opts.pid;

	bpf_program__set_autoload(obj->progs.tp_alloc_start,
				  path == PATH_STOCK);
	/* the series' event as a raw tracepoint where BTF describes it */
	use_btf = path == PATH_PATCHED && tp_btf_args("cma_alloc_finish", 8);
	bpf_program__set_autoload(obj->progs.btf_alloc_finish, use_btf);
	bpf_program__set_autoload(obj->progs.tp_alloc_finish,
				  path <= PATH_STOCK && !use_btf);
	bpf_program__set_autoload(obj->progs.tp_busy_retry,
				  path != PATH_PATCHED && has_retry);
	/* Stock 6.1 does not say why an allocation failed: ask the range allocator. */
	errsrc = setup_errno_source(path, obj->progs.fexit_acr,
				    obj->progs.kretprobe_acr);
	return tool_start(obj->skeleton, obj->progs.kretprobe_acr,
			  &obj->links.kretprobe_acr);
}

struct row {
	struct hist_key key;
	struct hist h;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->h.area, y->h.area);

	if (c)
		return c;
	if (x->key.size_class != y->key.size_class)
		return x->key.size_class < y->key.size_class ? -1 : 1;
	return x->key.err < y->key.err ? 1 : x->key.err > y->key.err ? -1 : 0;
}

struct rows {
	struct row *row;
	size_t n, cap;
	bool keep_size;
};

/* Add a histogram to its row; size classes merge unless keep_size. */
static int add_row(const void *k, const void *v, void *ctx)
{
	struct hist_key key = *(const struct hist_key *)k;
	const struct hist *h = v;
	struct rows *t = ctx;
	struct row *r;
	size_t i;
	int j;

	if (!t->keep_size)
		key.size_class = 0;
	/* one row per area name, size class and error */
	for (i = 0; i < t->n; i++) {
		r = &t->row[i];
		if (!strcmp(r->h.area, h->area) &&
		    r->key.size_class == key.size_class &&
		    r->key.err == key.err)
			break;
	}
	if (i == t->n) {
		if (grow_array((void **)&t->row, &t->cap, t->n, sizeof(*r)))
			return -ENOMEM;
		memset(&t->row[t->n], 0, sizeof(*r));
		t->row[t->n].key = key;
		memcpy(t->row[t->n++].h.area, h->area, sizeof(h->area));
	}
	r = &t->row[i];
	for (j = 0; j < MAX_SLOTS; j++)
		r->h.slots[j] += h->slots[j];
	r->h.count += h->count;
	r->h.sum_ns += h->sum_ns;
	r->h.retries += h->retries;
	if (h->max_ns > r->h.max_ns)
		r->h.max_ns = h->max_ns;
	return 0;
}

static void print_text(const struct row *rows, size_t n)
{
	const char *unit = tool_opts.ms ? "msecs" : "usecs";
	double div = tool_opts.ms ? 1e6 : 1e3;
	size_t i;

	print_timestamp();
	if (!n)
		printf("no CMA allocations\n");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("\narea = %s", r->h.area);
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

static void print_json(const struct row *rows, size_t n)
{
	unsigned long long total = 0, failed = 0;
	struct json *j = tool_json_summary("cmalat");
	size_t i;

	json_str(j, "errno_source", errsrc_name(errsrc));
	json_arr_begin(j, "histograms");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		json_obj_begin(j, NULL);
		json_str(j, "area", r->h.area);
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

static int report(void *ctx)
{
	struct cmalat_bpf *obj = ctx;
	/* JSON keeps every size class; the text merges them unless -S */
	struct rows t = { .keep_size = tool_opts.json || env.per_size };
	int err;

	err = map_drain(bpf_map__fd(obj->maps.hists), sizeof(struct hist_key),
			sizeof(struct hist), add_row, &t);
	if (!err) {
		if (t.n)
			qsort(t.row, t.n, sizeof(*t.row), row_cmp);
		if (tool_opts.json)
			print_json(t.row, t.n);
		else
			print_text(t.row, t.n);
	}
	free(t.row);
	return err;
}

int main(int argc, char **argv)
{
	struct cmalat_bpf *obj = NULL;
	int err;

	if (tool_init(&cli, argc, argv))
		return 1;
	obj = cmalat_bpf__open();
	err = obj ? setup(obj) : tool_open_failed();
	if (!err) {
		tool_ready("CMA allocations", use_btf,
			   !tool_opts.interval_given);
		err = tool_report_loop(NULL, report, obj);
	}
	cmalat_bpf__destroy(obj);
	return err != 0;
}
