# SPDX-License-Identifier: GPL-2.0
# The hang diagnoser of the virtual board (sourced by ci/vm/run.sh): where
# each guest CPU of a board that stopped making progress is.
#
# Needs: MON (the QEMU monitor's unix socket, or monitor=none), RUN (the run's
# directory) and IMAGE (the bzImage; its vmlinux is found beside it).

# cpus_at: each guest CPU's instruction pointer, sampled a few times through
# the monitor, with the kernel function and line it is in (the board boots
# with nokaslr, so vmlinux's addresses are the running ones). The samples
# are kept in the run's cpus.txt.
# hmp COMMAND: the monitor's reply to one human-monitor command
hmp() {
	echo "$1" | timeout 10 socat -t 2 - "UNIX-CONNECT:$MON" 2>/dev/null | tr -d '\r'
}
# sample_cpus: three samples of every CPU's registers into the run's
# cpus.txt, and the kernel's vmlinux in $vmlinux; false without a monitor
sample_cpus() {
	local i
	[ "$monitor" != none ] && [ -S "$MON" ] || { echo "(no QEMU monitor: install socat)"; return 1; }
	for i in 1 2 3; do
		hmp "info registers -a"
		sleep 0.2
	done >"$RUN/cpus.txt"
	vmlinux=$(dirname "$IMAGE")/../../../vmlinux
}
cpus_at() {
	local vmlinux rip fn cpu= line f rfl state n
	sample_cpus || return 0
	# "RIP=ffffffff8103166e RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1"
	while read -r line; do
		case $line in
		CPU#*) cpu=${line%% *} ;;
		RIP=*)
			read -ra f <<<"$line"
			rip=${f[0]#RIP=} rfl=0x${f[1]#RFL=}
			state=irqs-off
			[ $((rfl & 0x200)) = 0 ] || state=irqs-on
			[ "${f[-1]}" != HLT=1 ] || state+=,halted
			echo "$cpu $rip $state" ;;
		esac
	done <"$RUN/cpus.txt" | sort | uniq -c | while read -r n cpu rip state; do
		fn=
		[ -r "$vmlinux" ] && fn=$(addr2line -f -i -e "$vmlinux" "0x$rip" 2>/dev/null | sed 's|.*/||' | paste -sd ' ')
		echo "$cpu ip $rip $state ${fn:-?} ($n of 3 samples)"
	done
	# What memory holds there: a CPU that loops on an instruction memory no
	# longer holds is executing a stale translation.
	sed -n 's/^RIP=\([0-9a-f]*\) .*/\1/p' "$RUN/cpus.txt" | sort -u | while read -r rip; do
		hmp "x /8xb 0x$rip" | sed -n "s/^0*\($rip\): */memory at \1: /p"
	done
}
