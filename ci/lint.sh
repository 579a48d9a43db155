#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make lint`: clang-format check and cppcheck on the user-space C, bash -n on
# the scripts, tools/include's UAPI header against the series' copy,
# checkpatch.pl --strict on every patch of the kernel series.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
cd "$ROOT"
rc=0

# tools/include/ holds verbatim copies of kernel UAPI headers: kernel style,
# kept identical to the series, not reformatted.
mapfile -t csrc < <(git ls-files '*.c' '*.h' | grep -vE '^(kernel-patches|tools/include)/')
if [ ${#csrc[@]} -gt 0 ]; then
	clang-format --dry-run -Werror "${csrc[@]}" || { echo "lint: clang-format differs (make format)" >&2; rc=1; }
	cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem \
		-I tools/lib "${csrc[@]}" || { echo "lint: cppcheck found problems" >&2; rc=1; }
fi

for f in $(git ls-files '*.sh' .ci/run); do
	bash -n "$f" || { echo "lint: $f does not parse" >&2; rc=1; }
done

mapfile -t patches < <(series_patches "$ROOT/kernel-patches")

# tools/include's UAPI header is the series' own, byte for byte: the header
# as the series' patches leave it, against the copy the tools build with.
uapi=include/uapi/linux/cma_bench.h
copy=tools/include/uapi/linux/cma_bench.h
ut=$(mktemp -d)
from=
for p in "${patches[@]}"; do
	grep -q "^diff --git a/$uapi b/$uapi\$" "$p" || continue
	from="$from${from:+, }$(basename "$p")"
	git -C "$ut" apply --include="$uapi" "$p" 2>/dev/null ||
		{ from="$from (does not apply)"; break; }
done
if [ -z "$from" ]; then
	echo "lint: $copy: no patch of the series adds $uapi" >&2
	rc=1
elif [ ! -f "$ut/$uapi" ] || [ ! -f "$copy" ]; then
	echo "lint: $copy: cannot compare with $uapi of $from" >&2
	rc=1
elif ! where=$(cmp "$ut/$uapi" "$copy" 2>&1); then
	case $where in
	*"EOF on $copy"*) what="the copy ends after line $(wc -l <"$copy"), the series' header goes on" ;;
	*EOF*) what="the series' header ends after line $(wc -l <"$ut/$uapi"), the copy goes on" ;;
	*)
		line=$(echo "$where" | sed -n 's/.*, line \([0-9]*\)$/\1/p')
		what="line $line: series '$(sed -n "${line}p" "$ut/$uapi")', copy '$(sed -n "${line}p" "$copy")'"
		;;
	esac
	echo "lint: $copy differs from $uapi of $from: $what" >&2
	rc=1
fi
rm -rf "$ut"
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
	# checkpatch must run in the kernel tree: from inside this project's git
	# work tree it takes the patches for source files.
	# ERRORs and WARNINGs fail (but for Fixes: ids, which are mainline's and
	# not in the Debian tarball's tree); the remaining CHECKs are the ones the cover
	# letter justifies (the TRACE_EVENT macro layout), counted and shown.
	out=$(cd "$(dirname "$(dirname "$cp")")" &&
		PATH=/usr/bin:$PATH "$cp" --strict --quiet --terse --show-types \
			--ignore UNKNOWN_COMMIT_ID ${tree:-} "${patches[@]}" 2>&1)
	if echo "$out" | grep -qE ':[0-9]+: (ERROR|WARNING):'; then
		echo "$out" | grep -E ':[0-9]+: (ERROR|WARNING):' >&2
		echo "lint: checkpatch --strict reports errors or warnings" >&2
		rc=1
	fi
	checks=$(echo "$out" | grep -cE ':[0-9]+: CHECK:')
	[ "$checks" -eq 0 ] || info "lint: checkpatch --strict: $checks CHECK(s): $(echo "$out" |
		sed -n 's/.*: CHECK:\([A-Z_]*\):.*/\1/p' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')"
fi
[ $rc -ne 0 ] || info "lint: clean (${#csrc[@]} C files, ${#patches[@]} patches)"
exit $rc
