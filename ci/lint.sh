#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make lint`: clang-format check and cppcheck on the user-space C, bash -n on
# the scripts, checkpatch.pl --strict on every patch of the kernel series.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
cd "$ROOT"
rc=0

mapfile -t csrc < <(git ls-files '*.c' '*.h' | grep -v '^kernel-patches/')
if [ ${#csrc[@]} -gt 0 ]; then
	clang-format --dry-run -Werror "${csrc[@]}" || { echo "lint: clang-format differs (make format)" >&2; rc=1; }
	cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem \
		-I tools/lib "${csrc[@]}" || { echo "lint: cppcheck found problems" >&2; rc=1; }
fi

for f in $(git ls-files '*.sh' .ci/run); do
	bash -n "$f" || { echo "lint: $f does not parse" >&2; rc=1; }
done

mapfile -t patches < <(sed 's/#.*//; /^[[:space:]]*$/d' kernel-patches/series | awk '{print "kernel-patches/" $1}')
if [ ${#patches[@]} -gt 0 ]; then
	cp=$ROOT/build/kernel/src/scripts/checkpatch.pl
	if [ ! -x "$cp" ]; then
		# No tree yet: take checkpatch and its data files from the tarball.
		mkdir -p build/checkpatch
		tar -xf /usr/src/linux-source-6.1.tar.xz -C build/checkpatch --strip-components=1 \
			linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch linux-source-6.1/Documentation/dev-tools/checkpatch.rst
		cp=$ROOT/build/checkpatch/scripts/checkpatch.pl
		tree=--no-tree
	fi
	if ! "$cp" --strict --quiet ${tree:-} --root="$(dirname "$(dirname "$cp")")" "${patches[@]}"; then
		echo "lint: checkpatch --strict reports problems" >&2
		rc=1
	fi
fi
[ $rc -ne 0 ] || info "lint: clean (${#csrc[@]} C files, ${#patches[@]} patches)"
exit $rc
