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

const volatile bool use_event_timing = false; /* elapsed_ns + errorno */
const volatile unsigned int unit_div = 1000; /* ns per unit */

struct inflight {
	__u64 ts;
	__u64 count;
	__u32 align;
	__s32 last_ret; /* last alloc_contig_range() result */
	__u32 retries;
	char area[CMA_NAME_LEN];
};

#define INFLIGHT struct inflight
#define WANT_ACR_RESULT
#define WANT_CMA_ALLOC_PROGS
#include "common.bpf.h"

MAP(hists, BPF_MAP_TYPE_HASH, 4096, struct hist_key, struct hist);
/* a new histogram, zeroed but for its area's name */
MAP(hist_init, BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct hist);

/*
 * An allocation of @count pages from the area @id, named @name (a kernel
 * string with @kernel_str), ended with @err after @ns.
 */
static __always_inline void account(__u64 id, const char *name, bool kernel_str,
				    __u64 count, int err, __u64 ns,
				    __u32 retries)
{
	struct hist_key key = { id, log2_u64(count), err };
	struct hist *h = area_entry(&hists, &key, &hist_init, name, kernel_str);
	__u64 v;

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
	struct inflight *s;
	__u64 page;
	int err;

	if (!traced())
		return TP_PASS;
	if (use_event_timing) {
		/* The series' cma_alloc_finish carries all we need. */
		s = scratch_state();
		if (!s)
			return TP_PASS;
		tp_read_str(ctx, &af.fin_name, s->area, sizeof(s->area));
		account(area_hash(s->area), s->area, false,
			tp_read(ctx, &af.fin_count),
			(int)tp_read(ctx, &af.fin_errorno),
			tp_read(ctx, &af.fin_elapsed),
			(__u32)tp_read(ctx, &af.fin_retries));
		return TP_PASS;
	}
	/* Stock 6.1: time from cma_alloc_start, error from alloc_contig_range. */
	s = current_alloc();
	if (!s)
		return TP_PASS;
	page = tp_read(ctx, &af.fin_page);
	err = page ? 0 : s->last_ret;
	if (!page && !err)
		err = -ENOMEM;
	account(area_hash(s->area), s->area, false, s->count, err,
		bpf_ktime_get_ns() - s->ts, s->retries);
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
	if (traced())
		account((__u64)name, name, true, count, errorno, elapsed_ns,
			retries);
	return 0;
}

/* ---- stock error codes and the no-events paths --------------------------- */

static __always_inline void note_ret(struct inflight *s, int ret)
{
}

static __always_inline void fn_exit(void *ctx, struct inflight *s,
				    struct page *page)
{
	/* cma_alloc() returns early without tracing a zero count */
	if (s->count)
		account(area_hash(s->area), s->area, false, s->count,
			page ? 0 : s->last_ret, bpf_ktime_get_ns() - s->ts,
			s->retries);
	end_alloc();
}

char LICENSE[] SEC("license") = "GPL";
