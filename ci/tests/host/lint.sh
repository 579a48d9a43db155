#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make lint` as a test: clang-format, cppcheck, bash -n and checkpatch
# --strict on the series must be clean.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"

out=$(bash "$ROOT/ci/lint.sh" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	t_ok "make lint is clean"
	echo "$out" | sed 's/^/# /'
else
	t_fail "make lint is clean" "$(echo "$out" | tail -n 30)"
fi
t_done
