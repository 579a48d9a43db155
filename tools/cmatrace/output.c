// SPDX-License-Identifier: GPL-2.0
/*
 * Records -> JSONL, CSV or a summary (summary.c). Text is built by hand
 * into one buffer and written in large blocks: no stdio, no printf per
 * field.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h" /* tools/lib: the escaping rule */
#include "out.h"

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

/* A JSON string literal, escaped by the lib's rule straight into the buffer. */
void put_jstr(struct cmt_out *o, const char *s)
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

static const char *status_name(enum cmt_status s)
{
	return s == CMT_OK ? "ok" : s == CMT_FAILED ? "failed" : "unfinished";
}

static const char *const miss_names[] = { "start", "finish", "lost_events",
					  "evicted" };

/* the event that named the blocker: its cmt_kind_name() */
static const char *blk_source(const struct cmt_alloc *a)
{
	static const enum cmt_kind src_kind[] = {
		[CMT_BLK_BUSY] = CMT_K_BUSY_PAGE,
		[CMT_BLK_TEST] = CMT_K_TEST,
		[CMT_BLK_ISOL] = CMT_K_TEST_ISOLATED,
	};

	if (a->blk_src == CMT_BLK_NONE || a->blk_src >= ARRAY_SIZE(src_kind))
		return NULL;
	return cmt_kind_name(src_kind[a->blk_src]);
}

static const char *comm_of(struct cmt_out *o, int pid)
{
	return o->comm ? o->comm(o->comm_ctx, pid) : NULL;
}

/* put_key_u64() of @v, or @key and null without @has */
static void put_opt_u64(struct cmt_out *o, const char *key, bool has,
			uint64_t v)
{
	put(o, key, strlen(key));
	if (has)
		put_u64(o, v);
	else
		PUTS(o, "null");
}

static void put_opt_i64(struct cmt_out *o, const char *key, bool has, int64_t v)
{
	put(o, key, strlen(key));
	if (has)
		put_i64(o, v);
	else
		PUTS(o, "null");
}

/* A CSV field: the comma before it, then @v, or nothing without @has */
static void put_csv_u64(struct cmt_out *o, bool has, uint64_t v)
{
	PUTS(o, ",");
	if (has)
		put_u64(o, v);
}

/* Both ends seen, in order: the allocation's latency is known */
static bool has_latency(const struct cmt_alloc *a)
{
	return a->has_start && a->has_finish && a->ts_finish >= a->ts_start;
}

static void put_busy(struct cmt_out *o, const struct cmt_busy *b, bool full)
{
	int i, n = 0;

	put_key_u64(o, "{\"pfn\":", b->pfn);
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
	put_key_u64(o, ",\"count\":", a->count);
	put_key_u64(o, ",\"align\":", a->align);
	if (a->has_area_pages) {
		put_key_u64(o, ",\"available_count\":", a->available);
		put_key_u64(o, ",\"total_count\":", a->total);
	}
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
	put_opt_u64(o, ",\"pfn\":", a->pfn_valid, a->pfn);
	put_opt_u64(o, ",\"ts_start_ns\":", a->has_start, a->ts_start);
	put_opt_u64(o, ",\"ts_finish_ns\":", a->has_finish, a->ts_finish);
	put_opt_u64(o, ",\"latency_ns\":", has_latency(a),
		    a->ts_finish - a->ts_start);
	put_opt_u64(o, ",\"kernel_elapsed_ns\":", a->has_kernel_elapsed,
		    a->kernel_elapsed);
	put_opt_i64(o, ",\"cpu_start\":", a->has_start, a->cpu_start);
	put_opt_i64(o, ",\"cpu_finish\":", a->has_finish, a->cpu_finish);
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
		put_key_u64(o, "{\"isolate_ns\":", a->isolate_ns);
		put_key_u64(o, ",\"drain_ns\":", a->drain_ns);
		put_key_u64(o, ",\"migrate_ns\":", a->migrate_ns);
		put_key_u64(o, ",\"test_ns\":", a->test_ns);
		put_key_u64(o, ",\"attempts\":", a->attempts);
		PUTS(o, "}");
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"migrate\":");
	if (a->has_migrate) {
		put_key_u64(o, "{\"attempted\":", a->attempted);
		put_key_u64(o, ",\"migrated\":", a->migrated);
		put_key_u64(o, ",\"reclaimed\":", a->reclaimed);
		put_key_u64(o, ",\"failed\":", a->nr_failed);
		put_key_u64(o, ",\"passes\":", a->passes);
		PUTS(o, "}");
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"mm_migrate\":{\"calls\":");
	put_u64(o, a->mm_calls);
	put_key_u64(o, ",\"succeeded\":", a->mm_succeeded);
	put_key_u64(o, ",\"failed\":", a->mm_failed);
	PUTS(o, "},\"isolation_tests\":{\"calls\":");
	put_u64(o, a->it_calls);
	put_key_u64(o, ",\"failed\":", a->it_failed);
	PUTS(o, "},\"blocking\":");
	if (a->blk_src == CMT_BLK_BUSY) {
		put_busy(o, &a->blk, true);
		PUTS(o, ",\"source\":\"cma_busy_page\"}");
	} else if (a->blk_src != CMT_BLK_NONE) {
		put_key_u64(o, "{\"pfn\":", a->blk.pfn);
		PUTS(o, ",\"source\":");
		put_jstr(o, blk_source(a));
		PUTS(o, ",\"reason\":\"unknown\"}");
	} else {
		PUTS(o, "null");
	}
	put_key_u64(o, ",\"busy_pages_total\":", a->busy_total);
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
	put_csv_u64(o, a->pfn_valid, a->pfn);
	put_csv_u64(o, a->has_start, a->ts_start);
	put_csv_u64(o, a->has_finish, a->ts_finish);
	put_csv_u64(o, has_latency(a), a->ts_finish - a->ts_start);
	put_csv_u64(o, a->has_kernel_elapsed, a->kernel_elapsed);
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

void cmt_out_alloc(void *ctx, const struct cmt_alloc *a)
{
	struct cmt_out *o = ctx;

	cmt_sum_account(o, a);
	if (o->fmt == CMT_FMT_JSONL)
		write_jsonl(o, a);
	else if (o->fmt == CMT_FMT_CSV)
		write_csv(o, a);
	o->seq++;
	if (o->len > BUF_HIGH)
		cmt_out_flush(o);
}

bool cmt_out_finish(struct cmt_out *o, const struct cmt_counts *cnt)
{
	if (o->fmt == CMT_FMT_SUMMARY)
		cmt_sum_text(o, cnt);
	else if (o->fmt == CMT_FMT_CSV && o->seq == 0)
		csv_header(o);
	return cmt_out_flush(o);
}
