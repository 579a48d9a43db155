// SPDX-License-Identifier: GPL-2.0
/*
 * User-space helpers shared by the cmakit BPF tools (see helpers.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "helpers.h"

const char *prog_name = "cmakit";
const char *argp_program_version;
bool verbose;

int libbpf_print_fn(enum libbpf_print_level level, const char *fmt,
		    va_list args)
{
	if (level == LIBBPF_DEBUG || !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void error_line(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- what every tool shares ------------------------------------------------- */

struct tool_opts tool_opts = {
	.path = PATH_NONE,
	.interval = MAX_SECONDS,
	.times = MAX_SECONDS,
};
volatile sig_atomic_t tool_exiting;
static const char *tool_paths = ALL_PATHS;

enum { OPT_STOCK = 1000 };

void parse_num_arg(const char *what, const char *arg, int64_t max,
		   struct argp_state *state, int64_t *out)
{
	if (parse_s64(arg, 1, max, out)) {
		error_line("invalid %s: '%s'", what, arg);
		argp_usage(state);
	}
}

bool set_tool_flag(const struct tool_flag *flags, int key)
{
	for (; flags->key; flags++) {
		if (flags->key == key) {
			*flags->flag = true;
			return true;
		}
	}
	return false;
}

static const struct argp_option tool_options[] = {
	{ "pid", 'p', "PID", 0, "Trace this process only", 0 },
	{ "path", 'P', "PATH", 0,
	  "What to trace through: auto (the richest available), patched, stock, fentry or kprobe",
	  0 },
	{ "stock", OPT_STOCK, NULL, 0,
	  "Same as --path stock: ignore the series' extended events", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's warnings", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 },
	{},
};

/* word is one of the items of a ", "-separated list */
static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

static error_t tool_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		verbose = true;
		break;
	case 'p':
		parse_num_arg("pid", arg, INT32_MAX, state, &tool_opts.pid);
		break;
	case 'P':
		if (parse_path(arg, &tool_opts.path) ||
		    !in_list(tool_paths, arg)) {
			error_line("invalid path: '%s' (%s)", arg, tool_paths);
			argp_usage(state);
		}
		break;
	case OPT_STOCK:
		tool_opts.path = PATH_STOCK;
		break;
	case ARGP_KEY_ARG:
		/* the tool's own parser and the interval's passed it over */
		error_line("unrecognized positional argument: '%s'", arg);
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp tool_argp = {
	.options = tool_options,
	.parser = tool_parse,
};

static const struct argp_option summary_options[] = {
	{ "milliseconds", 'm', NULL, 0,
	  "Millisecond histograms (default microseconds)", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a timestamp with each summary", 0 },
	{ "json", 'j', NULL, 0, "Print JSON (one document per interval)", 0 },
	{},
};

static error_t summary_parse(int key, char *arg, struct argp_state *state)
{
	const struct tool_flag flags[] = {
		{ 'm', &tool_opts.ms },
		{ 'T', &tool_opts.timestamp },
		{ 'j', &tool_opts.json },
		{},
	};

	if (set_tool_flag(flags, key))
		return 0;
	if (key != ARGP_KEY_ARG || state->arg_num > 1)
		return ARGP_ERR_UNKNOWN;
	if (state->arg_num == 0) {
		parse_num_arg("interval", arg, MAX_SECONDS, state,
			      &tool_opts.interval);
		tool_opts.interval_given = true;
	} else {
		parse_num_arg("count", arg, MAX_SECONDS, state,
			      &tool_opts.times);
	}
	return 0;
}

const struct argp tool_summary_argp = {
	.options = summary_options,
	.parser = summary_parse,
	.args_doc = "[interval] [count]",
};

int tool_init(const struct tool_cli *cli, int argc, char **argv)
{
	bool summary = cli->summary;
	const struct argp_child children[] = {
		{ summary ? &tool_summary_argp : &tool_argp, 0, NULL, 0 },
		{ summary ? &tool_argp : NULL, 0, NULL, 0 },
		{},
	};
	const struct argp argp = {
		.options = cli->options,
		.parser = cli->parser,
		.doc = cli->doc,
		.children = children,
	};

	static char version[64];

	snprintf(version, sizeof(version), "%s " TOOL_VERSION, cli->name);
	argp_program_version = version;
	prog_name = cli->name;
	tool_paths = cli->paths;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 1;
	libbpf_set_print(libbpf_print_fn);
	return check_environment() ? 1 : 0;
}

struct ring_buffer *tool_ring_buffer(struct bpf_map *map,
				     ring_buffer_sample_fn fn)
{
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(map), fn, NULL, NULL);

	if (!rb)
		error_line("failed to create ring buffer: %s", strerror(errno));
	return rb;
}

/*
 * Wait for @rb to have data (any fd when @rb is NULL: just the time) for up
 * to @ms (-1: no limit), or for SIGINT/SIGTERM. The two signals are blocked
 * from the test of tool_exiting until the wait unblocks them atomically: one
 * that lands just before the wait ends it at once. A tool waits only for
 * data, a signal or its deadline, never on a periodic timer: each wake-up
 * of an idle collector is CPU the watched allocations do not get.
 */
static int wait_rb(struct ring_buffer *rb, int ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	struct epoll_event ev;
	sigset_t stop, old;
	int n = 0, e;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if (!tool_exiting)
		n = rb ? epoll_pwait(ring_buffer__epoll_fd(rb), &ev, 1, ms,
				     &old) :
			 ppoll(NULL, 0, ms < 0 ? NULL : &ts, &old);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

int tool_poll(struct ring_buffer *rb, int ms)
{
	int err = wait_rb(rb, ms);

	if (err < 0 && errno != EINTR) {
		err = -errno;
		error_line("error waiting for the ring buffer: %s",
			   strerror(-err));
		return err;
	}
	if (rb) {
		err = ring_buffer__consume(rb);
		if (err < 0) {
			error_line("error reading the ring buffer: %s",
				   strerror(-err));
			return err;
		}
	}
	return tool_exiting ? 1 : 0;
}

int tool_ms_until(uint64_t deadline_ns)
{
	uint64_t now = now_ns(), ms;

	if (!deadline_ns)
		return -1;
	if (now >= deadline_ns)
		return 0;
	/* rounded up: a wait that ends early would only wait again */
	ms = (deadline_ns - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void tool_signal(int sig)
{
	(void)sig;
	tool_exiting = 1;
}

int tool_catch_signals(void)
{
	int err;

	if (signal(SIGINT, tool_signal) == SIG_ERR ||
	    signal(SIGTERM, tool_signal) == SIG_ERR) {
		err = -errno;
		error_line("cannot set signal handler: %s", strerror(errno));
		return err;
	}
	return 0;
}

static int attach_kretprobe(struct bpf_program *prog, const char *func,
			    struct bpf_link **link)
{
	if (!func)
		return 0;
	*link = bpf_program__attach_kprobe(prog, true, func);
	if (!*link) {
		error_line("cannot attach a kretprobe to %s: %s", func,
			   strerror(errno));
		return -errno;
	}
	return 0;
}

int tool_open_failed(void)
{
	error_line("failed to open BPF object: %s", strerror(errno));
	return 1;
}

/* the function setup_errno_source() chose for a kretprobe, or NULL */
static const char *acr_kprobe;

int tool_start(struct bpf_object_skeleton *s, struct bpf_program *prog,
	       struct bpf_link **link)
{
	int err;

	err = bpf_object__load_skeleton(s);
	if (err) {
		error_line("failed to load BPF programs: %s", strerror(-err));
		return err;
	}
	err = bpf_object__attach_skeleton(s);
	if (err) {
		error_line("failed to attach BPF programs: %s", strerror(-err));
		return err;
	}
	err = prog ? attach_kretprobe(prog, acr_kprobe, link) : 0;
	return err ? err : tool_catch_signals();
}

int check_environment(void)
{
	int ret;

	if (geteuid() != 0) {
		error_line(
			"must run as root (loading BPF programs needs CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		error_line(
			"kernel has no BTF: /sys/kernel/btf/vmlinux missing (CONFIG_DEBUG_INFO_BTF=y)");
		return -ENOENT;
	}
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	if (ret <= 0) {
		error_line(
			"kernel cannot load BPF tracing programs: %s (CONFIG_BPF_SYSCALL=y, CONFIG_BPF_EVENTS=y)",
			ret ? strerror(-ret) : "not supported");
		return ret ? ret : -EOPNOTSUPP;
	}
	return 0;
}

/* --- paths ------------------------------------------------------------------ */

static const char *const path_names[] = {
	[PATH_PATCHED] = "patched", [PATH_STOCK] = "stock",
	[PATH_FENTRY] = "fentry",   [PATH_KPROBE] = "kprobe",
	[PATH_NONE] = "none",
};

int parse_path(const char *s, enum cma_path *out)
{
	int i;

	if (!strcmp(s, "auto")) {
		*out = PATH_NONE;
		return 0;
	}
	for (i = 0; i < PATH_NONE; i++) {
		if (!strcmp(s, path_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *path_name(enum cma_path p)
{
	return p <= PATH_NONE ? path_names[p] : "?";
}

const char *errsrc_name(enum errno_src s)
{
	static const char *const names[] = { "event", "fexit", "kretprobe",
					     "none" };

	return s <= ERRSRC_NONE ? names[s] : "?";
}

static enum cma_path choose_path(enum cma_path requested,
				 const bool avail[PATH_NONE],
				 const char *const why[PATH_NONE])
{
	int p;

	if (requested != PATH_NONE) {
		if (avail[requested])
			return requested;
		error_line("path '%s' is not available on this kernel: %s",
			   path_name(requested), why[requested]);
		return PATH_NONE;
	}
	for (p = 0; p < PATH_NONE; p++) {
		if (avail[p])
			return p;
		note_unavailable("%s path: %s", path_name(p), why[p]);
	}
	error_line(
		"no way to trace CMA allocations on this kernel (no cma:* events, no BTF or kallsyms entry for cma_alloc)");
	return PATH_NONE;
}

enum cma_path choose_tool_path(bool patched, const char *why_patched,
			       struct bpf_program *const progs[4])
{
	bool avail[PATH_NONE];
	const char *why[PATH_NONE];
	char nofn[96];
	int i;

	avail[PATH_PATCHED] = patched;
	why[PATH_PATCHED] = why_patched;
	avail[PATH_STOCK] = tp_exists("cma", "cma_alloc_start") &&
			    tp_exists("cma", "cma_alloc_finish");
	why[PATH_STOCK] =
		"no cma:cma_alloc_start/cma_alloc_finish trace events (tracefs not mounted, or CONFIG_CMA without tracepoints)";
	if (progs) {
		/* fentry needs BPF trampolines (x86 5.5, arm64 6.0) and BTF of cma_alloc */
		avail[PATH_FENTRY] = kfunc_traceable("cma_alloc");
		why[PATH_FENTRY] =
			"cma_alloc is not in the kernel's BTF or not traceable by ftrace";
		avail[PATH_KPROBE] = kprobe_traceable("cma_alloc");
		why[PATH_KPROBE] = "cma_alloc is not in /proc/kallsyms";
	} else {
		snprintf(nofn, sizeof(nofn),
			 "%s needs the cma:* events to tell allocations apart",
			 prog_name);
		avail[PATH_FENTRY] = avail[PATH_KPROBE] = false;
		why[PATH_FENTRY] = why[PATH_KPROBE] = nofn;
	}
	tool_opts.path = choose_path(tool_opts.path, avail, why);
	/* fentry and fexit, then kprobe and kretprobe: only the path's */
	for (i = 0; progs && i < 4; i++)
		bpf_program__set_autoload(
			progs[i],
			tool_opts.path == (i < 2 ? PATH_FENTRY : PATH_KPROBE));
	return tool_opts.path;
}

void read_fields(const char *sys, const char *event, const char *const *names,
		 struct tp_field *f)
{
	for (; *names; names++, f++)
		tp_field(sys, event, *names, f);
}

bool read_alloc_fields(struct alloc_fields *f)
{
	/* in the order of struct alloc_fields */
	static const char *const start[] = { "name", "count", "align", NULL };
	static const char *const fin[] = { "name",	 "page",    "count",
					   "align",	 "errorno", "retries",
					   "elapsed_ns", NULL };

	read_fields("cma", "cma_alloc_start", start, &f->start_name);
	/* mainline's name for it, and the series' since v2 */
	if (!(f->start_count.flags & TPF_PRESENT))
		tp_field("cma", "cma_alloc_start", "request_count",
			 &f->start_count);
	read_fields("cma", "cma_alloc_finish", fin, &f->fin_name);
	return (f->fin_errorno.flags & TPF_PRESENT) &&
	       (f->fin_retries.flags & TPF_PRESENT) &&
	       (f->fin_elapsed.flags & TPF_PRESENT);
}

int use_alloc_fields(struct alloc_fields *f)
{
	if (tool_opts.path > PATH_STOCK)
		return 0;
	if (tool_opts.path != PATH_PATCHED) {
		memset(&f->fin_errorno, 0, sizeof(f->fin_errorno));
		memset(&f->fin_retries, 0, sizeof(f->fin_retries));
		memset(&f->fin_elapsed, 0, sizeof(f->fin_elapsed));
	}
	if (!(f->fin_name.flags & TPF_DATA_LOC) ||
	    !(f->fin_page.flags & TPF_PRESENT) ||
	    !(f->fin_count.flags & TPF_PRESENT)) {
		error_line(
			"cma_alloc_finish lacks its stock fields name, page, count");
		return -EINVAL;
	}
	return 0;
}

enum cma_path setup_alloc_path(struct alloc_fields *f,
			       struct bpf_program *const progs[4])
{
	/* errorno, retries and elapsed_ns: the cmakit series (upstream added errorno in 6.7) */
	enum cma_path path = choose_tool_path(
		read_alloc_fields(f),
		"cma_alloc_finish has no errorno/retries/elapsed_ns fields (a kernel without the cmakit series)",
		progs);

	if (path > PATH_STOCK && path != PATH_NONE &&
	    (tp_exists("cma", "cma_alloc_start") ||
	     tp_exists("cma", "cma_alloc_finish")))
		note_unavailable("cma:* events not used on path %s",
				 path_name(path));
	return path == PATH_NONE || use_alloc_fields(f) ? PATH_NONE : path;
}

/*
 * The series makes cma_alloc() call __alloc_contig_range(), which also
 * reports what migration did; stock 6.1 calls alloc_contig_range().
 */
static const char *contig_range_func(bool (*traceable)(const char *))
{
	return traceable("__alloc_contig_range") ? "__alloc_contig_range" :
						   "alloc_contig_range";
}

enum errno_src setup_errno_source(enum cma_path path, struct bpf_program *fexit,
				  struct bpf_program *kretprobe)
{
	const char *f;

	acr_kprobe = NULL;
	bpf_program__set_autoload(fexit, false);
	bpf_program__set_autoload(kretprobe, false);
	if (path == PATH_PATCHED)
		return ERRSRC_EVENT;
	f = contig_range_func(kfunc_traceable);
	if (path != PATH_KPROBE && kfunc_traceable(f) &&
	    !bpf_program__set_attach_target(fexit, 0, f)) {
		bpf_program__set_autoload(fexit, true);
		return ERRSRC_FEXIT;
	}
	f = contig_range_func(kprobe_traceable);
	if (kprobe_traceable(f)) {
		bpf_program__set_autoload(kretprobe, true);
		bpf_program__set_autoattach(kretprobe, false);
		acr_kprobe = f;
		return ERRSRC_KRETPROBE;
	}
	note_unavailable(
		"error codes of failures: %s not traceable, -ENOMEM assumed",
		f);
	return ERRSRC_NONE;
}

#define MAX_NOTES 16
static char notes[MAX_NOTES][160];
static int nr_notes;

void note_unavailable(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: unavailable: %s\n", prog_name, buf);
	if (nr_notes < MAX_NOTES)
		memcpy(notes[nr_notes++], buf, sizeof(buf));
}

static void json_unavailable(struct json *j)
{
	int i;

	json_arr_begin(j, "unavailable");
	for (i = 0; i < nr_notes; i++)
		json_str(j, NULL, notes[i]);
	json_arr_end(j);
}

/* --- output ----------------------------------------------------------------- */

static void print_stars(FILE *f, unsigned long long val, unsigned long long max,
			int width)
{
	int n = max ? (int)(val * width / max) : 0;
	int i;

	for (i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
	if (max && val > max)
		fputc('+', f);
}

int grow_array(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

int map_drain(int fd, size_t key_size, size_t value_size,
	      int (*fn)(const void *key, const void *value, void *ctx),
	      void *ctx)
{
	char *key = malloc(key_size), *next = malloc(key_size);
	char *value = malloc(value_size), *prev = NULL;
	int err = key && next && value ? 0 : -ENOMEM;

	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (!bpf_map_lookup_elem(fd, key, value))
			err = fn(key, value, ctx);
	}
	/* delete what was read; what is counted meanwhile goes to the next round */
	while (next && !bpf_map_get_next_key(fd, NULL, next))
		if (bpf_map_delete_elem(fd, next))
			break;
	free(key);
	free(next);
	free(value);
	return err;
}

void tool_ready(const char *what, bool btf, bool until_interrupted)
{
	fprintf(stderr, "%s: tracing %s on the %s path%s%s\n", prog_name, what,
		path_name(tool_opts.path), btf ? " (BTF raw tracepoints)" : "",
		until_interrupted ? "; Ctrl-C to end" : "");
	signal_ready();
}

int tool_report_loop(struct ring_buffer *rb, int (*report)(void *ctx),
		     void *ctx)
{
	uint64_t next = now_ns() + tool_opts.interval * 1000000000ULL;
	int err = 0, ms;

	while (!err) {
		/* wait for the interval's end or a signal, reading rb meanwhile */
		while (!tool_exiting && !err && (ms = tool_ms_until(next)) > 0)
			err = tool_poll(rb, ms);
		if (err < 0)
			return err;
		next += tool_opts.interval * 1000000000ULL;
		err = report(ctx);
		if (tool_exiting || --tool_opts.times <= 0)
			break;
	}
	return err;
}

void print_timestamp(void)
{
	char tbuf[32];
	time_t t;

	if (!tool_opts.timestamp)
		return;
	t = time(NULL);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&t));
	printf("%-8s\n", tbuf);
}

void print_log2_hist(FILE *f, const unsigned long long *slots, int n,
		     const char *unit)
{
	unsigned long long max = 0, lo, hi;
	int i, last = -1;

	for (i = 0; i < n; i++) {
		if (slots[i])
			last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (last < 0)
		return;
	fprintf(f, "%*s%-*s : count    distribution\n", 10, "", 14, unit);
	for (i = 0; i <= last; i++) {
		lo = i ? 1ULL << i : 0;
		hi = (1ULL << (i + 1)) - 1;
		fprintf(f, "%20llu -> %-20llu : %-8llu |", lo, hi, slots[i]);
		print_stars(f, slots[i], max, 40);
		fputs("|\n", f);
	}
}

struct json tool_json;

struct json *tool_json_begin(const char *tool)
{
	json_init(&tool_json, stdout, 0);
	json_set_compact(&tool_json, true);
	json_obj_begin(&tool_json, NULL);
	json_str(&tool_json, "tool", tool);
	json_str(&tool_json, "path", path_name(tool_opts.path));
	json_unavailable(&tool_json);
	return &tool_json;
}

struct json *tool_json_summary(const char *tool)
{
	struct json *j = tool_json_begin(tool);

	json_str(j, "unit", tool_opts.ms ? "ms" : "us");
	if (tool_opts.interval_given)
		json_s64(j, "interval_s", tool_opts.interval);
	else
		json_null(j, "interval_s");
	return j;
}

void json_alloc(struct json *j, const char *comm, unsigned int pid,
		const char *area, unsigned long long pages)
{
	json_str(j, "comm", comm);
	json_u64(j, "pid", pid);
	json_str(j, "area", area);
	json_u64(j, "pages", pages);
}

int tool_json_end(void)
{
	json_obj_end(&tool_json);
	return json_finish(&tool_json);
}

void json_log2_hist(struct json *j, const char *key,
		    const unsigned long long *slots, int n)
{
	int i;

	json_arr_begin(j, key);
	for (i = 0; i < n; i++) {
		if (!slots[i])
			continue;
		json_arr_begin(j, NULL);
		json_u64(j, NULL, i ? 1ULL << i : 0ULL);
		json_u64(j, NULL, (1ULL << (i + 1)) - 1);
		json_u64(j, NULL, slots[i]);
		json_arr_end(j);
	}
	json_arr_end(j);
}

const char *errno_str(int err)
{
	return err ? errno_name(err) : "OK";
}

void signal_ready(void)
{
	const char *s = getenv("CMAKIT_READY_FD");
	int64_t fd;

	if (!s || parse_s64(s, 0, INT_MAX, &fd))
		return;
	if (write((int)fd, "1", 1) != 1)
		error_line("cannot signal readiness on fd %d: %s", (int)fd,
			   strerror(errno));
	close((int)fd);
	unsetenv("CMAKIT_READY_FD");
}
