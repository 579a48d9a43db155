// SPDX-License-Identifier: GPL-2.0
/*
 * cmamigrate: the cost inside alloc_contig_range() per CMA allocation:
 * pages migrated and time per phase (isolate, drain, migrate, test).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cmamigrate.h"
#define INFLIGHT struct mig_info
#define WANT_EVENTS
#include "common.bpf.h"

/* cma_range_* (the series): one elapsed_ns per phase */
const volatile struct tp_field f_ph_elapsed[NR_PHASES] = {};
const volatile struct mig_fields f_mig = {};
const volatile struct mm_fields f_mm = {};

const volatile unsigned int unit_div = 1000;
const volatile bool want_records = false;

MAP(hists, BPF_MAP_TYPE_HASH, 1024, struct mig_key, struct mig_hists);
/* new histograms, zeroed but for their area's name */
MAP(hist_init, BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, struct mig_hists);

static __always_inline void hist_add(struct mig_hist *h, __u64 v)
{
	__sync_fetch_and_add(&h->slots[log2_slot(v)], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum, v);
}

static __always_inline void init_alloc(struct mig_info *s, __u64 id)
{
	/* stock kernels: an allocation is timed from cma_alloc_start */
	if (!(af.fin_elapsed.flags & TPF_PRESENT))
		s->ts_ns = bpf_ktime_get_ns();
	s->pid = (__u32)id;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
}

/*
 * The allocation of s ended: account it, and forget it. @name: the
 * kernel's string of the area's name (tp_btf), else NULL for s->area.
 */
static __always_inline void done(struct mig_info *s, const char *name)
{
	struct mig_key key = { name ? (__u64)name : area_hash(s->area) };
	struct mig_hists *h;
	struct mig_info *e;
	int i;

	/* allocations that never reached alloc_contig_range() cost nothing here */
	if (s->ranges) {
		h = area_entry(&hists, &key, &hist_init, name ? name : s->area,
			       name != NULL);
		if (h) {
			hist_add(&h->h[H_PAGES_MIGRATED], s->nr_migrated);
			for (i = 0; i < NR_PHASES; i++)
				hist_add(&h->h[H_ISOLATE + i],
					 s->phase_ns[i] / unit_div);
			hist_add(&h->h[H_TOTAL], s->elapsed_ns / unit_div);
		}
		if (want_records) {
			if (name)
				bpf_probe_read_kernel_str(
					s->area, sizeof(s->area), name);
			e = event_reserve(sizeof(*e));
			if (e) {
				bpf_probe_read_kernel(e, sizeof(*e), s);
				bpf_ringbuf_submit(e, 0);
			}
		}
	}
	end_alloc();
}

SEC("tracepoint/cma/cma_alloc_finish")
int tp_alloc_finish(void *ctx)
{
	struct mig_info *s = current_alloc();

	if (!s)
		return TP_PASS;
	if (af.fin_elapsed.flags & TPF_PRESENT) {
		/* the series: the allocation began with its first phase event */
		s->elapsed_ns = tp_read(ctx, &af.fin_elapsed);
		s->count = tp_read(ctx, &af.fin_count);
		tp_read_str(ctx, &af.fin_name, s->area, sizeof(s->area));
	} else {
		s->elapsed_ns = bpf_ktime_get_ns() - s->ts_ns;
	}
	s->ok = tp_read(ctx, &af.fin_page) != 0;
	done(s, NULL);
	return TP_PASS;
}

/* ---- the series' per-phase events -------------------------------------- */

/*
 * The series' phase events: the first one of an allocation creates its
 * state, so nothing runs at cma_alloc_start and no clock is read.
 */
static __always_inline struct mig_info *phase(int ph, __u64 elapsed)
{
	struct mig_info *s = current_alloc();

	if (!s)
		s = begin();
	if (!s || ph < 0 || ph >= NR_PHASES)
		return NULL;
	if (ph == PH_ISOLATE)
		s->ranges++;
	s->phase_ns[ph] += elapsed;
	return s;
}

static __always_inline int on_phase(void *ctx, int ph)
{
	struct mig_info *s = phase(ph, tp_read(ctx, &f_ph_elapsed[ph & 3]));

	if (s && ph == PH_MIGRATE) {
		s->nr_attempted += tp_read(ctx, &f_mig.attempted);
		s->nr_migrated += tp_read(ctx, &f_mig.migrated);
		s->nr_reclaimed += tp_read(ctx, &f_mig.reclaimed);
		s->nr_failed += tp_read(ctx, &f_mig.failed);
		s->passes += tp_read(ctx, &f_mig.passes);
	}
	return 0;
}

/* The series' cma_range_<phase> event of each phase: tp_range_<phase> */
#define RANGE_EVENT(name, ph)                  \
	SEC("tracepoint/cma/cma_range_" #name) \
	int tp_range_##name(void *ctx)         \
	{                                      \
		on_phase(ctx, ph);             \
		return TP_PASS;                \
	}

RANGE_EVENT(isolate, PH_ISOLATE)
RANGE_EVENT(drain, PH_DRAIN)
RANGE_EVENT(migrate, PH_MIGRATE)
RANGE_EVENT(test, PH_TEST)

/* The same events as BTF raw tracepoints: arguments, no record. */
SEC("tp_btf/cma_range_isolate")
int BPF_PROG(btf_range_isolate, unsigned long start, unsigned long end,
	     __u64 elapsed, int ret)
{
	phase(PH_ISOLATE, elapsed);
	return 0;
}

SEC("tp_btf/cma_range_drain")
int BPF_PROG(btf_range_drain, unsigned long start, unsigned long end,
	     __u64 elapsed)
{
	phase(PH_DRAIN, elapsed);
	return 0;
}

SEC("tp_btf/cma_range_migrate")
int BPF_PROG(btf_range_migrate, unsigned long start, unsigned long end,
	     __u64 elapsed, int ret, unsigned long nr_attempted,
	     unsigned long nr_migrated, unsigned long nr_reclaimed,
	     unsigned long nr_failed, unsigned int passes)
{
	struct mig_info *s = phase(PH_MIGRATE, elapsed);

	if (s) {
		s->nr_attempted += nr_attempted;
		s->nr_migrated += nr_migrated;
		s->nr_reclaimed += nr_reclaimed;
		s->nr_failed += nr_failed;
		s->passes += passes;
	}
	return 0;
}

SEC("tp_btf/cma_range_test")
int BPF_PROG(btf_range_test, unsigned long start, unsigned long end,
	     __u64 elapsed, int ret, unsigned long failed_pfn)
{
	phase(PH_TEST, elapsed);
	return 0;
}

SEC("tp_btf/cma_alloc_finish")
int BPF_PROG(btf_alloc_finish, const char *name, unsigned long pfn,
	     const void *page, unsigned long count, unsigned int align,
	     int errorno, unsigned int retries, __u64 elapsed_ns)
{
	struct mig_info *s = current_alloc();

	if (!s)
		return 0;
	s->elapsed_ns = elapsed_ns;
	s->count = count;
	s->ok = page != 0;
	done(s, name);
	return 0;
}

/* ---- stock 6.1: migrate_pages() results and the phase functions ---------- */

SEC("tracepoint/migrate/mm_migrate_pages")
int tp_mm_migrate_pages(void *ctx)
{
	struct mig_info *s = current_alloc();

	if (!s)
		return TP_PASS;
	if (tp_read(ctx, &f_mm.reason) !=
	    bpf_core_enum_value(enum migrate_reason, MR_CONTIG_RANGE))
		return TP_PASS;
	s->nr_migrated += tp_read(ctx, &f_mm.succeeded);
	s->nr_failed += tp_read(ctx, &f_mm.failed);
	s->nr_attempted +=
		tp_read(ctx, &f_mm.succeeded) + tp_read(ctx, &f_mm.failed);
	s->passes++;
	return TP_PASS;
}

static __always_inline void fn_begin(int ph)
{
	struct mig_info *s = current_alloc();

	if (!s || ph < 0 || ph >= NR_PHASES)
		return;
	if (ph == PH_ISOLATE)
		s->ranges++;
	s->phase_start[ph] = bpf_ktime_get_ns();
}

static __always_inline void fn_end(int ph)
{
	struct mig_info *s = current_alloc();

	if (!s || ph < 0 || ph >= NR_PHASES || !s->phase_start[ph])
		return;
	s->phase_ns[ph] += bpf_ktime_get_ns() - s->phase_start[ph];
	s->phase_start[ph] = 0;
}

/* fentry_<name> and fexit_<name>: the time in the function of a phase */
#define PHASE_FUNC(name, func, ph)  \
	SEC("fentry/" #func)        \
	int BPF_PROG(fentry_##name) \
	{                           \
		fn_begin(ph);       \
		return 0;           \
	}                           \
	SEC("fexit/" #func)         \
	int BPF_PROG(fexit_##name)  \
	{                           \
		fn_end(ph);         \
		return 0;           \
	}

PHASE_FUNC(isolate, start_isolate_page_range, PH_ISOLATE)
PHASE_FUNC(drain, drain_all_pages, PH_DRAIN)
PHASE_FUNC(migrate, __alloc_contig_migrate_range, PH_MIGRATE)
PHASE_FUNC(test, test_pages_isolated, PH_TEST)

char LICENSE[] SEC("license") = "GPL";
