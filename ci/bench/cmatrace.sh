#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: cmatrace report vs trace-cmd report on the same large
# trace.dat, side by side in one run, alternating. Two traces:
#  - the bench trace (>= 1M events of many small CMA allocations), recorded
#    once on the virtual board into build/cmatrace-bench/ and reused;
#    BENCH_RUNS runs (default 5);
#  - a trace of 10M events and more: the bench trace's data six times over,
#    each copy later than the one before (bench/grow-trace.py; recording one
#    on the board takes over an hour under TCG); BENCH_RUNS_10M runs
#    (default 3; 0 skips it). trace-cmd report needs minutes on it: its
#    event count is checked on the bench trace, times six here.
# For each: CPU time (user+sys) and wall time of every run, the ratio of
# the medians and the range of the per-run ratios (run i of trace-cmd over
# run i of cmatrace), and the peak resident memory of each reader.
# Goal: cmatrace report (JSONL) >= 10x faster than trace-cmd report.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
RUNS=${BENCH_RUNS:-5}
RUNS_10M=${BENCH_RUNS_10M:-3}
DIR=$ROOT/build/cmatrace-bench
BIG=$DIR/big.dat
BIG10=$DIR/big10m.dat
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
if [ "$RUNS_10M" -gt 0 ] && { [ ! -s "$BIG10" ] || [ "$BIG10" -ot "$BIG" ]; }; then
	/usr/bin/python3 "$ROOT/tools/cmatrace/bench/grow-trace.py" "$BIG" "$BIG10.tmp" 6 >/dev/null
	mv "$BIG10.tmp" "$BIG10"
fi

# run CMD...: "cpu_s wall_s maxrss_kb" of one run (output discarded). CPU
# time is what the comparison rests on: the machines are shared, and a
# loaded neighbour stretches wall time by whole seconds while CPU time
# stays put. cmatrace reads a trace's CPUs in threads of their own, so its
# wall time can be below its CPU time.
run() {
	/usr/bin/time -f '%U %S %e %M' -o "$out/.t" "$@" >/dev/null 2>/dev/null || die "bench: $* failed"
	awk '{ printf "%.3f\t%.3f\t%d\n", $1 + $2, $3, $4 }' "$out/.t"
}

# bench NAME TRACE RUNS [EVENTS]: the alternating runs, their table and
# verdict lines. The events cmatrace reads must be those trace-cmd report
# prints, or EVENTS when given (a grown trace: trace-cmd takes minutes).
bench() {
	local name=$1 dat=$2 n=$3 i events tc_events tsv=$out/$1.tsv
	"$CMATRACE" report -f summary --summary-json "$out/$name.summary.json" "$dat" >"$out/$name.summary.txt"
	events=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_total"])' "$out/$name.summary.json")
	tc_events=${4:-$(trace-cmd report -i "$dat" 2>/dev/null | grep -cE '^ +.*\[[0-9]+\] ')}
	[ "$events" = "$tc_events" ] || die "bench: $name: cmatrace read $events events, expected $tc_events"
	echo "$events" >"$out/$name.events"
	[ "$n" -gt 0 ] || return 0
	printf 'run\ttc_cpu_s\ttc_wall_s\ttc_rss_kb\tcm_cpu_s\tcm_wall_s\tcm_rss_kb\tsum_cpu_s\tsum_wall_s\tsum_rss_kb\n' >"$tsv"
	for i in $(seq 1 "$n"); do
		printf '%s\t%s\t%s\t%s\n' "$i" "$(run trace-cmd report -i "$dat")" \
			"$(run "$CMATRACE" report -o /dev/null "$dat")" \
			"$(run "$CMATRACE" report -f summary "$dat")" >>"$tsv"
	done
	awk -F'\t' -v ev="$events" -v n="$n" -v name="$name" -v size="$(stat -c %s "$dat")" '
	NR > 1 { k = NR - 1
		tc[k] = $2; tw[k] = $3; tr[k] = $4; cm[k] = $5; cw[k] = $6; cr[k] = $7; sm[k] = $8
		rc[k] = $2 / $5; rw[k] = $3 / $6; rs[k] = $2 / $8 }
	function med(x,   i, j, t, y) {
		for (i = 1; i <= n; i++) y[i] = x[i]
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (y[j] < y[i]) { t = y[i]; y[i] = y[j]; y[j] = t }
		return n % 2 ? y[(n + 1) / 2] : (y[n / 2] + y[n / 2 + 1]) / 2
	}
	function lo(x,   i, m) { m = x[1]; for (i = 2; i <= n; i++) if (x[i] < m) m = x[i]; return m }
	function hi(x,   i, m) { m = x[1]; for (i = 2; i <= n; i++) if (x[i] > m) m = x[i]; return m }
	END {
		printf "%s: %d events, %.1f MB; medians of %d alternating runs; ratio = trace-cmd / cmatrace, [min-max] of the per-run ratios\n", name, ev, size / 1e6, n
		printf "  CPU time (user+sys):  trace-cmd report %8.3f s   cmatrace report (JSONL) %7.3f s (%9.0f events/s)   %6.2fx [%.2f-%.2f]\n", med(tc), med(cm), ev / med(cm), med(tc) / med(cm), lo(rc), hi(rc)
		printf "                        cmatrace report -f summary %7.3f s   %6.2fx [%.2f-%.2f]\n", med(sm), med(tc) / med(sm), lo(rs), hi(rs)
		printf "  wall time:            trace-cmd report %8.3f s   cmatrace report (JSONL) %7.3f s   %6.2fx [%.2f-%.2f]\n", med(tw), med(cw), med(tw) / med(cw), lo(rw), hi(rw)
		printf "  peak memory (max RSS): trace-cmd report %d KiB, cmatrace report %d KiB\n", hi(tr), hi(cr)
		printf "  goal >= 10x (JSONL): CPU time %s, wall time %s (per-run minimum %.2fx CPU, %.2fx wall)\n", (lo(rc) >= 10) ? "met" : "NOT met", (lo(rw) >= 10) ? "met" : "NOT met", lo(rc), lo(rw)
	}' "$tsv"
}

{
	bench bench "$BIG" "$RUNS"
	[ "$RUNS_10M" -le 0 ] || bench 10m "$BIG10" "$RUNS_10M" $((6 * $(cat "$out/bench.events")))
} | tee "$out/bench.txt"
rm -f "$out/.t"
