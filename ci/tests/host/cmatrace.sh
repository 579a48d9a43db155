#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of tools/cmatrace: the correlator's unit tests; every committed
# trace.dat fixture (recorded on the board) gives exactly its expected
# records, CSV and summary, and the event counts of `trace-cmd report`;
# truncated, corrupt and bad input give one error line and a clean exit
# status, never a crash. --regen rewrites the expected files.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
T=$ROOT/tools/cmatrace
C=$ROOT/build/cmatrace/cmatrace
FIX=$T/fixtures
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! make -s -C "$T" cmatrace tests/corr_test >"$tmp/build.log" 2>&1; then
	t_fail "cmatrace builds" "$(tail -n 5 "$tmp/build.log")"
	t_done
	exit 1
fi
t_ok "cmatrace builds with -Wall -Wextra -Werror"

if [ "${1:-}" = --regen ]; then
	for f in "$FIX"/*.dat; do
		b=${f%.dat}
		"$C" report "$f" >"$b.jsonl"
		"$C" report -f csv "$f" >"$b.csv"
		"$C" report -f summary --summary-json "$b.summary.json" "$f" >/dev/null
		echo "regenerated $b.{jsonl,csv,summary.json}" >&2
	done
	exit 0
fi

# 1. the correlator's unit tests, folded into this TAP stream
"$ROOT/build/cmatrace/corr_test" >"$tmp/unit.tap" 2>&1
unit_rc=$?
while IFS= read -r l; do
	case $l in
	"ok "*) t_ok "correlator: ${l#* - }" ;;
	"not ok "*) t_fail "correlator: ${l#* - }" ;;
	esac
done <"$tmp/unit.tap"
grep -q '^1\.\.' "$tmp/unit.tap" && [ $unit_rc -eq 0 ] ||
	{ [ $unit_rc -eq 0 ] || grep -q '^not ok' "$tmp/unit.tap" || t_fail "correlator unit tests ran to the end" "exit $unit_rc"; }

# 2. fixtures: expected records, and agreement with trace-cmd report
count_events() { # FILE: "name count" per followed event, from trace-cmd report
	trace-cmd report -i "$1" 2>/dev/null |
		sed -nE 's/^.*\[[0-9]+\] +[0-9.]+: +([a-z_]+):.*/\1/p' |
		grep -xE 'cma_[a-z_]+|mm_migrate_pages|test_pages_isolated' | sort | uniq -c |
		awk '{ print $2, $1 }'
}

nfix=0
for f in "$FIX"/*.dat; do
	[ -e "$f" ] || continue
	nfix=$((nfix + 1))
	n=$(basename "$f" .dat)
	b=${f%.dat}
	if [ ! -f "$b.jsonl" ]; then
		t_fail "$n: expected records exist" "missing $b.jsonl (run with --regen)"
		continue
	fi
	"$C" report "$f" >"$tmp/$n.jsonl" 2>"$tmp/$n.err"
	rc=$?
	t_eq "$n: report exits 0" 0 "$rc"
	if cmp -s "$b.jsonl" "$tmp/$n.jsonl"; then
		t_ok "$n: JSONL records are the expected ones ($(wc -l <"$b.jsonl") records)"
	else
		t_fail "$n: JSONL records are the expected ones" "$(diff "$b.jsonl" "$tmp/$n.jsonl" | head -n 6)"
	fi
	"$C" report -f csv "$f" >"$tmp/$n.csv"
	if cmp -s "$b.csv" "$tmp/$n.csv"; then t_ok "$n: CSV is the expected one"; else
		t_fail "$n: CSV is the expected one" "$(diff "$b.csv" "$tmp/$n.csv" | head -n 6)"; fi
	"$C" report -f summary --summary-json "$tmp/$n.summary.json" "$f" >/dev/null
	if cmp -s "$b.summary.json" "$tmp/$n.summary.json"; then t_ok "$n: summary is the expected one"; else
		t_fail "$n: summary is the expected one" "$(diff "$b.summary.json" "$tmp/$n.summary.json" | head -n 6)"; fi

	# every line is one JSON document of the schema, seq counts up, and
	# the records account for every start and finish
	check=$($PY - "$tmp/$n.jsonl" "$tmp/$n.summary.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
bad = [r["seq"] for i, r in enumerate(recs)
       if r.get("schema") != "cmakit.cmatrace/1.0" or r.get("type") != "alloc" or r["seq"] != i]
ev = s["events"]
fin = sum(1 for r in recs if r["status"] in ("ok", "failed"))
nostart = sum(1 for r in recs if "start" in r["missing"])
unf = sum(1 for r in recs if r["status"] == "unfinished")
ok = (not bad and fin == ev["cma_alloc_finish"]
      and len(recs) - nostart == ev["cma_alloc_start"]
      and s["allocations"] == len(recs) and s["unfinished"] == unf
      and all((r["pfn"] is None) == (r["status"] != "ok") for r in recs)
      and all(r["errno"] == 0 for r in recs if r["status"] == "ok"))
print("ok" if ok else "bad seq=%s fin=%d/%d starts=%d/%d" % (bad[:3], fin, ev["cma_alloc_finish"], len(recs) - nostart, ev["cma_alloc_start"]))
PY
)
	t_eq "$n: records are valid JSON and account for every start and finish" ok "$check"

	count_events "$f" >"$tmp/$n.tc"
	$PY -c 'import json,sys
for k, v in sorted(json.load(open(sys.argv[1]))["events"].items()):
    if v: print(k, v)' "$tmp/$n.summary.json" | sort >"$tmp/$n.cm"
	sort "$tmp/$n.tc" >"$tmp/$n.tc.s"
	if cmp -s "$tmp/$n.tc.s" "$tmp/$n.cm"; then
		t_ok "$n: event counts agree with trace-cmd report ($(awk '{ s += $2 } END { print s }' "$tmp/$n.cm") events)"
	else
		t_fail "$n: event counts agree with trace-cmd report" "trace-cmd: $(tr '\n' ' ' <"$tmp/$n.tc.s")" "cmatrace: $(tr '\n' ' ' <"$tmp/$n.cm")"
	fi
done
[ $nfix -gt 0 ] || t_fail "trace.dat fixtures exist" "none in $FIX"

# 3. bad input: one error line, exit 1, never a signal
one_error() { # DESC EXPECTED_RC CMD...
	local desc=$1 want=$2 rc lines
	shift 2
	"$@" >/dev/null 2>"$tmp/err"
	rc=$?
	lines=$(grep -c . "$tmp/err")
	if [ "$rc" = "$want" ] && [ "$lines" -ge 1 ] && [ "$lines" -le 2 ]; then
		t_ok "$desc (exit $rc: $(head -n1 "$tmp/err"))"
	else
		t_fail "$desc" "exit $rc (want $want), $lines stderr lines" "$(head -n 3 "$tmp/err")"
	fi
}

f=$(ls "$FIX"/*.dat | head -n1)
size=$(stat -c %s "$f")
: >"$tmp/empty.dat"
one_error "an empty file is rejected" 1 "$C" report "$tmp/empty.dat"
head -c 100000 /dev/urandom >"$tmp/random.dat"
one_error "random bytes are rejected" 1 "$C" report "$tmp/random.dat"
one_error "a missing file is rejected" 1 "$C" report "$tmp/nope.dat"
one_error "a directory is rejected" 1 "$C" report "$tmp"
crashes=0
bad_exit=
for cut in 8 64 512 4096 32768 $((size / 4)) $((size / 2)) $((size - 8192)) $((size - 4096)) $((size - 100)); do
	[ "$cut" -gt 0 ] && [ "$cut" -lt "$size" ] || continue
	head -c "$cut" "$f" >"$tmp/cut.dat"
	"$C" report "$tmp/cut.dat" >/dev/null 2>"$tmp/err"
	rc=$?
	lines=$(grep -c . "$tmp/err")
	if [ "$rc" -ge 128 ] || { [ "$rc" -ne 0 ] && [ "$lines" -ne 1 ]; } || { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; }; then
		crashes=$((crashes + 1))
		bad_exit="$bad_exit cut=$cut:rc=$rc:lines=$lines"
	fi
done
t_eq "a truncated trace.dat (10 cut points) gives exit 0/1 and one error line, never a crash" "0" "$crashes${bad_exit:+ $bad_exit}"
# flipped bits anywhere in the file, 200 variants from fixed seeds
$PY - "$f" "$tmp/flip" 200 <<'PY'
import random, sys
src = open(sys.argv[1], "rb").read()
for i in range(int(sys.argv[3])):
    d = bytearray(src)
    r = random.Random(i)
    for _ in range(r.choice([1, 4, 32])):
        d[r.randrange(len(d))] ^= 1 << r.randrange(8)
    open("%s-%d.dat" % (sys.argv[2], i), "wb").write(d)
PY
crashes=0
bad_exit=
for i in $(seq 0 199); do
	timeout 20 "$C" report "$tmp/flip-$i.dat" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ "$rc" -gt 1 ] || { [ "$rc" -eq 1 ] && [ "$(grep -c . "$tmp/err")" -ne 1 ]; }; then
		crashes=$((crashes + 1))
		bad_exit="$bad_exit seed=$i:rc=$rc"
	fi
	rm -f "$tmp/flip-$i.dat"
done
t_eq "corrupted trace.dat (200 seeded bit-flip variants) gives exit 0/1 and one error line, never a crash or hang" "0" "$crashes${bad_exit:+ $bad_exit}"

# 4. usage errors exit 2
one_error "no mode is a usage error" 2 "$C"
one_error "an unknown mode is a usage error" 2 "$C" frobnicate
one_error "report without a file is a usage error" 2 "$C" report
one_error "an unknown format is a usage error" 2 "$C" report -f xml "$f"
one_error "a bad buffer size is a usage error" 2 "$C" live -b 0
one_error "an unwritable output is an error" 1 "$C" report -o "$tmp/no/such/dir/out" "$f"

# 5. events: the trace-cmd arguments report needs
t_eq "events prints the trace-cmd record arguments" \
	"-e cma -e migrate:mm_migrate_pages -e page_isolation:test_pages_isolated" "$("$C" events)"

t_done
