#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the virtual board: every board test (ci/tests/board/*.sh except
# the helpers), or the ones named, as TAP. A test that ends without its plan
# line (it crashed or was killed) is reported as a failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd /tmp || exit 1
[ $# -gt 0 ] || set -- $(cd "$HERE" && ls *.sh | grep -vxE 'lib.sh|run.sh' | sed 's/\.sh$//')
rc=0
for t in "$@"; do
	echo "# board/$t"
	out=$(bash "$HERE/$t.sh" 2>&1)
	trc=$?
	echo "$out"
	if ! echo "$out" | grep -qE '^1\.\.[0-9]+$'; then
		echo "not ok - board/$t ended without a plan (exit $trc)"
		rc=1
	fi
	[ $trc -eq 0 ] || rc=1
done
exit $rc
