// SPDX-License-Identifier: GPL-2.0
/* See kpage.h. */
#define _GNU_SOURCE
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

int kpage_open(struct kpage *k, size_t max_pages)
{
	memset(k, 0, sizeof(*k));
	k->flags_fd = k->count_fd = -1;
	k->flags = calloc(max_pages ? max_pages : 1, sizeof(uint64_t));
	k->counts = calloc(max_pages ? max_pages : 1, sizeof(uint64_t));
	if (!k->flags || !k->counts)
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
		if (cma_bitmap && (cma_bitmap[i / 64] >> (i % 64) & 1))
			mix->cma++;
		else if (f & BIT(KPF_ANON))
			mix->anon++;
		else if (f & BIT(KPF_SWAPBACKED))
			mix->shmem++;
		else if (f & BIT(KPF_LRU))
			mix->file++;
		else if ((f & ~(BIT(KPF_BUDDY) | BIT(KPF_NOPAGE))) ||
			 k->counts[i])
			mix->other++;
		else
			mix->free++;
	}
	return 0;
}

bool kpage_is_used(const struct kpage *k, size_t i)
{
	return (k->flags[i] & ~(BIT(KPF_BUDDY) | BIT(KPF_NOPAGE))) ||
	       k->counts[i];
}

double kpage_used_fraction(const struct kpage_mix *mix)
{
	if (!mix->pages)
		return 0;
	return (double)(mix->anon + mix->shmem + mix->file + mix->other) /
	       (double)mix->pages;
}

void kpage_close(struct kpage *k)
{
	if (k->flags_fd >= 0)
		close(k->flags_fd);
	if (k->count_fd >= 0)
		close(k->count_fd);
	free(k->flags);
	free(k->counts);
	memset(k, 0, sizeof(*k));
	k->flags_fd = k->count_fd = -1;
}
