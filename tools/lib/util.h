/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small routines shared by the cmakit tools: strict number and size parsing,
 * reading and writing one-value kernel files (sysfs, debugfs, procfs), and
 * the monotonic clock. Every function reports failure by its return value
 * and leaves errno set; none prints.
 */
#ifndef CMAKIT_UTIL_H
#define CMAKIT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Parse all of @s as a base-10 unsigned integer in [min, max]. 0 or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parse all of @s as a signed integer in [min, max]. 0 or -1. */
int parse_s64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parse a finite decimal number in [min, max]. 0 or -1. */
int parse_double(const char *s, double min, double max, double *out);
/*
 * Parse a size: a plain number is in @unit bytes (e.g. 4096 for pages, 1 for
 * bytes); a suffix K, M, G (or KiB, MiB, GiB; powers of 1024) makes it bytes.
 * The result is in bytes and must be a multiple of @unit. 0 or -1.
 */
int parse_size(const char *s, uint64_t unit, uint64_t *bytes);

/* Read a whole small file into @buf (NUL-terminated, trailing newline kept). Bytes read or -1. */
ssize_t read_file(const char *path, char *buf, size_t size);
/* Read a file holding one unsigned decimal number. 0 or -1. */
int read_u64_file(const char *path, uint64_t *out);
/* Write @s to an existing file (no O_CREAT) in one write(). 0, or -1 with errno from write(). */
int write_file(const char *path, const char *s);
/* printf-style path join into @buf; -1 if it does not fit. */
int pathf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The errno table of every tool: the symbolic name of errno value @e
 * ("EBUSY" for EBUSY or -EBUSY: the sign is ignored), or errno_num(@e) for
 * a value the C library has no name for.
 */
const char *errno_name(long long e);
/*
 * "E<n>", n = |@e|: the name of a value without one. Both return text in a
 * per-thread buffer that the next call of either overwrites.
 */
const char *errno_num(long long e);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif
