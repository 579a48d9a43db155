#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run [SCENARIO=name]`: the main job. Boots the virtual board, runs the
# scenario with cmabench while cmatrace records the trace events and the BPF
# collectors their histograms, then renders the report on the host:
#
#   results/<run-id>/result.json     cmabench (docs/results.md)
#   results/<run-id>/cmatrace.jsonl  one record per allocation (docs/cmatrace.md)
#   results/<run-id>/cmatrace-summary.json  its summary
#   results/<run-id>/bpf.json        BPF collectors (docs/bpf.md)
#   results/<run-id>/board-*.txt     the areas before and after
#   results/<run-id>/areamap.json    cmabench: the area's page kinds at the first request,
#                                    the first failure and the last request
#   results/<run-id>/copybw.json     memory-copy bandwidth of the board
#   results/<run-id>/console.log     the board's console
#   results/<run-id>/report.html     the report; summary.txt its text form
#
# A component that is missing from the build is left out, and said so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
cd "$ROOT"

# The kernel of KERNEL=<variant> (ci/vm/run.sh boots the same one).
kernel_variant "$(kernel_spec)" || exit 2
# The default scenario: tour, which needs the series (/dev/cma_bench,
# fail_cma); on a kernel without patches, camera.
default=tour
[ -n "$KV_PATCHDIR" ] || default=camera
SCENARIO=${1:-${SCENARIO:-$default}}
CMABENCH=build/cmabench/cmabench
CMATRACE=build/cmatrace/cmatrace
CMACOLLECT=build/bpf/cmacollect
[ -x "$CMABENCH" ] || die "run: $CMABENCH is not built (make tools)"
"$CMABENCH" --list 2>/dev/null | grep -qw -- "$SCENARIO" ||
	die "run: unknown scenario '$SCENARIO' (cmabench --list: $("$CMABENCH" --list 2>/dev/null | awk '{print $1}' | tr '\n' ' '))"

[ -f "$KV_DIR/release" ] || die "run: the $KV_NAME kernel is not built (make kernel KERNEL=$KV_SPEC)"
# RUN_DIR puts the run elsewhere (make regress: the results store), and
# RUN_REPORT=0 leaves the report to the caller.
if [ -n "${RUN_DIR:-}" ]; then
	dir=${RUN_DIR%/}
	run_id=$(basename "$dir")-$$
	[ ! -e "$dir" ] || die "run: $dir exists already"
else
	run_id=$(date +%Y%m%d-%H%M%S)-$SCENARIO-$KV_NAME-$KV_HASH
	dir=results/$run_id
fi
mkdir -p "$dir"
# The host's time at the boot: what orders runs that alternate in time. The
# board's own clock does not: under --icount it counts instructions, and it
# runs ahead of the host's while the guest waits for the host's I/O.
date -u +%Y-%m-%dT%H:%M:%S.%6NZ >"$dir/host-started"

# The command inside the board: cmabench, wrapped by the collectors.
cmd="$CMABENCH --scenario $SCENARIO --out $dir"
if [ -x "$CMACOLLECT" ]; then
	cmd="$CMACOLLECT -o $dir/bpf.json -- $cmd"
else
	info "run: BPF collectors not built ($CMACOLLECT); the run goes without them"
fi
if [ -x "$CMATRACE" ]; then
	cmd="$CMATRACE live -o $dir/cmatrace.jsonl --summary-json $dir/cmatrace-summary.json -- $cmd"
else
	info "run: cmatrace not built ($CMATRACE); the run goes without it"
fi

info "run: scenario $SCENARIO on the virtual board, results in $dir"
set +e
# Before and after the scenario: the areas' state, and the board's
# memory-copy bandwidth (the report's copy floor).
py=/usr/bin/python3
before="ci/board/status.sh > $dir/board-before.txt && $py -m analysis.board copybw $dir/copybw.json"
after="ci/board/status.sh > $dir/board-after.txt"
# RUN_BEFORE: a command for the board to run first (make bench sets a
# fail_cma_delay with it, to make a kernel slower on purpose).
[ -z "${RUN_BEFORE:-}" ] || before+=" && { $RUN_BEFORE; }"
VM_QUIET=1 VM_RUN_ID=run-$run_id "$ROOT/ci/vm/run.sh" -- \
	"$before && $cmd; rc=\$?; $after; exit \$rc" </dev/null
rc=$?
set -e
cp "build/vm/runs/run-$run_id/console.log" "$dir/console.log" 2>/dev/null || true
[ $rc -eq 0 ] || die "run: the scenario failed on the board (status $rc; console: $dir/console.log)"

if [ "${RUN_REPORT:-1}" = 0 ]; then
	echo "run: results $dir"
	exit 0
fi
info "run: the board is done; rendering the report"
/usr/bin/python3 -m analysis report "$dir" || die "run: the report could not be made from $dir"
echo "run: report $dir/report.html"
