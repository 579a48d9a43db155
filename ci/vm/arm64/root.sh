#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The arm64 board's root: Debian 12's arm64 packages of
# ci/vm/arm64/packages.txt and their dependencies, extracted (mmdebstrap
# --variant=extract: no maintainer script runs, so no arm64 emulation is
# needed on the host) into build/vm/arm64/root, from the mirrors this
# machine's apt uses. ci/vm/run.sh serves it read-only over 9p as the
# board's root file system and the project at its own path beside it;
# /sbin/cmakit-init mounts the project and hands over to ci/vm/init.sh.
#
# usage: ci/vm/arm64/root.sh [--force]
# It is rebuilt only when its inputs change: this script, the package list,
# the apt sources and the project's path (the root holds its mount point).
# build/vm/arm64/root.id names the inputs the root was made from and
# root.info the build's time, the root's size and every package's version.
# Exit status 0 when the root is ready; 1 (one line, log kept) when the
# build failed, and the old root, if any, is left as it was.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/lib.sh"
HERE=$ROOT/ci/vm/arm64
DIR=$ROOT/build/vm/arm64
force=0
case ${1:-} in
'') ;;
--force) force=1 ;;
*) echo "arm64 root: unknown argument '$1' (--force)" >&2; exit 2 ;;
esac

# apt's own source lists: mmdebstrap takes each file as it is
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && grep -qE '^[[:space:]]*(deb |Types:.*deb)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "arm64 root: no apt sources in /etc/apt (sources.list or sources.list.d)"
mapfile -t pkgs < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$HERE/packages.txt")
id=$( { cat "$0" "$HERE/packages.txt" "${sources[@]}"; echo "$ROOT"; } | sha256sum | cut -c1-16)

mkdir -p "$DIR"
exec 8>"$DIR/.lock"
flock 8
if [ $force = 0 ] && [ -d "$DIR/root" ] && [ "$(cat "$DIR/root.id" 2>/dev/null)" = "$id" ]; then
	exit 0
fi
command -v mmdebstrap >/dev/null || die "arm64 root: mmdebstrap missing (run: make deps)"
info "arm64 root: extracting ${#pkgs[@]} packages and their dependencies (log: ${DIR#"$ROOT"/}/root.log)"
new=$DIR/root.new
rm -rf "$new"
start=$(date +%s)
if ! mmdebstrap --variant=extract --arch=arm64 --mode=root --skip=cleanup/reproducible \
	--skip=cleanup/apt/cache \
	--include="$(IFS=,; echo "${pkgs[*]}")" bookworm "$new" "${sources[@]}" >"$DIR/root.log" 2>&1; then
	tail -n 5 "$DIR/root.log" >&2
	rm -rf "$new"
	die "arm64 root: mmdebstrap failed (log: ${DIR#"$ROOT"/}/root.log)"
fi
# the archives, kept for their names, then dropped
ls "$new/var/cache/apt/archives" | grep '\.deb$' >"$new/.cmakit-debs" || true
rm -rf "$new"/var/cache/apt/archives/*.deb
# What maintainer scripts would have done, as far as the board needs it
cp "$new/usr/share/base-passwd/passwd.master" "$new/etc/passwd"
cp "$new/usr/share/base-passwd/group.master" "$new/etc/group"
[ -e "$new/bin/sh" ] || ln -s bash "$new/bin/sh"
# the alternatives the board's scripts call by their generic names
[ -e "$new/usr/bin/awk" ] || ln -s mawk "$new/usr/bin/awk"
# the library cache (the host's ldconfig reads arm64 objects as well)
ldconfig -r "$new" 2>>"$DIR/root.log" || info "arm64 root: no ld.so.cache (ldconfig -r failed)"
# Documentation the board never reads
rm -rf "$new"/usr/share/doc/* "$new"/usr/share/man "$new"/usr/share/info "$new"/usr/share/locale
# The project is mounted here, at its own path, by the init below.
mkdir -p "$new/$ROOT"
cat >"$new/sbin/cmakit-init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the arm64 board (made by ci/vm/arm64/root.sh): mount the project
# at its path (cmakit_root=, which the kernel passes in the environment) and
# run its init, ci/vm/init.sh.
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro \
	cmakit-project "$cmakit_root" || echo "cmakit-init: cannot mount the project at $cmakit_root" >/dev/kmsg
exec /bin/busybox sh "$cmakit_root/ci/vm/init.sh"
INIT
chmod 755 "$new/sbin/cmakit-init"
secs=$(($(date +%s) - start))
{
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $secs s"
	echo "size: $(du -sm "$new" | cut -f1) MiB, $(find "$new" -type f | wc -l) files"
	echo "packages:"
	# extracted, not installed: the archives' names are name_version_arch.deb
	sed 's/%3a/:/g; s/^\([^_]*\)_\([^_]*\)_.*/  \1 \2/' "$new/.cmakit-debs"
} >"$DIR/root.info.new"
rm -f "$new/.cmakit-debs"
rm -rf "$DIR/root"
mv "$new" "$DIR/root"
mv "$DIR/root.info.new" "$DIR/root.info"
echo "$id" >"$DIR/root.id"
info "arm64 root: ready in $secs s, $(sed -n 's/^size: //p' "$DIR/root.info") (${DIR#"$ROOT"/}/root)"
