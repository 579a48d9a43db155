#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every way of counting agrees, on any kernel (the stock suite runs this too):
# one cmabench run under perf stat, cmatrace live and the BPF collectors at
# once, and the kernel's own vmstat and sysfs counters read around it, count
# the same allocations and failures. What a tool cannot know on this kernel
# it says once on stderr, and leaves null, never zero.
. "$(dirname "$0")/lib.sh"
BENCH=$CMABENCH
CMATRACE=$ROOT/build/cmatrace/cmatrace
COLLECT=$ROOT/build/bpf/cmacollect
W=$(mktemp -d /tmp/totals.XXXXXX)
area=$(cma_default_area)

for b in "$BENCH" "$CMATRACE" "$COLLECT"; do
	[ -x "$b" ] || { t_fail "$(basename "$b") is built" "$b missing (make tools)"; t_done; exit; }
done
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
snap() { echo "$(vmstat cma_alloc_success) $(vmstat cma_alloc_fail) $(cat "$CMA_SYSFS/$area/alloc_pages_success") $(cat "$CMA_SYSFS/$area/alloc_pages_fail")"; }
patched=0
[ -d "$TRACEFS/events/cma/cma_range_isolate" ] && patched=1

# Three 40000-page requests, the first kept while the others run (no room:
# they fail), then 1 and 256 pages three times each: 9 requests, 2 failures.
# On both backends a stock kernel has: the DMA-BUF heap and debugfs.
for be in dma_heap debugfs; do
	read -r s0 f0 ps0 pf0 <<<"$(snap)"
	perf stat -x, -e cma:cma_alloc_finish -o "$W/perf-$be.txt" -- \
		"$CMATRACE" live -o "$W/trace-$be.jsonl" -- \
		"$COLLECT" -o "$W/bpf-$be.json" -- \
		"$BENCH" --backend $be --sizes 40000,1,256 --count 3 --window 1 -q -o "$W/run-$be" 2>"$W/err-$be"
	rc=$?
	read -r s1 f1 ps1 pf1 <<<"$(snap)"
	r=$W/run-$be/result.json
	t_eq "$be: cmabench under perf stat, cmatrace and cmacollect exits 0" 0 $rc
	[ $rc -eq 0 ] || t_diag "$(tail -n 5 "$W/err-$be")"
	if [ ! -s "$r" ]; then
		t_fail "$be: cmabench wrote its result" "$r missing"
		continue
	fi
	made=$(jq '.allocations | length' "$r")
	ok=$(jq '[.allocations[] | select(.ok)] | length' "$r")
	perf_n=$(awk -F, '$3 == "cma:cma_alloc_finish" { print $1 }' "$W/perf-$be.txt")
	trace_n=$(grep -c . "$W/trace-$be.jsonl")
	trace_ok=$(jq -s '[.[] | select(.errno == 0)] | length' "$W/trace-$be.jsonl")
	bpf_n=$(jq '.cmalat.allocations' "$W/bpf-$be.json")
	bpf_fail=$(jq '.cmalat.failures' "$W/bpf-$be.json")
	t_eq "$be: 9 requests, 7 of them granted" "9 7" "$made $ok"
	t_eq "$be: perf stat counts every cma_alloc_finish of the run" "$made" "$perf_n"
	t_eq "$be: vmstat: successes and failures add up to the requests" "$ok $((made - ok))" "$((s1 - s0)) $((f1 - f0))"
	t_eq "$be: sysfs: pages granted and refused equal cmabench's" \
		"$(jq '[.allocations[] | select(.ok) | .pages] | add' "$r") $(jq '[.allocations[] | select(.ok | not) | .pages] | add' "$r")" \
		"$((ps1 - ps0)) $((pf1 - pf0))"
	t_eq "$be: cmatrace: one record per request, the same successes" "$made $ok" "$trace_n $trace_ok"
	t_eq "$be: the BPF collectors: the same allocations and failures" "$made $((made - ok))" "$bpf_n $bpf_fail"
	t_eq "$be: nothing is left allocated" 0 "$(cma_used "$area")"
done
be=dma_heap

# What cannot be known here is said once and left null.
if [ $patched = 1 ]; then
	t_eq "patched kernel: cmatrace has phases for every granted request" "$ok" \
		"$(jq -s '[.[] | select(.errno == 0 and (.phases | type) == "object")] | length' "$W/trace-$be.jsonl")"
	grep -q 'cmatrace: no cma:cma_range' "$W/err-$be" && t_fail "patched kernel: cmatrace does not claim the phases are unknown" ||
		t_ok "patched kernel: cmatrace does not claim the phases are unknown"
else
	t_eq "stock kernel: cmatrace says once that phases are unknown" 1 "$(grep -c 'cmatrace: no cma:cma_range_\* events' "$W/err-$be")"
	t_eq "stock kernel: cmatrace says once that the blocking page is unknown" 1 "$(grep -c 'cmatrace: no cma:cma_busy_page' "$W/err-$be")"
	t_eq "stock kernel: every record's phases and migrate counts are null, never zero" "$made" \
		"$(jq -s '[.[] | select(.phases == null and .migrate == null)] | length' "$W/trace-$be.jsonl")"
	t_eq "stock kernel: the BPF tools name what they could not attach" true \
		"$(jq '[.cmalat, .cmafail, .cmamigrate | .unavailable // [] | length] | add > 0' "$W/bpf-$be.json")"
fi
rm -rf "$W"
t_done
