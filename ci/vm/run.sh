#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The cmakit virtual board: boot the built kernel in QEMU with the host's
# userspace as a read-only 9p root, run one command inside as root, and return
# its exit status.
#
# usage: ci/vm/run.sh [options] [--] COMMAND...
#   --mem SIZE       guest memory (VM_MEM, default 2G)
#   --cpus N         guest CPUs (VM_CPUS, default 2; 1 with --icount)
#   --cma SIZE       cma= boot parameter (VM_CMA, default 256M; "none" omits it)
#   --append ARGS    extra kernel arguments (VM_APPEND); given twice, both are kept
#   --timeout SEC    kill the guest after SEC seconds (VM_TIMEOUT, default 900)
#   --kernel FILE    bzImage to boot (VM_KERNEL; default the one of KERNEL=<variant>,
#                    see ci/kernel/build.sh; DEBUG=1 means KERNEL=debug)
#   --out DIR        host directory shared writable at the same path (VM_OUT, default results/)
#   --allow REGEX    console lines matching REGEX are not treated as kernel reports (VM_ALLOW)
#   --tcg-thread single|multi
#                    TCG on one host thread for all guest CPUs (single, the
#                    default) or a thread per CPU (multi; VM_TCG_THREAD)
#   --disk SIZE      a scratch disk: a sparse ext4 image of SIZE (K/M/G) in the run's
#                    directory, made on the host and removed when the run ends; the
#                    guest mounts it and the command finds it in $CMAKIT_SCRATCH
#                    (VM_DISK_SIZE; VM_DISK=FILE attaches a raw disk of your own)
#   --icount SHIFT   a guest clock that counts instructions, not host time: each
#                    one takes 2^SHIFT ns of guest time (QEMU -icount, sleep=off),
#                    so guest timings no longer move with the host's load
#                    (VM_ICOUNT; default off, TCG only). One guest CPU: 6.1's
#                    x86 SMP bring-up never completes under -icount (the second
#                    CPU spins in wait_for_master_cpu()), so --cpus must be 1.
#
# Exit status: the command's own, or
#   124  the guest did not finish within the timeout
#   125  the console shows a kernel oops/BUG/WARNING/panic/KASAN/lockdep report
#        or a call trace (a kernel that dumps a stack is reporting a problem)
#   126  the guest ended without reporting the command's status (crash, panic)
#   127  the board could not be started
# A run that lasts over a minute prints a line a minute on stderr
# (VM_PROGRESS=0 turns that off).
# The run's directory (build/vm/runs/<id>: console.log, output, dmesg, rc,
# timing) is kept; build/vm/last points at the newest one. VM_RUN_ID=<id>
# names the run directory instead of a generated one.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
# cpus_at: where a hung guest's CPUs are, through the QEMU monitor
. "$ROOT/ci/vm/hang.sh"

MEM=${VM_MEM:-2G}
CPUS=${VM_CPUS:-}
CMA=${VM_CMA:-256M}
APPEND=${VM_APPEND:-}
TIMEOUT=${VM_TIMEOUT:-900}
TCG_THREAD=${VM_TCG_THREAD:-single}
OUTDIR=${VM_OUT:-$ROOT/results}
ALLOW=${VM_ALLOW:-}
DISK_SIZE=${VM_DISK_SIZE:-}
ICOUNT=${VM_ICOUNT:-}
IMAGE=${VM_KERNEL:-}

usage() {
	sed -n '/^# usage:/,/^# Exit/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 127
}

while [ $# -gt 0 ]; do
	case $1 in
	# --append may be empty; every other option needs a value
	--append) [ $# -ge 2 ] || { echo "vm: --append needs an argument" >&2; exit 127; } ;;
	--mem | --cpus | --cma | --timeout | --kernel | --out | --allow | --tcg-thread | --disk | --icount)
		[ -n "${2:-}" ] || { echo "vm: $1 needs a value" >&2; exit 127; } ;;
	esac
	case $1 in
	--append) APPEND=${APPEND:+$APPEND }$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--cpus) CPUS=$2; shift 2 ;;
	--cma) CMA=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--kernel) IMAGE=$2; shift 2 ;;
	--out) OUTDIR=$2; shift 2 ;;
	--allow) ALLOW=$2; shift 2 ;;
	--tcg-thread) TCG_THREAD=$2; shift 2 ;;
	--disk) DISK_SIZE=$2; shift 2 ;;
	--icount) ICOUNT=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) echo "vm: unknown option $1" >&2; exit 127 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "vm: no command given (make vm CMD='...')" >&2; exit 127; }
case $TIMEOUT in ''|*[!0-9]*) echo "vm: --timeout must be whole seconds, got '$TIMEOUT'" >&2; exit 127 ;; esac
case $TCG_THREAD in single | multi) ;; *) echo "vm: --tcg-thread must be single or multi, got '$TCG_THREAD'" >&2; exit 127 ;; esac
[ -n "$CPUS" ] || { [ -n "$ICOUNT" ] && CPUS=1 || CPUS=2; }
case $ICOUNT in '' | [0-9] | 10) ;; *) echo "vm: --icount must be a shift of 0 to 10, got '$ICOUNT'" >&2; exit 127 ;; esac
case $CPUS in ''|*[!0-9]*|0) echo "vm: --cpus must be a positive number, got '$CPUS'" >&2; exit 127 ;; esac
if [ -n "$DISK_SIZE" ]; then
	# whole K/M/G (powers of 1024) or bytes; ext4 with a journal needs a few MiB
	disk_bytes=0
	case $DISK_SIZE in
	*[!0-9KMG]* | [!1-9]* | *[KMG]?* | ??????????*) ;;
	*K) disk_bytes=$((${DISK_SIZE%K} << 10)) ;;
	*M) disk_bytes=$((${DISK_SIZE%M} << 20)) ;;
	*G) disk_bytes=$((${DISK_SIZE%G} << 30)) ;;
	*) disk_bytes=$DISK_SIZE ;;
	esac
	[ "$disk_bytes" -ge $((8 << 20)) ] ||
		{ echo "vm: --disk must be a size of at least 8M such as 512M or 2G, got '$DISK_SIZE'" >&2; exit 127; }
	command -v mkfs.ext4 >/dev/null || PATH=$PATH:/usr/sbin:/sbin
	command -v mkfs.ext4 >/dev/null || { echo "vm: --disk needs mkfs.ext4 (run: make deps)" >&2; exit 127; }
fi
if [ -z "$IMAGE" ]; then
	spec=$(kernel_spec)
	kernel_variant "$spec" || exit 127
	IMAGE=$KV_IMAGE
	[ -r "$IMAGE" ] || { echo "vm: no $KV_NAME kernel at ${IMAGE#"$ROOT"/} (run: make kernel KERNEL=$spec)" >&2; exit 127; }
fi
[ -r "$IMAGE" ] || { echo "vm: no kernel at $IMAGE (run: make kernel)" >&2; exit 127; }
# The board tests find the kernel's build (release, selftests) here.
kdir=$(cd "$(dirname "$IMAGE")/../../../.." && pwd)
if [ -f "$kdir/release" ]; then
	export CMAKIT_KERNEL_DIR=$kdir CMAKIT_KERNEL_RELEASE=$(cat "$kdir/release")
fi
command -v qemu-system-x86_64 >/dev/null || { echo "vm: qemu-system-x86_64 missing (run: make deps)" >&2; exit 127; }

QPID=
TPID=
IMG=
RUN=
cleanup() {
	[ -n "$QPID" ] && kill -TERM "$QPID" 2>/dev/null && sleep 0.2 && kill -KILL "$QPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	# the scratch disk lives only as long as the run
	[ -z "$IMG" ] || rm -f "$IMG"
	QPID=
	TPID=
	IMG=
}
trap 'cleanup; echo "vm: interrupted, guest stopped (run: $RUN)" >&2; exit 130' INT TERM HUP
trap cleanup EXIT

mkdir -p "$ROOT/build/vm/runs" "$OUTDIR" || exit 127
OUTDIR=$(cd "$OUTDIR" && pwd)
if [ -n "${VM_RUN_ID:-}" ]; then
	# The caller names the run (to find its logs when others run boards too).
	RUN=$ROOT/build/vm/runs/$VM_RUN_ID
	[ ! -e "$RUN" ] || { echo "vm: run $VM_RUN_ID exists already" >&2; exit 127; }
	mkdir -p "$RUN" || exit 127
else
	RUN=$(mktemp -d "$ROOT/build/vm/runs/$(date +%Y%m%d-%H%M%S)-XXXX") || exit 127
fi
if [ -n "$DISK_SIZE" ]; then
	# Sparse, and made on the host: mkfs needs no root for a file, and the
	# inode tables and journal are zeroed here rather than by the guest's
	# ext4lazyinit thread in the middle of a measurement.
	IMG=$RUN/scratch.img
	if ! err=$(truncate -s "$disk_bytes" "$IMG" 2>&1 &&
		mkfs.ext4 -q -F -L cmakit-scratch -E lazy_itable_init=0,lazy_journal_init=0 "$IMG" 2>&1); then
		echo "vm: cannot make the $DISK_SIZE scratch disk: $(echo "$err" | grep . | tail -n1)" >&2
		cleanup
		rm -rf "$RUN"
		exit 127
	fi
fi
ln -sfn "$RUN" "$ROOT/build/vm/last"
# keep the 30 newest runs
ls -1dt "$ROOT"/build/vm/runs/*/ 2>/dev/null | tail -n +31 | xargs -r rm -rf

# The command runs under bash in the guest, in the caller's directory, with
# the caller's CMAKIT_* and V variables.
{
	echo "# generated by ci/vm/run.sh"
	for v in $(compgen -e | grep -E '^(CMAKIT_[A-Z0-9_]*|V)$' | grep -vx CMAKIT_SCRATCH); do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'export CMAKIT_VM_RUN=%q CMAKIT_ROOT=%q\n' "$RUN" "$ROOT"
	if [ $# -eq 1 ]; then
		printf '%s\n' "$1"
	else
		printf '%q ' "$@"
		echo
	fi
} >"$RUN/cmd.sh"
pwd >"$RUN/cwd"

# TCG on one host thread by default. With a thread per guest CPU, QEMU 7.2
# leaves a CPU executing a stale translation of code the kernel has patched:
# boards of both kernels hung with a CPU trapping on an int3 at the
# sched_switch static key in __schedule() (text_poke_bp() flips it whenever
# tracing starts or stops) while memory held the new jmp there, and the
# other CPU waiting for it in csd_lock_wait(). The debug kernel's
# kernel-cma suite hung in 2 of 7 runs so; on one thread 0 of 6, in about
# the same time. One thread never translates code while another writes it.
accel=(-accel "tcg,thread=$TCG_THREAD" -cpu max)
# KVM only where it demonstrably works; the probe result is cached per kernel.
if [ -w /dev/kvm ] && [ "${VM_KVM:-auto}" != no ]; then
	probe=$ROOT/build/vm/kvm-probe
	if [ ! -f "$probe" ]; then
		if timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none \
			-no-reboot -kernel "$IMAGE" -append "console=ttyS0 panic=-1 root=/dev/null" \
			-serial stdio </dev/null 2>/dev/null | grep -q "Kernel panic"; then
			echo kvm >"$probe"
		else
			echo tcg >"$probe"
		fi
	fi
	[ "$(cat "$probe")" = kvm ] && accel=(-accel kvm -cpu host)
fi
accel_name=${accel[1]%%,*}
[ "$accel_name" != tcg ] || [ "$TCG_THREAD" = single ] || accel_name=tcg-$TCG_THREAD
# An instruction-counting clock: guest time is 2^SHIFT ns per instruction and
# jumps over idle periods (sleep=off), so what the guest measures is the work
# it did, whatever else the host runs. It needs TCG on one thread.
if [ -n "$ICOUNT" ]; then
	[ "$accel_name" = tcg ] || { echo "vm: --icount needs TCG on one thread (accel $accel_name)" >&2; exit 127; }
	[ "$CPUS" = 1 ] || { echo "vm: --icount boots one CPU (SMP bring-up hangs under -icount); give --cpus 1, not $CPUS" >&2; exit 127; }
	accel+=(-icount "shift=$ICOUNT,sleep=off")
	accel_name=tcg-icount$ICOUNT
fi

# no_timer_check: a loaded host makes TCG miss the early timer check and panic.
# tsc=reliable: otherwise the guest distrusts the emulated TSC and falls back
# to the HPET, which makes every clock read (and every measurement) costly.
# nokaslr: a randomly placed kernel can split a small guest's memory so that
# cma= finds no contiguous range ("Failed to reserve 256 MiB" with 512M);
# a fixed layout also keeps pfns comparable between runs.
cmdline="console=ttyS0 root=hostroot rootfstype=9p"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
cmdline+=" init=$ROOT/ci/vm/init.sh panic=-1 no_timer_check tsc=reliable nokaslr cmakit_root=$ROOT cmakit_ctl=$RUN cmakit_out=$OUTDIR"
[ "$CMA" = none ] || cmdline+=" cma=$CMA"
[ -z "$IMG" ] || cmdline+=" cmakit_disk=1"
[ -z "$APPEND" ] || cmdline+=" $APPEND"
echo "$cmdline" >"$RUN/cmdline"

# qboot (in Debian's qemu-system-data) gets to the kernel far faster than
# SeaBIOS under TCG; fall back to the default firmware where it is missing.
bios=
[ -r /usr/share/qemu/qboot.rom ] && bios="-bios /usr/share/qemu/qboot.rom"

# The monitor tells where the CPUs of a guest that stopped making progress
# are (cpus_at below). A unix socket's path has at most 107 bytes.
monitor=none
MON=$RUN/monitor.sock
if command -v socat >/dev/null && [ ${#MON} -le 100 ]; then
	monitor=unix:$MON,server=on,wait=off
fi

qemu=(qemu-system-x86_64 "${accel[@]}" -m "$MEM" -smp "$CPUS"
	-nodefaults -display none -no-reboot -monitor "$monitor"
	$bios
	-serial "file:$RUN/console.log"
	-kernel "$IMAGE" -append "$cmdline"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$RUN,mount_tag=cmakit-ctl,security_model=none,multidevs=remap"
	-virtfs "local,path=$OUTDIR,mount_tag=cmakit-out,security_model=none,multidevs=remap")
[ -z "${VM_DISK:-}" ] || qemu+=(-drive "file=$VM_DISK,if=virtio,format=raw")
# The guest finds the scratch disk by its serial, whatever else is attached.
# cache=unsafe: it is thrown away with the run, so the host never needs to
# flush it to stable storage.
[ -z "$IMG" ] || qemu+=(-drive "file=$IMG,if=none,id=scratch,format=raw,cache=unsafe"
	-device "virtio-blk-pci,drive=scratch,serial=cmakit-scratch")
printf '%q ' "${qemu[@]}" >"$RUN/qemu-cmd"

: >"$RUN/output"
t0=$(date +%s.%N)
"${qemu[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
# The command's output reaches the caller as it is written.
tail -n +1 -f --pid="$QPID" "$RUN/output" &
TPID=$!

boot=
timed_out=0
start_s=$(date +%s)
deadline=$((start_s + TIMEOUT))
# A board that runs for minutes says so once a minute (VM_PROGRESS=0: never;
# VM_PROGRESS_PERIOD: every so many seconds).
period=${VM_PROGRESS_PERIOD:-60}
beat=$((start_s + period))
while kill -0 "$QPID" 2>/dev/null; do
	if [ -z "$boot" ] && [ -s "$RUN/started" ]; then
		boot=$(echo "$(date +%s.%N) - $t0" | bc)
	fi
	now=$(date +%s)
	if [ "$now" -ge "$beat" ] && [ "${VM_PROGRESS:-1}" = 1 ]; then
		beat=$((now + period))
		el=$((now - start_s))
		printf 'vm: board running for %dm%02ds (limit %dm%02ds, run %s)\n' $((el / 60)) $((el % 60)) \
			$((TIMEOUT / 60)) $((TIMEOUT % 60)) "${RUN#"$ROOT"/}" >&2
	fi
	if [ "$now" -ge "$deadline" ]; then
		timed_out=1
		cpus_at >"$RUN/cpus" 2>&1
		kill -KILL "$QPID" 2>/dev/null
		break
	fi
	sleep 0.05
done
wait "$QPID" 2>/dev/null
qemu_rc=$?
QPID=
wait "$TPID" 2>/dev/null
TPID=
total=$(echo "$(date +%s.%N) - $t0" | bc)
printf 'boot_s=%.2f\ntotal_s=%.2f\nguest_uptime_at_start_s=%s\naccel=%s\n' \
	"${boot:-0}" "$total" "$(cat "$RUN/started" 2>/dev/null || echo -)" "$accel_name" >"$RUN/timing"

# Kernel reports on the console fail the run, whatever the command returned.
# A bare call trace counts: sysfs duplicates, failed registrations and
# dump_stack() callers print one without an Oops or WARNING line.
pattern='(Oops|BUG:|Call Trace:|kernel BUG at|WARNING:|Kernel panic|KASAN:|UBSAN:|general protection fault|INFO: task .* blocked for more than|rcu: INFO: .* stall|possible circular locking|inconsistent lock state|list_add corruption|list_del corruption)'
reports=$(grep -naE "$pattern" "$RUN/console.log" 2>/dev/null | { if [ -n "$ALLOW" ]; then grep -vE "$ALLOW"; else cat; fi; })

rc=
if [ $timed_out = 1 ]; then
	echo "vm: guest did not finish within $TIMEOUT s; stopped (console: $RUN/console.log)" >&2
	tail -n 15 "$RUN/console.log" | sed 's/^/vm:   /' >&2
	echo "vm: where the guest's CPUs were:" >&2
	sed 's/^/vm:   /' "$RUN/cpus" >&2
	rc=124
elif [ ! -s "$RUN/rc" ]; then
	echo "vm: guest ended without reporting the command's status (qemu exit $qemu_rc; console: $RUN/console.log)" >&2
	[ -n "$reports" ] || tail -n 15 "$RUN/console.log" | sed 's/^/vm:   /' >&2
	rc=126
else
	rc=$(cat "$RUN/rc")
fi
if [ -n "$reports" ]; then
	echo "vm: kernel report on the console (console: $RUN/console.log):" >&2
	first=$(echo "$reports" | head -n1 | cut -d: -f1)
	echo "$reports" | head -n 10 | sed 's/^/vm:   /' >&2
	echo "vm: context:" >&2
	sed -n "${first},$((first + 25))p" "$RUN/console.log" | sed 's/^/vm:   /' >&2
	[ "$rc" -ge 124 ] 2>/dev/null || rc=125
fi
echo "$rc" >"$RUN/status"
[ "${VM_QUIET:-0}" = 1 ] || printf 'vm: status %s, boot %.2f s, total %.2f s (%s), run %s\n' \
	"$rc" "${boot:-0}" "$total" "$accel_name" "${RUN#"$ROOT"/}" >&2
exit "$rc"
