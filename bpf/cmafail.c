// SPDX-License-Identifier: GPL-2.0
/*
 * cmafail: print one record per failed or retried CMA allocation: area,
 * pages, error, the page that blocked the range and why, the caller and
 * its kernel stack.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cmafail.h"
#include "cmafail.skel.h"
#include "helpers.h"

static struct env {
	bool json;
	bool failed_only;
	bool no_stack;
	int64_t duration;
} env;

static const char doc[] =
	"Print one record per failed or retried CMA allocation, with the page that\n"
	"blocked it, the reason, the caller and its kernel stack.\n"
	"\n"
	"USAGE: cmafail [-h] [-f] [-n] [-j] [-d SEC] [-p PID] [-P PATH] [--stock]\n"
	"\n"
	"EXAMPLES:\n"
	"    cmafail             # every failed or retried allocation, Ctrl-C to end\n"
	"    cmafail -f          # failures only, not allocations that succeeded on retry\n"
	"    cmafail -n -d 10    # without stacks, for 10 seconds\n"
	"    cmafail -j          # one JSON document, written as records arrive\n"
	"    cmafail --stock     # ignore the extended events of a patched kernel\n";

static const struct argp_option opts[] = {
	{ "failed", 'f', NULL, 0, "Failed allocations only", 0 },
	{ "no-stack", 'n', NULL, 0, "Do not collect kernel stacks", 0 },
	{ "json", 'j', NULL, 0, "Print one JSON document", 0 },
	{ "duration", 'd', "SEC", 0, "Trace for SEC seconds, then exit", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	const struct tool_flag flags[] = {
		{ 'f', &env.failed_only },
		{ 'n', &env.no_stack },
		{ 'j', &env.json },
		{},
	};

	if (key == 'd')
		parse_num_arg("duration", arg, MAX_SECONDS, state,
			      &env.duration);
	return key == 'd' || set_tool_flag(flags, key) ? 0 : ARGP_ERR_UNKNOWN;
}

static const struct tool_cli cli = { "cmafail", ALL_PATHS, false,
				     opts,	parse_arg, doc };

static struct sym_table reason_syms, stage_syms;
static enum errno_src errsrc = ERRSRC_NONE;
static bool use_btf; /* the series' events as BTF raw tracepoints */
static struct ksyms *ksyms;
static unsigned long long nr_failed, nr_retried;

/* Choose the path, pick the programs for it, load and attach them. */
static int setup(struct cmafail_bpf *obj)
{
	static const char *const retry_fields[] = { "pfn", "page", "count",
						    NULL };
	/* in the order of the f_busy_* fields of cmafail.bpf.c */
	static const char *const busy_fields[] = {
		"start_pfn", "end_pfn",	 "pfn",	      "stage",	"reason",
		"refcount",  "mapcount", "lru",	      "anon",	"file",
		"shmem",     "dirty",	 "writeback", "locked", "migratetype",
		"flags",     NULL
	};
	static const char *const test_fields[] = { "start_pfn", "end_pfn",
						   "failed_pfn", NULL };
	static const char *const iso_fields[] = { "start_pfn", "end_pfn",
						  "fin_pfn", NULL };
	struct cmafail_bpf__rodata *ro = obj->rodata;
	bool has_retry = tp_exists("cma", "cma_alloc_busy_retry");
	bool has_busy = tp_exists("cma", "cma_busy_page");
	bool has_test = tp_exists("cma", "cma_range_test");
	bool has_iso = tp_exists("page_isolation", "test_pages_isolated");
	bool btf_busy;
	enum cma_path path = setup_alloc_path(&ro->af, CMA_ALLOC_PROGS(obj));

	if (path == PATH_NONE)
		return -ENOENT;
	read_fields("cma", "cma_alloc_busy_retry", retry_fields,
		    (struct tp_field *)&ro->f_retry);

	/* The blocking page: the series' cma_busy_page, else the stock isolation test. */
	has_busy = has_busy && path == PATH_PATCHED;
	has_test = has_test && path == PATH_PATCHED;
	if (has_busy) {
		read_fields("cma", "cma_busy_page", busy_fields,
			    (struct tp_field *)&ro->f_busy);
		tp_symbols("cma", "cma_busy_page", "reason", &reason_syms);
		tp_symbols("cma", "cma_busy_page", "stage", &stage_syms);
	} else {
		/* the busy page's state: read from struct page, the reason inferred */
		note_unavailable(
			"cma:cma_busy_page (the cmakit series): the blocking page's reason is inferred from its state");
	}
	if (has_test) {
		read_fields("cma", "cma_range_test", test_fields,
			    (struct tp_field *)&ro->f_test);
	} else if (has_iso) {
		read_fields("page_isolation", "test_pages_isolated", iso_fields,
			    (struct tp_field *)&ro->f_test);
		ro->test_is_stock = true;
	} else {
		note_unavailable(
			"busy pfns: neither cma:cma_range_test nor page_isolation:test_pages_isolated");
	}

	ro->use_event_result = path == PATH_PATCHED;
	ro->report_retried = !env.failed_only;
	ro->want_stack = !env.no_stack;
	ro->target_tgid = tool_opts.pid;
	ro->count_ebusy = !has_retry || path >= PATH_FENTRY;

	/* the series' cma_alloc_finish says it all: no start on that path */
	bpf_program__set_autoload(obj->progs.tp_alloc_start,
				  path == PATH_STOCK);
	/* the series' events as raw tracepoints where BTF describes them */
	use_btf = path == PATH_PATCHED && tp_btf_args("cma_alloc_finish", 8) &&
		  (!has_test || tp_btf_args("cma_range_test", 5));
	bpf_program__set_autoload(obj->progs.btf_alloc_finish, use_btf);
	bpf_program__set_autoload(obj->progs.btf_range_test,
				  use_btf && has_test);
	bpf_program__set_autoload(obj->progs.tp_alloc_finish,
				  path <= PATH_STOCK && !use_btf);
	bpf_program__set_autoload(obj->progs.tp_busy_retry,
				  path == PATH_STOCK && has_retry);
	/* cma_busy_page(start_pfn, end_pfn, pfn, stage, reason, refcount, mapcount, flags, migratetype) */
	btf_busy = use_btf && has_busy && tp_btf_args("cma_busy_page", 9);
	bpf_program__set_autoload(obj->progs.tp_busy_page,
				  has_busy && !btf_busy);
	bpf_program__set_autoload(obj->progs.btf_busy_page, btf_busy);
	bpf_program__set_autoload(obj->progs.tp_range_test,
				  has_test && !use_btf);
	bpf_program__set_autoload(obj->progs.tp_test_isolated,
				  !has_test && has_iso);
	/* Stock 6.1 does not say why an allocation failed: ask the range allocator. */
	errsrc = setup_errno_source(path, obj->progs.fexit_acr,
				    obj->progs.kretprobe_acr);
	if (!has_retry && path != PATH_PATCHED && errsrc == ERRSRC_NONE)
		note_unavailable(
			"busy retry counts: no cma:cma_alloc_busy_retry event, alloc_contig_range not traceable");
	return tool_start(obj->skeleton, obj->progs.kretprobe_acr,
			  &obj->links.kretprobe_acr);
}

static const char *const state_names[] = { "lru",    "anon",	  "file",
					   "shmem",  "dirty",	  "writeback",
					   "locked", "swapcache", "private" };

/*
 * Stock kernels: name the reason from the page's state, with the rules the
 * series' kernel applies (refcount beyond mappings and page cache: pinned).
 */
static const char *infer_reason(const struct fail_info *i)
{
	int expected = i->mapcount;

	if (i->refcount == 0)
		return "free_race";
	if (i->state & PS_WRITEBACK)
		return "writeback";
	if (i->state & PS_FILE)
		expected += 1 + !!(i->state & PS_PRIVATE);
	if (i->state & PS_SWAPCACHE)
		expected += 1;
	if (i->refcount > expected)
		return "pinned";
	if (i->state & PS_DIRTY)
		return "dirty";
	if (i->state & PS_LOCKED)
		return "locked";
	if (!(i->state & PS_LRU))
		return "unmovable";
	return "unknown";
}

/* The reason and where it came from ("kernel" or "inferred"); NULL if none. */
static const char *reason_of(const struct fail_info *i, const char **source)
{
	*source = "kernel";
	if (i->busy_src == BUSY_EVENT) {
		if (i->reason_str[0])
			return i->reason_str;
		return sym_name(&reason_syms, i->reason);
	}
	if (i->busy_src == BUSY_TEST) {
		*source = "inferred";
		return i->has_state ? infer_reason(i) : "unknown";
	}
	*source = NULL;
	return NULL;
}

static const char *stage_of(const struct fail_info *i)
{
	if (i->busy_src == BUSY_TEST)
		return "test";
	if (i->stage_str[0])
		return i->stage_str;
	return i->busy_src == BUSY_EVENT ? sym_name(&stage_syms, i->stage) :
					   NULL;
}

/*
 * The first frame of the caller's stack: fentry/fexit stacks begin in the
 * BPF program and its trampoline, then the traced function's entry.
 */
static size_t first_frame(const struct fail_event *e)
{
	size_t k, n = e->stack_len > 0 ? e->stack_len / 8 : 0;
	char sym[160];

	for (k = 0; k < n; k++) {
		ksym_str(ksyms, e->stack[k], sym, sizeof(sym));
		if (strncmp(sym, "bpf_prog_", 9) &&
		    strncmp(sym, "bpf_trampoline_", 15))
			break;
	}
	if (k && k < n && !strncmp(sym, "cma_alloc+", 10))
		k++;
	return k < n ? k : 0;
}

static void print_text(const struct fail_event *e)
{
	const struct fail_info *i = &e->info;
	const char *src, *reason = reason_of(i, &src);
	char pfn[24] = "-", sym[160];
	size_t k;
	int n;

	if (i->busy_src != BUSY_NONE)
		snprintf(pfn, sizeof(pfn), "0x%llx", i->busy_pfn);
	printf("%-16s %-7u %-12s %-7llu %-9s %-7u %-10.3f %-10s %-10s", i->comm,
	       i->pid, i->area, i->count, errno_str(i->err), i->retries,
	       i->elapsed_ns / 1e6, pfn, reason ? reason : "-");
	if (i->has_state) {
		printf(" ref=%d map=%d", i->refcount, i->mapcount);
		for (k = 0; k < ARRAY_SIZE(state_names); k++)
			if (i->state & (1U << k))
				printf(",%s", state_names[k]);
	}
	printf("\n");
	n = e->stack_len > 0 ? e->stack_len / 8 : 0;
	for (k = first_frame(e); k < (size_t)n; k++)
		printf("    %s\n",
		       ksym_str(ksyms, e->stack[k], sym, sizeof(sym)));
}

static void print_json(const struct fail_event *e)
{
	const struct fail_info *i = &e->info;
	const char *src, *reason = reason_of(i, &src), *stage = stage_of(i);
	struct json *j = &tool_json;
	char sym[160];
	size_t k;
	int n;

	json_obj_begin(j, NULL);
	json_u64(j, "ts_ns", i->ts_ns);
	json_alloc(j, i->comm, i->pid, i->area, i->count);
	json_u64(j, "tgid", i->tgid);
	json_u64(j, "align", i->align);
	json_s64(j, "errno", i->err);
	json_str(j, "error", errno_str(i->err));
	json_u64(j, "retries", i->retries);
	json_u64(j, "elapsed_ns", i->elapsed_ns);
	if (i->busy_src != BUSY_NONE) {
		json_u64(j, "busy_pfn", i->busy_pfn);
		json_arr_begin(j, "range");
		json_u64(j, NULL, i->range_start);
		json_u64(j, NULL, i->range_end);
		json_arr_end(j);
	} else {
		json_null(j, "busy_pfn");
		json_null(j, "range");
	}
	json_str(j, "reason", reason);
	json_str(j, "reason_source", src);
	json_str(j, "stage", stage);
	json_u64(j, "busy_pages_reported", i->nr_busy);
	if (i->has_state) {
		json_obj_begin(j, "page");
		json_s64(j, "refcount", i->refcount);
		json_s64(j, "mapcount", i->mapcount);
		json_arr_begin(j, "flags");
		for (k = 0; k < ARRAY_SIZE(state_names); k++)
			if (i->state & (1U << k))
				json_str(j, NULL, state_names[k]);
		json_arr_end(j);
		if (i->busy_src == BUSY_EVENT)
			json_s64(j, "migratetype", i->migratetype);
		json_obj_end(j);
	} else {
		json_null(j, "page");
	}
	json_arr_begin(j, "stack");
	n = e->stack_len > 0 ? e->stack_len / 8 : 0;
	for (k = first_frame(e); k < (size_t)n; k++)
		json_str(j, NULL,
			 ksym_str(ksyms, e->stack[k], sym, sizeof(sym)));
	json_arr_end(j);
	json_obj_end(j);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct fail_event *e = data;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	if (e->info.err)
		nr_failed++;
	else
		nr_retried++;
	if (env.json)
		print_json(e);
	else
		print_text(e);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct cmafail_bpf *obj = NULL;
	uint64_t deadline = 0;
	int err;

	if (tool_init(&cli, argc, argv))
		return 1;
	obj = cmafail_bpf__open();
	err = obj ? setup(obj) : tool_open_failed();
	if (err)
		goto cleanup;
	if (!env.no_stack) {
		ksyms = ksyms_load();
		if (!ksyms)
			note_unavailable(
				"kernel symbols: /proc/kallsyms unreadable, stacks as addresses");
	}
	rb = tool_ring_buffer(obj->maps.events, handle_event);
	if (!rb) {
		err = -errno;
		goto cleanup;
	}
	if (env.json) {
		struct json *j = tool_json_begin("cmafail");

		json_arr_begin(j, "records");
		json_lines(j, JSON_LINES | JSON_LINES_CLOSE);
	} else {
		printf("%-16s %-7s %-12s %-7s %-9s %-7s %-10s %-10s %-10s %s\n",
		       "COMM", "PID", "AREA", "PAGES", "ERROR", "RETRIES", "MS",
		       "BUSY_PFN", "REASON", "PAGE");
	}
	fflush(stdout);
	tool_ready("CMA failures and retries", use_btf, !env.duration);
	if (env.duration)
		deadline = now_ns() + env.duration * 1000000000ULL;

	while (!tool_exiting && !err) {
		err = tool_poll(rb, tool_ms_until(deadline));
		if (deadline && now_ns() >= deadline)
			break;
	}
	if (err > 0)
		err = 0; /* a signal */
	/* what arrived before the signal */
	ring_buffer__consume(rb);
	if (env.json) {
		json_arr_end(&tool_json);
		json_u64(&tool_json, "failures", nr_failed);
		json_u64(&tool_json, "retried", nr_retried);
		json_u64(&tool_json, "lost", obj->bss->lost);
		tool_json_end();
	} else if (obj->bss->lost)
		fprintf(stderr,
			"cmafail: %llu records lost (ring buffer full)\n",
			(unsigned long long)obj->bss->lost);
	fflush(stdout);
cleanup:
	ring_buffer__free(rb);
	cmafail_bpf__destroy(obj);
	ksyms_free(ksyms);
	return err != 0;
}
