// SPDX-License-Identifier: GPL-2.0
/* See util.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* -1 with errno @e. */
static int fail(int e)
{
	errno = e;
	return -1;
}

/*
 * After strtoull(), strtoll() or strtod() with errno cleared: all of the
 * text was one number (@ok: a finite one), and it lies in range. 0 or -1.
 */
static int parsed(const char *end, bool ok, bool in_range)
{
	if (errno || *end || !ok)
		return fail(errno ? errno : EINVAL);
	return in_range ? 0 : fail(ERANGE);
}

/* A signed or floating number: something, and not leading blanks. */
static bool starts_number(const char *s)
{
	return s && *s && !isspace((unsigned char)*s);
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return fail(EINVAL);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (parsed(end, true, v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

int parse_s64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	long long v;
	char *end;

	if (!starts_number(s))
		return fail(EINVAL);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (parsed(end, true, v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!starts_number(s))
		return fail(EINVAL);
	errno = 0;
	v = strtod(s, &end);
	if (parsed(end, isfinite(v), v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t unit, uint64_t *bytes)
{
	static const struct {
		const char *sfx;
		unsigned int shift;
	} sfx[] = { { "K", 10 },   { "KiB", 10 }, { "M", 20 },
		    { "MiB", 20 }, { "G", 30 },	  { "GiB", 30 } };
	unsigned long long v;
	uint64_t mult = unit;
	char *end;
	size_t i;

	if (!s || !isdigit((unsigned char)*s) || !unit) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		for (i = 0; i < ARRAY_SIZE(sfx); i++)
			if (!strcmp(end, sfx[i].sfx))
				break;
		if (i == ARRAY_SIZE(sfx)) {
			errno = EINVAL;
			return -1;
		}
		mult = 1ULL << sfx[i].shift;
	}
	if (v && mult > UINT64_MAX / v) {
		errno = ERANGE;
		return -1;
	}
	if ((v * mult) % unit) {
		errno = EINVAL;
		return -1;
	}
	*bytes = v * mult;
	return 0;
}

ssize_t read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!size) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

int read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	char *nl;

	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return parse_u64(buf, 0, UINT64_MAX, out);
}

int write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	e = errno;
	close(fd);
	if (n < 0 || (size_t)n != len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __thread char errno_buf[24];

const char *errno_num(long long e)
{
	unsigned long long v = e < 0 ? 0ULL - (unsigned long long)e :
				       (unsigned long long)e;

	snprintf(errno_buf, sizeof(errno_buf), "E%llu", v);
	return errno_buf;
}

const char *errno_name(long long e)
{
	const char *n = NULL;

	if (e > -4096 && e < 4096 && e)
		n = strerrorname_np((int)(e < 0 ? -e : e));
	return n ? n : errno_num(e);
}
