// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the correlator on synthetic event sequences: interleaved
 * tasks and CPUs, missing starts and finishes, lost events, stock and
 * patched finish events, blocking pages, bounded memory. Prints TAP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmt.h"
#include "tap.h" /* tools/lib */

#define MAX_REC 8192

static struct cmt_alloc recs[MAX_REC];
static int nrec;

static void capture(void *ctx, const struct cmt_alloc *a)
{
	(void)ctx;
	if (nrec < MAX_REC)
		recs[nrec] = *a;
	nrec++;
}

static struct cmt_event ev(enum cmt_kind k, int pid, int cpu, uint64_t ts)
{
	struct cmt_event e;

	memset(&e, 0, sizeof(e));
	e.kind = k;
	e.pid = pid;
	e.cpu = cpu;
	e.ts = ts;
	if (k == CMT_K_START || k == CMT_K_FINISH || k == CMT_K_RETRY) {
		e.name = "reserved";
		e.name_len = 8;
	}
	return e;
}

static void set(struct cmt_event *e, enum cmt_field f, int64_t v)
{
	e->v[f] = v;
	e->present |= 1u << f;
}

/* A field of a step: F(CMT_F_PFN, 0x10); the zero entry ends the list. */
struct fv {
	int f; /* enum cmt_field + 1 */
	int64_t v;
};
#define F(field, value)              \
	{                            \
		(field) + 1, (value) \
	}

/* One event of a test, or with kind LOST a lost-events mark (n in ts). */
struct step {
	struct {
		enum cmt_kind kind;
		int pid, cpu;
		uint64_t ts;
	} at;
	struct fv fv[6];
};
#define AT(kind, pid, cpu, ts)             \
	{                                  \
		(kind), (pid), (cpu), (ts) \
	}
#define LOST CMT_K_NR
/* Two more "fields": a busy page's stage and reason, as strs[] indexes */
#define STAGE CMT_F_NR
#define REASON (CMT_F_NR + 1)
static const char *const strs[] = { "", "migrate", "pinned" };

/* A fresh correlator fed @steps, then flushed; the records are in recs. */
static struct cmt_corr *run(const struct step *steps, size_t n)
{
	struct cmt_corr *c;
	size_t i, j;

	nrec = 0;
	memset(recs, 0, sizeof(recs));
	c = cmt_corr_new(capture, NULL);
	for (i = 0; c && i < n; i++) {
		const struct step *s = &steps[i];
		struct cmt_event e =
			ev(s->at.kind, s->at.pid, s->at.cpu, s->at.ts);

		if (s->at.kind == LOST) {
			cmt_corr_missed(c, s->at.cpu, (long long)s->at.ts);
			continue;
		}
		for (j = 0; j < 6 && s->fv[j].f; j++) {
			int f = s->fv[j].f - 1;
			int64_t v = s->fv[j].v;

			if (f == STAGE)
				strcpy(e.stage, strs[v]);
			else if (f == REASON)
				strcpy(e.reason, strs[v]);
			else
				set(&e, (enum cmt_field)f, v);
		}
		cmt_corr_event(c, &e);
	}
	if (c)
		cmt_corr_flush(c);
	return c;
}

#define RUN(steps) run(steps, ARRAY_SIZE(steps))

static void t_interleaved_stock(void)
{
	static const struct step steps[] = {
		{ AT(CMT_K_START, 10, 0, 100), { F(CMT_F_COUNT, 16) } },
		{ AT(CMT_K_START, 20, 1, 110), { F(CMT_F_COUNT, 32) } },
		{ AT(CMT_K_RETRY, 20, 1, 120), { F(CMT_F_PFN, 0x1000) } },
		/* task 10 moved to cpu 1 */
		{ AT(CMT_K_MM_MIGRATE, 10, 1, 125),
		  { F(CMT_F_SUCCEEDED, 5), F(CMT_F_REASON, 1) } },
		{ AT(CMT_K_FINISH, 10, 1, 130),
		  { F(CMT_F_PFN, 0x2000), F(CMT_F_PAGE, 0xffff0000),
		    F(CMT_F_COUNT, 16) } },
		{ AT(CMT_K_TEST_ISOLATED, 20, 0, 135),
		  { F(CMT_F_START_PFN, 0x3000), F(CMT_F_END_PFN, 0x3020),
		    F(CMT_F_FIN_PFN, 0x3007) } },
		{ AT(CMT_K_RETRY, 20, 0, 136), { F(CMT_F_PFN, 0x3000) } },
		{ AT(CMT_K_FINISH, 20, 0, 140),
		  { F(CMT_F_PFN, -1), F(CMT_F_PAGE, 0) } },
	};
	struct cmt_corr *c = RUN(steps);

	tap_ok(nrec == 2, "interleaved: two tasks give two records");
	tap_ok(recs[0].pid == 10 && recs[0].status == CMT_OK &&
		       recs[0].pfn_valid && recs[0].pfn == 0x2000 &&
		       recs[0].cpu_start == 0 && recs[0].cpu_finish == 1 &&
		       recs[0].mm_succeeded == 5 && !recs[0].missing,
	       "interleaved: task 10 succeeded at its pfn across CPUs");
	tap_ok(recs[1].pid == 20 && recs[1].status == CMT_FAILED &&
		       recs[1].err == -EBUSY && recs[1].errno_inferred &&
		       recs[1].retry_events == 2 && !recs[1].pfn_valid &&
		       recs[1].retry_pfns[1] == 0x3000,
	       "interleaved: task 20 failed -EBUSY (inferred) after 2 retries");
	tap_ok(recs[1].blk_src == CMT_BLK_ISOL && recs[1].blk.pfn == 0x3007,
	       "stock: a failed test_pages_isolated names the blocking pfn");
	tap_ok(recs[1].ts_finish - recs[1].ts_start == 30,
	       "latency is finish minus start");
	cmt_corr_free(c);
}

static void t_missing(void)
{
	static const struct step steps[] = {
		/* the trace began mid-allocation */
		{ AT(CMT_K_FINISH, 5, 0, 50),
		  { F(CMT_F_PFN, 0x10), F(CMT_F_PAGE, 1), F(CMT_F_COUNT, 4) } },
		/* larger than the area: no finish */
		{ AT(CMT_K_START, 6, 0, 60), { F(CMT_F_COUNT, 99999) } },
		{ AT(CMT_K_START, 6, 0, 70), { F(CMT_F_COUNT, 1) } },
		/* never finishes: a truncated trace */
		{ AT(CMT_K_START, 7, 1, 65), { { 0, 0 } } },
		{ AT(LOST, 0, 1, 12), { { 0, 0 } } },
		{ AT(CMT_K_FINISH, 6, 0, 80),
		  { F(CMT_F_PFN, 0x20), F(CMT_F_PAGE, 1) } },
		{ AT(LOST, 0, 0, (uint64_t)-1), { { 0, 0 } } },
	};
	struct cmt_corr *c = RUN(steps);

	tap_ok(nrec == 4, "missing: every allocation gives one record");
	tap_ok(recs[0].status == CMT_OK && (recs[0].missing & CMT_MISS_START) &&
		       !recs[0].has_start && recs[0].count == 4,
	       "a finish without a start is kept and flagged missing start");
	tap_ok(recs[1].status == CMT_UNFINISHED && recs[1].count == 99999 &&
		       (recs[1].missing & CMT_MISS_FINISH),
	       "a second start on a task closes the first as unfinished");
	tap_ok(recs[2].status == CMT_OK && recs[2].count == 1 &&
		       (recs[2].missing & CMT_MISS_LOST),
	       "allocations open when events were lost are flagged");
	tap_ok(recs[3].pid == 7 && recs[3].status == CMT_UNFINISHED &&
		       (recs[3].missing & CMT_MISS_FINISH) &&
		       (recs[3].missing & CMT_MISS_LOST),
	       "allocations open at the end are emitted as unfinished");
	tap_ok(cmt_corr_counts(c)->missed_events == 12 &&
		       cmt_corr_counts(c)->missed_unknown == 1,
	       "lost events are counted");
	cmt_corr_free(c);
}

static void t_patched(void)
{
	static const struct step steps[] = {
		{ AT(CMT_K_START, 9, 0, 10), { F(CMT_F_COUNT, 1024) } },
		{ AT(CMT_K_ISOLATE, 9, 0, 11), { F(CMT_F_ELAPSED, 100) } },
		{ AT(CMT_K_DRAIN, 9, 0, 12), { F(CMT_F_ELAPSED, 200) } },
		{ AT(CMT_K_BUSY_PAGE, 9, 0, 13),
		  { F(CMT_F_PFN, 0x4242), F(CMT_F_REFCOUNT, 3),
		    F(CMT_F_MAPCOUNT, 1),
		    F(CMT_F_FLAGS, CMT_PG_LRU | CMT_PG_ANON), F(STAGE, 1),
		    F(REASON, 2) } },
		{ AT(CMT_K_MIGRATE, 9, 0, 14),
		  { F(CMT_F_ELAPSED, 300), F(CMT_F_MIGRATED, 100),
		    F(CMT_F_NR_FAILED, 1) } },
		{ AT(CMT_K_TEST, 9, 0, 15),
		  { F(CMT_F_ELAPSED, 400), F(CMT_F_RET, -16),
		    F(CMT_F_FAILED_PFN, 0x4242) } },
		{ AT(CMT_K_FINISH, 9, 0, 20),
		  { F(CMT_F_PFN, 0x4000), F(CMT_F_PAGE, 0), F(CMT_F_ERRNO, -16),
		    F(CMT_F_RETRIES, 0), F(CMT_F_ELAPSED, 9999) } },
	};
	struct cmt_corr *c = RUN(steps);

	tap_ok(nrec == 1 && recs[0].status == CMT_FAILED &&
		       recs[0].err == -16 && !recs[0].errno_inferred &&
		       recs[0].has_kernel_elapsed &&
		       recs[0].kernel_elapsed == 9999,
	       "patched: errno and elapsed come from the finish event");
	tap_ok(recs[0].has_phases && recs[0].isolate_ns == 100 &&
		       recs[0].drain_ns == 200 && recs[0].migrate_ns == 300 &&
		       recs[0].test_ns == 400 && recs[0].attempts == 1 &&
		       recs[0].migrated == 100 && recs[0].nr_failed == 1,
	       "patched: phase times and migration counters are summed");
	tap_ok(recs[0].blk_src == CMT_BLK_BUSY && recs[0].blk.pfn == 0x4242 &&
		       !strcmp(recs[0].blk.reason, "pinned") &&
		       recs[0].blk.refcount == 3 && recs[0].busy_total == 1,
	       "patched: the busy page names the pinned pfn and its reason");
	cmt_corr_free(c);
}

/*
 * Mainline's cma_alloc_start (the series' since v2): the area's free and
 * total pages reach the record and its JSONL line; without them, the line
 * has neither key.
 */
static void t_area_pages(void)
{
	static const struct step steps[] = {
		{ AT(CMT_K_START, 5, 0, 10),
		  { F(CMT_F_COUNT, 64), F(CMT_F_AVAILABLE, 1000),
		    F(CMT_F_TOTAL, 4096) } },
		{ AT(CMT_K_FINISH, 5, 0, 20),
		  { F(CMT_F_PFN, 0x100), F(CMT_F_PAGE, 1), F(CMT_F_COUNT, 64),
		    F(CMT_F_ERRNO, 0) } },
		{ AT(CMT_K_START, 6, 0, 30), { F(CMT_F_COUNT, 8) } },
		{ AT(CMT_K_FINISH, 6, 0, 40),
		  { F(CMT_F_PFN, 0x200), F(CMT_F_PAGE, 1), F(CMT_F_COUNT, 8),
		    F(CMT_F_ERRNO, 0) } },
	};
	struct cmt_corr *c = RUN(steps);
	struct cmt_out *o;
	char buf[4096];
	FILE *f = tmpfile();
	size_t n = 0;

	tap_ok(nrec == 2 && recs[0].has_area_pages &&
		       recs[0].available == 1000 && recs[0].total == 4096 &&
		       !recs[1].has_area_pages,
	       "mainline's start: available_count and total_count are kept");
	o = f ? cmt_out_new(fileno(f), CMT_FMT_JSONL, NULL, NULL) : NULL;
	if (o && nrec == 2) {
		cmt_out_alloc(o, &recs[0]);
		cmt_out_alloc(o, &recs[1]);
		cmt_out_flush(o);
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
	}
	buf[n] = '\0';
	tap_ok(strstr(buf, "\"count\":64,\"align\":0,\"available_count\":1000,"
			   "\"total_count\":4096,\"status\"") &&
		       strstr(buf, "\"count\":8,\"align\":0,\"status\"") &&
		       !strstr(strchr(buf, '\n') ? strchr(buf, '\n') : buf,
			       "available_count"),
	       "JSONL: available_count and total_count only when the event has them");
	if (o)
		cmt_out_free(o);
	if (f)
		fclose(f);
	cmt_corr_free(c);
}

static void t_bounded(void)
{
	struct cmt_corr *c = run(NULL, 0);
	struct cmt_event e;
	int i;

	for (i = 0; i < CMT_MAX_OPEN + 1; i++) {
		e = ev(CMT_K_START, 1000 + i, i & 1, 1000 + i);
		cmt_corr_event(c, &e);
	}
	tap_ok(nrec == 1 && recs[0].pid == 1000 &&
		       (recs[0].missing & CMT_MISS_EVICTED),
	       "bounded: the oldest open allocation is evicted when full");
	for (i = 1; i < CMT_MAX_OPEN + 1; i += 2) {
		e = ev(CMT_K_FINISH, 1000 + i, 0, 99999 + i);
		set(&e, CMT_F_PAGE, 1);
		set(&e, CMT_F_PFN, i);
		cmt_corr_event(c, &e);
	}
	tap_ok(nrec == 1 + CMT_MAX_OPEN / 2 && recs[1].pid == 1001 &&
		       recs[1].has_start && recs[1].pfn == 1,
	       "bounded: finishes find their starts after deletions");
	for (i = 2; i < CMT_MAX_OPEN + 1; i += 2) {
		e = ev(CMT_K_FINISH, 1000 + i, 0, 199999 + i);
		set(&e, CMT_F_PAGE, 1);
		cmt_corr_event(c, &e);
	}
	cmt_corr_flush(c);
	tap_ok(nrec == CMT_MAX_OPEN + 1 && recs[nrec - 1].has_start &&
		       !(recs[nrec - 1].missing & CMT_MISS_START),
	       "bounded: every start is matched after table churn");
	e = ev(CMT_K_MM_MIGRATE, 1, 0, 1);
	set(&e, CMT_F_REASON, 0);
	cmt_corr_event(c, &e);
	tap_ok(cmt_corr_counts(c)->unrelated == 1 && nrec == CMT_MAX_OPEN + 1,
	       "migrations outside an allocation are only counted");
	cmt_corr_free(c);
}

static const char *odd_comm(void *ctx, int pid)
{
	(void)ctx;
	return pid == 7 ? "a\"b\\c\n\x7f\xc3\xa9\xff" : NULL;
}

/* The writers: strings by tools/lib's rule, errno names from its table. */
static void t_output(void)
{
	struct cmt_alloc a;
	struct cmt_out *o;
	char buf[4096];
	FILE *f = tmpfile();
	size_t n = 0;

	memset(&a, 0, sizeof(a));
	a.pid = 7;
	a.status = CMT_FAILED;
	strcpy(a.area, "reserved");
	a.count = 4;
	a.has_errno = true;
	a.err = -EBUSY;
	o = f ? cmt_out_new(fileno(f), CMT_FMT_JSONL, odd_comm, NULL) : NULL;
	if (o) {
		cmt_out_alloc(o, &a);
		a.pid = 8;
		a.err = -4000;
		cmt_out_alloc(o, &a);
		a.err = 5;
		cmt_out_alloc(o, &a);
		cmt_out_flush(o);
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
	}
	buf[n] = '\0';
	tap_ok(strstr(buf,
		      "\"comm\":\"a\\\"b\\\\c\\u000a\\u007f\xc3\xa9\\u00ff\",") !=
		       NULL,
	       "JSONL: comm escaped (quote, backslash, controls as \\u00XX, "
	       "UTF-8 kept, invalid bytes as \\u00XX)");
	tap_ok(strstr(buf, "\"errno\":-16,\"errno_name\":\"EBUSY\"") &&
		       strstr(buf,
			      "\"errno\":-4000,\"errno_name\":\"E4000\"") &&
		       strstr(buf, "\"errno\":5,\"errno_name\":\"E5\""),
	       "JSONL: errno names, E<n> for codes without one and positive values");
	if (o)
		cmt_out_free(o);
	if (f)
		fclose(f);
}

/* The summary's ratios never overflow, whatever the latencies. */
static void t_summary_huge(void)
{
	struct cmt_counts cnt;
	struct cmt_alloc a;
	struct cmt_out *o;
	char buf[4096];
	FILE *f = tmpfile();
	size_t n = 0;
	int i;

	memset(&cnt, 0, sizeof(cnt));
	memset(&a, 0, sizeof(a));
	a.status = CMT_OK;
	a.has_start = a.has_finish = true;
	a.ts_finish = (uint64_t)1 << 63; /* a corrupt trace's latency */
	o = f ? cmt_out_new(-1, CMT_FMT_SUMMARY, NULL, NULL) : NULL;
	if (o) {
		for (i = 0; i < 2; i++)
			cmt_out_alloc(o, &a);
		cmt_out_summary_json(o, &cnt, "test", fileno(f));
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
	}
	buf[n] = '\0';
	tap_ok(strstr(buf, "\"max\":9223372036854775808,"
			   "\"mean\":9223372036854775808.000000}") &&
		       strstr(buf, "\"success_rate\":1.000000,"),
	       "summary: the mean of latencies past 2^63 is printed, not "
	       "overflowed");
	if (o)
		cmt_out_free(o);
	if (f)
		fclose(f);
}

int main(void)
{
	t_interleaved_stock();
	t_missing();
	t_patched();
	t_area_pages();
	t_bounded();
	t_output();
	t_summary_huge();
	return tap_done();
}
