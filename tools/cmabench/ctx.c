// SPDX-License-Identifier: GPL-2.0
/*
 * The run context: its init and teardown, the areas found, the run's first
 * error and the stop flag. Every part of cmabench reports through here, so
 * none of them calls back into main.c or into its caller.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

volatile sig_atomic_t cb_stop;

static void on_signal(int sig)
{
	cb_stop = sig;
}

/* SIGINT, SIGTERM and SIGHUP stop the run (its results are still written). */
void cb_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: sleeps and waits return */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void cb_run_init(struct cb_run *r, int argc, char **argv)
{
	r->argc = argc;
	r->argv = argv;
	r->dev_fd = r->heap_fd = -1;
	r->null_ioctl_p50 = -1;
	r->injected_before = r->injected_after = -1;
	r->occ.landing = -1;
	r->occ.misses = -1;
	r->pinned_last = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->err_lock, NULL);
}

void cb_run_destroy(struct cb_run *r)
{
	free(r->rec);
	r->rec = NULL;
	r->nrec = r->caprec = 0;
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->err_lock);
}

/* An area found by a backend (cb_cma_bench_areas, cb_debugfs_areas). */
void cb_add_area(struct cb_run *r, const char *name, uint64_t base,
		 uint64_t pages, unsigned int opb)
{
	struct cb_area *a;
	char p[256];

	if (r->nareas == CB_MAX_AREAS)
		return;
	a = &r->areas[r->nareas++];
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->base_pfn = base;
	a->pages = pages;
	a->order_per_bit = opb;
	a->heap[0] = '\0';
	if (!pathf(p, sizeof(p), "/dev/dma_heap/%s", name) &&
	    access(p, F_OK) == 0)
		snprintf(a->heap, sizeof(a->heap), "%s", p);
}

int cb_err(struct cb_run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->err_lock);
	va_start(ap, fmt);
	if (!r->error[0]) { /* the first error is the cause */
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
		if (!r->error[0])
			snprintf(r->error, sizeof(r->error), "error");
	} else {
		if (r->nlater < CB_MAX_LATER)
			vsnprintf(r->later[r->nlater], sizeof(r->later[0]), fmt,
				  ap);
		r->nlater++;
	}
	va_end(ap);
	pthread_mutex_unlock(&r->err_lock);
	return -1;
}

bool cb_failed(struct cb_run *r)
{
	bool failed;

	pthread_mutex_lock(&r->err_lock);
	failed = r->error[0] != '\0';
	pthread_mutex_unlock(&r->err_lock);
	return failed;
}

bool cb_report_errors(struct cb_run *r)
{
	unsigned int i;
	bool failed;

	pthread_mutex_lock(&r->err_lock);
	failed = r->error[0] != '\0';
	if (failed)
		fprintf(stderr, "cmabench: %s\n", r->error);
	for (i = 0; i < r->nlater && i < CB_MAX_LATER; i++)
		fprintf(stderr, "cmabench: then: %s\n", r->later[i]);
	if (r->nlater > CB_MAX_LATER)
		fprintf(stderr, "cmabench: then %u more errors\n",
			r->nlater - CB_MAX_LATER);
	pthread_mutex_unlock(&r->err_lock);
	return failed;
}
