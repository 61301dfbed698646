#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault signals under a storm: coalesced to a bounded rate, their "merged"
# counts add up exactly to the run's Faults, GetFaultsSince() pages through the
# retained records in order, and the fault → signal latency is reported.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

start_monitor "$T/faults.json" --json=short monitor \
	--match="type='signal',interface='org.iommutest1.Run',member='Fault'"
out=$(ctl --json run --set=Replace.Count= --set=Replace.Duration=3s "$(scenario model-clear-then-update)")
faults=$(jget "$out" .faults)
dropped=$(jget "$out" '[.faults_by_source[].dropped] | add')
# The last signals may still be on their way to the monitor (a loaded
# machine): wait up to 10 s for what they must add up to, then compare.
for _ in $(seq 200); do
	[[ $(jq -s 'map(.payload.data[1]) | add // 0' "$T/faults.json" 2>/dev/null) -eq $((faults - dropped)) ]] && break
	sleep 0.05
done
kill $MON
wait $MON 2>/dev/null || true
secs=$(jget "$out" '.elapsed_usec / 1e6')
n_sig=$(jq -s 'length' "$T/faults.json")
merged=$(jq -s 'map(.payload.data[1]) | add // 0' "$T/faults.json")
echo "storm: $faults faults in ${secs}s ($(awk -v f="$faults" -v s="$secs" 'BEGIN{printf "%.0f", f/s}')/s), $n_sig Fault signals, merged sum $merged, dropped $dropped"
[[ $faults -ge 10000 ]] || fail "not a storm: only $faults faults"
# Every drained record is in exactly one signal; dropped ones never reach a signal.
[[ $merged -eq $((faults - dropped)) ]] || fail "merged counts ($merged) != faults - dropped ($((faults - dropped)))"
# ≤ 50 signals a second, plus the final one.
max_sig=$(awk -v s="$secs" 'BEGIN{printf "%d", s * 50 + 5}')
[[ $n_sig -le $max_sig ]] || fail "$n_sig Fault signals in ${secs}s (bound $max_sig)"
[[ $n_sig -ge 10 ]] || fail "only $n_sig Fault signals during a 3 s storm"
# Sequence numbers in the signals only go up.
jq -se 'map(.payload.data[0]) | . == sort' "$T/faults.json" >/dev/null || fail "Fault seq not increasing"

# Latency from the newest fault a signal carries to the signal's arrival at the monitor.
jq -r '(.timestamp_realtime // ."timestamp-realtime") as $t | select($t != null) | ($t - .payload.data[2])' \
	"$T/faults.json" 2>/dev/null | sort -n >"$T/lat" || true
if [[ -s $T/lat ]]; then
	n=$(wc -l <"$T/lat")
	p50=$(sed -n "$(((n + 1) / 2))p" "$T/lat")
	p99=$(sed -n "$(((n * 99 + 99) / 100))p" "$T/lat")
	echo "fault → Fault signal latency: p50 ${p50} µs, p99 ${p99} µs over $n signals (target p99 < 50000 µs)"
fi

# Paging: all retained records, oldest first, each page continuing where the last ended.
id=$(jget "$out" .id)
path=$(jget "$out" .path)
retained=$(jget "$out" .faults_retained)
since=0 total=0 pages=0
while :; do
	page=$(busctl --address="$ADDR" --json=short call org.iommutest1 "$path" org.iommutest1.Run \
		GetFaultsSince tu "$since" 4000)
	n=$(jq '.data[0] | length' <<<"$page")
	((n == 0)) && break
	jq -e --argjson s "$since" '.data[0] | map(.[0]) | (.[0] > $s) and (. == sort)' <<<"$page" >/dev/null ||
		fail "page after $since is not in order"
	since=$(jq '.data[0][-1][0]' <<<"$page")
	total=$((total + n)) pages=$((pages + 1))
done
echo "GetFaultsSince: $total records in $pages pages (retained $retained)"
[[ $total -eq $retained ]] || fail "paging returned $total records, $retained retained"
echo "ok"
