/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers the cmakit BPF tools: trace event formats
 * in tracefs, BTF, kallsyms. Nothing here prints.
 */
#ifndef CMAKIT_PROBE_H
#define CMAKIT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include "common.h"

/* The tracefs mount point, or NULL. */
const char *tracefs_dir(void);
bool tp_exists(const char *sys, const char *event);
/* Fill f from the event's format file; -ENOENT when the field is absent. */
int tp_field(const char *sys, const char *event, const char *field,
	     struct tp_field *f);

/* The names __print_symbolic() gives the values of a field, from the format. */
#define MAX_SYMS 32
struct sym_table {
	int n;
	long val[MAX_SYMS];
	char name[MAX_SYMS][REASON_LEN];
};
int tp_symbols(const char *sys, const char *event, const char *field,
	       struct sym_table *t);
const char *sym_name(const struct sym_table *t, long val);

/*
 * A BTF-enabled raw tracepoint (tp_btf) for the event whose TP_PROTO has
 * exactly nargs arguments: cheaper than a trace event program, which has
 * the kernel build a record first.
 */
bool tp_btf_args(const char *event, int nargs);

/* A function in the running kernel's BTF that fentry can attach to. */
bool kfunc_traceable(const char *name);
/* A function kprobes can attach to (in kallsyms, not inlined away). */
bool kprobe_traceable(const char *name);

/* --- kernel symbols --------------------------------------------------------- */
struct ksyms;
struct ksyms *ksyms_load(void);
void ksyms_free(struct ksyms *k);
/* "name+0xoff" for addr in buf; the address in hex when unknown */
const char *ksym_str(const struct ksyms *k, unsigned long long addr, char *buf,
		     size_t len);

#endif /* CMAKIT_PROBE_H */
