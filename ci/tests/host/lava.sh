#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ci/lava/: the LAVA test definition, the QEMU job template, the images, the
# metrics script, and the job itself run by LAVA's own dispatcher (lava-run,
# Debian's lava-dispatcher) against the QEMU device, with the real kernel and
# cmabench: every measurement LAVA recorded must be the value of the
# scenario's result.json. Without lava-dispatcher, the definition's run
# steps run on the virtual board instead, with a lava-test-case that records
# its arguments (LAVA's interface, not a model of cmakit), and that is said.
# LAVA_RUN=no takes that path even where lava-dispatcher is installed.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
L=$ROOT/ci/lava
PY=/usr/bin/python3
DEF=$L/cmakit-scenarios.yaml
JOB=$L/qemu-job.yaml.in
DEV=$L/qemu-device.yaml.in
BUSYBOX=$(command -v busybox)
KERNEL=${VM_KERNEL:-$("$L/lava-run.sh" --print-kernel)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_lava_run() { [ "${LAVA_RUN:-}" != no ] && command -v lava-run >/dev/null; }

if ! $PY -c 'import yaml' 2>/dev/null; then
	t_fail "python3-yaml is installed (make deps)"
	t_done
	exit
fi
# yq EXPR FILE: a Python expression over the document `d`, printed.
yq() {
	$PY -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[2]))
v = eval(sys.argv[1])
print(v if not isinstance(v, (list, dict)) else " ".join(map(str, v)))' "$1" "$2" 2>&1
}

# the test definition ----------------------------------------------------------
t_eq "definition: metadata.format" "Lava-Test Test Definition 1.0" "$(yq 'd["metadata"]["format"]' "$DEF")"
name=$(yq 'd["metadata"]["name"]' "$DEF")
# LAVA: a definition name holds none of $&"'`()<>/\|; and no white space.
if [ -n "$name" ] && ! printf '%s' "$name" | grep -q "[][\$&\"'\`()<>/\\|;[:space:]]"; then
	t_ok "definition: metadata.name '$name' is a valid LAVA name"
else
	t_fail "definition: metadata.name is a valid LAVA name" "$name"
fi
t_eq "definition: metadata has a description, version, os, devices" "True" \
	"$(yq 'all(d["metadata"].get(k) for k in ("description", "version", "os", "devices"))' "$DEF")"
t_eq "definition: params" "CMABENCH_ARGS CMAKIT MAX_P99_MS MIN_SUCCESS OUT SCENARIOS" \
	"$(yq 'sorted(d["params"])' "$DEF")"
# LAVA writes each parameter as NAME='value' into run.sh.
t_eq "definition: every parameter is a string without a quote" "True" \
	"$(yq 'all(isinstance(v, str) and "\x27" not in v for v in d["params"].values())' "$DEF")"
t_eq "definition: run.steps is a list of strings" "True" \
	"$(yq 'bool(d["run"]["steps"]) and all(isinstance(s, str) for s in d["run"]["steps"])' "$DEF")"

# run.sh the way LAVA assembles it (lava_dispatcher/actions/deploy/testdef.py):
# the parameters, then set -e, then the steps one per line.
runsh() { # runsh DEF [NAME=VALUE...]: the run script with parameter overrides
	$PY - "$@" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print("###default parameters from test definition###")
for k, v in d.get("params", {}).items():
    print("%s='%s'" % (k, v or ""))
print("###test parameters from job submission###")
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    print("%s='%s'" % (k, v))
print("set -e")
for s in d["run"]["steps"]:
    print(s)
EOF
}
runsh "$DEF" >"$tmp/run.sh"
if out=$(sh -n "$tmp/run.sh" 2>&1 && busybox sh -n "$tmp/run.sh" 2>&1); then
	t_ok "definition: the run script parses (sh -n, busybox sh -n)"
else
	t_fail "definition: the run script parses (sh -n, busybox sh -n)" "$out"
fi

# the images --------------------------------------------------------------------
img=$tmp/img
if out=$("$L/mkimages.sh" "$img" 2>&1); then
	t_ok "mkimages builds the bundle and the ramdisk"
else
	t_fail "mkimages builds the bundle and the ramdisk" "$out"
fi
mkdir -p "$tmp/bundle" "$tmp/ramdisk"
tar -C "$tmp/bundle" -xzf "$img/cmakit-bundle.tar.gz" 2>/dev/null
(cd "$tmp/ramdisk" && gzip -dc "$img/ramdisk.cpio.gz" | cpio -id --quiet 2>/dev/null)
CB=$tmp/bundle/build/cmabench/cmabench
file "$CB" 2>&1 | grep -q 'statically linked' && t_ok "bundle: cmabench is static" ||
	t_fail "bundle: cmabench is static" "$(file "$CB" 2>&1)"
cmp -s "$tmp/bundle/ci/lava/cmakit-metrics.sh" "$L/cmakit-metrics.sh" &&
	cmp -s "$tmp/bundle/ci/lava/cmakit-scenarios.yaml" "$DEF" &&
	t_ok "bundle: the metrics script and the definition at their checkout paths" ||
	t_fail "bundle: the metrics script and the definition at their checkout paths" "$(cd "$tmp/bundle" && find . -type f)"
cmp -s "$tmp/ramdisk/init" "$L/board-init.sh" && [ -x "$tmp/ramdisk/init" ] &&
	file "$tmp/ramdisk/bin/busybox" | grep -q 'statically linked' &&
	t_ok "ramdisk: /init is board-init.sh, /bin/busybox is static" ||
	t_fail "ramdisk: /init is board-init.sh, /bin/busybox is static" "$(cd "$tmp/ramdisk" && ls -l init bin 2>&1)"
missing=
for s in $(yq 'd["params"]["SCENARIOS"]' "$DEF"); do
	"$CB" --list 2>/dev/null | awk '{print $1}' | grep -qx -- "${s%%:*}" || missing+=" $s"
done
t_eq "definition: the default scenarios are cmabench's" "" "$missing"
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	if out=$(ARCH=arm64 "$L/mkimages.sh" "$tmp/arm64" 2>&1) &&
		tar -xzOf "$tmp/arm64/cmakit-bundle.tar.gz" build/cmabench/cmabench >"$tmp/arm64/cmabench" &&
		file "$tmp/arm64/cmabench" | grep -q 'ARM aarch64.*statically linked'; then
		t_ok "mkimages ARCH=arm64: a bundle with a static arm64 cmabench for a real board"
	else
		t_fail "mkimages ARCH=arm64: a bundle with a static arm64 cmabench for a real board" "$out" "$(file "$tmp/arm64/cmabench" 2>&1)"
	fi
else
	t_skip "mkimages ARCH=arm64: a bundle with a static arm64 cmabench" "gcc-aarch64-linux-gnu not installed (make deps)"
fi
out=$("$L/mkimages.sh" 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && t_ok "mkimages without OUTDIR: one line, status 2" ||
	t_fail "mkimages without OUTDIR: one line, status 2" "status $rc: $out"
out=$(ARCH=mips "$L/mkimages.sh" "$tmp/bad" 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [ ! -e "$tmp/bad" ] &&
	t_ok "mkimages ARCH=mips: one line, status 2, nothing made" ||
	t_fail "mkimages ARCH=mips: one line, status 2, nothing made" "status $rc: $out"

# the job template and the device -------------------------------------------------
placeholders=$(grep -o '@[A-Z_]*@' "$JOB" | sort -u | tr '\n' ' ')
undocumented=
for p in $placeholders; do
	grep -q "$p" "$L/README.md" || undocumented+=" $p"
done
t_eq "job template: placeholders @KERNEL_URL@ @RAMDISK_URL@ @BUNDLE_URL@ @SCENARIOS@ @CMA@ @OUT@" \
	"@BUNDLE_URL@ @CMA@ @KERNEL_URL@ @OUT@ @RAMDISK_URL@ @SCENARIOS@ " "$placeholders"
t_eq "job template: README.md explains every placeholder" "" "$undocumented"
sed -e "s|@KERNEL_URL@|file://$KERNEL|" -e "s|@RAMDISK_URL@|file://$img/ramdisk.cpio.gz|" \
	-e "s|@BUNDLE_URL@|file://$img/cmakit-bundle.tar.gz|" -e "s|@SCENARIOS@|smoke|" \
	-e "s|@CMA@|256M|" -e "s|@OUT@|/tmp/cmakit-lava|" "$JOB" >"$tmp/job.yaml"
a='d["actions"]'
t_eq "job: device_type qemu, actions deploy, boot, test" "qemu deploy boot test" \
	"$(yq 'd["device_type"] + " " + " ".join(list(x)[0] for x in d["actions"])' "$tmp/job.yaml")"
t_eq "job: deploy to tmpfs, kernel and ramdisk with image_arg" "tmpfs True" \
	"$(yq "$a[0]['deploy']['to'] + ' ' + str(all('image_arg' in $a[0]['deploy']['images'][k] for k in ('kernel', 'ramdisk')))" "$tmp/job.yaml")"
t_eq "job: LAVA's overlay and the bundle go into the cpio ramdisk" "cpio.newc True /opt/cmakit" \
	"$(yq "(lambda r: r['format'] + ' ' + str(r['overlays']['lava']) + ' ' + r['overlays']['cmakit']['path'])($a[0]['deploy']['images']['ramdisk'])" "$tmp/job.yaml")"
t_eq "job: the kernel gets cma=256M" "True" "$(yq "'cma=256M' in $a[0]['deploy']['images']['kernel']['image_arg']" "$tmp/job.yaml")"
prompt=$(yq "$a[1]['boot']['prompts'][0]" "$tmp/job.yaml")
t_eq "job: boot method qemu, the prompt is the board's PS1" "qemu cmakit-board# " \
	"$(yq "$a[1]['boot']['method']" "$tmp/job.yaml") $(sed -n "s/^export PS1='\(.*\)'$/\1/p" "$L/board-init.sh")"
[ "$prompt" = "cmakit-board# " ] || t_diag "prompt of the job: '$prompt'"
t_eq "job: the test runs ci/lava/cmakit-scenarios.yaml from the bundle" "url ci/lava/cmakit-scenarios.yaml True" \
	"$(yq "(lambda t: t['from'] + ' ' + t['path'] + ' ' + str(t['repository'] == $a[0]['deploy']['images']['ramdisk']['overlays']['cmakit']['url']))($a[2]['test']['definitions'][0])" "$tmp/job.yaml")"
t_eq "job: its parameters are the definition's" "True" \
	"$(yq "set($a[2]['test']['definitions'][0]['parameters']) <= set(yaml.safe_load(open('$DEF'))['params'])" "$tmp/job.yaml")"
sed "s|@QEMU_OPTIONS@|[-nographic]|" "$DEV" >"$tmp/device.yaml"
t_eq "device: qemu, x86_64, boot method qemu with a command" "qemu x86_64 qemu-system-x86_64" \
	"$(yq 'd["device_type"] + " " + d["available_architectures"][0] + " " + d["actions"]["boot"]["methods"]["qemu"]["parameters"]["command"]' "$tmp/device.yaml")"

# the metrics script on fixtures, in a busybox-only environment -------------------
bb=$tmp/bb
mkdir -p "$bb"
for a in $(busybox --list); do ln -s "$(command -v busybox)" "$bb/$a"; done
rm -f "$bb/lava-test-case"
cat >"$bb/lava-test-case" <<'EOF'
#!/bin/sh
# lava-test-case as the tests see it: the arguments, one call a line.
echo "$*" >>"$CASES"
EOF
chmod +x "$bb/lava-test-case"
fixture() { # fixture FILE STATUS OK FAILED ERRORS USER_NS MATCH
	cat >"$1" <<EOF
{
  "schema": "cmakit.cmabench/1.0",
  "run": {"id": "x", "status": "$2", "scenario": {"name": "smoke", "description": "a \"quoted\" {text}", "source": "builtin"}},
  "allocations": [{"seq": 0, "ok": false, "errno": 16, "error": "EBUSY", "user_ns": 5}],
  "summary": {
    "allocations": $(($3 + $4)), "ok": $3, "failed": $4,
    "errors": $5,
    "user_ns": $6,
    "by_size": [{"pages": 1, "errors": {"EINTR": 9}, "user_ns": {"p50": 1, "p99": 1}}],
    "accounting": {"records": 1, "match": $7}
  }
}
EOF
}
metrics() { # metrics ARGS...: cases in $tmp/cases, status in $rc, stderr in $err
	: >"$tmp/cases"
	err=$(CASES=$tmp/cases PATH=$bb "$BUSYBOX" sh "$L/cmakit-metrics.sh" "$@" 2>&1 >/dev/null)
	rc=$?
}
fixture "$tmp/f1.json" DONE 6 2 '{"EBUSY": 1, "ENOMEM": 1}' \
	'{"n": 6, "min": 10, "mean": 20, "p50": 1500, "p90": 2500, "p99": 2750000, "max": 2750000}' true
metrics --min-success 75 --max-p99-ms 2.75 smoke "$tmp/f1.json"
t_eq "metrics: the cases of a run with failures (busybox only)" "0
smoke-cmabench --result pass
smoke-accounting --result pass
smoke-success-rate --result pass --measurement 75.00 --units %
smoke-latency-p50 --result pass --measurement 1500 --units ns
smoke-latency-p99 --result pass --measurement 2750000 --units ns
smoke-failed --result pass --measurement 2 --units requests
smoke-failed-EBUSY --result pass --measurement 1 --units requests
smoke-failed-ENOMEM --result pass --measurement 1 --units requests" "$rc
$(cat "$tmp/cases")"
metrics --min-success 75.01 --max-p99-ms 2.7499 smoke "$tmp/f1.json"
t_eq "metrics: below --min-success and above --max-p99-ms fail" "smoke-success-rate --result fail
smoke-latency-p99 --result fail" "$(grep -E 'success-rate|p99' "$tmp/cases" | cut -d' ' -f1-3)"
metrics smoke "$tmp/f1.json"
t_eq "metrics: --min-success defaults to 100" "smoke-success-rate --result fail" \
	"$(grep success-rate "$tmp/cases" | cut -d' ' -f1-3)"
fixture "$tmp/f2.json" INTERRUPTED 0 3 '{"EBUSY": 3}' null false
metrics --min-success 0 --status 130 pinned "$tmp/f2.json"
t_eq "metrics: no success: latency skipped; interrupted run and accounting mismatch fail" "pinned-cmabench --result fail
pinned-accounting --result fail
pinned-success-rate --result pass --measurement 0.00 --units %
pinned-latency-p50 --result skip
pinned-latency-p99 --result skip
pinned-failed --result pass --measurement 3 --units requests
pinned-failed-EBUSY --result pass --measurement 3 --units requests" "$(cat "$tmp/cases")"
fixture "$tmp/f3.json" DONE 4 0 '{}' '{"p50": 1, "p99": 2}' true
metrics --status 1 smoke "$tmp/f3.json"
t_eq "metrics: a non-zero cmabench status fails the cmabench case" "smoke-cmabench --result fail" "$(head -n1 "$tmp/cases")"
# bad input: one line, non-zero, no case reported
head -c 300 "$tmp/f1.json" >"$tmp/trunc.json"
sed 's/cmakit.cmabench\/1.0/other\/2.0/' "$tmp/f1.json" >"$tmp/schema.json"
for c in "1|missing file|smoke $tmp/none.json" "1|truncated JSON|smoke $tmp/trunc.json" \
	"1|another schema|smoke $tmp/schema.json" "1|not JSON|smoke $L/board-init.sh" \
	"2|a bad case name|a/b $tmp/f1.json" "2|--min-success 101|--min-success 101 smoke $tmp/f1.json" \
	"2|an unknown option|--bogus smoke $tmp/f1.json" "2|no file|smoke"; do
	want=${c%%|*}
	c=${c#*|}
	# shellcheck disable=SC2086
	metrics ${c#*|}
	if [ "$rc" = "$want" ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && [ -n "$err" ] && [ ! -s "$tmp/cases" ]; then
		t_ok "metrics, ${c%%|*}: one line, status $want, no case"
	else
		t_fail "metrics, ${c%%|*}: one line, status $want, no case" "status $rc: $err" "$(cat "$tmp/cases")"
	fi
done
# The result.json of a long run (20,000 records) on busybox awk.
{
	echo '{"schema": "cmakit.cmabench/1.0", "run": {"status": "DONE"}, "allocations": ['
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%s{\"seq\": %d, \"ok\": true, \"errno\": 0, \"error\": null, \"user_ns\": %d, \"occupancy\": {\"used\": 0.5, \"pages\": {\"free\": 1}}}\n", i ? "," : "", i, 1000 + i }'
	echo '], "summary": {"allocations": 20000, "ok": 20000, "failed": 0, "errors": {}, "user_ns": {"p50": 11000, "p99": 20800}, "accounting": {"match": true}}}'
} >"$tmp/big.json"
s=$(date +%s%N)
metrics big "$tmp/big.json"
ms=$((($(date +%s%N) - s) / 1000000))
t_eq "metrics: a 20,000-record result.json ($((($(stat -c %s "$tmp/big.json") + 524288) / 1048576)) MiB) in ${ms} ms" \
	"big-latency-p99 --result pass --measurement 20800 --units ns" "$(grep p99 "$tmp/cases")"

# LAVA itself: lava-run against the QEMU device -----------------------------------
if ! have_lava_run; then
	t_skip "lava-run validates the job against the QEMU device" "lava-run not used: lava-dispatcher not installed (make deps) or LAVA_RUN=no"
elif out=$("$L/lava-run.sh" --validate --images "$img" --kernel "$KERNEL" "$tmp/validate" 2>&1); then
	t_ok "lava-run validates the job against the QEMU device"
else
	t_fail "lava-run validates the job against the QEMU device" "$out"
fi

# result.json vs the cases LAVA recorded (or the shim, without lava-dispatcher):
# check_cases RESULTS.TSV BOARD_DIR, lines "set<TAB>case<TAB>result<TAB>measurement<TAB>units"
check_cases() {
	$PY - "$1" "$2" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
got = {r[1]: r for r in rows if r[1].startswith("smoke-")}
r = json.load(open(sys.argv[2] + "/smoke/result.json"))["summary"]
want = {
    "smoke-success-rate": ("%.2f" % (100 * r["ok"] / r["allocations"]), "%"),
    "smoke-latency-p50": (r["user_ns"]["p50"], "ns"),
    "smoke-latency-p99": (r["user_ns"]["p99"], "ns"),
    "smoke-failed": (r["failed"], "requests"),
}
for e, n in r["errors"].items():
    want["smoke-failed-" + e] = (n, "requests")
bad = []
for case, (v, unit) in want.items():
    g = got.get(case)
    if not g or float(g[3]) != float(v) or g[4] != unit:
        bad.append("%s: result.json %s %s, recorded %s" % (case, v, unit, g and g[3:5]))
extra = set(got) - set(want) - {"smoke-cmabench", "smoke-accounting"}
if extra:
    bad.append("cases result.json does not explain: %s" % sorted(extra))
sets = {g[0] for g in got.values()}
if sets != {"smoke"}:
    bad.append("test sets %s, want smoke" % sorted(sets))
print("; ".join(bad) or "equal (%d cases: %s)" % (len(got), ", ".join(
    "%s=%s" % (c[6:], got[c][3]) for c in sorted(got) if got[c][3])))
EOF
}

if [ ! -r "$KERNEL" ]; then
	t_fail "the kernel is built ($KERNEL)" "make kernel"
elif have_lava_run; then
	out_dir=$ROOT/build/test/lava
	rm -rf "$out_dir"
	# smoke, and a scenario cmabench does not know: its case must fail and
	# fail the run, in the same boot.
	out=$("$L/lava-run.sh" --scenarios "smoke nosuch" --images "$img" --kernel "$KERNEL" "$out_dir" 2>&1)
	rc=$?
	t_diag "$out"
	tsv=$out_dir/results.tsv
	job=$(awk -F '\t' '$1 == "lava" && $2 == "job" { print $3 }' "$tsv" 2>/dev/null)
	smoke=$(awk -F '\t' '$1 == "smoke" { print $2 "=" $3 }' "$tsv" 2>/dev/null | tr '\n' ' ')
	if [ "$job" = pass ] && [ -n "$smoke" ] && ! echo "$smoke" | grep -qv '=pass '; then
		t_ok "lava-run runs the job on the QEMU device: job pass, every smoke case pass"
	else
		t_fail "lava-run runs the job on the QEMU device: job pass, every smoke case pass" "job '${job}', smoke: $smoke" \
			"$(grep -v '"lvl": "debug"' "$out_dir/lava.log" 2>/dev/null | grep -E '"(error|exception)"' | cut -c1-300 | tail -n 8)"
	fi
	t_eq "lava-run: an unknown scenario fails its case, and the run exits 1" "nosuch nosuch-cmabench fail 1" \
		"$(awk -F '\t' '$1 == "nosuch" { print $1, $2, $3 }' "$tsv" 2>/dev/null) $rc"
	reports=$(grep '"lvl": "target"' "$out_dir/lava.log" 2>/dev/null |
		grep -E 'Oops|BUG:|WARNING:|Kernel panic|KASAN|possible circular locking|general protection' | cut -c1-200 | head -n 3)
	t_eq "lava-run: the board's console shows no kernel oops, BUG, WARNING or panic" "" "$reports"
	t_eq "lava-run: the job did not leave its work directory behind" "" \
		"$(ls -d /var/lib/lava/dispatcher/tmp/cmakit-* "$out_dir/work" 2>/dev/null)"
	res=$(check_cases "$out_dir/results.tsv" "$out_dir/board" 2>&1)
	t_eq "lava-run: LAVA's measurements are result.json's values, in test set smoke" "equal" "${res%% (*}"
	t_diag "lava-run: $res"
else
	# No lava-dispatcher: the definition's steps on the virtual board, with a
	# lava-test-case/lava-test-set that record their arguments.
	t_diag "lava-run not used (lava-dispatcher not installed, or LAVA_RUN=no): running the definition's steps on the virtual board instead"
	run=$ROOT/results/lava-steps-$$
	mkdir -p "$run/bin" "$run/board"
	cp -r "$tmp/bundle" "$run/cmakit"
	cat >"$run/bin/lava-test-case" <<'EOF'
#!/bin/sh
# LAVA's interface: record the call (the set, then the arguments).
set=$(cat "$LAVA_SET" 2>/dev/null)
name=$1; shift
r=; m=; u=
while [ $# -gt 0 ]; do
	case $1 in --result) r=$2 ;; --measurement) m=$2 ;; --units) u=$2 ;; esac
	shift 2
done
printf '%s\t%s\t%s\t%s\t%s\n' "$set" "$name" "$r" "$m" "$u" >>"$LAVA_CASES"
EOF
	cat >"$run/bin/lava-test-set" <<'EOF'
#!/bin/sh
case $1 in start) echo "$2" >"$LAVA_SET" ;; stop) : >"$LAVA_SET" ;; esac
EOF
	printf '#!/bin/sh\necho "lava-test-raise: $*" >&2\nexit 1\n' >"$run/bin/lava-test-raise"
	chmod +x "$run/bin/"*
	runsh "$DEF" CMAKIT="$run/cmakit" SCENARIOS=smoke OUT="$run/board" >"$run/run.sh"
	ci_out=$(cd "$ROOT" && "$ROOT/ci/vm/run.sh" -- \
		"PATH=$run/bin:\$PATH LAVA_SET=$run/set LAVA_CASES=$run/results.tsv sh -e $run/run.sh" </dev/null 2>&1)
	rc=$?
	t_eq "the definition's steps run on the virtual board" 0 "$rc"
	[ $rc -eq 0 ] || t_diag "$(echo "$ci_out" | tail -n 10)"
	res=$(check_cases "$run/results.tsv" "$run/board" 2>&1)
	t_eq "the recorded measurements are result.json's values, in test set smoke" "equal" "${res%% (*}"
	t_diag "$res"
	rm -rf "$run"
fi
t_done
