/* SPDX-License-Identifier: GPL-2.0 */
/* cmabench: CMA allocations under controlled memory pressure. */
#ifndef CMABENCH_H
#define CMABENCH_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kpage.h"

#define CB_VERSION "1.0"
#define CB_SCHEMA "cmakit.cmabench/1.2"
#define CB_AREAMAP_SCHEMA "cmakit.areamap/2.0"
#define CB_NAME_LEN 64
#define CB_MAX_SIZES 64
#define CB_MAX_PRESSURE 8
#define CB_MAX_AREAS 16
#define CB_MAX_THREADS 64

struct cb_run;

enum cb_backend_id { BK_AUTO, BK_CMA_BENCH, BK_DEBUGFS, BK_DMA_HEAP };
enum cb_release { REL_LIFO, REL_FIFO, REL_RANDOM };
enum cb_kind {
	K_ANON,
	K_SHMEM,
	K_FILE,
	K_DIRTY,
	K_THP,
	K_CHURN,
	K_ODIRECT,
	K_PIN
};
enum cb_dist { DIST_LIST, DIST_UNIFORM, DIST_LOG2 };

extern const char *const cb_backend_names[];
extern const char *const cb_release_names[];
extern const char *const cb_kind_names[];

struct cb_pressure {
	int kind;
	uint64_t amount; /* bytes (memory kinds), workers (churn, odirect), pages (pin) */
	int64_t offset; /* pin:PAGES@OFFSET: the range's first page in the area; -1 none */
};

struct cb_config {
	char scenario[CB_NAME_LEN];
	char description[256];
	char scenario_src[512];
	int backend;
	char area[CB_NAME_LEN];
	uint64_t sizes[CB_MAX_SIZES]; /* pages */
	int nsizes;
	int dist;
	uint64_t dist_min, dist_max;
	char dist_spec[64];
	unsigned int align;
	bool align_set;
	uint64_t count;
	double duration_s;
	unsigned int threads;
	uint64_t hold_ms;
	unsigned int window;
	int release;
	double occ_target; /* < 0: not driven */
	double occ_tol;
	int fill;
	uint64_t headroom; /* bytes */
	struct cb_pressure pressure[CB_MAX_PRESSURE];
	int npressure;
	char pressure_spec[256];
	bool inject;
	char inject_stage[16];
	unsigned int inject_prob;
	int64_t inject_times;
	uint64_t seed;
	char scratch[512];
	char out[512];
	char json[512];
	bool dry_run, quiet, no_progress;
};

enum cb_action { ACT_RUN, ACT_LIST, ACT_HELP, ACT_VERSION };

/* args.c: 0, or 2 after printing a one-line usage error. */
int cb_parse_args(struct cb_config *c, int argc, char **argv,
		  enum cb_action *act);
void cb_config_defaults(struct cb_config *c);
int cb_load_scenario(struct cb_config *c, const char *name);
void cb_list_scenarios(FILE *f);
void cb_usage(FILE *f);
/* The largest request of the configuration, in pages (one thread). */
uint64_t cb_max_request_pages(const struct cb_config *c);

/* scenarios.c, generated from the scenarios directory */
struct cb_scenario {
	const char *name;
	const char *text;
};
extern const struct cb_scenario cb_scenarios[];
extern const unsigned int cb_nscenarios;

/* One key/value list of counters. */
struct cb_kv {
	char (*key)[48];
	uint64_t *val;
	size_t n, cap;
};

struct cb_area {
	char name[CB_NAME_LEN];
	uint64_t base_pfn, pages;
	unsigned int order_per_bit;
	char heap[128]; /* "" when no DMA-BUF heap */
};

struct cb_area_counters {
	struct cb_kv sysfs, debugfs, stats;
	bool has_sysfs, has_stats;
};

struct cb_counters {
	struct cb_kv vmstat, meminfo;
	struct cb_area_counters area[CB_MAX_AREAS];
};

struct cb_record {
	uint64_t seq, round, t_ns, pages, user_ns;
	unsigned int thread, align;
	bool ok;
	int err;
	int64_t kernel_ns, retries, pfn, release_ns; /* -1: null */
	int64_t user_corrected_ns; /* user_ns less the null ioctl; -1: null */
	int injected; /* -1 null, 0, 1 */
	int64_t migrated; /* pages the kernel migrated for it, -1 null */
	int64_t pinned; /* -1 null */
	int64_t range_pfn; /* first pfn, from the backend or the bitmap; -1 unknown */
	bool has_occ;
	double occ_used, landing;
	struct kpage_mix mix;
};

struct cb_buf {
	uint64_t handle;
	int fd;
	uint64_t pages;
	size_t rec;
};

/* The area maps of areamap.c, by when they were taken. */
enum { CB_MAP_FIRST, CB_MAP_FAILURE, CB_MAP_LAST, CB_NMAPS };

struct cb_map {
	bool taken;
	size_t request; /* index into the records */
	struct kpage_run *runs;
	size_t nruns;
};

struct cb_areamap {
	uint8_t *kind; /* the area's kinds just before this round's requests */
	uint64_t round;
	bool valid; /* kind[] holds this round's */
	uint64_t *bitmap; /* the bitmap after a request (cb_areamap_locate) */
	struct cb_map map[CB_NMAPS];
};

struct cb_features {
	bool cma_bench_dev, debugfs, debugfs_stats, sysfs, dma_heap, fail_cma,
		kpageflags;
};

/* What a backend can do (cb_backend_ops.caps). */
enum {
	CB_CAP_ALIGN = 1 << 0, /* honours --align */
	CB_CAP_PFN = 1 << 1, /* records carry the buffer's first pfn */
	CB_CAP_KERNEL_TIME = 1 << 2, /* kernel-measured time and busy retries */
	CB_CAP_ANY_ORDER = 1 << 3, /* buffers can be freed in any order */
	CB_CAP_THREADS = 1 << 4, /* requests from several threads at once */
	CB_CAP_PIN = 1 << 5, /* long-term pins of in-use area pages */
};

/* A pin of in-use area pages (CB_CAP_PIN). */
struct cb_pin {
	uint64_t handle;
	uint32_t pinned; /* pages */
	bool held;
};

/*
 * One way to ask the kernel for CMA memory, one file each: backend_cma_bench.c,
 * backend_debugfs.c, backend_dma_heap.c. Every function that fails says why
 * (cb_err) and returns -1.
 */
struct cb_backend_ops {
	const char *name;
	unsigned int caps;
	/* the interface is there for the area (no message) */
	bool (*present)(struct cb_run *r);
	/* it is there and can do what the configuration asks; else -1 */
	int (*check)(struct cb_run *r);
	int (*open)(struct cb_run *r); /* NULL: nothing to open */
	/*
	 * One request: 0 when it was made (success or failure in @rec; the
	 * caller has set rec->kernel_ns, retries and pfn to -1), -1 when the
	 * interface itself failed.
	 */
	int (*alloc)(struct cb_run *r, uint64_t pages, unsigned int align,
		     struct cb_buf *b, struct cb_record *rec);
	int (*free)(struct cb_run *r, struct cb_buf *b);
	/* in-use pages from @pfn: up to @count, or all of [pfn, pfn + count) if @range */
	int (*pin)(struct cb_run *r, uint64_t pfn, uint64_t count, bool range,
		   struct cb_pin *p);
	int (*unpin)(struct cb_run *r, struct cb_pin *p); /* none held: 0 */
	/* what open() or cb_cma_bench_areas() opened: cb_backend_close() */
};

extern const struct cb_backend_ops cb_cma_bench_ops, cb_debugfs_ops,
	cb_dma_heap_ops;

/* Occupancy of the area (occupancy.c): the last scan and what it found. */
struct cb_occupancy {
	struct kpage kp;
	bool kp_ok;
	uint64_t *bitmap; /* the area's cma_alloc bitmap, a bit per page; NULL: unread */
	struct kpage_mix mix; /* the last scan's */
	bool valid; /* mix and used hold a scan */
	double used; /* kpage_used_fraction(&mix) */
	double landing; /* < 0: not measured */
	int64_t misses; /* rounds short of the target; -1 until the first is reached */
};

/* Each part's own state, behind a pointer in the run (NULL: not started). */
struct cb_fill; /* fill.c */
struct cb_pressure_state; /* pressure.c */
struct cb_inject_state; /* inject.c */

#define CB_MAX_LATER 4 /* errors after the first that are kept */
#define CB_NULL_IOCTLS 63 /* null ioctls timed before the first request */

struct cb_run {
	struct cb_config cfg;
	int argc;
	char **argv;
	struct cb_features feat;
	struct cb_area areas[CB_MAX_AREAS];
	int nareas, ai; /* ai: index of the benchmarked area */
	int backend;
	const struct cb_backend_ops *ops; /* the chosen backend */
	bool kernel_timing;
	int dev_fd, heap_fd;
	/*
	 * cma_bench: round trips of CMA_BENCH_IOC_AREA, an ioctl of the same
	 * driver that does nearly nothing, timed as a request is; their
	 * median is the fixed cost of an ioctl inside every user_ns.
	 */
	uint64_t null_ioctl_ns[CB_NULL_IOCTLS];
	size_t n_null_ioctl;
	int64_t null_ioctl_p50; /* -1: not measured */
	char release[128], kversion[256], machine[64], hostname[128],
		model[128];
	char series_hash[64];
	char run_id[160];
	long cpus, page_size;
	uint64_t mem_total_kb;

	pthread_mutex_t lock; /* the records */
	struct cb_record *rec;
	size_t nrec, caprec;
	uint64_t t0_ns, t_end_ns;
	char started[32], finished[32];
	const char *status;
	pthread_mutex_t err_lock; /* error, later, nlater */
	char error[512]; /* the first error: the cause */
	char later[CB_MAX_LATER][256]; /* the next ones, said after it */
	unsigned int nlater; /* how many came after the first */
	struct cb_counters before, after;
	bool have_before, have_after;

	struct cb_occupancy occ;
	struct cb_fill *fill;
	struct cb_pressure_state *press;
	int64_t pinned_last; /* pages pinned this round, -1: no pins */
	struct cb_areamap am;

	/* fault injection */
	struct cb_inject_state *inject;
	int64_t injected_before, injected_after;
};

/*
 * ctx.c: the run context. Every file reports through it and none calls
 * back into main.c. The first error is the cause; later ones are dropped.
 */
extern volatile sig_atomic_t cb_stop; /* the signal that asks the run to stop */
void cb_run_init(struct cb_run *r, int argc, char **argv);
void cb_run_destroy(struct cb_run *r);
void cb_signals_install(void);
/*
 * Record an error of the run (thread-safe). The first is the cause
 * (run.error); the next CB_MAX_LATER are kept too, so that none goes
 * unsaid (cb_report_errors). Returns -1.
 */
int cb_err(struct cb_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool cb_failed(struct cb_run *r);
/* Every error on stderr, a line each ("cmabench: ..."); true if there was one. */
bool cb_report_errors(struct cb_run *r);
void cb_add_area(struct cb_run *r, const char *name, uint64_t base,
		 uint64_t pages, unsigned int opb);

/* backend.c: areas, the backend choice, and requests through it */
int cb_detect(struct cb_run *r);
int cb_backend_open(struct cb_run *r);
int cb_backend_alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		     struct cb_buf *b, struct cb_record *rec);
int cb_backend_free(struct cb_run *r, struct cb_buf *b, uint64_t *ns);
void cb_backend_close(struct cb_run *r);
/* the backend that pins (cma_bench, whichever allocates), or NULL */
const struct cb_backend_ops *cb_pinner(const struct cb_run *r);
/* backend_*.c: areas as each interface lists them */
int cb_cma_bench_areas(struct cb_run *r);
void cb_debugfs_areas(struct cb_run *r);

/* counters.c */
int cb_counters_read(struct cb_run *r, struct cb_counters *c);
void cb_counters_free(struct cb_counters *c);
int cb_kv_get(const struct cb_kv *kv, const char *key, uint64_t *v);
int cb_meminfo_kb(const char *key, uint64_t *kb);
int cb_area_stat(struct cb_run *r, const char *key, int64_t *v);
int cb_area_stats(struct cb_run *r, const char *const *keys, int64_t *v, int n);

/* occupancy.c: the area's page mix, driven to the target; each 0 or -1 after cb_err */
int cb_scan_area(struct cb_run *r);
/* the area's bitmap from debugfs, a bit per page, into @bits; silent: -1 with errno */
int cb_read_area_bitmap(struct cb_run *r, uint64_t *bits);
int cb_occupancy_prepare(struct cb_run *r);
int cb_occupancy_drive(struct cb_run *r, uint64_t need_bytes);
void cb_occupancy_close(struct cb_run *r);

/* fill.c: the memory that occupies the area (see fill.h) */
int cb_fill_init(struct cb_run *r);
void cb_fill_cleanup(struct cb_run *r);

/* pressure.c: background load and pins, held for the run */
int cb_pressure_start(struct cb_run *r);
int cb_pin_round(struct cb_run *r);
int cb_pin_release(struct cb_run *r);
void cb_pressure_stop(struct cb_run *r);

/* inject.c */
int cb_inject_start(struct cb_run *r);
int cb_inject_restore(struct cb_run *r);

/* areamap.c: the area maps, from the scan before each round */
/* Each 0, or -1 after cb_err (out of memory, the bitmap unreadable). */
int cb_areamap_round(struct cb_run *r, uint64_t round);
int cb_areamap_locate(struct cb_run *r, struct cb_record *rec);
int cb_areamap_after_round(struct cb_run *r, size_t first);
int cb_areamap_finish(struct cb_run *r);
bool cb_areamap_taken(const struct cb_run *r); /* any map to write */
int cb_areamap_doc(const struct cb_run *r, FILE *f); /* areamap.json; 0 or -1 */
void cb_areamap_free(struct cb_run *r);

/*
 * report.c: the results directory (result.json, allocations.jsonl,
 * areamap.json, summary.txt) and --json; every failure said on stderr. 0 or -1.
 */
int cb_write_results(const struct cb_run *r);
/* summary.c: the summary table; 0, or -1 when out of memory */
int cb_print_table(const struct cb_run *r, FILE *f);

#endif
