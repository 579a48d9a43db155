#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: cmabench on the virtual board, in one boot.
#  1. The cost of measuring from user space: for allocations of 1 MiB and more,
#     the gap between cmabench's user-space time (ioctl round trip) and the
#     kernel-measured time of cma_alloc (/dev/cma_bench, patched kernel).
#     Target: at most 5% at the median.
#  2. The gcma-table scenario (the GCMA RFC v2 experiment): min/avg/max per size.
# Raw result.json files stay in results/bench-cmabench-<date>/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
out=$ROOT/results/bench-cmabench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
[ -x "$ROOT/tools/cmabench/cmabench" ] || make -s -C "$ROOT/tools/cmabench" >/dev/null || die "bench: cmabench does not build"

cat >"$out/run.sh" <<EOS
set -u
B=$ROOT/tools/cmabench/cmabench
cd "$out"
if [ -e /dev/cma_bench ]; then
	\$B --backend cma_bench --sizes 256,1024,4096,16384 --count 12 -o gap -q 2>gap.err || echo "gap run failed: \$(cat gap.err)"
else
	echo "no /dev/cma_bench on this kernel: kernel-side timing unavailable" >gap.skip
fi
\$B --scenario gcma-table -o gcma -q 2>gcma.err || echo "gcma-table failed: \$(cat gcma.err)"
EOS
# TSC as clocksource: under TCG the guest picks HPET, whose emulated reads
# would dominate the user-space side of the timing.
VM_QUIET=1 "$ROOT/ci/vm/run.sh" --mem 1G --timeout 1500 --append "clocksource=tsc tsc=reliable" --out "$ROOT/results" -- "bash $out/run.sh" </dev/null
rc=$?
[ $rc -eq 0 ] || { echo "bench: cmabench board run failed (status $rc)" >&2; exit 1; }

{
	echo "cmabench: user-space vs kernel-measured allocation time, requests >= 1 MiB"
	if [ -f "$out/gap.skip" ]; then
		cat "$out/gap.skip"
	elif [ -s "$out/gap/result.json" ]; then
		jq -r '
			[.allocations[] | select(.ok and .pages >= 256 and .kernel_ns > 0)
			 | {pages, gap: ((.user_ns - .kernel_ns) / .kernel_ns * 100)}] as $r
			| ($r | group_by(.pages)[] | (map(.gap) | sort) as $g
			   | "  \(.[0].pages) pages: median gap \($g[($g | length - 1) / 2 | floor] * 100 | round / 100)% (max \($g[-1] * 100 | round / 100)%, n=\($g | length))"),
			  (($r | map(.gap) | sort) as $g | "  all: median gap \($g[($g | length - 1) / 2 | floor] * 100 | round / 100)% -> \(if $g[($g | length - 1) / 2 | floor] <= 5 then "PASS" else "FAIL" end) (target <= 5%)")
		' "$out/gap/result.json"
	fi
	echo
	if [ -s "$out/gcma/summary.txt" ]; then
		echo "gcma-table (GCMA RFC v2 experiment) on the virtual board, TCG: compare ratios, not absolute times"
		cat "$out/gcma/summary.txt"
	fi
} | tee "$out/summary.txt"
[ -s "$out/gcma/summary.txt" ]
