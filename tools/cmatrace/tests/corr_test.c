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

/* An event with one field, straight to @c */
static void send1(struct cmt_corr *c, enum cmt_kind k, int pid, int cpu,
		  uint64_t ts, enum cmt_field f, int64_t v)
{
	struct cmt_event e = ev(k, pid, cpu, ts);

	set(&e, f, v);
	cmt_corr_event(c, &e);
}

static struct cmt_corr *fresh(void)
{
	nrec = 0;
	memset(recs, 0, sizeof(recs));
	return cmt_corr_new(capture, NULL);
}

static void t_interleaved_stock(void)
{
	struct cmt_corr *c = fresh();
	struct cmt_event e;

	send1(c, CMT_K_START, 10, 0, 100, CMT_F_COUNT, 16);
	send1(c, CMT_K_START, 20, 1, 110, CMT_F_COUNT, 32);
	send1(c, CMT_K_RETRY, 20, 1, 120, CMT_F_PFN, 0x1000);
	e = ev(CMT_K_MM_MIGRATE, 10, 1, 125); /* task 10 moved to cpu 1 */
	set(&e, CMT_F_SUCCEEDED, 5);
	set(&e, CMT_F_REASON, 1);
	cmt_corr_event(c, &e);
	e = ev(CMT_K_FINISH, 10, 1, 130);
	set(&e, CMT_F_PFN, 0x2000);
	set(&e, CMT_F_PAGE, 0xffff0000);
	set(&e, CMT_F_COUNT, 16);
	cmt_corr_event(c, &e);
	e = ev(CMT_K_TEST_ISOLATED, 20, 0, 135);
	set(&e, CMT_F_START_PFN, 0x3000);
	set(&e, CMT_F_END_PFN, 0x3020);
	set(&e, CMT_F_FIN_PFN, 0x3007);
	cmt_corr_event(c, &e);
	send1(c, CMT_K_RETRY, 20, 0, 136, CMT_F_PFN, 0x3000);
	e = ev(CMT_K_FINISH, 20, 0, 140);
	set(&e, CMT_F_PFN, -1);
	set(&e, CMT_F_PAGE, 0);
	cmt_corr_event(c, &e);
	cmt_corr_flush(c);

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
	struct cmt_corr *c = fresh();
	struct cmt_event e;

	e = ev(CMT_K_FINISH, 5, 0, 50); /* trace began mid-allocation */
	set(&e, CMT_F_PFN, 0x10);
	set(&e, CMT_F_PAGE, 1);
	set(&e, CMT_F_COUNT, 4);
	cmt_corr_event(c, &e);
	/* larger than the area: no finish */
	send1(c, CMT_K_START, 6, 0, 60, CMT_F_COUNT, 99999);
	send1(c, CMT_K_START, 6, 0, 70, CMT_F_COUNT, 1);
	e = ev(CMT_K_START, 7, 1, 65); /* never finishes: truncated trace */
	cmt_corr_event(c, &e);
	cmt_corr_missed(c, 1, 12);
	e = ev(CMT_K_FINISH, 6, 0, 80);
	set(&e, CMT_F_PFN, 0x20);
	set(&e, CMT_F_PAGE, 1);
	cmt_corr_event(c, &e);
	cmt_corr_missed(c, 0, -1);
	cmt_corr_flush(c);

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
	struct cmt_corr *c = fresh();
	struct cmt_event e;

	send1(c, CMT_K_START, 9, 0, 10, CMT_F_COUNT, 1024);
	send1(c, CMT_K_ISOLATE, 9, 0, 11, CMT_F_ELAPSED, 100);
	send1(c, CMT_K_DRAIN, 9, 0, 12, CMT_F_ELAPSED, 200);
	e = ev(CMT_K_BUSY_PAGE, 9, 0, 13);
	set(&e, CMT_F_PFN, 0x4242);
	set(&e, CMT_F_REFCOUNT, 3);
	set(&e, CMT_F_MAPCOUNT, 1);
	set(&e, CMT_F_FLAGS, CMT_PG_LRU | CMT_PG_ANON);
	strcpy(e.stage, "migrate");
	strcpy(e.reason, "pinned");
	cmt_corr_event(c, &e);
	e = ev(CMT_K_MIGRATE, 9, 0, 14);
	set(&e, CMT_F_ELAPSED, 300);
	set(&e, CMT_F_MIGRATED, 100);
	set(&e, CMT_F_NR_FAILED, 1);
	cmt_corr_event(c, &e);
	e = ev(CMT_K_TEST, 9, 0, 15);
	set(&e, CMT_F_ELAPSED, 400);
	set(&e, CMT_F_RET, -16);
	set(&e, CMT_F_FAILED_PFN, 0x4242);
	cmt_corr_event(c, &e);
	e = ev(CMT_K_FINISH, 9, 0, 20);
	set(&e, CMT_F_PFN, 0x4000);
	set(&e, CMT_F_PAGE, 0);
	set(&e, CMT_F_ERRNO, -16);
	set(&e, CMT_F_RETRIES, 0);
	set(&e, CMT_F_ELAPSED, 9999);
	cmt_corr_event(c, &e);
	cmt_corr_flush(c);

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

static void t_bounded(void)
{
	struct cmt_corr *c = fresh();
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
	send1(c, CMT_K_MM_MIGRATE, 1, 0, 1, CMT_F_REASON, 0);
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

int main(void)
{
	t_interleaved_stock();
	t_missing();
	t_patched();
	t_bounded();
	t_output();
	return tap_done();
}
