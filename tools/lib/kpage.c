// SPDX-License-Identifier: GPL-2.0
/* See kpage.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kpage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stable bits of include/uapi/linux/kernel-page-flags.h */
#define KPF_LOCKED 0
#define KPF_DIRTY 4
#define KPF_LRU 5
#define KPF_WRITEBACK 8
#define KPF_BUDDY 10
#define KPF_ANON 12
#define KPF_SWAPBACKED 14
#define KPF_NOPAGE 20
#define KPF_THP 22
#define BIT(n) (1ULL << (n))

const char *const kpage_kind_names[KPAGE_NKINDS] = { "free",  "cma",  "anon",
						     "shmem", "file", "other" };

/* The one rule: see kpage.h. */
static enum kpage_kind classify(uint64_t flags, uint64_t count, bool cma)
{
	if (cma)
		return KPAGE_CMA;
	if (flags & BIT(KPF_ANON))
		return KPAGE_ANON;
	if (flags & BIT(KPF_SWAPBACKED))
		return KPAGE_SHMEM;
	if (flags & BIT(KPF_LRU))
		return KPAGE_FILE;
	if ((flags & ~(BIT(KPF_BUDDY) | BIT(KPF_NOPAGE))) || count)
		return KPAGE_OTHER;
	return KPAGE_FREE;
}

int kpage_open(struct kpage *k, size_t max_pages)
{
	memset(k, 0, sizeof(*k));
	k->flags_fd = k->count_fd = -1;
	k->flags = calloc(max_pages ? max_pages : 1, sizeof(uint64_t));
	k->counts = calloc(max_pages ? max_pages : 1, sizeof(uint64_t));
	k->kind = calloc(max_pages ? max_pages : 1, 1);
	if (!k->flags || !k->counts || !k->kind)
		goto fail;
	k->cap = max_pages;
	k->flags_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (k->flags_fd < 0)
		goto fail;
	k->count_fd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	if (k->count_fd < 0)
		goto fail;
	return 0;
fail : {
	int e = errno;

	kpage_close(k);
	errno = e;
}
	return -1;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n) {
			errno = ERANGE;
			return -1;
		}
		done += n;
	}
	return 0;
}

int kpage_scan(struct kpage *k, uint64_t pfn, size_t pages,
	       const uint64_t *cma_bitmap, struct kpage_mix *mix)
{
	uint64_t *const by_kind[KPAGE_NKINDS] = {
		[KPAGE_FREE] = &mix->free, [KPAGE_CMA] = &mix->cma,
		[KPAGE_ANON] = &mix->anon, [KPAGE_SHMEM] = &mix->shmem,
		[KPAGE_FILE] = &mix->file, [KPAGE_OTHER] = &mix->other,
	};
	size_t i;

	if (pages > k->cap) {
		errno = EINVAL;
		return -1;
	}
	if (pread_all(k->flags_fd, k->flags, pages * 8, pfn * 8) ||
	    pread_all(k->count_fd, k->counts, pages * 8, pfn * 8))
		return -1;
	memset(mix, 0, sizeof(*mix));
	mix->pages = pages;
	for (i = 0; i < pages; i++) {
		uint64_t f = k->flags[i];

		if (k->counts[i])
			mix->mapped++;
		if (f & BIT(KPF_THP))
			mix->thp++;
		if (f & BIT(KPF_DIRTY))
			mix->dirty++;
		if (f & BIT(KPF_WRITEBACK))
			mix->writeback++;
		k->kind[i] = classify(
			f, k->counts[i],
			cma_bitmap && (cma_bitmap[i / 64] >> (i % 64) & 1));
		(*by_kind[k->kind[i]])++;
	}
	return 0;
}

bool kpage_is_used(const struct kpage *k, size_t i)
{
	return k->kind[i] >= KPAGE_ANON;
}

ssize_t kpage_runs(const uint8_t *kind, size_t n, struct kpage_run **runs)
{
	size_t i, nr = 0;
	struct kpage_run *v;

	for (i = 0; i < n; i++) /* the runs first, to allocate them at once */
		nr += !i || kind[i] != kind[i - 1];
	v = malloc((nr ? nr : 1) * sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0, nr = 0; i < n; i++) {
		if (!i || kind[i] != kind[i - 1])
			v[nr++] = (struct kpage_run){ .kind = kind[i] };
		v[nr - 1].len++;
	}
	*runs = v;
	return nr;
}

uint64_t kpage_used(const struct kpage_mix *mix)
{
	return mix->anon + mix->shmem + mix->file + mix->other;
}

double kpage_used_fraction(const struct kpage_mix *mix)
{
	return mix->pages ? (double)kpage_used(mix) / (double)mix->pages : 0;
}

void kpage_close(struct kpage *k)
{
	if (k->flags_fd >= 0)
		close(k->flags_fd);
	if (k->count_fd >= 0)
		close(k->count_fd);
	free(k->flags);
	free(k->counts);
	free(k->kind);
	memset(k, 0, sizeof(*k));
	k->flags_fd = k->count_fd = -1;
}
