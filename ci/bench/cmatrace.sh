#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: cmatrace report vs trace-cmd report on the same large
# trace.dat (>= 1M events of many small CMA allocations), side by side in one
# run, alternating, median of BENCH_RUNS (default 5). The trace is recorded
# once on the virtual board into build/cmatrace-bench/ and reused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
RUNS=${BENCH_RUNS:-5}
DIR=$ROOT/build/cmatrace-bench
BIG=$DIR/big.dat
CMATRACE=$ROOT/build/cmatrace/cmatrace
out=$ROOT/results/bench-cmatrace-$(date +%Y%m%d-%H%M%S)
mkdir -p "$DIR" "$out"

make -s -C "$ROOT/tools/cmatrace" cmatrace
if [ ! -s "$BIG" ]; then
	info "bench: recording $BIG on the board (about 7 minutes under TCG)"
	"$ROOT/ci/vm/run.sh" --cma 256M --timeout 1500 --out "$DIR" -- \
		"$ROOT/tools/cmatrace/bench/gen-trace.sh" "$BIG.tmp" 105000 2 </dev/null
	mv "$BIG.tmp" "$BIG"
fi

# The event count, both ways: they must agree.
"$CMATRACE" report -f summary --summary-json "$out/summary.json" "$BIG" >"$out/summary.txt"
events=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_total"])' "$out/summary.json")
tc_events=$(trace-cmd report -i "$BIG" 2>/dev/null | grep -cE '^ +.*\[[0-9]+\] ')
[ "$events" = "$tc_events" ] || die "bench: cmatrace read $events events, trace-cmd report $tc_events"
[ "$events" -ge 1000000 ] || info "bench: only $events events (goal: >= 1000000)"

# cpu CMD...: user+system CPU seconds of one run (output discarded). CPU
# time, not wall time: the machines are shared, and a loaded neighbour
# stretches wall time by whole seconds while CPU time stays put.
cpu() {
	/usr/bin/time -f '%U %S %e' -o "$out/.t" "$@" >/dev/null 2>/dev/null || die "bench: $* failed"
	awk '{ printf "%.3f\t%.3f\n", $1 + $2, $3 }' "$out/.t"
}

printf 'run\ttrace_cmd_cpu_s\ttrace_cmd_wall_s\tcmatrace_cpu_s\tcmatrace_wall_s\tsummary_cpu_s\tsummary_wall_s\n' >"$out/times.tsv"
for i in $(seq 1 "$RUNS"); do
	a=$(cpu trace-cmd report -i "$BIG")
	b=$(cpu "$CMATRACE" report -o /dev/null "$BIG")
	c=$(cpu "$CMATRACE" report -f summary "$BIG")
	printf '%s\t%s\t%s\t%s\n' "$i" "$a" "$b" "$c" >>"$out/times.tsv"
done
rm -f "$out/.t"
awk -F'\t' -v ev="$events" -v n="$RUNS" 'NR > 1 { a[NR-1] = $2; b[NR-1] = $4; c[NR-1] = $6; wa[NR-1] = $3; wb[NR-1] = $5 }
	function med(x,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
		return x[int((n + 1) / 2)]
	}
	END {
		ma = med(a); mb = med(b); mc = med(c)
		printf "trace.dat: %d events; medians of %d alternating runs, CPU time (user+sys)\n", ev, n
		printf "trace-cmd report > /dev/null:  %7.3f s  %9.0f events/s\n", ma, ev / ma
		printf "cmatrace report (JSONL):       %7.3f s  %9.0f events/s  %.2fx\n", mb, ev / mb, ma / mb
		printf "cmatrace report -f summary:    %7.3f s  %9.0f events/s  %.2fx\n", mc, ev / mc, ma / mc
		printf "wall time medians: trace-cmd %.3f s, cmatrace %.3f s (%.2fx)\n", med(wa), med(wb), med(wa) / med(wb)
		printf "goal >= 5x (JSONL, CPU time): %s\n", (ma / mb >= 5) ? "met" : "NOT met"
	}' "$out/times.tsv" | tee "$out/bench.txt"
