#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the virtual board: records a large trace.dat of many small CMA
# allocations (debugfs cma/<area>/alloc + free of one page, WORKERS tasks in
# parallel so CPUs interleave) for the cmatrace benchmark.
#   gen-trace.sh OUT.dat [ALLOCS_PER_WORKER] [WORKERS]
# About 9 events per allocation on the series' kernel (5 on stock 6.1:
# start, mm_migrate_pages, test_pages_isolated, finish, release): 105000
# allocations on 2 workers give about 1.9M events, 556000 about 10M. The
# recording is made on the scratch disk of `ci/vm/run.sh --disk` when there
# is one (a 10M-event trace does not fit the guest's tmpfs), else in /tmp.
set -eu
out=${1:?usage: gen-trace.sh OUT.dat [ALLOCS_PER_WORKER] [WORKERS]}
n=${2:-100000}
workers=${3:-2}
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
HERE=$(cd "$(dirname "$0")" && pwd)
area=$(ls /sys/kernel/debug/cma | head -n1)
[ -n "$area" ] || { echo "gen-trace: no CMA area" >&2; exit 1; }
D=/sys/kernel/debug/cma/$area
tmp=$(mktemp -d "${CMAKIT_SCRATCH:-/tmp}/cmatrace-gen.XXXX")
cat >"$tmp/worker.py" <<PY
import os, sys
a = os.open("$D/alloc", os.O_WRONLY)
f = os.open("$D/free", os.O_WRONLY)
for _ in range(int(sys.argv[1])):
    os.write(a, b"1")
    os.write(f, b"1")
PY
cd "$tmp"
# a large buffer: the workers must not overrun the recorder
trace-cmd record -q -b 16384 -o "$tmp/trace.dat" $("$HERE/../../../build/cmatrace/cmatrace" events) -- \
	bash -c "for i in \$(seq $workers); do /usr/bin/python3 $tmp/worker.py $n & done; wait" >/dev/null
cp "$tmp/trace.dat" "$out"
rm -rf "$tmp"
echo "gen-trace: $out: $((n * workers)) allocations"
