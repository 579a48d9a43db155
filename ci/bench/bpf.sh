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
# Two workloads: "camera", cmabench's camera scenario (8 MiB buffers, six
# held, the area half full, so allocations migrate pages: what a board
# does; the target applies here), and "small", CMAKIT_BENCH_BPF_COUNT
# (default 100) allocations of 256 pages from an empty area, the cheapest
# allocation there is and so the worst case for any tracer. Each runs
# CMAKIT_BENCH_BPF_ROUNDS (default 3) rounds per mode.
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
	[ -x "$ROOT/build/cmabench/cmabench" ] || die "bench bpf: build/cmabench/cmabench missing (make tools)"
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
BENCH=$ROOT/build/cmabench/cmabench
BPF=$ROOT/build/bpf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "$(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" >"$out/kernel"
for w in camera small; do
	case $w in
	camera) args=(--scenario camera) ;;
	small) args=(-S 256 -n "$COUNT") ;;
	esac
	for r in $(seq 1 "$ROUNDS"); do
		for mode in bare bpf bare2 perf trace-cmd; do
			j=$out/$w-$mode-$r.json
			b=("$BENCH" "${args[@]}" -q -o "$tmp/res" --json "$j")
			case $mode in
			bare | bare2) "${b[@]}" >/dev/null ;;
			bpf) "$BPF/cmacollect" -o "$out/$w-bpf-$r.collect.json" -- "${b[@]}" >/dev/null 2>"$out/$w-bpf-$r.err" ;;
			perf)
				perf record -q -e 'cma:*' -o "$tmp/perf.data" -- "${b[@]}" >/dev/null 2>"$out/$w-perf-$r.err"
				;;
			trace-cmd)
				trace-cmd record -q -e cma -o "$tmp/trace.dat" "${b[@]}" >/dev/null 2>"$out/$w-trace-cmd-$r.err"
				trace-cmd report -i "$tmp/trace.dat" 2>/dev/null | grep -c ' cma_' >"$out/$w-trace-cmd-$r.events"
				;;
			esac || echo "bench bpf: $w $mode round $r failed" >&2
		done
	done
done

/usr/bin/python3 - "$out" "$ROUNDS" <<'PY' | tee "$out/summary.txt"
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(w, mode):
    v, n = [], 0
    for r in range(1, rounds + 1):
        p = os.path.join(out, "%s-%s-%d.json" % (w, mode, r))
        if not os.path.exists(p):
            continue
        for a in json.load(open(p))["allocations"]:
            n += 1
            if a["ok"]:
                v.append(a["kernel_ns"] if a.get("kernel_ns") else a["user_ns"])
    return v, n
def events(w):
    n = 0
    for r in range(1, rounds + 1):
        try:
            n += int(open(os.path.join(out, "%s-trace-cmd-%d.events" % (w, r))).read())
        except (OSError, ValueError):
            pass
    return n
res = {"schema": "cmakit.bench-bpf/1.0", "kernel": open(os.path.join(out, "kernel")).read().strip(),
       "target_ratio": 1.03, "workloads": {}}
print("bpf tools overhead, kernel %s" % res["kernel"])
status = "PASS"
for w in ("camera", "small"):
    base = load(w, "bare")[0] + load(w, "bare2")[0]
    if not base:
        print("  %s: no bare allocations recorded" % w)
        status = "ERROR"
        continue
    mb = statistics.median(base)
    # the noise floor: the two bare runs of each round, one before and one after the tools
    b1, b2 = load(w, "bare")[0], load(w, "bare2")[0]
    noise = abs(statistics.median(b2) / statistics.median(b1) - 1) if b1 and b2 else None
    _, ntrace = load(w, "trace-cmd")
    evpa = events(w) / float(ntrace) if ntrace else 0.0
    wr = {"baseline_median_ns": mb, "baseline_n": len(base), "cma_events_per_allocation": evpa,
          "noise": noise, "modes": {}}
    print("  workload %s: %d bare allocations, %.1f cma events per allocation, noise (bare vs bare) %s" %
          (w, len(base), evpa, "%.1f%%" % (noise * 100) if noise is not None else "-"))
    print("    %-10s %12s %8s %14s %14s" % ("mode", "median_us", "ratio", "overhead_us", "ns_per_event"))
    print("    %-10s %12.1f %8s" % ("bare", mb / 1e3, "1.000"))
    for mode in ("bpf", "perf", "trace-cmd"):
        v, _ = load(w, mode)
        if not v:
            print("    %-10s %12s" % (mode, "failed"))
            status = "ERROR"
            continue
        m = statistics.median(v)
        # an overhead below the noise floor has no per-event cost to speak of
        per_ev = (m - mb) / evpa if evpa and noise is not None and m / mb - 1 > noise else None
        wr["modes"][mode] = {"median_ns": m, "ratio": m / mb, "overhead_ns": m - mb, "ns_per_event": per_ev, "n": len(v)}
        print("    %-10s %12.1f %8.3f %14.1f %14s" % (mode, m / 1e3, m / mb, (m - mb) / 1e3,
              "%.0f" % per_ev if per_ev is not None else "< noise"))
    res["workloads"][w] = wr
r = res["workloads"].get("camera", {}).get("modes", {}).get("bpf", {}).get("ratio")
if status == "PASS" and (r is None or r > 1.03):
    status = "FAIL"
res["status"] = status
cn = res["workloads"].get("camera", {}).get("noise")
print("  camera: bpf tools ratio %s (target <= 1.03): %s%s" % ("%.3f" % r if r else "-", status,
      "; the bare runs differ by %.1f%%, so differences below that are noise" % (cn * 100) if cn else ""))
json.dump(res, open(os.path.join(out, "summary.json"), "w"), indent=1)
PY
