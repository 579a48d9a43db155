// SPDX-License-Identifier: GPL-2.0
/* Kernel counters before and after a run: vmstat, meminfo, per-area files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmabench.h"
#include "util.h"

static int kv_add(struct cb_kv *kv, const char *key, uint64_t v)
{
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 64;
		void *k = realloc(kv->key, cap * sizeof(*kv->key));

		if (!k)
			return -1;
		kv->key = k;
		k = realloc(kv->val, cap * sizeof(*kv->val));
		if (!k)
			return -1;
		kv->val = k;
		kv->cap = cap;
	}
	snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", key);
	kv->val[kv->n++] = v;
	return 0;
}

int cb_kv_get(const struct cb_kv *kv, const char *key, uint64_t *v)
{
	size_t i;

	for (i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key)) {
			*v = kv->val[i];
			return 0;
		}
	return -1;
}

static void kv_free(struct cb_kv *kv)
{
	free(kv->key);
	free(kv->val);
	memset(kv, 0, sizeof(*kv));
}

/* "key value" or "key: value kB" lines. */
static int kv_read_lines(struct cb_kv *kv, const char *path, size_t bufsize)
{
	char *buf = malloc(bufsize), *line, *save = NULL;

	if (!buf)
		return -1;
	if (read_file(path, buf, bufsize) < 0) {
		free(buf);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[48];
		unsigned long long v;

		if (sscanf(line, "%47[^: ]%*[: ]%llu", key, &v) == 2 &&
		    kv_add(kv, key, v)) {
			free(buf);
			return -1; /* out of memory */
		}
	}
	free(buf);
	return 0;
}

int cb_meminfo_kb(const char *key, uint64_t *kb)
{
	struct cb_kv kv = { 0 };
	int rc;

	if (kv_read_lines(&kv, "/proc/meminfo", 8192))
		return -1;
	rc = cb_kv_get(&kv, key, kb);
	kv_free(&kv);
	return rc;
}

/*
 * vmstat and meminfo (-1 with errno if unreadable or out of memory), and
 * whichever of each area's sysfs and debugfs files the kernel has.
 */
int cb_counters_read(struct cb_run *r, struct cb_counters *c)
{
	static const char *const dbg[] = { "used", "maxchunk", "count" };
	char p[512];
	int i;
	size_t k;

	memset(c, 0, sizeof(*c));
	if (kv_read_lines(&c->vmstat, "/proc/vmstat", 65536) ||
	    kv_read_lines(&c->meminfo, "/proc/meminfo", 8192))
		return -1;
	for (i = 0; i < r->nareas; i++) {
		struct cb_area_counters *ac = &c->area[i];
		struct dirent *de;
		DIR *d;

		if (!pathf(p, sizeof(p), "/sys/kernel/mm/cma/%s",
			   r->areas[i].name) &&
		    (d = opendir(p))) {
			while ((de = readdir(d))) {
				uint64_t v;
				char f[600];

				if (de->d_name[0] == '.' ||
				    pathf(f, sizeof(f), "%s/%s", p,
					  de->d_name) ||
				    read_u64_file(f, &v))
					continue;
				if (kv_add(&ac->sysfs, de->d_name, v)) {
					closedir(d);
					return -1;
				}
			}
			closedir(d);
			ac->has_sysfs = true;
		}
		for (k = 0; k < 3; k++) {
			uint64_t v;

			if (!pathf(p, sizeof(p), "/sys/kernel/debug/cma/%s/%s",
				   r->areas[i].name, dbg[k]) &&
			    !read_u64_file(p, &v) &&
			    kv_add(&ac->debugfs, dbg[k], v))
				return -1;
		}
		if (!pathf(p, sizeof(p), "/sys/kernel/debug/cma/%s/stats",
			   r->areas[i].name) &&
		    !kv_read_lines(&ac->stats, p, 8192))
			ac->has_stats = true;
	}
	return 0;
}

void cb_counters_free(struct cb_counters *c)
{
	int i;

	kv_free(&c->vmstat);
	kv_free(&c->meminfo);
	for (i = 0; i < CB_MAX_AREAS; i++) {
		kv_free(&c->area[i].sysfs);
		kv_free(&c->area[i].debugfs);
		kv_free(&c->area[i].stats);
	}
}

/* @n keys of the patched kernel's stats file of the area, read once. 0 or -1. */
int cb_area_stats(struct cb_run *r, const char *const *keys, int64_t *v, int n)
{
	char p[256], buf[4096], *s;
	int k, found = 0;

	if (!r->feat.debugfs_stats ||
	    pathf(p, sizeof(p), "/sys/kernel/debug/cma/%s/stats",
		  r->cfg.area) ||
	    read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	for (k = 0; k < n; k++) {
		size_t kl = strlen(keys[k]);

		for (s = buf; s && *s;
		     s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
			if (!strncmp(s, keys[k], kl) && s[kl] == ' ') {
				v[k] = strtoll(s + kl + 1, NULL, 10);
				found++;
				break;
			}
	}
	return found == n ? 0 : -1;
}

int cb_area_stat(struct cb_run *r, const char *key, int64_t *v)
{
	return cb_area_stats(r, &key, v, 1);
}
