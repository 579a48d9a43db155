# SPDX-License-Identifier: GPL-2.0
# The hang diagnoser of the arm64 board (sourced by ci/vm/run.sh beside
# ci/vm/hang.sh, whose hmp and sample_cpus it uses): where each guest CPU is.
#
# cpus_at_arm64: each CPU's program counter, sampled three times through
# the monitor, whether it runs with interrupts masked (PSTATE.I), and the
# kernel function and line it is in (nokaslr: vmlinux's addresses are the
# running ones). The samples are kept in the run's cpus.txt.
cpus_at_arm64() {
	local vmlinux line cpu= pc= ps state f fn n
	sample_cpus || return 0
	# "CPU#0", then " PC=ffff80000801a2b4 X00=...", later "PSTATE=600000c5 -ZC- EL1h"
	while read -r line; do
		case $line in
		CPU#*) cpu=${line%% *} pc= ;;
		PC=*) read -ra f <<<"$line"; pc=${f[0]#PC=} ;;
		PSTATE=*)
			read -ra f <<<"$line"
			ps=0x${f[0]#PSTATE=}
			state=irqs-on
			[ $((ps & 0x80)) = 0 ] || state=irqs-off
			echo "$cpu $pc $state ${f[-1]}" ;;
		esac
	done <"$RUN/cpus.txt" | sort | uniq -c | while read -r n cpu pc state el; do
		fn=
		[ -r "$vmlinux" ] && fn=$(addr2line -f -i -e "$vmlinux" "0x$pc" 2>/dev/null | sed 's|.*/||' | paste -sd ' ')
		echo "$cpu pc $pc $state $el ${fn:-?} ($n of 3 samples)"
	done
}
