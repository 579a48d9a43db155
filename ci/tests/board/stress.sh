#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel side under injected faults, random ioctls and killed clients.
# `make test` runs this short form; `make stress` the long one (the same
# test with larger counts, on the debug kernel):
#   STRESS_FAULTS  injected failures per fail_cma stage (alloc, isolate,
#                  migrate, test) under the mixed-pressure scenario (500)
#   STRESS_IOCTLS  random /dev/cma_bench calls (5000)
#   STRESS_KILLS   cmabench runs interrupted with SIGINT, SIGTERM or SIGKILL
#                  at a random point (10)
#   STRESS_PRESSURE  the stages run under the mixed-pressure scenario: all,
#                  or migrate (the default: the others inject before any page
#                  moves, so small requests on a quiet area reach the count
#                  in a fraction of the time)
#   STRESS_SEED    the random seed (the time)
# After each part: nothing left allocated or pinned, CmaFree and the
# fail_cma knobs back at their baseline, no trace instance left. A kernel
# report on the console (oops, WARNING, lockdep, KASAN, a call trace) fails
# the board run itself. The counts reached are printed as "# stress: ..."
# lines.
. "$(dirname "$0")/lib.sh"

FAULTS=${STRESS_FAULTS:-500}
IOCTLS=${STRESS_IOCTLS:-5000}
KILLS=${STRESS_KILLS:-10}
SEED=${STRESS_SEED:-$(date +%s)}
PRESSURE=${STRESS_PRESSURE:-migrate}
case $PRESSURE in all | migrate) ;; *) echo "stress: STRESS_PRESSURE must be all or migrate, got '$PRESSURE'" >&2; exit 2 ;; esac
for v in FAULTS IOCTLS KILLS SEED; do
	case ${!v} in '' | *[!0-9]*) echo "stress: STRESS_$v must be a number, got '${!v}'" >&2; exit 2 ;; esac
done
W=$(mktemp -d /tmp/stress.XXXXXX)
area=$(cma_default_area)
pages=$(cat "$CMA_DEBUGFS/$area/count")
trap 'rm -rf "$W"' EXIT
RANDOM=$SEED
t_diag "seed $SEED"

if [ ! -e /dev/cma_bench ] || [ ! -d /sys/kernel/debug/fail_cma ]; then
	t_stop fail "the kernel has /dev/cma_bench and fail_cma" "stress needs the cmakit series (CONFIG_CMA_BENCH, CONFIG_FAIL_CMA)"
fi
if [ ! -x "$CMABENCH" ]; then
	t_stop fail "cmabench is built" "$CMABENCH missing (make tools)"
fi
board_baseline
instances0=$(ls "$TRACEFS/instances" 2>/dev/null | tr '\n' ' ')
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$CMA_DEBUGFS/$area/stats"; }

# 1. fail_cma: FAULTS injected failures at each stage ------------------------------
for stage in alloc isolate migrate test; do
	got=0 runs=0 start=$(date +%s)
	# Each run injects up to what is still missing; small requests at alloc,
	# isolate and test (every one is a fault), the scenario's own at migrate
	# (a fault needs a page to move).
	while [ $got -lt "$FAULTS" ] && [ $(($(date +%s) - start)) -lt 900 ]; do
		before=$(stat_of injected_faults)
		if [ $stage = migrate ] || [ "$PRESSURE" = all ]; then
			extra=(--scenario mixed-pressure --count 24)
		else
			extra=(--sizes 16 --count $(((FAULTS - got) / 2 + 8)) --window 1 --hold 0)
		fi
		"$CMABENCH" "${extra[@]}" --inject "$stage:100:$((FAULTS - got))" \
			--seed $((SEED + runs)) -q -o "$W/fault-$stage-$runs" >"$W/fault-$stage.out" 2>&1 || {
			t_diag "cmabench --inject $stage: $(tail -n1 "$W/fault-$stage.out")"
			break
		}
		got=$((got + $(stat_of injected_faults) - before))
		runs=$((runs + 1))
	done
	echo "# stress: fail_cma stage $stage: $got injected failures in $runs runs, $(($(date +%s) - start)) s"
	if [ $got -ge "$FAULTS" ]; then
		t_ok "fail_cma $stage: $got injected failures (goal $FAULTS)"
	else
		t_fail "fail_cma $stage: at least $FAULTS injected failures" "$got in $runs runs"
	fi
	t_nothing_left "fail_cma $stage"
done

# 2. random ioctls --------------------------------------------------------------
out=$("$PY" "$ROOT/ci/tests/board/cma_bench_fuzz.py" "$IOCTLS" "$SEED" 2>&1)
rc=$?
echo "# stress: ioctl fuzz: $out"
t_eq "$IOCTLS random /dev/cma_bench calls come back within the ABI" 0 "$rc"
t_nothing_left "after the last close of the fuzzed file"

# 3. interrupted cmabench ---------------------------------------------------------
# A run that holds buffers, pins pages and injects faults, stopped at a random
# point. SIGINT and SIGTERM: cmabench puts everything back itself. SIGKILL:
# nothing of cmabench runs, so the driver's close path must free the buffers
# and the pins; the knobs a killed cmabench set stay set, which the test
# notes and puts back.
killed=0
for ((k = 1; k <= KILLS; k++)); do
	sigs=(INT TERM KILL)
	sig=${sigs[$((RANDOM % 3))]}
	inject=(--inject migrate:20)
	[ $sig = KILL ] && inject=()
	used0=$(cma_used "$area")
	"$CMABENCH" --backend cma_bench --sizes 256,2048 --count 200 --window 4 --hold 5 \
		--occupancy 40 --pressure pin:64 "${inject[@]}" -q -o "$W/kill-$k" >"$W/kill-$k.out" 2>&1 &
	pid=$!
	# a random point once it holds buffers (up to 60 s for its start-up)
	for ((i = 0; i < 600; i++)); do
		[ "$(cma_used "$area")" -gt "$used0" ] || ! kill -0 $pid 2>/dev/null && break
		sleep 0.1
	done
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	held=$(cma_used "$area")
	kill -"$sig" $pid 2>/dev/null
	wait $pid 2>/dev/null
	rc=$?
	killed=$((killed + 1))
	if [ $sig = KILL ]; then
		echo "# stress: kill $k: SIGKILL while it held $held pages (status $rc)"
		# the file is closed when the process is gone: the driver released
		t_eq "SIGKILL $k: the driver's close freed every buffer (used $held -> $used0)" "$used0" "$(cma_used "$area")"
		if settle; then
			t_ok "SIGKILL $k: the driver's close dropped every pin"
		else
			t_fail "SIGKILL $k: the driver's close dropped every pin" "the area does not allocate at once"
		fi
	else
		echo "# stress: kill $k: SIG$sig while it held $held pages (status $rc)"
		t_eq "SIG$sig $k: cmabench exits 128+signal" $((128 + $(kill -l $sig))) "$rc"
		t_nothing_left "SIG$sig $k"
		t_eq "SIG$sig $k: no trace instance left" "$instances0" "$(ls "$TRACEFS/instances" 2>/dev/null | tr '\n' ' ')"
	fi
done
echo "# stress: $killed cmabench runs interrupted"

# 4. without root: one clear line and a non-zero exit from every tool ----------------
for cmd in "$CMABENCH --scenario smoke -q -o $W/nobody" "$CMATRACE live -o $W/nobody.jsonl -- true" \
	"$BPF/cmafail" "$BPF/cmalat 1 1" "$BPF/cmamigrate 1 1" "$BPF/cmacollect -o $W/nobody.json -- true"; do
	name=$(basename "${cmd%% *}")
	out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups $cmd 2>&1 </dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
		t_ok "without root, $name refuses in one line ($out)"
	else
		t_fail "without root, $name refuses in one line and a non-zero exit" "status $rc: $out"
	fi
done
setpriv --reuid=65534 --regid=65534 --clear-groups cat /dev/cma_bench >/dev/null 2>&1
rc=$?
t_eq "without root, /dev/cma_bench does not open (mode 600, status of cat 1)" "600 1" "$(stat -c %a /dev/cma_bench) $rc"
t_nothing_left "after the tools ran without root"
t_done
