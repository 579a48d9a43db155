// SPDX-License-Identifier: GPL-2.0
/*
 * cmalat: log2 histograms of CMA allocation latency per area, size class
 * and error code. The loader picks one path (common.h, enum cma_path) and
 * disables the programs of the others.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cmalat.h"

/* cma_alloc_start */
const volatile struct tp_field f_start_name = {};
const volatile struct tp_field f_start_count = {};
/* cma_alloc_finish (stock fields, then the series' additions) */
const volatile struct tp_field f_fin_name = {};
const volatile struct tp_field f_fin_page = {};
const volatile struct tp_field f_fin_count = {};
const volatile struct tp_field f_fin_errorno = {};
const volatile struct tp_field f_fin_retries = {};
const volatile struct tp_field f_fin_elapsed = {};

const volatile bool use_event_timing = false; /* elapsed_ns + errorno */
const volatile unsigned int unit_div = 1000; /* ns per unit */

struct inflight {
	__u64 ts;
	__u64 count;
	__s32 last_ret; /* last alloc_contig_range() result */
	__u32 retries;
	char area[CMA_NAME_LEN];
};

#define INFLIGHT struct inflight
#define WANT_ACR_RESULT
#define WANT_CMA_ALLOC_PROGS
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static struct hist zero_hist;

static __always_inline bool traced(void)
{
	return !target_tgid ||
	       (bpf_get_current_pid_tgid() >> 32) == (__u32)target_tgid;
}

static __always_inline void account(const char *area, __u64 count, int err,
				    __u64 ns, __u32 retries)
{
	struct hist_key key = {};
	struct hist *h;
	__u64 v;

	__builtin_memcpy(key.area, area, sizeof(key.area));
	key.size_class = log2_u64(count);
	key.err = err;
	h = lookup_or_init(&hists, &key, &zero_hist);
	if (!h)
		return;
	v = ns / unit_div;
	__sync_fetch_and_add(&h->slots[log2_slot(v)], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	__sync_fetch_and_add(&h->retries, retries);
	if (ns > h->max_ns)
		h->max_ns = ns; /* racy but monotone enough for a maximum */
}

static __always_inline void init_alloc(struct inflight *s, __u64 id)
{
	s->ts = bpf_ktime_get_ns();
	s->last_ret = -ENOMEM;
}

/* ---- patched and stock paths: the cma:* trace events ------------------ */

SEC("tracepoint/cma/cma_alloc_start")
int tp_alloc_start(void *ctx)
{
	struct inflight *s = begin();

	if (!s)
		return TP_PASS;
	s->count = tp_read(ctx, &f_start_count);
	tp_read_str(ctx, &f_start_name, s->area, sizeof(s->area));
	return TP_PASS;
}

SEC("tracepoint/cma/cma_alloc_busy_retry")
int tp_busy_retry(void *ctx)
{
	struct inflight *s = current_alloc();

	if (s)
		s->retries++;
	return TP_PASS;
}

SEC("tracepoint/cma/cma_alloc_finish")
int tp_alloc_finish(void *ctx)
{
	__u32 zero = 0;
	struct inflight *s;
	__u64 page;
	int err;

	if (!traced())
		return TP_PASS;
	if (use_event_timing) {
		/* The series' cma_alloc_finish carries all we need. */
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (!s)
			return TP_PASS;
		tp_read_str(ctx, &f_fin_name, s->area, sizeof(s->area));
		account(s->area, tp_read(ctx, &f_fin_count),
			(int)tp_read(ctx, &f_fin_errorno),
			tp_read(ctx, &f_fin_elapsed),
			(__u32)tp_read(ctx, &f_fin_retries));
		return TP_PASS;
	}
	/* Stock 6.1: time from cma_alloc_start, error from alloc_contig_range. */
	s = current_alloc();
	if (!s)
		return TP_PASS;
	page = tp_read(ctx, &f_fin_page);
	err = page ? 0 : s->last_ret;
	if (!page && !err)
		err = -ENOMEM;
	account(s->area, s->count, err, bpf_ktime_get_ns() - s->ts, s->retries);
	end_alloc();
	return TP_PASS;
}

/*
 * The series' cma_alloc_finish as a BTF raw tracepoint: its arguments
 * directly, no record built. The loader uses it when the kernel's
 * TP_PROTO has these eight arguments.
 */
SEC("tp_btf/cma_alloc_finish")
int BPF_PROG(btf_alloc_finish, const char *name, unsigned long pfn,
	     const void *page, unsigned long count, unsigned int align,
	     int errorno, unsigned int retries, __u64 elapsed_ns)
{
	__u32 zero = 0;
	struct inflight *s;

	if (!traced())
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	bpf_probe_read_kernel_str(s->area, sizeof(s->area), name);
	account(s->area, count, errorno, elapsed_ns, retries);
	return 0;
}

/* ---- the error code on stock kernels ----------------------------------- */

static __always_inline void note_ret(int ret)
{
	struct inflight *s = current_alloc();

	if (s)
		s->last_ret = ret;
}

/* ---- no cma:* events: the function itself ------------------------------ */

static __always_inline void fn_enter(void *cma, unsigned long count,
				     unsigned int align)
{
	struct inflight *s = begin();

	if (!s)
		return;
	s->count = count;
	cma_name(cma, s->area, sizeof(s->area));
}

static __always_inline void fn_exit(void *ctx, struct page *page)
{
	struct inflight *s = current_alloc();
	int err;

	if (!s)
		return;
	/* cma_alloc() returns early without tracing a zero count */
	if (s->count) {
		err = page ? 0 : s->last_ret;
		account(s->area, s->count, err, bpf_ktime_get_ns() - s->ts,
			s->retries);
	}
	end_alloc();
}

char LICENSE[] SEC("license") = "GPL";
