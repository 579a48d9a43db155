/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON writer of every cmakit tool: one escaping rule and a streaming
 * writer on a stdio stream.
 *
 * Strings: valid UTF-8 is passed through; control bytes (0x00-0x1f, 0x7f)
 * and bytes that are not part of a valid UTF-8 sequence are written as
 * \u00XX (lower-case hex); '"' and '\\' get a backslash. json_escape() is
 * the rule; json_write_string() and the writer use it, and a tool with its
 * own output buffer (cmatrace) calls it directly.
 *
 * The writer: containers nest up to JSON_MAX_DEPTH; commas are handled here.
 * Containers at depth < @pretty_depth put each member on its own line,
 * indented, deeper ones are written inline ("a": 1, "b": 2), so an array of
 * records comes out as one record per line. json_set_compact() drops the
 * spaces after ':' and ','; json_lines() starts each following member of
 * the innermost open container on a new line, unindented.
 *
 *	struct json j;
 *	json_init(&j, stdout, 2);
 *	json_obj_begin(&j, NULL);
 *	json_str(&j, "schema", "x/1.0");
 *	json_arr_begin(&j, "v");
 *	json_u64(&j, NULL, 1);
 *	json_arr_end(&j);
 *	json_obj_end(&j);
 *	json_finish(&j);	(adds the final newline; returns -1 on a write error)
 */
#ifndef CMAKIT_JSON_H
#define CMAKIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

/* The most bytes json_escape() writes for one input byte. */
#define JSON_ESCAPE_MAX 6

/*
 * Escape the NUL-terminated @s into @dst (no quotes, no NUL added), writing
 * at most @cap bytes and never splitting a character or an escape. Returns
 * the number of bytes of @s consumed (strlen(s) when all of it fit); *@len
 * is the number of bytes written. @cap >= 6 always makes progress.
 */
size_t json_escape(char *dst, size_t cap, const char *s, size_t *len);
/* Write @s as a JSON string literal (quoted, escaped) to @f. */
void json_write_string(FILE *f, const char *s);

/* json_lines() modes */
enum {
	JSON_LINES = 1, /* a newline before each following member */
	JSON_LINES_CLOSE = 2, /* and one before the closing bracket */
};

struct json {
	FILE *f;
	int depth;
	int pretty_depth;
	bool compact;
	bool first[JSON_MAX_DEPTH];
	unsigned char lines[JSON_MAX_DEPTH];
	bool error;
};

void json_init(struct json *j, FILE *f, int pretty_depth);
/* No space after ':' and ',' from now on. */
void json_set_compact(struct json *j, bool compact);
/* Members of the innermost open container from now on: JSON_LINES[|_CLOSE]. */
void json_lines(struct json *j, unsigned int mode);
/* @key is NULL inside arrays and for the top-level value. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key,
	      const char *s); /* NULL s: null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_s64(struct json *j, const char *key, int64_t v);
/* A run of integer members, in order */
struct json_u64_kv {
	const char *key;
	uint64_t v;
};
void json_u64s(struct json *j, const struct json_u64_kv *kv, size_t n);
void json_double(struct json *j, const char *key,
		 double v); /* %.6g; non-finite: null */
/* @v with @decimals digits after the point (%.*f); non-finite: null */
void json_fixed(struct json *j, const char *key, double v, int decimals);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/*
 * A member whose value the caller writes itself (already JSON) to the
 * returned stream, before the next call on @j.
 */
FILE *json_raw(struct json *j, const char *key);
int json_finish(struct json *j);

#endif
