#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: run every suite, print its TAP, end with "N passed, N failed".
# Suites: host unit tests, the runner's own tests, and the board tests that
# run inside the virtual board, then (suite "debug") the kernel's board tests
# again on the debug kernel. TESTS='unit board' picks suites;
# BOARD_TESTS='foundation ...' picks board tests. A board test may carry a
# "# vm-args: ..." line (ci/vm/run.sh options); tests with the same line
# share one boot.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
. "$ROOT/ci/tests/board/lib.sh"
OUT=$ROOT/build/test
mkdir -p "$OUT"
# DEBUG=1 (make test DEBUG=1): the board suites boot the debug kernel
# (lockdep, DEBUG_VM, DEBUG_PAGEALLOC), built by make kernel DEBUG=1.
if [ "${DEBUG:-0}" = 1 ]; then
	export CMAKIT_DEBUG_KERNEL=1
	OUT=$ROOT/build/test-debug
	mkdir -p "$OUT"
fi
# Host suites: every ci/tests/host/<name>.sh (TAP on stdout), then the board.
host_suites=$(cd "$ROOT/ci/tests/host" && ls *.sh | sed 's/\.sh$//' | sort | tr '\n' ' ')
if [ "${DEBUG:-0}" = 1 ]; then
	SUITES=${TESTS:-$host_suites board}
else
	SUITES=${TESTS:-$host_suites board debug}
fi

pass=0
fail=0
skip=0
failed_names=()

# run_suite NAME COMMAND...: the command prints TAP; its tally is added.
run_suite() {
	local name=$1 rc p f s
	shift
	echo "# suite $name"
	"$@" 2>&1 | tee "$OUT/$name.tap"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok ' "$OUT/$name.tap" | tr -d ' ')
	s=$(grep -cE '^ok .*# SKIP' "$OUT/$name.tap" | tr -d ' ')
	f=$(grep -cE '^not ok ' "$OUT/$name.tap" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $name exited with status $rc"
		f=1
	fi
	if [ "$p$f$s" = 000 ]; then
		echo "not ok - suite $name reported no tests"
		f=1
	fi
	grep -E '^not ok ' "$OUT/$name.tap" | sed "s/^/[$name] /" >>"$OUT/failures"
	[ "$f" -eq 0 ] || failed_names+=("$name")
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
}

# The vm-args of a board test: its "# vm-args:" line, or the defaults.
board_args() {
	local a
	a=$(sed -n 's/^# vm-args:[[:space:]]*//p' "$1" | head -n1)
	echo "${a:---cma 256M}"
}

board_arg_groups() {
	local f
	for f in "$ROOT"/ci/tests/board/*.sh; do
		case ${f##*/} in lib.sh | run.sh) continue ;; esac
		[ -z "${BOARD_TESTS:-}" ] || [[ " $BOARD_TESTS " == *" $(basename "$f" .sh) "* ]] || continue
		board_args "$f"
	done | sort -u
}

board_tests_with_args() {
	local f
	for f in "$ROOT"/ci/tests/board/*.sh; do
		case ${f##*/} in lib.sh | run.sh) continue ;; esac
		[ -z "${BOARD_TESTS:-}" ] || [[ " $BOARD_TESTS " == *" $(basename "$f" .sh) "* ]] || continue
		[ "$(board_args "$f")" = "$1" ] && basename "$f" .sh
	done
}

# board_suites PREFIX: every group of board tests, one boot per group.
board_suites() {
	local args name n limit names vmargs
	while IFS= read -r args; do
		mapfile -t names < <(board_tests_with_args "$args")
		name=$1board$(echo "$args" | tr -c 'a-zA-Z0-9=\n' '-' | sed 's/--*/-/g; s/-$//')
		eval "vmargs=($args)"
		# The board's time limit: the tests' own limits plus boot time.
		limit=120
		for n in "${names[@]}"; do
			limit=$((limit + $(test_timeout "$ROOT/ci/tests/board/$n.sh")))
		done
		run_suite "$name" vm_suite --timeout "$limit" "${vmargs[@]}" -- \
			"$ROOT/ci/tests/board/run.sh" "${names[@]}"
	done < <(board_arg_groups)
}

build_debug_kernel() {
	if DEBUG=1 bash "$ROOT/ci/kernel/build.sh"; then
		echo "ok 1 - the debug kernel builds"
	else
		echo "not ok 1 - the debug kernel builds"
	fi
	echo "1..1"
}

vm_suite() {
	"$ROOT/ci/vm/run.sh" "$@" <&-
}

: >"$OUT/failures"
for s in $SUITES; do
	case $s in
	board) board_suites "" ;;
	debug)
		# The kernel's own suite again on the debug kernel (lockdep,
		# DEBUG_VM, DEBUG_PAGEALLOC): a report on its console fails it.
		run_suite debug-kernel build_debug_kernel
		[ -f "$ROOT/build/kernel/out-debug/arch/x86/boot/bzImage" ] &&
			DEBUG=1 CMAKIT_DEBUG_KERNEL=1 BOARD_TESTS=${DEBUG_BOARD_TESTS:-foundation kernel-cma} \
				board_suites debug-
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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
