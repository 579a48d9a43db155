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
#include "probe.h" /* what the running kernel offers */
#include "json.h" /* tools/lib: the JSON writer */
#include <sys/types.h>
#include "util.h" /* tools/lib: parse_s64(), errno_name() */

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
 * Parse the command line: the tool's own @options, their @parser and its
 * --help text @doc, tool_argp's options and, with @summary, tool_summary_argp's
 * options and the positional [interval] [count]; @paths lists the -P values
 * the tool can run on (for the message about a bad one). Then route libbpf's
 * messages and check root, BPF and BTF. Returns 0, or 1 after one error line.
 */
int tool_init(const char *name, const char *paths, bool summary,
	      const struct argp_option *options, argp_parser_t parser,
	      const char *doc, int argc, char **argv);

/* After X_bpf__open() failed: one error line; returns 1 (main's status). */
int tool_open_failed(void);
/*
 * Load and attach a skeleton (obj->skeleton) and, when setup_errno_source()
 * named a function for it (@func), the kretprobe @prog into @link; then
 * catch SIGINT and SIGTERM into tool_exiting. Returns 0 or a negative
 * errno after one error line.
 */
int tool_start(struct bpf_object_skeleton *s, struct bpf_program *prog,
	       const char *func, struct bpf_link **link);
/* A ring buffer on @map, @fn per record; NULL after one error line. */
struct ring_buffer *tool_ring_buffer(struct bpf_map *map,
				     ring_buffer_sample_fn fn);
/*
 * Poll @rb for up to @ms: 0 to go on, 1 when a signal ended the wait, a
 * negative errno after one error line.
 */
int tool_poll(struct ring_buffer *rb, int ms);
/* SIGINT and SIGTERM set tool_exiting; 0 or a negative errno. */
int tool_catch_signals(void);
extern volatile sig_atomic_t tool_exiting;

/* --- paths ------------------------------------------------------------------ */

/*
 * Pick the path to run on: the requested one, or (PATH_NONE = auto) the
 * richest available. avail[p] says whether path p can run, why[p] what it
 * lacks otherwise. Richer paths passed over are noted as unavailable; an
 * impossible choice prints one error line and returns PATH_NONE.
 */
enum cma_path choose_path(enum cma_path requested, const bool avail[PATH_NONE],
			  const char *const why[PATH_NONE]);

/*
 * choose_path() for a tool that can also probe cma_alloc() itself: fills
 * in the fentry and kprobe paths' avail[] and why[], picks the path and
 * loads only the cma_alloc() probes of that path (@fentry and @fexit, or
 * @kprobe and @kretprobe).
 */
enum cma_path
choose_cma_alloc_path(enum cma_path requested, bool avail[PATH_NONE],
		      const char *why[PATH_NONE], struct bpf_program *fentry,
		      struct bpf_program *fexit, struct bpf_program *kprobe,
		      struct bpf_program *kretprobe);

/*
 * How the errno of a failed allocation is learnt when the kernel does not
 * report it: fexit (else kretprobe) on the function cma_alloc() uses to
 * take a range. Sets the programs' targets; *kprobe_func is what
 * tool_start() must attach the kretprobe to after the skeleton's own attach.
 */
enum errno_src setup_errno_source(enum cma_path path, struct bpf_program *fexit,
				  struct bpf_program *kretprobe,
				  const char **kprobe_func);

/* Path selection: "auto" or a path name, and the names for messages. */
int parse_path(const char *s, enum cma_path *out);
const char *path_name(enum cma_path p);
const char *errsrc_name(enum errno_src s);

/* Something the tool would have used is missing: one stderr line, kept for JSON. */
void note_unavailable(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* "unavailable": [the notes] */
void json_unavailable(struct json *j);

/* --- output ----------------------------------------------------------------- */

/*
 * The tools' JSON documents, written with tools/lib's writer on stdout in
 * the compact form: tool_json_begin() opens the document and writes its
 * "tool" member, tool_json_end() closes it (newline, flush; -1 on a write
 * error).
 */
extern struct json tool_json;
struct json *tool_json_begin(const char *tool);
int tool_json_end(void);

/* Empty the BPF hash map @fd; @key is room for one of its keys. */
void clear_map(int fd, void *key);

/* With -T, the time of day on a line of its own, before a summary */
void print_timestamp(void);
void print_log2_hist(FILE *f, const unsigned long long *slots, int n,
		     const char *unit);
/* @key: [[lo, hi, count], ...] for the non-empty slots */
void json_log2_hist(struct json *j, const char *key,
		    const unsigned long long *slots, int n);
/* "OK" for 0, else tools/lib's errno_name(): "ENOMEM" for -12, "E<n>" */
const char *errno_str(int err);

/* Tell whoever started us (cmacollect) that the probes are attached. */
void signal_ready(void);

#endif /* CMAKIT_HELPERS_H */
