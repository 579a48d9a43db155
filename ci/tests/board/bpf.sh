#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of the BPF tools (bpf/): for a cmabench run, cmalat counts
# every allocation under its area and errno, cmafail one record per
# failure, cmamigrate one allocation per alloc_contig_range() that
# succeeded; on every tracing path the kernel offers (the series' events,
# stock cma:* events, fentry, kprobes). Every bpftrace script prints
# something for a live allocation.
. "$(dirname "$0")/lib.sh"

BENCH=$CMABENCH
tmp=$(mktemp -d)
area=$(cma_default_area)
held=0
cleanup() {
	[ "$held" = 0 ] || echo "$held" >"$CMA_DEBUGFS/$area/free"
	rm -rf "$tmp"
}
trap cleanup EXIT

for t in cmalat cmafail cmamigrate cmacollect; do
	if [ ! -x "$BPF/$t" ]; then
		t_fail "the BPF tools are built" "$BPF/$t missing (make bpf)"
		t_done
		exit
	fi
done
if [ ! -x "$BENCH" ]; then
	t_fail "cmabench is built" "$BENCH missing (make tools)"
	t_done
	exit
fi
patched=0
[ -e "$TRACEFS/events/cma/cma_range_migrate" ] && patched=1

# compare RUN: cmalat/cmafail/cmamigrate totals of RUN.json against
# cmabench's RUN.bench.json, one "name expected actual" line per check.
compare() {
	"$PY" - "$tmp/$1.json" "$tmp/$1.bench.json" <<'PY'
import json, sys
from collections import Counter
c = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
allocs = b["allocations"]
want = Counter((a["area"], a["error"] or "OK") for a in allocs)
got = Counter()
for h in c["cmalat"]["histograms"]:
    got[(h["area"], h["error"])] += h["count"]
def show(counter):
    return ",".join("%s/%s=%d" % (k[0], k[1], v) for k, v in sorted(counter.items())) or "-"
print("schema", "cmakit.bpf/1.0", c["schema"])
print("path", "-", c["cmalat"]["path"])
print("allocations", len(allocs), c["cmalat"]["allocations"])
print("by_area_errno", show(want), show(got))
print("failures", sum(1 for a in allocs if not a["ok"]), c["cmafail"]["failures"])
rec = Counter(r["error"] for r in c["cmafail"]["records"] if r["errno"])
print("failure_errnos", show(Counter(("", a["error"]) for a in allocs if not a["ok"])),
      show(Counter(("", k) for k in rec.elements())))
ok = sum(1 for a in allocs if a["ok"])
mig = sum(a["allocations"] for a in c["cmamigrate"]["areas"])
print("migrate_allocations", ok, mig)
PY
}

# run NAME PATH-OPTIONS...: cmabench under cmacollect, with most of the area
# held so that the large requests fail (-ENOMEM) and the small ones succeed.
run() {
	local name=$1 out
	shift
	echo 61440 >"$CMA_DEBUGFS/$area/alloc" && held=61440
	out=$("$BPF/cmacollect" "$@" -o "$tmp/$name.json" -- \
		"$BENCH" -b debugfs -a "$area" -S 1024,16384 -n 3 -q \
		--json "$tmp/$name.bench.json" -o "$tmp/$name.res" 2>&1)
	rc=$?
	echo 61440 >"$CMA_DEBUGFS/$area/free" && held=0
	if [ $rc -ne 0 ] || [ ! -s "$tmp/$name.json" ]; then
		t_fail "$name: cmacollect around cmabench exits 0" "status $rc" "$out"
		return 1
	fi
	t_ok "$name: cmacollect around cmabench exits 0"
	echo "$out" | sed -n 's/^\(cm[a-z]*: unavailable: .*\)/# \1/p'
	return 0
}

# check NAME EXPECTED-PATH
check() {
	local name=$1 path=$2 res
	res=$(compare "$name") || {
		t_fail "$name: the documents parse" "$res"
		return
	}
	while read -r key want got; do
		case $key in
		schema) t_eq "$name: document schema" "$want" "$got" ;;
		path) t_eq "$name: tools ran on the $path path" "$path" "$got" ;;
		allocations) t_eq "$name: cmalat counts every allocation" "$want" "$got" ;;
		by_area_errno) t_eq "$name: cmalat totals per area and errno match cmabench" "$want" "$got" ;;
		failures)
			[ "$want" -gt 0 ] || t_fail "$name: the workload has failures" "cmabench saw none"
			t_eq "$name: cmafail has one record per failed allocation" "$want" "$got"
			;;
		failure_errnos) t_eq "$name: cmafail's errnos match cmabench" "$want" "$got" ;;
		migrate_allocations) t_eq "$name: cmamigrate counts each successful allocation" "$want" "$got" ;;
		esac
	done <<<"$res"
}

# 1. the richest path, then each fallback forced -----------------------------
if [ $patched = 1 ]; then
	run patched && check patched patched
else
	t_skip "patched path: totals match cmabench" "kernel without the cmakit series (no cma:cma_range_migrate)"
fi
run stock --stock && check stock stock

for p in fentry kprobe; do
	echo 61440 >"$CMA_DEBUGFS/$area/alloc" && held=61440
	"$BPF/cmalat" -j -P "$p" >"$tmp/$p.lat" 2>"$tmp/$p.err" &
	pid=$!
	for _ in $(seq 300); do grep -q 'tracing' "$tmp/$p.err" && break; sleep 0.1; done
	"$BENCH" -b debugfs -a "$area" -S 1024,16384 -n 2 -q --json "$tmp/$p.bench.json" -o "$tmp/$p.res" >/dev/null 2>&1
	kill -INT $pid
	wait $pid
	rc=$?
	echo 61440 >"$CMA_DEBUGFS/$area/free" && held=0
	got=$("$PY" - "$tmp/$p.lat" "$tmp/$p.bench.json" <<'PY'
import json, sys
from collections import Counter
l = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
want = Counter((a["area"], a["error"] or "OK") for a in b["allocations"])
got = Counter()
for h in l["histograms"]:
    got[(h["area"], h["error"])] += h["count"]
fmt = lambda c: ",".join("%s/%s=%d" % (k[0], k[1], v) for k, v in sorted(c.items()) if v)
print(l["path"], fmt(want), fmt(got))
PY
)
	read -r path want have <<<"$got"
	t_eq "$p: cmalat exits 0 on SIGINT" 0 "$rc"
	t_eq "$p: cmalat runs on the $p path" "$p" "$path"
	t_eq "$p: cmalat totals per area and errno match cmabench" "$want" "$have"
done

# 2. a tool that cannot run: one line, status 1, no document, the others stopped
out=$("$BPF/cmacollect" -P fentry -d 1 -o "$tmp/nopath.json" 2>&1)
rc=$?
t_eq "cmacollect -P fentry (cmamigrate has no fentry path) exits 1" 1 "$rc"
last=$(echo "$out" | tail -n 1)
t_eq "  ... naming the tool that did not start" \
	"cmacollect: cmamigrate did not start (see its message above)" "$last"
[ ! -e "$tmp/nopath.json" ] && t_ok "  ... and writes no document" ||
	t_fail "  ... and writes no document" "$(head -c 200 "$tmp/nopath.json")"
left=$(pgrep -x cmalat; pgrep -x cmafail; pgrep -x cmamigrate)
t_eq "  ... and leaves no tool running" "" "$left"

# 3. -p reaches every tool through cmacollect: of this shell's two debugfs
# allocations and a cmabench run beside them, only the shell's are counted.
"$BPF/cmacollect" -p $$ -d 4 -o "$tmp/pid.json" 2>"$tmp/pid.err" &
pid=$!
for _ in $(seq 600); do [ "$(grep -c ': tracing' "$tmp/pid.err")" -ge 3 ] && break; sleep 0.1; done
for _ in 1 2; do
	echo 1024 >"$CMA_DEBUGFS/$area/alloc"
	echo 1024 >"$CMA_DEBUGFS/$area/free"
done
"$BENCH" -b debugfs -a "$area" -S 1024 -n 3 -q -o "$tmp/pid.res" >/dev/null 2>&1
wait $pid
rc=$?
t_eq "cmacollect -p PID: exits 0" 0 "$rc"
t_eq "  ... cmalat and cmamigrate count only that process's 2 allocations" "2 2" \
	"$(jq -r '"\(.cmalat.allocations) \([.cmamigrate.areas[].allocations] | add // 0)"' "$tmp/pid.json" 2>&1)"

# 3b. an idle tool sleeps until there is data, a signal or its deadline: it
# wakes no timer (each wake-up of a collector is CPU the watched allocations
# do not get, on a one-CPU board all of it); interval reports still come on
# time.
"$BPF/cmacollect" -d 120 -o "$tmp/idle.json" 2>"$tmp/idle.err" &
pid=$!
for _ in $(seq 600); do [ "$(grep -c ': tracing' "$tmp/idle.err")" -ge 3 ] && break; sleep 0.1; done
wakeups() { # "TOOLS SWITCHES": how many of the three tools run, their voluntary context switches
	local p n=0 t=0 v
	for p in $(pgrep -x cmalat; pgrep -x cmafail; pgrep -x cmamigrate); do
		v=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/$p/status 2>/dev/null)
		[ -n "$v" ] || continue
		t=$((t + 1))
		n=$((n + v))
	done
	echo "$t $n"
}
read -r n0 w0 <<<"$(wakeups)"
sleep 3
read -r n1 w1 <<<"$(wakeups)"
kill -INT $pid
wait $pid
rc=$?
# all three must run at both samples: tools that are gone would count 0
[ "$rc" = 0 ] && [ "$n0 $n1" = "3 3" ] && [ $((w1 - w0)) -le 6 ] &&
	t_ok "idle collectors: $((w1 - w0)) wake-ups of the three tools in 3 s (polling every 100 ms, cmafail and cmamigrate made 53)" ||
	t_fail "idle collectors wake at most 6 times in 3 s" "status $rc, tools running $n0 then $n1, $((w1 - w0)) wake-ups" "$(tail -n 3 "$tmp/idle.err")"
t0=$(date +%s%N)
timeout 30 "$BPF/cmalat" -j 1 2 >"$tmp/int.json" 2>"$tmp/int.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
n=$(jq -s length "$tmp/int.json" 2>/dev/null)
[ "$rc" = 0 ] && [ "${n:-0}" = 2 ] && [ "$ms" -ge 2000 ] && [ "$ms" -lt 15000 ] &&
	t_ok "cmalat -j 1 2: two interval reports, then exit ($ms ms)" ||
	t_fail "cmalat -j 1 2: two interval reports, then exit" "status $rc, ${n:-no} documents, $ms ms" "$(tail -n 3 "$tmp/int.err")"

# 4. the bpftrace scripts (last: under a loaded emulator their start-up is
# what takes longest) ------------------------------------------------------
for s in "$ROOT"/bpf/bpftrace/*.bt; do
	n=$(basename "$s" .bt)
	if [ "$n" = busy-pages ] && [ $patched = 0 ]; then
		t_skip "bpftrace $n.bt prints output" "kernel without the cmakit series (no cma:cma_busy_page)"
		continue
	fi
	bpftrace "$s" >"$tmp/$n.out" 2>&1 &
	pid=$!
	for _ in $(seq 600); do grep -qE '^(Tracing|Counting)' "$tmp/$n.out" && break; sleep 0.1; done
	echo 1024 >"$CMA_DEBUGFS/$area/alloc"
	echo 1024 >"$CMA_DEBUGFS/$area/free"
	sleep 1
	kill -INT $pid
	wait $pid
	rc=$?
	# "@map[key]: value", or "@map[key]:" before a histogram or a stack
	if [ $rc -eq 0 ] && grep -qE '^@[a-z_]+\[' "$tmp/$n.out"; then
		t_ok "bpftrace $n.bt prints its maps for a live allocation"
	else
		t_fail "bpftrace $n.bt prints its maps for a live allocation" "status $rc" "$(tail -n 5 "$tmp/$n.out")"
	fi
done

# migrate-ops.bt over a cmabench run that fills a fifth of the area with
# anonymous pages: every allocation ends in cma_alloc_finish, the anonymous
# folios migrate with status 0, and the script counts no more successful
# migrations than the kernel's pgmigrate_success did meanwhile.
vmstat() { sed -n "s/^$1 //p" /proc/vmstat; }
bpftrace "$ROOT/bpf/bpftrace/migrate-ops.bt" >"$tmp/mops.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^Tracing' "$tmp/mops.out" && break; sleep 0.1; done
m0=$(vmstat pgmigrate_success)
"$BENCH" --area "$area" --sizes 1024 --count 1 --occupancy 20 -o "$tmp/mops" -q
rc=$?
m1=$(vmstat pgmigrate_success)
kill -INT $pid
wait $pid
t_eq "migrate-ops.bt: cmabench --occupancy 20 and bpftrace exit 0" "0 0" "$rc $?"
ok=$(sed -n "s/^@cma_allocs\[$area, ok\]: //p" "$tmp/mops.out")
failed=$(sed -n "s/^@cma_allocs\[$area, failed\]: //p" "$tmp/mops.out")
anon=$(sed -n 's/^@other\[anon, 0\]: //p' "$tmp/mops.out")
moved=$(awk -F': ' '/^@(other|page_cache)\[.*, 0\]: / { n += $2 } END { print n + 0 }' "$tmp/mops.out")
[ "${ok:-0}" -gt 0 ] && [ -z "$failed" ] &&
	t_ok "migrate-ops.bt counts the allocations of area $area ($ok, none failed)" ||
	t_fail "migrate-ops.bt counts the allocations of area $area" "$(cat "$tmp/mops.out")"
[ "${anon:-0}" -gt 0 ] && [ "$moved" -le $((m1 - m0)) ] &&
	t_ok "migrate-ops.bt: $anon anonymous folios migrated, $moved folios in all <= pgmigrate_success +$((m1 - m0))" ||
	t_fail "migrate-ops.bt: anonymous folios migrated, no more than pgmigrate_success" \
		"anon ${anon:-none}, moved $moved, pgmigrate_success +$((m1 - m0))" "$(cat "$tmp/mops.out")"

# 5. nothing is left behind -------------------------------------------------------
left=$(bpftool prog show 2>/dev/null | grep -cE 'tp_alloc|btf_|fexit_|fentry_|kprobe_cma|kretprobe_' | tr -d ' ')
t_eq "no BPF program stays loaded" 0 "$left"
t_done
