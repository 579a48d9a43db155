#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The cmakit virtual board: boot the built kernel in QEMU with the host's
# userspace as a read-only 9p root, run one command inside as root, and return
# its exit status. The arm64 board (--arch arm64) is QEMU's virt machine
# (qemu-system-aarch64 -M virt -cpu max, TCG): its root is Debian's arm64
# userspace assembled by ci/vm/arm64/root.sh, the project is mounted at its
# own path beside it, and its CMA areas are declared in the device tree
# (QEMU's own tree plus reserved-memory nodes; see --cma and --dt-cma).
#
# usage: ci/vm/run.sh [options] [--] COMMAND...
#   --arch ARCH      x86_64 (default) or arm64 (VM_ARCH, else ARCH); the kernel
#                    is the variant's build for that architecture
#   --mem SIZE       guest memory (VM_MEM, default 2G)
#   --cpus N         guest CPUs (VM_CPUS, default 2; 1 with --icount)
#   --cma SIZE       cma= boot parameter (VM_CMA, default 256M; "none" omits it);
#                    on arm64 the size of the device tree's linux,cma-default
#                    area instead (a multiple of 4M; "none": no such node)
#   --dt-cma LIST    arm64: more device-tree CMA areas, NAME:SIZE[,NAME:SIZE...]
#                    (VM_DT_CMA, default dt-heap:32M; "none": no more). The
#                    areas are placed from the top of memory down, 16M apart,
#                    and listed in the run's dt-areas (name base size kind)
#   --append ARGS    extra kernel arguments (VM_APPEND); given twice, both are kept
#   --timeout SEC    kill the guest after SEC seconds (VM_TIMEOUT, default 900)
#   --kernel FILE    bzImage to boot (VM_KERNEL; default the one of KERNEL=<variant>,
#                    see ci/kernel/build.sh; DEBUG=1 means KERNEL=debug)
#   --initrd FILE    an initramfs for the kernel (VM_INITRD); its /init runs instead
#                    of the board's init (it gets the same command line)
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
#                    (VM_ICOUNT; default off, TCG only). A wait for I/O (9p,
#                    disk) still lasts what the host takes: time only what
#                    runs in the guest. One guest CPU: 6.1's
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
. "$ROOT/ci/vm/arm64/hang.sh"

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
ARCH_ARG=${VM_ARCH:-${ARCH:-}}
INITRD=${VM_INITRD:-}
DT_CMA=${VM_DT_CMA:-dt-heap:32M}

usage() {
	sed -n '/^# usage:/,/^# Exit/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 127
}

while [ $# -gt 0 ]; do
	case $1 in
	# --append may be empty; every other option needs a value
	--append) [ $# -ge 2 ] || { echo "vm: --append needs an argument" >&2; exit 127; } ;;
	--mem | --cpus | --cma | --timeout | --kernel | --out | --allow | --tcg-thread | --disk | --icount | --arch | --dt-cma | --initrd)
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
	--arch) ARCH_ARG=$2; shift 2 ;;
	--dt-cma) DT_CMA=$2; shift 2 ;;
	--initrd) INITRD=$2; shift 2 ;;
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
BOARD_ARCH=$(kernel_arch "$ARCH_ARG" 2>&1) || { echo "vm: ${BOARD_ARCH#kernel: }" >&2; exit 127; }
[ -z "$INITRD" ] || [ -r "$INITRD" ] || { echo "vm: --initrd: cannot read '$INITRD'" >&2; exit 127; }

# size_bytes SIZE UNIT: SIZE (a number with an optional K, M, G or T suffix;
# a bare number counts in UNIT: B or M) in bytes; fails on anything else.
size_bytes() {
	local n=${1%[KkMmGgTt]} u=${1##*[0-9]}
	case $n in '' | *[!0-9]* | ??????????????*) return 1 ;; esac
	[ -n "$u" ] || u=$2
	case $u in
	B) echo $((n)) ;;
	[Kk]) echo $((n << 10)) ;;
	[Mm]) echo $((n << 20)) ;;
	[Gg]) echo $((n << 30)) ;;
	[Tt]) echo $((n << 40)) ;;
	*) return 1 ;;
	esac
}
if [ "$BOARD_ARCH" = arm64 ]; then
	# The device tree's CMA areas, from the top of the memory down: the
	# --dt-cma areas in order, 16M apart, then the default area. QEMU's
	# virt machine has its memory at 1 GiB; the kernel goes into its first
	# 128M, QEMU puts an initrd there and the tree after it.
	ram_base=$((0x40000000))
	floor=$((ram_base + (128 << 20)))
	[ -z "$INITRD" ] || floor=$((floor + (($(stat -L -c %s "$INITRD") + (8 << 20)) & ~((4 << 20) - 1))))
	mem_bytes=$(size_bytes "$MEM" M) && [ "$mem_bytes" -gt 0 ] ||
		{ echo "vm: --mem must be a size such as 2G or 1024M, got '$MEM'" >&2; exit 127; }
	dt_areas=()
	if [ "$DT_CMA" != none ]; then
		IFS=, read -ra specs <<<"$DT_CMA"
		[ ${#specs[@]} -gt 0 ] || { echo "vm: --dt-cma must be NAME:SIZE[,NAME:SIZE...] or none, got '$DT_CMA'" >&2; exit 127; }
		for a in "${specs[@]}"; do
			name=${a%%:*}
			case $name in
			'' | *[!a-zA-Z0-9_.+-]* | linux,cma)
				echo "vm: --dt-cma: '$a' is not NAME:SIZE (NAME of letters, digits and _.+-)" >&2; exit 127 ;;
			esac
			[[ " ${dt_areas[*]} " != *" $name:"* ]] ||
				{ echo "vm: --dt-cma: the area name '$name' is given twice" >&2; exit 127; }
			dt_areas+=("$name:${a#*:}:extra")
		done
	fi
	[ "$CMA" = none ] || dt_areas+=("linux,cma:$CMA:default")
	dt_plan=()
	cursor=$((ram_base + mem_bytes))
	for a in "${dt_areas[@]}"; do
		IFS=: read -r name size kind <<<"$a"
		bytes=$(size_bytes "$size" B) && [ "$bytes" -gt 0 ] && [ $((bytes % (4 << 20))) = 0 ] || {
			[ "$kind" = default ] && opt=--cma || opt=--dt-cma
			echo "vm: $opt: the size of area $name must be a multiple of 4M such as 256M, got '$size'" >&2
			exit 127
		}
		base=$(((cursor - bytes) & ~((4 << 20) - 1)))
		[ "$base" -ge "$floor" ] || {
			echo "vm: the device tree's CMA areas (${dt_areas[*]%:*}) do not fit in --mem $MEM above the kernel's $(((floor - ram_base) >> 20))M" >&2
			exit 127
		}
		dt_plan+=("$name $(printf '0x%x' "$base") $bytes $kind")
		cursor=$((base - (16 << 20)))
	done
fi
if [ -z "$IMAGE" ]; then
	spec=$(kernel_spec)
	kernel_variant "$spec" "$BOARD_ARCH" || exit 127
	IMAGE=$KV_IMAGE
	[ -r "$IMAGE" ] || { echo "vm: no $KV_NAME kernel at ${IMAGE#"$ROOT"/} (run: make kernel KERNEL=$spec${KV_KARCH:+ ARCH=$KV_ARCH})" >&2; exit 127; }
fi
[ -r "$IMAGE" ] || { echo "vm: no kernel at $IMAGE (run: make kernel)" >&2; exit 127; }
# The board tests find the kernel's build (release, selftests) here.
kdir=$(cd "$(dirname "$IMAGE")/../../../.." && pwd)
if [ -f "$kdir/release" ]; then
	export CMAKIT_KERNEL_DIR=$kdir CMAKIT_KERNEL_RELEASE=$(cat "$kdir/release")
fi
case $BOARD_ARCH in
x86_64) QEMU=qemu-system-x86_64 ;;
arm64) QEMU=qemu-system-aarch64 ;;
esac
command -v $QEMU >/dev/null || { echo "vm: $QEMU missing (run: make deps)" >&2; exit 127; }
if [ "$BOARD_ARCH" = arm64 ]; then
	command -v dtc >/dev/null || { echo "vm: dtc missing (run: make deps)" >&2; exit 127; }
	# the board's root: built once, again only when its inputs change
	bash "$ROOT/ci/vm/arm64/root.sh" || { echo "vm: the arm64 root could not be made" >&2; exit 127; }
	BOARD_ROOT=$ROOT/build/vm/arm64/root
fi

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
# arm64: -cpu max with QEMU's own pointer-authentication algorithm; the
# architected one (QARMA) costs more than anything else the guest does
# under TCG.
[ "$BOARD_ARCH" != arm64 ] || accel=(-accel "tcg,thread=$TCG_THREAD" -cpu max,pauth-impdef=on)
# KVM only where it demonstrably works; the probe result is cached per kernel.
if [ "$BOARD_ARCH" = x86_64 ] && [ -w /dev/kvm ] && [ "${VM_KVM:-auto}" != no ]; then
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

# arm64: QEMU's device tree with the CMA areas added (reserved-memory,
# "shared-dma-pool", reusable; the first one linux,cma-default), dumped for
# this machine's memory, CPUs and CPU model, and given back with -dtb.
machine=()
if [ "$BOARD_ARCH" = arm64 ]; then
	machine=(-M virt,gic-version=3)
	printf '%s\n' "${dt_plan[@]}" >"$RUN/dt-areas"
	{
		echo
		echo "/* the board's CMA areas (ci/vm/run.sh) */"
		echo "/ {"
		echo "	reserved-memory {"
		echo "		#address-cells = <2>;"
		echo "		#size-cells = <2>;"
		echo "		ranges;"
		# the default area first: it is CMA area 0 of the kernel
		for kind in default extra; do
			for a in "${dt_plan[@]}"; do
				read -r name base bytes k <<<"$a"
				[ "$k" = $kind ] || continue
				printf '\t\t%s {\n\t\t\tcompatible = "shared-dma-pool";\n\t\t\treusable;\n' "$name"
				printf '\t\t\treg = <0x%x 0x%x 0x%x 0x%x>;\n' $((base >> 32)) $((base & 0xffffffff)) \
					$((bytes >> 32)) $((bytes & 0xffffffff))
				[ $kind = extra ] || printf '\t\t\tlinux,cma-default;\n'
				printf '\t\t};\n'
			done
		done
		echo "	};"
		echo "};"
	} >"$RUN/cma.dtsi"
	if ! err=$({ $QEMU "${machine[0]}" "${machine[1]},dumpdtb=$RUN/virt.dtb" "${accel[@]}" -m "$MEM" \
		-smp "$CPUS" -nodefaults -display none </dev/null >/dev/null &&
		dtc -q -I dtb -O dts -o "$RUN/board.dts" "$RUN/virt.dtb" &&
		cat "$RUN/cma.dtsi" >>"$RUN/board.dts" &&
		dtc -q -I dts -O dtb -o "$RUN/board.dtb" "$RUN/board.dts"; } 2>&1); then
		echo "vm: cannot make the board's device tree: $(echo "$err" | grep . | tail -n1)" >&2
		exit 127
	fi
fi

# no_timer_check: a loaded host makes TCG miss the early timer check and panic.
# tsc=reliable: otherwise the guest distrusts the emulated TSC and falls back
# to the HPET, which makes every clock read (and every measurement) costly.
# nokaslr: a randomly placed kernel can split a small guest's memory so that
# cma= finds no contiguous range ("Failed to reserve 256 MiB" with 512M);
# a fixed layout also keeps pfns comparable between runs.
# arm64: the PL011 console, the root's own init (it mounts the project),
# and no cma=, which would override the tree's default area.
if [ "$BOARD_ARCH" = arm64 ]; then
	cmdline="console=ttyAMA0 root=hostroot rootfstype=9p"
	cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
	cmdline+=" init=/sbin/cmakit-init panic=-1 nokaslr cmakit_root=$ROOT cmakit_ctl=$RUN cmakit_out=$OUTDIR"
else
cmdline="console=ttyS0 root=hostroot rootfstype=9p"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
cmdline+=" init=$ROOT/ci/vm/init.sh panic=-1 no_timer_check tsc=reliable nokaslr cmakit_root=$ROOT cmakit_ctl=$RUN cmakit_out=$OUTDIR"
[ "$CMA" = none ] || cmdline+=" cma=$CMA"
fi
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

if [ "$BOARD_ARCH" = arm64 ]; then
	qemu=($QEMU "${machine[@]}" "${accel[@]}" -m "$MEM" -smp "$CPUS"
		-nodefaults -display none -no-reboot -monitor "$monitor"
		-serial "file:$RUN/console.log"
		-kernel "$IMAGE" -append "$cmdline" -dtb "$RUN/board.dtb"
		-virtfs "local,path=$BOARD_ROOT,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$ROOT,mount_tag=cmakit-project,security_model=none,readonly=on,multidevs=remap")
else
qemu=(qemu-system-x86_64 "${accel[@]}" -m "$MEM" -smp "$CPUS"
	-nodefaults -display none -no-reboot -monitor "$monitor"
	$bios
	-serial "file:$RUN/console.log"
	-kernel "$IMAGE" -append "$cmdline"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
fi
[ -z "$INITRD" ] || qemu+=(-initrd "$INITRD")
qemu+=(-virtfs "local,path=$RUN,mount_tag=cmakit-ctl,security_model=none,multidevs=remap"
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
boot_cpu=
# QEMU's CPU time (user + system) when the command starts: the boot's cost
# whatever else the host runs, where the wall clock shows the host's load
ticks=$(getconf CLK_TCK)
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
		boot_cpu=$(awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$QPID/stat" 2>/dev/null)
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
		if [ "$BOARD_ARCH" = arm64 ]; then cpus_at_arm64; else cpus_at; fi >"$RUN/cpus" 2>&1
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
printf 'boot_s=%.2f\ntotal_s=%.2f\nguest_uptime_at_start_s=%s\naccel=%s\nboot_cpu_s=%s\n' \
	"${boot:-0}" "$total" "$(cat "$RUN/started" 2>/dev/null || echo -)" "$accel_name" "${boot_cpu:--}" >"$RUN/timing"

# Kernel reports on the console fail the run, whatever the command returned.
# A bare call trace counts: sysfs duplicates, failed registrations and
# dump_stack() callers print one without an Oops or WARNING line.
# (arm64 prints "Call trace:" and "Unable to handle kernel ...")
pattern='(Oops|BUG:|Call Trace:|Call trace:|Unable to handle kernel|kernel BUG at|WARNING:|Kernel panic|KASAN:|UBSAN:|general protection fault|INFO: task .* blocked for more than|rcu: INFO: .* stall|possible circular locking|inconsistent lock state|list_add corruption|list_del corruption)'
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
