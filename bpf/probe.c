// SPDX-License-Identifier: GPL-2.0
/*
 * What the running kernel offers the cmakit BPF tools (see probe.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "probe.h"
#include "util.h" /* tools/lib: ARRAY_SIZE() */

const char *tracefs_dir(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (!access(path, R_OK))
			return dirs[i];
	}
	return NULL;
}

static FILE *open_format(const char *sys, const char *event)
{
	const char *dir = tracefs_dir();
	char path[PATH_MAX];

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", dir, sys, event);
	return fopen(path, "r");
}

bool tp_exists(const char *sys, const char *event)
{
	FILE *f = open_format(sys, event);

	if (!f)
		return false;
	fclose(f);
	return true;
}

/* "\tfield:unsigned long pfn;\toffset:16;\tsize:8;\tsigned:0;" */
static bool parse_field_line(const char *line, const char *want,
			     struct tp_field *f)
{
	const char *decl = strstr(line, "field:");
	const char *semi, *name, *p;
	int off, size, sign;
	size_t len;

	if (!decl)
		return false;
	decl += strlen("field:");
	semi = strchr(decl, ';');
	if (!semi)
		return false;
	/* the name is the last word before ';', without an array suffix */
	p = semi;
	while (p > decl && p[-1] == ']')
		while (p > decl && *--p != '[')
			;
	len = 0;
	name = p;
	while (name > decl &&
	       (isalnum((unsigned char)name[-1]) || name[-1] == '_')) {
		name--;
		len++;
	}
	if (len != strlen(want) || strncmp(name, want, len))
		return false;
	p = strstr(semi, "offset:");
	if (!p || sscanf(p, "offset:%d;\tsize:%d;\tsigned:%d;", &off, &size,
			 &sign) != 3)
		return false;
	if (off < 0 || off > 0xffff || size <= 0 || size > 8)
		return false;
	f->off = off;
	f->size = size;
	f->flags = TPF_PRESENT | (sign ? TPF_SIGNED : 0);
	if (!strncmp(decl, "__data_loc", strlen("__data_loc")))
		f->flags |= TPF_DATA_LOC;
	return true;
}

int tp_field(const char *sys, const char *event, const char *field,
	     struct tp_field *f)
{
	FILE *fp = open_format(sys, event);
	char line[512];
	bool found = false;

	memset(f, 0, sizeof(*f));
	if (!fp)
		return -ENOENT;
	while (!found && fgets(line, sizeof(line), fp))
		found = parse_field_line(line, field, f);
	fclose(fp);
	return found ? 0 : -ENOENT;
}

/* An enumerator name left unresolved in a print format: ask BTF. */
static bool btf_enum_value(const char *name, long *val)
{
	static struct btf *btf;
	int i, j, n;

	if (!btf)
		btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (j = 0; j < btf_vlen(t); j++, e++) {
			if (!strcmp(btf__name_by_offset(btf, e->name_off),
				    name)) {
				*val = e->val;
				return true;
			}
		}
	}
	return false;
}

int tp_symbols(const char *sys, const char *event, const char *field,
	       struct sym_table *t)
{
	FILE *fp = open_format(sys, event);
	char *line = NULL, *p, *end, ident[64];
	char needle[96];
	size_t cap = 0;
	long v;
	int n;

	memset(t, 0, sizeof(*t));
	if (!fp)
		return -ENOENT;
	snprintf(needle, sizeof(needle), "__print_symbolic(REC->%s,", field);
	p = NULL;
	while (getline(&line, &cap, fp) > 0) {
		p = strstr(line, needle);
		if (p)
			break;
	}
	fclose(fp);
	if (!p) {
		free(line);
		return -ENOENT;
	}
	p += strlen(needle);
	/* { 0, "pinned" }, { 1, "writeback" } ... ) */
	while (t->n < MAX_SYMS) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			break;
		p++;
		while (*p == ' ')
			p++;
		v = strtol(p, &end, 0);
		if (end == p) {
			n = 0;
			while ((isalnum((unsigned char)p[n]) || p[n] == '_') &&
			       n < (int)sizeof(ident) - 1) {
				ident[n] = p[n];
				n++;
			}
			ident[n] = '\0';
			if (!n || !btf_enum_value(ident, &v))
				break;
			end = p + n;
		}
		p = strchr(end, '"');
		if (!p)
			break;
		end = strchr(++p, '"');
		if (!end)
			break;
		n = end - p < REASON_LEN - 1 ? end - p : REASON_LEN - 1;
		t->val[t->n] = v;
		memcpy(t->name[t->n], p, n);
		t->name[t->n][n] = '\0';
		t->n++;
		p = strchr(end, '}');
		if (!p)
			break;
		p++;
	}
	free(line);
	return t->n ? 0 : -ENOENT;
}

const char *sym_name(const struct sym_table *t, long val)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->val[i] == val)
			return t->name[i];
	return "unknown";
}

static bool file_has_word(const char *path, const char *word)
{
	size_t len = strlen(word);
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "name", "name [module]" or kallsyms' "addr t name" */
		char *p = strstr(line, word);

		while (p && !found) {
			bool start = p == line || p[-1] == ' ';
			char c = p[len];

			found = start && (c == '\n' || c == ' ' || c == '\t' ||
					  c == '\0');
			p = strstr(p + 1, word);
		}
	}
	fclose(f);
	return found;
}

bool tp_btf_args(const char *event, int nargs)
{
	static struct btf *btf;
	const struct btf_type *t;
	char name[128];
	int id;

	if (!btf)
		btf = btf__load_vmlinux_btf();
	snprintf(name, sizeof(name), "btf_trace_%s", event);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) : -1;
	if (id < 0)
		return false;
	/* typedef void (*btf_trace_<event>)(void *__data, <TP_PROTO>) */
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) == nargs + 1;
}

bool kfunc_traceable(const char *name)
{
	static struct btf *btf;
	const char *dir = tracefs_dir();
	char path[PATH_MAX];

	if (!btf)
		btf = btf__load_vmlinux_btf();
	if (!btf || btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) < 0)
		return false;
	if (!kprobe_traceable(name))
		return false;
	if (!dir)
		return true; /* nothing more to ask; attaching will tell */
	snprintf(path, sizeof(path), "%s/available_filter_functions", dir);
	return access(path, R_OK) || file_has_word(path, name);
}

bool kprobe_traceable(const char *name)
{
	return file_has_word("/proc/kallsyms", name);
}

/* --- kernel symbols --------------------------------------------------------- */

struct ksym {
	unsigned long long addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(void)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	unsigned long long addr;
	char name[256], type;
	size_t cap = 0;
	FILE *f;

	if (!k)
		return NULL;
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		free(k);
		return NULL;
	}
	while (fscanf(f, "%llx %c %255s%*[^\n]\n", &addr, &type, name) == 3) {
		struct ksym *s;

		if (!addr)
			continue;
		if (k->n == cap) {
			cap = cap ? cap * 2 : 65536;
			s = realloc(k->syms, cap * sizeof(*s));
			if (!s)
				break;
			k->syms = s;
		}
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (!k->syms[k->n].name)
			break;
		k->n++;
	}
	fclose(f);
	qsort(k->syms, k->n, sizeof(*k->syms), ksym_cmp);
	return k;
}

void ksyms_free(struct ksyms *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}

const char *ksym_str(const struct ksyms *k, unsigned long long addr, char *buf,
		     size_t len)
{
	size_t lo = 0, hi = k ? k->n : 0;

	/* the last symbol at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		snprintf(buf, len, "%s+0x%llx", k->syms[lo - 1].name,
			 addr - k->syms[lo - 1].addr);
	else
		snprintf(buf, len, "0x%llx", addr);
	return buf;
}
