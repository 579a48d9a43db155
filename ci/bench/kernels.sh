#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: what the instrumentation costs, and what each way of looking
# costs, on one page. The stock and cmakit kernels boot in turn (stock,
# cmakit, stock, cmakit, ...; CMAKIT_BENCH_KERNELS_BOOTS boots each, default
# 5), and every boot runs the same cmabench workloads on the DMA-BUF heap,
# the interface both kernels have, with nothing tracing and nothing reading
# the statistics: smoke, camera and gcma-table (8 requests per size). On the
# cmakit boots one workload (CMAKIT_BENCH_KERNELS_TOOLS_WORKLOAD, default
# camera; smoke, whose requests are the cheapest, shows a tool's fixed cost
# at its largest) then runs again under each tool: cmatrace live, the BPF
# collectors (cmacollect), bpftrace (cmalat.bt), perf record -e 'cma:*' and
# trace-cmd record -e cma.
#
# Reported (analysis.bench): the median-latency ratio cmakit/stock per
# workload and each tool's ratio against the bare run of the same boots, each
# with a bootstrap 95% interval that resamples whole boots. A workload of
# several request sizes (smoke, gcma-table) gets each size's ratio and their
# geometric mean: a median pooled over sizes falls on the step between two
# of them. Goal for the kernels: at most 1.01. Raw documents stay in
# results/bench-kernels-*/.
#
# The boards' clock is CMAKIT_BENCH_KERNELS_ICOUNT (default 3: ci/vm/run.sh
# --icount 3, an instruction-counting guest clock on one guest CPU, so the
# ratios measure the work each kernel and tool adds, not the host's load at
# the time; "host" for the host's clock and two guest CPUs).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != --board ]; then
	. "$ROOT/ci/lib.sh"
	BOOTS=${CMAKIT_BENCH_KERNELS_BOOTS:-5}
	ICOUNT=${CMAKIT_BENCH_KERNELS_ICOUNT:-3}
	case $ICOUNT in host) ICOUNT= ;; [0-9] | 10) ;; *) die "bench kernels: CMAKIT_BENCH_KERNELS_ICOUNT must be a shift of 0 to 10 or 'host', got '$ICOUNT'" ;; esac
	read -ra kernels <<<"${CMAKIT_BENCH_KERNELS:-stock cmakit}"
	[ -x "$ROOT/build/cmabench/cmabench" ] || die "bench kernels: build/cmabench/cmabench missing (make tools)"
	for k in "${kernels[@]}"; do
		KERNEL=$k bash "$ROOT/ci/kernel/build.sh" || die "bench kernels: the $k kernel does not build"
	done
	out=$ROOT/results/bench-kernels-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	info "bench kernels: ${kernels[*]} alternating, $BOOTS boots each, clock ${ICOUNT:+icount }${ICOUNT:-host}, results in ${out#"$ROOT"/}"
	echo "${ICOUNT:+icount$ICOUNT}${ICOUNT:-host}" >"$out/clock"
	n=0
	t0=$(date +%s)
	for ((i = 1; i <= BOOTS; i++)); do
		for k in "${kernels[@]}"; do
			n=$((n + 1))
			info "bench kernels: boot $n of $((BOOTS * ${#kernels[@]})) ($k), $(($(date +%s) - t0)) s so far"
			mkdir -p "$out/$k-$i"
			KERNEL=$k VM_ICOUNT=$ICOUNT VM_QUIET=1 CMAKIT_BENCH_OUT=$out/$k-$i "$ROOT/ci/vm/run.sh" --cma 256M --timeout 2400 -- \
				bash "$ROOT/ci/bench/kernels.sh" --board </dev/null >"$out/$k-$i.log" 2>&1 ||
				{ tail -n 5 "$out/$k-$i.log" >&2; echo "bench kernels: boot $n ($k) failed" >&2; }
		done
	done
	/usr/bin/python3 -m analysis.bench ratios "$out" | tee "$out/summary.txt"
	exit "${PIPESTATUS[0]}"
fi

# ---- inside the board ---------------------------------------------------------
out=${CMAKIT_BENCH_OUT:?}
BENCH=$ROOT/build/cmabench/cmabench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
uname -r >"$out/kernel"
patched=0
[ -e /sys/kernel/tracing/events/cma/cma_range_migrate ] && patched=1

bench() { # WORKLOAD MODE [WRAPPER...] -- run one cmabench workload
	local w=$1 mode=$2 args
	shift 2
	case $w in
	smoke) args=(--scenario smoke) ;;
	camera) args=(--scenario camera) ;;
	gcma-table) args=(--scenario gcma-table --count 8) ;;
	esac
	local cmd=("$BENCH" "${args[@]}" --backend dma_heap -q -o "$tmp/res-$w-$mode" --json "$out/$w.$mode.json")
	# bpftrace -c takes the command as one string
	if [ "${1:-}" = bpftrace ]; then
		set -- "$@" "${cmd[*]}"
		cmd=()
	fi
	"$@" "${cmd[@]}" >"$out/$w.$mode.out" 2>&1 ||
		echo "bench kernels: $w $mode failed: $(tail -n1 "$out/$w.$mode.out")" >&2
}

for w in ${CMAKIT_BENCH_KERNELS_WORKLOADS:-smoke camera gcma-table}; do
	bench "$w" bare
done
[ $patched = 1 ] || exit 0
tw=${CMAKIT_BENCH_KERNELS_TOOLS_WORKLOAD:-camera}
for m in ${CMAKIT_BENCH_KERNELS_MODES:-cmatrace bpf bpftrace perf trace-cmd}; do
	case $m in
	cmatrace) bench "$tw" cmatrace "$ROOT/build/cmatrace/cmatrace" live -o "$tmp/trace.jsonl" -- ;;
	bpf) bench "$tw" bpf "$ROOT/build/bpf/cmacollect" -o "$tmp/bpf.json" -- ;;
	bpftrace) bench "$tw" bpftrace bpftrace -q "$ROOT/bpf/bpftrace/cmalat.bt" -c ;;
	perf) bench "$tw" perf perf record -q -e 'cma:*' -o "$tmp/perf.data" -- ;;
	trace-cmd) bench "$tw" trace-cmd trace-cmd record -q -e cma -o "$tmp/trace.dat" ;;
	esac
done
