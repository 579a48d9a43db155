// SPDX-License-Identifier: GPL-2.0
/*
 * The trace data of a trace.dat, read without libtracecmd's record by
 * record path (a malloc per record, and in libtracecmd 3.1 a walk over every
 * chunk decompressed so far for each page it frees, all of which it keeps:
 * time quadratic and memory linear in the trace's size).
 *
 * Each CPU's buffer is read, decompressed one chunk at a time and decoded
 * in a thread of its own, into a small ring of event blocks; the caller's
 * thread merges the CPUs by timestamp exactly as tracecmd_iterate_events()
 * does (the lowest CPU first on equal timestamps), so the records are the
 * same. Memory is fixed: per CPU one chunk and FLY_NBLK blocks of events.
 *
 * What it reads: file version 7, little endian, trace data uncompressed or
 * zstd-compressed (libzstd is the one libtracecmd itself loads), the top
 * instance's buffer. Anything else (version 6, another compression,
 * options that shift timestamps) is left to libtracecmd: cmt_fly_open()
 * returns NULL and the caller iterates with libtracecmd as before.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event-parse.h>
#include <kbuffer.h>

#include "fly.h"

#define FLY_BLK 256 /* events per block */
#define FLY_NBLK 4 /* blocks per CPU between its thread and the merge */
#define FLY_MAX_CPUS 64
#define FLY_MAX_CHUNK (64u << 20) /* bigger chunks: not trace-cmd's */
#define FLY_MAX_OPTS (16u << 20)
/* kbuffer may read a little past a page: its header (16 bytes), the lost
 * events count after its data (8), an event's length and time extend */
#define FLY_PAD 64
#define COMMIT_MASK ((1u << 27) - 1) /* a ring-buffer page's data size */

/* Option and section ids of the v7 format (trace-cmd.dat.v7(5)) */
enum {
	OPT_DONE = 0,
	OPT_DATE = 1,
	OPT_BUFFER = 3,
	OPT_OFFSET = 7,
	OPT_TIME_SHIFT = 12,
	OPT_TSC2NSEC = 14,
	SEC_OPTIONS = 0,
	SEC_BUFFER = 3,
	SEC_FL_COMPRESS = 1,
};

struct fly_ev {
	uint64_t ts;
	int missed;
	bool ours;
	struct cmt_event ev;
	char name[CMT_NAME_MAX];
};

struct fly_blk {
	int n;
	struct fly_ev ev[FLY_BLK];
};

/* libzstd's decompression API, as the stable ABI of libzstd.so.1 */
struct zstd_api {
	void *(*create)(void);
	size_t (*destroy)(void *dctx);
	size_t (*decompress)(void *dctx, void *dst, size_t cap, const void *src,
			     size_t n);
	unsigned (*is_error)(size_t code);
};

struct fly_cpu {
	struct cmt_fly *f;
	uint64_t off, size; /* the CPU's data in the file */
	pthread_t th;
	bool inited, started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fly_blk *blk[FLY_NBLK];
	unsigned int head, tail; /* blocks filled, blocks given back */
	bool done, stop;
	int err; /* errno of a failure that ends the whole read */
	/* the thread's own */
	struct kbuffer *kb;
	struct fly_blk *fill;
	char *page; /* a page put together from two pieces */
	int page_len;
	/* the merge's own */
	struct fly_blk *cur;
	int pos;
};

struct cmt_fly {
	int fd;
	uint64_t fsize;
	int page_size;
	int ncpu;
	bool compressed;
	enum kbuffer_long_size lsize;
	bool old_format;
	const struct cmt_decoder *dec;
	struct zstd_api z;
	void *zlib;
	struct fly_cpu cpu[FLY_MAX_CPUS];
};

static bool load_zstd(struct cmt_fly *f)
{
	f->zlib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!f->zlib)
		return false;
	*(void **)&f->z.create = dlsym(f->zlib, "ZSTD_createDCtx");
	*(void **)&f->z.destroy = dlsym(f->zlib, "ZSTD_freeDCtx");
	*(void **)&f->z.decompress = dlsym(f->zlib, "ZSTD_decompressDCtx");
	*(void **)&f->z.is_error = dlsym(f->zlib, "ZSTD_isError");
	return f->z.create && f->z.destroy && f->z.decompress && f->z.is_error;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	char *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* A NUL-terminated string at *pos of [p, p + n); false past the end. */
static bool get_str(const unsigned char *p, size_t n, size_t *pos,
		    const char **s)
{
	const unsigned char *e = memchr(p + *pos, 0, n - *pos);

	if (*pos >= n || !e)
		return false;
	*s = (const char *)p + *pos;
	*pos = (size_t)(e - p) + 1;
	return true;
}

/* One zstd frame of exactly @usize bytes; false on any error. */
static bool unzstd(struct cmt_fly *f, void *dctx, void *dst, size_t usize,
		   const void *src, size_t csize)
{
	size_t r = f->z.decompress(dctx, dst, usize, src, csize);

	return !f->z.is_error(r) && r == usize;
}

/* The BUFFER option of the top instance: where each CPU's data is. */
static bool take_buffer(struct cmt_fly *f, const unsigned char *p, size_t n,
			uint64_t *fly_off)
{
	const char *name, *clock;
	size_t pos = 8;
	uint32_t i, cpus;

	if (n < 8 || !get_str(p, n, &pos, &name) ||
	    !get_str(p, n, &pos, &clock))
		return false;
	if (name[0])
		return true; /* another instance: not what report reads */
	if (*fly_off || n - pos < 8)
		return false;
	*fly_off = get64(p);
	if (get32(p + pos) != (uint32_t)f->page_size)
		return false;
	cpus = get32(p + pos + 4);
	pos += 8;
	if (cpus == 0 || cpus > FLY_MAX_CPUS || (n - pos) / 20 < cpus)
		return false;
	for (i = 0; i < cpus; i++, pos += 20) {
		/* libtracecmd numbers the CPUs in this order */
		if (get32(p + pos) != i)
			return false;
		f->cpu[i].off = get64(p + pos + 4);
		f->cpu[i].size = get64(p + pos + 12);
		if (f->cpu[i].off > f->fsize ||
		    f->cpu[i].size > f->fsize - f->cpu[i].off)
			return false;
	}
	f->ncpu = (int)cpus;
	return true;
}

/* One options section at @off: false if it is not one this reader knows. */
static bool take_options(struct cmt_fly *f, uint64_t off, uint64_t *next,
			 uint64_t *fly_off)
{
	unsigned char h[16], *buf = NULL, *cbuf = NULL;
	uint64_t size;
	size_t pos;
	bool ok = false;

	*next = 0;
	if (off > f->fsize || f->fsize - off < 16 ||
	    !pread_all(f->fd, h, 16, off))
		return false;
	size = get64(h + 8);
	if (get16(h) != SEC_OPTIONS || size > FLY_MAX_OPTS ||
	    size > f->fsize - off - 16)
		return false;
	if (get16(h + 2) & SEC_FL_COMPRESS) {
		uint32_t cs, us;
		void *dctx;

		if (!f->compressed || size < 8)
			return false;
		cbuf = malloc(size);
		if (!cbuf || !pread_all(f->fd, cbuf, size, off + 16))
			goto out;
		cs = get32(cbuf);
		us = get32(cbuf + 4);
		if (cs > size - 8 || us > FLY_MAX_OPTS)
			goto out;
		buf = malloc(us ? us : 1);
		dctx = buf ? f->z.create() : NULL;
		if (!dctx)
			goto out;
		ok = unzstd(f, dctx, buf, us, cbuf + 8, cs);
		f->z.destroy(dctx);
		if (!ok)
			goto out;
		ok = false;
		size = us;
	} else {
		buf = malloc(size ? size : 1);
		if (!buf || !pread_all(f->fd, buf, size, off + 16))
			goto out;
	}
	for (pos = 0; size - pos >= 6;) {
		uint16_t id = get16(buf + pos);
		uint32_t n = get32(buf + pos + 2);

		pos += 6;
		if (n > size - pos)
			goto out;
		switch (id) {
		case OPT_DONE:
			if (n < 8)
				goto out;
			*next = get64(buf + pos);
			ok = true;
			goto out;
		case OPT_BUFFER:
			if (!take_buffer(f, buf + pos, n, fly_off))
				goto out;
			break;
		case OPT_DATE:
		case OPT_OFFSET:
		case OPT_TIME_SHIFT:
		case OPT_TSC2NSEC:
			/* timestamps shifted or scaled: libtracecmd's job */
			goto out;
		default:
			break;
		}
		pos += n;
	}
out:
	free(cbuf);
	free(buf);
	return ok;
}

/* Every chunk of a compressed CPU lies inside the file. */
static bool check_chunks(struct cmt_fly *f, const struct fly_cpu *c)
{
	unsigned char h[8];
	uint64_t off = c->off + 4;
	uint32_t i, count;

	if (!c->size)
		return true;
	if (f->fsize - c->off < 4 || !pread_all(f->fd, h, 4, c->off))
		return false;
	count = get32(h);
	for (i = 0; i < count; i++) {
		uint32_t cs;

		if (f->fsize - off < 8 || !pread_all(f->fd, h, 8, off))
			return false;
		cs = get32(h);
		if (cs > FLY_MAX_CHUNK || get32(h + 4) > FLY_MAX_CHUNK ||
		    cs > f->fsize - off - 8)
			return false;
		off += 8 + (uint64_t)cs;
	}
	return true;
}

struct cmt_fly *cmt_fly_open(const char *path, struct tep_handle *tep,
			     const struct cmt_decoder *dec)
{
	unsigned char h[512], sec[16];
	const char *ver, *comp, *cver;
	uint64_t opt, next, fly_off = 0;
	struct cmt_fly *f;
	struct stat st;
	size_t pos = 10;
	ssize_t n;
	int i;

	if (tep_is_file_bigendian(tep) || tep_is_local_bigendian(tep) ||
	    tep_get_header_timestamp_size(tep) != 8)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->dec = dec;
	f->lsize = tep_get_header_page_size(tep) == 8 ? KBUFFER_LSIZE_8 :
							KBUFFER_LSIZE_4;
	f->old_format = tep_is_old_format(tep);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st))
		goto fail;
	f->fsize = (uint64_t)st.st_size;
	n = pread(f->fd, h, sizeof(h), 0);
	if (n < 24 || memcmp(h, "\027\010Dtracing", 10))
		goto fail;
	if (!get_str(h, (size_t)n, &pos, &ver) || strcmp(ver, "7") ||
	    (size_t)n - pos < 6 || h[pos] != 0)
		goto fail;
	f->page_size = (int)get32(h + pos + 2);
	pos += 6;
	if (f->page_size < 4096 || f->page_size > (1 << 20) ||
	    (f->page_size & (f->page_size - 1)) ||
	    !get_str(h, (size_t)n, &pos, &comp) ||
	    !get_str(h, (size_t)n, &pos, &cver) || (size_t)n - pos < 8)
		goto fail;
	if (!strcmp(comp, "zstd")) {
		if (!load_zstd(f))
			goto fail;
		f->compressed = true;
	} else if (strcmp(comp, "none")) {
		goto fail;
	}
	opt = get64(h + pos);
	for (i = 0; opt && i < 64; i++, opt = next)
		if (!take_options(f, opt, &next, &fly_off))
			goto fail;
	if (opt || !fly_off || !f->ncpu || fly_off > f->fsize - 16 ||
	    !pread_all(f->fd, sec, 16, fly_off) || get16(sec) != SEC_BUFFER)
		goto fail;
	/* the compressed flag of the data section itself decides */
	f->compressed = get16(sec + 2) & SEC_FL_COMPRESS;
	if (f->compressed && !f->zlib)
		goto fail;
	for (i = 0; i < f->ncpu; i++) {
		f->cpu[i].f = f;
		if (f->compressed && !check_chunks(f, &f->cpu[i]))
			goto fail;
	}
	return f;
fail:
	cmt_fly_close(f);
	return NULL;
}

void cmt_fly_close(struct cmt_fly *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->zlib)
		dlclose(f->zlib);
	free(f);
}

/* ---- a CPU's thread ---------------------------------------------------- */

/* An empty block to fill; NULL once the merge stopped. */
static struct fly_blk *get_block(struct fly_cpu *c)
{
	struct fly_blk *b = NULL;

	pthread_mutex_lock(&c->mu);
	while (c->head - c->tail == FLY_NBLK && !c->stop)
		pthread_cond_wait(&c->cv, &c->mu);
	if (!c->stop)
		b = c->blk[c->head % FLY_NBLK];
	pthread_mutex_unlock(&c->mu);
	if (b)
		b->n = 0;
	return b;
}

static void put_block(struct fly_cpu *c)
{
	pthread_mutex_lock(&c->mu);
	c->head++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	c->fill = NULL;
}

/* One raw record: decoded into the block being filled. False: stop. */
static bool take(struct fly_cpu *c, uint64_t ts, const void *data, int size,
		 int missed)
{
	struct fly_ev *e;

	if (!c->fill && !(c->fill = get_block(c)))
		return false;
	e = &c->fill->ev[c->fill->n];
	e->ts = ts;
	e->missed = missed;
	e->ours = cmt_decode(c->f->dec, data, size, &e->ev) != CMT_K_NONE;
	if (e->ours && e->ev.name) {
		int len = e->ev.name_len;

		/* the record's bytes are gone by the time it is merged; the
		 * correlator keeps no more of a name than this */
		if (len > CMT_NAME_MAX - 1)
			len = CMT_NAME_MAX - 1;
		memcpy(e->name, e->ev.name, (size_t)len);
		e->ev.name = e->name;
		e->ev.name_len = len;
	}
	if (++c->fill->n == FLY_BLK)
		put_block(c);
	return true;
}

/*
 * The records of one ring-buffer page, as libtracecmd reads them: a page
 * whose header claims more than a page ends the CPU's data (false).
 */
static bool take_page(struct fly_cpu *c, char *page)
{
	int ps = c->f->page_size;
	unsigned long long ts;
	uint64_t commit;
	void *data;

	/*
	 * The page header's size is checked before kbuffer reads the lost
	 * events count stored after that many bytes of data (libtracecmd
	 * checks it only afterwards); at most a page, as in libtracecmd.
	 */
	commit = c->f->lsize == KBUFFER_LSIZE_8 ?
			 get64((unsigned char *)page + 8) :
			 get32((unsigned char *)page + 8);
	if ((commit & COMMIT_MASK) > (uint64_t)ps)
		return false;
	kbuffer_load_subbuffer(c->kb, page);
	if (kbuffer_subbuffer_size(c->kb) > ps)
		return false;
	while ((data = kbuffer_read_event(c->kb, &ts))) {
		long at = (char *)data - page;
		int size = kbuffer_event_size(c->kb);

		if (at < 0 || at > ps)
			return false;
		if (size < 0 || size > ps - at)
			size = (int)(ps - at); /* never read past the page */
		if (!take(c, ts, data, size, kbuffer_missed_events(c->kb)))
			return false;
		kbuffer_next_event(c->kb, NULL);
	}
	return true;
}

/*
 * @n bytes more of the CPU's data, a stream of pages. A page split across
 * two pieces (never in trace-cmd's own files: its chunks hold whole pages)
 * is put together first.
 */
static bool take_bytes(struct fly_cpu *c, char *p, size_t n)
{
	size_t ps = (size_t)c->f->page_size;

	if (c->page_len) {
		size_t k = ps - (size_t)c->page_len;

		if (k > n)
			k = n;
		memcpy(c->page + c->page_len, p, k);
		c->page_len += (int)k;
		p += k;
		n -= k;
		if ((size_t)c->page_len < ps)
			return true;
		c->page_len = 0;
		if (!take_page(c, c->page))
			return false;
	}
	for (; n >= ps; p += ps, n -= ps)
		if (!take_page(c, p))
			return false;
	if (n) {
		memcpy(c->page, p, n);
		c->page_len = (int)n;
	}
	return true;
}

/* The last, partial page: what is missing reads as zeroes, as in mmap. */
static void take_tail(struct fly_cpu *c)
{
	if (!c->page_len)
		return;
	memset(c->page + c->page_len, 0,
	       (size_t)(c->f->page_size - c->page_len));
	c->page_len = 0;
	take_page(c, c->page);
}

#define READ_SIZE (1u << 20)

static int read_plain(struct fly_cpu *c)
{
	struct cmt_fly *f = c->f;
	uint64_t off = c->off, left = c->size;
	char *buf = malloc(READ_SIZE + FLY_PAD);

	if (!buf)
		return ENOMEM;
	memset(buf + READ_SIZE, 0, FLY_PAD);
	while (left) {
		size_t n = left < READ_SIZE ? (size_t)left : READ_SIZE;

		if (!pread_all(f->fd, buf, n, off) || !take_bytes(c, buf, n))
			break;
		off += n;
		left -= n;
	}
	if (!left)
		take_tail(c);
	free(buf);
	return 0;
}

/* @buf holds at least @n bytes, and FLY_PAD more. */
static bool grow(char **buf, size_t *cap, size_t n)
{
	char *p;

	if (*buf && n <= *cap)
		return true;
	p = realloc(*buf, n + FLY_PAD);
	if (!p)
		return false;
	*buf = p;
	*cap = n;
	return true;
}

static int read_zstd(struct fly_cpu *c)
{
	struct cmt_fly *f = c->f;
	unsigned char h[8];
	char *cbuf = NULL, *ubuf = NULL;
	size_t ccap = 0, ucap = 0;
	uint64_t off = c->off + 4;
	uint32_t i, count;
	void *dctx;
	int err = 0;

	if (!c->size || !pread_all(f->fd, h, 4, c->off))
		return 0;
	dctx = f->z.create();
	if (!dctx)
		return ENOMEM;
	count = get32(h);
	for (i = 0; i < count; i++) {
		uint32_t cs, us;

		if (!pread_all(f->fd, h, 8, off))
			break;
		cs = get32(h);
		us = get32(h + 4);
		if (cs > FLY_MAX_CHUNK || us > FLY_MAX_CHUNK)
			break;
		if (!grow(&cbuf, &ccap, cs) || !grow(&ubuf, &ucap, us)) {
			err = ENOMEM;
			break;
		}
		if (!pread_all(f->fd, cbuf, cs, off + 8) ||
		    !unzstd(f, dctx, ubuf, us, cbuf, cs))
			break; /* a bad chunk ends the CPU, as in libtracecmd */
		memset(ubuf + us, 0, FLY_PAD);
		if (!take_bytes(c, ubuf, us))
			break;
		off += 8 + (uint64_t)cs;
	}
	if (i == count)
		take_tail(c);
	f->z.destroy(dctx);
	free(cbuf);
	free(ubuf);
	return err;
}

static void *cpu_thread(void *arg)
{
	struct fly_cpu *c = arg;
	int err = ENOMEM;

	c->kb = kbuffer_alloc(c->f->lsize, KBUFFER_ENDIAN_LITTLE);
	c->page = malloc((size_t)c->f->page_size + FLY_PAD);
	if (c->kb && c->page) {
		memset(c->page, 0, (size_t)c->f->page_size + FLY_PAD);
		if (c->f->old_format)
			kbuffer_set_old_format(c->kb);
		err = c->f->compressed ? read_zstd(c) : read_plain(c);
	}
	if (c->fill && c->fill->n)
		put_block(c);
	kbuffer_free(c->kb);
	free(c->page);
	pthread_mutex_lock(&c->mu);
	c->err = err;
	c->done = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---- the merge ---------------------------------------------------------- */

/* The CPU's next event, NULL at its end. */
static struct fly_ev *peek(struct fly_cpu *c)
{
	if (c->cur && c->pos < c->cur->n)
		return &c->cur->ev[c->pos];
	pthread_mutex_lock(&c->mu);
	if (c->cur) {
		c->tail++;
		c->cur = NULL;
		pthread_cond_broadcast(&c->cv);
	}
	while (c->head == c->tail && !c->done)
		pthread_cond_wait(&c->cv, &c->mu);
	if (c->head != c->tail) {
		c->cur = c->blk[c->tail % FLY_NBLK];
		c->pos = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return c->cur && c->cur->n ? &c->cur->ev[0] : NULL;
}

static void stop_all(struct cmt_fly *f)
{
	int i;

	for (i = 0; i < f->ncpu; i++) {
		struct fly_cpu *c = &f->cpu[i];

		if (!c->started)
			continue;
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->th, NULL);
		c->started = false;
	}
}

int cmt_fly_iterate(struct cmt_fly *f, cmt_fly_fn fn, void *ctx)
{
	struct fly_ev *head[FLY_MAX_CPUS];
	int i, j, ret = 0;

	for (i = 0; i < f->ncpu; i++) {
		struct fly_cpu *c = &f->cpu[i];

		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		c->inited = true;
		for (j = 0; j < FLY_NBLK; j++) {
			c->blk[j] = malloc(sizeof(*c->blk[j]));
			if (!c->blk[j])
				ret = -1;
		}
		if (!ret && !pthread_create(&c->th, NULL, cpu_thread, c))
			c->started = true;
		else
			ret = -1;
		if (ret)
			break;
	}
	for (i = 0; !ret && i < f->ncpu; i++)
		head[i] = peek(&f->cpu[i]);
	while (!ret) {
		int next = -1;

		for (i = 0; i < f->ncpu; i++)
			if (head[i] &&
			    (next < 0 || head[i]->ts < head[next]->ts))
				next = i;
		if (next < 0)
			break;
		ret = fn(ctx, next, head[next]->ts, head[next]->missed,
			 head[next]->ours ? &head[next]->ev : NULL);
		f->cpu[next].pos++;
		head[next] = peek(&f->cpu[next]);
	}
	stop_all(f);
	for (i = 0; i < f->ncpu; i++) {
		struct fly_cpu *c = &f->cpu[i];

		if (c->err && !ret)
			ret = -1;
		for (j = 0; j < FLY_NBLK; j++) {
			free(c->blk[j]);
			c->blk[j] = NULL;
		}
		if (c->inited) {
			pthread_mutex_destroy(&c->mu);
			pthread_cond_destroy(&c->cv);
			c->inited = false;
		}
	}
	return ret;
}
