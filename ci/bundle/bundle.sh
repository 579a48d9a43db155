#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bundle ARCH=arm64|x86_64`: build/bundle/cmakit-<arch>.tar.gz, what a
# real board needs and nothing of its own libraries: static cmabench, the
# static BPF tools (libbpf, libelf, zlib and libzstd from Debian's -dev
# packages for that architecture, extracted into build/bundle/sysroot-<arch>
# with mmdebstrap; nothing is installed on the host), the bpftrace scripts
# and run-scenario, which writes a results directory (docs/board.md).
#
# usage: ci/bundle/bundle.sh [ARCH]   (default: $ARCH, else x86_64)
# The BPF programs take the kernel's types from that architecture's cmakit
# kernel (build/kernel/cmakit[-arm64]/out/vmlinux) when it is built.
# Exit status 0 with the tarball written; 1 with one line naming the step
# that failed (its log kept in build/bundle/<arch>/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"
arch=$(kernel_arch "${1:-${ARCH:-}}" 2>&1) || die "bundle: ${arch#kernel: }"
unset ARCH
case $arch in
x86_64) deb=amd64 cross= karch=x86 ;;
arm64) deb=arm64 cross=aarch64-linux-gnu- karch=arm64 ;;
esac
command -v "${cross}gcc" >/dev/null || die "bundle: ${cross}gcc missing (run: make deps)"
B=$ROOT/build/bundle
W=$B/$arch
SYS=$B/sysroot-$arch
mkdir -p "$W"
LOG=$W/build.log
: >"$LOG"
step() {
	local what=$1
	shift
	"$@" >>"$LOG" 2>&1 || { tail -n 15 "$LOG" >&2; die "bundle: $what failed (log: ${LOG#"$ROOT"/})"; }
}

# The -dev packages' static libraries, for this architecture ---------------------
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && grep -qE '^[[:space:]]*(deb |Types:.*deb)' "$f" && sources+=("$f")
done
mapfile -t pkgs < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$ROOT/ci/bundle/sysroot-packages.txt")
id=$( { cat "$ROOT/ci/bundle/sysroot-packages.txt" "${sources[@]}"; echo "$deb"; } | sha256sum | cut -c1-16)
exec 8>"$B/.lock-$arch"
flock 8
if [ "$(cat "$SYS.id" 2>/dev/null)" != "$id" ] || [ ! -d "$SYS" ]; then
	[ ${#sources[@]} -gt 0 ] || die "bundle: no apt sources in /etc/apt"
	command -v mmdebstrap >/dev/null || die "bundle: mmdebstrap missing (run: make deps)"
	info "bundle: extracting ${pkgs[*]} ($deb) into ${SYS#"$ROOT"/}"
	rm -rf "$SYS.new"
	step "extracting the $deb -dev packages (mmdebstrap)" \
		mmdebstrap --variant=extract --arch="$deb" --mode=root --include="$(IFS=,; echo "${pkgs[*]}")" \
		bookworm "$SYS.new" "${sources[@]}"
	rm -rf "$SYS"
	mv "$SYS.new" "$SYS"
	echo "$id" >"$SYS.id"
fi

# The tools, static ------------------------------------------------------------------
OBJ=$W/obj
tarch=()
[ "$arch" = x86_64 ] || tarch=(ARCH=arm64)
info "bundle: static cmabench and BPF tools for $arch"
step "cmabench" make -C "$ROOT/tools/cmabench" O="$OBJ" "${tarch[@]}" CC="${cross}gcc" AR="${cross}ar" \
	LDFLAGS="-static -Wl,--gc-sections"
btf=$(kernel_variant cmakit "$arch" && echo "$KV_DIR/out/vmlinux")
btf_arg=()
[ -f "$btf" ] && btf_arg=(VMLINUX_BTF="$btf")
step "the BPF tools" make -C "$ROOT/bpf" O="$OBJ" ARCH="$karch" CROSS_COMPILE="$cross" \
	CC="${cross}gcc --sysroot=$SYS" LDFLAGS="-static -Wl,--gc-sections" \
	LDLIBS="-lbpf -lelf -lz -lzstd -lm" "${btf_arg[@]}"

# The bundle ---------------------------------------------------------------------------
name=cmakit-$arch
S=$W/$name
rm -rf "$S"
mkdir -p "$S/bin" "$S/bpftrace"
cmabench=$OBJ/cmabench/cmabench
[ "$arch" = x86_64 ] || cmabench=$OBJ/cmabench/arm64/cmabench
bpfdir=$OBJ/bpf
[ "$arch" = x86_64 ] || bpfdir=$OBJ/bpf/arm64
cp "$cmabench" "$S/bin/"
for t in cmalat cmafail cmamigrate cmacollect; do
	cp "$bpfdir/$t" "$S/bin/"
done
"${cross}strip" "$S"/bin/*
cp "$ROOT"/bpf/bpftrace/*.bt "$S/bpftrace/"
cp "$ROOT/ci/bundle/run-scenario" "$S/"
{
	echo "cmakit bundle for $arch ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
	if [ ${#btf_arg[@]} -gt 0 ]; then
		echo "BPF types from: ${btf#"$ROOT"/} ($(cat "${btf%/out/vmlinux}/release" 2>/dev/null || echo unknown release))"
	else
		echo "BPF types from: the default kernel of bpf/Makefile (no cmakit $arch kernel built)"
	fi
	echo "not included: cmatrace (it links libtracecmd, which Debian ships as a shared library only)"
	echo "files:"
	(cd "$S" && find . -type f | sort | sed 's|^\./|  |')
} >"$S/MANIFEST"
tar -C "$W" -czf "$B/$name.tar.gz.new" --owner=0 --group=0 "$name"
mv "$B/$name.tar.gz.new" "$B/$name.tar.gz"
info "bundle: ${B#"$ROOT"/}/$name.tar.gz ($(du -k "$B/$name.tar.gz" | cut -f1) KiB)"
