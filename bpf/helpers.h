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

#define TOOL_VERSION "1.0"
/* what -P takes for a tool with every path */
#define ALL_PATHS "auto, patched, stock, fentry, kprobe"
/* the largest interval, count or duration, in seconds */
#define MAX_SECONDS 99999999

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
 * Parse the command line: the tool's own options, their parser and its
 * --help text (@cli), tool_argp's options and, with @cli->summary,
 * tool_summary_argp's options and the positional [interval] [count];
 * @cli->paths lists the -P values the tool can run on (for the message
 * about a bad one). Then route libbpf's messages and check root, BPF and
 * BTF. Returns 0, or 1 after one error line.
 */
struct tool_cli {
	const char *name;
	const char *paths; /* for the message about a bad -P */
	bool summary; /* tool_summary_argp's options too */
	const struct argp_option *options;
	argp_parser_t parser;
	const char *doc;
};
int tool_init(const struct tool_cli *cli, int argc, char **argv);

/*
 * An option's @arg as a whole number from 1 to @max into *@out; otherwise
 * one line "invalid @what: '@arg'" and the usage (exit 64).
 */
void parse_num_arg(const char *what, const char *arg, int64_t max,
		   struct argp_state *state, int64_t *out);

/* An option that only sets a flag; a table of them ends with {}. */
struct tool_flag {
	int key;
	bool *flag;
};
/* @key is one of @flags' options: set its flag and return true. */
bool set_tool_flag(const struct tool_flag *flags, int key);

/* After X_bpf__open() failed: one error line; returns 1 (main's status). */
int tool_open_failed(void);
/*
 * Load and attach a skeleton (obj->skeleton) and, when setup_errno_source()
 * chose a kretprobe, that kretprobe (@prog) into @link; then catch SIGINT
 * and SIGTERM into tool_exiting. Returns 0 or a negative errno after one
 * error line.
 */
int tool_start(struct bpf_object_skeleton *s, struct bpf_program *prog,
	       struct bpf_link **link);
/* A ring buffer on @map, @fn per record; NULL after one error line. */
struct ring_buffer *tool_ring_buffer(struct bpf_map *map,
				     ring_buffer_sample_fn fn);
/*
 * Wait up to @ms (-1: no limit) for @rb's records, and read them; with @rb
 * NULL just wait. SIGINT or SIGTERM ends the wait at once, also one that
 * arrived just before it. 0 to go on, 1 when tool_exiting is set, a
 * negative errno after one error line.
 */
int tool_poll(struct ring_buffer *rb, int ms);
/* The ms from now to @deadline_ns of now_ns() (0 when past), for
 * tool_poll(); -1 (no limit) when @deadline_ns is 0. */
int tool_ms_until(uint64_t deadline_ns);
/* SIGINT and SIGTERM set tool_exiting; 0 or a negative errno. */
int tool_catch_signals(void);
extern volatile sig_atomic_t tool_exiting;
/*
 * The probes are attached: "<tool>: tracing @what on the <path> path", with
 * " (BTF raw tracepoints)" when @btf and "; Ctrl-C to end" when
 * @until_interrupted, on stderr; then signal_ready().
 */
void tool_ready(const char *what, bool btf, bool until_interrupted);
/*
 * The summary tools' main loop: @report(@ctx) every tool_opts.interval
 * seconds, tool_opts.times times, and once more when a signal ends the wait;
 * @rb (if not NULL) is read meanwhile. Returns 0 or a negative errno.
 */
int tool_report_loop(struct ring_buffer *rb, int (*report)(void *ctx),
		     void *ctx);

/* --- paths ------------------------------------------------------------------ */

/*
 * Pick the path (tool_opts.path; PATH_NONE asks for the richest one) and
 * set tool_opts.path to it, PATH_NONE after one error line. patched: when
 * @patched, else @why_patched says what is missing; stock: the cma:*
 * events; fentry, then kprobe: on cma_alloc() itself, for a tool with
 * those programs (@progs: fentry, fexit, kprobe and kretprobe on
 * cma_alloc(); NULL for none), of which only the chosen path's load.
 * Richer paths passed over are noted as unavailable.
 */
enum cma_path choose_tool_path(bool patched, const char *why_patched,
			       struct bpf_program *const progs[4]);

/*
 * The fields of cma_alloc_start and cma_alloc_finish, from tracefs, into
 * @f; true when cma_alloc_finish has the series' errorno, retries and
 * elapsed_ns.
 */
bool read_alloc_fields(struct alloc_fields *f);
/*
 * Once the path is chosen: off the patched path, forget the series'
 * fields; on an event path, check the stock fields the tools need (0, or
 * -EINVAL after one error line).
 */
int use_alloc_fields(struct alloc_fields *f);
/*
 * For a tool on the cma:* events with a fallback on cma_alloc() (@progs,
 * CMA_ALLOC_PROGS()): choose_tool_path() with the series' fields of
 * cma_alloc_finish for the patched path, then use_alloc_fields().
 * Returns the path, PATH_NONE after one error line.
 */
enum cma_path setup_alloc_path(struct alloc_fields *f,
			       struct bpf_program *const progs[4]);
/* The fentry, fexit, kprobe and kretprobe programs on cma_alloc() of @obj */
#define CMA_ALLOC_PROGS(obj)                                            \
	((struct bpf_program *const[4]){ (obj)->progs.fentry_cma_alloc, \
					 (obj)->progs.fexit_cma_alloc,  \
					 (obj)->progs.kprobe_cma_alloc, \
					 (obj)->progs.kretprobe_cma_alloc })
/* The fields @names (NULL-ended) of @sys:@event into the tp_fields at @f */
void read_fields(const char *sys, const char *event, const char *const *names,
		 struct tp_field *f);

/*
 * How the errno of a failed allocation is learnt when the kernel does not
 * report it: fexit (else kretprobe) on the function cma_alloc() uses to
 * take a range. Sets the programs' targets; a kretprobe is attached by
 * tool_start(), after the skeleton's own attach.
 */
enum errno_src setup_errno_source(enum cma_path path, struct bpf_program *fexit,
				  struct bpf_program *kretprobe);

/* Path selection: "auto" or a path name, and the names for messages. */
int parse_path(const char *s, enum cma_path *out);
const char *path_name(enum cma_path p);
const char *errsrc_name(enum errno_src s);

/* Something the tool would have used is missing: one stderr line, kept for JSON. */
void note_unavailable(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* --- output ----------------------------------------------------------------- */

/*
 * The tools' JSON documents, written with tools/lib's writer on stdout in
 * the compact form: tool_json_begin() opens the document and writes its
 * "tool", "path" and "unavailable" members, tool_json_summary() those and
 * a summary's "unit" and "interval_s"; tool_json_end() closes it (newline,
 * flush; -1 on a write error).
 */
extern struct json tool_json;
struct json *tool_json_begin(const char *tool);
struct json *tool_json_summary(const char *tool);
/* A record's "comm", "pid", "area" and "pages" */
void json_alloc(struct json *j, const char *comm, unsigned int pid,
		const char *area, unsigned long long pages);
int tool_json_end(void);

/*
 * Call @fn(key, value, @ctx) on each entry of the BPF hash map @fd (keys of
 * @key_size, values of @value_size bytes) until it returns non-zero, then
 * empty the map. Returns 0, -ENOMEM or what @fn returned.
 */
int map_drain(int fd, size_t key_size, size_t value_size,
	      int (*fn)(const void *key, const void *value, void *ctx),
	      void *ctx);
/* Room for element @n of @size bytes in *@arr (*@cap of them): 0 or -ENOMEM */
int grow_array(void **arr, size_t *cap, size_t n, size_t size);

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
