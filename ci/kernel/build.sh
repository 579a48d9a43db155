#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the cmakit board kernel: Debian's linux-source-6.1 + kernel-patches/series
# + the config fragments in kernel-patches/config/.
#
# The source tree (build/kernel/src) is a git repository whose first commit is
# the pristine tarball. It is re-created when the tarball changes and reset to
# that commit and re-patched (git am) when the series or a patch changes, so
# git only rewrites the files that differ and the rebuild stays incremental.
# Objects live outside it: build/kernel/out (normal) and build/kernel/out-debug.
#
# Environment: DEBUG=1 builds the debug variant, V=1 shows the build output,
# JOBS overrides the parallelism.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"

TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
KDIR=$ROOT/build/kernel
SRC=$KDIR/src
PATCHDIR=$ROOT/kernel-patches
CFGDIR=$PATCHDIR/config
DEBUG=${DEBUG:-0}
JOBS=${JOBS:-$(nproc)}

[ -r "$TARBALL" ] || die "kernel: $TARBALL not found (run: make deps)"

# Identity of the inputs ------------------------------------------------------
patches=()
if [ -f "$PATCHDIR/series" ]; then
	while read -r p _; do
		case $p in ''|'#'*) continue ;; esac
		[ -f "$PATCHDIR/$p" ] || die "kernel: series names $p, which is not in kernel-patches/"
		patches+=("$PATCHDIR/$p")
	done <"$PATCHDIR/series"
fi
series_hash=$(series_hash)	# from lib.sh: patches + fragments
tarball_id=$(stat -c '%s %Y' "$TARBALL")

if [ "$DEBUG" = 1 ]; then
	OUT=$KDIR/out-debug
	fragments=("$CFGDIR/trim.config" "$CFGDIR/cmakit.config" "$CFGDIR/debug.config")
	localversion=-cmakit-$series_hash-dbg
else
	OUT=$KDIR/out
	fragments=("$CFGDIR/trim.config" "$CFGDIR/cmakit.config")
	localversion=-cmakit-$series_hash
fi
LOG=$OUT.log
mkdir -p "$KDIR"

# One build at a time: the source tree is shared by both variants.
exec 9>"$KDIR/.lock"
if ! flock -n 9; then
	info "kernel: waiting for another build of this tree to finish"
	flock 9
fi

run() {
	if [ "${V:-0}" = 1 ]; then
		"$@"
	else
		"$@" >>"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "kernel: '$*' failed (full log: $LOG)"; }
	fi
}
: >"$LOG"
SECONDS=0

# Source tree -------------------------------------------------------------------
if [ "$(cat "$SRC/.cmakit-tarball" 2>/dev/null)" != "$tarball_id" ]; then
	info "kernel: unpacking $(basename "$TARBALL")"
	rm -rf "$SRC" "$KDIR/out" "$KDIR/out-debug"
	mkdir -p "$SRC"
	tar -xf "$TARBALL" -C "$SRC" --strip-components=1
	run git -C "$SRC" init -q
	# 78k loose objects would start an automatic repack alongside the compile
	git -C "$SRC" config gc.auto 0
	run git -C "$SRC" add -A -f .
	run git -C "$SRC" -c user.name=cmakit -c user.email=cmakit@localhost \
		commit -q -m "linux-source-6.1 (pristine)" --no-verify
	git -C "$SRC" tag -f pristine >/dev/null
	echo "$tarball_id" >"$SRC/.cmakit-tarball"
	rm -f "$SRC/.cmakit-series"
	info "kernel: source tree ready in $SECONDS s"
fi

patch_hash=$(cat "${patches[@]}" /dev/null | sha256sum | cut -c1-12)
if [ "$(cat "$SRC/.cmakit-series" 2>/dev/null)" != "$patch_hash" ]; then
	info "kernel: applying ${#patches[@]} patch(es) from kernel-patches/series"
	git -C "$SRC" am --abort >/dev/null 2>&1 || true
	run git -C "$SRC" checkout -q -f -B cmakit pristine
	run git -C "$SRC" clean -q -f -d -e /.cmakit-tarball
	if [ ${#patches[@]} -gt 0 ]; then
		if ! git -C "$SRC" -c user.name=cmakit -c user.email=cmakit@localhost \
			am -q --whitespace=nowarn "${patches[@]}" >>"$LOG" 2>&1; then
			tail -n 20 "$LOG" >&2
			git -C "$SRC" am --abort >/dev/null 2>&1 || true
			die "kernel: the patch series does not apply (log: $LOG)"
		fi
	fi
	echo "$patch_hash" >"$SRC/.cmakit-series"
fi

# Configuration ---------------------------------------------------------------
config_id=$(cat "${fragments[@]}" "$SRC/kernel/configs/kvm_guest.config" | sha256sum | cut -c1-12)-$localversion
if [ "$(cat "$OUT/.cmakit-config" 2>/dev/null)" != "$config_id" ] || [ ! -f "$OUT/.config" ]; then
	info "kernel: configuring $(basename "$OUT") (x86_64_defconfig + kvm_guest + ${fragments[*]##*/})"
	mkdir -p "$OUT"
	run make -C "$SRC" O="$OUT" x86_64_defconfig
	run "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
		"$SRC/kernel/configs/kvm_guest.config" "${fragments[@]}"
	run make -C "$SRC" O="$OUT" olddefconfig
	sed -i "s/^CONFIG_LOCALVERSION=.*/CONFIG_LOCALVERSION=\"$localversion\"/; s/^CONFIG_LOCALVERSION_AUTO=y/# CONFIG_LOCALVERSION_AUTO is not set/" "$OUT/.config"
	run make -C "$SRC" O="$OUT" olddefconfig

	# Every required option must have survived olddefconfig.
	missing=()
	for f in "${fragments[@]}"; do
		[ "$(basename "$f")" = trim.config ] && continue
		while IFS= read -r line; do
			case $line in
			CONFIG_*=*)
				grep -qxF "$line" "$OUT/.config" || missing+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo unset))") ;;
			'# CONFIG_'*' is not set')
				opt=${line#\# }; opt=${opt%% *}
				! grep -q "^$opt=" "$OUT/.config" || missing+=("$line") ;;
			esac
		done <"$f"
	done
	if [ ${#missing[@]} -gt 0 ]; then
		printf 'kernel: required option lost in olddefconfig: %s\n' "${missing[@]}" >&2
		rm -f "$OUT/.cmakit-config"
		exit 1
	fi
	overridden=0
	while IFS= read -r line; do
		case $line in '# CONFIG_'*' is not set')
			opt=${line#\# }; opt=${opt%% *}
			grep -q "^$opt=" "$OUT/.config" && overridden=$((overridden + 1)) ;;
		esac
	done <"$CFGDIR/trim.config"
	[ $overridden -eq 0 ] || info "kernel: note: $overridden trim.config option(s) were re-enabled by dependencies"
	echo "$config_id" >"$OUT/.cmakit-config"
fi

# Build -------------------------------------------------------------------------
export KBUILD_BUILD_USER=cmakit KBUILD_BUILD_HOST=cmakit
export KBUILD_BUILD_TIMESTAMP="$(git -C "$SRC" log -1 --format=%cd pristine)"
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
# Depend mode takes the include list from the compiler's own -MMD output
# instead of running the preprocessor a second time, and storing objects
# uncompressed skips zstd over ~1.8 GiB of debug info. Measured on kernel/
# (240 objects, 2 jobs, empty cache): plain gcc 85 s, ccache defaults 124 s,
# depend mode without compression 86 s; a warm rebuild 6 s either way.
export CCACHE_DEPEND=1 CCACHE_NOCOMPRESS=1
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
info "kernel: building $(basename "$OUT") with $JOBS job(s) (log: ${LOG#"$ROOT"/})"
start=$(date +%s)
run make -C "$SRC" O="$OUT" -j"$JOBS" CC="$cc" LOCALVERSION= bzImage
release=$(cat "$OUT/include/config/kernel.release")
info "kernel: $release ready in $SECONDS s (compile and link $(($(date +%s) - start)) s): ${OUT#"$ROOT"/}/arch/x86/boot/bzImage"

# Selftests from the patched tree ------------------------------------------------
# The series' tools/testing/selftests/cma and the kernel's own dmabuf-heaps
# test, built against this tree's UAPI headers into build/kernel/selftests/,
# where the board tests (ci/tests/board/kernel-*.sh) run them.
SELFTESTS=$KDIR/selftests
run make -C "$SRC" O="$OUT" headers_install
for t in cma dmabuf-heaps; do
	[ -d "$SRC/tools/testing/selftests/$t" ] || continue
	mkdir -p "$SELFTESTS/$t"
	run make -C "$SRC/tools/testing/selftests/$t" OUTPUT="$SELFTESTS/$t" \
		KHDR_INCLUDES="-isystem $OUT/usr/include" CC=gcc
done
info "kernel: selftests in ${SELFTESTS#"$ROOT"/}"
