// SPDX-License-Identifier: GPL-2.0
/*
 * The summary of the records: counts, failures by errno and by reason, and
 * latency percentiles from a log-linear histogram, so memory stays fixed.
 * As text, or as the JSON summary document.
 */
#include "out.h"

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

void cmt_sum_account(struct cmt_out *o, const struct cmt_alloc *a)
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
	uint64_t q, r;

	if (!den) {
		PUTS(o, "null");
		return;
	}
	/* six decimals, rounded; the whole part apart, so nothing overflows */
	q = num / den;
	r = (uint64_t)(((long double)(num % den) * 1000000.0L) / den + 0.5L);
	if (r >= 1000000) {
		q++;
		r -= 1000000;
	}
	put_u64(o, q);
	PUTS(o, ".");
	{
		char d[6];
		uint64_t f = r;
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

static void put_line_u64(struct cmt_out *o, const char *label, uint64_t v)
{
	put(o, label, strlen(label));
	put_u64(o, v);
	PUTS(o, "\n");
}

/* The counts both summaries begin with, as JSON members or text lines */
static void put_counts(struct cmt_out *o, bool json)
{
	const struct {
		const char *key, *label;
		uint64_t v;
	} c[] = {
		{ ",\"allocations\":", "allocations:      ",
		  o->ok + o->nfailed + o->unfinished },
		{ ",\"ok\":", "  ok:             ", o->ok },
		{ ",\"failed\":", "  failed:         ", o->nfailed },
		{ ",\"unfinished\":", "  unfinished:     ", o->unfinished },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		if (json)
			put_key_u64(o, c[i].key, c[i].v);
		else
			put_line_u64(o, c[i].label, c[i].v);
	if (json)
		PUTS(o, ",\"success_rate\":");
	else
		PUTS(o, "success rate:     ");
	put_ratio(o, o->ok, o->ok + o->nfailed);
	if (!json)
		PUTS(o, "\n");
}

static void summary_json(struct cmt_out *o, const struct cmt_counts *cnt,
			 const char *source)
{
	int k;

	PUTS(o, "{\"schema\":\"" CMT_SCHEMA "\",\"type\":\"summary\","
		"\"source\":");
	put_jstr(o, source);
	put_counts(o, true);
	PUTS(o, ",\"latency_ns\":{\"count\":");
	put_u64(o, o->lat_n);
	if (o->lat_n) {
		put_key_u64(o, ",\"min\":", o->lat_min);
		put_key_u64(o, ",\"p50\":", percentile(o, 0.50));
		put_key_u64(o, ",\"p90\":", percentile(o, 0.90));
		put_key_u64(o, ",\"p99\":", percentile(o, 0.99));
		put_key_u64(o, ",\"max\":", o->lat_max);
		PUTS(o, ",\"mean\":");
		/* a sum past 2^64 (latencies of centuries: a corrupt
		 * trace) keeps only the whole part of its mean */
		if (o->lat_sum < 18446744073709551616.0L)
			put_ratio(o, (uint64_t)o->lat_sum, o->lat_n);
		else
			put_ratio(o, (uint64_t)(o->lat_sum / o->lat_n), 1);
	}
	PUTS(o, "},\"failures_by_errno\":");
	put_tally(o, &o->by_errno);
	PUTS(o, ",\"failures_by_reason\":");
	put_tally(o, &o->by_reason);
	put_key_u64(o, ",\"retries\":", o->retries);
	put_key_u64(o, ",\"pages_requested\":", o->pages_requested);
	put_key_u64(o, ",\"pages_allocated\":", o->pages_allocated);
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
	put_key_u64(o, ",\"missed_events\":", cnt->missed_events);
	put_key_u64(o, ",\"missed_unknown\":", cnt->missed_unknown);
	put_key_u64(o, ",\"unrelated_events\":", cnt->unrelated);
	put_key_u64(o, ",\"incomplete\":", o->incomplete);
	PUTS(o, "}\n");
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

/* A line "@label<key>: <count>" per key of @t */
static void put_tally_text(struct cmt_out *o, const char *label,
			   const struct tally *t)
{
	int i;

	for (i = 0; i < t->n; i++) {
		put(o, label, strlen(label));
		put(o, t->key[i], strlen(t->key[i]));
		PUTS(o, ": ");
		put_u64(o, t->val[i]);
		PUTS(o, "\n");
	}
}

void cmt_sum_text(struct cmt_out *o, const struct cmt_counts *cnt)
{
	put_counts(o, false);
	if (o->lat_n) {
		put_ns(o, "latency p50:      ", percentile(o, 0.50));
		put_ns(o, "latency p90:      ", percentile(o, 0.90));
		put_ns(o, "latency p99:      ", percentile(o, 0.99));
		put_ns(o, "latency max:      ", o->lat_max);
	}
	put_line_u64(o, "busy retries:     ", o->retries);
	put_tally_text(o, "failures ", &o->by_errno);
	put_tally_text(o, "failures blocked by ", &o->by_reason);
	put_line_u64(o, "events:           ", cnt->events_total);
	put_line_u64(o, "missed events:    ", cnt->missed_events);
	if (cnt->missed_unknown)
		put_line_u64(o, "lost (unknown n): ", cnt->missed_unknown);
	put_line_u64(o, "incomplete:       ", o->incomplete);
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
