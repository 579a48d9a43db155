#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: what the BPF tools cost the allocations they watch. One boot
# of the board; the same cmabench workload runs bare, under cmacollect
# (cmalat + cmafail + cmamigrate), under `perf record -e 'cma:*'` and under
# `trace-cmd record -e cma`, interleaved over several rounds so that drift
# of the shared, emulated machine hits every mode alike. The result is the
# ratio of allocation latency (10% trimmed mean) to the bare runs (target for the BPF
# tools: at most 1.03) and the cost per traced event, each with a 95%
# bootstrap interval (rounds resampled, then the allocations of each run),
# and the BPF tools' cost per event against trace-cmd's.
#
# An allocation's cost is measured two ways: "call", cmabench's time for
# its allocation and its release calls (user_ns + release_ns), which holds
# what every probe of every event costs, and "kernel", the series'
# elapsed_ns (kernel_ns), steadier, but taken before cma_alloc_finish
# fires, so blind to the probes on cma_alloc_finish and cma_release; the
# target applies to "call".
#
# Two workloads: "camera", cmabench's camera scenario (8 MiB buffers, six
# held, the area half full, so allocations migrate pages: what a board
# does; the target applies here), and "small", CMAKIT_BENCH_BPF_COUNT
# (default 100) allocations of 256 pages from an empty area, the cheapest
# allocation there is and so the worst case for any tracer. Each runs
# CMAKIT_BENCH_BPF_ROUNDS (default 3) rounds per mode.
#
# After the rounds, one more cmacollect run per workload with
# kernel.bpf_stats_enabled=1 gives each BPF program's cost (bpftool's
# run_time_ns / run_cnt) and runs per allocation, and trace-cmd's record
# gives the events per allocation by event; the sysctl is set back to what
# it was. These runs are not part of the ratios. Each run also keeps every
# task's CPU time before and after the workload (/proc/PID/schedstat), and
# the summary names what else ran meanwhile: a tracer's own tasks.
#
# Clock: the board boots with tsc=reliable (CMAKIT_BENCH_BPF_APPEND to
# change): under TCG the kernel otherwise distrusts the TSC and reads the
# emulated HPET, a device access that costs more than everything else a
# probe does, for every timestamp of the tools, of perf and of ftrace alike.
# Real boards read a CPU counter. CMAKIT_BENCH_BPF_ICOUNT=SHIFT boots with
# ci/vm/run.sh --icount SHIFT (one guest CPU): the guest clock counts
# instructions, 2^SHIFT ns each, so the figures no longer move with the
# host's load; the summary names the clock it used.
# CMAKIT_BENCH_BPF_TOOLS=DIR takes the BPF tools from DIR, not build/bpf;
# CMAKIT_BENCH_BPF_BASE=DIR adds the mode bpf-base, the cmacollect of DIR
# (e.g. a copy of an earlier build), beside bpf in every round: a before and
# after in one boot. CMAKIT_BENCH_BPF_MODES (default "bare bpf bare2 perf
# trace-cmd") and CMAKIT_BENCH_BPF_WORKLOADS (default "camera small") pick
# what runs; the ratios need bare, the cost per event trace-cmd.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# --summary DIR: the summary of the runs in DIR (on the host, after the board)
if [ "${1:-}" = --summary ]; then
	[ -d "${2:-}" ] || { echo "bench bpf: --summary needs a results directory" >&2; exit 1; }
	/usr/bin/python3 - "$2" <<'PY' | tee "$2/summary.txt"
import json, os, sys
import numpy as np
out = sys.argv[1]
def text(name, default=""):
    try:
        return open(os.path.join(out, name)).read().strip()
    except OSError:
        return default
rounds = int(text("rounds", "3"))
B = 2000
MODES = [m for m in text("modes", "bare bpf bare2 perf trace-cmd").split() if m not in ("bare", "bare2")]
# pairs compared per event, in the same resamples: (a, b) gives a - b
PAIRS = [p for p in (("bpf", "trace-cmd"), ("bpf-base", "trace-cmd"), ("bpf", "bpf-base")) if p[0] in MODES and p[1] in MODES]
rng = np.random.default_rng(20261201)
# What an allocation costs, two ways. "call": its allocation and release
# calls as cmabench times them (user_ns + release_ns), where every probe of
# every event runs. "kernel": the series' elapsed_ns (kernel_ns), which
# cma_alloc() takes before cma_alloc_finish fires: it leaves out what the
# probes on cma_alloc_finish (and cma_release) cost, but is the steadiest.
METRICS = (("call", "allocation + release calls (user_ns + release_ns): every event's probes included"),
           ("kernel", "kernel_ns (elapsed_ns, taken before cma_alloc_finish fires: its probes left out)"))
def run(w, mode, r, metric="call"):
    """The costs of the allocations that succeeded, and how many there were."""
    try:
        allocs = json.load(open(os.path.join(out, "%s-%s-%d.json" % (w, mode, r))))["allocations"]
    except (OSError, ValueError, KeyError):
        return None, 0
    if metric == "call":
        v = [a["user_ns"] + (a.get("release_ns") or 0) for a in allocs if a["ok"]]
    else:
        v = [a["kernel_ns"] if a.get("kernel_ns") else a["user_ns"] for a in allocs if a["ok"]]
    return (np.array(v, float) if v else None), len(allocs)
def events(w):
    """cma events per allocation, in all and by event, from trace-cmd's records."""
    by, n = {}, 0
    for r in range(1, rounds + 1):
        _, na = run(w, "trace-cmd", r)
        lines = text("%s-trace-cmd-%d.events" % (w, r)).split("\n")
        got = [l.split() for l in lines if len(l.split()) == 2]
        if not na or not got:
            continue
        n += na
        for name, c in got:
            by[name] = by.get(name, 0) + int(c)
    return {k: v / n for k, v in sorted(by.items())} if n else {}
def cpu_others(w, mode):
    """CPU time of the tasks other than the workload during it, by name, per allocation (ns)."""
    by, n = {}, 0
    for r in range(1, rounds + 1):
        pre = os.path.join(out, "%s-%s-%d" % (w, mode, r))
        try:
            t0 = {l.split()[0]: l.split(None, 2) for l in open(pre + ".cpu0") if len(l.split()) == 3}
            t1 = [l.split(None, 2) for l in open(pre + ".cpu1") if len(l.split()) == 3]
        except OSError:
            continue
        n += run(w, mode, r)[1]
        for pid, ns, comm in t1:
            comm = comm.strip()
            if comm in ("cmabench", "bash") or pid not in t0:
                continue
            d = int(ns) - int(t0[pid][1])
            if d > 0:
                by[comm] = by.get(comm, 0) + d
    return {k: v / n for k, v in by.items()} if n else {}
def center(v):
    """The 10% trimmed mean: robust to the odd slow call (a wakeup, a
    tick) like a median, but smooth where a part of the cost is bimodal
    (cma_release's time takes two values), where a median jumps."""
    v = np.sort(v)
    k = len(v) // 10
    return float(np.mean(v[k:len(v) - k])) if len(v) > 2 * k else float(np.mean(v))
def ci(a):
    lo, hi = np.percentile(a, [2.5, 97.5])
    return float(lo), float(hi)
def fmt_ci(x, a, f="%.3f"):
    lo, hi = ci(a)
    return (f + " [" + f + ", " + f + "]") % (x, lo, hi)
def tool_of(prog, maps):
    for i in prog.get("map_ids", []):
        # libbpf names a skeleton's .rodata and .bss "<object name, cut>.rodata"
        n = maps.get(i, "")
        pre = n.split(".", 1)[0]
        for t in ("cmalat", "cmafail", "cmamigrate"):
            if "." in n and len(pre) >= 6 and (t + "_bpf").startswith(pre):
                return t
    return None
def prog_costs(name):
    """Each BPF program's cost in the statistics run NAME: (tool, name, type, runs, ns)."""
    try:
        progs = json.load(open(os.path.join(out, "%s.progs.json" % name)))
        maps = {m["id"]: m.get("name", "") for m in json.load(open(os.path.join(out, "%s.maps.json" % name)))}
        nalloc = len(json.load(open(os.path.join(out, "%s.json" % name)))["allocations"])
    except (OSError, ValueError, KeyError):
        return None, 0
    rows = []
    for p in progs:
        t = tool_of(p, maps)
        if t:
            rows.append((t, p.get("name", "?"), p.get("type", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0)))
    return sorted(rows), nalloc

res = {"schema": "cmakit.bench-bpf/2.0", "kernel": text("kernel"), "clock": text("clock", "host time (TCG)"),
       "rounds": rounds, "bootstrap": B, "target_ratio": 1.03, "workloads": {}}
print("bpf tools overhead, kernel %s, clock: %s, %d rounds" % (res["kernel"], res["clock"], rounds))
print("  [a, b]: 95%% bootstrap interval (%d resamples of the rounds, then of each run's allocations)" % B)
status = "PASS"
for w in text("workloads", "camera small").split():
    ev = events(w)
    evpa = sum(ev.values())
    wr = {"cma_events_per_allocation": evpa, "events_per_allocation": ev, "metrics": {}}
    print("  workload %s: %.1f cma events per allocation (%s)" %
          (w, evpa, ", ".join("%s %.1f" % (k[4:], v) for k, v in ev.items()) or "-"))
    for metric, what in METRICS:
        bares = [m for m in ("bare", "bare2") if m in text("modes", "bare bare2").split()]
        data = {m: [run(w, m, r, metric)[0] for r in range(1, rounds + 1)] for m in ["bare"] + MODES}
        data["bare2"] = [run(w, bares[-1], r, metric)[0] for r in range(1, rounds + 1)]
        # the rounds in which every mode ran
        ok = [i for i in range(rounds) if all(data[m][i] is not None for m in data)]
        if not ok:
            print("    %s: no round in which every mode ran" % metric)
            status = "ERROR"
            continue
        base = [np.concatenate([data["bare"][i], data["bare2"][i]]) for i in ok]
        per = {m: [data[m][i] for i in ok] for m in MODES}
        def stats(rs, resample):
            pick = lambda arrs: np.concatenate([rng.choice(arrs[i], len(arrs[i])) if resample else arrs[i] for i in rs])
            mb = center(pick(base))
            s = {"_base": mb}
            for m in MODES:
                mm = center(pick(per[m]))
                s[m] = (mm / mb, (mm - mb) / evpa if evpa else float("nan"), mm)
            b1 = center(pick([data["bare"][i] for i in ok]))
            b2 = center(pick([data["bare2"][i] for i in ok]))
            s["_noise"] = b2 / b1 - 1
            return s
        est = stats(range(len(ok)), False)
        boot = [stats(rng.integers(0, len(ok), len(ok)), True) for _ in range(B)]
        col = lambda f: np.array([f(b) for b in boot])
        mr = wr["metrics"][metric] = {
            "statistic": "10% trimmed mean", "rounds_used": len(ok), "baseline_ns": est["_base"], "baseline_n": int(sum(len(b) for b in base)),
            "noise": est["_noise"], "noise_ci": ci(col(lambda b: b["_noise"])), "modes": {}}
        print("    %s: %d bare allocations in %d rounds; noise (bare after vs bare before) %s" %
              (what, mr["baseline_n"], len(ok), fmt_ci(est["_noise"] * 100, col(lambda b: b["_noise"] * 100), "%+.1f%%")))
        print("    %-10s %11s  %-26s %-30s" % ("mode", "tmean_us", "ratio to bare", "ns per event"))
        print("    %-10s %11.1f  %-26s" % ("bare", est["_base"] / 1e3, "1.000"))
        for m in MODES:
            r, pe, mm = est[m]
            rb, peb = col(lambda b: b[m][0]), col(lambda b: b[m][1])
            mr["modes"][m] = {"ns": mm, "ratio": r, "ratio_ci": ci(rb), "overhead_ns": mm - est["_base"],
                              "ns_per_event": pe, "ns_per_event_ci": ci(peb), "n": int(sum(len(a) for a in per[m]))}
            print("    %-10s %11.1f  %-26s %-30s" % (m, mm / 1e3, fmt_ci(r, rb), fmt_ci(pe, peb, "%.0f")))
        # the BPF tools against trace-cmd (and the build before), in the same resamples
        mr["per_event_differences"] = {}
        for x, y in PAIRS:
            d = col(lambda b: b[x][1] - b[y][1])
            lo, hi = ci(d)
            verdict = "cheaper" if hi < 0 else "dearer" if lo > 0 else "not distinguishable"
            dv = est[x][1] - est[y][1]
            mr["per_event_differences"]["%s - %s" % (x, y)] = {"ns": dv, "ci": (lo, hi), "verdict": verdict}
            print("    %s - %s per event: %s ns: %s" % (x, y, fmt_ci(dv, d, "%+.0f"),
                  "%s is %s per event than %s" % (x, verdict, y) if verdict != "not distinguishable" else verdict))
    # what else ran on the board while the workload did (a tracer's own tasks)
    wr["other_tasks_cpu_ns_per_allocation"] = {}
    for m in ["bare"] + MODES:
        c = cpu_others(w, m)
        wr["other_tasks_cpu_ns_per_allocation"][m] = c
        top = sorted(c.items(), key=lambda kv: -kv[1])[:4]
        if top:
            print("    other tasks' CPU during %s, ns per allocation: %s" % (m, ", ".join("%s %.0f" % kv for kv in top)))
    # each BPF program's own cost, from the statistics runs
    wr["programs"] = {}
    for name, label in (("%s-stats" % w, "bpf"), ("%s-stats-base" % w, "bpf-base")):
        if label not in MODES:
            continue
        rows, nalloc = prog_costs(name)
        if not rows or not nalloc:
            print("    BPF programs of %s: no statistics (see %s.err)" % (label, name))
            continue
        tot = sum(ns for *_, ns in rows)
        wr["programs"][label] = {"allocations": nalloc, "ns_per_allocation": tot / nalloc, "programs": [
            {"tool": t, "program": n, "type": ty, "run_cnt": c, "run_time_ns": ns, "runs_per_allocation": c / nalloc,
             "ns_per_run": ns / c if c else None, "ns_per_allocation": ns / nalloc} for t, n, ty, c, ns in rows]}
        print("    BPF programs of %s (kernel.bpf_stats_enabled run, %d allocations): %.0f ns per allocation in all, "
              "%.0f per cma event" % (label, nalloc, tot / nalloc, tot / nalloc / evpa if evpa else float("nan")))
        print("      %-11s %-18s %-10s %10s %10s %10s" % ("tool", "program", "type", "runs/alloc", "ns/run", "ns/alloc"))
        for t, n, ty, c, ns in rows:
            if c:
                print("      %-11s %-18s %-10s %10.2f %10.0f %10.0f" % (t, n, ty, c / nalloc, ns / c, ns / nalloc))
        idle = ["%s/%s" % (t, n) for t, n, ty, c, ns in rows if not c]
        if idle:
            print("      attached but never run: %s" % ", ".join(idle))
    res["workloads"][w] = wr
r = res["workloads"].get("camera", {}).get("metrics", {}).get("call", {}).get("modes", {}).get("bpf", {}).get("ratio")
if status == "PASS" and "camera" in res["workloads"] and (r is None or r > 1.03):
    status = "FAIL"
res["status"] = status
if "camera" in res["workloads"]:
    print("  camera: bpf tools ratio %s (target <= 1.03): %s" % ("%.3f" % r if r else "-", status))
else:
    print("  status: %s (no camera workload, no target)" % status)
json.dump(res, open(os.path.join(out, "summary.json"), "w"), indent=1)
sys.exit(0 if status == "PASS" else 1)
PY
	exit "${PIPESTATUS[0]}"
fi

if [ "${1:-}" != --board ]; then
	. "$ROOT/ci/lib.sh"
	[ -x "${CMAKIT_BENCH_BPF_TOOLS:-$ROOT/build/bpf}/cmacollect" ] ||
		die "bench bpf: ${CMAKIT_BENCH_BPF_TOOLS:-build/bpf}/cmacollect missing (make bpf)"
	[ -x "$ROOT/build/cmabench/cmabench" ] || die "bench bpf: build/cmabench/cmabench missing (make tools)"
	icount=()
	case ${CMAKIT_BENCH_BPF_ICOUNT:-} in
	'') ;;
	[0-9] | 10) icount=(--icount "$CMAKIT_BENCH_BPF_ICOUNT") ;;
	*) die "bench bpf: CMAKIT_BENCH_BPF_ICOUNT must be a shift of 0 to 10, got '$CMAKIT_BENCH_BPF_ICOUNT'" ;;
	esac
	out=$ROOT/results/bench-bpf-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	info "bench bpf: one board boot, results in ${out#"$ROOT"/}"
	VM_QUIET=1 CMAKIT_BENCH_OUT=$out "$ROOT/ci/vm/run.sh" --cma 256M \
		--timeout "${CMAKIT_BENCH_BPF_TIMEOUT:-3600}" "${icount[@]}" \
		--append "${CMAKIT_BENCH_BPF_APPEND-tsc=reliable}" -- \
		bash "$ROOT/ci/bench/bpf.sh" --board </dev/null
	rc=$?
	[ $rc -eq 0 ] || { echo "bench bpf: the board run ended with status $rc" >&2; exit $rc; }
	exec bash "$0" --summary "$out"
fi

# ---- inside the board ---------------------------------------------------------
out=${CMAKIT_BENCH_OUT:?}
ROUNDS=${CMAKIT_BENCH_BPF_ROUNDS:-3}
COUNT=${CMAKIT_BENCH_BPF_COUNT:-100}
BENCH=$ROOT/build/cmabench/cmabench
BPF=${CMAKIT_BENCH_BPF_TOOLS:-$ROOT/build/bpf}
tmp=$(mktemp -d)
stats_old=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
cleanup() {
	[ -z "$stats_old" ] || sysctl -q -w kernel.bpf_stats_enabled="$stats_old"
	rm -rf "$tmp"
}
trap cleanup EXIT

clock="host time (TCG)"
[ -z "${CMAKIT_BENCH_BPF_ICOUNT:-}" ] || clock="icount shift $CMAKIT_BENCH_BPF_ICOUNT ($((1 << CMAKIT_BENCH_BPF_ICOUNT)) ns per guest instruction)"
echo "$(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), $(nproc) CPU" >"$out/kernel"
echo "$clock" >"$out/clock"

# stats_run NAME DIR ARGS...: DIR's cmacollect around cmabench with the BPF
# programs' statistics on; bpftool reads them after cmabench, before the
# tools end: NAME.progs.json, NAME.maps.json.
stats_run() {
	local w=$1 dir=$2
	shift 2
	if [ -z "$stats_old" ] || ! sysctl -q -w kernel.bpf_stats_enabled=1; then
		echo "bench bpf: no kernel.bpf_stats_enabled, no per-program cost" >&2
		return
	fi
	"$dir/cmacollect" -o "$out/$w.collect.json" -- bash -c \
		'"$@" >/dev/null; rc=$?; bpftool -j prog show >"$STATS/progs.json"; bpftool -j map show >"$STATS/maps.json"; exit $rc' \
		bash "$@" 2>"$out/$w.err" || echo "bench bpf: $w run failed" >&2
	sysctl -q -w kernel.bpf_stats_enabled="$stats_old"
	mv "$tmp/progs.json" "$out/$w.progs.json" 2>/dev/null
	mv "$tmp/maps.json" "$out/$w.maps.json" 2>/dev/null
}
export STATS=$tmp
# every task's CPU time (ns, /proc/PID/schedstat) and name: "pid ns comm"
SNAP='for d in /proc/[0-9]*; do { read -r ns _ <"$d/schedstat" && read -r c <"$d/comm" && echo "${d#/proc/} $ns $c"; } 2>/dev/null; done'

MODES=${CMAKIT_BENCH_BPF_MODES:-bare bpf bare2 perf trace-cmd}
[ -z "${CMAKIT_BENCH_BPF_BASE:-}" ] || MODES=$(echo "$MODES" | sed 's/\bbpf\b/bpf-base bpf/')
for w in ${CMAKIT_BENCH_BPF_WORKLOADS:-camera small}; do
	case $w in
	camera) args=(--scenario camera) ;;
	small) args=(-S 256 -n "$COUNT") ;;
	*) echo "bench bpf: no workload '$w' (camera, small)" >&2; continue ;;
	esac
	for r in $(seq 1 "$ROUNDS"); do
		for mode in $MODES; do
			j=$out/$w-$mode-$r.json
			# the workload, with each task's CPU time before and after it
			b=(bash -c "$SNAP"' >"$0.cpu0"; "$@"; rc=$?; '"$SNAP"' >"$0.cpu1"; exit $rc'
				"$out/$w-$mode-$r" "$BENCH" "${args[@]}" -q -o "$tmp/res" --json "$j")
			case $mode in
			bare | bare2) "${b[@]}" >/dev/null ;;
			bpf) "$BPF/cmacollect" -o "$out/$w-bpf-$r.collect.json" -- "${b[@]}" >/dev/null 2>"$out/$w-bpf-$r.err" ;;
			bpf-base)
				"$CMAKIT_BENCH_BPF_BASE/cmacollect" -o "$out/$w-$mode-$r.collect.json" -- "${b[@]}" \
					>/dev/null 2>"$out/$w-$mode-$r.err"
				;;
			perf)
				perf record -q -e 'cma:*' -o "$tmp/perf.data" -- "${b[@]}" >/dev/null 2>"$out/$w-perf-$r.err"
				;;
			trace-cmd)
				trace-cmd record -q -e cma -o "$tmp/trace.dat" "${b[@]}" >/dev/null 2>"$out/$w-trace-cmd-$r.err"
				# one "name count" line per event
				trace-cmd report -i "$tmp/trace.dat" 2>/dev/null |
					grep -o ' cma_[a-z_]*:' | sort | uniq -c |
					awk '{ sub(/:$/, "", $2); print $2, $1 }' >"$out/$w-trace-cmd-$r.events"
				;;
			*) echo "bench bpf: no mode '$mode'" >&2 ;;
			esac || echo "bench bpf: $w $mode round $r failed" >&2
		done
	done
	stats_run "$w-stats" "$BPF" "$BENCH" "${args[@]}" -q -o "$tmp/res" --json "$out/$w-stats.json"
	[ -z "${CMAKIT_BENCH_BPF_BASE:-}" ] ||
		stats_run "$w-stats-base" "$CMAKIT_BENCH_BPF_BASE" "$BENCH" "${args[@]}" -q -o "$tmp/res" --json "$out/$w-stats-base.json"
done
echo "$MODES" >"$out/modes"
echo "${CMAKIT_BENCH_BPF_WORKLOADS:-camera small}" >"$out/workloads"
echo "$ROUNDS" >"$out/rounds"
