// SPDX-License-Identifier: GPL-2.0
/*
 * Backend debugfs: /sys/kernel/debug/cma/<area>/alloc and free
 * (CONFIG_CMA_DEBUGFS), on stock kernels too. Alignment 0 only; the kernel
 * keeps one list of buffers per area and frees the newest first, so one
 * thread and LIFO release only. Failures come back as ENOMEM.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "util.h"

#define CMA_DEBUGFS "/sys/kernel/debug/cma"

void cb_debugfs_areas(struct cb_run *r)
{
	struct dirent *de;
	DIR *d = opendir(CMA_DEBUGFS);

	if (!d)
		return;
	while ((de = readdir(d))) {
		uint64_t base, count, opb;
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		if (pathf(p, sizeof(p), CMA_DEBUGFS "/%s/base_pfn",
			  de->d_name) ||
		    read_u64_file(p, &base) ||
		    pathf(p, sizeof(p), CMA_DEBUGFS "/%s/count", de->d_name) ||
		    read_u64_file(p, &count) ||
		    pathf(p, sizeof(p), CMA_DEBUGFS "/%s/order_per_bit",
			  de->d_name) ||
		    read_u64_file(p, &opb))
			continue;
		cb_add_area(r, de->d_name, base, count, opb);
	}
	closedir(d);
}

static bool present(struct cb_run *r)
{
	char p[256];

	return !pathf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc", r->cfg.area) &&
	       access(p, F_OK) == 0;
}

static int check(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	char p[256];

	if (pathf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc", c->area) ||
	    access(p, F_OK))
		return cb_err(
			r,
			"backend debugfs: no %s (needs CONFIG_CMA_DEBUGFS and debugfs mounted)",
			p);
	if (c->align_set && c->align)
		return cb_err(
			r,
			"backend debugfs: allocates with alignment 0 only (--align %u needs cma_bench)",
			c->align);
	if (c->release != REL_LIFO && c->window)
		return cb_err(
			r,
			"backend debugfs: frees the newest buffer first; --release %s needs cma_bench or dma_heap",
			cb_release_names[c->release]);
	if (c->threads > 1)
		return cb_err(
			r,
			"backend debugfs: one list of buffers for all; --threads %u needs cma_bench or dma_heap",
			c->threads);
	return 0;
}

static int alloc(struct cb_run *r, uint64_t pages, unsigned int align,
		 struct cb_buf *b, struct cb_record *rec)
{
	char p[256], v[32];
	uint64_t t0, t1;
	int fd, rc, e;

	(void)align;
	(void)b;
	snprintf(p, sizeof(p), CMA_DEBUGFS "/%s/alloc", r->cfg.area);
	snprintf(v, sizeof(v), "%" PRIu64, pages);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cb_err(r, "cannot open %s: %s", p, strerror(errno));
	t0 = now_ns();
	rc = write(fd, v, strlen(v));
	t1 = now_ns();
	e = errno;
	close(fd);
	rec->user_ns = t1 - t0;
	rec->ok = rc >= 0;
	rec->err = rc < 0 ? e : 0;
	if (rc < 0 && e != ENOMEM && e != EBUSY && e != EINTR)
		return cb_err(r, "write %s to %s: %s", v, p, strerror(e));
	return 0;
}

static int release(struct cb_run *r, struct cb_buf *b)
{
	char p[256], v[32];

	snprintf(p, sizeof(p), CMA_DEBUGFS "/%s/free", r->cfg.area);
	snprintf(v, sizeof(v), "%" PRIu64, b->pages);
	return write_file(p, v);
}

const struct cb_backend_ops cb_debugfs_ops = {
	.name = "debugfs",
	.caps = 0,
	.present = present,
	.check = check,
	.alloc = alloc,
	.free = release,
};
