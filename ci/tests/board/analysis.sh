#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of analysis/: the board-side measurements the report uses (the
# area map from /proc/kpageflags and the copy bandwidth), and the report made
# inside the board from a smoke run of cmabench, counting exactly its records.
# vm-args: --cma 256M
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/tests/board/lib.sh"
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$ROOT" || exit 1
area=$(cma_default_area)

# 1. the area map covers the area, and an allocation shows up as "cma" pages
if [ -z "$area" ]; then
	t_fail "a CMA area exists" "nothing under $CMA_DEBUGFS"
	t_done
	exit
fi
count=$(cat "$CMA_DEBUGFS/$area/count")
echo 1024 >"$CMA_DEBUGFS/$area/alloc"
"$PY" -m analysis.board areamap "$tmp/areamap.json" --area "$area" --key before
rc1=$?
echo 1024 >"$CMA_DEBUGFS/$area/free"
"$PY" -m analysis.board areamap "$tmp/areamap.json" --area "$area" --key after
rc2=$?
t_eq "areamap: exits 0 before and after" "0 0" "$rc1 $rc2"
out=$("$PY" - "$tmp/areamap.json" "$count" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
b, a = d["before"], d["after"]
tot = lambda m: sum(r[1] for r in m["runs"])
kind = lambda m, k: sum(r[1] for r in m["runs"] if m["kinds"][r[0]] == k)
print(tot(b) == n, tot(a) == n, kind(b, "cma") - kind(a, "cma"))
PY
)
t_eq "areamap: both maps cover all $count pages; the 1024 allocated pages are 'cma' before, not after" \
	"True True 1024" "$out"

# 2. the copy bandwidth is measured and plausible (more than 10 MB/s)
"$PY" -m analysis.board copybw "$tmp/copybw.json" --mib 16 --repeat 3
bw=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["bytes_per_s"]))' "$tmp/copybw.json" 2>/dev/null)
if [ -n "$bw" ] && [ "$bw" -gt 10000000 ]; then
	t_ok "copybw: $((bw / 1000000)) MB/s"
else
	t_fail "copybw: a bandwidth above 10 MB/s" "got '$bw'"
fi

# 3. a smoke run of cmabench, reported inside the board: counts match
bench=$ROOT/tools/cmabench/cmabench
if [ ! -x "$bench" ]; then
	t_fail "cmabench is built" "$bench missing (make tools)"
else
	run=$tmp/run
	if "$bench" --scenario smoke --out "$run" >/dev/null 2>"$tmp/bench.err"; then
		cp "$tmp/copybw.json" "$tmp/areamap.json" "$run/"
		"$PY" -m analysis -q report "$run" 2>"$tmp/report.err"
		rc=$?
		t_eq "report of a board run exits 0" 0 "$rc"
		[ $rc -eq 0 ] || t_diag "$(cat "$tmp/report.err")"
		want=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["allocations"]))' "$run/result.json")
		got=$(sed -n 's/^allocations: \([0-9]*\) .*/\1/p' "$run/summary.txt" 2>/dev/null)
		t_eq "the report counts the run's $want allocations" "$want" "$got"
		imgs=$(grep -o '<img src="data:image/png;base64,' "$run/report.html" 2>/dev/null | wc -l)
		[ "$imgs" -ge 7 ] && t_ok "the report embeds its figures ($imgs)" || t_fail "the report embeds its figures" "$imgs images"
	else
		t_fail "cmabench --scenario smoke runs" "$(tail -n 3 "$tmp/bench.err")"
	fi
fi
t_done
