#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The arm64 board's CMA areas come from its device tree, as on real arm64
# boards: ci/vm/run.sh adds reserved-memory nodes (compatible
# "shared-dma-pool", reusable; linux,cma the default area, and the
# --dt-cma areas) to QEMU's tree and lists them in the run's dt-areas.
# Here, on the board: the tree the kernel was given holds exactly those
# nodes; every node became a CMA area (debugfs and sysfs) with the tree's
# base and size; the default area is the one the DMA-BUF CMA heap serves;
# the areas are disjoint and inside memory; and every area hands out pages
# from its own range and takes them back.
. "$(dirname "$0")/lib.sh"

DT=/sys/firmware/devicetree/base
RM=$DT/reserved-memory
if [ "$(uname -m)" != aarch64 ]; then
	t_skip "device-tree CMA areas" "not an arm64 board ($(uname -m)); run it with make test ARCH=arm64"
	t_done
	exit
fi
plan=${CMAKIT_VM_RUN:-}/dt-areas
if [ ! -r "$plan" ]; then
	t_fail "the run lists the device tree's CMA areas" "no $plan (not started by ci/vm/run.sh --arch arm64?)"
	t_done
	exit
fi
[ -d "$RM" ] && t_ok "the board's device tree has a reserved-memory node" ||
	t_fail "the board's device tree has a reserved-memory node" "no $RM"

# be64 FILE [INDEX]: the INDEX-th (0, 1, ...) big-endian 64-bit cell pair of FILE, in decimal
be64() {
	local hex
	hex=$(od -An -tx1 -v "$1" 2>/dev/null | tr -d ' \n')
	hex=${hex:$((${2:-0} * 16)):16}
	[ ${#hex} = 16 ] && echo $((16#$hex))
}
page=$(getconf PAGESIZE)
mem_lo=$(be64 "$DT/memory@40000000/reg" 0)
mem_hi=$((mem_lo + $(be64 "$DT/memory@40000000/reg" 1)))
nplan=0
spans=()
names=()
total=0
def=
while read -r name base bytes kind; do
	[ -n "$name" ] || continue
	nplan=$((nplan + 1))
	names+=("$name")
	total=$((total + bytes))
	[ "$kind" != default ] || def=$name
	base=$((base))
	node=$RM/$name
	if [ ! -d "$node" ]; then
		t_fail "$name: a node of the tree's reserved-memory" "no $node"
		continue
	fi
	t_eq "$name: compatible \"shared-dma-pool\"" shared-dma-pool "$(tr -d '\0' <"$node/compatible")"
	[ -e "$node/reusable" ] && [ ! -e "$node/no-map" ] && t_ok "$name: reusable, mapped" ||
		t_fail "$name: reusable, mapped" "$(ls "$node")"
	if [ "$kind" = default ]; then
		[ -e "$node/linux,cma-default" ] && t_ok "$name: the tree's linux,cma-default" ||
			t_fail "$name: the tree's linux,cma-default" "$(ls "$node")"
	else
		[ ! -e "$node/linux,cma-default" ] && t_ok "$name: not the default area" ||
			t_fail "$name: not the default area" "it has linux,cma-default"
	fi
	t_eq "$name: the tree's base is the one the run placed" "$base" "$(be64 "$node/reg" 0)"
	t_eq "$name: the tree's size is the one the run gave" "$bytes" "$(be64 "$node/reg" 1)"
	[ "$base" -ge "$mem_lo" ] && [ $((base + bytes)) -le "$mem_hi" ] &&
		t_ok "$name: inside the board's memory" ||
		t_fail "$name: inside the board's memory" "$base+$bytes outside $mem_lo..$mem_hi"

	# the kernel's area
	d=$CMA_DEBUGFS/$name
	if [ ! -d "$d" ]; then
		t_fail "$name: a CMA area in debugfs" "no $d; areas: $(ls "$CMA_DEBUGFS" | paste -sd ' ')"
		continue
	fi
	t_eq "$name: debugfs base_pfn is the tree's base" $((base / page)) "$(cat "$d/base_pfn")"
	t_eq "$name: debugfs count is the tree's size in pages" $((bytes / page)) "$(cat "$d/count")"
	[ -d "$CMA_SYSFS/$name" ] && t_ok "$name: a CMA area in sysfs" ||
		t_fail "$name: a CMA area in sysfs" "no $CMA_SYSFS/$name"
	mib=$((bytes >> 20))
	printf -v hexbase '0x%016x' "$base"
	dmesg | grep -qF "Reserved memory: created CMA memory pool at $hexbase, size $mib MiB" &&
		t_ok "$name: the kernel reports the pool at $hexbase, $mib MiB" ||
		t_fail "$name: the kernel reports the pool at $hexbase, $mib MiB" \
			"$(dmesg | grep 'CMA memory pool')"
	spans+=("$base $((base + bytes)) $name")

	# The area lends its pages: 16 pages from the front of its range
	# (debugfs alloc), counted in sysfs, used, and given back.
	n=16
	succ0=$(cat "$CMA_SYSFS/$name/alloc_pages_success" 2>/dev/null || echo 0)
	used0=$(cat "$d/used")
	if echo $n >"$d/alloc" 2>/dev/null; then
		t_eq "$name: 16 pages allocated from the area (debugfs used)" $((used0 + n)) "$(cat "$d/used")"
		t_eq "$name: the allocation is counted in sysfs alloc_pages_success" $((succ0 + n)) \
			"$(cat "$CMA_SYSFS/$name/alloc_pages_success" 2>/dev/null)"
		echo $n >"$d/free"
		t_eq "$name: the pages are given back (debugfs used)" "$used0" "$(cat "$d/used")"
	else
		t_fail "$name: 16 pages allocated from the area (debugfs alloc)" "write to $d/alloc failed"
	fi
done <"$plan"
[ "$nplan" -gt 0 ] || t_fail "the run placed at least one CMA area in the tree" "$plan is empty"

# Only the tree's areas: the board's command line makes none of its own.
if grep -qE '(^| )(cma|cma_extra|hugetlb_cma)=' /proc/cmdline; then
	t_skip "the CMA areas are exactly the tree's" "the command line adds areas: $(cat /proc/cmdline)"
else
	t_eq "the CMA areas are exactly the tree's" \
		"$(printf '%s\n' "${names[@]}" | sort | paste -sd ' ')" \
		"$(ls -1 "$CMA_DEBUGFS" | sort | paste -sd ' ')"
	t_eq "CmaTotal is the sum of the tree's areas" "$((total / 1024))" \
		"$(sed -n 's/^CmaTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)"
fi
# disjoint: sorted by base, each ends before the next begins
overlap=
end=0
prev=
while read -r lo hi name; do
	[ -z "$prev" ] || [ "$lo" -ge "$end" ] || overlap+="$prev and $name "
	end=$hi prev=$name
done <<<"$(printf '%s\n' "${spans[@]}" | sort -n)"
[ ${#spans[@]} -eq "$nplan" ] && [ -z "$overlap" ] && t_ok "the areas are disjoint (${#spans[@]})" ||
	t_fail "the areas are disjoint" "${overlap:-${#spans[@]} of $nplan areas found}"

# The default area is the one dma_alloc_coherent() and the CMA heap use.
if [ -z "$def" ]; then
	t_skip "the DMA-BUF CMA heap serves the default area" "the run declared no default area (--cma none)"
elif [ ! -d /dev/dma_heap ]; then
	t_fail "the DMA-BUF CMA heap serves the default area" "no /dev/dma_heap (CONFIG_DMABUF_HEAPS_CMA)"
else
	[ -e "/dev/dma_heap/$def" ] && t_ok "the DMA-BUF CMA heap serves the default area ($def)" ||
		t_fail "the DMA-BUF CMA heap serves the default area ($def)" "heaps: $(ls /dev/dma_heap | paste -sd ' ')"
fi
t_done
