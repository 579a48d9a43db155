#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of tools/cmabench (no board needed): the build (native, and the
# static arm64 binary), the unit tests, the result document against
# docs/results.md, and the command line's answers to bad input.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
CB=$ROOT/tools/cmabench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build ------------------------------------------------------------------------
if out=$(make -C "$CB" 2>&1); then
	t_ok "cmabench builds with -Wall -Wextra -Werror"
else
	t_fail "cmabench builds with -Wall -Wextra -Werror" "$(echo "$out" | tail -n 5)"
	t_done
	exit
fi
BIN=$ROOT/build/cmabench/cmabench
# From scratch in a directory of our own: the binary in the tree may be in use.
quiet=$(make -s -C "$CB" O="$tmp/b" 2>&1 | grep -v '^  [A-Z]* ' || true)
t_eq "the build is quiet (only CC/LD lines)" "" "$quiet"

if command -v aarch64-linux-gnu-gcc >/dev/null; then
	if out=$(make -C "$CB" O="$tmp/b" ARCH=arm64 2>&1) && file "$tmp/b/cmabench/arm64/cmabench" | grep -q 'ARM aarch64.*statically linked'; then
		t_ok "make ARCH=arm64 gives a static arm64 binary"
	else
		t_fail "make ARCH=arm64 gives a static arm64 binary" "$(echo "$out" | tail -n 3)" "$(file "$tmp/b/cmabench/arm64/cmabench" 2>&1)"
	fi
else
	t_skip "make ARCH=arm64 gives a static arm64 binary" "gcc-aarch64-linux-gnu not installed (make deps)"
fi

# unit tests -------------------------------------------------------------------
make -s -C "$CB" O="$tmp/b" "$tmp/b/cmabench/unit" >/dev/null 2>&1
if "$tmp/b/cmabench/unit" "$tmp/doc" >"$tmp/unit.tap" 2>&1; then
	t_ok "unit tests pass ($(grep -c '^ok' "$tmp/unit.tap") checks: arguments, scenarios, statistics, JSON)"
else
	t_fail "unit tests pass" "$(grep '^not ok' "$tmp/unit.tap" | head -n 5)"
fi

# result document vs docs/results.md --------------------------------------------
doc=$tmp/doc/result.json
if jq -e . "$doc" >/dev/null 2>&1; then
	t_ok "the result document is valid JSON"
else
	t_fail "the result document is valid JSON" "$(head -c 300 "$doc" 2>&1)"
fi
t_eq "schema id" '"cmakit.cmabench/1.2"' "$(jq .schema "$doc" 2>&1)"
t_eq "top-level members" '["allocations","areas","counters","run","schema","summary"]' \
	"$(jq -c 'keys' "$doc" 2>&1)"
# Every field of a record and of run is documented in docs/results.md, and back.
documented() { # the `field` names of the markdown table after heading $1
	awk -v h="$1" '$0 ~ "^#+ " h { on = 1; next } on && /^#/ { exit } on && /^\| `/ { print }' \
		"$ROOT/docs/results.md" | cut -d'|' -f2 | grep -o '`[a-z_0-9]*`' | tr -d '`' | sort -u | tr '\n' ' '
}
t_eq "allocation record fields are those documented" "$(documented '`allocations`')" \
	"$(jq -r '.allocations[0] | keys[]' "$doc" | sort | tr '\n' ' ')"
t_eq "run fields are those documented" "$(documented '`run`')" \
	"$(jq -r '.run | keys[]' "$doc" | sort | tr '\n' ' ')"
t_eq "summary counts the sample: 4 requests, 3 ok, 1 EBUSY" '[4,3,1,{"EBUSY":1}]' \
	"$(jq -c '.summary | [.allocations, .ok, .failed, .errors]' "$doc")"
t_eq "summary latency over successes only (1000, 2000, 3000 ns)" '[3,1000,2000,3000]' \
	"$(jq -c '.summary.user_ns | [.n, .min, .p50, .max]' "$doc")"
t_eq "by_size sorted by pages" '[1,1024,4096]' "$(jq -c '[.summary.by_size[].pages]' "$doc")"
t_eq "kernel_ns is null, not 0, when unmeasured" 'null null' \
	"$(jq -r '"\(.allocations[0].kernel_ns) \(.summary.kernel_ns)"' "$doc")"
t_eq "without a null ioctl measured, user_corrected_ns and null_ioctl_ns are null" 'null null' \
	"$(jq -r '"\(.allocations[0].user_corrected_ns) \(.run.backend.null_ioctl_ns)"' "$doc")"
t_eq "failed record carries errno 16 and its name" '[false,16,"EBUSY"]' \
	"$(jq -c '.allocations[3] | [.ok, .errno, .error]' "$doc")"
[ -s "$tmp/doc/summary.txt" ] && t_ok "summary.txt is written" || t_fail "summary.txt is written"

# the area map vs docs/results.md ------------------------------------------------
map=$tmp/doc/areamap.json
t_eq "areamap.json: schema and members" '["cmakit.areamap/2.0",["area","base_pfn","kinds","maps","pages","schema"]]' \
	"$(jq -c '[.schema, keys]' "$map" 2>&1)"
t_eq "areamap.json: the kinds in kpage.h's order" '["free","cma","anon","shmem","file","other"]' \
	"$(jq -c .kinds "$map" 2>&1)"
t_eq "areamap.json: maps at the first request, the first failure (EBUSY) and the last" \
	'[["first",0,true,null],["first_failure",3,false,"EBUSY"],["last",3,false,"EBUSY"]]' \
	"$(jq -c '[.maps[] | [.when, .request, .ok, .errno]]' "$map" 2>&1)"
t_eq "areamap.json: map members are those documented" \
	"errno ok pages_requested range request runs when " \
	"$(jq -r '.maps[0] | keys[]' "$map" | tr '\n' ' ')"
t_eq "areamap.json: every map's runs add up to the area's pages" '[65536,65536,65536]' \
	"$(jq -c '[.maps[] | [.runs[][1]] | add]' "$map" 2>&1)"
t_eq "areamap.json: the success's range is its buffer, inside the area; a failure's is null" \
	'[{"pfn":589823,"pages":1},null]' "$(jq -c '[.maps[0].range, .maps[1].range]' "$map" 2>&1)"
t_eq "areamap.json: runs hold the page kinds before each request" '[[[0,65536]],[[2,3072],[0,62463],[1,1]]]' \
	"$(jq -c '[.maps[0].runs, .maps[2].runs]' "$map" 2>&1)"
t_eq "areamap.json: written atomically (no temporary left)" "" "$(ls "$tmp/doc" | grep '\.tmp$')"

# command line -------------------------------------------------------------------
usage() { # desc args...: exit 2 and exactly one line on stderr naming the problem
	local desc=$1 out rc
	shift
	out=$("$BIN" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == cmabench:* ]]; then
		t_ok "$desc: exit 2, one line ($out)"
	else
		t_fail "$desc: exit 2, one line" "rc=$rc" "$out"
	fi
}
usage "unknown option" --frobnicate
usage "bad size" --sizes 1,abc
usage "bad occupancy" --occupancy 150
usage "bad inject stage" --inject nowhere:10
usage "unknown scenario" --scenario nosuch
usage "scratch missing for dirty pressure" --pressure dirty:16M
usage "missing value" --count
# the binary embeds every scenario file, and only those
t_eq "--list names the scenarios of tools/cmabench/scenarios" \
	"$(cd "$ROOT/tools/cmabench/scenarios" && ls *.conf | sed 's/\.conf$//' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$("$BIN" --list | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
out=$("$BIN" --scenario gcma-table --dry-run 2>&1)
rc=$?
case $out in
*"1,1024,4096,32000 pages"*"128 round(s)"*) t_eq "--dry-run prints the plan and exits 0" 0 $rc ;;
*) t_fail "--dry-run prints the plan and exits 0" "$out" ;;
esac
"$BIN" --help | grep -q -- '--inject STAGE:PROB' && t_ok "--help documents --inject" || t_fail "--help documents --inject"
chmod 755 "$tmp"
out=$(cd "$tmp" && setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" --scenario smoke 2>&1)
rc=$?
t_eq "without root: exit 1 and says so" "1 cmabench: must run as root (CMA debugfs, /dev/cma_bench and /proc/kpageflags need it)" "$rc $out"
t_eq "... and leaves no results directory" "" "$(ls "$tmp" | grep cmabench-)"

# structure ------------------------------------------------------------------------
# No two source files call each other, directly or round a circle: the
# file-level call graph from the objects' defined and undefined symbols.
cycles=$(/usr/bin/python3 - "$tmp/b/cmabench" <<'PY'
import glob, os, subprocess, sys
defs, undefs = {}, {}
for o in glob.glob(os.path.join(sys.argv[1], "*.o")):
    name = os.path.basename(o)[:-2]
    if name == "unit":
        continue
    d, u = set(), set()
    for line in subprocess.run(["nm", o], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBR":
            d.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            u.add(f[1])
    defs[name], undefs[name] = d, u
owner = {s: o for o, ds in defs.items() for s in ds}
graph = {o: {owner[s] for s in undefs[o] if owner.get(s, o) != o} for o in defs}
state, found = {}, []
def visit(v, path):
    state[v] = 1
    for w in sorted(graph[v]):
        if state.get(w) == 1:
            found.append(" -> ".join(path[path.index(w):] + [w]))
        elif w not in state:
            visit(w, path + [w])
    state[v] = 2
for v in sorted(graph):
    if v not in state:
        visit(v, [v])
print(len(defs) if not found else "; ".join(found))
PY
)
case $cycles in
[1-9]*) t_ok "no call cycle between cmabench's $cycles object files" ;;
*) t_fail "no call cycle between cmabench's files" "$cycles" ;;
esac

# style --------------------------------------------------------------------------
srcs=$(cd "$ROOT" && ls tools/cmabench/*.[ch] tools/cmabench/tests/*.c tools/lib/*.[ch])
if out=$(cd "$ROOT" && clang-format --dry-run -Werror $srcs 2>&1); then
	t_ok "clang-format clean"
else
	t_fail "clang-format clean" "$(echo "$out" | head -n 3)"
fi
if out=$(cd "$ROOT" && cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
	--inline-suppr --suppress=missingIncludeSystem -I tools/lib -I tools/cmabench $srcs 2>&1); then
	t_ok "cppcheck clean"
else
	t_fail "cppcheck clean" "$(echo "$out" | head -n 3)"
fi
missing=$(cd "$ROOT" && for f in $srcs tools/cmabench/scenarios/*.conf tools/cmabench/Makefile; do
	head -n 2 "$f" | grep -q 'SPDX-License-Identifier' || echo "$f"
done)
t_eq "every cmabench file starts with an SPDX line" "" "$missing"

t_done
