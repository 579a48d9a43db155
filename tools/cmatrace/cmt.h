/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmatrace: the decoder (raw trace records -> normalized events), the
 * correlator (events -> one record per cma_alloc call) and the writers
 * (JSONL, CSV, summary). Only decode.c knows libtraceevent; the correlator
 * and the writers are plain C, so the fuzzer and the tests drive them alone.
 */
#ifndef CMT_H
#define CMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "util.h" /* tools/lib: ARRAY_SIZE() */

#define CMT_SCHEMA "cmakit.cmatrace/1.0"
#define CMT_NAME_MAX 64
#ifndef CMT_MAX_OPEN /* the fuzzer builds with a small pool */
#define CMT_MAX_OPEN 4096
#endif
#define CMT_KEEP_PFNS 8
#define CMT_KEEP_BUSY 8

enum cmt_kind {
	CMT_K_NONE,
	CMT_K_START,
	CMT_K_FINISH,
	CMT_K_RETRY,
	CMT_K_RELEASE,
	CMT_K_ISOLATE,
	CMT_K_DRAIN,
	CMT_K_MIGRATE,
	CMT_K_TEST,
	CMT_K_BUSY_PAGE,
	CMT_K_MM_MIGRATE,
	CMT_K_TEST_ISOLATED,
	CMT_K_NR
};

/* Numeric fields of the events; each kind fills the ones it has. */
enum cmt_field {
	CMT_F_PFN,
	CMT_F_PAGE,
	CMT_F_COUNT,
	CMT_F_ALIGN,
	CMT_F_ERRNO,
	CMT_F_RETRIES,
	CMT_F_ELAPSED,
	CMT_F_START_PFN,
	CMT_F_END_PFN,
	CMT_F_RET,
	CMT_F_ATTEMPTED,
	CMT_F_MIGRATED,
	CMT_F_RECLAIMED,
	CMT_F_NR_FAILED,
	CMT_F_PASSES,
	CMT_F_FAILED_PFN,
	CMT_F_REFCOUNT,
	CMT_F_MAPCOUNT,
	CMT_F_MIGRATETYPE,
	CMT_F_FLAGS, /* busy page: CMT_PG_* bits */
	CMT_F_SUCCEEDED,
	CMT_F_FAILED,
	CMT_F_REASON, /* mm_migrate_pages reason */
	CMT_F_FIN_PFN,
	CMT_F_AVAILABLE, /* cma_alloc_start: the area's free and total pages */
	CMT_F_TOTAL,
	CMT_F_NR
};

/* Page state bits of cma_busy_page, in the order of docs/contracts.md. */
enum {
	CMT_PG_LRU = 1 << 0,
	CMT_PG_ANON = 1 << 1,
	CMT_PG_FILE = 1 << 2,
	CMT_PG_SHMEM = 1 << 3,
	CMT_PG_DIRTY = 1 << 4,
	CMT_PG_WRITEBACK = 1 << 5,
	CMT_PG_LOCKED = 1 << 6,
	CMT_PG_NR = 7
};
extern const char *const cmt_page_flag_names[CMT_PG_NR];

struct cmt_event {
	enum cmt_kind kind;
	int cpu;
	int pid;
	uint64_t ts;
	uint32_t present; /* 1 << enum cmt_field */
	int64_t v[CMT_F_NR];
	const char *name; /* area name, not NUL-terminated */
	int name_len;
	char stage[16]; /* busy page: "migrate", "test"; "" when absent */
	char reason[24]; /* busy page: "pinned", ...; "" when absent */
};

_Static_assert(CMT_F_NR <= 32, "cmt_event.present is a 32-bit mask");

static inline bool cmt_has(const struct cmt_event *e, enum cmt_field f)
{
	return e->present & (1u << f);
}

enum cmt_status { CMT_OK, CMT_FAILED, CMT_UNFINISHED };

enum {
	CMT_MISS_START = 1 << 0,
	CMT_MISS_FINISH = 1 << 1,
	CMT_MISS_LOST = 1 << 2,
	CMT_MISS_EVICTED = 1 << 3,
};

struct cmt_busy {
	uint64_t pfn;
	int64_t refcount, mapcount, migratetype;
	uint32_t flags;
	char stage[16];
	char reason[24];
};

/* One cma_alloc call. */
struct cmt_alloc {
	int pid;
	int cpu_start, cpu_finish;
	enum cmt_status status;
	uint32_t missing;
	char area[CMT_NAME_MAX];
	uint64_t count, align;
	bool has_area_pages; /* cma_alloc_start had available/total_count */
	uint64_t available, total;
	bool has_start, has_finish;
	uint64_t ts_start, ts_finish;
	bool pfn_valid;
	uint64_t pfn;
	bool has_errno;
	bool errno_inferred;
	int64_t err;
	bool has_kernel_elapsed;
	uint64_t kernel_elapsed;
	bool has_kernel_retries;
	uint64_t kernel_retries;
	uint64_t retry_events;
	uint64_t retry_pfns[CMT_KEEP_PFNS];
	/* phases (patched kernels) */
	bool has_phases;
	uint64_t isolate_ns, drain_ns, migrate_ns, test_ns, attempts;
	bool has_migrate;
	uint64_t attempted, migrated, reclaimed, nr_failed, passes;
	/* stock events */
	uint64_t mm_calls, mm_succeeded, mm_failed;
	uint64_t it_calls, it_failed;
	/* the page that blocked the last failed attempt */
	enum { CMT_BLK_NONE, CMT_BLK_BUSY, CMT_BLK_TEST, CMT_BLK_ISOL } blk_src;
	struct cmt_busy blk;
	uint64_t busy_total;
	struct cmt_busy busy[CMT_KEEP_BUSY];
};

struct cmt_counts {
	uint64_t events[CMT_K_NR];
	uint64_t events_total;
	uint64_t missed_events, missed_unknown;
	uint64_t unrelated;
};

typedef void (*cmt_emit_fn)(void *ctx, const struct cmt_alloc *a);

struct cmt_corr;
struct cmt_corr *cmt_corr_new(cmt_emit_fn emit, void *ctx);
void cmt_corr_free(struct cmt_corr *c);
void cmt_corr_event(struct cmt_corr *c, const struct cmt_event *e);
/* n > 0: events lost on cpu; n < 0: an unknown number was lost */
void cmt_corr_missed(struct cmt_corr *c, int cpu, long long n);
/* Emits every allocation still open as unfinished, in start order. */
void cmt_corr_flush(struct cmt_corr *c);
const struct cmt_counts *cmt_corr_counts(const struct cmt_corr *c);
const char *cmt_kind_name(enum cmt_kind k);

/* Output: a buffered writer on a file descriptor. */
enum cmt_format { CMT_FMT_JSONL, CMT_FMT_CSV, CMT_FMT_SUMMARY, CMT_FMT_NONE };

struct cmt_out;
typedef const char *(*cmt_comm_fn)(void *ctx, int pid);
struct cmt_out *cmt_out_new(int fd, enum cmt_format fmt, cmt_comm_fn comm,
			    void *comm_ctx);
/* The correlator's emit callback: ctx is the struct cmt_out. */
void cmt_out_alloc(void *ctx, const struct cmt_alloc *a);
/* Writes pending text; false when a write failed (errno set). */
bool cmt_out_flush(struct cmt_out *o);
bool cmt_out_failed(const struct cmt_out *o);
/* The text summary (format summary) or nothing; then flushes. */
bool cmt_out_finish(struct cmt_out *o, const struct cmt_counts *cnt);
/* The JSON summary document on fd. */
bool cmt_out_summary_json(struct cmt_out *o, const struct cmt_counts *cnt,
			  const char *source, int fd);
void cmt_out_free(struct cmt_out *o);

/* Decoder: libtraceevent formats -> field offsets, looked up once. */
struct tep_handle;
struct cmt_decoder;
struct cmt_decoder *cmt_decoder_new(struct tep_handle *tep);
void cmt_decoder_free(struct cmt_decoder *d);
/* Number of event kinds this tep knows (0: none of ours). */
int cmt_decoder_known(const struct cmt_decoder *d);
bool cmt_decoder_has(const struct cmt_decoder *d, enum cmt_kind k);
/* Fills e from a raw record; returns its kind (CMT_K_NONE: not ours or bad). */
enum cmt_kind cmt_decode(const struct cmt_decoder *d, const void *data,
			 int size, struct cmt_event *e);

/* The events cmatrace follows, as system/name pairs. */
struct cmt_event_name {
	const char *system, *name;
	enum cmt_kind kind;
};
extern const struct cmt_event_name cmt_event_names[];
extern const int cmt_nr_event_names;

#endif
