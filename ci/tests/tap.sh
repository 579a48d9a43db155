# SPDX-License-Identifier: GPL-2.0
# A minimal TAP producer for the shell tests. Source it, call the t_* helpers,
# end with t_done. Diagnostics go to stdout as '# ' lines, as TAP wants.

T_N=0
T_FAILED=0

t_ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

t_fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
}

# t_skip DESC REASON: the feature is absent. Reported as skipped, never as passed.
t_skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1 # SKIP $2"
}

# t_eq DESC EXPECTED ACTUAL
t_eq() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "expected: $2" "got:      $3"
	fi
}

t_diag() {
	echo "# $*"
}

t_done() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# t_stop fail|skip DESC REASON: what the rest of the test needs is missing;
# report it and end the test here.
t_stop() {
	"t_$1" "$2" "$3"
	t_done
	exit
}
