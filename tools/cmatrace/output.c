// SPDX-License-Identifier: GPL-2.0
/*
 * Records -> JSONL, CSV or a summary. Text is built by hand into one
 * buffer and written in large blocks: no stdio, no printf per field.
 * Percentiles come from a log-linear histogram, so memory stays fixed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmt.h"
#include "json.h" /* tools/lib: the escaping rule */
#include "util.h" /* tools/lib: the errno table */

#ifndef BUF_SIZE
#define BUF_SIZE (256 * 1024)
#endif
#define BUF_HIGH (BUF_SIZE - 8192) /* one record always fits above this */
#define SUB_BITS 6
#define SUB (1 << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)
#define MAX_ERRNOS 32
#define MAX_REASONS 16

struct tally {
	int n;
	char key[MAX_REASONS][24];
	uint64_t val[MAX_REASONS];
	uint64_t other;
};

struct cmt_out {
	int fd;
	enum cmt_format fmt;
	cmt_comm_fn comm;
	void *comm_ctx;
	bool failed;
	uint64_t seq;
	size_t len;
	char *buf;
	/* summary */
	uint64_t ok, nfailed, unfinished, incomplete, retries;
	uint64_t pages_requested, pages_allocated;
	uint64_t lat_n, lat_min, lat_max;
	long double lat_sum;
	uint64_t *hist;
	struct tally by_errno, by_reason;
};

struct cmt_out *cmt_out_new(int fd, enum cmt_format fmt, cmt_comm_fn comm,
			    void *comm_ctx)
{
	struct cmt_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->buf = malloc(BUF_SIZE);
	o->hist = calloc(NBUCKETS, sizeof(*o->hist));
	if (!o->buf || !o->hist) {
		cmt_out_free(o);
		return NULL;
	}
	o->fd = fd;
	o->fmt = fmt;
	o->comm = comm;
	o->comm_ctx = comm_ctx;
	o->lat_min = UINT64_MAX;
	return o;
}

void cmt_out_free(struct cmt_out *o)
{
	if (!o)
		return;
	free(o->buf);
	free(o->hist);
	free(o);
}

bool cmt_out_failed(const struct cmt_out *o)
{
	return o->failed;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

bool cmt_out_flush(struct cmt_out *o)
{
	if (o->len && !o->failed && o->fd >= 0 &&
	    !write_all(o->fd, o->buf, o->len))
		o->failed = true;
	o->len = 0;
	return !o->failed;
}

/* Appenders: callers keep a record under 8 KiB (names are bounded). */
static inline void put(struct cmt_out *o, const char *s, size_t n)
{
	if (o->len + n > BUF_SIZE)
		cmt_out_flush(o);
	if (n > BUF_SIZE)
		n = BUF_SIZE;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

#define PUTS(o, lit) put(o, lit, sizeof(lit) - 1)

static inline void put_u64(struct cmt_out *o, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - (size_t)i);
}

static inline void put_i64(struct cmt_out *o, int64_t v)
{
	if (v < 0) {
		PUTS(o, "-");
		put_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(o, (uint64_t)v);
	}
}

/* A JSON string literal, escaped by the lib's rule straight into the buffer. */
static void put_jstr(struct cmt_out *o, const char *s)
{
	size_t n;

	PUTS(o, "\"");
	while (*s) {
		if (BUF_SIZE - o->len < JSON_ESCAPE_MAX)
			cmt_out_flush(o);
		s += json_escape(o->buf + o->len, BUF_SIZE - o->len, s, &n);
		o->len += n;
	}
	PUTS(o, "\"");
}

static void put_cstr(struct cmt_out *o, const char *s)
{
	const char *p;

	if (!strpbrk(s, ",\"\n\r")) {
		put(o, s, strlen(s));
		return;
	}
	PUTS(o, "\"");
	for (p = s; *p; p++) {
		if (*p == '"')
			PUTS(o, "\"");
		put(o, p, 1);
	}
	PUTS(o, "\"");
}

/* The kernel reports errors as negative codes; a positive value has no name. */
static const char *err_name(int64_t err)
{
	return err < 0 ? errno_name(err) : errno_num(err);
}

static const char *status_name(enum cmt_status s)
{
	return s == CMT_OK ? "ok" : s == CMT_FAILED ? "failed" : "unfinished";
}

static const char *const miss_names[] = { "start", "finish", "lost_events",
					  "evicted" };

static const char *blk_source(const struct cmt_alloc *a)
{
	switch (a->blk_src) {
	case CMT_BLK_BUSY:
		return "cma_busy_page";
	case CMT_BLK_TEST:
		return "cma_range_test";
	case CMT_BLK_ISOL:
		return "test_pages_isolated";
	default:
		return NULL;
	}
}

static const char *blk_reason(const struct cmt_alloc *a)
{
	if (a->blk_src == CMT_BLK_NONE)
		return NULL;
	if (a->blk_src == CMT_BLK_BUSY && a->blk.reason[0])
		return a->blk.reason;
	return "unknown";
}

static const char *comm_of(struct cmt_out *o, int pid)
{
	return o->comm ? o->comm(o->comm_ctx, pid) : NULL;
}

static void put_busy(struct cmt_out *o, const struct cmt_busy *b, bool full)
{
	int i, n = 0;

	PUTS(o, "{\"pfn\":");
	put_u64(o, b->pfn);
	PUTS(o, ",\"stage\":");
	put_jstr(o, b->stage[0] ? b->stage : "unknown");
	PUTS(o, ",\"reason\":");
	put_jstr(o, b->reason[0] ? b->reason : "unknown");
	PUTS(o, ",\"refcount\":");
	put_i64(o, b->refcount);
	PUTS(o, ",\"mapcount\":");
	put_i64(o, b->mapcount);
	if (full) {
		PUTS(o, ",\"migratetype\":");
		put_i64(o, b->migratetype);
		PUTS(o, ",\"flags\":[");
		for (i = 0; i < CMT_PG_NR; i++) {
			if (!(b->flags & (1u << i)))
				continue;
			if (n++)
				PUTS(o, ",");
			put_jstr(o, cmt_page_flag_names[i]);
		}
		PUTS(o, "]");
	}
}

static void write_jsonl(struct cmt_out *o, const struct cmt_alloc *a)
{
	const char *comm = comm_of(o, a->pid);
	uint64_t i, n;
	int k, m;

	PUTS(o, "{\"schema\":\"" CMT_SCHEMA "\",\"type\":\"alloc\",\"seq\":");
	put_u64(o, o->seq);
	PUTS(o, ",\"pid\":");
	put_i64(o, a->pid);
	PUTS(o, ",\"comm\":");
	if (comm)
		put_jstr(o, comm);
	else
		PUTS(o, "null");
	PUTS(o, ",\"area\":");
	put_jstr(o, a->area);
	PUTS(o, ",\"count\":");
	put_u64(o, a->count);
	PUTS(o, ",\"align\":");
	put_u64(o, a->align);
	PUTS(o, ",\"status\":\"");
	put(o, status_name(a->status), strlen(status_name(a->status)));
	if (a->has_errno) {
		const char *en = a->err ? err_name(a->err) : NULL;

		PUTS(o, "\",\"errno\":");
		put_i64(o, a->err);
		PUTS(o, ",\"errno_name\":");
		if (en)
			put_jstr(o, en);
		else
			PUTS(o, "null");
		if (a->errno_inferred)
			PUTS(o, ",\"errno_source\":\"inferred\"");
		else
			PUTS(o, ",\"errno_source\":\"event\"");
	} else {
		PUTS(o, "\",\"errno\":null,\"errno_name\":null,"
			"\"errno_source\":null");
	}
	PUTS(o, ",\"pfn\":");
	if (a->pfn_valid)
		put_u64(o, a->pfn);
	else
		PUTS(o, "null");
	PUTS(o, ",\"ts_start_ns\":");
	if (a->has_start)
		put_u64(o, a->ts_start);
	else
		PUTS(o, "null");
	PUTS(o, ",\"ts_finish_ns\":");
	if (a->has_finish)
		put_u64(o, a->ts_finish);
	else
		PUTS(o, "null");
	PUTS(o, ",\"latency_ns\":");
	if (a->has_start && a->has_finish && a->ts_finish >= a->ts_start)
		put_u64(o, a->ts_finish - a->ts_start);
	else
		PUTS(o, "null");
	PUTS(o, ",\"kernel_elapsed_ns\":");
	if (a->has_kernel_elapsed)
		put_u64(o, a->kernel_elapsed);
	else
		PUTS(o, "null");
	PUTS(o, ",\"cpu_start\":");
	if (a->has_start)
		put_i64(o, a->cpu_start);
	else
		PUTS(o, "null");
	PUTS(o, ",\"cpu_finish\":");
	if (a->has_finish)
		put_i64(o, a->cpu_finish);
	else
		PUTS(o, "null");
	PUTS(o, ",\"retries\":");
	put_u64(o, a->has_kernel_retries ? a->kernel_retries : a->retry_events);
	PUTS(o, ",\"retry_pfns\":[");
	n = a->retry_events < CMT_KEEP_PFNS ? a->retry_events : CMT_KEEP_PFNS;
	for (i = 0; i < n; i++) {
		if (i)
			PUTS(o, ",");
		put_u64(o, a->retry_pfns[i]);
	}
	PUTS(o, "],\"phases\":");
	if (a->has_phases) {
		PUTS(o, "{\"isolate_ns\":");
		put_u64(o, a->isolate_ns);
		PUTS(o, ",\"drain_ns\":");
		put_u64(o, a->drain_ns);
		PUTS(o, ",\"migrate_ns\":");
		put_u64(o, a->migrate_ns);
		PUTS(o, ",\"test_ns\":");
		put_u64(o, a->test_ns);
		PUTS(o, ",\"attempts\":");
		put_u64(o, a->attempts);
		PUTS(o, "}");
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"migrate\":");
	if (a->has_migrate) {
		PUTS(o, "{\"attempted\":");
		put_u64(o, a->attempted);
		PUTS(o, ",\"migrated\":");
		put_u64(o, a->migrated);
		PUTS(o, ",\"reclaimed\":");
		put_u64(o, a->reclaimed);
		PUTS(o, ",\"failed\":");
		put_u64(o, a->nr_failed);
		PUTS(o, ",\"passes\":");
		put_u64(o, a->passes);
		PUTS(o, "}");
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"mm_migrate\":{\"calls\":");
	put_u64(o, a->mm_calls);
	PUTS(o, ",\"succeeded\":");
	put_u64(o, a->mm_succeeded);
	PUTS(o, ",\"failed\":");
	put_u64(o, a->mm_failed);
	PUTS(o, "},\"isolation_tests\":{\"calls\":");
	put_u64(o, a->it_calls);
	PUTS(o, ",\"failed\":");
	put_u64(o, a->it_failed);
	PUTS(o, "},\"blocking\":");
	if (a->blk_src == CMT_BLK_BUSY) {
		put_busy(o, &a->blk, true);
		PUTS(o, ",\"source\":\"cma_busy_page\"}");
	} else if (a->blk_src != CMT_BLK_NONE) {
		PUTS(o, "{\"pfn\":");
		put_u64(o, a->blk.pfn);
		PUTS(o, ",\"source\":");
		put_jstr(o, blk_source(a));
		PUTS(o, ",\"reason\":\"unknown\"}");
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"busy_pages_total\":");
	put_u64(o, a->busy_total);
	PUTS(o, ",\"busy_pages\":[");
	n = a->busy_total < CMT_KEEP_BUSY ? a->busy_total : CMT_KEEP_BUSY;
	for (i = 0; i < n; i++) {
		if (i)
			PUTS(o, ",");
		put_busy(o, &a->busy[i], false);
		PUTS(o, "}");
	}
	PUTS(o, "],\"missing\":[");
	for (k = 0, m = 0; k < 4; k++) {
		if (!(a->missing & (1u << k)))
			continue;
		if (m++)
			PUTS(o, ",");
		put_jstr(o, miss_names[k]);
	}
	if (a->missing)
		PUTS(o, "],\"complete\":false}\n");
	else
		PUTS(o, "],\"complete\":true}\n");
}

static void csv_header(struct cmt_out *o)
{
	PUTS(o, "seq,pid,comm,area,count,align,status,errno,errno_name,"
		"errno_source,pfn,ts_start_ns,ts_finish_ns,latency_ns,"
		"kernel_elapsed_ns,retries,isolate_ns,drain_ns,migrate_ns,"
		"test_ns,pages_migrated,pages_failed,blocking_pfn,"
		"blocking_reason,busy_pages_total,missing,complete\n");
}

static void write_csv(struct cmt_out *o, const struct cmt_alloc *a)
{
	const char *comm = comm_of(o, a->pid);
	int k, m;

	if (o->seq == 0)
		csv_header(o);
	put_u64(o, o->seq);
	PUTS(o, ",");
	put_i64(o, a->pid);
	PUTS(o, ",");
	if (comm)
		put_cstr(o, comm);
	PUTS(o, ",");
	put_cstr(o, a->area);
	PUTS(o, ",");
	put_u64(o, a->count);
	PUTS(o, ",");
	put_u64(o, a->align);
	PUTS(o, ",");
	put(o, status_name(a->status), strlen(status_name(a->status)));
	PUTS(o, ",");
	if (a->has_errno) {
		put_i64(o, a->err);
		PUTS(o, ",");
		if (a->err) {
			const char *en = err_name(a->err);

			put(o, en, strlen(en));
		}
		PUTS(o, ",");
		if (a->errno_inferred)
			PUTS(o, "inferred");
		else
			PUTS(o, "event");
	} else {
		PUTS(o, ",,");
	}
	PUTS(o, ",");
	if (a->pfn_valid)
		put_u64(o, a->pfn);
	PUTS(o, ",");
	if (a->has_start)
		put_u64(o, a->ts_start);
	PUTS(o, ",");
	if (a->has_finish)
		put_u64(o, a->ts_finish);
	PUTS(o, ",");
	if (a->has_start && a->has_finish && a->ts_finish >= a->ts_start)
		put_u64(o, a->ts_finish - a->ts_start);
	PUTS(o, ",");
	if (a->has_kernel_elapsed)
		put_u64(o, a->kernel_elapsed);
	PUTS(o, ",");
	put_u64(o, a->has_kernel_retries ? a->kernel_retries : a->retry_events);
	PUTS(o, ",");
	if (a->has_phases) {
		put_u64(o, a->isolate_ns);
		PUTS(o, ",");
		put_u64(o, a->drain_ns);
		PUTS(o, ",");
		put_u64(o, a->migrate_ns);
		PUTS(o, ",");
		put_u64(o, a->test_ns);
	} else {
		PUTS(o, ",,,");
	}
	PUTS(o, ",");
	put_u64(o, a->has_migrate ? a->migrated : a->mm_succeeded);
	PUTS(o, ",");
	put_u64(o, a->has_migrate ? a->nr_failed : a->mm_failed);
	PUTS(o, ",");
	if (a->blk_src != CMT_BLK_NONE) {
		put_u64(o, a->blk.pfn);
		PUTS(o, ",");
		put_cstr(o, blk_reason(a));
	} else {
		PUTS(o, ",");
	}
	PUTS(o, ",");
	put_u64(o, a->busy_total);
	PUTS(o, ",");
	for (k = 0, m = 0; k < 4; k++) {
		if (!(a->missing & (1u << k)))
			continue;
		if (m++)
			PUTS(o, ";");
		put(o, miss_names[k], strlen(miss_names[k]));
	}
	if (a->missing)
		PUTS(o, ",false\n");
	else
		PUTS(o, ",true\n");
}

static unsigned int bucket_of(uint64_t v)
{
	int e;

	if (v < SUB)
		return (unsigned int)v;
	e = 63 - __builtin_clzll(v);
	return (unsigned int)((e - SUB_BITS + 1) * SUB +
			      ((v >> (e - SUB_BITS)) & (SUB - 1)));
}

static uint64_t bucket_mid(unsigned int b)
{
	unsigned int e, sub;
	uint64_t lo, w;

	if (b < SUB)
		return b;
	e = b / SUB + SUB_BITS - 1;
	sub = b % SUB;
	lo = ((uint64_t)(SUB + sub)) << (e - SUB_BITS);
	w = (uint64_t)1 << (e - SUB_BITS);
	return lo + w / 2;
}

static void tally_add(struct tally *t, const char *key)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->key[i], key)) {
			t->val[i]++;
			return;
		}
	if (t->n == MAX_REASONS) {
		t->other++;
		return;
	}
	strncpy(t->key[t->n], key, sizeof(t->key[0]) - 1);
	t->key[t->n][sizeof(t->key[0]) - 1] = '\0';
	t->val[t->n++] = 1;
}

static void account(struct cmt_out *o, const struct cmt_alloc *a)
{
	o->pages_requested += a->count;
	if (a->missing)
		o->incomplete++;
	o->retries += a->has_kernel_retries ? a->kernel_retries :
					      a->retry_events;
	if (a->status == CMT_OK) {
		o->ok++;
		o->pages_allocated += a->count;
	} else if (a->status == CMT_FAILED) {
		const char *r = blk_reason(a);

		o->nfailed++;
		tally_add(&o->by_errno, err_name(a->err));
		tally_add(&o->by_reason, r ? r : "none");
	} else {
		o->unfinished++;
	}
	if (a->has_start && a->has_finish && a->ts_finish >= a->ts_start) {
		uint64_t l = a->ts_finish - a->ts_start;

		o->lat_n++;
		o->lat_sum += l;
		if (l < o->lat_min)
			o->lat_min = l;
		if (l > o->lat_max)
			o->lat_max = l;
		o->hist[bucket_of(l)]++;
	}
}

void cmt_out_alloc(void *ctx, const struct cmt_alloc *a)
{
	struct cmt_out *o = ctx;

	account(o, a);
	if (o->fmt == CMT_FMT_JSONL)
		write_jsonl(o, a);
	else if (o->fmt == CMT_FMT_CSV)
		write_csv(o, a);
	o->seq++;
	if (o->len > BUF_HIGH)
		cmt_out_flush(o);
}

static uint64_t percentile(const struct cmt_out *o, double p)
{
	uint64_t rank, cum = 0, v;
	unsigned int b;

	if (!o->lat_n)
		return 0;
	rank = (uint64_t)(p * (double)o->lat_n + 0.999999);
	if (rank < 1)
		rank = 1;
	for (b = 0; b < NBUCKETS; b++) {
		cum += o->hist[b];
		if (cum >= rank)
			break;
	}
	v = bucket_mid(b < NBUCKETS ? b : NBUCKETS - 1);
	if (v < o->lat_min)
		v = o->lat_min;
	if (v > o->lat_max)
		v = o->lat_max;
	return v;
}

static void put_ratio(struct cmt_out *o, uint64_t num, uint64_t den)
{
	uint64_t r;

	if (!den) {
		PUTS(o, "null");
		return;
	}
	/* six decimals, rounded */
	r = (uint64_t)(((long double)num * 1000000.0L) / den + 0.5L);
	put_u64(o, r / 1000000);
	PUTS(o, ".");
	{
		char d[6];
		uint64_t f = r % 1000000;
		int i;

		for (i = 5; i >= 0; i--, f /= 10)
			d[i] = (char)('0' + f % 10);
		put(o, d, 6);
	}
}

static void put_tally(struct cmt_out *o, const struct tally *t)
{
	int i;

	PUTS(o, "{");
	for (i = 0; i < t->n; i++) {
		if (i)
			PUTS(o, ",");
		put_jstr(o, t->key[i]);
		PUTS(o, ":");
		put_u64(o, t->val[i]);
	}
	if (t->other) {
		if (t->n)
			PUTS(o, ",");
		PUTS(o, "\"other\":");
		put_u64(o, t->other);
	}
	PUTS(o, "}");
}

static void summary_json(struct cmt_out *o, const struct cmt_counts *cnt,
			 const char *source)
{
	uint64_t total = o->ok + o->nfailed + o->unfinished;
	int k;

	PUTS(o, "{\"schema\":\"" CMT_SCHEMA "\",\"type\":\"summary\","
		"\"source\":");
	put_jstr(o, source);
	PUTS(o, ",\"allocations\":");
	put_u64(o, total);
	PUTS(o, ",\"ok\":");
	put_u64(o, o->ok);
	PUTS(o, ",\"failed\":");
	put_u64(o, o->nfailed);
	PUTS(o, ",\"unfinished\":");
	put_u64(o, o->unfinished);
	PUTS(o, ",\"success_rate\":");
	put_ratio(o, o->ok, o->ok + o->nfailed);
	PUTS(o, ",\"latency_ns\":{\"count\":");
	put_u64(o, o->lat_n);
	if (o->lat_n) {
		PUTS(o, ",\"min\":");
		put_u64(o, o->lat_min);
		PUTS(o, ",\"p50\":");
		put_u64(o, percentile(o, 0.50));
		PUTS(o, ",\"p90\":");
		put_u64(o, percentile(o, 0.90));
		PUTS(o, ",\"p99\":");
		put_u64(o, percentile(o, 0.99));
		PUTS(o, ",\"max\":");
		put_u64(o, o->lat_max);
		PUTS(o, ",\"mean\":");
		put_ratio(o, (uint64_t)o->lat_sum, o->lat_n);
	}
	PUTS(o, "},\"failures_by_errno\":");
	put_tally(o, &o->by_errno);
	PUTS(o, ",\"failures_by_reason\":");
	put_tally(o, &o->by_reason);
	PUTS(o, ",\"retries\":");
	put_u64(o, o->retries);
	PUTS(o, ",\"pages_requested\":");
	put_u64(o, o->pages_requested);
	PUTS(o, ",\"pages_allocated\":");
	put_u64(o, o->pages_allocated);
	PUTS(o, ",\"events\":{");
	for (k = CMT_K_NONE + 1; k < CMT_K_NR; k++) {
		if (k > CMT_K_NONE + 1)
			PUTS(o, ",");
		put_jstr(o, cmt_kind_name(k));
		PUTS(o, ":");
		put_u64(o, cnt->events[k]);
	}
	PUTS(o, "},\"events_total\":");
	put_u64(o, cnt->events_total);
	PUTS(o, ",\"missed_events\":");
	put_u64(o, cnt->missed_events);
	PUTS(o, ",\"missed_unknown\":");
	put_u64(o, cnt->missed_unknown);
	PUTS(o, ",\"unrelated_events\":");
	put_u64(o, cnt->unrelated);
	PUTS(o, ",\"incomplete\":");
	put_u64(o, o->incomplete);
	PUTS(o, "}\n");
}

static void put_line_u64(struct cmt_out *o, const char *label, uint64_t v)
{
	put(o, label, strlen(label));
	put_u64(o, v);
	PUTS(o, "\n");
}

static void put_ns(struct cmt_out *o, const char *label, uint64_t ns)
{
	put(o, label, strlen(label));
	put_u64(o, ns / 1000);
	PUTS(o, ".");
	{
		char d[3] = { (char)('0' + ns / 100 % 10),
			      (char)('0' + ns / 10 % 10),
			      (char)('0' + ns % 10) };

		put(o, d, 3);
	}
	PUTS(o, " us\n");
}

static void summary_text(struct cmt_out *o, const struct cmt_counts *cnt)
{
	uint64_t total = o->ok + o->nfailed + o->unfinished;
	int i;

	put_line_u64(o, "allocations:      ", total);
	put_line_u64(o, "  ok:             ", o->ok);
	put_line_u64(o, "  failed:         ", o->nfailed);
	put_line_u64(o, "  unfinished:     ", o->unfinished);
	PUTS(o, "success rate:     ");
	put_ratio(o, o->ok, o->ok + o->nfailed);
	PUTS(o, "\n");
	if (o->lat_n) {
		put_ns(o, "latency p50:      ", percentile(o, 0.50));
		put_ns(o, "latency p90:      ", percentile(o, 0.90));
		put_ns(o, "latency p99:      ", percentile(o, 0.99));
		put_ns(o, "latency max:      ", o->lat_max);
	}
	put_line_u64(o, "busy retries:     ", o->retries);
	for (i = 0; i < o->by_errno.n; i++) {
		PUTS(o, "failures ");
		put(o, o->by_errno.key[i], strlen(o->by_errno.key[i]));
		PUTS(o, ": ");
		put_u64(o, o->by_errno.val[i]);
		PUTS(o, "\n");
	}
	for (i = 0; i < o->by_reason.n; i++) {
		PUTS(o, "failures blocked by ");
		put(o, o->by_reason.key[i], strlen(o->by_reason.key[i]));
		PUTS(o, ": ");
		put_u64(o, o->by_reason.val[i]);
		PUTS(o, "\n");
	}
	put_line_u64(o, "events:           ", cnt->events_total);
	put_line_u64(o, "missed events:    ", cnt->missed_events);
	if (cnt->missed_unknown)
		put_line_u64(o, "lost (unknown n): ", cnt->missed_unknown);
	put_line_u64(o, "incomplete:       ", o->incomplete);
}

bool cmt_out_finish(struct cmt_out *o, const struct cmt_counts *cnt)
{
	if (o->fmt == CMT_FMT_SUMMARY)
		summary_text(o, cnt);
	else if (o->fmt == CMT_FMT_CSV && o->seq == 0)
		csv_header(o);
	return cmt_out_flush(o);
}

bool cmt_out_summary_json(struct cmt_out *o, const struct cmt_counts *cnt,
			  const char *source, int fd)
{
	int saved = o->fd;
	bool ok;

	if (!cmt_out_flush(o))
		return false;
	o->fd = fd;
	summary_json(o, cnt, source);
	ok = cmt_out_flush(o);
	o->fd = saved;
	return ok;
}
