#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# CMA area names are unique across every kind of area. The board boots with
# hugetlb_cma=1G, which makes an area "hugetlb0" after cma_extra= has run,
# and cma_extra=hugetlb0:16M,cam:8M,cam:4M: the series must refuse the
# cma_extra= "hugetlb0" (it would collide with the later hugetlb area, and a
# duplicate sysfs name makes cma_sysfs_init() remove all of
# /sys/kernel/mm/cma) and the second "cam", keep the first "cam", and give
# it a DMA-BUF heap. A call trace on the console would also fail the boot.
. "$(dirname "$0")/lib.sh"

if [ ! -d "$CMA_DEBUGFS/cam" ] && ! grep -q cma_extra= /proc/cmdline; then
	t_stop fail "the board was booted with cma_extra=" "$(cat /proc/cmdline)"
fi
dmesg_all=$(dmesg)

# 1. sysfs is whole: one directory per area of debugfs
dbg=$(ls -1 "$CMA_DEBUGFS" 2>/dev/null | sort | tr '\n' ' ')
sys=$(ls -1 "$CMA_SYSFS" 2>/dev/null | sort | tr '\n' ' ')
t_eq "/sys/kernel/mm/cma has a directory for every area ($dbg)" "$dbg" "$sys"

# 2. the hugetlb area is hugetlb_cma='s, not cma_extra='s
if [ -d "$CMA_DEBUGFS/hugetlb0" ]; then
	t_eq "hugetlb0 is hugetlb_cma='s 1 GiB area (262144 pages)" 262144 "$(cat "$CMA_DEBUGFS/hugetlb0/count")"
else
	t_fail "hugetlb_cma=1G made an area hugetlb0" \
		"no hugetlb0 in $CMA_DEBUGFS: $(echo "$dmesg_all" | grep -i 'hugetlb_cma\|hugetlb' | head -3)"
fi
if echo "$dmesg_all" | grep -q "cma_extra: .*'hugetlb0'"; then
	t_ok "cma_extra=hugetlb0 was refused with a message"
else
	t_fail "cma_extra=hugetlb0 was refused with a message" "$(echo "$dmesg_all" | grep cma_extra)"
fi

# 3. the first cam stays, the second is refused
t_eq "the first cma_extra cam (8 MiB, 2048 pages) exists" 2048 "$(cat "$CMA_DEBUGFS/cam/count" 2>/dev/null)"
if echo "$dmesg_all" | grep -q "cma_extra: a CMA area named 'cam' exists already"; then
	t_ok "the second cma_extra cam was refused as a duplicate"
else
	t_fail "the second cma_extra cam was refused as a duplicate" "$(echo "$dmesg_all" | grep cma_extra)"
fi

# 4. heaps: one for cam, none for the refused names
[ -e /dev/dma_heap/cam ] && t_ok "cam has its DMA-BUF heap" ||
	t_fail "cam has its DMA-BUF heap" "$(ls /dev/dma_heap 2>&1)"
if echo "$dmesg_all" | grep -q "cma_heap: no heap"; then
	t_fail "every heap registered" "$(echo "$dmesg_all" | grep 'cma_heap: no heap')"
else
	t_ok "every heap registered"
fi
t_done
