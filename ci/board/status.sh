#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the state of every CMA area of the running kernel: size, use, largest
# free chunk, allocation counters, and the CMA lines of /proc/meminfo.
# Works on any kernel with CMA_DEBUGFS (sysfs counters need CMA_SYSFS).
set -u
DBG=/sys/kernel/debug/cma
SYS=/sys/kernel/mm/cma
[ -d "$DBG" ] || { echo "status: $DBG missing (CMA_DEBUGFS off, or debugfs not mounted)" >&2; exit 1; }

page_kb=$(($(getconf PAGESIZE) / 1024))
echo "kernel: $(uname -r)"
echo "cmdline: $(cat /proc/cmdline | tr ' ' '\n' | grep -E '^(cma|cma_extra|fail_cma)=' | tr '\n' ' ')"
grep -E '^Cma(Total|Free):' /proc/meminfo | sed 's/^/meminfo: /'
printf '%-12s %10s %10s %10s %10s %8s %12s %12s\n' area base_pfn pages used maxchunk 'used%' alloc_ok alloc_fail
for d in "$DBG"/*/; do
	d=${d%/}
	a=${d##*/}
	count=$(cat "$d/count")
	used=$(cat "$d/used")
	ok=$(cat "$SYS/$a/alloc_pages_success" 2>/dev/null || echo -)
	bad=$(cat "$SYS/$a/alloc_pages_fail" 2>/dev/null || echo -)
	printf '%-12s %10s %10s %10s %10s %7.1f%% %12s %12s\n' "$a" "$(cat "$d/base_pfn")" \
		"$count" "$used" "$(cat "$d/maxchunk")" "$(echo "100 * $used / $count" | bc -l)" "$ok" "$bad"
done
echo "page size: ${page_kb} KiB; counters in pages"
