#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make stress`: the kernel side under load and bad input, long form, on the
# debug kernel (lockdep, DEBUG_VM, KASAN's kin: ci/kernel's debug variant):
# ci/tests/board/stress.sh with STRESS_FAULTS=10000 injected failures per
# fail_cma stage, all under the mixed-pressure scenario, STRESS_IOCTLS=100000
# random /dev/cma_bench calls and STRESS_KILLS=100 interrupted cmabench runs.
# Any of them can be overridden; KERNEL= picks another kernel. `make test`
# runs the same test in its short form. Prints the test's TAP and the counts
# it reached; exit status: that of the board run (0 all passed).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
env=(STRESS_FAULTS=${STRESS_FAULTS:-10000} STRESS_IOCTLS=${STRESS_IOCTLS:-100000}
	STRESS_KILLS=${STRESS_KILLS:-100} STRESS_PRESSURE=${STRESS_PRESSURE:-all})
[ -z "${STRESS_SEED:-}" ] || env+=(STRESS_SEED=$STRESS_SEED)
for e in "${env[@]}"; do
	case ${e%%=*}=${e#*=} in
	STRESS_PRESSURE=all | STRESS_PRESSURE=migrate) ;;
	STRESS_PRESSURE=*) die "stress: STRESS_PRESSURE must be all or migrate, got '${e#*=}'" ;;
	*=*[!0-9]* | *=) die "stress: ${e%%=*} must be a number, got '${e#*=}'" ;;
	esac
done
export KERNEL=${KERNEL:-debug}
bash "$ROOT/ci/kernel/build.sh" || exit $?
info "stress: ${env[*]} on the $KERNEL kernel"
read -ra vmargs <<<"$(. "$ROOT/ci/tests/board/lib.sh" && board_setting stress vm-args)"
"$ROOT/ci/vm/run.sh" "${vmargs[@]}" --timeout "${STRESS_TIMEOUT:-14400}" -- \
	env "${env[@]}" bash "$ROOT/ci/tests/board/stress.sh" </dev/null
rc=$?
[ $rc = 0 ] && info "stress: passed" || info "stress: failed (status $rc)"
exit $rc
