#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the analysis report of one million allocation records.
# Generates a seeded synthetic run (cmabench result.json with 1,000,000
# records, the copy bandwidth and an area map), then times `report` on it
# and states its peak memory (GNU time's maximum resident set size). Target:
# at most 30 s of CPU time (user + system: the report is one single-threaded
# process, so on an idle machine that is its wall time; on this shared
# machine the wall time also counts waiting for a CPU and is printed beside
# it with the load average). Raw numbers go to results/bench-analysis-*/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
N=${BENCH_ANALYSIS_RECORDS:-1000000}
LIMIT_S=${BENCH_ANALYSIS_LIMIT_S:-30}
out=$ROOT/results/bench-analysis-$(date +%Y%m%d-%H%M%S)
run=$ROOT/build/bench/analysis-run-$N
mkdir -p "$out" "$(dirname "$run")"

if [ ! -s "$run/result.json" ] || [ ! -s "$run/bpf.json" ]; then
	echo "bench analysis: generating $N synthetic allocation records (seeded, not timed)"
	rm -rf "$run"
	(cd "$ROOT" && "$PY" -m analysis synth "$run" --seed 1 --allocations "$N" --no-trace)
fi
size=$(du -m "$run/result.json" | cut -f1)
echo "bench analysis: report of $N records ($size MiB result.json)"
cd "$ROOT"
/usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
	"$PY" -m analysis -q report "$run" -o "$out/report.html" --text "$out/summary.txt"
read -r wall user sys rss_kb <"$out/time.txt"
cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
count=$(sed -n 's/^allocations: \([0-9]*\) .*/\1/p' "$out/summary.txt")
{
	echo "report of $count allocation records: ${cpu} s CPU (${user} s user, ${sys} s system), ${wall} s wall, peak memory $((rss_kb / 1024)) MiB"
	echo "load: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs (times on a shared machine include waiting)"
} | tee "$out/summary-bench.txt"
[ "$count" = "$N" ] || { echo "bench analysis: the report counted $count records, not $N" >&2; exit 1; }
if awk -v c="$cpu" -v l="$LIMIT_S" 'BEGIN { exit !(c > l) }'; then
	echo "bench analysis: ${cpu} s of CPU is over the ${LIMIT_S} s target" >&2
	exit 1
fi
