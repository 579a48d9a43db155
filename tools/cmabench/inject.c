// SPDX-License-Identifier: GPL-2.0
/*
 * --inject STAGE:PROBABILITY[:TIMES]: drive /sys/kernel/debug/fail_cma (the
 * patched kernel's fault_attr, docs/contracts.md) for the run. Every knob we
 * touch is saved first (r->inject) and written back by cb_inject_restore(),
 * which the run calls whatever happened (errors, SIGINT/SIGTERM). Only this process fails
 * (task-filter + /proc/self/make-it-fail), so the rest of the board runs on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmabench.h"
#include "util.h"

#define FAIL_CMA "/sys/kernel/debug/fail_cma"

static const char *const knobs[] = { "probability",   "interval",
				     "times",	      "space",
				     "verbose",	      "task-filter",
				     "stage_alloc",   "stage_isolate",
				     "stage_migrate", "stage_test" };
#define NKNOBS (ARRAY_SIZE(knobs))

/* What cb_inject_start changed, to be put back (r->inject). */
struct cb_inject_state {
	char saved[NKNOBS][64];
	bool have[NKNOBS];
	char saved_mif[16];
	bool have_mif;
};

static int set_knob(struct cb_run *r, const char *k, const char *v)
{
	char p[128];

	snprintf(p, sizeof(p), FAIL_CMA "/%s", k);
	if (write_file(p, v))
		return cb_err(r, "--inject: cannot write %s to %s: %s", v, p,
			      strerror(errno));
	return 0;
}

int cb_inject_start(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	struct cb_inject_state *st;
	char p[128], v[32], stage[32];
	size_t i;

	if (!c->inject)
		return 0;
	if (!r->feat.fail_cma)
		return cb_err(
			r,
			"--inject needs " FAIL_CMA
			" (the patched kernel with CONFIG_FAULT_INJECTION_DEBUG_FS)");
	st = calloc(1, sizeof(*st));
	if (!st)
		return cb_err(r, "out of memory");
	for (i = 0; i < NKNOBS; i++) {
		char *nl;

		snprintf(p, sizeof(p), FAIL_CMA "/%s", knobs[i]);
		st->have[i] = read_file(p, st->saved[i], sizeof(st->saved[i])) >
			      0;
		nl = strchr(st->saved[i], '\n');
		if (nl)
			*nl = '\0';
		if (!st->have[i] &&
		    (i < 3 || !strncmp(knobs[i], "stage_", 6))) {
			free(st);
			return cb_err(r, "--inject: cannot read %s: %s", p,
				      strerror(errno));
		}
	}
	st->have_mif = read_file("/proc/self/make-it-fail", st->saved_mif,
				 sizeof(st->saved_mif)) > 0;
	r->inject = st; /* from here on, cb_inject_restore puts it all back */
	snprintf(stage, sizeof(stage), "stage_%s", c->inject_stage);
	for (i = 0; i < NKNOBS; i++)
		if (!strncmp(knobs[i], "stage_", 6) &&
		    set_knob(r, knobs[i], strcmp(knobs[i], stage) ? "0" : "1"))
			return -1;
	snprintf(v, sizeof(v), "%" PRId64, c->inject_times);
	if (set_knob(r, "interval", "1") || set_knob(r, "times", v) ||
	    set_knob(r, "space", "0") || set_knob(r, "verbose", "0") ||
	    set_knob(r, "task-filter", "1"))
		return -1;
	if (write_file("/proc/self/make-it-fail", "1"))
		return cb_err(
			r, "--inject: cannot write /proc/self/make-it-fail: %s",
			strerror(errno));
	snprintf(v, sizeof(v), "%u", c->inject_prob);
	/* last: armed only when all is set */
	return set_knob(r, "probability", v);
}

/* Every knob back as it was; each one that cannot be is an error of the run. */
int cb_inject_restore(struct cb_run *r)
{
	struct cb_inject_state *st = r->inject;
	int rc = 0;
	size_t i;

	if (!st)
		return 0;
	/* probability first: disarmed before anything else changes */
	for (i = 0; i < NKNOBS; i++)
		if (st->have[i] && set_knob(r, knobs[i], st->saved[i]))
			rc = -1;
	if (write_file("/proc/self/make-it-fail",
		       st->have_mif ? st->saved_mif : "0"))
		rc = cb_err(
			r,
			"--inject: cannot restore /proc/self/make-it-fail: %s",
			strerror(errno));
	free(st);
	r->inject = NULL;
	return rc;
}
