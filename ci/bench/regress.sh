#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: does `make regress` see a regression, and does it keep quiet
# when there is none? Two pools of real boots of the cmakit kernel, in turn:
# the kernel as it is, and the same kernel made slower on purpose with the
# series' latency injection (fail_cma_delay: probability 100, stage alloc,
# delay-us set to CMAKIT_BENCH_REGRESS_SLOWER percent, default 10, of the
# workload's median latency measured in the first boot). The boots
# alternate (base, slower, base, slower ...) as `make regress` boots its two
# kernels, and each runs the main job's scenario (ci/run.sh, the collectors
# attached) once, so a run is exactly what `make regress` stores. Then
# analysis.bench power applies the compare rule `make regress` uses, to
# trials of three adjacent pairs of runs:
#
#   flagged       how often the slower kernel is flagged (goal: at least 95%)
#   false alarm   how often runs of the same kernel are flagged (goal: at
#                 most 5%)
#
# The board's clock is CMAKIT_BENCH_REGRESS_ICOUNT (default 3: ci/vm/run.sh
# --icount 3, a guest clock that counts instructions, so the host's load does
# not move the timings; "host" for the host's clock, as a plain `make
# regress` boots). CMAKIT_BENCH_REGRESS_THRESHOLD (percent, default 5) is
# the compare threshold: a 10% slowdown must clear it with room to spare.
#
# CMAKIT_BENCH_REGRESS_BOOTS (default 10) boots per pool,
# CMAKIT_BENCH_REGRESS_SCENARIO (default smoke with the icount clock, where
# a sleep lasts exactly its guest time; camera with the host's clock: its
# 8 MiB requests take hundreds of milliseconds, while under TCG on a loaded
# host a sleep of less than a millisecond costs several, so smoke's
# sub-millisecond requests cannot be slowed by a known 10%). The pooled
# median ratio of the two pools and each pair's ratio are printed: the
# slowdown actually achieved.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
cd "$ROOT"
BOOTS=${CMAKIT_BENCH_REGRESS_BOOTS:-10}
SLOWER=${CMAKIT_BENCH_REGRESS_SLOWER:-10}
ICOUNT=${CMAKIT_BENCH_REGRESS_ICOUNT:-3}
THRESHOLD=${CMAKIT_BENCH_REGRESS_THRESHOLD:-5}
case $ICOUNT in host) ICOUNT= ;; [0-9] | 10) ;; *) die "bench regress: CMAKIT_BENCH_REGRESS_ICOUNT must be a shift of 0 to 10 or 'host', got '$ICOUNT'" ;; esac
SCENARIO=${CMAKIT_BENCH_REGRESS_SCENARIO:-$([ -n "$ICOUNT" ] && echo smoke || echo camera)}
case $THRESHOLD in '' | *[!0-9.]*) die "bench regress: CMAKIT_BENCH_REGRESS_THRESHOLD must be a percentage, got '$THRESHOLD'" ;; esac
case $BOOTS in '' | *[!0-9]* | [0-5]) die "bench regress: CMAKIT_BENCH_REGRESS_BOOTS must be at least 6, got '$BOOTS'" ;; esac
out=results/bench-regress-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
knob=/sys/kernel/debug/fail_cma_delay

one() { # POOL INDEX [BEFORE-COMMAND]
	local d=$out/$1-$2
	VM_ICOUNT=$ICOUNT KERNEL=cmakit RUN_DIR=$d RUN_REPORT=0 RUN_BEFORE=${3:-} bash ci/run.sh "$SCENARIO" >"$d.log" 2>&1 ||
		{ tail -n 5 "$d.log" >&2; die "bench regress: boot $1 $2 failed (log: $d.log)"; }
}

info "bench regress: $SCENARIO, $BOOTS boots of the kernel and $BOOTS of it ${SLOWER}% slower, alternating, clock ${ICOUNT:+icount }${ICOUNT:-host}, results in $out"
t0=$(date +%s)
one base 1
median_us=$(jq '[.allocations[] | select(.ok) | .user_ns] | sort | .[length / 2 | floor] / 1000 | floor' \
	"$out/base-1/result.json")
delay=$((median_us * SLOWER / 100))
[ "$delay" -gt 0 ] || die "bench regress: the median latency ($median_us us) is too small to slow down by $SLOWER%"
info "bench regress: median latency $median_us us: the slower kernel sleeps $delay us in every cma_alloc"
slow="[ -d $knob ] || { echo 'no $knob (CONFIG_FAIL_CMA, series patch 0012)' >&2; exit 1; }"
slow+=" && echo alloc > $knob/stage && echo $delay > $knob/delay-us && echo -1 > $knob/times"
slow+=" && echo 100 > $knob/probability && echo 0 > $knob/verbose"
for ((i = 1; i <= BOOTS; i++)); do
	info "bench regress: boots $((2 * i - 1))-$((2 * i)) of $((2 * BOOTS)), $(($(date +%s) - t0)) s so far"
	[ "$i" -eq 1 ] || one base "$i"
	one slow "$i" "$slow"
done
pooled() { jq -s '[.[].allocations[] | select(.ok) | .user_ns] | sort | .[length / 2 | floor]' "$@"; }
b=$(pooled "$out"/base-*/result.json)
c=$(pooled "$out"/slow-*/result.json)
info "bench regress: pooled median latency slower/base = $(echo "scale=3; $c / $b" | bc) ($c / $b ns)"
for ((i = 1; i <= BOOTS; i++)); do
	printf '%s\t%s\t%s\n' "$i" "$(pooled "$out/base-$i/result.json")" "$(pooled "$out/slow-$i/result.json")"
done | awk -F'\t' '{ r = $3 / $2; printf "bench regress: pair %d: median %.1f ms, slower %.1f ms, ratio %.3f\n", $1, $2 / 1e6, $3 / 1e6, r >"/dev/stderr" }'
jq -n --argjson d "$delay" --argjson m "$median_us" --argjson p "$SLOWER" --arg c "${ICOUNT:+icount$ICOUNT}" \
	--argjson t "$THRESHOLD" \
	'{median_us: $m, delay_us: $d, slower_percent: $p, clock: (if $c == "" then "host" else $c end), threshold_percent: $t}' \
	>"$out/setup.json"
/usr/bin/python3 -m analysis.bench power --base "$out"/base-*/ --cand "$out"/slow-*/ --threshold "$THRESHOLD" \
	--json "$out/power.json" |
	tee "$out/summary.txt"
exit "${PIPESTATUS[0]}"
