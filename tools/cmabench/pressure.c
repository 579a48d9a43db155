// SPDX-License-Identifier: GPL-2.0
/*
 * Background pressure, held for the whole run (--pressure): resident
 * memory of a kind, build-like worker processes, dirty page cache under
 * writeback, O_DIRECT reads in flight, and long-term pins of in-use area
 * pages each round (through the cma_bench backend). Its state is r->press.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmabench.h"
#include "fill.h"

#define TMPFS_MAGIC 0x01021994
#define V9FS_MAGIC 0x01021997
#define MAX_CHURN 64
#define MAX_THREADS 80

struct thread_arg {
	struct cb_run *r;
	unsigned int seed;
};

struct cb_pressure_state {
	pid_t churn[MAX_CHURN];
	int nchurn;
	pthread_t thr[MAX_THREADS];
	struct thread_arg arg[MAX_THREADS];
	int nthr;
	volatile int stop;
	int odirect_fd;
	struct region dirty; /* a copy: r->fill->v moves when it grows */
	/* pin:PAGES[@OFFSET] */
	uint64_t pin_pages;
	int64_t pin_offset; /* -1: up to pin_pages in-use pages from the base */
	struct cb_pin pin;
};

static void churn_child(uint64_t seed)
{
	unsigned int s = seed;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (;;) {
		/* a compiler-like process: 8..40 MiB touched, some work, exit */
		size_t len = (8 + rand_r(&s) % 33) * MIB, i;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned long sum = 0;

		if (p == MAP_FAILED) {
			usleep(10000);
			continue;
		}
		for (i = 0; i < len; i += PAGE)
			p[i] = (char)i;
		for (i = 0; i < len; i += 64)
			sum += p[i] * 31;
		munmap(p, len);
		if (sum == 1)
			usleep(1);
	}
}

/* Keeps re-dirtying the file and starting its writeback. */
static void *dirty_thread(void *arg)
{
	struct cb_pressure_state *ps = ((struct thread_arg *)arg)->r->press;
	const struct region *g = &ps->dirty;
	size_t off = 0, i, slice = 4 * MIB < g->len ? 4 * MIB : g->len;

	while (!ps->stop) {
		for (i = 0; i < slice; i += PAGE)
			g->addr[(off + i) % g->len]++;
		sync_file_range(g->fd, off, slice, SYNC_FILE_RANGE_WRITE);
		off = (off + slice) % g->len;
		usleep(20000);
	}
	return NULL;
}

static void *odirect_thread(void *arg)
{
	struct thread_arg *a = arg;
	struct cb_pressure_state *ps = a->r->press;
	struct cb_fill *f = a->r->fill;
	unsigned int s = a->seed;

	while (!ps->stop) {
		char *dst = NULL;

		pthread_mutex_lock(&f->lock);
		if (f->n) {
			struct region *g = &f->v[rand_r(&s) % f->n];

			if ((g->kind == K_ANON || g->kind == K_THP) &&
			    g->len >= 64 * 1024)
				dst = g->addr +
				      (rand_r(&s) % (g->len / (64 * 1024))) *
					      64 * 1024;
		}
		pthread_mutex_unlock(&f->lock);
		/* The buffer's pages are pinned (FOLL_PIN) while the read is in flight. */
		if (!dst || pread(ps->odirect_fd, dst, 64 * 1024,
				  (rand_r(&s) % 16) * 64 * 1024) < 0)
			usleep(1000);
	}
	return NULL;
}

static int start_thread(struct cb_run *r, void *(*fn)(void *),
			unsigned int seed, const char *what)
{
	struct cb_pressure_state *ps = r->press;
	int e;

	if (ps->nthr == MAX_THREADS)
		return cb_err(r, "pressure %s: more than %d threads", what,
			      MAX_THREADS);
	ps->arg[ps->nthr] = (struct thread_arg){ .r = r, .seed = seed };
	e = pthread_create(&ps->thr[ps->nthr], NULL, fn, &ps->arg[ps->nthr]);
	if (e)
		return cb_err(r, "pressure %s: cannot start a thread: %s", what,
			      strerror(e));
	ps->nthr++;
	return 0;
}

static int scratch_ok(struct cb_run *r)
{
	struct statfs sf;

	if (statfs(r->cfg.scratch, &sf))
		return cb_err(r, "--scratch %s: %s", r->cfg.scratch,
			      strerror(errno));
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == V9FS_MAGIC)
		return cb_err(
			r,
			"--scratch %s is on %s, which has no disk-backed page cache; use a disk file system (ext4)",
			r->cfg.scratch,
			sf.f_type == TMPFS_MAGIC ? "tmpfs" : "9p");
	return 0;
}

static int start_odirect(struct cb_run *r, const struct cb_pressure *p)
{
	const struct cb_config *c = &r->cfg;
	struct cb_pressure_state *ps = r->press;
	char p2[64], *buf;
	int fd = open(c->scratch, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), j;

	if (fd < 0 || posix_memalign((void **)&buf, PAGE, MIB)) {
		cb_err(r, "pressure odirect: scratch file in %s: %s",
		       c->scratch, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(buf, 0x5a, MIB);
	if (write(fd, buf, MIB) != (ssize_t)MIB || fsync(fd)) {
		free(buf);
		close(fd);
		return cb_err(r,
			      "pressure odirect: writing the scratch file: %s",
			      strerror(errno));
	}
	free(buf);
	snprintf(p2, sizeof(p2), "/proc/self/fd/%d", fd);
	ps->odirect_fd = open(p2, O_RDONLY | O_DIRECT | O_CLOEXEC);
	close(fd);
	if (ps->odirect_fd < 0)
		return cb_err(r, "pressure odirect: O_DIRECT on %s: %s",
			      c->scratch, strerror(errno));
	for (j = 0; j < (int)p->amount; j++)
		if (start_thread(r, odirect_thread, c->seed + j, "odirect"))
			return -1;
	return 0;
}

static int start_pins(struct cb_run *r, const struct cb_pressure *p)
{
	struct cb_pressure_state *ps = r->press;

	if (!cb_pinner(r))
		return cb_err(
			r,
			"pressure pin needs /dev/cma_bench (patched kernel); on stock kernels use odirect:N");
	if (p->offset >= 0 &&
	    (uint64_t)p->offset + p->amount > r->areas[r->ai].pages)
		return cb_err(r,
			      "pressure pin:%" PRIu64 "@%" PRId64
			      ": the range ends beyond area '%s' (%" PRIu64
			      " pages)",
			      p->amount, p->offset, r->cfg.area,
			      r->areas[r->ai].pages);
	ps->pin_pages = p->amount;
	ps->pin_offset = p->offset;
	return 0;
}

int cb_pressure_start(struct cb_run *r)
{
	const struct cb_config *c = &r->cfg;
	struct cb_pressure_state *ps;
	uint64_t nf, cf, total = 0, maxreq = cb_max_request_pages(c);
	int i, j;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return cb_err(r, "out of memory");
	ps->odirect_fd = -1;
	r->press = ps;
	for (i = 0; i < c->npressure; i++) {
		const struct cb_pressure *p = &c->pressure[i];

		if (p->kind == K_CHURN)
			total += p->amount * 40 * MIB;
		else if (p->kind <= K_THP)
			total += p->amount;
	}
	if ((c->scratch[0] || c->fill == K_FILE || c->fill == K_DIRTY) &&
	    scratch_ok(r))
		return -1;
	if (cb_free_mem(&nf, &cf))
		return cb_err(r, "cannot read /proc/meminfo: %s",
			      strerror(errno));
	if (total && total + c->headroom + maxreq * PAGE * c->threads > nf)
		return cb_err(r,
			      "pressure of %" PRIu64
			      " MiB does not fit: %" PRIu64
			      " MiB free outside CMA, headroom %" PRIu64
			      " MiB, requests up to %" PRIu64 " MiB",
			      total >> 20, nf >> 20, c->headroom >> 20,
			      (maxreq * PAGE * c->threads) >> 20);
	for (i = 0; i < c->npressure; i++) {
		const struct cb_pressure *p = &c->pressure[i];
		struct region *g;

		switch (p->kind) {
		case K_ANON:
		case K_SHMEM:
		case K_FILE:
		case K_DIRTY:
		case K_THP:
			g = cb_region_new(r, p->kind,
					  (p->amount + THP_SIZE - 1) &
						  ~(THP_SIZE - 1),
					  true);
			if (!g)
				return cb_err(r, "pressure %s: %s",
					      cb_kind_names[p->kind],
					      strerror(errno));
			if (p->kind == K_DIRTY && !ps->dirty.addr) {
				ps->dirty = *g;
				if (start_thread(r, dirty_thread, 0, "dirty"))
					return -1;
			}
			break;
		case K_CHURN:
			for (j = 0;
			     j < (int)p->amount && ps->nchurn < MAX_CHURN;
			     j++) {
				pid_t pid = fork();

				if (pid < 0)
					return cb_err(
						r, "pressure churn: fork: %s",
						strerror(errno));
				if (!pid)
					churn_child(c->seed + j);
				ps->churn[ps->nchurn++] = pid;
			}
			break;
		case K_ODIRECT:
			if (start_odirect(r, p))
				return -1;
			break;
		case K_PIN:
			if (start_pins(r, p))
				return -1;
			break;
		}
	}
	return 0;
}

/* pin:PAGES[@OFFSET]: long-term references on in-use pages of the area, per round. */
int cb_pin_round(struct cb_run *r)
{
	struct cb_pressure_state *ps = r->press;
	const struct cb_backend_ops *be = cb_pinner(r);
	const struct cb_area *a = &r->areas[r->ai];
	int rc;

	if (!ps || !ps->pin_pages || !be)
		return 0;
	if (cb_pin_release(r))
		return -1;
	if (ps->pin_offset >= 0)
		/* every in-use page of the range */
		rc = be->pin(r, a->base_pfn + ps->pin_offset, ps->pin_pages,
			     true, &ps->pin);
	else
		/* up to count in-use pages from the base; more than the area is -EINVAL */
		rc = be->pin(r, 0,
			     ps->pin_pages < a->pages ? ps->pin_pages :
							a->pages,
			     false, &ps->pin);
	if (rc)
		return -1;
	r->pinned_last = ps->pin.pinned;
	return 0;
}

int cb_pin_release(struct cb_run *r)
{
	const struct cb_backend_ops *be = cb_pinner(r);

	return r->press && be ? be->unpin(r, &r->press->pin) : 0;
}

void cb_pressure_stop(struct cb_run *r)
{
	struct cb_pressure_state *ps = r->press;
	int k;

	if (!ps)
		return;
	ps->stop = 1;
	for (k = 0; k < ps->nthr; k++)
		pthread_join(ps->thr[k], NULL);
	for (k = 0; k < ps->nchurn; k++)
		kill(ps->churn[k], SIGKILL);
	for (k = 0; k < ps->nchurn; k++)
		waitpid(ps->churn[k], NULL, 0);
	cb_pin_release(r);
	if (ps->odirect_fd >= 0)
		close(ps->odirect_fd);
	free(ps);
	r->press = NULL;
}
