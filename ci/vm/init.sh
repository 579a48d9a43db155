#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the cmakit virtual board. The root file system is the host's own
# userspace, read-only over virtio-9p; this script makes the usual kernel
# file systems and writable tmpfs mounts, mounts the run's control share and
# the results share at their host paths (and the scratch disk of run.sh
# --disk at $CMAKIT_SCRATCH), runs the command of the run and
# reports its exit status back through the control share, then powers off.
# It must never exit: the kernel panics when init dies.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

# Under TCG every dynamically linked exec costs a lot (util-linux mount takes
# about 0.5 s), so init is a static busybox script and uses its applets.
mount() { /bin/busybox mount "$@"; }
mkdir() { /bin/busybox mkdir "$@"; }
hostname() { /bin/busybox hostname "$@"; }
dmesg() { /bin/busybox dmesg "$@"; }
umount() { /bin/busybox umount "$@"; }
sync() { /bin/busybox sync "$@"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Everything is built in: no usermode modprobe (a dynamic exec) on mounts.
echo >/proc/sys/kernel/modprobe
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ctl=
out=
root=
disk=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	cmakit_ctl=*) ctl=${arg#cmakit_ctl=} ;;
	cmakit_out=*) out=${arg#cmakit_out=} ;;
	cmakit_root=*) root=${arg#cmakit_root=} ;;
	cmakit_disk=*) disk=${arg#cmakit_disk=} ;;
	esac
done

# Writable tmpfs over the usual scratch directories. The project itself may
# live under one of them (a checkout in /tmp or /root): keep it visible by
# binding it aside first and back into place afterwards.
scratch="/tmp /run /var/tmp /var/log /root /var/lib/trace-cmd"
keep=
for d in $scratch; do
	case $root/ in "$d"/*) keep=$root ;; esac
done
if [ -n "$keep" ]; then
	mkdir -p /dev/.cmakit-root
	mount -o bind "$keep" /dev/.cmakit-root
fi
for d in $scratch; do
	[ -d "$d" ] && mount -t tmpfs -o mode=1777 tmpfs "$d"
done
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	mount -o bind /dev/.cmakit-root "$keep"
fi
hostname cmakit-board 2>/dev/null

# The scratch disk of run.sh --disk: the virtio disk with serial
# cmakit-scratch (ext4, made on the host), mounted on the /run tmpfs.
scratch_dir=
scratch_err=
if [ "$disk" = 1 ]; then
	dev=
	for b in /sys/block/vd*; do
		s=
		[ -r "$b/serial" ] && read -r s <"$b/serial"
		[ "$s" = cmakit-scratch ] && dev=/dev/${b##*/}
	done
	if [ -z "$dev" ]; then
		scratch_err="no virtio disk with serial cmakit-scratch"
	elif mkdir -p /run/cmakit-scratch && mount -t ext4 "$dev" /run/cmakit-scratch; then
		scratch_dir=/run/cmakit-scratch
	else
		scratch_err="mounting $dev (ext4) failed"
	fi
	[ -z "$scratch_err" ] || echo "cmakit-init: scratch disk: $scratch_err" >/dev/kmsg
fi

opts=trans=virtio,version=9p2000.L,msize=262144
if [ -n "$ctl" ] && mkdir -p "$ctl" && mount -t 9p -o "$opts" cmakit-ctl "$ctl"; then
	[ -n "$out" ] && mkdir -p "$out" && mount -t 9p -o "$opts" cmakit-out "$out"
	read -r up _ </proc/uptime
	echo "$up" >"$ctl/started"
	echo "cmakit-init: running command (uptime $up s)" >/dev/kmsg
	read -r cwd <"$ctl/cwd" 2>/dev/null
	cd "${cwd:-/}" 2>/dev/null || cd /
	if [ -n "$scratch_dir" ]; then
		CMAKIT_SCRATCH=$scratch_dir /bin/bash "$ctl/cmd.sh" </dev/null >"$ctl/output" 2>&1
	else
		# The command learns why $CMAKIT_SCRATCH is missing.
		{ [ -z "$scratch_err" ] || echo "cmakit-init: run.sh --disk: $scratch_err"
			/bin/bash "$ctl/cmd.sh" </dev/null; } >"$ctl/output" 2>&1
	fi
	rc=$?
	if [ -n "$scratch_dir" ]; then
		cd /
		sync
		umount "$scratch_dir" 2>/dev/null || umount -l "$scratch_dir"
	fi
	dmesg >"$ctl/dmesg" 2>/dev/null
	echo "$rc" >"$ctl/rc"
	echo "cmakit-init: command exited with status $rc" >/dev/kmsg
	sync
else
	echo "cmakit-init: no control share (cmakit_ctl=$ctl), nothing to run" >/dev/kmsg
fi
echo o >/proc/sysrq-trigger
while :; do sleep 60; done
