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
#include "common.bpf.h"

#define EBUSY 16

const volatile struct tp_field f_start_name = {};
const volatile struct tp_field f_start_count = {};
const volatile struct tp_field f_start_align = {};
const volatile struct tp_field f_fin_name = {};
const volatile struct tp_field f_fin_count = {};
const volatile struct tp_field f_fin_align = {};
const volatile struct tp_field f_fin_page = {};
const volatile struct tp_field f_fin_errorno = {};
const volatile struct tp_field f_fin_retries = {};
const volatile struct tp_field f_fin_elapsed = {};
const volatile struct tp_field f_retry_pfn = {};
const volatile struct tp_field f_retry_page = {};
const volatile struct tp_field f_retry_count = {};
/* cma_busy_page (the series) */
const volatile struct tp_field f_busy_start = {};
const volatile struct tp_field f_busy_end = {};
const volatile struct tp_field f_busy_pfn = {};
const volatile struct tp_field f_busy_stage = {};
const volatile struct tp_field f_busy_reason = {};
const volatile struct tp_field f_busy_refcount = {};
const volatile struct tp_field f_busy_mapcount = {};
const volatile struct tp_field f_busy_lru = {};
const volatile struct tp_field f_busy_anon = {};
const volatile struct tp_field f_busy_file = {};
const volatile struct tp_field f_busy_shmem = {};
const volatile struct tp_field f_busy_dirty = {};
const volatile struct tp_field f_busy_writeback = {};
const volatile struct tp_field f_busy_locked = {};
const volatile struct tp_field f_busy_migratetype = {};
/* cma_range_test (the series) or page_isolation:test_pages_isolated */
const volatile struct tp_field f_test_start = {};
const volatile struct tp_field f_test_end = {};
const volatile struct tp_field f_test_failed = {};
const volatile bool test_is_stock =
	false; /* fin_pfn == end_pfn means success */

const volatile bool use_event_result = false; /* errorno, retries, elapsed_ns */
const volatile bool report_retried = true;
const volatile bool want_stack = true;
const volatile bool count_ebusy = false; /* no cma_alloc_busy_retry event */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* records the ring buffer had no room for */
__u64 lost = 0;

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
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		goto out;
	}
	bpf_probe_read_kernel(&e->info, sizeof(e->info), s);
	e->stack_len =
		want_stack ? bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0) :
			     0;
	bpf_ringbuf_submit(e, 0);
out:
	end_alloc();
}

/* ---- the cma:* events ----------------------------------------------------- */

SEC("tracepoint/cma/cma_alloc_start")
int tp_alloc_start(void *ctx)
{
	struct fail_info *s = begin();

	if (!s)
		return TP_PASS;
	s->count = tp_read(ctx, &f_start_count);
	s->align = tp_read(ctx, &f_start_align);
	tp_read_str(ctx, &f_start_name, s->area, sizeof(s->area));
	return TP_PASS;
}

/* Stock kernels only: the state of the page test_pages_isolated stopped at. */
static __always_inline void read_page_state(struct fail_info *s,
					    struct page *page)
{
	unsigned long flags = BPF_CORE_READ(page, flags);
	unsigned long mapping = (unsigned long)BPF_CORE_READ(page, mapping);
	__u32 st = 0;

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
	pfn = tp_read(ctx, &f_retry_pfn);
	s->range_start = pfn;
	s->range_end = pfn + tp_read(ctx, &f_retry_count);
	/*
	 * Stock 6.1 says nothing about the blocking page: find its struct page
	 * from the range's first one (the memmap is virtually contiguous with
	 * SPARSEMEM_VMEMMAP) and read its state ourselves.
	 */
	if (s->busy_src == BUSY_TEST && !s->has_state && s->busy_pfn >= pfn &&
	    s->busy_pfn < s->range_end) {
		page = tp_read(ctx, &f_retry_page);
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
	int err = (int)tp_read(ctx, &f_fin_errorno);
	__u32 retries = tp_read(ctx, &f_fin_retries);

	if (!s) {
		if (!err && !(retries && report_retried))
			return;
		s = begin();
		if (!s)
			return;
	}
	s->count = tp_read(ctx, &f_fin_count);
	s->align = tp_read(ctx, &f_fin_align);
	tp_read_str(ctx, &f_fin_name, s->area, sizeof(s->area));
	finish(ctx, s, err, retries, tp_read(ctx, &f_fin_elapsed));
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
	if (use_event_result) {
		finish(ctx, s, (int)tp_read(ctx, &f_fin_errorno),
		       tp_read(ctx, &f_fin_retries),
		       tp_read(ctx, &f_fin_elapsed));
		return TP_PASS;
	}
	err = tp_read(ctx, &f_fin_page) ? 0 : s->last_ret;
	finish(ctx, s, err ? err : (tp_read(ctx, &f_fin_page) ? 0 : -ENOMEM),
	       s->busy_attempts, bpf_ktime_get_ns() - s->ts_ns);
	return TP_PASS;
}

/* The series: the page that blocked the range, with the kernel's verdict. */
SEC("tracepoint/cma/cma_busy_page")
int tp_busy_page(void *ctx)
{
	struct fail_info *s = current_or_begin();
	__u32 st = 0;

	if (!s)
		return TP_PASS;
	s->nr_busy++;
	s->busy_src = BUSY_EVENT;
	s->busy_pfn = tp_read(ctx, &f_busy_pfn);
	s->range_start = tp_read(ctx, &f_busy_start);
	s->range_end = tp_read(ctx, &f_busy_end);
	if (f_busy_reason.flags & TPF_DATA_LOC)
		tp_read_str(ctx, &f_busy_reason, s->reason_str,
			    sizeof(s->reason_str));
	else
		s->reason = tp_read(ctx, &f_busy_reason);
	if (f_busy_stage.flags & TPF_DATA_LOC)
		tp_read_str(ctx, &f_busy_stage, s->stage_str,
			    sizeof(s->stage_str));
	else
		s->stage = tp_read(ctx, &f_busy_stage);
	s->refcount = tp_read(ctx, &f_busy_refcount);
	s->mapcount = tp_read(ctx, &f_busy_mapcount);
	st |= tp_read(ctx, &f_busy_lru) ? PS_LRU : 0;
	st |= tp_read(ctx, &f_busy_anon) ? PS_ANON : 0;
	st |= tp_read(ctx, &f_busy_file) ? PS_FILE : 0;
	st |= tp_read(ctx, &f_busy_shmem) ? PS_SHMEM : 0;
	st |= tp_read(ctx, &f_busy_dirty) ? PS_DIRTY : 0;
	st |= tp_read(ctx, &f_busy_writeback) ? PS_WRITEBACK : 0;
	st |= tp_read(ctx, &f_busy_locked) ? PS_LOCKED : 0;
	s->state = st;
	s->migratetype = tp_read(ctx, &f_busy_migratetype);
	s->has_state = 1;
	return TP_PASS;
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
	__u64 end = tp_read(ctx, &f_test_end);
	__u64 failed = tp_read(ctx, &f_test_failed);

	if (test_is_stock ? failed >= end : !failed)
		return 0;
	return test_failed(tp_read(ctx, &f_test_start), end, failed);
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

static __always_inline void note_ret(int ret)
{
	struct fail_info *s = current_alloc();

	if (!s)
		return;
	s->last_ret = ret;
	if (ret == -EBUSY && count_ebusy)
		s->busy_attempts++;
}

static __always_inline void fn_enter(void *cma, unsigned long count,
				     unsigned int align)
{
	struct fail_info *s = begin();

	if (!s)
		return;
	s->count = count;
	s->align = align;
	cma_name(cma, s->area, sizeof(s->area));
}

static __always_inline void fn_exit(void *ctx, struct page *page)
{
	struct fail_info *s = current_alloc();
	int err;

	if (!s)
		return;
	err = page ? 0 : s->last_ret;
	if (!s->count)
		err = 0; /* an early return, not an allocation */
	finish(ctx, s, err, s->busy_attempts, bpf_ktime_get_ns() - s->ts_ns);
}

char LICENSE[] SEC("license") = "GPL";
