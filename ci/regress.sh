#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make regress BASE=<variant> CAND=<variant> [SCENARIOS="camera ..."] [RUNS=5]`:
# build both kernels, run every scenario RUNS times on each in alternating
# boots (B C B C ..., so that drift of a shared machine hits both sides
# alike), keep every run in the results store and turn them into a verdict:
#
#   results/store/<scenario>/<kernel release>/<run-id>/   every run (the dashboard's input)
#   results/regress/<id>/manifest.json   what was compared: kernels, runs per side
#   results/regress/<id>/<scenario>/verdict.{json,html}, verdict.{json,html},
#   kcidb.json (analysis regress), and the dashboard in results/dashboard/
#
# STORE and DASHBOARD put the store and the dashboard elsewhere; THRESHOLD
# (percent, default 10) is the smallest change of a median that counts.
# BASE_APPEND and CAND_APPEND add kernel arguments to one side's boots (the
# same kernel with two settings, e.g. a fail_cma_delay or a placement policy).
# BASE_BEFORE and CAND_BEFORE: a command one side's boards run before the
# scenario (as root, e.g. writing a debugfs knob); it ends with the boot.
# VM_ICOUNT=SHIFT boots the board with a guest clock that counts instructions
# (ci/vm/run.sh --icount, one guest CPU): timings that the host's load does not
# move, for a shared CI machine. The manifest records the clock.
#
# Exit status: 0 no regression, 1 a regression (the summary names the
# scenario and metric), 2 could not compare (bad variant, a kernel that does
# not build, a run that failed, too few runs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"
cd "$ROOT"

bad() {
	echo "regress: $*" >&2
	exit 2
}

BASE=${BASE:-}
CAND=${CAND:-}
SCENARIOS=${SCENARIOS:-camera gcma-table pinned}
RUNS=${RUNS:-5}
THRESHOLD=${THRESHOLD:-10}
STORE=${STORE:-results/store}
DASHBOARD=${DASHBOARD:-results/dashboard}
[ -n "$BASE" ] || bad "BASE is not set (make regress BASE=<variant> CAND=<variant>)"
[ -n "$CAND" ] || bad "CAND is not set (make regress BASE=<variant> CAND=<variant>)"
case $RUNS in '' | *[!0-9]* | 0 | 1 | 2) bad "RUNS must be a whole number of at least 3, got '$RUNS'" ;; esac
case $THRESHOLD in '' | *[!0-9.]*) bad "THRESHOLD must be a percentage, got '$THRESHOLD'" ;; esac
read -ra scenarios <<<"$SCENARIOS"
[ ${#scenarios[@]} -gt 0 ] || bad "SCENARIOS is empty"
CMABENCH=build/cmabench/cmabench
[ -x "$CMABENCH" ] || bad "$CMABENCH is not built (make tools)"
known=$("$CMABENCH" --list 2>/dev/null | awk '{print $1}')
for s in "${scenarios[@]}"; do
	grep -qxF -- "$s" <<<"$known" || bad "unknown scenario '$s' (cmabench --list: $(echo $known))"
done
# Both variants must resolve before anything is built.
for v in "$BASE" "$CAND"; do
	err=$( (kernel_variant "$v") 2>&1) || bad "${err#kernel: }"
done

# Kernels --------------------------------------------------------------------------
for v in "$BASE" "$CAND"; do
	KERNEL=$v bash ci/kernel/build.sh || bad "the $v kernel did not build"
done

# describe VARIANT: the manifest's record of one side
describe() {
	kernel_variant "$1"
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$(cat "$KV_DIR/release")" "$KV_HASH" \
		"$(sha256sum "$KV_DIR/out/.config" | cut -c1-64)" "$KV_NAME"
}
IFS=$'\t' read -r _ base_release base_hash base_config _ <<<"$(describe "$BASE")"
IFS=$'\t' read -r _ cand_release cand_hash cand_config _ <<<"$(describe "$CAND")"

id=$(date +%Y%m%d-%H%M%S)-$$
dir=results/regress/$id
mkdir -p "$dir"
info "regress: $BASE ($base_release) against $CAND ($cand_release): ${scenarios[*]}, $RUNS runs each, in $dir"

# Boots ----------------------------------------------------------------------------
declare -A runs=()
total=$((RUNS * ${#scenarios[@]} * 2))
n=0
t0=$(date +%s)
for ((i = 1; i <= RUNS; i++)); do
	for s in "${scenarios[@]}"; do
		for side in base cand; do
			if [ $side = base ]; then
				v=$BASE rel=$base_release app=${BASE_APPEND:-} before=${BASE_BEFORE:-}
			else
				v=$CAND rel=$cand_release app=${CAND_APPEND:-} before=${CAND_BEFORE:-}
			fi
			n=$((n + 1))
			left=
			if [ $n -gt 1 ]; then
				el=$(($(date +%s) - t0))
				eta=$((el * (total - n + 1) / (n - 1)))
				left=", about $((eta / 60))m$(printf %02d $((eta % 60)))s left at this pace"
			fi
			info "regress: boot $n of $total: $s on $side ($v)$left"
			rd=$STORE/$s/$rel/$id-$side$i
			if ! out=$(KERNEL=$v VM_APPEND="${VM_APPEND:-}${VM_APPEND:+ }$app" RUN_DIR=$rd RUN_REPORT=0 \
				RUN_BEFORE=$before bash ci/run.sh "$s" 2>&1); then
				echo "$out" | tail -n 5 | sed 's/^/regress:   /' >&2
				bad "run $i of $s on $side ($v) failed; its files: $rd"
			fi
			runs[$s.$side]+="$rd "
		done
	done
done
info "regress: $total boots in $(($(date +%s) - t0)) s"

# The manifest, then the verdict ----------------------------------------------------
args=()
for s in "${scenarios[@]}"; do
	args+=("$s" "${runs[$s.base]}" "${runs[$s.cand]}")
done
/usr/bin/python3 - "$dir/manifest.json" "$id" "$RUNS" "$THRESHOLD" \
	"$BASE" "$base_release" "$base_hash" "$base_config" \
	"$CAND" "$cand_release" "$cand_hash" "$cand_config" \
	"$(git rev-parse HEAD 2>/dev/null || echo unknown)" "$(uname -m)" "${BASE_APPEND:-}" "${CAND_APPEND:-}" \
	"${BASE_BEFORE:-}" "${CAND_BEFORE:-}" \
	"${args[@]}" <<'PY'
import datetime, json, sys
a = sys.argv[1:]
out, rid, runs, thr = a[0], a[1], int(a[2]), float(a[3]) / 100
def side(v, rel, h, cfg, app, before):
    d = {"variant": v, "release": rel, "arch": a[13], "git_commit": a[12], "patches": h, "config": cfg}
    if app:
        d["append"] = app
    if before:
        d["before"] = before
    return d
import os
ic = os.environ.get("VM_ICOUNT", "")
doc = {"schema": "cmakit.regress/1.0", "id": rid,
       "board": {"clock": f"icount, shift {ic}" if ic else "host", "pairing": "alternating boots"},
       "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "runs": runs, "threshold": thr,
       "base": side(*a[4:8], a[14], a[16]), "cand": side(*a[8:12], a[15], a[17]), "scenarios": {}}
rest = a[18:]
for i in range(0, len(rest), 3):
    doc["scenarios"][rest[i]] = {"base": rest[i + 1].split(), "cand": rest[i + 2].split()}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
import os
os.replace(out + ".tmp", out)
PY
set +e
/usr/bin/python3 -m analysis regress "$dir" --store "$STORE" --dashboard "$DASHBOARD"
rc=$?
set -e
echo "regress: verdict $dir/verdict.html (kcidb: $dir/kcidb.json)"
exit $rc
