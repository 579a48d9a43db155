/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cma_bench: a test and benchmark driver for the Contiguous Memory
 * Allocator (CONFIG_CMA_BENCH), exposed as /dev/cma_bench.
 *
 * Every request names a CMA area. Everything allocated or pinned through a
 * file descriptor is released when it is closed. See
 * Documentation/admin-guide/mm/cma_bench.rst.
 */
#ifndef _UAPI_LINUX_CMA_BENCH_H
#define _UAPI_LINUX_CMA_BENCH_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CMA_BENCH_NAME_LEN 64

/* CMA_BENCH_IOC_AREA: index in, the rest out; -ENOENT past the last area. */
struct cma_bench_area {
	__u32 index;
	__u32 order_per_bit;
	__u64 base_pfn;
	__u64 count;			/* pages */
	char name[CMA_BENCH_NAME_LEN];
};

/*
 * CMA_BENCH_IOC_ALLOC: returns 0 when the request was valid, even if the
 * allocation failed; the outcome is in @error.
 */
struct cma_bench_alloc {
	char area[CMA_BENCH_NAME_LEN];	/* in: area name */
	__u64 count;			/* in: pages */
	__u32 align;			/* in: alignment order (pages) */
	__u32 flags;			/* in: CMA_BENCH_ALLOC_*, must be 0 */
	__u64 handle;			/* out: for CMA_BENCH_IOC_FREE */
	__u64 pfn;			/* out: first pfn */
	__u64 elapsed_ns;		/* out: time spent in the allocator */
	__u32 retries;			/* out: busy retries */
	__s32 error;			/* out: 0 or -errno of the allocation */
};

/* CMA_BENCH_IOC_PIN: take long-lived references on in-use pages. */
struct cma_bench_pin {
	char area[CMA_BENCH_NAME_LEN];	/* in: area name */
	__u64 pfn;			/* in: first pfn, 0: the area's base */
	__u64 count;			/* in: pages to pin (range length) */
	__u32 flags;			/* in: CMA_BENCH_PIN_* */
	__u32 pinned;			/* out: pages pinned */
	__u64 handle;			/* out: for CMA_BENCH_IOC_UNPIN */
	__u64 first_pfn;		/* out: the first pinned pfn */
};

/* CMA_BENCH_IOC_FREE, CMA_BENCH_IOC_UNPIN */
struct cma_bench_handle {
	__u64 handle;
};

/* Pin every in-use page of exactly [pfn, pfn + count). */
#define CMA_BENCH_PIN_RANGE	0x1

/* The most pages one CMA_BENCH_IOC_PIN may ask for: larger counts get -EINVAL. */
#define CMA_BENCH_PIN_MAX	(1U << 18)

#define CMA_BENCH_IOC_MAGIC	0xCB
#define CMA_BENCH_IOC_AREA	_IOWR(CMA_BENCH_IOC_MAGIC, 0x20, struct cma_bench_area)
#define CMA_BENCH_IOC_ALLOC	_IOWR(CMA_BENCH_IOC_MAGIC, 0x21, struct cma_bench_alloc)
#define CMA_BENCH_IOC_FREE	_IOW(CMA_BENCH_IOC_MAGIC, 0x22, struct cma_bench_handle)
#define CMA_BENCH_IOC_PIN	_IOWR(CMA_BENCH_IOC_MAGIC, 0x23, struct cma_bench_pin)
#define CMA_BENCH_IOC_UNPIN	_IOW(CMA_BENCH_IOC_MAGIC, 0x24, struct cma_bench_handle)

#endif /* _UAPI_LINUX_CMA_BENCH_H */
