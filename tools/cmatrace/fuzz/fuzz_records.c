// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for cmatrace's parsing and correlation layer: raw event
 * records (any bytes, any size) are decoded with the event formats of real
 * recordings, correlated and written as JSONL, CSV or a summary.
 *
 * Input: byte 0 picks the recording (low 4 bits) and the output format
 * (bits 4-5); then records of [u8 cpu][u8 ts step][u16 size, LE][size bytes].
 * Size 0xffff is a lost-events mark on that cpu. Each record is copied into
 * a buffer of exactly its size, so AddressSanitizer sees any over-read.
 * With bits 6-7 of byte 0 set, the rest is a whole trace.dat instead, read
 * by cmatrace's own trace data reader (flyrec.c) with the recording's
 * event formats: its header, options, chunks and pages are untrusted too.
 * The recordings come from CMT_FUZZ_TRACES (trace.dat paths, ':'-separated).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <trace-cmd.h>

#include "cmt.h"
#include "fly.h"

#define MAX_TRACES 8

static struct tracecmd_input *handles[MAX_TRACES];
static struct cmt_decoder *decs[MAX_TRACES];
static int ntraces;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *env = getenv("CMT_FUZZ_TRACES");
	char *list, *p, *save = NULL;

	(void)argc;
	(void)argv;
	if (!env) {
		fprintf(stderr, "fuzz_records: set CMT_FUZZ_TRACES\n");
		exit(2);
	}
	tracecmd_set_loglevel(TEP_LOG_NONE);
	list = strdup(env);
	for (p = strtok_r(list, ":", &save); p && ntraces < MAX_TRACES;
	     p = strtok_r(NULL, ":", &save)) {
		/* kept open for the whole run: the decoder uses its formats */
		struct tracecmd_input *h = tracecmd_open(
			p, TRACECMD_FL_LOAD_NO_PLUGINS |
				   TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);

		if (!h) {
			fprintf(stderr, "fuzz_records: cannot open %s\n", p);
			exit(2);
		}
		handles[ntraces] = h;
		decs[ntraces] = cmt_decoder_new(tracecmd_get_tep(h));
		if (!decs[ntraces] || !cmt_decoder_known(decs[ntraces])) {
			fprintf(stderr, "fuzz_records: no CMA events in %s\n",
				p);
			exit(2);
		}
		ntraces++;
	}
	free(list);
	if (!ntraces) {
		fprintf(stderr, "fuzz_records: no recordings\n");
		exit(2);
	}
	return 0;
}

static const char *fuzz_comm(void *ctx, int pid)
{
	(void)ctx;
	return pid & 1 ? "comm\"\\\x01\xff" : NULL;
}

static int fuzz_fly_event(void *ctx, int cpu, uint64_t ts, int missed,
			  struct cmt_event *ev)
{
	struct cmt_corr *corr = ctx;

	if (missed)
		cmt_corr_missed(corr, cpu, missed);
	if (ev) {
		ev->cpu = cpu;
		ev->ts = ts;
		cmt_corr_event(corr, ev);
	}
	return 0;
}

/* The input after byte 0 as a trace.dat file, through flyrec.c. */
static void fuzz_file(int t, struct cmt_corr *corr, const uint8_t *data,
		      size_t size)
{
	char path[64];
	struct cmt_fly *f;
	int fd = memfd_create("fuzz.dat", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	f = cmt_fly_open(path, tracecmd_get_tep(handles[t]), decs[t]);
	if (f)
		cmt_fly_iterate(f, fuzz_fly_event, corr);
	cmt_fly_close(f);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cmt_format fmts[4] = { CMT_FMT_JSONL, CMT_FMT_CSV,
						 CMT_FMT_SUMMARY,
						 CMT_FMT_NONE };
	const struct cmt_decoder *d;
	struct cmt_corr *corr;
	struct cmt_out *out;
	uint64_t ts = 0;
	size_t pos = 1;

	if (size < 1)
		return 0;
	d = decs[(data[0] & 15) % ntraces];
	out = cmt_out_new(-1, fmts[(data[0] >> 4) & 3], fuzz_comm, NULL);
	corr = out ? cmt_corr_new(cmt_out_alloc, out) : NULL;
	if (!corr)
		abort();
	if ((data[0] & 0xc0) == 0xc0) {
		fuzz_file((data[0] & 15) % ntraces, corr, data + 1, size - 1);
		pos = size;
	}
	while (pos + 4 <= size) {
		int cpu = data[pos];
		unsigned int n = data[pos + 2] | (unsigned int)data[pos + 3]
							 << 8;
		struct cmt_event ev;
		uint8_t *rec;

		ts += data[pos + 1];
		pos += 4;
		if (n == 0xffff) {
			cmt_corr_missed(corr, cpu, cpu & 1 ? -1 : cpu);
			continue;
		}
		if (n > size - pos)
			n = (unsigned int)(size - pos);
		rec = malloc(n ? n : 1);
		if (!rec)
			abort();
		memcpy(rec, data + pos, n);
		pos += n;
		if (cmt_decode(d, rec, (int)n, &ev) != CMT_K_NONE) {
			ev.cpu = cpu;
			ev.ts = ts;
			cmt_corr_event(corr, &ev);
		}
		free(rec);
	}
	cmt_corr_flush(corr);
	cmt_out_finish(out, cmt_corr_counts(corr));
	cmt_out_summary_json(out, cmt_corr_counts(corr), "fuzz", -1);
	cmt_corr_free(corr);
	cmt_out_free(out);
	return 0;
}
