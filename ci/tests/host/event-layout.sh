#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The records of the series' trace events have no holes (issue: a hole is
# ring-buffer space spent on nothing, in events that fire for every range
# tried). pahole reads each event's struct trace_event_raw_<event> from the
# built kernel's debug info. The events the series adds must have none; the
# ones it extends (cma_alloc_start, cma_alloc_finish) only the hole after
# __data_loc_name that 6.1's and mainline's layouts have.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/lib.sh"

kernel_variant cmakit || exit 2
VMLINUX=$KV_DIR/out/vmlinux
command -v pahole >/dev/null || t_stop fail "pahole is installed (dwarves, make deps)"
[ -r "$VMLINUX" ] || t_stop fail "the cmakit kernel is built" "no $VMLINUX (make kernel)"

# holes EVENT: "<member after the hole>:<bytes>" for each hole, in order
holes() {
	pahole -C "trace_event_raw_$1" "$VMLINUX" 2>/dev/null | awk '
		/XXX [0-9]+ bytes? hole/ { h = $3; next }
		h && /;/ { n = $0; sub(/;.*/, "", n); sub(/.*[ *]/, "", n); printf "%s%s:%s", s, n, h; s = " "; h = 0 }'
}

for ev in cma_range_isolate cma_range_drain cma_range_migrate cma_range_test cma_busy_page; do
	if ! pahole -C "trace_event_raw_$ev" "$VMLINUX" 2>/dev/null | grep -q '^struct'; then
		t_fail "$ev: its record is in the kernel's debug info" "pahole -C trace_event_raw_$ev found nothing"
		continue
	fi
	t_eq "$ev: the record has no hole" "" "$(holes "$ev")"
done
for ev in cma_alloc_start cma_alloc_finish; do
	t_eq "$ev: the only hole is the one after the name that 6.1 and mainline have" \
		"$(case $ev in cma_alloc_start) echo request_count:4 ;; *) echo pfn:4 ;; esac)" "$(holes "$ev")"
done
t_done
