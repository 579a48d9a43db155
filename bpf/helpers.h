/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space helpers shared by the cmakit BPF tools: environment checks,
 * kernel feature probes, trace event formats, histograms, JSON, symbols.
 */
#ifndef CMAKIT_HELPERS_H
#define CMAKIT_HELPERS_H

#include <argp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "common.h"
#include "json.h" /* tools/lib: json_write_string() */
#include <sys/types.h>
#include "util.h" /* tools/lib: parse_s64() */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern const char *prog_name;
extern bool verbose;

/* libbpf's messages: warnings only with --verbose, debug never. */
int libbpf_print_fn(enum libbpf_print_level level, const char *fmt,
		    va_list args);

/* One lower-case line on stderr, prefixed with the tool's name. */
void error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Root, BPF and BTF: print one line naming what is missing and return
 * non-zero, so that the tool can exit before touching anything.
 */
int check_environment(void);

/* --- what every tool shares: options, start-up, signals --------------------- */

/*
 * The options every tool takes (-p PID, -P PATH, --stock, -v, -h) and,
 * for the tools that print summaries, the summary's options (-m, -T, -j)
 * and the positional [interval] [count]. A tool lists tool_summary_argp
 * (if it prints summaries) and tool_argp among its argp's children; what
 * was given lands in tool_opts.
 */
struct tool_opts {
	enum cma_path path; /* PATH_NONE: auto */
	int64_t pid; /* 0: every process */
	/* tool_summary_argp */
	bool ms; /* millisecond histograms */
	bool timestamp;
	bool json;
	bool interval_given;
	int64_t interval; /* seconds */
	int64_t times;
};
extern struct tool_opts tool_opts;
extern const struct argp tool_argp;
extern const struct argp tool_summary_argp;

/*
 * Parse the command line with the tool's argp, route libbpf's messages and
 * check root, BPF and BTF. paths lists the -P values the tool can run on,
 * for the message about a bad one. Returns 0, or 1 after one error line.
 */
int tool_init(const char *name, const char *paths, const struct argp *argp,
	      int argc, char **argv);

/*
 * Load and attach a skeleton (obj->skeleton), then catch SIGINT and
 * SIGTERM into tool_exiting. Returns 0 or a negative errno after one
 * error line.
 */
int tool_start(struct bpf_object_skeleton *s);
/* SIGINT and SIGTERM set tool_exiting; 0 or a negative errno. */
int tool_catch_signals(void);
extern volatile sig_atomic_t tool_exiting;

/* --- kernel features ------------------------------------------------------ */

/* The tracefs mount point, or NULL. */
const char *tracefs_dir(void);
bool tp_exists(const char *sys, const char *event);
/* Fill f from the event's format file; -ENOENT when the field is absent. */
int tp_field(const char *sys, const char *event, const char *field,
	     struct tp_field *f);

/* The names __print_symbolic() gives the values of a field, from the format. */
#define MAX_SYMS 32
struct sym_table {
	int n;
	long val[MAX_SYMS];
	char name[MAX_SYMS][REASON_LEN];
};
int tp_symbols(const char *sys, const char *event, const char *field,
	       struct sym_table *t);
const char *sym_name(const struct sym_table *t, long val);

/*
 * A BTF-enabled raw tracepoint (tp_btf) for the event whose TP_PROTO has
 * exactly nargs arguments: cheaper than a trace event program, which has
 * the kernel build a record first.
 */
bool tp_btf_args(const char *event, int nargs);

/* A function in the running kernel's BTF that fentry can attach to. */
bool kfunc_traceable(const char *name);
/* A function kprobes can attach to (in kallsyms, not inlined away). */
bool kprobe_traceable(const char *name);

/*
 * Pick the path to run on: the requested one, or (PATH_NONE = auto) the
 * richest available. avail[p] says whether path p can run, why[p] what it
 * lacks otherwise. Richer paths passed over are noted as unavailable; an
 * impossible choice prints one error line and returns PATH_NONE.
 */
enum cma_path choose_path(enum cma_path requested, const bool avail[PATH_NONE],
			  const char *const why[PATH_NONE]);

/*
 * How the errno of a failed allocation is learnt when the kernel does not
 * report it: fexit (else kretprobe) on the function cma_alloc() uses to
 * take a range. Sets the programs' targets; *kprobe_func is what
 * attach_kretprobe() must attach to after the skeleton's own attach.
 */
enum errno_src setup_errno_source(enum cma_path path, struct bpf_program *fexit,
				  struct bpf_program *kretprobe,
				  const char **kprobe_func);
int attach_kretprobe(struct bpf_program *prog, const char *func,
		     struct bpf_link **link);

/* Path selection: "auto" or a path name, and the names for messages. */
int parse_path(const char *s, enum cma_path *out);
const char *path_name(enum cma_path p);
const char *errsrc_name(enum errno_src s);

/* Something the tool would have used is missing: one stderr line, kept for JSON. */
void note_unavailable(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void json_unavailable(FILE *f);

/* --- output ----------------------------------------------------------------- */

void print_log2_hist(FILE *f, const unsigned long long *slots, int n,
		     const char *unit);
/* [[lo, hi, count], ...] for the non-empty slots */
void json_log2_hist(FILE *f, const unsigned long long *slots, int n);
/* "ENOMEM" for -12, "OK" for 0, "E<n>" otherwise */
const char *errno_str(int err);

/* Tell whoever started us (cmacollect) that the probes are attached. */
void signal_ready(void);

/* --- kernel symbols --------------------------------------------------------- */
struct ksyms;
struct ksyms *ksyms_load(void);
void ksyms_free(struct ksyms *k);
/* "name+0xoff" for addr in buf; the address in hex when unknown */
const char *ksym_str(const struct ksyms *k, unsigned long long addr, char *buf,
		     size_t len);

#endif /* CMAKIT_HELPERS_H */
