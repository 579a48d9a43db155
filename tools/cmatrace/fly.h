/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmatrace's own reader of a trace.dat's trace data (flyrec.c): the CPUs
 * decoded in parallel, merged in libtracecmd's order.
 */
#ifndef CMT_FLY_H
#define CMT_FLY_H

#include "cmt.h"

struct tep_handle;
struct cmt_fly;

/*
 * The trace data of @path, whose formats libtracecmd read into @tep, to be
 * decoded with @dec; NULL when this reader does not know the file (then
 * libtracecmd reads it).
 */
struct cmt_fly *cmt_fly_open(const char *path, struct tep_handle *tep,
			     const struct cmt_decoder *dec);
void cmt_fly_close(struct cmt_fly *f);

/*
 * Called for every record in timestamp order, with @cpu, its timestamp, its
 * lost-events mark (record->missed_events) and its event, NULL when it is
 * not one of ours. A negative return ends the iteration.
 */
typedef int (*cmt_fly_fn)(void *ctx, int cpu, uint64_t ts, int missed,
			  struct cmt_event *ev);
/* The callbacks' last return, or -1 when the data could not be read. */
int cmt_fly_iterate(struct cmt_fly *f, cmt_fly_fn fn, void *ctx);

#endif
