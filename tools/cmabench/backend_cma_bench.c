// SPDX-License-Identifier: GPL-2.0
/*
 * Backend cma_bench: /dev/cma_bench (patched kernels, CONFIG_CMA_BENCH).
 * Any area, any alignment, the kernel's own time, busy retries and pfn of
 * every request, and long-term pins of in-use area pages. Everything
 * allocated or pinned through the file is released when it is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cma_bench.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cmabench.h"
#include "stats.h"
#include "util.h"

int cb_cma_bench_areas(struct cb_run *r)
{
	struct cma_bench_area a;
	unsigned int i;

	if (!r->feat.cma_bench_dev)
		return 0;
	r->dev_fd = open("/dev/cma_bench", O_RDWR | O_CLOEXEC);
	if (r->dev_fd < 0)
		return cb_err(r, "cannot open /dev/cma_bench: %s",
			      strerror(errno));
	for (i = 0; i < CB_MAX_AREAS; i++) {
		memset(&a, 0, sizeof(a));
		a.index = i;
		if (ioctl(r->dev_fd, CMA_BENCH_IOC_AREA, &a))
			break;
		a.name[CMA_BENCH_NAME_LEN - 1] = '\0';
		cb_add_area(r, a.name, a.base_pfn, a.count, a.order_per_bit);
	}
	return 0;
}

/*
 * What an ioctl costs by itself: CMA_BENCH_IOC_AREA of area 0 (a copy in,
 * four fields, a copy out) timed CB_NULL_IOCTLS times exactly as a request
 * is, so a record's user_ns less their median is the request without the
 * round trip (user_corrected_ns). Under TCG that round trip is tens of
 * microseconds, most of it the emulated syscall entry and exit.
 */
static int calibrate(struct cb_run *r)
{
	uint64_t sorted[CB_NULL_IOCTLS], t0, t1;
	struct cma_bench_area a;
	struct stats st;
	size_t i;

	r->n_null_ioctl = 0;
	for (i = 0; i < CB_NULL_IOCTLS; i++) {
		memset(&a, 0, sizeof(a));
		t0 = now_ns();
		if (ioctl(r->dev_fd, CMA_BENCH_IOC_AREA, &a))
			return cb_err(r, "CMA_BENCH_IOC_AREA of area 0: %s",
				      strerror(errno));
		t1 = now_ns();
		r->null_ioctl_ns[r->n_null_ioctl++] = t1 - t0;
	}
	memcpy(sorted, r->null_ioctl_ns, sizeof(sorted));
	stats_compute(sorted, CB_NULL_IOCTLS, &st);
	r->null_ioctl_p50 = (int64_t)st.p50;
	return 0;
}

static bool present(struct cb_run *r)
{
	return r->dev_fd >= 0;
}

static int check(struct cb_run *r)
{
	if (!present(r))
		return cb_err(
			r,
			"backend cma_bench: no /dev/cma_bench (needs the patched kernel with CONFIG_CMA_BENCH)");
	return 0;
}

static int alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		 struct cb_buf *b, struct cb_record *rec)
{
	struct cma_bench_alloc a;
	uint64_t t0, t1;
	int rc;

	memset(&a, 0, sizeof(a));
	snprintf(a.area, sizeof(a.area), "%s", r->cfg.area);
	a.count = pages;
	a.align = align;
	t0 = now_ns();
	rc = ioctl(r->dev_fd, CMA_BENCH_IOC_ALLOC, &a);
	t1 = now_ns();
	if (rc)
		return cb_err(r,
			      "CMA_BENCH_IOC_ALLOC of %" PRIu64
			      " pages (align %u) from '%s': %s",
			      pages, align, r->cfg.area, strerror(errno));
	rec->user_ns = t1 - t0;
	if (r->null_ioctl_p50 >= 0)
		rec->user_corrected_ns =
			rec->user_ns > (uint64_t)r->null_ioctl_p50 ?
				(int64_t)(rec->user_ns - r->null_ioctl_p50) :
				0;
	rec->ok = a.error == 0;
	rec->err = -a.error;
	rec->kernel_ns = a.elapsed_ns;
	rec->retries = a.retries;
	if (rec->ok) {
		rec->pfn = a.pfn;
		b->handle = a.handle;
	}
	return 0;
}

static int release(struct cb_run *r, struct cb_buf *b)
{
	struct cma_bench_handle h = { .handle = b->handle };

	return ioctl(r->dev_fd, CMA_BENCH_IOC_FREE, &h) ? -1 : 0;
}

static int pin(struct cb_run *r, uint64_t pfn, uint64_t count, bool range,
	       struct cb_pin *out)
{
	struct cma_bench_pin p;

	memset(&p, 0, sizeof(p));
	snprintf(p.area, sizeof(p.area), "%s", r->cfg.area);
	p.pfn = pfn;
	p.count = count;
	p.flags = range ? CMA_BENCH_PIN_RANGE : 0;
	if (ioctl(r->dev_fd, CMA_BENCH_IOC_PIN, &p))
		return cb_err(r,
			      "CMA_BENCH_IOC_PIN of %" PRIu64
			      " pages in '%s': %s",
			      count, r->cfg.area, strerror(errno));
	out->handle = p.handle;
	out->pinned = p.pinned;
	out->held = true;
	return 0;
}

static int unpin(struct cb_run *r, struct cb_pin *p)
{
	struct cma_bench_handle h = { .handle = p->handle };

	if (!p->held || r->dev_fd < 0)
		return 0;
	p->held = false; /* either way: closing the device releases it */
	if (ioctl(r->dev_fd, CMA_BENCH_IOC_UNPIN, &h))
		return cb_err(r, "CMA_BENCH_IOC_UNPIN of %u pages in '%s': %s",
			      p->pinned, r->cfg.area, strerror(errno));
	return 0;
}

const struct cb_backend_ops cb_cma_bench_ops = {
	.name = "cma_bench",
	.caps = CB_CAP_ALIGN | CB_CAP_PFN | CB_CAP_KERNEL_TIME |
		CB_CAP_ANY_ORDER | CB_CAP_THREADS | CB_CAP_PIN,
	.present = present,
	.check = check,
	/* the device was opened to list the areas: open times a null ioctl */
	.open = calibrate,
	.alloc = alloc,
	.free = release,
	.pin = pin,
	.unpin = unpin,
};
