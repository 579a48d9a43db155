#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the virtual board runner itself: exit status propagation, crash,
# hang and interrupt handling, the scratch disk, and that no QEMU survives any
# of them. The runner is started with stdin closed, as CI starts it.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
VM=$ROOT/ci/vm/run.sh
export VM_QUIET=1

# Every run of this test has its own run id, so that boards started by
# others at the same time are neither counted nor touched.
ID=runner-$$-$(date +%s)
N=0
next_run() {
	N=$((N + 1))
	export VM_RUN_ID=$ID-$N
}
last_run() { echo "$ROOT/build/vm/runs/$VM_RUN_ID"; }
# the disk images in the last run's directory (run.sh --disk)
images() {
	if [ -d "$(last_run)" ]; then
		find "$(last_run)" -name '*.img'
	else
		echo "no run directory $(last_run)"
	fi
}
our_qemus() { pgrep -f "qemu-system.*cmakit_ctl=$(last_run) " || true; }

check_no_qemu() {
	local left
	left=$(our_qemus)
	if [ -z "$left" ]; then
		t_ok "$1: no QEMU left running"
	else
		t_fail "$1: no QEMU left running" "pids: $left"
		kill -9 $left 2>/dev/null
	fi
}

# exit status ------------------------------------------------------------------
next_run
out=$("$VM" -- 'echo hello from $(uname -n); exit 3' <&- 2>&1)
rc=$?
t_eq "a guest command exiting 3 makes the runner exit 3 (stdin closed)" 3 "$rc"
case $out in *"hello from cmakit-board"*) t_ok "the guest command's output reaches the host" ;;
*) t_fail "the guest command's output reaches the host" "output: $out" ;; esac
[ -s "$(last_run)/console.log" ] && grep -q "Linux version" "$(last_run)/console.log" &&
	t_ok "the full console log is saved" || t_fail "the full console log is saved" "$(last_run)/console.log"
check_no_qemu "after a normal run"

# A long board says it is alive: here every 4 s instead of every minute.
next_run
out=$(VM_PROGRESS_PERIOD=4 "$VM" -- 'sleep 10' <&- 2>&1)
rc=$?
n=$(echo "$out" | grep -c '^vm: board running for 0m0[0-9]s (limit ')
[ $rc -eq 0 ] && [ "$n" -ge 2 ] && t_ok "a long board prints a progress line per period ($n in 10 s)" ||
	t_fail "a long board prints a progress line per period" "status $rc" "$out"

# A host thread per guest CPU (the default is one for all): still two CPUs
# in the guest, the status passed back, the mode recorded.
next_run
out=$("$VM" --tcg-thread multi -- 'exit $(($(nproc) + 3))' <&- 2>&1)
rc=$?
t_eq "--tcg-thread multi: two guest CPUs, the command's status passed back" 5 "$rc"
t_eq "--tcg-thread multi is recorded in the run's timing" accel=tcg-multi \
	"$(grep '^accel=' "$(last_run)/timing" 2>/dev/null)"

# crash --------------------------------------------------------------------------
next_run
out=$("$VM" --timeout 120 -- 'echo c > /proc/sysrq-trigger; sleep 30; exit 0' <&- 2>&1)
rc=$?
if [ $rc -ge 124 ] && [ $rc -le 126 ] && [ $rc -ne 124 ]; then
	t_ok "a guest that crashes (sysrq-c) fails the run (status $rc)"
else
	t_fail "a guest that crashes (sysrq-c) fails the run" "status $rc" "$out"
fi
case $out in *"Kernel panic"*) t_ok "the crash's console lines are printed" ;;
*) t_fail "the crash's console lines are printed" "$out" ;; esac
check_no_qemu "after a crash"

# kernel warning with a successful command ----------------------------------------
# A WARNING on the console fails the run even when the command succeeds.
next_run
out=$("$VM" -- 'echo "WARNING: CPU: 0 PID: 1 at injected by test" > /dev/kmsg; exit 0' <&- 2>&1)
rc=$?
t_eq "a WARNING on the console fails a run whose command succeeded" 125 "$rc"
check_no_qemu "after a warning"

# A call trace without an Oops or WARNING line (here the kernel's own
# backtrace of the running CPUs, sysrq-l) fails the run too.
next_run
out=$("$VM" -- 'echo l > /proc/sysrq-trigger; sleep 1; exit 0' <&- 2>&1)
rc=$?
t_eq "a call trace on the console fails a run whose command succeeded" 125 "$rc"
case $out in *"Call Trace:"*) t_ok "the call trace is printed by the runner" ;;
*) t_fail "the call trace is printed by the runner" "$out" ;; esac

# hang -------------------------------------------------------------------------
start=$(date +%s)
next_run
out=$("$VM" --timeout 20 -- 'sleep 600' <&- 2>&1)
rc=$?
took=$(($(date +%s) - start))
t_eq "a hanging guest is stopped at the timeout and reported (status 124)" 124 "$rc"
[ $took -lt 60 ] && t_ok "the hang is cut off promptly (${took} s for a 20 s timeout)" ||
	t_fail "the hang is cut off promptly" "took ${took} s"
case $out in *"did not finish within 20 s"*) t_ok "the hang is named in the runner's message" ;;
*) t_fail "the hang is named in the runner's message" "$out" ;; esac
# where the CPUs were, from the monitor: the command's shell sleeps, so both
# are halted in the idle loop with interrupts on
n=$(grep -c '^vm:   CPU#[01] ip [0-9a-f]* irqs-on,halted .*default_idle' <<<"$out")
[ "$n" -ge 2 ] && t_ok "the hang report says where each guest CPU was (idle)" ||
	t_fail "the hang report says where each guest CPU was (idle)" "$(grep 'vm:   CPU\|memory at' <<<"$out")"
check_no_qemu "after a hang"

# interrupt ------------------------------------------------------------------------
# (with a scratch disk, which must go with the run)
for sig in INT TERM; do
	next_run
	set -m
	# (a caller that runs this suite in the background may have SIGINT
	# ignored, which the runner would inherit and could not trap)
	env --default-signal=INT "$VM" --timeout 300 --disk 16M -- 'sleep 600' <&- >/dev/null 2>&1 &
	pid=$!
	set +m
	for _ in $(seq 1 600); do
		[ -s "$(last_run)/started" ] && break
		sleep 0.1
	done
	kill -$sig $pid
	wait $pid
	rc=$?
	t_eq "SIG$sig to the runner stops the guest (status 130)" 130 "$rc"
	check_no_qemu "after SIG$sig"
	t_eq "SIG$sig: the scratch disk image is removed" "" "$(images)"
done

# bad input ------------------------------------------------------------------------
# rejected DESCRIPTION ARGS...: the runner refuses ARGS with one line and
# status 127, before it makes a run directory
rejected() {
	local what=$1 out rc
	shift
	next_run
	out=$("$VM" "$@" 2>&1)
	rc=$?
	[ $rc -eq 127 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [ ! -e "$(last_run)" ] &&
		t_ok "$what gives one line and status 127, and no run directory" ||
		t_fail "$what gives one line and status 127, and no run directory" "status $rc: $out"
}
rejected "a bad --timeout" --timeout abc -- true
rejected "a bad --tcg-thread" --tcg-thread many -- true
for opt in --mem --cpus --cma --timeout --kernel --out --allow --tcg-thread --disk; do
	rejected "$opt without a value" $opt "" -- true
done
rejected "--append without an argument" --append
for size in 12x 0 1M 512m; do
	rejected "--disk $size" --disk $size -- true
done
rejected "an unknown --arch" --arch mips -- true
rejected "--initrd that does not exist" --initrd /nonexistent/initrd -- true
# the arm64 board's device-tree areas, checked before anything boots
rejected "arm64: --cma not a multiple of 4M" --arch arm64 --cma 130M -- true
rejected "arm64: a --dt-cma without a size" --arch arm64 --dt-cma heap -- true
rejected "arm64: a --dt-cma area named twice" --arch arm64 --dt-cma a:4M,a:8M -- true
rejected "arm64: a --dt-cma area named linux,cma" --arch arm64 --dt-cma linux,cma:4M -- true
rejected "arm64: areas larger than the memory" --arch arm64 --mem 512M --cma 512M -- true
rejected "arm64: a bad --mem" --arch arm64 --mem lots -- true

# scratch disk -------------------------------------------------------------------
# The guest mounts it as ext4 at its own $CMAKIT_SCRATCH (not the caller's),
# writably; the image goes with the run.
next_run
out=$(CMAKIT_SCRATCH=/caller/value "$VM" --disk 64M -- \
	'grep " $CMAKIT_SCRATCH ext4 rw" /proc/mounts && echo data >"$CMAKIT_SCRATCH/f" && sync' <&- 2>&1)
rc=$?
t_eq "--disk 64M: \$CMAKIT_SCRATCH is a writable ext4 mount in the guest" 0 "$rc"
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
t_eq "--disk 64M: no image is left in the run directory" "" "$(images)"
grep -q "cmakit_disk=1" "$(last_run)/cmdline" && grep -q "serial=cmakit-scratch" "$(last_run)/qemu-cmd" &&
	t_ok "--disk 64M: the disk is attached and announced on the kernel command line" ||
	t_fail "--disk 64M: the disk is attached and announced on the kernel command line" "$(cat "$(last_run)/cmdline")"
check_no_qemu "after a run with a scratch disk"

# the arm64 board -------------------------------------------------------------------
# The same contract on qemu-system-aarch64 -M virt: the command's status and
# output, the console log, a kernel report failing the run, no QEMU left,
# and the device tree the run made holding its CMA areas.
if (. "$ROOT/ci/lib.sh" && kernel_variant cmakit arm64 && [ -f "$KV_IMAGE" ]); then
	next_run
	out=$("$VM" --arch arm64 --dt-cma heap-a:8M,heap-b:4M --append cma_extra=cam:8M -- \
		'echo hello from $(uname -m) $(uname -n); ls /sys/kernel/debug/cma | paste -sd " "; exit 3' <&- 2>&1)
	rc=$?
	t_eq "arm64: a guest command exiting 3 makes the runner exit 3" 3 "$rc"
	case $out in *"hello from aarch64 cmakit-board"*) t_ok "arm64: the command ran in an aarch64 board" ;;
	*) t_fail "arm64: the command ran in an aarch64 board" "output: $out" ;; esac
	case $out in *"cam heap-a heap-b linux,cma"*) t_ok "arm64: the CMA areas are the device tree's and the series' cma_extra= one" ;;
	*) t_fail "arm64: the CMA areas are the device tree's and the series' cma_extra= one" "output: $out" ;; esac
	grep -q "Machine model: linux,dummy-virt" "$(last_run)/console.log" &&
		grep -q "Linux version .*-arm64 " "$(last_run)/console.log" &&
		t_ok "arm64: the full console log is saved (virt machine, the arm64 kernel)" ||
		t_fail "arm64: the full console log is saved" "$(last_run)/console.log"
	[ -s "$(last_run)/board.dtb" ] && [ "$(wc -l <"$(last_run)/dt-areas")" = 3 ] &&
		t_ok "arm64: the run keeps its device tree and the areas it placed" ||
		t_fail "arm64: the run keeps its device tree and the areas it placed" "$(ls "$(last_run)")"
	check_no_qemu "arm64: after a normal run"
	next_run
	out=$("$VM" --arch arm64 -- 'echo "WARNING: CPU: 0 PID: 1 at injected by test" > /dev/kmsg; exit 0' <&- 2>&1)
	t_eq "arm64: a WARNING on the console fails a run whose command succeeded" 125 "$?"
	check_no_qemu "arm64: after a warning"
else
	t_skip "the arm64 board" "no arm64 kernel (make kernel ARCH=arm64)"
fi

t_done
