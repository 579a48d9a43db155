#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job end to end: `ci/run.sh smoke` (what `make run SCENARIO=smoke`
# calls after building) boots the board, runs the scenario with the
# collectors attached and renders the report; the report must count exactly
# the allocations the run made, and the run must leave its files.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
cd "$ROOT"

out=$(bash ci/run.sh smoke 2>&1)
rc=$?
t_eq "make run SCENARIO=smoke exits 0" 0 $rc
[ $rc -eq 0 ] || t_diag "$(echo "$out" | tail -n 20)"
dir=$(echo "$out" | sed -n 's/^run: report \(.*\)\/report.html$/\1/p' | tail -n1)
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	t_stop fail "make run names its results directory" "$out"
fi
t_ok "make run names its results directory ($dir)"

for f in result.json cmatrace.jsonl bpf.json report.html summary.txt board-before.txt board-after.txt console.log; do
	[ -s "$dir/$f" ] && t_ok "the run wrote $f" || t_fail "the run wrote $f" "$dir/$f missing or empty"
done

made=$(jq '.allocations | length' "$dir/result.json")
summary=$(jq '.summary.allocations' "$dir/result.json")
reported=$(sed -n 's/^allocations: \([0-9]*\) .*/\1/p' "$dir/summary.txt" | head -n1)
traced=$(grep -c . "$dir/cmatrace.jsonl")
t_eq "cmabench's summary counts its records" "$made" "$summary"
t_eq "the report counts every allocation of the run" "$made" "$reported"
t_eq "cmatrace recorded one record per allocation" "$made" "$traced"
[ "$made" -gt 0 ] 2>/dev/null && t_ok "the smoke scenario made allocations ($made)" ||
	t_fail "the smoke scenario made allocations" "$made"
grep -q '<img' "$dir/report.html" && ! grep -qE '<img[^>]+src="(http|file)' "$dir/report.html" &&
	t_ok "report.html embeds its images" || t_fail "report.html embeds its images"

# bad input: one line, non-zero, nothing written
before=$(ls results | wc -l)
out=$(bash ci/run.sh no-such-scenario 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && t_ok "an unknown scenario gives one line and a non-zero exit" ||
	t_fail "an unknown scenario gives one line and a non-zero exit" "status $rc: $out"
t_eq "an unknown scenario leaves no results directory" "$before" "$(ls results | wc -l)"
t_done
