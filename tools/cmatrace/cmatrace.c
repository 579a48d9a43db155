// SPDX-License-Identifier: GPL-2.0
/*
 * cmatrace: CMA allocations as per-allocation records, from a live tracefs
 * instance or from a trace-cmd recording. See docs/cmatrace.md.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <trace-cmd.h>
#include <tracefs.h>

#include "cmt.h"
#include "fly.h"

static const char doc[] =
	"cmatrace: CMA allocations from trace events, one record each.\n"
	"\n"
	"USAGE:\n"
	"  cmatrace live [OPTIONS] [-- COMMAND [ARGS...]]\n"
	"  cmatrace report [OPTIONS] FILE.dat\n"
	"  cmatrace events\n"
	"\n"
	"live traces in its own tracefs instance until SIGINT, or while\n"
	"COMMAND runs; report reads a trace.dat of `trace-cmd record`;\n"
	"events prints the trace-cmd -e arguments report needs.\n"
	"\n"
	"EXAMPLES:\n"
	"  cmatrace live -o allocs.jsonl -- cmabench run\n"
	"  trace-cmd record $(cmatrace events) -- cmabench run\n"
	"  cmatrace report -f summary trace.dat\n"
	"\v"
	"Formats: jsonl (default), csv, summary. Exit status: 0 ok, 1 error,\n"
	"2 usage; live -- COMMAND exits with COMMAND's status.";

enum { OPT_SUMMARY_JSON = 256 };

static const struct argp_option options[] = {
	{ "format", 'f', "FMT", 0, "jsonl, csv or summary", 0 },
	{ "output", 'o', "FILE", 0, "write records to FILE (default stdout)",
	  0 },
	{ "summary-json", OPT_SUMMARY_JSON, "FILE", 0,
	  "also write the JSON summary to FILE", 0 },
	{ "buffer-kb", 'b', "KB", 0, "live: per-CPU ring buffer size", 0 },
	{ "instance", 'i', "NAME", 0, "live: tracefs instance name", 0 },
	{ 0 },
};

enum mode { MODE_NONE, MODE_LIVE, MODE_REPORT, MODE_EVENTS };

struct args {
	enum mode mode;
	enum cmt_format fmt;
	const char *output;
	const char *summary_json;
	const char *file;
	char **cmd;
	long buffer_kb;
	const char *instance;
};

static void die_usage(struct argp_state *state, const char *msg)
{
	argp_error(state, "%s", msg);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	char *end;

	switch (key) {
	case 'f':
		if (!strcmp(arg, "jsonl"))
			a->fmt = CMT_FMT_JSONL;
		else if (!strcmp(arg, "csv"))
			a->fmt = CMT_FMT_CSV;
		else if (!strcmp(arg, "summary"))
			a->fmt = CMT_FMT_SUMMARY;
		else
			die_usage(state,
				  "unknown format (jsonl, csv, summary)");
		break;
	case 'o':
		a->output = arg;
		break;
	case OPT_SUMMARY_JSON:
		a->summary_json = arg;
		break;
	case 'b':
		errno = 0;
		a->buffer_kb = strtol(arg, &end, 10);
		if (errno || *end || a->buffer_kb < 4 ||
		    a->buffer_kb > 1024 * 1024)
			die_usage(state, "invalid --buffer-kb (4..1048576)");
		break;
	case 'i':
		a->instance = arg;
		break;
	case ARGP_KEY_ARG:
		if (a->mode == MODE_REPORT && !a->file) {
			a->file = arg;
			break;
		}
		if (a->mode == MODE_LIVE) {
			a->cmd = &state->argv[state->next - 1];
			state->next = state->argc;
			break;
		}
		die_usage(state, "too many arguments");
		break;
	case ARGP_KEY_END:
		if (a->mode == MODE_REPORT && !a->file)
			die_usage(state, "report needs a trace.dat file");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, "live|report|events",
				  doc,	   NULL,      NULL,
				  NULL };

/* Our error messages; in the report child, stderr itself goes to /dev/null
 * because libtracecmd prints warnings of its own on bad files. */
static FILE *errf;

static int open_output(const char *path)
{
	int fd;

	if (!path || !strcmp(path, "-"))
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(errf, "cmatrace: cannot write %s: %s\n", path,
			strerror(errno));
	return fd;
}

/*
 * The output file of @a, its writer (@comm names the tasks) and the
 * correlator that feeds it. 0, or -1 after one line on errf.
 */
static int start_output(const struct args *a, cmt_comm_fn comm, void *ctx,
			int *fd, struct cmt_out **out, struct cmt_corr **corr)
{
	*fd = open_output(a->output);
	if (*fd < 0)
		return -1;
	*out = cmt_out_new(*fd, a->fmt, comm, ctx);
	*corr = *out ? cmt_corr_new(cmt_out_alloc, *out) : NULL;
	if (!*corr) {
		fprintf(errf, "cmatrace: out of memory\n");
		return -1;
	}
	return 0;
}

static bool write_summary(struct cmt_out *o, const struct cmt_counts *cnt,
			  const char *source, const char *path)
{
	int fd = open_output(path);
	bool ok;

	if (fd < 0)
		return false;
	ok = cmt_out_summary_json(o, cnt, source, fd);
	if (fd != STDOUT_FILENO && close(fd))
		ok = false;
	if (!ok)
		fprintf(errf, "cmatrace: cannot write %s: %s\n", path,
			strerror(errno));
	return ok;
}

/* ---- report ------------------------------------------------------------ */

struct report_ctx {
	struct cmt_decoder *dec;
	struct cmt_corr *corr;
	struct cmt_out *out;
	struct tep_handle *tep;
	unsigned long long last_ts;
	int comm_pid;
	const char *comm;
};

static const char *report_comm(void *ctx, int pid)
{
	struct report_ctx *r = ctx;
	const char *c;

	if (r->comm && r->comm_pid == pid)
		return r->comm;
	c = tep_data_comm_from_pid(r->tep, pid);
	/* libtraceevent names unknown pids "<...>" */
	if (!c || !strcmp(c, "<...>"))
		c = NULL;
	r->comm_pid = pid;
	r->comm = c;
	return c;
}

/*
 * One record of @cpu's buffer, already decoded (@ev NULL: not one of ours):
 * its lost events and its event go to @corr. 0, or -1 once writing the
 * output failed (which ends the iteration).
 */
static int take_event(struct cmt_corr *corr, struct cmt_out *out, int cpu,
		      uint64_t ts, long long missed, struct cmt_event *ev)
{
	if (missed)
		cmt_corr_missed(corr, cpu, missed);
	if (!ev)
		return 0;
	ev->cpu = cpu;
	ev->ts = ts;
	cmt_corr_event(corr, ev);
	return cmt_out_failed(out) ? -1 : 0;
}

/* The same for a raw record, from a file or live. */
static int take_record(const struct cmt_decoder *dec, struct cmt_corr *corr,
		       struct cmt_out *out, const struct tep_record *rec,
		       int cpu)
{
	struct cmt_event ev;
	bool ours = cmt_decode(dec, rec->data, rec->size, &ev) != CMT_K_NONE;

	return take_event(corr, out, cpu, rec->ts, rec->missed_events,
			  ours ? &ev : NULL);
}

static int report_record(struct tracecmd_input *h, struct tep_record *rec,
			 int cpu, void *data)
{
	struct report_ctx *r = data;

	(void)h;
	return take_record(r->dec, r->corr, r->out, rec, cpu);
}

static int report_fly(void *data, int cpu, uint64_t ts, int missed,
		      struct cmt_event *ev)
{
	struct report_ctx *r = data;

	return take_event(r->corr, r->out, cpu, ts, missed, ev);
}

/*
 * The trace is read: close the open allocations, end the output and
 * write the summary to @summary_json if asked; @source names the trace
 * there. 0, or -1 after one line on @msgs (or write_summary()'s own).
 */
static int finish(struct cmt_corr *corr, struct cmt_out *out, FILE *msgs,
		  const char *source, const char *summary_json)
{
	cmt_corr_flush(corr);
	if (!cmt_out_finish(out, cmt_corr_counts(corr))) {
		fprintf(msgs, "cmatrace: cannot write output: %s\n",
			strerror(errno));
		return -1;
	}
	if (summary_json &&
	    !write_summary(out, cmt_corr_counts(corr), source, summary_json))
		return -1;
	return 0;
}

static int report_file(const struct args *a)
{
	struct report_ctx r = { 0 };
	struct tracecmd_input *h = NULL;
	struct cmt_fly *fly;
	int fd = -1, ret = 1, err;

	tracecmd_set_loglevel(TEP_LOG_NONE);
	tep_set_loglevel(TEP_LOG_NONE);
	h = tracecmd_open(a->file, TRACECMD_FL_LOAD_NO_PLUGINS |
					   TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);
	if (!h) {
		fprintf(errf,
			"cmatrace: %s: not a readable trace.dat (corrupt or "
			"truncated)\n",
			a->file);
		return 1;
	}
	r.tep = tracecmd_get_tep(h);
	r.dec = r.tep ? cmt_decoder_new(r.tep) : NULL;
	if (!r.dec) {
		fprintf(errf, "cmatrace: out of memory\n");
		goto cleanup;
	}
	if (!cmt_decoder_known(r.dec)) {
		fprintf(errf,
			"cmatrace: %s: no CMA events recorded (record with "
			"`trace-cmd record $(cmatrace events)`)\n",
			a->file);
		goto cleanup;
	}
	if (start_output(a, report_comm, &r, &fd, &r.out, &r.corr))
		goto cleanup;
	/* cmatrace's own reader where it knows the file, else libtracecmd */
	fly = cmt_fly_open(a->file, r.tep, r.dec);
	if (fly)
		err = cmt_fly_iterate(fly, report_fly, &r);
	else
		err = tracecmd_iterate_events(h, NULL, 0, report_record, &r);
	cmt_fly_close(fly);
	if (err < 0 && !cmt_out_failed(r.out)) {
		fprintf(errf, "cmatrace: %s: cannot read trace data\n",
			a->file);
		goto cleanup;
	}
	if (finish(r.corr, r.out, errf, "report", a->summary_json))
		goto cleanup;
	ret = 0;
cleanup:
	cmt_corr_free(r.corr);
	cmt_out_free(r.out);
	cmt_decoder_free(r.dec);
	if (fd > STDOUT_FILENO && close(fd) && !ret) {
		fprintf(errf, "cmatrace: cannot write %s: %s\n", a->output,
			strerror(errno));
		ret = 1;
	}
	tracecmd_close(h);
	return ret;
}

/*
 * libtraceevent and libtracecmd trust the file: a corrupt event format or
 * a file shorter than its header claims can make them crash (a format
 * parser NULL dereference, SIGBUS on pages mapped past the end). So the
 * file is read in a child process; if that dies by a signal, cmatrace
 * reports the file as corrupt in one line instead of crashing.
 */
static int do_report(const struct args *a)
{
	struct rlimit no_core = { 0, 0 };
	struct stat st;
	int status;
	pid_t pid;

	if (stat(a->file, &st)) {
		fprintf(stderr, "cmatrace: cannot read %s: %s\n", a->file,
			strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "cmatrace: %s: not a regular file\n", a->file);
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cmatrace: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int efd = dup(STDERR_FILENO);
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

		setrlimit(RLIMIT_CORE, &no_core);
		errf = efd >= 0 ? fdopen(efd, "w") : NULL;
		if (!errf)
			errf = stderr;
		else if (nul >= 0)
			dup2(nul, STDERR_FILENO);
		setvbuf(errf, NULL, _IONBF, 0);
		_exit(report_file(a));
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "cmatrace: lost the reader: %s\n",
				strerror(errno));
			return 1;
		}
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr,
			"cmatrace: %s: corrupt trace data (the trace library "
			"failed on it: %s)\n",
			a->file, strsignal(WTERMSIG(status)));
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---- live -------------------------------------------------------------- */

static volatile sig_atomic_t stop_sig;
static struct tracefs_instance *live_inst;
/* SIGPIPE too: a closed output pipe must end in the cleanup path */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
static struct sigaction old_actions[4];

/* Only a flag: tracefs_iterate_stop() would drop the rest of the page being
 * read, and each pass over the buffers ends by itself once they are empty. */
static void on_stop(int sig)
{
	stop_sig = sig;
}

struct live_ctx {
	struct cmt_decoder *dec;
	struct cmt_corr *corr;
	struct cmt_out *out;
	int comm_pid;
	char comm[32];
};

static const char *live_comm(void *ctx, int pid)
{
	struct live_ctx *l = ctx;
	char path[64];
	ssize_t n;
	int fd;

	if (l->comm_pid == pid && l->comm[0])
		return l->comm;
	l->comm_pid = pid;
	l->comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, l->comm, sizeof(l->comm) - 1);
	close(fd);
	if (n <= 0) {
		l->comm[0] = '\0';
		return NULL;
	}
	if (l->comm[n - 1] == '\n')
		n--;
	l->comm[n] = '\0';
	return l->comm;
}

static int live_record(struct tep_event *event, struct tep_record *rec, int cpu,
		       void *data)
{
	struct live_ctx *l = data;

	(void)event;
	return take_record(l->dec, l->corr, l->out, rec, cpu);
}

static pid_t start_command(char **cmd)
{
	pid_t pid = fork();
	unsigned int i;

	if (pid != 0)
		return pid;
	for (i = 0; i < 4; i++)
		sigaction(stop_signals[i], &old_actions[i], NULL);
	execvp(cmd[0], cmd);
	fprintf(stderr, "cmatrace: cannot run %s: %s\n", cmd[0],
		strerror(errno));
	_exit(127);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The command's exit status, waiting at most ms; -1 while it runs. */
static int reap(pid_t pid, long ms, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return 0;
		if (ms <= 0)
			return -1;
		sleep_ms(ms < 20 ? ms : 20);
		ms -= 20;
	}
}

/*
 * Said once, plainly: what this kernel's events cannot tell (a stock 6.1
 * kernel has none of the series' events); those fields are null.
 */
static void say_unknown(const struct cmt_decoder *dec)
{
	bool phases = cmt_decoder_has(dec, CMT_K_ISOLATE);
	bool busy = cmt_decoder_has(dec, CMT_K_BUSY_PAGE);

	if (!phases)
		fprintf(stderr, "cmatrace: no cma:cma_range_* events in this "
				"kernel: phases and migrated pages are unknown "
				"(null in the output)\n");
	if (!busy)
		fprintf(stderr, "cmatrace: no cma:cma_busy_page event in this "
				"kernel: the page that kept a range busy is "
				"unknown (null in the output)\n");
}

static int do_live(const struct args *a)
{
	static const char *const systems[] = { "cma", "migrate",
					       "page_isolation", NULL };
	bool enabled[32] = { false };
	struct live_ctx l = { 0 };
	struct tep_handle *tep = NULL;
	struct sigaction sa = { 0 };
	char name[64];
	pid_t child = -1;
	int status = 0, fd = -1, ret = 1, i, n = 0;
	bool child_done = true;

	if (!tracefs_tracing_dir()) {
		fprintf(stderr, "cmatrace: tracefs not found (mount it on "
				"/sys/kernel/tracing)\n");
		return 1;
	}
	if (a->instance)
		snprintf(name, sizeof(name), "%s", a->instance);
	else
		snprintf(name, sizeof(name), "cmatrace-%d", (int)getpid());
	if (tracefs_instance_exists(name)) {
		fprintf(stderr,
			"cmatrace: tracefs instance %s already exists\n", name);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 4; i++) {
		sa.sa_handler = stop_signals[i] == SIGPIPE ? SIG_IGN : on_stop;
		sigaction(stop_signals[i], &sa, &old_actions[i]);
	}

	tep = tracefs_local_events_system(NULL, systems);
	if (!tep) {
		fprintf(stderr, "cmatrace: cannot read event formats from "
				"tracefs (are you root?)\n");
		goto cleanup;
	}
	l.dec = cmt_decoder_new(tep);
	if (!l.dec) {
		fprintf(stderr, "cmatrace: out of memory\n");
		goto cleanup;
	}
	if (!cmt_decoder_has(l.dec, CMT_K_START) ||
	    !cmt_decoder_has(l.dec, CMT_K_FINISH)) {
		fprintf(stderr, "cmatrace: this kernel has no cma trace "
				"events (CONFIG_CMA)\n");
		goto cleanup;
	}
	live_inst = tracefs_instance_create(name);
	if (!live_inst) {
		fprintf(stderr,
			"cmatrace: cannot create tracefs instance %s: "
			"%s\n",
			name, strerror(errno));
		goto cleanup;
	}
	if (!tracefs_instance_is_new(live_inst)) {
		/* somebody else's: never destroy it */
		fprintf(stderr,
			"cmatrace: tracefs instance %s already exists\n", name);
		tracefs_instance_free(live_inst);
		live_inst = NULL;
		goto cleanup;
	}
	if (a->buffer_kb && tracefs_instance_set_buffer_size(
				    live_inst, (size_t)a->buffer_kb, -1) < 0) {
		fprintf(stderr, "cmatrace: cannot set buffer size %ld KB\n",
			a->buffer_kb);
		goto cleanup;
	}
	for (i = 0; i < cmt_nr_event_names; i++) {
		const struct cmt_event_name *e = &cmt_event_names[i];

		if (!cmt_decoder_has(l.dec, e->kind))
			continue; /* not in this kernel (stock 6.1) */
		if (tracefs_event_enable(live_inst, e->system, e->name)) {
			fprintf(stderr, "cmatrace: cannot enable %s:%s\n",
				e->system, e->name);
			goto cleanup;
		}
		enabled[i] = true;
		n++;
	}
	say_unknown(l.dec);
	if (start_output(a, live_comm, &l, &fd, &l.out, &l.corr))
		goto cleanup;
	if (tracefs_trace_on(live_inst)) {
		fprintf(stderr, "cmatrace: cannot turn tracing on\n");
		goto cleanup;
	}
	fprintf(stderr, "cmatrace: tracing %d events in instance %s%s\n", n,
		name, a->cmd ? "" : "; Ctrl-C to stop");
	if (a->cmd) {
		child = start_command(a->cmd);
		if (child < 0) {
			fprintf(stderr, "cmatrace: cannot fork: %s\n",
				strerror(errno));
			goto cleanup;
		}
		child_done = false;
	}
	while (!stop_sig) {
		if (tracefs_iterate_raw_events(tep, live_inst, NULL, 0,
					       live_record, &l) < 0) {
			fprintf(stderr, "cmatrace: cannot read the ring "
					"buffers\n");
			goto cleanup;
		}
		if (cmt_out_failed(l.out) || !cmt_out_flush(l.out)) {
			fprintf(stderr, "cmatrace: cannot write output: %s\n",
				strerror(errno));
			goto cleanup;
		}
		if (!child_done && reap(child, 100, &status) == 0) {
			child_done = true;
			break;
		}
		if (child_done && !a->cmd)
			sleep_ms(100);
	}
	/* drain what the buffers still hold, then close open allocations */
	tracefs_trace_off(live_inst);
	if (tracefs_iterate_raw_events(tep, live_inst, NULL, 0, live_record,
				       &l) < 0) {
		fprintf(stderr, "cmatrace: cannot read the ring buffers\n");
		goto cleanup;
	}
	if (finish(l.corr, l.out, stderr, "live", a->summary_json))
		goto cleanup;
	{
		const struct cmt_counts *c = cmt_corr_counts(l.corr);

		if (c->missed_events || c->missed_unknown)
			fprintf(stderr,
				"cmatrace: the ring buffer lost %llu events "
				"(%llu times an unknown number); records "
				"are marked lost_events\n",
				(unsigned long long)c->missed_events,
				(unsigned long long)c->missed_unknown);
	}
	ret = 0;
cleanup:
	if (!child_done) {
		/* stopped by a signal or an error: stop the command too */
		kill(child, stop_sig ? stop_sig : SIGTERM);
		if (reap(child, 2000, &status)) {
			kill(child, SIGKILL);
			reap(child, 2000, &status);
		}
	}
	if (live_inst) {
		for (i = 0; i < cmt_nr_event_names; i++)
			if (enabled[i])
				tracefs_event_disable(live_inst,
						      cmt_event_names[i].system,
						      cmt_event_names[i].name);
		tracefs_trace_off(live_inst);
		if (tracefs_instance_destroy(live_inst)) {
			fprintf(stderr,
				"cmatrace: cannot remove tracefs instance %s\n",
				name);
			ret = 1;
		}
		tracefs_instance_free(live_inst);
		live_inst = NULL;
	}
	cmt_corr_free(l.corr);
	cmt_out_free(l.out);
	cmt_decoder_free(l.dec);
	tep_free(tep);
	if (fd > STDOUT_FILENO && close(fd) && !ret) {
		fprintf(stderr, "cmatrace: cannot write %s: %s\n", a->output,
			strerror(errno));
		ret = 1;
	}
	if (ret == 0 && a->cmd) {
		if (WIFEXITED(status))
			ret = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			ret = 128 + WTERMSIG(status);
	}
	if (ret == 0 && stop_sig && !a->cmd)
		ret = 0; /* Ctrl-C is the normal way to stop */
	return ret;
}

static int do_events(void)
{
	/* -e cma covers the events the patched kernels add */
	puts("-e cma -e migrate:mm_migrate_pages "
	     "-e page_isolation:test_pages_isolated");
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int idx;

	errf = stderr;
	argp_err_exit_status = 2;
	if (argc < 2) {
		fprintf(stderr,
			"cmatrace: missing mode (live, report, events); "
			"try cmatrace --help\n");
		return 2;
	}
	if (!strcmp(argv[1], "live"))
		a.mode = MODE_LIVE;
	else if (!strcmp(argv[1], "report"))
		a.mode = MODE_REPORT;
	else if (!strcmp(argv[1], "events"))
		a.mode = MODE_EVENTS;
	else if (argv[1][0] != '-') {
		fprintf(stderr,
			"cmatrace: unknown mode '%s' (live, report, "
			"events)\n",
			argv[1]);
		return 2;
	}
	if (a.mode != MODE_NONE) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, &idx, &a))
		return 2;
	switch (a.mode) {
	case MODE_LIVE:
		return do_live(&a);
	case MODE_REPORT:
		return do_report(&a);
	case MODE_EVENTS:
		return do_events();
	default:
		fprintf(stderr,
			"cmatrace: missing mode (live, report, events)\n");
		return 2;
	}
}
