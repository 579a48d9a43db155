#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cmabench with more than one CMA area (cma_extra=, patched kernel): --area
# picks the area, requests land in it and are counted there only, and the
# results list every area.
. "$(dirname "$0")/lib.sh"
BIN=$CMABENCH
W=$(mktemp -d /tmp/cmabench-areas.XXXXXX)

if [ ! -d "$CMA_DEBUGFS/camera" ]; then
	t_skip "cmabench --area camera" "no area 'camera' (cma_extra= needs the patched kernel)"
	t_done
	exit
fi
for be in debugfs cma_bench; do
	if [ $be = cma_bench ] && [ ! -e /dev/cma_bench ]; then
		t_skip "backend cma_bench on area camera" "no /dev/cma_bench"
		continue
	fi
	c0=$(cat "$CMA_SYSFS/camera/alloc_pages_success")
	r0=$(cat "$CMA_SYSFS/reserved/alloc_pages_success")
	"$BIN" --backend $be --area camera --sizes 16,2048 --count 2 -o "$W/$be" -q 2>"$W/err"
	rc=$?
	c1=$(cat "$CMA_SYSFS/camera/alloc_pages_success")
	r1=$(cat "$CMA_SYSFS/reserved/alloc_pages_success")
	t_eq "backend $be --area camera: 4 requests of 4128 pages counted in camera, none in reserved" \
		"0 4 4128 0" "$rc $(jq .summary.ok "$W/$be/result.json" 2>&1) $((c1 - c0)) $((r1 - r0))"
done
if [ -e /dev/cma_bench ]; then
	base=$(cat "$CMA_DEBUGFS/camera/base_pfn")
	n=$(cat "$CMA_DEBUGFS/camera/count")
	t_eq "cma_bench: every pfn lies inside camera" 0 \
		"$(jq --argjson b "$base" --argjson n "$n" '[.allocations[] | select(.pfn < $b or .pfn + .pages > $b + $n)] | length' "$W/cma_bench/result.json")"
fi
t_eq "results list both areas" "camera reserved" \
	"$(jq -r '[.areas[].name] | sort | join(" ")' "$W/debugfs/result.json")"
t_eq "a request larger than camera is refused" 1 \
	"$("$BIN" --area camera --sizes 16384 -o "$W/big" -q >/dev/null 2>&1; echo $?)"
t_eq "an unknown area is refused in one line" "cmabench: no CMA area named 'nosuch'" \
	"$("$BIN" --area nosuch -o "$W/x" -q 2>&1)"
rm -rf "$W"
t_done
