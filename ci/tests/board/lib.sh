# SPDX-License-Identifier: GPL-2.0
# Helpers for tests that run inside the virtual board (as root), and the
# preamble every board test shares: it sources this file first,
#   . "$(dirname "$0")/lib.sh"
# and gets set -u, ROOT, the TAP helpers and the tools' paths.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
CMABENCH=$ROOT/build/cmabench/cmabench
CMATRACE=$ROOT/build/cmatrace/cmatrace
BPF=$ROOT/build/bpf
PY=/usr/bin/python3

CMA_DEBUGFS=/sys/kernel/debug/cma
CMA_SYSFS=/sys/kernel/mm/cma
TRACEFS=/sys/kernel/tracing

# The default area: the one cma= creates (named "reserved" on 6.1).
cma_default_area() {
	local a
	for a in "$CMA_DEBUGFS"/*/; do
		a=${a%/}
		a=${a##*/}
		[ "$a" = reserved ] && { echo "$a"; return; }
	done
	ls -1 "$CMA_DEBUGFS" 2>/dev/null | head -n1
}

cma_used() { cat "$CMA_DEBUGFS/$1/used"; }

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# board_setting NAME FIELD: a board test's settings (ci/tests/board/settings,
# read as data; no process substitution: the board has no /dev/fd): FIELD timeout (seconds, default 600) or vm-args (ci/vm/run.sh
# options, default "--cma 256M").
board_setting() {
	local name timeout args
	while read -r name timeout args; do
		[ "$name" = "$1" ] || continue
		case $2 in timeout) echo "$timeout" ;; vm-args) echo "$args" ;; esac
		return
	done <<<"$(grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/ci/tests/board/settings")"
	case $2 in timeout) echo 600 ;; vm-args) echo "--cma 256M" ;; esac
}

# The baseline of "nothing left behind" (needs tap.sh, and area and pages
# set): every page of the area allocatable at once, CmaFree, the fail_cma
# knobs. board_baseline records it; t_nothing_left LABEL checks against it.
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo "$pages" >"$CMA_DEBUGFS/$area/alloc" 2>/dev/null || return 1
	echo "$pages" >"$CMA_DEBUGFS/$area/free"
}
fail_cma_knobs() { [ -d /sys/kernel/debug/fail_cma ] && grep -H . /sys/kernel/debug/fail_cma/* 2>/dev/null; }
board_baseline() {
	settle
	cma_free0=$(meminfo_kb CmaFree)
	knobs0=$(fail_cma_knobs)
}
t_nothing_left() {
	local label=$1 free1
	t_eq "$label: every buffer released (debugfs used 0)" 0 "$(cma_used "$area")"
	if settle; then
		t_ok "$label: nothing left pinned (all $pages pages of '$area' allocate at once)"
	else
		t_fail "$label: nothing left pinned (all $pages pages allocate at once)"
	fi
	free1=$(meminfo_kb CmaFree)
	# Freed pages may sit on per-cpu lists (not counted free) for a moment.
	if [ $((cma_free0 - free1)) -le 4096 ]; then
		t_ok "$label: CmaFree back at its baseline ($cma_free0 -> $free1 kB)"
	else
		t_fail "$label: CmaFree back at its baseline" "$cma_free0 -> $free1 kB"
	fi
	t_eq "$label: fail_cma knobs as before" "$knobs0" "$(fail_cma_knobs)"
}
