#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of the foundation: the kernel that runs is the one just built,
# its CMA area is the configured one, and the stock interfaces (debugfs,
# DMA-BUF heap, tracepoints) move by exactly what we ask of them.
# Runs inside the virtual board with cma=256M.
. "$(dirname "$0")/lib.sh"
. "$ROOT/ci/lib.sh"

# 1. the running kernel is the one just built -----------------------------------
# ci/vm/run.sh names the build it boots (CMAKIT_KERNEL_DIR, its release).
built=$(cat "${CMAKIT_KERNEL_DIR:-/nonexistent}/release" 2>/dev/null)
if [ -z "$built" ]; then
	t_fail "running kernel is a build of this project" "the board did not name its kernel build (CMAKIT_KERNEL_DIR=${CMAKIT_KERNEL_DIR:-})"
else
	t_eq "running kernel is the build in ${CMAKIT_KERNEL_DIR#"$ROOT"/} ($built)" "$built" "$(uname -r)"
fi

# 2. the CMA area exists with the configured size -----------------------------
area=$(cma_default_area)
want_mb=$(sed -n "s/.*[[:space:]]cma=\([0-9]*\)M.*/\1/p" /proc/cmdline)
if [ -z "$area" ]; then
	t_stop fail "a CMA area exists" "no directory under $CMA_DEBUGFS"
fi
t_eq "CmaTotal is the cma= size" "$((want_mb * 1024)) kB" "$(meminfo_kb CmaTotal) kB"
t_eq "debugfs count of '$area' is the cma= size in pages" \
	"$((want_mb * 1024 * 1024 / $(getconf PAGESIZE)))" "$(cat "$CMA_DEBUGFS/$area/count")"

# 3. debugfs alloc/free moves `used` by exactly the count --------------------
base=$(cma_used "$area")
echo 1024 >"$CMA_DEBUGFS/$area/alloc"
after_alloc=$(cma_used "$area")
echo 1024 >"$CMA_DEBUGFS/$area/free"
after_free=$(cma_used "$area")
t_eq "debugfs alloc of 1024 pages raises used by 1024" "$((base + 1024))" "$after_alloc"
t_eq "debugfs free of 1024 pages restores used" "$base" "$after_free"

# 4. a 4 MiB buffer from the CMA DMA-BUF heap ----------------------------------
if [ ! -e "/dev/dma_heap/$area" ]; then
	t_fail "CMA DMA-BUF heap /dev/dma_heap/$area exists" "$(ls /dev/dma_heap 2>&1)"
else
	succ0=$(cat "$CMA_SYSFS/$area/alloc_pages_success")
	# struct dma_heap_allocation_data { u64 len; u32 fd; u32 fd_flags; u64 heap_flags; }
	# DMA_HEAP_IOCTL_ALLOC = _IOWR('H', 0, 24)
	out=$(/usr/bin/python3 - "$area" "$CMA_DEBUGFS/$area/used" <<'PY'
import fcntl, os, struct, sys
area, used = sys.argv[1], sys.argv[2]
read = lambda: int(open(used).read())
before = read()
heap = os.open("/dev/dma_heap/" + area, os.O_RDONLY | os.O_CLOEXEC)
req = struct.pack("QIIQ", 4 << 20, 0, os.O_RDWR | os.O_CLOEXEC, 0)
res = fcntl.ioctl(heap, 0xC0184800, req)
buf_fd = struct.unpack("QIIQ", res)[1]
held = read()
os.close(buf_fd)
os.close(heap)
print(held - before, read() - before)
PY
)
	succ1=$(cat "$CMA_SYSFS/$area/alloc_pages_success")
	t_eq "4 MiB DMA-BUF from heap '$area' occupies 1024 CMA pages, freed on close" "1024 0" "$out"
	t_eq "sysfs alloc_pages_success counts the 1024 pages" "$((succ0 + 1024))" "$succ1"
fi

# 5. tracefs sees exactly one cma_alloc_start and cma_alloc_finish -----------
inst=$TRACEFS/instances/cmakit-foundation-$$
avail=$CMA_SYSFS/$area/available_pages
if mkdir "$inst" 2>/dev/null; then
	echo 1 >"$inst/events/cma/cma_alloc_start/enable"
	echo 1 >"$inst/events/cma/cma_alloc_finish/enable"
	av0=$(cat "$avail" 2>/dev/null)
	echo 512 >"$CMA_DEBUGFS/$area/alloc"
	echo 0 >"$inst/tracing_on"
	echo 512 >"$CMA_DEBUGFS/$area/free"
	trace=$(grep -v '^#' "$inst/trace")
	rmdir "$inst"
	# count= on stock 6.1, request_count= on the series and mainline
	starts=$(echo "$trace" | grep -cE "cma_alloc_start: name=$area (request_)?count=512 ")
	fins=$(echo "$trace" | grep -c "cma_alloc_finish: name=$area pfn=0x[0-9a-f]* .*count=512 ")
	t_eq "one allocation of 512 pages is traced as one cma_alloc_start and one cma_alloc_finish" "1 1" "$starts $fins"
	[ "$starts $fins" = "1 1" ] || t_diag "trace: $trace"
	# mainline's fields (the series since v2): the area's pages at the start
	if echo "$trace" | grep -q "cma_alloc_start: .*available_count="; then
		t_eq "cma_alloc_start's available_count and total_count are sysfs's before the allocation" \
			"available_count=$av0 total_count=$(cat "$CMA_DEBUGFS/$area/count")" \
			"$(echo "$trace" | grep -o "available_count=[0-9]* total_count=[0-9]*" | head -n1)"
	else
		t_skip "cma_alloc_start's available_count and total_count" "not in this kernel's event (stock 6.1)"
	fi
else
	t_fail "a tracefs instance can be created" "mkdir $inst failed"
fi
[ ! -d "$inst" ] || t_fail "the test's tracefs instance is gone" "$inst remains"

# 6. mainline's sysfs files: release_pages_success, total_pages, available_pages
if [ -e "$avail" ]; then
	t_eq "sysfs total_pages is the area's size" "$(cat "$CMA_DEBUGFS/$area/count")" \
		"$(cat "$CMA_SYSFS/$area/total_pages")"
	rel0=$(cat "$CMA_SYSFS/$area/release_pages_success")
	av0=$(cat "$avail")
	echo 256 >"$CMA_DEBUGFS/$area/alloc"
	av1=$(cat "$avail")
	echo 256 >"$CMA_DEBUGFS/$area/free"
	t_eq "sysfs available_pages falls by the 256 pages held and comes back when they are freed" \
		"$((av0 - 256)) $av0" "$av1 $(cat "$avail")"
	t_eq "sysfs release_pages_success counts the 256 pages freed" "$((rel0 + 256))" \
		"$(cat "$CMA_SYSFS/$area/release_pages_success")"
else
	t_skip "sysfs release_pages_success, total_pages, available_pages" "not on this kernel (6.1 has alloc_pages_success and alloc_pages_fail)"
fi

t_done
