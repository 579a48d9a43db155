/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A streaming JSON writer. Containers nest up to JSON_MAX_DEPTH; commas and
 * string escaping are handled here. Containers at depth < @pretty_depth put
 * each member on its own line, deeper ones are written inline, so an array
 * of records comes out as one record per line.
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
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	int pretty_depth;
	bool first[JSON_MAX_DEPTH];
	bool error;
};

void json_init(struct json *j, FILE *f, int pretty_depth);
/* @key is NULL inside arrays and for the top-level value. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key,
	      const char *s); /* NULL s: null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_s64(struct json *j, const char *key, int64_t v);
void json_double(struct json *j, const char *key,
		 double v); /* non-finite: null */
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* Write a JSON string literal (quoted, escaped) to @f. */
void json_write_string(FILE *f, const char *s);
int json_finish(struct json *j);

#endif
