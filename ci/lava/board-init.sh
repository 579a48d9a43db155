#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the LAVA QEMU board's ramdisk (ci/lava/mkimages.sh): a busybox
# system like a minimal embedded root file system. It mounts the kernel file
# systems cmabench reads (proc, sysfs, debugfs, tracefs) and a tmpfs on /tmp,
# then gives LAVA a root shell on the console; LAVA waits for the prompt
# "cmakit-board# " and drives the test shell from there.
/bin/busybox mkdir -p /proc /sys /dev /tmp /root /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
# LAVA ends the job with "poweroff": power off at once (init is this
# script, not a busybox init that would take the signal).
/bin/busybox rm -f /sbin/poweroff
printf '#!/bin/sh\nsync\nexec /bin/busybox poweroff -f\n' >/sbin/poweroff
/bin/busybox chmod 755 /sbin/poweroff
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname cmakit-board
# Kernel messages would interleave with LAVA's signals on the console.
echo 1 >/proc/sys/kernel/printk
# A host directory shared over 9p with tag cmakit-out (ci/lava/lava-run.sh)
# is mounted at /mnt/out: cmabench's results directories come back there.
for t in /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; do
	[ "$(cat "$t" 2>/dev/null)" = cmakit-out ] || continue
	mkdir -p /mnt/out
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 cmakit-out /mnt/out ||
		echo "cmakit-board: mounting the cmakit-out share failed"
done
echo "cmakit-board: up after $(cut -d' ' -f1 /proc/uptime) s, cma: $(grep CmaTotal /proc/meminfo)"
export PS1='cmakit-board# '
# A shell that owns the console (job control, ^C), respawned if it exits.
while :; do
	setsid cttyhack sh
done
