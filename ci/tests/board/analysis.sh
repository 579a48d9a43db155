#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of analysis/: the board-side measurement the report uses (the
# copy bandwidth), and the report made inside the board from a smoke run of
# cmabench, counting exactly its records, with every view either drawn or
# replaced by the sentence that says why not. (cmabench writes the area map
# itself: ci/tests/board/cmabench-areamap.sh.)
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$ROOT" || exit 1
area=$(cma_default_area)

if [ -z "$area" ]; then
	t_stop fail "a CMA area exists" "nothing under $CMA_DEBUGFS"
fi
count=$(cat "$CMA_DEBUGFS/$area/count")

# 2. the copy bandwidth is measured and plausible (more than 10 MB/s)
"$PY" -m analysis.board copybw "$tmp/copybw.json" --mib 16 --repeat 3
bw=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["bytes_per_s"]))' "$tmp/copybw.json" 2>/dev/null)
if [ -n "$bw" ] && [ "$bw" -gt 10000000 ]; then
	t_ok "copybw: $((bw / 1000000)) MB/s"
else
	t_fail "copybw: a bandwidth above 10 MB/s" "got '$bw'"
fi

# 3. a smoke run of cmabench, reported inside the board: counts match
bench=$ROOT/build/cmabench/cmabench
if [ ! -x "$bench" ]; then
	t_fail "cmabench is built" "$bench missing (make tools)"
else
	run=$tmp/run
	if "$bench" --scenario smoke --out "$run" >/dev/null 2>"$tmp/bench.err"; then
		cp "$tmp/copybw.json" "$run/"
		"$PY" -m analysis -q report "$run" 2>"$tmp/report.err"
		rc=$?
		t_eq "report of a board run exits 0" 0 "$rc"
		[ $rc -eq 0 ] || t_diag "$(cat "$tmp/report.err")"
		want=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["allocations"]))' "$run/result.json")
		got=$(sed -n 's/^allocations: \([0-9]*\) .*/\1/p' "$run/summary.txt" 2>/dev/null)
		t_eq "the report counts the run's $want allocations" "$want" "$got"
		t_eq "cmabench's area map covers all $count pages of $area" "$count" \
			"$(jq '[.maps[0].runs[][1]] | add' "$run/areamap.json" 2>&1)"
		out=$("$PY" - "$run/report.html" <<'PY'
import re, sys
html = open(sys.argv[1]).read()
views = re.findall(r'<section class="view" id="view-([a-z-]+)">(.*?)</section>', html, re.S)
drawn = [v for v, body in views if "<img" in body]
said = [v for v, body in views if 'class="nodata"' in body]
bad = [v for v, body in views if v != "glance" and ("<img" in body) == ('class="nodata"' in body)]
print(len(views), len(drawn), "latency" in " ".join(drawn), "areamap" in " ".join(drawn), " ".join(bad) or "-")
PY
)
		read -r n_views n_drawn lat amap bad <<<"$out"
		[ "${n_views:-0}" -ge 8 ] && t_ok "the report has its views ($n_views, $n_drawn drawn)" ||
			t_fail "the report has its views" "$out"
		t_eq "every view is drawn or says why not, never both or neither" - "$bad"
		t_eq "a smoke run draws its latency view and its area map" "True True" "$lat $amap"
	else
		t_fail "cmabench --scenario smoke runs" "$(tail -n 3 "$tmp/bench.err")"
	fi
fi
t_done
