#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board tests of cmabench's disk-backed page cache on the scratch ext4 disk
# of run.sh --disk: dirty pressure is really written back (vmstat
# nr_written) from files on that disk (its block usage), and the disk holds
# nothing of cmabench's afterwards; a file-page fill holds occupancy with
# file pages the disk has written; O_DIRECT pressure reads from the disk
# (its I/O counters); disk-backed kinds without --scratch, or with a tmpfs
# one, are refused with one line.
. "$(dirname "$0")/lib.sh"
BIN=$CMABENCH
W=$(mktemp -d /tmp/cmabench-disk.XXXXXX)
area=$(cma_default_area)
S=${CMAKIT_SCRATCH:-}

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
# blocks in use, inodes in use and the block size of the scratch file system
fs_use() { stat -f -c '%b %f %c %d %S' "$S" | awk '{ print $1 - $2, $3 - $4, $5 }'; }
listing() { ls -A "$S" | tr '\n' ' '; }
# reads and writes completed on the scratch disk (Documentation/block/stat.rst)
disk_io() { awk '{ print $1, $5 }' "/sys/block/$blk/stat"; }
# DESC MIN VALUE DETAIL: VALUE is at least MIN
t_at_least() { if [ "$3" -ge "$2" ]; then t_ok "$1 ($4)"; else t_fail "$1" "$4"; fi; }

if [ ! -x "$BIN" ]; then
	t_fail "cmabench is built" "$BIN missing (make tools)"
	t_done
	exit
fi
if [ -z "$S" ]; then
	t_fail "the board has a scratch disk (CMAKIT_SCRATCH)" \
		"CMAKIT_SCRATCH is unset: boot the board with ci/vm/run.sh --disk SIZE"
	t_done
	exit
fi
dev=$(awk -v d="$S" '$2 == d && $3 == "ext4" { print $1 }' /proc/mounts)
if [ -z "$dev" ]; then
	t_fail "CMAKIT_SCRATCH ($S) is an ext4 mount" "$(grep -F " $S " /proc/mounts || echo "not mounted")"
	t_done
	exit
fi
blk=${dev#/dev/}
t_ok "CMAKIT_SCRATCH ($S) is an ext4 mount of $dev"

# 1. disk-backed kinds need a disk ---------------------------------------------------
for k in file:16M dirty:16M odirect:1; do
	out=$("$BIN" --sizes 1024 --count 1 --pressure $k -o "$W/noscratch" -q 2>&1)
	t_eq "--pressure $k without --scratch: exit 2, one line naming --scratch" \
		"2 cmabench: --pressure ${k%%:*} needs --scratch DIR on a disk file system" "$? $out"
done
out=$("$BIN" --sizes 1024 --count 1 --fill dirty --occupancy 30 -o "$W/noscratch" -q 2>&1)
t_eq "--fill dirty without --scratch: exit 2, one line" \
	"2 cmabench: --fill dirty needs --scratch DIR on a disk file system" "$? $out"
out=$("$BIN" --sizes 1024 --count 1 --pressure dirty:16M --scratch /tmp -o "$W/tmpfs" -q 2>&1)
t_eq "--scratch on tmpfs: exit 1, one line naming tmpfs" \
	"1 cmabench: --scratch /tmp is on tmpfs, which has no disk-backed page cache; use a disk file system (ext4)" "$? $out"
t_eq "... and no results directory is left behind" "no" "$([ -e "$W/tmpfs" ] && echo yes || echo no)"

# 2. dirty pressure: written back from the scratch disk, nothing left --------------------
sync
read -r used0 inodes0 bsize <<<"$(fs_use)"
ls0=$(listing)
w0=$(vmstat nr_written)
"$BIN" --sizes 1024,4096 --count 4 --hold 250 --pressure dirty:64M --scratch "$S" \
	-o "$W/dirty" -q 2>"$W/err" &
pid=$!
peak=0
wb=0
while kill -0 $pid 2>/dev/null; do
	read -r u _ _ <<<"$(fs_use)"
	[ "$u" -le "$peak" ] || peak=$u
	x=$(vmstat nr_writeback)
	[ "$x" -le "$wb" ] || wb=$x
	sleep 0.2
done
wait $pid
rc=$?
w1=$(vmstat nr_written)
r=$W/dirty/result.json
if [ $rc -eq 0 ] && [ -s "$r" ]; then
	t_eq "dirty:64M: the run completes (status DONE)" DONE "$(jq -r .run.status "$r")"
	t_eq "dirty:64M: result.json lists the pressure with its bytes" '[{"kind":"dirty","bytes":67108864}]' \
		"$(jq -c '[.run.pressure[] | {kind, bytes}]' "$r")"
	t_eq "dirty:64M: the records equal the kernel's counter deltas" true "$(jq .summary.accounting.match "$r")"
else
	t_fail "dirty:64M: the run completes" "rc=$rc $(cat "$W/err")"
fi
# Every page of the 64 MiB file is put under writeback at least once: the
# writer starts writeback on 4 MiB of it every 20 ms.
written=$((w1 - w0))
t_at_least "dirty:64M: the kernel wrote back at least the 16384 pages of the file" 16384 $written "nr_written +$written"
grown=$(((peak - used0) * bsize >> 20))
t_at_least "dirty:64M: the file lived on the scratch disk (64 MiB more in use during the run)" 64 $grown "+$grown MiB"
sync
read -r used1 inodes1 _ <<<"$(fs_use)"
t_eq "dirty:64M: the scratch directory holds what it held before" "$ls0" "$(listing)"
t_eq "dirty:64M: the scratch file system's blocks and inodes in use are back at their baseline" \
	"$used0 $inodes0" "$used1 $inodes1"
t_eq "dirty:64M: debugfs used is back at 0" 0 "$(cma_used "$area")"
t_diag "dirty:64M: nr_written +$written pages, nr_writeback peak $wb, scratch peak +$grown MiB," \
	"latency ms $(jq -c '[.allocations[] | .user_ns / 1e6 | floor]' "$r" 2>&1), $(jq .run.duration_s "$r" 2>&1) s"

# 3. file fill: occupancy held with file pages the disk has written -------------------
w0=$(vmstat nr_written)
"$BIN" --sizes 1024,2048 --count 3 --fill file --occupancy 50:5 --scratch "$S" -o "$W/file" -q 2>"$W/err"
rc=$?
w1=$(vmstat nr_written)
r=$W/file/result.json
if [ $rc -eq 0 ] && [ -s "$r" ]; then
	t_eq "fill file, occupancy 50% +- 5%: every one of 6 requests started within tolerance" "6 6 file" \
		"$(jq -r '"\(.summary.occupancy.n) \(.summary.occupancy.within_tolerance) \(.run.config.fill)"' "$r")"
	# the fill is file pages: at least 90% of the area's used pages before every request
	t_eq "fill file: file pages make up at least 90% of the used pages before every request" 0 \
		"$(jq '[.allocations[].occupancy.pages | select(.file < 0.9 * (.anon + .shmem + .file + .other))] | length' "$r")"
	# clean page cache: each file page was written to the disk before it counted
	file0=$(jq '.allocations[0].occupancy.pages.file' "$r")
	if [ $((w1 - w0)) -ge "$file0" ]; then
		t_ok "fill file: the kernel wrote at least the area's $file0 file pages (nr_written +$((w1 - w0)))"
	else
		t_fail "fill file: the kernel wrote at least the area's $file0 file pages" "nr_written +$((w1 - w0))"
	fi
	t_diag "fill file: used $(jq -c '[.allocations[].occupancy.used]' "$r"), file pages $(jq -c '[.allocations[].occupancy.pages.file]' "$r")"
	t_diag "fill file: landing $(jq -c '[.allocations[].occupancy.landing]' "$r");" \
		"latency ms, busy retries: $(jq -c '[.allocations[] | [(.user_ns / 1e6 | floor), .retries]]' "$r")"
else
	t_fail "fill file, occupancy 50%: the run completes" "rc=$rc $(cat "$W/err")"
fi
sync
t_eq "fill file: the scratch directory and file system are as before" "$ls0 $used0 $inodes0" "$(listing) $(fs_use | cut -d' ' -f1,2)"
t_eq "fill file: debugfs used is back at 0" 0 "$(cma_used "$area")"

# 4. odirect pressure: O_DIRECT reads reach the disk -----------------------------------
# The reads go into the fill memory, so the run needs an occupancy target.
read -r rd0 _ <<<"$(disk_io)"
"$BIN" --sizes 1024,4096 --count 3 --hold 250 --occupancy 40 --pressure odirect:2 --scratch "$S" \
	-o "$W/odirect" -q 2>"$W/err"
rc=$?
read -r rd1 _ <<<"$(disk_io)"
r=$W/odirect/result.json
if [ $rc -eq 0 ] && [ -s "$r" ]; then
	t_eq "odirect:2: the run completes and lists the pressure (no bytes)" 'DONE [{"kind":"odirect","bytes":null}]' \
		"$(jq -r .run.status "$r") $(jq -c '[.run.pressure[] | {kind, bytes}]' "$r")"
else
	t_fail "odirect:2: the run completes" "rc=$rc $(cat "$W/err")"
fi
# Nothing else reads the scratch disk: every read is one of cmabench's
# 64 KiB O_DIRECT reads, which bypass the page cache.
reads=$((rd1 - rd0))
t_at_least "odirect:2: at least 100 reads reached the scratch disk" 100 $reads "$reads reads completed on $blk"
sync
t_eq "odirect:2: the scratch directory and file system are as before" "$ls0 $used0 $inodes0" "$(listing) $(fs_use | cut -d' ' -f1,2)"
t_eq "odirect:2: debugfs used is back at 0" 0 "$(cma_used "$area")"
t_diag "odirect:2: $reads reads; ok/failed $(jq -r '"\(.summary.ok)/\(.summary.failed) \(.summary.errors)"' "$r" 2>&1);" \
	"latency ms $(jq -c '[.allocations[] | .user_ns / 1e6 | floor]' "$r" 2>&1)"

rm -rf "$W"
t_done
