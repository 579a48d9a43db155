/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types and constants shared by every cmakit BPF program and its loader.
 */
#ifndef CMAKIT_BPF_COMMON_H
#define CMAKIT_BPF_COMMON_H

#define CMA_NAME_LEN 64 /* CMA_MAX_NAME in 6.1 */
#define TASK_COMM_LEN 16
#define MAX_SLOTS 32
#define MAX_STACK_DEPTH 32
#define REASON_LEN 16

/*
 * Where a trace event field sits in the event's record, as its tracefs
 * format file describes it. The loader fills these in before load; the
 * BPF side reads fields through them, so one object serves the stock
 * layout of an event and the extended layout of the patched kernel.
 */
#define TPF_PRESENT 0x1
#define TPF_SIGNED 0x2
#define TPF_DATA_LOC 0x4 /* __data_loc: a u32 of (len << 16 | offset) */

struct tp_field {
	unsigned short off;
	unsigned char size;
	unsigned char flags;
};

/*
 * The fields of cma_alloc_start and cma_alloc_finish every tool reads: the
 * stock ones, then the series' (absent, i.e. zero, off the patched path).
 */
struct alloc_fields {
	struct tp_field start_name;
	struct tp_field start_count;
	struct tp_field start_align;
	struct tp_field fin_name;
	struct tp_field fin_page;
	struct tp_field fin_count;
	struct tp_field fin_align;
	struct tp_field fin_errorno; /* the series */
	struct tp_field fin_retries;
	struct tp_field fin_elapsed;
};

/* The code path a tool runs on, richest first. */
enum cma_path {
	PATH_PATCHED, /* the series' extended events */
	PATH_STOCK, /* 6.1's cma:* tracepoints */
	PATH_FENTRY, /* fentry/fexit on cma_alloc() */
	PATH_KPROBE, /* kprobe/kretprobe on cma_alloc() */
	PATH_NONE,
};

/* How the error code of a failed stock allocation is learnt. */
enum errno_src {
	ERRSRC_EVENT, /* cma_alloc_finish.errorno */
	ERRSRC_FEXIT, /* fexit on alloc_contig_range() */
	ERRSRC_KRETPROBE, /* kretprobe on alloc_contig_range() */
	ERRSRC_NONE, /* -ENOMEM assumed for every failure */
};

#endif /* CMAKIT_BPF_COMMON_H */
