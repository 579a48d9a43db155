#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The board's instruction-counting clock (ci/vm/run.sh --icount): bad values
# get one line, the board boots one CPU, and the guest's measure of a fixed
# piece of work does not move when the host gets busy. The guest times the
# same work twice; before the second time the host starts two busy loops
# (the machine has two cores), which under the host's clock would stretch
# the work's guest time many times over.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
VM=$ROOT/ci/vm/run.sh
export VM_QUIET=1
unset VM_ICOUNT VM_CPUS

for bad in 11 x -1; do
	out=$("$VM" --icount "$bad" -- true 2>&1 </dev/null)
	rc=$?
	[ $rc = 127 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out == *"--icount must be"* ]] &&
		t_ok "--icount $bad: one line, status 127" ||
		t_fail "--icount $bad: one line, status 127" "status $rc: $out"
done
out=$("$VM" --icount 3 --cpus 2 -- true 2>&1 </dev/null)
rc=$?
[ $rc = 127 ] && [[ $out == *"boots one CPU"* ]] && t_ok "--icount with two CPUs is refused in one line" ||
	t_fail "--icount with two CPUs is refused in one line" "status $rc: $out"

sync_dir=$ROOT/results/.icount-test.$$
mkdir -p "$sync_dir"
busy=()
cleanup() {
	[ ${#busy[@]} = 0 ] || kill "${busy[@]}" 2>/dev/null
	rm -rf "$sync_dir"
}
trap cleanup EXIT

# In the guest: the same work three times (a shell loop: no I/O), timed with
# the guest's clock; before the last, wait until the host says it is busy.
# bash's own clock ($EPOCHREALTIME): a date(1) would exec over 9p inside the
# timed section, and an I/O wait still lasts as long as the host takes.
guest='work() { local i=0 t0 t1; t0=${EPOCHREALTIME/./}; while [ $i -lt 20000 ]; do i=$((i + 1)); done; t1=${EPOCHREALTIME/./}; echo $((t1 - t0)); }'
# The first round warms up (the programs' pages come in over 9p, boot-time
# work of the kernel ends) and is not compared.
guest+="; nproc; work >/dev/null; work; touch $sync_dir/first; while [ ! -e $sync_dir/busy ]; do sleep 0.2; done; work"
run_id=icount-$$-$(date +%s)
VM_PROGRESS=0 VM_RUN_ID=$run_id "$VM" --icount 3 --timeout 600 -- bash -c "$guest" >"$sync_dir/out" 2>"$sync_dir/err" </dev/null &
vm=$!
for ((i = 0; i < 3000; i++)); do
	[ -e "$sync_dir/first" ] || ! kill -0 $vm 2>/dev/null && break
	sleep 0.2
done
for _ in 1 2; do
	(while :; do :; done) &
	busy+=($!)
done
touch "$sync_dir/busy"
wait $vm
rc=$?
kill "${busy[@]}" 2>/dev/null
busy=()
t_eq "the icount board ran the command" 0 $rc
[ $rc = 0 ] || t_diag "$(tail -n 5 "$sync_dir/err")"
mapfile -t v <"$sync_dir/out"
t_eq "the icount board has one CPU" 1 "${v[0]:-}"
timing=$ROOT/build/vm/runs/$run_id/timing
grep -q '^accel=tcg-icount3$' "$timing" 2>/dev/null &&
	t_ok "the run's timing names the clock (tcg-icount3)" ||
	t_fail "the run's timing names the clock (tcg-icount3)" "$(cat "$timing" 2>&1)"
a=${v[1]:-0} b=${v[2]:-0}
t_diag "guest time of the work: $a us with the host as it was, $b us with two busy loops on the host"
if [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ $((b * 1000 / a)) -ge 990 ] && [ $((b * 1000 / a)) -le 1010 ]; then
	t_ok "the guest's time of the same work stays within 1% when the host gets busy"
else
	t_fail "the guest's time of the same work stays within 1% when the host gets busy" "$a us, then $b us"
fi
t_done
