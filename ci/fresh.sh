#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's two commands on a fresh Debian 12 machine, simulated: a
# bookworm root made with mmdebstrap holding what such a machine has
# (priority required and important, plus build-essential, git, python3 and
# ca-certificates), a clean clone of this repository's HEAD in /root/cmakit,
# and there, as root, `make run` and then `make test`, with /proc, /sys and
# /dev of the machine inside (QEMU runs in the root; without /dev/kvm it
# uses TCG). A release check: it downloads a few hundred packages and does
# a cold kernel build, so it is not part of `make test`.
#
# usage: ci/fresh.sh [--run-only] [--keep] [--variant NAME] [--dir DIR]
#   --run-only      make run only, no make test
#   --keep          keep the root afterwards (default: removed on exit)
#   --variant NAME  mmdebstrap's package set before the four packages above
#                   (default important; apt or required are stricter)
#   --dir DIR       where the root and the logs go (default build/fresh/<time>)
# Environment: FRESH_MIRROR (the Debian mirror; default the one this
# machine's apt uses), FRESH_SECURITY (the security mirror), SCENARIO.
#
# It prints each step's time and the total (and that of a second make run,
# on the warm tree), and keeps the logs (mmdebstrap, make run, make test,
# times) in the run's directory. Exit status: 0 when
# every step passed, 1 when one failed (named on the last line), 2 for bad
# usage.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"

run_only=0
keep=0
variant=important
dir=
while [ $# -gt 0 ]; do
	case $1 in
	--run-only) run_only=1; shift ;;
	--keep) keep=1; shift ;;
	--variant | --dir)
		[ -n "${2:-}" ] || { echo "fresh: $1 needs a value" >&2; exit 2; }
		case $1 in --variant) variant=$2 ;; --dir) dir=$2 ;; esac
		shift 2 ;;
	-h | --help) sed -n '/^# usage:/,/^# Environment/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	*) echo "fresh: unknown argument $1 (--run-only, --keep, --variant NAME, --dir DIR)" >&2; exit 2 ;;
	esac
done
case $variant in
essential | apt | required | minbase | buildd | important | debootstrap | standard) ;;
*) echo "fresh: --variant must be one of apt, required, minbase, buildd, important, standard; got '$variant'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "fresh: must run as root (it makes a chroot and bind-mounts /dev)" >&2; exit 2; }
for t in unshare chroot git; do
	command -v $t >/dev/null || { echo "fresh: $t is missing" >&2; exit 2; }
done
if ! command -v mmdebstrap >/dev/null; then
	info "fresh: installing mmdebstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null 2>&1 ||
		{ echo "fresh: mmdebstrap is missing and apt-get install mmdebstrap failed" >&2; exit 2; }
fi

# The mirror this machine's apt uses for bookworm (one-line or deb822 sources).
# mirror_of SUITE: the first URI that serves SUITE
mirror_of() {
	local suite=$1 f
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -E 's/\[[^]]*\]//' |
		awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }'
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: the stanza whose Types has deb and whose Suites has SUITE
		awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
			{ uri = ""; hit = 0; deb = 0
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
				if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
				if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) hit = 1 }
			  }
			  if (hit && deb && uri != "") { print uri; exit } }' "$f"
	done
}
mirror=${FRESH_MIRROR:-$(mirror_of bookworm | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${FRESH_SECURITY:-$(mirror_of bookworm-security | head -n1)}
security=${security:-http://deb.debian.org/debian-security}

stamp=$(date +%Y%m%d-%H%M%S)
dir=${dir:-$ROOT/build/fresh/$stamp}
mkdir -p "$dir" || exit 2
dir=$(cd "$dir" && pwd)
R=$dir/root
[ ! -e "$R" ] || { echo "fresh: $R exists already" >&2; exit 2; }
TIMES=$dir/times.txt
: >"$TIMES"
NSPID=

cleanup() {
	[ -z "$NSPID" ] || kill -TERM "$NSPID" 2>/dev/null
	NSPID=
	if [ $keep = 1 ]; then
		[ ! -d "$R" ] || info "fresh: the root is kept in $R"
	elif [ -d "$R" ]; then
		# The mounts lived in the run's own mount namespace, which is gone:
		# nothing of the machine's /dev or /sys is below $R any more.
		if grep -qF " $R/" /proc/self/mountinfo; then
			echo "fresh: something is still mounted below $R; not removing it" >&2
		else
			rm -rf --one-file-system "$R"
		fi
	fi
}
# interrupted: the steps of make run so far, then the cleanup
interrupted() {
	local log d k
	for log in "$dir/run.log" "$dir/run-warm.log" "$dir/test.log"; do
		[ -s "$log" ] && info "fresh: interrupted in $(basename "$log" .log) after $(tail -n1 "$log" | awk '{print $1}') s: $(tail -n1 "$log" | cut -c7-120)"
	done
	cleanup
	echo "fresh: interrupted (logs: $dir)" >&2
	exit 130
}
trap interrupted INT TERM HUP
trap cleanup EXIT

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# step NAME SECONDS: one line of the times table, on stderr and in times.txt
step() {
	printf '%-28s %6d s  %s\n' "$1" "$2" "$(fmt "$2")" | tee -a "$TIMES" >&2
}
T0=$(date +%s)

# 1. The root --------------------------------------------------------------------
info "fresh: making a bookworm root ($variant + build-essential git python3 ca-certificates) from $mirror in $R"
t=$(date +%s)
if ! mmdebstrap --variant="$variant" --include=build-essential,git,python3,ca-certificates \
	bookworm "$R" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
	"deb $security bookworm-security main" >"$dir/mmdebstrap.log" 2>&1; then
	tail -n 20 "$dir/mmdebstrap.log" >&2
	die "fresh: mmdebstrap failed (log: $dir/mmdebstrap.log)"
fi
step "root (mmdebstrap)" $(($(date +%s) - t))
pkgs=$(chroot "$R" dpkg-query -W -f='${db:Status-Status}\n' | grep -cx installed)
info "fresh: the root has $pkgs packages, $(du -sm --one-file-system "$R" | cut -f1) MiB"
cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true

# 2. A clean clone ---------------------------------------------------------------
head=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-hardlinks "$ROOT" "$R/root/cmakit" || die "fresh: git clone failed"
info "fresh: cloned $(git -C "$ROOT" log -1 --format='%h %s' HEAD) into /root/cmakit"
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] ||
	info "fresh: note: the working tree has uncommitted changes; the clone has HEAD only"

# inside CMD LOG: run CMD with bash in /root/cmakit of the root, as root, in a
# login environment of its own, in a mount and pid namespace of its own (so
# the mounts and every process go with it), each output line stamped with
# the seconds since the start into LOG and shown as it comes.
inside() {
	local cmd=$1 log=$2 rc
	unshare --mount --pid --fork --kill-child --propagation private -- bash -c '
		R=$1
		mount -t proc proc "$R/proc" &&
		mount --rbind /sys "$R/sys" && mount --make-rslave "$R/sys" &&
		mount --rbind /dev "$R/dev" && mount --make-rslave "$R/dev" || exit 125
		exec chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			SCENARIO="$3" /bin/bash -lc "cd /root/cmakit && $2"' fresh "$R" "$cmd" "${SCENARIO:-}" \
		</dev/null > >(printf -v t0 '%(%s)T' -1; while IFS= read -r l; do
			printf -v now '%(%s)T' -1
			printf '%5d %s\n' $((now - t0)) "$l"
		done | tee "$log" >&2) 2>&1 &
	NSPID=$!
	wait "$NSPID"
	rc=$?
	NSPID=
	sleep 0.5 # the stamping pipe drains
	return $rc
}

# phase_times LOG: the steps of `make run` from its stamped output, as
# "deps kernel tools board" seconds ("-" for a step not reached): make deps
# until the first "kernel:" line, the kernel until the first other line
# after it (the tools' build; make's own error lines aside), the tools until
# the first "run:" line, the board run and report until the last line. A
# step that failed lasts until the last line.
phase_times() {
	awk '
		{ t = $1; sub(/^ *[0-9]+ /, "") }
		NR == 1 { start["deps"] = 0; phase = "deps" }
		/^kernel: / && !("kernel" in start) { start["kernel"] = t; phase = "kernel" }
		phase == "kernel" && !/^kernel: / && !/^make(\[[0-9]+\])?: / { start["tools"] = t; phase = "tools" }
		/^run: / && !("board" in start) { start["board"] = t; phase = "board" }
		{ last = t }
		END {
			n = split("deps kernel tools board", p, " ")
			for (i = 1; i <= n; i++) {
				if (!(p[i] in start)) { out = out " -"; continue }
				e = last
				for (j = i + 1; j <= n; j++) if (p[j] in start) { e = start[p[j]]; break }
				out = out " " (e - start[p[i]])
			}
			print substr(out, 2)
		}' "$1"
}

# 3. make run --------------------------------------------------------------------
info "fresh: make run (log: $dir/run.log)"
t=$(date +%s)
inside "make run${SCENARIO:+ SCENARIO=$SCENARIO}" "$dir/run.log"
rc=$?
total=$(($(date +%s) - t))
read -r d k tl b < <(phase_times "$dir/run.log")
n=$(sed -n 's/^ *[0-9]* deps: installing \([0-9]*\) package.*/\1/p' "$dir/run.log" | head -n1)
step "packages (make deps${n:+, $n})" "$d"
[ "$k" = - ] || step "kernel" "$k"
[ "$tl" = - ] || step "tools" "$tl"
[ "$b" = - ] || step "board run and report" "$b"
step "make run in all" "$total"
if [ $rc -ne 0 ]; then
	grep -E 'not found|command not found|No such file|missing' "$dir/run.log" | tail -n 5 >&2
	step "total" $(($(date +%s) - T0))
	die "fresh: make run failed with status $rc on the fresh machine (log: $dir/run.log)"
fi
report=$(sed -n 's/^ *[0-9]* run: report //p' "$dir/run.log" | tail -n1)
[ -z "$report" ] || info "fresh: the report: /root/cmakit/$report (inside the root)"

# make run again: what a user waits for once everything is built
info "fresh: make run again, on the warm tree (log: $dir/run-warm.log)"
t=$(date +%s)
inside "make run${SCENARIO:+ SCENARIO=$SCENARIO}" "$dir/run-warm.log"
rc=$?
step "make run, warm tree" $(($(date +%s) - t))
[ $rc -eq 0 ] || die "fresh: make run failed the second time with status $rc (log: $dir/run-warm.log)"

# 4. make test -------------------------------------------------------------------
if [ $run_only = 0 ]; then
	info "fresh: make test (log: $dir/test.log)"
	t=$(date +%s)
	inside "make test" "$dir/test.log"
	rc=$?
	step "make test" $(($(date +%s) - t))
	tail_line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$dir/test.log" | tail -n1 | sed 's/^ *[0-9]* //')
	info "fresh: make test: ${tail_line:-no tally}"
	if [ $rc -ne 0 ]; then
		step "total" $(($(date +%s) - T0))
		sed -n 's/^ *[0-9]* //; /^failures:/,/passed,/p' "$dir/test.log" | head -n 30 >&2
		die "fresh: make test failed with status $rc on the fresh machine (log: $dir/test.log)"
	fi
fi

step "total" $(($(date +%s) - T0))
info "fresh: passed at $(git -C "$ROOT" log -1 --format=%h "$head") (logs: $dir)"
