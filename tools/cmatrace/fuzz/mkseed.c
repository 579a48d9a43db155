// SPDX-License-Identifier: GPL-2.0
/*
 * Seeds for fuzz_records from a trace.dat: its records, in time order, cut
 * into files of 48 records in the fuzzer's input format.
 *   mkseed TRACE.dat INDEX OUTDIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trace-cmd.h>

struct seed {
	const char *dir, *base;
	int index, nrec, nfile;
	unsigned long long last_ts;
	FILE *f;
};

static int next_file(struct seed *s)
{
	char path[4096];

	if (s->f && fclose(s->f))
		return -1;
	snprintf(path, sizeof(path), "%s/%s-%04d", s->dir, s->base, s->nfile++);
	s->f = fopen(path, "w");
	if (!s->f)
		return -1;
	fputc(s->index, s->f);
	s->nrec = 0;
	return 0;
}

static int on_record(struct tracecmd_input *h, struct tep_record *rec, int cpu,
		     void *data)
{
	struct seed *s = data;
	unsigned long long step = rec->ts - s->last_ts;
	unsigned char hdr[4];

	(void)h;
	if ((s->nrec == 48 || !s->f) && next_file(s))
		return -1;
	if (rec->size < 0 || rec->size >= 0xffff)
		return 0;
	hdr[0] = (unsigned char)cpu;
	hdr[1] = (unsigned char)(step > 255 ? 255 : step);
	hdr[2] = (unsigned char)(rec->size & 0xff);
	hdr[3] = (unsigned char)(rec->size >> 8);
	s->last_ts = rec->ts;
	if (fwrite(hdr, 4, 1, s->f) != 1 ||
	    fwrite(rec->data, (size_t)rec->size, 1, s->f) != 1)
		return -1;
	s->nrec++;
	return 0;
}

int main(int argc, char **argv)
{
	struct seed s = { 0 };
	struct tracecmd_input *h;
	const char *b;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: mkseed TRACE.dat INDEX OUTDIR\n");
		return 2;
	}
	h = tracecmd_open(argv[1], TRACECMD_FL_LOAD_NO_PLUGINS);
	if (!h) {
		fprintf(stderr, "mkseed: cannot open %s\n", argv[1]);
		return 1;
	}
	b = strrchr(argv[1], '/');
	s.base = b ? b + 1 : argv[1];
	s.index = atoi(argv[2]);
	s.dir = argv[3];
	ret = tracecmd_iterate_events(h, NULL, 0, on_record, &s);
	if (s.f && fclose(s.f))
		ret = -1;
	tracecmd_close(h);
	if (ret < 0) {
		fprintf(stderr, "mkseed: cannot write seeds: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
