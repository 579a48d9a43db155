#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The images a LAVA job deploys to a board (ci/lava/README.md):
#
#   OUTDIR/cmakit-bundle.tar.gz  cmabench (static) and ci/lava/cmakit-metrics.sh,
#                                laid out like a checkout; extracted at $CMAKIT
#                                on the board (/opt/cmakit by default)
#   OUTDIR/ramdisk.cpio.gz       a busybox ramdisk (newc cpio) whose /init is
#                                ci/lava/board-init.sh, for the QEMU device
#
# usage: ci/lava/mkimages.sh OUTDIR
#   ARCH=arm64    the arm64 bundle (static cmabench from gcc-aarch64-linux-gnu)
#                 for a real board; the ramdisk only with BUSYBOX=<a static
#                 arm64 busybox> (Debian's busybox-static:arm64)
#   BUSYBOX=FILE  the static busybox of the ramdisk (default /bin/busybox,
#                 Debian's busybox-static)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"

[ $# -eq 1 ] && [ -n "$1" ] || { echo "mkimages: usage: ci/lava/mkimages.sh OUTDIR" >&2; exit 2; }
out=$1
arch=${ARCH:-}
busybox=${BUSYBOX:-/bin/busybox}
ramdisk=1
case $arch in '' | x86_64 | arm64) ;; *) echo "mkimages: ARCH must be x86_64 or arm64, got '$arch'" >&2; exit 2 ;; esac
[ "$arch" != x86_64 ] || arch=
[ -z "$arch" ] || [ -n "${BUSYBOX:-}" ] || ramdisk=0
if [ $ramdisk = 1 ]; then
	command -v cpio >/dev/null || die "mkimages: cpio is missing (make deps)"
	file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
		die "mkimages: $busybox is not a static busybox (BUSYBOX=FILE; Debian: busybox-static)"
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.mkimages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# cmabench, static: the board has no glibc of ours (its own, or none).
if [ "$arch" = arm64 ]; then
	make -s -C "$ROOT/tools/cmabench" O="$tmp/build" ARCH=arm64 >"$tmp/make.log" 2>&1 ||
		die "mkimages: building the arm64 cmabench failed: $(tail -n 3 "$tmp/make.log")"
	bin=$tmp/build/cmabench/arm64/cmabench
else
	make -s -C "$ROOT/tools/cmabench" O="$tmp/build" LDFLAGS=-static >"$tmp/make.log" 2>&1 ||
		die "mkimages: building a static cmabench failed: $(tail -n 3 "$tmp/make.log")"
	bin=$tmp/build/cmabench/cmabench
fi
file "$bin" | grep -q 'statically linked' || die "mkimages: $bin is not statically linked"

b=$tmp/bundle
mkdir -p "$b/build/cmabench" "$b/ci/lava"
cp "$bin" "$b/build/cmabench/cmabench"
cp "$ROOT/ci/lava/cmakit-metrics.sh" "$ROOT/ci/lava/cmakit-scenarios.yaml" "$b/ci/lava/"
chmod 755 "$b/ci/lava/cmakit-metrics.sh"
tar -C "$b" --owner=0 --group=0 -czf "$tmp/cmakit-bundle.tar.gz" build ci

if [ $ramdisk = 0 ]; then
	mv "$tmp/cmakit-bundle.tar.gz" "$out/"
	echo "mkimages: $out/cmakit-bundle.tar.gz (no ramdisk: ARCH=$arch needs BUSYBOX=FILE)"
	exit 0
fi
r=$tmp/ramdisk
mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/root" "$r/opt" "$r/etc"
cp "$busybox" "$r/bin/busybox"
cp "$ROOT/ci/lava/board-init.sh" "$r/init"
chmod 755 "$r/init" "$r/bin/busybox"
echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$tmp/ramdisk.cpio.gz"

mv "$tmp/cmakit-bundle.tar.gz" "$tmp/ramdisk.cpio.gz" "$out/"
echo "mkimages: $out/cmakit-bundle.tar.gz $out/ramdisk.cpio.gz"
