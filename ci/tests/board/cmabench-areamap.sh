#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of cmabench's areamap.json: under occupancy 50 the first map
# shows the area's used pages (the very counts the request's record gives),
# every map covers the area exactly, the recorded range is the buffer the
# request got, inside the area (the kernel's pfn on cma_bench, the bitmap's on
# debugfs); a run with a failure has a first_failure map in which the buffer
# still held is cma.
. "$(dirname "$0")/lib.sh"
BIN=$CMABENCH
W=$(mktemp -d /tmp/cmabench-areamap.XXXXXX)
area=$(cma_default_area)
pages=$(cat "$CMA_DEBUGFS/$area/count")
base=$(cat "$CMA_DEBUGFS/$area/base_pfn")

if [ ! -x "$BIN" ]; then
	t_fail "cmabench is built" "$BIN missing (make tools)"
	t_done
	exit
fi

# [start, end, kind] of every run of map $1 (relative pfns)
spans='def spans($m): [foreach $m.runs[] as $r (0; . + $r[1]; [. - $r[1], ., $r[0]])];'
# pages of each kind in map $m, as {free: N, ...}
counts='def counts($m; $k): reduce $m.runs[] as $r ({}; .[$k[$r[0]]] += $r[1]);'

# 1. occupancy 50: the first map is the area as the first request found it -----
"$BIN" --sizes 2048 --count 3 --occupancy 50 -o "$W/occ" -q 2>"$W/err"
rc=$?
r=$W/occ/result.json
m=$W/occ/areamap.json
if [ $rc -ne 0 ] || [ ! -s "$m" ]; then
	t_fail "occupancy 50: the run writes areamap.json" "rc=$rc $(cat "$W/err")" "$(ls "$W/occ" 2>&1)"
else
	be=$(jq -r .run.backend.name "$r")
	t_eq "areamap.json: schema, area and its size" "cmakit.areamap/2.0 $area $base $pages" \
		"$(jq -r '"\(.schema) \(.area) \(.base_pfn) \(.pages)"' "$m")"
	t_eq "no failure: maps at the first and the last request only" '[["first",0],["last",2]]' \
		"$(jq -c '[.maps[] | [.when, .request]]' "$m")"
	used=$(jq '[.maps[0].runs[] | select(.[0] >= 2) | .[1]] | add // 0' "$m")
	if [ "$used" -ge $((pages * 40 / 100)) ]; then
		t_ok "the first map is not blank: $used of $pages pages used (occupancy 50%)"
	else
		t_fail "the first map is not blank (occupancy 50%)" "used $used of $pages" "$(jq -c '.maps[0].runs[:10]' "$m")"
	fi
	t_eq "every map's runs add up to the area ($pages pages)" "$pages $pages" \
		"$(jq -r '[.maps[] | [.runs[][1]] | add] | join(" ")' "$m")"
	# The map is the scan the record's occupancy counts come from.
	t_eq "each map's kinds are the page mix its request recorded" "true true" \
		"$(jq -r --slurpfile r "$r" "$counts"' [.kinds as $k | .maps[] | . as $m | counts($m; $k) as $c
			| $r[0].allocations[$m.request].occupancy.pages as $p
			| all($k[]; ($c[.] // 0) == $p[.])] | map(tostring) | join(" ")' "$m")"
	t_eq "every range lies inside the area" 0 \
		"$(jq --argjson b "$base" --argjson n "$pages" '[.maps[] | select(.range == null or .range.pfn < $b
			or .range.pfn + .range.pages > $b + $n)] | length' "$m")"
	if [ "$be" = cma_bench ]; then
		t_eq "cma_bench: the range is the kernel's pfn of the request" "true" \
			"$(jq -r --slurpfile r "$r" '[.maps[] | .range.pfn == $r[0].allocations[.request].pfn] | all' "$m")"
	fi
	t_eq "no temporary file is left" "" "$(ls "$W/occ" | grep '\.tmp$')"
	t_diag "backend $be; first map, first runs: $(jq -c '.maps[0].runs[:12]' "$m")"
fi

# 2. a failure: the first buffer is held, the second request finds no room ------
for be in debugfs cma_bench; do
	if [ $be = cma_bench ] && [ ! -e /dev/cma_bench ]; then
		t_skip "backend cma_bench: a failed run has a first_failure map" "no /dev/cma_bench (stock kernel)"
		continue
	fi
	"$BIN" --backend $be --sizes 40000 --count 2 --window 1 -o "$W/fail-$be" -q 2>"$W/err"
	rc=$?
	m=$W/fail-$be/areamap.json
	if [ $rc -ne 0 ] || [ ! -s "$m" ]; then
		t_fail "backend $be: the failing run writes areamap.json" "rc=$rc $(cat "$W/err")"
		continue
	fi
	t_eq "backend $be: maps first (ok), first_failure and last (request 1, ENOMEM)" \
		'[["first",0,true,null],["first_failure",1,false,"ENOMEM"],["last",1,false,"ENOMEM"]]' \
		"$(jq -c '[.maps[] | [.when, .request, .ok, .errno]]' "$m")"
	t_eq "backend $be: the first request's range is its 40000 pages inside the area; the failure's is null" \
		"40000 1 null" "$(jq -r --argjson b "$base" --argjson n "$pages" '"\(.maps[0].range.pages)
			\(if .maps[0].range.pfn >= $b and .maps[0].range.pfn + 40000 <= $b + $n then 1 else 0 end)
			\(.maps[1].range)"' "$m" | tr -s ' \n\t' ' ' | sed 's/ $//')"
	# Before the failure the first buffer is held: its range is cma in the map.
	t_eq "backend $be: in the first_failure map the held buffer's pages are all cma" 0 \
		"$(jq "$spans"' (.maps[0].range.pfn - .base_pfn) as $a | [spans(.maps[1])[]
			| select(.[1] > $a and .[0] < $a + 40000 and .[2] != 1)] | length' "$m")"
done

rm -rf "$W"
t_done
