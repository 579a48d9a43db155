#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make regress` end to end, small: the cmakit kernel against itself on the
# smoke scenario, three alternating boots a side. Equal kernels must come out
# PASS with exit 0; every run must be in the store under its kernel's
# release, the boots must alternate, and the verdict, the kcidb document and
# the dashboard must be written. (make bench measures how often the verdict
# is right: ci/bench/regress.sh.)
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/lib.sh"
cd "$ROOT"

kernel_variant cmakit
if [ ! -f "$KV_DIR/release" ]; then
	t_stop fail "the cmakit kernel is built" "$KV_DIR/release missing (make kernel)"
fi
release=$(cat "$KV_DIR/release")
store=results/store-test-$$
dash=results/dashboard-test-$$
# regress WHAT WANT-STATUS [VAR=VALUE...]: make regress of cmakit against
# itself, smoke, three runs a side; sets out, rc and dir (its directory). The
# instruction-counting clock (one guest CPU): the host's load, which swings on
# a shared CI machine, does not reach the timings.
regress() {
	local what=$1 want=$2 t0
	shift 2
	t0=$(date +%s)
	out=$(env "$@" VM_ICOUNT=3 BASE=cmakit CAND=cmakit SCENARIOS=smoke RUNS=3 STORE=$store \
		DASHBOARD=$dash bash ci/regress.sh 2>&1 </dev/null)
	rc=$?
	t_diag "make regress, $what, took $(($(date +%s) - t0)) s"
	t_eq "regress: $what exits $want" "$want" $rc
	[ $rc -eq "$want" ] || t_diag "$(echo "$out" | tail -n 15)"
	dir=$(echo "$out" | sed -n 's/^regress: verdict \(.*\)\/verdict.html .*/\1/p' | tail -n1)
}

regress "cmakit against itself (no regression)" 0
echo "$out" | grep -q '^regress: boot 6 of 6: smoke on cand (cmakit), about' &&
	t_ok "regress: says which boot of how many, and the time left" ||
	t_fail "regress: says which boot of how many, and the time left" "$(echo "$out" | grep 'boot ' | tail -n2)"
if [ -z "$dir" ] || [ ! -f "$dir/manifest.json" ]; then
	t_fail "regress: names its directory, with a manifest" "$out"
	rm -rf "$store" "$dash"
	t_done
	exit
fi
t_ok "regress: names its directory ($dir)"

m=$dir/manifest.json
t_eq "manifest: both sides are the cmakit kernel's release" "$release $release" \
	"$(jq -r '"\(.base.release) \(.cand.release)"' "$m")"
t_eq "manifest: three runs a side" "3 3" "$(jq -r '"\(.scenarios.smoke.base | length) \(.scenarios.smoke.cand | length)"' "$m")"
bad=0
for r in $(jq -r '.scenarios.smoke.base[], .scenarios.smoke.cand[]' "$m"); do
	case $r in "$store/smoke/$release/"*) ;; *) bad=$((bad + 1)) ;; esac
	[ -s "$r/result.json" ] && [ "$(jq -r .run.kernel.release "$r/result.json")" = "$release" ] || bad=$((bad + 1))
done
t_eq "store: every run is in <store>/<scenario>/<release>/ and ran that kernel" 0 $bad
# alternating boots: ordered by the host's time at each boot (the board's
# icount clock runs ahead of it), the sides go base cand base cand ...
order=$(for r in $(jq -r '.scenarios.smoke.base[]' "$m"); do echo "$(cat "$r/host-started") B"; done
	for r in $(jq -r '.scenarios.smoke.cand[]' "$m"); do echo "$(cat "$r/host-started") C"; done)
t_eq "the boots alternate B C B C B C" "BCBCBC" "$(echo "$order" | sort | awk '{printf "%s", $2}')"

t_eq "manifest: the board's clock" "icount, shift 3" "$(jq -r .board.clock "$m")"
t_eq "verdict: PASS" PASS "$(jq -r .status "$dir/verdict.json" 2>&1)"
t_eq "verdict: the alternating runs are compared in pairs" "paired 3" \
	"$(jq -r '"\(.design) \(.pairs | length)"' "$dir/smoke/verdict.json" 2>&1)"
t_eq "verdict: the smoke scenario PASS" PASS "$(jq -r .status "$dir/smoke/verdict.json" 2>&1)"
[ -s "$dir/verdict.html" ] && t_ok "verdict.html written" || t_fail "verdict.html written"
k=$dir/kcidb.json
if [ -s "$k" ]; then
	t_eq "kcidb: version major >= 4, no null anywhere" "true 0" \
		"$(jq -r '"\(.version.major >= 4) \([paths(. == null)] | length)"' "$k")"
	t_eq "kcidb: one test per smoke metric, each under cmakit.smoke." 0 \
		"$(jq '[.tests[] | select((.path | startswith("cmakit.smoke.")) | not)] | length' "$k")"
	n=$(jq '.tests | length' "$k")
	[ "$n" -gt 3 ] && t_ok "kcidb: $n tests" || t_fail "kcidb: tests for the metrics" "$n"
else
	t_fail "kcidb.json written" "$k"
fi
[ -s "$dash/index.html" ] && t_ok "the dashboard is refreshed from the store" ||
	t_fail "the dashboard is refreshed from the store" "$dash/index.html missing"
rm -rf "$dir"

# The same kernel made slower on purpose on the candidate's boards (5 ms of
# fail_cma_delay in every cma_alloc, several times smoke's median): the
# verdict must be a regression, exit 1, naming the scenario and a latency.
knob=/sys/kernel/debug/fail_cma_delay
slow="echo alloc > $knob/stage && echo 5000 > $knob/delay-us && echo -1 > $knob/times"
slow+=" && echo 0 > $knob/verbose && echo 100 > $knob/probability"
regress "a candidate 5 ms slower per allocation (regression)" 1 CAND_BEFORE="$slow"
echo "$out" | grep -q '^  REGRESSION smoke latency_' &&
	t_ok "regress: the summary names the scenario and a latency metric" ||
	t_fail "regress: the summary names the scenario and a latency metric" "$(echo "$out" | tail -n 8)"
if [ -n "$dir" ] && [ -f "$dir/manifest.json" ]; then
	t_eq "manifest: the candidate's command is recorded" "$slow" "$(jq -r .cand.before "$dir/manifest.json")"
	t_eq "kcidb: the regression is a FAIL test" true \
		"$(jq '[.tests[] | select(.status == "FAIL")] | length > 0' "$dir/kcidb.json" 2>&1)"
else
	t_fail "regress: names its directory, with a manifest" "$(echo "$out" | tail -n 5)"
fi
rm -rf "$store" "$dir" "$dash"
t_done
