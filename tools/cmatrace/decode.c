// SPDX-License-Identifier: GPL-2.0
/*
 * Raw trace records -> struct cmt_event. Field offsets and sizes are looked
 * up once per event format; the hot path only bounds-checks and copies
 * bytes, so a corrupt record can never make it read outside the record.
 */
#include <stdlib.h>
#include <string.h>

#include <event-parse.h>

#include "cmt.h"

const struct cmt_event_name cmt_event_names[] = {
	{ "cma", "cma_alloc_start", CMT_K_START },
	{ "cma", "cma_alloc_finish", CMT_K_FINISH },
	{ "cma", "cma_alloc_busy_retry", CMT_K_RETRY },
	{ "cma", "cma_release", CMT_K_RELEASE },
	{ "cma", "cma_range_isolate", CMT_K_ISOLATE },
	{ "cma", "cma_range_drain", CMT_K_DRAIN },
	{ "cma", "cma_range_migrate", CMT_K_MIGRATE },
	{ "cma", "cma_range_test", CMT_K_TEST },
	{ "cma", "cma_busy_page", CMT_K_BUSY_PAGE },
	{ "migrate", "mm_migrate_pages", CMT_K_MM_MIGRATE },
	{ "page_isolation", "test_pages_isolated", CMT_K_TEST_ISOLATED },
};
const int cmt_nr_event_names = ARRAY_SIZE(cmt_event_names);

const char *const cmt_page_flag_names[CMT_PG_NR] = {
	"lru", "anon", "file", "shmem", "dirty", "writeback", "locked",
};

struct fld {
	int off, size;
	bool sign, dyn, rel, ok;
};

struct field_spec {
	const char *name;
	int id;
};

#define MAX_SPEC 12
static const struct {
	enum cmt_kind kind;
	struct field_spec f[MAX_SPEC];
} specs[] = {
	/* 6.1: count; mainline and the series: request_count, area's pages */
	{ CMT_K_START,
	  { { "count", CMT_F_COUNT },
	    { "request_count", CMT_F_COUNT },
	    { "available_count", CMT_F_AVAILABLE },
	    { "total_count", CMT_F_TOTAL },
	    { "align", CMT_F_ALIGN } } },
	{ CMT_K_FINISH,
	  { { "pfn", CMT_F_PFN },
	    { "page", CMT_F_PAGE },
	    { "count", CMT_F_COUNT },
	    { "align", CMT_F_ALIGN },
	    { "errorno", CMT_F_ERRNO },
	    { "retries", CMT_F_RETRIES },
	    { "elapsed_ns", CMT_F_ELAPSED } } },
	{ CMT_K_RETRY,
	  { { "pfn", CMT_F_PFN },
	    { "page", CMT_F_PAGE },
	    { "count", CMT_F_COUNT },
	    { "align", CMT_F_ALIGN } } },
	{ CMT_K_RELEASE, { { "pfn", CMT_F_PFN }, { "count", CMT_F_COUNT } } },
	{ CMT_K_ISOLATE,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "elapsed_ns", CMT_F_ELAPSED },
	    { "ret", CMT_F_RET } } },
	{ CMT_K_DRAIN,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "elapsed_ns", CMT_F_ELAPSED } } },
	{ CMT_K_MIGRATE,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "elapsed_ns", CMT_F_ELAPSED },
	    { "ret", CMT_F_RET },
	    { "nr_attempted", CMT_F_ATTEMPTED },
	    { "nr_migrated", CMT_F_MIGRATED },
	    { "nr_reclaimed", CMT_F_RECLAIMED },
	    { "nr_failed", CMT_F_NR_FAILED },
	    { "passes", CMT_F_PASSES } } },
	{ CMT_K_TEST,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "elapsed_ns", CMT_F_ELAPSED },
	    { "ret", CMT_F_RET },
	    { "failed_pfn", CMT_F_FAILED_PFN } } },
	{ CMT_K_BUSY_PAGE,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "pfn", CMT_F_PFN },
	    { "refcount", CMT_F_REFCOUNT },
	    { "mapcount", CMT_F_MAPCOUNT },
	    { "migratetype", CMT_F_MIGRATETYPE } } },
	{ CMT_K_MM_MIGRATE,
	  { { "succeeded", CMT_F_SUCCEEDED },
	    { "failed", CMT_F_FAILED },
	    { "reason", CMT_F_REASON } } },
	{ CMT_K_TEST_ISOLATED,
	  { { "start_pfn", CMT_F_START_PFN },
	    { "end_pfn", CMT_F_END_PFN },
	    { "fin_pfn", CMT_F_FIN_PFN } } },
};

#define MAX_SYMS 32
struct symtab {
	int n;
	long long val[MAX_SYMS];
	const char *str[MAX_SYMS];
};

struct kdec {
	enum cmt_kind kind;
	int nf;
	struct fld f[MAX_SPEC];
	int id[MAX_SPEC];
	struct fld name;
	struct fld stage, reason;
	struct symtab stage_sym, reason_sym;
	struct fld pgflag[CMT_PG_NR]; /* v1 of the series: one u8 each */
	struct fld pgmask; /* v2: one flags field, bits from __print_flags */
	unsigned long long pgbit[CMT_PG_NR];
	long long contig_reason; /* mm_migrate_pages: MR_CONTIG_RANGE */
};

struct cmt_decoder {
	bool swap;
	struct fld type, pid;
	int max_id;
	struct kdec **by_id;
	struct kdec kinds[CMT_K_NR];
	bool have[CMT_K_NR];
	int known;
};

static struct fld mkfld(const struct tep_format_field *f)
{
	struct fld r = { 0 };

	if (!f || f->offset < 0 || f->size <= 0)
		return r;
	r.off = f->offset;
	r.size = f->size;
	r.sign = f->flags & TEP_FIELD_IS_SIGNED;
	r.dyn = f->flags & TEP_FIELD_IS_DYNAMIC;
	r.rel = f->flags & TEP_FIELD_IS_RELATIVE;
	/* numbers are 1, 2, 4 or 8 bytes; dynamic fields a 4-byte locator */
	if (r.dyn)
		r.ok = r.size == 4;
	else
		r.ok = r.size == 1 || r.size == 2 || r.size == 4 || r.size == 8;
	return r;
}

static inline bool rd(const struct cmt_decoder *d, const unsigned char *p,
		      int size, const struct fld *f, int64_t *out)
{
	uint64_t v;

	if (!f->ok || f->off + f->size > size)
		return false;
	switch (f->size) {
	case 1:
		v = p[f->off];
		if (f->sign)
			v = (uint64_t)(int64_t)(int8_t)v;
		break;
	case 2: {
		uint16_t x;

		memcpy(&x, p + f->off, 2);
		if (d->swap)
			x = __builtin_bswap16(x);
		v = f->sign ? (uint64_t)(int64_t)(int16_t)x : x;
		break;
	}
	case 4: {
		uint32_t x;

		memcpy(&x, p + f->off, 4);
		if (d->swap)
			x = __builtin_bswap32(x);
		v = f->sign ? (uint64_t)(int64_t)(int32_t)x : x;
		break;
	}
	default: {
		uint64_t x;

		memcpy(&x, p + f->off, 8);
		v = d->swap ? __builtin_bswap64(x) : x;
		break;
	}
	}
	*out = (int64_t)v;
	return true;
}

/* A __string/__dynamic_array field: its bytes inside the record. */
static bool rd_str(const struct cmt_decoder *d, const unsigned char *p,
		   int size, const struct fld *f, const char **s, int *len)
{
	int64_t loc;
	long off, n;

	if (!f->dyn || !rd(d, p, size, f, &loc))
		return false;
	off = (long)(loc & 0xffff);
	n = (long)((loc >> 16) & 0xffff);
	if (f->rel)
		off += f->off + f->size;
	if (off < 0 || off + n > size)
		return false;
	*s = (const char *)p + off;
	*len = (int)strnlen(*s, (size_t)n);
	return true;
}

/*
 * The words of @field's __print_symbolic() or __print_flags() in the
 * format, with their values (flags: the bit of each word).
 */
static void find_symbols(const struct tep_print_arg *a, const char *field,
			 struct symtab *t, int depth)
{
	const struct tep_print_flag_sym *s, *syms;
	const struct tep_print_arg *f;

	for (; a && depth < 16; a = a->next) {
		switch (a->type) {
		case TEP_PRINT_SYMBOL:
		case TEP_PRINT_FLAGS:
			f = a->type == TEP_PRINT_SYMBOL ? a->symbol.field :
							  a->flags.field;
			syms = a->type == TEP_PRINT_SYMBOL ? a->symbol.symbols :
							     a->flags.flags;
			if (!f || f->type != TEP_PRINT_FIELD ||
			    !f->field.name || strcmp(f->field.name, field))
				break;
			for (s = syms; s && t->n < MAX_SYMS; s = s->next) {
				t->val[t->n] = strtoll(s->value, NULL, 0);
				t->str[t->n++] = s->str;
			}
			break;
		case TEP_PRINT_OP:
			find_symbols(a->op.left, field, t, depth + 1);
			find_symbols(a->op.right, field, t, depth + 1);
			break;
		case TEP_PRINT_TYPE:
			find_symbols(a->typecast.item, field, t, depth + 1);
			break;
		default:
			break;
		}
	}
}

static const char *sym_str(const struct symtab *t, long long v)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->val[i] == v)
			return t->str[i];
	return NULL;
}

/* stage/reason: a symbolic number (__print_symbolic) or a string field. */
static void rd_sym(const struct cmt_decoder *d, const unsigned char *p,
		   int size, const struct fld *f, const struct symtab *t,
		   char *out, size_t outsz)
{
	const char *s;
	int64_t v;
	int n;

	out[0] = '\0';
	if (f->dyn) {
		if (rd_str(d, p, size, f, &s, &n)) {
			if ((size_t)n >= outsz)
				n = (int)outsz - 1;
			memcpy(out, s, (size_t)n);
			out[n] = '\0';
		}
		return;
	}
	if (!rd(d, p, size, f, &v))
		return;
	s = sym_str(t, v);
	if (!s)
		s = "unknown";
	n = (int)strlen(s);
	if ((size_t)n >= outsz)
		n = (int)outsz - 1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
}

struct cmt_decoder *cmt_decoder_new(struct tep_handle *tep)
{
	struct cmt_decoder *d = calloc(1, sizeof(*d));
	struct tep_event *ev, *any = NULL;
	int i, j;

	if (!d)
		return NULL;
	d->swap = tep_is_file_bigendian(tep) != tep_is_local_bigendian(tep);
	d->max_id = -1;
	for (i = 0; i < cmt_nr_event_names; i++) {
		const struct cmt_event_name *n = &cmt_event_names[i];
		struct kdec *k = &d->kinds[n->kind];

		ev = tep_find_event_by_name(tep, n->system, n->name);
		if (!ev || ev->id < 0)
			continue;
		any = ev;
		k->kind = n->kind;
		for (j = 0; j < (int)ARRAY_SIZE(specs); j++) {
			int m;

			if (specs[j].kind != n->kind)
				continue;
			for (m = 0; m < MAX_SPEC && specs[j].f[m].name; m++) {
				k->f[k->nf] = mkfld(
					tep_find_field(ev, specs[j].f[m].name));
				if (!k->f[k->nf].ok)
					continue;
				k->id[k->nf++] = specs[j].f[m].id;
			}
		}
		k->name = mkfld(tep_find_field(ev, "name"));
		if (n->kind == CMT_K_BUSY_PAGE) {
			k->stage = mkfld(tep_find_field(ev, "stage"));
			k->reason = mkfld(tep_find_field(ev, "reason"));
			find_symbols(ev->print_fmt.args, "stage", &k->stage_sym,
				     0);
			find_symbols(ev->print_fmt.args, "reason",
				     &k->reason_sym, 0);
			for (j = 0; j < CMT_PG_NR; j++)
				k->pgflag[j] = mkfld(tep_find_field(
					ev, cmt_page_flag_names[j]));
			k->pgmask = mkfld(tep_find_field(ev, "flags"));
			if (k->pgmask.ok) {
				struct symtab t = { 0 };
				int m;

				find_symbols(ev->print_fmt.args, "flags", &t,
					     0);
				for (m = 0; m < t.n; m++)
					for (j = 0; j < CMT_PG_NR; j++)
						if (t.str[m] &&
						    !strcmp(t.str[m],
							    cmt_page_flag_names
								    [j]))
							k->pgbit[j] = t.val[m];
			}
		}
		if (n->kind == CMT_K_MM_MIGRATE) {
			struct symtab t = { 0 };

			/* enum migrate_reason: MR_CONTIG_RANGE is 6 in 6.1 */
			k->contig_reason = 6;
			find_symbols(ev->print_fmt.args, "reason", &t, 0);
			for (j = 0; j < t.n; j++)
				if (t.str[j] &&
				    !strcmp(t.str[j], "contig_range"))
					k->contig_reason = t.val[j];
		}
		d->have[n->kind] = true;
		d->known++;
		if (ev->id > d->max_id)
			d->max_id = ev->id;
	}
	if (any) {
		d->type = mkfld(tep_find_common_field(any, "common_type"));
		d->pid = mkfld(tep_find_common_field(any, "common_pid"));
	}
	if (d->max_id >= 0 && d->type.ok) {
		d->by_id = calloc((size_t)d->max_id + 1, sizeof(*d->by_id));
		if (!d->by_id) {
			free(d);
			return NULL;
		}
		for (i = 0; i < cmt_nr_event_names; i++) {
			const struct cmt_event_name *n = &cmt_event_names[i];

			ev = tep_find_event_by_name(tep, n->system, n->name);
			if (ev && ev->id >= 0 && d->have[n->kind])
				d->by_id[ev->id] = &d->kinds[n->kind];
		}
	} else {
		d->known = 0;
	}
	return d;
}

void cmt_decoder_free(struct cmt_decoder *d)
{
	if (!d)
		return;
	free(d->by_id);
	free(d);
}

int cmt_decoder_known(const struct cmt_decoder *d)
{
	return d->known;
}

bool cmt_decoder_has(const struct cmt_decoder *d, enum cmt_kind k)
{
	return k > CMT_K_NONE && k < CMT_K_NR && d->have[k];
}

enum cmt_kind cmt_decode(const struct cmt_decoder *d, const void *data,
			 int size, struct cmt_event *e)
{
	const unsigned char *p = data;
	const struct kdec *k;
	int64_t v;
	int i;

	if (!d->by_id || !rd(d, p, size, &d->type, &v) || v < 0 ||
	    v > d->max_id)
		return CMT_K_NONE;
	k = d->by_id[v];
	if (!k)
		return CMT_K_NONE;
	if (!rd(d, p, size, &d->pid, &v))
		return CMT_K_NONE;
	e->kind = k->kind;
	e->pid = (int)v;
	e->present = 0;
	for (i = 0; i < k->nf; i++)
		if (rd(d, p, size, &k->f[i], &e->v[k->id[i]]))
			e->present |= 1u << k->id[i];
	e->name = NULL;
	e->name_len = 0;
	if (k->name.ok)
		rd_str(d, p, size, &k->name, &e->name, &e->name_len);
	switch (k->kind) {
	case CMT_K_BUSY_PAGE:
		rd_sym(d, p, size, &k->stage, &k->stage_sym, e->stage,
		       sizeof(e->stage));
		rd_sym(d, p, size, &k->reason, &k->reason_sym, e->reason,
		       sizeof(e->reason));
		e->v[CMT_F_FLAGS] = 0;
		if (k->pgmask.ok) {
			if (rd(d, p, size, &k->pgmask, &v))
				for (i = 0; i < CMT_PG_NR; i++)
					if ((uint64_t)v & k->pgbit[i])
						e->v[CMT_F_FLAGS] |= 1 << i;
		} else {
			for (i = 0; i < CMT_PG_NR; i++)
				if (rd(d, p, size, &k->pgflag[i], &v) && v)
					e->v[CMT_F_FLAGS] |= 1 << i;
		}
		e->present |= 1u << CMT_F_FLAGS;
		break;
	case CMT_K_MM_MIGRATE:
		/* reported as 1 when the migration was for a contiguous range */
		if (cmt_has(e, CMT_F_REASON))
			e->v[CMT_F_REASON] = e->v[CMT_F_REASON] ==
					     k->contig_reason;
		break;
	default:
		break;
	}
	return k->kind;
}
