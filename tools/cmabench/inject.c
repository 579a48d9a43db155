// SPDX-License-Identifier: GPL-2.0
/*
 * --inject STAGE:PROBABILITY[:TIMES]: drive /sys/kernel/debug/fail_cma (the
 * patched kernel's fault_attr, docs/contracts.md) for the run. Every knob we
 * touch is saved first and written back by cb_inject_restore(), which is
 * also called on SIGINT/SIGTERM paths. Only this process fails
 * (task-filter + /proc/self/make-it-fail), so the rest of the board runs on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmabench.h"
#include "util.h"

#define FAIL_CMA "/sys/kernel/debug/fail_cma"

static const char *const knobs[] = { "probability",   "interval",
				     "times",	      "space",
				     "verbose",	      "task-filter",
				     "stage_alloc",   "stage_isolate",
				     "stage_migrate", "stage_test" };
#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static char saved[NKNOBS][64];
static bool have[NKNOBS];
static char saved_mif[16];
static bool have_mif, active;

static int set_knob(struct cb_run *r, const char *k, const char *v)
{
	char p[128];

	snprintf(p, sizeof(p), FAIL_CMA "/%s", k);
	if (write_file(p, v)) {
		cb_err(r, "--inject: cannot write %s to %s: %s", v, p,
		       strerror(errno));
		return -1;
	}
	return 0;
}

int cb_inject_start(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	char p[128], v[32], stage[32];
	size_t i;

	if (!c->inject)
		return 0;
	if (!r->feat.fail_cma) {
		cb_err(r,
		       "--inject needs " FAIL_CMA
		       " (the patched kernel with CONFIG_FAULT_INJECTION_DEBUG_FS)");
		return -1;
	}
	for (i = 0; i < NKNOBS; i++) {
		char *nl;

		snprintf(p, sizeof(p), FAIL_CMA "/%s", knobs[i]);
		have[i] = read_file(p, saved[i], sizeof(saved[i])) > 0;
		nl = strchr(saved[i], '\n');
		if (nl)
			*nl = '\0';
		if (!have[i] && (i < 3 || !strncmp(knobs[i], "stage_", 6))) {
			cb_err(r, "--inject: cannot read %s: %s", p,
			       strerror(errno));
			return -1;
		}
	}
	have_mif = read_file("/proc/self/make-it-fail", saved_mif,
			     sizeof(saved_mif)) > 0;
	active = true;
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
	if (write_file("/proc/self/make-it-fail", "1")) {
		cb_err(r, "--inject: cannot write /proc/self/make-it-fail: %s",
		       strerror(errno));
		return -1;
	}
	snprintf(v, sizeof(v), "%u", c->inject_prob);
	return set_knob(r, "probability",
			v); /* last: armed only when all is set */
}

void cb_inject_restore(void)
{
	char p[128];
	size_t i;

	if (!active)
		return;
	/* probability first: disarmed before anything else changes */
	for (i = 0; i < NKNOBS; i++) {
		if (!have[i])
			continue;
		snprintf(p, sizeof(p), FAIL_CMA "/%s", knobs[i]);
		write_file(p, saved[i]);
	}
	write_file("/proc/self/make-it-fail", have_mif ? saved_mif : "0");
	active = false;
}
