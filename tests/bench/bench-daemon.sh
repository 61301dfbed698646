#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Model replacement rate with walker and traffic running, through the daemon
# (iommuctl → D-Bus → iommutestd → worker) against the same engine driven
# directly (bench-model-direct), alternating in one run. Prints both rates and
# the ratio. On a shared 2-core host the paired ratios of one run spread over
# ±20 points (host steal), so this rate cannot judge the 97% target; the
# instruction count of bench-instructions.sh can, and gates it. This one fails
# only when the daemon is grossly broken (below 75% of direct in the median).
. "$(dirname "$0")/../integration/lib.sh"
COUNT=${BENCH_COUNT:-5000000}
ROUNDS=${BENCH_ROUNDS:-5}
start_bus
start_daemon

sc=$(scenario model-hitless)
direct=() daemon=()
for i in $(seq "$ROUNDS"); do
	d=$("$BENCH_DIRECT" "$sc" "$COUNT" | awk '$1=="rate"{print $2}')
	j=$(ctl --json run --set=Replace.Count="$COUNT" --set=Attach.Points=RID "$sc")
	r=$(jq -r '.rate | floor' <<<"$j")
	[[ $(jq -r .faults <<<"$j") -eq 0 ]] || fail "daemon run had faults"
	echo "round $i: direct $d/s  daemon $r/s"
	direct+=("$d") daemon+=("$r")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
md=$(med "${direct[@]}") mr=$(med "${daemon[@]}")
# Each round runs the two back to back: the median of the paired ratios cancels
# the host's drift between rounds, which a ratio of medians does not.
ratios=()
for i in "${!direct[@]}"; do
	ratios+=("$(awk -v a="${daemon[i]}" -v b="${direct[i]}" 'BEGIN{printf "%.4f", a/b}')")
done
ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.3f", a[int((NR+1)/2)]}')
echo "model replacements/s (median of $ROUNDS, $COUNT each, walker+traffic on): direct $md, daemon $mr"
echo "daemon/direct ratio (median of paired rounds: ${ratios[*]}): $ratio (target >= 0.97)"
echo "daemon rate vs 1M/s target: $(awk -v a="$mr" 'BEGIN{printf "%.2f", a/1e6}')x"
awk -v r="$ratio" 'BEGIN{exit !(r >= 0.75)}' || fail "daemon rate below 75% of direct"
