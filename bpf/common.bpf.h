/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cmakit BPF programs: reading trace event fields
 * through the offsets the loader found in tracefs, log2 slots, and (for
 * the programs that define INFLIGHT) the per-thread state of the
 * allocation in progress and the programs on cma_alloc() and on the
 * function it takes a range with.
 */
#ifndef CMAKIT_COMMON_BPF_H
#define CMAKIT_COMMON_BPF_H

#include "common.h"

/*
 * Cross-building for arm64 with the types of an x86 kernel: the kprobe
 * argument macros need arm64's register layout (UAPI, stable).
 */
#if defined(__TARGET_ARCH_arm64) && defined(CMAKIT_FOREIGN_VMLINUX)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
#endif

/* For static analysers that do not read <bpf/bpf_helpers.h>. */
#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

/*
 * What a SEC("tracepoint/...") program returns. For tracepoints attached
 * through perf (kernel/trace/bpf_trace.c, perf_trace_run_bpf_submit()), 0
 * drops the event for every perf event on that tracepoint: perf stat -e
 * cma:cma_alloc_finish would count nothing while a tool runs. 1 lets it
 * through, so looking with cmakit never blinds perf. (tp_btf, fentry and
 * kprobe programs' return values do not filter anything.)
 */
#define TP_PASS 1

#ifndef ENOMEM
#define ENOMEM 12
#endif

/* Read an integer field of a raw trace event record; 0 when absent. */
static __always_inline __u64 tp_read(void *ctx,
				     const volatile struct tp_field *f)
{
	void *p = (char *)ctx + f->off;
	__u64 v = 0;

	if (!(f->flags & TPF_PRESENT))
		return 0;
	switch (f->size) {
	case 1: {
		__u8 x = 0;

		bpf_probe_read_kernel(&x, sizeof(x), p);
		v = (f->flags & TPF_SIGNED) ? (__u64)(__s64)(__s8)x : x;
		break;
	}
	case 2: {
		__u16 x = 0;

		bpf_probe_read_kernel(&x, sizeof(x), p);
		v = (f->flags & TPF_SIGNED) ? (__u64)(__s64)(__s16)x : x;
		break;
	}
	case 4: {
		__u32 x = 0;

		bpf_probe_read_kernel(&x, sizeof(x), p);
		v = (f->flags & TPF_SIGNED) ? (__u64)(__s64)(__s32)x : x;
		break;
	}
	default:
		bpf_probe_read_kernel(&v, sizeof(v), p);
		break;
	}
	return v;
}

/* Copy a __data_loc string field (e.g. the area name) into buf. */
static __always_inline void
tp_read_str(void *ctx, const volatile struct tp_field *f, char *buf, __u32 size)
{
	__u32 loc = 0;

	if (!(f->flags & TPF_PRESENT))
		return;
	bpf_probe_read_kernel(&loc, sizeof(loc), (char *)ctx + f->off);
	bpf_probe_read_kernel_str(buf, size, (char *)ctx + (loc & 0xffff));
}

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

/* The log2 slot of v: 0 holds 0 and 1, slot i holds [2^i, 2^(i+1)). */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 s = log2_u64(v);

	if (s >= MAX_SLOTS)
		s = MAX_SLOTS - 1;
	/* keep the bound visible to the verifier after the compiler is done */
	barrier_var(s);
	return s & (MAX_SLOTS - 1);
}

/*
 * What stands for an area in a map key: on the tp_btf path the address of
 * its name (the kernel's string, there as long as the area), elsewhere a
 * hash of the name (64-bit FNV-1a): the name itself, 64 bytes, would make
 * every lookup hash and compare all of them.
 */
static __always_inline __u64 area_hash(const char *name)
{
	__u64 h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < CMA_NAME_LEN && name[i]; i++)
		h = (h ^ (__u8)name[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * The entry of @key in the hash map @map, created when missing from the
 * value in @init (a one-entry per-CPU array of a zeroed value whose first
 * member is the area's name): @name (a kernel string with @kernel_str, else
 * a copy in a map value) fills that in, so the name is read once per area,
 * not once per allocation.
 */
static __always_inline void *area_entry(void *map, const void *key, void *init,
					const char *name, bool kernel_str)
{
	void *v = bpf_map_lookup_elem(map, key);
	__u32 zero = 0;
	char *n;

	if (v)
		return v;
	n = bpf_map_lookup_elem(init, &zero);
	if (!n)
		return NULL;
	__builtin_memset(n, 0, CMA_NAME_LEN);
	if (kernel_str)
		bpf_probe_read_kernel_str(n, CMA_NAME_LEN, name);
	else
		bpf_probe_read_kernel(n, CMA_NAME_LEN, name);
	bpf_map_update_elem(map, key, n, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Only the name of struct cma (mm/cma.h) is needed; CO-RE finds it. */
struct cma___cmakit {
	char name[CMA_NAME_LEN];
} __attribute__((preserve_access_index));

/* The name of the struct cma at @cma into @buf. */
static __always_inline void cma_name(void *cma, char *buf, __u32 size)
{
	bpf_core_read_str(buf, size, &((struct cma___cmakit *)cma)->name);
}

/* A map of type @t: @n entries, @k to @v. */
#define MAP(name, t, n, k, v)           \
	struct {                        \
		__uint(type, t);        \
		__uint(max_entries, n); \
		__type(key, k);         \
		__type(value, v);       \
	} name SEC(".maps")

/* Where the loader found the fields of cma_alloc_start and cma_alloc_finish. */
const volatile struct alloc_fields af = {};

const volatile int target_tgid = 0; /* 0: every process */

/* This process is traced (-p), or every one is. */
static __always_inline bool traced(void)
{
	return !target_tgid ||
	       (bpf_get_current_pid_tgid() >> 32) == (__u32)target_tgid;
}

#ifdef WANT_EVENTS
/* Records for the loader, and how many found no room. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

__u64 lost = 0;

/* Room for a record of @size in events, or NULL (counted in lost). */
static __always_inline void *event_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		__sync_fetch_and_add(&lost, 1);
	return e;
}
#endif /* WANT_EVENTS */

#ifdef INFLIGHT
/*
 * The allocation in progress, per thread. A program defines INFLIGHT (its
 * state type, which begins zeroed and has at least count, align and area;
 * last_ret too with WANT_ACR_RESULT) before including this file, and init_alloc() to fill in what
 * its state starts with.
 */
MAP(inflight, BPF_MAP_TYPE_HASH, 4096, __u32, INFLIGHT);

/* scratch space: the state is too large for the 512-byte BPF stack */
MAP(scratch, BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, INFLIGHT);

/* This CPU's scratch state (not zeroed), or NULL. */
static __always_inline INFLIGHT *scratch_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The state of this thread's allocation, or NULL. */
static __always_inline INFLIGHT *current_alloc(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&inflight, &tid);
}

/* This thread's allocation is over. */
static __always_inline void end_alloc(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&inflight, &tid);
}

static __always_inline void init_alloc(INFLIGHT *s, __u64 pid_tgid);

/*
 * An allocation starts on this thread: its state, zeroed and then set by
 * init_alloc(); NULL when the process is not traced (-p) or no room.
 */
static __always_inline INFLIGHT *begin(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	INFLIGHT *s;

	if (target_tgid && (id >> 32) != (__u32)target_tgid)
		return NULL;
	s = scratch_state();
	if (!s)
		return NULL;
	__builtin_memset(s, 0, sizeof(*s));
	init_alloc(s, id);
	bpf_map_update_elem(&inflight, &tid, s, BPF_ANY);
	return bpf_map_lookup_elem(&inflight, &tid);
}

/* Stock kernels: an allocation begins at cma_alloc_start. */
SEC("tracepoint/cma/cma_alloc_start")
int tp_alloc_start(void *ctx)
{
	INFLIGHT *s = begin();

	if (s) {
		s->count = tp_read(ctx, &af.start_count);
		s->align = tp_read(ctx, &af.start_align);
		tp_read_str(ctx, &af.start_name, s->area, sizeof(s->area));
	}
	return TP_PASS;
}
#endif /* INFLIGHT */

#ifdef WANT_ACR_RESULT
/*
 * The result of the function cma_alloc() takes a range with, for the
 * error code of a stock kernel's failure: it lands in last_ret, and the
 * program's note_ret() gets it too. The loader points these at stock
 * 6.1's alloc_contig_range(), or the series' __alloc_contig_range(),
 * which takes one more argument; bpf_get_func_ret() finds the result
 * either way (setup_errno_source()).
 */
static __always_inline void note_ret(INFLIGHT *s, int ret);

static __always_inline void acr_result(int ret)
{
	INFLIGHT *s = current_alloc();

	if (s) {
		s->last_ret = ret;
		note_ret(s, ret);
	}
}

SEC("fexit/alloc_contig_range")
int BPF_PROG(fexit_acr)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	acr_result((int)ret);
	return 0;
}

SEC("kretprobe/alloc_contig_range")
int BPF_KRETPROBE(kretprobe_acr, int ret)
{
	acr_result(ret);
	return 0;
}
#endif /* WANT_ACR_RESULT */

#ifdef WANT_CMA_ALLOC_PROGS
/*
 * No cma:* events: cma_alloc() itself, through fentry/fexit or
 * kprobe/kretprobe. An allocation begins at the entry; the program's
 * fn_exit() gets the result.
 */
static __always_inline void fn_exit(void *ctx, INFLIGHT *s, struct page *page);

static __always_inline void fn_enter(void *cma, unsigned long count,
				     unsigned int align)
{
	INFLIGHT *s = begin();

	if (s) {
		s->count = count;
		s->align = align;
		cma_name(cma, s->area, sizeof(s->area));
	}
}

static __always_inline void fn_return(void *ctx, struct page *page)
{
	INFLIGHT *s = current_alloc();

	if (s)
		fn_exit(ctx, s, page);
}

/* The entry (fentry, kprobe) and the return (fexit, kretprobe) programs */
#define CMA_ALLOC_PROG_PAIR(kind, entry, ret, ...)                  \
	SEC(#kind "/cma_alloc")                                     \
	int entry(kind##_cma_alloc, void *cma, unsigned long count, \
		  unsigned int align)                               \
	{                                                           \
		fn_enter(cma, count, align);                        \
		return 0;                                           \
	}                                                           \
	SEC(#ret "/cma_alloc")                                      \
	int entry##_RET(ret##_cma_alloc, __VA_ARGS__)               \
	{                                                           \
		fn_return(ctx, page);                               \
		return 0;                                           \
	}

#define BPF_PROG_RET BPF_PROG
#define BPF_KPROBE_RET BPF_KRETPROBE
CMA_ALLOC_PROG_PAIR(fentry, BPF_PROG, fexit, void *cma, unsigned long count,
		    unsigned int align, bool no_warn, struct page *page)
CMA_ALLOC_PROG_PAIR(kprobe, BPF_KPROBE, kretprobe, struct page *page)
#endif /* WANT_CMA_ALLOC_PROGS */

#endif /* CMAKIT_COMMON_BPF_H */
