#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit tests of the ci/ scripts (no virtual board needed).
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# every shell script parses
bad=
for f in $(git -C "$ROOT" ls-files '*.sh' 2>/dev/null; ls "$ROOT"/ci/*.sh "$ROOT"/ci/*/*.sh "$ROOT"/ci/tests/*/*.sh 2>/dev/null); do
	bash -n "$ROOT/${f#"$ROOT"/}" 2>/dev/null || bad="$bad $f"
done
t_eq "every shell script parses" "" "$bad"

# make deps: fast and quiet when all is present
start=$(date +%s%N)
QUIET=1 bash "$ROOT/ci/deps.sh"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
t_eq "deps: exits 0 when every package is present" 0 $rc
[ $ms -lt 5000 ] && t_ok "deps: the all-present check is fast (${ms} ms)" || t_fail "deps: the all-present check is fast" "${ms} ms"

# make deps: one line and exit 2 for a non-root user with something missing
printf 'coreutils\ncmakit-no-such-package  # comment\n' >"$tmp/pkgs"
chmod 755 "$tmp"
out=$(CMAKIT_PACKAGES="$tmp/pkgs" setpriv --reuid=65534 --regid=65534 --clear-groups \
	bash "$ROOT/ci/deps.sh" 2>&1)
rc=$?
t_eq "deps: non-root with a missing package exits 2" 2 $rc
t_eq "deps: ... with one line naming it" \
	"deps: missing packages: cmakit-no-such-package (run 'make deps' as root)" "$out"

# the kernel identity follows the patch series
mkdir -p "$tmp/k/kernel-patches/config"
cp "$ROOT"/kernel-patches/config/*.config "$tmp/k/kernel-patches/config/"
printf '0001-a.patch\n' >"$tmp/k/kernel-patches/series"
echo one >"$tmp/k/kernel-patches/0001-a.patch"
h1=$(ROOT=$tmp/k bash -c '. "$0"; series_hash' "$ROOT/ci/lib.sh")
echo two >"$tmp/k/kernel-patches/0001-a.patch"
h2=$(ROOT=$tmp/k bash -c '. "$0"; series_hash' "$ROOT/ci/lib.sh")
echo '# CONFIG_X is not set' >>"$tmp/k/kernel-patches/config/cmakit.config"
h3=$(ROOT=$tmp/k bash -c '. "$0"; series_hash' "$ROOT/ci/lib.sh")
case $h1 in [0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) t_ok "series hash is hex ($h1)" ;; *) t_fail "series hash is hex" "$h1" ;; esac
[ "$h1" != "$h2" ] && t_ok "editing a patch changes the kernel identity" || t_fail "editing a patch changes the kernel identity" "$h1 = $h2"
[ "$h2" != "$h3" ] && t_ok "editing the config fragment changes the kernel identity" || t_fail "editing the config fragment changes the kernel identity" "$h2 = $h3"

# the runner refuses to start without a kernel, in one line
out=$(VM_KERNEL=$tmp/none bash "$ROOT/ci/vm/run.sh" -- true 2>&1)
rc=$?
t_eq "vm: a missing kernel gives status 127" 127 $rc
t_eq "vm: ... and one line" 1 "$(echo "$out" | wc -l)"

# the patch series applies to the pristine tarball with quilt (make kernel
# applies it with git am)
if [ -s "$ROOT/kernel-patches/series" ] && grep -qv '^#' "$ROOT/kernel-patches/series"; then
	mkdir -p "$tmp/q"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C "$tmp/q" --strip-components=1
	out=$(cd "$tmp/q" && QUILT_PATCHES="$ROOT/kernel-patches" quilt push -a -q 2>&1)
	rc=$?
	t_eq "the patch series applies with quilt" 0 $rc
	[ $rc -eq 0 ] || t_diag "$(echo "$out" | tail -n 5)"
fi

t_done
