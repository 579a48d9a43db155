#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of the kernel series (kernel-patches/): the cma selftests
# (tools/testing/selftests/cma, kselftest harness, built by `make kernel`
# into build/kernel/<variant>/selftests/), the kernel's own dmabuf-heaps selftest, and
# a trace-cmd recording of every new cma event that libtraceevent must parse.
# The CMA areas are more than half of the memory so that movable pages land
# in them and the tests can pin and migrate them; cma_extra= adds two named
# areas, which the selftests run on as well.
. "$(dirname "$0")/lib.sh"

SELFTESTS=${CMAKIT_KERNEL_DIR:-$ROOT/build/kernel/cmakit}/selftests
CMA_TEST=$SELFTESTS/cma/cma_bench_test
HEAP_TEST=$SELFTESTS/dmabuf-heaps/dmabuf-heap

# kselftest TAP -> our TAP, one line per test case; the exit status must agree.
run_kselftest() {
	local name=$1 out rc line
	shift
	out=$("$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		'ok '[0-9]*' # SKIP'*)
			line=${line#ok }; line=${line#* }
			t_skip "$name: ${line%% # SKIP*}" "${line#* # SKIP }" ;;
		'ok '[0-9]*)
			line=${line#ok }; t_ok "$name: ${line#* }" ;;
		'not ok '[0-9]*)
			line=${line#not ok }; t_fail "$name: ${line#* }" ;;
		'#'*) echo "$line" ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ]; then
		t_fail "$name exits 0" "exit $rc"
	fi
}

if [ ! -c /dev/cma_bench ]; then
	t_stop fail "/dev/cma_bench exists" "$(ls -l /dev/cma_bench 2>&1)"
fi
if [ ! -x "$CMA_TEST" ]; then
	t_stop fail "the cma selftest is built" "$CMA_TEST missing (make kernel builds it)"
fi

area=$(cma_default_area)
stat() { awk -v k="$2" '$1 == k { print $2 }' "$CMA_DEBUGFS/$1/stats"; }

# 1. the cma selftests, on the default area -----------------------------------------
run_kselftest cma "$CMA_TEST"
t_eq "area $area: nothing allocated after the selftests" 0 "$(cma_used "$area")"
t_eq "fail_cma is back to probability 0" 0 "$(cat /sys/kernel/debug/fail_cma/probability)"

# 2. the extra areas of cma_extra= ----------------------------------------------------
pages_per_mb=$((1024 * 1024 / $(getconf PAGESIZE)))
ranges=
for x in camera:32 video:32; do
	name=${x%%:*} mb=${x#*:}
	t_eq "cma_extra area $name has $mb MiB" "$((mb * pages_per_mb))" "$(cat "$CMA_DEBUGFS/$name/count" 2>&1)"
	[ -d "$CMA_SYSFS/$name" ] && t_ok "cma_extra area $name has a sysfs directory" ||
		t_fail "cma_extra area $name has a sysfs directory" "$(ls "$CMA_SYSFS")"
	[ -c "/dev/dma_heap/$name" ] && t_ok "cma_extra area $name has a DMA-BUF heap" ||
		t_fail "cma_extra area $name has a DMA-BUF heap" "$(ls /dev/dma_heap)"
done
for a in "$area" camera video; do
	ranges="$ranges $(cat "$CMA_DEBUGFS/$a/base_pfn") $(cat "$CMA_DEBUGFS/$a/count")"
done
overlap=$(echo "$ranges" | awk '{ for (i = 1; i < NF; i += 2) for (j = i + 2; j < NF; j += 2)
	if ($i < $j + $(j + 1) && $j < $i + $(i + 1)) print "overlap" }')
t_eq "the areas $area, camera and video are disjoint" "" "$overlap"

before=$(stat "$area" attempts)
CMA_BENCH_AREA=camera run_kselftest "cma[camera]" "$CMA_TEST"
t_eq "area camera: nothing allocated after the selftests" 0 "$(cma_used camera)"
t_eq "the selftests on camera leave the counters of $area alone" "$before" "$(stat "$area" attempts)"

# 3. every new event parses with libtraceevent (the selftests on area video) ----------------------------------
if command -v trace-cmd >/dev/null; then
	dat=/tmp/kernel-cma-trace.dat
	CMA_BENCH_AREA=video trace-cmd record -q -o "$dat" -e cma "$CMA_TEST" \
		>/tmp/kernel-cma-record.log 2>&1
	rc=$?
	t_eq "the selftests pass on area video under trace-cmd record" 0 "$rc"
	[ $rc -eq 0 ] || t_diag "$(grep -E '^(not ok|#.*(Expected|FAIL))' /tmp/kernel-cma-record.log)"
	report=$(trace-cmd report -i "$dat" 2>&1)
	t_eq "trace-cmd report shows no FAILED TO PARSE" 0 "$(grep -c 'FAILED TO PARSE' <<<"$report")"
	for ev in cma_alloc_start cma_alloc_finish cma_release cma_range_isolate \
		cma_range_drain cma_range_migrate cma_range_test cma_busy_page; do
		n=$(grep -c " $ev: " <<<"$report")
		if [ "$n" -gt 0 ]; then
			t_ok "trace-cmd report shows $ev ($n)"
		else
			t_fail "trace-cmd report shows $ev" "$(head -n 20 <<<"$report")"
		fi
	done
	# libtraceevent must print both __print_symbolic() fields as words.
	# The pinned page's line is preferred, but any line proves the parsing.
	# The recording does not always hold it: once it had one cma_alloc_finish
	# fewer than cma_alloc_start and no pinned line, while the selftest, which
	# asserts the pinned reason, saw it in its own trace instance.
	line=$(grep -m1 ' cma_busy_page: .*reason=pinned' <<<"$report") ||
		line=$(grep -m1 ' cma_busy_page: ' <<<"$report")
	t_diag "$line"
	case $line in
	*' reason='[a-z]*' '*'migratetype='[a-z]*) t_ok "cma_busy_page prints its reason and migratetype symbolically" ;;
	*) t_fail "cma_busy_page prints its reason and migratetype symbolically" "$line" ;;
	esac
	# v2: the page's state is one flags field, printed as words (lru|anon)
	case $line in
	*' flags='[0-9]*) t_fail "cma_busy_page prints its page flags as words" "$line" ;;
	*' flags='*) t_ok "cma_busy_page prints its page flags as words (${line##* flags=})" ;;
	*' lru='[01]' '*) t_skip "cma_busy_page prints its page flags as words" "v1 layout: one 0/1 field per state" ;;
	*) t_fail "cma_busy_page prints its page flags as words" "$line" ;;
	esac
	rm -f "$dat"
else
	t_skip "trace-cmd report parses the cma events" "trace-cmd is not installed"
fi

# 4. the kernel's dmabuf-heaps selftest -------------------------------------------
if [ -x "$HEAP_TEST" ]; then
	out=$("$HEAP_TEST" 2>&1)
	rc=$?
	t_eq "dmabuf-heaps selftest passes" 0 "$rc"
	[ $rc -eq 0 ] || t_diag "$(echo "$out" | tail -n 20)"
	for h in "$area" camera video; do
		grep -q "Testing heap: $h\$" <<<"$out" && t_ok "dmabuf-heaps tested the CMA heap $h" ||
			t_fail "dmabuf-heaps tested the CMA heap $h" "$(echo "$out" | grep 'Testing heap')"
	done
else
	t_fail "the dmabuf-heaps selftest is built" "$HEAP_TEST missing"
fi

t_done
