#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The placement bench: first fit against cost-aware placement, and one
# allocation lock per area against the global one.
#  1. One boot (--icount 3, one guest CPU: guest timings count instructions,
#     so the ratios do not move with the host's load) of the kernel under test
#     (KERNEL, default cmakit): gcma-table, camera and pinned, each run with
#     the area's placement set to first and to cost through
#     /sys/kernel/debug/cma/reserved/placement, side by side, and 1-page
#     requests on an empty area (the floor a free range must reach).
#  2. One boot with a 1 GiB area: 1- and 32000-page requests, area half full,
#     first and cost, with the cma_alloc_start and cma_range_isolate events
#     recorded, whose gap is the time spent choosing the range.
#  3. Two areas (cma_extra=camera:32M,video:32M, two guest CPUs, no icount):
#     the two-areas scenario on each area alone, then on both at once (two
#     cmabench processes), on the kernel before the per-area lock
#     (CMAKIT_PLACEMENT_BEFORE, default cmakit) and on the kernel under test.
# Reported: per scenario and size, median, p90 and max kernel-measured
# latency under first and cost, their ratio with a bootstrap 95% interval,
# the success rates; the search time; allocations per second of the two
# areas. Raw runs stay in results/bench-placement-<date>/.
# CMAKIT_PLACEMENT_GCMA_COUNT sets gcma-table's requests per size (default
# its own 32). CMAKIT_PLACEMENT_PARTS selects the parts (default "1 2 3"),
# CMAKIT_PLACEMENT_OUT an existing results directory to add them to (the
# report covers every part found there).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$ROOT/build/cmabench/cmabench
SCEN=$ROOT/tools/cmabench/scenarios

# ---- inside the board ---------------------------------------------------------
if [ "${1:-}" = --board ]; then
	part=$2 out=$3
	GCMA_COUNT=${4:-32}
	dfs=/sys/kernel/debug/cma
	uname -r >"$out/kernel-$part"
	place() { # AREA first|cost
		[ -w "$dfs/$1/placement" ] || { echo "no $dfs/$1/placement on this kernel" >&2; return 1; }
		echo "$2" >"$dfs/$1/placement"
	}
	run() { # NAME PLACEMENT CMABENCH-ARGS...
		local name=$1 p=$2
		shift 2
		place reserved "$p" || return 1
		"$BENCH" "$@" -q -o "$out/$name-$p" >"$out/$name-$p.out" 2>&1 ||
			echo "placement bench: $name $p failed: $(tail -n1 "$out/$name-$p.out")" >&2
	}
	case $part in
	1)
		run empty first --backend cma_bench --sizes 1 --count 32
		for s in pinned camera gcma-table; do
			n=()
			[ "$s" != gcma-table ] || n=(--count "$GCMA_COUNT")
			run "$s" first --scenario "$s" --backend cma_bench "${n[@]}"
			run "$s" cost --scenario "$s" --backend cma_bench "${n[@]}"
		done
		place reserved first ;;
	2)
		t=/sys/kernel/tracing/instances/placement-$$
		mkdir "$t" || exit 1
		trap 'echo 0 >"$t/tracing_on"; rmdir "$t"' EXIT
		for p in first cost; do
			echo >"$t/trace"
			echo 1 >"$t/events/cma/cma_alloc_start/enable"
			echo 1 >"$t/events/cma/cma_range_isolate/enable"
			echo 1 >"$t/tracing_on"
			run gib "$p" --backend cma_bench --sizes 1,32000 --count 8 --occupancy 50
			echo 0 >"$t/tracing_on"
			cat "$t/trace" >"$out/gib-$p.trace"
		done
		place reserved first ;;
	3)
		a2() { # NAME CMABENCH-ARGS... -- AREA... : one cmabench per area, all at once
			local name=$1 a pids=() args=()
			shift
			while [ "$1" != -- ]; do
				args+=("$1")
				shift
			done
			shift
			for a in "$@"; do
				"$BENCH" "${args[@]}" --area "$a" -q -o "$out/$name-$a" >"$out/$name-$a.out" 2>&1 &
				pids+=($!)
			done
			wait "${pids[@]}"
		}
		sc=(--scenario "$SCEN/two-areas.conf")
		a2 alone "${sc[@]}" -- camera
		a2 alone "${sc[@]}" -- video
		a2 both "${sc[@]}" -- camera video
		# A slow range, 20 ms under the allocation lock (fail_cma_delay,
		# stage range) on 1-page requests from free areas: how long one
		# area's allocations wait for the other's.
		d=/sys/kernel/debug/fail_cma_delay
		if [ -d "$d" ]; then
			echo range >"$d/stage"
			echo 20000 >"$d/delay-us"
			echo -1 >"$d/times"
			echo 100 >"$d/probability"
			dl=(--backend cma_bench --sizes 1 --count 40)
			a2 delay-alone "${dl[@]}" -- camera
			a2 delay-both "${dl[@]}" -- camera video
			echo 0 >"$d/probability"
			echo 0 >"$d/delay-us"
			echo alloc >"$d/stage"
			echo 1 >"$d/times"
		fi ;;
	esac
	exit 0
fi

# ---- on the host --------------------------------------------------------------
. "$ROOT/ci/lib.sh"
[ -x "$BENCH" ] || die "placement bench: $BENCH missing (make tools)"
KUT=${KERNEL:-cmakit}
BEFORE=${CMAKIT_PLACEMENT_BEFORE:-cmakit}
out=${CMAKIT_PLACEMENT_OUT:-$ROOT/results/bench-placement-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
info "placement bench: kernel $KUT (before: $BEFORE), results in ${out#"$ROOT"/}"
board() { # LOG KERNEL RUN-ARGS... -- PART
	local log=$1 k=$2
	shift 2
	KERNEL=$k VM_QUIET=1 "$ROOT/ci/vm/run.sh" "$@" </dev/null >"$out/$log.log" 2>&1 ||
		{ tail -n 5 "$out/$log.log" >&2; echo "placement bench: $log boot failed" >&2; }
}
for part in ${CMAKIT_PLACEMENT_PARTS:-1 2 3}; do
	case $part in
	1) board part1 "$KUT" --icount 3 --mem 1G --cma 256M --timeout 5400 -- \
		bash "$0" --board 1 "$out" "${CMAKIT_PLACEMENT_GCMA_COUNT:-32}" ;;
	2) board part2 "$KUT" --icount 3 --mem 2G --cma 1G --timeout 3000 -- bash "$0" --board 2 "$out" ;;
	3)
		mkdir -p "$out/before" "$out/after"
		for k in before after; do
			kk=$BEFORE
			[ $k = before ] || kk=$KUT
			board "part3-$k" "$kk" --cpus 2 --tcg-thread multi --mem 512M --cma 256M \
				--append "cma_extra=camera:32M,video:32M" --timeout 1800 -- bash "$0" --board 3 "$out/$k"
		done ;;
	esac
done
/usr/bin/python3 - "$out" <<'EOF' | tee "$out/summary.txt"
import json, os, random, re, sys
from statistics import median

out = sys.argv[1]
rng = random.Random(1)


def records(d):
    p = os.path.join(out, d, "allocations.jsonl")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, int(f * len(v)))]


def ratio_ci(a, b, n=2000):
    """median(a) / median(b), with a bootstrap 95% interval."""
    r = []
    for _ in range(n):
        ra = [rng.choice(a) for _ in a]
        rb = [rng.choice(b) for _ in b]
        r.append(median(ra) / max(median(rb), 1))
    r.sort()
    return median(a) / max(median(b), 1), r[int(0.025 * n)], r[int(0.975 * n)]


def ms(ns):
    return "%.2f" % (ns / 1e6)


def times(recs, pages, answered):
    # answered: every request (success or failure) counts, else successes only
    return [r["kernel_ns"] for r in recs if r["pages"] == pages and
            isinstance(r.get("kernel_ns"), (int, float)) and (answered or r["ok"])]


def okpct(recs, pages):
    sel = [r for r in recs if r["pages"] == pages]
    return 100.0 * sum(r["ok"] for r in sel) / max(1, len(sel))


print("Placement bench, %s" % out)
floor = None
e = records("empty-first")
if e and times(e, 1, False):
    floor = median(times(e, 1, False))
    print("empty area, 1 page, first: median %s ms (the floor)" % ms(floor))
for s in ("gcma-table", "camera", "pinned", "gib"):
    f, c = records(s + "-first"), records(s + "-cost")
    if not f or not c:
        continue
    answered = s == "pinned"
    print()
    print("%s%s: kernel-measured %s, ms, first -> cost" %
          (s, " (1 GiB area)" if s == "gib" else "",
           "time to the answer" if answered else "latency of successes"))
    print("  %7s %20s %20s %20s %10s  %s" % ("pages", "median", "p90", "max",
                                           "ok%", "median first/cost [95% CI]"))
    for pages in sorted({r["pages"] for r in f}):
        tf, tc = times(f, pages, answered), times(c, pages, answered)
        okf, okc = okpct(f, pages), okpct(c, pages)
        if not tf or not tc:
            print("  %7d no timed requests (ok%% %.0f -> %.0f)" % (pages, okf, okc))
            continue
        r, lo, hi = ratio_ci(tf, tc)
        print("  %7d %9s -> %8s %9s -> %8s %9s -> %8s %3.0f -> %3.0f  %.2fx [%.2f, %.2f]" %
              (pages, ms(median(tf)), ms(median(tc)), ms(q(tf, 0.9)), ms(q(tc, 0.9)),
               ms(max(tf)), ms(max(tc)), okf, okc, r, lo, hi))
        if pages == 1 and floor and s == "gcma-table":
            print("  %7s cost median / empty-area floor: %.2f" % ("", median(tc) / floor))
    print("  pages migrated: %d -> %d; busy retries: %d -> %d" %
          (sum(r.get("migrated") or 0 for r in f), sum(r.get("migrated") or 0 for r in c),
           sum(r.get("retries") or 0 for r in f), sum(r.get("retries") or 0 for r in c)))

ev = re.compile(r"-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): (cma_alloc_start|cma_range_isolate):(.*)")
for p in ("first", "cost"):
    path = os.path.join(out, "gib-%s.trace" % p)
    if not os.path.exists(path):
        continue
    start, gaps = {}, {}
    with open(path) as fh:
        for line in fh:
            m = ev.search(line)
            if not m:
                continue
            pid, ts, name, rest = m.group(1), float(m.group(2)), m.group(3), m.group(4)
            if name == "cma_alloc_start":
                start[pid] = (ts, int(re.search(r"count=(\d+)", rest).group(1)))
            elif pid in start:
                t0, cnt = start.pop(pid)
                el = int(re.search(r"elapsed_ns=(\d+)", rest).group(1))
                gaps.setdefault(cnt, []).append(ts - el / 1e9 - t0)
    for cnt, g in sorted(gaps.items()):
        print("1 GiB area, %s, %d pages: request start to first isolation (choosing the range): "
              "median %.3f ms, max %.3f ms (n=%d)" % (p, cnt, median(g) * 1e3, max(g) * 1e3, len(g)))


def rate(d):
    rec = records(d)
    if not rec:
        return None
    ok = [r for r in rec if r["ok"] and isinstance(r.get("kernel_ns"), (int, float))]
    return len(ok) / (sum(r["kernel_ns"] for r in ok) / 1e9) if ok else None


rates = {}
for k in ("before", "after"):
    a = {n: rate("%s/%s" % (k, n)) for n in ("alone-camera", "alone-video", "both-camera", "both-video")}
    if None in a.values():
        continue
    rates[k] = a["both-camera"] + a["both-video"]
    print()
    print("two areas, %s: allocations/s (successes / time in cma_alloc) alone: camera %.1f, "
          "video %.1f; at once: %.1f + %.1f = %.1f (at once / mean alone %.2f)" %
          (k, a["alone-camera"], a["alone-video"], a["both-camera"], a["both-video"], rates[k],
           rates[k] / ((a["alone-camera"] + a["alone-video"]) / 2)))
if len(rates) == 2:
    print("two areas at once, after / before: %.2fx" % (rates["after"] / rates["before"]))
drates = {}
for k in ("before", "after"):
    a = {n: rate("%s/%s" % (k, n)) for n in ("delay-alone-camera", "delay-both-camera", "delay-both-video")}
    if None in a.values():
        continue
    drates[k] = a["delay-both-camera"] + a["delay-both-video"]
    print("two areas, 20 ms range delay, %s: allocations/s alone %.1f; at once %.1f + %.1f = %.1f" %
          (k, a["delay-alone-camera"], a["delay-both-camera"], a["delay-both-video"], drates[k]))
if len(drates) == 2:
    print("two areas at once with a slow range, after / before: %.2fx" % (drates["after"] / drates["before"]))
EOF
exit "${PIPESTATUS[1]}"
