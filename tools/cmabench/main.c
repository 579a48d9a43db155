// SPDX-License-Identifier: GPL-2.0
/*
 * cmabench: allocate from a CMA area under controlled memory pressure and
 * record every allocation. See README.md and docs/results.md.
 *
 * Flow: parse (scenario, then options) -> detect areas and backend -> start
 * pressure and fault injection -> counters before -> rounds (occupancy to
 * target, pins, one request per thread, hold, release by window) -> release
 * everything -> counters after -> restore every knob -> write results.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

/* The request threads of a run with --threads > 1, started together each round. */
struct pool {
	pthread_mutex_t gate; /* held while the threads are being started */
	pthread_barrier_t start, done;
	uint64_t round, pages;
	bool quit, ready; /* ready: the barriers are set up */
	int failed;
};

struct worker {
	struct cb_run *r;
	struct pool *pool;
	unsigned int id, seed;
	pthread_t tid;
	struct cb_buf *held;
	size_t nheld;
};

static void sleep_ms(uint64_t ms)
{
	while (ms && !cb_stop) {
		uint64_t step = ms > 50 ? 50 : ms;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int release_one(struct worker *w, size_t idx)
{
	struct cb_run *r = w->r;
	struct cb_buf b = w->held[idx];
	uint64_t ns;
	int rc;

	memmove(&w->held[idx], &w->held[idx + 1],
		(w->nheld - idx - 1) * sizeof(*w->held));
	w->nheld--;
	rc = cb_backend_free(r, &b, &ns);
	pthread_mutex_lock(&r->lock);
	if (!rc)
		r->rec[b.rec].release_ns = ns;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static size_t pick(struct worker *w)
{
	switch (w->r->cfg.release) {
	case REL_FIFO:
		return 0;
	case REL_RANDOM:
		return rand_r(&w->seed) % w->nheld;
	default:
		return w->nheld - 1;
	}
}

static int request(struct worker *w, uint64_t round, uint64_t pages)
{
	struct cb_run *r = w->r;
	const struct cb_config *c = &r->cfg;
	struct cb_record rec;
	struct cb_buf b;
	/* the area's counters around the request: one thread, patched kernel */
	static const char *const keys[] = { "injected_faults",
					    "pages_migrated" };
	int64_t s0[2], s1[2];
	bool track = c->threads == 1 && r->feat.debugfs_stats;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.round = round;
	rec.thread = w->id;
	rec.injected = -1;
	rec.migrated = -1;
	rec.release_ns = -1;
	rec.pinned = r->pinned_last;
	if (r->occ.valid) {
		rec.has_occ = true;
		rec.mix = r->occ.mix;
		rec.occ_used = r->occ.used;
		rec.landing = r->occ.landing;
	}
	if (track && cb_area_stats(r, keys, s0, 2))
		track = false;
	rec.t_ns = now_ns() - r->t0_ns;
	rc = cb_backend_alloc(r, pages, c->align, &b, &rec);
	if (rc)
		return -1;
	if (cb_areamap_locate(r, &rec)) {
		if (rec.ok)
			cb_backend_free(r, &b, &rec.user_ns);
		return -1;
	}
	if (track && !cb_area_stats(r, keys, s1, 2)) {
		if (c->inject)
			rec.injected = s1[0] > s0[0];
		rec.migrated = s1[1] - s0[1];
	}
	pthread_mutex_lock(&r->lock);
	if (r->nrec == r->caprec) {
		size_t cap = r->caprec ? r->caprec * 2 : 256;
		void *p = realloc(r->rec, cap * sizeof(*r->rec));

		if (!p) {
			pthread_mutex_unlock(&r->lock);
			if (rec.ok)
				cb_backend_free(r, &b, &rec.user_ns);
			cb_err(r, "out of memory for records");
			return -1;
		}
		r->rec = p;
		r->caprec = cap;
	}
	rec.seq = r->nrec;
	b.rec = r->nrec;
	r->rec[r->nrec++] = rec;
	pthread_mutex_unlock(&r->lock);
	if (!rec.ok)
		return 0;
	w->held[w->nheld++] = b;
	sleep_ms(c->hold_ms);
	while (w->nheld > c->window)
		if (release_one(w, pick(w)))
			return -1;
	return 0;
}

/* Every buffer still held; one the kernel refuses is an error (cb_err), the rest go on. */
static void release_all(struct worker *w)
{
	while (w->nheld)
		release_one(w, pick(w));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *P = w->pool;

	pthread_mutex_lock(&P->gate); /* until all are started, or not */
	pthread_mutex_unlock(&P->gate);
	if (!P->ready)
		return NULL;
	for (;;) {
		pthread_barrier_wait(&P->start);
		if (P->quit)
			break;
		if (request(w, P->round, P->pages))
			__atomic_store_n(&P->failed, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&P->done);
	}
	return NULL;
}

static void utc(char *buf, size_t size, bool compact)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ",
		 &tm);
}

static void identify(struct cb_run *r)
{
	struct utsname u;
	const char *h;
	char *nl;
	uint64_t kb;

	if (!uname(&u)) {
		snprintf(r->release, sizeof(r->release), "%s", u.release);
		snprintf(r->kversion, sizeof(r->kversion), "%s", u.version);
		snprintf(r->machine, sizeof(r->machine), "%s", u.machine);
		snprintf(r->hostname, sizeof(r->hostname), "%s", u.nodename);
	}
	h = strstr(r->release, "-cmakit-");
	if (h)
		snprintf(r->series_hash, sizeof(r->series_hash), "%.*s",
			 (int)strcspn(h + 8, "-"), h + 8);
	if (read_file("/sys/firmware/devicetree/base/model", r->model,
		      sizeof(r->model)) < 0 &&
	    read_file("/sys/class/dmi/id/product_name", r->model,
		      sizeof(r->model)) < 0)
		r->model[0] = '\0';
	nl = strchr(r->model, '\n');
	if (nl)
		*nl = '\0';
	r->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	r->page_size = sysconf(_SC_PAGESIZE);
	if (!cb_meminfo_kb("MemTotal", &kb))
		r->mem_total_kb = kb;
}

static uint64_t rounds_total(const struct cb_config *c)
{
	if (!c->count)
		return UINT64_MAX;
	return c->count * (c->dist == DIST_LIST ? c->nsizes : 1);
}

static uint64_t round_pages(const struct cb_config *c, uint64_t round,
			    unsigned int *seed)
{
	if (c->dist == DIST_UNIFORM)
		return c->dist_min +
		       rand_r(seed) % (c->dist_max - c->dist_min + 1);
	if (c->dist == DIST_LOG2) {
		/* log-uniform: every power of two range equally likely */
		double lo = __builtin_log2((double)c->dist_min),
		       hi = __builtin_log2((double)c->dist_max + 1);
		uint64_t v = (uint64_t)__builtin_exp2(
			lo +
			(hi - lo) * (rand_r(seed) / ((double)RAND_MAX + 1)));

		return v < c->dist_min ? c->dist_min :
		       v > c->dist_max ? c->dist_max :
					 v;
	}
	if (!c->count)
		return c->sizes[round % c->nsizes];
	return c->sizes[round / c->count];
}

static void dry_run(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	uint64_t n = rounds_total(c);
	int i;

	printf("scenario:   %s%s%s\n", c->scenario,
	       c->description[0] ? " - " : "", c->description);
	printf("backend:    %s\n", cb_backend_names[c->backend]);
	printf("area:       %s\n",
	       c->area[0] ? c->area : "(default: reserved, else the first)");
	if (c->dist == DIST_LIST) {
		printf("sizes:      ");
		for (i = 0; i < c->nsizes; i++)
			printf("%s%" PRIu64, i ? "," : "", c->sizes[i]);
		printf(" pages, align order %u\n", c->align);
	} else {
		printf("sizes:      %s pages\n", c->dist_spec);
	}
	if (n == UINT64_MAX)
		printf("requests:   for %.1f s, %u thread(s)\n", c->duration_s,
		       c->threads);
	else
		printf("requests:   %" PRIu64
		       " round(s) x %u thread(s) = %" PRIu64 "%s\n",
		       n, c->threads, n * c->threads,
		       c->duration_s > 0 ? " (or until --duration)" : "");
	printf("hold:       %" PRIu64 " ms, window %u, release %s\n",
	       c->hold_ms, c->window, cb_release_names[c->release]);
	if (c->occ_target >= 0)
		printf("occupancy:  %.1f%% +- %.1f%% with %s pages, headroom %" PRIu64
		       " MiB\n",
		       c->occ_target * 100, c->occ_tol * 100,
		       cb_kind_names[c->fill], c->headroom >> 20);
	else
		printf("occupancy:  not driven (measured when /proc/kpageflags is readable)\n");
	printf("pressure:   %s\n", c->npressure ? c->pressure_spec : "none");
	if (c->inject)
		printf("inject:     fail_cma stage %s, %u%%, times %" PRId64
		       "\n",
		       c->inject_stage, c->inject_prob, c->inject_times);
	printf("results:    %s\n", c->out[0] ? c->out : "./cmabench-<run-id>");
}

static void progress(struct cb_run *r, uint64_t done, uint64_t total, bool end)
{
	int width = 30, k, fill;

	if (end) {
		fprintf(stderr, "\r%*s\r", 60, "");
		return;
	}
	if (total == UINT64_MAX) {
		double el = (now_ns() - r->t0_ns) / 1e9;

		fill = el >= r->cfg.duration_s ?
			       width :
			       (int)(width * el / r->cfg.duration_s);
	} else {
		fill = total ? (int)(width * done / total) : width;
	}
	fputs("\rcmabench [", stderr);
	for (k = 0; k < width; k++)
		fputc(k < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %" PRIu64, done);
	if (total != UINT64_MAX)
		fprintf(stderr, "/%" PRIu64, total);
	fflush(stderr);
}

/*
 * The one error rule: a step that fails has said why (cb_err); should one
 * not have, the run still ends in an error that names the step.
 */
static bool failed(struct cb_run *r, int rc, const char *step)
{
	if (rc && !cb_failed(r))
		cb_err(r, "%s failed", step);
	return rc != 0;
}

static int run(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	struct worker w[CB_MAX_THREADS];
	struct pool P = { .gate = PTHREAD_MUTEX_INITIALIZER };
	uint64_t total = rounds_total(c), round;
	bool bar = !c->quiet && !c->no_progress && isatty(STDERR_FILENO);
	unsigned int seed = c->seed, t, nthr = 0;
	sigset_t all, old;
	size_t first;
	int rc;

	memset(w, 0, sizeof(w));
	for (t = 0; t < c->threads; t++) {
		w[t].r = r;
		w[t].pool = &P;
		w[t].id = t;
		w[t].seed = c->seed * 7919 + t;
		w[t].held = calloc(c->window + 2, sizeof(struct cb_buf));
		if (!w[t].held) {
			cb_err(r, "out of memory");
			goto out;
		}
	}
	if (c->threads > 1) {
		/* Workers ignore signals; the main thread sees them. */
		pthread_mutex_lock(&P.gate);
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		for (t = 0; t < c->threads; t++) {
			if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]))
				break;
			nthr++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/* the barriers once all are there: none waits on one that is not */
		if (nthr == c->threads &&
		    !pthread_barrier_init(&P.start, NULL, nthr + 1)) {
			if (!pthread_barrier_init(&P.done, NULL, nthr + 1))
				P.ready = true;
			else
				pthread_barrier_destroy(&P.start);
		}
		pthread_mutex_unlock(&P.gate);
		if (!P.ready) {
			cb_err(r, "cannot start %u threads", c->threads);
			goto out;
		}
	}
	r->t0_ns = now_ns();
	for (round = 0; round < total && !cb_stop && !cb_failed(r); round++) {
		uint64_t pages = round_pages(c, round, &seed);

		if (c->duration_s > 0 &&
		    (now_ns() - r->t0_ns) / 1e9 >= c->duration_s)
			break;
		if (c->occ_target >= 0) {
			if (failed(r,
				   cb_occupancy_drive(r, pages * 4096 *
								 c->threads),
				   "driving the occupancy"))
				break;
		} else if (r->feat.kpageflags &&
			   failed(r, cb_scan_area(r),
				  "measuring the occupancy")) {
			break; /* not driven: measured when /proc/kpageflags is there */
		}
		if (cb_stop)
			break;
		if (failed(r, cb_pin_round(r), "pinning"))
			break;
		first = r->nrec;
		if (failed(r, cb_areamap_round(r, round), "the area map"))
			break;
		if (c->threads == 1) {
			rc = request(&w[0], round, pages);
		} else {
			P.round = round;
			P.pages = pages;
			pthread_barrier_wait(&P.start);
			pthread_barrier_wait(&P.done);
			rc = P.failed ? -1 : 0;
		}
		if (failed(r, rc, "a request") ||
		    failed(r, cb_areamap_after_round(r, first),
			   "the area map") ||
		    failed(r, cb_pin_release(r), "unpinning"))
			break;
		if (bar)
			progress(r, r->nrec,
				 total == UINT64_MAX ? total :
						       total * c->threads,
				 false);
	}
out:
	if (P.ready) {
		P.quit = true;
		pthread_barrier_wait(&P.start);
	}
	for (t = 0; t < nthr; t++)
		pthread_join(w[t].tid, NULL);
	if (P.ready) {
		pthread_barrier_destroy(&P.start);
		pthread_barrier_destroy(&P.done);
	}
	for (t = 0; t < c->threads; t++) {
		release_all(&w[t]);
		free(w[t].held);
	}
	r->t_end_ns = now_ns();
	if (bar)
		progress(r, 0, 0, true);
	return cb_failed(r) ? -1 : 0;
}

/*
 * Everything before the first request: areas and backend, results
 * directory, pressure, occupancy, fault injection, the counters before.
 */
static int setup(struct cb_run *r)
{
	struct cb_config *c = &r->cfg;
	char ts[32];

	identify(r);
	if (failed(r, cb_detect(r), "finding the CMA areas"))
		return -1;
	utc(ts, sizeof(ts), true);
	snprintf(r->run_id, sizeof(r->run_id), "%s-%s-%s", ts, c->scenario,
		 cb_backend_names[r->backend]);
	if (!c->out[0])
		snprintf(c->out, sizeof(c->out), "cmabench-%s", r->run_id);
	if (mkdir(c->out, 0755) && errno != EEXIST)
		return cb_err(r, "cannot create results directory %s: %s",
			      c->out, strerror(errno));
	if (failed(r, cb_backend_open(r), "opening the backend"))
		return -1;
	if ((c->occ_target >= 0 || c->npressure) &&
	    failed(r, cb_fill_init(r), "preparing the fill"))
		return -1;
	if (c->occ_target >= 0 && !r->feat.kpageflags)
		return cb_err(
			r,
			"--occupancy needs /proc/kpageflags (CONFIG_PROC_PAGE_MONITOR)");
	if (failed(r, cb_pressure_start(r), "starting the pressure"))
		return -1;
	/* Occupancy set up before the counters: its moves are not the run's requests. */
	if (c->occ_target >= 0 &&
	    (failed(r, cb_occupancy_prepare(r), "preparing the area") ||
	     failed(r,
		    cb_occupancy_drive(r, cb_max_request_pages(c) * 4096 *
						  c->threads),
		    "driving the occupancy")))
		return -1;
	if (failed(r, cb_inject_start(r), "setting up fault injection"))
		return -1;
	r->occ.misses = 0;
	if (cb_counters_read(r, &r->before))
		return cb_err(r,
			      "cannot read /proc/vmstat and /proc/meminfo: %s",
			      strerror(errno));
	r->have_before = true;
	return 0;
}

int main(int argc, char **argv)
{
	static struct cb_run run_state;
	struct cb_run *r = &run_state;
	enum cb_action act;
	bool started = false;
	int rc, exit_code = 0;

	rc = cb_parse_args(&r->cfg, argc, argv, &act);
	if (rc)
		return rc;
	switch (act) {
	case ACT_HELP:
		cb_usage(stdout);
		return 0;
	case ACT_VERSION:
		printf("cmabench %s (%s)\n", CB_VERSION, CB_SCHEMA);
		return 0;
	case ACT_LIST:
		cb_list_scenarios(stdout);
		return 0;
	case ACT_RUN:
		break;
	}
	cb_run_init(r, argc, argv);
	if (r->cfg.dry_run) {
		dry_run(r);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"cmabench: must run as root (CMA debugfs, /dev/cma_bench and /proc/kpageflags need it)\n");
		return 1;
	}
	cb_signals_install();

	if (!setup(r)) {
		if (r->cfg.inject)
			cb_area_stat(r, "injected_faults", &r->injected_before);
		utc(r->started, sizeof(r->started), false);
		started = true;
		run(r);
		failed(r, cb_areamap_finish(r), "the area map");
		if (r->cfg.inject)
			cb_area_stat(r, "injected_faults", &r->injected_after);
	}
	/* Release in reverse order of acquisition, whatever happened. */
	failed(r, cb_pin_release(r), "unpinning");
	failed(r, cb_inject_restore(r), "restoring fail_cma");
	cb_pressure_stop(r);
	cb_fill_cleanup(r);
	if (started && cb_counters_read(r, &r->after))
		cb_err(r,
		       "cannot read /proc/vmstat and /proc/meminfo after the run: %s",
		       strerror(errno));
	else if (started)
		r->have_after = true;
	cb_backend_close(r);
	cb_occupancy_close(r);
	utc(r->finished, sizeof(r->finished), false);
	r->status = cb_stop ? "INTERRUPTED" : cb_failed(r) ? "ERROR" : "DONE";
	if (started) {
		if (cb_write_results(r))
			exit_code = 1;
		if (!r->cfg.quiet &&
		    cb_print_table(r,
				   strcmp(r->cfg.json, "-") ? stdout : stderr))
			cb_err(r, "out of memory for the summary table");
	}
	if (r->occ.misses > 0)
		fprintf(stderr,
			"cmabench: warning: %" PRId64
			" round(s) started short of the occupancy target (see summary.occupancy)\n",
			r->occ.misses);
	if (cb_report_errors(r))
		exit_code = 1;
	if (!started && r->cfg.out[0])
		rmdir(r->cfg.out); /* only if we created it empty */
	if (cb_stop)
		exit_code = 128 + cb_stop;
	cb_counters_free(&r->before);
	cb_counters_free(&r->after);
	cb_areamap_free(r);
	cb_run_destroy(r);
	return exit_code;
}
