// SPDX-License-Identifier: GPL-2.0
/* See json.h. */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at @p (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 :
									   0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80 ?
			       4 :
			       0;
	}
	return 0;
}

size_t json_escape(char *dst, size_t cap, const char *s, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;

	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			if (o == cap)
				break;
			dst[o++] = (char)*p++;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			if (cap - o < 2)
				break;
			dst[o++] = '\\';
			dst[o++] = (char)*p++;
			continue;
		}
		n = *p >= 0x80 ? utf8_len(p) : 0;
		if (n) {
			if (cap - o < n)
				break;
			memcpy(dst + o, p, n);
			o += n;
			p += n;
			continue;
		}
		/* a control byte, or a byte of no valid UTF-8 sequence */
		if (cap - o < 6)
			break;
		memcpy(dst + o, "\\u00", 4);
		dst[o + 4] = hex[*p >> 4];
		dst[o + 5] = hex[*p & 15];
		o += 6;
		p++;
	}
	*len = o;
	return (size_t)((const char *)p - s);
}

void json_write_string(FILE *f, const char *s)
{
	char buf[256];
	size_t n;

	fputc('"', f);
	while (*s) {
		s += json_escape(buf, sizeof(buf), s, &n);
		fwrite(buf, 1, n, f);
	}
	fputc('"', f);
}

void json_init(struct json *j, FILE *f, int pretty_depth)
{
	j->f = f;
	j->depth = 0;
	j->pretty_depth = pretty_depth;
	j->compact = false;
	j->first[0] = true;
	j->lines[0] = 0;
	j->error = false;
}

void json_set_compact(struct json *j, bool compact)
{
	j->compact = compact;
}

void json_lines(struct json *j, unsigned int mode)
{
	j->lines[j->depth] = (unsigned char)mode;
}

/* Separator, newline/indent and key before a value at the current depth. */
static void json_member(struct json *j, const char *key)
{
	int i;

	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		if (j->lines[j->depth]) {
			fputc('\n', j->f);
		} else if (j->depth <= j->pretty_depth) {
			fputc('\n', j->f);
			for (i = 0; i < j->depth; i++)
				fputs("  ", j->f);
		} else if (!j->first[j->depth] && !j->compact) {
			fputc(' ', j->f);
		}
	}
	j->first[j->depth] = false;
	if (key) {
		json_write_string(j->f, key);
		fputs(j->compact ? ":" : ": ", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->error = true;
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
	j->lines[j->depth] = 0;
}

static void json_close(struct json *j, char c)
{
	bool empty = j->first[j->depth];
	bool nl = j->lines[j->depth] & JSON_LINES_CLOSE;
	int i;

	if (j->depth == 0) {
		j->error = true;
		return;
	}
	j->depth--;
	if (nl) {
		fputc('\n', j->f);
	} else if (!empty && j->depth < j->pretty_depth) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
}

void json_obj_begin(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_end(struct json *j)
{
	json_close(j, '}');
}

void json_arr_begin(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_end(struct json *j)
{
	json_close(j, ']');
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_member(j, key);
	if (s)
		json_write_string(j->f, s);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_u64s(struct json *j, const struct json_u64_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_u64(j, kv[i].key, kv[i].v);
}

void json_s64(struct json *j, const char *key, int64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(struct json *j, const char *key, double v)
{
	json_member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_fixed(struct json *j, const char *key, double v, int decimals)
{
	json_member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

FILE *json_raw(struct json *j, const char *key)
{
	json_member(j, key);
	return j->f;
}

int json_finish(struct json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) || ferror(j->f) || j->error || j->depth)
		return -1;
	return 0;
}
