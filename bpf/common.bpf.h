/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cmakit BPF programs: reading trace event fields
 * through the offsets the loader found in tracefs, log2 slots.
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

#endif /* CMAKIT_COMMON_BPF_H */
