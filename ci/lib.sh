# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers of the ci/ scripts. Source it; do not run it.

die() {
	echo "$*" >&2
	exit 1
}

info() {
	[ "${QUIET:-0}" = 1 ] || echo "$*" >&2
}

# The identity of the kernel inputs: the patch series, every patch it names
# and the config fragments. It is part of the kernel release string
# (6.1.y-cmakit-<hash>) so that every result names the exact kernel.
series_hash() {
	local root=${ROOT:?} p files=()
	if [ -f "$root/kernel-patches/series" ]; then
		files+=("$root/kernel-patches/series")
		while read -r p _; do
			case $p in '' | '#'*) continue ;; esac
			files+=("$root/kernel-patches/$p")
		done <"$root/kernel-patches/series"
	fi
	files+=("$root/kernel-patches/config/cmakit.config" "$root/kernel-patches/config/trim.config")
	cat "${files[@]}" 2>/dev/null | sha256sum | cut -c1-12
}
