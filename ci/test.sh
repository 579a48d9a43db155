#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: run every suite, print its TAP, end with "N passed, N failed".
# Suites: host unit tests, the runner's own tests, and the board tests that
# run inside the virtual board on the cmakit kernel, then (suite "stock") the
# tools' board tests and the main job on the stock kernel and (suite "debug")
# the kernel's board tests again on the debug kernel. TESTS='unit
# board' picks suites; BOARD_TESTS='foundation ...' picks board tests.
# KERNEL=<variant> (DEBUG=1: KERNEL=debug) runs the board suite on that
# kernel instead, and leaves out the other kernels' suites. Each board test's
# time limit and ci/vm/run.sh options are data in ci/tests/board/settings;
# tests with the same options share one boot. ARCH=arm64 runs the board
# suite on the arm64 board: its own tests (ci/tests/board/arm64-*.sh, which
# run there only), and others only when BOARD_TESTS names them.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
. "$ROOT/ci/tests/board/lib.sh"
spec=$(kernel_spec)
export KERNEL=$spec
unset DEBUG
kernel_variant "$spec" || exit 2
OUT=$ROOT/build/test
[ "$KV_NAME" = cmakit ] || OUT=$ROOT/build/test-$KV_NAME
mkdir -p "$OUT"
# Host suites: every ci/tests/host/<name>.sh (TAP on stdout), then the board.
host_suites=$(cd "$ROOT/ci/tests/host" && ls *.sh | sed 's/\.sh$//' | sort | tr '\n' ' ')
if [ "$KV_ARCH" = arm64 ]; then
	SUITES=${TESTS:-board}
elif [ "$spec" = cmakit ]; then
	SUITES=${TESTS:-$host_suites board stock debug}
else
	SUITES=${TESTS:-$host_suites board}
fi

pass=0
fail=0
skip=0
failed_names=()
times=() # "seconds name" of each suite, for the budget
t_all=$(date +%s)

# run_suite NAME COMMAND...: the command prints TAP; its tally is added.
run_suite() {
	local name=$1 rc p f s t0=$(date +%s)
	shift
	echo "# suite $name"
	"$@" 2>&1 | tee "$OUT/$name.tap"
	rc=${PIPESTATUS[0]}
	times+=("$(($(date +%s) - t0)) $name")
	p=$(grep -acE '^ok ' "$OUT/$name.tap" | tr -d ' ')
	s=$(grep -acE '^ok .*# SKIP' "$OUT/$name.tap" | tr -d ' ')
	f=$(grep -acE '^not ok ' "$OUT/$name.tap" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $name exited with status $rc"
		f=1
	fi
	if [ "$p$f$s" = 000 ]; then
		echo "not ok - suite $name reported no tests"
		f=1
	fi
	grep -aE '^not ok ' "$OUT/$name.tap" | sed "s/^/[$name] /" >>"$OUT/failures"
	[ "$f" -eq 0 ] || failed_names+=("$name")
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
}

# board_for_arch FILE: whether the board test FILE runs on this board's
# architecture (arm64-*.sh on arm64 only; on arm64 the others when named).
board_for_arch() {
	case ${1##*/} in
	arm64-*) [ "$KV_ARCH" = arm64 ] ;;
	*) [ "$KV_ARCH" != arm64 ] || [ -n "${BOARD_TESTS:-}" ] ;;
	esac
}

# The vm-args of a board test (its name or FILE): its line of ci/tests/board/settings.
board_args() { board_setting "$(basename "$1" .sh)" vm-args; }

# The board tests this invocation runs (names): those of this board's
# architecture, and of BOARD_TESTS when it is set.
board_tests() {
	local f
	for f in "$ROOT"/ci/tests/board/*.sh; do
		case ${f##*/} in lib.sh | run.sh) continue ;; esac
		board_for_arch "$f" || continue
		[ -z "${BOARD_TESTS:-}" ] || [[ " $BOARD_TESTS " == *" $(basename "$f" .sh) "* ]] || continue
		basename "$f" .sh
	done
}

board_arg_groups() {
	local t
	for t in $(board_tests); do board_args "$t"; done | sort -u
}

board_tests_with_args() {
	local t
	for t in $(board_tests); do
		[ "$(board_args "$t")" = "$1" ] && echo "$t"
	done
}

# board_suites PREFIX: every group of board tests, one boot per group.
board_suites() {
	local args name n limit names vmargs
	while IFS= read -r args; do
		mapfile -t names < <(board_tests_with_args "$args")
		name=$1board$(echo "$args" | tr -c 'a-zA-Z0-9=\n' '-' | sed 's/--*/-/g; s/-$//')
		read -ra vmargs <<<"$args"
		# The board's time limit: the tests' own limits plus boot time.
		limit=120
		for n in "${names[@]}"; do
			limit=$((limit + $(board_setting "$n" timeout)))
		done
		run_suite "$name" vm_suite --timeout "$limit" "${vmargs[@]}" -- \
			"$ROOT/ci/tests/board/run.sh" "${names[@]}"
	done < <(board_arg_groups)
}

# The other kernels (stock, then debug) build in the background from the
# first board suite on, at the lowest priority: the board runs on one host
# thread (TCG), so a core is free for them while the cmakit suites run. Not
# during the host suites: the regress suite's verdict of cmakit against
# itself compares latencies, which a loaded host moved by 10% (guest time
# under --icount still follows the host where the guest waits for 9p I/O).
# Each build's
# output goes to $OUT/kernel-<variant>.log, its status to .rc; a build that
# is still running when make test ends is stopped with it.
prebuild_pid=
prebuilt=()
prebuild_kernels() {
	local v
	[ -z "$prebuild_pid" ] || return 0
	prebuilt=()
	for v in $SUITES; do
		case $v in stock | debug) prebuilt+=("$v") ;; esac
	done
	[ ${#prebuilt[@]} -gt 0 ] || return 0
	for v in "${prebuilt[@]}"; do rm -f "$OUT/kernel-$v.rc" "$OUT/kernel-$v.log"; done
	(
		# each build in its own process group, so that all of it stops
		b=
		trap '[ -z "$b" ] || kill -TERM -- "-$b" 2>/dev/null; exit 143' TERM
		for v in "${prebuilt[@]}"; do
			KERNEL=$v setsid nice -n 19 bash "$ROOT/ci/kernel/build.sh" </dev/null >"$OUT/kernel-$v.log" 2>&1 &
			b=$!
			wait "$b"
			echo $? >"$OUT/kernel-$v.rc"
			b=
		done
	) &
	prebuild_pid=$!
}
stop_prebuild() {
	[ -z "$prebuild_pid" ] || kill -TERM "$prebuild_pid" 2>/dev/null
	wait 2>/dev/null
}
trap stop_prebuild EXIT
trap 'exit 130' INT TERM

# build_kernel VARIANT: the kernel of another variant, as one test: the
# background build's result, or a build now.
build_kernel() {
	local rc log=$OUT/kernel-$1.log
	if [ -n "$prebuild_pid" ] && [[ " ${prebuilt[*]} " == *" $1 "* ]]; then
		while [ ! -e "$OUT/kernel-$1.rc" ] && kill -0 "$prebuild_pid" 2>/dev/null; do
			sleep 5
		done
		rc=$(cat "$OUT/kernel-$1.rc" 2>/dev/null || echo 1)
		grep -a '^kernel: .* ready in ' "$log" | sed 's/^/# /'
		[ "$rc" = 0 ] || tail -n 20 "$log" | sed 's/^/# /'
	else
		KERNEL=$1 bash "$ROOT/ci/kernel/build.sh"
		rc=$?
	fi
	if [ "$rc" = 0 ]; then
		echo "ok 1 - the $1 kernel builds"
	else
		echo "not ok 1 - the $1 kernel builds"
	fi
	echo "1..1"
}

# other_kernel VARIANT SUITE_PREFIX BOARD_TESTS...: build VARIANT and run
# those board tests on it.
other_kernel() {
	local v=$1 prefix=$2
	shift 2
	run_suite "$prefix-kernel" build_kernel "$v"
	(kernel_variant "$v" && [ -f "$KV_IMAGE" ]) || return 0
	KERNEL=$v BOARD_TESTS="$*" board_suites "$prefix-"
}

vm_suite() {
	"$ROOT/ci/vm/run.sh" "$@" <&-
}

: >"$OUT/failures"
for s in $SUITES; do
	case $s in board | stock | debug) prebuild_kernels ;; esac
	case $s in
	board) board_suites "" ;;
	debug)
		# The kernel's own suite again on the debug kernel (lockdep,
		# DEBUG_VM, DEBUG_PAGEALLOC): a report on its console fails it.
		other_kernel debug debug ${DEBUG_BOARD_TESTS:-foundation kernel-cma}
		;;
	stock)
		# Every tool on the kernel boards run today: what it cannot know
		# there it must say, and its totals must still agree (totals:
		# cmabench on both stock backends under perf stat, cmatrace and
		# the collectors; cmatrace against trace-cmd; the BPF tools on
		# every probe path). The report of a stock run is the main job's.
		other_kernel stock stock ${STOCK_BOARD_TESTS:-foundation totals cmatrace bpf}
		if (kernel_variant stock && [ -f "$KV_IMAGE" ]); then
			KERNEL=stock run_suite stock-make-run bash "$ROOT/ci/tests/host/make-run.sh"
		fi
		;;
	*)
		[ -f "$ROOT/ci/tests/host/$s.sh" ] || die "test: unknown suite '$s'"
		run_suite "$s" bash "$ROOT/ci/tests/host/$s.sh"
		;;
	esac
done

echo
if [ -s "$OUT/failures" ]; then
	echo "failures:"
	cat "$OUT/failures"
fi
[ "$skip" -eq 0 ] || echo "skipped (feature absent): $skip"
# the wall time of each suite, longest first (the CI budget is in the sum)
echo "time: $(($(date +%s) - t_all)) s in all; $(printf '%s\n' "${times[@]}" | sort -rn | head -n 8 |
	awk '{ printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1 }')"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
