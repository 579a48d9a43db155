/* SPDX-License-Identifier: GPL-2.0 */
/* cmafail: types shared by cmafail.bpf.c and cmafail.c. */
#ifndef CMAFAIL_H
#define CMAFAIL_H

#include "common.h"

/* Page state bits, as the series' cma_busy_page reports them. */
#define PS_LRU 0x01
#define PS_ANON 0x02
#define PS_FILE 0x04
#define PS_SHMEM 0x08
#define PS_DIRTY 0x10
#define PS_WRITEBACK 0x20
#define PS_LOCKED 0x40
#define PS_SWAPCACHE 0x80
#define PS_PRIVATE 0x100

/* Fields of trace events, in the order cmafail.c reads them. */
struct retry_fields { /* cma_alloc_busy_retry */
	struct tp_field pfn, page, count;
};

struct busy_fields { /* cma_busy_page (the series) */
	struct tp_field start, end, pfn, stage, reason, refcount, mapcount;
	/* v1 of the series: one 0/1 field per state */
	struct tp_field lru, anon, file, shmem, dirty, writeback, locked;
	struct tp_field migratetype;
	struct tp_field flags; /* v2: the CMA_BUSY_F_* (PS_*) bits in one field */
};

/* cma_range_test (the series) or page_isolation:test_pages_isolated */
struct test_fields {
	struct tp_field start, end, failed;
};

/* Where the busy page of a record was learnt. */
enum busy_src {
	BUSY_NONE,
	BUSY_EVENT, /* cma:cma_busy_page (the series), reason from the kernel */
	BUSY_TEST, /* cma_range_test / page_isolation:test_pages_isolated */
};

struct fail_info {
	unsigned long long ts_ns;
	unsigned long long elapsed_ns;
	unsigned long long count;
	unsigned long long range_start; /* of the last attempt that failed */
	unsigned long long range_end;
	unsigned long long busy_pfn;
	int err;
	unsigned int retries;
	unsigned int align;
	unsigned int pid;
	unsigned int tgid;
	unsigned int busy_src;
	unsigned int nr_busy; /* busy pages reported during the allocation */
	int reason; /* the kernel's value; reason_str when it is a string */
	int stage;
	int refcount;
	int mapcount;
	unsigned int state; /* PS_* */
	int migratetype;
	unsigned int has_state;
	int last_ret; /* stock: last alloc_contig_range() result */
	unsigned int busy_attempts;
	char reason_str[REASON_LEN];
	char stage_str[REASON_LEN];
	char comm[TASK_COMM_LEN];
	char area[CMA_NAME_LEN];
};

struct fail_event {
	struct fail_info info;
	int stack_len; /* bytes of stack[] used, or a negative error */
	int pad;
	unsigned long long stack[MAX_STACK_DEPTH];
};

#endif /* CMAFAIL_H */
