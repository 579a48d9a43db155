#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the virtual board: every board test (ci/tests/board/*.sh except
# the helpers), or the ones named, as TAP. A test that ends without its plan
# line (it crashed or was killed) is reported as a failure; a test that runs
# longer than its timeout in ci/tests/board/settings (default 600 s) is stopped.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
cd /tmp || exit 1
[ $# -gt 0 ] || set -- $(cd "$HERE" && ls *.sh | grep -vxE 'lib.sh|run.sh' | sed 's/\.sh$//')
rc=0
for t in "$@"; do
	echo "# board/$t"
	limit=$(board_setting "$t" timeout)
	start=$(date +%s)
	out=$(timeout -k 10 "$limit" bash "$HERE/$t.sh" 2>&1)
	trc=$?
	[ $trc -ne 124 ] || out="$out
not ok - board/$t did not finish within $limit s"
	echo "$out"
	echo "# board/$t took $(($(date +%s) - start)) s"
	if ! echo "$out" | grep -qE '^1\.\.[0-9]+$'; then
		echo "not ok - board/$t ended without a plan (exit $trc)"
		rc=1
	fi
	[ $trc -eq 0 ] || rc=1
done
exit $rc
