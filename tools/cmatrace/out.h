/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the writers (output.c: records, summary.c: the summary): the
 * writer's state and its appenders into one large buffer.
 */
#ifndef CMT_OUT_H
#define CMT_OUT_H

#include <string.h>

#include "cmt.h"
#include "util.h" /* tools/lib: the errno table, ARRAY_SIZE() */

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

bool cmt_out_flush(struct cmt_out *o);

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

/* @key (a literal: the comma or brace before the name, the name, the colon), then @v */
static inline void put_key_u64(struct cmt_out *o, const char *key, uint64_t v)
{
	put(o, key, strlen(key));
	put_u64(o, v);
}

/* A JSON string literal, escaped by tools/lib's rule. */
void put_jstr(struct cmt_out *o, const char *s);

/* The kernel reports errors as negative codes; a positive value has no name. */
static inline const char *err_name(int64_t err)
{
	return err < 0 ? errno_name(err) : errno_num(err);
}

static inline const char *blk_reason(const struct cmt_alloc *a)
{
	if (a->blk_src == CMT_BLK_NONE)
		return NULL;
	if (a->blk_src == CMT_BLK_BUSY && a->blk.reason[0])
		return a->blk.reason;
	return "unknown";
}

/* summary.c: count a record, and write the summaries */
void cmt_sum_account(struct cmt_out *o, const struct cmt_alloc *a);
void cmt_sum_text(struct cmt_out *o, const struct cmt_counts *cnt);

#endif
