// SPDX-License-Identifier: GPL-2.0
/*
 * User-space helpers shared by the cmakit BPF tools (see helpers.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "helpers.h"

const char *prog_name = "cmakit";
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
	.interval = 99999999,
	.times = 99999999,
};
volatile sig_atomic_t tool_exiting;
static const char *tool_paths = "auto, patched, stock, fentry, kprobe";

enum { OPT_STOCK = 1000 };

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
		if (parse_s64(arg, 1, INT32_MAX, &tool_opts.pid)) {
			error_line("invalid pid: '%s'", arg);
			argp_usage(state);
		}
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
	switch (key) {
	case 'm':
		tool_opts.ms = true;
		break;
	case 'T':
		tool_opts.timestamp = true;
		break;
	case 'j':
		tool_opts.json = true;
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0) {
			if (parse_s64(arg, 1, 99999999, &tool_opts.interval)) {
				error_line("invalid interval: '%s'", arg);
				argp_usage(state);
			}
			tool_opts.interval_given = true;
		} else if (state->arg_num == 1) {
			if (parse_s64(arg, 1, 99999999, &tool_opts.times)) {
				error_line("invalid count: '%s'", arg);
				argp_usage(state);
			}
		} else {
			return ARGP_ERR_UNKNOWN;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp tool_summary_argp = {
	.options = summary_options,
	.parser = summary_parse,
	.args_doc = "[interval] [count]",
};

int tool_init(const char *name, const char *paths, const struct argp *argp,
	      int argc, char **argv)
{
	prog_name = name;
	tool_paths = paths;
	if (argp_parse(argp, argc, argv, 0, NULL, NULL))
		return 1;
	libbpf_set_print(libbpf_print_fn);
	return check_environment() ? 1 : 0;
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

int tool_start(struct bpf_object_skeleton *s)
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
	return tool_catch_signals();
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

/* --- kernel features ------------------------------------------------------ */

const char *tracefs_dir(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (!access(path, R_OK))
			return dirs[i];
	}
	return NULL;
}

static FILE *open_format(const char *sys, const char *event)
{
	const char *dir = tracefs_dir();
	char path[PATH_MAX];

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", dir, sys, event);
	return fopen(path, "r");
}

bool tp_exists(const char *sys, const char *event)
{
	FILE *f = open_format(sys, event);

	if (!f)
		return false;
	fclose(f);
	return true;
}

/* "\tfield:unsigned long pfn;\toffset:16;\tsize:8;\tsigned:0;" */
static bool parse_field_line(const char *line, const char *want,
			     struct tp_field *f)
{
	const char *decl = strstr(line, "field:");
	const char *semi, *name, *p;
	int off, size, sign;
	size_t len;

	if (!decl)
		return false;
	decl += strlen("field:");
	semi = strchr(decl, ';');
	if (!semi)
		return false;
	/* the name is the last word before ';', without an array suffix */
	p = semi;
	while (p > decl && p[-1] == ']')
		while (p > decl && *--p != '[')
			;
	len = 0;
	name = p;
	while (name > decl &&
	       (isalnum((unsigned char)name[-1]) || name[-1] == '_')) {
		name--;
		len++;
	}
	if (len != strlen(want) || strncmp(name, want, len))
		return false;
	p = strstr(semi, "offset:");
	if (!p || sscanf(p, "offset:%d;\tsize:%d;\tsigned:%d;", &off, &size,
			 &sign) != 3)
		return false;
	if (off < 0 || off > 0xffff || size <= 0 || size > 8)
		return false;
	f->off = off;
	f->size = size;
	f->flags = TPF_PRESENT | (sign ? TPF_SIGNED : 0);
	if (!strncmp(decl, "__data_loc", strlen("__data_loc")))
		f->flags |= TPF_DATA_LOC;
	return true;
}

int tp_field(const char *sys, const char *event, const char *field,
	     struct tp_field *f)
{
	FILE *fp = open_format(sys, event);
	char line[512];
	bool found = false;

	memset(f, 0, sizeof(*f));
	if (!fp)
		return -ENOENT;
	while (!found && fgets(line, sizeof(line), fp))
		found = parse_field_line(line, field, f);
	fclose(fp);
	return found ? 0 : -ENOENT;
}

/* An enumerator name left unresolved in a print format: ask BTF. */
static bool btf_enum_value(const char *name, long *val)
{
	static struct btf *btf;
	int i, j, n;

	if (!btf)
		btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (j = 0; j < btf_vlen(t); j++, e++) {
			if (!strcmp(btf__name_by_offset(btf, e->name_off),
				    name)) {
				*val = e->val;
				return true;
			}
		}
	}
	return false;
}

int tp_symbols(const char *sys, const char *event, const char *field,
	       struct sym_table *t)
{
	FILE *fp = open_format(sys, event);
	char *line = NULL, *p, *end, ident[64];
	char needle[96];
	size_t cap = 0;
	long v;
	int n;

	memset(t, 0, sizeof(*t));
	if (!fp)
		return -ENOENT;
	snprintf(needle, sizeof(needle), "__print_symbolic(REC->%s,", field);
	p = NULL;
	while (getline(&line, &cap, fp) > 0) {
		p = strstr(line, needle);
		if (p)
			break;
	}
	fclose(fp);
	if (!p) {
		free(line);
		return -ENOENT;
	}
	p += strlen(needle);
	/* { 0, "pinned" }, { 1, "writeback" } ... ) */
	while (t->n < MAX_SYMS) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			break;
		p++;
		while (*p == ' ')
			p++;
		v = strtol(p, &end, 0);
		if (end == p) {
			n = 0;
			while ((isalnum((unsigned char)p[n]) || p[n] == '_') &&
			       n < (int)sizeof(ident) - 1) {
				ident[n] = p[n];
				n++;
			}
			ident[n] = '\0';
			if (!n || !btf_enum_value(ident, &v))
				break;
			end = p + n;
		}
		p = strchr(end, '"');
		if (!p)
			break;
		end = strchr(++p, '"');
		if (!end)
			break;
		n = end - p < REASON_LEN - 1 ? end - p : REASON_LEN - 1;
		t->val[t->n] = v;
		memcpy(t->name[t->n], p, n);
		t->name[t->n][n] = '\0';
		t->n++;
		p = strchr(end, '}');
		if (!p)
			break;
		p++;
	}
	free(line);
	return t->n ? 0 : -ENOENT;
}

const char *sym_name(const struct sym_table *t, long val)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->val[i] == val)
			return t->name[i];
	return "unknown";
}

static bool file_has_word(const char *path, const char *word)
{
	size_t len = strlen(word);
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "name", "name [module]" or kallsyms' "addr t name" */
		char *p = strstr(line, word);

		while (p && !found) {
			bool start = p == line || p[-1] == ' ';
			char c = p[len];

			found = start && (c == '\n' || c == ' ' || c == '\t' ||
					  c == '\0');
			p = strstr(p + 1, word);
		}
	}
	fclose(f);
	return found;
}

bool tp_btf_args(const char *event, int nargs)
{
	static struct btf *btf;
	const struct btf_type *t;
	char name[128];
	int id;

	if (!btf)
		btf = btf__load_vmlinux_btf();
	snprintf(name, sizeof(name), "btf_trace_%s", event);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) : -1;
	if (id < 0)
		return false;
	/* typedef void (*btf_trace_<event>)(void *__data, <TP_PROTO>) */
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) == nargs + 1;
}

bool kfunc_traceable(const char *name)
{
	static struct btf *btf;
	const char *dir = tracefs_dir();
	char path[PATH_MAX];

	if (!btf)
		btf = btf__load_vmlinux_btf();
	if (!btf || btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) < 0)
		return false;
	if (!kprobe_traceable(name))
		return false;
	if (!dir)
		return true; /* nothing more to ask; attaching will tell */
	snprintf(path, sizeof(path), "%s/available_filter_functions", dir);
	return access(path, R_OK) || file_has_word(path, name);
}

bool kprobe_traceable(const char *name)
{
	return file_has_word("/proc/kallsyms", name);
}

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

enum cma_path choose_path(enum cma_path requested, const bool avail[PATH_NONE],
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
				  struct bpf_program *kretprobe,
				  const char **kprobe_func)
{
	const char *f;

	*kprobe_func = NULL;
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
		*kprobe_func = f;
		return ERRSRC_KRETPROBE;
	}
	note_unavailable(
		"error codes of failures: %s not traceable, -ENOMEM assumed",
		f);
	return ERRSRC_NONE;
}

int attach_kretprobe(struct bpf_program *prog, const char *func,
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

void json_unavailable(FILE *f)
{
	int i;

	fputc('[', f);
	for (i = 0; i < nr_notes; i++) {
		if (i)
			fputc(',', f);
		json_write_string(f, notes[i]);
	}
	fputc(']', f);
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

void json_log2_hist(FILE *f, const unsigned long long *slots, int n)
{
	bool first = true;
	int i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		if (!slots[i])
			continue;
		fprintf(f, "%s[%llu,%llu,%llu]", first ? "" : ",",
			i ? 1ULL << i : 0ULL, (1ULL << (i + 1)) - 1, slots[i]);
		first = false;
	}
	fputc(']', f);
}

const char *errno_str(int err)
{
	static char buf[16];
	const char *s;

	if (!err)
		return "OK";
	s = err < 0 ? strerrorname_np(-err) : NULL;
	if (s)
		return s;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
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

/* --- kernel symbols --------------------------------------------------------- */

struct ksym {
	unsigned long long addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(void)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	unsigned long long addr;
	char name[256], type;
	size_t cap = 0;
	FILE *f;

	if (!k)
		return NULL;
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		free(k);
		return NULL;
	}
	while (fscanf(f, "%llx %c %255s%*[^\n]\n", &addr, &type, name) == 3) {
		struct ksym *s;

		if (!addr)
			continue;
		if (k->n == cap) {
			cap = cap ? cap * 2 : 65536;
			s = realloc(k->syms, cap * sizeof(*s));
			if (!s)
				break;
			k->syms = s;
		}
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (!k->syms[k->n].name)
			break;
		k->n++;
	}
	fclose(f);
	qsort(k->syms, k->n, sizeof(*k->syms), ksym_cmp);
	return k;
}

void ksyms_free(struct ksyms *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}

const char *ksym_str(const struct ksyms *k, unsigned long long addr, char *buf,
		     size_t len)
{
	size_t lo = 0, hi = k ? k->n : 0;

	/* the last symbol at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		snprintf(buf, len, "%s+0x%llx", k->syms[lo - 1].name,
			 addr - k->syms[lo - 1].addr);
	else
		snprintf(buf, len, "0x%llx", addr);
	return buf;
}
