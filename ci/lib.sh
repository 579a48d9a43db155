# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers of the ci/ scripts. Source it; do not run it.

die() {
	echo "$*" >&2
	exit 1
}

info() {
	[ "${QUIET:-0}" = 1 ] || echo "$*" >&2
}

# series_files DIR: the series file of DIR and every patch it names, one path
# per line, in order; fails with one line naming a patch that is missing.
series_files() {
	local dir=$1 p
	[ -f "$dir/series" ] || { echo "kernel: $dir has no series file" >&2; return 2; }
	echo "$dir/series"
	while read -r p _; do
		case $p in '' | '#'*) continue ;; esac
		[ -f "$dir/$p" ] || { echo "kernel: $dir/series names $p, which is not in $dir" >&2; return 2; }
		echo "$dir/$p"
	done <"$dir/series"
}

# series_patches DIR: the patches of DIR's series, in order (no series file).
series_patches() {
	series_files "$1" | tail -n +2
}

# The identity of the cmakit kernel's inputs: the patch series, every patch
# it names and the config fragments. It is part of the kernel release string
# (6.1.y-cmakit-<hash>) so that every result names the exact kernel.
series_hash() {
	local root=${ROOT:?}
	kernel_variant cmakit && echo "$KV_HASH"
}

# kernel_variant SPEC: resolve a kernel variant (KERNEL=SPEC) into
#   KV_SPEC       the spec as given
#   KV_NAME       the build directory's name under build/kernel/
#   KV_DIR        build/kernel/$KV_NAME (absolute): src/, out/, selftests/
#   KV_PATCHDIR   the directory with the series (empty: no patches)
#   KV_FRAGMENTS  config fragments merged in order (array)
#   KV_HASH       12 hex digits over the patches and fragments
#   KV_LOCALVERSION  the release suffix: -cmakit-<hash>, -stock-<hash>, ...
#   KV_IMAGE      the kernel image the board boots (bzImage, arm64: Image)
#   KV_ARCH       the architecture (kernel_arch): x86_64 or arm64
#   KV_KARCH KV_CROSS  the kernel's ARCH= and CROSS_COMPILE= (empty for x86_64)
#   KV_DEFCONFIG  the configuration the fragments are merged into
#   KV_TARGET     the make target of the image (bzImage, Image)
# Variants: cmakit (the series, the default), stock (no series, the same
# configuration without the series' own options), debug (the series plus
# config/debug.config), series:DIR (DIR/series, DIR/config/*.config or the
# cmakit fragments), git:REF (kernel-patches/ of a commit of this
# repository). The architecture (second argument, default kernel_arch,
# i.e. ARCH=) is one more dimension: arm64 builds in build/kernel/<name>-arm64
# from arm64's defconfig with ci/kernel/arm64-trim.config and arm64.config
# after trim.config, and its release ends in -arm64. Bad input: one line on
# stderr, status 2.
kernel_variant() {
	local spec=${1:-cmakit} root=${ROOT:?} cfg=$ROOT/kernel-patches/config dir sha tag f frag=()
	KV_ARCH=$(kernel_arch "${2:-${ARCH:-}}") || return 2
	KV_SPEC=$spec
	KV_PATCHDIR=
	case $spec in
	cmakit | debug)
		KV_PATCHDIR=$root/kernel-patches
		frag=("$cfg/trim.config" "$cfg/cmakit.config" "$cfg/series.config")
		[ "$spec" = cmakit ] || frag+=("$cfg/debug.config")
		tag=cmakit ;;
	stock)
		frag=("$cfg/trim.config" "$cfg/cmakit.config")
		tag=stock ;;
	series:*)
		dir=${spec#series:}
		[ -n "$dir" ] || { echo "kernel: series: needs a directory (KERNEL=series:DIR)" >&2; return 2; }
		[ -d "$dir" ] || { echo "kernel: $dir is not a directory (KERNEL=$spec)" >&2; return 2; }
		KV_PATCHDIR=$(cd "$dir" && pwd)
		tag=series ;;
	git:*)
		local ref=${spec#git:}
		[ -n "$ref" ] || { echo "kernel: git: needs a ref (KERNEL=git:REF)" >&2; return 2; }
		sha=$(git -C "$root" rev-parse -q --verify "$ref^{commit}" 2>/dev/null) ||
			{ echo "kernel: $ref is not a commit of this repository (KERNEL=$spec)" >&2; return 2; }
		dir=$root/build/kernel/refs/${sha:0:12}
		if [ ! -f "$dir/kernel-patches/series" ]; then
			rm -rf "$dir"
			mkdir -p "$dir"
			git -C "$root" archive "$sha" kernel-patches | tar -x -C "$dir" ||
				{ echo "kernel: cannot read kernel-patches/ of $ref" >&2; return 2; }
			[ -f "$dir/kernel-patches/series" ] ||
				{ echo "kernel: $ref has no kernel-patches/series" >&2; return 2; }
		fi
		KV_PATCHDIR=$dir/kernel-patches
		tag=cmakit ;;
	*)
		echo "kernel: unknown variant '$spec' (cmakit, stock, debug, series:DIR, git:REF)" >&2
		return 2 ;;
	esac
	if [ ${#frag[@]} -eq 0 ]; then
		# series:DIR and git:REF: the directory's own fragments, else cmakit's
		for f in trim cmakit series; do
			[ -f "$KV_PATCHDIR/config/$f.config" ] && frag+=("$KV_PATCHDIR/config/$f.config")
		done
		if [ ${#frag[@]} -eq 0 ]; then
			for f in "$KV_PATCHDIR"/config/*.config; do
				[ -f "$f" ] && [ "${f##*/}" != debug.config ] && frag+=("$f")
			done
		fi
		[ ${#frag[@]} -gt 0 ] || frag=("$cfg/trim.config" "$cfg/cmakit.config" "$cfg/series.config")
	fi
	if [ "$KV_ARCH" = arm64 ]; then
		# the board's own fragments after the cmakit trim (or first)
		local with=() added=0 arm=("$root/ci/kernel/arm64-trim.config" "$root/ci/kernel/arm64.config")
		for f in "${frag[@]}"; do
			with+=("$f")
			[ "${f##*/}" != trim.config ] || [ $added = 1 ] || { with+=("${arm[@]}"); added=1; }
		done
		[ $added = 1 ] || with=("${arm[@]}" "${frag[@]}")
		frag=("${with[@]}")
	fi
	KV_FRAGMENTS=("${frag[@]}")
	local inputs
	inputs=$(
		if [ -n "$KV_PATCHDIR" ]; then series_files "$KV_PATCHDIR" || exit 2; fi
		printf '%s\n' "${frag[@]}"
	) || return 2
	# The content, not the names: a copy of the series elsewhere is the same kernel.
	KV_HASH=$(while read -r f; do cat "$f"; done <<<"$inputs" | sha256sum | cut -c1-12)
	KV_LOCALVERSION=-$tag-$KV_HASH
	case $spec in
	cmakit | stock) KV_NAME=$spec ;;
	debug) KV_NAME=debug KV_LOCALVERSION+=-dbg ;;
	series:*) KV_NAME=series-$KV_HASH ;;
	git:*) KV_NAME=git-${sha:0:12} ;;
	esac
	case $KV_ARCH in
	x86_64)
		KV_KARCH= KV_CROSS= KV_DEFCONFIG=x86_64_defconfig KV_TARGET=bzImage
		KV_DIR=$root/build/kernel/$KV_NAME
		KV_IMAGE=$KV_DIR/out/arch/x86/boot/bzImage ;;
	arm64)
		KV_KARCH=arm64 KV_CROSS=aarch64-linux-gnu- KV_DEFCONFIG=defconfig KV_TARGET=Image
		KV_NAME+=-arm64 KV_LOCALVERSION+=-arm64
		KV_DIR=$root/build/kernel/$KV_NAME
		KV_IMAGE=$KV_DIR/out/arch/arm64/boot/Image ;;
	esac
}

# kernel_arch [ARCH]: the board architecture named by ARCH (default: $ARCH,
# else x86_64): x86_64 (also x86, amd64) or arm64 (also aarch64). Anything
# else: one line on stderr, status 2.
kernel_arch() {
	local a=${1-${ARCH:-}}
	case $a in
	'' | x86_64 | x86 | amd64) echo x86_64 ;;
	arm64 | aarch64) echo arm64 ;;
	*)
		echo "kernel: unknown architecture '$a' (ARCH=x86_64 or arm64)" >&2
		return 2 ;;
	esac
}

# The variant of this invocation: KERNEL=..., with DEBUG=1 an alias of
# KERNEL=debug.
kernel_spec() {
	if [ "${DEBUG:-0}" = 1 ] && [ -z "${KERNEL:-}" -o "${KERNEL:-}" = cmakit ]; then
		echo debug
	else
		echo "${KERNEL:-cmakit}"
	fi
}

# progress_run LABEL LOG COUNTER CMD...: run CMD with its output in LOG and
# show that it is alive: on a terminal a line rewritten every 15 s, otherwise
# a line a minute, with the elapsed time and what COUNTER (a shell function,
# or "-") prints (for example "1234/2900 objects"). Returns CMD's status.
progress_run() {
	local label=$1 log=$2 counter=$3 pid rc t0 now last=0 period=60 tty=0 what
	shift 3
	"$@" >>"$log" 2>&1 &
	pid=$!
	[ -t 2 ] && tty=1 period=15
	[ "${QUIET:-0}" = 1 ] && period=0
	t0=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$(date +%s)
		if [ "$period" -gt 0 ] && [ $((now - last)) -ge "$period" ] && [ $((now - t0)) -ge "$period" ]; then
			last=$now
			what=
			[ "$counter" = - ] || what=$("$counter" 2>/dev/null)
			if [ $tty = 1 ]; then
				printf '\r%s: %dm%02ds%s  ' "$label" $(((now - t0) / 60)) $(((now - t0) % 60)) "${what:+, $what}" >&2
			else
				printf '%s: %dm%02ds%s\n' "$label" $(((now - t0) / 60)) $(((now - t0) % 60)) "${what:+, $what}" >&2
			fi
		fi
	done
	wait "$pid"
	rc=$?
	[ $tty = 0 ] || [ $last = 0 ] || printf '\n' >&2
	return $rc
}
