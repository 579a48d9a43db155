// SPDX-License-Identifier: GPL-2.0
/*
 * Command line and scenario files. A scenario file holds "key = value" lines
 * whose keys are the long option names; the command line applies on top of
 * the scenario, so any scenario setting can be overridden.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmabench.h"
#include "util.h"

const char *const cb_backend_names[] = { "auto", "cma_bench", "debugfs",
					 "dma_heap" };
const char *const cb_release_names[] = { "lifo", "fifo", "random" };
const char *const cb_kind_names[] = { "anon", "shmem", "file",	  "dirty",
				      "thp",  "churn", "odirect", "pin" };

#define PAGE 4096ULL

static const struct option long_opts[] = {
	{ "scenario", required_argument, NULL, 's' },
	{ "list", no_argument, NULL, 'l' },
	{ "backend", required_argument, NULL, 'b' },
	{ "area", required_argument, NULL, 'a' },
	{ "sizes", required_argument, NULL, 'S' },
	{ "size-dist", required_argument, NULL, 0 },
	{ "align", required_argument, NULL, 0 },
	{ "count", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "threads", required_argument, NULL, 'j' },
	{ "hold", required_argument, NULL, 0 },
	{ "window", required_argument, NULL, 'w' },
	{ "release", required_argument, NULL, 0 },
	{ "occupancy", required_argument, NULL, 0 },
	{ "fill", required_argument, NULL, 0 },
	{ "headroom", required_argument, NULL, 0 },
	{ "pressure", required_argument, NULL, 'p' },
	{ "inject", required_argument, NULL, 0 },
	{ "seed", required_argument, NULL, 0 },
	{ "scratch", required_argument, NULL, 0 },
	{ "out", required_argument, NULL, 'o' },
	{ "json", required_argument, NULL, 0 },
	{ "dry-run", no_argument, NULL, 0 },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-progress", no_argument, NULL, 0 },
	{ "description", required_argument, NULL, 0 },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void cb_usage(FILE *f)
{
	fputs("Usage: cmabench [OPTION]...\n"
	      "Allocate from a CMA area under controlled memory pressure and record every\n"
	      "allocation (time, outcome, occupancy) in a results directory.\n"
	      "\n"
	      "  -s, --scenario NAME|FILE  start from a scenario (cmabench --list); options given\n"
	      "                            on the command line override its settings\n"
	      "  -l, --list                list the built-in scenarios\n"
	      "  -b, --backend NAME        auto, cma_bench (/dev/cma_bench), debugfs, dma_heap\n"
	      "  -a, --area NAME           CMA area (default: reserved, else the first)\n"
	      "  -S, --sizes LIST          request sizes: pages, or bytes with K/M/G (1,1024,4M)\n"
	      "      --size-dist D:MIN:MAX random sizes in pages, D = uniform or log2\n"
	      "      --align ORDER         alignment order in pages (cma_bench backend)\n"
	      "  -n, --count N             requests per size and thread\n"
	      "  -d, --duration SEC        stop after SEC seconds (with --count: whichever first)\n"
	      "  -j, --threads N           threads allocating at once, one request each per round\n"
	      "      --hold MS             keep each buffer MS milliseconds\n"
	      "  -w, --window N            buffers kept allocated per thread before one is released\n"
	      "      --release ORDER       lifo, fifo or random choice of the buffer to release\n"
	      "      --occupancy PCT[:TOL] before every round, fill the area to PCT % (+-TOL, default 5)\n"
	      "      --fill KIND           page kind that fills the area: anon, shmem, thp, file, dirty\n"
	      "      --headroom SIZE       memory outside CMA never to touch (default 48M)\n"
	      "  -p, --pressure LIST       background load, comma-separated: anon:SIZE shmem:SIZE\n"
	      "                            thp:SIZE file:SIZE dirty:SIZE churn:N odirect:N pin:PAGES\n"
	      "                            pin:PAGES@OFFSET (the in-use pages of that range of the area)\n"
	      "      --inject STAGE:PROB[:TIMES]  fail_cma fault injection (alloc, isolate, migrate,\n"
	      "                            test; PROB in %; TIMES default unlimited)\n"
	      "      --seed N              random seed (sizes, release order)\n"
	      "      --scratch DIR         directory on a disk file system (file, dirty, odirect)\n"
	      "  -o, --out DIR             results directory (default ./cmabench-<run-id>)\n"
	      "      --json FILE|-         also write result.json to FILE, or stdout\n"
	      "      --dry-run             print the plan and exit\n"
	      "  -q, --quiet               no table, no progress bar\n"
	      "      --no-progress         no progress bar\n"
	      "  -h, --help, -V, --version\n"
	      "\n"
	      "Examples:\n"
	      "  cmabench --scenario smoke --out results/smoke\n"
	      "  cmabench --sizes 1,1024,4096,32000 --count 32 --pressure churn:2 --occupancy 50\n"
	      "  cmabench --scenario faults --inject migrate:20:5\n"
	      "Exit status: 0 done (failed allocations are data), 1 error, 2 usage, 130/143 signal.\n",
	      f);
}

void cb_config_defaults(struct cb_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->scenario, sizeof(c->scenario), "custom");
	c->backend = BK_AUTO;
	c->sizes[0] = 256;
	c->nsizes = 1;
	c->count = 8;
	c->threads = 1;
	c->release = REL_LIFO;
	c->occ_target = -1;
	c->occ_tol = 0.05;
	c->fill = K_ANON;
	c->headroom = 48ULL << 20;
	c->inject_times = -1;
	c->seed = 1;
}

static int usage_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("cmabench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int copy_str(char *dst, size_t size, const char *opt, const char *s)
{
	if (strlen(s) >= size)
		return usage_err("--%s: value too long", opt);
	strcpy(dst, s);
	return 0;
}

static int parse_sizes(struct cb_config *c, const char *s)
{
	char buf[1024], *tok, *save = NULL;
	uint64_t bytes;

	if (strlen(s) >= sizeof(buf))
		return usage_err("--sizes: list too long");
	strcpy(buf, s);
	c->nsizes = 0;
	c->dist = DIST_LIST;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (c->nsizes == CB_MAX_SIZES)
			return usage_err("--sizes: more than %d sizes",
					 CB_MAX_SIZES);
		if (parse_size(tok, PAGE, &bytes) || !bytes ||
		    bytes / PAGE > (1ULL << 32))
			return usage_err(
				"--sizes: '%s' is not a page count or a size in whole pages",
				tok);
		c->sizes[c->nsizes++] = bytes / PAGE;
	}
	if (!c->nsizes)
		return usage_err("--sizes: empty list");
	return 0;
}

static int parse_dist(struct cb_config *c, const char *s)
{
	char kind[16], a[32], b[32];

	if (sscanf(s, "%15[a-z0-9]:%31[0-9KMGiB]:%31[0-9KMGiB]", kind, a, b) !=
	    3)
		return usage_err(
			"--size-dist: expected uniform:MIN:MAX or log2:MIN:MAX, got '%s'",
			s);
	if (!strcmp(kind, "uniform"))
		c->dist = DIST_UNIFORM;
	else if (!strcmp(kind, "log2"))
		c->dist = DIST_LOG2;
	else
		return usage_err(
			"--size-dist: unknown distribution '%s' (uniform, log2)",
			kind);
	if (parse_size(a, PAGE, &c->dist_min) ||
	    parse_size(b, PAGE, &c->dist_max) || !c->dist_min ||
	    c->dist_min > c->dist_max)
		return usage_err(
			"--size-dist: bad range '%s:%s' (pages, 1 <= MIN <= MAX)",
			a, b);
	c->dist_min /= PAGE;
	c->dist_max /= PAGE;
	return copy_str(c->dist_spec, sizeof(c->dist_spec), "size-dist", s);
}

static int parse_pressure(struct cb_config *c, const char *s)
{
	char buf[256], *tok, *save = NULL, *colon;
	int k;

	if (copy_str(c->pressure_spec, sizeof(c->pressure_spec), "pressure", s))
		return 2;
	strcpy(buf, s);
	c->npressure = 0;
	if (!strcmp(s, "none"))
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct cb_pressure *p;

		if (c->npressure == CB_MAX_PRESSURE)
			return usage_err("--pressure: more than %d generators",
					 CB_MAX_PRESSURE);
		p = &c->pressure[c->npressure];
		p->offset = -1;
		colon = strchr(tok, ':');
		if (!colon)
			return usage_err("--pressure: '%s' needs KIND:AMOUNT",
					 tok);
		*colon++ = '\0';
		k = lookup(cb_kind_names, K_PIN + 1, tok);
		if (k < 0)
			return usage_err(
				"--pressure: unknown kind '%s' (anon shmem thp file dirty churn odirect pin)",
				tok);
		p->kind = k;
		if (k == K_CHURN || k == K_ODIRECT) {
			if (parse_u64(colon, 1, 64, &p->amount))
				return usage_err(
					"--pressure: %s:N needs 1..64 workers, got '%s'",
					tok, colon);
		} else if (k == K_PIN) {
			char *at = strchr(colon, '@');
			uint64_t off;

			if (at)
				*at++ = '\0';
			if (parse_size(colon, PAGE, &p->amount) || !p->amount ||
			    p->amount / PAGE > (1ULL << 32))
				return usage_err(
					"--pressure: pin:PAGES[@OFFSET] needs a page count, got '%s'",
					colon);
			p->amount /= PAGE;
			if (at && (parse_size(at, PAGE, &off) ||
				   off / PAGE > (1ULL << 32)))
				return usage_err(
					"--pressure: pin:PAGES@OFFSET needs an offset in pages into the area, got '%s'",
					at);
			p->offset = at ? (int64_t)(off / PAGE) : -1;
		} else if (parse_size(colon, PAGE, &p->amount) || !p->amount) {
			return usage_err(
				"--pressure: %s:SIZE needs a size (256M, or pages), got '%s'",
				tok, colon);
		}
		c->npressure++;
	}
	return 0;
}

static int parse_inject(struct cb_config *c, const char *s)
{
	char stage[16], prob[16], times[24];
	static const char *const stages[] = { "alloc", "isolate", "migrate",
					      "test" };
	uint64_t p;
	int n;

	times[0] = '\0';
	n = sscanf(s, "%15[a-z]:%15[0-9]:%23[-0-9]", stage, prob, times);
	if (n < 2 || strlen(s) != strlen(stage) + 1 + strlen(prob) +
					  (n == 3 ? 1 + strlen(times) : 0))
		return usage_err(
			"--inject: expected STAGE:PROBABILITY[:TIMES], got '%s'",
			s);
	if (lookup(stages, 4, stage) < 0)
		return usage_err(
			"--inject: unknown stage '%s' (alloc, isolate, migrate, test)",
			stage);
	if (parse_u64(prob, 1, 100, &p))
		return usage_err(
			"--inject: probability must be 1..100 (percent), got '%s'",
			prob);
	if (n == 3 && (parse_s64(times, -1, INT32_MAX, &c->inject_times) ||
		       !c->inject_times))
		return usage_err(
			"--inject: TIMES must be -1 (unlimited) or 1.., got '%s'",
			times);
	strcpy(c->inject_stage, stage);
	c->inject_prob = p;
	c->inject = true;
	return 0;
}

static bool truthy(const char *v)
{
	return !v || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
	       !strcasecmp(v, "true");
}

/* Apply one setting; @name is the long option name. 0 or 2. */
static int set_option(struct cb_config *c, const char *name, const char *v)
{
	uint64_t u;
	double d;
	int i;

	if (!strcmp(name, "backend")) {
		i = lookup(cb_backend_names, 4, v);
		if (i < 0)
			return usage_err(
				"--backend: unknown backend '%s' (auto, cma_bench, debugfs, dma_heap)",
				v);
		c->backend = i;
	} else if (!strcmp(name, "area")) {
		if (!*v)
			return usage_err("--area: empty name");
		return copy_str(c->area, sizeof(c->area), name, v);
	} else if (!strcmp(name, "sizes")) {
		return parse_sizes(c, v);
	} else if (!strcmp(name, "size-dist")) {
		return parse_dist(c, v);
	} else if (!strcmp(name, "align")) {
		if (parse_u64(v, 0, 31, &u))
			return usage_err(
				"--align: order 0..31 expected, got '%s'", v);
		c->align = u;
		c->align_set = true;
	} else if (!strcmp(name, "count")) {
		if (parse_u64(v, 0, 1000000, &c->count))
			return usage_err(
				"--count: 0..1000000 expected, got '%s'", v);
	} else if (!strcmp(name, "duration")) {
		if (parse_double(v, 0, 86400, &c->duration_s))
			return usage_err(
				"--duration: seconds 0..86400 expected, got '%s'",
				v);
	} else if (!strcmp(name, "threads")) {
		if (parse_u64(v, 1, CB_MAX_THREADS, &u))
			return usage_err("--threads: 1..%d expected, got '%s'",
					 CB_MAX_THREADS, v);
		c->threads = u;
	} else if (!strcmp(name, "hold")) {
		if (parse_u64(v, 0, 3600000, &c->hold_ms))
			return usage_err(
				"--hold: milliseconds 0..3600000 expected, got '%s'",
				v);
	} else if (!strcmp(name, "window")) {
		if (parse_u64(v, 0, 4096, &u))
			return usage_err("--window: 0..4096 expected, got '%s'",
					 v);
		c->window = u;
	} else if (!strcmp(name, "release")) {
		i = lookup(cb_release_names, 3, v);
		if (i < 0)
			return usage_err(
				"--release: lifo, fifo or random expected, got '%s'",
				v);
		c->release = i;
	} else if (!strcmp(name, "occupancy")) {
		char pct[32], tol[32];
		int n;

		if (!strcmp(v, "none")) {
			c->occ_target = -1;
			return 0;
		}
		tol[0] = '\0';
		n = sscanf(v, "%31[0-9.]:%31[0-9.]", pct, tol);
		if (n < 1 ||
		    strlen(v) != strlen(pct) + (n == 2 ? 1 + strlen(tol) : 0) ||
		    parse_double(pct, 0, 100, &d))
			return usage_err(
				"--occupancy: PERCENT[:TOLERANCE] expected (0..100), got '%s'",
				v);
		c->occ_target = d / 100;
		if (n == 2) {
			if (parse_double(tol, 0.5, 50, &d))
				return usage_err(
					"--occupancy: tolerance must be 0.5..50 percent, got '%s'",
					tol);
			c->occ_tol = d / 100;
		}
	} else if (!strcmp(name, "fill")) {
		i = lookup(cb_kind_names, K_THP + 1, v);
		if (i < 0)
			return usage_err(
				"--fill: anon, shmem, thp, file or dirty expected, got '%s'",
				v);
		c->fill = i;
	} else if (!strcmp(name, "headroom")) {
		if (parse_size(v, PAGE, &c->headroom) ||
		    c->headroom < (16ULL << 20))
			return usage_err(
				"--headroom: a size of at least 16M expected, got '%s'",
				v);
	} else if (!strcmp(name, "pressure")) {
		return parse_pressure(c, v);
	} else if (!strcmp(name, "inject")) {
		if (!strcmp(v, "none")) {
			c->inject = false;
			return 0;
		}
		return parse_inject(c, v);
	} else if (!strcmp(name, "seed")) {
		if (parse_u64(v, 0, UINT32_MAX, &c->seed))
			return usage_err(
				"--seed: 0..4294967295 expected, got '%s'", v);
	} else if (!strcmp(name, "scratch")) {
		return copy_str(c->scratch, sizeof(c->scratch), name, v);
	} else if (!strcmp(name, "out")) {
		if (!*v)
			return usage_err("--out: empty path");
		return copy_str(c->out, sizeof(c->out), name, v);
	} else if (!strcmp(name, "json")) {
		if (!*v)
			return usage_err("--json: empty path");
		return copy_str(c->json, sizeof(c->json), name, v);
	} else if (!strcmp(name, "dry-run")) {
		c->dry_run = truthy(v);
	} else if (!strcmp(name, "quiet")) {
		c->quiet = truthy(v);
	} else if (!strcmp(name, "no-progress")) {
		c->no_progress = truthy(v);
	} else if (!strcmp(name, "description")) {
		return copy_str(c->description, sizeof(c->description), name,
				v);
	} else {
		return usage_err("unknown setting '%s'", name);
	}
	return 0;
}

static const char *builtin_scenario(const char *name)
{
	unsigned int i;

	for (i = 0; i < cb_nscenarios; i++)
		if (!strcmp(cb_scenarios[i].name, name))
			return cb_scenarios[i].text;
	return NULL;
}

/* Apply a scenario's text. @src names it in messages. 0 or 2. */
static int apply_scenario_text(struct cb_config *c, const char *text,
			       const char *src)
{
	const char *p = text;
	unsigned int lineno = 0;

	while (*p) {
		char line[512], *key, *val, *e, *hash;
		size_t len = strcspn(p, "\n");

		lineno++;
		if (len >= sizeof(line))
			return usage_err("%s:%u: line too long", src, lineno);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = line + strspn(line, " \t");
		e = key + strlen(key);
		while (e > key &&
		       (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (!*key)
			continue;
		val = strchr(key, '=');
		if (val) {
			*val++ = '\0';
			val += strspn(val, " \t");
			e = key + strlen(key);
			while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
		}
		if (!strcmp(key, "scenario") || !strcmp(key, "list") ||
		    !strcmp(key, "help") || !strcmp(key, "version") ||
		    !strcmp(key, "out") || !strcmp(key, "json"))
			return usage_err(
				"%s:%u: '%s' cannot be set in a scenario", src,
				lineno, key);
		if (set_option(c, key, val ? val : "1"))
			return usage_err("%s:%u: bad setting '%s'", src, lineno,
					 key);
	}
	return 0;
}

int cb_load_scenario(struct cb_config *c, const char *name)
{
	const char *text = builtin_scenario(name);
	const char *base;
	char *buf;
	ssize_t n;
	int rc;

	if (text) {
		snprintf(c->scenario, sizeof(c->scenario), "%s", name);
		snprintf(c->scenario_src, sizeof(c->scenario_src), "builtin");
		return apply_scenario_text(c, text, name);
	}
	if (!strchr(name, '/') && !strstr(name, ".conf"))
		return usage_err(
			"--scenario: no scenario '%s' (cmabench --list)", name);
	buf = malloc(65536);
	if (!buf)
		return usage_err("out of memory");
	n = read_file(name, buf, 65536);
	if (n < 0) {
		rc = usage_err("--scenario: cannot read %s: %s", name,
			       strerror(errno));
		free(buf);
		return rc;
	}
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	snprintf(c->scenario, sizeof(c->scenario), "%.*s",
		 (int)strcspn(base, "."), base);
	snprintf(c->scenario_src, sizeof(c->scenario_src), "%s", name);
	rc = apply_scenario_text(c, buf, name);
	free(buf);
	return rc;
}

void cb_list_scenarios(FILE *f)
{
	unsigned int i;

	for (i = 0; i < cb_nscenarios; i++) {
		struct cb_config c;
		const char *d;

		cb_config_defaults(&c);
		d = apply_scenario_text(&c, cb_scenarios[i].text,
					cb_scenarios[i].name) ?
			    "(invalid)" :
			    c.description;
		fprintf(f, "%-16s %s\n", cb_scenarios[i].name, d);
	}
}

int cb_parse_args(struct cb_config *c, int argc, char **argv,
		  enum cb_action *act)
{
	int i, o, idx, rc;

	cb_config_defaults(c);
	*act = ACT_RUN;
	/* The scenario first, whatever its position, so that options override it. */
	for (i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--"))
			break;
		if ((!strcmp(argv[i], "-s") ||
		     !strcmp(argv[i], "--scenario")) &&
		    i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--scenario=", 11))
			v = argv[i] + 11;
		if (v) {
			rc = cb_load_scenario(c, v);
			if (rc)
				return rc;
		}
	}
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":s:lb:a:S:n:d:j:w:p:o:qhV",
				long_opts, &idx)) != -1) {
		const char *name = NULL;

		switch (o) {
		case 's':
			continue;
		case 'l':
			*act = ACT_LIST;
			continue;
		case 'h':
			*act = ACT_HELP;
			return 0;
		case 'V':
			*act = ACT_VERSION;
			return 0;
		case '?':
			if (optopt)
				return usage_err(
					"unknown option '-%c' (cmabench --help)",
					optopt);
			return usage_err(
				"unknown option '%s' (cmabench --help)",
				argv[optind - 1]);
		case ':':
			return usage_err("option '%s' needs a value",
					 argv[optind - 1]);
		case 0:
			name = long_opts[idx].name;
			if (!strcmp(name, "scenario"))
				continue;
			break;
		default:
			for (i = 0; long_opts[i].name; i++)
				if (long_opts[i].val == o)
					name = long_opts[i].name;
			break;
		}
		if (!name)
			return usage_err("unknown option (cmabench --help)");
		rc = set_option(c, name, optarg ? optarg : "1");
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_err("unexpected argument '%s' (cmabench --help)",
				 argv[optind]);
	if (*act != ACT_RUN)
		return 0;
	/* Combinations */
	if (!c->count && c->duration_s <= 0)
		return usage_err("--count 0 needs --duration");
	if (c->occ_target >= 0 && c->occ_target + c->occ_tol > 0.98)
		return usage_err(
			"--occupancy: %.0f%% +- %.0f%% leaves the allocator no free page to work with; "
			"use at most 93%%",
			c->occ_target * 100, c->occ_tol * 100);
	if ((c->fill == K_FILE || c->fill == K_DIRTY) && c->occ_target >= 0 &&
	    !c->scratch[0])
		return usage_err(
			"--fill %s needs --scratch DIR on a disk file system",
			cb_kind_names[c->fill]);
	for (i = 0; i < c->npressure; i++) {
		int k = c->pressure[i].kind;

		if ((k == K_FILE || k == K_DIRTY || k == K_ODIRECT) &&
		    !c->scratch[0])
			return usage_err(
				"--pressure %s needs --scratch DIR on a disk file system",
				cb_kind_names[k]);
	}
	return 0;
}

uint64_t cb_max_request_pages(const struct cb_config *c)
{
	uint64_t m = c->dist != DIST_LIST ? c->dist_max : 0;
	int i;

	for (i = 0; i < c->nsizes && c->dist == DIST_LIST; i++)
		m = c->sizes[i] > m ? c->sizes[i] : m;
	return m;
}
