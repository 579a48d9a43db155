#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: what the BPF tools cost the allocations they watch. One boot
# of the board; the same cmabench workload runs bare, under cmacollect
# (cmalat + cmafail + cmamigrate), under `perf record -e 'cma:*'` and under
# `trace-cmd record -e cma`, interleaved over several rounds so that drift
# of the shared, emulated machine hits every mode alike. The result is the
# ratio of median allocation latency to the bare runs (target for the BPF
# tools: at most 1.03) and the cost per traced event.
#
# CMAKIT_BENCH_BPF_ROUNDS (default 3) rounds of CMAKIT_BENCH_BPF_COUNT
# (default 100) allocations of CMAKIT_BENCH_BPF_PAGES (default 256) pages
# per mode.
#
# The board boots with tsc=reliable (CMAKIT_BENCH_BPF_APPEND to change):
# under TCG the kernel otherwise distrusts the TSC and reads the emulated
# HPET, a device access that costs more than everything else a probe does,
# for every timestamp of the tools, of perf and of ftrace alike. Real boards
# read a CPU counter.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != --board ]; then
	. "$ROOT/ci/lib.sh"
	[ -x "$ROOT/build/bpf/cmacollect" ] || die "bench bpf: build/bpf/cmacollect missing (make bpf)"
	[ -x "$ROOT/tools/cmabench/cmabench" ] || die "bench bpf: tools/cmabench/cmabench missing (make tools)"
	out=$ROOT/results/bench-bpf-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	info "bench bpf: one board boot, results in ${out#"$ROOT"/}"
	VM_QUIET=1 CMAKIT_BENCH_OUT=$out "$ROOT/ci/vm/run.sh" --cma 256M --timeout 1800 \
		--append "${CMAKIT_BENCH_BPF_APPEND-tsc=reliable}" -- \
		bash "$ROOT/ci/bench/bpf.sh" --board </dev/null
	exit
fi

# ---- inside the board ---------------------------------------------------------
out=${CMAKIT_BENCH_OUT:?}
ROUNDS=${CMAKIT_BENCH_BPF_ROUNDS:-3}
COUNT=${CMAKIT_BENCH_BPF_COUNT:-100}
PAGES=${CMAKIT_BENCH_BPF_PAGES:-256}
BENCH=$ROOT/tools/cmabench/cmabench
BPF=$ROOT/build/bpf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench() {
	"$BENCH" -S "$PAGES" -n "$COUNT" -q -o "$tmp/res" --json "$1" >/dev/null
}

echo "$(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" >"$out/kernel"
for r in $(seq 1 "$ROUNDS"); do
	for mode in bare bpf bare2 perf trace-cmd; do
		j=$out/$mode-$r.json
		case $mode in
		bare | bare2) bench "$j" ;;
		bpf) "$BPF/cmacollect" -o "$out/bpf-$r.collect.json" -- "$BENCH" -S "$PAGES" -n "$COUNT" -q \
			-o "$tmp/res" --json "$j" >/dev/null 2>"$out/bpf-$r.err" ;;
		perf) perf record -q -e 'cma:*' -o "$tmp/perf.data" -- "$BENCH" -S "$PAGES" -n "$COUNT" -q \
			-o "$tmp/res" --json "$j" >/dev/null 2>"$out/perf-$r.err"
			perf script -i "$tmp/perf.data" 2>/dev/null | wc -l >"$out/perf-$r.events" ;;
		trace-cmd) trace-cmd record -q -e cma -o "$tmp/trace.dat" "$BENCH" -S "$PAGES" -n "$COUNT" -q \
			-o "$tmp/res" --json "$j" >/dev/null 2>"$out/trace-cmd-$r.err"
			trace-cmd report -i "$tmp/trace.dat" 2>/dev/null | grep -c ' cma_' >"$out/trace-cmd-$r.events" ;;
		esac || echo "bench bpf: $mode round $r failed" >&2
	done
done

/usr/bin/python3 - "$out" "$ROUNDS" "$COUNT" "$PAGES" <<'PY' | tee "$out/summary.txt"
import json, os, statistics, sys
out, rounds, count, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def lat(mode):
    v = []
    for r in range(1, rounds + 1):
        p = os.path.join(out, "%s-%d.json" % (mode, r))
        if not os.path.exists(p):
            continue
        for a in json.load(open(p))["allocations"]:
            if a["ok"]:
                v.append(a["kernel_ns"] if a.get("kernel_ns") else a["user_ns"])
    return v
def events(mode):
    n = 0
    for r in range(1, rounds + 1):
        try:
            n += int(open(os.path.join(out, "%s-%d.events" % (mode, r))).read())
        except (OSError, ValueError):
            pass
    return n
base = lat("bare") + lat("bare2")
if not base:
    print("bench bpf: no bare allocations recorded")
    sys.exit(1)
mb = statistics.median(base)
ev_per_alloc = events("trace-cmd") / float(rounds * count) if events("trace-cmd") else 0
res = {"schema": "cmakit.bench-bpf/1.0", "pages": pages, "allocations_per_mode": rounds * count,
       "baseline_median_ns": mb, "cma_events_per_allocation": ev_per_alloc, "modes": {}}
print("bpf tools overhead: %d x %d allocations of %d pages per mode, kernel %s" %
      (rounds, count, pages, open(os.path.join(out, "kernel")).read().strip()))
print("  %-10s %12s %8s %14s %14s" % ("mode", "median_us", "ratio", "overhead_us", "ns_per_event"))
print("  %-10s %12.1f %8s" % ("bare", mb / 1e3, "1.000"))
for mode in ("bpf", "perf", "trace-cmd"):
    v = lat(mode)
    if not v:
        print("  %-10s %12s" % (mode, "failed"))
        continue
    m = statistics.median(v)
    per_ev = (m - mb) / ev_per_alloc if ev_per_alloc else float("nan")
    res["modes"][mode] = {"median_ns": m, "ratio": m / mb, "overhead_ns": m - mb,
                          "ns_per_event": per_ev, "n": len(v)}
    print("  %-10s %12.1f %8.3f %14.1f %14.1f" % (mode, m / 1e3, m / mb, (m - mb) / 1e3, per_ev))
r = res["modes"].get("bpf", {}).get("ratio")
res["target_ratio"] = 1.03
res["status"] = "PASS" if r is not None and r <= 1.03 else "FAIL"
print("  bpf tools ratio %s (target <= 1.03): %s; %.1f cma events per allocation (trace-cmd)" %
      ("%.3f" % r if r else "-", res["status"], ev_per_alloc))
json.dump(res, open(os.path.join(out, "summary.json"), "w"), indent=1)
PY
