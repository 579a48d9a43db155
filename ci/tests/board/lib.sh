# SPDX-License-Identifier: GPL-2.0
# Helpers for tests that run inside the virtual board (as root).

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

# The time limit of a board test: its "# timeout: SECONDS" line, or 600.
test_timeout() {
	local t
	t=$(sed -n 's/^# timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
	echo "${t:-600}"
}
