#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every way of counting agrees, on any kernel (the stock suite runs this too):
# one cmabench run under perf stat, cmatrace live and the BPF collectors at
# once, and the kernel's own vmstat and sysfs counters read around it, count
# the same allocations and failures. What a tool cannot know on this kernel
# it says once on stderr, and leaves null, never zero.
# vm-args: --cma 256M --mem 1G
# timeout: 300
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/tests/board/lib.sh"
BENCH=$ROOT/tools/cmabench/cmabench
CMATRACE=$ROOT/tools/cmatrace/cmatrace
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
read -r s0 f0 ps0 pf0 <<<"$(snap)"
perf stat -x, -e cma:cma_alloc_finish -o "$W/perf.txt" -- \
	"$CMATRACE" live -o "$W/trace.jsonl" -- \
	"$COLLECT" -o "$W/bpf.json" -- \
	"$BENCH" --backend dma_heap --sizes 40000,1,256 --count 3 --window 1 -q -o "$W/run" 2>"$W/err"
rc=$?
read -r s1 f1 ps1 pf1 <<<"$(snap)"
r=$W/run/result.json
t_eq "cmabench under perf stat, cmatrace and cmacollect exits 0" 0 $rc
[ $rc -eq 0 ] || t_diag "$(tail -n 5 "$W/err")"
if [ ! -s "$r" ]; then
	t_fail "cmabench wrote its result" "$r missing"
	t_done
	exit
fi

made=$(jq '.allocations | length' "$r")
ok=$(jq '[.allocations[] | select(.ok)] | length' "$r")
perf_n=$(awk -F, '$3 == "cma:cma_alloc_finish" { print $1 }' "$W/perf.txt")
trace_n=$(grep -c . "$W/trace.jsonl")
trace_ok=$(jq -s '[.[] | select(.errno == 0)] | length' "$W/trace.jsonl")
bpf_n=$(jq '.cmalat.allocations' "$W/bpf.json")
bpf_fail=$(jq '.cmalat.failures' "$W/bpf.json")
t_eq "9 requests, 7 of them granted" "9 7" "$made $ok"
t_eq "perf stat counts every cma_alloc_finish of the run" "$made" "$perf_n"
t_eq "vmstat: successes and failures add up to the requests" "$ok $((made - ok))" "$((s1 - s0)) $((f1 - f0))"
t_eq "sysfs: pages granted and refused equal cmabench's" \
	"$(jq '[.allocations[] | select(.ok) | .pages] | add' "$r") $(jq '[.allocations[] | select(.ok | not) | .pages] | add' "$r")" \
	"$((ps1 - ps0)) $((pf1 - pf0))"
t_eq "cmatrace: one record per request, the same successes" "$made $ok" "$trace_n $trace_ok"
t_eq "the BPF collectors: the same allocations and failures" "$made $((made - ok))" "$bpf_n $bpf_fail"
t_eq "nothing is left allocated" 0 "$(cma_used "$area")"

# What cannot be known here is said once and left null.
if [ $patched = 1 ]; then
	t_eq "patched kernel: cmatrace has phases for every granted request" "$ok" \
		"$(jq -s '[.[] | select(.errno == 0 and (.phases | type) == "object")] | length' "$W/trace.jsonl")"
	grep -q 'cmatrace: no cma:cma_range' "$W/err" && t_fail "patched kernel: cmatrace does not claim the phases are unknown" ||
		t_ok "patched kernel: cmatrace does not claim the phases are unknown"
else
	t_eq "stock kernel: cmatrace says once that phases are unknown" 1 "$(grep -c 'cmatrace: no cma:cma_range_\* events' "$W/err")"
	t_eq "stock kernel: cmatrace says once that the blocking page is unknown" 1 "$(grep -c 'cmatrace: no cma:cma_busy_page' "$W/err")"
	t_eq "stock kernel: every record's phases and migrate counts are null, never zero" "$made" \
		"$(jq -s '[.[] | select(.phases == null and .migrate == null)] | length' "$W/trace.jsonl")"
	t_eq "stock kernel: the BPF tools name what they could not attach" true \
		"$(jq '(.cmalat.unavailable | length) > 0' "$W/bpf.json")"
fi
rm -rf "$W"
t_done
