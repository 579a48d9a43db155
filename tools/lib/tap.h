/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP for the C unit tests (the shell tests have ci/tests/tap.sh): one line
 * per check on stdout, the plan "1..N" at the end.
 *
 *	tap_ok(parse_u64("5", 0, 9, &v) == 0, "parse_u64 %s", "5");
 *	tap_skip("no /proc/kpageflags", "page kinds");
 *	return tap_done();	(exit status: 0 when every check passed)
 */
#ifndef CMAKIT_TAP_H
#define CMAKIT_TAP_H

#include <stdbool.h>

/* "ok N - what" or "not ok N - what"; returns @cond. */
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "ok N - what # SKIP reason": the feature is absent, not a pass. */
void tap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "# text" */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks so far, and how many failed. */
int tap_count(void);
int tap_failures(void);
/* Print the plan; 0 if nothing failed, else 1. */
int tap_done(void);

#endif
