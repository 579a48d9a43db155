// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tools/lib: the JSON escaping rule and writer, the errno
 * table, strict number parsing. TAP on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"
#include "util.h"

/* @s escaped by json_write_string() equals @want. */
static bool quoted_is(const char *s, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool same;

	if (!f)
		return false;
	json_write_string(f, s);
	fclose(f);
	same = !strcmp(buf, want);
	if (!same)
		tap_diag("got %s, want %s", buf, want);
	free(buf);
	return same;
}

static void test_escape(void)
{
	char big[1000], want[6 * 1000], out[16];
	size_t i, n, used;

	tap_ok(quoted_is("plain ascii", "\"plain ascii\""),
	       "printable ASCII passes through");
	tap_ok(quoted_is("a\"b\\c", "\"a\\\"b\\\\c\""),
	       "'\"' and '\\' get a backslash");
	tap_ok(quoted_is("\n\t\r\x01\x1f\x7f",
			 "\"\\u000a\\u0009\\u000d\\u0001\\u001f\\u007f\""),
	       "control bytes (and DEL) are \\u00XX");
	tap_ok(quoted_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
	       "valid UTF-8 (2, 3 and 4 bytes) passes through");
	tap_ok(quoted_is("\xff\xc3(\xe2\x82",
			 "\"\\u00ff\\u00c3(\\u00e2\\u0082\""),
	       "invalid and truncated UTF-8 bytes are \\u00XX");
	tap_ok(quoted_is("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80",
			 "\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080"
			 "\\u00f4\\u0090\\u0080\\u0080\""),
	       "overlong forms, surrogates and code points > U+10FFFF are \\u00XX");
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 3 ? 'x' : '\n';
	big[i] = '\0';
	for (i = 0, n = 0; big[i]; i++)
		n += (size_t)sprintf(want + n, big[i] == 'x' ? "x" : "\\u000a");
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		json_write_string(f, big);
		fclose(f);
		tap_ok(len == n + 2 && !memcmp(buf + 1, want, n),
		       "a long string is escaped whole (%zu bytes)", len);
		free(buf);
	}
	used = json_escape(out, 7, "ab\x01", &n);
	tap_ok(used == 2 && n == 2,
	       "json_escape never splits an escape (%zu consumed, %zu written)",
	       used, n);
	used = json_escape(out, 3, "a\xe2\x82\xac", &n);
	tap_ok(used == 1 && n == 1, "json_escape never splits a character");
}

/* A JSON writer on a memory stream; mem_json_end() leaves the text in *buf */
static FILE *mem_json(struct json *j, char **buf, size_t *len, int pretty)
{
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, len);
	json_init(j, f, pretty);
	return f;
}

static int mem_json_end(struct json *j, FILE *f)
{
	int rc = json_finish(j);

	fclose(f);
	return rc;
}

static void test_writer(void)
{
	char *buf;
	size_t len = 0;
	struct json j;
	FILE *f = mem_json(&j, &buf, &len, 0);
	int rc;

	json_set_compact(&j, true);
	json_obj_begin(&j, NULL);
	json_str(&j, "tool", "t");
	json_fixed(&j, "d", 1.5, 3);
	json_arr_begin(&j, "records");
	json_lines(&j, JSON_LINES | JSON_LINES_CLOSE);
	json_obj_begin(&j, NULL);
	json_u64(&j, "a", 1);
	json_s64(&j, "b", -2);
	json_obj_end(&j);
	json_obj_begin(&j, NULL);
	json_null(&j, "c");
	json_obj_end(&j);
	json_arr_end(&j);
	fputs("[1]", json_raw(&j, "raw"));
	json_lines(&j, JSON_LINES);
	json_bool(&j, "e", true);
	json_obj_end(&j);
	rc = mem_json_end(&j, f);
	tap_ok(rc == 0 && !strcmp(buf,
				  "{\"tool\":\"t\",\"d\":1.500,\"records\":[\n"
				  "{\"a\":1,\"b\":-2},\n{\"c\":null}\n],"
				  "\"raw\":[1],\n\"e\":true}\n"),
	       "compact writer with line-per-member containers");
	free(buf);

	f = mem_json(&j, &buf, &len, 1);
	json_obj_begin(&j, NULL);
	json_arr_begin(&j, "v");
	json_u64(&j, NULL, 1);
	json_u64(&j, NULL, 2);
	json_arr_end(&j);
	json_obj_begin(&j, "e");
	json_obj_end(&j);
	json_obj_end(&j);
	rc = mem_json_end(&j, f);
	tap_ok(rc == 0 && !strcmp(buf, "{\n  \"v\": [1, 2],\n  \"e\": {}\n}\n"),
	       "pretty writer: one member per line at depth 1, inline below");
	free(buf);

	f = mem_json(&j, &buf, &len, 1);
	json_obj_begin(&j, NULL);
	rc = mem_json_end(&j, f);
	tap_ok(rc == -1, "json_finish reports an unclosed container");
	free(buf);
}

static void test_errno(void)
{
	tap_ok(!strcmp(errno_name(EBUSY), "EBUSY") &&
		       !strcmp(errno_name(-ENOMEM), "ENOMEM"),
	       "errno_name: EBUSY and -ENOMEM by name");
	tap_ok(!strcmp(errno_name(4000), "E4000") &&
		       !strcmp(errno_name(-5000), "E5000"),
	       "errno_name: an unknown value is E<n>");
	tap_ok(!strcmp(errno_name(0), "E0"), "errno_name: 0 is E0");
}

static void test_parse(void)
{
	uint64_t v;
	int64_t s;

	tap_ok(!parse_u64("42", 0, 100, &v) && v == 42, "parse_u64 42");
	tap_ok(parse_u64("101", 0, 100, &v) && errno == ERANGE,
	       "parse_u64 range");
	tap_ok(parse_u64("4x", 0, 100, &v) && errno == EINVAL,
	       "parse_u64 rejects junk");
	tap_ok(!parse_s64("-7", -10, 10, &s) && s == -7, "parse_s64 -7");
	tap_ok(!parse_size("2M", 4096, &v) && v == 2 << 20, "parse_size 2M");
}

int main(void)
{
	test_escape();
	test_writer();
	test_errno();
	test_parse();
	return tap_done();
}
