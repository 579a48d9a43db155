#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages listed in ci/packages.txt and ci/packages.d/. Fast when everything
# is present; exits 2 with one line when something is missing and we are not
# root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# ci/packages.txt plus one list per component in ci/packages.d/*.txt
lists=("${CMAKIT_PACKAGES:-$ROOT/ci/packages.txt}")
[ -n "${CMAKIT_PACKAGES:-}" ] || lists+=("$ROOT"/ci/packages.d/*.txt)
mapfile -t pkgs < <(cat "${lists[@]}" 2>/dev/null | sed 's/#.*//; s/[[:space:]]//g; /^$/d' | sort -u)
# One dpkg-query for all of them; packages dpkg has never heard of print nothing.
declare -A have=()
while read -r name status; do
	[ "$status" = installed ] && have[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	[ -n "${have[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	[ "${QUIET:-0}" = 1 ] || echo "deps: all ${#pkgs[@]} packages present" >&2
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run 'make deps' as root)" >&2
	exit 2
fi
echo "deps: installing ${#missing[@]} package(s): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "deps: apt-get failed" >&2
	exit 1
fi
echo "deps: done" >&2
