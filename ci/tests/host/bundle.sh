#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bundle: for each architecture a tarball whose programs are static ELF
# files of that architecture (no interpreter, no shared library needed:
# nothing of the board's libraries), with the bpftrace scripts, run-scenario
# and a manifest that lists exactly what it holds. Bad input: one line.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
cd "$ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for arch in arm64 x86_64; do
	case $arch in arm64) machine=AArch64 ;; x86_64) machine="X86-64" ;; esac
	tgz=build/bundle/cmakit-$arch.tar.gz
	if ! out=$(env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s --no-print-directory bundle ARCH=$arch QUIET=1 2>&1); then
		t_fail "make bundle ARCH=$arch" "$out"
		continue
	fi
	[ -s "$tgz" ] && t_ok "make bundle ARCH=$arch writes $tgz" || { t_fail "make bundle ARCH=$arch writes $tgz"; continue; }
	rm -rf "${tmp:?}/$arch"
	mkdir -p "$tmp/$arch"
	tar -xzf "$tgz" -C "$tmp/$arch"
	d=$tmp/$arch/cmakit-$arch
	for t in cmabench cmalat cmafail cmamigrate cmacollect; do
		f=$d/bin/$t
		if [ ! -f "$f" ]; then
			t_fail "$arch: bin/$t is in the bundle"
			continue
		fi
		hdr=$(readelf -h "$f" 2>&1 | sed -n 's/^ *Machine: *//p')
		interp=$(readelf -l "$f" 2>&1 | grep -c 'Requesting program interpreter')
		needed=$(readelf -d "$f" 2>&1 | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | paste -sd ' ')
		[[ $hdr == *"$machine"* ]] && t_ok "$arch: bin/$t is a $machine ELF" ||
			t_fail "$arch: bin/$t is a $machine ELF" "machine: $hdr"
		[ "$interp" = 0 ] && [ -z "$needed" ] && t_ok "$arch: bin/$t is static (no interpreter, no shared library)" ||
			t_fail "$arch: bin/$t is static" "interpreter: $interp, needed: $needed"
		[[ $(file -b "$f") == *"statically linked"* ]] && t_ok "$arch: file(1) says bin/$t is statically linked" ||
			t_fail "$arch: file(1) says bin/$t is statically linked" "$(file -b "$f")"
	done
	n=$(ls "$d"/bpftrace/*.bt 2>/dev/null | wc -l)
	t_eq "$arch: every bpftrace script of bpf/bpftrace" "$(ls bpf/bpftrace/*.bt | wc -l)" "$n"
	[ -x "$d/run-scenario" ] && sh -n "$d/run-scenario" && t_ok "$arch: run-scenario, an executable sh script" ||
		t_fail "$arch: run-scenario, an executable sh script"
	t_eq "$arch: the manifest lists exactly the bundle's files" \
		"$(cd "$d" && find . -type f ! -name MANIFEST | sed 's|^\./||' | sort)" \
		"$(sed -n 's/^  //p' "$d/MANIFEST" | grep -vx MANIFEST)"
	if [ "$arch" = x86_64 ]; then
		# this machine runs the x86_64 one: its scenario list, and bad input
		"$d/bin/cmabench" --list | grep -q '^camera ' && t_ok "x86_64: the static cmabench runs here (--list)" ||
			t_fail "x86_64: the static cmabench runs here (--list)"
		out=$("$d/run-scenario" no-such-scenario 2>&1)
		rc=$?
		[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out == *"unknown scenario 'no-such-scenario'"* ]] &&
			t_ok "run-scenario with an unknown scenario: one line, status 2" ||
			t_fail "run-scenario with an unknown scenario: one line, status 2" "status $rc: $out"
	fi
done
out=$(bash ci/bundle/bundle.sh mips 2>&1)
rc=$?
[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out == *"unknown architecture 'mips'"* ]] &&
	t_ok "bundle for an unknown architecture: one line, status 1" ||
	t_fail "bundle for an unknown architecture: one line, status 1" "status $rc: $out"
t_done
