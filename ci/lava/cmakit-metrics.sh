#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Report one cmabench run to LAVA: read its result.json (docs/results.md,
# cmakit.cmabench/1.x) and call lava-test-case once per metric. POSIX sh and
# awk only (busybox is enough; no jq, no python on the board).
#
# usage: cmakit-metrics.sh [--status RC] [--min-success PCT] [--max-p99-ms MS]
#                          NAME RESULT.JSON
#
# Test cases, each named NAME-<metric> (NAME is the scenario):
#   NAME-cmabench        pass: cmabench exited 0 (--status, default 0) and
#                        run.status is DONE
#   NAME-accounting      pass: summary.accounting.match is true (the records
#                        agree with the kernel's own counters)
#   NAME-success-rate    % of requests that succeeded (ok / allocations);
#                        fail below --min-success (default 100); fail when
#                        the run made no request
#   NAME-latency-p50     median user-space time of a successful allocation
#                        (summary.user_ns.p50), ns; skip when none succeeded
#   NAME-latency-p99     summary.user_ns.p99, ns; fail above --max-p99-ms
#                        when given; skip when none succeeded
#   NAME-failed          failed requests (summary.failed), a measurement: pass
#   NAME-failed-ERRNO    failed requests with that errno (summary.errors), one
#                        case per errno that occurred, a measurement: pass
# Measurements are the values of result.json unchanged (the success rate is
# rounded to 2 decimals). Exit status 0 when the cases were reported (a failed
# metric is a LAVA result, not an error), 1 when RESULT.JSON cannot be read,
# 2 on a usage error; both with one line on stderr and no case reported.

me=cmakit-metrics
status=0
min_success=100
max_p99_ms=
usage() {
	echo "$me: $* (usage: $me [--status RC] [--min-success PCT] [--max-p99-ms MS] NAME RESULT.JSON)" >&2
	exit 2
}
is_num() { # a non-negative decimal number
	case $1 in '' | *[!0-9.]* | *.*.* | .) return 1 ;; esac
	return 0
}
while [ $# -gt 0 ]; do
	case $1 in
	--status)
		case ${2-} in '' | *[!0-9]*) usage "--status needs an exit status, got '${2-}'" ;; esac
		status=$2; shift 2 ;;
	--min-success)
		is_num "${2-}" && awk -v v="$2" 'BEGIN { exit !(v <= 100) }' ||
			usage "--min-success needs a percentage 0..100, got '${2-}'"
		min_success=$2; shift 2 ;;
	--max-p99-ms)
		is_num "${2-}" || usage "--max-p99-ms needs milliseconds, got '${2-}'"
		max_p99_ms=$2; shift 2 ;;
	--) shift; break ;;
	-*) usage "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || usage "expected NAME and RESULT.JSON"
name=$1
json=$2
case $name in '' | *[!A-Za-z0-9._-]*) usage "NAME '$name' must be letters, digits, '.', '_' or '-' (a LAVA test case name)" ;; esac
[ -r "$json" ] || { echo "$me: cannot read $json" >&2; exit 1; }

# A JSON scanner: prints "path<TAB>value" for every scalar whose dotted path
# (array elements by index) matches `want`. Tokens never span lines in JSON
# (strings hold no raw newline), so it works line by line on any layout.
# Containers whose path matches no prefix in `keep` (the allocation records,
# the counters) are skipped a line at a time: busybox awk is slow per token.
flatten='
function path(n,  i, s) {
	s = key[1]
	for (i = 2; i <= n; i++)
		s = s "." key[i]
	return s
}
function value_starts() {
	if (d > 0 && type[d] == "a")
		key[d] = idx[d]++
}
function scalar(v,  p) {
	value_starts()
	p = path(d)
	if (p ~ want)
		print p "\t" v
}
# In a skipped container: the rest of line s after it closes, or "" (and
# the depth updated) when it goes on past this line.
function skip_rest(s,  t, n, i, c) {
	t = s
	gsub(/"([^"\\]|\\.)*"/, "\"\"", t)
	n = gsub(/[[{]/, "&", t) - gsub(/[]}]/, "&", t)
	if (d + n >= skipd) {
		d += n
		return ""
	}
	# it closes on this line: find where, minding strings and escapes
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "\"") {
			for (i++; i <= n; i++) {
				c = substr(s, i, 1)
				if (c == "\\")
					i++
				else if (c == "\"")
					break
			}
		} else if (c == "{" || c == "[") {
			d++
		} else if (c == "}" || c == "]") {
			if (--d < skipd) {
				skipping = 0
				return substr(s, i + 1)
			}
		}
	}
	return ""
}
{
	line = $0
	if (skipping) {
		line = skip_rest(line)
		if (line == "")
			next
	}
	while (line != "") {
		sub(/^[ \t\r]+/, "", line)
		if (line == "")
			break
		c = substr(line, 1, 1)
		if (c == "{" || c == "[") {
			value_starts()
			d++
			type[d] = (c == "{") ? "o" : "a"
			idx[d] = 0
			needkey[d] = (c == "{")
			key[d] = ""
			line = substr(line, 2)
			# the path of the new container: the keys above it
			if (d > 1 && path(d - 1) !~ keep) {
				skipping = 1
				skipd = d
				line = skip_rest(line)
			}
		} else if (c == "}" || c == "]") {
			if (d == 0) { bad = 1; exit }
			d--
			line = substr(line, 2)
		} else if (c == ",") {
			needkey[d] = (type[d] == "o")
			line = substr(line, 2)
		} else if (c == ":") {
			line = substr(line, 2)
		} else if (c == "\"") {
			if (!match(line, /^"([^"\\]|\\.)*"/)) { bad = 1; exit }
			s = substr(line, 2, RLENGTH - 2)
			line = substr(line, RLENGTH + 1)
			if (d > 0 && type[d] == "o" && needkey[d]) {
				key[d] = s
				needkey[d] = 0
			} else {
				scalar(s)
			}
		} else if (match(line, /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null)/)) {
			scalar(substr(line, 1, RLENGTH))
			line = substr(line, RLENGTH + 1)
		} else {
			bad = 1
			exit
		}
	}
}
END {
	if (bad || skipping || d != 0 || NR == 0)
		print "error\tnot a complete JSON document"
}'
want='^(schema|run[.]status|summary[.](allocations|ok|failed|errors[.][A-Za-z0-9_]+|user_ns|user_ns[.](p50|p99)|accounting[.]match))$'
keep='^(run|summary|summary[.](errors|user_ns|accounting))$'
vals=$(awk -v want="$want" -v keep="$keep" "$flatten" "$json") || { echo "$me: cannot read $json" >&2; exit 1; }
get() {
	printf '%s\n' "$vals" | awk -F '\t' -v k="$1" '$1 == k { print $2; found = 1; exit } END { if (!found) print "" }'
}
err=$(get error)
[ -z "$err" ] || { echo "$me: $json: $err" >&2; exit 1; }
case $(get schema) in
cmakit.cmabench/1.*) ;;
*) echo "$me: $json: not a cmabench result (schema '$(get schema)', want cmakit.cmabench/1.x)" >&2; exit 1 ;;
esac
allocations=$(get summary.allocations)
ok=$(get summary.ok)
failed=$(get summary.failed)
case $allocations$ok$failed in
'' | *[!0-9]*) echo "$me: $json: summary.allocations/ok/failed missing" >&2; exit 1 ;;
esac

case $(get run.status) in
DONE) [ "$status" -eq 0 ] && r=pass || r=fail ;;
*) r=fail ;;
esac
lava-test-case "$name-cmabench" --result "$r"

[ "$(get summary.accounting.match)" = true ] && r=pass || r=fail
lava-test-case "$name-accounting" --result "$r"

if [ "$allocations" -gt 0 ]; then
	rate=$(awk -v ok="$ok" -v n="$allocations" 'BEGIN { printf "%.2f", 100 * ok / n }')
	r=$(awk -v v="$rate" -v m="$min_success" 'BEGIN { print (v + 0 >= m + 0) ? "pass" : "fail" }')
	lava-test-case "$name-success-rate" --result "$r" --measurement "$rate" --units %
else
	lava-test-case "$name-success-rate" --result fail
fi

p50=$(get summary.user_ns.p50)
p99=$(get summary.user_ns.p99)
if [ -n "$p50" ] && [ -n "$p99" ]; then
	lava-test-case "$name-latency-p50" --result pass --measurement "$p50" --units ns
	r=pass
	[ -z "$max_p99_ms" ] ||
		r=$(awk -v v="$p99" -v m="$max_p99_ms" 'BEGIN { print (v / 1e6 <= m + 0) ? "pass" : "fail" }')
	lava-test-case "$name-latency-p99" --result "$r" --measurement "$p99" --units ns
else
	# user_ns is null: no allocation succeeded, there is no latency to report
	lava-test-case "$name-latency-p50" --result skip
	lava-test-case "$name-latency-p99" --result skip
fi

lava-test-case "$name-failed" --result pass --measurement "$failed" --units requests
printf '%s\n' "$vals" | awk -F '\t' '$1 ~ /^summary\.errors\./ { sub(/^summary\.errors\./, "", $1); print $1, $2 }' |
	while read -r errno count; do
		lava-test-case "$name-failed-$errno" --result pass --measurement "$count" --units requests
	done
exit 0
