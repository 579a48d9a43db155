#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host suite of analysis/: runs its pytest suite under Debian's python3 and
# prints one TAP line per test (skips as "# SKIP", never as passes). The
# report screenshot of the browser test is kept in build/test/.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
PY=/usr/bin/python3
OUT=$ROOT/build/test
mkdir -p "$OUT"
xml=$OUT/analysis-junit.xml
rm -f "$xml"

if ! "$PY" -c 'import numpy, scipy, matplotlib, pytest' 2>/dev/null; then
	t_fail "analysis: $PY has numpy, scipy, matplotlib and pytest" "run 'make deps'"
	t_done
	exit
fi

(cd "$ROOT" && "$PY" -m pytest -q -p no:cacheprovider --junitxml="$xml" analysis/tests) \
	>"$OUT/analysis-pytest.log" 2>&1
rc=$?
if [ ! -s "$xml" ]; then
	t_fail "analysis: pytest ran (exit $rc)" "$(tail -n 5 "$OUT/analysis-pytest.log")"
	t_done
	exit
fi

# junit XML -> TAP: one line per test case
"$PY" - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

n = 0
failed = 0
for case in ET.parse(sys.argv[1]).iter("testcase"):
    n += 1
    name = f"analysis: {case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
    bad = case.find("failure")
    if bad is None:
        bad = case.find("error")
    skip = case.find("skipped")
    if bad is not None:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in (bad.get("message") or "").splitlines()[:6]:
            print(f"#   {line}")
    elif skip is not None:
        print(f"ok {n} - {name} # SKIP {(skip.get('message') or '').splitlines()[0] if skip.get('message') else 'skipped'}")
    else:
        print(f"ok {n} - {name}")
print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
