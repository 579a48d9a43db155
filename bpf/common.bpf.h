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

/* Look up key in a hash map, inserting init first when it is missing. */
static __always_inline void *lookup_or_init(void *map, const void *key,
					    const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
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

#ifdef INFLIGHT
/*
 * The allocation in progress, per thread. A program defines INFLIGHT (its
 * state type, which begins zeroed) before including this file, and
 * init_alloc() to fill in what its state starts with.
 */
const volatile int target_tgid = 0; /* 0: every process */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, INFLIGHT);
} inflight SEC(".maps");

/* scratch space: the state is too large for the 512-byte BPF stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, INFLIGHT);
} scratch SEC(".maps");

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
	__u32 tid = (__u32)id, zero = 0;
	INFLIGHT *s;

	if (target_tgid && (id >> 32) != (__u32)target_tgid)
		return NULL;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	__builtin_memset(s, 0, sizeof(*s));
	init_alloc(s, id);
	bpf_map_update_elem(&inflight, &tid, s, BPF_ANY);
	return bpf_map_lookup_elem(&inflight, &tid);
}
#endif /* INFLIGHT */

#ifdef WANT_ACR_RESULT
/*
 * The result of the function cma_alloc() takes a range with, for the
 * error code of a stock kernel's failure: the program's note_ret() gets
 * it. The loader points these at stock 6.1's alloc_contig_range(), or the
 * series' __alloc_contig_range(), which takes one more argument;
 * bpf_get_func_ret() finds the result either way (setup_errno_source()).
 */
static __always_inline void note_ret(int ret);

SEC("fexit/alloc_contig_range")
int BPF_PROG(fexit_acr)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	note_ret((int)ret);
	return 0;
}

SEC("kretprobe/alloc_contig_range")
int BPF_KRETPROBE(kretprobe_acr, int ret)
{
	note_ret(ret);
	return 0;
}
#endif /* WANT_ACR_RESULT */

#ifdef WANT_CMA_ALLOC_PROGS
/*
 * No cma:* events: cma_alloc() itself, through fentry/fexit or
 * kprobe/kretprobe. The program's fn_enter() and fn_exit() get the
 * arguments and the result.
 */
static __always_inline void fn_enter(void *cma, unsigned long count,
				     unsigned int align);
static __always_inline void fn_exit(void *ctx, struct page *page);

SEC("fentry/cma_alloc")
int BPF_PROG(fentry_cma_alloc, void *cma, unsigned long count,
	     unsigned int align)
{
	fn_enter(cma, count, align);
	return 0;
}

SEC("fexit/cma_alloc")
int BPF_PROG(fexit_cma_alloc, void *cma, unsigned long count,
	     unsigned int align, bool no_warn, struct page *ret)
{
	fn_exit(ctx, ret);
	return 0;
}

SEC("kprobe/cma_alloc")
int BPF_KPROBE(kprobe_cma_alloc, void *cma, unsigned long count,
	       unsigned int align)
{
	fn_enter(cma, count, align);
	return 0;
}

SEC("kretprobe/cma_alloc")
int BPF_KRETPROBE(kretprobe_cma_alloc, struct page *ret)
{
	fn_exit(ctx, ret);
	return 0;
}
#endif /* WANT_CMA_ALLOC_PROGS */

#endif /* CMAKIT_COMMON_BPF_H */
