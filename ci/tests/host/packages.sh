#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The package audit: every program the main job and the cheap host suites
# actually execute comes from a Debian package that a fresh machine has
# after `make deps`: one listed in ci/packages.txt or ci/packages.d/*.txt,
# a dependency of one (recursively), or one of priority required or
# important (ci/pkgaudit.py says how each is decided). A machine that has a
# package for other reasons hides a missing line; the trace does not.
#
# Traced with strace -f -e trace=execve (seccomp-bpf: only execve stops):
#   1. ci/kernel/build.sh on the built tree: make, headers_install, the
#      selftests' make (nothing to recompile; about a minute)
#   2. make tools, from scratch in a copy of the sources (the compilers)
#   3. the main job, ci/run.sh with its default scenario: on the host (the
#      runner, QEMU, the report), and inside the board the same command
#      chain under the guest's strace (the guest runs this machine's
#      programs over 9p), and the board's init (about 4 minutes)
#   4. the cheap host suites that need no board (PKGAUDIT_SUITES; lint
#      is left out: 2.5 minutes for perl, which is required, beyond what
#      the others run; analysis too: traced it costs about 7 minutes of
#      make test, for python3, pytest and chromium, which its own suite
#      already fails without. PKGAUDIT_SUITES='analysis ...' traces it.)
# Each part gives one `ok` line, or one `not ok` per package that is not
# fine, naming it and its programs. The traces and the tables (program,
# package, why it is fine) stay in build/test/packages/. PKGAUDIT_PARTS
# picks parts (unit kernel tools board suites). There is no cache: which
# programs run depends on the code as much as on the lists.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
. "$ROOT/ci/tests/tap.sh"
. "$ROOT/ci/lib.sh"
PY=/usr/bin/python3
AUDIT=$ROOT/ci/pkgaudit.py
OUT=$ROOT/build/test/packages
PARTS=${PKGAUDIT_PARTS:-unit kernel tools board suites}
SUITES=${PKGAUDIT_SUITES:-bpf cmabench cmatrace unit}
mkdir -p "$OUT"
tmp=$(mktemp -d)
chmod 755 "$tmp"
guest_dir=
run_dir=
cleanup() {
	rm -rf "$tmp"
	[ -z "$guest_dir" ] || rm -rf "$guest_dir"
	[ -z "$run_dir" ] || rm -rf "$run_dir"
}
trap cleanup EXIT
part() { [[ " $PARTS " == *" $1 "* ]]; }

if ! command -v strace >/dev/null; then
	t_fail "strace is installed" "run 'make deps'"
	t_done
	exit
fi

# trace NAME CMD...: CMD under strace into $OUT/NAME.trace, its output in
# $OUT/NAME.log; returns CMD's status
trace() {
	local name=$1
	shift
	strace -f --seccomp-bpf -z -qq -e trace=execve -s 512 -o "$OUT/$name.trace" \
		"$@" >"$OUT/$name.log" 2>&1 </dev/null
}

# traced NAME WHAT STATUS: after `trace NAME ...` begun at $start, say how
# long it took and how it ended (its log's tail when it failed)
traced() {
	t_diag "$2 traced in $(($(date +%s) - start)) s (status $3, log build/test/packages/$1.log)"
	[ "$3" = 0 ] || t_diag "$(tail -n 3 "$OUT/$1.log")"
	done_with "$3"
}

# audit DESC TRACE...: one ok line, or a not ok line per package not fine;
# $incomplete notes a traced command that failed (it may not have run all)
incomplete=
done_with() {
	incomplete=
	[ "$1" = 0 ] || incomplete="; incomplete: it exited with status $1"
}
audit() {
	local desc=$1 bad rc n pkg prio progs
	shift
	bad=$("$PY" "$AUDIT" --base "$ROOT" --table "$OUT/${desc%%:*}.table" "$@" 2>"$tmp/audit.err")
	rc=$?
	n=$(sed -n '1s/^# \([0-9]*\) programs.*/\1/p' "$OUT/${desc%%:*}.table" 2>/dev/null)
	case $rc in
	0) t_ok "$desc: every program it runs comes from a listed, depended-on or required package (${n:-?} programs$incomplete)" ;;
	1)
		while IFS=$'\t' read -r pkg prio progs; do
			t_fail "$desc: $pkg (${progs//,/, }) is neither in ci/packages*.txt, nor a dependency of a listed package, nor of priority required/important (it is $prio)" \
				"add it to ci/packages.txt or ci/packages.d/<component>.txt with the reason"
		done <<<"$bad" ;;
	*) t_fail "$desc: the audit ran" "$(cat "$tmp/audit.err")" ;;
	esac
}

# 0. The audit itself, on fixture traces ---------------------------------------
if part unit; then
	start=$(date +%s%N)
	lists=$tmp/lists
	cat "$ROOT"/ci/packages.txt "$ROOT"/ci/packages.d/*.txt >"$lists"
	grep -vE '^rsync([[:space:]#]|$)' "$lists" >"$tmp/no-rsync"
	printf '%s\n' \
		'4711 execve("/usr/bin/rsync", ["rsync", "-mrl", "usr/include", "x"], 0x7ffd /* 30 vars */) = 0' \
		'4712 execve("/usr/local/bin/nothing", ["nothing"], 0x7ffd /* 30 vars */) = -1 ENOENT (No such file or directory)' \
		'4713 execve("ci/board/status.sh", ["ci/board/status.sh"], 0x55 /* 30 vars */) = 0' >"$tmp/rsync.trace"
	out=$(CMAKIT_PACKAGES=$tmp/no-rsync "$PY" "$AUDIT" --base "$ROOT" "$tmp/rsync.trace" 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == rsync$'\t'*$'\t'/usr/bin/rsync ]] &&
		t_ok "audit: rsync run by the build but missing from the lists fails, naming rsync and /usr/bin/rsync" ||
		t_fail "audit: rsync run by the build but missing from the lists fails, naming rsync and /usr/bin/rsync" "status $rc: $out"
	out=$(CMAKIT_PACKAGES=$lists "$PY" "$AUDIT" --base "$ROOT" "$tmp/rsync.trace" 2>&1)
	t_eq "audit: ... and passes with rsync listed (project scripts and failed execs are no packages)" "0:" "$?:$out"

	# /bin/rsync is /usr/bin/rsync on a merged /usr; a script's interpreter runs too
	echo '3 execve("/bin/rsync", ["rsync"], 0x1 /* 1 var */) = 0' >"$tmp/merged.trace"
	printf '#!/usr/bin/rsync --daemon\n' >"$tmp/script"
	chmod +x "$tmp/script"
	echo "5 execve(\"$tmp/script\", [\"script\"], 0x1 /* 1 var */) = 0" >"$tmp/script.trace"
	for t in "merged:/bin/rsync on a merged /usr" "script:a script's interpreter"; do
		out=$(CMAKIT_PACKAGES=$tmp/no-rsync "$PY" "$AUDIT" "$tmp/${t%%:*}.trace" 2>&1)
		t_eq "audit: rsync is found behind ${t#*:}" "1 rsync" "$? $(echo "$out" | cut -f1)"
	done

	# dependencies count, recursively: make comes with build-essential (via
	# no list of ours), awk is an alternative that a required package (mawk)
	# provides on a fresh machine whichever one this machine chose
	printf '%s\n' '1 execve("/usr/bin/make", ["make"], 0x1 /* 1 var */) = 0' \
		'2 execve("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", ["cc1"], 0x1 /* 1 var */) = 0' >"$tmp/make.trace"
	echo build-essential >"$tmp/be"
	out=$(CMAKIT_PACKAGES=$tmp/be "$PY" "$AUDIT" "$tmp/make.trace" 2>&1)
	t_eq "audit: make and cc1 are fine as dependencies of build-essential" "0:" "$?:$out"
	out=$(CMAKIT_PACKAGES=/dev/null "$PY" "$AUDIT" "$tmp/make.trace" 2>&1)
	t_eq "audit: ... and not without it" "1 cpp-12 make" "$? $(echo "$out" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
	echo '1 execve("/usr/bin/awk", ["awk"], 0x1 /* 1 var */) = 0' >"$tmp/awk.trace"
	out=$(CMAKIT_PACKAGES=/dev/null "$PY" "$AUDIT" "$tmp/awk.trace" 2>&1)
	t_eq "audit: awk is fine with no list (an alternative of required mawk)" "0:" "$?:$out"

	# bad input: one line, status 2
	echo 'no system calls here' >"$tmp/empty.trace"
	out=$("$PY" "$AUDIT" "$tmp/empty.trace" 2>&1)
	rc=$?
	[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && t_ok "audit: a trace without execve gives one line and status 2" ||
		t_fail "audit: a trace without execve gives one line and status 2" "status $rc: $out"
	out=$(CMAKIT_PACKAGES=$tmp/none "$PY" "$AUDIT" "$tmp/rsync.trace" 2>&1)
	rc=$?
	t_eq "audit: a missing list gives one line and status 2" "2 1" "$rc $(echo "$out" | wc -l)"
	t_diag "the audit's own checks took $((($(date +%s%N) - start) / 1000000)) ms"
fi

# 1. The kernel build on the built tree -----------------------------------------
if part kernel; then
	kernel_variant "$(kernel_spec)" >/dev/null 2>&1 || true
	image=${KV_IMAGE:-}
	[ -f "$image" ] || image=$(ls "$ROOT"/build/kernel/out/arch/x86/boot/bzImage "$ROOT"/build/kernel/*/out/arch/x86/boot/bzImage 2>/dev/null | head -n1)
	if [ -z "$image" ] || [ ! -f "$image" ]; then
		t_skip "kernel build: audit of its programs" "no kernel built yet (make kernel): tracing a cold build takes 10 minutes"
	else
		# build.sh waits for a build under way itself (flock)
		start=$(date +%s)
		trace kernel bash "$ROOT/ci/kernel/build.sh"
		traced kernel "kernel build" $?
		audit "kernel: ci/kernel/build.sh" "$OUT/kernel.trace"
	fi
fi

# 2. make tools from scratch ----------------------------------------------------
if part tools; then
	start=$(date +%s)
	# the sources as they are (tracked and new files), none of the objects;
	# the kernel's vmlinux for the BPF types comes from build/kernel
	mkdir -p "$tmp/tree/build"
	git -C "$ROOT" ls-files -z -co --exclude-standard -- Makefile ci tools bpf |
		tar -C "$ROOT" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$tmp/tree" -xf -
	ln -s "$ROOT/build/kernel" "$tmp/tree/build/kernel"
	trace tools make -C "$tmp/tree" tools
	traced tools "make tools" $?
	audit "tools: make tools" "$OUT/tools.trace"
fi

# 3. The main job: host and board -------------------------------------------------
if part board; then
	board_ok=1
	[ -x "$ROOT/build/cmabench/cmabench" ] || board_ok=0
	[ -f "${image:-}" ] || image=$(ls "$ROOT"/build/kernel/out/arch/x86/boot/bzImage "$ROOT"/build/kernel/*/out/arch/x86/boot/bzImage 2>/dev/null | head -n1)
	[ -n "$image" ] || board_ok=0
	# ci/run.sh as it is, but the command it gives the board runs under the
	# guest's strace, into the results share
	n=$(grep -c '"$ROOT/ci/vm/run.sh" --' "$ROOT/ci/run.sh")
	if [ $board_ok = 0 ]; then
		t_skip "main job: audit of its programs" "the kernel or cmabench is not built (make kernel tools)"
	elif [ "$n" != 1 ]; then
		t_fail "main job: ci/run.sh starts the board once with \"\$ROOT/ci/vm/run.sh\" --" \
			"found $n such calls: the audit wraps that call's command in the guest's strace"
	else
		start=$(date +%s)
		guest_dir=$ROOT/results/.pkgaudit.$$
		run_dir=$guest_dir/run
		mkdir -p "$guest_dir"
		script=$(sed 's|"$ROOT/ci/vm/run.sh" --|& strace -f --seccomp-bpf -z -qq -e trace=execve -s 512 -o "$PKGAUDIT_GUEST" bash -c|' "$ROOT/ci/run.sh")
		PKGAUDIT_GUEST=$guest_dir/guest.trace RUN_DIR=$run_dir trace board-host bash -c "$script" "$ROOT/ci/run.sh"
		rc=$?
		cp "$guest_dir/guest.trace" "$OUT/board-guest.trace" 2>/dev/null
		# without RUN_DIR support the run is in results/<id>: ours to remove
		made=$(sed -n 's/^run: \(report\|results\) \(results\/[^/]*\).*/\2/p' "$OUT/board-host.log" | tail -n1)
		case $made in results/?*) [ ! -d "$ROOT/$made" ] || rm -rf "${ROOT:?}/$made" ;; esac
		traced board-host "main job" $rc
		if grep -q 'execve("[^"]*cmabench"' "$OUT/board-guest.trace" 2>/dev/null; then
			t_ok "main job: the guest's trace saw cmabench run"
		else
			t_fail "main job: the guest's trace saw cmabench run" "no cmabench in $OUT/board-guest.trace"
		fi
		grep -q 'execve("[^"]*qemu-system-x86_64"' "$OUT/board-host.trace" &&
			t_ok "main job: the host's trace saw QEMU start" ||
			t_fail "main job: the host's trace saw QEMU start" "no qemu-system-x86_64 in $OUT/board-host.trace"
		audit "board: the main job on the host" "$OUT/board-host.trace"
		# before the command the guest's kernel runs init= (ci/vm/init.sh,
		# a busybox script), which no strace sees: taken from QEMU's -append
		init=$(grep 'execve("[^"]*qemu-system-x86_64"' "$OUT/board-host.trace" | grep -o ' init=[^ "]*' | head -n1 | cut -d= -f2)
		: >"$OUT/board-init.trace"
		[ -z "$init" ] || echo "1 execve(\"$init\", [\"init\"], 0x1 /* 1 var */) = 0" >"$OUT/board-init.trace"
		[ ! -s "$OUT/board-guest.trace" ] ||
			audit "guest: the board's init and the main job inside the board" "$OUT/board-guest.trace" $([ -s "$OUT/board-init.trace" ] && echo "$OUT/board-init.trace")
	fi
fi

# 4. The host suites that need no board -----------------------------------------
if part suites; then
	start=$(date +%s)
	traces=()
	failed=
	for s in $SUITES; do
		[ -f "$ROOT/ci/tests/host/$s.sh" ] || { t_fail "suites: $s is a host suite" "no ci/tests/host/$s.sh"; continue; }
		trace "suite-$s" bash "$ROOT/ci/tests/host/$s.sh"
		rc=$?
		f=$(grep -c '^not ok' "$OUT/suite-$s.log")
		[ $rc = 0 ] || { t_diag "suite $s exited $rc ($f failed; its own tally counts them)"; failed+=" $s"; }
		traces+=("$OUT/suite-$s.trace")
	done
	t_diag "host suites ($SUITES) traced in $(($(date +%s) - start)) s"
	incomplete=${failed:+; incomplete: suite(s)$failed failed}
	[ ${#traces[@]} = 0 ] || audit "suites: the host suites $SUITES" "${traces[@]}"
fi
t_done
