// SPDX-License-Identifier: GPL-2.0
/*
 * cmafail: one record per failed or retried CMA allocation, with the page
 * that blocked it. The loader picks one path (common.h) and disables the
 * programs of the others.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cmafail.h"
#define INFLIGHT struct fail_info
#define WANT_ACR_RESULT
#define WANT_CMA_ALLOC_PROGS
#define WANT_EVENTS
#include "common.bpf.h"

#define EBUSY 16

const volatile struct retry_fields f_retry = {};
const volatile struct busy_fields f_busy = {};
const volatile struct test_fields f_test = {};
const volatile bool test_is_stock =
	false; /* fin_pfn == end_pfn means success */

const volatile bool use_event_result = false; /* errorno, retries, elapsed_ns */
const volatile bool report_retried = true;
const volatile bool want_stack = true;
const volatile bool count_ebusy = false; /* no cma_alloc_busy_retry event */

static __always_inline void init_alloc(struct fail_info *s, __u64 id)
{
	/* the series reports elapsed_ns: no clock read on that path */
	if (!use_event_result)
		s->ts_ns = bpf_ktime_get_ns();
	s->last_ret = -ENOMEM;
	s->reason = -1;
	s->stage = -1;
	s->pid = (__u32)id;
	s->tgid = id >> 32;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
}

/* Patched path: the allocation's state, created at its first busy page. */
static __always_inline struct fail_info *current_or_begin(void)
{
	struct fail_info *s = current_alloc();

	if (s || !use_event_result)
		return s;
	return begin();
}

/* Emit the record of the allocation in s if it failed or was retried. */
static __always_inline void finish(void *ctx, struct fail_info *s, int err,
				   __u32 retries, __u64 elapsed)
{
	struct fail_event *e;

	s->err = err;
	s->retries = retries;
	s->elapsed_ns = elapsed;
	if (!err && !(retries && report_retried))
		goto out;
	if (use_event_result)
		s->ts_ns = bpf_ktime_get_ns() - elapsed;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	bpf_probe_read_kernel(&e->info, sizeof(e->info), s);
	e->stack_len =
		want_stack ? bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0) :
			     0;
	bpf_ringbuf_submit(e, 0);
out:
	end_alloc();
}

/* ---- the cma:* events ----------------------------------------------------- */

/* Stock kernels only: the state of the page test_pages_isolated stopped at. */
static __always_inline void read_page_state(struct fail_info *s,
					    struct page *page)
{
	/* read by size: newer kernels wrap the word in memdesc_flags_t */
	unsigned long flags = 0;
	unsigned long mapping = (unsigned long)BPF_CORE_READ(page, mapping);
	__u32 st = 0;

	bpf_core_read(&flags, sizeof(flags), &page->flags);
	s->refcount = BPF_CORE_READ(page, _refcount.counter);
	s->mapcount = BPF_CORE_READ(page, _mapcount.counter) + 1;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_lru)))
		st |= PS_LRU;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_dirty)))
		st |= PS_DIRTY;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_writeback)))
		st |= PS_WRITEBACK;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_locked)))
		st |= PS_LOCKED;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_private)))
		st |= PS_PRIVATE;
	/* PG_swapcache is PG_owner_priv_1 on swap-backed pages */
	if ((flags &
	     (1UL << bpf_core_enum_value(enum pageflags, PG_swapbacked))) &&
	    (flags &
	     (1UL << bpf_core_enum_value(enum pageflags, PG_owner_priv_1))))
		st |= PS_SWAPCACHE;
	if (mapping & 1) /* PAGE_MAPPING_ANON */
		st |= PS_ANON;
	else if (mapping)
		st |= PS_FILE;
	s->state = st;
	s->has_state = 1;
}

SEC("tracepoint/cma/cma_alloc_busy_retry")
int tp_busy_retry(void *ctx)
{
	struct fail_info *s = current_alloc();
	__u64 pfn, page;

	if (!s)
		return TP_PASS;
	s->busy_attempts++;
	pfn = tp_read(ctx, &f_retry.pfn);
	s->range_start = pfn;
	s->range_end = pfn + tp_read(ctx, &f_retry.count);
	/*
	 * Stock 6.1 says nothing about the blocking page: find its struct page
	 * from the range's first one (the memmap is virtually contiguous with
	 * SPARSEMEM_VMEMMAP) and read its state ourselves.
	 */
	if (s->busy_src == BUSY_TEST && !s->has_state && s->busy_pfn >= pfn &&
	    s->busy_pfn < s->range_end) {
		page = tp_read(ctx, &f_retry.page);
		if (page)
			read_page_state(
				s,
				(struct page *)(page +
						(s->busy_pfn - pfn) *
							bpf_core_type_size(
								struct page)));
	}
	return TP_PASS;
}

/*
 * The series' cma_alloc_finish carries the whole outcome, so on that path
 * nothing runs at cma_alloc_start: the state of an allocation exists only
 * once a busy page or a failed test was seen, and successful allocations
 * cost one lookup here.
 */
static __always_inline void finish_patched(void *ctx, struct fail_info *s)
{
	int err = (int)tp_read(ctx, &af.fin_errorno);
	__u32 retries = tp_read(ctx, &af.fin_retries);

	if (!s) {
		if (!err && !(retries && report_retried))
			return;
		s = begin();
		if (!s)
			return;
	}
	s->count = tp_read(ctx, &af.fin_count);
	s->align = tp_read(ctx, &af.fin_align);
	tp_read_str(ctx, &af.fin_name, s->area, sizeof(s->area));
	finish(ctx, s, err, retries, tp_read(ctx, &af.fin_elapsed));
}

SEC("tracepoint/cma/cma_alloc_finish")
int tp_alloc_finish(void *ctx)
{
	struct fail_info *s = current_alloc();
	int err;

	if (use_event_result) {
		finish_patched(ctx, s);
		return TP_PASS;
	}
	if (!s)
		return TP_PASS;
	err = tp_read(ctx, &af.fin_page) ? 0 :
	      s->last_ret		 ? s->last_ret :
					   -ENOMEM;
	finish(ctx, s, err, s->busy_attempts, bpf_ktime_get_ns() - s->ts_ns);
	return TP_PASS;
}

/* The series: the page that blocked the range, with the kernel's verdict. */
static __always_inline struct fail_info *busy_page(__u64 start, __u64 end,
						   __u64 pfn, int refcount,
						   int mapcount, __u32 state,
						   int migratetype)
{
	struct fail_info *s = current_or_begin();

	if (!s)
		return NULL;
	s->nr_busy++;
	s->busy_src = BUSY_EVENT;
	s->busy_pfn = pfn;
	s->range_start = start;
	s->range_end = end;
	s->refcount = refcount;
	s->mapcount = mapcount;
	s->state = state;
	s->migratetype = migratetype;
	s->has_state = 1;
	return s;
}

SEC("tracepoint/cma/cma_busy_page")
int tp_busy_page(void *ctx)
{
	__u32 st = 0;
	struct fail_info *s;

	if (f_busy.flags.flags & TPF_PRESENT) {
		/* v2 of the series: the CMA_BUSY_F_* bits, which are PS_*'s */
		st = tp_read(ctx, &f_busy.flags) &
		     (PS_LRU | PS_ANON | PS_FILE | PS_SHMEM | PS_DIRTY |
		      PS_WRITEBACK | PS_LOCKED);
	} else {
		st |= tp_read(ctx, &f_busy.lru) ? PS_LRU : 0;
		st |= tp_read(ctx, &f_busy.anon) ? PS_ANON : 0;
		st |= tp_read(ctx, &f_busy.file) ? PS_FILE : 0;
		st |= tp_read(ctx, &f_busy.shmem) ? PS_SHMEM : 0;
		st |= tp_read(ctx, &f_busy.dirty) ? PS_DIRTY : 0;
		st |= tp_read(ctx, &f_busy.writeback) ? PS_WRITEBACK : 0;
		st |= tp_read(ctx, &f_busy.locked) ? PS_LOCKED : 0;
	}
	s = busy_page(tp_read(ctx, &f_busy.start), tp_read(ctx, &f_busy.end),
		      tp_read(ctx, &f_busy.pfn), tp_read(ctx, &f_busy.refcount),
		      tp_read(ctx, &f_busy.mapcount), st,
		      tp_read(ctx, &f_busy.migratetype));
	if (!s)
		return TP_PASS;
	if (f_busy.reason.flags & TPF_DATA_LOC)
		tp_read_str(ctx, &f_busy.reason, s->reason_str,
			    sizeof(s->reason_str));
	else
		s->reason = tp_read(ctx, &f_busy.reason);
	if (f_busy.stage.flags & TPF_DATA_LOC)
		tp_read_str(ctx, &f_busy.stage, s->stage_str,
			    sizeof(s->stage_str));
	else
		s->stage = tp_read(ctx, &f_busy.stage);
	return TP_PASS;
}

/*
 * The same event as a BTF raw tracepoint: its arguments, no record. The
 * series' page flags (CMA_BUSY_F_*) are the bits of the record's flags (v1:
 * its lru ... locked fields), and cmafail.h's PS_* bits are those.
 */
SEC("tp_btf/cma_busy_page")
int BPF_PROG(btf_busy_page, unsigned long start, unsigned long end,
	     unsigned long pfn, int stage, int reason, int refcount,
	     int mapcount, unsigned int flags, int migratetype)
{
	struct fail_info *s =
		busy_page(start, end, pfn, refcount, mapcount,
			  flags & (PS_LRU | PS_ANON | PS_FILE | PS_SHMEM |
				   PS_DIRTY | PS_WRITEBACK | PS_LOCKED),
			  migratetype);

	if (s) {
		s->reason = reason;
		s->stage = stage;
	}
	return 0;
}

/* The final isolation test: where it stopped, if it failed. */
static __always_inline int test_failed(__u64 start, __u64 end, __u64 failed)
{
	struct fail_info *s = current_or_begin();

	if (!s)
		return 0;
	/* a cma_busy_page report for the same attempt says more */
	if (s->busy_src == BUSY_EVENT && s->busy_pfn == failed)
		return 0;
	s->busy_src = BUSY_TEST;
	s->busy_pfn = failed;
	s->range_start = start;
	s->range_end = end;
	s->has_state = 0;
	s->reason = -1;
	s->reason_str[0] = '\0';
	return 0;
}

static __always_inline int on_test(void *ctx)
{
	__u64 end = tp_read(ctx, &f_test.end);
	__u64 failed = tp_read(ctx, &f_test.failed);

	if (test_is_stock ? failed >= end : !failed)
		return 0;
	return test_failed(tp_read(ctx, &f_test.start), end, failed);
}

SEC("tracepoint/cma/cma_range_test")
int tp_range_test(void *ctx)
{
	on_test(ctx);
	return TP_PASS;
}

SEC("tracepoint/page_isolation/test_pages_isolated")
int tp_test_isolated(void *ctx)
{
	on_test(ctx);
	return TP_PASS;
}

/* The series' events as BTF raw tracepoints: arguments, no record. */
SEC("tp_btf/cma_range_test")
int BPF_PROG(btf_range_test, unsigned long start, unsigned long end,
	     __u64 elapsed, int ret, unsigned long failed_pfn)
{
	return ret ? test_failed(start, end, failed_pfn) : 0;
}

SEC("tp_btf/cma_alloc_finish")
int BPF_PROG(btf_alloc_finish, const char *name, unsigned long pfn,
	     const void *page, unsigned long count, unsigned int align,
	     int errorno, unsigned int retries, __u64 elapsed_ns)
{
	struct fail_info *s = current_alloc();

	if (!s) {
		if (!errorno && !(retries && report_retried))
			return 0;
		s = begin();
		if (!s)
			return 0;
	}
	s->count = count;
	s->align = align;
	bpf_probe_read_kernel_str(s->area, sizeof(s->area), name);
	finish(ctx, s, errorno, retries, elapsed_ns);
	return 0;
}

/* ---- stock error codes and the no-events paths ---------------------------- */

static __always_inline void note_ret(struct fail_info *s, int ret)
{
	if (ret == -EBUSY && count_ebusy)
		s->busy_attempts++;
}

static __always_inline void fn_exit(void *ctx, struct fail_info *s,
				    struct page *page)
{
	/* an early return (no count) is not an allocation */
	int err = page || !s->count ? 0 : s->last_ret;

	finish(ctx, s, err, s->busy_attempts, bpf_ktime_get_ns() - s->ts_ns);
}

char LICENSE[] SEC("license") = "GPL";
