#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board test of cmabench's tour scenario, the default run (patched kernel):
# it has successes that migrated pages of the half-full area, EBUSY failures
# whose blocking page the kernel names as pinned, and exactly one injected
# fault; and afterwards nothing is held, pinned, injected or traced.
. "$(dirname "$0")/lib.sh"
BIN=$CMABENCH
W=$(mktemp -d /tmp/cmabench-tour.XXXXXX)
area=$(cma_default_area)
pages=$(cat "$CMA_DEBUGFS/$area/count")
INST=$TRACEFS/instances/cmabench-tour

if [ ! -x "$BIN" ]; then
	t_stop fail "cmabench is built" "$BIN missing (make tools)"
fi
if [ ! -e /dev/cma_bench ] || [ ! -d /sys/kernel/debug/fail_cma ]; then
	t_stop skip "the tour scenario" "no /dev/cma_bench or fail_cma (stock kernel)"
fi

# Movable pages of other programs may sit in the area; allocating all of it
# at once migrates them out, and fails if anything is pinned or held.
board_baseline

# The kernel's own word on each busy page, in a trace instance of our own.
traced=false
if mkdir "$INST" 2>/dev/null && echo 1 >"$INST/events/cma/cma_busy_page/enable"; then
	traced=true
fi
t0=$(date +%s.%N)
"$BIN" --scenario tour -o "$W/tour" -q 2>"$W/err"
rc=$?
t1=$(date +%s.%N)
if $traced; then
	echo 0 >"$INST/events/cma/cma_busy_page/enable"
	cp "$INST/trace" "$W/trace"
	rmdir "$INST"
fi
r=$W/tour/result.json
t_diag "tour: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s on the board"
if [ $rc -ne 0 ] || [ ! -s "$r" ]; then
	t_fail "tour: the run completes" "rc=$rc $(cat "$W/err")"
else
	t_ok "tour: the run completes (status $(jq -r .run.status "$r"))"
	t_diag "seq ok error pages migrated retries injected pinned landing ms: $(jq -c '[.allocations[] | [.seq, .ok, .error,
		.pages, .migrated, .retries, .injected, .pinned, (.occupancy.landing * 100 | floor), (.user_ns / 1e6 | floor)]]' "$r")"
	n=$(jq '[.allocations[] | select(.ok and .migrated > 0 and .occupancy.used >= 0.45)] | length' "$r")
	if [ "$n" -ge 1 ]; then
		t_ok "tour: $n successes migrated pages of the area held at 50%"
	else
		t_fail "tour: at least one success migrated pages" "$(jq -c '[.allocations[] | [.ok, .migrated, .occupancy.used]]' "$r")"
	fi
	n=$(jq '[.allocations[] | select(.ok | not) | select(.error == "EBUSY" and .pinned > 0)] | length' "$r")
	if [ "$n" -ge 1 ]; then
		t_ok "tour: $n requests failed with EBUSY while area pages were pinned"
	else
		t_fail "tour: at least one EBUSY failure under pins" "$(jq -c '[.allocations[] | [.ok, .error, .pinned]]' "$r")"
	fi
	t_eq "tour: exactly one injected fault (per request, in the summary and by the kernel's count)" "1 1 1" \
		"$(jq -r '"\([.allocations[] | select(.injected)] | length) \(.summary.injected) \(.run.inject.injected_faults)"' "$r")"
	t_eq "tour: the area map has the first failure, an EBUSY" "EBUSY" \
		"$(jq -r '.maps[] | select(.when == "first_failure") | .errno' "$W/tour/areamap.json" 2>&1)"
	if $traced; then
		t_diag "busy pages by reason: $(grep -o 'reason=[a-z_]*' "$W/trace" | sort | uniq -c | tr -s ' \n' ' ')"
		if grep -q ' cma_busy_page: .*reason=pinned' "$W/trace"; then
			t_ok "tour: the kernel names a busy page of the failures, reason pinned"
		else
			t_fail "tour: the kernel names a pinned busy page" "$(head -n 3 "$W/trace")"
		fi
		if grep -q ' cma_busy_page: .*reason=injected' "$W/trace"; then
			t_ok "tour: the kernel names the injected busy page, reason injected"
		else
			t_fail "tour: the kernel names the injected busy page" "$(grep -c cma_busy_page "$W/trace") busy lines"
		fi
	else
		t_skip "tour: the kernel names the busy pages" "no tracefs instance for cma_busy_page"
	fi
fi

# Nothing left behind ---------------------------------------------------------------
t_nothing_left "after the tour"
t_eq "after the tour: no trace instance or cma event left enabled" "0" \
	"$( (ls -d "$INST" 2>/dev/null; grep -l 1 "$TRACEFS"/events/cma/*/enable 2>/dev/null) | wc -l)"

rm -rf "$W"
t_done
