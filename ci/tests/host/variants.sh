#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel variants (KERNEL=cmakit|stock|debug|series:DIR|git:REF): each has
# its own build directory and release string, identity follows content, and
# bad input gets one line and status 2 from every entry point (make kernel,
# make vm, make regress) before anything is built. The variants' real builds
# and boots are the debug and stock suites of ci/test.sh.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/lib.sh"
cd "$ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one_line DESC WANT_RC WANT_REGEX CMD...: status and exactly one line matching
one_line() {
	local desc=$1 want=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out =~ $re ]]; then
		t_ok "$desc"
	else
		t_fail "$desc" "status $rc (want $want)" "output: $out"
	fi
}

# 1. resolution ----------------------------------------------------------------
declare -A rel=()
for v in cmakit stock debug; do
	if kernel_variant "$v"; then
		rel[$v]=$KV_LOCALVERSION
		t_ok "variant $v resolves (build/kernel/$KV_NAME, $KV_LOCALVERSION)"
	else
		t_fail "variant $v resolves"
	fi
done
[[ ${rel[cmakit]} =~ ^-cmakit-[0-9a-f]{12}$ ]] && t_ok "cmakit's release suffix is -cmakit-<hash>" ||
	t_fail "cmakit's release suffix is -cmakit-<hash>" "${rel[cmakit]}"
[[ ${rel[stock]} =~ ^-stock-[0-9a-f]{12}$ ]] && t_ok "stock's release suffix is -stock-<hash>" ||
	t_fail "stock's release suffix is -stock-<hash>" "${rel[stock]}"
[[ ${rel[debug]} =~ ^-cmakit-[0-9a-f]{12}-dbg$ ]] && [ "${rel[debug]}" != "${rel[cmakit]}-dbg" ] &&
	t_ok "debug's release is -cmakit-<hash>-dbg, its hash covering debug.config" ||
	t_fail "debug's release is -cmakit-<hash>-dbg, its hash covering debug.config" "${rel[debug]}"
kernel_variant stock
t_eq "stock applies no patches" "" "$KV_PATCHDIR"
t_eq "stock leaves out the series' own options (series.config)" "trim.config cmakit.config" \
	"$(basename -a "${KV_FRAGMENTS[@]}" | paste -sd ' ')"
t_eq "DEBUG=1 means KERNEL=debug" debug "$(DEBUG=1 KERNEL= kernel_spec)"

# series:DIR: a copy of the series is the same kernel (content, not names)
cp -r kernel-patches "$tmp/copy"
kernel_variant cmakit
h_cmakit=$KV_HASH
kernel_variant "series:$tmp/copy"
t_eq "series:DIR holding a copy of the series has the cmakit series' hash" "$h_cmakit" "$KV_HASH"
t_eq "series:DIR builds in build/kernel/series-<hash>" "series-$h_cmakit" "$KV_NAME"
echo "# one more line" >>"$tmp/copy/series"
kernel_variant "series:$tmp/copy"
[ "$KV_HASH" != "$h_cmakit" ] && t_ok "editing the candidate's series changes its identity" ||
	t_fail "editing the candidate's series changes its identity"
# without config/ it takes cmakit's fragments
mkdir -p "$tmp/bare"
cp kernel-patches/series kernel-patches/0*.patch "$tmp/bare/"
kernel_variant "series:$tmp/bare"
t_eq "series:DIR without config/ takes cmakit's fragments" "trim.config cmakit.config series.config" \
	"$(basename -a "${KV_FRAGMENTS[@]}" | paste -sd ' ')"

# git:REF: the kernel-patches/ of a commit
if kernel_variant git:HEAD; then
	t_ok "git:HEAD resolves ($KV_NAME)"
	if git diff --quiet HEAD -- kernel-patches; then
		t_eq "git:HEAD of a clean tree is the cmakit series" "$h_cmakit" "$KV_HASH"
	else
		t_skip "git:HEAD of a clean tree is the cmakit series" "kernel-patches/ has uncommitted changes"
	fi
else
	t_fail "git:HEAD resolves"
fi

# the architecture: one more dimension of every variant
kernel_variant cmakit x86_64
x86=("$KV_NAME" "$KV_LOCALVERSION" "$KV_HASH")
t_eq "ARCH=x86_64 is the default variant (build/kernel/cmakit, bzImage)" \
	"cmakit $h_cmakit build/kernel/cmakit/out/arch/x86/boot/bzImage" "$KV_NAME $KV_HASH ${KV_IMAGE#"$ROOT"/}"
for v in cmakit stock debug; do
	kernel_variant "$v"
	want=$KV_LOCALVERSION
	kernel_variant "$v" arm64
	t_eq "$v on arm64 builds in build/kernel/$v-arm64" "$v-arm64" "$KV_NAME"
	tag=$(echo "$want" | cut -d- -f2)
	[[ $KV_LOCALVERSION =~ ^-$tag-[0-9a-f]{12}(-dbg)?-arm64$ ]] && [ "$KV_LOCALVERSION" != "$want-arm64" ] &&
		t_ok "$v on arm64: its own release ($KV_LOCALVERSION), its hash covering the arm64 fragments" ||
		t_fail "$v on arm64: its own release, its hash covering the arm64 fragments" "x86: $want, arm64: $KV_LOCALVERSION"
done
kernel_variant cmakit arm64
t_eq "arm64: defconfig, the Image target, aarch64-linux-gnu-" "defconfig Image aarch64-linux-gnu- arm64" \
	"$KV_DEFCONFIG $KV_TARGET $KV_CROSS $KV_KARCH"
t_eq "arm64: the image is arch/arm64/boot/Image" build/kernel/cmakit-arm64/out/arch/arm64/boot/Image "${KV_IMAGE#"$ROOT"/}"
t_eq "arm64: the board's fragments follow trim.config" \
	"trim.config arm64-trim.config arm64.config cmakit.config series.config" \
	"$(basename -a "${KV_FRAGMENTS[@]}" | paste -sd ' ')"
kernel_variant stock arm64
t_eq "arm64 stock: the same fragments minus the series' options" \
	"trim.config arm64-trim.config arm64.config cmakit.config" "$(basename -a "${KV_FRAGMENTS[@]}" | paste -sd ' ')"
kernel_variant "series:$tmp/bare" arm64
t_eq "arm64 series:DIR builds in build/kernel/series-<hash>-arm64" "series-$KV_HASH-arm64" "$KV_NAME"
t_eq "ARCH=aarch64 in the environment is arm64" cmakit-arm64 "$(ARCH=aarch64 kernel_variant cmakit && echo "$KV_NAME")"
t_eq "ARCH=x86 in the environment is x86_64" "${x86[0]} ${x86[1]}" \
	"$(ARCH=x86 kernel_variant cmakit && echo "$KV_NAME $KV_LOCALVERSION")"
for f in ci/kernel/arm64-trim.config ci/kernel/arm64.config; do
	[ "$(head -n1 "$f")" = "# SPDX-License-Identifier: GPL-2.0" ] &&
		! grep -vE '^(#.*|CONFIG_[A-Z0-9_]+=.*|)$' "$f" >/dev/null &&
		t_ok "$f: an SPDX header and config lines only" ||
		t_fail "$f: an SPDX header and config lines only" "$(grep -vE '^(#.*|CONFIG_[A-Z0-9_]+=.*|)$' "$f" | head -3)"
done

# 2. bad input: one line, status 2, before anything is built ----------------------
one_line "an unknown architecture: one line naming it, status 2" 2 "unknown architecture 'mips'" \
	env ARCH=mips bash ci/kernel/build.sh
one_line "an unknown variant: one line naming it, status 2" 2 "unknown variant 'nope'" \
	env KERNEL=nope bash ci/kernel/build.sh
mkdir -p "$tmp/empty"
one_line "series:DIR without a series file: one line, status 2" 2 "has no series file" \
	env KERNEL=series:$tmp/empty bash ci/kernel/build.sh
one_line "series:DIR that is not a directory: one line, status 2" 2 "is not a directory" \
	env KERNEL=series:$tmp/nowhere bash ci/kernel/build.sh
printf '0001-missing.patch\n' >"$tmp/empty/series"
one_line "series:DIR naming a missing patch: one line naming it, status 2" 2 "0001-missing.patch" \
	env KERNEL=series:$tmp/empty bash ci/kernel/build.sh
one_line "git:REF that does not exist: one line, status 2" 2 "not a commit" \
	env KERNEL=git:no-such-ref-cmakit bash ci/kernel/build.sh
# make adds its own "make: *** ... Error 2" line; under `make test` it is make[1]
make_vm() {
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s --no-print-directory vm QUIET=1 "$@" 2>&1 |
		grep -Ev '^make(\[[0-9]+\])?: \*\*\*'
	return "${PIPESTATUS[0]}"
}
one_line "make vm with an unknown variant: one line, status 2" 2 "unknown variant 'nope'" \
	make_vm KERNEL=nope CMD=true
one_line "ci/vm/run.sh with an unknown variant: one line, status 127" 127 "unknown variant 'nope'" \
	env KERNEL=nope bash ci/vm/run.sh -- true
one_line "make vm with an unknown architecture: one line, status 2" 2 "unknown architecture 'mips'" \
	make_vm ARCH=mips CMD=true
one_line "ci/vm/run.sh with an unknown architecture: one line, status 127" 127 "unknown architecture 'mips'" \
	bash ci/vm/run.sh --arch mips -- true
one_line "make regress without BASE: one line, status 2" 2 "BASE is not set" \
	env -u BASE CAND=cmakit bash ci/regress.sh
one_line "make regress with an unknown variant: one line, status 2" 2 "unknown variant 'nope'" \
	env BASE=cmakit CAND=nope bash ci/regress.sh
one_line "make regress with RUNS=2: one line, status 2" 2 "RUNS must be" \
	env BASE=cmakit CAND=cmakit RUNS=2 bash ci/regress.sh
one_line "make regress with an unknown scenario: one line, status 2" 2 "unknown scenario 'no-such'" \
	env BASE=cmakit CAND=cmakit SCENARIOS=no-such bash ci/regress.sh

# 3. a patch that does not apply is named, and nothing is built ---------------------
# (This checks out a tree for the candidate: about a minute.)
if [ -d build/kernel/src/.git ]; then
	mkdir -p "$tmp/broken"
	cp kernel-patches/series kernel-patches/0*.patch "$tmp/broken/"
	p3=$(series_patches kernel-patches | sed -n 3p)
	p3=${p3##*/}
	# the first context line of the third patch's first hunk no longer matches
	awk 'h == 1 && /^ / { $0 = " this line is not in the kernel"; h = 2 } /^@@/ && !h { h = 1 } { print }' \
		"kernel-patches/$p3" >"$tmp/broken/$p3"
	kernel_variant "series:$tmp/broken"
	broken_dir=$KV_DIR
	out=$(KERNEL=series:$tmp/broken bash ci/kernel/build.sh 2>&1 </dev/null)
	rc=$?
	last=$(printf '%s\n' "$out" | tail -n1)
	[ $rc = 2 ] && [[ $last == *"$p3 does not apply (patch 3 of"* ]] &&
		t_ok "a candidate patch that does not apply is named, status 2 ($last)" ||
		t_fail "a candidate patch that does not apply is named, status 2" "status $rc" "$out"
	[ ! -e "$broken_dir/out/vmlinux" ] && t_ok "... and nothing was built" || t_fail "... and nothing was built"
	rm -rf "$broken_dir"
	flock build/kernel/.lock git -C build/kernel/src worktree prune
	git -C build/kernel/src branch -D -q "kv-${broken_dir##*/}" 2>/dev/null
else
	t_fail "a candidate patch that does not apply is named" "no kernel repository yet (make kernel)"
fi
t_done
