#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of tools/cmatrace, inside the virtual board (cma=256M):
# - one cmabench run traced at once by `cmatrace live` (its own instance) and
#   `trace-cmd record` (the top buffer): live and report both give exactly
#   one record per cmabench allocation, with the same sizes, errnos and pfns,
#   and the same event counts as `trace-cmd report`;
# - a pinned-page failure (patched kernel, /dev/cma_bench) names a pinned pfn;
# - after cmatrace exits (normally, on error, on SIGINT/SIGTERM) no instance
#   of its remains and no event is left enabled.
. "$(dirname "$0")/lib.sh"
CM=$CMATRACE
CB=$CMABENCH
work=$(mktemp -d /tmp/cmatrace-test.XXXX)
area=$(cma_default_area)

if [ ! -x "$CM" ]; then
	t_fail "cmatrace is built" "$CM missing (make tools)"
	t_done
	exit 1
fi

# The tracing state cmatrace must leave as it found it: instances named
# cmatrace*, and the enable files of the event systems it uses, top-level.
trace_state() {
	ls "$TRACEFS/instances" | grep '^cmatrace' | tr '\n' ' '
	echo "|"
	for s in cma migrate page_isolation; do
		for e in "$TRACEFS/events/$s"/*/enable; do
			[ -f "$e" ] && printf '%s=%s ' "${e#"$TRACEFS"/events/}" "$(cat "$e")"
		done
	done
}

# 1. live and report of the same cmabench run --------------------------------
if [ ! -x "$CB" ]; then
	t_fail "cmabench is built" "$CB missing (make tools)"
else
	state0=$(trace_state)
	"$CM" live -o "$work/live.jsonl" --summary-json "$work/live.sum.json" -- \
		trace-cmd record -q -o "$work/trace.dat" $("$CM" events) -- \
		"$CB" --sizes 1,64,1024 -n 6 -j 2 -q --out "$work/bench" \
		>"$work/live.out" 2>"$work/live.err"
	rc=$?
	t_eq "cmatrace live -- trace-cmd record -- cmabench exits 0" 0 "$rc"
	[ $rc -eq 0 ] || t_diag "$(tail -n 5 "$work/live.err")"
	"$CM" report -o "$work/report.jsonl" --summary-json "$work/report.sum.json" \
		"$work/trace.dat" 2>"$work/report.err"
	t_eq "cmatrace report of that trace.dat exits 0" 0 "$?"

	cmp=$($PY - "$work/bench/result.json" "$work/live.jsonl" "$work/report.jsonl" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))["allocations"]
def recs(p):
    return [json.loads(l) for l in open(p)]
live, rep = recs(sys.argv[2]), recs(sys.argv[3])
def key_b(a):
    return (a["pages"], -a["errno"])
def key_t(r):
    # a record without its finish has errno null: it must compare unequal,
    # not stop the comparison
    return (r["count"], r["errno"] if r["errno"] is not None else 1 << 31)
out = []
out.append("n=%d/%d/%d" % (len(bench), len(live), len(rep)))
out.append("sizes+errno " + ("same" if sorted(map(key_b, bench)) == sorted(map(key_t, live)) == sorted(map(key_t, rep)) else "differ"))
pl = sorted(r["pfn"] for r in live if r["pfn"] is not None)
pr = sorted(r["pfn"] for r in rep if r["pfn"] is not None)
pb = sorted(a["pfn"] for a in bench if a.get("pfn") is not None)
same = pl == pr and (not pb or pb == pl)
out.append("pfns " + ("same" if same else "differ"))
out.append("complete " + str(all(r["complete"] for r in live + rep)))
print(" ".join(out))
for name, recs_ in (("live", live), ("report", rep)):
    for r in recs_:
        if r["errno"] is None or not r["complete"]:
            print("# %s: record %s without finish or incomplete: %s" % (name, r.get("seq"), json.dumps(r)[:300]), file=sys.stderr)
PY
)
	n=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["allocations"]))' "$work/bench/result.json" 2>/dev/null)
	t_eq "live and report give one record per cmabench allocation, same sizes, errnos and pfns" \
		"n=$n/$n/$n sizes+errno same pfns same complete True" "$cmp"
	[ -n "$n" ] && [ "$n" -gt 0 ] || t_fail "cmabench made allocations" "result.json: ${n:-none}"
	t_diag "cmabench allocations: $n; live/report: $cmp"

	tc=$(trace-cmd report -i "$work/trace.dat" 2>/dev/null |
		sed -nE 's/^.*\[[0-9]+\] +[0-9.]+: +([a-z_]+):.*/\1/p' |
		grep -xE 'cma_[a-z_]+|mm_migrate_pages|test_pages_isolated' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
	ev() { $PY -c 'import json,sys
e = json.load(open(sys.argv[1]))["events"]
print(" ".join("%s=%d" % (k, v) for k, v in sorted(e.items()) if v), end=" ")' "$1"; }
	t_eq "report's event counts agree with trace-cmd report" "$tc" "$(ev "$work/report.sum.json")"
	t_eq "live's event counts agree with trace-cmd report" "$tc" "$(ev "$work/live.sum.json")"
	lost=$($PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["missed_events"], s["missed_unknown"])' "$work/live.sum.json")
	t_eq "live reports no lost events on this small run" "0 0" "$lost"
	t_eq "no cmatrace instance remains and no event stays enabled after the run" \
		"$state0" "$(trace_state)"
fi

# 1b. a ring buffer too small for the load: lost events are reported ------
"$CM" live -b 4 -o "$work/lost.jsonl" --summary-json "$work/lost.sum.json" -- \
	$PY -c 'import os, sys
a = os.open(sys.argv[1] + "/alloc", os.O_WRONLY)
f = os.open(sys.argv[1] + "/free", os.O_WRONLY)
for _ in range(3000):
    os.write(a, b"1")
    os.write(f, b"1")' "/sys/kernel/debug/cma/$area" >/dev/null 2>"$work/lost.err"
rc=$?
# Records that lost events are flagged. The buffer can also lose whole
# allocations only, when its pages happen to break between two of them (the
# series' v2 events fill a 4 KiB page with exactly 8 allocations): then every
# record is complete, and what was read plus what was lost is exactly what
# 3000 allocations and frees emit (all of them alike).
lost=$($PY -c 'import json,sys
s = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
flagged = sum(1 for r in recs if "lost_events" in r["missing"] or "start" in r["missing"] or "finish" in r["missing"])
per = round(s["events_total"] / max(s["allocations"], 1))
whole = (not flagged and s["missed_unknown"] == 0 and recs and all(r["complete"] for r in recs) and
         s["events_total"] + s["missed_events"] == 3000 * per)
print("lost" if s["missed_events"] + s["missed_unknown"] > 0 else "none",
      "flagged" if flagged else "whole" if whole else "unflagged")' \
	"$work/lost.sum.json" "$work/lost.jsonl" 2>&1)
if [ $rc -eq 0 ] && [[ $lost == "lost flagged" || $lost == "lost whole" ]] && grep -q "lost" "$work/lost.err"; then
	t_ok "with a 4 KiB buffer, lost events are counted, reported on stderr and flagged in records ($lost)"
else
	t_fail "with a 4 KiB buffer, lost events are counted, reported on stderr and flagged in records" \
		"rc=$rc $lost" "$(tail -n 2 "$work/lost.err")" \
		"$(wc -l <"$work/lost.jsonl") records; first: $(head -c 600 "$work/lost.jsonl")" \
		"summary: $(head -c 800 "$work/lost.sum.json")"
fi

# 2. a pinned page blocks an allocation: the record names it -----------------
if [ ! -e /dev/cma_bench ] || [ ! -d "$TRACEFS/events/cma/cma_busy_page" ]; then
	t_skip "a pinned-page failure names the pinned pfn" "stock kernel: no /dev/cma_bench or cma:cma_busy_page"
else
	"$CM" live -o "$work/pin.jsonl" -- "$CB" --scenario pinned -q --out "$work/pin" \
		>/dev/null 2>"$work/pin.err"
	rc=$?
	res=$($PY - "$work/pin/result.json" "$work/pin.jsonl" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))["allocations"]
recs = [json.loads(l) for l in open(sys.argv[2])]
recs = [r for r in recs if r["count"] == bench[0]["pages"]] if bench else []
def pinned(r):
    b = r["blocking"]
    # the pinned scenario pins anonymous pages: the state bits (v1 fields
    # or v2's flags) are decoded
    return (bool(b) and b.get("reason") == "pinned" and b["pfn"] > 0 and
            b.get("refcount", 0) > b.get("mapcount", 0) and "anon" in b.get("flags", []))
same = sorted((a["pages"], -a["errno"], a.get("pfn"), a.get("retries")) for a in bench) == \
       sorted((r["count"], r["errno"], r["pfn"], r["retries"]) for r in recs)
ebusy = [r for r in recs if r["errno"] == -16]
blocked = [r for r in recs if r["retries"] or r["status"] == "failed"]
print("same=%s blocked=%d named=%d ebusy_named=%d/%d" % (same, len(blocked), sum(map(pinned, blocked)),
      sum(map(pinned, ebusy)), len(ebusy)))
PY
)
	# every allocation that a busy range delayed or failed names a pinned page
	nb=${res#*blocked=}
	nb=${nb%% *}
	ne=${res##*/}
	if [ $rc -eq 0 ] && [ "${nb:-0}" -gt 0 ] && [ "$res" = "same=True blocked=$nb named=$nb ebusy_named=$ne/$ne" ]; then
		t_ok "pinned pages: records match cmabench (size, errno, pfn, retries) and name the pinned anon pfn ($res)"
	else
		t_fail "pinned pages: records match cmabench (size, errno, pfn, retries) and name the pinned anon pfn" "rc=$rc $res" "$(head -n 3 "$work/pin.err")"
		grep '"retries":[1-9]' "$work/pin.jsonl" | head -n 1 | cut -c1-700 | sed 's/^/# /'
	fi
fi

# 3. cleanup on every way out ----------------------------------------------
state0=$(trace_state)

"$CM" live -o /proc/no-such-dir/out.jsonl -- true >/dev/null 2>"$work/err"
rc=$?
t_eq "an error after the instance was made exits 1" 1 "$rc"
t_eq "  ... and leaves no instance and no enabled event" "$state0" "$(trace_state)"

"$CM" live -o "$work/false.jsonl" -- false >/dev/null 2>&1
t_eq "live -- false exits with the command's status 1" 1 "$?"
t_eq "  ... and leaves no instance and no enabled event" "$state0" "$(trace_state)"

"$CM" live -o "$work/int.jsonl" 2>"$work/int.err" &
pid=$!
for _ in $(seq 50); do ls "$TRACEFS/instances" | grep -q "^cmatrace-$pid$" && break; sleep 0.1; done
sleep 0.5
echo 8 >"/sys/kernel/debug/cma/$area/alloc"
echo 8 >"/sys/kernel/debug/cma/$area/free"
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
t_eq "live stopped by SIGINT exits 0" 0 "$rc"
t_eq "  ... and wrote the one allocation made meanwhile" "1 8 ok" \
	"$(grep -c . "$work/int.jsonl") $($PY -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["count"], r["status"])' "$work/int.jsonl" 2>/dev/null)"
t_eq "  ... and leaves no instance and no enabled event" "$state0" "$(trace_state)"

"$CM" live -o "$work/term.jsonl" -- sleep 60 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
rc=$?
t_eq "live -- sleep stopped by SIGTERM stops the command too (exit 128+15)" 143 "$rc"
if pgrep -fx "sleep 60" >/dev/null; then t_fail "  ... the command is gone" "sleep 60 still runs"; else t_ok "  ... the command is gone"; fi
t_eq "  ... and leaves no instance and no enabled event" "$state0" "$(trace_state)"

# the reader of the output goes away: SIGPIPE must not skip the cleanup
( "$CM" live -- $PY -c 'import os, sys
a = os.open(sys.argv[1] + "/alloc", os.O_WRONLY)
f = os.open(sys.argv[1] + "/free", os.O_WRONLY)
for _ in range(1000):
    os.write(a, b"1")
    os.write(f, b"1")' "/sys/kernel/debug/cma/$area" 2>"$work/pipe.err"; echo $? >"$work/pipe.rc" ) | head -c 10 >/dev/null
t_eq "live whose output pipe closes exits 1 with an error" "1" "$(cat "$work/pipe.rc")"
t_eq "  ... and leaves no instance and no enabled event" "$state0" "$(trace_state)"

mkdir "$TRACEFS/instances/cmatrace-taken"
"$CM" live -i cmatrace-taken -- true >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ] && [ -d "$TRACEFS/instances/cmatrace-taken" ]; then
	t_ok "an existing instance of that name is refused and left alone"
else
	t_fail "an existing instance of that name is refused and left alone" "rc=$rc"
fi
rmdir "$TRACEFS/instances/cmatrace-taken" 2>/dev/null

rm -rf "$work"
t_done
