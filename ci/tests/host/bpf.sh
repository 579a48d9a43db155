#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of the BPF tools (bpf/): they build quietly, their CLIs
# answer bad input with one line and a non-zero exit, they refuse to run
# without root in one line, and the sources keep the project's style.
# What they measure is tested inside the board (ci/tests/board/bpf.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
BPF=$ROOT/build/bpf
TOOLS="cmalat cmafail cmamigrate cmacollect"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# 1. the build ----------------------------------------------------------------
out=$(make -C "$ROOT/bpf" --no-print-directory 2>&1)
rc=$?
t_eq "make -C bpf succeeds" 0 "$rc"
[ $rc -eq 0 ] || t_diag "$(echo "$out" | tail -n 20)"
noisy=$(echo "$out" | grep -vE '^  [A-Z-]+ +[^ ]+$|^make(\[[0-9]+\])?: ' | head -n 5)
t_eq "the build is quiet without V=1" "" "$noisy"
for t in $TOOLS; do
	[ -x "$BPF/$t" ] && t_ok "$t is built" || t_fail "$t is built" "$BPF/$t missing"
done
gen=$(git -C "$ROOT" ls-files bpf | grep -E 'vmlinux\.h$|\.skel\.h$|\.o$')
t_eq "generated files are not committed" "" "$gen"

# arm64: the BPF objects, skeletons and user-space objects cross-build; the
# link needs Debian's libbpf-dev:arm64 (multiarch), which is optional
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	out=$(make -C "$ROOT/bpf" --no-print-directory ARCH=arm64 objects 2>&1)
	rc=$?
	kind=$(file -b "$BPF/arm64/cmalat.o" 2>/dev/null | cut -d, -f2 | sed 's/^ //')
	t_eq "make -C bpf ARCH=arm64 objects builds aarch64 objects" "0 ARM aarch64" "$rc $kind"
	[ $rc -eq 0 ] || t_diag "$(echo "$out" | tail -n 5)"
else
	t_skip "make -C bpf ARCH=arm64 objects" "no aarch64-linux-gnu-gcc (make deps)"
fi

# 2. the CLIs -----------------------------------------------------------------
for t in $TOOLS; do
	help=$("$BPF/$t" --help 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$help" | grep -q '^USAGE: ' && echo "$help" | grep -q '^EXAMPLES:'; then
		t_ok "$t --help shows USAGE and EXAMPLES"
	else
		t_fail "$t --help shows USAGE and EXAMPLES" "status $rc" "$(echo "$help" | head -n 3)"
	fi
done

# bad_arg TOOL EXPECTED-FIRST-LINE ARGS...: non-zero, the error line first
bad_arg() {
	local t=$1 want=$2 out rc
	shift 2
	out=$("$BPF/$t" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(echo "$out" | head -n 1)" = "$want" ]; then
		t_ok "$t $*: '$want', status $rc"
	else
		t_fail "$t $*: '$want' and a non-zero status" "status $rc" "$(echo "$out" | head -n 2)"
	fi
}
bad_arg cmalat "cmalat: invalid interval: '1x'" 1x
bad_arg cmalat "cmalat: invalid interval: '0'" 0
bad_arg cmalat "cmalat: invalid count: '3x'" 1 3x
bad_arg cmalat "cmalat: unrecognized positional argument: '3'" 1 2 3
bad_arg cmalat "cmalat: invalid pid: '12a'" -p 12a
bad_arg cmalat "cmalat: invalid path: 'fast' (auto, patched, stock, fentry, kprobe)" -P fast
bad_arg cmafail "cmafail: invalid duration: ''" -d ''
bad_arg cmafail "cmafail: invalid duration: '99999999999999999999'" -d 99999999999999999999
bad_arg cmamigrate "cmamigrate: invalid interval: ' 5'" ' 5'
bad_arg cmacollect "cmacollect: invalid duration: '1.5'" -d 1.5

# 3. without root: one line, non-zero, nothing else -----------------------------
for t in cmalat cmafail cmamigrate; do
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BPF/$t" 2>&1)
	rc=$?
	t_eq "$t without root: one line and status 1" \
		"1|$t: must run as root (loading BPF programs needs CAP_SYS_ADMIN)" "$rc|$out"
done
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BPF/cmacollect" -d 1 -o "$tmp/x.json" 2>&1)
rc=$?
t_eq "cmacollect without root: one line, status 1" \
	"1|cmacollect: must run as root (loading BPF programs needs CAP_SYS_ADMIN)" "$rc|$out"
[ ! -e "$tmp/x.json" ] && t_ok "cmacollect without root writes no document" ||
	t_fail "cmacollect without root writes no document" "$tmp/x.json exists"

# 4. style -------------------------------------------------------------------------
cd "$ROOT" || exit 1
mapfile -t csrc < <(git ls-files 'bpf/*.c' 'bpf/*.h')
[ ${#csrc[@]} -gt 0 ] || csrc=(bpf/*.c bpf/*.h)
out=$(clang-format --dry-run -Werror "${csrc[@]}" 2>&1)
t_eq "bpf/ C sources are clang-formatted" "" "$(echo "$out" | head -n 3)"
out=$(cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
	--inline-suppr --suppress=missingIncludeSystem -I tools/lib "${csrc[@]}" 2>&1)
t_eq "bpf/ C sources are cppcheck clean" "" "$(echo "$out" | head -n 3)"
missing=
for f in bpf/Makefile bpf/README.md bpf/*.c bpf/*.h bpf/bpftrace/*.bt; do
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier' || missing="$missing $f"
done
t_eq "every bpf/ file starts with an SPDX line" "" "$missing"
for f in bpf/bpftrace/*.bt; do
	grep -q '^ \* USAGE: ' "$f" && t_ok "$(basename "$f") documents its USAGE" ||
		t_fail "$(basename "$f") documents its USAGE"
done
t_done
