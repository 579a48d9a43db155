// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of cmabench without a kernel: argument parsing, scenario files,
 * statistics, the run context and the result documents (the JSON writer
 * itself is tested with tools/lib). TAP on stdout.
 * With an argument, also writes a sample result.json there for the schema
 * checks of ci/tests/host/cmabench.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "stats.h"
#include "tap.h"
#include "util.h"

/* Parse a command line given as one string; returns the exit code. */
static int parse(struct cb_config *c, const char *line, enum cb_action *act)
{
	char buf[1024], *argv[64], *save = NULL, *t;
	int argc = 0, saved, rc;

	snprintf(buf, sizeof(buf), "cmabench %s", line);
	for (t = strtok_r(buf, " ", &save); t && argc < 63;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	/* usage errors go to stderr: keep the TAP stream clean */
	fflush(stderr);
	saved = dup(2);
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	rc = cb_parse_args(c, argc, argv, act);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return rc;
}

static void test_parsing(void)
{
	struct cb_config c;
	enum cb_action act;
	uint64_t v;

	tap_ok(!parse_size("4M", 4096, &v) && v == 4 << 20, "parse_size 4M");
	tap_ok(!parse_size("3", 4096, &v) && v == 3 * 4096,
	       "parse_size plain number is in units");
	tap_ok(parse_size("4097", 1, &v) == 0 &&
		       parse_size("1K", 4096, &v) != 0,
	       "parse_size rejects partial pages");
	tap_ok(parse_size("12Q", 4096, &v) != 0 &&
		       parse_size("-1", 4096, &v) != 0 &&
		       parse_size("", 4096, &v) != 0,
	       "parse_size rejects junk, negatives and empty");
	tap_ok(parse_u64("18446744073709551616", 0, UINT64_MAX, &v) != 0,
	       "parse_u64 rejects overflow");
	tap_ok(parse_u64(" 5", 0, 10, &v) != 0 &&
		       parse_u64("5x", 0, 10, &v) != 0,
	       "parse_u64 is strict");

	tap_ok(parse(&c, "--sizes 1,1024,4M --count 3", &act) == 0 &&
		       c.nsizes == 3 && c.sizes[2] == 1024 && c.count == 3 &&
		       act == ACT_RUN,
	       "--sizes takes pages and byte sizes");
	tap_ok(parse(&c, "--sizes 0", &act) == 2, "--sizes 0 is a usage error");
	tap_ok(parse(&c, "--sizes 1,,", &act) == 0 && c.nsizes == 1,
	       "--sizes ignores empty items");
	tap_ok(parse(&c, "--threads 0", &act) == 2 &&
		       parse(&c, "--threads 65", &act) == 2,
	       "--threads range");
	tap_ok(parse(&c, "--occupancy 50:2", &act) == 0 &&
		       c.occ_target == 0.5 && c.occ_tol == 0.02,
	       "--occupancy PCT:TOL");
	tap_ok(parse(&c, "--occupancy 97", &act) == 2,
	       "--occupancy refuses targets leaving no free page");
	tap_ok(parse(&c, "--occupancy 50x", &act) == 2,
	       "--occupancy rejects junk");
	tap_ok(parse(&c, "--inject migrate:20:5", &act) == 0 && c.inject &&
		       !strcmp(c.inject_stage, "migrate") &&
		       c.inject_prob == 20 && c.inject_times == 5,
	       "--inject STAGE:PROB:TIMES");
	tap_ok(parse(&c, "--inject migrate:0", &act) == 2 &&
		       parse(&c, "--inject migrate:101", &act) == 2 &&
		       parse(&c, "--inject bogus:5", &act) == 2 &&
		       parse(&c, "--inject alloc:5:0", &act) == 2 &&
		       parse(&c, "--inject alloc:5x", &act) == 2,
	       "--inject validates stage, probability and times");
	tap_ok(parse(&c, "--pressure anon:64M,churn:2,pin:100", &act) == 0 &&
		       c.npressure == 3 && c.pressure[0].amount == 64 << 20 &&
		       c.pressure[1].amount == 2,
	       "--pressure list");
	tap_ok(parse(&c, "--pressure pin:16M@8192", &act) == 0 &&
		       c.npressure == 1 && c.pressure[0].amount == 4096 &&
		       c.pressure[0].offset == 8192 &&
		       parse(&c, "--pressure pin:100", &act) == 0 &&
		       c.pressure[0].offset == -1 &&
		       parse(&c, "--pressure pin:100@x", &act) == 2 &&
		       parse(&c, "--pressure pin:0@1", &act) == 2,
	       "--pressure pin:PAGES@OFFSET: a range of the area");
	tap_ok(parse(&c, "--pressure dirty:64M", &act) == 2,
	       "--pressure dirty needs --scratch");
	tap_ok(parse(&c, "--pressure foo:1", &act) == 2 &&
		       parse(&c, "--pressure anon", &act) == 2,
	       "--pressure rejects unknown kinds and missing amounts");
	tap_ok(parse(&c, "--release random --window 4", &act) == 0 &&
		       c.release == REL_RANDOM && c.window == 4,
	       "--release and --window");
	tap_ok(parse(&c, "--size-dist log2:1:8192", &act) == 0 &&
		       c.dist == DIST_LOG2 && c.dist_max == 8192,
	       "--size-dist");
	tap_ok(parse(&c, "--size-dist log2:9:8", &act) == 2,
	       "--size-dist MIN > MAX is an error");
	tap_ok(parse(&c, "--count 0", &act) == 2 &&
		       parse(&c, "--count 0 --duration 2", &act) == 0,
	       "--count 0 needs --duration");
	tap_ok(parse(&c, "--backend nope", &act) == 2,
	       "--backend rejects unknown names");
	tap_ok(parse(&c, "extra", &act) == 2, "stray arguments are errors");
	tap_ok(parse(&c, "--count", &act) == 2, "a missing value is an error");
	tap_ok(parse(&c, "--list", &act) == 0 && act == ACT_LIST, "--list");
}

static void test_scenarios(void)
{
	struct cb_config c;
	enum cb_action act;
	unsigned int i;
	char path[] = "/tmp/cmabench-unit-XXXXXX";
	FILE *f;
	int fd, bad = 0;

	tap_ok(cb_nscenarios >= 6, "%u built-in scenarios", cb_nscenarios);
	for (i = 0; i < cb_nscenarios; i++) {
		char line[128];

		snprintf(line, sizeof(line), "--scenario %s --scratch /tmp",
			 cb_scenarios[i].name);
		if (parse(&c, line, &act) || !c.description[0]) {
			bad++;
			tap_diag(
				"scenario %s does not parse or lacks a description",
				cb_scenarios[i].name);
		}
	}
	tap_ok(!bad, "every built-in scenario parses and has a description");
	{
		static const char *const need[] = {
			"smoke",	 "gcma-table",	   "pinned",
			"fragmentation", "mixed-pressure", "faults"
		};

		bad = 0;
		for (i = 0; i < 6; i++) {
			char line[64];

			snprintf(line, sizeof(line), "--scenario %s", need[i]);
			bad += parse(&c, line, &act) != 0;
		}
		tap_ok(!bad,
		       "smoke, gcma-table, pinned, fragmentation, mixed-pressure and faults exist");
	}
	tap_ok(parse(&c, "--scenario gcma-table", &act) == 0 && c.nsizes == 4 &&
		       c.sizes[3] == 32000 && c.count == 32,
	       "gcma-table: 1, 1024, 4096, 32000 pages x 32");
	tap_ok(parse(&c, "--count 2 --scenario gcma-table", &act) == 0 &&
		       c.count == 2,
	       "command-line options override the scenario wherever they stand");
	tap_ok(parse(&c, "--scenario nosuch", &act) == 2,
	       "unknown scenario is a usage error");

	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# comment\ndescription = from a file\n  sizes = 8,16   # trailing comment\n\nrelease=fifo\n",
	      f);
	fclose(f);
	{
		char line[128];

		snprintf(line, sizeof(line), "--scenario %s", path);
		tap_ok(parse(&c, line, &act) == 0 && c.nsizes == 2 &&
			       c.sizes[1] == 16 && c.release == REL_FIFO &&
			       !strcmp(c.description, "from a file") &&
			       !strcmp(c.scenario_src, path),
		       "scenario file: comments, spaces, key=value");
		f = fopen(path, "w");
		fputs("sizes = 8\nbogus = 1\n", f);
		fclose(f);
		tap_ok(parse(&c, line, &act) == 2,
		       "scenario file: unknown key is an error");
		f = fopen(path, "w");
		fputs("out = /tmp/x\n", f);
		fclose(f);
		tap_ok(parse(&c, line, &act) == 2,
		       "scenario file: cannot set the output directory");
	}
	unlink(path);
}

static void test_stats(void)
{
	uint64_t v[100], w[3] = { 30, 10, 20 };
	struct stats s;
	int i;

	for (i = 0; i < 100; i++)
		v[i] = 100 - i;
	stats_compute(v, 100, &s);
	tap_ok(s.min == 1 && s.max == 100 && s.p50 == 50 && s.p90 == 90 &&
		       s.p99 == 99 && s.mean == 50.5,
	       "stats: 1..100 nearest-rank percentiles");
	stats_compute(w, 3, &s);
	tap_ok(s.p50 == 20 && s.p99 == 30 && s.min == 10,
	       "stats: three values");
	stats_compute(w, 0, &s);
	tap_ok(s.n == 0 && s.max == 0, "stats: empty sample");
	w[0] = 7;
	stats_compute(w, 1, &s);
	tap_ok(s.p50 == 7 && s.p99 == 7 && s.mean == 7, "stats: one value");
}

static void test_kpage_runs(void)
{
	static const uint8_t kind[] = { 0, 0, 2, 2, 2, 1, 0, 5 };
	struct kpage_run *v = NULL;
	ssize_t n = kpage_runs(kind, sizeof(kind), &v);

	tap_ok(n == 5 && v[0].kind == 0 && v[0].len == 2 && v[1].kind == 2 &&
		       v[1].len == 3 && v[2].kind == 1 && v[4].kind == 5 &&
		       v[4].len == 1,
	       "kpage_runs: run-length encoding of page kinds");
	free(v);
	n = kpage_runs(kind, 0, &v);
	tap_ok(n == 0, "kpage_runs: an empty range has no runs");
	free(v);
	tap_ok(!strcmp(kpage_kind_names[KPAGE_FREE], "free") &&
		       !strcmp(kpage_kind_names[KPAGE_CMA], "cma") &&
		       !strcmp(kpage_kind_names[KPAGE_OTHER], "other") &&
		       KPAGE_NKINDS == 6,
	       "kpage kinds: free, cma, anon, shmem, file, other");
}

static struct cb_run ctx_run;

static void *err_thread(void *arg)
{
	int i;

	for (i = 0; i < 1000; i++)
		cb_err(&ctx_run, "from thread %s, error %d of 1000",
		       (const char *)arg, i);
	return NULL;
}

/* What cb_report_errors says on stderr, one line each, as the run ends. */
static void test_report_errors(struct cb_run *r)
{
	char buf[4096];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n = 0, lines = 0, i;
	bool said;

	if (!f || saved < 0) {
		tap_ok(0, "run context: cannot catch stderr");
		return;
	}
	fflush(stderr);
	dup2(fileno(f), 2);
	said = cb_report_errors(r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	tap_ok(said && lines == 1 + CB_MAX_LATER + 1 &&
		       !strncmp(buf, "cmabench: from thread ", 22) &&
		       strstr(buf, "\ncmabench: then: from thread ") &&
		       strstr(buf, "\ncmabench: then 1995 more errors\n"),
	       "run context: the cause, then the later errors, a line each");
	if (!said || lines != 1 + CB_MAX_LATER + 1)
		tap_diag("got: %s", buf);
}

static void test_ctx(void)
{
	struct cb_run *r = &ctx_run;
	pthread_t t;

	cb_run_init(r, 0, NULL);
	tap_ok(!cb_failed(r) && r->dev_fd == -1 && r->occ.landing < 0,
	       "run context: no error at the start, nothing open");
	tap_ok(cb_err(r, "first %d", 1) == -1 && cb_err(r, "second") == -1 &&
		       !strcmp(r->error, "first 1") && cb_failed(r),
	       "run context: the first error stays, cb_err returns -1");
	tap_ok(r->nlater == 1 && !strcmp(r->later[0], "second"),
	       "run context: a later error is kept to be said after the first");
	memset(r->error, 0, sizeof(r->error));
	r->nlater = 0;
	pthread_create(&t, NULL, err_thread, "a");
	err_thread("b");
	pthread_join(t, NULL);
	tap_ok(!strcmp(r->error, "from thread a, error 0 of 1000") ||
		       !strcmp(r->error, "from thread b, error 0 of 1000"),
	       "run context: two threads' errors, the first one whole");
	tap_ok(r->nlater == 1999 &&
		       !strncmp(r->later[CB_MAX_LATER - 1], "from thread ", 12),
	       "run context: every later error counted, the first %d kept whole",
	       CB_MAX_LATER);
	test_report_errors(r);
	cb_run_destroy(r);
}

/*
 * The area map of the sample run: before request i the area holds i * 1024
 * anon pages from its base and, from the second request on, the 1-page
 * buffer of request 0 (cma) at the top.
 */
static void sample_maps(struct cb_run *r)
{
	const size_t pages = r->areas[0].pages, nrec = r->nrec;
	size_t i, p;

	r->occ.kp.kind = calloc(pages, 1);
	r->occ.kp_ok = r->occ.valid = true;
	for (i = 0; i < nrec; i++) {
		r->nrec = i +
			  1; /* the records so far: request i is this round's */
		for (p = 0; p < pages; p++)
			r->occ.kp.kind[p] = p < i * 1024 ? KPAGE_ANON :
							   KPAGE_FREE;
		if (i)
			r->occ.kp.kind[pages - 1] = KPAGE_CMA;
		cb_areamap_round(r, i);
		cb_areamap_after_round(r, i);
	}
	cb_areamap_finish(r);
	tap_ok(r->am.map[CB_MAP_FIRST].taken &&
		       r->am.map[CB_MAP_FIRST].request == 0 &&
		       r->am.map[CB_MAP_FAILURE].request == 3 &&
		       r->am.map[CB_MAP_LAST].request == 3 &&
		       r->am.map[CB_MAP_FIRST].nruns == 1 &&
		       r->am.map[CB_MAP_LAST].nruns == 3,
	       "area maps at the first request, the first failure and the last");
	free(r->occ.kp.kind);
	r->occ.kp.kind = NULL;
	r->occ.kp_ok = r->occ.valid = false;
}

/* A run with known records, written as result.json to @dir. */
static int sample_doc(const char *dir)
{
	static struct cb_run r;
	static char *argv[] = { "cmabench", "--scenario", "smoke" };
	static const uint64_t pages[] = { 1, 1024, 1024, 4096 };
	enum cb_action act;
	int i;

	if (cb_parse_args(&r.cfg, 3, argv, &act))
		return -1;
	snprintf(r.cfg.out, sizeof(r.cfg.out), "%s", dir);
	r.argc = 3;
	r.argv = argv;
	r.status = "DONE";
	snprintf(r.run_id, sizeof(r.run_id), "20250101T000000Z-smoke-debugfs");
	snprintf(r.started, sizeof(r.started), "2025-01-01T00:00:00Z");
	snprintf(r.finished, sizeof(r.finished), "2025-01-01T00:00:01Z");
	snprintf(r.release, sizeof(r.release), "6.1.192-cmakit-0123456789ab");
	snprintf(r.series_hash, sizeof(r.series_hash), "0123456789ab");
	snprintf(r.cfg.area, sizeof(r.cfg.area), "reserved");
	r.backend = BK_DEBUGFS;
	r.nareas = 1;
	snprintf(r.areas[0].name, sizeof(r.areas[0].name), "reserved");
	r.areas[0].base_pfn = 524288;
	r.areas[0].pages = 65536;
	r.page_size = 4096;
	r.cpus = 2;
	r.injected_before = r.injected_after = -1;
	r.rec = calloc(4, sizeof(*r.rec));
	r.nrec = 4;
	for (i = 0; i < 4; i++) {
		struct cb_record *x = &r.rec[i];

		x->seq = x->round = i;
		x->pages = pages[i];
		x->ok = i != 3;
		x->err = i == 3 ? EBUSY : 0;
		x->user_ns = 1000 * (i + 1);
		x->kernel_ns = x->retries = x->pfn = -1;
		x->user_corrected_ns = -1;
		x->release_ns = x->ok ? 500 : -1;
		x->injected = -1;
		x->migrated = -1;
		x->pinned = -1;
		x->range_pfn = x->ok ? 524288 + 65536 - 1 - i * 4096 : -1;
		x->has_occ = true;
		x->occ_used = 0.5;
		x->landing = -1;
		x->mix.pages = 65536;
		x->mix.free = 32768;
		x->mix.anon = 32768;
	}
	sample_maps(&r);
	return cb_write_results(&r);
}

/*
 * allocations.jsonl holds the objects of result.json's allocations array,
 * in its order: both parsed by Python's json, compared as values.
 */
static void test_jsonl(const char *dir)
{
	static const char prog[] =
		"import json, sys\n"
		"d = sys.argv[1]\n"
		"a = json.load(open(d + '/result.json'))['allocations']\n"
		"with open(d + '/allocations.jsonl') as f:\n"
		"    lines = f.read().split('\\n')\n"
		"assert lines[-1] == '', 'no final newline'\n"
		"b = [json.loads(x) for x in lines[:-1]]\n"
		"assert len(a) == 4, 'result.json has %d records' % len(a)\n"
		"assert a == b, 'they differ'\n";
	char cmd[1024], line[256];
	FILE *p;
	int status;

	if (access("/usr/bin/python3", X_OK)) {
		tap_skip(
			"no /usr/bin/python3",
			"allocations.jsonl is result.json's allocations, line by line");
		return;
	}
	/* the program as one argument: no shell quoting of it needed */
	if (setenv("CB_UNIT_PROG", prog, 1) ||
	    snprintf(cmd, sizeof(cmd),
		     "/usr/bin/python3 -c \"$CB_UNIT_PROG\" '%s' 2>&1",
		     dir) >= (int)sizeof(cmd) ||
	    strchr(dir, '\'') || !(p = popen(cmd, "r"))) {
		tap_ok(0, "allocations.jsonl: cannot run the comparison");
		return;
	}
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		tap_diag("%s", line);
	}
	status = pclose(p);
	tap_ok(status == 0,
	       "allocations.jsonl is result.json's allocations, line by line");
}

static void remove_doc(const char *dir)
{
	static const char *const files[] = { "result.json", "allocations.jsonl",
					     "areamap.json", "summary.txt" };
	char p[600];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/cmabench-unit-XXXXXX";
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);

	test_parsing();
	test_scenarios();
	test_stats();
	test_kpage_runs();
	test_ctx();
	/* without an argument the sample documents go to a directory removed after */
	tap_ok(dir && sample_doc(dir) == 0,
	       "a sample result.json is written to %s",
	       argc > 1 ? argv[1] : "a temporary directory");
	if (dir)
		test_jsonl(dir);
	if (argc == 1 && dir)
		remove_doc(dir);
	return tap_done();
}
