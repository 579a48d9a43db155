// SPDX-License-Identifier: GPL-2.0
/*
 * The area map (areamap.json, docs/results.md): the kind of every page of
 * the area just before the first request, the first failed request and the
 * last request, run-length encoded, with the range the request got.
 *
 * No scan of its own: the occupancy control (or, without a target, the
 * per-round measurement) scans the area before every round anyway, and
 * kpage_scan leaves the kind of every page behind. Before a round's
 * requests that array is copied (one byte per page); after the round the
 * maps it is needed for are encoded from the copy, and the last map from
 * the copy that is left when the run ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmabench.h"
#include "json.h"
#include "util.h"

static const char *const when_names[CB_NMAPS] = { "first", "first_failure",
						  "last" };

/* Without a scan this round (none possible, or not wanted) there is no map. */
int cb_areamap_round(struct cb_run *r, uint64_t round)
{
	struct cb_areamap *m = &r->am;
	size_t pages = r->areas[r->ai].pages;

	m->valid = false;
	if (!r->occ.valid || !r->occ.kp_ok)
		return 0;
	if (!m->kind) {
		m->kind = malloc(pages);
		if (!m->kind)
			return cb_err(r, "out of memory for the area map");
	}
	memcpy(m->kind, r->occ.kp.kind, pages);
	m->round = round;
	m->valid = true;
	return 0;
}

/* Encode the round's copy as map @w of record @i. */
static int take(struct cb_run *r, int w, size_t i)
{
	struct cb_map *mp = &r->am.map[w];
	ssize_t n;

	n = kpage_runs(r->am.kind, r->areas[r->ai].pages, &mp->runs);
	if (n < 0)
		return cb_err(r, "out of memory for the area map");
	mp->nruns = n;
	mp->request = i;
	mp->taken = true;
	return 0;
}

int cb_areamap_after_round(struct cb_run *r, size_t first)
{
	struct cb_areamap *m = &r->am;
	size_t i;

	if (!m->valid)
		return 0;
	if (!m->map[CB_MAP_FIRST].taken && first == 0 && r->nrec &&
	    take(r, CB_MAP_FIRST, 0))
		return -1;
	for (i = first; i < r->nrec && !m->map[CB_MAP_FAILURE].taken; i++)
		if (!r->rec[i].ok && take(r, CB_MAP_FAILURE, i))
			return -1;
	return 0;
}

int cb_areamap_finish(struct cb_run *r)
{
	struct cb_areamap *m = &r->am;

	/* the copy is that of the last request's round unless that round made none */
	if (m->valid && r->nrec && r->rec[r->nrec - 1].round == m->round)
		return take(r, CB_MAP_LAST, r->nrec - 1);
	return 0;
}

/*
 * The first pfn of a buffer the backend does not name (debugfs, dma_heap):
 * the first page set in the area's bitmap now and clear in the bitmap read
 * before the round. One thread only (another's buffer would show up too).
 */
int cb_areamap_locate(struct cb_run *r, struct cb_record *rec)
{
	const struct cb_area *a = &r->areas[r->ai];
	size_t words = (a->pages + 63) / 64, w;

	rec->range_pfn = rec->pfn;
	if (!rec->ok || rec->pfn >= 0 || r->cfg.threads != 1 ||
	    !r->occ.bitmap || !r->am.valid)
		return 0;
	if (!r->am.bitmap) {
		r->am.bitmap = calloc(words, sizeof(uint64_t));
		if (!r->am.bitmap)
			return cb_err(r, "out of memory for the area map");
	}
	/* it was read before the round: now it is an error */
	if (cb_read_area_bitmap(r, r->am.bitmap))
		return cb_err(r, "cannot read the bitmap of area '%s': %s",
			      a->name, strerror(errno));
	for (w = 0; w < words; w++) {
		uint64_t d = r->am.bitmap[w] & ~r->occ.bitmap[w];

		if (d) {
			rec->range_pfn =
				a->base_pfn + w * 64 + __builtin_ctzll(d);
			break;
		}
	}
	return 0;
}

static void write_map(struct json *j, const struct cb_run *r, int w)
{
	const struct cb_map *mp = &r->am.map[w];
	const struct cb_record *x = &r->rec[mp->request];
	size_t i;

	json_obj_begin(j, NULL);
	json_str(j, "when", when_names[w]);
	json_u64(j, "request", mp->request);
	json_u64(j, "pages_requested", x->pages);
	json_bool(j, "ok", x->ok);
	json_str(j, "errno", x->ok ? NULL : errno_name(x->err));
	if (x->ok && x->range_pfn >= 0) {
		json_obj_begin(j, "range");
		json_u64(j, "pfn", x->range_pfn);
		json_u64(j, "pages", x->pages);
		json_obj_end(j);
	} else {
		/* a failure's tried range: no backend reports it */
		json_null(j, "range");
	}
	json_arr_begin(j, "runs");
	for (i = 0; i < mp->nruns; i++) {
		json_arr_begin(j, NULL);
		json_u64(j, NULL, mp->runs[i].kind);
		json_u64(j, NULL, mp->runs[i].len);
		json_arr_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

int cb_areamap_doc(const struct cb_run *r, FILE *f)
{
	const struct cb_area *a = &r->areas[r->ai];
	struct json j;
	int w;

	json_init(&j, f, 2);
	json_obj_begin(&j, NULL);
	json_str(&j, "schema", CB_AREAMAP_SCHEMA);
	json_str(&j, "area", a->name);
	json_u64(&j, "base_pfn", a->base_pfn);
	json_u64(&j, "pages", a->pages);
	json_arr_begin(&j, "kinds");
	for (w = 0; w < KPAGE_NKINDS; w++)
		json_str(&j, NULL, kpage_kind_names[w]);
	json_arr_end(&j);
	json_arr_begin(&j, "maps");
	for (w = 0; w < CB_NMAPS; w++)
		if (r->am.map[w].taken)
			write_map(&j, r, w);
	json_arr_end(&j);
	json_obj_end(&j);
	return json_finish(&j);
}

bool cb_areamap_taken(const struct cb_run *r)
{
	int w;

	for (w = 0; w < CB_NMAPS; w++)
		if (r->am.map[w].taken)
			return true;
	return false; /* nothing was scanned (no /proc/kpageflags) or no request */
}

void cb_areamap_free(struct cb_run *r)
{
	int w;

	for (w = 0; w < CB_NMAPS; w++)
		free(r->am.map[w].runs);
	free(r->am.kind);
	free(r->am.bitmap);
	memset(&r->am, 0, sizeof(r->am));
}
