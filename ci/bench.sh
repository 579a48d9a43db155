#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: run every benchmark ci/bench/<name>.sh (or BENCH='a b').
# Each measures its comparisons side by side in one run (the machines are
# shared and noisy; TCG times are emulated), prints a summary and keeps its
# raw data under results/bench-*/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
rc=0
for b in ${BENCH:-$(cd "$ROOT/ci/bench" && ls *.sh | sed 's/\.sh$//')}; do
	echo "== bench $b"
	bash "$ROOT/ci/bench/$b.sh" || { echo "bench: $b failed" >&2; rc=1; }
done
exit $rc
