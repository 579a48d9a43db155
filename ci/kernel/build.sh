#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a board kernel: Debian's linux-source-6.1, a kernel variant's patch
# series and its config fragments (see kernel_variant in ci/lib.sh):
#
#   KERNEL=cmakit      kernel-patches/series (the default)
#   KERNEL=stock       no patches, the same configuration minus the series' options
#   KERNEL=debug       the series plus config/debug.config (DEBUG=1 is an alias)
#   KERNEL=series:DIR  DIR/series and its patches (DIR/config/*.config, else cmakit's)
#   KERNEL=git:REF     kernel-patches/ of a commit of this repository
#
# ARCH=arm64 cross-builds the same variant for arm64 (Debian's
# gcc-aarch64-linux-gnu) in build/kernel/<variant>-arm64: arm64's defconfig,
# kvm_guest.config, the variant's fragments with ci/kernel/arm64-trim.config
# (what QEMU's virt machine does not need) and ci/kernel/arm64.config (what
# it does) after trim.config; the image is arch/arm64/boot/Image and the
# release ends in -arm64. The default, ARCH=x86_64, is x86_64_defconfig and
# bzImage.
#
# build/kernel/src is a git repository whose first commit (tag pristine) is
# the tarball. Each variant has a worktree of it, build/kernel/<variant>/src,
# reset and re-patched (git am) when its series changes, so git only rewrites
# the files that differ and the rebuild stays incremental; its objects are in
# build/kernel/<variant>/out and its selftests in .../selftests. Every
# variant's tree sits at the same place relative to its objects and ccache
# rewrites paths below the project (CCACHE_BASEDIR), so variants, and fresh
# clones of the project, share compiled objects wherever their sources and
# configuration agree.
#
# Environment: KERNEL (or DEBUG=1), ARCH, V=1 shows the build output, JOBS
# overrides the parallelism. Bad input (unknown variant, a series that does
# not apply): one line and status 2.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"

TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
KDIR=$ROOT/build/kernel
REPO=$KDIR/src
JOBS=${JOBS:-$(nproc)}

spec=$(kernel_spec)
mkdir -p "$KDIR"
kernel_variant "$spec" || exit 2
[ -r "$TARBALL" ] || die "kernel: $TARBALL not found (run: make deps)"
unset KERNEL DEBUG ARCH	# not for the kernel's own make (ARCH= goes on its command line)
# ARCH= and CROSS_COMPILE= for every make of the tree (none for x86_64)
karch=()
[ -z "$KV_KARCH" ] || karch=(ARCH="$KV_KARCH" CROSS_COMPILE="$KV_CROSS")
if [ -n "$KV_CROSS" ] && ! command -v "${KV_CROSS}gcc" >/dev/null; then
	die "kernel: ${KV_CROSS}gcc not found (run: make deps)"
fi

patches=()
[ -z "$KV_PATCHDIR" ] || mapfile -t patches < <(series_patches "$KV_PATCHDIR")
fragments=("${KV_FRAGMENTS[@]}")
localversion=$KV_LOCALVERSION
SRC=$KV_DIR/src
OUT=$KV_DIR/out
LOG=$KV_DIR/build.log
tarball_id=$(stat -c '%s %Y' "$TARBALL")

# One build of a variant at a time, and one user of the shared repository
# at a time: the variant's lock for the whole build, the repository's
# (build/kernel/.lock) from the unpacking until its tree is patched. Two
# variants compile side by side (make test builds the other kernels in the
# background while the cmakit board runs).
mkdir -p "$KV_DIR"
exec 8>"$KV_DIR/.lock"
if ! flock -n 8; then
	info "kernel: waiting for another build of $KV_NAME to finish"
	flock 8
fi
exec 9>"$KDIR/.lock"
if ! flock -n 9; then
	info "kernel: waiting for another kernel build to leave the source repository"
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
gitc() { git -c user.name=cmakit -c user.email=cmakit@localhost "$@"; }

# The pristine repository -------------------------------------------------------
if [ "$(cat "$REPO/.cmakit-tarball" 2>/dev/null)" != "$tarball_id" ]; then
	info "kernel: unpacking $(basename "$TARBALL")"
	# every variant's worktree belongs to the old repository
	for d in "$KDIR"/*/; do
		[ -e "$d/src/.git" ] && rm -rf "$d"
	done
	rm -rf "$REPO"
	mkdir -p "$REPO"
	tar -xf "$TARBALL" -C "$REPO" --strip-components=1
	run git -C "$REPO" init -q
	# 78k loose objects would start an automatic repack alongside the compile
	git -C "$REPO" config gc.auto 0
	run git -C "$REPO" add -A -f .
	run gitc -C "$REPO" commit -q -m "linux-source-6.1 (pristine)" --no-verify
	git -C "$REPO" tag -f pristine >/dev/null
	echo "$tarball_id" >"$REPO/.cmakit-tarball"
	info "kernel: source repository ready in $SECONDS s"
fi

# The variant's tree ------------------------------------------------------------
if [ ! -e "$SRC/.git" ]; then
	info "kernel: checking out the $KV_NAME tree"
	rm -rf "$SRC"
	git -C "$REPO" worktree prune
	run git -C "$REPO" worktree add -q -f -B "kv-$KV_NAME" "$SRC" pristine
fi
patch_hash=$(cat "${patches[@]}" /dev/null | sha256sum | cut -c1-12)
if [ "$(cat "$SRC/.cmakit-series" 2>/dev/null)" != "$patch_hash" ]; then
	info "kernel: applying ${#patches[@]} patch(es) from ${KV_PATCHDIR#"$ROOT"/}${KV_PATCHDIR:+/series}"
	git -C "$SRC" am --abort >/dev/null 2>&1 || true
	run git -C "$SRC" checkout -q -f -B "kv-$KV_NAME" pristine
	run git -C "$SRC" clean -q -f -d -e /.cmakit-series
	rm -f "$SRC/.cmakit-series"
	if [ ${#patches[@]} -gt 0 ] &&
		! gitc -C "$SRC" am -q --whitespace=nowarn "${patches[@]}" >>"$LOG" 2>&1; then
		n=$(git -C "$SRC" rev-list --count pristine..HEAD)
		git -C "$SRC" am --abort >/dev/null 2>&1 || true
		echo "kernel: ${patches[$n]#"$ROOT"/} does not apply (patch $((n + 1)) of ${#patches[@]}; log: ${LOG#"$ROOT"/})" >&2
		exit 2
	fi
	echo "$patch_hash" >"$SRC/.cmakit-series"
fi
exec 9>&- # the repository is free for the next variant

# Configuration ---------------------------------------------------------------
# The release suffix goes on make's command line, not into the configuration:
# every object includes autoconf.h, so a CONFIG_LOCALVERSION that follows the
# series' hash would make ccache miss on every object after any patch edit,
# and for every candidate series with the same configuration.
config_id=$(cat "${fragments[@]}" "$SRC/kernel/configs/kvm_guest.config" | sha256sum | cut -c1-12)
[ -z "$KV_KARCH" ] || config_id=$(echo "$config_id $KV_KARCH $KV_DEFCONFIG" | sha256sum | cut -c1-12)
if [ "$(cat "$OUT/.cmakit-config" 2>/dev/null)" != "$config_id" ] || [ ! -f "$OUT/.config" ]; then
	info "kernel: configuring $KV_NAME ($KV_DEFCONFIG + kvm_guest + ${fragments[*]##*/})"
	mkdir -p "$OUT"
	run make -C "$SRC" O="$OUT" "${karch[@]}" "$KV_DEFCONFIG"
	# merge_config.sh runs make itself and takes ARCH and CROSS_COMPILE from the environment
	run env "${karch[@]}" "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
		"$SRC/kernel/configs/kvm_guest.config" "${fragments[@]}"
	run make -C "$SRC" O="$OUT" "${karch[@]}" olddefconfig
	sed -i 's/^CONFIG_LOCALVERSION=.*/CONFIG_LOCALVERSION=""/; s/^CONFIG_LOCALVERSION_AUTO=y/# CONFIG_LOCALVERSION_AUTO is not set/' "$OUT/.config"
	run make -C "$SRC" O="$OUT" "${karch[@]}" olddefconfig

	# Every required option must have survived olddefconfig.
	missing=()
	for f in "${fragments[@]}"; do
		case ${f##*/} in *trim.config) continue ;; esac
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
	for f in "${fragments[@]}"; do
		case ${f##*/} in *trim.config) ;; *) continue ;; esac
		while IFS= read -r line; do
			case $line in '# CONFIG_'*' is not set')
				opt=${line#\# }; opt=${opt%% *}
				grep -q "^$opt=" "$OUT/.config" && overridden=$((overridden + 1)) ;;
			esac
		done <"$f"
	done
	[ $overridden -eq 0 ] || info "kernel: note: $overridden trim option(s) were re-enabled by dependencies"
	echo "$config_id" >"$OUT/.cmakit-config"
fi

# Build -------------------------------------------------------------------------
export KBUILD_BUILD_USER=cmakit KBUILD_BUILD_HOST=cmakit
export KBUILD_BUILD_TIMESTAMP="$(git -C "$REPO" log -1 --format=%cd pristine)"
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
# Direct mode with the preprocessor behind it, not depend mode: depend mode
# keys every object on the contents of each header it includes, and every
# object includes autoconf.h, so two variants whose configurations differ in
# one option (stock lacks the series' CONFIG_CMA_BENCH and CONFIG_FAIL_CMA)
# shared only the host programs (96 of the first 458 objects). On a manifest
# miss ccache hashes the preprocessed source instead, which is the same in
# every file that does not test those options. Its price is the second
# preprocessor run on a cold build (kernel/, 240 objects, 2 jobs, empty cache:
# plain gcc 85 s, ccache defaults 124 s, depend mode uncompressed 86 s).
# Objects are stored uncompressed: that skips zstd over ~1.8 GiB of debug info.
export CCACHE_NOCOMPRESS=1
unset CCACHE_DEPEND
# Paths below the project are hashed relative to the build directory, and
# the compile directory is left out of the hash, so another variant or a
# fresh clone at another path finds the objects compiled here.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
# A variant's objects with their debug info take about 1.5 GiB in the cache:
# room for several variants, unless the user chose a size.
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
cc=${KV_CROSS}gcc
command -v ccache >/dev/null && cc="ccache $cc"

# objects built so far, out of the last complete build's count
objects_file=$KDIR/.objects
[ "$KV_ARCH" = x86_64 ] || objects_file=$KDIR/.objects-$KV_ARCH
objects() {
	local n total
	n=$(find "$OUT" -name '*.o' -newer "$KV_DIR/.build-start" 2>/dev/null | wc -l)
	total=$(cat "$objects_file" 2>/dev/null || true)
	echo "$n${total:+/$total} objects compiled"
}
# this build's own cache counters (the cache's are shared with other builds)
export CCACHE_STATSLOG=$KV_DIR/ccache-stats.log
rm -f "$CCACHE_STATSLOG"
info "kernel: building $KV_NAME with $JOBS job(s) (log: ${LOG#"$ROOT"/})"
touch "$KV_DIR/.build-start"
start=$(date +%s)
if [ "${V:-0}" = 1 ]; then
	make -C "$SRC" O="$OUT" -j"$JOBS" "${karch[@]}" CC="$cc" LOCALVERSION="$localversion" "$KV_TARGET"
else
	progress_run "kernel: $KV_NAME" "$LOG" objects \
		make -C "$SRC" O="$OUT" -j"$JOBS" "${karch[@]}" CC="$cc" LOCALVERSION="$localversion" "$KV_TARGET" ||
		{ tail -n 40 "$LOG" >&2; die "kernel: the build of $KV_NAME failed (full log: $LOG)"; }
fi
n=$(find "$OUT" -name '*.o' | wc -l)
[ "$n" -lt 1000 ] || echo "$n" >"$objects_file"
release=$(cat "$OUT/include/config/kernel.release")
echo "$release" >"$KV_DIR/release"
cache=
if [ -s "$CCACHE_STATSLOG" ]; then
	cache=$(awk '$0 == "cache_miss" {m++} $0 == "direct_cache_hit" || $0 == "preprocessed_cache_hit" {h++}
		END{if (h + m) printf ", ccache %d of %d hit", h, h + m}' "$CCACHE_STATSLOG")
fi
info "kernel: $release ready in $SECONDS s (compile and link $(($(date +%s) - start)) s$cache): ${KV_IMAGE#"$ROOT"/}"

# Selftests from the variant's tree ----------------------------------------------
# The series' tools/testing/selftests/cma and the kernel's own dmabuf-heaps
# test, built against this tree's UAPI headers into build/kernel/<variant>/
# selftests/, where the board tests (ci/tests/board/kernel-*.sh) run them.
SELFTESTS=$KV_DIR/selftests
run make -C "$SRC" O="$OUT" "${karch[@]}" LOCALVERSION="$localversion" headers_install
for t in cma dmabuf-heaps; do
	[ -d "$SRC/tools/testing/selftests/$t" ] || { rm -rf "${SELFTESTS:?}/$t"; continue; }
	mkdir -p "$SELFTESTS/$t"
	run make -C "$SRC/tools/testing/selftests/$t" OUTPUT="$SELFTESTS/$t" \
		KHDR_INCLUDES="-isystem $OUT/usr/include" "${karch[@]}" CC="${KV_CROSS}gcc"
done
info "kernel: selftests in ${SELFTESTS#"$ROOT"/}"
