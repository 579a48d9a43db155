#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run ci/lava/qemu-job.yaml.in with LAVA's own dispatcher (lava-run, Debian's
# lava-dispatcher) on this machine, without a LAVA server: build the images
# (ci/lava/mkimages.sh), fill in the job template and the QEMU device
# configuration (ci/lava/qemu-device.yaml.in), run the job and collect what
# LAVA recorded.
#
# usage: ci/lava/lava-run.sh [options] OUTDIR
#   --scenarios LIST  cmabench scenarios, NAME or NAME:MIN_SUCCESS (default smoke)
#   --kernel FILE     bzImage (default the kernel ci/vm/run.sh boots: the
#                     variant of KERNEL=..., the normal build by default)
#   --print-kernel    print the default bzImage's path and exit
#   --cma SIZE        cma= of the board (default 256M)
#   --timeout SEC     the whole lava-run (default 900)
#   --images DIR      the images of ci/lava/mkimages.sh DIR (default: build them)
#   --validate        only validate the job against the device (lava-run --validate)
#
# OUTDIR receives job.yaml, device.yaml, images/, lava.log (LAVA's log, one
# JSON object per line), results.tsv (one line per test case of the
# cmakit-scenarios definition: set, case, result, measurement, units) and
# board/ (cmabench's results directories, shared with the board over 9p).
# Exit status: 0 the job and every case passed, 1 a case failed or the job
# did not complete, 2 usage or setup error (one line on stderr).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/ci/lib.sh"

scenarios=smoke
# The board's kernel, found the way ci/vm/run.sh finds it.
default_kernel() {
	if declare -F kernel_variant >/dev/null && declare -F kernel_spec >/dev/null; then
		kernel_variant "$(kernel_spec)" >/dev/null || return 2
		echo "$KV_IMAGE"
	else
		echo "$ROOT/build/kernel/out/arch/x86/boot/bzImage"
	fi
}
kernel=
cma=256M
timeout=900
validate=0
images=
usage() {
	echo "lava-run: $* (usage: ci/lava/lava-run.sh [--scenarios LIST] [--kernel FILE] [--cma SIZE] [--timeout SEC] [--images DIR] [--validate] [--print-kernel] OUTDIR)" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--scenarios | --kernel | --cma | --timeout | --images) [ -n "${2:-}" ] || usage "$1 needs a value" ;;
	esac
	case $1 in
	--scenarios) scenarios=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--cma) cma=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--images) images=$2; shift 2 ;;
	--validate) validate=1; shift ;;
	--print-kernel) default_kernel; exit ;;
	-*) usage "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage "expected OUTDIR"
[ -n "$kernel" ] || kernel=$(default_kernel) || exit 2
out=$(mkdir -p "$1" && cd "$1" && pwd) || usage "cannot create $1"
case $timeout in '' | *[!0-9]*) usage "--timeout needs seconds, got '$timeout'" ;; esac
case $cma in *[!0-9KMG]* | '') usage "--cma needs a size such as 256M, got '$cma'" ;; esac
for s in $scenarios; do
	case $s in *[!A-Za-z0-9._:-]*) usage "bad scenario '$s'" ;; esac
done
command -v lava-run >/dev/null || { echo "lava-run: lava-run is missing (Debian package lava-dispatcher)" >&2; exit 2; }
[ -r "$kernel" ] || { echo "lava-run: no kernel at $kernel (make kernel, or --kernel FILE)" >&2; exit 2; }
kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")

if [ -n "$images" ]; then
	[ -r "$images/ramdisk.cpio.gz" ] && [ -r "$images/cmakit-bundle.tar.gz" ] ||
		usage "--images $images: no ramdisk.cpio.gz and cmakit-bundle.tar.gz there (ci/lava/mkimages.sh)"
	mkdir -p "$out/images"
	cp "$images/ramdisk.cpio.gz" "$images/cmakit-bundle.tar.gz" "$out/images/"
else
	"$ROOT/ci/lava/mkimages.sh" "$out/images" >/dev/null || exit 2
fi
mkdir -p "$out/board"

# The board: the options of ci/vm/run.sh's QEMU (TCG on one host thread,
# qboot when present) with the serial console on stdio, where LAVA talks to
# it, and OUTDIR/board shared writable as cmakit-out.
opts="[-nographic, -nodefaults, '-serial mon:stdio', '-accel tcg,thread=single', '-cpu max', '-m 2048', '-smp 2', -no-reboot"
[ -r /usr/share/qemu/qboot.rom ] && opts+=", '-bios /usr/share/qemu/qboot.rom'"
opts+=", '-virtfs local,path=$out/board,mount_tag=cmakit-out,security_model=none,multidevs=remap']"
sed "s|@QEMU_OPTIONS@|$opts|" "$ROOT/ci/lava/qemu-device.yaml.in" >"$out/device.yaml"
sed -e "s|@KERNEL_URL@|file://$kernel|" \
	-e "s|@RAMDISK_URL@|file://$out/images/ramdisk.cpio.gz|" \
	-e "s|@BUNDLE_URL@|file://$out/images/cmakit-bundle.tar.gz|" \
	-e "s|@SCENARIOS@|$scenarios|" -e "s|@CMA@|$cma|" -e "s|@OUT@|/mnt/out|" \
	"$ROOT/ci/lava/qemu-job.yaml.in" >"$out/job.yaml"
if grep -n '@[A-Z_]*@' "$out/job.yaml" "$out/device.yaml" >&2; then
	echo "lava-run: placeholders left in the job or the device" >&2
	exit 2
fi

# lava-run keeps its work in /var/lib/lava/dispatcher/tmp/<job id> and
# removes it at the end: a job id of our own keeps parallel runs apart.
job_id=cmakit-$$
cleanup() { rm -rf "$out/work" "/var/lib/lava/dispatcher/tmp/$job_id"; }
trap cleanup EXIT
args=(--job-id "$job_id" --output-dir "$out/work" --device "$out/device.yaml")
if [ "$validate" = 1 ]; then
	lava-run "${args[@]}" --validate "$out/job.yaml" >"$out/lava.log" 2>&1
	rc=$?
	grep -q '"case": "validate", "definition": "lava", "result": "pass"' "$out/lava.log" && [ $rc -eq 0 ] && exit 0
	grep '"lvl": "error"\|"error_msg"' "$out/lava.log" | head -n 3 >&2
	exit 1
fi
start=$(date +%s)
timeout -k 10 "$timeout" lava-run "${args[@]}" "$out/job.yaml" </dev/null >"$out/lava.log" 2>&1
rc=$?
echo "$(($(date +%s) - start))" >"$out/seconds"

# The cases LAVA recorded for the definition (its results, not the shell's).
/usr/bin/python3 - "$out/lava.log" >"$out/results.tsv" <<'EOF' || exit 1
import sys, yaml
# lava-run logs one YAML flow mapping per line ({"dt": ..., "lvl": ..., "msg": ...}).
for line in open(sys.argv[1], errors="replace"):
    if '"lvl": "results"' not in line:
        continue
    try:
        msg = yaml.load(line, Loader=yaml.SafeLoader)["msg"]
    except (yaml.YAMLError, LookupError, TypeError):
        continue
    if not isinstance(msg, dict):
        continue
    if msg.get("definition") == "lava":
        if msg.get("case") == "job":
            print("\t".join(["lava", "job", str(msg.get("result", "")), "", ""]))
        continue
    print("\t".join(str(msg.get(k, "")) for k in ("set", "case", "result", "measurement", "units")))
EOF
job=$(awk -F '\t' '$1 == "lava" && $2 == "job" { print $3 }' "$out/results.tsv")
cases=$(awk -F '\t' '$1 != "lava"' "$out/results.tsv" | wc -l)
failed=$(awk -F '\t' '$1 != "lava" && $3 == "fail"' "$out/results.tsv" | wc -l)
echo "lava-run: job ${job:-unfinished} (lava-run status $rc, $(cat "$out/seconds")s), $cases cases, $failed failed: $out/results.tsv" >&2
[ "$rc" -eq 0 ] && [ "$job" = pass ] && [ "$cases" -gt 0 ] && [ "$failed" -eq 0 ]
