#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of tools/cmabench: on every backend the board offers, the
# allocations and failures cmabench records equal the kernel's own counter
# deltas (vmstat cma_alloc_success/fail, sysfs alloc_pages_success/fail)
# read here independently; occupancy is held at its target; SIGINT mid-run
# leaves nothing allocated, pinned or injected; on the patched kernel the
# pinned scenario fails with -EBUSY and --inject restores every knob.
. "$(dirname "$0")/lib.sh"
BIN=$CMABENCH
W=$(mktemp -d /tmp/cmabench-test.XXXXXX)
area=$(cma_default_area)
pages=$(cat "$CMA_DEBUGFS/$area/count")

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
sysfs() { cat "$CMA_SYSFS/$area/$1"; }
snap() { echo "$(vmstat cma_alloc_success) $(vmstat cma_alloc_fail) $(sysfs alloc_pages_success) $(sysfs alloc_pages_fail)"; }

if [ ! -x "$BIN" ]; then
	t_fail "cmabench is built" "$BIN missing (make tools)"
	t_done
	exit
fi

# 1. exact accounting on each backend ------------------------------------------
# Three requests of 40000 pages (the first is kept while the rest run, so
# the next two find no room and fail), then 1024 and 1 pages three times each.
for be in debugfs dma_heap cma_bench; do
	if [ $be = cma_bench ] && [ ! -e /dev/cma_bench ]; then
		t_skip "backend cma_bench: records equal the kernel's counter deltas" "no /dev/cma_bench (stock kernel)"
		continue
	fi
	read -r s0 f0 ps0 pf0 <<<"$(snap)"
	"$BIN" --backend $be --sizes 40000,1024,1 --count 3 --window 1 -o "$W/acct-$be" -q 2>"$W/err"
	rc=$?
	read -r s1 f1 ps1 pf1 <<<"$(snap)"
	r=$W/acct-$be/result.json
	if [ $rc -ne 0 ] || [ ! -s "$r" ]; then
		t_fail "backend $be: run completes" "rc=$rc $(cat "$W/err")"
		continue
	fi
	got=$(jq -r '[.run.backend.name, ([.allocations[] | select(.ok)] | length), ([.allocations[] | select(.ok | not)] | length),
		([.allocations[] | select(.ok) | .pages] | add), ([.allocations[] | select(.ok | not) | .pages] | add)] | @tsv' "$r")
	t_eq "backend $be: recorded ok/failed requests and pages equal vmstat and sysfs deltas" \
		"$(printf '%s\t%s\t%s\t%s\t%s' $be $((s1 - s0)) $((f1 - f0)) $((ps1 - ps0)) $((pf1 - pf0)))" "$got"
	t_eq "backend $be: 7 successes, 2 failures (no room), both ENOMEM" "7 2 ENOMEM" \
		"$(jq -r '"\(.summary.ok) \(.summary.failed) \([.allocations[] | select(.ok | not) | .error] | unique | join(","))"' "$r")"
	t_eq "backend $be: the document's own accounting agrees" true "$(jq .summary.accounting.match "$r")"
	t_eq "backend $be: debugfs used is back at 0" 0 "$(cat "$CMA_DEBUGFS/$area/used")"
	if [ $be = cma_bench ]; then
		t_eq "backend cma_bench: every success has kernel time, retries and a pfn inside the area" 0 \
			"$(jq --argjson b "$(cat "$CMA_DEBUGFS/$area/base_pfn")" --argjson n "$pages" '[.allocations[] | select(.ok)
				| select((.kernel_ns | type) != "number" or .kernel_ns <= 0 or .kernel_ns > .user_ns
					or (.retries | type) != "number" or .pfn < $b or .pfn + .pages > $b + $n)] | length' "$r")"
	fi
done
out=$("$BIN" --sizes $((pages + 1)) -o "$W/big" -q 2>&1)
rc=$?
t_eq "a request larger than the area is refused (exit 1, one line)" \
	"1 cmabench: a request of $((pages + 1)) pages is larger than area '$area' ($pages pages)" "$rc $out"

# 2. occupancy held at the target before every request --------------------------
"$BIN" --sizes 2048,8192 --count 3 --occupancy 50:5 -o "$W/occ" -q 2>"$W/err"
rc=$?
r=$W/occ/result.json
if [ $rc -eq 0 ] && [ -s "$r" ]; then
	t_eq "occupancy 50% +- 5%: every one of 6 requests started within tolerance" "6 6" \
		"$(jq -r '"\(.summary.occupancy.n) \(.summary.occupancy.within_tolerance)"' "$r")"
	t_eq "... and where each request lands (first-fit range) at least 45% used" 0 \
		"$(jq '[.allocations[] | select(.occupancy.landing < 0.45)] | length' "$r")"
	t_eq "the page mix partitions the area ($pages pages)" "$pages" \
		"$(jq '[.allocations[0].occupancy.pages | .free, .cma, .anon, .file, .shmem, .other] | add' "$r")"
	t_diag "occupancy before each request: $(jq -c '[.allocations[].occupancy.used]' "$r")"
	t_diag "landing: $(jq -c '[.allocations[].occupancy.landing]' "$r"); latency ms: $(jq -c '[.allocations[] | .user_ns / 1e6 | floor]' "$r")"
else
	t_fail "occupancy 50%: run completes" "rc=$rc $(cat "$W/err")"
fi
out=$("$BIN" --sizes 1024 --count 1 --occupancy 93:1 --headroom 512M -o "$W/refuse" -q 2>&1)
rc=$?
case $out in
*"not reachable safely"*) t_eq "an unreachable occupancy target is refused with exit 1" 1 $rc ;;
*) t_fail "an unreachable occupancy target is refused" "rc=$rc: $out" ;;
esac

# 3. SIGINT in the middle of a run -------------------------------------------------
# Movable pages of other programs (page cache, the shell's memory) may sit in
# the area; allocating the whole area at once migrates them out (and fails if
# anything is pinned or held), so CmaFree is compared after that, both times.
board_baseline
inj=()
[ -d /sys/kernel/debug/fail_cma ] && inj=(--inject migrate:10)
# A few pinned pages, so that SIGINT finds pins to put back; pinning every
# in-use page made each request walk the whole area through -EBUSY, and a
# request in flight (SIGINT waits for it) could take minutes under TCG.
pin=()
[ -e /dev/cma_bench ] && pin=(--pressure pin:1024)
"$BIN" --sizes 1024,4096 --count 500 --hold 100 --window 4 --occupancy 40 "${inj[@]}" "${pin[@]}" \
	-o "$W/int" -q --backend "$([ -e /dev/cma_bench ] && echo cma_bench || echo dma_heap)" --release fifo 2>"$W/err" &
pid=$!
# Until the run proper has made a few requests: the occupancy setup first
# allocates the free area in $((pages / 1024)) chunks of 1024 pages.
calls0=$(vmstat cma_alloc_success)
for _ in $(seq 1 240); do
	sleep 0.5
	[ $(($(vmstat cma_alloc_success) - calls0)) -gt $((pages / 1024 + 3)) ] && break
done
sleep 1
kill -INT $pid
wait $pid
rc=$?
t_eq "SIGINT: exit status 130" 130 $rc
t_eq "SIGINT: results written with status INTERRUPTED" INTERRUPTED "$(jq -r .run.status "$W/int/result.json" 2>&1)"
t_nothing_left SIGINT

# 4. patched kernel: pinned pages give -EBUSY; --inject is counted and restored ----------
if [ -e /dev/cma_bench ]; then
	"$BIN" --scenario pinned -o "$W/pinned" -q 2>"$W/err"
	rc=$?
	t_eq "pinned: every request fails, with EBUSY" "0 3 EBUSY" \
		"$rc $(jq -r '"\(.summary.failed) \([.allocations[] | select(.ok | not) | .error] | unique | join(","))"' "$W/pinned/result.json" 2>&1)"
	t_diag "pinned pages, retries, ms: $(jq -c '[.allocations[] | [.pinned, .retries, (.user_ns / 1e6 | floor)]]' "$W/pinned/result.json" 2>&1)"
else
	t_skip "pinned: failures are EBUSY" "no /dev/cma_bench (stock kernel)"
fi
if [ -d /sys/kernel/debug/fail_cma ] && [ -e /dev/cma_bench ]; then
	"$BIN" --backend cma_bench --sizes 1024 --count 6 --inject alloc:100:3 -o "$W/inj" -q 2>"$W/err"
	t_eq "inject alloc:100:3: exactly 3 injected failures, recorded per request" "3 3 3" \
		"$(jq -r '"\(.summary.failed) \(.summary.injected) \(.run.inject.injected_faults)"' "$W/inj/result.json" 2>&1)"
	t_eq "inject: fail_cma knobs restored" "$knobs0" "$(fail_cma_knobs)"
else
	t_skip "inject: failures counted and knobs restored" "no fail_cma or /dev/cma_bench (stock kernel)"
fi

rm -rf "$W"
t_done
