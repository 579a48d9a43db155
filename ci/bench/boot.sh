#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: benchmarks, each measured side by side in one run.
# The board: time from QEMU start to the guest command, over N boots.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
N=${BENCH_BOOTS:-5}
out=$ROOT/results/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

info "bench: booting the board $N times"
: >"$out/boot.tsv"
for i in $(seq 1 "$N"); do
	VM_QUIET=1 "$ROOT/ci/vm/run.sh" -- true </dev/null
	. "$ROOT/build/vm/last/timing"
	printf '%s\t%s\t%s\n' "$boot_s" "$total_s" "$guest_uptime_at_start_s" >>"$out/boot.tsv"
done
sort -n "$out/boot.tsv" | awk -v n="$N" '
	{ b[NR] = $1; t[NR] = $2; g[NR] = $3 }
	END {
		m = int((n + 1) / 2)
		printf "board boot to command: median %.2f s (min %.2f, max %.2f) over %d boots\n", b[m], b[1], b[n], n
		printf "guest uptime at command start: median %.2f s; whole run median %.2f s\n", g[m], t[m]
	}' | tee "$out/summary.txt"
